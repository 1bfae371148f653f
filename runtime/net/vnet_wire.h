/* The virtio-net header that precedes each frame on a device with the
 * offload extension (docs/net-offload.md): virtio 1.2 section 5.1.6,
 * struct virtio_net_hdr without num_buffers (Linux
 * include/uapi/linux/virtio_net.h), as a tap with IFF_VNET_HDR and a
 * 10-byte header size carries it: fields in the host's (little-endian)
 * byte order, since the tap is not set to big-endian (TUNSETVNETBE). */
#ifndef NET_VNET_WIRE_H
#define NET_VNET_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define VNET_HDR_LEN 10 /* flags, gso_type, hdr_len, gso_size, csum_start, csum_offset */

/* virtio 1.2 5.1.6: flags. */
#define VNET_F_NEEDS_CSUM 1 /* checksum from csum_start to the end is partial */
#define VNET_F_DATA_VALID 2 /* the device checked the checksums (receive only) */
/* virtio 1.2 5.1.6: gso_type. Only the types this device negotiates
 * (TUN_F_TSO4, no ECN, no TSO6/UFO) are accepted. */
#define VNET_GSO_NONE 0
#define VNET_GSO_TCPV4 1

/* A frame with its header checked: every field is consistent with the
 * frame it precedes, so the stack may rely on them. */
struct vnet_view {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;     /* bytes of headers (Ethernet, IP, TCP) before the data */
    uint16_t gso_size;    /* segment payload size the frame would be split at */
    uint16_t csum_start;  /* offset in the frame of the checksummed range */
    uint16_t csum_offset; /* offset of the checksum field from csum_start */
    const uint8_t *frame; /* the Ethernet frame after the header */
    size_t frame_len;
};

/* 0 if p[0..len) is a virtio-net header followed by a frame and the
 * header is one this device may send: known flags only, DATA_VALID and
 * NEEDS_CSUM not both, a checksum field inside the frame, gso_type NONE or
 * TCPV4 with a non-zero gso_size and one of the two flags. -1 otherwise. */
int vnet_view_check(struct vnet_view *v, const uint8_t *p, size_t len);

/* True if the frame's TCP/UDP checksum must not be verified: the device
 * checked it (DATA_VALID) or it is a partial sum of a frame that never
 * left the host (NEEDS_CSUM). */
static inline int vnet_csum_trusted(const struct vnet_view *v)
{
    return (v->flags & (VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID)) != 0;
}

/* Writes a header for a frame needing nothing (all zero). */
void vnet_emit_plain(uint8_t out[VNET_HDR_LEN]);
/* Writes a header for a TCPv4 segment of a frame whose headers take
 * hdr_len bytes and whose TCP header starts at tcp_off (its checksum field
 * holds the pseudo-header sum): the device completes the checksum and
 * splits the data into gso_size pieces. */
void vnet_emit_tso4(uint8_t out[VNET_HDR_LEN], uint16_t tcp_off, uint16_t hdr_len,
                    uint16_t gso_size);

#endif
