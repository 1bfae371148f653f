/* Stack life cycle, Ethernet dispatch, timers and registration. */
#include <stdlib.h>
#include <string.h>

#include "arp.h"
#include "ethernet.h"
#include "ipv4_reasm.h"
#include "ipv4_wire.h"
#include "stack_internal.h"
#include "vnet_wire.h"

#define STACK_MIN_MTU 576  /* RFC 791 3.1: every host must accept 576-byte datagrams */
#define STACK_MAX_MTU 9000 /* jumbo frames */
#define STACK_DEFAULT_MTU 1500

struct net_stack *net_stack_create(const struct net_stack_config *cfg)
{
    size_t mtu = cfg->mtu ? cfg->mtu : STACK_DEFAULT_MTU;
    if (!cfg->emit || mtu < STACK_MIN_MTU || mtu > STACK_MAX_MTU || eth_is_multicast(cfg->mac))
        return NULL;
    struct net_stack *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->tx = malloc(ETH_HDR_LEN + mtu);
    if (!s->tx) {
        free(s);
        return NULL;
    }
    if (cfg->emit_tso) {
        s->tso_tx = malloc(NET_TSO_HEADROOM + ETH_HDR_LEN + IPV4_MAX_LEN);
        if (!s->tso_tx) {
            free(s->tx);
            free(s);
            return NULL;
        }
        s->emit_tso = cfg->emit_tso;
    }
    memcpy(s->mac, cfg->mac, 6);
    s->mtu = mtu;
    s->emit = cfg->emit;
    s->emit_ctx = cfg->emit_ctx;
    /* xorshift64 must not start at zero. */
    s->rng = cfg->seed ? cfg->seed : 0x9e3779b97f4a7c15u;
    s->next_ip_id = (uint16_t)net_stack_random(s);
    return s;
}

void net_stack_destroy(struct net_stack *s)
{
    if (!s)
        return;
    arp_flush(s);
    reasm_flush(&s->reasm);
    udp_free_all(s);
    free(s->tx);
    free(s->tso_tx);
    free(s);
}

uint32_t net_stack_random(struct net_stack *s)
{
    uint64_t x = s->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s->rng = x;
    return (uint32_t)(x >> 32);
}

int net_stack_set_ipv4(struct net_stack *s, net_time_t now, uint32_t addr, uint8_t prefix_len,
                       uint32_t gateway)
{
    (void)now;
    if (prefix_len > 32 || (addr == 0 && gateway != 0) || addr == IPV4_BROADCAST ||
        (addr >> 28) == 0xe)
        return NET_EINVAL;
    uint32_t mask = prefix_len ? 0xffffffffu << (32 - prefix_len) : 0;
    if (gateway != 0 && (gateway & mask) != (addr & mask))
        return NET_EINVAL;
    if (addr != s->addr)
        arp_flush(s); /* neighbours learnt on the old subnet are no longer ours */
    s->addr = addr;
    s->prefix_len = prefix_len;
    s->netmask = mask;
    s->gateway = gateway;
    arp_announce(s);
    return 0;
}

uint32_t net_stack_ipv4_addr(const struct net_stack *s) { return s->addr; }
uint32_t net_stack_ipv4_gateway(const struct net_stack *s) { return s->gateway; }
uint8_t net_stack_ipv4_prefix_len(const struct net_stack *s) { return s->prefix_len; }
size_t net_stack_mtu(const struct net_stack *s) { return s->mtu; }
const uint8_t *net_stack_mac(const struct net_stack *s) { return s->mac; }
const struct net_stack_stats *net_stack_stats(const struct net_stack *s) { return &s->stats; }

void stack_emit(struct net_stack *s, const uint8_t *frame, size_t len)
{
    s->stats.tx_frames++;
    s->emit(s->emit_ctx, frame, len);
}

void net_stack_input(struct net_stack *s, net_time_t now, const uint8_t *frame, size_t len)
{
    struct eth_view v;
    s->stats.rx_frames++;
    if (eth_view_check(&v, frame, len) != 0) {
        s->stats.rx_dropped++;
        return;
    }
    const uint8_t *dst = eth_dst(&v);
    if (memcmp(dst, s->mac, 6) != 0 && memcmp(dst, eth_broadcast, 6) != 0) {
        s->stats.rx_dropped++;
        return;
    }
    switch (eth_type(&v)) {
    case ETH_TYPE_ARP:
        arp_input(s, now, eth_payload(&v), eth_payload_len(&v));
        break;
    case ETH_TYPE_IPV4:
        ipv4_input(s, now, eth_payload(&v), eth_payload_len(&v));
        break;
    default:
        s->stats.rx_dropped++;
    }
}

void net_stack_input_trusted(struct net_stack *s, net_time_t now, const uint8_t *frame,
                             size_t len)
{
    s->rx_csum_trusted = 1;
    net_stack_input(s, now, frame, len);
    s->rx_csum_trusted = 0;
}

int net_stack_input_vnet(struct net_stack *s, net_time_t now, const uint8_t *buf, size_t len)
{
    struct vnet_view v;
    if (vnet_view_check(&v, buf, len) != 0) {
        s->stats.rx_frames++;
        s->stats.rx_dropped++;
        s->stats.rx_vnet_bad++;
        return NET_EINVAL;
    }
    if (vnet_csum_trusted(&v))
        net_stack_input_trusted(s, now, v.frame, v.frame_len);
    else
        net_stack_input(s, now, v.frame, v.frame_len);
    return 0;
}

int net_stack_rx_csum_trusted(const struct net_stack *s)
{
    return s->rx_csum_trusted;
}

int net_stack_tso(const struct net_stack *s)
{
    return s->emit_tso != NULL;
}

void net_stack_poll(struct net_stack *s, net_time_t now)
{
    arp_poll(s, now);
    struct reasm_datagram *d;
    while ((d = reasm_take_expired(&s->reasm, now)) != NULL) {
        icmp_send_reassembly_timeout(s, now, d);
        reasm_release(&s->reasm, d);
    }
    s->stats.reasm_dropped = s->reasm.dropped;
    for (size_t i = 0; i < s->n_timers; i++)
        if (s->timers[i].next(s->timers[i].ctx) <= now)
            s->timers[i].poll(s->timers[i].ctx, s, now);
}

net_time_t net_stack_next_deadline(const struct net_stack *s)
{
    net_time_t next = arp_next_deadline(s);
    net_time_t r = reasm_next_deadline(&s->reasm);
    if (r < next)
        next = r;
    for (size_t i = 0; i < s->n_timers; i++) {
        net_time_t t = s->timers[i].next(s->timers[i].ctx);
        if (t < next)
            next = t;
    }
    return next;
}

int net_stack_register_l4(struct net_stack *s, uint8_t ip_proto, net_l4_input_fn fn, void *ctx)
{
    if (!fn)
        return NET_EINVAL;
    if (ip_proto == IPV4_PROTO_ICMP || ip_proto == IPV4_PROTO_UDP)
        return NET_EADDRINUSE;
    for (size_t i = 0; i < s->n_l4; i++)
        if (s->l4[i].proto == ip_proto)
            return NET_EADDRINUSE;
    if (s->n_l4 == STACK_MAX_L4)
        return NET_ENOMEM;
    s->l4[s->n_l4++] = (struct l4_handler){ip_proto, fn, ctx};
    return 0;
}

int net_stack_unregister_l4(struct net_stack *s, uint8_t ip_proto, net_l4_input_fn fn, void *ctx)
{
    for (size_t i = 0; i < s->n_l4; i++) {
        struct l4_handler *h = &s->l4[i];
        if (h->proto == ip_proto && h->fn == fn && h->ctx == ctx) {
            memmove(h, h + 1, (s->n_l4 - i - 1) * sizeof(*h));
            s->n_l4--;
            return 0;
        }
    }
    return NET_EINVAL;
}

int net_stack_register_timer(struct net_stack *s, net_next_deadline_fn next, net_poll_fn poll,
                             void *ctx)
{
    if (!next || !poll)
        return NET_EINVAL;
    if (s->n_timers == STACK_MAX_TIMERS)
        return NET_ENOMEM;
    s->timers[s->n_timers++] = (struct timer_hook){next, poll, ctx};
    return 0;
}

int net_stack_unregister_timer(struct net_stack *s, net_next_deadline_fn next, net_poll_fn poll,
                               void *ctx)
{
    for (size_t i = 0; i < s->n_timers; i++) {
        struct timer_hook *h = &s->timers[i];
        if (h->next == next && h->poll == poll && h->ctx == ctx) {
            memmove(h, h + 1, (s->n_timers - i - 1) * sizeof(*h));
            s->n_timers--;
            return 0;
        }
    }
    return NET_EINVAL;
}
