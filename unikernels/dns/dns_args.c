#include "dns_args.h"

#include <stddef.h>
#include <string.h>

#include "net/bootargs.h"

/* The value of --key= among the space-separated arguments, or NULL. */
static const char *find(const char *cmdline, const char *key, size_t *len)
{
    size_t key_len = strlen(key);
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ' ')
            end++;
        if ((size_t)(end - p) >= key_len && strncmp(p, key, key_len) == 0) {
            *len = (size_t)(end - p) - key_len;
            return p + key_len;
        }
        p = end;
    }
    return NULL;
}

static int parse_acl(const char *v, size_t len, struct dns_args *out)
{
    size_t at = 0;
    while (at < len) {
        size_t end = at;
        while (end < len && v[end] != ',')
            end++;
        size_t slash = at;
        while (slash < end && v[slash] != '/')
            slash++;
        uint32_t addr, prefix = 32;
        if (out->n_axfr == DNS_ACL_MAX || net_parse_ipv4(v + at, slash - at, &addr) != 0)
            return -1;
        if (slash < end) {
            size_t digits = end - slash - 1;
            if (digits == 0 || digits > 2)
                return -1;
            prefix = 0;
            for (size_t i = slash + 1; i < end; i++) {
                if (v[i] < '0' || v[i] > '9')
                    return -1;
                prefix = prefix * 10 + (uint32_t)(v[i] - '0');
            }
            if (prefix > 32)
                return -1;
        }
        uint32_t mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
        out->axfr[out->n_axfr].addr = addr & mask;
        out->axfr[out->n_axfr].mask = mask;
        out->n_axfr++;
        at = end + 1;
        if (end + 1 == len) /* a trailing comma */
            return -1;
    }
    return 0;
}

int dns_args_parse(const char *cmdline, struct dns_args *out, const char **error)
{
    size_t len;
    const char *v;
    memset(out, 0, sizeof(*out));
    out->tcp_idle = DNS_TCP_IDLE_DEFAULT;
    if ((v = find(cmdline, "--axfr-allow=", &len)) != NULL && (len == 0 || parse_acl(v, len, out) != 0)) {
        *error = "--axfr-allow must be ADDRESS[/PREFIX],... (at most 16 IPv4 networks)";
        return -1;
    }
    if ((v = find(cmdline, "--tcp-idle=", &len)) != NULL) {
        unsigned seconds = 0;
        if (len == 0 || len > 4)
            seconds = 0;
        else
            for (size_t i = 0; i < len; i++)
                seconds = (v[i] >= '0' && v[i] <= '9') ? seconds * 10 + (unsigned)(v[i] - '0') : 100000;
        if (seconds == 0 || seconds > DNS_TCP_IDLE_MAX) {
            *error = "--tcp-idle must be a number of seconds from 1 to 3600";
            return -1;
        }
        out->tcp_idle = seconds;
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
