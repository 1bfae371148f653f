#include "dname.h"

#include <stdio.h>

static uint8_t lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
}

size_t dname_len(const uint8_t *wire)
{
    size_t at = 0;
    while (wire[at] != 0)
        at += 1u + wire[at];
    return at + 1;
}

unsigned dname_labels(const uint8_t *wire, uint8_t *off)
{
    unsigned n = 0;
    size_t at = 0;
    while (wire[at] != 0) {
        if (off)
            off[n] = (uint8_t)at;
        n++;
        at += 1u + wire[at];
    }
    return n;
}

static int label_compare(const uint8_t *a, const uint8_t *b)
{
    size_t la = a[0], lb = b[0];
    size_t n = la < lb ? la : lb;
    for (size_t i = 1; i <= n; i++) {
        uint8_t ca = lower(a[i]), cb = lower(b[i]);
        if (ca != cb)
            return ca < cb ? -1 : 1;
    }
    return la == lb ? 0 : (la < lb ? -1 : 1);
}

int dname_compare(const uint8_t *a, const uint8_t *b)
{
    uint8_t oa[DNAME_MAX_LABELS], ob[DNAME_MAX_LABELS];
    unsigned na = dname_labels(a, oa), nb = dname_labels(b, ob);
    while (na > 0 && nb > 0) {
        int c = label_compare(a + oa[--na], b + ob[--nb]);
        if (c != 0)
            return c;
    }
    return na == nb ? 0 : (na < nb ? -1 : 1);
}

int dname_equal(const uint8_t *a, const uint8_t *b)
{
    size_t at = 0;
    for (;;) {
        if (a[at] != b[at])
            return 0;
        if (a[at] == 0)
            return 1;
        for (size_t i = 1; i <= a[at]; i++)
            if (lower(a[at + i]) != lower(b[at + i]))
                return 0;
        at += 1u + a[at];
    }
}

int dname_is_under(const uint8_t *name, const uint8_t *ancestor)
{
    size_t nl = dname_len(name), al = dname_len(ancestor);
    if (al > nl)
        return 0;
    /* The ancestor must start on a label boundary of name. */
    size_t at = 0;
    while (nl - at > al)
        at += 1u + name[at];
    return nl - at == al && dname_equal(name + at, ancestor);
}

void dname_lower(uint8_t *wire)
{
    size_t at = 0;
    while (wire[at] != 0) {
        for (size_t i = 1; i <= wire[at]; i++)
            wire[at + i] = lower(wire[at + i]);
        at += 1u + wire[at];
    }
}

int dname_read(const uint8_t *msg, size_t len, size_t off, struct dname *out, size_t *next)
{
    size_t wire_len;
    if (dns_name_unpack(msg, len, off, out->wire, &wire_len, next) != 0)
        return -1;
    out->len = (uint8_t)wire_len;
    return 0;
}

void dname_to_text(const uint8_t *wire, char *out, size_t cap)
{
    size_t at = 0, w = 0;
    if (cap == 0)
        return;
    if (wire[0] == 0) {
        snprintf(out, cap, ".");
        return;
    }
    while (wire[at] != 0) {
        for (size_t i = 1; i <= wire[at]; i++) {
            uint8_t c = wire[at + i];
            char piece[5];
            if (c == '.' || c == '\\' || c == '"' || c == ';' || c == '(' || c == ')'
                || c == '@' || c == '$')
                snprintf(piece, sizeof(piece), "\\%c", (char)c);
            else if (c <= ' ' || c >= 0x7f)
                snprintf(piece, sizeof(piece), "\\%03u", (unsigned)c);
            else
                snprintf(piece, sizeof(piece), "%c", (char)c);
            for (size_t k = 0; piece[k] && w + 1 < cap; k++)
                out[w++] = piece[k];
        }
        if (w + 1 < cap)
            out[w++] = '.';
        at += 1u + wire[at];
    }
    out[w] = 0;
}
