#include "udp_wire.h"

#include "ipv4_wire.h"
#include "net/checksum.h"

int udp_view_check(struct udp_view *v, const uint8_t *p, size_t len)
{
    if (len < UDP_HDR_LEN)
        return -1;
    size_t ulen = get_be16(p + 4);
    if (ulen < UDP_HDR_LEN || ulen > len)
        return -1;
    v->p = p;
    v->len = ulen;
    return 0;
}

int udp_checksum_ok(const struct udp_view *v, uint32_t src, uint32_t dst)
{
    if (udp_checksum_field(v) == 0)
        return 1;
    return net_checksum_pseudo(src, dst, IPV4_PROTO_UDP, v->p, v->len) == 0;
}

void udp_emit(uint8_t *out, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
              size_t payload_len)
{
    size_t len = UDP_HDR_LEN + payload_len;
    put_be16(out, sport);
    put_be16(out + 2, dport);
    put_be16(out + 4, (uint16_t)len);
    put_be16(out + 6, 0);
    uint16_t sum = net_checksum_pseudo(src, dst, IPV4_PROTO_UDP, out, len);
    put_be16(out + 6, sum == 0 ? 0xffff : sum); /* RFC 768: computed zero is sent as all ones */
}
