/* ICMP (RFC 792): echo reply and rate-limited port unreachable. */
#include <stdlib.h>
#include <string.h>

#include "icmp_wire.h"
#include "ipv4_wire.h"
#include "net/checksum.h"
#include "stack_internal.h"

#define ICMP_ERR_BURST 10               /* RFC 1812 4.3.2.8: errors sent back to back at most */
#define ICMP_ERR_INTERVAL NET_MSEC(100) /* then one per 100 ms (10/s) */
#define ICMP_ERR_ORIG_DATA 8            /* RFC 792 page 5: header + first 64 bits of data */
#define ICMP_CODE_REASM_TIMEOUT 1       /* RFC 792 page 6: fragment reassembly time exceeded */

static void icmp_send(struct net_stack *s, net_time_t now, uint32_t dst, uint8_t type, uint8_t code,
                      const uint8_t rest[4], const uint8_t *body, size_t body_len)
{
    size_t len = ICMP_HDR_LEN + body_len;
    uint8_t *m = malloc(len);
    if (!m)
        return;
    m[0] = type;
    m[1] = code;
    put_be16(m + 2, 0);
    memcpy(m + 4, rest, 4);
    if (body_len)
        memcpy(m + ICMP_HDR_LEN, body, body_len);
    put_be16(m + 2, net_checksum(m, len));
    (void)net_ipv4_output(s, now, dst, IPV4_PROTO_ICMP, m, len);
    free(m);
}

void icmp_input(struct net_stack *s, net_time_t now, uint32_t src, uint32_t dst,
                const uint8_t *payload, size_t len)
{
    struct icmp_view v;
    if (icmp_view_check(&v, payload, len) != 0)
        return;
#ifndef NET_SKIP_RX_CHECKSUM
    if (!icmp_checksum_ok(&v))
        return;
#endif
    /* RFC 1122 3.2.2.6: echo to a broadcast address may be ignored; it is,
     * so the stack is no smurf amplifier. */
    if (icmp_type(&v) != ICMP_ECHO_REQUEST || icmp_code(&v) != 0 || dst != s->addr)
        return;
    icmp_send(s, now, src, ICMP_ECHO_REPLY, 0, v.p + 4, icmp_body(&v), icmp_body_len(&v));
}

/* Token bucket: one token per interval, at most ICMP_ERR_BURST saved. */
static int icmp_error_allowed(struct net_stack *s, net_time_t now)
{
    if (!s->icmp_bucket_started) {
        s->icmp_bucket_started = 1;
        s->icmp_tokens = ICMP_ERR_BURST;
        s->icmp_last_refill = now;
    }
    if (now > s->icmp_last_refill) {
        net_time_t periods = (now - s->icmp_last_refill) / ICMP_ERR_INTERVAL;
        if (periods >= ICMP_ERR_BURST - s->icmp_tokens) {
            s->icmp_tokens = ICMP_ERR_BURST;
            s->icmp_last_refill = now;
        } else {
            s->icmp_tokens += (uint32_t)periods;
            s->icmp_last_refill += periods * ICMP_ERR_INTERVAL;
        }
    }
    if (s->icmp_tokens == 0) {
        s->stats.icmp_rate_limited++;
        return 0;
    }
    s->icmp_tokens--;
    return 1;
}

static void icmp_send_error(struct net_stack *s, net_time_t now, uint32_t dst, uint8_t type,
                            uint8_t code, const uint8_t *hdr, size_t hdr_len,
                            const uint8_t *payload, size_t len)
{
    if (!icmp_error_allowed(s, now))
        return;
    size_t take = len < ICMP_ERR_ORIG_DATA ? len : ICMP_ERR_ORIG_DATA;
    uint8_t body[60 + ICMP_ERR_ORIG_DATA]; /* IPv4 header is at most 60 bytes */
    memcpy(body, hdr, hdr_len);
    if (take)
        memcpy(body + hdr_len, payload, take);
    static const uint8_t unused[4];
    icmp_send(s, now, dst, type, code, unused, body, hdr_len + take);
}

void icmp_send_port_unreachable(struct net_stack *s, net_time_t now, uint32_t src,
                                const uint8_t *hdr, size_t hdr_len, const uint8_t *payload,
                                size_t len)
{
    icmp_send_error(s, now, src, ICMP_DEST_UNREACH, ICMP_CODE_PORT_UNREACH, hdr, hdr_len,
                    payload, len);
}

void icmp_send_reassembly_timeout(struct net_stack *s, net_time_t now,
                                  const struct reasm_datagram *d)
{
    if (d->first_hdr_len == 0 || d->dst != s->addr)
        return; /* no first fragment to quote, or sent to a broadcast */
    size_t have = 0; /* bytes held from offset 0: the first fragment's */
    for (size_t i = 0; i < d->n_ranges; i++)
        if (d->ranges[i].start == 0)
            have = d->ranges[i].end;
    icmp_send_error(s, now, d->src, ICMP_TIME_EXCEEDED, ICMP_CODE_REASM_TIMEOUT, d->first_hdr,
                    d->first_hdr_len, d->buf, have);
}
