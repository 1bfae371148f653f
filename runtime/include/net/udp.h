/* UDP (RFC 768) with a callback API.
 *
 *     static void on_datagram(void *ctx, struct net_udp *u, net_time_t now,
 *                             uint32_t src_ip, uint16_t src_port,
 *                             const uint8_t *data, size_t len) { ... }
 *     struct net_udp *u = net_udp_bind(stack, 5353, on_datagram, ctx);
 *     net_udp_send(u, now, NET_IP4(10,0,0,1), 53, query, query_len);
 *     net_udp_close(u);
 *
 * Datagrams to a port nobody bound get an ICMP port unreachable
 * (rate-limited, never for broadcasts). Checksums are always computed on
 * send and checked on receive (a zero checksum means "none", RFC 768).
 */
#ifndef NET_UDP_H
#define NET_UDP_H

#include <stddef.h>
#include <stdint.h>

#include "net/stack.h"

struct net_udp;

/* data is valid only during the call. */
typedef void (*net_udp_recv_fn)(void *ctx, struct net_udp *u, net_time_t now, uint32_t src_ip,
                                uint16_t src_port, const uint8_t *data, size_t len);

/* Binds port (0 picks a free ephemeral port from 49152-65535 at a random start).
 * NULL if the port is taken or memory ran out. */
struct net_udp *net_udp_bind(struct net_stack *s, uint16_t port, net_udp_recv_fn fn, void *ctx);
uint16_t net_udp_port(const struct net_udp *u);
/* Sends one datagram (fragmented if needed); returns 0 or a NET_E* value. */
int net_udp_send(struct net_udp *u, net_time_t now, uint32_t dst_ip, uint16_t dst_port,
                 const uint8_t *data, size_t len);
void net_udp_close(struct net_udp *u);

#endif
