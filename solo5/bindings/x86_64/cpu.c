/* x86_64 descriptor tables shared by the hvt, virtio and xen bindings
 * (see cpu.h), and their common TLS hook. */
#include "cpu.h"

#include "../common/platform.h"

/* Flat 64-bit code (L=1) and flat read/write data, each with its accessed
 * bit already set (the CPU never writes the table); the user pair is the
 * same with DPL 3. */
#define GDT_DESC_CODE64 0x00AF99000000FFFFULL
#define GDT_DESC_DATA 0x00CF93000000FFFFULL
#define GDT_DESC_USER_CODE64 0x00AFF9000000FFFFULL
#define GDT_DESC_USER_DATA 0x00CFF3000000FFFFULL
#define GDT_TSS_TYPE_AVAILABLE 0x9ULL
#define GDT_PRESENT (1ULL << 47)
#define IDT_GATE_INTERRUPT 0x8EULL /* P=1, DPL=0, 64-bit interrupt gate */

void x86_gdt_load(uint64_t gdt[X86_GDT_ENTRIES], struct x86_tss *tss)
{
    uint64_t base = (uint64_t)(uintptr_t)tss;
    uint64_t limit = sizeof *tss - 1;
    gdt[0] = 0;
    gdt[1] = GDT_DESC_CODE64;
    gdt[2] = GDT_DESC_DATA;
    gdt[3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (GDT_TSS_TYPE_AVAILABLE << 40) |
             GDT_PRESENT | ((limit >> 16 & 0xF) << 48) | ((base >> 24 & 0xFF) << 56);
    gdt[4] = base >> 32;
    gdt[5] = GDT_DESC_USER_CODE64;
    gdt[6] = GDT_DESC_USER_DATA;
    tss->iomap_base = sizeof *tss; /* no I/O bitmap: IOPL alone decides */

    struct x86_table_register gdtr = { X86_GDT_ENTRIES * sizeof gdt[0] - 1,
                                       (uint64_t)(uintptr_t)gdt };
    __asm__ __volatile__(
        "lgdt %0\n\t"
        "pushq %1\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movl %2, %%eax\n\t"
        "movl %%eax, %%ds\n\t"
        "movl %%eax, %%es\n\t"
        "movl %%eax, %%ss\n\t"
        "movl %%eax, %%fs\n\t"
        "movl %%eax, %%gs\n\t"
        "movl %3, %%eax\n\t"
        "ltr %%ax"
        :
        : "m"(gdtr), "i"(X86_SEL_CODE), "i"(X86_SEL_DATA), "i"(X86_SEL_TSS)
        : "rax", "memory");
}

void x86_idt_gate(uint64_t gate[2], uint64_t addr, unsigned ist)
{
    gate[0] = (addr & 0xFFFF) | ((uint64_t)X86_SEL_CODE << 16) | ((uint64_t)ist << 32) |
              (IDT_GATE_INTERRUPT << 40) | ((addr >> 16 & 0xFFFF) << 48);
    gate[1] = addr >> 32;
}

void x86_idt_load(const void *idt, unsigned vectors)
{
    struct x86_table_register idtr = { (uint16_t)(vectors * 16 - 1), (uint64_t)(uintptr_t)idt };
    __asm__ __volatile__("lidt %0" : : "m"(idtr) : "memory");
}

uint64_t x86_read_cr2(void)
{
    uint64_t cr2;
    __asm__ __volatile__("movq %%cr2, %0" : "=r"(cr2));
    return cr2;
}

/* The platform hook (common/platform.h). Intel SDM Vol. 4 Table 2-2:
 * IA32_FS_BASE. In user mode (hvt, virtio) the WRMSR traps to the #GP entry,
 * which completes it. */
#define MSR_FS_BASE 0xC0000100U

solo5_result_t platform_set_tls_base(uintptr_t base)
{
    __asm__ __volatile__("wrmsr"
                         :
                         : "c"(MSR_FS_BASE), "a"((uint32_t)base),
                           "d"((uint32_t)((uint64_t)base >> 32)));
    return SOLO5_R_OK;
}
