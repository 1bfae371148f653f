/* IPv4 header view and fragment reassembly: the input is a sequence of
 * [length][packet] records fed to one reassembly table, one millisecond
 * apart, so overlaps, duplicates, limits and timeouts all get exercised. */
#include <stdlib.h>

#include "fuzz_util.h"
#include "ipv4_reasm.h"
#include "ipv4_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct reasm_table table;
    net_time_t now = 0;
    const uint8_t *rec;
    size_t len;
    while ((rec = fuzz_next_record(&data, &size, &len)) != NULL) {
        now += NET_SEC(1);
        struct reasm_datagram *expired;
        while ((expired = reasm_take_expired(&table, now)) != NULL)
            reasm_release(&table, expired);
        struct ipv4_view v;
        if (ipv4_view_check(&v, rec, len) != 0)
            continue;
        (void)ipv4_checksum_ok(&v);
        (void)ipv4_id(&v);
        (void)ipv4_ttl(&v);
        (void)ipv4_src(&v);
        (void)ipv4_dst(&v);
        fuzz_touch(v.p, v.hdr_len);
        fuzz_touch(ipv4_payload(&v), ipv4_payload_len(&v));
        if (ipv4_more_fragments(&v) || ipv4_frag_offset(&v) != 0) {
            struct reasm_datagram *d = reasm_input(&table, now, &v);
            if (d) {
                fuzz_touch(d->buf, d->total);
                reasm_release(&table, d);
            }
        }
    }
    reasm_flush(&table);
    if (table.bytes != 0)
        abort(); /* every buffer byte must be accounted for */
    return 0;
}
