/*
 * x86_64 CPU tables shared by the hvt, virtio and xen bindings: the
 * exception entry stubs (traps.S) and the descriptor tables (cpu.c). Intel SDM Vol. 3A: §3.4.5 segment
 * descriptors, §6.14 the 64-bit IDT, §7.7 the 64-bit TSS.
 */
#ifndef SOLO5_BINDINGS_X86_64_CPU_H
#define SOLO5_BINDINGS_X86_64_CPU_H

/* GDT (x86_gdt_load): null, kernel code, kernel data, the 16-byte TSS
 * descriptor, user code, user data. User selectors carry RPL 3. */
#define X86_SEL_CODE 0x08
#define X86_SEL_DATA 0x10
#define X86_SEL_TSS 0x18
#define X86_SEL_USER_CODE 0x2B
#define X86_SEL_USER_DATA 0x33
#define X86_GDT_ENTRIES 7

#define X86_EXCEPTIONS 32 /* architectural exception vectors */
#define X86_VECTOR_NMI 2
#define X86_VECTOR_DOUBLE_FAULT 8
#define X86_VECTOR_GP 13
#define X86_VECTOR_PF 14
#define X86_TRAP_STUB_STRIDE 16
#define X86_IST_STACK_SIZE 4096

#ifndef __ASSEMBLER__
#include <stdint.h>

struct x86_tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct x86_tss) == 104, "64-bit TSS is 104 bytes");

/* The operand of lgdt and lidt. */
struct x86_table_register {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

/* What traps.S leaves on the stack: 15 saved general registers (r15
 * first), then vector and error code, then the CPU's interrupt frame. */
struct x86_trap_frame {
    uint64_t gpr[15];
    uint64_t vector;
    uint64_t error_code;
    uint64_t rip;
    uint64_t cs;
    uint64_t rflags;
    uint64_t rsp;
    uint64_t ss;
};

/* Entry stub of exception v: x86_trap_stubs + v * X86_TRAP_STUB_STRIDE. */
extern const char x86_trap_stubs[];

/* Every exception stub ends here; each target defines it (report, exit). */
void x86_trap_handler(const struct x86_trap_frame *frame) __attribute__((noreturn));

/* Fills gdt (flat 64-bit kernel and user code and data, and the TSS) and
 * loads it, reloads CS and the data segment registers with the kernel
 * selectors, and loads the task register. tss->ist[] is the caller's. */
void x86_gdt_load(uint64_t gdt[X86_GDT_ENTRIES], struct x86_tss *tss);

/* A present, DPL 0, 64-bit interrupt gate to addr on IST stack ist (0:
 * none), as two quadwords (SDM Vol. 3A Figure 6-8). */
void x86_idt_gate(uint64_t gate[2], uint64_t addr, unsigned ist);

/* lidt of a table of `vectors` gates (16 bytes each). */
void x86_idt_load(const void *idt, unsigned vectors);

/* CR2: the faulting address of the last #PF. */
uint64_t x86_read_cr2(void);
#endif /* __ASSEMBLER__ */

#endif /* SOLO5_BINDINGS_X86_64_CPU_H */
