/* Boot arguments (see args.h). */
#include "args.h"

#include "net/bootargs.h"

#define DEFAULT_PORT 80u
#define DEFAULT_MAX_CONNECTIONS 128u
#define MAX_CONNECTIONS_LIMIT 16384u
#define DEFAULT_IDLE_TIMEOUT 60u
#define DEFAULT_HEADER_TIMEOUT 10u
#define TIMEOUT_LIMIT 86400u
#define DEFAULT_CACHE_MB 8u
#define CACHE_MB_LIMIT 4096u
#define MAX_AGE_LIMIT 315360000LL /* ten years */

int www_args_parse(const char *cmdline, struct www_config *cfg, const char **error)
{
    cfg->port = DEFAULT_PORT;
    cfg->max_age = -1;
    cfg->access_log = 0;
    cfg->max_connections = DEFAULT_MAX_CONNECTIONS;
    cfg->idle_timeout = DEFAULT_IDLE_TIMEOUT;
    cfg->header_timeout = DEFAULT_HEADER_TIMEOUT;
    cfg->cache_mb = DEFAULT_CACHE_MB;
    const char *cursor = cmdline;
    struct bootarg arg, v;
    long long n;
    while (bootarg_next(&cursor, &arg)) {
        if (bootarg_value(&arg, "--port=", &v)) {
            if (bootarg_number(&v, 1, 65535, &n) != 0) {
                *error = "--port must be a number from 1 to 65535";
                return -1;
            }
            cfg->port = (unsigned)n;
        } else if (bootarg_value(&arg, "--max-age=", &v)) {
            if (bootarg_number(&v, 0, MAX_AGE_LIMIT, &n) != 0) {
                *error = "--max-age must be a number of seconds from 0 to 315360000";
                return -1;
            }
            cfg->max_age = n;
        } else if (bootarg_is(&arg, "--access-log")) {
            cfg->access_log = 1;
        } else if (bootarg_value(&arg, "--max-connections=", &v)) {
            if (bootarg_number(&v, 1, MAX_CONNECTIONS_LIMIT, &n) != 0) {
                *error = "--max-connections must be a number from 1 to 16384";
                return -1;
            }
            cfg->max_connections = (unsigned)n;
        } else if (bootarg_value(&arg, "--idle-timeout=", &v)) {
            if (bootarg_number(&v, 1, TIMEOUT_LIMIT, &n) != 0) {
                *error = "--idle-timeout must be a number of seconds from 1 to 86400";
                return -1;
            }
            cfg->idle_timeout = (unsigned)n;
        } else if (bootarg_value(&arg, "--header-timeout=", &v)) {
            if (bootarg_number(&v, 1, TIMEOUT_LIMIT, &n) != 0) {
                *error = "--header-timeout must be a number of seconds from 1 to 86400";
                return -1;
            }
            cfg->header_timeout = (unsigned)n;
        } else if (bootarg_value(&arg, "--cache-mb=", &v)) {
            if (bootarg_number(&v, 0, CACHE_MB_LIMIT, &n) != 0) {
                *error = "--cache-mb must be a number of MiB from 0 to 4096";
                return -1;
            }
            cfg->cache_mb = (unsigned)n;
        } else if (!net_bootarg_is_network(&arg)) {
            *error = "unknown boot argument (see docs/www.md for the list)";
            return -1;
        }
    }
    return 0;
}
