/* blk_device over a Solo5 BLOCK_BASIC device (unikernels only). */
#include "blk/device.h"

#include "solo5.h"

static int solo5_read_block(void *ctx, uint64_t offset, uint8_t *block)
{
    const struct blk_device *d = ctx;
    solo5_result_t r = solo5_block_read(d->solo5_handle, offset, block, d->block_size);
    return r == SOLO5_R_OK ? 0 : -1;
}

int blk_device_open_solo5(struct blk_device *d, const char *name, const char **error)
{
    struct solo5_block_info info;
    solo5_handle_t handle;
    if (solo5_block_acquire(name, &handle, &info) != SOLO5_R_OK) {
        *error = "cannot acquire the block device (is it attached?)";
        return -1;
    }
    if (info.block_size > BLK_MAX_BLOCK_SIZE) {
        *error = "block size must be a power of two from 512 to 65536 bytes";
        return -1;
    }
    if (blk_device_init(d, info.capacity, (uint32_t)info.block_size, solo5_read_block, d,
                        error) != 0)
        return -1;
    d->solo5_handle = handle;
    return 0;
}
