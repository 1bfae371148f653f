/* The ustar index over an in-memory block device: any bytes must give an
 * index or an error message, and an index must keep its promises (sorted,
 * unique names, every entry found by name, data reads inside the file). */
#include <stdlib.h>
#include <string.h>

#include "blk/device.h"
#include "blk/ustar.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct memory {
    const uint8_t *bytes;
    uint32_t block_size;
};

static int read_memory_block(void *ctx, uint64_t offset, uint8_t *block)
{
    const struct memory *m = ctx;
    if (offset % m->block_size != 0)
        abort(); /* the device promises aligned whole-block reads only */
    memcpy(block, m->bytes + offset, m->block_size);
    return 0;
}

static void check_index(struct ustar *u, uint8_t *buf, size_t buf_size)
{
    for (size_t i = 0; i < ustar_count(u); i++) {
        const struct ustar_entry *e = ustar_entry_at(u, i);
        if (strlen(e->name) != e->name_len || ustar_find(u, e->name, e->name_len) != e)
            abort();
        if (i > 0) {
            const struct ustar_entry *prev = ustar_entry_at(u, i - 1);
            size_t n = prev->name_len < e->name_len ? prev->name_len : e->name_len;
            int c = memcmp(prev->name, e->name, n);
            if (c > 0 || (c == 0 && prev->name_len >= e->name_len))
                abort(); /* strictly increasing */
        }
        if (e->type == USTAR_DIR && !ustar_is_directory(u, e->name, e->name_len))
            abort();
        if (e->type != USTAR_FILE) {
            if (ustar_read(u, e, 0, buf, 0) != -1)
                abort();
            continue;
        }
        size_t n = e->size < buf_size ? (size_t)e->size : buf_size;
        if (ustar_read(u, e, 0, buf, n) != 0)
            abort();
        fuzz_touch(buf, n);
        if (ustar_read(u, e, e->size, buf, 1) != -1 || ustar_read(u, e, 1, buf, e->size) != -1)
            abort(); /* past the end of the file */
    }
    if (ustar_entry_at(u, ustar_count(u)) != NULL)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* the first byte picks the block size; the rest, padded, is the device */
    uint32_t block_size = 512u << (data[0] & 3);
    data++;
    size--;
    size_t capacity = (size + block_size - 1) / block_size * block_size;
    static uint8_t buf[1 << 16];
    uint8_t *bytes = calloc(capacity ? capacity : 1, 1);
    if (!bytes)
        abort();
    if (size)
        memcpy(bytes, data, size);
    struct memory m = { bytes, block_size };
    struct blk_device dev;
    const char *why;
    if (blk_device_init(&dev, capacity, block_size, read_memory_block, &m, &why) != 0)
        abort();
    char error[USTAR_ERROR_MAX];
    error[0] = 0;
    struct ustar *u = ustar_open(&dev, error, sizeof(error));
    if (u) {
        check_index(u, buf, sizeof(buf));
        ustar_close(u);
    } else if (error[0] == 0 || strlen(error) >= sizeof(error)) {
        abort(); /* every failure says why */
    }
    blk_device_fini(&dev);
    free(bytes);
    return 0;
}
