/*
 * An IDT routing the 32 exceptions to the shared fatal handler
 * (../x86_64/: traps.S, trap_abort.c), on the current stack (no TSS). The
 * boot GDT (../x86_64/boot32.S) stays: flat code at 0x08, data at 0x10.
 */
#include "xen.h"

static uint64_t idt[X86_EXCEPTIONS][2] __attribute__((aligned(16)));

void cpu_init(void)
{
    for (unsigned v = 0; v < X86_EXCEPTIONS; v++)
        x86_idt_gate(idt[v], (uint64_t)(uintptr_t)x86_trap_stubs + v * X86_TRAP_STUB_STRIDE, 0);
    x86_idt_load(idt, X86_EXCEPTIONS);
}
