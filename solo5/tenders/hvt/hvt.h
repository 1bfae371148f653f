/*
 * solo5-hvt: the KVM tender. One VM, one vCPU, guest RAM as one slot at
 * GPA 0. This header is the tender-internal interface between its modules:
 * KVM set-up and run loop (hvt_kvm.c), x86_64 boot state (hvt_x86_64.c),
 * guest memory checks (hvt_gpa.c), boot info (hvt_boot_info.c), hypercall
 * handlers (hvt_hypercall.c), the sandbox (hvt_seccomp.c) and start-up
 * (hvt_main.c).
 */
#ifndef SOLO5_HVT_H
#define SOLO5_HVT_H

#define HVT_HOST 1
#include "../../include/abi/hvt_abi.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Handles are manifest indices; the ready set is a 64-bit mask. */
#define HVT_MAX_DEVICES 64

enum hvt_device_kind {
    HVT_DEV_NONE = 0,
    HVT_DEV_NET,
    HVT_DEV_BLOCK,
};

/* What a hypercall needs to know about one attached device. */
struct hvt_device {
    enum hvt_device_kind kind;
    int fd;
    uint64_t capacity;   /* block: bytes */
    uint64_t block_size; /* block: bytes */
};

/* A guest range the host must never write (read-only ELF segments). */
struct hvt_ro_range {
    uint64_t start;
    uint64_t end;
};

#define HVT_MAX_RO_RANGES 8

struct hvt {
    /* Guest RAM: host mapping of GPA [0, mem_size). */
    uint8_t *mem;
    uint64_t mem_size;
    uint64_t kernel_entry;
    uint64_t kernel_end;
    uint64_t tsc_hz;
    uint32_t host_features; /* HVT_FEATURE_* offered to the guest */

    struct hvt_ro_range ro[HVT_MAX_RO_RANGES];
    unsigned ro_count;

    int kvm_fd;
    int vm_fd;
    int vcpu_fd;
    void *run;       /* struct kvm_run, mmapped from vcpu_fd */
    size_t run_size;

    struct hvt_device dev[HVT_MAX_DEVICES];
    int epoll_fd;
    int timer_fd;

    uint64_t halt_cookie; /* GPA of the guest's trap record at HALT, or 0 */
};

/* Print "solo5-hvt: <message>" on stderr and exit 1. */
_Noreturn void hvt_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* hvt_kvm.c */
void hvt_kvm_init(struct hvt *h, uint64_t mem_size);
void hvt_kvm_setup_vcpu(struct hvt *h);
/* Runs the guest until HALT; returns the guest's exit status. */
int hvt_kvm_run(struct hvt *h);

/* hvt_x86_64.c: boot-time guest state written into low memory. The
 * extensions flags are HVT_FEATURE_USER_MODE / HVT_FEATURE_MMIO_HYPERCALL;
 * with 0 the tables are exactly upstream's. */
void hvt_x86_write_page_tables(uint8_t *mem, uint64_t mem_size, uint32_t extensions);
void hvt_x86_write_gdt(uint8_t *mem);

/* hvt_gpa.c: every guest address goes through these. */
void *hvt_gpa_read(const struct hvt *h, hvt_gpa_t gpa, uint64_t len);
void *hvt_gpa_write(const struct hvt *h, hvt_gpa_t gpa, uint64_t len);
void hvt_add_ro_range(struct hvt *h, uint64_t start, uint64_t end);

/* hvt_boot_info.c: boot info, manifest copy and command line at 0x10000. */
void hvt_write_boot_info(struct hvt *h, const void *mft, size_t mft_size,
                         const char *cmdline);

/* hvt_hypercall.c */
void hvt_io_init(struct hvt *h);
/* Returns true when the guest halted, with its status in *status. */
bool hvt_hypercall(struct hvt *h, unsigned nr, hvt_gpa_t gpa, int *status);

/* hvt_seccomp.c: the allow-list installed just before the first KVM_RUN. */
void hvt_sandbox(const struct hvt *h);

/* debug/hvt_dumpcore.c (solo5-hvt-debug only): an ELF core of the halted
 * guest in DIR, for gdb. */
void hvt_dumpcore(const struct hvt *h, const char *dir);

#endif /* SOLO5_HVT_H */
