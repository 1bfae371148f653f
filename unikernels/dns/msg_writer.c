#include "msg_writer.h"

#include <string.h>

#include "bytes.h"
#include "dname.h"
#include "zone.h"

void msg_init(struct msg_writer *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->n_targets = 0;
}

struct msg_mark msg_mark(const struct msg_writer *w)
{
    struct msg_mark m = { w->len, w->n_targets };
    return m;
}

void msg_rollback(struct msg_writer *w, struct msg_mark m)
{
    w->len = m.len;
    w->n_targets = m.n_targets;
}

int msg_put_bytes(struct msg_writer *w, const uint8_t *p, size_t n)
{
    if (w->cap - w->len < n)
        return -1;
    if (n)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
    return 0;
}

int msg_put_u16(struct msg_writer *w, uint16_t v)
{
    uint8_t b[2];
    put_be16(b, v);
    return msg_put_bytes(w, b, 2);
}

int msg_put_u32(struct msg_writer *w, uint32_t v)
{
    uint8_t b[4];
    put_be32(b, v);
    return msg_put_bytes(w, b, 4);
}

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
}

/* 1 if the (possibly compressed) name we wrote at off equals the
 * uncompressed name. Our own pointers only point backwards, and the walk
 * is bounded by the name's length anyway. */
static int written_equals(const struct msg_writer *w, size_t off, const uint8_t *name)
{
    size_t at = 0;
    for (unsigned steps = 0; steps < DNS_NAME_MAX; steps++) {
        uint8_t l = w->buf[off];
        if ((l & 0xc0) == 0xc0) {
            off = ((size_t)(l & 0x3f) << 8) | w->buf[off + 1];
            continue;
        }
        if (l != name[at])
            return 0;
        if (l == 0)
            return 1;
        for (size_t i = 1; i <= l; i++)
            if (lower(w->buf[off + i]) != lower(name[at + i]))
                return 0;
        off += 1u + l;
        at += 1u + l;
    }
    return 0;
}

int msg_put_name(struct msg_writer *w, const uint8_t *wire, int compress)
{
    uint8_t off[DNAME_MAX_LABELS];
    unsigned n = dname_labels(wire, off);
    struct msg_mark start = msg_mark(w);
    for (unsigned i = 0; i < n; i++) {
        const uint8_t *suffix = wire + off[i];
        if (compress) {
            for (unsigned t = 0; t < w->n_targets; t++) {
                if (written_equals(w, w->targets[t], suffix)) {
                    if (msg_put_u16(w, (uint16_t)(0xc000 | w->targets[t])) != 0) {
                        msg_rollback(w, start);
                        return -1;
                    }
                    return 0;
                }
            }
        }
        if (w->len <= MSG_POINTER_MAX && w->n_targets < MSG_TARGETS_MAX)
            w->targets[w->n_targets++] = (uint16_t)w->len;
        if (msg_put_bytes(w, suffix, 1u + suffix[0]) != 0) {
            msg_rollback(w, start);
            return -1;
        }
    }
    uint8_t root = 0;
    if (msg_put_bytes(w, &root, 1) != 0) {
        msg_rollback(w, start);
        return -1;
    }
    return 0;
}

/* RDATA with its names compressed (RFC 1035 types only). */
static int put_rdata(struct msg_writer *w, uint16_t type, const uint8_t *rdata, uint16_t rdlen)
{
    switch (type) {
    case RR_NS:
    case RR_CNAME:
    case RR_PTR:
        return msg_put_name(w, rdata, 1);
    case RR_MX:
        return msg_put_bytes(w, rdata, 2) != 0 ? -1 : msg_put_name(w, rdata + 2, 1);
    case RR_SOA: {
        size_t mname = dname_len(rdata);
        size_t rname = dname_len(rdata + mname);
        if (msg_put_name(w, rdata, 1) != 0 || msg_put_name(w, rdata + mname, 1) != 0)
            return -1;
        return msg_put_bytes(w, rdata + mname + rname, 20);
    }
    default:
        return msg_put_bytes(w, rdata, rdlen);
    }
}

int msg_put_rr(struct msg_writer *w, const uint8_t *owner, uint16_t type, uint16_t klass,
               uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    struct msg_mark start = msg_mark(w);
    if (msg_put_name(w, owner, 1) != 0 || msg_put_u16(w, type) != 0
        || msg_put_u16(w, klass) != 0 || msg_put_u32(w, ttl) != 0 || msg_put_u16(w, 0) != 0)
        goto full;
    size_t rdlen_at = w->len - 2;
    if (put_rdata(w, type, rdata, rdlen) != 0)
        goto full;
    put_be16(w->buf + rdlen_at, (uint16_t)(w->len - rdlen_at - 2));
    return 0;
full:
    msg_rollback(w, start);
    return -1;
}
