/* Deterministic pseudo-random numbers (splitmix64): the same seed gives
 * the same sequence, so runs can be replayed. Not for cryptography. */
#ifndef RT_PRNG_H
#define RT_PRNG_H

#include <stdint.h>

/* A seed mixing the boot clock and the MAC, so two guests booted at the
 * same instant still differ. */
uint64_t prng_seed_from(uint64_t clock_ns, const uint8_t mac[6]);
void prng_seed(uint64_t seed);
uint64_t prng_next(void);
/* Uniform in [0, bound) without modulo bias; bound > 0. */
uint32_t prng_below(uint32_t bound);

#endif
