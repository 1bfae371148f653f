/* Internet checksum, RFC 1071. */
#include "net/checksum.h"

uint32_t net_checksum_add(uint32_t sum, const uint8_t *data, size_t len)
{
    uint64_t acc = sum;
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        acc += (uint32_t)((data[i] << 8) | data[i + 1]);
    if (i < len)
        acc += (uint32_t)data[i] << 8; /* RFC 1071 section 4.1: pad odd byte */
    /* 2^32 = 1 (mod 0xffff): folding keeps the one's-complement sum. */
    while (acc >> 32)
        acc = (acc & 0xffffffffu) + (acc >> 32);
    return (uint32_t)acc;
}

uint16_t net_checksum_finish(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffffu) + (sum >> 16);
    return (uint16_t)~sum;
}

uint16_t net_checksum(const uint8_t *data, size_t len)
{
    return net_checksum_finish(net_checksum_add(0, data, len));
}

uint16_t net_checksum_pseudo(uint32_t src_ip, uint32_t dst_ip, uint8_t proto,
                             const uint8_t *data, size_t len)
{
    uint32_t sum = (src_ip >> 16) + (src_ip & 0xffffu) + (dst_ip >> 16) + (dst_ip & 0xffffu)
                   + proto + (uint32_t)(len & 0xffffu) + (uint32_t)(len >> 16);
    return net_checksum_finish(net_checksum_add(sum, data, len));
}
