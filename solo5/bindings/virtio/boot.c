/*
 * Early boot in C, called by multiboot.S on its boot stack with the Multiboot
 * information (Multiboot 0.6.96 §3.3). Everything the loader handed over
 * is copied out first: QEMU places the information right after the image,
 * where the heap will be. Then the CPU tables, the clock, and the PCI
 * devices, which get their rings and buffers from the top of RAM. Returns
 * the new top of guest memory, where _start's stack begins.
 */
#include "virtio.h"

#define MB_INFO_MEMORY (1U << 0)
#define MB_INFO_CMDLINE (1U << 2)
#define MB_INFO_MMAP (1U << 6)
#define MB_MMAP_AVAILABLE 1
#define IMAGE_BASE 0x100000ULL
#define IDENTITY_MAPPED 0x100000000ULL /* multiboot.S maps the first 4 GiB */

struct multiboot_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper; /* KiB below 1 MiB, KiB above 1 MiB */
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
};

/* size excludes itself; entries are packed. */
struct multiboot_mmap_entry {
    uint32_t size;
    uint64_t base;
    uint64_t length;
    uint32_t type;
} __attribute__((packed));

/* The manifest note of the image (the generated manifest C). */
extern const struct solo5_nhdr solo5_manifest_note;
extern char _end[];

static char boot_cmdline[PLATFORM_CMDLINE_SIZE];
/* Writable copy of the manifest: the bindings fill in the devices. */
static union {
    struct mft m;
    uint8_t bytes[MFT_SIZE(MFT_MAX_ENTRIES)];
} manifest __attribute__((aligned(8)));
static uint64_t mem_top;
static uint64_t heap_floor;

/* The available region that holds the image base; its end, below 4 GiB. */
static uint64_t memory_end(const struct multiboot_info *mbi)
{
    uint64_t end = 0;
    if (mbi->flags & MB_INFO_MMAP) {
        uint64_t at = mbi->mmap_addr, stop = at + mbi->mmap_length;
        while (at + sizeof(struct multiboot_mmap_entry) <= stop) {
            const struct multiboot_mmap_entry *m = (const void *)(uintptr_t)at;
            if (m->type == MB_MMAP_AVAILABLE && m->base <= IMAGE_BASE &&
                m->length > IMAGE_BASE - m->base)
                end = m->base + m->length;
            at += (uint64_t)m->size + sizeof m->size;
        }
    } else if (mbi->flags & MB_INFO_MEMORY) {
        end = IMAGE_BASE + (uint64_t)mbi->mem_upper * 1024;
    }
    if (end > IDENTITY_MAPPED)
        end = IDENTITY_MAPPED;
    return end & ~(SOLO5_PAGE_SIZE - 1);
}

/* The loader's command line is "KERNEL ARGS..."; keep ARGS (truncated). */
static void copy_cmdline(const struct multiboot_info *mbi)
{
    boot_cmdline[0] = '\0';
    if ((mbi->flags & MB_INFO_CMDLINE) == 0 || mbi->cmdline == 0)
        return;
    const char *s = (const char *)(uintptr_t)mbi->cmdline;
    while (*s != '\0' && *s != ' ')
        s++;
    while (*s == ' ')
        s++;
    size_t n = 0;
    while (s[n] != '\0' && n < sizeof boot_cmdline - 1) {
        boot_cmdline[n] = s[n];
        n++;
    }
    boot_cmdline[n] = '\0';
}

static void copy_manifest(void)
{
    const struct solo5_nhdr *h = &solo5_manifest_note;
    size_t size = h->n_descsz - MFT1_NOTE_PADDING;
    const uint8_t *desc = (const uint8_t *)h + SOLO5_NHDR_SIZE + MFT1_NOTE_PADDING;
    if (h->n_descsz < MFT1_NOTE_PADDING + sizeof(struct mft) || size > sizeof manifest.bytes)
        bindings_abort("manifest note has a bad size");
    memcpy(manifest.bytes, desc, size);
    if (manifest.m.entries == 0 || MFT_SIZE(manifest.m.entries) != size)
        bindings_abort("manifest is invalid");
}

void *boot_alloc_pages(size_t size)
{
    size_t rounded = (size + SOLO5_PAGE_SIZE - 1) & ~(size_t)(SOLO5_PAGE_SIZE - 1);
    if (rounded > mem_top - heap_floor)
        bindings_abort("Not enough memory for the devices' buffers");
    mem_top -= rounded;
    void *p = (void *)(uintptr_t)mem_top;
    memset(p, 0, rounded);
    return p;
}

/* Bind a found device to the first unattached manifest entry of its type. */
static void attach(const struct pci_virtio *dev)
{
    mft_type_t type;
    if (dev->subsystem == 1)
        type = MFT_DEV_NET_BASIC;
    else if (dev->subsystem == 2)
        type = MFT_DEV_BLOCK_BASIC;
    else
        return; /* another kind of virtio device */
    log_printf(LOG_INFO, "Solo5: PCI %u:%u: virtio type %u, I/O 0x%x, IRQ %u\n", dev->bus,
               dev->slot, dev->subsystem, dev->io_base, dev->irq);
    for (uint32_t i = 1; i < manifest.m.entries; i++) {
        struct mft_entry *e = &manifest.m.e[i];
        if (e->type != type || e->attached)
            continue;
        if (type == MFT_DEV_NET_BASIC)
            net_attach(dev, e, i);
        else
            blk_attach(dev, e, i);
        log_printf(LOG_INFO, "Solo5: PCI %u:%u: %s '%s' (I/O 0x%x, IRQ %u)\n", dev->bus,
                   dev->slot, type == MFT_DEV_NET_BASIC ? "virtio-net" : "virtio-blk",
                   e->name, dev->io_base, dev->irq);
        return;
    }
    log_printf(LOG_WARN, "Solo5: PCI %u:%u: virtio device not in the manifest, ignored\n",
               dev->bus, dev->slot);
}

uint64_t x86_boot(uintptr_t boot_info)
{
    const struct multiboot_info *mbi = (const struct multiboot_info *)boot_info;
    serial_init();
    cpu_init();
    copy_cmdline(mbi);
    mem_top = memory_end(mbi);
    heap_floor = ((uintptr_t)_end + SOLO5_PAGE_SIZE - 1) & ~(SOLO5_PAGE_SIZE - 1);
    if (mem_top <= heap_floor)
        bindings_abort("Not enough memory");
    /* From here on, the loader's information is no longer needed. */
    copy_manifest();
    bindings_mft = &manifest.m; /* for the drivers' lookups */
    clock_init();
    pci_scan(attach);
    for (uint32_t i = 1; i < manifest.m.entries; i++) {
        const struct mft_entry *e = &manifest.m.e[i];
        if (!e->attached)
            bindings_abort("Device '%s' of type %s declared but not attached", e->name,
                           e->type == MFT_DEV_NET_BASIC ? "NET_BASIC" : "BLOCK_BASIC");
    }
    return mem_top;
}

void platform_init(void *boot_arg, struct platform_boot *boot)
{
    (void)boot_arg; /* x86_boot kept what it needs */
    boot->mem_size = mem_top;
    boot->cmdline = boot_cmdline;
    boot->mft = &manifest.m;
}
