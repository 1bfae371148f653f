/*
 * test_seccomp: on spt, a guest that makes a system call outside the
 * allow-list (here getpid) must be killed by the seccomp
 * filter before the call runs. On hvt the same instruction traps.
 */
#include "testlib.h"

int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    puts_console("calling getpid directly\n");
    long ret;
    __asm__ __volatile__("syscall" : "=a"(ret) : "a"(39L) : "rcx", "r11", "memory");
    puts_console("FAIL: getpid was allowed\n");
    return SOLO5_EXIT_FAILURE;
}
