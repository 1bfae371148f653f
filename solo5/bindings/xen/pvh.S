/*
 * PVH entry (https://xenbits.xen.org/docs/unstable/misc/pvh.html). The
 * XEN_ELFNOTE_PHYS32_ENTRY note (type 18, name "Xen", descriptor: the
 * 32-bit physical entry address) marks the image PVH-bootable. At
 * _start32 the CPU is in 32-bit protected mode with paging off, flat
 * segments, no stack, and EBX = physical address of struct hvm_start_info,
 * whose first field is the magic 0x336EC578.
 *
 * The shared start (../x86_64/boot32.S) identity-maps 4 GiB, enters long
 * mode and calls x86_boot(start_info) (boot.c) on a boot stack; then
 * x86_boot_done calls _start on the final stack at the top of guest
 * memory. Unlike virtio, everything stays in ring 0 (the pages are not
 * user-accessible): a PVH guest runs in a hardware VM container.
 */
#include "../x86_64/boot32.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336EC578

/* QEMU's isa-debugcon and isa-debug-exit ports: where a start without
 * hvm_start_info is reported when run under QEMU. */
#define DEBUGCON_PORT 0xE9
#define DEBUG_EXIT_PORT 0x501

    .section .note.solo5.xen, "a"
    .balign 4
    .long 4                     /* namesz: "Xen\0" */
    .long 4                     /* descsz */
    .long XEN_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .long _start32

    .text
    .code32
    .globl _start32
_start32:
    cli
    cld
    cmpl $HVM_START_MAGIC, (%ebx)
    jne not_pvh
    movl %ebx, %esi
    xorl %edi, %edi             /* ring 0 only: no user-accessible pages */
    jmp x86_boot32

/* No hvm_start_info: there is no console to report to except QEMU's
 * debug ports (harmless elsewhere); then stop. */
not_pvh:
    movl $not_pvh_message, %esi
    movw $DEBUGCON_PORT, %dx
3:  lodsb
    testb %al, %al
    jz 4f
    outb %al, %dx
    jmp 3b
4:  movb $0xFF, %al
    outb %al, %dx
    movw $DEBUG_EXIT_PORT, %dx
    outb %al, %dx
5:  hlt
    jmp 5b

    .code64
/* RAX = the top of guest memory (x86_boot). */
    .globl x86_boot_done
x86_boot_done:
    movq %rax, %rsp
    xorl %edi, %edi
    call _start
6:  hlt
    jmp 6b

/* Xen fills this page with one 32-byte stub per hypercall (hypercall.c). */
    .balign 4096
    .globl xen_hypercall_page
xen_hypercall_page:
    .skip 4096

    .section .rodata
    .balign 8
not_pvh_message:
    .asciz "Solo5: not started by a PVH loader (no hvm_start_info)\n"

    .section .note.GNU-stack,"",@progbits
