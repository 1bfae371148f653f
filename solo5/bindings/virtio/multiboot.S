/*
 * Multiboot (v1) entry. A loader such as QEMU's -kernel finds the header
 * in the first 8 KiB of the file. The image is a 64-bit ELF, which a
 * Multiboot loader does not load, so the header gives the load addresses
 * itself (flag bit 16, Multiboot 0.6.96 §3.1.3): the file bytes of the
 * image from _stext to _eload, then zeroes up to _ebss, entry _start32.
 *
 * At _start32 the CPU is in 32-bit protected mode, flat segments, paging
 * off, EAX = 0x2BADB002, EBX = physical address of the multiboot_info
 * (§3.2). The shared start (../x86_64/boot32.S) identity-maps 4 GiB with
 * user-accessible pages, enters long mode and calls x86_boot(mbi) (boot.c)
 * on a boot stack. Then x86_boot_done drops to CPL 3 with IOPL 3 and
 * interrupts off and calls _start on the final stack at the top of guest
 * memory: the bindings after boot and the whole application run in user
 * mode (why: cpu.c).
 */
#include "../x86_64/boot32.h"
#include "../x86_64/cpu.h"

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS ((1 << 1) | (1 << 16)) /* memory info; address fields valid */
#define MB_BOOTLOADER_MAGIC 0x2BADB002

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
    movl $X86_PTE_USER, %edi
    jmp x86_boot32

/* Not started by a Multiboot loader: nothing to report to, stop. */
not_multiboot:
    hlt
    jmp not_multiboot

    .code64
/* RAX = the top of guest memory (x86_boot). */
    .globl x86_boot_done
x86_boot_done:
    xorl %ecx, %ecx             /* null data selectors: kept across the iretq */
    movl %ecx, %ds
    movl %ecx, %es
    movl %ecx, %fs
    movl %ecx, %gs
    pushq $X86_SEL_USER_DATA
    pushq %rax                  /* user RSP */
    pushq $(RFLAGS_IOPL3 | RFLAGS_RESERVED)
    pushq $X86_SEL_USER_CODE
    leaq user_start(%rip), %rax
    pushq %rax
    iretq
user_start:
    xorl %edi, %edi
    call _start
3:  jmp 3b                      /* _start never returns */

    .section .note.GNU-stack,"",@progbits
