/* The whole stack: [length][frame] records fed at one-second steps to a
 * configured stack running the fuzzers' application (stack_app.h: TCP
 * echo on port 80, an active open, UDP echo), a DHCP client and a DNS
 * query in flight, with polls in between; then it is destroyed, so
 * LeakSanitizer checks that nothing is held on to. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "net/dhcp.h"
#include "net/dns.h"
#include "net/stack.h"
#include "stack_app.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
    struct net_stack_config cfg = {.mac = {2, 0, 0, 0, 0, 2}, .mtu = FUZZ_APP_MTU,
                                   .emit = fuzz_app_emit, .seed = 1};
    struct net_stack *s = net_stack_create(&cfg);
    if (!s)
        abort();
    struct fuzz_app app = {.now = 1};
    fuzz_app_start(&app, s, 0);
    struct net_dns *dns = net_dns_create(s, NET_IP4(10, 0, 0, 53));
    (void)net_dns_resolve(dns, app.now, "example.org", on_dns, NULL);
    struct net_dhcp *dhcp = NULL;
    const uint8_t *rec;
    size_t len;
    int n = 0;
    while ((rec = fuzz_next_record(&data, &size, &len)) != NULL) {
        net_stack_input(s, app.now, rec, len);
        if (++n == 3)
            dhcp = net_dhcp_start(s, app.now, on_dhcp, NULL);
        app.now += NET_SEC(1);
        net_stack_poll(s, app.now);
    }
    net_dhcp_stop(dhcp, app.now);
    net_dns_destroy(dns);
    fuzz_app_stop(&app, s);
    net_stack_destroy(s);
    return 0;
}
