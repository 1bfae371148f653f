/*
 * The platform hooks (bindings/common/platform.h) for hvt: everything that
 * leaves the guest is one hypercall, an outl of a request's address to port
 * 0x500 + nr (solo5.md §3.5, §3.6). Requests live on the stack, below 4 GiB.
 */
#include "hvt.h"

ABI1_NOTE_DECLARE(ABI_TARGET_HVT, HVT_ABI_VERSION);

static const char tsc_message[] = "Solo5: ABORT: tender gave no TSC frequency\n";

void platform_init(void *boot_arg, struct platform_boot *boot)
{
    const struct hvt_boot_info *bi = boot_arg;
    hvt_cpu_init();
    if (bi->cpu_cycle_freq == 0) {
        platform_console_write(tsc_message, sizeof tsc_message - 1);
        hvt_halt(SOLO5_EXIT_ABORT, NULL);
    }
    /* Where the tender's page tables allow it, run everything after this
     * point in user mode (HVT_FEATURE_USER_MODE). The TSC is read from here
     * on only, so the clock never mixes the two modes' counters. */
    if (bi->host_features & HVT_FEATURE_USER_MODE)
        hvt_cpu_enter_user();
    hvt_tsc_init(bi->cpu_cycle_freq);
    boot->mem_size = bi->mem_size;
    boot->cmdline = bi->cmdline;
    boot->mft = bi->mft;
}

void platform_console_write(const char *buf, size_t size)
{
    volatile struct hvt_hc_puts req = { .data = buf, .len = size };
    hvt_do_hypercall(HVT_HYPERCALL_PUTS, &req);
}

void hvt_halt(int status, void *cookie)
{
    volatile struct hvt_hc_halt req = { .cookie = cookie, .exit_status = status };
    for (;;)
        hvt_do_hypercall(HVT_HYPERCALL_HALT, &req);
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
    hvt_do_hypercall(HVT_HYPERCALL_WALLTIME, &req);
    return req.nsecs;
}

solo5_handle_set_t platform_yield(solo5_time_t deadline)
{
    solo5_time_t now = hvt_tsc_monotonic();
    volatile struct hvt_hc_poll req = {
        .timeout_nsecs = deadline > now ? deadline - now : 0,
    };
    hvt_do_hypercall(HVT_HYPERCALL_POLL, &req);
    return req.ready_set;
}

solo5_result_t platform_net_write(solo5_handle_t h, const uint8_t *buf, size_t size)
{
    volatile struct hvt_hc_net_write req = { .handle = h, .data = buf, .len = size };
    hvt_do_hypercall(HVT_HYPERCALL_NET_WRITE, &req);
    return (solo5_result_t)req.ret;
}

solo5_result_t platform_net_read(solo5_handle_t h, uint8_t *buf, size_t size,
                                 size_t *read_size)
{
    volatile struct hvt_hc_net_read req = { .handle = h, .data = buf, .len = size };
    hvt_do_hypercall(HVT_HYPERCALL_NET_READ, &req);
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
    hvt_do_hypercall(HVT_HYPERCALL_BLOCK_WRITE, &req);
    return (solo5_result_t)req.ret;
}

solo5_result_t platform_block_read(solo5_handle_t h, solo5_off_t offset,
                                   uint8_t *buf, size_t size)
{
    volatile struct hvt_hc_block_read req = {
        .handle = h, .offset = offset, .data = buf, .len = size,
    };
    hvt_do_hypercall(HVT_HYPERCALL_BLOCK_READ, &req);
    return (solo5_result_t)req.ret;
}

/* Intel SDM Vol. 4 Table 2-2: IA32_FS_BASE. */
#define MSR_FS_BASE 0xC0000100U

solo5_result_t platform_set_tls_base(uintptr_t base)
{
    __asm__ __volatile__("wrmsr"
                         :
                         : "c"(MSR_FS_BASE), "a"((uint32_t)base),
                           "d"((uint32_t)((uint64_t)base >> 32)));
    return SOLO5_R_OK;
}
