/* Request paths to archive names (see url_path.h). */
#include "url_path.h"

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int url_path_decode(const uint8_t *path, size_t len, char *out, size_t out_size,
                    size_t *out_len, int *dir)
{
    size_t n = 0;
    int too_long = 0;
    if (len == 0 || path[0] != '/' || out_size == 0)
        return URL_PATH_BAD;
    *dir = path[len - 1] == '/';
    for (size_t i = 0; i < len;) {
        while (i < len && path[i] == '/')
            i++; /* "//" merges, as in nginx's default merge_slashes */
        if (i == len)
            break;
        if (n > 0) {
            if (n + 1 < out_size)
                out[n] = '/';
            n++;
        }
        size_t seg_len = 0;
        uint8_t first = 0, second = 0;
        for (; i < len && path[i] != '/'; i++) {
            uint8_t c = path[i];
            if (c == '%') {
                int hi = i + 2 < len ? hex_value(path[i + 1]) : -1;
                int lo = i + 2 < len ? hex_value(path[i + 2]) : -1;
                if (hi < 0 || lo < 0)
                    return URL_PATH_BAD;
                c = (uint8_t)(hi * 16 + lo);
                if (c == 0 || c == '/')
                    return URL_PATH_BAD; /* NUL ends names; %2F would hide a separator */
                i += 2;
            }
            if (seg_len == 0)
                first = c;
            else if (seg_len == 1)
                second = c;
            seg_len++;
            if (n + 1 < out_size)
                out[n] = (char)c;
            else
                too_long = 1;
            n++;
        }
        if ((seg_len == 1 && first == '.') || (seg_len == 2 && first == '.' && second == '.'))
            return URL_PATH_BAD; /* dot segments are refused, decoded or not */
    }
    if (too_long || n + 1 > out_size)
        return URL_PATH_TOO_LONG;
    out[n] = 0;
    *out_len = n;
    return URL_PATH_OK;
}
