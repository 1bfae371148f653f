/* The authoritative query engine: query bytes in, response bytes out, no
 * I/O and no allocation. RFC 1034 4.3.2 lookup with RFC 2308 negative
 * answers, RFC 4592 wildcards, referrals with glue, in-zone CNAME chains,
 * EDNS(0) (RFC 6891), truncation over UDP, minimal ANY (RFC 8482) and the
 * start of AXFR over TCP (RFC 5936; the transfer itself is in axfr.h). */
#ifndef DNS_QUERY_H
#define DNS_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "zone.h"

#define DNS_UDP_PLAIN_MAX 512   /* RFC 1035 4.2.1 */
#define DNS_EDNS_DEFAULT 1232   /* DNS flag day 2020: largest UDP answer we send */
#define DNS_TCP_MAX 65535       /* RFC 7766 8: the 2-octet length prefix */
#define DNS_CNAME_CHAIN_MAX 8   /* CNAMEs followed per query */

#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5
#define DNS_RCODE_BADVERS 16    /* RFC 6891 9: extended, upper 8 bits in OPT */

enum dns_transport { DNS_OVER_UDP, DNS_OVER_TCP };

struct dns_query_opts {
    enum dns_transport transport;
    int axfr_allowed; /* the client may transfer zones (TCP only) */
    uint16_t udp_max; /* our largest UDP answer with EDNS: DNS_EDNS_DEFAULT */
};

/* What a response needs to start an AXFR stream (axfr.h). */
struct dns_axfr_start {
    const struct zone *zone; /* NULL: no transfer */
    uint16_t id;
    struct dname qname; /* as asked, for the question section */
};

/* Answers the query into out (cap bytes). Returns the response length, or
 * 0 when nothing must be sent (too short for a header, or a response).
 * With axfr non-NULL, an allowed AXFR over TCP fills *axfr and returns 0:
 * the caller streams the zone with axfr_next(). */
size_t dns_query_answer(const struct zone_set *zones, const uint8_t *query, size_t len,
                        const struct dns_query_opts *opts, uint8_t *out, size_t cap,
                        struct dns_axfr_start *axfr);

#endif
