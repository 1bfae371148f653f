#include "arp_wire.h"

#include <string.h>

int arp_view_check(struct arp_view *v, const uint8_t *p, size_t len)
{
    if (len < ARP_LEN)
        return -1;
    if (get_be16(p) != ARP_HTYPE_ETHER || get_be16(p + 2) != ARP_PTYPE_IPV4 || p[4] != 6 ||
        p[5] != 4)
        return -1;
    v->p = p;
    return 0;
}

void arp_emit(uint8_t out[ARP_LEN], uint16_t op, const uint8_t sha[6], uint32_t spa,
              const uint8_t tha[6], uint32_t tpa)
{
    put_be16(out, ARP_HTYPE_ETHER);
    put_be16(out + 2, ARP_PTYPE_IPV4);
    out[4] = 6;
    out[5] = 4;
    put_be16(out + 6, op);
    memcpy(out + 8, sha, 6);
    put_be32(out + 14, spa);
    memcpy(out + 18, tha, 6);
    put_be32(out + 24, tpa);
}
