/*
 * Low-memory hand-over at HVT_BOOT_INFO_BASE (solo5.md §3.3): the boot
 * info, then the manifest with the tender's device data filled in, then the
 * command line in a fixed HVT_CMDLINE_SIZE area. The guest maps this
 * region read-only.
 */
#include "hvt.h"

#include <string.h>

void hvt_write_boot_info(struct hvt *h, const void *mft, size_t mft_size,
                         const char *cmdline)
{
    uint64_t mft_gpa = HVT_BOOT_INFO_BASE + sizeof(struct hvt_boot_info);
    uint64_t cmdline_gpa = mft_gpa + mft_size;
    size_t cmdline_len = strlen(cmdline);
    if (cmdline_len >= HVT_CMDLINE_SIZE)
        hvt_die("Guest command line too long (max %d characters)",
                HVT_CMDLINE_SIZE - 1);
    if (cmdline_gpa + HVT_CMDLINE_SIZE > HVT_GUEST_MIN_BASE)
        hvt_die("manifest too large for the boot info area");

    struct hvt_boot_info bi = {
        .mem_size = h->mem_size,
        .kernel_end = h->kernel_end,
        .cpu_cycle_freq = h->tsc_hz,
        .cmdline = cmdline_gpa,
        .mft = mft_gpa,
        .host_features = h->host_features,
        .guest_features = 0,
        .net_ring = 0,
    };
    memcpy(h->mem + HVT_BOOT_INFO_BASE, &bi, sizeof bi);
    memcpy(h->mem + mft_gpa, mft, mft_size);
    memcpy(h->mem + cmdline_gpa, cmdline, cmdline_len + 1);
}
