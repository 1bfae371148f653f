#include "ipv4_reasm.h"

#include <stdlib.h>
#include <string.h>

void reasm_release(struct reasm_table *t, struct reasm_datagram *d)
{
    t->bytes -= d->cap;
    free(d->buf);
    memset(d, 0, sizeof(*d));
}

static void reasm_drop(struct reasm_table *t, struct reasm_datagram *d)
{
    t->dropped++;
    reasm_release(t, d);
}

static struct reasm_datagram *reasm_lookup(struct reasm_table *t, net_time_t now,
                                           const struct ipv4_view *v)
{
    struct reasm_datagram *oldest = NULL;
    for (size_t i = 0; i < REASM_MAX_DATAGRAMS; i++) {
        struct reasm_datagram *d = &t->d[i];
        if (d->used && d->src == ipv4_src(v) && d->dst == ipv4_dst(v) && d->id == ipv4_id(v) &&
            d->proto == ipv4_proto(v))
            return d;
    }
    for (size_t i = 0; i < REASM_MAX_DATAGRAMS; i++) {
        struct reasm_datagram *d = &t->d[i];
        if (!d->used) {
            oldest = d;
            break;
        }
        if (!oldest || d->deadline < oldest->deadline)
            oldest = d;
    }
    if (oldest->used)
        reasm_drop(t, oldest);
    oldest->used = 1;
    oldest->src = ipv4_src(v);
    oldest->dst = ipv4_dst(v);
    oldest->id = ipv4_id(v);
    oldest->proto = ipv4_proto(v);
    oldest->deadline = now + REASM_TIMEOUT;
    return oldest;
}

struct reasm_datagram *reasm_input(struct reasm_table *t, net_time_t now,
                                   const struct ipv4_view *v)
{
    size_t start = ipv4_frag_offset(v);
    size_t len = ipv4_payload_len(v);
    size_t end = start + len;
    int more = ipv4_more_fragments(v);
    /* RFC 791 3.2: all but the last fragment carry a multiple of 8 bytes;
     * the whole datagram must fit the 16-bit Total Length. */
    if ((more && (len == 0 || len % 8 != 0)) || end + v->hdr_len > IPV4_MAX_LEN) {
        t->dropped++;
        return NULL;
    }
    struct reasm_datagram *d = reasm_lookup(t, now, v);
    for (size_t i = 0; i < d->n_ranges; i++) {
        const struct reasm_range *r = &d->ranges[i];
        if (r->start == start && r->end == end)
            return NULL; /* duplicate */
        if (start < r->end && r->start < end) {
            reasm_drop(t, d);
            return NULL;
        }
    }
    if (!more) {
        if ((d->have_last && d->total != end)) {
            reasm_drop(t, d);
            return NULL;
        }
        for (size_t i = 0; i < d->n_ranges; i++) {
            if (d->ranges[i].end > end) {
                reasm_drop(t, d);
                return NULL;
            }
        }
        d->have_last = 1;
        d->total = end;
    } else if (d->have_last && end > d->total) {
        reasm_drop(t, d);
        return NULL;
    }
    if (d->n_ranges == REASM_MAX_FRAGMENTS) {
        reasm_drop(t, d);
        return NULL;
    }
    if (end > d->cap) {
        if (t->bytes + (end - d->cap) > REASM_MAX_BYTES) {
            reasm_drop(t, d);
            return NULL;
        }
        uint8_t *buf = realloc(d->buf, end);
        if (!buf) {
            reasm_drop(t, d);
            return NULL;
        }
        t->bytes += end - d->cap;
        d->buf = buf;
        d->cap = end;
    }
    if (len > 0)
        memcpy(d->buf + start, ipv4_payload(v), len);
    if (start == 0) {
        memcpy(d->first_hdr, v->p, v->hdr_len); /* IHL caps it at 60 bytes */
        d->first_hdr_len = v->hdr_len;
    }
    d->ranges[d->n_ranges].start = (uint32_t)start;
    d->ranges[d->n_ranges].end = (uint32_t)end;
    d->n_ranges++;
    d->received += len;
    if (d->have_last && d->received == d->total)
        return d; /* no overlaps, so the byte count proves full coverage */
    return NULL;
}

struct reasm_datagram *reasm_take_expired(struct reasm_table *t, net_time_t now)
{
    for (size_t i = 0; i < REASM_MAX_DATAGRAMS; i++) {
        if (t->d[i].used && now >= t->d[i].deadline) {
            t->dropped++;
            return &t->d[i];
        }
    }
    return NULL;
}

net_time_t reasm_next_deadline(const struct reasm_table *t)
{
    net_time_t next = NET_TIME_NEVER;
    for (size_t i = 0; i < REASM_MAX_DATAGRAMS; i++)
        if (t->d[i].used && t->d[i].deadline < next)
            next = t->d[i].deadline;
    return next;
}

void reasm_flush(struct reasm_table *t)
{
    for (size_t i = 0; i < REASM_MAX_DATAGRAMS; i++)
        if (t->d[i].used)
            reasm_release(t, &t->d[i]);
}
