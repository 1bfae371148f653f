/* The whole stack: [length][frame] records fed at one-second steps to a
 * configured stack with a bound UDP port, a registered L4 protocol, a
 * DHCP client and a DNS query in flight, with polls in between; then it
 * is destroyed, so LeakSanitizer checks that nothing is held on to. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "net/dhcp.h"
#include "net/dns.h"
#include "net/stack.h"
#include "net/udp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void emit(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    fuzz_touch(frame, len);
    if (len < 14 || len > 14 + 1500)
        abort(); /* never a frame beyond the MTU */
}

static void on_udp(void *ctx, struct net_udp *u, net_time_t now, uint32_t src, uint16_t sport,
                   const uint8_t *d, size_t len)
{
    (void)ctx;
    (void)src;
    (void)sport;
    fuzz_touch(d, len);
    (void)net_udp_send(u, now, src, sport, d, len); /* echo back */
}

static void on_l4(void *ctx, struct net_stack *s, net_time_t now, uint32_t src, uint32_t dst,
                  const uint8_t *p, size_t len)
{
    (void)ctx;
    (void)s;
    (void)now;
    (void)src;
    (void)dst;
    fuzz_touch(p, len);
}

static void on_dhcp(void *ctx, struct net_dhcp *d, enum net_dhcp_event ev)
{
    (void)ctx;
    (void)d;
    (void)ev;
}

static void on_dns(void *ctx, struct net_dns *d, const char *name, int rc, const uint32_t *a,
                   size_t n)
{
    (void)ctx;
    (void)d;
    (void)rc;
    (void)a;
    fuzz_touch((const uint8_t *)name, strlen(name));
    (void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct net_stack_config cfg = {.mac = {2, 0, 0, 0, 0, 2}, .mtu = 1500, .emit = emit,
                                   .seed = 1};
    struct net_stack *s = net_stack_create(&cfg);
    if (!s)
        abort();
    net_time_t now = 1;
    (void)net_stack_set_ipv4(s, now, NET_IP4(10, 0, 0, 2), 24, NET_IP4(10, 0, 0, 1));
    struct net_udp *u = net_udp_bind(s, 7, on_udp, NULL);
    (void)net_stack_register_l4(s, 6, on_l4, NULL);
    struct net_dns *dns = net_dns_create(s, NET_IP4(10, 0, 0, 53));
    (void)net_dns_resolve(dns, now, "example.org", on_dns, NULL);
    struct net_dhcp *dhcp = NULL;
    const uint8_t *rec;
    size_t len;
    int n = 0;
    while ((rec = fuzz_next_record(&data, &size, &len)) != NULL) {
        net_stack_input(s, now, rec, len);
        if (++n == 3)
            dhcp = net_dhcp_start(s, now, on_dhcp, NULL);
        now += NET_SEC(1);
        net_stack_poll(s, now);
    }
    net_dhcp_stop(dhcp, now);
    net_dns_destroy(dns);
    net_udp_close(u);
    net_stack_destroy(s);
    return 0;
}
