/* The extension table: the types nginx's mime.types gives the same
 * extensions, so both servers label a site alike, plus a few more. */
#include "mime.h"

#include <string.h>

struct mime_entry {
    const char *ext;
    const char *type;
};

static const struct mime_entry table[] = {
    { "atom", "application/atom+xml" },
    { "avif", "image/avif" },
    { "bmp", "image/x-ms-bmp" },
    { "css", "text/css" },
    { "csv", "text/csv" },
    { "gif", "image/gif" },
    { "gz", "application/gzip" },
    { "htm", "text/html" },
    { "html", "text/html" },
    { "ico", "image/x-icon" },
    { "jpeg", "image/jpeg" },
    { "jpg", "image/jpeg" },
    { "js", "application/javascript" },
    { "json", "application/json" },
    { "map", "application/json" },
    { "md", "text/markdown" },
    { "mjs", "application/javascript" },
    { "mp3", "audio/mpeg" },
    { "mp4", "video/mp4" },
    { "ogg", "audio/ogg" },
    { "otf", "font/otf" },
    { "pdf", "application/pdf" },
    { "png", "image/png" },
    { "rss", "application/rss+xml" },
    { "svg", "image/svg+xml" },
    { "svgz", "image/svg+xml" },
    { "tar", "application/x-tar" },
    { "tif", "image/tiff" },
    { "tiff", "image/tiff" },
    { "ttf", "font/ttf" },
    { "txt", "text/plain" },
    { "wasm", "application/wasm" },
    { "webm", "video/webm" },
    { "webp", "image/webp" },
    { "woff", "font/woff" },
    { "woff2", "font/woff2" },
    { "xml", "text/xml" },
    { "zip", "application/zip" },
};

#define EXT_MAX 8

const char *mime_type(const char *name, size_t len)
{
    size_t dot = len;
    while (dot > 0 && name[dot - 1] != '.' && name[dot - 1] != '/')
        dot--;
    if (dot == 0 || name[dot - 1] != '.' || len - dot == 0 || len - dot > EXT_MAX)
        return "application/octet-stream";
    char ext[EXT_MAX + 1];
    size_t n = len - dot;
    for (size_t i = 0; i < n; i++) {
        char c = name[dot + i];
        ext[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
    }
    ext[n] = 0;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (strcmp(table[i].ext, ext) == 0)
            return table[i].type;
    return "application/octet-stream";
}
