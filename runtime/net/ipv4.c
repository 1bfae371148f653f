/* IPv4 input (RFC 791, RFC 1122 section 3.2.1) and output with
 * fragmentation (RFC 791 section 3.2). */
#include <stdlib.h>
#include <string.h>

#include "arp.h"
#include "ethernet.h"
#include "ipv4_reasm.h"
#include "ipv4_wire.h"
#include "stack_internal.h"

static int is_martian_source(const struct net_stack *s, uint32_t src)
{
    /* RFC 1122 3.2.1.3: a source that is broadcast, multicast (224/4) or
     * loopback (127/8) is discarded; so is our own address coming back. */
    return stack_is_broadcast(s, src) || (src >> 28) == 0xe || (src >> 24) == 127 ||
           (src != 0 && src == s->addr);
}

static int accepts_destination(const struct net_stack *s, uint32_t dst)
{
    if (dst == IPV4_BROADCAST)
        return 1; /* also while unconfigured: DHCP offers may arrive this way */
    return s->addr != 0 && (dst == s->addr || stack_is_broadcast(s, dst));
}

void ipv4_input(struct net_stack *s, net_time_t now, const uint8_t *p, size_t len)
{
    struct ipv4_view v;
    if (ipv4_view_check(&v, p, len) != 0) {
        s->stats.rx_dropped++;
        return;
    }
#ifndef NET_SKIP_RX_CHECKSUM
    if (!ipv4_checksum_ok(&v)) {
        s->stats.rx_dropped++;
        return;
    }
#endif
    uint32_t src = ipv4_src(&v), dst = ipv4_dst(&v);
    if (is_martian_source(s, src) || !accepts_destination(s, dst)) {
        s->stats.rx_dropped++;
        return;
    }
    /* Options (IHL > 5) are skipped: ipv4_payload() starts after them. */
    if (ipv4_more_fragments(&v) || ipv4_frag_offset(&v) != 0) {
        struct reasm_datagram *d = reasm_input(&s->reasm, now, &v);
        s->stats.reasm_dropped = s->reasm.dropped;
        if (!d)
            return;
        ipv4_deliver(s, now, src, dst, d->proto, d->first_hdr, d->first_hdr_len, d->buf,
                     d->total);
        reasm_release(&s->reasm, d);
        return;
    }
    ipv4_deliver(s, now, src, dst, ipv4_proto(&v), v.p, v.hdr_len, ipv4_payload(&v),
                 ipv4_payload_len(&v));
}

void ipv4_deliver(struct net_stack *s, net_time_t now, uint32_t src, uint32_t dst, uint8_t proto,
                  const uint8_t *hdr, size_t hdr_len, const uint8_t *payload, size_t len)
{
    switch (proto) {
    case IPV4_PROTO_ICMP:
        icmp_input(s, now, src, dst, payload, len);
        return;
    case IPV4_PROTO_UDP:
        udp_input(s, now, src, dst, hdr, hdr_len, payload, len);
        return;
    default:
        for (size_t i = 0; i < s->n_l4; i++) {
            if (s->l4[i].proto == proto) {
                if (dst == s->addr) /* no broadcast TCP */
                    s->l4[i].fn(s->l4[i].ctx, s, now, src, dst, payload, len);
                return;
            }
        }
        /* RFC 1122 3.2.2.1 suggests protocol unreachable; it is not sent. */
        s->stats.rx_dropped++;
    }
}

int stack_is_broadcast(const struct net_stack *s, uint32_t dst)
{
    if (dst == IPV4_BROADCAST)
        return 1;
    return s->addr != 0 && s->prefix_len < 31 && (dst & ~s->netmask) == ~s->netmask &&
           (dst & s->netmask) == (s->addr & s->netmask);
}

/* The next hop for dst_ip (0 for a broadcast), or NET_EUNREACH. */
static int route(const struct net_stack *s, uint32_t dst_ip, uint32_t *next_hop)
{
    if (stack_is_broadcast(s, dst_ip))
        *next_hop = 0;
    else if (s->addr == 0 || dst_ip == 0)
        return NET_EUNREACH;
    else if ((dst_ip & s->netmask) == (s->addr & s->netmask))
        *next_hop = dst_ip;
    else if (s->gateway != 0)
        *next_hop = s->gateway;
    else
        return NET_EUNREACH;
    return 0;
}

_Static_assert(NET_TSO_PREFIX == NET_TSO_HEADROOM + ETH_HDR_LEN + IPV4_HDR_MIN,
               "NET_TSO_PREFIX is the device header room plus Ethernet and IPv4");

int net_ipv4_output_tso(struct net_stack *s, net_time_t now, uint32_t dst_ip,
                        const uint8_t *payload, size_t len, uint16_t tcp_hdr_len, uint16_t mss)
{
    if (!s->emit_tso)
        return NET_EINVAL;
    if (len > IPV4_MAX_LEN - IPV4_HDR_MIN)
        return NET_EMSGSIZE;
    uint8_t *copy = s->tso_tx + NET_TSO_PREFIX;
    memcpy(copy, payload, len);
    return net_ipv4_output_tso_in_place(s, now, dst_ip, copy, len, tcp_hdr_len, mss);
}

int net_ipv4_output_tso_in_place(struct net_stack *s, net_time_t now, uint32_t dst_ip,
                                 uint8_t *payload, size_t len, uint16_t tcp_hdr_len,
                                 uint16_t mss)
{
    if (!s->emit_tso || tcp_hdr_len < 20 || len < tcp_hdr_len || mss == 0)
        return NET_EINVAL;
    if (len > IPV4_MAX_LEN - IPV4_HDR_MIN)
        return NET_EMSGSIZE;
    uint32_t next_hop;
    if (route(s, dst_ip, &next_hop) != 0 || next_hop == 0)
        return NET_EUNREACH;
    const uint8_t *mac = arp_resolved_or_request(s, now, next_hop);
    if (!mac)
        return NET_ENOBUFS;
    uint8_t *f = payload - ETH_HDR_LEN - IPV4_HDR_MIN;
    eth_emit(f, mac, s->mac, ETH_TYPE_IPV4);
    /* The device gives every segment its own IP ID, counting up from this
     * one (Linux tcp_gso_segment), and its own header checksum. */
    ipv4_emit(f + ETH_HDR_LEN, s->addr, dst_ip, IPV4_PROTO_TCP, s->next_ip_id, 0,
              IPV4_DEFAULT_TTL, len);
    s->next_ip_id = (uint16_t)(s->next_ip_id + (len - tcp_hdr_len + mss - 1) / mss);
    struct net_tso tso = {.mss = mss, .l4_off = ETH_HDR_LEN + IPV4_HDR_MIN,
                          .hdr_len = (uint16_t)(ETH_HDR_LEN + IPV4_HDR_MIN + tcp_hdr_len)};
    s->stats.tx_frames++;
    s->emit_tso(s->emit_ctx, f, ETH_HDR_LEN + IPV4_HDR_MIN + len, &tso);
    return 0;
}

int net_ipv4_output(struct net_stack *s, net_time_t now, uint32_t dst_ip, uint8_t ip_proto,
                    const uint8_t *payload, size_t len)
{
    if (len > IPV4_MAX_LEN - IPV4_HDR_MIN)
        return NET_EMSGSIZE;
    if (len > 0 && !payload)
        return NET_EINVAL;
    uint32_t next_hop;
    int rc = route(s, dst_ip, &next_hop);
    if (rc != 0)
        return rc;
    int broadcast = next_hop == 0;
    uint16_t id = s->next_ip_id++;
    /* RFC 791 3.2: every fragment but the last carries a multiple of 8 bytes. */
    size_t max_chunk = (s->mtu - IPV4_HDR_MIN) & ~(size_t)7;
    size_t off = 0;
    do {
        size_t chunk = len - off;
        uint16_t flags = 0;
        if (chunk > s->mtu - IPV4_HDR_MIN) {
            chunk = max_chunk;
            flags = IPV4_FLAG_MF;
        }
        flags |= (uint16_t)(off / 8);
        uint8_t *f = s->tx;
        eth_emit(f, eth_broadcast, s->mac, ETH_TYPE_IPV4);
        ipv4_emit(f + ETH_HDR_LEN, s->addr, dst_ip, ip_proto, id, flags, IPV4_DEFAULT_TTL, chunk);
        if (chunk)
            memcpy(f + ETH_HDR_LEN + IPV4_HDR_MIN, payload + off, chunk);
        size_t flen = ETH_HDR_LEN + IPV4_HDR_MIN + chunk;
        if (flen < 60) { /* IEEE 802.3 minimum frame without FCS */
            memset(f + flen, 0, 60 - flen);
            flen = 60;
        }
        if (broadcast) {
            stack_emit(s, f, flen);
        } else {
            rc = arp_output(s, now, next_hop, f, flen);
            if (rc != 0)
                return rc;
        }
        off += chunk;
    } while (off < len);
    return 0;
}
