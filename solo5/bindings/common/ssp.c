/*
 * Stack protector with a global canary (-mstack-protector-guard=global),
 * so it needs no TLS. The canary's low byte is zero so string overflows
 * cannot reproduce it; the rest comes from the time-stamp counter.
 */
#include "bindings.h"

uintptr_t __stack_chk_guard = 0x00f2e3d4c5b6a700ULL;

void ssp_init(void)
{
    uint64_t t = __builtin_ia32_rdtsc();
    /* splitmix64 finaliser: spreads the counter's low-entropy bits */
    t ^= t >> 30;
    t *= 0xbf58476d1ce4e5b9ULL;
    t ^= t >> 27;
    t *= 0x94d049bb133111ebULL;
    t ^= t >> 31;
    __stack_chk_guard ^= t & ~(uintptr_t)0xff;
}

void __stack_chk_fail(void) __attribute__((noreturn));
void __stack_chk_fail(void)
{
    bindings_abort("stack smashing detected");
}
