/*
 * PVH entry (https://xenbits.xen.org/docs/unstable/misc/pvh.html). The
 * XEN_ELFNOTE_PHYS32_ENTRY note (type 18, name "Xen", descriptor: the
 * 32-bit physical entry address) marks the image PVH-bootable. At
 * _start32 the CPU is in 32-bit protected mode with paging off, flat
 * segments, no stack, and EBX = physical address of struct hvm_start_info,
 * whose first field is the magic 0x336EC578.
 *
 * We build identity-mapped page tables for the first 4 GiB (2 MiB pages),
 * enable PAE, long mode, paging and SSE (Intel SDM Vol. 3A §9.8.5), call
 * xen_boot(start_info) on a boot stack, then _start on the final stack at
 * the top of guest memory. Unlike virtio, everything stays in ring 0: a
 * PVH guest runs in a hardware VM container.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define HVM_START_MAGIC 0x336EC578

#define CR0_PE (1 << 0)
#define CR0_MP (1 << 1)
#define CR0_EM (1 << 2)
#define CR0_NE (1 << 5)
#define CR0_WP (1 << 16)
#define CR0_PG (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define PTE_P 0x1
#define PTE_RW 0x2
#define PTE_PS 0x80
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

    movl $boot_pdpt + (PTE_P | PTE_RW), boot_pml4
    movl $boot_pd + (PTE_P | PTE_RW), %eax
    xorl %ecx, %ecx
1:  movl %eax, boot_pdpt(, %ecx, 8)
    addl $0x1000, %eax
    incl %ecx
    cmpl $4, %ecx
    jne 1b
    movl $(PTE_P | PTE_RW | PTE_PS), %eax
    xorl %ecx, %ecx
2:  movl %eax, boot_pd(, %ecx, 8)
    addl $0x200000, %eax
    incl %ecx
    cmpl $2048, %ecx
    jne 2b

    lgdt boot_gdt_pointer
    movl %cr4, %eax
    orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
    movl %eax, %cr4
    movl $boot_pml4, %eax
    movl %eax, %cr3
    movl $MSR_EFER, %ecx
    rdmsr
    orl $EFER_LME, %eax
    wrmsr
    movl %cr0, %eax
    andl $~CR0_EM, %eax
    orl $(CR0_PE | CR0_MP | CR0_NE | CR0_WP | CR0_PG), %eax
    movl %eax, %cr0
    ljmp $0x08, $start64

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
start64:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    movq $boot_stack_top, %rsp
    movl %esi, %edi             /* zero-extends the hvm_start_info address */
    call xen_boot               /* returns the top of guest memory */
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
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 0x08: flat 64-bit code */
    .quad 0x00CF92000000FFFF    /* 0x10: flat data */
boot_gdt_end:
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt
not_pvh_message:
    .asciz "Solo5: not started by a PVH loader (no hvm_start_info)\n"

    .section .bss
    .balign 4096
boot_pml4:
    .skip 4096
boot_pdpt:
    .skip 4096
boot_pd:
    .skip 4 * 4096
    .balign 16
    .skip 16384
boot_stack_top:

    .section .note.GNU-stack,"",@progbits
