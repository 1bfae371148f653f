/* Internet checksum, RFC 1071. */
#include "net/checksum.h"

/* The one's-complement sum is byte-order independent (RFC 1071 section
 * 2(B)): summing native 16-bit words and swapping the folded result gives
 * the big-endian sum. Native words let the loop add 8 bytes at a time. */
static uint64_t fold64(uint64_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffffu) + (acc >> 16);
    return acc;
}

uint32_t net_checksum_add(uint32_t sum, const uint8_t *data, size_t len)
{
    uint64_t acc = 0;
    size_t i = 0;
    /* Two 32-bit halves per 8 bytes: no carry is lost below 2^34 bytes. */
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        __builtin_memcpy(&w, data + i, sizeof(w));
        acc += (w & 0xffffffffu) + (w >> 32);
    }
    for (; i + 1 < len; i += 2) {
        uint16_t w;
        __builtin_memcpy(&w, data + i, sizeof(w));
        acc += w;
    }
    uint64_t odd = i < len ? data[i] : 0; /* RFC 1071 section 4.1: pad odd byte */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    acc = fold64(acc);
    acc = ((acc & 0xffu) << 8) | (acc >> 8); /* native sum -> big-endian sum */
    acc += odd << 8;
#else
    acc += odd << 8;
#endif
    acc += sum;
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

static uint32_t pseudo_sum(uint32_t src_ip, uint32_t dst_ip, uint8_t proto, size_t len)
{
    return (src_ip >> 16) + (src_ip & 0xffffu) + (dst_ip >> 16) + (dst_ip & 0xffffu) + proto
           + (uint32_t)(len & 0xffffu) + (uint32_t)(len >> 16);
}

uint16_t net_checksum_pseudo_header(uint32_t src_ip, uint32_t dst_ip, uint8_t proto, size_t len)
{
    return (uint16_t)~net_checksum_finish(pseudo_sum(src_ip, dst_ip, proto, len));
}

uint16_t net_checksum_pseudo(uint32_t src_ip, uint32_t dst_ip, uint8_t proto,
                             const uint8_t *data, size_t len)
{
    return net_checksum_finish(net_checksum_add(pseudo_sum(src_ip, dst_ip, proto, len), data, len));
}
