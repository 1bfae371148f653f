#include "icmp_wire.h"

#include "net/checksum.h"

int icmp_view_check(struct icmp_view *v, const uint8_t *p, size_t len)
{
    if (len < ICMP_HDR_LEN)
        return -1;
    v->p = p;
    v->len = len;
    return 0;
}

int icmp_checksum_ok(const struct icmp_view *v)
{
    return net_checksum(v->p, v->len) == 0;
}
