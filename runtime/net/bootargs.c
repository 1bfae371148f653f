/* Boot arguments and the network configuration (see net/bootargs.h). */
#include "net/bootargs.h"

#include <string.h>

#define NUMBER_DIGITS_MAX 12 /* no overflow of long long, whatever the digits */

int bootarg_next(const char **cursor, struct bootarg *arg)
{
    const char *p = *cursor ? *cursor : "";
    while (*p == ' ')
        p++;
    arg->p = p;
    while (*p && *p != ' ')
        p++;
    arg->len = (size_t)(p - arg->p);
    *cursor = p;
    return arg->len != 0;
}

int bootarg_is(const struct bootarg *arg, const char *flag)
{
    size_t n = strlen(flag);
    return arg->len == n && memcmp(arg->p, flag, n) == 0;
}

int bootarg_value(const struct bootarg *arg, const char *prefix, struct bootarg *value)
{
    size_t n = strlen(prefix);
    if (arg->len < n || memcmp(arg->p, prefix, n) != 0)
        return 0;
    value->p = arg->p + n;
    value->len = arg->len - n;
    return 1;
}

int bootarg_number(const struct bootarg *value, long long min, long long max, long long *out)
{
    long long v = 0;
    if (value->len == 0 || value->len > NUMBER_DIGITS_MAX)
        return -1;
    for (size_t i = 0; i < value->len; i++) {
        if (value->p[i] < '0' || value->p[i] > '9')
            return -1;
        v = v * 10 + (value->p[i] - '0');
    }
    if (v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

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

int net_parse_prefix_len(const char *s, size_t len, uint8_t *out)
{
    long long v;
    struct bootarg digits = { s, len };
    if (len > 2 || bootarg_number(&digits, 0, 32, &v) != 0)
        return -1;
    *out = (uint8_t)v;
    return 0;
}

int net_bootarg_is_network(const struct bootarg *arg)
{
    struct bootarg value;
    return bootarg_is(arg, "--dhcp") || bootarg_value(arg, "--ipv4=", &value)
           || bootarg_value(arg, "--ipv4-gateway=", &value);
}

int net_bootargs_parse(const char *cmdline, struct net_bootargs *out, const char **error)
{
    memset(out, 0, sizeof(*out));
    int have_ipv4 = 0, have_gateway = 0;
    const char *cursor = cmdline;
    struct bootarg arg, v;
    while (bootarg_next(&cursor, &arg)) {
        if (bootarg_is(&arg, "--dhcp")) {
            out->dhcp = 1;
        } else if (bootarg_value(&arg, "--ipv4=", &v)) {
            const char *slash = memchr(v.p, '/', v.len);
            if (!slash) {
                *error = "--ipv4 needs ADDRESS/PREFIX, e.g. --ipv4=10.0.0.2/24";
                return -1;
            }
            size_t addr_len = (size_t)(slash - v.p);
            if (net_parse_prefix_len(slash + 1, v.len - addr_len - 1, &out->prefix_len) != 0) {
                *error = "--ipv4 prefix length must be 0-32";
                return -1;
            }
            if (net_parse_ipv4(v.p, addr_len, &out->addr) != 0 || out->addr == 0) {
                *error = "--ipv4 address is not a dotted-quad unicast address";
                return -1;
            }
            have_ipv4 = 1;
        } else if (bootarg_value(&arg, "--ipv4-gateway=", &v)) {
            if (net_parse_ipv4(v.p, v.len, &out->gateway) != 0) {
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
