/* TCP (RFC 9293) as a pure engine: no clock, no I/O, no dependency on the
 * rest of the stack. The caller feeds it segments and time; it emits
 * segments through a callback. net/tcp_stack.h binds it to a net_stack.
 *
 *     struct tcp_config cfg; tcp_config_default(&cfg);
 *     cfg.output = send_segment; cfg.output_ctx = ...; cfg.secret = random;
 *     struct tcp_engine *e = tcp_engine_create(&cfg);
 *     tcp_listen(e, 0, 7, 16, on_accept, app);
 *     loop: tcp_input(e, now, src, dst, seg, len) for each IPv4 payload of
 *           protocol 6 addressed to us; tcp_poll(e, now) when
 *           tcp_next_deadline(e) has passed.
 *
 * Application model: non-blocking calls plus edge-triggered event
 * callbacks (see runtime/TCP.md).
 *   - A connection handle (struct tcp_conn *) belongs to the application
 *     from tcp_accept()/tcp_connect() until it calls tcp_close() or
 *     tcp_abort(); after that call the handle must not be used again. The
 *     engine frees the connection once it reaches CLOSED *and* the
 *     application has released it. Connections never accepted belong to
 *     their listener and are freed by the engine.
 *   - Callbacks (tcp_event_fn, tcp_accept_fn) run from inside tcp_input,
 *     tcp_poll and the API calls, after the engine finished its own work
 *     on that connection; they may call any function of this API.
 *   - tcp_recv/tcp_send never block; they return TCP_EAGAIN when they
 *     cannot make progress, and the next TCP_EV_READABLE/TCP_EV_WRITABLE
 *     event says when to try again. Readiness can also be queried at any
 *     time (tcp_readable, tcp_send_space).
 *
 * Addresses and ports are host byte order. Times are nanoseconds.
 */
#ifndef NET_TCP_H
#define NET_TCP_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t tcp_time_t; /* same unit and origin as net_time_t */
#define TCP_TIME_NEVER UINT64_MAX

/* Negative return values. */
enum {
    TCP_OK = 0,
    TCP_EAGAIN = -11,       /* no data / no space now; wait for an event */
    TCP_EINVAL = -22,       /* bad argument or wrong state for the call */
    TCP_ENOMEM = -12,       /* allocation failed or a configured limit reached */
    TCP_EADDRINUSE = -98,   /* port already listening / 4-tuple in use */
    TCP_ENOTCONN = -107,    /* not yet established */
    TCP_EPIPE = -32,        /* send after close/shutdown or after the peer reset */
    TCP_ECONNRESET = -104,  /* the peer reset the connection */
    TCP_ECONNREFUSED = -111,/* active open answered with RST */
    TCP_ETIMEDOUT = -110,   /* retransmissions or keepalives exhausted */
};

/* Connection states, RFC 9293 section 3.3.2. */
enum tcp_state {
    TCP_CLOSED, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RECEIVED, TCP_ESTABLISHED,
    TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK,
    TCP_TIME_WAIT,
};

/* Event bits passed to tcp_event_fn. */
enum {
    TCP_EV_CONNECTED = 1u << 0, /* active open reached ESTABLISHED */
    TCP_EV_READABLE = 1u << 1,  /* new data, or end of stream (tcp_recv returns 0) */
    TCP_EV_WRITABLE = 1u << 2,  /* send buffer space became available */
    TCP_EV_CLOSED = 1u << 3,    /* reached CLOSED; tcp_error() says why (0 = orderly) */
};

struct tcp_engine;
struct tcp_conn;
struct tcp_listener;

/* Emits one complete TCP segment (header with checksum, options, data) to
 * be carried in an IPv4 datagram from src_ip to dst_ip; now is the time
 * of the call that caused it. The segment is the engine's buffer, valid
 * during the call; the tcp_config.tx_headroom bytes before it are the
 * callback's to write (lower layers' headers, so the frame needs no copy). */
typedef void (*tcp_output_fn)(void *ctx, tcp_time_t now, uint32_t src_ip, uint32_t dst_ip,
                              uint8_t *segment, size_t len);
/* Inside the output callback: the MSS a super-segment (tso_max) must be
 * split at, with its checksum field holding only the pseudo-header sum;
 * 0 for an ordinary, complete segment. */
uint16_t tcp_output_tso_mss(const struct tcp_engine *e);
typedef void (*tcp_event_fn)(void *user, struct tcp_conn *c, unsigned events);
/* A connection is waiting in the listener's backlog: call tcp_accept(). */
typedef void (*tcp_accept_fn)(void *user, struct tcp_listener *l);

struct tcp_config {
    tcp_output_fn output;
    void *output_ctx;
    uint8_t secret[16];       /* RFC 6528 ISN key and ephemeral-port salt */
    uint16_t mss;             /* our MSS (MTU - 40); default 1460 */
    uint32_t rcvbuf;          /* receive buffer per connection; default 256 KiB */
    uint32_t sndbuf;          /* send buffer (ring) per connection; default 256 KiB */
    unsigned max_conns;       /* limit on live connections; default 1024 */
    tcp_time_t delack;        /* delayed-ACK timeout; default 40 ms */
    tcp_time_t time_wait;     /* TIME-WAIT duration (2*MSL); default 10 s */
    tcp_time_t fin_wait_2;    /* FIN-WAIT-2 limit after close(); default 60 s */
    unsigned syn_retries;     /* SYN / SYN-ACK retransmissions; default 6 */
    unsigned data_retries;    /* data/FIN retransmissions; default 15 */
    int verify_checksum;      /* 1 (default); 0 only for fuzzing */
    int ack_batch;            /* 0 (default): the ACK owed every second full
                               * segment goes at once; 1: it goes from the
                               * next tcp_poll (an event loop polls after
                               * each batch of frames), at once only when a
                               * quarter of the buffer is unacknowledged */
    uint32_t tso_max;         /* 0 (default): a segment carries at most one
                               * MSS; else new data goes out in segments of
                               * up to this many bytes (whole MSSs) for the
                               * device to split (TSO, docs/net-offload.md):
                               * see tcp_output_tso_mss */
    uint32_t sndref_max;      /* bytes one connection may have queued by
                               * reference (tcp_send_ref) at a time; they
                               * take no engine memory; default 1 MiB;
                               * 0 refuses tcp_send_ref (TCP_EINVAL) */
    uint16_t tx_headroom;     /* writable bytes before every segment given
                               * to output; 0 (default) to 256 */
};

void tcp_config_default(struct tcp_config *cfg);
struct tcp_engine *tcp_engine_create(const struct tcp_config *cfg);
/* Frees every connection and listener without sending anything. */
void tcp_engine_destroy(struct tcp_engine *e);

/* One segment (the IPv4 payload, protocol 6) from src_ip to dst_ip. */
void tcp_input(struct tcp_engine *e, tcp_time_t now, uint32_t src_ip, uint32_t dst_ip,
               const uint8_t *seg, size_t len);
/* The same for a segment whose checksum the device vouches for (virtio-net
 * DATA_VALID or NEEDS_CSUM, docs/net-offload.md): it is not verified. */
void tcp_input_csum_trusted(struct tcp_engine *e, tcp_time_t now, uint32_t src_ip,
                            uint32_t dst_ip, const uint8_t *seg, size_t len);
/* Runs every timer that expired at or before now. */
void tcp_poll(struct tcp_engine *e, tcp_time_t now);
/* The earliest time tcp_poll has work, TCP_TIME_NEVER when none. */
tcp_time_t tcp_next_deadline(const struct tcp_engine *e);

/* Passive open. local_ip 0 accepts on any address. backlog bounds the
 * connections in SYN-RECEIVED plus those established but not accepted;
 * SYNs beyond it are dropped (the peer retries). */
struct tcp_listener *tcp_listen(struct tcp_engine *e, uint32_t local_ip, uint16_t port,
                                unsigned backlog, tcp_accept_fn on_accept, void *user);
/* Takes the oldest established connection from the backlog, or NULL. */
struct tcp_conn *tcp_accept(struct tcp_listener *l, tcp_event_fn on_event, void *user);
/* Stops listening; connections still in the backlog are reset and freed. */
void tcp_unlisten(struct tcp_listener *l);

/* Active open; local_port 0 picks an ephemeral port (RFC 6056 style hash).
 * `now` is needed for the ISN and the SYN's timer. NULL on error. */
struct tcp_conn *tcp_connect(struct tcp_engine *e, tcp_time_t now, uint32_t local_ip,
                             uint16_t local_port, uint32_t remote_ip, uint16_t remote_port,
                             tcp_event_fn on_event, void *user);

/* Reads up to len (> 0) bytes. Returns the count, 0 at end of stream (peer
 * sent FIN and all data was read), TCP_EAGAIN if nothing is buffered, or
 * an error. Reading may open the window and send an ACK at once. */
long tcp_recv(struct tcp_conn *c, tcp_time_t now, uint8_t *buf, size_t len);
/* Queues up to len bytes; returns how many were taken (maybe fewer),
 * TCP_EAGAIN when the send buffer is full, or an error. */
long tcp_send(struct tcp_conn *c, tcp_time_t now, const uint8_t *buf, size_t len);
/* Queues up to len bytes of memory the application promises to keep
 * unchanged until the connection is freed (a file cache that lives as long
 * as the program): the engine keeps a reference, not a copy, and builds
 * each segment (and retransmission) straight from it. The bytes take no
 * ring space; at most tcp_config.sndref_max of them are queued at a time.
 * Ordered with tcp_send's bytes as called. Returns how many were taken
 * (maybe fewer), TCP_EAGAIN when none can be now (the cap is reached, or
 * the send queue's 8 runs are taken: each switch between tcp_send and
 * tcp_send_ref, or a reference not continuing the last, starts one;
 * TCP_EV_WRITABLE follows an ACK), or an error as tcp_send. */
long tcp_send_ref(struct tcp_conn *c, tcp_time_t now, const uint8_t *data, size_t len);
/* Orderly release: FIN after the queued data, and the handle is given
 * back to the engine. Unread received data makes it an abort (RST), per
 * RFC 9293 section 3.6 / RFC 1122 4.2.2.13. */
void tcp_close(struct tcp_conn *c, tcp_time_t now);
/* Sends RST (if synchronized) and frees the connection now. */
void tcp_abort(struct tcp_conn *c, tcp_time_t now);

size_t tcp_readable(const struct tcp_conn *c);   /* bytes buffered for tcp_recv */
/* Bytes queued by tcp_send and tcp_send_ref and not yet acknowledged. */
size_t tcp_send_queued(const struct tcp_conn *c);
/* Bytes tcp_send would take now. A 0 arms TCP_EV_WRITABLE, so an
 * application that sends only what fits (an echo, a proxy) is woken up. */
size_t tcp_send_space(struct tcp_conn *c);
enum tcp_state tcp_state(const struct tcp_conn *c);
int tcp_error(const struct tcp_conn *c);         /* 0 or the TCP_E* that closed it */
void tcp_set_nodelay(struct tcp_conn *c, int on); /* 1 turns Nagle (RFC 896) off */
/* Keepalive (RFC 1122 4.2.3.6): probes after `idle` without traffic, every
 * `interval` (0: 75 s), reset after `count` (0: 9) unanswered; idle 0
 * turns it off (the default). */
void tcp_set_keepalive(struct tcp_conn *c, tcp_time_t now, tcp_time_t idle,
                       tcp_time_t interval, unsigned count);
void tcp_conn_addr(const struct tcp_conn *c, uint32_t *local_ip, uint16_t *local_port,
                   uint32_t *remote_ip, uint16_t *remote_port);

/* For tests and diagnostics. */
struct tcp_stats {
    unsigned live_conns;      /* allocated connections, any state */
    unsigned live_listeners;
    uint64_t live_bytes;      /* bytes allocated by the engine right now */
    uint64_t segs_in, segs_out, retransmits, bad_segments, rst_out, challenge_acks;
    uint64_t backlog_drops;
};
const struct tcp_stats *tcp_engine_stats(const struct tcp_engine *e);

/* Congestion and timer state of one connection, for tests. */
struct tcp_conn_info {
    uint32_t snd_una, snd_nxt, snd_wnd, cwnd, ssthresh, rcv_nxt, rcv_wnd;
    tcp_time_t rto, srtt, rttvar;
    uint16_t snd_mss;
    uint8_t snd_wscale, rcv_wscale;
    int in_recovery;
};
void tcp_conn_info(const struct tcp_conn *c, struct tcp_conn_info *out);

#endif
