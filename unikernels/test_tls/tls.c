/*
 * test_tls: the TLS helpers. Allocate a TLS block on the heap, initialise
 * it, point the thread pointer at it, and check that __thread variables
 * read their initial values (.tdata), start zeroed (.tbss) and keep what
 * is written to them.
 */
#include "testlib.h"

/* Not static, so the compiler cannot fold them away. */
__thread uint64_t initialised = 0x1122334455667788ULL;
__thread uint32_t counter = 42;
__thread uint8_t zeroed[100];

__attribute__((noinline)) static uint64_t read_all(void)
{
    uint64_t sum = initialised + counter;
    for (size_t i = 0; i < sizeof zeroed; i++)
        sum += zeroed[i];
    return sum;
}

static int fail(const char *why)
{
    puts_console("FAIL: ");
    puts_console(why);
    puts_console("\n");
    return SOLO5_EXIT_FAILURE;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    size_t size = solo5_tls_size();
    puts_console("tls size: ");
    put_u64(size);
    puts_console("\n");
    if (size < sizeof initialised + sizeof counter + sizeof zeroed + 8)
        return fail("TLS size is smaller than the variables");
    uintptr_t block = (si->heap_start + 63) & ~(uintptr_t)63;
    memset((void *)block, 0xee, size); /* .tbss must be cleared by tls_init */
    if (solo5_tls_init(block) != SOLO5_R_OK)
        return fail("solo5_tls_init refused a heap block");
    uintptr_t tp = solo5_tls_tp_offset(block);
    if (*(uintptr_t *)tp != tp)
        return fail("the TCB does not point to itself");
    if (solo5_set_tls_base(tp) != SOLO5_R_OK)
        return fail("solo5_set_tls_base refused");
    if (read_all() != 0x1122334455667788ULL + 42)
        return fail("__thread variables do not have their initial values");
    counter += 1;
    zeroed[99] = 7;
    if (read_all() != 0x1122334455667788ULL + 43 + 7)
        return fail("__thread variables did not keep what was written");
    puts_console("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
