/* The NET_BASIC API: argument checks, then the target's hooks. */
#include "bindings.h"

/* The largest frame the device carries, in both directions. */
static size_t frame_max(const struct mft_entry *e)
{
    if (e->u.net_basic.offload & MFT_NET_OFFLOAD_VNET_TSO4)
        return SOLO5_NET_VNET_FRAME_MAX;
    return (size_t)e->u.net_basic.mtu + SOLO5_NET_HLEN;
}

solo5_result_t solo5_net_acquire(const char *name, solo5_handle_t *handle,
                                 struct solo5_net_info *info)
{
    if (!guest_string_ok(name, MFT_NAME_MAX) || !guest_writable_ok(handle, sizeof *handle) ||
        !guest_writable_ok(info, sizeof *info))
        return SOLO5_R_EINVAL;
    solo5_handle_t h;
    const struct mft_entry *e = mft_entry_by_name(name, MFT_DEV_NET_BASIC, &h);
    if (e == NULL)
        return SOLO5_R_EINVAL;
    memcpy(info->mac_address, e->u.net_basic.mac, SOLO5_NET_ALEN);
    info->mtu = e->u.net_basic.mtu;
    info->offload = (e->u.net_basic.offload & MFT_NET_OFFLOAD_VNET_TSO4) ? SOLO5_NET_OFFLOAD_VNET_TSO4
                                                                         : 0;
    *handle = h;
    return SOLO5_R_OK;
}

solo5_result_t solo5_net_write(solo5_handle_t handle, const uint8_t *buf, size_t size)
{
    const struct mft_entry *e = mft_entry_for_handle(handle, MFT_DEV_NET_BASIC);
    if (e == NULL || size > frame_max(e) ||
        !guest_range_ok(buf, size))
        return SOLO5_R_EINVAL;
    return platform_net_write(handle, buf, size);
}

solo5_result_t solo5_net_read(solo5_handle_t handle, uint8_t *buf, size_t size,
                              size_t *read_size)
{
    const struct mft_entry *e = mft_entry_for_handle(handle, MFT_DEV_NET_BASIC);
    if (e == NULL || size < frame_max(e) ||
        !guest_writable_ok(buf, size) || !guest_writable_ok(read_size, sizeof *read_size))
        return SOLO5_R_EINVAL;
    return platform_net_read(handle, buf, size, read_size);
}
