/*
 * virtio's own interrupt and exception entry points; the exception stubs
 * and the fatal path are shared (../x86_64/traps.S: x86_trap_stubs,
 * x86_trap_common, which calls x86_trap_handler in ../x86_64/trap_abort.c).
 *
 * #GP from user mode (CPL 3) completes the few privileged instructions the
 * bindings use after boot, at CPL 0, then steps over them (gp_entry):
 *   - IN/OUT through DX (EC, ED, EE, EF, with 66 for 16 bits), where the
 *     hypervisor ignores IOPL 3 (kvm-pvm; elsewhere they never trap);
 *   - HLT (F4), always privileged: done as STI; HLT; CLI here, so the wake-up
 *     interrupt cannot slip in between a check and the halt;
 *   - WRMSR (0F 30) to IA32_FS_BASE only (solo5_set_tls_base).
 * Anything else is a fatal trap. Few instructions on purpose: where ring 0
 * is emulated, each one costs microseconds.
 *
 * PIC interrupts (vectors 32-47) are only enabled inside that HLT, so they
 * always interrupt ring-0 code; they run on their own IST stack (cpu.c):
 * the stub saves the caller-saved registers, calls virtio_irq(line) and
 * returns.
 */
    .text

#define MSR_FS_BASE 0xC0000100
    .globl gp_entry
gp_entry:
    testb $3, 16(%rsp)          /* CS of the faulting code: from user mode? */
    jz gp_fatal
    pushq %rax
    pushq %rdx
    pushq %rsi
    /* 0 rsi, 8 rdx, 16 rax, 24 error code, 32 rip, 40 cs, 48 rflags, ... */
    movq 32(%rsp), %rsi
    movzbl (%rsi), %eax
    cmpb $0xEE, %al
    je 10f
    cmpb $0xEC, %al
    je 11f
    cmpb $0xEF, %al
    je 12f
    cmpb $0xED, %al
    je 13f
    cmpb $0xF4, %al
    je 14f
    cmpb $0x66, %al
    je 15f
    cmpb $0x0F, %al
    je 16f
    jmp gp_not_ours
10: movq 16(%rsp), %rax         /* outb %al, (%dx) */
    outb %al, %dx
    jmp gp_step1
11: inb %dx, %al                /* inb (%dx), %al */
    movb %al, 16(%rsp)
    jmp gp_step1
12: movq 16(%rsp), %rax         /* outl %eax, (%dx) */
    outl %eax, %dx
    jmp gp_step1
13: inl %dx, %eax               /* inl (%dx), %eax: zero-extends into rax */
    movq %rax, 16(%rsp)
    jmp gp_step1
14: sti                         /* hlt */
    hlt
    cli
    jmp gp_step1
15: movzbl 1(%rsi), %eax        /* 66: 16-bit operand */
    cmpb $0xEF, %al
    je 17f
    cmpb $0xED, %al
    jne gp_not_ours
    inw %dx, %ax
    movw %ax, 16(%rsp)
    jmp gp_step2
17: movq 16(%rsp), %rax
    outw %ax, %dx
    jmp gp_step2
16: cmpb $0x30, 1(%rsi)         /* wrmsr */
    jne gp_not_ours
    cmpl $MSR_FS_BASE, %ecx
    jne gp_not_ours
    movq 16(%rsp), %rax
    wrmsr
    jmp gp_step2
gp_step1:
    incq 32(%rsp)
    jmp gp_return
gp_step2:
    addq $2, 32(%rsp)
gp_return:
    popq %rsi
    popq %rdx
    popq %rax
    addq $8, %rsp               /* error code */
    iretq
gp_not_ours:
    popq %rsi
    popq %rdx
    popq %rax
gp_fatal:
    pushq $13
    jmp x86_trap_common

.macro IRQ line
    .globl irq_\line
irq_\line:
    pushq $\line
    jmp irq_common
.endm

IRQ 0
IRQ 1
IRQ 2
IRQ 3
IRQ 4
IRQ 5
IRQ 6
IRQ 7
IRQ 8
IRQ 9
IRQ 10
IRQ 11
IRQ 12
IRQ 13
IRQ 14
IRQ 15

/* On the IRQ IST stack; keep the call 16-byte aligned. */
irq_common:
    pushq %rbp
    pushq %rax
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    movq 80(%rsp), %rdi         /* the line pushed by the stub */
    movq %rsp, %rbp
    andq $-16, %rsp
    call virtio_irq
    movq %rbp, %rsp
    popq %r11
    popq %r10
    popq %r9
    popq %r8
    popq %rdi
    popq %rsi
    popq %rdx
    popq %rcx
    popq %rax
    popq %rbp
    addq $8, %rsp
    iretq

/* Entry addresses of PIC lines 0-15 for the IDT (vectors 32-47). */
    .section .rodata
    .balign 8
    .globl cpu_irq_entries
cpu_irq_entries:
    .irp l, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    .quad irq_\l
    .endr

    .section .note.GNU-stack,"",@progbits
