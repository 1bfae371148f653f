/*
 * ELF64 checks, Solo5 note reader and segment loader shared by the
 * tenders (reference: solo5.md §2.8, §2.10). Pure functions over an
 * in-memory view of the image file, so they can be fuzzed directly.
 *
 * Every function returns NULL on success or a one-line, static error
 * message. Nothing here exits or prints.
 */
#ifndef SOLO5_TENDER_ELF_H
#define SOLO5_TENDER_ELF_H

#include <stddef.h>
#include <stdint.h>

/* A read-only view of the whole image file. `mapping` is the file mapping
 * that elf_file_open made (NULL for a view of caller-owned bytes). */
struct elf_file {
    const uint8_t *data;
    size_t size;
    void *mapping;
};

/* Guest image base: segments and the entry point must lie at or above it. */
#define ELF_GUEST_MIN 0x100000ULL
#define ELF_PAGE_SIZE 0x1000ULL
#define ELF_MAX_SEGMENTS 16

/* ELF p_flags bits (PF_X, PF_W, PF_R). */
#define ELF_SEG_X 1U
#define ELF_SEG_W 2U
#define ELF_SEG_R 4U

/* One loaded segment, page-aligned: guest [start, end) with ELF_SEG_* flags.
 * Tenders apply protections from these (hvt maps X as PROT_READ on the host). */
struct elf_segment {
    uint64_t start;
    uint64_t end;
    uint32_t flags;
};

struct elf_image {
    uint64_t entry;
    uint64_t kernel_end; /* highest aligned segment end */
    size_t n_segments;
    struct elf_segment segments[ELF_MAX_SEGMENTS];
};

/* Map the file at path read-only. Returns 0, or an errno value. */
int elf_file_open(const char *path, struct elf_file *f);
void elf_file_close(struct elf_file *f);

/* Header checks: magic, ELFCLASS64, little-endian, EV_CURRENT, header and
 * program-header sizes, e_phnum >= 1, ET_EXEC, host machine, and the
 * program-header table inside the file. */
const char *elf_check_header(const struct elf_file *f);

/*
 * Find the first "Solo5" note of n_type type (one note per PT_NOTE is
 * examined). On success *desc points at the descriptor (after alignment
 * padding, which is excluded from *desc_size). *found is 0 if there is no
 * such note (not an error), 1 if there is.
 */
const char *elf_find_solo5_note(const struct elf_file *f, uint32_t type, size_t max_descsz,
                                size_t desc_align, const uint8_t **desc, size_t *desc_size,
                                int *found);

/*
 * Check every PT_LOAD against guest memory [ELF_GUEST_MIN, mem_size) and
 * copy it in. mem is the host address of guest address mem_base
 * (mem_base <= ELF_GUEST_MIN); memory is assumed zero-filled. W+X
 * segments are refused. The caller applies protections afterwards.
 */
const char *elf_load(const struct elf_file *f, uint8_t *mem, uint64_t mem_base,
                     uint64_t mem_size, struct elf_image *out);

#endif /* SOLO5_TENDER_ELF_H */
