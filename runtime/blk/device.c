/* Byte ranges over whole-block reads (see blk/device.h). */
#include "blk/device.h"

#include <stdlib.h>
#include <string.h>

int blk_device_init(struct blk_device *d, uint64_t capacity, uint32_t block_size,
                    blk_read_block_fn read_block, void *ctx, const char **error)
{
    memset(d, 0, sizeof(*d));
    if (block_size < BLK_MIN_BLOCK_SIZE || block_size > BLK_MAX_BLOCK_SIZE
        || (block_size & (block_size - 1)) != 0) {
        *error = "block size must be a power of two from 512 to 65536 bytes";
        return -1;
    }
    if (capacity % block_size != 0) {
        *error = "block device capacity is not a multiple of its block size";
        return -1;
    }
    d->block = malloc(block_size);
    if (!d->block) {
        *error = "out of memory for the block buffer";
        return -1;
    }
    d->capacity = capacity;
    d->block_size = block_size;
    d->read_block = read_block;
    d->ctx = ctx;
    return 0;
}

/* The block at aligned offset `at` in the one-block buffer. */
static int load_block(struct blk_device *d, uint64_t at)
{
    if (d->block_valid && d->block_offset == at)
        return 0;
    d->block_valid = 0;
    if (d->read_block(d->ctx, at, d->block) != 0)
        return -1;
    d->block_offset = at;
    d->block_valid = 1;
    return 0;
}

int blk_read(struct blk_device *d, uint64_t offset, uint8_t *buf, size_t len)
{
    if (offset > d->capacity || len > d->capacity - offset)
        return -1;
    uint64_t bs = d->block_size;
    while (len > 0) {
        uint64_t at = offset & ~(bs - 1);
        size_t skip = (size_t)(offset - at);
        if (skip == 0 && len >= bs) {
            /* whole blocks go straight into the caller's buffer */
            if (d->read_block(d->ctx, at, buf) != 0)
                return -1;
            buf += bs;
            offset += bs;
            len -= (size_t)bs;
            continue;
        }
        if (load_block(d, at) != 0)
            return -1;
        size_t n = (size_t)bs - skip;
        if (n > len)
            n = len;
        memcpy(buf, d->block + skip, n);
        buf += n;
        offset += n;
        len -= n;
    }
    return 0;
}

void blk_device_fini(struct blk_device *d)
{
    free(d->block);
    d->block = NULL;
    d->block_valid = 0;
}
