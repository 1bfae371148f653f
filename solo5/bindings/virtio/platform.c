/*
 * The platform hooks (bindings/common/platform.h) for virtio that are not
 * a device's: console, exit, clocks, yield and TLS.
 */
#include "virtio.h"

/* Upstream's virtio ABI version (solo5.md §2.5). */
ABI1_NOTE_DECLARE(ABI_TARGET_VIRTIO, 1);

/*
 * Exit. QEMU's isa-debug-exit device (iobase 0x501) ends QEMU with status
 * (value << 1) | 1 when value is written, so only 7 bits of the guest's
 * status survive, and 1 cannot be told from QEMU's own failures. So the
 * status byte is written first to the isa-debugcon port 0xE9, which the
 * launcher connects to a file: that byte is the exact status. Without
 * either device, a triple fault ends a QEMU started with -no-reboot (from
 * user mode, LIDT faults first; the fatal-trap path comes back here in
 * ring 0, where it succeeds).
 */
#define DEBUGCON_PORT 0xE9
#define DEBUG_EXIT_PORT 0x501

/* How long exit waits for queued frames to leave. */
#define EXIT_TX_FLUSH_NS 100000000ULL

void platform_exit(int status, void *cookie)
{
    (void)cookie;
    net_flush(clock_monotonic() + EXIT_TX_FLUSH_NS);
    outb(DEBUGCON_PORT, (uint8_t)status);
    outb(DEBUG_EXIT_PORT, (uint8_t)status);
    struct {
        uint16_t limit;
        uint64_t base;
    } __attribute__((packed)) no_idt = { 0, 0 };
    __asm__ __volatile__("lidt %0\n\tint3" : : "m"(no_idt));
    for (;;)
        __asm__ __volatile__("hlt");
}

void platform_console_write(const char *buf, size_t size)
{
    serial_write(buf, size);
}

solo5_time_t platform_clock_monotonic(void)
{
    return clock_monotonic();
}

solo5_time_t platform_clock_wall(void)
{
    return clock_wall();
}

solo5_handle_set_t platform_yield(solo5_time_t deadline)
{
    for (;;) {
        solo5_handle_set_t ready = net_ready_set();
        if (ready != 0)
            return ready;
        solo5_time_t now = clock_monotonic();
        if (now >= deadline)
            return 0;
        clock_arm_timer(deadline - now);
        cpu_wait_for_interrupt();
    }
}
