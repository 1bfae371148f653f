/* Validators and ranges of a file (RFC 9110 sections 8.8, 13 and 14):
 * the ETag we give a file, If-None-Match lists, If-Range, and Range. */
#ifndef WWW_CONDITIONAL_H
#define WWW_CONDITIONAL_H

#include <stddef.h>
#include <stdint.h>

/* "MTIME-SIZE" in lower-case hex with its quotes, as nginx makes ETags,
 * NUL-terminated; out holds ETAG_MAX bytes. A strong validator: the
 * archive cannot change while the unikernel runs. */
#define ETAG_MAX 40u
void etag_format(uint64_t mtime, uint64_t size, char *out);

/* RFC 9110 section 13.1.2: does the If-None-Match value p[0..len) match
 * etag? "*" matches; entity-tags compare weakly (W/ ignored). A malformed
 * list matches nothing. */
int etag_list_matches(const uint8_t *p, size_t len, const char *etag);

/* RFC 9110 section 13.1.5: If-Range holds: a strong entity-tag equal to
 * etag, or an HTTP-date equal to mtime. */
int if_range_holds(const uint8_t *p, size_t len, const char *etag, uint64_t mtime);

enum range_result {
    RANGE_IGNORE,        /* no usable single byte range: send the whole file (200) */
    RANGE_SATISFIABLE,   /* 206 with *first, *length */
    RANGE_UNSATISFIABLE  /* 416 */
};

/* RFC 9110 section 14.1.2: "bytes=" with one range-spec (first-last,
 * first-, or -suffix) against a file of size bytes. Several ranges, other
 * units and malformed values are ignored (a 200 is always allowed). */
enum range_result range_parse(const uint8_t *p, size_t len, uint64_t size, uint64_t *first,
                              uint64_t *length);

#endif
