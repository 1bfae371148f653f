/*
 * test_time: monotonic time advances, the wall clock is printed for the
 * host to compare, and solo5_yield honours absolute deadlines (a future
 * one is slept until, a past one returns promptly).
 */
#include "testlib.h"

#define MS 1000000ULL

static int fail(const char *why)
{
    puts_console("FAIL: ");
    puts_console(why);
    puts_console("\n");
    return SOLO5_EXIT_FAILURE;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    solo5_time_t t0 = solo5_clock_monotonic();
    solo5_time_t t1 = t0;
    for (int i = 0; i < 1000000 && t1 == t0; i++)
        t1 = solo5_clock_monotonic();
    if (t1 <= t0)
        return fail("monotonic clock does not advance");
    puts_console("monotonic advances\n");

    puts_console("wall_ns: ");
    put_u64(solo5_clock_wall());
    puts_console("\n");

    solo5_handle_set_t ready = ~0ULL;
    solo5_time_t start = solo5_clock_monotonic();
    solo5_yield(start + 100 * MS, &ready);
    solo5_time_t slept = solo5_clock_monotonic() - start;
    puts_console("yield(+100ms) slept_ms: ");
    put_u64(slept / MS);
    puts_console("\n");
    if (slept < 100 * MS)
        return fail("yield returned before its deadline");
    if (slept > 1000 * MS)
        return fail("yield overslept its deadline by more than 900 ms");
    if (ready != 0)
        return fail("yield reported ready handles without devices");

    start = solo5_clock_monotonic();
    solo5_yield(start - 1, NULL);
    solo5_yield(0, NULL);
    slept = solo5_clock_monotonic() - start;
    if (slept > 50 * MS)
        return fail("yield with a past deadline did not return promptly");
    puts_console("past deadline returns promptly\n");

    puts_console("SUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
