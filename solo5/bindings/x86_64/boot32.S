/*
 * The 32-bit to 64-bit start shared by the virtio (Multiboot) and xen (PVH)
 * entries. A target's _start32 checks its loader's magic, then jumps here
 * (there is no stack yet) with ESI = the physical address of the loader's
 * boot information and EDI = extra page-table flags (PTE_US where the
 * application runs at CPL 3, else 0). This code identity-maps the first
 * 4 GiB with 2 MiB pages, enables PAE, long mode and paging (Intel SDM
 * Vol. 3A §9.8.5) and SSE (CR4.OSFXSR, CR0.MP, !CR0.EM), and in 64-bit
 * mode calls the target's x86_boot(boot information) on a boot stack. That
 * returns the top of guest memory in RAX, with which it jumps to the
 * target's x86_boot_done (the way to _start differs per target).
 */
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
#define SEL_CODE 0x08 /* boot_gdt below; cpu.c's GDT keeps the same selectors */
#define SEL_DATA 0x10

    .text
    .code32
    .globl x86_boot32
x86_boot32:
    /* PML4[0] -> PDPT; PDPT[0..3] -> the four page directories. */
    movl $boot_pdpt + (PTE_P | PTE_RW), %eax
    orl %edi, %eax
    movl %eax, boot_pml4
    movl $boot_pd + (PTE_P | PTE_RW), %eax
    orl %edi, %eax
    xorl %ecx, %ecx
1:  movl %eax, boot_pdpt(, %ecx, 8)
    addl $0x1000, %eax
    incl %ecx
    cmpl $4, %ecx
    jne 1b
    /* 2048 PD entries, each a 2 MiB page: entry i maps i * 2 MiB. */
    movl $(PTE_P | PTE_RW | PTE_PS), %eax
    orl %edi, %eax
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
    ljmp $SEL_CODE, $start64

    .code64
start64:
    movl $SEL_DATA, %eax
    movl %eax, %ds
    movl %eax, %es
    movl %eax, %ss
    movl %eax, %fs
    movl %eax, %gs
    movq $boot_stack_top, %rsp
    movl %esi, %edi             /* zero-extends the boot information address */
    call x86_boot               /* returns the top of guest memory */
    jmp x86_boot_done

    .section .rodata
    .balign 8
/* Flat 64-bit code (L=1) and flat data; virtio's cpu.c later loads a GDT
 * with a TSS and user segments under the same selectors. */
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* SEL_CODE */
    .quad 0x00CF92000000FFFF    /* SEL_DATA */
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
