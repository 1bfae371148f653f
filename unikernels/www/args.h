/* The www unikernel's boot arguments, besides the network's
 * (net/bootargs.h: --ipv4=ADDRESS/PREFIX [--ipv4-gateway=GW] | --dhcp):
 *
 *   --port=N                 listening port (default 80)
 *   --max-age=SECONDS        Cache-Control: max-age on files (default: none)
 *   --access-log             one console line per request (default off)
 *   --max-connections=N      connections served at once (default 128)
 *   --idle-timeout=SECONDS   keep-alive connection without a request (default 60)
 *   --header-timeout=SECONDS to receive a whole request head (default 10)
 *   --cache-mb=N             file contents kept in memory (default 8)
 */
#ifndef WWW_ARGS_H
#define WWW_ARGS_H

#include <stdint.h>

struct www_config {
    unsigned port;
    long long max_age; /* < 0: no Cache-Control */
    int access_log;
    unsigned max_connections;
    unsigned idle_timeout;   /* seconds */
    unsigned header_timeout; /* seconds */
    unsigned cache_mb;
};

/* 0, or -1 with *error a one-line message naming the bad argument. */
int www_args_parse(const char *cmdline, struct www_config *cfg, const char **error);

#endif
