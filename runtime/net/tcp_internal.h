/* TCP engine internals shared by tcp_engine.c, tcp_input.c, tcp_output.c,
 * tcp_timer.c and tcp_ring.c. Not part of the application API. */
#ifndef NET_TCP_INTERNAL_H
#define NET_TCP_INTERNAL_H

#include "net/tcp.h"
#include "net/tcp_wire.h"

#include <stddef.h>
#include <stdint.h>

#define TCP_PROTO 6u                     /* IPv4 protocol number, RFC 9293 section 3.1 */

/* RFC 6298 retransmission timer. */
#define TCP_RTO_INITIAL (1000000000ull)  /* (2.1) initial RTO 1 s */
#define TCP_RTO_MIN (1000000000ull)      /* (2.4) round up to 1 s */
#define TCP_RTO_MAX (60000000000ull)     /* (2.5) a maximum of at least 60 s */
#define TCP_RTO_SYN_FALLBACK (3000000000ull) /* (5.7) 3 s after a lost SYN */
#define TCP_CLOCK_G (1000000ull)         /* (2.3) clock granularity G: 1 ms */
#define TCP_RTO_K 4u                     /* (2.3) K = 4 */

#define TCP_DEFAULT_MSS 536u             /* RFC 9293 section 3.7.1: MSS without the option */
#define TCP_MIN_MSS 64u                  /* clamp tiny peer MSS (smoltcp/Linux practice) */
#define TCP_DUPACK_THRESHOLD 3u          /* RFC 5681 section 3.2 */
#define TCP_OOO_MAX 8u                   /* out-of-order ranges kept per connection */
#define TCP_CHALLENGE_ACK_PER_SEC 10u    /* RFC 5961 section 7: throttle challenge ACKs */
#define TCP_OOW_INTERVAL (500000000ull) /* replies to unacceptable pure ACKs: 1 per 500 ms (Linux tcp_invalid_ratelimit) */
#define TCP_HASH_BUCKETS 256u
#define TCP_TX_HEADROOM_MAX 256u         /* tcp_config.tx_headroom */
#define TCP_KEEPALIVE_INTVL (75000000000ull)
#define TCP_KEEPALIVE_COUNT 9u
#define TCP_EPHEMERAL_LO 49152u          /* RFC 6335 section 6: dynamic ports */
#define TCP_EPHEMERAL_N 16384u

/* Sequence-number comparisons modulo 2^32, RFC 9293 section 3.4. */
static inline int seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline int seq_le(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }
static inline int seq_gt(uint32_t a, uint32_t b) { return (int32_t)(a - b) > 0; }
static inline int seq_ge(uint32_t a, uint32_t b) { return (int32_t)(a - b) >= 0; }

/* A byte ring: `len` bytes starting at `head`. */
struct tcp_ring {
    uint8_t *buf;
    uint32_t cap, head, len;
};

/* Runs per send queue: a response head copied and a file referenced take
 * two, so a few pipelined responses fit before the queue asks to wait. */
#define TCP_SEND_RUNS 8u

/* A run of the send queue: `len` bytes of application memory at `ref`
 * (tcp_send_ref), or with ref NULL the ring's next `len` bytes. */
struct tcp_run {
    const uint8_t *ref;
    uint32_t len;
};

/* The bytes from SND.UNA on, in order, as runs: copied bytes are in the
 * ring, referenced ones stay where the application keeps them. Segments
 * are built from whichever holds each byte, so referenced bytes are copied
 * once, into the frame. */
struct tcp_sendq {
    struct tcp_ring ring;
    struct tcp_run run[TCP_SEND_RUNS];
    unsigned n_run;
    uint32_t len;                           /* queued bytes, ring and referenced */
    uint32_t ref_len;                       /* referenced bytes among them */
};

struct tcp_listener {
    struct tcp_engine *e;
    struct tcp_listener *next;
    uint32_t ip;
    uint16_t port;
    unsigned backlog;
    unsigned n_syn;               /* children in SYN-RECEIVED */
    unsigned n_ready;             /* established children waiting for tcp_accept */
    struct tcp_conn *ready_head, *ready_tail;
    tcp_accept_fn on_accept;
    void *user;
};

enum tcp_timer_mode { TCP_TM_RTX, TCP_TM_PERSIST };

struct tcp_conn {
    struct tcp_engine *e;
    struct tcp_conn *hnext;                 /* hash chain */
    struct tcp_conn *next, *prev;           /* all connections */
    struct tcp_listener *listener;          /* parent until accepted */
    struct tcp_conn *ready_next;            /* listener's accept queue */
    enum tcp_state state;
    uint32_t lip, rip;
    uint16_t lport, rport;
    uint8_t hashed, passive, app_owned, app_released, dead, in_ready;
    uint8_t fin_queued, our_fin_acked, peer_fin, nodelay, wscale_ok, syn_rtx, want_write;
    int error;
    tcp_event_fn on_event;
    void *user;
    unsigned pending_ev;

    /* send sequence space, RFC 9293 section 3.3.1; snd_max is the highest
     * sequence sent (BSD), so ACKs stay valid after go-back-N rewinds snd_nxt */
    uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2, max_snd_wnd;
    uint16_t snd_mss;
    uint8_t snd_wscale, rcv_wscale;
    struct tcp_sendq sndq;                  /* data from snd_una on */

    /* receive sequence space */
    uint32_t irs, rcv_nxt, rcv_adv, rcv_acked, rcvbuf;
    struct tcp_ring rbuf;                   /* in-order unread data, then out-of-order */
    uint32_t ooo_start[TCP_OOO_MAX], ooo_end[TCP_OOO_MAX];
    unsigned n_ooo;
    uint8_t ooo_fin;
    uint32_t ooo_fin_seq;

    /* RFC 6298 */
    tcp_time_t srtt, rttvar, rto;
    uint8_t has_rtt, rtt_timing;
    uint32_t rtt_first, rtt_seq;            /* the timed segment: [rtt_first, rtt_seq) */
    tcp_time_t rtt_start;
    unsigned retries;
    enum tcp_timer_mode tmode;
    tcp_time_t rtx_deadline;

    /* RFC 5681 / 6582 */
    uint32_t cwnd, ssthresh, recover;
    unsigned dupacks;
    uint8_t in_recovery, partial_acked;

    tcp_time_t delack_deadline;
    uint8_t ack_now;
    tcp_time_t state_deadline;              /* TIME-WAIT, FIN-WAIT-2 */

    tcp_time_t ka_idle, ka_intvl, ka_deadline;
    unsigned ka_count, ka_probes;

    tcp_time_t oow_last;                    /* last reply to an unacceptable pure ACK */
    tcp_time_t chack_second;
    unsigned chack_count;
};

struct tcp_engine {
    struct tcp_config cfg;
    struct tcp_stats stats;
    struct tcp_conn *buckets[TCP_HASH_BUCKETS];
    struct tcp_conn *conns;
    struct tcp_listener *listeners;
    uint8_t *txbuf;                         /* one segment being built, after
                                             * cfg.tx_headroom bytes */
    uint16_t out_tso_mss;                   /* tcp_output_tso_mss during output */
    tcp_time_t now;                         /* time of the current public call */
    unsigned depth;                         /* nesting of public calls */
    unsigned n_dead;                        /* connections waiting to be freed */
    uint32_t port_counter;
};

/* tcp_engine.c */
void *tcp_alloc(struct tcp_engine *e, size_t n);
void tcp_free(struct tcp_engine *e, void *p);
tcp_time_t tcp_clock(struct tcp_engine *e, tcp_time_t now);
void tcp_enter(struct tcp_engine *e);
void tcp_leave(struct tcp_engine *e);
struct tcp_conn *tcp_conn_lookup(struct tcp_engine *e, uint32_t lip, uint16_t lport,
                                 uint32_t rip, uint16_t rport);
struct tcp_listener *tcp_listener_lookup(struct tcp_engine *e, uint32_t lip, uint16_t lport);
struct tcp_conn *tcp_conn_new(struct tcp_engine *e, tcp_time_t now, uint32_t lip,
                              uint16_t lport, uint32_t rip, uint16_t rport);
int tcp_conn_buffers(struct tcp_conn *c);
void tcp_conn_set_closed(struct tcp_conn *c, int err);
void tcp_conn_deliver(struct tcp_conn *c);
void tcp_set_state(struct tcp_conn *c, enum tcp_state st, tcp_time_t now);
uint32_t tcp_isn(const struct tcp_engine *e, tcp_time_t now, uint32_t lip, uint16_t lport,
                 uint32_t rip, uint16_t rport);
uint64_t tcp_siphash(const uint8_t key[16], const uint8_t *data, size_t len);

/* tcp_ring.c */
int tcp_ring_init(struct tcp_engine *e, struct tcp_ring *r, uint32_t cap);
void tcp_ring_release(struct tcp_engine *e, struct tcp_ring *r);
void tcp_ring_write_at(struct tcp_ring *r, uint32_t off, const uint8_t *src, uint32_t n);
void tcp_ring_read_at(const struct tcp_ring *r, uint32_t off, uint8_t *dst, uint32_t n);
void tcp_ring_consume(struct tcp_ring *r, uint32_t n);
/* Out-of-order bookkeeping on the receive side. */
int tcp_ooo_add(struct tcp_conn *c, uint32_t start, uint32_t end);
uint32_t tcp_ooo_advance(struct tcp_conn *c);

/* tcp_sendq.c */
int tcp_sendq_init(struct tcp_engine *e, struct tcp_sendq *q, uint32_t ring_cap);
void tcp_sendq_release(struct tcp_engine *e, struct tcp_sendq *q);
uint32_t tcp_sendq_copy_space(const struct tcp_sendq *q);
uint32_t tcp_sendq_copy(struct tcp_sendq *q, const uint8_t *src, uint32_t n);
uint32_t tcp_sendq_ref(struct tcp_sendq *q, const uint8_t *data, uint32_t n);
void tcp_sendq_read(const struct tcp_sendq *q, uint32_t off, uint8_t *dst, uint32_t n);
void tcp_sendq_consume(struct tcp_sendq *q, uint32_t n);

/* tcp_output.c */
void tcp_output(struct tcp_conn *c, tcp_time_t now);
void tcp_send_ack(struct tcp_conn *c, tcp_time_t now);
void tcp_send_challenge_ack(struct tcp_conn *c, tcp_time_t now);
void tcp_send_syn(struct tcp_conn *c, tcp_time_t now);
void tcp_send_rst_conn(struct tcp_conn *c);
void tcp_send_rst(struct tcp_engine *e, uint32_t lip, uint32_t rip, uint16_t lport,
                  uint16_t rport, uint32_t seq, uint32_t ack, uint8_t flags);
void tcp_send_data_at(struct tcp_conn *c, tcp_time_t now, uint32_t seq, uint32_t maxlen);
void tcp_send_keepalive(struct tcp_conn *c);
uint16_t tcp_rcv_window_field(struct tcp_conn *c, int syn);

/* tcp_timer.c */
void tcp_rtt_sample(struct tcp_conn *c, tcp_time_t rtt);
void tcp_rtx_arm(struct tcp_conn *c, tcp_time_t now);
void tcp_rtx_stop(struct tcp_conn *c);
void tcp_conn_timers(struct tcp_conn *c, tcp_time_t now);
tcp_time_t tcp_conn_deadline(const struct tcp_conn *c);
uint32_t tcp_initial_cwnd(uint32_t mss);

/* tcp_input.c */
void tcp_conn_input(struct tcp_conn *c, tcp_time_t now, const struct tcp_segment *seg);
void tcp_listen_input(struct tcp_listener *l, tcp_time_t now, uint32_t src_ip,
                      uint32_t dst_ip, const struct tcp_segment *seg);

#endif
