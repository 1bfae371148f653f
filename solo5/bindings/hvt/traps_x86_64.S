/*
 * Exception entry stubs. The CPU pushes an error code only for some vectors
 * (Intel SDM Vol. 3A §6.15); the others get a 0 so every frame has the same
 * shape. Each stub then pushes its vector and joins trap_common, which saves
 * the general registers and calls hvt_trap_handler(frame), which never
 * returns. The IST stack is 16-byte aligned by the CPU; 7 + 15 pushes keep
 * it aligned at the call.
 *
 * The stubs sit at a fixed 16-byte stride from hvt_trap_stubs, inside one
 * 512-byte-aligned block, so the IDT can be filled from a single template
 * (only the low 16 offset bits differ between gates).
 */
    .text
    .balign 512
    .globl hvt_trap_stubs
hvt_trap_stubs:

.macro TRAP_NOEC vector
    .balign 16
trap_\vector:
    pushq $0
    pushq $\vector
    jmp trap_common
.endm

.macro TRAP_EC vector
    .balign 16
trap_\vector:
    pushq $\vector
    jmp trap_common
.endm

TRAP_NOEC 0
TRAP_NOEC 1
TRAP_NOEC 2
TRAP_NOEC 3
TRAP_NOEC 4
TRAP_NOEC 5
TRAP_NOEC 6
TRAP_NOEC 7
TRAP_EC 8
TRAP_NOEC 9
TRAP_EC 10
TRAP_EC 11
TRAP_EC 12
TRAP_EC 13
TRAP_EC 14
TRAP_NOEC 15
TRAP_NOEC 16
TRAP_EC 17
TRAP_NOEC 18
TRAP_NOEC 19
TRAP_NOEC 20
TRAP_EC 21
TRAP_NOEC 22
TRAP_NOEC 23
TRAP_NOEC 24
TRAP_NOEC 25
TRAP_NOEC 26
TRAP_NOEC 27
TRAP_NOEC 28
TRAP_EC 29
TRAP_EC 30
TRAP_NOEC 31

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
    jmp trap_common

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
    pushq $0x33                 /* SS: user data, RPL 3 */
    pushq %rdx                  /* RSP */
    pushq $0x3002               /* RFLAGS: IOPL 3, IF 0 */
    pushq $0x2b                 /* CS: user code, RPL 3 */
    pushq %rax                  /* RIP */
    iretq

trap_common:
    pushq %rax
    pushq %rbx
    pushq %rcx
    pushq %rdx
    pushq %rsi
    pushq %rdi
    pushq %rbp
    pushq %r8
    pushq %r9
    pushq %r10
    pushq %r11
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, %rdi
    call hvt_trap_handler
1:  hlt
    jmp 1b

    .section .note.GNU-stack,"",@progbits
