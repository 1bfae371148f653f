/* DNS stub resolver for A records over UDP (RFC 1035, RFC 1123 6.1.3).
 *
 *     static void on_result(void *ctx, struct net_dns *d, const char *name, int rc,
 *                           const uint32_t *addrs, size_t n) { ... }
 *     struct net_dns *d = net_dns_create(stack, server_ip);
 *     net_dns_resolve(d, now, "example.org", on_result, ctx);
 *     ...
 *     net_dns_destroy(d);   // pending queries are dropped without callback
 *
 * Each query gets a random 16-bit id and goes out from its own ephemeral
 * port (random start); an answer is accepted only from the server's port 53 with the same
 * id and the same question (RFC 5452 section 9.1). A query is sent up to
 * 3 times, 2 s apart, then fails with NET_DNS_ETIMEDOUT.
 */
#ifndef NET_DNS_H
#define NET_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "net/stack.h"

enum {
    NET_DNS_ENXDOMAIN = -20, /* the name does not exist (RCODE 3) */
    NET_DNS_ESERVFAIL = -21, /* any other error RCODE, or a truncated answer */
    NET_DNS_ETIMEDOUT = -22, /* no answer after every retry */
    NET_DNS_ENODATA = -23,   /* the name exists but has no A record */
    NET_DNS_EBUSY = -24,     /* too many queries in flight */
};

struct net_dns;

/* name is the queried name; addrs holds n addresses (rc == 0) or none. */
typedef void (*net_dns_result_fn)(void *ctx, struct net_dns *d, const char *name, int rc,
                                  const uint32_t *addrs, size_t n);

struct net_dns *net_dns_create(struct net_stack *s, uint32_t server_ip);
/* Starts a query; the callback runs exactly once, later. 0 or NET_E* /
 * NET_DNS_E* (invalid name: NET_EINVAL). */
int net_dns_resolve(struct net_dns *d, net_time_t now, const char *name, net_dns_result_fn fn,
                    void *ctx);
void net_dns_destroy(struct net_dns *d);

#endif
