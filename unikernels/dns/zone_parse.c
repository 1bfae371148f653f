/* Master file entries to records (RFC 1035 5.1, RFC 2308 4), then the
 * checks a zone must pass before it is served. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zone.h"
#include "zone_db.h"
#include "zone_lexer.h"
#include "zone_rdata.h"

struct parser {
    struct zone_lexer lx;
    struct zone_entry entry;
    struct dname origin; /* current $ORIGIN */
    struct dname owner;  /* the previous entry's owner */
    int have_owner;
    uint32_t default_ttl; /* $TTL */
    int have_default_ttl;
    uint32_t last_ttl; /* the last explicit TTL */
    int have_last_ttl;
    uint8_t rdata[ZONE_RDATA_MAX];
};

static int fail(struct zone_error *err, unsigned line, const char *reason)
{
    err->line = line;
    snprintf(err->reason, sizeof(err->reason), "%s", reason);
    return -1;
}

static int fail_name(struct zone_error *err, unsigned line, const char *what,
                     const uint8_t *name, const char *tail)
{
    char text[96]; /* long names are cut: the line number finds them */
    dname_to_text(name, text, sizeof(text));
    err->line = line;
    snprintf(err->reason, sizeof(err->reason), "%.32s %s%.24s", what, text, tail);
    return -1;
}

int zone_origin_from_file_name(const char *file_name, struct dname *origin,
                               struct zone_error *err)
{
    static const char suffix[] = ".zone";
    const char *base = strrchr(file_name, '/');
    base = base ? base + 1 : file_name;
    size_t n = strlen(base);
    if (n <= sizeof(suffix) - 1 || strcmp(base + n - (sizeof(suffix) - 1), suffix) != 0)
        return fail(err, 0, "a zone file's name must be <zone name>.zone");
    struct zone_token t = { base, n - (sizeof(suffix) - 1), 0, 0 };
    struct dname root = { 1, { 0 } };
    if (t.len == 1 && base[0] == '.')
        return fail(err, 0, "the root zone is not served");
    if (base[t.len - 1] == '.')
        return fail(err, 0, "a zone file's name must be <zone name>.zone");
    if (zone_parse_name(&t, &root, origin, err) != 0)
        return -1;
    dname_lower(origin->wire);
    return 0;
}

static int directive(struct parser *p, struct zone_error *err)
{
    const struct zone_entry *e = &p->entry;
    const struct zone_token *t = &e->tokens[0];
    if (zone_token_is(t, "$INCLUDE"))
        return fail(err, e->line, "$INCLUDE is not supported: put the records in the zone's own file");
    if (zone_token_is(t, "$ORIGIN")) {
        if (e->n != 2)
            return fail(err, e->line, "$ORIGIN needs exactly one name");
        struct dname next;
        if (zone_parse_name(&e->tokens[1], &p->origin, &next, err) != 0)
            return -1;
        p->origin = next;
        return 0;
    }
    if (zone_token_is(t, "$TTL")) {
        if (e->n != 2)
            return fail(err, e->line, "$TTL needs exactly one TTL");
        if (zone_parse_ttl(&e->tokens[1], &p->default_ttl, err) != 0)
            return -1;
        p->have_default_ttl = 1;
        return 0;
    }
    err->line = e->line;
    snprintf(err->reason, sizeof(err->reason), "unknown directive \"%.*s\"",
             t->len > 40 ? 40 : (int)t->len, t->text);
    return -1;
}

static int is_class(const struct zone_token *t)
{
    static const char *const others[] = { "CH", "CS", "HS", "NONE", "ANY" };
    if (zone_token_is(t, "IN"))
        return 1;
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (zone_token_is(t, others[i]))
            return -1;
    if (!t->quoted && t->len > 5 && zone_token_is(&(struct zone_token){ t->text, 5, 0, 0 }, "CLASS"))
        return -1;
    return 0;
}

static int record(struct parser *p, struct zone *zone, struct zone_error *err)
{
    const struct zone_entry *e = &p->entry;
    size_t i = 0;
    if (e->blank_owner) {
        if (!p->have_owner)
            return fail(err, e->line, "no owner name: the first record must name one");
    } else {
        if (zone_parse_name(&e->tokens[0], &p->origin, &p->owner, err) != 0)
            return -1;
        p->have_owner = 1;
        i = 1;
    }
    int have_ttl = 0, have_class = 0;
    uint32_t ttl = 0;
    for (; i < e->n; i++) {
        const struct zone_token *t = &e->tokens[i];
        int klass = is_class(t);
        if (klass < 0) {
            err->line = t->line;
            snprintf(err->reason, sizeof(err->reason),
                     "class %.*s is not supported (only IN)", t->len > 20 ? 20 : (int)t->len,
                     t->text);
            return -1;
        }
        if (klass > 0 && !have_class) {
            have_class = 1;
        } else if (!have_ttl && !t->quoted && t->len > 0 && t->text[0] >= '0' && t->text[0] <= '9') {
            if (zone_parse_ttl(t, &ttl, err) != 0)
                return -1;
            have_ttl = 1;
        } else {
            break;
        }
    }
    if (i == e->n)
        return fail(err, e->line, "missing record type");
    uint16_t type = zone_type_from_token(&e->tokens[i]);
    if (type == 0) {
        const struct zone_token *t = &e->tokens[i];
        err->line = t->line;
        snprintf(err->reason, sizeof(err->reason),
                 "unsupported record type \"%.*s\" (served: A AAAA NS SOA MX TXT CNAME PTR SRV CAA)",
                 t->len > 20 ? 20 : (int)t->len, t->text);
        return -1;
    }
    long rdlen = zone_parse_rdata(type, &e->tokens[i + 1], e->n - i - 1, &p->origin, p->rdata, err);
    if (rdlen < 0) {
        if (err->line == 0)
            err->line = e->line;
        return -1;
    }
    if (have_ttl) {
        p->last_ttl = ttl;
        p->have_last_ttl = 1;
    } else if (p->have_default_ttl) {
        ttl = p->default_ttl;
    } else if (p->have_last_ttl) {
        ttl = p->last_ttl;
    } else {
        return fail(err, e->line, "no TTL: give one or set $TTL before the first record");
    }
    if (!dname_is_under(p->owner.wire, zone->origin.wire))
        return fail_name(err, e->line, "owner", p->owner.wire, " is outside the zone");
    if (zone_db_add(zone, &p->owner, type, ttl, p->rdata, (size_t)rdlen, e->line) != 0)
        return fail(err, e->line, "out of memory");
    return 0;
}

static int same_rdata(const struct zone_rr *a, const struct zone_rr *b)
{
    return a->rdlen == b->rdlen && (a->rdlen == 0 || memcmp(a->rdata, b->rdata, a->rdlen) == 0);
}

/* Drops duplicate records (RFC 2181 5) and checks the zone's shape. */
static int check(struct zone *zone, struct zone_error *err)
{
    size_t kept = 0;
    int have_soa = 0;
    for (size_t i = 0; i < zone->n_rrs; i++) {
        struct zone_rr *rr = &zone->rrs[i];
        if (kept > 0) {
            struct zone_rr *prev = &zone->rrs[kept - 1];
            int same_owner = prev->owner == rr->owner || dname_equal(prev->owner, rr->owner);
            if (same_owner && prev->type == rr->type) {
                if (rr->ttl != prev->ttl) {
                    err->line = rr->line;
                    snprintf(err->reason, sizeof(err->reason),
                             "TTL %u differs from TTL %u of the same RRset on line %u (RFC 2181 5.2)",
                             (unsigned)rr->ttl, (unsigned)prev->ttl, (unsigned)prev->line);
                    return -1;
                }
                if (same_rdata(prev, rr))
                    continue;
                if (rr->type == RR_CNAME)
                    return fail_name(err, rr->line, "more than one CNAME at", rr->owner, "");
            }
            if (same_owner && prev->type != rr->type
                && (prev->type == RR_CNAME || rr->type == RR_CNAME))
                return fail_name(err, rr->line, "CNAME and other data at", rr->owner,
                                 " (RFC 2181 10.1)");
        }
        if (rr->type == RR_SOA) {
            if (!dname_equal(rr->owner, zone->origin.wire))
                return fail_name(err, rr->line, "SOA record at", rr->owner,
                                 ", not at the zone apex");
            if (have_soa)
                return fail(err, rr->line, "more than one SOA record");
            have_soa = 1;
            zone->soa = kept;
        }
        zone->rrs[kept++] = *rr;
    }
    zone->n_rrs = kept;
    if (!have_soa)
        return fail_name(err, 0, "no SOA record at the zone apex", zone->origin.wire, "");
    return 0;
}

int zone_parse(const char *text, size_t len, const struct dname *origin, struct zone *zone,
               struct zone_error *err)
{
    memset(zone, 0, sizeof(*zone));
    err->line = 0;
    err->reason[0] = 0;
    struct parser *p = malloc(sizeof(*p)); /* the buffers need no zeroing */
    if (!p)
        return fail(err, 0, "out of memory");
    p->have_owner = p->have_default_ttl = p->have_last_ttl = 0;
    zone->origin = *origin;
    dname_lower(zone->origin.wire);
    p->origin = zone->origin;
    zone_lexer_init(&p->lx, text, len);
    int rc = 0;
    for (;;) {
        int got = zone_lexer_next(&p->lx, &p->entry, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        const struct zone_token *first = &p->entry.tokens[0];
        if (!p->entry.blank_owner && !first->quoted && first->text[0] == '$')
            rc = directive(p, err);
        else
            rc = record(p, zone, err);
        if (rc != 0)
            break;
    }
    free(p);
    if (rc == 0 && zone_db_sort(zone) != 0)
        rc = fail(err, 0, "out of memory");
    if (rc == 0)
        rc = check(zone, err);
    if (rc != 0) {
        zone_free(zone);
        return -1;
    }
    /* Give back the growth slack of the records array. */
    struct zone_rr *fitted = realloc(zone->rrs, zone->n_rrs * sizeof(*fitted));
    if (fitted) {
        zone->rrs = fitted;
        zone->cap_rrs = zone->n_rrs;
    }
    return 0;
}
