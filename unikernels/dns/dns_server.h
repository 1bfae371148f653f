/* The dns unikernel's servers on the runtime's stack: UDP port 53 and TCP
 * port 53 (RFC 7766: pipelined queries answered in order, an idle
 * timeout, AXFR streamed). */
#ifndef DNS_SERVER_H
#define DNS_SERVER_H

#include <stdint.h>

#include "dns_args.h"
#include "net/stack.h"
#include "net/tcp.h"
#include "net/udp.h"
#include "query.h"
#include "rt/loop.h"
#include "zone.h"

#define DNS_TCP_CONNS_MAX 64

struct dns_server {
    struct rt_loop *loop;
    const struct zone_set *zones;
    const struct dns_args *args;
    struct net_udp *udp;
    struct tcp_engine *tcp;
    unsigned long udp_queries;
    unsigned long tcp_queries;
    unsigned tcp_open;
    uint8_t udp_out[DNS_EDNS_DEFAULT];
};

/* 0, or -1 if port 53 cannot be bound. */
int dns_udp_start(struct dns_server *srv, struct net_stack *stack);
int dns_tcp_start(struct dns_server *srv);

#endif
