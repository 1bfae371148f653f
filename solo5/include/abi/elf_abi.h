/*
 * Solo5 ELF notes shared by guests and tenders (reference: solo5.md §2.4-2.8).
 *
 * Every Solo5 note has the name "Solo5" (n_namesz 6, padded to 8), so its
 * 20-byte header is the 12-byte Elf64_Nhdr plus the padded name. The
 * descriptor follows at offset 20 rounded up to the descriptor's alignment.
 * Each note sits alone in its own PT_NOTE (tenders look at the first note of
 * each PT_NOTE only).
 */
#ifndef SOLO5_ELF_ABI_H
#define SOLO5_ELF_ABI_H

#include <stdint.h>

#define SOLO5_NOTE_NAME "Solo5"
#define SOLO5_NOTE_NAMESZ 6 /* strlen("Solo5") + NUL */

/* n_type values: the four ASCII bytes, read little-endian (§2.4, §2.5). */
#define SOLO5_NOTE_MANIFEST 0x3154464dU /* "MFT1" */
#define SOLO5_NOTE_ABI 0x31494241U      /* "ABI1" */
/* unirepo extension, not in upstream Solo5 (docs/net-offload.md): the
 * image reads and writes frames with a virtio-net header. */
#define SOLO5_NOTE_NET_OFFLOAD 0x3148564eU /* "NVH1" */

/* Note header as laid out in the file: Elf64_Nhdr + "Solo5\0\0\0". */
struct solo5_nhdr {
    uint32_t n_namesz;
    uint32_t n_descsz;
    uint32_t n_type;
    char n_name[8];
};
#define SOLO5_NHDR_SIZE 20

/* ABI targets (§2.5). 5 (genode) stays reserved and is never reused. */
enum abi_target {
    ABI_TARGET_HVT = 1,
    ABI_TARGET_SPT = 2,
    ABI_TARGET_VIRTIO = 3,
    ABI_TARGET_MUEN = 4,
    ABI_TARGET_GENODE = 5,
    ABI_TARGET_XEN = 6
};

/* ABI1 descriptor, 16 bytes, alignment 4: it starts at note offset 20. */
struct abi1_info {
    uint32_t abi_target;
    uint32_t abi_version;
    uint32_t reserved0;
    uint32_t reserved1;
};

/* Largest ABI1 descriptor a tender accepts (§2.5). */
#define ABI1_NOTE_MAX_SIZE 32

struct abi1_note {
    struct solo5_nhdr h;
    struct abi1_info info;
};

_Static_assert(sizeof(struct solo5_nhdr) == SOLO5_NHDR_SIZE, "note header is 20 bytes");
_Static_assert(sizeof(struct abi1_info) == 16, "abi1_info is 16 bytes");
_Static_assert(sizeof(struct abi1_note) == 36, "ABI1 note is 36 bytes");

/*
 * NVH1 descriptor, 16 bytes, alignment 8: it starts at note offset 24.
 * `vnet_hdr` is the address of the symbol solo5_net_vnet_hdr_reader, a
 * weak reference the static link resolves to 0 unless a module of the
 * image (the runtime's netif.c) defines it: only an image whose network
 * code understands the virtio-net header asks for one. Upstream tenders
 * ignore the note (they look for ABI1 and MFT1 only).
 */
struct nvh1_info {
    uint64_t vnet_hdr;
    uint64_t reserved;
};
#define NVH1_NOTE_ALIGN 8
#define NVH1_NOTE_PADDING 4
#define NVH1_NOTE_SIZE (NVH1_NOTE_PADDING + sizeof(struct nvh1_info))

struct nvh1_note {
    struct solo5_nhdr h;
    uint32_t padding;
    struct nvh1_info info;
};
_Static_assert(sizeof(struct nvh1_info) == 16, "nvh1_info is 16 bytes");
_Static_assert(sizeof(struct nvh1_note) == 40, "NVH1 note is 40 bytes");

/*
 * Guest side: stamp the image with its target and ABI version. Used once,
 * by each target's bindings, so linking them decides the target (§2.5).
 */
#define ABI1_NOTE_DECLARE(target, version)                                      \
    const struct abi1_note solo5_abi1_note                                      \
        __attribute__((section(".note.solo5.abi"), aligned(4), used)) = {      \
            .h = { .n_namesz = SOLO5_NOTE_NAMESZ,                               \
                   .n_descsz = sizeof(struct abi1_info),                       \
                   .n_type = SOLO5_NOTE_ABI,                                    \
                   .n_name = SOLO5_NOTE_NAME },                                 \
            .info = { .abi_target = (target), .abi_version = (version) } }

/*
 * Guest side: the offload request (unirepo, docs/net-offload.md), declared
 * by the bindings of each target whose tender grants it (spt, hvt). The
 * descriptor is the address of a weak reference: 0 unless the image
 * defines solo5_net_vnet_hdr_reader.
 */
#define NVH1_NOTE_DECLARE()                                                     \
    extern const uint8_t solo5_net_vnet_hdr_reader __attribute__((weak));      \
    const struct nvh1_note solo5_nvh1_note                                      \
        __attribute__((section(".note.solo5.net_offload"), aligned(8), used)) = { \
            .h = { .n_namesz = SOLO5_NOTE_NAMESZ,                               \
                   .n_descsz = NVH1_NOTE_SIZE,                                  \
                   .n_type = SOLO5_NOTE_NET_OFFLOAD,                            \
                   .n_name = SOLO5_NOTE_NAME },                                 \
            .info = { .vnet_hdr = (uint64_t)(uintptr_t)&solo5_net_vnet_hdr_reader } }

#endif /* SOLO5_ELF_ABI_H */
