/* ICMP message view. */
#include "fuzz_util.h"
#include "icmp_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct icmp_view v;
    if (icmp_view_check(&v, data, size) != 0)
        return 0;
    (void)icmp_checksum_ok(&v);
    (void)icmp_type(&v);
    (void)icmp_code(&v);
    (void)icmp_echo_id(&v);
    (void)icmp_echo_seq(&v);
    fuzz_touch(icmp_body(&v), icmp_body_len(&v));
    return 0;
}
