/* Glue between a Solo5 net device, the stack and the event loop. */
#include "net/netif.h"

#include <stdlib.h>

#include "rt/prng.h"
#include "solo5.h"

struct netif {
    solo5_handle_t handle;
    struct solo5_net_info info;
    struct net_stack *stack;
    struct net_dhcp *dhcp;
    uint8_t *rx;
    size_t rx_size;
};

static void netif_emit(void *ctx, const uint8_t *frame, size_t len)
{
    struct netif *n = ctx;
    /* Best effort, like the wire: a full device drops the frame. */
    (void)solo5_net_write(n->handle, frame, len);
}

/* Frames handled per wake-up: timers still run under a flood, and what is
 * left keeps the handle ready, so the next yield returns at once. */
#define NETIF_RX_BATCH 256

static void netif_readable(void *ctx, solo5_handle_t handle, solo5_time_t now)
{
    struct netif *n = ctx;
    size_t len;
    for (int i = 0; i < NETIF_RX_BATCH; i++) {
        if (solo5_net_read(handle, n->rx, n->rx_size, &len) != SOLO5_R_OK)
            break;
        net_stack_input(n->stack, now, n->rx, len);
    }
}

static solo5_time_t netif_next(void *ctx)
{
    return net_stack_next_deadline(((struct netif *)ctx)->stack);
}

static void netif_poll(void *ctx, solo5_time_t now)
{
    struct netif *n = ctx;
    net_stack_poll(n->stack, now);
}

struct netif *netif_open(struct rt_loop *loop, const char *name)
{
    struct netif *n = calloc(1, sizeof(*n));
    if (!n)
        return NULL;
    if (solo5_net_acquire(name, &n->handle, &n->info) != SOLO5_R_OK)
        goto fail;
    n->rx_size = n->info.mtu + SOLO5_NET_HLEN;
    n->rx = malloc(n->rx_size);
    if (!n->rx)
        goto fail;
    uint64_t seed = prng_seed_from(solo5_clock_monotonic(), n->info.mac_address);
    prng_seed(seed);
    struct net_stack_config cfg = {.mtu = n->info.mtu, .emit = netif_emit, .emit_ctx = n,
                                   .seed = prng_next()};
    for (int i = 0; i < 6; i++)
        cfg.mac[i] = n->info.mac_address[i];
    n->stack = net_stack_create(&cfg);
    if (!n->stack)
        goto fail;
    if (rt_loop_watch(loop, n->handle, netif_readable, n) != 0 ||
        rt_loop_add_source(loop, netif_next, netif_poll, n) != 0)
        goto fail;
    return n;
fail:
    net_stack_destroy(n->stack);
    free(n->rx);
    free(n);
    return NULL;
}

struct net_stack *netif_stack(struct netif *n)
{
    return n->stack;
}

struct net_dhcp *netif_dhcp(struct netif *n)
{
    return n->dhcp;
}

int netif_configure(struct netif *n, const struct net_bootargs *args, net_dhcp_event_fn fn,
                    void *ctx)
{
    solo5_time_t now = solo5_clock_monotonic();
    if (!args->dhcp)
        return net_stack_set_ipv4(n->stack, now, args->addr, args->prefix_len, args->gateway);
    n->dhcp = net_dhcp_start(n->stack, now, fn, ctx);
    return n->dhcp ? 0 : NET_ENOMEM;
}
