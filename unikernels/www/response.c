/* Response heads (see response.h). */
#include "response.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *response_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 206: return "Partial Content";
    case 301: return "Moved Permanently";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 416: return "Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";  /* RFC 6585 section 5 */
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

struct writer {
    char *buf;
    size_t cap, len;
    int overflow;
};

static void put(struct writer *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct writer *w, const char *fmt, ...)
{
    if (w->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= w->cap - w->len)
        w->overflow = 1;
    else
        w->len += (size_t)n;
}

static void put_bytes(struct writer *w, struct http_slice s)
{
    if (w->overflow || s.len >= w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    memcpy(w->buf + w->len, s.p, s.len);
    w->len += s.len;
}

/* RFC 3986 section 3.3: pchar and '/' stay, everything else is escaped. */
static void put_path(struct writer *w, const char *name)
{
    for (const char *c = name; *c; c++) {
        unsigned char b = (unsigned char)*c;
        if ((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z')
            || strchr("-._~!$&'()*+,;=:@/", b))
            put(w, "%c", b);
        else
            put(w, "%%%02X", b);
    }
}

size_t response_head(char *buf, size_t cap, const struct response_info *ri)
{
    struct writer w = { buf, cap, 0, 0 };
    put(&w, "HTTP/1.1 %d %s\r\nServer: www\r\nDate: %s\r\n", ri->status,
        response_reason(ri->status), ri->date);
    if (ri->content_type)
        put(&w, "Content-Type: %s\r\n", ri->content_type);
    if (ri->has_content_length)
        put(&w, "Content-Length: %llu\r\n", (unsigned long long)ri->content_length);
    if (ri->last_modified)
        put(&w, "Last-Modified: %s\r\n", ri->last_modified);
    put(&w, "Connection: %s\r\n", ri->keep_alive ? "keep-alive" : "close");
    if (ri->etag)
        put(&w, "ETag: %s\r\n", ri->etag);
    if (ri->max_age >= 0 && (ri->status == 200 || ri->status == 206 || ri->status == 304))
        put(&w, "Cache-Control: max-age=%lld\r\n", ri->max_age);
    if (ri->has_content_range) {
        if (ri->status == 416)
            put(&w, "Content-Range: bytes */%llu\r\n", (unsigned long long)ri->range_size);
        else
            put(&w, "Content-Range: bytes %llu-%llu/%llu\r\n",
                (unsigned long long)ri->range_first,
                (unsigned long long)(ri->range_first + ri->range_length - 1),
                (unsigned long long)ri->range_size);
    }
    if (ri->accept_ranges)
        put(&w, "Accept-Ranges: bytes\r\n");
    if (ri->allow)
        put(&w, "Allow: GET, HEAD\r\n");
    if (ri->status == 301) {
        put(&w, "Location: /");
        put_path(&w, ri->location_name);
        put(&w, "/");
        if (ri->location_has_query) {
            put(&w, "?");
            put_bytes(&w, ri->location_query);
        }
        put(&w, "\r\n");
    }
    put(&w, "\r\n");
    return w.overflow ? 0 : w.len;
}

size_t response_error_body(int status, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%d %s\n", status, response_reason(status));
    return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}
