/*
 * Manifest validation and lookups for tenders (reference: solo5.md §2.9).
 * The manifest comes from the image and is untrusted until mft_validate
 * accepted it.
 */
#ifndef SOLO5_TENDER_MFT_H
#define SOLO5_TENDER_MFT_H

#include <stddef.h>

#include "../../include/abi/mft_abi.h"

/* NULL if m (size bytes, 8-aligned) is a valid manifest, else why not. */
const char *mft_validate(const struct mft *m, size_t size);

/* First entry with this name and type, or NULL; *index gets its handle. */
struct mft_entry *mft_find(struct mft *m, const char *name, mft_type_t type,
                           unsigned *index);

/* "NET_BASIC", "BLOCK_BASIC", "RESERVED" or "UNKNOWN". */
const char *mft_type_name(mft_type_t type);

#endif /* SOLO5_TENDER_MFT_H */
