/* Building a zone's record array: an arena for owners and RDATA, appending
 * records, and the stable sort into canonical order. Used by the parser. */
#ifndef DNS_ZONE_DB_H
#define DNS_ZONE_DB_H

#include "zone.h"

/* Appends a record, copying owner (lower-cased; shared with the previous
 * record's when equal) and rdata into the zone's arena. 0 or -1 (memory). */
int zone_db_add(struct zone *zone, const struct dname *owner, uint16_t type, uint32_t ttl,
                const uint8_t *rdata, size_t rdlen, unsigned line);

/* Sorts by owner (canonical order), type, then RDATA octets. 0 or -1. */
int zone_db_sort(struct zone *zone);

#endif
