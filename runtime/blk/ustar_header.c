/* ustar header parsing (see ustar_header.h). */
#include "ustar_header.h"

#include <string.h>

int ustar_view_check(struct ustar_view *v, const uint8_t *p, size_t len)
{
    if (len < USTAR_BLOCK)
        return -1;
    v->p = p;
    return 0;
}

int ustar_view_is_zero(const struct ustar_view *v)
{
    for (size_t i = 0; i < USTAR_BLOCK; i++)
        if (v->p[i] != 0)
            return 0;
    return 1;
}

/* POSIX: numeric fields are octal digits, terminated by a space or NUL;
 * leading spaces are accepted as older tars wrote them, and a field may be
 * all digits. At most 12 digits, so no overflow. Empty: -2. */
static int parse_octal(const uint8_t *f, size_t width, uint64_t *out)
{
    size_t i = 0;
    while (i < width && f[i] == ' ')
        i++;
    size_t start = i;
    uint64_t v = 0;
    while (i < width && f[i] >= '0' && f[i] <= '7')
        v = v * 8 + (uint64_t)(f[i++] - '0');
    int empty = i == start;
    for (; i < width; i++)
        if (f[i] != ' ' && f[i] != 0)
            return -1;
    if (empty)
        return -2;
    *out = v;
    return 0;
}

/* A field that must hold a number, and one that may be blank. */
static int required_octal(const uint8_t *f, size_t width, uint64_t *out)
{
    return parse_octal(f, width, out) == 0 ? 0 : -1;
}

static int optional_octal(const uint8_t *f, size_t width)
{
    uint64_t ignored;
    return parse_octal(f, width, &ignored) == -1 ? -1 : 0;
}

/* POSIX: the checksum is the sum of the header's bytes with the checksum
 * field taken as eight spaces; historic tars summed signed chars, which
 * GNU tar and Python accept too. */
static int checksum_ok(const struct ustar_view *v, uint64_t stored)
{
    uint64_t unsigned_sum = 0;
    int64_t signed_sum = 0;
    for (size_t i = 0; i < USTAR_BLOCK; i++) {
        uint8_t b = (i >= USTAR_CHKSUM_AT && i < USTAR_CHKSUM_AT + 8) ? ' ' : v->p[i];
        unsigned_sum += b;
        signed_sum += b < 128 ? (int64_t)b : (int64_t)b - 256;
    }
    return stored == unsigned_sum || (signed_sum >= 0 && stored == (uint64_t)signed_sum);
}

/* Bytes of a string field: up to the first NUL or the whole width. */
static size_t field_len(const uint8_t *f, size_t width)
{
    const uint8_t *nul = memchr(f, 0, width);
    return nul ? (size_t)(nul - f) : width;
}

int ustar_normalise(const char *path, size_t len, char *out, size_t *out_len,
                    const char **error)
{
    if (len == 0) {
        *error = "empty name";
        return -1;
    }
    if (path[0] == '/') {
        *error = "absolute name";
        return -1;
    }
    if (len > 1 && path[len - 1] == '/')
        len--; /* directories are stored as "dir/" */
    while (len >= 2 && path[0] == '.' && path[1] == '/') {
        path += 2;
        len -= 2;
    }
    if (len == 1 && path[0] == '.')
        len = 0; /* "." and "./": the archive's root */
    for (size_t start = 0; start < len;) {
        const char *slash = memchr(path + start, '/', len - start);
        size_t end = slash ? (size_t)(slash - path) : len;
        size_t n = end - start;
        if (n == 0 || (n == 1 && path[start] == '.')
            || (n == 2 && path[start] == '.' && path[start + 1] == '.')) {
            *error = "name with an empty, \".\" or \"..\" component";
            return -1;
        }
        start = end + 1;
        if (slash && start == len) {
            *error = "name with an empty, \".\" or \"..\" component";
            return -1;
        }
    }
    memcpy(out, path, len);
    out[len] = 0;
    *out_len = len;
    return 0;
}

int ustar_header_parse(const struct ustar_view *v, struct ustar_header *h, const char **error)
{
    const uint8_t *p = v->p;
    memset(h, 0, sizeof(*h));
    if (memcmp(p + USTAR_MAGIC_AT, "ustar  \0", 8) == 0) {
        *error = "GNU tar format, not ustar (make the archive with tar --format=ustar)";
        return -1;
    }
    if (memcmp(p + USTAR_MAGIC_AT, "ustar\0" "00", 8) != 0) {
        *error = "no ustar magic (make the archive with tar --format=ustar)";
        return -1;
    }
    uint64_t stored;
    if (required_octal(p + USTAR_CHKSUM_AT, 8, &stored) != 0) {
        *error = "checksum field is not an octal number";
        return -1;
    }
    if (!checksum_ok(v, stored)) {
        *error = "header checksum mismatch";
        return -1;
    }
    uint64_t mode;
    if (required_octal(p + USTAR_MODE_AT, 8, &mode) != 0) {
        *error = "mode field is not an octal number";
        return -1;
    }
    if (required_octal(p + USTAR_SIZE_AT, 12, &h->size) != 0) {
        *error = "size field is not an octal number";
        return -1;
    }
    if (required_octal(p + USTAR_MTIME_AT, 12, &h->mtime) != 0) {
        *error = "mtime field is not an octal number";
        return -1;
    }
    if (optional_octal(p + USTAR_UID_AT, 8) != 0 || optional_octal(p + USTAR_GID_AT, 8) != 0
        || optional_octal(p + USTAR_DEVMAJOR_AT, 8) != 0
        || optional_octal(p + USTAR_DEVMINOR_AT, 8) != 0) {
        *error = "uid, gid or device field is not an octal number";
        return -1;
    }
    h->mode = (uint32_t)(mode & 07777);
    h->typeflag = p[USTAR_TYPEFLAG_AT];
    if (h->typeflag == 'x' || h->typeflag == 'g') {
        *error = "pax extended header, not ustar (make the archive with tar --format=ustar)";
        return -1;
    }
    if (h->typeflag == 'L' || h->typeflag == 'K') {
        *error = "GNU long-name header, not ustar (make the archive with tar --format=ustar)";
        return -1;
    }

    /* name = prefix "/" name when the prefix is not empty */
    char joined[USTAR_PATH_MAX];
    size_t prefix_len = field_len(p + USTAR_PREFIX_AT, USTAR_PREFIX_LEN);
    size_t name_len = field_len(p + USTAR_NAME_AT, USTAR_NAME_LEN);
    size_t n = 0;
    if (prefix_len > 0) {
        memcpy(joined, p + USTAR_PREFIX_AT, prefix_len);
        joined[prefix_len] = '/';
        n = prefix_len + 1;
    }
    memcpy(joined + n, p + USTAR_NAME_AT, name_len);
    n += name_len;
    if (ustar_normalise(joined, n, h->name, &h->name_len, error) != 0)
        return -1;
    size_t link_len = field_len(p + USTAR_LINKNAME_AT, USTAR_LINK_MAX);
    if (link_len > 0) {
        char link[USTAR_LINK_MAX];
        memcpy(link, p + USTAR_LINKNAME_AT, link_len);
        if (h->typeflag == '1') {
            if (ustar_normalise(link, link_len, h->link, &h->link_len, error) != 0) {
                *error = "hard link target is not a valid name";
                return -1;
            }
        } else {
            memcpy(h->link, link, link_len);
            h->link_len = link_len;
        }
    }
    return 0;
}
