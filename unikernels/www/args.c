/* Boot arguments (see args.h). */
#include "args.h"

#include <string.h>

#define DEFAULT_PORT 80u
#define DEFAULT_MAX_CONNECTIONS 128u
#define MAX_CONNECTIONS_LIMIT 16384u
#define DEFAULT_IDLE_TIMEOUT 60u
#define DEFAULT_HEADER_TIMEOUT 10u
#define TIMEOUT_LIMIT 86400u
#define DEFAULT_CACHE_MB 8u
#define CACHE_MB_LIMIT 4096u
#define MAX_AGE_LIMIT 315360000LL /* ten years */

/* Decimal number tok[0..len) within [min, max]; 0 or -1. */
static int number(const char *tok, size_t len, long long min, long long max, long long *out)
{
    long long v = 0;
    if (len == 0 || len > 12)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (tok[i] < '0' || tok[i] > '9')
            return -1;
        v = v * 10 + (tok[i] - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int has_prefix(const char *tok, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(tok, prefix, n) == 0;
}

int www_args_parse(const char *cmdline, struct www_config *cfg, const char **error)
{
    cfg->port = DEFAULT_PORT;
    cfg->max_age = -1;
    cfg->access_log = 0;
    cfg->max_connections = DEFAULT_MAX_CONNECTIONS;
    cfg->idle_timeout = DEFAULT_IDLE_TIMEOUT;
    cfg->header_timeout = DEFAULT_HEADER_TIMEOUT;
    cfg->cache_mb = DEFAULT_CACHE_MB;
    const char *p = cmdline ? cmdline : "";
    while (*p) {
        while (*p == ' ')
            p++;
        const char *tok = p;
        while (*p && *p != ' ')
            p++;
        size_t len = (size_t)(p - tok);
        long long v;
        if (len == 0)
            break;
        if (has_prefix(tok, len, "--port=")) {
            if (number(tok + 7, len - 7, 1, 65535, &v) != 0) {
                *error = "--port must be a number from 1 to 65535";
                return -1;
            }
            cfg->port = (unsigned)v;
        } else if (has_prefix(tok, len, "--max-age=")) {
            if (number(tok + 10, len - 10, 0, MAX_AGE_LIMIT, &v) != 0) {
                *error = "--max-age must be a number of seconds from 0 to 315360000";
                return -1;
            }
            cfg->max_age = v;
        } else if (len == 12 && memcmp(tok, "--access-log", 12) == 0) {
            cfg->access_log = 1;
        } else if (has_prefix(tok, len, "--max-connections=")) {
            if (number(tok + 18, len - 18, 1, MAX_CONNECTIONS_LIMIT, &v) != 0) {
                *error = "--max-connections must be a number from 1 to 16384";
                return -1;
            }
            cfg->max_connections = (unsigned)v;
        } else if (has_prefix(tok, len, "--idle-timeout=")) {
            if (number(tok + 15, len - 15, 1, TIMEOUT_LIMIT, &v) != 0) {
                *error = "--idle-timeout must be a number of seconds from 1 to 86400";
                return -1;
            }
            cfg->idle_timeout = (unsigned)v;
        } else if (has_prefix(tok, len, "--header-timeout=")) {
            if (number(tok + 17, len - 17, 1, TIMEOUT_LIMIT, &v) != 0) {
                *error = "--header-timeout must be a number of seconds from 1 to 86400";
                return -1;
            }
            cfg->header_timeout = (unsigned)v;
        } else if (has_prefix(tok, len, "--cache-mb=")) {
            if (number(tok + 11, len - 11, 0, CACHE_MB_LIMIT, &v) != 0) {
                *error = "--cache-mb must be a number of MiB from 0 to 4096";
                return -1;
            }
            cfg->cache_mb = (unsigned)v;
        } else if (!has_prefix(tok, len, "--ipv4=") && !has_prefix(tok, len, "--ipv4-gateway=")
                   && !(len == 6 && memcmp(tok, "--dhcp", 6) == 0)) {
            *error = "unknown boot argument (see docs/www.md for the list)";
            return -1;
        }
    }
    return 0;
}
