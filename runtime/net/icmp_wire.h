/* ICMP message format (RFC 792). */
#ifndef NET_ICMP_WIRE_H
#define NET_ICMP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define ICMP_HDR_LEN 8             /* type, code, checksum, 4 bytes rest-of-header */
#define ICMP_ECHO_REPLY 0          /* RFC 792 page 14 */
#define ICMP_DEST_UNREACH 3        /* RFC 792 page 4 */
#define ICMP_CODE_PORT_UNREACH 3   /* RFC 792 page 5: port unreachable */
#define ICMP_ECHO_REQUEST 8        /* RFC 792 page 14 */
#define ICMP_TIME_EXCEEDED 11      /* RFC 792 page 6 */

struct icmp_view {
    const uint8_t *p;
    size_t len;
};

int icmp_view_check(struct icmp_view *v, const uint8_t *p, size_t len);
int icmp_checksum_ok(const struct icmp_view *v);

static inline uint8_t icmp_type(const struct icmp_view *v) { return v->p[0]; }
static inline uint8_t icmp_code(const struct icmp_view *v) { return v->p[1]; }
/* Echo identifier and sequence number (RFC 792 page 14). */
static inline uint16_t icmp_echo_id(const struct icmp_view *v) { return get_be16(v->p + 4); }
static inline uint16_t icmp_echo_seq(const struct icmp_view *v) { return get_be16(v->p + 6); }
static inline const uint8_t *icmp_body(const struct icmp_view *v) { return v->p + ICMP_HDR_LEN; }
static inline size_t icmp_body_len(const struct icmp_view *v) { return v->len - ICMP_HDR_LEN; }

#endif
