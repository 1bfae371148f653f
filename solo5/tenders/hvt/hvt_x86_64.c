/*
 * x86_64 boot state in guest low memory: identity-mapped page tables and
 * the GDT the vCPU starts with (solo5.md §3.2, §3.4). Memory comes
 * zero-filled from mmap, so only non-zero entries are written; the number
 * of entries touched grows with mem_size / 2 MiB, never with mem_size.
 */
#include "hvt.h"

#include <string.h>

/* Intel SDM Vol. 3A §4.5, Table 4-14..4-20: page-table entry bits. */
#define PTE_P 0x1ULL
#define PTE_RW 0x2ULL
#define PTE_US 0x4ULL  /* user-accessible: see HVT_FEATURE_USER_MODE */
#define PTE_PS 0x80ULL /* 2 MiB page in a page-directory entry */

#define ENTRIES_PER_TABLE 512ULL

static void put_u64(uint8_t *mem, uint64_t gpa, uint64_t value)
{
    memcpy(mem + gpa, &value, sizeof value);
}

void hvt_x86_write_page_tables(uint8_t *mem, uint64_t mem_size, uint32_t extensions)
{
    /* mem_size is a non-zero multiple of 2 MiB, at most 4 GiB. */
    uint64_t large_pages = mem_size / HVT_LARGE_PAGE_SIZE;
    uint64_t pdpt_used = (large_pages + ENTRIES_PER_TABLE - 1) / ENTRIES_PER_TABLE;

    const uint64_t user = (extensions & HVT_FEATURE_USER_MODE) ? PTE_US : 0;
    const uint64_t table = PTE_P | PTE_RW | user;
    put_u64(mem, HVT_PML4_BASE, HVT_PDPT_BASE | table);
    for (uint64_t i = 0; i < pdpt_used; i++)
        put_u64(mem, HVT_PDPT_BASE + i * 8, (HVT_PD_BASE + i * HVT_PAGE_SIZE) | table);

    /* The four page directories form one array of 2 MiB mappings. */
    put_u64(mem, HVT_PD_BASE, HVT_PT0_BASE | table);
    for (uint64_t i = 1; i < large_pages; i++)
        put_u64(mem, HVT_PD_BASE + i * 8, (i * HVT_LARGE_PAGE_SIZE) | table | PTE_PS);

    /* The MMIO hypercall window: mapped, but backed by no memory slot. */
    if (extensions & HVT_FEATURE_MMIO_HYPERCALL) {
        put_u64(mem, HVT_PDPT_BASE + (HVT_MMIO_BASE >> 30) * 8, HVT_MMIO_PD_BASE | table);
        put_u64(mem, HVT_MMIO_PD_BASE, HVT_MMIO_BASE | table | PTE_PS);
    }

    /* First 2 MiB in 4 KiB pages: nothing below the boot info, read-only
     * boot info / manifest / command line, read-write kernel from 1 MiB. */
    for (uint64_t paddr = HVT_BOOT_INFO_BASE; paddr < HVT_LARGE_PAGE_SIZE;
         paddr += HVT_PAGE_SIZE) {
        uint64_t flags = paddr < HVT_GUEST_MIN_BASE ? PTE_P | user : table;
        put_u64(mem, HVT_PT0_BASE + (paddr / HVT_PAGE_SIZE) * 8, paddr | flags);
    }
}

/* Intel SDM Vol. 3A §3.4.5: flat 64-bit code (L=1) and data descriptors,
 * matching the segment registers loaded through KVM_SET_SREGS. */
#define GDT_DESC_CODE64 0x00AF99000000FFFFULL
#define GDT_DESC_DATA 0x00CF93000000FFFFULL

void hvt_x86_write_gdt(uint8_t *mem)
{
    put_u64(mem, HVT_GDT_BASE + 8, GDT_DESC_CODE64);
    put_u64(mem, HVT_GDT_BASE + 16, GDT_DESC_DATA);
}
