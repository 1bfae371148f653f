/* Access-log lines in the Common Log Format, one per request, for the
 * console: client - - [time] "request line" status bytes. */
#ifndef WWW_ACCESS_LOG_H
#define WWW_ACCESS_LOG_H

#include <stddef.h>
#include <stdint.h>

/* The request line is escaped (bytes outside printable ASCII, '"' and '\\'
 * as \xHH) and cut at ACCESS_LOG_REQUEST_MAX bytes, so a client cannot
 * forge log lines. out holds ACCESS_LOG_LINE_MAX bytes; returns the
 * length of the line, newline included. */
#define ACCESS_LOG_REQUEST_MAX 200u
#define ACCESS_LOG_LINE_MAX 1024u

size_t access_log_format(char *out, uint32_t client_ip, int64_t wall_seconds,
                         const uint8_t *request_line, size_t len, int status,
                         uint64_t body_bytes);

#endif
