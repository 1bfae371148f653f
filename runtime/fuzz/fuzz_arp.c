/* ARP packet view. */
#include "arp_wire.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arp_view v;
    if (arp_view_check(&v, data, size) != 0)
        return 0;
    (void)arp_op(&v);
    fuzz_touch(arp_sha(&v), 6);
    fuzz_touch(arp_tha(&v), 6);
    (void)arp_spa(&v);
    (void)arp_tpa(&v);
    return 0;
}
