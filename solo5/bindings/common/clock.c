/* Clocks and yield: thin wrappers over the target's hooks. */
#include "bindings.h"

solo5_time_t solo5_clock_monotonic(void)
{
    return platform_clock_monotonic();
}

solo5_time_t solo5_clock_wall(void)
{
    return platform_clock_wall();
}

void solo5_yield(solo5_time_t deadline, solo5_handle_set_t *ready_set)
{
    /* A ready_set outside guest memory is not written (void API). */
    bool report = ready_set != NULL && guest_writable_ok(ready_set, sizeof *ready_set);
    solo5_handle_set_t ready = platform_yield(deadline);
    if (report)
        *ready_set = ready;
}
