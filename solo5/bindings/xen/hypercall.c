/*
 * Hypercalls. Xen advertises itself in CPUID leaves 0x40000000 + 0x100·i
 * (signature "XenVMMXenVMM"); leaf base + 2 gives the MSR through which the
 * guest asks Xen to write the hypercall page (public/arch-x86/cpuid.h).
 * Each hypercall is a call to hypercall_page + 32·nr with arguments in
 * RDI, RSI (public/arch-x86/xen-x86_64.h).
 */
#include "xen.h"

#define XEN_CPUID_FIRST 0x40000000U
#define XEN_CPUID_LAST 0x40010000U
#define XEN_CPUID_STEP 0x100U
#define HYPERCALL_STUB_SIZE 32
#define HVMOP_get_param 1
#define DOMID_SELF 0x7FF0U

extern char xen_hypercall_page[];

static void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    __asm__ __volatile__("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

bool hypercall_init(void)
{
    for (uint32_t base = XEN_CPUID_FIRST; base < XEN_CPUID_LAST; base += XEN_CPUID_STEP) {
        uint32_t a, b, c, d;
        cpuid(base, &a, &b, &c, &d);
        /* "XenV" "MMXe" "nVMM" as little-endian words */
        if (b != 0x566e6558U || c != 0x65584d4dU || d != 0x4d4d566eU || a < base + 2)
            continue;
        cpuid(base + 2, &a, &b, &c, &d);
        uint64_t page = (uint64_t)(uintptr_t)xen_hypercall_page;
        __asm__ __volatile__("wrmsr"
                             :
                             : "c"(b), "a"((uint32_t)page), "d"((uint32_t)(page >> 32))
                             : "memory");
        return true;
    }
    return false;
}

long hypercall2(unsigned nr, uint64_t a1, uint64_t a2)
{
    long result;
    uintptr_t entry = (uintptr_t)xen_hypercall_page + (uintptr_t)nr * HYPERCALL_STUB_SIZE;
    __asm__ __volatile__("call *%[entry]"
                         : "=a"(result), "+D"(a1), "+S"(a2)
                         : [entry] "r"(entry)
                         : "memory", "rcx", "rdx", "r8", "r9", "r10", "r11");
    return result;
}

/* struct xen_hvm_param (public/hvm/hvm_op.h). */
struct xen_hvm_param {
    uint16_t domid;
    uint16_t pad;
    uint32_t index;
    uint64_t value;
};

uint64_t hvm_get_param(uint32_t index)
{
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };
    long rc = hypercall2(HYPERVISOR_hvm_op, HVMOP_get_param, (uint64_t)(uintptr_t)&p);
    if (rc != 0)
        bindings_abort("HVMOP_get_param(%u) failed: %ld", index, rc);
    return p.value;
}
