/* DNS response parser, including name decompression. */
#include <stdlib.h>
#include <string.h>

#include "dns_wire.h"
#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    struct dns_answer a;
    if (dns_parse_response(copy, size, &a) == 0) {
        if (strlen(a.qname) > DNS_TEXT_MAX || a.n_addrs > DNS_MAX_ADDRS)
            abort();
    }
    /* Every offset as a name start, too. */
    char text[DNS_TEXT_MAX + 1];
    for (size_t off = 0; off < size && off < 512; off++) {
        size_t next;
        if (dns_name_read(copy, size, off, text, &next) == 0 && (next > size || next <= off))
            abort();
    }
    free(copy);
    return 0;
}
