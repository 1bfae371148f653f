/*
 * test_seccomp: attacks on the spt seccomp allow-list. The command line
 * names one attack; each makes a raw system call that the filter must
 * refuse by killing the process (SIGSYS) before it runs. The block attacks
 * first make the same call legitimately (so fd 3 is known to be the block
 * device) and print "legit ok". On hvt the syscall instruction traps.
 */
#include "testlib.h"

#define FIRST_DEVICE_FD 3 /* the tender opens the block file right after 0-2 */

static uint8_t sector[1024];

static long raw_syscall(long nr, long a1, long a2, long a3, long a4)
{
    long ret;
    register long r10 __asm__("r10") = a4;
    __asm__ __volatile__("syscall"
                         : "=a"(ret)
                         : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
                         : "rcx", "r11", "memory");
    return ret;
}

static bool is(const char *a, const char *b)
{
    return strlen(a) == strlen(b) && memcmp(a, b, strlen(a)) == 0;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    const char *attack = si->cmdline;
    solo5_handle_t h;
    struct solo5_block_info info;
    if (solo5_block_acquire("storage", &h, &info) != SOLO5_R_OK) {
        puts_console("FAIL: no block device\n");
        return SOLO5_EXIT_FAILURE;
    }
    long bs = (long)info.block_size;
    if (is(attack, "pread-two-blocks") || is(attack, "pwrite-past-end")) {
        if (raw_syscall(17, FIRST_DEVICE_FD, (long)sector, bs, 0) != bs) {
            puts_console("FAIL: fd 3 is not the block device\n");
            return SOLO5_EXIT_FAILURE;
        }
        puts_console("legit ok\n");
    }
    puts_console("attacking: ");
    puts_console(attack);
    puts_console("\n");
    if (is(attack, "getpid"))
        raw_syscall(39, 0, 0, 0, 0);
    else if (is(attack, "openat"))
        raw_syscall(257, -100, (long)"/etc/passwd", 0, 0);
    else if (is(attack, "read-stdin"))
        raw_syscall(0, 0, (long)sector, 1, 0); /* no NIC: read is not allowed at all */
    else if (is(attack, "write-stderr"))
        raw_syscall(1, 2, (long)"x", 1, 0);
    else if (is(attack, "clock-cputime"))
        raw_syscall(228, 2, (long)sector, 0, 0);
    else if (is(attack, "arch-prctl-gs"))
        raw_syscall(158, 0x1001, 0x200000, 0, 0);
    else if (is(attack, "pread-two-blocks"))
        raw_syscall(17, FIRST_DEVICE_FD, (long)sector, 2 * bs, 0);
    else if (is(attack, "pwrite-past-end"))
        raw_syscall(18, FIRST_DEVICE_FD, (long)sector, bs, (long)info.capacity);
    else {
        puts_console("FAIL: unknown attack\n");
        return SOLO5_EXIT_FAILURE;
    }
    puts_console("FAIL: the system call was allowed\n");
    return SOLO5_EXIT_FAILURE;
}
