/* A read-only block device seen as bytes: any byte range inside the
 * device is read through whole-block reads at block-aligned offsets, the
 * only kind of request Solo5 accepts (solo5.h: one block per call).
 *
 *     struct blk_device dev;
 *     const char *error;
 *     if (blk_device_open_solo5(&dev, "site", &error) != 0)   // unikernels
 *         printf("www: %s\n", error);
 *     blk_read(&dev, 1000, buf, 300);                         // bytes 1000..1299
 *
 * Host programs (tests, fuzzers) give their own read_block function to
 * blk_device_init(). */
#ifndef BLK_DEVICE_H
#define BLK_DEVICE_H

#include <stddef.h>
#include <stdint.h>

/* Reads the block at byte offset (a multiple of the block size) into
 * block; 0 or -1. */
typedef int (*blk_read_block_fn)(void *ctx, uint64_t offset, uint8_t *block);

#define BLK_MIN_BLOCK_SIZE 512u
#define BLK_MAX_BLOCK_SIZE 65536u

struct blk_device {
    uint64_t capacity;   /* bytes, a multiple of block_size */
    uint32_t block_size; /* a power of two, BLK_MIN_BLOCK_SIZE..BLK_MAX_BLOCK_SIZE */
    blk_read_block_fn read_block;
    void *ctx;
    uint8_t *block;      /* the last block read for a partial range */
    uint64_t block_offset;
    int block_valid;
    uint64_t solo5_handle; /* blk_device_open_solo5's device */
};

/* 0, or -1 with *error a static one-line message (bad geometry, no memory). */
int blk_device_init(struct blk_device *d, uint64_t capacity, uint32_t block_size,
                    blk_read_block_fn read_block, void *ctx, const char **error);
/* Acquires the Solo5 BLOCK_BASIC device `name` (unikernels only). */
int blk_device_open_solo5(struct blk_device *d, const char *name, const char **error);
/* Bytes [offset, offset + len) of the device into buf; 0, or -1 if the
 * range is not inside the device or a block read failed. */
int blk_read(struct blk_device *d, uint64_t offset, uint8_t *buf, size_t len);
void blk_device_fini(struct blk_device *d);

#endif
