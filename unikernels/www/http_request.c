/* HTTP/1.1 request heads (see http_request.h). */
#include "http_request.h"

#include <string.h>

int http_head_scan(struct http_head_scan *s, const uint8_t *buf, size_t len, size_t *head_len,
                   int *status)
{
    for (; s->pos < len; s->pos++) {
        uint8_t b = buf[s->pos];
        if (!s->started) {
            /* RFC 9112 section 2.2: empty lines before the request line are ignored */
            if (b == '\r' || b == '\n') {
                s->line_start = s->pos + 1;
                continue;
            }
            s->started = 1;
            s->line_start = s->pos;
        }
        if (b != '\n')
            continue;
        size_t line_len = s->pos - s->line_start;
        if (line_len == 0 || (line_len == 1 && buf[s->line_start] == '\r')) {
            *head_len = ++s->pos;
            return HTTP_HEAD_COMPLETE;
        }
        if (s->lines == 0 && line_len > HTTP_REQUEST_LINE_MAX) {
            *status = 414;
            return HTTP_HEAD_ERROR;
        }
        if (s->lines > 0 && line_len > HTTP_FIELD_LINE_MAX) {
            *status = 431;
            return HTTP_HEAD_ERROR;
        }
        if (++s->lines > HTTP_FIELDS_MAX + 1) {
            *status = 431;
            return HTTP_HEAD_ERROR;
        }
        s->line_start = s->pos + 1;
    }
    size_t current = len - s->line_start;
    if (s->started && s->lines == 0 && current > HTTP_REQUEST_LINE_MAX) {
        *status = 414; /* RFC 9112 section 3 */
        return HTTP_HEAD_ERROR;
    }
    if (s->lines > 0 && current > HTTP_FIELD_LINE_MAX) {
        *status = 431; /* RFC 6585 section 5 */
        return HTTP_HEAD_ERROR;
    }
    if (len >= HTTP_HEAD_MAX) {
        *status = !s->started ? 400 : s->lines == 0 ? 414 : 431;
        return HTTP_HEAD_ERROR;
    }
    return HTTP_HEAD_INCOMPLETE;
}

/* RFC 9110 section 5.6.2: tchar. */
static int is_tchar(uint8_t c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static uint8_t lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

int http_slice_ieq(struct http_slice s, const char *lower_text)
{
    size_t n = strlen(lower_text);
    if (s.len != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(s.p[i]) != (uint8_t)lower_text[i])
            return 0;
    return 1;
}

static int slice_eq(struct http_slice s, const char *text)
{
    size_t n = strlen(text);
    return s.len == n && memcmp(s.p, text, n) == 0;
}

static struct http_slice slice(const uint8_t *p, size_t len)
{
    struct http_slice s = { p, len };
    return s;
}

static int fail(struct http_request *req, int status)
{
    req->error_status = status;
    return -1;
}

/* The next line of buf[*at..len) without its CRLF (or bare LF, RFC 9112
 * section 2.2); a CR anywhere else is refused. */
static int next_line(const uint8_t *buf, size_t len, size_t *at, struct http_slice *line)
{
    const uint8_t *start = buf + *at;
    const uint8_t *lf = memchr(start, '\n', len - *at);
    if (!lf)
        return -1;
    size_t n = (size_t)(lf - start);
    *at += n + 1;
    if (n > 0 && start[n - 1] == '\r')
        n--;
    if (memchr(start, '\r', n))
        return -1;
    *line = slice(start, n);
    return 0;
}

static enum http_method method_of(struct http_slice m)
{
    static const char *const others[] = { "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
                                          "TRACE", "PATCH" };
    if (slice_eq(m, "GET"))
        return HTTP_GET;
    if (slice_eq(m, "HEAD"))
        return HTTP_HEAD;
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (slice_eq(m, others[i]))
            return HTTP_KNOWN_OTHER;
    return HTTP_UNKNOWN;
}

/* RFC 9112 section 3.2: origin-form, absolute-form (http and https) or
 * asterisk-form; the path and query of the first two. */
static int parse_target(struct http_request *req)
{
    static const uint8_t root[] = "/";
    struct http_slice t = req->target;
    if (memchr(t.p, '#', t.len))
        return -1; /* a fragment is never sent (RFC 9110 section 4.2.5) */
    if (t.len == 1 && t.p[0] == '*') {
        req->form = HTTP_ASTERISK_FORM;
        return 0;
    }
    size_t at = 0;
    if (t.p[0] != '/') {
        size_t scheme = 0;
        if (t.len > 7 && http_slice_ieq(slice(t.p, 7), "http://"))
            scheme = 7;
        else if (t.len > 8 && http_slice_ieq(slice(t.p, 8), "https://"))
            scheme = 8;
        if (scheme == 0)
            return -1;
        at = scheme;
        while (at < t.len && t.p[at] != '/' && t.p[at] != '?')
            at++;
        if (at == scheme)
            return -1; /* no authority */
        req->form = HTTP_ABSOLUTE_FORM;
    }
    size_t end = at;
    while (end < t.len && t.p[end] != '?')
        end++;
    req->path = end > at ? slice(t.p + at, end - at) : slice(root, 1);
    if (end < t.len)
        req->query = slice(t.p + end + 1, t.len - end - 1);
    if (req->path.p[0] != '/')
        return -1; /* "http://host?x" has an empty path: "/" above */
    return 0;
}

static int parse_request_line(struct http_slice line, struct http_request *req)
{
    size_t i = 0;
    while (i < line.len && is_tchar(line.p[i]))
        i++;
    if (i == 0 || i == line.len || line.p[i] != ' ')
        return fail(req, 400);
    req->method_name = slice(line.p, i);
    req->method = method_of(req->method_name);
    size_t start = ++i;
    while (i < line.len && line.p[i] > 0x20 && line.p[i] < 0x7f)
        i++;
    if (i == start || i == line.len || line.p[i] != ' ')
        return fail(req, 400);
    req->target = slice(line.p + start, i - start);
    struct http_slice v = slice(line.p + i + 1, line.len - i - 1);
    /* RFC 9112 section 2.3: HTTP-version = "HTTP/" DIGIT "." DIGIT */
    if (v.len != 8 || memcmp(v.p, "HTTP/", 5) != 0 || v.p[5] < '0' || v.p[5] > '9'
        || v.p[6] != '.' || v.p[7] < '0' || v.p[7] > '9')
        return fail(req, 400);
    if (v.p[5] != '1')
        return fail(req, 505); /* RFC 9110 section 15.6.6 */
    req->version_minor = (unsigned)(v.p[7] - '0');
    if (parse_target(req) != 0)
        return fail(req, 400);
    if (req->method_name.len > HTTP_METHOD_MAX)
        return fail(req, 501);
    return 0;
}

static int is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* RFC 9110 section 5.5: field-value characters (obs-text allowed, no CTLs). */
static int valid_value(struct http_slice v)
{
    for (size_t i = 0; i < v.len; i++) {
        uint8_t c = v.p[i];
        if (c != '\t' && (c < 0x20 || c == 0x7f))
            return 0;
    }
    return 1;
}

/* RFC 9110 section 7.2 / RFC 3986 3.2.2: reg-name or IP literal, optional port. */
static int valid_host(struct http_slice h)
{
    for (size_t i = 0; i < h.len; i++) {
        uint8_t c = h.p[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c != 0 && strchr("-._~!$&'()*+,;=%:[]", c))))
            return 0;
    }
    return 1;
}

/* RFC 9110 section 8.6 / RFC 9112 section 6.3: Content-Length = 1*DIGIT;
 * a list of identical values is that value. */
static int parse_content_length(struct http_slice v, struct http_request *req)
{
    size_t i = 0;
    while (i < v.len) {
        uint64_t n = 0;
        size_t digits = 0;
        while (i < v.len && v.p[i] >= '0' && v.p[i] <= '9') {
            if (++digits > 15)
                return -1; /* beyond any size we would accept */
            n = n * 10 + (uint64_t)(v.p[i++] - '0');
        }
        if (digits == 0)
            return -1;
        if (req->has_content_length && req->content_length != n)
            return -1;
        req->has_content_length = 1;
        req->content_length = n;
        while (i < v.len && is_ows(v.p[i]))
            i++;
        if (i < v.len) {
            if (v.p[i] != ',')
                return -1;
            i++;
            while (i < v.len && is_ows(v.p[i]))
                i++;
        }
    }
    return 0;
}

/* RFC 9110 section 7.6.1: Connection = #connection-option. */
static int parse_connection(struct http_slice v, int *close_seen, int *keep_alive_seen)
{
    size_t i = 0;
    while (i < v.len) {
        while (i < v.len && (is_ows(v.p[i]) || v.p[i] == ','))
            i++;
        size_t start = i;
        while (i < v.len && is_tchar(v.p[i]))
            i++;
        struct http_slice option = slice(v.p + start, i - start);
        if (i < v.len && !is_ows(v.p[i]) && v.p[i] != ',')
            return -1;
        if (http_slice_ieq(option, "close"))
            *close_seen = 1;
        else if (http_slice_ieq(option, "keep-alive"))
            *keep_alive_seen = 1;
    }
    return 0;
}

static int parse_field(struct http_slice line, struct http_request *req, int *close_seen,
                       int *keep_alive_seen)
{
    if (is_ows(line.p[0]))
        return fail(req, 400); /* obs-fold, RFC 9112 section 5.2 */
    size_t i = 0;
    while (i < line.len && is_tchar(line.p[i]))
        i++;
    /* no whitespace between name and colon (RFC 9112 section 5.1) */
    if (i == 0 || i == line.len || line.p[i] != ':')
        return fail(req, 400);
    struct http_slice name = slice(line.p, i);
    size_t start = i + 1, end = line.len;
    while (start < end && is_ows(line.p[start]))
        start++;
    while (end > start && is_ows(line.p[end - 1]))
        end--;
    struct http_slice value = slice(line.p + start, end - start);
    if (!valid_value(value))
        return fail(req, 400);
    if (http_slice_ieq(name, "host")) {
        if (req->has_host || !valid_host(value))
            return fail(req, 400); /* RFC 9112 section 3.2 */
        req->has_host = 1;
        req->host = value;
    } else if (http_slice_ieq(name, "content-length")) {
        if (parse_content_length(value, req) != 0)
            return fail(req, 400);
    } else if (http_slice_ieq(name, "transfer-encoding")) {
        req->has_transfer_encoding = 1;
    } else if (http_slice_ieq(name, "connection")) {
        if (parse_connection(value, close_seen, keep_alive_seen) != 0)
            return fail(req, 400);
    } else if (http_slice_ieq(name, "if-none-match")) {
        if (req->if_none_match_count == HTTP_IF_NONE_MATCH_MAX)
            return fail(req, 400);
        req->if_none_match[req->if_none_match_count++] = value;
    } else if (http_slice_ieq(name, "if-modified-since")) {
        if (req->if_modified_since_count++ == 0)
            req->if_modified_since = value;
    } else if (http_slice_ieq(name, "range")) {
        if (req->range_count++ == 0)
            req->range = value;
    } else if (http_slice_ieq(name, "if-range")) {
        if (req->if_range_count++ == 0)
            req->if_range = value;
    }
    return 0;
}

int http_request_parse(const uint8_t *buf, size_t len, struct http_request *req)
{
    memset(req, 0, sizeof(*req));
    size_t at = 0;
    while (at < len && (buf[at] == '\r' || buf[at] == '\n'))
        at++;
    struct http_slice line;
    if (next_line(buf, len, &at, &line) != 0)
        return fail(req, 400);
    if (parse_request_line(line, req) != 0)
        return -1;
    int close_seen = 0, keep_alive_seen = 0;
    for (unsigned fields = 0;; fields++) {
        if (next_line(buf, len, &at, &line) != 0)
            return fail(req, 400);
        if (line.len == 0)
            break;
        if (fields == HTTP_FIELDS_MAX)
            return fail(req, 431);
        if (parse_field(line, req, &close_seen, &keep_alive_seen) != 0)
            return -1;
    }
    if (req->version_minor >= 1 && !req->has_host)
        return fail(req, 400); /* RFC 9112 section 3.2 */
    /* RFC 9112 section 9.3: 1.1 persists unless "close"; 1.0 only with "keep-alive" */
    req->keep_alive = !close_seen && (req->version_minor >= 1 || keep_alive_seen);
    return 0;
}
