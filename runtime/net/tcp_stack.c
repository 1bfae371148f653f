/* Glue between the pure TCP engine and the IPv4 stack. */
#include "net/tcp_stack.h"

#include <stdlib.h>
#include <string.h>

#include "net/tcp_wire.h"
#include "tcp_internal.h"

#define IPV4_HDR 20u /* RFC 791: header without options */
#define TCP_HDR 20u  /* RFC 9293 3.1: header without options */

struct tcp_binding {
    struct net_stack *stack;
    struct tcp_engine *engine;
};

static void output(void *ctx, tcp_time_t now, uint32_t src_ip, uint32_t dst_ip,
                   uint8_t *seg, size_t len)
{
    struct tcp_binding *b = ctx;
    (void)src_ip; /* the stack has one address, which is src_ip */
    /* A failure (no route, ARP queue full) is a lost segment: TCP's
     * retransmission covers it. */
    uint16_t tso_mss = tcp_output_tso_mss(b->engine);
    if (tso_mss)
        (void)net_ipv4_output_tso_in_place(b->stack, now, dst_ip, seg, len,
                                           (uint16_t)((seg[12] >> 4) * 4), tso_mss);
    else
        (void)net_ipv4_output(b->stack, now, dst_ip, 6, seg, len);
}

static void input(void *ctx, struct net_stack *s, net_time_t now, uint32_t src_ip,
                  uint32_t dst_ip, const uint8_t *payload, size_t len)
{
    struct tcp_binding *b = ctx;
    if (net_stack_rx_csum_trusted(s))
        tcp_input_csum_trusted(b->engine, now, src_ip, dst_ip, payload, len);
    else
        tcp_input(b->engine, now, src_ip, dst_ip, payload, len);
}

static net_time_t next_deadline(void *ctx)
{
    struct tcp_binding *b = ctx;
    return tcp_next_deadline(b->engine);
}

static void timer_poll(void *ctx, struct net_stack *s, net_time_t now)
{
    struct tcp_binding *b = ctx;
    (void)s;
    tcp_poll(b->engine, now);
}

struct tcp_engine *tcp_stack_attach(struct net_stack *s, const struct tcp_config *cfg)
{
    struct tcp_config c;
    if (cfg)
        c = *cfg;
    else
        tcp_config_default(&c);
    struct tcp_binding *b = malloc(sizeof(*b));
    if (!b)
        return NULL;
    b->stack = s;
    c.output = output;
    c.output_ctx = b;
    for (unsigned i = 0; i < sizeof(c.secret); i += 4) {
        uint32_t r = net_stack_random(s);
        memcpy(c.secret + i, &r, sizeof(r));
    }
    if (!cfg)
        c.mss = 0;
    /* RFC 9293 3.7.1: the MSS is the interface MTU less the IPv4 and TCP
     * headers; 0 takes it, a caller's smaller value caps it. A jumbo-frame
     * tap (MTU 9000) thus carries 8,960 bytes per frame, not 1,460. */
    size_t mtu = net_stack_mtu(s);
    if (mtu > IPV4_HDR + TCP_HDR && (c.mss == 0 || mtu - IPV4_HDR - TCP_HDR < c.mss))
        c.mss = (uint16_t)(mtu - IPV4_HDR - TCP_HDR);
    /* A device with TSO (docs/net-offload.md) takes super-segments of up
     * to 64 KiB; a caller's smaller tso_max caps them. */
    size_t tso_limit = 65535u - IPV4_HDR - TCP_HDR_MAX;
    if (net_stack_tso(s) && (c.tso_max == 0 || c.tso_max > tso_limit))
        c.tso_max = (uint32_t)tso_limit;
    else if (!net_stack_tso(s))
        c.tso_max = 0;
    /* Super-segments leave from the engine's buffer: the frame headers go
     * in front of it (one copy fewer per 64 KiB). */
    c.tx_headroom = net_stack_tso(s) ? NET_TSO_PREFIX : 0;
    b->engine = tcp_engine_create(&c);
    if (!b->engine) {
        free(b);
        return NULL;
    }
    if (net_stack_register_l4(s, 6, input, b) != 0) {
        tcp_engine_destroy(b->engine);
        free(b);
        return NULL;
    }
    /* The input hook must go too: left registered, it would reach the
     * freed binding with the next segment. */
    if (net_stack_register_timer(s, next_deadline, timer_poll, b) != 0) {
        (void)net_stack_unregister_l4(s, 6, input, b);
        tcp_engine_destroy(b->engine);
        free(b);
        return NULL;
    }
    return b->engine;
}

void tcp_stack_detach(struct net_stack *s, struct tcp_engine *e)
{
    if (!e)
        return;
    struct tcp_binding *b = e->cfg.output_ctx; /* set by tcp_stack_attach */
    (void)net_stack_unregister_timer(s, next_deadline, timer_poll, b);
    (void)net_stack_unregister_l4(s, 6, input, b);
    tcp_engine_destroy(e);
    free(b);
}
