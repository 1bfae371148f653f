/* libFuzzer harness: the TCP header/option parser on arbitrary bytes.
 * A parsed segment must describe bytes inside the input, and re-emitting
 * its header fields must parse back to the same values. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "net/tcp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tcp_segment seg;
    if (tcp_segment_parse(&seg, data, size) != 0)
        return 0;
    if (seg.hdr_len < TCP_HDR_MIN || seg.hdr_len > size
        || seg.payload != data + seg.hdr_len || seg.payload_len != size - seg.hdr_len)
        __builtin_trap();
    if (seg.has_ws && seg.ws > TCP_WS_MAX)
        __builtin_trap();
    uint8_t out[TCP_HDR_MAX];
    size_t n = tcp_header_emit(out, seg.src_port, seg.dst_port, seg.seq, seg.ack, seg.flags,
                               seg.window, seg.has_mss ? seg.mss : 0,
                               seg.has_ws ? (int)seg.ws : -1);
    struct tcp_segment back;
    if (tcp_segment_parse(&back, out, n) != 0)
        __builtin_trap();
    if (back.src_port != seg.src_port || back.dst_port != seg.dst_port || back.seq != seg.seq
        || back.ack != seg.ack || back.flags != seg.flags || back.window != seg.window
        || back.has_ws != seg.has_ws || back.ws != seg.ws || back.payload_len != 0)
        __builtin_trap();
    if (seg.has_mss && seg.mss != 0 && (!back.has_mss || back.mss != seg.mss))
        __builtin_trap();
    return 0;
}
