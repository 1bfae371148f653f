/*
 * Monotonic clock from the TSC (solo5.md §1.5): no hypercall. The tender
 * supplies the TSC frequency; ticks become nanoseconds through a 32.32
 * fixed-point multiplier: ns = ticks * (10^9 * 2^32 / hz) >> 32, computed in
 * 128 bits so it cannot overflow.
 */
#include "hvt.h"

#define NSEC_PER_SEC 1000000000ULL

static uint64_t tsc_base;
static uint64_t ns_per_tick_q32;

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* tsc_hz is non-zero (platform_init checks). */
void hvt_tsc_init(uint64_t tsc_hz)
{
    ns_per_tick_q32 = (uint64_t)(((unsigned __int128)NSEC_PER_SEC << 32) / tsc_hz);
    tsc_base = rdtsc();
}

solo5_time_t hvt_tsc_monotonic(void)
{
    uint64_t ticks = rdtsc() - tsc_base;
    return (uint64_t)(((unsigned __int128)ticks * ns_per_tick_q32) >> 32);
}
