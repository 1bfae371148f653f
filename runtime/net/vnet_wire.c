#include "vnet_wire.h"

#define TCP_CSUM_OFFSET 16 /* RFC 9293 3.1: checksum field of the TCP header */

static uint16_t get_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

int vnet_view_check(struct vnet_view *v, const uint8_t *p, size_t len)
{
    if (len < VNET_HDR_LEN)
        return -1;
    v->flags = p[0];
    v->gso_type = p[1];
    v->hdr_len = get_le16(p + 2);
    v->gso_size = get_le16(p + 4);
    v->csum_start = get_le16(p + 6);
    v->csum_offset = get_le16(p + 8);
    v->frame = p + VNET_HDR_LEN;
    v->frame_len = len - VNET_HDR_LEN;
    if (v->flags & ~(VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID))
        return -1;
    if ((v->flags & VNET_F_NEEDS_CSUM) && (v->flags & VNET_F_DATA_VALID))
        return -1;
    if ((v->flags & VNET_F_NEEDS_CSUM) &&
        (size_t)v->csum_start + v->csum_offset + 2 > v->frame_len)
        return -1;
    switch (v->gso_type) {
    case VNET_GSO_NONE:
        return 0;
    case VNET_GSO_TCPV4:
        /* The TCP checksum of a merged segment is partial (the host's own
         * TSO output) or was checked before merging (GRO): one of the two
         * flags is set, or the frame could never be verified. */
        return v->gso_size != 0 && vnet_csum_trusted(v) ? 0 : -1;
    default:
        return -1;
    }
}

void vnet_emit_plain(uint8_t out[VNET_HDR_LEN])
{
    for (int i = 0; i < VNET_HDR_LEN; i++)
        out[i] = 0;
}

void vnet_emit_tso4(uint8_t out[VNET_HDR_LEN], uint16_t tcp_off, uint16_t hdr_len,
                    uint16_t gso_size)
{
    out[0] = VNET_F_NEEDS_CSUM;
    out[1] = VNET_GSO_TCPV4;
    put_le16(out + 2, hdr_len);
    put_le16(out + 4, gso_size);
    put_le16(out + 6, tcp_off);
    put_le16(out + 8, TCP_CSUM_OFFSET);
}
