/* splitmix64 (Steele, Lea, Flood: "Fast splittable pseudorandom number
 * generators", OOPSLA 2014). */
#include <stdint.h>

#include "rt/prng.h"

static uint64_t state = 0x9e3779b97f4a7c15u;

uint64_t prng_seed_from(uint64_t clock_ns, const uint8_t mac[6])
{
    uint64_t m = 0;
    for (int i = 0; i < 6; i++)
        m = (m << 8) | mac[i];
    return clock_ns ^ (m * 0xbf58476d1ce4e5b9u);
}

void prng_seed(uint64_t seed)
{
    state = seed;
}

uint64_t prng_next(void)
{
    uint64_t z = (state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

uint32_t prng_below(uint32_t bound)
{
    /* Reject the top partial range so every value is equally likely. */
    uint32_t limit = UINT32_MAX - UINT32_MAX % bound;
    uint32_t v;
    do
        v = (uint32_t)(prng_next() >> 32);
    while (v >= limit);
    return v % bound;
}
