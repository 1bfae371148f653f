/* The dns unikernel's own boot arguments (the network ones are
 * net/bootargs.h's):
 *
 *   --axfr-allow=ADDR[/PREFIX],...   clients allowed to AXFR (default none)
 *   --tcp-idle=SECONDS               idle TCP connections close (default 10)
 */
#ifndef DNS_ARGS_H
#define DNS_ARGS_H

#include <stdint.h>

#define DNS_ACL_MAX 16
#define DNS_TCP_IDLE_DEFAULT 10u /* RFC 7766 6.2.3: "of the order of seconds" */
#define DNS_TCP_IDLE_MAX 3600u

struct dns_acl_entry {
    uint32_t addr; /* host byte order, masked */
    uint32_t mask;
};

struct dns_args {
    struct dns_acl_entry axfr[DNS_ACL_MAX];
    unsigned n_axfr;
    unsigned tcp_idle; /* seconds */
};

/* 0, or -1 with *error a one-line static message. */
int dns_args_parse(const char *cmdline, struct dns_args *out, const char **error);

int dns_acl_allows(const struct dns_args *args, uint32_t addr);

#endif
