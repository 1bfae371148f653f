/*
 * Exception entry stubs: every exception is fatal. Each stub makes the
 * same frame (a 0 error code where the CPU pushes none, Intel SDM Vol. 3A
 * §6.15, then the vector) and calls cpu_trap(frame), which reports and
 * shuts the domain down. A PVH guest gets no interrupts here: yield polls.
 */
    .text

.macro TRAP_NOEC vector
trap_\vector:
    pushq $0
    pushq $\vector
    jmp trap_common
.endm

.macro TRAP_EC vector
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
    movq %rsp, %rdi
    andq $-16, %rsp
    call cpu_trap
1:  hlt
    jmp 1b

    .section .rodata
    .balign 8
    .globl cpu_trap_entries
cpu_trap_entries:
    .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    .quad trap_\v
    .endr

    .section .note.GNU-stack,"",@progbits
