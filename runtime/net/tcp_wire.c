/* TCP header and option parsing/emission, RFC 9293 sections 3.1-3.2. */
#include "net/tcp_wire.h"

#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Options occupy opt[0..len); every read below stays inside that range. */
static int parse_options(struct tcp_segment *seg, const uint8_t *opt, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t kind = opt[i];
        if (kind == TCP_OPT_EOL)
            return 0;
        if (kind == TCP_OPT_NOP) {
            i++;
            continue;
        }
        /* RFC 9293 section 3.1: every other option carries a length octet
         * that counts kind and length; a bad one must not crash us. */
        if (len - i < 2)
            return -1;
        uint8_t olen = opt[i + 1];
        if (olen < 2 || olen > len - i)
            return -1;
        if (kind == TCP_OPT_MSS) {
            if (olen != TCP_OPT_MSS_LEN)
                return -1;
            seg->has_mss = 1;
            seg->mss = rd16(opt + i + 2);
        } else if (kind == TCP_OPT_WS) {
            if (olen != TCP_OPT_WS_LEN)
                return -1;
            seg->has_ws = 1;
            seg->ws = opt[i + 2] > TCP_WS_MAX ? (uint8_t)TCP_WS_MAX : opt[i + 2];
        }
        i += olen;
    }
    return 0;
}

int tcp_segment_parse(struct tcp_segment *seg, const uint8_t *buf, size_t len)
{
    memset(seg, 0, sizeof(*seg));
    if (len < TCP_HDR_MIN)
        return -1;
    size_t hdr_len = (size_t)(buf[12] >> 4) * 4u;
    if (hdr_len < TCP_HDR_MIN || hdr_len > len)
        return -1;
    seg->src_port = rd16(buf);
    seg->dst_port = rd16(buf + 2);
    seg->seq = rd32(buf + 4);
    seg->ack = rd32(buf + 8);
    seg->flags = buf[13];
    seg->window = rd16(buf + 14);
    seg->checksum = rd16(buf + 16);
    seg->urgent = rd16(buf + 18);
    seg->hdr_len = (uint8_t)hdr_len;
    if (parse_options(seg, buf + TCP_HDR_MIN, hdr_len - TCP_HDR_MIN) != 0)
        return -1;
    seg->payload = buf + hdr_len;
    seg->payload_len = len - hdr_len;
    return 0;
}

size_t tcp_header_emit(uint8_t *out, uint16_t src_port, uint16_t dst_port, uint32_t seq,
                       uint32_t ack, uint8_t flags, uint16_t window, uint16_t mss, int ws)
{
    size_t n = TCP_HDR_MIN;
    if (mss) {
        out[n] = TCP_OPT_MSS;
        out[n + 1] = TCP_OPT_MSS_LEN;
        wr16(out + n + 2, mss);
        n += 4;
    }
    if (ws >= 0) {
        /* NOP first so the option block stays a multiple of 4 bytes. */
        out[n] = TCP_OPT_NOP;
        out[n + 1] = TCP_OPT_WS;
        out[n + 2] = TCP_OPT_WS_LEN;
        out[n + 3] = (uint8_t)ws;
        n += 4;
    }
    wr16(out, src_port);
    wr16(out + 2, dst_port);
    wr32(out + 4, seq);
    wr32(out + 8, ack);
    out[12] = (uint8_t)((n / 4u) << 4);
    out[13] = flags;
    wr16(out + 14, window);
    wr16(out + 16, 0);
    wr16(out + 18, 0);
    return n;
}
