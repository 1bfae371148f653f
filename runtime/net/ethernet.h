/* Ethernet II framing (IEEE 802.3 clause 3.2.6 type field, RFC 894). */
#ifndef NET_ETHERNET_H
#define NET_ETHERNET_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define ETH_ADDR_LEN 6
#define ETH_HDR_LEN 14        /* dst(6) src(6) type(2) */
#define ETH_TYPE_IPV4 0x0800  /* RFC 894 */
#define ETH_TYPE_ARP 0x0806   /* RFC 826 */
#define ETH_TYPE_MIN 0x0600   /* IEEE 802.3: smaller values are lengths, not types */

struct eth_view {
    const uint8_t *p;
    size_t len;
};

/* 0 if p[0..len) holds an Ethernet II header; then every accessor is safe. */
int eth_view_check(struct eth_view *v, const uint8_t *p, size_t len);

static inline const uint8_t *eth_dst(const struct eth_view *v) { return v->p; }
static inline const uint8_t *eth_src(const struct eth_view *v) { return v->p + 6; }
static inline uint16_t eth_type(const struct eth_view *v) { return get_be16(v->p + 12); }
static inline const uint8_t *eth_payload(const struct eth_view *v) { return v->p + ETH_HDR_LEN; }
static inline size_t eth_payload_len(const struct eth_view *v) { return v->len - ETH_HDR_LEN; }

/* Writes a header into out[0..ETH_HDR_LEN). */
void eth_emit(uint8_t *out, const uint8_t dst[6], const uint8_t src[6], uint16_t type);

extern const uint8_t eth_broadcast[ETH_ADDR_LEN];

static inline int eth_is_multicast(const uint8_t *mac) { return mac[0] & 1; }

#endif
