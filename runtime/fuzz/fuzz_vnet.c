/* The virtio-net header (docs/net-offload.md): [length][header + frame]
 * records, each checked by vnet_view_check and fed through
 * net_stack_input_vnet at 100 ms steps to a configured stack that takes
 * TSO frames and runs the fuzzers' application (stack_app.h, TCP with
 * batched ACKs as tcp-echo); then it is destroyed. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "net/stack.h"
#include "stack_app.h"
#include "vnet_wire.h"

#define IPV4_MAX 65535u /* RFC 791: total length field */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A super-segment: one IPv4 datagram without options (l4_off 34) of up to
 * 64 KiB, split at an MSS that fits the MTU. */
static void emit_tso(void *ctx, uint8_t *frame, size_t len, const struct net_tso *tso)
{
    (void)ctx;
    fuzz_touch(frame - NET_TSO_HEADROOM, NET_TSO_HEADROOM + len);
    if (len > 14 + IPV4_MAX || tso->l4_off != 14 + 20 || tso->hdr_len < tso->l4_off + 20
        || tso->hdr_len > len || tso->mss == 0 || tso->mss > FUZZ_APP_MTU - 40)
        abort();
}

/* A header the view accepts keeps every promise its check makes. */
static void check_view(const uint8_t *rec, size_t len)
{
    struct vnet_view v;
    if (vnet_view_check(&v, rec, len) != 0)
        return;
    if (v.frame != rec + VNET_HDR_LEN || v.frame_len != len - VNET_HDR_LEN)
        abort();
    if ((v.flags & VNET_F_NEEDS_CSUM) && (size_t)v.csum_start + v.csum_offset + 2 > v.frame_len)
        abort();
    if (v.gso_type != VNET_GSO_NONE && (v.gso_size == 0 || !vnet_csum_trusted(&v)))
        abort();
    fuzz_touch(v.frame, v.frame_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct net_stack_config cfg = {.mac = {2, 0, 0, 0, 0, 2}, .mtu = FUZZ_APP_MTU,
                                   .emit = fuzz_app_emit, .emit_tso = emit_tso, .seed = 1};
    struct net_stack *s = net_stack_create(&cfg);
    if (!s)
        abort();
    struct fuzz_app app = {.now = 1};
    fuzz_app_start(&app, s, 1);
    const uint8_t *rec;
    size_t len;
    while ((rec = fuzz_next_record(&data, &size, &len)) != NULL) {
        check_view(rec, len);
        (void)net_stack_input_vnet(s, app.now, rec, len);
        app.now += NET_MSEC(100);
        net_stack_poll(s, app.now);
    }
    fuzz_app_stop(&app, s);
    net_stack_destroy(s);
    return 0;
}
