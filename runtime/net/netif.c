/* Glue between a Solo5 net device, the stack and the event loop. */
#include "net/netif.h"

#include <stdlib.h>
#include <string.h>

#include "rt/prng.h"
#include "solo5.h"
#include "vnet_wire.h"

/* This image's network code reads and writes virtio-net headers: an spt
 * tender that sees the symbol (through the bindings' NVH1 note) opens the
 * tap with them (docs/net-offload.md). */
const uint8_t solo5_net_vnet_hdr_reader = 1;

struct netif {
    solo5_handle_t handle;
    struct solo5_net_info info;
    struct net_stack *stack;
    struct net_dhcp *dhcp;
    uint8_t *rx;
    size_t rx_size;
    int vnet;            /* frames carry a virtio-net header */
    uint8_t *tx;         /* vnet: header + one MTU-sized frame */
};

static void netif_emit(void *ctx, const uint8_t *frame, size_t len)
{
    struct netif *n = ctx;
    /* Best effort, like the wire: a full device drops the frame. */
    if (!n->vnet) {
        (void)solo5_net_write(n->handle, frame, len);
        return;
    }
    if (len > n->info.mtu + SOLO5_NET_HLEN)
        return;
    vnet_emit_plain(n->tx);
    memcpy(n->tx + VNET_HDR_LEN, frame, len);
    (void)solo5_net_write(n->handle, n->tx, VNET_HDR_LEN + len);
}

/* The header goes into the headroom the stack leaves before a TSO frame. */
static void netif_emit_tso(void *ctx, uint8_t *frame, size_t len, const struct net_tso *tso)
{
    struct netif *n = ctx;
    uint8_t *hdr = frame - VNET_HDR_LEN;
    vnet_emit_tso4(hdr, tso->l4_off, tso->hdr_len, tso->mss);
    (void)solo5_net_write(n->handle, hdr, VNET_HDR_LEN + len);
}

static void netif_input(struct netif *n, solo5_time_t now, size_t len)
{
    if (n->vnet)
        (void)net_stack_input_vnet(n->stack, now, n->rx, len);
    else
        net_stack_input(n->stack, now, n->rx, len);
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
        netif_input(n, now, len);
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
    n->vnet = (n->info.offload & SOLO5_NET_OFFLOAD_VNET_TSO4) != 0;
    /* Merged segments of up to 64 KiB arrive only with the extension. */
    n->rx_size = n->vnet ? SOLO5_NET_VNET_FRAME_MAX : n->info.mtu + SOLO5_NET_HLEN;
    n->rx = malloc(n->rx_size);
    if (!n->rx)
        goto fail;
    if (n->vnet && !(n->tx = malloc(VNET_HDR_LEN + n->info.mtu + SOLO5_NET_HLEN)))
        goto fail;
    uint64_t seed = prng_seed_from(solo5_clock_monotonic(), n->info.mac_address);
    prng_seed(seed);
    struct net_stack_config cfg = {.mtu = n->info.mtu, .emit = netif_emit, .emit_ctx = n,
                                   .seed = prng_next(),
                                   .emit_tso = n->vnet ? netif_emit_tso : NULL};
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
    free(n->tx);
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

int netif_offload(const struct netif *n)
{
    return n->vnet;
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
