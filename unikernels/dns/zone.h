/* An authoritative zone in memory, parsed from an RFC 1035 master file
 * (section 5.1; $TTL from RFC 2308 section 4).
 *
 * Records are kept in one array sorted by owner in canonical order
 * (RFC 4034 6.1), then type, then file order: an RRset is a run, a node
 * (all RRsets of an owner) is a run, and a name's descendants follow it,
 * so existence, empty non-terminals (RFC 4592 2.2.2) and closest
 * enclosers are binary searches. Owners are stored lower-cased; RDATA is
 * stored in wire form with uncompressed names, as written to a response.
 * Memory per record: sizeof(struct zone_rr) (32 bytes on x86-64) plus the
 * RDATA, plus the owner when it differs from the previous record's. */
#ifndef DNS_ZONE_H
#define DNS_ZONE_H

#include <stddef.h>
#include <stdint.h>

#include "dname.h"

/* Record types served (IANA DNS parameters). */
#define RR_A 1        /* RFC 1035 3.4.1 */
#define RR_NS 2       /* RFC 1035 3.3.11 */
#define RR_CNAME 5    /* RFC 1035 3.3.1 */
#define RR_SOA 6      /* RFC 1035 3.3.13 */
#define RR_PTR 12     /* RFC 1035 3.3.12 */
#define RR_HINFO 13   /* RFC 1035 3.3.2; only synthesised for ANY (RFC 8482 4.2) */
#define RR_MX 15      /* RFC 1035 3.3.9 */
#define RR_TXT 16     /* RFC 1035 3.3.14 */
#define RR_AAAA 28    /* RFC 3596 2.1 */
#define RR_SRV 33     /* RFC 2782 */
#define RR_OPT 41     /* RFC 6891 6.1.1 */
#define RR_DS 43      /* RFC 4034 5: lives on the parent side of a cut */
#define RR_IXFR 251   /* RFC 1995 */
#define RR_AXFR 252   /* RFC 5936 */
#define RR_MAILB 253  /* RFC 1035 3.2.3 */
#define RR_MAILA 254
#define RR_ANY 255
#define RR_CAA 257    /* RFC 8659 4.1 */

#define ZONE_TTL_MAX 0x7fffffffu /* RFC 2181 8 */
#define ZONE_RDATA_MAX 65535u
#define ZONE_REASON_MAX 160

struct zone_rr {
    const uint8_t *owner; /* wire, lower case; shared within a node */
    const uint8_t *rdata;
    uint32_t ttl;
    uint32_t line; /* in the master file, for error messages */
    uint16_t type;
    uint16_t rdlen;
};

struct zone_arena;

struct zone {
    struct dname origin; /* lower case */
    struct zone_rr *rrs;
    size_t n_rrs;
    size_t cap_rrs;
    size_t soa; /* index of the apex SOA */
    struct zone_arena *arena;
};

struct zone_error {
    unsigned line; /* 0: not tied to a line */
    char reason[ZONE_REASON_MAX];
};

/* The origin a master file named "<name>.zone" is for: "example.org.zone"
 * is example.org. 0, or -1 with the reason in err. */
int zone_origin_from_file_name(const char *file_name, struct dname *origin,
                               struct zone_error *err);

/* Parses a master file for origin; on success fills zone (release it with
 * zone_free). On failure -1, err holds the line and the reason, and
 * nothing stays allocated. */
int zone_parse(const char *text, size_t len, const struct dname *origin, struct zone *zone,
               struct zone_error *err);

void zone_free(struct zone *zone);

/* Bytes the zone holds on the heap (records array and arena). */
size_t zone_memory(const struct zone *zone);

/* Lookups over the sorted records. */

/* Index of the first record whose owner is >= name (canonical order). */
size_t zone_lower_bound(const struct zone *zone, const uint8_t *name);

/* 1 if name owns records or is an empty non-terminal. */
int zone_name_exists(const struct zone *zone, const uint8_t *name);

/* The run [*first, *end) of records owned by name; 0 if none. */
int zone_node(const struct zone *zone, const uint8_t *name, size_t *first, size_t *end);

/* The run of type within a node run; 0 if none. */
int zone_rrset(const struct zone *zone, size_t node_first, size_t node_end, uint16_t type,
               size_t *first, size_t *end);

/* A set of zones; lookups pick the one with the longest origin. */
struct zone_set {
    struct zone *zones;
    size_t n;
};

/* The zone name is at or under (longest origin), or NULL. */
const struct zone *zone_set_find(const struct zone_set *set, const uint8_t *name);

#endif
