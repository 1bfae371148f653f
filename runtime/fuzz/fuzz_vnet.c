/* The virtio-net header (docs/net-offload.md): [length][header + frame]
 * records, each checked by vnet_view_check and fed through
 * net_stack_input_vnet to a configured stack that takes TSO frames, with a
 * bound UDP port and a TCP-numbered L4 handler; then it is destroyed. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "net/stack.h"
#include "net/udp.h"
#include "vnet_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void emit(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    fuzz_touch(frame, len);
    if (len < 14 || len > 14 + 1500)
        abort(); /* a plain frame never exceeds the MTU */
}

static void emit_tso(void *ctx, uint8_t *frame, size_t len, const struct net_tso *tso)
{
    (void)ctx;
    (void)tso;
    fuzz_touch(frame - NET_TSO_HEADROOM, NET_TSO_HEADROOM + len);
}

static void on_udp(void *ctx, struct net_udp *u, net_time_t now, uint32_t src, uint16_t sport,
                   const uint8_t *d, size_t len)
{
    (void)ctx;
    fuzz_touch(d, len);
    (void)net_udp_send(u, now, src, sport, d, len);
}

static void on_l4(void *ctx, struct net_stack *s, net_time_t now, uint32_t src, uint32_t dst,
                  const uint8_t *p, size_t len)
{
    (void)ctx;
    (void)s;
    (void)now;
    (void)src;
    (void)dst;
    fuzz_touch(p, len);
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
    struct net_stack_config cfg = {.mac = {2, 0, 0, 0, 0, 2}, .mtu = 1500, .emit = emit,
                                   .emit_tso = emit_tso, .seed = 1};
    struct net_stack *s = net_stack_create(&cfg);
    if (!s)
        abort();
    net_time_t now = 1;
    (void)net_stack_set_ipv4(s, now, NET_IP4(10, 0, 0, 2), 24, NET_IP4(10, 0, 0, 1));
    struct net_udp *u = net_udp_bind(s, 7, on_udp, NULL);
    (void)net_stack_register_l4(s, 6, on_l4, NULL);
    const uint8_t *rec;
    size_t len;
    while ((rec = fuzz_next_record(&data, &size, &len)) != NULL) {
        check_view(rec, len);
        (void)net_stack_input_vnet(s, now, rec, len);
        now += NET_MSEC(100);
        net_stack_poll(s, now);
    }
    net_udp_close(u);
    net_stack_destroy(s);
    return 0;
}
