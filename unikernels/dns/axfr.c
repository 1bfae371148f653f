#include "axfr.h"

#include <string.h>

#include "bytes.h"
#include "msg_writer.h"

void axfr_begin(struct axfr_stream *s, const struct dns_axfr_start *start)
{
    s->start = *start;
    s->next = 0;
    s->done = 0;
}

static const struct zone_rr *record_at(const struct zone *z, size_t i)
{
    /* Position 0 and the last are the SOA; the SOA is skipped in between. */
    if (i == 0 || i == z->n_rrs + 1)
        return &z->rrs[z->soa];
    return &z->rrs[i - 1];
}

size_t axfr_next(struct axfr_stream *s, uint8_t *out, size_t cap)
{
    const struct zone *z = s->start.zone;
    if (s->done || cap < 512)
        return 0;
    if (cap > DNS_TCP_MAX)
        cap = DNS_TCP_MAX;
    struct msg_writer w;
    msg_init(&w, out, cap);
    memset(out, 0, DNS_HDR_LEN);
    put_be16(out, s->start.id);
    put_be16(out + 2, 0x8400); /* QR, AA */
    put_be16(out + 4, 1);
    w.len = DNS_HDR_LEN;
    msg_put_name(&w, s->start.qname.wire, 0);
    msg_put_u16(&w, RR_AXFR);
    msg_put_u16(&w, DNS_CLASS_IN);
    uint16_t count = 0;
    while (s->next <= z->n_rrs + 1) {
        if (s->next != 0 && s->next != z->n_rrs + 1 && s->next - 1 == z->soa) {
            s->next++;
            continue;
        }
        const struct zone_rr *rr = record_at(z, s->next);
        if (msg_put_rr(&w, rr->owner, rr->type, DNS_CLASS_IN, rr->ttl, rr->rdata, rr->rdlen) != 0)
            break;
        count++;
        s->next++;
    }
    if (s->next > z->n_rrs + 1)
        s->done = 1;
    put_be16(out + 6, count);
    return w.len;
}
