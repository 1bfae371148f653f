/* ping: a unikernel that answers ARP and ICMP echo on the runtime's stack.
 *
 *   boot arguments: --ipv4=ADDRESS/PREFIX [--ipv4-gateway=GATEWAY] | --dhcp
 *
 * It prints "ping: ready ADDRESS/PREFIX" once it has an address (static or
 * leased) and then serves until it is stopped. */
#include <stdio.h>

#include "net/bootargs.h"
#include "net/dhcp.h"
#include "net/netif.h"
#include "rt/loop.h"
#include "rt/runtime.h"
#include "solo5.h"

static void print_ipv4(const char *what, uint32_t addr, unsigned prefix_len)
{
    printf("ping: %s %u.%u.%u.%u/%u\n", what, (unsigned)(addr >> 24), (unsigned)(addr >> 16) & 255,
           (unsigned)(addr >> 8) & 255, (unsigned)addr & 255, prefix_len);
}

static void on_dhcp(void *ctx, struct net_dhcp *d, enum net_dhcp_event ev)
{
    (void)ctx;
    const struct net_dhcp_lease *lease = net_dhcp_lease(d);
    if (ev == NET_DHCP_BOUND)
        print_ipv4("ready", lease->addr, lease->prefix_len);
    else
        printf("ping: dhcp %s\n", net_dhcp_event_name(ev));
}

int solo5_app_main(const struct solo5_start_info *si)
{
    static struct rt_loop loop;
    rt_init(si);
    struct net_bootargs args;
    const char *error;
    if (net_bootargs_parse(si->cmdline, &args, &error) != 0) {
        printf("ping: %s\n", error);
        return SOLO5_EXIT_FAILURE;
    }
    rt_loop_init(&loop);
    struct netif *n = netif_open(&loop, "service");
    if (!n) {
        printf("ping: cannot open network device \"service\"\n");
        return SOLO5_EXIT_FAILURE;
    }
    if (netif_configure(n, &args, on_dhcp, NULL) != 0) {
        printf("ping: cannot configure the network\n");
        return SOLO5_EXIT_FAILURE;
    }
    if (!args.dhcp)
        print_ipv4("ready", args.addr, args.prefix_len);
    else
        printf("ping: waiting for DHCP\n");
    rt_loop_run(&loop);
    return SOLO5_EXIT_SUCCESS;
}
