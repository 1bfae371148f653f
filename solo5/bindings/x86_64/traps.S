/*
 * Exception entry stubs shared by the hvt, virtio and xen bindings. The
 * CPU pushes an error code only for some vectors (Intel SDM Vol. 3A
 * §6.15); the others get a 0 so every frame has the same shape. Each stub
 * then pushes its vector and joins x86_trap_common, which saves the general
 * registers and calls the target's x86_trap_handler(frame) (cpu.h), which
 * never returns. The CPU aligns the stack to 16 bytes in 64-bit mode;
 * 7 + 15 pushes keep it aligned at the call.
 *
 * The stubs sit at a fixed 16-byte stride from x86_trap_stubs, inside one
 * 512-byte-aligned block, so an IDT can be filled from a single template
 * (only the low 16 offset bits differ between gates).
 */
    .text
    .balign 512
    .globl x86_trap_stubs
x86_trap_stubs:

.macro TRAP_NOEC vector
    .balign 16
    pushq $0
    pushq $\vector
    jmp x86_trap_common
.endm

.macro TRAP_EC vector
    .balign 16
    pushq $\vector
    jmp x86_trap_common
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

/* Also the fatal path of a target's own #GP entry: vector and error code
 * pushed, as by a stub. */
    .balign 16
    .globl x86_trap_common
x86_trap_common:
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
    call x86_trap_handler
1:  hlt
    jmp 1b

    .section .note.GNU-stack,"",@progbits
