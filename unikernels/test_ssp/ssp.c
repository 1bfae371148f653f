/*
 * test_ssp: a stack buffer overflow that clobbers the canary must be
 * caught on return: "stack smashing detected", exit 255.
 */
#include "testlib.h"

/* Written through a volatile length so the compiler cannot see the overflow. */
static volatile size_t overflow_len = 64;

__attribute__((noinline)) static void smash(void)
{
    char buf[16];
    size_t n = overflow_len;
    for (size_t i = 0; i < n; i++)
        ((volatile char *)buf)[i] = 'A';
    __asm__ __volatile__("" : : "r"(buf) : "memory");
}

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    puts_console("smashing the stack\n");
    smash();
    puts_console("FAIL: overflow not detected\n");
    return SOLO5_EXIT_FAILURE;
}
