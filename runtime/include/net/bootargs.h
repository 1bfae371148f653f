/* Boot arguments (the Solo5 command line): the one tokenizer and value
 * parsers every unikernel's own options use, and the network configuration
 * they share, the alternative to DHCP:
 *
 *     --ipv4=10.77.0.2/24      static address and prefix length
 *     --ipv4-gateway=10.77.0.1 default gateway (optional, on the subnet)
 *     --dhcp                   configure by DHCP instead
 *
 * Other tokens are left for the application. Exactly one of --ipv4 and
 * --dhcp must be given.
 */
#ifndef NET_BOOTARGS_H
#define NET_BOOTARGS_H

#include <stddef.h>
#include <stdint.h>

/* One argument: p[0..len), not NUL-terminated. */
struct bootarg {
    const char *p;
    size_t len;
};

/* The next space-separated argument at *cursor (which it advances): 1, or 0
 * at the end of the command line. */
int bootarg_next(const char **cursor, struct bootarg *arg);

/* 1 if arg is exactly the flag (e.g. "--dhcp"). */
int bootarg_is(const struct bootarg *arg, const char *flag);

/* 1 if arg starts with prefix (e.g. "--port="), with *value the rest. */
int bootarg_value(const struct bootarg *arg, const char *prefix, struct bootarg *value);

/* A decimal number of 1-12 digits, no sign, within [min, max]; 0 or -1. */
int bootarg_number(const struct bootarg *value, long long min, long long max, long long *out);

/* 1 if arg is one of the network options above (whatever its value). */
int net_bootarg_is_network(const struct bootarg *arg);

struct net_bootargs {
    int dhcp;
    uint32_t addr; /* host byte order */
    uint8_t prefix_len;
    uint32_t gateway;
};

/* 0 on success; -1 with *error pointing to a one-line static message. */
int net_bootargs_parse(const char *cmdline, struct net_bootargs *out, const char **error);

/* Parses a dotted-quad IPv4 address of exactly len characters; 0 or -1. */
int net_parse_ipv4(const char *s, size_t len, uint32_t *out);

/* Parses a prefix length: one or two digits, 0-32; 0 or -1. */
int net_parse_prefix_len(const char *s, size_t len, uint8_t *out);

#endif
