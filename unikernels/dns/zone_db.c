#include "zone_db.h"

#include <stdlib.h>
#include <string.h>

/* Chunks grow from 4 KiB to 64 KiB: small zones stay small. */
#define ARENA_FIRST 4096u
#define ARENA_CHUNK 65536u

struct zone_arena {
    struct zone_arena *next;
    size_t used;
    size_t size;
    uint8_t data[];
};

static uint8_t *arena_alloc(struct zone *zone, size_t n)
{
    struct zone_arena *a = zone->arena;
    if (!a || a->size - a->used < n) {
        size_t size = a ? (a->size < ARENA_CHUNK ? a->size * 2 : ARENA_CHUNK) : ARENA_FIRST;
        if (size < n)
            size = n;
        a = malloc(sizeof(*a) + size);
        if (!a)
            return NULL;
        a->next = zone->arena;
        a->used = 0;
        a->size = size;
        zone->arena = a;
    }
    uint8_t *p = a->data + a->used;
    a->used += n;
    return p;
}

int zone_db_add(struct zone *zone, const struct dname *owner, uint16_t type, uint32_t ttl,
                const uint8_t *rdata, size_t rdlen, unsigned line)
{
    if (zone->n_rrs == zone->cap_rrs) {
        size_t cap = zone->cap_rrs ? zone->cap_rrs * 2 : 64;
        struct zone_rr *grown = realloc(zone->rrs, cap * sizeof(*grown));
        if (!grown)
            return -1;
        zone->rrs = grown;
        zone->cap_rrs = cap;
    }
    const uint8_t *owner_copy;
    if (zone->n_rrs > 0 && dname_equal(zone->rrs[zone->n_rrs - 1].owner, owner->wire)) {
        owner_copy = zone->rrs[zone->n_rrs - 1].owner;
    } else {
        uint8_t *copy = arena_alloc(zone, owner->len);
        if (!copy)
            return -1;
        memcpy(copy, owner->wire, owner->len);
        dname_lower(copy);
        owner_copy = copy;
    }
    uint8_t *data = NULL;
    if (rdlen) {
        data = arena_alloc(zone, rdlen);
        if (!data)
            return -1;
        memcpy(data, rdata, rdlen);
    }
    struct zone_rr *rr = &zone->rrs[zone->n_rrs++];
    rr->owner = owner_copy;
    rr->rdata = data;
    rr->rdlen = (uint16_t)rdlen;
    rr->ttl = ttl;
    rr->type = type;
    rr->line = line;
    return 0;
}

static int rr_order(const struct zone_rr *a, const struct zone_rr *b)
{
    int c = a->owner == b->owner ? 0 : dname_compare(a->owner, b->owner);
    if (c != 0)
        return c;
    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    size_t n = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
    c = n ? memcmp(a->rdata, b->rdata, n) : 0;
    if (c != 0)
        return c;
    return a->rdlen == b->rdlen ? 0 : (a->rdlen < b->rdlen ? -1 : 1);
}

/* Bottom-up merge sort: stable, O(n log n), one scratch array. */
int zone_db_sort(struct zone *zone)
{
    size_t n = zone->n_rrs;
    if (n < 2)
        return 0;
    struct zone_rr *tmp = malloc(n * sizeof(*tmp));
    if (!tmp)
        return -1;
    struct zone_rr *src = zone->rrs, *dst = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                dst[k++] = rr_order(&src[j], &src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < hi)
                dst[k++] = src[j++];
        }
        struct zone_rr *swap = src;
        src = dst;
        dst = swap;
    }
    if (src != zone->rrs)
        memcpy(zone->rrs, src, n * sizeof(*src));
    free(tmp);
    return 0;
}

void zone_free(struct zone *zone)
{
    struct zone_arena *a = zone->arena;
    while (a) {
        struct zone_arena *next = a->next;
        free(a);
        a = next;
    }
    free(zone->rrs);
    memset(zone, 0, sizeof(*zone));
}

size_t zone_memory(const struct zone *zone)
{
    size_t total = zone->cap_rrs * sizeof(struct zone_rr);
    for (const struct zone_arena *a = zone->arena; a; a = a->next)
        total += sizeof(*a) + a->size;
    return total;
}

size_t zone_lower_bound(const struct zone *zone, const uint8_t *name)
{
    size_t lo = 0, hi = zone->n_rrs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (dname_compare(zone->rrs[mid].owner, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int zone_name_exists(const struct zone *zone, const uint8_t *name)
{
    size_t i = zone_lower_bound(zone, name);
    /* The name itself, or its first descendant, sorts at i. */
    return i < zone->n_rrs && dname_is_under(zone->rrs[i].owner, name);
}

int zone_node(const struct zone *zone, const uint8_t *name, size_t *first, size_t *end)
{
    size_t i = zone_lower_bound(zone, name);
    if (i == zone->n_rrs || !dname_equal(zone->rrs[i].owner, name))
        return 0;
    size_t j = i + 1;
    while (j < zone->n_rrs && zone->rrs[j].owner == zone->rrs[i].owner)
        j++;
    /* Owners are shared only between neighbours in file order; compare the
     * rest by value. */
    while (j < zone->n_rrs && dname_equal(zone->rrs[j].owner, name))
        j++;
    *first = i;
    *end = j;
    return 1;
}

int zone_rrset(const struct zone *zone, size_t node_first, size_t node_end, uint16_t type,
               size_t *first, size_t *end)
{
    size_t i = node_first;
    while (i < node_end && zone->rrs[i].type != type)
        i++;
    if (i == node_end)
        return 0;
    size_t j = i;
    while (j < node_end && zone->rrs[j].type == type)
        j++;
    *first = i;
    *end = j;
    return 1;
}

const struct zone *zone_set_find(const struct zone_set *set, const uint8_t *name)
{
    const struct zone *best = NULL;
    for (size_t i = 0; i < set->n; i++) {
        const struct zone *z = &set->zones[i];
        if (dname_is_under(name, z->origin.wire) && (!best || z->origin.len > best->origin.len))
            best = z;
    }
    return best;
}
