/* A request's path (RFC 3986 section 3.3, still percent-encoded) as an
 * archive name: percent-decoded (RFC 3986 section 2.1), empty segments
 * merged, no leading '/'. Refused: malformed escapes, "." and ".."
 * segments, and decoded NUL bytes or slashes. */
#ifndef WWW_URL_PATH_H
#define WWW_URL_PATH_H

#include <stddef.h>
#include <stdint.h>

enum {
    URL_PATH_OK = 0,
    URL_PATH_BAD = -1,      /* 400 */
    URL_PATH_TOO_LONG = -2  /* longer than out: no such file */
};

/* path[0] is '/'. out holds out_size bytes (with the NUL); *dir is 1 when
 * the path ends with '/' (the root "/" included). */
int url_path_decode(const uint8_t *path, size_t len, char *out, size_t out_size,
                    size_t *out_len, int *dir);

#endif
