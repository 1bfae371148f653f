/* ARP packet format for Ethernet/IPv4 (RFC 826). */
#ifndef NET_ARP_WIRE_H
#define NET_ARP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "bytes.h"

#define ARP_LEN 28            /* RFC 826 packet with hlen 6, plen 4 */
#define ARP_HTYPE_ETHER 1     /* RFC 826 ar$hrd: Ethernet (IANA ARP parameters) */
#define ARP_PTYPE_IPV4 0x0800 /* RFC 826 ar$pro */
#define ARP_OP_REQUEST 1      /* RFC 826 ar$op */
#define ARP_OP_REPLY 2

struct arp_view {
    const uint8_t *p;
};

/* 0 if the packet is an Ethernet/IPv4 ARP packet of at least ARP_LEN bytes. */
int arp_view_check(struct arp_view *v, const uint8_t *p, size_t len);

static inline uint16_t arp_op(const struct arp_view *v) { return get_be16(v->p + 6); }
static inline const uint8_t *arp_sha(const struct arp_view *v) { return v->p + 8; }
static inline uint32_t arp_spa(const struct arp_view *v) { return get_be32(v->p + 14); }
static inline const uint8_t *arp_tha(const struct arp_view *v) { return v->p + 18; }
static inline uint32_t arp_tpa(const struct arp_view *v) { return get_be32(v->p + 24); }

void arp_emit(uint8_t out[ARP_LEN], uint16_t op, const uint8_t sha[6], uint32_t spa,
              const uint8_t tha[6], uint32_t tpa);

#endif
