/* Initial sequence numbers per RFC 6528 section 3:
 *     ISN = M + F(localip, localport, remoteip, remoteport, secretkey)
 * with M a 4 microsecond timer and F SipHash-2-4 keyed by the engine's
 * secret. SipHash (Aumasson and Bernstein, 2012) is written out here. */
#include "tcp_internal.h"

#define TCP_ISN_TICK_NS 4000u /* RFC 6528 section 3: M ticks every 4 microseconds */

static uint64_t rotl(uint64_t x, unsigned b)
{
    return (x << b) | (x >> (64u - b));
}

static uint64_t load64_le(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8u * i);
    return v;
}

#define SIPROUND(v0, v1, v2, v3)                                                       \
    do {                                                                               \
        v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                     \
        v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                         \
        v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                         \
        v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                      \
    } while (0)

uint64_t tcp_siphash(const uint8_t key[16], const uint8_t *data, size_t len)
{
    uint64_t k0 = load64_le(key), k1 = load64_le(key + 8);
    uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
    uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
    size_t full = len & ~(size_t)7;
    for (size_t i = 0; i < full; i += 8) {
        uint64_t m = load64_le(data + i);
        v3 ^= m;
        SIPROUND(v0, v1, v2, v3);
        SIPROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint64_t last = (uint64_t)(len & 0xffu) << 56;
    for (size_t i = full; i < len; i++)
        last |= (uint64_t)data[i] << (8u * (i - full));
    v3 ^= last;
    SIPROUND(v0, v1, v2, v3);
    SIPROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xff;
    for (int r = 0; r < 4; r++)
        SIPROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}

uint32_t tcp_isn(const struct tcp_engine *e, tcp_time_t now, uint32_t lip, uint16_t lport,
                 uint32_t rip, uint16_t rport)
{
    uint8_t tuple[12] = {
        (uint8_t)(lip >> 24), (uint8_t)(lip >> 16), (uint8_t)(lip >> 8), (uint8_t)lip,
        (uint8_t)(lport >> 8), (uint8_t)lport,
        (uint8_t)(rip >> 24), (uint8_t)(rip >> 16), (uint8_t)(rip >> 8), (uint8_t)rip,
        (uint8_t)(rport >> 8), (uint8_t)rport,
    };
    uint32_t m = (uint32_t)(now / TCP_ISN_TICK_NS);
    return m + (uint32_t)tcp_siphash(e->cfg.secret, tuple, sizeof(tuple));
}
