/* HTTP/1.1 response heads (RFC 9112 section 4, RFC 9110 section 15). */
#ifndef WWW_RESPONSE_H
#define WWW_RESPONSE_H

#include <stddef.h>
#include <stdint.h>

#include "http_request.h"

/* Enough for every head we write with a Location of the longest path. */
#define RESPONSE_HEAD_MAX (HTTP_REQUEST_LINE_MAX + 1024u)

struct response_info {
    int status;
    const char *date;            /* IMF-fixdate, always sent (RFC 9110 section 6.6.1) */
    const char *content_type;    /* NULL: none (304) */
    int has_content_length;
    uint64_t content_length;
    const char *last_modified;   /* NULL: none */
    const char *etag;            /* NULL: none */
    int has_content_range;       /* 206: first-last/size; 416: * /size */
    uint64_t range_first, range_length, range_size;
    int keep_alive;
    int allow;                   /* 405: Allow: GET, HEAD */
    int accept_ranges;
    long long max_age;           /* Cache-Control: max-age; < 0: none */
    /* 301: "/" + the decoded name percent-encoded again + "/" [+ "?" query];
     * rebuilt from the name so "//host" cannot become another site's URL */
    const char *location_name;
    struct http_slice location_query;
    int location_has_query;
};

/* The reason phrase of a status we send. */
const char *response_reason(int status);
/* The head into buf; its length, or 0 if it does not fit. */
size_t response_head(char *buf, size_t cap, const struct response_info *ri);
/* The small text body of an error status ("404 Not Found\n"); its length. */
size_t response_error_body(int status, char *buf, size_t cap);

#endif
