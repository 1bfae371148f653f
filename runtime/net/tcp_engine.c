/* TCP engine: connection table, listeners, the application API, and the
 * life cycle that guarantees every connection is freed. */
#include "tcp_internal.h"

#include "net/checksum.h"

#include <stdlib.h>
#include <string.h>

/* Allocations carry their size so the engine can report live bytes. */
struct tcp_alloc_hdr {
    size_t size;
    size_t pad;
};

void *tcp_alloc(struct tcp_engine *e, size_t n)
{
    struct tcp_alloc_hdr *h = malloc(sizeof(*h) + n);
    if (!h)
        return NULL;
    h->size = n;
    e->stats.live_bytes += n;
    return h + 1;
}

/* Connections and listeners start zeroed: every field not set is 0/NULL. */
static void *tcp_zalloc(struct tcp_engine *e, size_t n)
{
    void *p = tcp_alloc(e, n);
    if (p)
        memset(p, 0, n);
    return p;
}

void tcp_free(struct tcp_engine *e, void *p)
{
    struct tcp_alloc_hdr *h = (struct tcp_alloc_hdr *)p - 1;
    e->stats.live_bytes -= h->size;
    free(h);
}

void tcp_config_default(struct tcp_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->mss = 1460;                 /* Ethernet MTU 1500 - 20 (IPv4) - 20 (TCP) */
    cfg->rcvbuf = 256u * 1024u;
    cfg->sndbuf = 256u * 1024u;
    cfg->sndref_max = 1024u * 1024u;
    cfg->max_conns = 1024;
    cfg->delack = 40000000ull;       /* 40 ms; RFC 9293 3.8.6.3 allows up to 500 ms */
    cfg->time_wait = 10000000000ull; /* 10 s (smoltcp precedent), not 2*MSL = 4 min */
    cfg->fin_wait_2 = 60000000000ull;/* 60 s, as Linux tcp_fin_timeout */
    cfg->syn_retries = 6;            /* RFC 1122 4.2.3.5: R2 for SYN >= 3 min with backoff */
    cfg->data_retries = 15;          /* RFC 1122 4.2.3.5: R2 >= 100 s */
    cfg->verify_checksum = 1;
}

struct tcp_engine *tcp_engine_create(const struct tcp_config *cfg)
{
    if (!cfg->output || cfg->mss < TCP_MIN_MSS || cfg->rcvbuf < cfg->mss
        || cfg->sndbuf < cfg->mss || cfg->rcvbuf > (1u << 30) || cfg->sndbuf > (1u << 30)
        || cfg->sndref_max > (1u << 30) || cfg->tx_headroom > TCP_TX_HEADROOM_MAX
        || cfg->tso_max > 65535u)
        return NULL;
    struct tcp_engine *e = malloc(sizeof(*e));
    if (!e)
        return NULL;
    memset(e, 0, sizeof(*e));
    e->cfg = *cfg;
    size_t seg_max = cfg->tso_max > cfg->mss ? cfg->tso_max : cfg->mss;
    uint8_t *tx = tcp_alloc(e, cfg->tx_headroom + TCP_HDR_MAX + seg_max);
    if (!tx) {
        free(e);
        return NULL;
    }
    e->txbuf = tx + cfg->tx_headroom;
    return e;
}

static void conn_destroy(struct tcp_engine *e, struct tcp_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        e->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    tcp_sendq_release(e, &c->sndq);
    tcp_ring_release(e, &c->rbuf);
    tcp_free(e, c);
    e->stats.live_conns--;
}

void tcp_engine_destroy(struct tcp_engine *e)
{
    if (!e)
        return;
    while (e->conns)
        conn_destroy(e, e->conns);
    while (e->listeners) {
        struct tcp_listener *l = e->listeners;
        e->listeners = l->next;
        tcp_free(e, l);
    }
    tcp_free(e, e->txbuf - e->cfg.tx_headroom);
    free(e);
}

static unsigned tuple_hash(const struct tcp_engine *e, uint32_t lip, uint16_t lport,
                           uint32_t rip, uint16_t rport)
{
    uint32_t salt;
    memcpy(&salt, e->cfg.secret + 12, sizeof(salt));
    uint32_t h = (lip * 0x9e3779b1u) ^ (rip * 0x85ebca6bu) ^ salt;
    h ^= ((uint32_t)lport << 16 | rport) * 0xc2b2ae35u;
    h ^= h >> 15;
    h *= 0x27d4eb2fu;
    h ^= h >> 13;
    return h % TCP_HASH_BUCKETS;
}

struct tcp_conn *tcp_conn_lookup(struct tcp_engine *e, uint32_t lip, uint16_t lport,
                                 uint32_t rip, uint16_t rport)
{
    struct tcp_conn *c = e->buckets[tuple_hash(e, lip, lport, rip, rport)];
    for (; c; c = c->hnext)
        if (c->lip == lip && c->rip == rip && c->lport == lport && c->rport == rport)
            return c;
    return NULL;
}

struct tcp_listener *tcp_listener_lookup(struct tcp_engine *e, uint32_t lip, uint16_t lport)
{
    struct tcp_listener *any = NULL;
    for (struct tcp_listener *l = e->listeners; l; l = l->next) {
        if (l->port != lport)
            continue;
        if (l->ip == lip)
            return l;
        if (l->ip == 0)
            any = l;
    }
    return any;
}

static void hash_insert(struct tcp_conn *c)
{
    struct tcp_engine *e = c->e;
    unsigned b = tuple_hash(e, c->lip, c->lport, c->rip, c->rport);
    c->hnext = e->buckets[b];
    e->buckets[b] = c;
    c->hashed = 1;
}

static void hash_remove(struct tcp_conn *c)
{
    struct tcp_engine *e = c->e;
    if (!c->hashed)
        return;
    struct tcp_conn **pp = &e->buckets[tuple_hash(e, c->lip, c->lport, c->rip, c->rport)];
    while (*pp != c)
        pp = &(*pp)->hnext;
    *pp = c->hnext;
    c->hashed = 0;
}

/* Smallest shift that fits the buffer into the 16-bit window field,
 * RFC 7323 section 2.3. */
static uint8_t wscale_for(uint32_t buf)
{
    uint8_t s = 0;
    while (s < TCP_WS_MAX && (buf >> s) > 0xffffu)
        s++;
    return s;
}

struct tcp_conn *tcp_conn_new(struct tcp_engine *e, tcp_time_t now, uint32_t lip,
                              uint16_t lport, uint32_t rip, uint16_t rport)
{
    if (e->stats.live_conns >= e->cfg.max_conns)
        return NULL;
    struct tcp_conn *c = tcp_zalloc(e, sizeof(*c));
    if (!c)
        return NULL;
    c->e = e;
    c->rcv_wscale = wscale_for(e->cfg.rcvbuf);
    c->lip = lip;
    c->lport = lport;
    c->rip = rip;
    c->rport = rport;
    c->state = TCP_CLOSED;
    c->rcvbuf = e->cfg.rcvbuf;
    c->iss = tcp_isn(e, now, lip, lport, rip, rport);
    c->snd_una = c->iss;
    c->snd_nxt = c->iss;
    c->snd_max = c->iss;
    c->recover = c->iss;             /* RFC 6582 section 3.2: recover starts at ISS */
    c->snd_mss = TCP_DEFAULT_MSS;
    c->rto = TCP_RTO_INITIAL;
    c->ssthresh = 1u << 30;          /* RFC 5681 3.1: arbitrarily high */
    c->rtx_deadline = c->delack_deadline = c->state_deadline = TCP_TIME_NEVER;
    c->ka_deadline = TCP_TIME_NEVER;
    c->ka_idle = 0;
    c->ka_intvl = TCP_KEEPALIVE_INTVL;
    c->ka_count = TCP_KEEPALIVE_COUNT;
    c->next = e->conns;
    if (e->conns)
        e->conns->prev = c;
    e->conns = c;
    e->stats.live_conns++;
    hash_insert(c);
    return c;
}

/* Buffers come with ESTABLISHED, so half-open connections (a SYN flood)
 * cost only their record. One extra window-scale unit in the receive ring:
 * rounding the advertised window up to keep its right edge from moving
 * left must never overflow it. */
int tcp_conn_buffers(struct tcp_conn *c)
{
    struct tcp_engine *e = c->e;
    if (tcp_ring_init(e, &c->rbuf, c->rcvbuf + (1u << c->rcv_wscale)) != 0)
        return -1;
    if (tcp_sendq_init(e, &c->sndq, e->cfg.sndbuf) != 0) {
        tcp_ring_release(e, &c->rbuf);
        return -1;
    }
    return 0;
}

static void ready_remove(struct tcp_listener *l, struct tcp_conn *c)
{
    struct tcp_conn **pp = &l->ready_head;
    struct tcp_conn *prev = NULL;
    while (*pp && *pp != c) {
        prev = *pp;
        pp = &(*pp)->ready_next;
    }
    if (!*pp)
        return;
    *pp = c->ready_next;
    if (l->ready_tail == c)
        l->ready_tail = prev;
    c->ready_next = NULL;
    c->in_ready = 0;
    l->n_ready--;
}

/* Detaches a child from its listener (it was accepted, or it died). */
static void detach_listener(struct tcp_conn *c)
{
    struct tcp_listener *l = c->listener;
    if (!l)
        return;
    if (c->in_ready)
        ready_remove(l, c);
    else
        l->n_syn--;
    c->listener = NULL;
}

static void mark_dead(struct tcp_conn *c)
{
    if (!c->dead) {
        c->dead = 1;
        c->e->n_dead++;
    }
}

void tcp_conn_set_closed(struct tcp_conn *c, int err)
{
    if (c->state == TCP_CLOSED && !c->hashed)
        return;
    c->state = TCP_CLOSED;
    if (!c->error)
        c->error = err;
    hash_remove(c);
    tcp_rtx_stop(c);
    c->delack_deadline = c->state_deadline = c->ka_deadline = TCP_TIME_NEVER;
    detach_listener(c);
    c->pending_ev |= TCP_EV_CLOSED;
    if (!c->app_owned || c->app_released)
        mark_dead(c);
}

void tcp_set_state(struct tcp_conn *c, enum tcp_state st, tcp_time_t now)
{
    c->state = st;
    if (st == TCP_TIME_WAIT) {
        /* Nothing is sent or read any more: give the buffers back now. */
        tcp_rtx_stop(c);
        c->ka_deadline = TCP_TIME_NEVER;
        c->state_deadline = now + c->e->cfg.time_wait;
        tcp_sendq_release(c->e, &c->sndq);
        tcp_ring_release(c->e, &c->rbuf);
        c->n_ooo = 0;
    } else if (st == TCP_FIN_WAIT_2 && c->app_released) {
        c->state_deadline = now + c->e->cfg.fin_wait_2;
    }
}

/* Runs the callbacks owed to the application for this connection. */
void tcp_conn_deliver(struct tcp_conn *c)
{
    struct tcp_listener *l = c->listener;
    if (l && c->in_ready && c->pending_ev & TCP_EV_CONNECTED) {
        c->pending_ev &= ~(unsigned)TCP_EV_CONNECTED;
        if (l->on_accept)
            l->on_accept(l->user, l);
    }
    if (!c->app_owned || c->app_released || !c->on_event || !c->pending_ev)
        return;
    unsigned ev = c->pending_ev;
    c->pending_ev = 0;
    c->on_event(c->user, c, ev);
}

/* Callers pass times from different places (the event loop's time of a
 * batch, a fresh clock read in an application callback): the engine never
 * lets its clock go back, or an RTT sample would wrap around. */
tcp_time_t tcp_clock(struct tcp_engine *e, tcp_time_t now)
{
    if (now > e->now)
        e->now = now;
    return e->now;
}

void tcp_enter(struct tcp_engine *e)
{
    e->depth++;
}

void tcp_leave(struct tcp_engine *e)
{
    if (--e->depth != 0 || e->n_dead == 0)
        return;
    struct tcp_conn *c = e->conns;
    while (c) {
        struct tcp_conn *next = c->next;
        if (c->dead)
            conn_destroy(e, c);
        c = next;
    }
    e->n_dead = 0;
}

static void input(struct tcp_engine *e, tcp_time_t now, uint32_t src_ip, uint32_t dst_ip,
                  const uint8_t *buf, size_t len, int verify)
{
    struct tcp_segment seg;
    e->stats.segs_in++;
    if (tcp_segment_parse(&seg, buf, len) != 0
        || (verify && net_checksum_pseudo(src_ip, dst_ip, TCP_PROTO, buf, len))
        || seg.src_port == 0 || seg.dst_port == 0) {
        e->stats.bad_segments++;
        return;
    }
    tcp_enter(e);
    now = tcp_clock(e, now);
    struct tcp_conn *c = tcp_conn_lookup(e, dst_ip, seg.dst_port, src_ip, seg.src_port);
    if (c && c->state == TCP_TIME_WAIT && (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN
        && seq_gt(seg.seq, c->rcv_nxt) && tcp_listener_lookup(e, dst_ip, seg.dst_port)) {
        /* RFC 9293 3.10.7.4 / RFC 6191: a new SYN above the old sequence
         * space may reopen a TIME-WAIT pair. */
        tcp_conn_set_closed(c, 0);
        c = NULL;
    }
    if (c) {
        tcp_conn_input(c, now, &seg);
        tcp_conn_deliver(c);
    } else {
        struct tcp_listener *l = tcp_listener_lookup(e, dst_ip, seg.dst_port);
        if (l) {
            tcp_listen_input(l, now, src_ip, dst_ip, &seg);
        } else if (!(seg.flags & TCP_RST)) {
            /* RFC 9293 3.10.7.1, CLOSED: answer everything but RST with RST. */
            if (seg.flags & TCP_ACK)
                tcp_send_rst(e, dst_ip, src_ip, seg.dst_port, seg.src_port, seg.ack, 0,
                             TCP_RST);
            else
                tcp_send_rst(e, dst_ip, src_ip, seg.dst_port, seg.src_port, 0,
                             seg.seq + tcp_segment_seq_len(&seg), TCP_RST | TCP_ACK);
        }
    }
    tcp_leave(e);
}

void tcp_input(struct tcp_engine *e, tcp_time_t now, uint32_t src_ip, uint32_t dst_ip,
               const uint8_t *buf, size_t len)
{
    input(e, now, src_ip, dst_ip, buf, len, e->cfg.verify_checksum);
}

void tcp_input_csum_trusted(struct tcp_engine *e, tcp_time_t now, uint32_t src_ip,
                            uint32_t dst_ip, const uint8_t *buf, size_t len)
{
    input(e, now, src_ip, dst_ip, buf, len, 0);
}

void tcp_poll(struct tcp_engine *e, tcp_time_t now)
{
    tcp_enter(e);
    now = tcp_clock(e, now);
    for (struct tcp_conn *c = e->conns; c; c = c->next) {
        if (c->dead || c->state == TCP_CLOSED)
            continue;
        if (tcp_conn_deadline(c) > now)
            continue;
        tcp_conn_timers(c, now);
        tcp_conn_deliver(c);
    }
    tcp_leave(e);
}

tcp_time_t tcp_next_deadline(const struct tcp_engine *e)
{
    tcp_time_t d = TCP_TIME_NEVER;
    for (const struct tcp_conn *c = e->conns; c; c = c->next) {
        if (c->dead || c->state == TCP_CLOSED)
            continue;
        tcp_time_t t = tcp_conn_deadline(c);
        if (t < d)
            d = t;
    }
    return d;
}

struct tcp_listener *tcp_listen(struct tcp_engine *e, uint32_t local_ip, uint16_t port,
                                unsigned backlog, tcp_accept_fn on_accept, void *user)
{
    if (port == 0 || backlog == 0)
        return NULL;
    for (struct tcp_listener *l = e->listeners; l; l = l->next)
        if (l->port == port && l->ip == local_ip)
            return NULL;
    struct tcp_listener *l = tcp_zalloc(e, sizeof(*l));
    if (!l)
        return NULL;
    l->e = e;
    l->ip = local_ip;
    l->port = port;
    l->backlog = backlog;
    l->on_accept = on_accept;
    l->user = user;
    l->next = e->listeners;
    e->listeners = l;
    e->stats.live_listeners++;
    return l;
}

struct tcp_conn *tcp_accept(struct tcp_listener *l, tcp_event_fn on_event, void *user)
{
    struct tcp_conn *c = l->ready_head;
    if (!c)
        return NULL;
    detach_listener(c);
    c->app_owned = 1;
    c->on_event = on_event;
    c->user = user;
    return c;
}

void tcp_unlisten(struct tcp_listener *l)
{
    struct tcp_engine *e = l->e;
    tcp_enter(e);
    for (struct tcp_conn *c = e->conns; c; c = c->next) {
        if (c->listener != l || c->dead)
            continue;
        tcp_send_rst_conn(c);
        tcp_conn_set_closed(c, TCP_ECONNRESET);
    }
    struct tcp_listener **pp = &e->listeners;
    while (*pp != l)
        pp = &(*pp)->next;
    *pp = l->next;
    tcp_free(e, l);
    e->stats.live_listeners--;
    tcp_leave(e);
}

/* Ephemeral port per RFC 6056 algorithm 3: a keyed hash of the
 * destination plus a counter, checked for uniqueness. */
static uint16_t pick_port(struct tcp_engine *e, uint32_t lip, uint32_t rip, uint16_t rport)
{
    uint8_t in[10] = {(uint8_t)(lip >> 24), (uint8_t)(lip >> 16), (uint8_t)(lip >> 8),
                      (uint8_t)lip, (uint8_t)(rip >> 24), (uint8_t)(rip >> 16),
                      (uint8_t)(rip >> 8), (uint8_t)rip, (uint8_t)(rport >> 8),
                      (uint8_t)rport};
    uint32_t off = (uint32_t)tcp_siphash(e->cfg.secret, in, sizeof(in));
    for (uint32_t i = 0; i < TCP_EPHEMERAL_N; i++) {
        uint16_t port = (uint16_t)(TCP_EPHEMERAL_LO + (off + e->port_counter++) % TCP_EPHEMERAL_N);
        if (!tcp_conn_lookup(e, lip, port, rip, rport) && !tcp_listener_lookup(e, lip, port))
            return port;
    }
    return 0;
}

struct tcp_conn *tcp_connect(struct tcp_engine *e, tcp_time_t now, uint32_t local_ip,
                             uint16_t local_port, uint32_t remote_ip, uint16_t remote_port,
                             tcp_event_fn on_event, void *user)
{
    if (remote_port == 0 || remote_ip == 0 || local_ip == 0)
        return NULL;
    if (local_port == 0)
        local_port = pick_port(e, local_ip, remote_ip, remote_port);
    if (local_port == 0 || tcp_conn_lookup(e, local_ip, local_port, remote_ip, remote_port))
        return NULL;
    tcp_enter(e);
    now = tcp_clock(e, now);
    struct tcp_conn *c = tcp_conn_new(e, now, local_ip, local_port, remote_ip, remote_port);
    if (c) {
        c->app_owned = 1;
        c->on_event = on_event;
        c->user = user;
        c->state = TCP_SYN_SENT;
        tcp_send_syn(c, now);
    }
    tcp_leave(e);
    return c;
}

static int can_receive(const struct tcp_conn *c)
{
    return c->state != TCP_CLOSED && c->state != TCP_TIME_WAIT && c->rbuf.buf;
}

long tcp_recv(struct tcp_conn *c, tcp_time_t now, uint8_t *buf, size_t len)
{
    if (c->app_released || len == 0)
        return TCP_EINVAL; /* 0 is reserved for the end of the stream */
    if (c->rbuf.buf && c->rbuf.len > 0) {
        uint32_t n = len < c->rbuf.len ? (uint32_t)len : c->rbuf.len;
        struct tcp_engine *e = c->e;
        tcp_enter(e);
        now = tcp_clock(e, now);
        tcp_ring_read_at(&c->rbuf, 0, buf, n);
        tcp_ring_consume(&c->rbuf, n);
        if (c->state != TCP_CLOSED) {
            /* Window update: ACK now if the advertised window has fallen
             * to half the buffer and the right edge moves by 2 MSS or half
             * the buffer (smoltcp #935), or if the window was nearly
             * closed and may open by the SWS amount (RFC 9293 3.8.6.2.2):
             * a slow reader must not leave the sender waiting for its
             * persist timer (mirage-tcpip #340). A reader that keeps up
             * sends none: the ACK of every second segment carries the
             * window (as Linux's tcp_cleanup_rbuf), instead of a second
             * ACK per read, which made a bulk receiver ACK 2 segments in 3. */
            uint32_t edge = c->rcv_nxt + (c->rcvbuf - c->rbuf.len);
            uint32_t grow = seq_gt(edge, c->rcv_adv) ? edge - c->rcv_adv : 0;
            uint32_t old_wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
            uint32_t mss = c->e->cfg.mss;
            uint32_t thresh = 2u * mss < c->rcvbuf / 2 ? 2u * mss : c->rcvbuf / 2;
            uint32_t sws = mss < c->rcvbuf / 2 ? mss : c->rcvbuf / 2;
            if ((old_wnd <= c->rcvbuf / 2 && grow >= thresh) || (old_wnd < mss && grow >= sws)) {
                c->ack_now = 1;
                tcp_output(c, now);
            }
        }
        tcp_leave(e);
        return (long)n;
    }
    if (c->error)
        return c->error;
    if (c->peer_fin)
        return 0;
    if (!can_receive(c) || c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED)
        return c->state == TCP_CLOSED ? TCP_ENOTCONN : TCP_EAGAIN;
    return TCP_EAGAIN;
}

static int can_send_state(enum tcp_state st)
{
    return st == TCP_ESTABLISHED || st == TCP_CLOSE_WAIT;
}

size_t tcp_send_space(struct tcp_conn *c)
{
    if (!can_send_state(c->state) || c->fin_queued || c->app_released)
        return 0;
    size_t space = tcp_sendq_copy_space(&c->sndq);
    if (space == 0)
        c->want_write = 1;
    return space;
}

/* What tcp_send and tcp_send_ref share: the state checks, queueing at
 * most `space` bytes (copied, or by reference), output. */
static long send_common(struct tcp_conn *c, tcp_time_t now, const uint8_t *buf, size_t len,
                        size_t space, int by_ref)
{
    if (c->app_released)
        return TCP_EINVAL;
    if (c->error)
        return TCP_EPIPE;
    if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED)
        return TCP_ENOTCONN;
    if (!can_send_state(c->state) || c->fin_queued)
        return TCP_EPIPE;
    if (len == 0)
        return 0;
    uint32_t n = len < space ? (uint32_t)len : (uint32_t)space;
    n = by_ref ? tcp_sendq_ref(&c->sndq, buf, n) : tcp_sendq_copy(&c->sndq, buf, n);
    if (n < len)
        c->want_write = 1; /* TCP_EV_WRITABLE once an ACK frees space */
    if (n == 0)
        return TCP_EAGAIN;
    struct tcp_engine *e = c->e;
    tcp_enter(e);
    now = tcp_clock(e, now);
    tcp_output(c, now);
    tcp_leave(e);
    return (long)n;
}

long tcp_send(struct tcp_conn *c, tcp_time_t now, const uint8_t *buf, size_t len)
{
    return send_common(c, now, buf, len, tcp_sendq_copy_space(&c->sndq), 0);
}

long tcp_send_ref(struct tcp_conn *c, tcp_time_t now, const uint8_t *data, size_t len)
{
    if (c->e->cfg.sndref_max == 0)
        return TCP_EINVAL;
    size_t space = c->sndq.ring.buf ? c->e->cfg.sndref_max - c->sndq.ref_len : 0;
    return send_common(c, now, data, len, space, 1);
}

void tcp_abort(struct tcp_conn *c, tcp_time_t now)
{
    struct tcp_engine *e = c->e;
    tcp_enter(e);
    now = tcp_clock(e, now);
    c->app_released = 1;
    switch (c->state) {
    case TCP_SYN_RECEIVED:
    case TCP_ESTABLISHED:
    case TCP_FIN_WAIT_1:
    case TCP_FIN_WAIT_2:
    case TCP_CLOSE_WAIT:
        /* RFC 9293 3.10.5 ABORT: <SEQ=SND.NXT><CTL=RST> */
        tcp_send_rst_conn(c);
        break;
    default:
        break;
    }
    tcp_conn_set_closed(c, TCP_ECONNRESET);
    mark_dead(c);
    tcp_leave(e);
}

void tcp_close(struct tcp_conn *c, tcp_time_t now)
{
    struct tcp_engine *e = c->e;
    if (c->app_released)
        return;
    if (c->rbuf.buf && c->rbuf.len > 0 && c->state != TCP_CLOSED) {
        /* RFC 1122 4.2.2.13: closing with unread data resets. */
        tcp_abort(c, now);
        return;
    }
    tcp_enter(e);
    now = tcp_clock(e, now);
    c->app_released = 1;
    switch (c->state) {
    case TCP_CLOSED:
    case TCP_SYN_SENT:
        tcp_conn_set_closed(c, 0);
        mark_dead(c);
        break;
    case TCP_SYN_RECEIVED:
    case TCP_ESTABLISHED:
        /* RFC 9293 3.10.4: FIN after the queued data; FIN-WAIT-1 at once
         * (from SYN-RECEIVED the FIN waits for ESTABLISHED). */
        c->fin_queued = 1;
        if (c->state == TCP_ESTABLISHED)
            tcp_set_state(c, TCP_FIN_WAIT_1, now);
        tcp_output(c, now);
        break;
    case TCP_CLOSE_WAIT:
        c->fin_queued = 1;
        tcp_set_state(c, TCP_LAST_ACK, now);
        tcp_output(c, now);
        break;
    case TCP_FIN_WAIT_2:
        c->state_deadline = now + e->cfg.fin_wait_2;
        break;
    default:
        break;
    }
    tcp_leave(e);
}

size_t tcp_readable(const struct tcp_conn *c)
{
    return c->rbuf.buf ? c->rbuf.len : 0;
}

size_t tcp_send_queued(const struct tcp_conn *c)
{
    return c->sndq.len;
}

enum tcp_state tcp_state(const struct tcp_conn *c)
{
    return c->state;
}

int tcp_error(const struct tcp_conn *c)
{
    return c->error;
}

void tcp_set_nodelay(struct tcp_conn *c, int on)
{
    c->nodelay = on ? 1 : 0;
}

void tcp_set_keepalive(struct tcp_conn *c, tcp_time_t now, tcp_time_t idle,
                       tcp_time_t interval, unsigned count)
{
    c->ka_idle = idle;
    c->ka_intvl = interval ? interval : TCP_KEEPALIVE_INTVL;
    c->ka_count = count ? count : TCP_KEEPALIVE_COUNT;
    c->ka_probes = 0;
    now = tcp_clock(c->e, now);
    c->ka_deadline = idle && (c->state == TCP_ESTABLISHED || c->state == TCP_CLOSE_WAIT)
                         ? now + idle
                         : TCP_TIME_NEVER; /* otherwise armed on establishment */
}

void tcp_conn_addr(const struct tcp_conn *c, uint32_t *local_ip, uint16_t *local_port,
                   uint32_t *remote_ip, uint16_t *remote_port)
{
    *local_ip = c->lip;
    *local_port = c->lport;
    *remote_ip = c->rip;
    *remote_port = c->rport;
}

const struct tcp_stats *tcp_engine_stats(const struct tcp_engine *e)
{
    return &e->stats;
}

void tcp_conn_info(const struct tcp_conn *c, struct tcp_conn_info *out)
{
    memset(out, 0, sizeof(*out));
    out->snd_una = c->snd_una;
    out->snd_nxt = c->snd_nxt;
    out->snd_wnd = c->snd_wnd;
    out->cwnd = c->cwnd;
    out->ssthresh = c->ssthresh;
    out->rcv_nxt = c->rcv_nxt;
    out->rcv_wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
    out->rto = c->rto;
    out->srtt = c->srtt;
    out->rttvar = c->rttvar;
    out->snd_mss = c->snd_mss;
    out->snd_wscale = c->snd_wscale;
    out->rcv_wscale = c->rcv_wscale;
    out->in_recovery = c->in_recovery;
}
