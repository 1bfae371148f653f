/* Host files for BLOCK_BASIC (reference: solo5.md §3.10). */
#ifndef SOLO5_TENDER_BLOCK_H
#define SOLO5_TENDER_BLOCK_H

#include <stdint.h>

/*
 * Open path read-write and get its size. The size must be a non-zero
 * multiple of block_size. Returns the fd, or -1 with *error set.
 */
int block_attach(const char *path, uint64_t block_size, uint64_t *capacity,
                 const char **error);

#endif /* SOLO5_TENDER_BLOCK_H */
