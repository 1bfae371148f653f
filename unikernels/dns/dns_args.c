/* The dns unikernel's boot arguments (see dns_args.h), read with the
 * runtime's boot-argument parsers (net/bootargs.h). */
#include "dns_args.h"

#include <string.h>

#include "net/bootargs.h"

/* ADDRESS[/PREFIX],... into out->axfr; 0 or -1. */
static int parse_acl(const struct bootarg *v, struct dns_args *out)
{
    size_t at = 0;
    if (v->len == 0)
        return -1;
    while (at < v->len) {
        size_t end = at;
        while (end < v->len && v->p[end] != ',')
            end++;
        size_t slash = at;
        while (slash < end && v->p[slash] != '/')
            slash++;
        uint32_t addr;
        uint8_t prefix = 32;
        if (out->n_axfr == DNS_ACL_MAX || net_parse_ipv4(v->p + at, slash - at, &addr) != 0)
            return -1;
        if (slash < end && net_parse_prefix_len(v->p + slash + 1, end - slash - 1, &prefix) != 0)
            return -1;
        uint32_t mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
        out->axfr[out->n_axfr].addr = addr & mask;
        out->axfr[out->n_axfr].mask = mask;
        out->n_axfr++;
        at = end + 1;
        if (end + 1 == v->len) /* a trailing comma */
            return -1;
    }
    return 0;
}

int dns_args_parse(const char *cmdline, struct dns_args *out, const char **error)
{
    memset(out, 0, sizeof(*out));
    out->tcp_idle = DNS_TCP_IDLE_DEFAULT;
    int have_acl = 0, have_idle = 0; /* the first of each counts */
    const char *cursor = cmdline;
    struct bootarg arg, v;
    while (bootarg_next(&cursor, &arg)) {
        if (!have_acl && bootarg_value(&arg, "--axfr-allow=", &v)) {
            have_acl = 1;
            if (parse_acl(&v, out) != 0) {
                *error = "--axfr-allow must be ADDRESS[/PREFIX],... (at most 16 IPv4 networks)";
                return -1;
            }
        } else if (!have_idle && bootarg_value(&arg, "--tcp-idle=", &v)) {
            long long seconds;
            have_idle = 1;
            if (bootarg_number(&v, 1, DNS_TCP_IDLE_MAX, &seconds) != 0) {
                *error = "--tcp-idle must be a number of seconds from 1 to 3600";
                return -1;
            }
            out->tcp_idle = (unsigned)seconds;
        }
    }
    return 0;
}

int dns_acl_allows(const struct dns_args *args, uint32_t addr)
{
    for (unsigned i = 0; i < args->n_axfr; i++)
        if ((addr & args->axfr[i].mask) == args->axfr[i].addr)
            return 1;
    return 0;
}
