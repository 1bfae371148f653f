/* A Solo5 network device driving a stack on the event loop: frames read
 * when the device is ready go to net_stack_input(), frames the stack emits
 * go to solo5_net_write(), and the stack's timers join the loop's
 * deadlines. Unikernel-only (needs solo5.h).
 *
 *     struct netif *n = netif_open(&loop, "service");
 *     netif_configure(n, &bootargs, on_dhcp, ctx);   // static or DHCP
 *     struct net_stack *s = netif_stack(n);          // UDP, TCP, DNS ...
 */
#ifndef NET_NETIF_H
#define NET_NETIF_H

#include "net/bootargs.h"
#include "net/dhcp.h"
#include "net/stack.h"
#include "rt/loop.h"

struct netif;

/* Acquires the NET_BASIC device `name`, reseeds the PRNG from the clock
 * and the MAC, creates the stack. NULL on failure. */
struct netif *netif_open(struct rt_loop *loop, const char *name);
struct net_stack *netif_stack(struct netif *n);
/* Static address (gratuitous ARP sent) or DHCP (fn hears of the lease). */
int netif_configure(struct netif *n, const struct net_bootargs *args, net_dhcp_event_fn fn,
                    void *ctx);
struct net_dhcp *netif_dhcp(struct netif *n);
/* Nonzero if the tender granted the virtio-net header offload (TSO and
 * merged segments; docs/net-offload.md). */
int netif_offload(const struct netif *n);

#endif
