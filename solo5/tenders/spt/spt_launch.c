/*
 * Entering the guest (§4.3) with nothing of the host in its hands. The
 * guest runs inside this process, so every register it starts with is a
 * possible pointer into the tender: a leftover libc pointer in xmm0, or
 * %fs still at the tender's thread block, leads to libc's environ without
 * a single syscall (issue 11.3). The guest therefore starts with:
 *   - FS and GS bases 0 (GS before the filter, which only allows
 *     ARCH_SET_FS; FS last of all, since the tender's own code uses it);
 *   - x87/SSE/AVX/AVX-512 state in its initial state (XRSTOR with an empty
 *     header, or FXRSTOR of a zeroed area where XSAVE is not enabled);
 *   - every general register zero except rsp (guest stack), rdi (boot
 *     info) and rax (the entry point, a guest address); DF clear.
 */
#include "spt.h"

#include <asm/prctl.h>
#include <cpuid.h>
#include <errno.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* XSAVE area (Intel SDM Vol. 1, 13.4): a 512-byte legacy region and a
 * 64-byte header. With XSTATE_BV = 0 in the header, XRSTOR puts every
 * requested component in its initial state; MXCSR is still read from the
 * legacy region (offset 24), and the FXRSTOR path reads FCW at offset 0. */
#define XSAVE_LEGACY_SIZE 512
#define XSAVE_HEADER_SIZE 64
#define FXSAVE_FCW 0
#define FXSAVE_MXCSR 24
#define FCW_INIT 0x037f    /* x87 control word after FNINIT */
#define MXCSR_INIT 0x1f80  /* all SIMD exceptions masked, round to nearest */

/* XCR0 components reset: x87, SSE, AVX, AVX-512 opmask, ZMM_Hi256,
 * Hi16_ZMM. PKRU (bit 9) and AMX tile state are left alone: the tender
 * uses neither, and loading them can fault or widen memory access. */
#define XSTATE_RESET_MASK 0xe7ULL

static _Alignas(64) uint8_t initial_fpu[XSAVE_LEGACY_SIZE + XSAVE_HEADER_SIZE];

struct spt_entry_state {
    uint64_t xsave_mask; /* 0: no XSAVE, use FXRSTOR */
};

static struct spt_entry_state entry_state;

void spt_launch_prepare(const struct tender *t)
{
    uint16_t fcw = FCW_INIT;
    uint32_t mxcsr = MXCSR_INIT;
    memset(initial_fpu, 0, sizeof initial_fpu);
    memcpy(initial_fpu + FXSAVE_FCW, &fcw, sizeof fcw);
    memcpy(initial_fpu + FXSAVE_MXCSR, &mxcsr, sizeof mxcsr);

    unsigned eax, ebx, ecx, edx;
    entry_state.xsave_mask = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_OSXSAVE)) {
        uint32_t lo, hi;
        __asm__ __volatile__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        entry_state.xsave_mask = (((uint64_t)hi << 32) | lo) & XSTATE_RESET_MASK;
    }
    if (syscall(SYS_arch_prctl, ARCH_SET_GS, 0UL) != 0)
        tender_die(t, "arch_prctl(ARCH_SET_GS): %s", strerror(errno));
}

void spt_launch(uint64_t entry, uint64_t sp, uint64_t boot_info)
{
#if defined(__x86_64__)
    register uint64_t r12 __asm__("r12") = entry;
    register uint64_t r13 __asm__("r13") = sp;
    register uint64_t r14 __asm__("r14") = boot_info;
    register uint64_t r15 __asm__("r15") = (uint64_t)(uintptr_t)initial_fpu;
    register uint64_t rbx __asm__("rbx") = entry_state.xsave_mask;
    __asm__ __volatile__(
        "test %%rbx, %%rbx\n\t"
        "jz 1f\n\t"
        "mov %%ebx, %%eax\n\t"
        "xor %%edx, %%edx\n\t"
        "xrstor64 (%%r15)\n\t"
        "jmp 2f\n"
        "1:\n\t"
        "fxrstor64 (%%r15)\n"
        "2:\n\t"
        /* arch_prctl(ARCH_SET_FS, 0): allowed by the filter. */
        "mov %[nr], %%eax\n\t"
        "mov %[set_fs], %%edi\n\t"
        "xor %%esi, %%esi\n\t"
        "syscall\n\t"
        "test %%rax, %%rax\n\t"
        "jz 3f\n\t"
        "ud2\n"
        "3:\n\t"
        "mov %%r13, %%rsp\n\t"
        "mov %%r14, %%rdi\n\t"
        "mov %%r12, %%rax\n\t"
        "xor %%ebx, %%ebx\n\t"
        "xor %%ecx, %%ecx\n\t"
        "xor %%edx, %%edx\n\t"
        "xor %%esi, %%esi\n\t"
        "xor %%ebp, %%ebp\n\t"
        "xor %%r8d, %%r8d\n\t"
        "xor %%r9d, %%r9d\n\t"
        "xor %%r10d, %%r10d\n\t"
        "xor %%r11d, %%r11d\n\t"
        "xor %%r12d, %%r12d\n\t"
        "xor %%r13d, %%r13d\n\t"
        "xor %%r14d, %%r14d\n\t"
        "xor %%r15d, %%r15d\n\t"
        "cld\n\t"
        "jmp *%%rax\n\t"
        :
        : "r"(r12), "r"(r13), "r"(r14), "r"(r15), "r"(rbx), [nr] "i"(SYS_arch_prctl),
          [set_fs] "i"(ARCH_SET_FS)
        : "memory");
#else
#error "spt_launch: unsupported architecture"
#endif
    __builtin_unreachable();
}
