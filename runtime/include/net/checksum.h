/* Internet checksum (RFC 1071) for IPv4, ICMP, UDP and TCP.
 *
 * Both functions return the value to store in the header's checksum field,
 * in host byte order (store it big-endian). Run over data whose checksum
 * field is already filled in, they return 0 when the checksum is valid.
 * Transmit checksums are computed in software, except the TCP checksum of a
 * TSO super-segment on a device with the offload extension
 * (docs/net-offload.md).
 */
#ifndef NET_CHECKSUM_H
#define NET_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

uint16_t net_checksum(const uint8_t *data, size_t len);

/* With the IPv4 pseudo-header of RFC 768 / RFC 9293 section 3.1
 * (source, destination, zero, protocol, length = len); addresses in host
 * byte order. */
uint16_t net_checksum_pseudo(uint32_t src_ip, uint32_t dst_ip, uint8_t proto,
                             const uint8_t *data, size_t len);

/* The folded, uncomplemented sum of the pseudo-header alone: what a
 * checksum-offloading device expects in the field before it adds the
 * segment (virtio 1.2 5.1.6.2, VIRTIO_NET_HDR_F_NEEDS_CSUM). */
uint16_t net_checksum_pseudo_header(uint32_t src_ip, uint32_t dst_ip, uint8_t proto, size_t len);

/* Building blocks: a 32-bit running sum of 16-bit big-endian words, and
 * its fold to the final complemented checksum. */
uint32_t net_checksum_add(uint32_t sum, const uint8_t *data, size_t len);
uint16_t net_checksum_finish(uint32_t sum);

#endif
