/*
 * The platform hooks (bindings/common/platform.h) for hvt: everything that
 * leaves the guest is one hypercall, an outl of a request's address to port
 * 0x500 + nr (solo5.md §3.5, §3.6). Requests live on the stack, below 4 GiB.
 *
 * In user mode on a hypervisor that ignores IOPL, each outl costs a #GP
 * round trip through ring 0 (traps_x86_64.S). If the tender offers
 * HVT_FEATURE_MMIO_HYPERCALL, the first such trap switches the bindings to
 * a plain store into the MMIO window instead: one exit, no ring 0. Where
 * outl works directly (hardware KVM) it stays the cheaper port exit.
 */
#include "hvt.h"

ABI1_NOTE_DECLARE(ABI_TARGET_HVT, HVT_ABI_VERSION);
NVH1_NOTE_DECLARE();

volatile uint8_t hvt_outl_traps;
static bool mmio_offered;

static void hypercall(int nr, volatile void *req)
{
    if (hvt_outl_traps && mmio_offered) {
        volatile uint32_t *port = (volatile uint32_t *)(uintptr_t)HVT_MMIO_HYPERCALL(nr);
        __asm__ __volatile__("movl %1, %0"
                             : "=m"(*port)
                             : "r"((uint32_t)(uintptr_t)req)
                             : "memory");
    } else {
        hvt_do_hypercall(nr, req);
    }
}

static const char tsc_message[] = "Solo5: ABORT: tender gave no TSC frequency\n";

void platform_init(void *boot_arg, struct platform_boot *boot)
{
    const struct hvt_boot_info *bi = boot_arg;
    bool user_mode = (bi->host_features & HVT_FEATURE_USER_MODE) != 0;
    hvt_cpu_init(user_mode);
    if (bi->cpu_cycle_freq == 0) {
        platform_console_write(tsc_message, sizeof tsc_message - 1);
        hvt_halt(SOLO5_EXIT_ABORT, NULL);
    }
    /* Where the tender's page tables allow it, run everything after this
     * point in user mode (HVT_FEATURE_USER_MODE). The TSC is read from here
     * on only, so the clock never mixes the two modes' counters. */
    if (user_mode) {
        hvt_cpu_enter_user();
        hvt_idt_fill();
    }
    mmio_offered = (bi->host_features & HVT_FEATURE_MMIO_HYPERCALL) != 0;
    hvt_tsc_init(bi->cpu_cycle_freq);
    boot->mem_size = bi->mem_size;
    boot->cmdline = bi->cmdline;
    boot->mft = bi->mft;
}

void platform_console_write(const char *buf, size_t size)
{
    volatile struct hvt_hc_puts req = { .data = buf, .len = size };
    hypercall(HVT_HYPERCALL_PUTS, &req);
}

void hvt_halt(int status, void *cookie)
{
    volatile struct hvt_hc_halt req = { .cookie = cookie, .exit_status = status };
    for (;;)
        hypercall(HVT_HYPERCALL_HALT, &req);
}

void platform_exit(int status, void *cookie)
{
    hvt_halt(status, cookie);
}

solo5_time_t platform_clock_monotonic(void)
{
    return hvt_tsc_monotonic();
}

solo5_time_t platform_clock_wall(void)
{
    volatile struct hvt_hc_walltime req = { .nsecs = 0 };
    hypercall(HVT_HYPERCALL_WALLTIME, &req);
    return req.nsecs;
}

solo5_handle_set_t platform_yield(solo5_time_t deadline)
{
    solo5_time_t now = hvt_tsc_monotonic();
    volatile struct hvt_hc_poll req = {
        .timeout_nsecs = deadline > now ? deadline - now : 0,
    };
    hypercall(HVT_HYPERCALL_POLL, &req);
    return req.ready_set;
}

solo5_result_t platform_net_write(solo5_handle_t h, const uint8_t *buf, size_t size)
{
    volatile struct hvt_hc_net_write req = { .handle = h, .data = buf, .len = size };
    hypercall(HVT_HYPERCALL_NET_WRITE, &req);
    return (solo5_result_t)req.ret;
}

solo5_result_t platform_net_read(solo5_handle_t h, uint8_t *buf, size_t size,
                                 size_t *read_size)
{
    volatile struct hvt_hc_net_read req = { .handle = h, .data = buf, .len = size };
    hypercall(HVT_HYPERCALL_NET_READ, &req);
    if (req.ret == SOLO5_R_OK)
        *read_size = req.len;
    return (solo5_result_t)req.ret;
}

solo5_result_t platform_block_write(solo5_handle_t h, solo5_off_t offset,
                                    const uint8_t *buf, size_t size)
{
    volatile struct hvt_hc_block_write req = {
        .handle = h, .offset = offset, .data = buf, .len = size,
    };
    hypercall(HVT_HYPERCALL_BLOCK_WRITE, &req);
    return (solo5_result_t)req.ret;
}

solo5_result_t platform_block_read(solo5_handle_t h, solo5_off_t offset,
                                   uint8_t *buf, size_t size)
{
    volatile struct hvt_hc_block_read req = {
        .handle = h, .offset = offset, .data = buf, .len = size,
    };
    hypercall(HVT_HYPERCALL_BLOCK_READ, &req);
    return (solo5_result_t)req.ret;
}
