/* DNS over TCP (RFC 1035 4.2.2, RFC 7766): each message has a 2-octet
 * length prefix. Queries are read one at a time and answered in order;
 * the next is read only when the previous answer is queued, so a client
 * that does not read its answers is flow-controlled by TCP. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "axfr.h"
#include "bytes.h"
#include "dns_server.h"
#include "solo5.h"

#define FRAME_MAX (2u + DNS_TCP_MAX)

struct dns_conn {
    struct dns_server *srv;
    struct tcp_conn *c;
    struct rt_timer idle;
    int axfr_allowed;
    int streaming; /* an AXFR is being sent */
    int progressed; /* bytes were queued since the idle timer was armed */
    struct axfr_stream axfr;
    size_t rx_len; /* bytes of the current frame received */
    size_t tx_len, tx_sent;
    uint8_t rx[FRAME_MAX];
    uint8_t tx[FRAME_MAX];
};

static void conn_close(struct dns_conn *d, solo5_time_t now)
{
    rt_timer_cancel(d->srv->loop, &d->idle);
    tcp_close(d->c, now);
    d->srv->tcp_open--;
    free(d);
}

static void arm_idle(struct dns_conn *d, solo5_time_t now)
{
    rt_timer_arm(d->srv->loop, &d->idle, now + (solo5_time_t)d->srv->args->tcp_idle * 1000000000ull);
}

static void on_idle(void *ctx, solo5_time_t now)
{
    struct dns_conn *d = ctx;
    /* Still sending and the client still reads: not idle. A client that
     * stopped reading a pending answer is closed like an idle one. */
    if ((d->tx_sent < d->tx_len || d->streaming) && d->progressed) {
        d->progressed = 0;
        arm_idle(d, now);
        return;
    }
    conn_close(d, now);
}

/* Queues as much of the pending frame as fits; 1 when all is queued. */
static int flush(struct dns_conn *d, solo5_time_t now)
{
    while (d->tx_sent < d->tx_len) {
        long n = tcp_send(d->c, now, d->tx + d->tx_sent, d->tx_len - d->tx_sent);
        if (n <= 0)
            return 0;
        d->tx_sent += (size_t)n;
        d->progressed = 1;
    }
    return 1;
}

static void answer(struct dns_conn *d, solo5_time_t now)
{
    struct dns_query_opts opts = { DNS_OVER_TCP, d->axfr_allowed, DNS_EDNS_DEFAULT };
    struct dns_axfr_start start;
    size_t qlen = d->rx_len - 2;
    size_t n = dns_query_answer(d->srv->zones, d->rx + 2, qlen, &opts, d->tx + 2, DNS_TCP_MAX,
                                &start);
    d->srv->tcp_queries++;
    d->rx_len = 0;
    arm_idle(d, now);
    if (start.zone) {
        axfr_begin(&d->axfr, &start);
        d->streaming = 1;
        return;
    }
    if (n > 0) {
        put_be16(d->tx, (uint16_t)n);
        d->tx_len = n + 2;
        d->tx_sent = 0;
    }
}

/* Reads toward the end of the current frame; 1 when it is complete. */
static int read_frame(struct dns_conn *d, solo5_time_t now)
{
    size_t want = d->rx_len < 2 ? 2 : 2u + get_be16(d->rx);
    while (d->rx_len < want) {
        long n = tcp_recv(d->c, now, d->rx + d->rx_len, want - d->rx_len);
        if (n <= 0)
            return 0;
        d->rx_len += (size_t)n;
        if (d->rx_len == 2)
            want = 2u + get_be16(d->rx);
    }
    return 1;
}

static void on_event(void *user, struct tcp_conn *c, unsigned ev)
{
    struct dns_conn *d = user;
    solo5_time_t now = solo5_clock_monotonic();
    (void)c;
    (void)ev;
    for (;;) {
        if (!flush(d, now))
            return; /* woken by TCP_EV_WRITABLE */
        if (d->streaming) {
            size_t n = axfr_next(&d->axfr, d->tx + 2, DNS_TCP_MAX);
            if (n == 0) {
                d->streaming = 0;
                continue;
            }
            put_be16(d->tx, (uint16_t)n);
            d->tx_len = n + 2;
            d->tx_sent = 0;
            continue;
        }
        if (read_frame(d, now)) {
            answer(d, now);
            continue;
        }
        break;
    }
    if (tcp_readable(c) == 0) {
        uint8_t probe;
        long r = tcp_recv(c, now, &probe, 1);
        if (r == 0 || (r < 0 && r != TCP_EAGAIN))
            conn_close(d, now); /* end of stream or reset; answers already queued */
    }
}

static void on_accept(void *user, struct tcp_listener *l)
{
    struct dns_server *srv = user;
    for (;;) {
        struct dns_conn *d = malloc(sizeof(*d));
        if (!d)
            return; /* stays in the backlog until memory frees up */
        memset(d, 0, offsetof(struct dns_conn, rx));
        d->srv = srv;
        d->c = tcp_accept(l, on_event, d);
        if (!d->c) {
            free(d);
            return;
        }
        uint32_t lip, rip;
        uint16_t lport, rport;
        tcp_conn_addr(d->c, &lip, &lport, &rip, &rport);
        d->axfr_allowed = dns_acl_allows(srv->args, rip);
        srv->tcp_open++;
        rt_timer_init(&d->idle, on_idle, d);
        solo5_time_t now = solo5_clock_monotonic();
        tcp_set_nodelay(d->c, 1);
        arm_idle(d, now);
        on_event(d, d->c, TCP_EV_READABLE);
    }
}

int dns_tcp_start(struct dns_server *srv)
{
    return tcp_listen(srv->tcp, 0, DNS_PORT, DNS_TCP_CONNS_MAX, on_accept, srv) ? 0 : -1;
}
