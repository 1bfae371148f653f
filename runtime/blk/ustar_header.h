/* One ustar header block (POSIX.1-2017 pax, "ustar Interchange Format"),
 * parsed through a 512-byte view. Internal to runtime/blk. */
#ifndef BLK_USTAR_HEADER_H
#define BLK_USTAR_HEADER_H

#include <stddef.h>
#include <stdint.h>

#define USTAR_BLOCK 512u
/* prefix (155) + '/' + name (100) */
#define USTAR_PATH_MAX 256u
#define USTAR_LINK_MAX 100u

/* Field offsets and widths of the header block (POSIX ustar table). */
#define USTAR_NAME_AT 0u
#define USTAR_NAME_LEN 100u
#define USTAR_MODE_AT 100u
#define USTAR_UID_AT 108u
#define USTAR_GID_AT 116u
#define USTAR_SIZE_AT 124u
#define USTAR_MTIME_AT 136u
#define USTAR_CHKSUM_AT 148u
#define USTAR_TYPEFLAG_AT 156u
#define USTAR_LINKNAME_AT 157u
#define USTAR_MAGIC_AT 257u
#define USTAR_VERSION_AT 263u
#define USTAR_DEVMAJOR_AT 329u
#define USTAR_DEVMINOR_AT 337u
#define USTAR_PREFIX_AT 345u
#define USTAR_PREFIX_LEN 155u

struct ustar_view {
    const uint8_t *p; /* USTAR_BLOCK bytes */
};

/* A header as the index needs it; names normalised (see ustar_normalise). */
struct ustar_header {
    char name[USTAR_PATH_MAX + 1];
    size_t name_len;
    char link[USTAR_LINK_MAX + 1];
    size_t link_len;
    uint64_t size;
    uint64_t mtime;
    uint32_t mode;
    uint8_t typeflag;
};

/* 0 if p[0..len) holds a whole header block. */
int ustar_view_check(struct ustar_view *v, const uint8_t *p, size_t len);
/* 1 if the block is all zero bytes (an end-of-archive block). */
int ustar_view_is_zero(const struct ustar_view *v);
/* 0, or -1 with *error naming the field that is wrong. */
int ustar_header_parse(const struct ustar_view *v, struct ustar_header *h, const char **error);
/* The index's form of an archive path: no leading "./", no trailing '/',
 * "." and "./" become "" (the root); absolute paths and empty, "." or ".."
 * components are refused. out holds at least len + 1 bytes; 0 or -1. */
int ustar_normalise(const char *path, size_t len, char *out, size_t *out_len,
                    const char **error);

#endif
