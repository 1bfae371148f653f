#include "query.h"

#include <string.h>

#include "bytes.h"
#include "msg_writer.h"

#define FLAG_QR 0x8000   /* RFC 1035 4.1.1 */
#define FLAG_AA 0x0400
#define FLAG_TC 0x0200
#define FLAG_RD 0x0100
#define OPCODE_SHIFT 11
#define OPCODE_QUERY 0
#define OPT_DO 0x8000    /* RFC 3225 3: copied into the response */
#define OPT_LEN 11       /* root name, type, class, TTL, RDLENGTH */

struct request {
    uint16_t id;
    uint16_t flags;
    struct dname qname;
    uint16_t qtype;
    uint16_t qclass;
    int edns;           /* an OPT record came */
    uint16_t edns_size; /* its UDP payload size */
    uint8_t edns_version;
    uint16_t edns_flags;
};

struct response {
    struct msg_writer w;
    const struct zone *zone;
    size_t question_end;
    uint16_t counts[3]; /* answer, authority, additional */
    uint16_t flags;
    uint8_t rcode;
    int truncated;
};

enum section { ANSWER, AUTHORITY, ADDITIONAL };

/* Parses the header, question and additional section (RFC 1035 4.1,
 * RFC 6891 6.1.1). Returns an rcode; the question is valid when the
 * rcode is not FORMERR. */
static uint8_t parse_request(const uint8_t *q, size_t len, struct request *r)
{
    uint16_t qdcount = get_be16(q + 4), ancount = get_be16(q + 6);
    uint16_t nscount = get_be16(q + 8), arcount = get_be16(q + 10);
    size_t off;
    if (qdcount != 1 || ancount != 0 || nscount != 0)
        return DNS_RCODE_FORMERR;
    if (dname_read(q, len, DNS_HDR_LEN, &r->qname, &off) != 0 || len - off < 4)
        return DNS_RCODE_FORMERR;
    r->qtype = get_be16(q + off);
    r->qclass = get_be16(q + off + 2);
    off += 4;
    /* Counts come from the sender: each record must be present in full. */
    for (unsigned i = 0; i < arcount; i++) {
        struct dname owner;
        if (dname_read(q, len, off, &owner, &off) != 0 || len - off < 10)
            return DNS_RCODE_FORMERR;
        uint16_t type = get_be16(q + off);
        uint16_t klass = get_be16(q + off + 2);
        uint32_t ttl = get_be32(q + off + 4);
        size_t rdlen = get_be16(q + off + 8);
        off += 10;
        if (len - off < rdlen)
            return DNS_RCODE_FORMERR;
        if (type == RR_OPT) {
            /* RFC 6891 6.1.1: one OPT, owned by the root. */
            if (r->edns || owner.len != 1)
                return DNS_RCODE_FORMERR;
            r->edns = 1;
            r->edns_size = klass;
            r->edns_version = (uint8_t)(ttl >> 16);
            r->edns_flags = (uint16_t)ttl;
            for (size_t o = 0; o < rdlen;) { /* options: code, length, data */
                if (rdlen - o < 4 || rdlen - o - 4 < get_be16(q + off + o + 2))
                    return DNS_RCODE_FORMERR;
                o += 4u + get_be16(q + off + o + 2);
            }
        }
        off += rdlen;
    }
    return DNS_RCODE_NOERROR;
}

static void put_header(struct response *rs, const struct request *r)
{
    uint8_t *h = rs->w.buf;
    put_be16(h, r->id);
    put_be16(h + 2, (uint16_t)(rs->flags | (rs->rcode & 0x0f)));
    put_be16(h + 6, rs->counts[ANSWER]);
    put_be16(h + 8, rs->counts[AUTHORITY]);
    put_be16(h + 10, rs->counts[ADDITIONAL]);
}

static int put_rrset(struct response *rs, size_t first, size_t end, const uint8_t *owner,
                     const uint32_t *ttl, enum section sec)
{
    struct msg_mark mark = msg_mark(&rs->w);
    uint16_t before = rs->counts[sec];
    for (size_t i = first; i < end; i++) {
        const struct zone_rr *rr = &rs->zone->rrs[i];
        if (msg_put_rr(&rs->w, owner ? owner : rr->owner, rr->type, DNS_CLASS_IN,
                       ttl ? *ttl : rr->ttl, rr->rdata, rr->rdlen) != 0) {
            msg_rollback(&rs->w, mark);
            rs->counts[sec] = before;
            return -1;
        }
        rs->counts[sec]++;
    }
    return 0;
}

/* A needed RRset did not fit: an empty, truncated answer (RFC 2181 9). */
static void truncate_all(struct response *rs)
{
    rs->w.len = rs->question_end;
    rs->w.n_targets = 0;
    rs->counts[ANSWER] = rs->counts[AUTHORITY] = rs->counts[ADDITIONAL] = 0;
    rs->truncated = 1;
    rs->flags |= FLAG_TC;
}

static int put_required(struct response *rs, size_t first, size_t end, const uint8_t *owner,
                        const uint32_t *ttl, enum section sec)
{
    if (put_rrset(rs, first, end, owner, ttl, sec) != 0) {
        truncate_all(rs);
        return -1;
    }
    return 0;
}

/* The SOA in the authority section with the negative TTL of RFC 2308 5:
 * min(SOA TTL, SOA MINIMUM). */
static void put_negative(struct response *rs)
{
    const struct zone_rr *soa = &rs->zone->rrs[rs->zone->soa];
    uint32_t minimum = get_be32(soa->rdata + soa->rdlen - 4);
    uint32_t ttl = soa->ttl < minimum ? soa->ttl : minimum;
    put_required(rs, rs->zone->soa, rs->zone->soa + 1, NULL, &ttl, AUTHORITY);
}

/* The suffix of name with `labels` labels. */
static const uint8_t *suffix(const uint8_t *name, unsigned total, unsigned labels)
{
    const uint8_t *p = name;
    for (unsigned i = labels; i < total; i++)
        p += 1u + p[0];
    return p;
}

/* The topmost zone cut (NS below the apex) at or above name, or -1. For
 * DS the cut at name itself belongs to the parent (RFC 4035 3.1.4.1). */
static int find_cut(const struct zone *z, const uint8_t *name, uint16_t qtype, size_t *first,
                    size_t *end)
{
    unsigned total = dname_labels(name, NULL);
    unsigned apex = dname_labels(z->origin.wire, NULL);
    for (unsigned labels = apex + 1; labels <= total; labels++) {
        const uint8_t *ancestor = suffix(name, total, labels);
        size_t nf, ne;
        if (labels == total && qtype == RR_DS)
            break;
        if (zone_node(z, ancestor, &nf, &ne) && zone_rrset(z, nf, ne, RR_NS, first, end))
            return 0;
    }
    return -1;
}

/* The in-zone addresses of the name servers of the NS RRset [ns_first,
 * ns_end) in additional (RFC 1034 4.3.2 step 6). Those under cut (glue of
 * a referral, RFC 9471) are required; the others are optional. */
static void put_ns_addresses(struct response *rs, size_t ns_first, size_t ns_end,
                             const uint8_t *cut)
{
    const struct zone *z = rs->zone;
    for (size_t i = ns_first; i < ns_end; i++) {
        const uint8_t *target = z->rrs[i].rdata;
        size_t nf, ne, f, e;
        if (!dname_is_under(target, z->origin.wire) || !zone_node(z, target, &nf, &ne))
            continue;
        int glue = cut && dname_is_under(target, cut);
        static const uint16_t types[] = { RR_A, RR_AAAA };
        for (size_t t = 0; t < 2; t++) {
            if (!zone_rrset(z, nf, ne, types[t], &f, &e))
                continue;
            if (glue) {
                if (put_required(rs, f, e, NULL, NULL, ADDITIONAL) != 0)
                    return;
            } else {
                put_rrset(rs, f, e, NULL, NULL, ADDITIONAL); /* optional */
            }
        }
    }
}

/* Referral (RFC 1034 4.3.2 3b): the child's NS in authority, addresses of
 * its servers in additional. */
static void put_referral(struct response *rs, size_t ns_first, size_t ns_end)
{
    if (put_required(rs, ns_first, ns_end, NULL, NULL, AUTHORITY) != 0)
        return;
    put_ns_addresses(rs, ns_first, ns_end, rs->zone->rrs[ns_first].owner);
}

/* Answers from the node [nf, ne) for name. Returns the CNAME target to
 * follow, or NULL when the answer is complete. */
static const uint8_t *answer_node(struct response *rs, const struct request *r, size_t nf,
                                  size_t ne, const uint8_t *name)
{
    const struct zone *z = rs->zone;
    size_t f, e;
    if (r->qtype == RR_ANY) {
        /* RFC 8482 4.1: one RRset, the node's first in type order. */
        zone_rrset(z, nf, ne, z->rrs[nf].type, &f, &e);
        put_required(rs, f, e, name, NULL, ANSWER);
        return NULL;
    }
    if (zone_rrset(z, nf, ne, r->qtype, &f, &e)) {
        /* An NS answer brings its servers' addresses, as NSD's minimal
         * responses do; other types bring none. */
        if (put_required(rs, f, e, name, NULL, ANSWER) == 0 && r->qtype == RR_NS)
            put_ns_addresses(rs, f, e, NULL);
        return NULL;
    }
    if (zone_rrset(z, nf, ne, RR_CNAME, &f, &e)) {
        if (put_required(rs, f, e, name, NULL, ANSWER) != 0)
            return NULL;
        return z->rrs[f].rdata;
    }
    put_negative(rs);
    return NULL;
}

/* RFC 4592 3.3.1: the closest encloser's "*" child, if it exists. */
static int find_wildcard(const struct zone *z, const uint8_t *name, size_t *nf, size_t *ne)
{
    unsigned total = dname_labels(name, NULL);
    unsigned apex = dname_labels(z->origin.wire, NULL);
    for (unsigned labels = total; labels-- > apex;) {
        const uint8_t *encloser = suffix(name, total, labels);
        if (!zone_name_exists(z, encloser))
            continue;
        size_t enc_len = dname_len(encloser);
        uint8_t source[DNS_NAME_MAX];
        if (enc_len + 2 > DNS_NAME_MAX)
            return 0;
        source[0] = 1;
        source[1] = '*';
        memcpy(source + 2, encloser, enc_len);
        return zone_node(z, source, nf, ne);
    }
    return 0;
}

/* RFC 1034 4.3.2 from step 3, in one zone, following in-zone CNAMEs. */
static void lookup(struct response *rs, const struct request *r)
{
    const struct zone *z = rs->zone;
    struct dname current = r->qname;
    for (unsigned chain = 0; chain <= DNS_CNAME_CHAIN_MAX && !rs->truncated; chain++) {
        const uint8_t *name = current.wire;
        size_t nf, ne;
        if (find_cut(z, name, r->qtype, &nf, &ne) == 0) {
            if (rs->counts[ANSWER] == 0)
                rs->flags &= (uint16_t)~FLAG_AA;
            put_referral(rs, nf, ne);
            return;
        }
        const uint8_t *target;
        if (zone_node(z, name, &nf, &ne)) {
            target = answer_node(rs, r, nf, ne, name);
        } else if (zone_name_exists(z, name)) { /* empty non-terminal: NODATA */
            put_negative(rs);
            return;
        } else if (find_wildcard(z, name, &nf, &ne)) {
            target = answer_node(rs, r, nf, ne, name);
        } else {
            rs->rcode = DNS_RCODE_NXDOMAIN;
            put_negative(rs);
            return;
        }
        if (!target || !dname_is_under(target, z->origin.wire))
            return;
        memcpy(current.wire, target, dname_len(target));
        current.len = (uint8_t)dname_len(target);
    }
}

/* OPT in the response (RFC 6891 6.1.3): our payload size, the extended
 * rcode's upper bits, version 0, DO copied. */
static void put_opt(struct response *rs, const struct request *r, uint16_t udp_size)
{
    uint8_t root = 0;
    uint32_t ttl = ((uint32_t)(rs->rcode >> 4) << 24) | (r->edns_flags & OPT_DO);
    msg_put_bytes(&rs->w, &root, 1);
    msg_put_u16(&rs->w, RR_OPT);
    msg_put_u16(&rs->w, udp_size);
    msg_put_u32(&rs->w, ttl);
    msg_put_u16(&rs->w, 0);
    rs->counts[ADDITIONAL]++;
}

/* Header only: for FORMERR before a question could be read, and NOTIMP. */
static size_t bare_error(const uint8_t *query, uint8_t *out, size_t cap, uint8_t rcode)
{
    if (cap < DNS_HDR_LEN)
        return 0;
    uint16_t qflags = get_be16(query + 2);
    memset(out, 0, DNS_HDR_LEN);
    memcpy(out, query, 2);
    put_be16(out + 2, (uint16_t)(FLAG_QR | (qflags & (0xf << OPCODE_SHIFT)) | (qflags & FLAG_RD)
                                 | rcode));
    return DNS_HDR_LEN;
}

size_t dns_query_answer(const struct zone_set *zones, const uint8_t *query, size_t len,
                        const struct dns_query_opts *opts, uint8_t *out, size_t cap,
                        struct dns_axfr_start *axfr)
{
    if (axfr)
        axfr->zone = NULL;
    if (len < DNS_HDR_LEN || (get_be16(query + 2) & FLAG_QR))
        return 0; /* no header to answer, or a response: never answer those */
    uint16_t qflags = get_be16(query + 2);
    if (((qflags >> OPCODE_SHIFT) & 0xf) != OPCODE_QUERY)
        return bare_error(query, out, cap, DNS_RCODE_NOTIMP);
    struct request r;
    memset(&r, 0, sizeof(r));
    r.id = get_be16(query);
    r.flags = qflags;
    if (parse_request(query, len, &r) != DNS_RCODE_NOERROR)
        return bare_error(query, out, cap, DNS_RCODE_FORMERR);

    size_t limit = opts->transport == DNS_OVER_TCP ? DNS_TCP_MAX : DNS_UDP_PLAIN_MAX;
    if (opts->transport == DNS_OVER_UDP && r.edns) {
        limit = r.edns_size < DNS_UDP_PLAIN_MAX ? DNS_UDP_PLAIN_MAX : r.edns_size; /* 6891 6.2.3 */
        if (limit > opts->udp_max)
            limit = opts->udp_max;
    }
    if (limit > cap)
        limit = cap;
    size_t opt_reserve = r.edns ? OPT_LEN : 0;
    if (limit < DNS_HDR_LEN + r.qname.len + 4 + opt_reserve)
        return 0;

    struct response rs;
    memset(&rs, 0, sizeof(rs));
    msg_init(&rs.w, out, limit - opt_reserve);
    /* RD is copied (RFC 1035 4.1.1); CD only by security-aware servers
     * (RFC 4035 3.1.6), which this one is not. */
    rs.flags = (uint16_t)(FLAG_QR | (qflags & FLAG_RD));
    rs.w.len = DNS_HDR_LEN;
    memset(out, 0, DNS_HDR_LEN);
    put_be16(out + 4, 1);
    msg_put_name(&rs.w, r.qname.wire, 0);
    msg_put_u16(&rs.w, r.qtype);
    msg_put_u16(&rs.w, r.qclass);
    rs.question_end = rs.w.len;

    if (r.edns && r.edns_version != 0) {
        rs.rcode = DNS_RCODE_BADVERS; /* RFC 6891 6.1.3: we speak version 0 */
    } else if (r.qtype == RR_OPT || (r.qtype >= 128 && r.qtype <= 250)) {
        rs.rcode = DNS_RCODE_FORMERR; /* meta-types are not questions (RFC 6895 3.1) */
    } else if (r.qclass != DNS_CLASS_IN) {
        rs.rcode = DNS_RCODE_REFUSED;
    } else if (!(rs.zone = zone_set_find(zones, r.qname.wire))) {
        rs.rcode = DNS_RCODE_REFUSED;
    } else if (r.qtype == RR_AXFR || r.qtype == RR_IXFR) {
        /* RFC 5936 4.2: transfers over TCP only, of a whole zone, to
         * allowed clients; IXFR is answered as AXFR is refused here. */
        if (opts->transport != DNS_OVER_TCP || !opts->axfr_allowed
            || !dname_equal(r.qname.wire, rs.zone->origin.wire) || r.qtype == RR_IXFR || !axfr)
            rs.rcode = DNS_RCODE_REFUSED;
        else {
            axfr->zone = rs.zone;
            axfr->id = r.id;
            axfr->qname = r.qname;
            return 0;
        }
    } else {
        rs.flags |= FLAG_AA;
        lookup(&rs, &r);
    }
    rs.w.cap = limit; /* the OPT record's reserved room */
    if (r.edns)
        put_opt(&rs, &r, opts->udp_max);
    put_header(&rs, &r);
    return rs.w.len;
}
