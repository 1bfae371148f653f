/*
 * The platform hooks (bindings/common/platform.h) for xen: console on the
 * PV console ring, clocks from the shared-info page, yield as SCHEDOP_poll
 * with a timeout, exit as SCHEDOP_shutdown. There are no NET or BLOCK
 * devices (MirageOS brings its own netfront/blkfront on Xen), so the
 * device hooks are unreachable: the common layer finds no attached device.
 */
#include "xen.h"

/* Upstream's xen ABI version (solo5.md §2.5). */
ABI1_NOTE_DECLARE(ABI_TARGET_XEN, 1);

#define SCHEDOP_shutdown 2
#define SCHEDOP_poll 3

void platform_console_write(const char *buf, size_t size)
{
    console_write(buf, size);
}

/* Xen reports only a shutdown reason, not a status: 0 powers off, any
 * other status (including aborts) is a crash, which the toolstack logs. */
void xen_shutdown(unsigned reason)
{
    for (;;) {
        unsigned r = reason;
        (void)hypercall2(HYPERVISOR_sched_op, SCHEDOP_shutdown, (uint64_t)(uintptr_t)&r);
    }
}

void platform_exit(int status, void *cookie)
{
    (void)cookie;
    xen_shutdown(status == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash);
}

solo5_time_t platform_clock_monotonic(void)
{
    return clock_monotonic();
}

solo5_time_t platform_clock_wall(void)
{
    return clock_wall();
}

/* struct sched_poll (public/sched.h): no ports, an absolute system-time
 * timeout, so the vCPU blocks until the deadline. */
struct sched_poll {
    uint64_t ports;
    uint32_t nr_ports;
    uint32_t pad;
    uint64_t timeout;
};

solo5_handle_set_t platform_yield(solo5_time_t deadline)
{
    while (clock_monotonic() < deadline) {
        struct sched_poll poll = { .ports = 0, .nr_ports = 0, .timeout = deadline };
        (void)hypercall2(HYPERVISOR_sched_op, SCHEDOP_poll, (uint64_t)(uintptr_t)&poll);
    }
    return 0;
}

solo5_result_t platform_net_write(solo5_handle_t h, const uint8_t *buf, size_t size)
{
    (void)h, (void)buf, (void)size;
    bindings_abort("no NET devices on xen");
}

solo5_result_t platform_net_read(solo5_handle_t h, uint8_t *buf, size_t size,
                                 size_t *read_size)
{
    (void)h, (void)buf, (void)size, (void)read_size;
    bindings_abort("no NET devices on xen");
}

solo5_result_t platform_block_write(solo5_handle_t h, solo5_off_t offset,
                                    const uint8_t *buf, size_t size)
{
    (void)h, (void)offset, (void)buf, (void)size;
    bindings_abort("no BLOCK devices on xen");
}

solo5_result_t platform_block_read(solo5_handle_t h, solo5_off_t offset, uint8_t *buf,
                                   size_t size)
{
    (void)h, (void)offset, (void)buf, (void)size;
    bindings_abort("no BLOCK devices on xen");
}
