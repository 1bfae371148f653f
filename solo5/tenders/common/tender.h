/*
 * The part of a tender that does not depend on the target.
 *
 * How a target's tender plugs in (the C files in tenders/<target>/):
 *
 *     struct tender t;
 *     tender_init(&t, argc, argv, &(struct tender_target){
 *         .prog = "solo5-spt", .abi_target = ABI_TARGET_SPT,
 *         .abi_version = SPT_ABI_VERSION, .name = "spt",
 *         .default_mem = ..., .max_mem = ..., .mem_align = ... });
 *
 * tender_init follows the order of §2.9: find KERNEL, check the ABI note,
 * read and validate the manifest, match --net:/--block: options against
 * it, open the TAP devices and block files (filling each entry's private
 * fields: hostfd, MAC, MTU, capacity, block size, attached), refuse
 * unattached devices, and map the image file for elf_load(). Any failure
 * prints one line "PROG: message" on stderr and exits 1.
 *
 * Then the target allocates guest memory, calls elf_load() with
 * t.image, applies protections, copies t.mft (t.mft_size bytes) and the
 * command line from tender_cmdline() into guest memory and starts the guest.
 */
#ifndef SOLO5_TENDER_H
#define SOLO5_TENDER_H

#include <stdint.h>

#include "elf.h"
#include "mft.h"

/* Printed by --version. */
#define TENDER_VERSION "unirepo-1"

struct tender_target {
    const char *prog;       /* for messages, e.g. "solo5-spt" */
    const char *name;       /* "hvt" or "spt" */
    uint32_t abi_target;    /* ABI_TARGET_* */
    uint32_t abi_version;
    uint64_t default_mem;   /* bytes */
    uint64_t max_mem;       /* bytes */
    uint64_t mem_align;     /* --mem is rounded down to this (bytes, power of two) */
    const char *extra_usage; /* appended to usage, or NULL */
    /* Grants the virtio-net header offload (docs/net-offload.md) to an
     * image whose NVH1 note asks for it, unless the option named
     * plain_option (if any) is given, anywhere before KERNEL. */
    int net_offload;
    const char *plain_option;
    /* Called for options tender_init does not know; return 0 if consumed. */
    int (*handle_option)(const char *arg);
};

struct tender {
    const struct tender_target *target;
    struct elf_file image;
    const char *kernel_path;
    struct mft *mft;    /* validated, private fields filled in */
    size_t mft_size;    /* 8 + 104 * entries */
    int net_vnet_tso4;  /* NET devices get MFT_NET_OFFLOAD_VNET_TSO4 */
    uint64_t mem_size;  /* bytes */
    int guest_argc;     /* arguments after KERNEL */
    char **guest_argv;
};

void tender_init(struct tender *t, int argc, char **argv, const struct tender_target *target);

/* Join the guest arguments with single spaces into buf (NUL-terminated).
 * Exits 1 with "Guest command line too long" if they do not fit. */
void tender_cmdline(const struct tender *t, char *buf, size_t size);

/* Print "PROG: message" on stderr and exit 1. */
void tender_die(const struct tender *t, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

#endif /* SOLO5_TENDER_H */
