#include "ethernet.h"

#include <string.h>

const uint8_t eth_broadcast[ETH_ADDR_LEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

int eth_view_check(struct eth_view *v, const uint8_t *p, size_t len)
{
    if (len < ETH_HDR_LEN)
        return -1;
    v->p = p;
    v->len = len;
    if (eth_type(v) < ETH_TYPE_MIN) /* 802.3 length field: LLC frames are not ours */
        return -1;
    return 0;
}

void eth_emit(uint8_t *out, const uint8_t dst[6], const uint8_t src[6], uint16_t type)
{
    memcpy(out, dst, ETH_ADDR_LEN);
    memcpy(out + 6, src, ETH_ADDR_LEN);
    put_be16(out + 12, type);
}
