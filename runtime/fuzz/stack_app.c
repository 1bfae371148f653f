/* The whole-stack fuzzers' application (stack_app.h). The TCP side uses
 * the public API only, as runtime/TCP.md describes it: what arrives is
 * echoed with tcp_send, a 'G' also queues a reply by reference
 * (tcp_send_ref), a 'Q' closes (a reset when unread data is left), an 'X'
 * aborts, and the end of the stream or an error closes. */
#include "stack_app.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "net/tcp_stack.h"

#define ECHO_CHUNK 512

/* Referenced, never copied: lives as long as the program. */
static const uint8_t reply[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
static const uint8_t request[] = "GET / HTTP/1.0\r\n\r\n"; /* the active open's */

void fuzz_app_emit(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    fuzz_touch(frame, len);
    if (len < 14 || len > 14 + FUZZ_APP_MTU)
        abort(); /* never a frame beyond the MTU */
}

static void on_udp(void *ctx, struct net_udp *u, net_time_t now, uint32_t src, uint16_t sport,
                   const uint8_t *d, size_t len)
{
    (void)ctx;
    fuzz_touch(d, len);
    (void)net_udp_send(u, now, src, sport, d, len); /* echo back */
}

/* Echoes what fits; returns nonzero once the handle was given back. */
static int echo(struct fuzz_app *a, struct tcp_conn *c)
{
    uint8_t buf[ECHO_CHUNK];
    for (;;) {
        size_t n = tcp_readable(c), space = tcp_send_space(c);
        if (n > space)
            n = space;
        if (n > sizeof(buf))
            n = sizeof(buf);
        if (n == 0)
            return 0;
        long got = tcp_recv(c, a->now, buf, n);
        if (got <= 0)
            return 0;
        (void)tcp_send(c, a->now, buf, (size_t)got);
        if (memchr(buf, 'G', (size_t)got))
            (void)tcp_send_ref(c, a->now, reply, sizeof(reply) - 1);
        if (memchr(buf, 'X', (size_t)got)) {
            tcp_abort(c, a->now);
            return 1;
        }
        if (memchr(buf, 'Q', (size_t)got)) {
            tcp_close(c, a->now);
            return 1;
        }
    }
}

static void on_event(void *user, struct tcp_conn *c, unsigned events)
{
    struct fuzz_app *a = user;
    if (events & TCP_EV_CONNECTED)
        (void)tcp_send(c, a->now, request, sizeof(request) - 1);
    if (echo(a, c))
        return;
    /* Every handle goes back, even after CLOSED (runtime/TCP.md). */
    if (events & TCP_EV_CLOSED) {
        tcp_close(c, a->now);
        return;
    }
    /* Nothing buffered: 0 is the end of the stream, an error a reset or
     * a timeout. */
    if (tcp_readable(c) == 0) {
        uint8_t probe;
        long r = tcp_recv(c, a->now, &probe, 1);
        if (r == 0 || (r < 0 && r != TCP_EAGAIN))
            tcp_close(c, a->now);
    }
}

static void on_accept(void *user, struct tcp_listener *l)
{
    struct fuzz_app *a = user;
    struct tcp_conn *c;
    while ((c = tcp_accept(l, on_event, a)) != NULL) {
        tcp_set_keepalive(c, a->now, NET_SEC(20), NET_SEC(5), 2);
        on_event(a, c, TCP_EV_READABLE);
    }
}

void fuzz_app_start(struct fuzz_app *a, struct net_stack *s, int ack_batch)
{
    struct tcp_config cfg;
    tcp_config_default(&cfg);
    cfg.mss = 0;             /* the MTU's, as tcp-echo */
    cfg.rcvbuf = 16384;      /* small buffers: fast runs, windows that fill */
    cfg.sndbuf = 16384;
    cfg.max_conns = 8;
    cfg.verify_checksum = 0; /* mutated segments reach the state machine */
    cfg.ack_batch = ack_batch;
    a->tcp = tcp_stack_attach(s, &cfg);
    if (!a->tcp)
        abort();
    (void)net_stack_set_ipv4(s, a->now, FUZZ_APP_ADDR, 24, NET_IP4(10, 0, 0, 1));
    a->listener = tcp_listen(a->tcp, 0, FUZZ_APP_TCP_PORT, 4, on_accept, a);
    struct tcp_conn *out = tcp_connect(a->tcp, a->now, FUZZ_APP_ADDR, FUZZ_APP_LOCAL_PORT,
                                       FUZZ_APP_PEER, FUZZ_APP_PEER_PORT, on_event, a);
    if (!a->listener || !out)
        abort();
    tcp_set_nodelay(out, 1);
    a->udp = net_udp_bind(s, FUZZ_APP_UDP_PORT, on_udp, NULL);
}

void fuzz_app_stop(struct fuzz_app *a, struct net_stack *s)
{
    net_udp_close(a->udp);
    /* The engine frees the listener and every connection, the
     * application's handles included (tcp_engine_destroy). */
    tcp_stack_detach(s, a->tcp);
}
