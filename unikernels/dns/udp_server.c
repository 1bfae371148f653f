#include <stddef.h>

#include "dns_server.h"

static void on_datagram(void *ctx, struct net_udp *u, net_time_t now, uint32_t src_ip,
                        uint16_t src_port, const uint8_t *data, size_t len)
{
    struct dns_server *srv = ctx;
    struct dns_query_opts opts = { DNS_OVER_UDP, 0, DNS_EDNS_DEFAULT };
    size_t n = dns_query_answer(srv->zones, data, len, &opts, srv->udp_out,
                                sizeof(srv->udp_out), NULL);
    srv->udp_queries++;
    if (n > 0)
        net_udp_send(u, now, src_ip, src_port, srv->udp_out, n); /* RFC 2181 4: same address */
}

int dns_udp_start(struct dns_server *srv, struct net_stack *stack)
{
    srv->udp = net_udp_bind(stack, DNS_PORT, on_datagram, srv);
    return srv->udp ? 0 : -1;
}
