/* Host driver for the ustar index: the file given is the block device.
 *
 *     ustar_dump ARCHIVE BLOCK_SIZE [QUERY...]
 *
 * prints every entry ("entry TYPE SIZE MTIME MODE OFFSET NAME", in index
 * order), then "ok COUNT", then one line per query:
 *     find:PATH            -> "find PATH yes TYPE" | "find PATH no"
 *     dir:PATH             -> "dir PATH 1" | "dir PATH 0"
 *     read:PATH:OFF:LEN    -> "read PATH HEX" | "read PATH fail"
 * An invalid archive prints "error MESSAGE" and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blk/device.h"
#include "blk/ustar.h"

struct image {
    FILE *f;
};

static int read_file_block(void *ctx, uint64_t offset, uint8_t *block);
static struct blk_device dev;

static int read_file_block(void *ctx, uint64_t offset, uint8_t *block)
{
    const struct image *img = ctx;
    if (offset % dev.block_size != 0 || fseek(img->f, (long)offset, SEEK_SET) != 0)
        return -1;
    return fread(block, 1, dev.block_size, img->f) == dev.block_size ? 0 : -1;
}

static const char *type_name(enum ustar_type t)
{
    switch (t) {
    case USTAR_FILE: return "file";
    case USTAR_DIR: return "dir";
    case USTAR_SYMLINK: return "symlink";
    default: return "other";
    }
}

static void query(struct ustar *u, const char *q)
{
    if (strncmp(q, "find:", 5) == 0) {
        const struct ustar_entry *e = ustar_find(u, q + 5, strlen(q + 5));
        printf("find %s %s%s\n", q + 5, e ? "yes " : "no", e ? type_name(e->type) : "");
    } else if (strncmp(q, "dir:", 4) == 0) {
        printf("dir %s %d\n", q + 4, ustar_is_directory(u, q + 4, strlen(q + 4)));
    } else if (strncmp(q, "read:", 5) == 0) {
        char path[512];
        unsigned long long off, len;
        const char *colon = strchr(q + 5, ':');
        if (!colon || (size_t)(colon - q - 5) >= sizeof(path)
            || sscanf(colon + 1, "%llu:%llu", &off, &len) != 2) {
            printf("bad query %s\n", q);
            return;
        }
        memcpy(path, q + 5, (size_t)(colon - q - 5));
        path[colon - q - 5] = 0;
        const struct ustar_entry *e = ustar_find(u, path, strlen(path));
        uint8_t *buf = malloc(len ? len : 1);
        if (!e || !buf || ustar_read(u, e, off, buf, len) != 0) {
            printf("read %s fail\n", path);
        } else {
            printf("read %s ", path);
            for (unsigned long long i = 0; i < len; i++)
                printf("%02x", buf[i]);
            printf("\n");
        }
        free(buf);
    } else {
        printf("bad query %s\n", q);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: ustar_dump ARCHIVE BLOCK_SIZE [QUERY...]\n");
        return 2;
    }
    struct image img = { fopen(argv[1], "rb") };
    if (!img.f || fseek(img.f, 0, SEEK_END) != 0) {
        fprintf(stderr, "cannot open %s\n", argv[1]);
        return 2;
    }
    long size = ftell(img.f);
    const char *why;
    if (blk_device_init(&dev, (uint64_t)size, (uint32_t)strtoul(argv[2], NULL, 10),
                        read_file_block, &img, &why) != 0) {
        printf("error %s\n", why);
        fclose(img.f);
        return 1;
    }
    char error[USTAR_ERROR_MAX];
    struct ustar *u = ustar_open(&dev, error, sizeof(error));
    if (!u) {
        printf("error %s\n", error);
        blk_device_fini(&dev);
        fclose(img.f);
        return 1;
    }
    for (size_t i = 0; i < ustar_count(u); i++) {
        const struct ustar_entry *e = ustar_entry_at(u, i);
        printf("entry %s %llu %llu %o %llu %s\n", type_name(e->type),
               (unsigned long long)e->size, (unsigned long long)e->mtime, (unsigned)e->mode,
               (unsigned long long)e->offset, e->name);
    }
    printf("ok %zu\n", ustar_count(u));
    for (int i = 3; i < argc; i++)
        query(u, argv[i]);
    ustar_close(u);
    blk_device_fini(&dev);
    fclose(img.f);
    return 0;
}
