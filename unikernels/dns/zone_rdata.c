#include "zone_rdata.h"

#include <stdio.h>
#include <string.h>

#include "bytes.h"

static int failf(struct zone_error *err, unsigned line, const char *what, const struct zone_token *t)
{
    err->line = line;
    if (t) {
        int shown = t->len > 60 ? 60 : (int)t->len;
        snprintf(err->reason, sizeof(err->reason), "%s: \"%.*s\"", what, shown, t->text);
    } else {
        snprintf(err->reason, sizeof(err->reason), "%s", what);
    }
    return -1;
}

int zone_parse_name(const struct zone_token *t, const struct dname *origin, struct dname *out,
                    struct zone_error *err)
{
    if (t->quoted)
        return failf(err, t->line, "a name cannot be a quoted string", t);
    if (t->len == 1 && t->text[0] == '@') {
        *out = *origin;
        return 0;
    }
    if (t->len == 1 && t->text[0] == '.') {
        out->wire[0] = 0;
        out->len = 1;
        return 0;
    }
    size_t w = 0;      /* bytes written */
    size_t label = 0;  /* where the current label's length byte is */
    int absolute = 0;
    out->wire[0] = 0;
    w = 1;
    for (size_t i = 0; i < t->len; i++) {
        uint8_t b = (uint8_t)t->text[i];
        if (b == '.') {
            if (w - label - 1 == 0)
                return failf(err, t->line, "empty label in name", t);
            if (i + 1 == t->len) {
                absolute = 1;
                break;
            }
            if (w >= DNS_NAME_MAX)
                return failf(err, t->line, "name longer than 255 octets", t);
            label = w;
            out->wire[w++] = 0;
            continue;
        }
        if (b == '\\') {
            struct zone_token one = { t->text + i, t->len - i, t->line, 0 };
            uint8_t digits = (i + 1 < t->len && t->text[i + 1] >= '0' && t->text[i + 1] <= '9');
            one.len = digits ? 4 : 2;
            if (one.len > t->len - i)
                return failf(err, t->line, "bad escape in name", t);
            if (zone_token_bytes(&one, &b, 1, err) != 1)
                return -1;
            i += one.len - 1;
        }
        if (w - label - 1 == DNS_LABEL_MAX)
            return failf(err, t->line, "label longer than 63 octets", t);
        if (w >= DNS_NAME_MAX)
            return failf(err, t->line, "name longer than 255 octets", t);
        out->wire[w++] = b;
        out->wire[label]++;
    }
    if (w - label - 1 == 0)
        return failf(err, t->line, "empty label in name", t);
    if (absolute) {
        if (w + 1 > DNS_NAME_MAX)
            return failf(err, t->line, "name longer than 255 octets", t);
        out->wire[w++] = 0;
    } else {
        if (w + origin->len > DNS_NAME_MAX)
            return failf(err, t->line, "name longer than 255 octets", t);
        memcpy(out->wire + w, origin->wire, origin->len);
        w += origin->len;
    }
    out->len = (uint8_t)w;
    return 0;
}

/* Decimal number of at most max from the token's text; -1 if not. */
static int parse_number(const struct zone_token *t, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (t->quoted || t->len == 0 || t->len > 10)
        return -1;
    for (size_t i = 0; i < t->len; i++) {
        if (t->text[i] < '0' || t->text[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(t->text[i] - '0');
    }
    if (v > max)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int zone_parse_ttl(const struct zone_token *t, uint32_t *out, struct zone_error *err)
{
    uint64_t total = 0, part = 0;
    int digits = 0, units = 0;
    if (t->quoted || t->len == 0 || t->len > 32)
        return failf(err, t->line, "bad TTL", t);
    for (size_t i = 0; i < t->len; i++) {
        char c = t->text[i];
        if (c >= '0' && c <= '9') {
            part = part * 10 + (uint64_t)(c - '0');
            digits = 1;
            if (part > ZONE_TTL_MAX)
                return failf(err, t->line, "TTL above 2147483647 (RFC 2181 8)", t);
            continue;
        }
        uint64_t scale;
        switch (c | 0x20) {
        case 's': scale = 1; break;
        case 'm': scale = 60; break;
        case 'h': scale = 3600; break;
        case 'd': scale = 86400; break;
        case 'w': scale = 604800; break;
        default: return failf(err, t->line, "bad TTL", t);
        }
        if (!digits)
            return failf(err, t->line, "bad TTL", t);
        total += part * scale;
        part = 0;
        digits = 0;
        units = 1;
        if (total > ZONE_TTL_MAX)
            return failf(err, t->line, "TTL above 2147483647 (RFC 2181 8)", t);
    }
    if (digits && units)
        return failf(err, t->line, "bad TTL", t); /* "1h30": a number after units */
    total += part;
    if (total > ZONE_TTL_MAX)
        return failf(err, t->line, "TTL above 2147483647 (RFC 2181 8)", t);
    *out = (uint32_t)total;
    return 0;
}

static const struct {
    const char *name;
    uint16_t type;
} type_names[] = {
    { "A", RR_A },     { "NS", RR_NS },   { "CNAME", RR_CNAME }, { "SOA", RR_SOA },
    { "PTR", RR_PTR }, { "MX", RR_MX },   { "TXT", RR_TXT },     { "AAAA", RR_AAAA },
    { "SRV", RR_SRV }, { "CAA", RR_CAA },
};

uint16_t zone_type_from_token(const struct zone_token *t)
{
    for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
        if (zone_token_is(t, type_names[i].name))
            return type_names[i].type;
    return 0;
}

static int parse_ipv4(const struct zone_token *t, uint8_t *out)
{
    size_t i = 0;
    if (t->quoted)
        return -1;
    for (int part = 0; part < 4; part++) {
        unsigned v = 0, digits = 0;
        while (i < t->len && t->text[i] >= '0' && t->text[i] <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(t->text[i] - '0');
            digits++;
            i++;
        }
        if (digits == 0 || digits > 3 || v > 255)
            return -1;
        out[part] = (uint8_t)v;
        if (part < 3) {
            if (i >= t->len || t->text[i] != '.')
                return -1;
            i++;
        }
    }
    return i == t->len ? 0 : -1;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* RFC 4291 2.2: eight groups, one "::", an optional dotted quad last. */
static int parse_ipv6(const struct zone_token *t, uint8_t *out)
{
    uint16_t groups[8];
    int n = 0, gap = -1;
    size_t i = 0;
    if (t->quoted || t->len < 2)
        return -1;
    if (t->text[0] == ':') {
        if (t->text[1] != ':')
            return -1;
        gap = 0;
        i = 2;
        if (i == t->len)
            goto done;
    }
    for (;;) {
        size_t start = i;
        unsigned v = 0;
        while (i < t->len && hex_value(t->text[i]) >= 0 && i - start < 5) {
            v = v * 16 + (unsigned)hex_value(t->text[i]);
            i++;
        }
        if (i < t->len && t->text[i] == '.') { /* embedded IPv4 */
            struct zone_token tail = { t->text + start, t->len - start, t->line, 0 };
            uint8_t q[4];
            if (n > 6 || parse_ipv4(&tail, q) != 0)
                return -1;
            groups[n++] = (uint16_t)(q[0] << 8 | q[1]);
            groups[n++] = (uint16_t)(q[2] << 8 | q[3]);
            i = t->len;
            break;
        }
        if (i == start || i - start > 4 || n == 8)
            return -1;
        groups[n++] = (uint16_t)v;
        if (i == t->len)
            break;
        if (t->text[i] != ':')
            return -1;
        i++;
        if (i < t->len && t->text[i] == ':') {
            if (gap >= 0)
                return -1;
            gap = n;
            i++;
            if (i == t->len)
                break;
        } else if (i == t->len) {
            return -1;
        }
    }
done:
    if (gap < 0 ? n != 8 : n > 7)
        return -1;
    memset(out, 0, 16);
    int tail = gap < 0 ? 0 : n - gap;
    int head = gap < 0 ? n : gap;
    for (int k = 0; k < head; k++)
        put_be16(out + 2 * k, groups[k]);
    for (int k = 0; k < tail; k++)
        put_be16(out + 2 * (8 - tail + k), groups[head + k]);
    return 0;
}

struct rdata_out {
    uint8_t *buf;
    size_t len;
};

static int need(size_t n, size_t have, unsigned line, struct zone_error *err, const char *what)
{
    if (have < n)
        return failf(err, line, what, NULL);
    if (have > n)
        return failf(err, line, "trailing data after the record's fields", NULL);
    return 0;
}

static int put_name(struct rdata_out *o, const struct zone_token *t, const struct dname *origin,
                    struct zone_error *err)
{
    struct dname name;
    if (zone_parse_name(t, origin, &name, err) != 0)
        return -1;
    memcpy(o->buf + o->len, name.wire, name.len); /* at most 2 names + 20: fits */
    o->len += name.len;
    return 0;
}

static int put_u16(struct rdata_out *o, const struct zone_token *t, const char *what,
                   struct zone_error *err)
{
    uint32_t v;
    if (parse_number(t, 65535, &v) != 0)
        return failf(err, t->line, what, t);
    put_be16(o->buf + o->len, (uint16_t)v);
    o->len += 2;
    return 0;
}

/* One <character-string> (RFC 1035 3.3): at most 255 octets. */
static int put_string(struct rdata_out *o, const struct zone_token *t, struct zone_error *err)
{
    uint8_t bytes[256];
    long n = zone_token_bytes(t, bytes, sizeof(bytes), err);
    if (n < 0)
        return -1;
    if (n > 255)
        return failf(err, t->line, "character string longer than 255 octets", t);
    if (o->len + 1 + (size_t)n > ZONE_RDATA_MAX)
        return failf(err, t->line, "record data longer than 65535 octets", NULL);
    o->buf[o->len++] = (uint8_t)n;
    memcpy(o->buf + o->len, bytes, (size_t)n);
    o->len += (size_t)n;
    return 0;
}

static int caa_tag_ok(const uint8_t *tag, long n)
{
    if (n < 1 || n > 15) /* RFC 8659 4.1.1 */
        return 0;
    for (long i = 0; i < n; i++) {
        uint8_t c = tag[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

long zone_parse_rdata(uint16_t type, const struct zone_token *tk, size_t n,
                      const struct dname *origin, uint8_t *out, struct zone_error *err)
{
    struct rdata_out o = { out, 0 };
    unsigned line = n ? tk[0].line : 0;
    switch (type) {
    case RR_A:
        if (need(1, n, line, err, "A needs an IPv4 address") != 0)
            return -1;
        if (parse_ipv4(&tk[0], out) != 0)
            return failf(err, line, "bad IPv4 address", &tk[0]);
        return 4;
    case RR_AAAA:
        if (need(1, n, line, err, "AAAA needs an IPv6 address") != 0)
            return -1;
        if (parse_ipv6(&tk[0], out) != 0)
            return failf(err, line, "bad IPv6 address", &tk[0]);
        return 16;
    case RR_NS:
    case RR_CNAME:
    case RR_PTR:
        if (need(1, n, line, err, "missing the target name") != 0 || put_name(&o, &tk[0], origin, err) != 0)
            return -1;
        return (long)o.len;
    case RR_MX:
        if (need(2, n, line, err, "MX needs a preference and an exchange name") != 0
            || put_u16(&o, &tk[0], "bad MX preference", err) != 0
            || put_name(&o, &tk[1], origin, err) != 0)
            return -1;
        return (long)o.len;
    case RR_SRV:
        if (need(4, n, line, err, "SRV needs priority, weight, port and target") != 0
            || put_u16(&o, &tk[0], "bad SRV priority", err) != 0
            || put_u16(&o, &tk[1], "bad SRV weight", err) != 0
            || put_u16(&o, &tk[2], "bad SRV port", err) != 0
            || put_name(&o, &tk[3], origin, err) != 0)
            return -1;
        return (long)o.len;
    case RR_SOA:
        if (need(7, n, line, err, "SOA needs mname, rname, serial, refresh, retry, expire, minimum") != 0
            || put_name(&o, &tk[0], origin, err) != 0 || put_name(&o, &tk[1], origin, err) != 0)
            return -1;
        for (size_t i = 2; i < 7; i++) {
            uint32_t v;
            if (i == 2) {
                if (parse_number(&tk[i], 0xffffffffu, &v) != 0)
                    return failf(err, tk[i].line, "bad SOA serial", &tk[i]);
            } else if (zone_parse_ttl(&tk[i], &v, err) != 0) {
                return -1;
            }
            put_be32(o.buf + o.len, v);
            o.len += 4;
        }
        return (long)o.len;
    case RR_TXT:
        if (n == 0)
            return failf(err, line, "TXT needs at least one string", NULL);
        for (size_t i = 0; i < n; i++)
            if (put_string(&o, &tk[i], err) != 0)
                return -1;
        return (long)o.len;
    case RR_CAA: {
        uint32_t flags;
        uint8_t tag[16];
        if (need(3, n, line, err, "CAA needs flags, tag and value") != 0)
            return -1;
        if (parse_number(&tk[0], 255, &flags) != 0)
            return failf(err, line, "bad CAA flags", &tk[0]);
        long tag_len = zone_token_bytes(&tk[1], tag, sizeof(tag), err);
        if (tag_len < 0 || !caa_tag_ok(tag, tag_len))
            return failf(err, line, "bad CAA tag (1 to 15 letters and digits)", &tk[1]);
        out[0] = (uint8_t)flags;
        out[1] = (uint8_t)tag_len;
        memcpy(out + 2, tag, (size_t)tag_len);
        long value = zone_token_bytes(&tk[2], out + 2 + tag_len,
                                      ZONE_RDATA_MAX - 2 - (size_t)tag_len, err);
        if (value < 0)
            return -1;
        return 2 + tag_len + value;
    }
    default:
        return failf(err, line, "unsupported record type", NULL);
    }
}
