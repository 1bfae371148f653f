/* HTTP dates (RFC 9110 section 5.6.7): IMF-fixdate out, all three forms in. */
#ifndef WWW_HTTP_DATE_H
#define WWW_HTTP_DATE_H

#include <stddef.h>
#include <stdint.h>

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define HTTP_DATE_LEN 29u

/* Seconds since 1970-01-01 UTC as IMF-fixdate, NUL-terminated
 * (out holds HTTP_DATE_LEN + 1 bytes). Years past 9999 print as 9999-12-31. */
void http_date_format(int64_t seconds, char *out);
/* Common Log Format time, "10/Oct/2000:13:55:36 +0000", NUL-terminated
 * (out holds CLF_DATE_LEN + 1 bytes). */
#define CLF_DATE_LEN 26u
void http_date_clf(int64_t seconds, char *out);
/* IMF-fixdate, RFC 850 ("Sunday, 06-Nov-94 08:49:37 GMT") or asctime
 * ("Sun Nov  6 08:49:37 1994"); 0 and the seconds since 1970, or -1. */
int http_date_parse(const uint8_t *p, size_t len, int64_t *seconds);

#endif
