/*
 * libFuzzer harness for the tenders' image parsers: ELF header checks,
 * the Solo5 note reader, manifest validation and the segment loader,
 * exactly as tender_init and the spt/hvt loaders call them.
 *
 *   clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       fuzz_image.c ../elf.c ../mft.c -o fuzz_image
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../elf.h"
#include "../mft.h"

#define GUEST_MEM (4U * 1024 * 1024)

static uint8_t guest[GUEST_MEM];
static uint64_t manifest_buf[(MFT1_NOTE_MAX_SIZE + 7) / 8];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct elf_file f = { .data = data, .size = size };
    const uint8_t *desc;
    size_t desc_size;
    int found;

    if (elf_check_header(&f) != NULL)
        return 0;
    if (elf_find_solo5_note(&f, SOLO5_NOTE_ABI, ABI1_NOTE_MAX_SIZE, 4, &desc, &desc_size,
                            &found) == NULL && found) {
        struct abi1_info info;
        if (desc_size >= sizeof info)
            memcpy(&info, desc, sizeof info);
    }
    if (elf_find_solo5_note(&f, SOLO5_NOTE_MANIFEST, MFT1_NOTE_MAX_SIZE, MFT1_NOTE_ALIGN,
                            &desc, &desc_size, &found) == NULL && found) {
        if (desc_size > sizeof manifest_buf)
            abort(); /* the reader promised at most MFT1_NOTE_MAX_SIZE */
        memcpy(manifest_buf, desc, desc_size);
        struct mft *m = (struct mft *)manifest_buf;
        if (mft_validate(m, desc_size) == NULL) {
            unsigned index;
            (void)mft_find(m, "service", MFT_DEV_NET_BASIC, &index);
        }
    }
    struct elf_image img;
    if (elf_load(&f, guest, 0, GUEST_MEM, &img) == NULL) {
        for (size_t i = 0; i < img.n_segments; i++) {
            if (img.segments[i].end > GUEST_MEM || img.segments[i].start < ELF_GUEST_MIN)
                abort(); /* the loader accepted a segment outside guest memory */
        }
    }
    return 0;
}
