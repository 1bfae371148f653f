/* Domain names in wire form (RFC 1035 3.1): length-prefixed labels ending
 * in the zero-length root label, at most DNS_NAME_MAX octets. Comparisons
 * are ASCII case-insensitive (RFC 4343); ordering is the canonical order
 * of RFC 4034 6.1 (label by label from the right), which keeps every name's
 * descendants right after it: the zone database relies on that. */
#ifndef DNS_DNAME_H
#define DNS_DNAME_H

#include <stddef.h>
#include <stdint.h>

#include "dns_wire.h"

#define DNAME_MAX_LABELS 128 /* 255 octets hold at most 127 labels + root */

struct dname {
    uint8_t len; /* octets, root label included: 1..255 */
    uint8_t wire[DNS_NAME_MAX];
};

/* Octets of the well-formed uncompressed name at wire. */
size_t dname_len(const uint8_t *wire);

/* Number of labels (root excluded); their offsets into off[] if non-NULL. */
unsigned dname_labels(const uint8_t *wire, uint8_t *off);

/* <0, 0, >0 in canonical order (RFC 4034 6.1), case-insensitive. */
int dname_compare(const uint8_t *a, const uint8_t *b);

int dname_equal(const uint8_t *a, const uint8_t *b);

/* 1 if name is ancestor or a descendant of it (or equal). */
int dname_is_under(const uint8_t *name, const uint8_t *ancestor);

/* Lower-cases the ASCII letters of a name in place. */
void dname_lower(uint8_t *wire);

/* Reads the possibly compressed name at msg[off] (RFC 1035 4.1.4), keeping
 * its case, with the runtime's decompressor (dns_name_unpack in
 * runtime/net/dns_wire.c: a pointer must point strictly before the labels
 * that led to it, so decompression cannot loop). *next is the offset just
 * past the name as it appears at off. 0 on success, -1 if malformed. */
int dname_read(const uint8_t *msg, size_t len, size_t off, struct dname *out, size_t *next);

/* Presentation form (RFC 1035 5.1): dotted, absolute, "\." and "\DDD"
 * escapes; "." for the root. Truncated to cap - 1 characters. */
void dname_to_text(const uint8_t *wire, char *out, size_t cap);

#endif
