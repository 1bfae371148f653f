/* TCP segment wire format (RFC 9293 section 3.1) and options
 * (MSS: section 3.2; window scale: RFC 7323 section 2).
 *
 * tcp_segment_parse() checks the lengths once; the resulting struct only
 * holds values and a pointer/length pair for the payload that lies
 * inside the checked buffer. tcp_segment_emit() writes a header.
 */
#ifndef NET_TCP_WIRE_H
#define NET_TCP_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define TCP_HDR_MIN 20u          /* RFC 9293 section 3.1: data offset >= 5 words */
#define TCP_HDR_MAX 60u          /* data offset is 4 bits of 32-bit words */

/* Control bits, RFC 9293 section 3.1 (plus ECE/CWR, RFC 3168). */
#define TCP_FIN 0x01u
#define TCP_SYN 0x02u
#define TCP_RST 0x04u
#define TCP_PSH 0x08u
#define TCP_ACK 0x10u
#define TCP_URG 0x20u
#define TCP_ECE 0x40u
#define TCP_CWR 0x80u

/* Option kinds, RFC 9293 section 3.2 and RFC 7323 section 2.2. */
#define TCP_OPT_EOL 0u
#define TCP_OPT_NOP 1u
#define TCP_OPT_MSS 2u
#define TCP_OPT_MSS_LEN 4u
#define TCP_OPT_WS 3u
#define TCP_OPT_WS_LEN 3u
#define TCP_WS_MAX 14u           /* RFC 7323 section 2.3: larger shifts are treated as 14 */

struct tcp_segment {
    uint16_t src_port, dst_port;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t window;
    uint16_t checksum;
    uint16_t urgent;
    uint8_t hdr_len;
    /* options */
    uint8_t has_mss, has_ws;
    uint16_t mss;
    uint8_t ws;                  /* already clamped to TCP_WS_MAX */
    const uint8_t *payload;
    size_t payload_len;
};

/* 0 on success; -1 when the buffer is too short, the data offset is out
 * of range, or an option is malformed (length < 2 or past the header, or
 * MSS/WS with the wrong length). */
int tcp_segment_parse(struct tcp_segment *seg, const uint8_t *buf, size_t len);

/* Sequence space a segment occupies: payload + SYN + FIN (section 3.4). */
static inline uint32_t tcp_segment_seq_len(const struct tcp_segment *seg)
{
    return (uint32_t)seg->payload_len + ((seg->flags & TCP_SYN) ? 1u : 0u)
           + ((seg->flags & TCP_FIN) ? 1u : 0u);
}

/* Writes a header (checksum 0) with the given options into out, which
 * must hold TCP_HDR_MAX bytes; returns the header length. mss 0 and
 * ws < 0 leave those options out. */
size_t tcp_header_emit(uint8_t *out, uint16_t src_port, uint16_t dst_port, uint32_t seq,
                       uint32_t ack, uint8_t flags, uint16_t window, uint16_t mss, int ws);

#endif
