/* UDP header view and checksum. */
#include "fuzz_util.h"
#include "net/stack.h"
#include "udp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct udp_view v;
    if (udp_view_check(&v, data, size) != 0)
        return 0;
    (void)udp_checksum_ok(&v, NET_IP4(10, 0, 0, 1), NET_IP4(10, 0, 0, 2));
    (void)udp_src_port(&v);
    (void)udp_dst_port(&v);
    fuzz_touch(udp_payload(&v), udp_payload_len(&v));
    return 0;
}
