/* Segment emission: what to send now (Nagle, sender SWS avoidance,
 * congestion and peer windows) and how each segment is built. */
#include "tcp_internal.h"

#include "net/checksum.h"

uint16_t tcp_output_tso_mss(const struct tcp_engine *e)
{
    return e->out_tso_mss;
}

static void emit(struct tcp_engine *e, uint32_t lip, uint32_t rip, size_t len)
{
    /* A super-segment carries the pseudo-header sum only (the device sums
     * each piece it cuts, RFC 9293 3.1 checksum per segment). */
    uint16_t sum = e->out_tso_mss ? net_checksum_pseudo_header(lip, rip, TCP_PROTO, len)
                                  : net_checksum_pseudo(lip, rip, TCP_PROTO, e->txbuf, len);
    e->txbuf[16] = (uint8_t)(sum >> 8);
    e->txbuf[17] = (uint8_t)sum;
    e->stats.segs_out++;
    e->cfg.output(e->cfg.output_ctx, e->now, lip, rip, e->txbuf, len);
    e->out_tso_mss = 0;
}

/* The most data one segment may carry: one MSS, or with TSO as many whole
 * MSSs as fit in tso_max. */
static uint32_t seg_max(const struct tcp_conn *c)
{
    uint32_t tso = c->e->cfg.tso_max;
    return tso > c->snd_mss ? tso - tso % c->snd_mss : c->snd_mss;
}

void tcp_send_rst(struct tcp_engine *e, uint32_t lip, uint32_t rip, uint16_t lport,
                  uint16_t rport, uint32_t seq, uint32_t ack, uint8_t flags)
{
    size_t n = tcp_header_emit(e->txbuf, lport, rport, seq, ack, flags, 0, 0, -1);
    e->stats.rst_out++;
    emit(e, lip, rip, n);
}

void tcp_send_rst_conn(struct tcp_conn *c)
{
    tcp_send_rst(c->e, c->lip, c->rip, c->lport, c->rport, c->snd_max, c->rcv_nxt,
                 TCP_RST | TCP_ACK);
}

/* The window field to send, and the right edge it advertises (rcv_adv).
 * The edge never moves left (RFC 9293 3.8.6.2.2, RFC 7323 2.4) and moves
 * right only by min(half the buffer, one MSS) or more (receiver SWS
 * avoidance, RFC 9293 3.8.6.2.2). */
uint16_t tcp_rcv_window_field(struct tcp_conn *c, int syn)
{
    /* Before ESTABLISHED there is no ring yet, but all of it is promised. */
    int before = c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED;
    uint32_t space = c->rbuf.buf ? c->rcvbuf - c->rbuf.len : (before ? c->rcvbuf : 0);
    if (syn) {
        /* RFC 7323 2.2: the window in a SYN is never scaled. */
        uint32_t w = space > 0xffffu ? 0xffffu : space;
        c->rcv_adv = c->rcv_nxt + w;
        return (uint16_t)w;
    }
    uint32_t unit = 1u << c->rcv_wscale;
    uint32_t edge = c->rcv_nxt + (space & ~(unit - 1u));
    uint32_t sws = c->rcvbuf / 2 < c->e->cfg.mss ? c->rcvbuf / 2 : c->e->cfg.mss;
    if (seq_lt(edge, c->rcv_adv) || edge - c->rcv_adv < sws)
        edge = c->rcv_adv;
    uint32_t wnd = seq_gt(edge, c->rcv_nxt) ? edge - c->rcv_nxt : 0;
    uint32_t field = (wnd + unit - 1u) >> c->rcv_wscale;
    /* Never advertise more than the ring can hold past the unread data. */
    uint32_t room = c->rbuf.buf ? c->rbuf.cap - c->rbuf.len : (before ? c->rcvbuf + unit : 0);
    if ((uint64_t)field << c->rcv_wscale > room)
        field = room >> c->rcv_wscale;
    if (field > 0xffffu)
        field = 0xffffu;
    c->rcv_adv = c->rcv_nxt + (field << c->rcv_wscale);
    return (uint16_t)field;
}

static void ack_sent(struct tcp_conn *c)
{
    c->ack_now = 0;
    c->delack_deadline = TCP_TIME_NEVER;
    c->rcv_acked = c->rcv_nxt;
}

void tcp_send_syn(struct tcp_conn *c, tcp_time_t now)
{
    struct tcp_engine *e = c->e;
    int synack = c->state == TCP_SYN_RECEIVED;
    uint8_t flags = TCP_SYN | (synack ? TCP_ACK : 0);
    /* The SYN offers window scaling; a SYN-ACK answers it only if the
     * peer's SYN carried the option (RFC 7323 section 2.2). */
    int ws = (!synack || c->wscale_ok) ? c->rcv_wscale : -1;
    uint16_t wnd = tcp_rcv_window_field(c, 1);
    size_t n = tcp_header_emit(e->txbuf, c->lport, c->rport, c->iss, synack ? c->rcv_nxt : 0,
                               flags, wnd, e->cfg.mss, ws);
    if (synack)
        ack_sent(c);
    c->snd_nxt = c->iss + 1;
    if (seq_gt(c->snd_nxt, c->snd_max))
        c->snd_max = c->snd_nxt;
    if (!c->syn_rtx && !c->rtt_timing) {
        c->rtt_timing = 1;
        c->rtt_first = c->iss;
        c->rtt_seq = c->snd_nxt;
        c->rtt_start = now;
    }
    emit(e, c->lip, c->rip, n);
    if (c->rtx_deadline == TCP_TIME_NEVER)
        tcp_rtx_arm(c, now);
}

static void send_plain(struct tcp_conn *c, uint32_t seq)
{
    struct tcp_engine *e = c->e;
    uint16_t wnd = tcp_rcv_window_field(c, 0);
    size_t n = tcp_header_emit(e->txbuf, c->lport, c->rport, seq, c->rcv_nxt, TCP_ACK, wnd, 0,
                               -1);
    ack_sent(c);
    emit(e, c->lip, c->rip, n);
}

/* Segments without data carry SND.MAX, not a SND.NXT rewound by go-back-N:
 * below the peer's RCV.NXT they would be unacceptable, and two stacks
 * answering each other's unacceptable ACKs never stop (BSD does the same). */
void tcp_send_ack(struct tcp_conn *c, tcp_time_t now)
{
    (void)now;
    send_plain(c, c->snd_max);
}

/* RFC 5961 sections 3.2, 4.2, 5.2, throttled per section 7 (per
 * connection, so the counter is no cross-connection side channel as in
 * CVE-2016-5696). */
void tcp_send_challenge_ack(struct tcp_conn *c, tcp_time_t now)
{
    tcp_time_t second = now / 1000000000ull;
    if (second != c->chack_second) {
        c->chack_second = second;
        c->chack_count = 0;
    }
    if (c->chack_count >= TCP_CHALLENGE_ACK_PER_SEC)
        return;
    c->chack_count++;
    c->e->stats.challenge_acks++;
    send_plain(c, c->snd_max);
}

/* RFC 1122 4.2.3.6: <SEQ=SND.UNA-1> with no data elicits an ACK. */
void tcp_send_keepalive(struct tcp_conn *c)
{
    send_plain(c, c->snd_una - 1u);
}

static uint32_t data_end(const struct tcp_conn *c)
{
    return c->snd_una + c->sndq.len;
}

/* Sends one segment starting at seq with up to maxlen bytes of data (and
 * the FIN if it is queued and the data reaches it). */
void tcp_send_data_at(struct tcp_conn *c, tcp_time_t now, uint32_t seq, uint32_t maxlen)
{
    struct tcp_engine *e = c->e;
    uint32_t off = seq - c->snd_una;
    uint32_t avail = c->sndq.len > off ? c->sndq.len - off : 0;
    uint32_t len = avail < maxlen ? avail : maxlen;
    if (len > seg_max(c))
        len = seg_max(c);
    uint8_t flags = TCP_ACK;
    if (len > 0 && len == avail)
        flags |= TCP_PSH;
    if (c->fin_queued && seq + len == data_end(c))
        flags |= TCP_FIN;
    uint16_t wnd = tcp_rcv_window_field(c, 0);
    size_t n = tcp_header_emit(e->txbuf, c->lport, c->rport, seq, c->rcv_nxt, flags, wnd, 0, -1);
    if (len)
        tcp_sendq_read(&c->sndq, off, e->txbuf + n, len);
    ack_sent(c);
    uint32_t end = seq + len + ((flags & TCP_FIN) ? 1u : 0u);
    if (seq_lt(seq, c->snd_max)) {
        e->stats.retransmits++;
        /* Karn: a retransmitted segment gives no RTT sample. Resending an
         * earlier segment leaves the timed one valid: cancelling then
         * would, under steady loss, leave no samples at all and the
         * backed-off RTO stuck at its maximum. */
        if (c->rtt_timing && seq_lt(seq, c->rtt_seq) && seq_gt(end, c->rtt_first))
            c->rtt_timing = 0;
    } else if (!c->rtt_timing && end != seq) {
        c->rtt_timing = 1;
        c->rtt_first = seq;
        c->rtt_seq = end;
        c->rtt_start = now;
    }
    if (seq_gt(end, c->snd_nxt) && seq == c->snd_nxt)
        c->snd_nxt = end;
    if (seq_gt(end, c->snd_max))
        c->snd_max = end;
    e->out_tso_mss = len > c->snd_mss ? c->snd_mss : 0;
    emit(e, c->lip, c->rip, n + len);
    if (end != seq && (c->rtx_deadline == TCP_TIME_NEVER || c->tmode == TCP_TM_PERSIST)) {
        c->tmode = TCP_TM_RTX;
        tcp_rtx_arm(c, now);
    }
}

static int sending_state(enum tcp_state st)
{
    return st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT || st == TCP_FIN_WAIT_1
           || st == TCP_CLOSING || st == TCP_LAST_ACK;
}

void tcp_output(struct tcp_conn *c, tcp_time_t now)
{
    if (c->state == TCP_SYN_SENT || c->state == TCP_CLOSED)
        return;
    if (c->state == TCP_SYN_RECEIVED) {
        if (c->ack_now)
            tcp_send_ack(c, now);
        return;
    }
    if (sending_state(c->state) && c->sndq.ring.buf) {
        for (;;) {
            uint32_t off = c->snd_nxt - c->snd_una;
            uint32_t end = data_end(c);
            int fin_pending = c->fin_queued && c->snd_nxt == end;
            if (seq_gt(c->snd_nxt, end))
                break; /* FIN already sent */
            uint32_t unsent = c->sndq.len - off;
            uint32_t flight = c->snd_nxt - c->snd_una;
            /* RFC 3042 limited transmit: the first two duplicate ACKs
             * each let one new segment out beyond cwnd. */
            uint32_t cwnd = c->cwnd;
            if (!c->in_recovery && c->dupacks > 0 && c->dupacks < TCP_DUPACK_THRESHOLD)
                cwnd += c->dupacks * (uint32_t)c->snd_mss;
            uint32_t wnd = c->snd_wnd < cwnd ? c->snd_wnd : cwnd;
            uint32_t usable = wnd > flight ? wnd - flight : 0;
            uint32_t len = unsent < usable ? unsent : usable;
            if (len > seg_max(c))
                len = seg_max(c);
            /* A super-segment short of the queue ends on a whole MSS, so
             * the device cuts no runt from its tail. */
            if (len > c->snd_mss && len < unsent)
                len -= len % c->snd_mss;
            int ok;
            if (unsent == 0)
                ok = fin_pending; /* a bare FIN needs no window */
            else if (len == 0)
                ok = 0;
            else if (len >= c->snd_mss)
                ok = 1;
            else if (len == unsent && (c->nodelay || c->fin_queued || flight == 0))
                ok = 1; /* Nagle, RFC 896 / RFC 9293 3.7.4 */
            else
                ok = c->max_snd_wnd > 0 && len >= c->max_snd_wnd / 2; /* RFC 9293 3.8.6.2.1 */
            if (!ok)
                break;
            tcp_send_data_at(c, now, c->snd_nxt, len);
        }
        /* Data waiting, nothing in flight: only the peer's window holds it
         * back. Zero window: probe (RFC 9293 3.8.6.1); a window too small to
         * send into: the override timeout (3.8.6.2.1). Both run on the
         * retransmission timer in persist mode. */
        if (c->snd_nxt == c->snd_max && c->snd_una == c->snd_max && c->sndq.len > 0
            && c->rtx_deadline == TCP_TIME_NEVER) {
            c->tmode = TCP_TM_PERSIST;
            tcp_rtx_arm(c, now);
        }
    }
    if (c->ack_now)
        tcp_send_ack(c, now);
}
