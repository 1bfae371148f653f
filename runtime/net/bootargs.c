/* Boot-argument network configuration (see net/bootargs.h). */
#include "net/bootargs.h"

#include <string.h>

int net_parse_ipv4(const char *s, size_t len, uint32_t *out)
{
    uint32_t addr = 0;
    size_t i = 0;
    for (int octet = 0; octet < 4; octet++) {
        if (octet > 0) {
            if (i >= len || s[i] != '.')
                return -1;
            i++;
        }
        size_t start = i;
        uint32_t v = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9' && i - start < 3)
            v = v * 10 + (uint32_t)(s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
            return -1; /* empty, too large, or a leading zero (octal ambiguity) */
        addr = (addr << 8) | v;
    }
    if (i != len)
        return -1;
    *out = addr;
    return 0;
}

static int starts_with(const char *tok, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(tok, prefix, n) == 0;
}

int net_bootargs_parse(const char *cmdline, struct net_bootargs *out, const char **error)
{
    memset(out, 0, sizeof(*out));
    int have_ipv4 = 0, have_gateway = 0;
    const char *p = cmdline ? cmdline : "";
    while (*p) {
        while (*p == ' ')
            p++;
        const char *tok = p;
        while (*p && *p != ' ')
            p++;
        size_t len = (size_t)(p - tok);
        if (len == 0)
            break;
        if (len == 6 && memcmp(tok, "--dhcp", 6) == 0) {
            out->dhcp = 1;
        } else if (starts_with(tok, len, "--ipv4=")) {
            const char *v = tok + 7;
            const char *slash = memchr(v, '/', len - 7);
            if (!slash) {
                *error = "--ipv4 needs ADDRESS/PREFIX, e.g. --ipv4=10.0.0.2/24";
                return -1;
            }
            const char *end = tok + len;
            unsigned prefix = 0;
            const char *d = slash + 1;
            if (d == end || end - d > 2) {
                *error = "--ipv4 prefix length must be 0-32";
                return -1;
            }
            for (; d < end; d++) {
                if (*d < '0' || *d > '9') {
                    *error = "--ipv4 prefix length must be 0-32";
                    return -1;
                }
                prefix = prefix * 10 + (unsigned)(*d - '0');
            }
            if (prefix > 32) {
                *error = "--ipv4 prefix length must be 0-32";
                return -1;
            }
            if (net_parse_ipv4(v, (size_t)(slash - v), &out->addr) != 0 || out->addr == 0) {
                *error = "--ipv4 address is not a dotted-quad unicast address";
                return -1;
            }
            out->prefix_len = (uint8_t)prefix;
            have_ipv4 = 1;
        } else if (starts_with(tok, len, "--ipv4-gateway=")) {
            if (net_parse_ipv4(tok + 15, len - 15, &out->gateway) != 0) {
                *error = "--ipv4-gateway is not a dotted-quad address";
                return -1;
            }
            have_gateway = 1;
        }
    }
    if (have_ipv4 == out->dhcp) {
        *error = "give exactly one of --ipv4=ADDRESS/PREFIX and --dhcp";
        return -1;
    }
    if (have_gateway && out->dhcp) {
        *error = "--ipv4-gateway goes with --ipv4, not --dhcp";
        return -1;
    }
    if (have_gateway) {
        uint32_t mask = out->prefix_len ? 0xffffffffu << (32 - out->prefix_len) : 0;
        if ((out->gateway & mask) != (out->addr & mask)) {
            *error = "--ipv4-gateway is not on the --ipv4 subnet";
            return -1;
        }
    }
    return 0;
}
