/* The spt platform hooks: the guest is a seccomp-confined Linux process
 * and talks to the host kernel directly (reference: solo5.md §4). */
#include "../../include/abi/spt_abi.h"
#include "../common/bindings.h"
#include "sys.h"

ABI1_NOTE_DECLARE(ABI_TARGET_SPT, SPT_ABI_VERSION);

NVH1_NOTE_DECLARE();

static int epoll_fd = -1;
static int timer_fd = -1;

void platform_init(void *boot_arg, struct platform_boot *boot)
{
    const struct spt_boot_info *bi = boot_arg;
    epoll_fd = bi->epollfd;
    timer_fd = bi->timerfd;
    boot->mem_size = bi->mem_size;
    boot->cmdline = bi->cmdline;
    boot->mft = bi->mft;
}

void platform_console_write(const char *buf, size_t size)
{
    while (size > 0) {
        long n = sys_call3(SYS_WRITE, 1, (long)buf, (long)size);
        if (n == -LINUX_EINTR)
            continue;
        if (n <= 0)
            return; /* best effort */
        buf += n;
        size -= (size_t)n;
    }
}

void platform_exit(int status, void *cookie)
{
    (void)cookie;
    for (;;)
        sys_call3(SYS_EXIT_GROUP, status, 0, 0);
}

static solo5_time_t clock_ns(long clock)
{
    struct linux_timespec ts;
    if (sys_call3(SYS_CLOCK_GETTIME, clock, (long)&ts, 0) != 0)
        bindings_abort("clock_gettime failed");
    return (solo5_time_t)ts.tv_sec * 1000000000ULL + (solo5_time_t)ts.tv_nsec;
}

solo5_time_t platform_clock_monotonic(void)
{
    return clock_ns(LINUX_CLOCK_MONOTONIC);
}

solo5_time_t platform_clock_wall(void)
{
    return clock_ns(LINUX_CLOCK_REALTIME);
}

solo5_handle_set_t platform_yield(solo5_time_t deadline)
{
    /* Solo5 monotonic time is CLOCK_MONOTONIC, so the deadline arms the
     * timerfd absolutely. A zero it_value would disarm it: use 1 ns, which
     * is in the past and fires at once. */
    struct linux_itimerspec it = {
        .it_value = { .tv_sec = (int64_t)(deadline / 1000000000ULL),
                      .tv_nsec = (int64_t)(deadline % 1000000000ULL) },
    };
    if (deadline == 0)
        it.it_value.tv_nsec = 1;
    if (sys_call6(SYS_TIMERFD_SETTIME, timer_fd, LINUX_TFD_TIMER_ABSTIME, (long)&it, 0, 0, 0) != 0)
        bindings_abort("timerfd_settime failed");

    struct linux_epoll_event events[MFT_MAX_ENTRIES];
    long n;
    do {
        n = sys_call6(SYS_EPOLL_PWAIT, epoll_fd, (long)events, MFT_MAX_ENTRIES, -1, 0, 0);
    } while (n == -LINUX_EINTR);
    if (n < 0)
        bindings_abort("epoll_pwait failed");

    solo5_handle_set_t ready = 0;
    for (long i = 0; i < n; i++) {
        uint64_t tag = events[i].data;
        if (tag < MFT_MAX_ENTRIES)
            ready |= 1ULL << tag;
    }
    return ready;
}

static int hostfd(solo5_handle_t h)
{
    return bindings_mft->e[h].b.hostfd;
}

solo5_result_t platform_net_write(solo5_handle_t h, const uint8_t *buf, size_t size)
{
    long n = sys_call3(SYS_WRITE, hostfd(h), (long)buf, (long)size);
    return n == (long)size ? SOLO5_R_OK : SOLO5_R_EUNSPEC;
}

solo5_result_t platform_net_read(solo5_handle_t h, uint8_t *buf, size_t size,
                                 size_t *read_size)
{
    long n = sys_call3(SYS_READ, hostfd(h), (long)buf, (long)size);
    if (n == -LINUX_EAGAIN || n == 0)
        return SOLO5_R_AGAIN;
    if (n < 0)
        return SOLO5_R_EUNSPEC;
    *read_size = (size_t)n;
    return SOLO5_R_OK;
}

solo5_result_t platform_block_write(solo5_handle_t h, solo5_off_t offset,
                                    const uint8_t *buf, size_t size)
{
    long n = sys_call6(SYS_PWRITE64, hostfd(h), (long)buf, (long)size, (long)offset, 0, 0);
    return n == (long)size ? SOLO5_R_OK : SOLO5_R_EUNSPEC;
}

solo5_result_t platform_block_read(solo5_handle_t h, solo5_off_t offset,
                                   uint8_t *buf, size_t size)
{
    long n = sys_call6(SYS_PREAD64, hostfd(h), (long)buf, (long)size, (long)offset, 0, 0);
    return n == (long)size ? SOLO5_R_OK : SOLO5_R_EUNSPEC;
}

solo5_result_t platform_set_tls_base(uintptr_t base)
{
    return sys_call3(SYS_ARCH_PRCTL, LINUX_ARCH_SET_FS, (long)base, 0) == 0
               ? SOLO5_R_OK
               : SOLO5_R_EUNSPEC;
}
