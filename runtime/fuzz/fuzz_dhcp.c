/* DHCP reply parser (RFC 2131/2132 options). */
#include <stdlib.h>

#include "dhcp_wire.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A heap copy of exactly size bytes, so ASan sees every overread. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    for (size_t i = 0; i < size; i++)
        copy[i] = data[i];
    struct dhcp_reply r;
    if (dhcp_parse_reply(copy, size, &r) == 0 && r.msg_type == 0)
        abort(); /* success promises a message type */
    free(copy);
    return 0;
}
