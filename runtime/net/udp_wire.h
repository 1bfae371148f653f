/* UDP header format (RFC 768). */
#ifndef NET_UDP_WIRE_H
#define NET_UDP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define UDP_HDR_LEN 8

struct udp_view {
    const uint8_t *p;
    size_t len; /* the header's Length field, <= the IP payload length */
};

/* 0 if p[0..len) holds a UDP header whose Length is >= 8 and <= len. */
int udp_view_check(struct udp_view *v, const uint8_t *p, size_t len);
/* RFC 768: a zero checksum means none was computed; else verify with the pseudo-header. */
int udp_checksum_ok(const struct udp_view *v, uint32_t src, uint32_t dst);

static inline uint16_t udp_src_port(const struct udp_view *v) { return get_be16(v->p); }
static inline uint16_t udp_dst_port(const struct udp_view *v) { return get_be16(v->p + 2); }
static inline uint16_t udp_checksum_field(const struct udp_view *v) { return get_be16(v->p + 6); }
static inline const uint8_t *udp_payload(const struct udp_view *v) { return v->p + UDP_HDR_LEN; }
static inline size_t udp_payload_len(const struct udp_view *v) { return v->len - UDP_HDR_LEN; }

/* Writes the header for out[UDP_HDR_LEN..UDP_HDR_LEN+payload_len) (already
 * in place) and its checksum. */
void udp_emit(uint8_t *out, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
              size_t payload_len);

#endif
