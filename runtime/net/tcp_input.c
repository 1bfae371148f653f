/* SEGMENT ARRIVES, RFC 9293 section 3.10.7, with RFC 5961 (RST/SYN/ACK
 * checks and challenge ACKs), RFC 7323 window scaling, RFC 6298 RTT
 * sampling and RFC 5681/6582 NewReno. */
#include "tcp_internal.h"

static uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* MSS (RFC 9293 3.7.1) and window scale (RFC 7323 2.2) from a SYN. */
static void apply_syn_options(struct tcp_conn *c, const struct tcp_segment *seg)
{
    uint32_t mss = seg->has_mss ? seg->mss : TCP_DEFAULT_MSS;
    if (mss < TCP_MIN_MSS)
        mss = TCP_MIN_MSS;
    c->snd_mss = (uint16_t)min_u32(mss, c->e->cfg.mss);
    if (seg->has_ws) {
        c->wscale_ok = 1;
        c->snd_wscale = seg->ws;
    } else {
        /* Scaling is on only if both SYNs carry the option. */
        c->wscale_ok = 0;
        c->snd_wscale = 0;
        c->rcv_wscale = 0;
        c->rcvbuf = min_u32(c->e->cfg.rcvbuf, 0xffffu);
    }
}

static void set_snd_window(struct tcp_conn *c, uint32_t wnd, uint32_t seq, uint32_t ack)
{
    c->snd_wnd = wnd;
    c->snd_wl1 = seq;
    c->snd_wl2 = ack;
    if (wnd > c->max_snd_wnd)
        c->max_snd_wnd = wnd;
}

/* 0, or -1 when the buffers cannot be had (the connection is reset). */
static int establish(struct tcp_conn *c, tcp_time_t now, uint32_t ack)
{
    if (tcp_conn_buffers(c) != 0) {
        tcp_send_rst_conn(c);
        tcp_conn_set_closed(c, TCP_ENOMEM);
        return -1;
    }
    if (c->rtt_timing && seq_ge(ack, c->rtt_seq)) {
        tcp_rtt_sample(c, now > c->rtt_start ? now - c->rtt_start : 0);
        c->rtt_timing = 0;
    }
    c->snd_una = ack;
    /* RFC 5681 3.1: one segment after a lost SYN; RFC 6298 (5.7): 3 s. */
    c->cwnd = c->syn_rtx ? c->snd_mss : tcp_initial_cwnd(c->snd_mss);
    if (c->syn_rtx)
        c->rto = TCP_RTO_SYN_FALLBACK;
    c->retries = 0;
    tcp_rtx_stop(c);
    if (c->ka_idle)
        c->ka_deadline = now + c->ka_idle;
    c->pending_ev |= TCP_EV_CONNECTED;
    if (c->fin_queued) {
        tcp_set_state(c, TCP_FIN_WAIT_1, now);
    } else {
        tcp_set_state(c, TCP_ESTABLISHED, now);
    }
    struct tcp_listener *l = c->listener;
    if (l) {
        l->n_syn--;
        c->in_ready = 1;
        c->ready_next = NULL;
        if (l->ready_tail)
            l->ready_tail->ready_next = c;
        else
            l->ready_head = c;
        l->ready_tail = c;
        l->n_ready++;
    }
    return 0;
}

void tcp_listen_input(struct tcp_listener *l, tcp_time_t now, uint32_t src_ip,
                      uint32_t dst_ip, const struct tcp_segment *seg)
{
    struct tcp_engine *e = l->e;
    /* RFC 9293 3.10.7.2, LISTEN */
    if (seg->flags & TCP_RST)
        return;
    if (seg->flags & TCP_ACK) {
        tcp_send_rst(e, dst_ip, src_ip, seg->dst_port, seg->src_port, seg->ack, 0, TCP_RST);
        return;
    }
    if (!(seg->flags & TCP_SYN))
        return;
    if (l->n_syn + l->n_ready >= l->backlog) {
        e->stats.backlog_drops++;
        return;
    }
    struct tcp_conn *c = tcp_conn_new(e, now, dst_ip, seg->dst_port, src_ip, seg->src_port);
    if (!c) {
        e->stats.backlog_drops++;
        return;
    }
    c->passive = 1;
    c->listener = l;
    l->n_syn++;
    c->irs = seg->seq;
    c->rcv_nxt = seg->seq + 1;
    c->rcv_acked = c->rcv_nxt;
    apply_syn_options(c, seg);
    set_snd_window(c, seg->window, seg->seq, 0); /* never scaled in a SYN */
    c->state = TCP_SYN_RECEIVED;
    /* Data in the SYN is not acknowledged; the peer sends it again. */
    tcp_send_syn(c, now);
}

static void syn_sent_input(struct tcp_conn *c, tcp_time_t now, const struct tcp_segment *seg)
{
    /* RFC 9293 3.10.7.3 */
    if (seg->flags & TCP_ACK) {
        if (seq_le(seg->ack, c->iss) || seq_gt(seg->ack, c->snd_max)) {
            if (!(seg->flags & TCP_RST))
                tcp_send_rst(c->e, c->lip, c->rip, c->lport, c->rport, seg->ack, 0, TCP_RST);
            return;
        }
    }
    if (seg->flags & TCP_RST) {
        /* RFC 5961 3.2: in SYN-SENT a RST counts only if it ACKs our SYN. */
        if (seg->flags & TCP_ACK)
            tcp_conn_set_closed(c, TCP_ECONNREFUSED);
        return;
    }
    if (!(seg->flags & TCP_SYN))
        return;
    c->irs = seg->seq;
    c->rcv_nxt = seg->seq + 1;
    c->rcv_acked = c->rcv_nxt;
    apply_syn_options(c, seg);
    set_snd_window(c, seg->window, seg->seq, seg->ack);
    if (seg->flags & TCP_ACK) {
        if (establish(c, now, seg->ack) == 0)
            tcp_send_ack(c, now);
        return;
    }
    /* Simultaneous open (RFC 9293 figure 7): answer with SYN,ACK. */
    c->state = TCP_SYN_RECEIVED;
    c->rtx_deadline = TCP_TIME_NEVER;
    tcp_send_syn(c, now);
}

static void fast_retransmit(struct tcp_conn *c, tcp_time_t now)
{
    /* RFC 6582 3.2 step 1: only when the ACK covers more than recover. */
    if (!seq_ge(c->snd_una, c->recover))
        return;
    uint32_t flight = c->snd_max - c->snd_una;
    uint32_t half = flight / 2;
    c->ssthresh = half > 2u * c->snd_mss ? half : 2u * c->snd_mss; /* RFC 5681 eq. (4) */
    c->recover = c->snd_max;
    c->in_recovery = 1;
    c->partial_acked = 0;
    tcp_send_data_at(c, now, c->snd_una, c->snd_mss);
    c->cwnd = c->ssthresh + TCP_DUPACK_THRESHOLD * c->snd_mss; /* RFC 6582 3.2 step 2 */
}

static void on_dupack(struct tcp_conn *c, tcp_time_t now)
{
    c->dupacks++;
    if (c->in_recovery)
        c->cwnd += c->snd_mss; /* RFC 6582 3.2 step 3: inflate */
    else if (c->dupacks == TCP_DUPACK_THRESHOLD)
        fast_retransmit(c, now);
}

static void on_new_ack(struct tcp_conn *c, tcp_time_t now, uint32_t ack)
{
    uint32_t acked = ack - c->snd_una;
    if (c->rtt_timing && seq_ge(ack, c->rtt_seq)) {
        tcp_rtt_sample(c, now > c->rtt_start ? now - c->rtt_start : 0);
        c->rtt_timing = 0;
    }
    uint32_t data = min_u32(acked, c->sndq.len);
    if (data)
        tcp_sendq_consume(&c->sndq, data);
    if (acked > data)
        c->our_fin_acked = 1; /* the FIN follows the data in sequence space */
    c->snd_una = ack;
    if (seq_lt(c->snd_nxt, ack))
        c->snd_nxt = ack;
    c->retries = 0;
    int restart_timer = 1;
    if (c->in_recovery) {
        if (seq_ge(ack, c->recover)) {
            /* Full ACK, RFC 6582 3.2 step 3 option (1). */
            uint32_t flight = c->snd_max - c->snd_una;
            uint32_t deflated = (flight > c->snd_mss ? flight : c->snd_mss) + c->snd_mss;
            c->cwnd = min_u32(c->ssthresh, deflated);
            c->in_recovery = 0;
            c->dupacks = 0;
        } else {
            /* Partial ACK, RFC 6582 3.2 step 4. */
            tcp_send_data_at(c, now, c->snd_una, c->snd_mss);
            c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
            if (acked >= c->snd_mss)
                c->cwnd += c->snd_mss;
            if (c->cwnd < c->snd_mss)
                c->cwnd = c->snd_mss;
            restart_timer = !c->partial_acked; /* only the first resets the timer */
            c->partial_acked = 1;
        }
    } else {
        c->dupacks = 0;
        if (c->cwnd < c->ssthresh) {
            c->cwnd += min_u32(acked, c->snd_mss); /* RFC 5681 eq. (2) */
        } else {
            uint32_t inc = (uint32_t)((uint64_t)c->snd_mss * c->snd_mss / c->cwnd);
            c->cwnd += inc ? inc : 1u; /* RFC 5681 eq. (3) */
        }
    }
    if (c->cwnd > (1u << 30))
        c->cwnd = 1u << 30;
    if (c->snd_una == c->snd_max)
        tcp_rtx_stop(c); /* RFC 6298 (5.2) */
    else if (restart_timer) {
        c->tmode = TCP_TM_RTX;
        tcp_rtx_arm(c, now); /* (5.3) */
    }
    /* Ring space or reference budget came free (or the ring has room). */
    if (c->want_write && (data > 0 || tcp_sendq_copy_space(&c->sndq) > 0)) {
        c->want_write = 0;
        c->pending_ev |= TCP_EV_WRITABLE;
    }
}

/* Step five: the ACK field. Returns 0 to go on with the segment. */
static int process_ack(struct tcp_conn *c, tcp_time_t now, const struct tcp_segment *seg)
{
    uint32_t ack = seg->ack;
    if (c->state == TCP_SYN_RECEIVED) {
        if (!(seq_gt(ack, c->snd_una) && seq_le(ack, c->snd_max))) {
            tcp_send_rst(c->e, c->lip, c->rip, c->lport, c->rport, ack, 0, TCP_RST);
            return -1;
        }
        set_snd_window(c, (uint32_t)seg->window << c->snd_wscale, seg->seq, ack);
        return establish(c, now, ack);
    }
    /* RFC 5961 5.2: acceptable ACKs lie in [SND.UNA - MAX.SND.WND, SND.NXT]. */
    if (seq_gt(ack, c->snd_max)) {
        tcp_send_ack(c, now);
        return -1;
    }
    if (seq_lt(ack, c->snd_una - c->max_snd_wnd)) {
        tcp_send_challenge_ack(c, now);
        return -1;
    }
    uint32_t wnd = (uint32_t)seg->window << c->snd_wscale;
    if (seq_gt(ack, c->snd_una)) {
        on_new_ack(c, now, ack);
    } else if (ack == c->snd_una && seg->payload_len == 0
               && !(seg->flags & (TCP_SYN | TCP_FIN)) && wnd == c->snd_wnd
               && c->snd_max != c->snd_una && c->tmode == TCP_TM_RTX) {
        on_dupack(c, now); /* RFC 5681 section 2, DUPLICATE ACKNOWLEDGMENT */
    }
    if (c->tmode == TCP_TM_PERSIST && ack == c->snd_una)
        c->retries = 0; /* the receiver answers our probes (RFC 1122 4.2.2.17) */
    if (seq_lt(c->snd_wl1, seg->seq) || (c->snd_wl1 == seg->seq && seq_le(c->snd_wl2, ack))) {
        set_snd_window(c, wnd, seg->seq, ack);
        if (wnd > 0 && c->tmode == TCP_TM_PERSIST) {
            tcp_rtx_stop(c);
            if (c->snd_una != c->snd_max)
                tcp_rtx_arm(c, now);
        }
    }
    switch (c->state) {
    case TCP_FIN_WAIT_1:
        if (c->our_fin_acked)
            tcp_set_state(c, TCP_FIN_WAIT_2, now);
        break;
    case TCP_CLOSING:
        if (c->our_fin_acked)
            tcp_set_state(c, TCP_TIME_WAIT, now);
        break;
    case TCP_LAST_ACK:
        if (c->our_fin_acked) {
            tcp_conn_set_closed(c, 0);
            return -1;
        }
        break;
    default:
        break;
    }
    return 0;
}

static void process_fin(struct tcp_conn *c, tcp_time_t now)
{
    c->rcv_nxt++;
    c->peer_fin = 1;
    c->ooo_fin = 0;
    c->ack_now = 1;
    c->pending_ev |= TCP_EV_READABLE;
    switch (c->state) {
    case TCP_SYN_RECEIVED:
    case TCP_ESTABLISHED:
        tcp_set_state(c, TCP_CLOSE_WAIT, now);
        break;
    case TCP_FIN_WAIT_1:
        tcp_set_state(c, c->our_fin_acked ? TCP_TIME_WAIT : TCP_CLOSING, now);
        break;
    case TCP_FIN_WAIT_2:
        tcp_set_state(c, TCP_TIME_WAIT, now);
        break;
    default:
        break;
    }
}

/* Step seven: text. seq..seq+len lies inside the window and the ring. */
static void process_text(struct tcp_conn *c, tcp_time_t now, uint32_t seq,
                         const uint8_t *data, uint32_t len)
{
    if (c->app_released) {
        /* Nobody will read it: acknowledge in-order data and drop it. */
        if (seq == c->rcv_nxt)
            c->rcv_nxt += len;
        c->ack_now = 1;
        return;
    }
    uint32_t off = seq - c->rcv_nxt;
    if (off > 0) {
        /* Out of order: store in place, ACK at once (RFC 5681 4.2). */
        if (tcp_ooo_add(c, seq, seq + len) == 0)
            tcp_ring_write_at(&c->rbuf, c->rbuf.len + off, data, len);
        c->ack_now = 1;
        return;
    }
    tcp_ring_write_at(&c->rbuf, c->rbuf.len, data, len);
    int had_gap = c->n_ooo > 0;
    c->rcv_nxt += len;
    uint32_t nxt = tcp_ooo_advance(c);
    c->rbuf.len += len + (nxt - c->rcv_nxt);
    c->rcv_nxt = nxt;
    c->pending_ev |= TCP_EV_READABLE;
    /* RFC 5681 4.2 / RFC 9293 3.8.6.3: ACK every second full-sized
     * segment and at once when filling a gap; otherwise delay. */
    uint32_t unacked = c->rcv_nxt - c->rcv_acked;
    if (had_gap || (unacked >= 2u * c->snd_mss && (!c->e->cfg.ack_batch || unacked >= c->rcvbuf / 4)))
        c->ack_now = 1;
    else if (unacked >= 2u * c->snd_mss)
        c->delack_deadline = now;
    else if (c->delack_deadline == TCP_TIME_NEVER)
        c->delack_deadline = now + c->e->cfg.delack;
}

static int acceptable(const struct tcp_conn *c, uint32_t seq, uint32_t seg_len,
                      uint32_t rcv_wnd)
{
    /* RFC 9293 3.10.7.4, first: the four cases. */
    if (seg_len == 0) {
        if (rcv_wnd == 0)
            return seq == c->rcv_nxt;
        return seq_le(c->rcv_nxt, seq) && seq_lt(seq, c->rcv_nxt + rcv_wnd);
    }
    if (rcv_wnd == 0)
        return 0;
    uint32_t last = seq + seg_len - 1u;
    return (seq_le(c->rcv_nxt, seq) && seq_lt(seq, c->rcv_nxt + rcv_wnd))
           || (seq_le(c->rcv_nxt, last) && seq_lt(last, c->rcv_nxt + rcv_wnd));
}

static void process_rst(struct tcp_conn *c, tcp_time_t now, uint32_t seq)
{
    /* RFC 5961 3.2: only an exact match resets; in-window gets a challenge. */
    if (seq != c->rcv_nxt) {
        tcp_send_challenge_ack(c, now);
        return;
    }
    switch (c->state) {
    case TCP_SYN_RECEIVED:
        /* passive: back to LISTEN (the child goes); active: refused */
        tcp_conn_set_closed(c, c->passive ? 0 : TCP_ECONNREFUSED);
        break;
    case TCP_ESTABLISHED:
    case TCP_FIN_WAIT_1:
    case TCP_FIN_WAIT_2:
    case TCP_CLOSE_WAIT:
        tcp_conn_set_closed(c, TCP_ECONNRESET);
        break;
    default:
        tcp_conn_set_closed(c, 0);
        break;
    }
}

static int receiving_state(enum tcp_state st)
{
    return st == TCP_ESTABLISHED || st == TCP_FIN_WAIT_1 || st == TCP_FIN_WAIT_2;
}

void tcp_conn_input(struct tcp_conn *c, tcp_time_t now, const struct tcp_segment *seg)
{
    if (c->state == TCP_SYN_SENT) {
        syn_sent_input(c, now, seg);
        return;
    }
    uint8_t flags = seg->flags;
    if (c->state == TCP_SYN_RECEIVED && (flags & TCP_SYN) && !(flags & TCP_RST)
        && seg->seq == c->irs) {
        if (!(flags & TCP_ACK)) {
            /* Our SYN-ACK was lost: the peer repeats its SYN. */
            c->rtt_timing = 0;
            tcp_send_syn(c, now);
            return;
        }
        if (seq_gt(seg->ack, c->snd_una) && seq_le(seg->ack, c->snd_max)) {
            /* Simultaneous open: the peer's SYN,ACK acknowledges our SYN
             * (RFC 9293 figure 7, line 6). */
            set_snd_window(c, seg->window, seg->seq, seg->ack);
            if (establish(c, now, seg->ack) == 0)
                tcp_output(c, now);
            return;
        }
    }

    uint32_t seq = seg->seq;
    const uint8_t *data = seg->payload;
    uint32_t len = (uint32_t)seg->payload_len;
    int fin = (flags & TCP_FIN) != 0;
    uint32_t rcv_wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    if (!acceptable(c, seq, tcp_segment_seq_len(seg), rcv_wnd)) {
        if (rcv_wnd == 0 && seq == c->rcv_nxt && (flags & TCP_ACK) && !(flags & TCP_SYN)) {
            /* RFC 9293 3.10.7.4: with a zero window still take valid
             * ACKs and RSTs; the data is dropped and re-ACKed. */
            len = 0;
            fin = 0;
            c->ack_now = 1;
        } else {
            if (!(flags & TCP_RST)) {
                if (c->state == TCP_TIME_WAIT && fin)
                    c->state_deadline = now + c->e->cfg.time_wait;
                /* Re-ACK, but answer bare ACKs only at a bounded rate so
                 * two confused ends cannot ping-pong forever. */
                if (tcp_segment_seq_len(seg) > 0 || c->oow_last == 0
                    || now - c->oow_last >= TCP_OOW_INTERVAL) {
                    if (tcp_segment_seq_len(seg) == 0)
                        c->oow_last = now ? now : 1;
                    tcp_send_ack(c, now);
                }
            }
            return;
        }
    }
    if (flags & TCP_RST) {
        process_rst(c, now, seq);
        return;
    }
    if (flags & TCP_SYN) {
        tcp_send_challenge_ack(c, now); /* RFC 5961 4.2 */
        return;
    }
    if (!(flags & TCP_ACK))
        return;
    if (c->ka_idle) {
        c->ka_probes = 0;
        c->ka_deadline = now + c->ka_idle;
    }
    if (process_ack(c, now, seg) != 0)
        return;

    /* Trim to what is new and fits both the window and the ring. */
    if (seq_lt(seq, c->rcv_nxt)) {
        uint32_t dup = c->rcv_nxt - seq;
        if (dup > len) {
            len = 0;
            fin = 0; /* the FIN is old too */
        } else {
            data += dup;
            len -= dup;
        }
        seq = c->rcv_nxt;
    }
    uint32_t room = c->rbuf.buf ? c->rbuf.cap - c->rbuf.len : 0;
    uint32_t limit = min_u32(seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0, room);
    uint32_t off = seq - c->rcv_nxt;
    if (off + len > limit) {
        len = limit > off ? limit - off : 0;
        fin = 0; /* beyond the window */
    }

    if (len > 0) {
        if (receiving_state(c->state))
            process_text(c, now, seq, data, len);
        else
            c->ack_now = 1;
    }
    if (fin && receiving_state(c->state)) {
        uint32_t fin_seq = seq + len;
        if (fin_seq == c->rcv_nxt) {
            process_fin(c, now);
        } else if (seq_gt(fin_seq, c->rcv_nxt)) {
            c->ooo_fin = 1;
            c->ooo_fin_seq = fin_seq;
            c->ack_now = 1;
        }
    }
    if (c->ooo_fin && c->ooo_fin_seq == c->rcv_nxt && receiving_state(c->state))
        process_fin(c, now);
    tcp_output(c, now);
}
