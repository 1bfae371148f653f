/*
 * The start from 32-bit protected mode shared by the virtio (Multiboot) and
 * xen (PVH) entries (boot32.S). A target provides, besides its _start32:
 *   - x86_boot() below, which boot32.S calls in 64-bit mode on the boot
 *     stack, at CPL 0, with the identity map and SSE set up;
 *   - the assembly label x86_boot_done, jumped to with RAX = x86_boot()'s
 *     result, which goes on to _start.
 * _start32 enters boot32.S by `jmp x86_boot32` with ESI = the boot
 * information address and EDI = extra page-table flags (PTE_US or 0).
 */
#ifndef SOLO5_BINDINGS_X86_64_BOOT32_H
#define SOLO5_BINDINGS_X86_64_BOOT32_H

/* The page-table flag that lets CPL 3 use the identity map (for EDI). */
#define X86_PTE_USER 0x4

#ifndef __ASSEMBLER__
#include <stdint.h>

/* The target's 64-bit boot: the loader's boot information address in,
 * the top of guest memory out. */
uint64_t x86_boot(uintptr_t boot_info);
#endif

#endif /* SOLO5_BINDINGS_X86_64_BOOT32_H */
