/*
 * The Solo5 application manifest, MFT1 (reference: solo5.md §2.3-2.4, §2.9).
 *
 * Binary layout (LP64): struct mft is an 8-byte header followed by
 * 104-byte entries. Entry 0 is reserved (empty name, MFT_RESERVED_FIRST);
 * a device's handle is its entry index. In the image the private fields
 * (u, b, attached) are zero; the tender fills them in the copy it gives
 * the guest. The tender treats the manifest as untrusted (mft_validate).
 *
 * The generated manifest C defines MFT_ENTRIES (devices + 1) before
 * including this header, which then declares struct mft1_note sized for it.
 */
#ifndef SOLO5_MFT_ABI_H
#define SOLO5_MFT_ABI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elf_abi.h"

#define MFT_VERSION 1
#define MFT_NAME_SIZE 68 /* including the NUL */
#define MFT_NAME_MAX 67
#define MFT_MAX_ENTRIES 64 /* handles must fit a 64-bit handle set */

typedef enum mft_type {
    MFT_DEV_BLOCK_BASIC = 1,
    MFT_DEV_NET_BASIC = 2,
    MFT_RESERVED_FIRST = (1U << 30)
} mft_type_t;

struct mft_block_basic {
    uint64_t capacity;   /* bytes */
    uint16_t block_size; /* bytes */
};

struct mft_net_basic {
    uint8_t mac[6];
    uint16_t mtu; /* excludes the Ethernet header */
    /* unirepo extension (docs/net-offload.md): MFT_NET_OFFLOAD_* the tender
     * enabled on this device; zero in the image and from upstream tenders,
     * which fill in mac and mtu only. */
    uint32_t offload;
};

/* Frames on the device start with a 10-byte struct virtio_net_hdr (virtio
 * 1.2 section 5.1.6, the legacy header without num_buffers), the tap takes
 * checksum-partial frames (VIRTIO_NET_F_CSUM) and TCPv4 segments up to
 * 64 KiB to split (VIRTIO_NET_F_HOST_TSO4), and hands the guest the same
 * (VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4). */
#define MFT_NET_OFFLOAD_VNET_TSO4 0x1U

struct mft_entry {
    char name[MFT_NAME_SIZE];
    mft_type_t type;
    union {
        struct mft_block_basic block_basic;
        struct mft_net_basic net_basic;
    } u;           /* private: filled by the tender */
    union {
        int hostfd;
        void *data;
    } b;           /* private: filled by the tender */
    bool attached; /* private: filled by the tender */
};

struct mft {
    uint32_t version;
    uint32_t entries;
    struct mft_entry e[];
};

_Static_assert(sizeof(struct mft_entry) == 104, "mft_entry is 104 bytes");
_Static_assert(offsetof(struct mft_entry, type) == 68, "mft_entry.type @68");
_Static_assert(offsetof(struct mft_entry, u) == 72, "mft_entry.u @72");
_Static_assert(offsetof(struct mft_entry, b) == 88, "mft_entry.b @88");
_Static_assert(offsetof(struct mft_entry, attached) == 96, "mft_entry.attached @96");
_Static_assert(sizeof(struct mft) == 8, "mft header is 8 bytes");
_Static_assert(offsetof(struct mft_net_basic, offload) == 8 && sizeof(struct mft_net_basic) == 12,
               "the offload word sits in the union's spare bytes");

/* The descriptor starts at note offset 24: 4 padding bytes keep struct mft
 * 8-aligned; n_descsz counts them. */
#define MFT1_NOTE_ALIGN 8
#define MFT1_NOTE_PADDING 4
#define MFT1_NOTE_MAX_SIZE \
    (MFT1_NOTE_PADDING + sizeof(struct mft) + MFT_MAX_ENTRIES * sizeof(struct mft_entry))
_Static_assert(MFT1_NOTE_MAX_SIZE == 6668, "largest MFT1 descriptor is 6668 bytes");

/* Size of a manifest with n entries (reserved entry 0 included). */
#define MFT_SIZE(n) (sizeof(struct mft) + (size_t)(n) * sizeof(struct mft_entry))

#ifdef MFT_ENTRIES
struct mft1_note {
    struct solo5_nhdr h;
    uint32_t padding;
    struct {
        uint32_t version;
        uint32_t entries;
        struct mft_entry e[MFT_ENTRIES];
    } m;
};
_Static_assert(offsetof(struct mft1_note, m) == 24, "manifest starts at note offset 24");
#endif

#endif /* SOLO5_MFT_ABI_H */
