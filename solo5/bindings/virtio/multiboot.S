/*
 * Multiboot (v1) entry. A loader such as QEMU's -kernel finds the header
 * in the first 8 KiB of the file. The image is a 64-bit ELF, which a
 * Multiboot loader does not load, so the header gives the load addresses
 * itself (flag bit 16, Multiboot 0.6.96 §3.1.3): the file bytes of the
 * image from _stext to _eload, then zeroes up to _ebss, entry _start32.
 *
 * At _start32 the CPU is in 32-bit protected mode, flat segments, paging
 * off, EAX = 0x2BADB002, EBX = physical address of the multiboot_info
 * (§3.2). We build identity-mapped page tables for the first 4 GiB with
 * 2 MiB pages, enable PAE, long mode and paging (Intel SDM Vol. 3A §9.8.5),
 * enable SSE (CR4.OSFXSR, CR0.MP, !CR0.EM) and jump to 64-bit code, which
 * calls virtio_boot(mbi) on a boot stack. Then it drops to CPL 3 with
 * IOPL 3 and interrupts off and calls _start on the final stack at the top
 * of guest memory: the bindings after boot and the whole application run
 * in user mode (why: cpu.c).
 */
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS ((1 << 1) | (1 << 16)) /* memory info; address fields valid */
#define MB_BOOTLOADER_MAGIC 0x2BADB002

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
#define PTE_US 0x4 /* the application runs at CPL 3 (cpu.c) */
#define PTE_PS 0x80
#define SEL_USER_CODE 0x2B /* GDT entries 5 and 6 (cpu.c), RPL 3 */
#define SEL_USER_DATA 0x33
#define RFLAGS_IOPL3 0x3000
#define RFLAGS_RESERVED 0x2

    .section .multiboot, "a"
    .balign 4
multiboot_header:
    .long MB_MAGIC
    .long MB_FLAGS
    .long -(MB_MAGIC + MB_FLAGS)
    .long multiboot_header  /* header_addr */
    .long _stext            /* load_addr */
    .long _eload            /* load_end_addr */
    .long _ebss             /* bss_end_addr */
    .long _start32          /* entry_addr */

    .text
    .code32
    .globl _start32
_start32:
    cli
    cld
    cmpl $MB_BOOTLOADER_MAGIC, %eax
    jne not_multiboot
    movl %ebx, %esi

    /* PML4[0] -> PDPT; PDPT[0..3] -> the four page directories. */
    movl $boot_pdpt + (PTE_P | PTE_RW | PTE_US), boot_pml4
    movl $boot_pd + (PTE_P | PTE_RW | PTE_US), %eax
    xorl %ecx, %ecx
1:  movl %eax, boot_pdpt(, %ecx, 8)
    addl $0x1000, %eax
    incl %ecx
    cmpl $4, %ecx
    jne 1b
    /* 2048 PD entries, each a 2 MiB page: entry i maps i * 2 MiB. */
    movl $(PTE_P | PTE_RW | PTE_US | PTE_PS), %eax
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

/* Not started by a Multiboot loader: nothing to report to, stop. */
not_multiboot:
    hlt
    jmp not_multiboot

    .code64
start64:
    movl $0x10, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    movq $boot_stack_top, %rsp
    movl %esi, %edi             /* zero-extends the multiboot_info address */
    call virtio_boot            /* returns the top of guest memory */
    xorl %ecx, %ecx             /* null data selectors: kept across the iretq */
    movl %ecx, %ds
    movl %ecx, %es
    movl %ecx, %fs
    movl %ecx, %gs
    pushq $SEL_USER_DATA
    pushq %rax                  /* user RSP */
    pushq $(RFLAGS_IOPL3 | RFLAGS_RESERVED)
    pushq $SEL_USER_CODE
    leaq user_start(%rip), %rax
    pushq %rax
    iretq
user_start:
    xorl %edi, %edi
    call _start
3:  jmp 3b                      /* _start never returns */

    .section .rodata
    .balign 8
/* Flat 64-bit code (L=1) at 0x08 and data at 0x10; cpu.c replaces this
 * GDT with one that has a TSS. */
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF
    .quad 0x00CF92000000FFFF
boot_gdt_end:
boot_gdt_pointer:
    .word boot_gdt_end - boot_gdt - 1
    .long boot_gdt

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
