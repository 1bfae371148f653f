/*
 * hvt's own entry points; the exception stubs and the fatal path are
 * shared (../x86_64/traps.S: x86_trap_stubs, x86_trap_common, which calls
 * x86_trap_handler in cpu_x86_64.c).
 */
#include "../x86_64/cpu.h"

    .text

/*
 * #GP. In user mode (see hvt_cpu_enter_user) a hypervisor that ignores
 * IOPL 3 makes the hypercall "outl %eax, %dx" fault, and so does "wrmsr"
 * (solo5_set_tls_base). For exactly those two instructions from CPL 3 the
 * handler executes them here with the user's registers, steps over them
 * and returns; every other #GP is fatal as usual. A trapped outl also sets
 * hvt_outl_traps, so the bindings switch to MMIO hypercalls if offered. Few instructions on
 * purpose: where ring 0 is emulated, each one is expensive.
 */
    .balign 16
    .globl hvt_gp_entry
hvt_gp_entry:
    pushq %rcx
    testb $3, 24(%rsp)          /* saved CS: from user mode? */
    jz 2f
    movq 16(%rsp), %rcx         /* saved RIP */
    cmpb $0xef, (%rcx)          /* outl %eax, (%dx) */
    jne 1f
    movb $1, hvt_outl_traps(%rip) /* see platform.c: switch to MMIO */
    outl %eax, %dx
    incq 16(%rsp)
    popq %rcx
    addq $8, %rsp               /* error code */
    iretq
1:  cmpw $0x300f, (%rcx)        /* wrmsr */
    jne 2f
    movq (%rsp), %rcx
    wrmsr
    addq $2, 16(%rsp)
    popq %rcx
    addq $8, %rsp
    iretq
2:  popq %rcx
    pushq $13
    jmp x86_trap_common

/*
 * void hvt_cpu_enter_user(void): return to the caller at CPL 3 on the same
 * stack, with IOPL 3 (port I/O allowed where the hypervisor honours it)
 * and interrupts still off. Data segment registers are nulled first so the
 * return to user mode keeps them (and the FS base) as they are.
 */
    .globl hvt_cpu_enter_user
hvt_cpu_enter_user:
    xorl %eax, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %fs
    movl %eax, %gs
    popq %rax                   /* return address */
    movq %rsp, %rdx
    pushq $X86_SEL_USER_DATA    /* SS */
    pushq %rdx                  /* RSP */
    pushq $0x3002               /* RFLAGS: IOPL 3, IF 0 */
    pushq $X86_SEL_USER_CODE    /* CS */
    pushq %rax                  /* RIP */
    iretq

    .section .note.GNU-stack,"",@progbits
