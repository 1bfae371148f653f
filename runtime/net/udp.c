/* UDP sockets (RFC 768). */
#include "net/udp.h"

#include <stdlib.h>
#include <string.h>

#include "ipv4_wire.h"
#include "stack_internal.h"
#include "udp_wire.h"

#define UDP_EPHEMERAL_FIRST 49152 /* RFC 6335 section 6: dynamic ports */
#define UDP_EPHEMERAL_COUNT 16384

struct net_udp {
    struct net_udp *next;
    struct net_stack *stack;
    uint16_t port;
    net_udp_recv_fn fn;
    void *ctx;
};

static struct net_udp *udp_find(struct net_stack *s, uint16_t port)
{
    for (struct net_udp *u = s->udp_sockets; u; u = u->next)
        if (u->port == port)
            return u;
    return NULL;
}

struct net_udp *net_udp_bind(struct net_stack *s, uint16_t port, net_udp_recv_fn fn, void *ctx)
{
    if (!fn)
        return NULL;
    if (port == 0) {
        /* RFC 6056 section 3.3.1: a random start, then the next free port. */
        uint32_t start = net_stack_random(s);
        for (uint32_t i = 0; i < UDP_EPHEMERAL_COUNT && port == 0; i++) {
            uint16_t candidate =
                (uint16_t)(UDP_EPHEMERAL_FIRST + (start + i) % UDP_EPHEMERAL_COUNT);
            if (!udp_find(s, candidate))
                port = candidate;
        }
        if (port == 0)
            return NULL;
    } else if (udp_find(s, port)) {
        return NULL;
    }
    struct net_udp *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->stack = s;
    u->port = port;
    u->fn = fn;
    u->ctx = ctx;
    u->next = s->udp_sockets;
    s->udp_sockets = u;
    return u;
}

uint16_t net_udp_port(const struct net_udp *u)
{
    return u->port;
}

int net_udp_send(struct net_udp *u, net_time_t now, uint32_t dst_ip, uint16_t dst_port,
                 const uint8_t *data, size_t len)
{
    struct net_stack *s = u->stack;
    if (len > IPV4_MAX_LEN - IPV4_HDR_MIN - UDP_HDR_LEN)
        return NET_EMSGSIZE;
    if (dst_port == 0 || (len > 0 && !data))
        return NET_EINVAL;
    uint8_t *m = malloc(UDP_HDR_LEN + len);
    if (!m)
        return NET_ENOMEM;
    if (len)
        memcpy(m + UDP_HDR_LEN, data, len);
    udp_emit(m, s->addr, dst_ip, u->port, dst_port, len);
    int rc = net_ipv4_output(s, now, dst_ip, IPV4_PROTO_UDP, m, UDP_HDR_LEN + len);
    free(m);
    return rc;
}

void net_udp_close(struct net_udp *u)
{
    if (!u)
        return;
    struct net_udp **pp = &u->stack->udp_sockets;
    while (*pp && *pp != u)
        pp = &(*pp)->next;
    if (*pp)
        *pp = u->next;
    free(u);
}

void udp_free_all(struct net_stack *s)
{
    struct net_udp *u = s->udp_sockets;
    while (u) {
        struct net_udp *next = u->next;
        free(u);
        u = next;
    }
    s->udp_sockets = NULL;
}

void udp_input(struct net_stack *s, net_time_t now, uint32_t src, uint32_t dst,
               const uint8_t *hdr, size_t hdr_len, const uint8_t *payload, size_t len)
{
    struct udp_view v;
    if (udp_view_check(&v, payload, len) != 0) {
        s->stats.rx_dropped++;
        return;
    }
#ifndef NET_SKIP_RX_CHECKSUM
    if (!s->rx_csum_trusted && !udp_checksum_ok(&v, src, dst)) {
        s->stats.rx_dropped++;
        return;
    }
#endif
    struct net_udp *u = udp_find(s, udp_dst_port(&v));
    if (!u) {
        /* RFC 1122 3.2.2: no ICMP error about a datagram sent to a broadcast. */
        if (!stack_is_broadcast(s, dst) && dst == s->addr)
            icmp_send_port_unreachable(s, now, src, hdr, hdr_len, payload, len);
        return;
    }
    u->fn(u->ctx, u, now, src, udp_src_port(&v), udp_payload(&v),
          udp_payload_len(&v));
}
