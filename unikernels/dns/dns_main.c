/* dns: an authoritative DNS server. Zones come from the block device
 * "zones", a ustar archive of RFC 1035 master files named <zone>.zone;
 * queries are answered on UDP and TCP port 53 of the network device
 * "service" (query.h has the protocol, docs/dns.md the deployment).
 *
 *   boot arguments: --ipv4=ADDRESS/PREFIX [--ipv4-gateway=GW] | --dhcp
 *                   [--axfr-allow=ADDR[/PREFIX],...] [--tcp-idle=SECONDS]
 *
 * Console: "dns: zone NAME: N records, B bytes" per zone, then
 * "dns: ready ADDRESS/PREFIX port 53". A zone that does not parse stops
 * the boot with "dns: zones: FILE:LINE: reason" and exit status 1. */
#include <stdio.h>

#include "blk/device.h"
#include "blk/ustar.h"
#include "dns_args.h"
#include "dns_server.h"
#include "net/bootargs.h"
#include "net/dhcp.h"
#include "net/netif.h"
#include "net/tcp_stack.h"
#include "rt/runtime.h"
#include "solo5.h"
#include "zone_load.h"

#define DNS_TCP_BUF (64u * 1024u)

static struct rt_loop loop;
static struct dns_server server;
static struct zone_set zones;
static struct dns_args dns_args;
static struct blk_device zone_device;

static void print_ready(uint32_t addr, unsigned prefix_len)
{
    printf("dns: ready %u.%u.%u.%u/%u port 53\n", (unsigned)(addr >> 24),
           (unsigned)(addr >> 16) & 255, (unsigned)(addr >> 8) & 255, (unsigned)addr & 255,
           prefix_len);
}

static void on_dhcp(void *ctx, struct net_dhcp *d, enum net_dhcp_event ev)
{
    (void)ctx;
    const struct net_dhcp_lease *lease = net_dhcp_lease(d);
    if (ev == NET_DHCP_BOUND)
        print_ready(lease->addr, lease->prefix_len);
    else
        printf("dns: dhcp %s\n", net_dhcp_event_name(ev));
}

static int load_zones(void)
{
    const char *why;
    char error[ZONE_LOAD_ERROR_MAX];
    if (blk_device_open_solo5(&zone_device, "zones", &why) != 0) {
        printf("dns: zones: %s\n", why);
        return -1;
    }
    struct ustar *archive = ustar_open(&zone_device, error, sizeof(error));
    if (!archive) {
        printf("dns: zones: %s\n", error);
        return -1;
    }
    int rc = zone_load_all(archive, &zones, error, sizeof(error));
    ustar_close(archive);
    blk_device_fini(&zone_device);
    if (rc != 0) {
        printf("dns: zones: %s\n", error);
        return -1;
    }
    for (size_t i = 0; i < zones.n; i++) {
        char name[DNS_NAME_MAX * 4 + 2];
        dname_to_text(zones.zones[i].origin.wire, name, sizeof(name));
        printf("dns: zone %s: %zu records, %zu bytes\n", name, zones.zones[i].n_rrs,
               zone_memory(&zones.zones[i]));
    }
    return 0;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    rt_init(si);
    struct net_bootargs net;
    const char *error;
    if (net_bootargs_parse(si->cmdline, &net, &error) != 0
        || dns_args_parse(si->cmdline, &dns_args, &error) != 0) {
        printf("dns: %s\n", error);
        return SOLO5_EXIT_FAILURE;
    }
    if (load_zones() != 0)
        return SOLO5_EXIT_FAILURE;
    rt_loop_init(&loop);
    struct netif *n = netif_open(&loop, "service");
    if (!n) {
        printf("dns: cannot open network device \"service\"\n");
        return SOLO5_EXIT_FAILURE;
    }
    struct tcp_config cfg;
    tcp_config_default(&cfg);
    cfg.rcvbuf = DNS_TCP_BUF;
    cfg.sndbuf = DNS_TCP_BUF;
    cfg.max_conns = 4 * DNS_TCP_CONNS_MAX; /* TIME-WAIT ones count too */
    server.loop = &loop;
    server.zones = &zones;
    server.args = &dns_args;
    server.tcp = tcp_stack_attach(netif_stack(n), &cfg);
    if (!server.tcp || dns_udp_start(&server, netif_stack(n)) != 0 || dns_tcp_start(&server) != 0) {
        printf("dns: cannot listen on port 53\n");
        return SOLO5_EXIT_FAILURE;
    }
    if (netif_configure(n, &net, on_dhcp, NULL) != 0) {
        printf("dns: cannot configure the network\n");
        return SOLO5_EXIT_FAILURE;
    }
    if (!net.dhcp)
        print_ready(net.addr, net.prefix_len);
    else
        printf("dns: waiting for DHCP\n");
    rt_loop_run(&loop);
    return SOLO5_EXIT_SUCCESS;
}
