/*
 * Early boot in C, called by pvh.S on its boot stack with the
 * hvm_start_info (public/arch-x86/hvm/start_info.h). The command line and
 * the memory map are read from it; memory is the RAM region holding 1 MiB,
 * capped at the 4 GiB identity map. Returns the top of guest memory, where
 * _start's stack begins.
 */
#include "xen.h"

#define IMAGE_BASE 0x100000ULL
#define IDENTITY_MAPPED 0x100000000ULL
#define E820_RAM 1

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;   /* version >= 1 */
    uint32_t memmap_entries; /* version >= 1 */
    uint32_t reserved;
};

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

/* Written to QEMU's isa-debugcon port, when Xen is absent. */
#define DEBUGCON_PORT 0xE9
#define DEBUG_EXIT_PORT 0x501

static char boot_cmdline[PLATFORM_CMDLINE_SIZE];
static uint64_t mem_top;
static const struct mft *manifest;
/* The image's MFT1 note (generated manifest C), read as bytes. */
extern const uint8_t solo5_manifest_note[];

static uint64_t memory_end(const struct hvm_start_info *si)
{
    if (si->version < 1 || si->memmap_entries == 0)
        return 0;
    const struct hvm_memmap_table_entry *m =
        (const void *)(uintptr_t)si->memmap_paddr;
    uint64_t end = 0;
    for (uint32_t i = 0; i < si->memmap_entries; i++) {
        if (m[i].type == E820_RAM && m[i].addr <= IMAGE_BASE &&
            m[i].size > IMAGE_BASE - m[i].addr)
            end = m[i].addr + m[i].size;
    }
    if (end > IDENTITY_MAPPED)
        end = IDENTITY_MAPPED;
    return end & ~(SOLO5_PAGE_SIZE - 1);
}

static void copy_cmdline(const struct hvm_start_info *si)
{
    const char *s = (const char *)(uintptr_t)si->cmdline_paddr;
    size_t n = 0;
    if (s != NULL) {
        while (s[n] != '\0' && n < sizeof boot_cmdline - 1) {
            boot_cmdline[n] = s[n];
            n++;
        }
    }
    boot_cmdline[n] = '\0';
}

/* A PVH start but no Xen (QEMU's -kernel): say what was read, then stop. */
static void report_without_xen(void) __attribute__((noreturn));
static void report_without_xen(void)
{
    char line[PLATFORM_CMDLINE_SIZE + 128];
    static const char head[] = "Solo5: PVH start without Xen: memory top 0x";
    size_t n = 0;
    for (size_t i = 0; head[i] != '\0'; i++)
        line[n++] = head[i];
    for (int shift = 60; shift >= 0; shift -= 4)
        line[n++] = "0123456789abcdef"[(mem_top >> shift) & 0xF];
    static const char mid[] = ", cmdline '";
    for (size_t i = 0; mid[i] != '\0'; i++)
        line[n++] = mid[i];
    for (size_t i = 0; boot_cmdline[i] != '\0'; i++)
        line[n++] = boot_cmdline[i];
    line[n++] = '\'';
    line[n++] = '\n';
    for (size_t i = 0; i < n; i++)
        __asm__ __volatile__("outb %0, %1" : : "a"(line[i]), "d"((uint16_t)DEBUGCON_PORT));
    __asm__ __volatile__("outb %0, %1" : : "a"((uint8_t)0xFF), "d"((uint16_t)DEBUG_EXIT_PORT));
    for (;;)
        __asm__ __volatile__("hlt");
}

uint64_t x86_boot(uintptr_t boot_info)
{
    const struct hvm_start_info *si = (const struct hvm_start_info *)boot_info;
    cpu_init();
    copy_cmdline(si);
    mem_top = memory_end(si);
    if (!hypercall_init())
        report_without_xen();
    console_init();
    if (mem_top == 0)
        bindings_abort("hvm_start_info has no memory map (needs version 1)");
    clock_init();
    /* The recipe refuses devices for xen (no netfront/blkfront here); the
     * manifest is read in place, nothing in it is ever attached. */
    manifest = (const struct mft *)(solo5_manifest_note + SOLO5_NHDR_SIZE + MFT1_NOTE_PADDING);
    if (manifest->entries != 1)
        bindings_abort("the xen target has no devices; the manifest declares %u",
                       manifest->entries - 1);
    return mem_top;
}

void platform_init(void *boot_arg, struct platform_boot *boot)
{
    (void)boot_arg; /* x86_boot kept what it needs */
    boot->mem_size = mem_top;
    boot->cmdline = boot_cmdline;
    boot->mft = manifest;
}
