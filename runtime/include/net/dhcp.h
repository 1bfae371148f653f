/* DHCP client (RFC 2131): discover, offer, request, ack; renewal at T1
 * (unicast to the server), rebinding at T2 (broadcast), and loss of the
 * lease at expiry. The client configures the stack's address itself
 * (net_stack_set_ipv4) and reports each change to a callback.
 *
 *     static void on_dhcp(void *ctx, struct net_dhcp *d, enum net_dhcp_event ev) {
 *         if (ev == NET_DHCP_BOUND) use(net_dhcp_lease(d)->dns);
 *     }
 *     struct net_dhcp *d = net_dhcp_start(stack, now, on_dhcp, ctx);
 *     ...
 *     net_dhcp_stop(d, now);   // releases the lease; before net_stack_destroy
 *
 * Retransmission follows RFC 2131 section 4.1: 4 s, doubling up to 64 s,
 * each randomised by +-1 s from the stack's PRNG. Not supported: ARP probing
 * of the offered address (DHCPDECLINE), option overload, INIT-REBOOT.
 */
#ifndef NET_DHCP_H
#define NET_DHCP_H

#include <stdint.h>

#include "net/stack.h"

struct net_dhcp;

enum net_dhcp_event {
    NET_DHCP_BOUND,   /* an address was configured */
    NET_DHCP_RENEWED, /* the lease was extended (same address) */
    NET_DHCP_LOST,    /* NAK or expiry: the address was removed; discovery restarts */
};

struct net_dhcp_lease {
    uint32_t addr;
    uint8_t prefix_len;
    uint32_t gateway;  /* 0 if none */
    uint32_t dns;      /* 0 if none */
    uint32_t server;
    uint32_t lease_seconds;
};

typedef void (*net_dhcp_event_fn)(void *ctx, struct net_dhcp *d, enum net_dhcp_event ev);

/* Binds UDP port 68 and sends the first DHCPDISCOVER. NULL on failure. */
struct net_dhcp *net_dhcp_start(struct net_stack *s, net_time_t now, net_dhcp_event_fn fn,
                                void *ctx);
/* Sends DHCPRELEASE if bound, removes the address, frees the client. */
void net_dhcp_stop(struct net_dhcp *d, net_time_t now);
/* The current lease; addr is 0 while not bound. */
const struct net_dhcp_lease *net_dhcp_lease(const struct net_dhcp *d);
const char *net_dhcp_event_name(enum net_dhcp_event ev);

#endif
