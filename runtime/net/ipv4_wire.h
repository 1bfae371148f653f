/* IPv4 header format (RFC 791 section 3.1). */
#ifndef NET_IPV4_WIRE_H
#define NET_IPV4_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define IPV4_HDR_MIN 20           /* RFC 791 3.1: IHL >= 5 words */
#define IPV4_MAX_LEN 65535        /* RFC 791 3.1: Total Length is 16 bits */
#define IPV4_FLAG_DF 0x4000       /* RFC 791 3.1: Don't Fragment */
#define IPV4_FLAG_MF 0x2000       /* RFC 791 3.1: More Fragments */
#define IPV4_OFFSET_MASK 0x1fff   /* RFC 791 3.1: fragment offset in 8-octet units */
#define IPV4_DEFAULT_TTL 64       /* RFC 1700 / IANA recommended default TTL */
#define IPV4_PROTO_ICMP 1         /* IANA protocol numbers */
#define IPV4_PROTO_TCP 6
#define IPV4_PROTO_UDP 17
#define IPV4_BROADCAST 0xffffffffu /* RFC 919 limited broadcast */

struct ipv4_view {
    const uint8_t *p;
    size_t hdr_len;   /* IHL * 4, options included */
    size_t total_len; /* Total Length; bytes beyond it (Ethernet padding) are ignored */
};

/* 0 if p[0..len) starts with a valid IPv4 header: version 4, IHL >= 5,
 * IHL*4 <= Total Length <= len. The header checksum is checked separately
 * (ipv4_checksum_ok) so fuzzers can reach deeper code. */
int ipv4_view_check(struct ipv4_view *v, const uint8_t *p, size_t len);
int ipv4_checksum_ok(const struct ipv4_view *v);

static inline uint8_t ipv4_tos(const struct ipv4_view *v) { return v->p[1]; }
static inline uint16_t ipv4_id(const struct ipv4_view *v) { return get_be16(v->p + 4); }
static inline uint16_t ipv4_flags_frag(const struct ipv4_view *v) { return get_be16(v->p + 6); }
static inline uint8_t ipv4_ttl(const struct ipv4_view *v) { return v->p[8]; }
static inline uint8_t ipv4_proto(const struct ipv4_view *v) { return v->p[9]; }
static inline uint32_t ipv4_src(const struct ipv4_view *v) { return get_be32(v->p + 12); }
static inline uint32_t ipv4_dst(const struct ipv4_view *v) { return get_be32(v->p + 16); }
static inline const uint8_t *ipv4_payload(const struct ipv4_view *v) { return v->p + v->hdr_len; }
static inline size_t ipv4_payload_len(const struct ipv4_view *v)
{
    return v->total_len - v->hdr_len;
}
static inline int ipv4_more_fragments(const struct ipv4_view *v)
{
    return (ipv4_flags_frag(v) & IPV4_FLAG_MF) != 0;
}
/* Fragment offset in bytes. */
static inline size_t ipv4_frag_offset(const struct ipv4_view *v)
{
    return (size_t)(ipv4_flags_frag(v) & IPV4_OFFSET_MASK) * 8;
}

/* Writes a 20-byte header without options, checksum filled in. */
void ipv4_emit(uint8_t out[IPV4_HDR_MIN], uint32_t src, uint32_t dst, uint8_t proto,
               uint16_t id, uint16_t flags_frag, uint8_t ttl, size_t payload_len);

#endif
