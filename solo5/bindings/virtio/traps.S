/*
 * Interrupt and exception entry points.
 *
 * Exceptions (vectors 0-31) are fatal: every stub makes the same frame (an
 * error code of 0 where the CPU pushes none, Intel SDM Vol. 3A §6.15, then
 * the vector), saves the general registers and calls cpu_trap(frame),
 * which reports and exits. They run on IST stacks (set in cpu.c).
 *
 * PIC interrupts (vectors 32-47) are only enabled inside
 * cpu_wait_for_interrupt(), so they always interrupt a HLT in the
 * bindings: the stub saves the caller-saved registers, calls
 * virtio_irq(line) and returns.
 */
    .text

.macro TRAP_NOEC vector
    .globl trap_\vector
trap_\vector:
    pushq $0
    pushq $\vector
    jmp trap_common
.endm

.macro TRAP_EC vector
    .globl trap_\vector
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
    call cpu_trap
1:  hlt
    jmp 1b

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

/* The interrupted code is a HLT in the bindings (compiled without a red
 * zone), so its stack is ours to use; keep the call 16-byte aligned. */
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

/* Entry addresses for the IDT: vectors 0-31, then PIC lines 0-15. */
    .section .rodata
    .balign 8
    .globl cpu_vector_entries
cpu_vector_entries:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad trap_\v
    .endr
    .irp l, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
    .quad irq_\l
    .endr

    .section .note.GNU-stack,"",@progbits
