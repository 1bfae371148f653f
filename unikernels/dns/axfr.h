/* AXFR (RFC 5936): the zone as a stream of messages over TCP, the SOA
 * first and last (section 2.2), every message carrying the question
 * (allowed by 2.2.1) and as many records as fit. */
#ifndef DNS_AXFR_H
#define DNS_AXFR_H

#include <stddef.h>
#include <stdint.h>

#include "query.h"

struct axfr_stream {
    struct dns_axfr_start start;
    size_t next; /* 0: the opening SOA; 1 + i: record i; n_rrs + 1: closing SOA */
    int done;
};

void axfr_begin(struct axfr_stream *s, const struct dns_axfr_start *start);

/* The next message into out (cap >= 512); its length, 0 when finished. */
size_t axfr_next(struct axfr_stream *s, uint8_t *out, size_t cap);

#endif
