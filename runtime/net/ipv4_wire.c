#include "ipv4_wire.h"

#include "net/checksum.h"

int ipv4_view_check(struct ipv4_view *v, const uint8_t *p, size_t len)
{
    if (len < IPV4_HDR_MIN)
        return -1;
    if ((p[0] >> 4) != 4)
        return -1;
    size_t hdr_len = (size_t)(p[0] & 0x0f) * 4;
    size_t total = get_be16(p + 2);
    if (hdr_len < IPV4_HDR_MIN || total < hdr_len || total > len)
        return -1;
    v->p = p;
    v->hdr_len = hdr_len;
    v->total_len = total;
    return 0;
}

int ipv4_checksum_ok(const struct ipv4_view *v)
{
    return net_checksum(v->p, v->hdr_len) == 0;
}

void ipv4_emit(uint8_t out[IPV4_HDR_MIN], uint32_t src, uint32_t dst, uint8_t proto,
               uint16_t id, uint16_t flags_frag, uint8_t ttl, size_t payload_len)
{
    out[0] = 0x45;
    out[1] = 0;
    put_be16(out + 2, (uint16_t)(IPV4_HDR_MIN + payload_len));
    put_be16(out + 4, id);
    put_be16(out + 6, flags_frag);
    out[8] = ttl;
    out[9] = proto;
    put_be16(out + 10, 0);
    put_be32(out + 12, src);
    put_be32(out + 16, dst);
    put_be16(out + 10, net_checksum(out, IPV4_HDR_MIN));
}
