/* Timers: retransmission (RFC 6298) and persist (RFC 9293 3.8.6.1),
 * delayed ACK, TIME-WAIT / FIN-WAIT-2, keepalive (RFC 1122 4.2.3.6). */
#include "tcp_internal.h"

static tcp_time_t rto_clamp(tcp_time_t rto)
{
    if (rto < TCP_RTO_MIN)
        return TCP_RTO_MIN;   /* (2.4) */
    if (rto > TCP_RTO_MAX)
        return TCP_RTO_MAX;   /* (2.5) */
    return rto;
}

/* RFC 6298 (2.2) first measurement, (2.3) later ones; alpha 1/8, beta 1/4. */
void tcp_rtt_sample(struct tcp_conn *c, tcp_time_t r)
{
    if (!c->has_rtt) {
        c->srtt = r;
        c->rttvar = r / 2;
        c->has_rtt = 1;
    } else {
        tcp_time_t diff = c->srtt > r ? c->srtt - r : r - c->srtt;
        c->rttvar = (3 * c->rttvar + diff) / 4;
        c->srtt = (7 * c->srtt + r) / 8;
    }
    tcp_time_t var = TCP_RTO_K * c->rttvar;
    c->rto = rto_clamp(c->srtt + (var > TCP_CLOCK_G ? var : TCP_CLOCK_G));
}

void tcp_rtx_arm(struct tcp_conn *c, tcp_time_t now)
{
    c->rtx_deadline = now + c->rto;
}

void tcp_rtx_stop(struct tcp_conn *c)
{
    c->rtx_deadline = TCP_TIME_NEVER;
    c->tmode = TCP_TM_RTX;
}

/* RFC 5681 section 3.1 (RFC 3390): initial window from SMSS. */
uint32_t tcp_initial_cwnd(uint32_t mss)
{
    if (mss > 2190)
        return 2 * mss;
    if (mss > 1095)
        return 3 * mss;
    return 4 * mss;
}

static void backoff(struct tcp_conn *c)
{
    c->rto = rto_clamp(c->rto * 2); /* (5.5) */
}

static void give_up(struct tcp_conn *c)
{
    tcp_send_rst_conn(c);
    tcp_conn_set_closed(c, TCP_ETIMEDOUT);
}

static void syn_timeout(struct tcp_conn *c, tcp_time_t now)
{
    if (++c->retries > c->e->cfg.syn_retries) {
        if (c->state == TCP_SYN_RECEIVED)
            tcp_send_rst_conn(c);
        tcp_conn_set_closed(c, TCP_ETIMEDOUT);
        return;
    }
    backoff(c);
    c->syn_rtx = 1;
    c->rtt_timing = 0; /* Karn */
    c->rtx_deadline = TCP_TIME_NEVER;
    tcp_send_syn(c, now);
}

static void persist_timeout(struct tcp_conn *c, tcp_time_t now)
{
    if (c->snd_wnd != 0) {
        /* A window too small for sender SWS avoidance: the override
         * timeout of RFC 9293 3.8.6.2.1 sends what fits. */
        tcp_rtx_stop(c);
        tcp_send_data_at(c, now, c->snd_nxt, c->snd_wnd);
        tcp_output(c, now);
        return;
    }
    /* Unanswered probes count as retransmissions; any ACK resets them, so
     * a live receiver keeps the connection open (RFC 1122 4.2.2.17). */
    if (++c->retries > c->e->cfg.data_retries) {
        give_up(c);
        return;
    }
    backoff(c);
    uint32_t seq = c->snd_una != c->snd_max ? c->snd_una : c->snd_nxt;
    tcp_send_data_at(c, now, seq, 1);
    c->tmode = TCP_TM_PERSIST;
    tcp_rtx_arm(c, now);
}

static void rtx_timeout(struct tcp_conn *c, tcp_time_t now)
{
    if (c->snd_una == c->snd_max) {
        tcp_rtx_stop(c);
        return;
    }
    if (++c->retries > c->e->cfg.data_retries) {
        give_up(c);
        return;
    }
    uint32_t flight = c->snd_max - c->snd_una;
    /* RFC 5681 3.1 eq. (4), ssthresh held on repeated timeouts; cwnd = LW. */
    if (c->retries == 1) {
        uint32_t half = flight / 2;
        c->ssthresh = half > 2u * c->snd_mss ? half : 2u * c->snd_mss;
    }
    c->cwnd = c->snd_mss;
    c->recover = c->snd_max; /* RFC 6582 section 4 */
    c->in_recovery = 0;
    c->dupacks = 0;
    backoff(c);
    c->rtt_timing = 0;       /* Karn */
    c->snd_nxt = c->snd_una; /* go back N */
    c->rtx_deadline = TCP_TIME_NEVER;
    if (c->snd_wnd == 0) {
        tcp_send_data_at(c, now, c->snd_una, 1);
        c->tmode = TCP_TM_PERSIST;
        tcp_rtx_arm(c, now);
        return;
    }
    tcp_send_data_at(c, now, c->snd_una, c->snd_mss); /* (5.4), re-arms (5.6) */
}

static void keepalive_timeout(struct tcp_conn *c, tcp_time_t now)
{
    if (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT) {
        c->ka_deadline = TCP_TIME_NEVER;
        return;
    }
    if (c->snd_una != c->snd_max) {
        /* Data in flight: the retransmission timer watches the peer. */
        c->ka_deadline = now + c->ka_idle;
        return;
    }
    if (c->ka_probes >= c->ka_count) {
        give_up(c);
        return;
    }
    c->ka_probes++;
    tcp_send_keepalive(c);
    c->ka_deadline = now + c->ka_intvl;
}

void tcp_conn_timers(struct tcp_conn *c, tcp_time_t now)
{
    if (c->state_deadline <= now) {
        c->state_deadline = TCP_TIME_NEVER;
        if (c->state == TCP_TIME_WAIT) {
            tcp_conn_set_closed(c, 0);
            return;
        }
        if (c->state == TCP_FIN_WAIT_2) {
            give_up(c);
            return;
        }
    }
    if (c->rtx_deadline <= now) {
        if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED)
            syn_timeout(c, now);
        else if (c->tmode == TCP_TM_PERSIST)
            persist_timeout(c, now);
        else
            rtx_timeout(c, now);
        if (c->state == TCP_CLOSED)
            return;
    }
    if (c->delack_deadline <= now) {
        c->delack_deadline = TCP_TIME_NEVER;
        tcp_send_ack(c, now);
    }
    if (c->ka_deadline <= now)
        keepalive_timeout(c, now);
}

tcp_time_t tcp_conn_deadline(const struct tcp_conn *c)
{
    tcp_time_t d = c->rtx_deadline;
    if (c->delack_deadline < d)
        d = c->delack_deadline;
    if (c->state_deadline < d)
        d = c->state_deadline;
    if (c->ka_deadline < d)
        d = c->ka_deadline;
    return d;
}
