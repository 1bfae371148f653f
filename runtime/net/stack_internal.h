/* The stack's state, shared by its modules (not part of the public API). */
#ifndef NET_STACK_INTERNAL_H
#define NET_STACK_INTERNAL_H

#include <stdint.h>

#include "arp.h"
#include "ipv4_reasm.h"
#include "net/stack.h"

#define STACK_MAX_L4 4      /* registered protocols besides ICMP and UDP */
#define STACK_MAX_TIMERS 8  /* registered L4 timer hooks */

struct net_udp;

struct l4_handler {
    uint8_t proto;
    net_l4_input_fn fn;
    void *ctx;
};

struct timer_hook {
    net_next_deadline_fn next;
    net_poll_fn poll;
    void *ctx;
};

struct net_stack {
    uint8_t mac[6];
    size_t mtu;
    net_emit_fn emit;
    void *emit_ctx;
    uint64_t rng;

    uint32_t addr;
    uint32_t netmask;
    uint32_t gateway;
    uint8_t prefix_len;
    uint16_t next_ip_id;

    struct arp_table arp;
    struct reasm_table reasm;

    /* RFC 1812 section 4.3.2.8: ICMP error rate limit, a token bucket. */
    uint32_t icmp_tokens;
    uint8_t icmp_bucket_started;
    net_time_t icmp_last_refill;

    struct net_udp *udp_sockets;

    struct l4_handler l4[STACK_MAX_L4];
    size_t n_l4;
    struct timer_hook timers[STACK_MAX_TIMERS];
    size_t n_timers;

    uint8_t *tx;            /* one frame: ETH_HDR_LEN + mtu */
    net_emit_tso_fn emit_tso;
    uint8_t *tso_tx;        /* NET_TSO_HEADROOM + one TSO frame, with emit_tso */
    int rx_csum_trusted;    /* during net_stack_input_trusted */
    struct net_stack_stats stats;
};

/* Hands a finished frame (its Ethernet header included) to the device. */
void stack_emit(struct net_stack *s, const uint8_t *frame, size_t len);

/* True if dst is the limited broadcast or our subnet's directed broadcast. */
int stack_is_broadcast(const struct net_stack *s, uint32_t dst);

/* IPv4 input (called by the Ethernet dispatch) and per-protocol inputs. */
void ipv4_input(struct net_stack *s, net_time_t now, const uint8_t *p, size_t len);
void ipv4_deliver(struct net_stack *s, net_time_t now, uint32_t src, uint32_t dst, uint8_t proto,
                  const uint8_t *hdr, size_t hdr_len, const uint8_t *payload, size_t len);
void icmp_input(struct net_stack *s, net_time_t now, uint32_t src, uint32_t dst,
                const uint8_t *payload, size_t len);
/* Port unreachable for the datagram hdr+payload, subject to the rate limit. */
void icmp_send_port_unreachable(struct net_stack *s, net_time_t now, uint32_t src,
                                const uint8_t *hdr, size_t hdr_len, const uint8_t *payload,
                                size_t len);
/* RFC 792 time exceeded, code 1, for a datagram whose first fragment
 * arrived (RFC 1122 3.3.2), subject to the rate limit. */
void icmp_send_reassembly_timeout(struct net_stack *s, net_time_t now,
                                  const struct reasm_datagram *d);
void udp_input(struct net_stack *s, net_time_t now, uint32_t src, uint32_t dst,
               const uint8_t *hdr, size_t hdr_len, const uint8_t *payload, size_t len);
void udp_free_all(struct net_stack *s);

#endif
