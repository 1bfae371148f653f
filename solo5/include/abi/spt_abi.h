/*
 * spt ABI, version 2: the interface between the spt tender and the spt
 * bindings (reference: solo5.md §4). Guest virtual address == host virtual
 * address; guest memory is mapped at SPT_HOST_MEM_BASE because Linux will
 * not map page 0 (vm.mmap_min_addr).
 */
#ifndef SOLO5_SPT_ABI_H
#define SOLO5_SPT_ABI_H

#include <stdint.h>

#define SPT_ABI_TARGET 2 /* ABI_TARGET_SPT */
#define SPT_ABI_VERSION 2

#define SPT_HOST_MEM_BASE 0x10000ULL
#define SPT_BOOT_INFO_BASE 0x11000ULL
#define SPT_GUEST_MIN_BASE 0x100000ULL /* ELF segments start here */
#define SPT_CMDLINE_SIZE 8192          /* including the NUL */

struct mft;

/* Written by the tender at SPT_BOOT_INFO_BASE; the first argument of _start. */
struct spt_boot_info {
    uint64_t mem_size;      /* guest memory: [0, mem_size) */
    uint64_t kernel_end;    /* end of the highest PT_LOAD, aligned */
    const char *cmdline;    /* NUL-terminated, at most SPT_CMDLINE_SIZE bytes */
    const struct mft *mft;  /* manifest copy with host fields filled in */
    int epollfd;            /* TAP fds, tagged by handle, plus the timerfd */
    int timerfd;            /* tagged SPT_TIMERFD_TAG in the epoll set */
};

#define SPT_TIMERFD_TAG (~1U)

_Static_assert(sizeof(struct spt_boot_info) == 40, "spt_boot_info is 40 bytes");

#endif /* SOLO5_SPT_ABI_H */
