/* HTTP/1.1 request heads (RFC 9112 sections 2-5, RFC 9110 section 7.2):
 * finding where a head ends as bytes arrive, then parsing it into views of
 * the buffer. Pure: no allocation, no I/O.
 *
 *     struct http_head_scan scan = { 0 };
 *     ... bytes appended to buf[0..len) ...
 *     int r = http_head_scan(&scan, buf, len, &head_len, &status);
 *     if (r == HTTP_HEAD_COMPLETE && http_request_parse(buf, head_len, &req) == 0)
 *         ... req.method, req.target, req.host ... (views into buf)
 */
#ifndef WWW_HTTP_REQUEST_H
#define WWW_HTTP_REQUEST_H

#include <stddef.h>
#include <stdint.h>

/* RFC 9112 section 3: support request lines of at least 8000 octets. */
#define HTTP_REQUEST_LINE_MAX 8192u
#define HTTP_FIELD_LINE_MAX 8192u
/* The whole head, request line and fields; the connection's buffer size. */
#define HTTP_HEAD_MAX 16384u
#define HTTP_FIELDS_MAX 100u
/* Longer than any method we implement (RFC 9112 section 3: 501). */
#define HTTP_METHOD_MAX 16u
#define HTTP_IF_NONE_MATCH_MAX 4u

struct http_slice {
    const uint8_t *p;
    size_t len;
};

enum http_method {
    HTTP_GET,
    HTTP_HEAD,
    HTTP_KNOWN_OTHER, /* RFC 9110 section 9: a method we know but do not allow */
    HTTP_UNKNOWN
};

enum http_target_form { HTTP_ORIGIN_FORM, HTTP_ABSOLUTE_FORM, HTTP_ASTERISK_FORM };

struct http_request {
    enum http_method method;
    struct http_slice method_name;
    struct http_slice target;    /* as sent */
    enum http_target_form form;
    struct http_slice path;      /* absolute path, still percent-encoded */
    struct http_slice query;     /* after '?', without it */
    unsigned version_minor;      /* HTTP/1.x */
    int keep_alive;              /* RFC 9112 section 9.3 */
    int has_host;
    struct http_slice host;
    int has_content_length;
    uint64_t content_length;
    int has_transfer_encoding;
    struct http_slice if_none_match[HTTP_IF_NONE_MATCH_MAX];
    unsigned if_none_match_count;
    int if_modified_since_count;
    struct http_slice if_modified_since;
    int range_count;
    struct http_slice range;
    int if_range_count;
    struct http_slice if_range;
    int error_status;            /* when http_request_parse fails: 400, 501 or 505 */
};

enum { HTTP_HEAD_INCOMPLETE = 0, HTTP_HEAD_COMPLETE = 1, HTTP_HEAD_ERROR = -1 };

/* Progress of the search for the end of a head across calls; zero it for
 * each new request. */
struct http_head_scan {
    size_t pos;        /* next byte to look at */
    size_t line_start; /* first byte of the current line */
    unsigned lines;    /* complete lines of the head so far */
    int started;       /* past the empty lines before the request line */
};

/* Looks at the bytes of buf[0..len) not seen before (len only grows).
 * HTTP_HEAD_COMPLETE with *head_len (through the empty line);
 * HTTP_HEAD_INCOMPLETE; or HTTP_HEAD_ERROR with *status 414 (request line
 * too long) or 431 (a field line, the field count or the head too large). */
int http_head_scan(struct http_head_scan *s, const uint8_t *buf, size_t len, size_t *head_len,
                   int *status);

/* Parses a complete head buf[0..len). 0, or -1 with req->error_status. */
int http_request_parse(const uint8_t *buf, size_t len, struct http_request *req);

/* Case-insensitive comparison of a slice with a lower-case literal. */
int http_slice_ieq(struct http_slice s, const char *lower);

#endif
