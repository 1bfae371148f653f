/*
 * The guest's own x86_64 descriptor tables (shared code: ../x86_64/cpu.c):
 * a GDT with flat code/data and a 64-bit TSS whose IST stacks take every
 * exception, and an IDT routing the 32 architectural exceptions to the
 * shared stubs (../x86_64/traps.S) and the fatal handler below. hvt has no
 * interrupts, so any vector means a bug: report it on the console and halt
 * with 255, leaving a trap record for the tender.
 */
#include "hvt.h"
#include "../x86_64/cpu.h"

#define IST_TRAP 1
#define IST_DOUBLE_FAULT 2
#define IST_NMI 3

static uint64_t gdt[X86_GDT_ENTRIES] __attribute__((aligned(16)));
static struct x86_tss tss __attribute__((aligned(16)));
/* 16-byte gates as two quadwords (SDM Vol. 3A Figure 6-8): low = offset
 * 15:0, selector, IST, type/attributes, offset 31:16; high = offset 63:32. */
static uint64_t idt[X86_EXCEPTIONS][2] __attribute__((aligned(16)));
static uint8_t ist_stacks[3][X86_IST_STACK_SIZE] __attribute__((aligned(16)));

/* #GP has its own entry (traps_x86_64.S) that first completes privileged
 * hypercall instructions issued from user mode. */
extern const char hvt_gp_entry[];

/* Fill the IDT from one template: every instruction counts where the
 * host emulates ring-0 code, and this runs on every boot. */
void hvt_idt_fill(void)
{
    uint64_t gate[2];
    x86_idt_gate(gate, (uint64_t)(uintptr_t)x86_trap_stubs, IST_TRAP);
    for (int v = 0; v < X86_EXCEPTIONS; v++) {
        idt[v][0] = gate[0] + (uint64_t)v * X86_TRAP_STUB_STRIDE;
        idt[v][1] = gate[1];
    }
    idt[X86_VECTOR_NMI][0] += (uint64_t)(IST_NMI - IST_TRAP) << 32;
    idt[X86_VECTOR_DOUBLE_FAULT][0] += (uint64_t)(IST_DOUBLE_FAULT - IST_TRAP) << 32;
    x86_idt_gate(idt[X86_VECTOR_GP], (uint64_t)(uintptr_t)hvt_gp_entry, IST_TRAP);
}

void hvt_cpu_init(bool defer_idt_fill)
{
    for (int i = 0; i < 3; i++)
        tss.ist[i] = (uint64_t)(uintptr_t)&ist_stacks[i][X86_IST_STACK_SIZE];
    x86_gdt_load(gdt, &tss);
    if (!defer_idt_fill)
        hvt_idt_fill();
    x86_idt_load(idt, X86_EXCEPTIONS);
}

/* The HALT cookie: the trap record a core-dumping tender can use (§3.6). */
static uint64_t trap_cookie[HVT_HALT_COOKIE_MAX / sizeof(uint64_t)];

static const char *const trap_names[X86_EXCEPTIONS] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
    "#DF", "#CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
    "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

static size_t append(char *buf, size_t at, size_t cap, const char *s)
{
    while (*s != '\0' && at < cap)
        buf[at++] = *s++;
    return at;
}

static size_t append_hex(char *buf, size_t at, size_t cap, uint64_t value)
{
    static const char digits[] = "0123456789abcdef";
    at = append(buf, at, cap, "0x");
    for (int shift = 60; shift >= 0; shift -= 4)
        if (at < cap)
            buf[at++] = digits[(value >> shift) & 0xF];
    return at;
}

void x86_trap_handler(const struct x86_trap_frame *regs)
{
    uint64_t cr2 = x86_read_cr2();

    char line[200];
    size_t cap = sizeof line, n = 0;
    n = append(line, n, cap, "Solo5: trap: type=");
    n = append(line, n, cap, trap_names[regs->vector % X86_EXCEPTIONS]);
    n = append(line, n, cap, " ec=");
    n = append_hex(line, n, cap, regs->error_code);
    n = append(line, n, cap, " rip=");
    n = append_hex(line, n, cap, regs->rip);
    n = append(line, n, cap, " rsp=");
    n = append_hex(line, n, cap, regs->rsp);
    n = append(line, n, cap, " rflags=");
    n = append_hex(line, n, cap, regs->rflags);
    if (regs->vector == X86_VECTOR_PF) {
        n = append(line, n, cap, " cr2=");
        n = append_hex(line, n, cap, cr2);
    }
    n = append(line, n, cap, "\nSolo5: ABORT: fatal trap\n");
    platform_console_write(line, n);

    trap_cookie[0] = cr2;
    trap_cookie[1] = regs->error_code;
    trap_cookie[2] = regs->rip;
    trap_cookie[3] = regs->cs;
    trap_cookie[4] = regs->rflags;
    trap_cookie[5] = regs->rsp;
    trap_cookie[6] = regs->ss;
    hvt_halt(SOLO5_EXIT_ABORT, trap_cookie);
}
