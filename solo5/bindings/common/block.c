/* The BLOCK_BASIC API: one aligned, in-range block per call (§1.9). */
#include "bindings.h"

solo5_result_t solo5_block_acquire(const char *name, solo5_handle_t *handle,
                                   struct solo5_block_info *info)
{
    if (!guest_string_ok(name, MFT_NAME_MAX) || !guest_writable_ok(handle, sizeof *handle) ||
        !guest_writable_ok(info, sizeof *info))
        return SOLO5_R_EINVAL;
    solo5_handle_t h;
    const struct mft_entry *e = mft_entry_by_name(name, MFT_DEV_BLOCK_BASIC, &h);
    if (e == NULL)
        return SOLO5_R_EINVAL;
    info->capacity = e->u.block_basic.capacity;
    info->block_size = e->u.block_basic.block_size;
    *handle = h;
    return SOLO5_R_OK;
}

/* Exactly one block, block-aligned, inside the device, buffer in memory. */
static bool block_request_ok(const struct mft_entry *e, solo5_off_t offset,
                             const void *buf, size_t size, bool host_writes)
{
    if (e == NULL)
        return false;
    uint64_t block_size = e->u.block_basic.block_size;
    uint64_t capacity = e->u.block_basic.capacity;
    if (block_size == 0 || size != block_size || offset % block_size != 0)
        return false;
    if (offset >= capacity || size > capacity - offset)
        return false;
    return host_writes ? guest_writable_ok(buf, size) : guest_range_ok(buf, size);
}

solo5_result_t solo5_block_write(solo5_handle_t handle, solo5_off_t offset,
                                 const uint8_t *buf, size_t size)
{
    const struct mft_entry *e = mft_entry_for_handle(handle, MFT_DEV_BLOCK_BASIC);
    if (!block_request_ok(e, offset, buf, size, false))
        return SOLO5_R_EINVAL;
    return platform_block_write(handle, offset, buf, size);
}

solo5_result_t solo5_block_read(solo5_handle_t handle, solo5_off_t offset,
                                uint8_t *buf, size_t size)
{
    const struct mft_entry *e = mft_entry_for_handle(handle, MFT_DEV_BLOCK_BASIC);
    if (!block_request_ok(e, offset, buf, size, true))
        return SOLO5_R_EINVAL;
    return platform_block_read(handle, offset, buf, size);
}
