/* Access-log lines (see access_log.h). */
#include "access_log.h"

#include <stdio.h>

#include "http_date.h"

size_t access_log_format(char *out, uint32_t client_ip, int64_t wall_seconds,
                         const uint8_t *request_line, size_t len, int status,
                         uint64_t body_bytes)
{
    char when[CLF_DATE_LEN + 1];
    char request[ACCESS_LOG_REQUEST_MAX * 4 + 4];
    size_t n = 0;
    http_date_clf(wall_seconds, when);
    for (size_t i = 0; i < len && i < ACCESS_LOG_REQUEST_MAX; i++) {
        uint8_t c = request_line[i];
        if (c < 0x20 || c > 0x7e || c == '"' || c == '\\')
            n += (size_t)snprintf(request + n, sizeof(request) - n, "\\x%02x", c);
        else
            request[n++] = (char)c;
    }
    if (len > ACCESS_LOG_REQUEST_MAX)
        n += (size_t)snprintf(request + n, sizeof(request) - n, "...");
    request[n] = 0;
    int w = snprintf(out, ACCESS_LOG_LINE_MAX, "%u.%u.%u.%u - - [%s] \"%s\" %d %llu\n",
                     (unsigned)(client_ip >> 24), (unsigned)(client_ip >> 16) & 255,
                     (unsigned)(client_ip >> 8) & 255, (unsigned)client_ip & 255, when, request,
                     status, (unsigned long long)body_bytes);
    return w < 0 ? 0 : (size_t)w < ACCESS_LOG_LINE_MAX ? (size_t)w : ACCESS_LOG_LINE_MAX - 1;
}
