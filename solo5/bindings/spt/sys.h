/*
 * Raw Linux x86_64 system calls for the spt bindings: no libc, no vDSO.
 * Every call made here must be allowed by the tender's seccomp filter
 * (tenders/spt/spt_seccomp.c); anything else kills the process.
 */
#ifndef SOLO5_SPT_SYS_H
#define SOLO5_SPT_SYS_H

#include <stdint.h>

/* Linux x86_64 system call numbers (arch/x86/entry/syscalls/syscall_64.tbl). */
#define SYS_READ 0
#define SYS_WRITE 1
#define SYS_PREAD64 17
#define SYS_PWRITE64 18
#define SYS_ARCH_PRCTL 158
#define SYS_CLOCK_GETTIME 228
#define SYS_EXIT_GROUP 231
#define SYS_EPOLL_PWAIT 281
#define SYS_TIMERFD_SETTIME 286

#define LINUX_EAGAIN 11
#define LINUX_EINTR 4
#define LINUX_CLOCK_REALTIME 0
#define LINUX_CLOCK_MONOTONIC 1
#define LINUX_TFD_TIMER_ABSTIME 1
#define LINUX_ARCH_SET_FS 0x1002

struct linux_timespec {
    int64_t tv_sec;
    int64_t tv_nsec;
};

struct linux_itimerspec {
    struct linux_timespec it_interval;
    struct linux_timespec it_value;
};

/* x86_64's struct epoll_event is packed (12 bytes). */
struct linux_epoll_event {
    uint32_t events;
    uint64_t data;
} __attribute__((packed));

static inline long sys_call3(long nr, long a1, long a2, long a3)
{
    long ret;
    __asm__ __volatile__("syscall"
                         : "=a"(ret)
                         : "a"(nr), "D"(a1), "S"(a2), "d"(a3)
                         : "rcx", "r11", "memory");
    return ret;
}

static inline long sys_call6(long nr, long a1, long a2, long a3, long a4, long a5, long a6)
{
    long ret;
    register long r10 __asm__("r10") = a4;
    register long r8 __asm__("r8") = a5;
    register long r9 __asm__("r9") = a6;
    __asm__ __volatile__("syscall"
                         : "=a"(ret)
                         : "a"(nr), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
    return ret;
}

#endif /* SOLO5_SPT_SYS_H */
