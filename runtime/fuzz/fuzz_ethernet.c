/* Ethernet II header view. */
#include "ethernet.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct eth_view v;
    if (eth_view_check(&v, data, size) != 0)
        return 0;
    fuzz_touch(eth_dst(&v), 6);
    fuzz_touch(eth_src(&v), 6);
    (void)eth_type(&v);
    fuzz_touch(eth_payload(&v), eth_payload_len(&v));
    return 0;
}
