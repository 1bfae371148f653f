/*
 * hvt ABI, version 2: the binary interface between the hvt tender (KVM) and
 * the hvt guest bindings. Layouts match upstream Solo5's hvt ABI v2 so that
 * images and tenders interoperate (reference: solo5.md §3.2-3.6).
 *
 * Build with HVT_HOST defined for the tender: guest pointers then become
 * hvt_gpa_t, a plain integer that the tender cannot dereference without
 * going through its bounds-checked translation.
 */
#ifndef SOLO5_HVT_ABI_H
#define SOLO5_HVT_ABI_H

#include <stddef.h>
#include <stdint.h>

/* Version of this ABI in the ABI1 note (target ABI_TARGET_HVT, §2.5). */
#define HVT_ABI_VERSION 2

#ifdef HVT_HOST
typedef uint64_t hvt_gpa_t;
#define HVT_GUEST_PTR(type) hvt_gpa_t
#else
#define HVT_GUEST_PTR(type) type
#endif

/* Guest-physical memory map, x86_64 (§3.2). */
#define HVT_GDT_BASE 0x1000ULL
#define HVT_GDT_ENTRIES 3
#define HVT_PML4_BASE 0x2000ULL
#define HVT_PDPT_BASE 0x3000ULL
#define HVT_PD_BASE 0x4000ULL /* four contiguous page directories */
#define HVT_PD_COUNT 4
#define HVT_PT0_BASE 0x8000ULL /* 4 KiB pages for the first 2 MiB */
#define HVT_BOOT_INFO_BASE 0x10000ULL
#define HVT_GUEST_MIN_BASE 0x100000ULL /* ELF segments start here */
#define HVT_PAGE_SIZE 0x1000ULL
#define HVT_LARGE_PAGE_SIZE 0x200000ULL
#define HVT_MEM_MAX (4ULL << 30) /* four page directories of 2 MiB pages */

/* Command line, including the terminating NUL (§3.3). */
#define HVT_CMDLINE_SIZE 8192

/* host_features bits (§3.3). Ring I/O is not offered by this tender. */
#define HVT_FEATURE_RING_IO (1U << 0)
/*
 * unirepo extension, never set by upstream tenders: every page-table entry
 * the tender wrote has U/S set, so the guest may drop to CPL 3 (IOPL 3)
 * and keep the same mappings. Upstream guests run at CPL 0 with neither
 * SMEP nor SMAP enabled, where U/S has no effect, and ignore this bit.
 * Our bindings use it to run the application in user mode, which KVM
 * implementations that emulate ring-0 guest code (kvm-pvm) run natively.
 */
#define HVT_FEATURE_USER_MODE (1U << 31)
/*
 * unirepo extension, never set by upstream tenders: besides the port, a
 * hypercall may be a 4-byte store of the request GPA to
 * HVT_MMIO_HYPERCALL(nr), in a 2 MiB window just above the 4 GiB RAM limit
 * that the tender's page tables map (PDPT[4] -> page directory at
 * HVT_MMIO_PD_BASE) and no memory backs, so the store exits to the tender.
 * Where user-mode port I/O traps (the hypervisor ignores IOPL), this costs
 * one exit instead of a #GP round trip through ring 0.
 */
#define HVT_FEATURE_MMIO_HYPERCALL (1U << 30)
#define HVT_MMIO_PD_BASE 0x9000ULL
#define HVT_MMIO_BASE 0x100000000ULL
#define HVT_MMIO_SIZE 0x200000ULL
#define HVT_MMIO_HYPERCALL(nr) (HVT_MMIO_BASE + ((uint64_t)(nr) << 3))

struct mft;

/* Written by the tender at HVT_BOOT_INFO_BASE; RDI points here at entry. */
struct hvt_boot_info {
    uint64_t mem_size;   /* usable guest RAM in bytes */
    uint64_t kernel_end; /* highest aligned end of a PT_LOAD */
    uint64_t cpu_cycle_freq; /* TSC frequency in Hz */
    HVT_GUEST_PTR(const char *) cmdline;
    HVT_GUEST_PTR(const struct mft *) mft;
    uint32_t host_features;
    uint32_t guest_features;
    HVT_GUEST_PTR(void *) net_ring; /* 0: no ring, use hypercalls */
};

/* Hypercall numbers; the guest writes a request GPA to port 0x500 + nr. */
enum hvt_hypercall {
    /* 0 is reserved */
    HVT_HYPERCALL_WALLTIME = 1,
    HVT_HYPERCALL_PUTS = 2,
    HVT_HYPERCALL_POLL = 3,
    HVT_HYPERCALL_BLOCK_WRITE = 4,
    HVT_HYPERCALL_BLOCK_READ = 5,
    HVT_HYPERCALL_NET_WRITE = 6,
    HVT_HYPERCALL_NET_READ = 7,
    HVT_HYPERCALL_HALT = 8,
    HVT_HYPERCALL_MAX = 9
};

#define HVT_HYPERCALL_PIO_BASE 0x500
#define HVT_HYPERCALL_PIO(nr) (HVT_HYPERCALL_PIO_BASE + (nr))

/* Request structures (§3.6). "ret" carries a solo5_result_t. */
struct hvt_hc_walltime {
    uint64_t nsecs; /* out */
};

struct hvt_hc_puts {
    HVT_GUEST_PTR(const char *) data; /* in */
    size_t len;                       /* in */
};

struct hvt_hc_poll {
    uint64_t timeout_nsecs; /* in: relative */
    uint64_t ready_set;     /* out */
    int ret;                /* out: number of ready devices */
};

struct hvt_hc_block_write {
    uint64_t handle;                     /* in */
    uint64_t offset;                     /* in */
    HVT_GUEST_PTR(const void *) data;    /* in */
    size_t len;                          /* in */
    int ret;                             /* out */
};

struct hvt_hc_block_read {
    uint64_t handle;             /* in */
    uint64_t offset;             /* in */
    HVT_GUEST_PTR(void *) data;  /* in */
    size_t len;                  /* in/out */
    int ret;                     /* out */
};

struct hvt_hc_net_write {
    uint64_t handle;                  /* in */
    HVT_GUEST_PTR(const void *) data; /* in */
    size_t len;                       /* in */
    int ret;                          /* out */
};

struct hvt_hc_net_read {
    uint64_t handle;            /* in */
    HVT_GUEST_PTR(void *) data; /* in */
    size_t len;                 /* in/out */
    int ret;                    /* out */
};

/* A non-zero cookie points to this many bytes of guest memory. */
#define HVT_HALT_COOKIE_MAX 512

struct hvt_hc_halt {
    HVT_GUEST_PTR(void *) cookie; /* in: trap frame or 0 */
    int exit_status;              /* in */
};

_Static_assert(sizeof(struct hvt_boot_info) == 56, "hvt_boot_info is 56 bytes");
_Static_assert(offsetof(struct hvt_boot_info, host_features) == 40, "host_features @40");
_Static_assert(offsetof(struct hvt_boot_info, net_ring) == 48, "net_ring @48");
_Static_assert(sizeof(struct hvt_hc_walltime) == 8, "walltime is 8 bytes");
_Static_assert(sizeof(struct hvt_hc_puts) == 16, "puts is 16 bytes");
_Static_assert(sizeof(struct hvt_hc_poll) == 24, "poll is 24 bytes");
_Static_assert(offsetof(struct hvt_hc_poll, ret) == 16, "poll.ret @16");
_Static_assert(sizeof(struct hvt_hc_block_write) == 40, "block_write is 40 bytes");
_Static_assert(offsetof(struct hvt_hc_block_write, ret) == 32, "block_write.ret @32");
_Static_assert(sizeof(struct hvt_hc_block_read) == 40, "block_read is 40 bytes");
_Static_assert(sizeof(struct hvt_hc_net_write) == 32, "net_write is 32 bytes");
_Static_assert(offsetof(struct hvt_hc_net_write, ret) == 24, "net_write.ret @24");
_Static_assert(sizeof(struct hvt_hc_net_read) == 32, "net_read is 32 bytes");
_Static_assert(sizeof(struct hvt_hc_halt) == 16, "halt is 16 bytes");
_Static_assert(offsetof(struct hvt_hc_halt, exit_status) == 8, "halt.exit_status @8");

#ifndef HVT_HOST
/*
 * Issue hypercall nr with the request at arg. Only 32 bits of the GPA are
 * passed, so requests must live below 4 GiB (guest RAM is capped there).
 * The "memory" clobber makes the compiler store the request first and
 * reload it afterwards; x86 needs no hardware barrier for port I/O.
 */
static inline void hvt_do_hypercall(int nr, volatile void *arg)
{
    __asm__ __volatile__("outl %0, %1"
                         :
                         : "a"((uint32_t)(uintptr_t)arg),
                           "d"((uint16_t)HVT_HYPERCALL_PIO(nr))
                         : "memory");
}
#endif

#endif /* SOLO5_HVT_ABI_H */
