/* Network configuration from a unikernel's boot arguments (the Solo5
 * command line), the alternative to DHCP:
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

#endif
