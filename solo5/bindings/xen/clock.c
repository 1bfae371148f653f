/*
 * Clocks from the shared-info page (public/xen.h), which Xen maps over a
 * page of ours with XENMEM_add_to_physmap. Monotonic time is Xen system
 * time extrapolated with the TSC from vcpu_info[0].time:
 *   ns = system_time + ((tsc - tsc_timestamp) shifted by tsc_shift)
 *        * tsc_to_system_mul >> 32,
 * read under the version counter (odd: update in progress). Wall time is
 * wc_sec/wc_nsec (the wall time at system time 0) plus system time.
 */
#include "xen.h"

#define XENMEM_add_to_physmap 7
#define XENMAPSPACE_shared_info 0
#define DOMID_SELF 0x7FF0U
#define NSEC_PER_SEC 1000000000ULL

struct vcpu_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad1[2];
};

struct vcpu_info {
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    uint8_t pad[6];
    uint64_t evtchn_pending_sel;
    uint64_t cr2, arch_pad;
    struct vcpu_time_info time;
};
_Static_assert(sizeof(struct vcpu_info) == 64, "vcpu_info is 64 bytes");

struct shared_info {
    struct vcpu_info vcpu_info[32];
    uint64_t evtchn_pending[64];
    uint64_t evtchn_mask[64];
    uint32_t wc_version;
    uint32_t wc_sec;
    uint32_t wc_nsec;
};

/* struct xen_add_to_physmap (public/memory.h). */
struct xen_add_to_physmap {
    uint16_t domid;
    uint16_t size;
    uint32_t space;
    uint64_t idx;
    uint64_t gpfn;
};

static union {
    struct shared_info info;
    uint8_t page[4096];
} shared __attribute__((aligned(4096)));

static volatile struct shared_info *const info = &shared.info;

void clock_init(void)
{
    struct xen_add_to_physmap map = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_shared_info,
        .idx = 0,
        .gpfn = (uint64_t)(uintptr_t)&shared >> 12,
    };
    long rc = hypercall2(HYPERVISOR_memory_op, XENMEM_add_to_physmap,
                         (uint64_t)(uintptr_t)&map);
    if (rc != 0)
        bindings_abort("XENMEM_add_to_physmap(shared_info) failed: %ld", rc);
    /* No event upcalls: yield polls (SCHEDOP_poll needs them masked). */
    info->vcpu_info[0].evtchn_upcall_mask = 1;
}

solo5_time_t clock_monotonic(void)
{
    const volatile struct vcpu_time_info *t = &info->vcpu_info[0].time;
    uint32_t version;
    uint64_t ns;
    do {
        version = t->version;
        __asm__ __volatile__("" : : : "memory");
        uint64_t delta = __builtin_ia32_rdtsc() - t->tsc_timestamp;
        int8_t shift = t->tsc_shift;
        if (shift >= 0)
            delta <<= shift;
        else
            delta >>= -shift;
        ns = t->system_time +
             (uint64_t)(((unsigned __int128)delta * t->tsc_to_system_mul) >> 32);
        __asm__ __volatile__("" : : : "memory");
    } while ((version & 1) != 0 || version != t->version);
    return ns;
}

solo5_time_t clock_wall(void)
{
    uint32_t version, sec, nsec;
    do {
        version = info->wc_version;
        __asm__ __volatile__("" : : : "memory");
        sec = info->wc_sec;
        nsec = info->wc_nsec;
        __asm__ __volatile__("" : : : "memory");
    } while ((version & 1) != 0 || version != info->wc_version);
    return (uint64_t)sec * NSEC_PER_SEC + nsec + clock_monotonic();
}
