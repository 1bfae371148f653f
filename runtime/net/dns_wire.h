/* DNS message format (RFC 1035 section 4.1) for a stub resolver of A
 * records. Name decompression is loop-bounded: every compression pointer
 * must point strictly before the labels that led to it (RFC 1035 4.1.4 "a
 * prior occurrence"), which rules out loops, and names are capped at 255
 * bytes (RFC 1035 2.3.4). Checklist: draft-dashevskyi-dnsrr-antipatterns. */
#ifndef NET_DNS_WIRE_H
#define NET_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define DNS_HDR_LEN 12           /* RFC 1035 4.1.1 */
#define DNS_NAME_MAX 255         /* RFC 1035 2.3.4: octets on the wire */
#define DNS_LABEL_MAX 63         /* RFC 1035 2.3.4 */
#define DNS_PORT 53              /* RFC 1035 4.2.1 */
#define DNS_TYPE_A 1             /* RFC 1035 3.2.2 */
#define DNS_TYPE_CNAME 5
#define DNS_CLASS_IN 1           /* RFC 1035 3.2.4 */
#define DNS_FLAG_QR 0x8000       /* RFC 1035 4.1.1 */
#define DNS_FLAG_TC 0x0200
#define DNS_FLAG_RD 0x0100
#define DNS_OPCODE_MASK 0x7800
#define DNS_RCODE_MASK 0x000f
#define DNS_RCODE_NXDOMAIN 3
#define DNS_MAX_ADDRS 8          /* A records kept per answer */
#define DNS_MAX_RECORDS 64       /* answer records examined per message */

/* Text form of a name: labels joined by '.', lower-cased, no trailing dot. */
#define DNS_TEXT_MAX 254

/* The one name decompressor (the dns unikernel's dname_read uses it too).
 * Reads the possibly compressed name at msg[off] and writes it
 * uncompressed, case kept, root label included, into out[DNS_NAME_MAX];
 * *wire_len is its length (1..255) and *next the offset just past the name
 * in its original position. 0 on success, -1 if malformed. */
int dns_name_unpack(const uint8_t *msg, size_t len, size_t off, uint8_t *out, size_t *wire_len,
                    size_t *next);

/* dns_name_unpack, then the text form into out[DNS_TEXT_MAX + 1]; a label
 * holding '.' or NUL (ambiguous as text) makes the name malformed. */
int dns_name_read(const uint8_t *msg, size_t len, size_t off, char *out, size_t *next);

/* Encodes a dotted name as labels into out; returns the length, or 0 if
 * the name is invalid (empty label, label > 63, total > 255). */
size_t dns_name_encode(const char *name, uint8_t *out, size_t cap);

struct dns_answer {
    uint16_t id;
    uint8_t rcode;
    uint8_t truncated;
    char qname[DNS_TEXT_MAX + 1];
    uint32_t addrs[DNS_MAX_ADDRS];
    size_t n_addrs;
};

/* Parses a response to an A query: one question, then the answer section;
 * keeps A records owned by the question name or the CNAME chain from it.
 * 0 on success, -1 if malformed. */
int dns_parse_response(const uint8_t *msg, size_t len, struct dns_answer *out);

#endif
