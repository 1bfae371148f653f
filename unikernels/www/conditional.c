/* Validators and ranges (see conditional.h). */
#include "conditional.h"

#include <stdio.h>
#include <string.h>

#include "http_date.h"

void etag_format(uint64_t mtime, uint64_t size, char *out)
{
    snprintf(out, ETAG_MAX, "\"%llx-%llx\"", (unsigned long long)mtime,
             (unsigned long long)size);
}

static int is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

/* RFC 9110 section 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE;
 * sets *opaque (with its quotes) and returns the bytes used, or 0. */
static size_t entity_tag(const uint8_t *p, size_t len, int *weak, const uint8_t **opaque,
                         size_t *opaque_len)
{
    size_t i = 0;
    *weak = 0;
    if (len >= 2 && p[0] == 'W' && p[1] == '/') {
        *weak = 1;
        i = 2;
    }
    if (i >= len || p[i] != '"')
        return 0;
    size_t start = i++;
    while (i < len && p[i] != '"') {
        uint8_t c = p[i];
        if (c != 0x21 && (c < 0x23 || c == 0x7f))
            return 0; /* etagc = %x21 / %x23-7E / obs-text */
        i++;
    }
    if (i == len)
        return 0;
    *opaque = p + start;
    *opaque_len = i + 1 - start;
    return i + 1;
}

int etag_list_matches(const uint8_t *p, size_t len, const char *etag)
{
    size_t i = 0, etag_len = strlen(etag);
    while (i < len && is_ows(p[i]))
        i++;
    if (i < len && p[i] == '*') {
        for (i++; i < len; i++)
            if (!is_ows(p[i]))
                return 0;
        return 1;
    }
    int matched = 0;
    while (i < len) {
        int weak;
        const uint8_t *opaque;
        size_t opaque_len;
        size_t used = entity_tag(p + i, len - i, &weak, &opaque, &opaque_len);
        if (used == 0)
            return 0;
        if (opaque_len == etag_len && memcmp(opaque, etag, etag_len) == 0)
            matched = 1;
        i += used;
        while (i < len && is_ows(p[i]))
            i++;
        if (i < len) {
            if (p[i] != ',')
                return 0;
            i++;
            while (i < len && (is_ows(p[i]) || p[i] == ','))
                i++;
        }
    }
    return matched;
}

int if_range_holds(const uint8_t *p, size_t len, const char *etag, uint64_t mtime)
{
    int weak;
    const uint8_t *opaque;
    size_t opaque_len;
    if (len > 0 && (p[0] == '"' || p[0] == 'W')) {
        size_t used = entity_tag(p, len, &weak, &opaque, &opaque_len);
        return used == len && !weak && opaque_len == strlen(etag)
               && memcmp(opaque, etag, opaque_len) == 0;
    }
    int64_t date;
    return http_date_parse(p, len, &date) == 0 && date >= 0 && (uint64_t)date == mtime;
}

/* Decimal digits at p[*i..len) into *out; 0 if none or too many. */
static int digits(const uint8_t *p, size_t len, size_t *i, uint64_t *out)
{
    uint64_t v = 0;
    size_t start = *i;
    while (*i < len && p[*i] >= '0' && p[*i] <= '9') {
        if (*i - start >= 18)
            return 0;
        v = v * 10 + (uint64_t)(p[(*i)++] - '0');
    }
    *out = v;
    return *i > start;
}

enum range_result range_parse(const uint8_t *p, size_t len, uint64_t size, uint64_t *first,
                              uint64_t *length)
{
    /* the unit is case-insensitive (RFC 9110 section 14.1) */
    static const char unit[] = "bytes=";
    if (len < 6)
        return RANGE_IGNORE;
    for (size_t k = 0; k < 6; k++) {
        uint8_t c = p[k] >= 'A' && p[k] <= 'Z' ? (uint8_t)(p[k] + 32) : p[k];
        if (c != (uint8_t)unit[k])
            return RANGE_IGNORE;
    }
    size_t i = 6;
    while (i < len && is_ows(p[i]))
        i++;
    uint64_t a = 0, b = 0;
    int has_a = digits(p, len, &i, &a);
    if (i >= len || p[i] != '-')
        return RANGE_IGNORE;
    i++;
    int has_b = digits(p, len, &i, &b);
    while (i < len && is_ows(p[i]))
        i++;
    if (i != len || (!has_a && !has_b))
        return RANGE_IGNORE; /* several ranges, or garbage */
    if (!has_a) {
        /* suffix: the last b bytes */
        if (b == 0 || size == 0)
            return RANGE_UNSATISFIABLE;
        *length = b < size ? b : size;
        *first = size - *length;
        return RANGE_SATISFIABLE;
    }
    if (has_b && b < a)
        return RANGE_IGNORE; /* invalid range-spec */
    if (a >= size)
        return RANGE_UNSATISFIABLE;
    uint64_t last = has_b && b < size - 1 ? b : size - 1;
    *first = a;
    *length = last - a + 1;
    return RANGE_SATISFIABLE;
}
