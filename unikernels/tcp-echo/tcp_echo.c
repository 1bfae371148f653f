/* tcp-echo: echoes every byte of every TCP connection back to its sender
 * (RFC 862), on the runtime's stack. For throughput measurements it can
 * also run a discard service (RFC 863: reads and drops) and a source
 * service (sends a fixed pattern until the peer goes away).
 *
 *   boot arguments: --ipv4=ADDRESS/PREFIX [--ipv4-gateway=GW] | --dhcp
 *                   [--port=N]           echo port (default 7)
 *                   [--discard-port=N]   discard service (off by default)
 *                   [--source-port=N]    source service (off by default)
 *
 * The source pattern: byte k of a connection is k % 251.
 *
 * It prints "tcp-echo: ready ADDRESS/PREFIX port N" once it listens, and
 * "tcp-echo: live L accepted A retransmits R" whenever those counters
 * changed, at most once a second (tests use it to see every connection
 * freed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/bootargs.h"
#include "net/dhcp.h"
#include "net/netif.h"
#include "net/tcp.h"
#include "net/tcp_stack.h"
#include "rt/loop.h"
#include "rt/runtime.h"
#include "solo5.h"

#define ECHO_DEFAULT_PORT 7u            /* RFC 862 */
#define ECHO_BACKLOG 128u
#define ECHO_BUF (128u * 1024u)         /* per-connection TCP buffers */
#define ECHO_CHUNK 16384u
#define SOURCE_PERIOD 251u              /* prime, so offsets show in the data */
#define STATS_PERIOD NET_SEC(1)

enum service { SERVICE_ECHO, SERVICE_DISCARD, SERVICE_SOURCE };

struct echo;

struct listener_ctx {
    struct echo *app;
    enum service kind;
};

/* Per source connection: the pattern offset. */
struct source_conn {
    struct echo *app;
    uint64_t offset;
};

struct echo {
    struct rt_loop loop;
    struct rt_timer stats_timer;
    struct tcp_engine *tcp;
    struct listener_ctx services[3];
    unsigned long accepted;
    unsigned reported_live;
    unsigned long reported_accepted;
    uint8_t chunk[ECHO_CHUNK];
    uint8_t pattern[ECHO_CHUNK + SOURCE_PERIOD];
};

static struct echo app;

/* After the data is handled: end of stream or an error closes. */
static int finish_if_done(struct tcp_conn *c, struct echo *a, solo5_time_t now)
{
    if (tcp_readable(c) != 0)
        return 0;
    long r = tcp_recv(c, now, a->chunk, sizeof(a->chunk));
    if (r == 0 || (r < 0 && r != TCP_EAGAIN)) {
        tcp_close(c, now); /* FIN goes after anything still queued */
        return 1;
    }
    return 0;
}

static void on_echo(void *user, struct tcp_conn *c, unsigned ev)
{
    struct echo *a = user;
    solo5_time_t now = rt_loop_now(&a->loop); /* no clock read per segment */
    (void)ev;
    /* Move only what fits into the send buffer: a full send buffer stops
     * reading, the receive window closes, and the peer is flow-controlled. */
    for (;;) {
        size_t n = tcp_readable(c), space = tcp_send_space(c);
        if (n > space)
            n = space;
        if (n > sizeof(a->chunk))
            n = sizeof(a->chunk);
        if (n == 0)
            break;
        long got = tcp_recv(c, now, a->chunk, n);
        if (got <= 0)
            break;
        tcp_send(c, now, a->chunk, (size_t)got);
    }
    finish_if_done(c, a, now);
}

static void on_discard(void *user, struct tcp_conn *c, unsigned ev)
{
    struct echo *a = user;
    solo5_time_t now = rt_loop_now(&a->loop); /* no clock read per segment */
    (void)ev;
    while (tcp_recv(c, now, a->chunk, sizeof(a->chunk)) > 0)
        ;
    finish_if_done(c, a, now);
}

static void on_source(void *user, struct tcp_conn *c, unsigned ev)
{
    struct source_conn *s = user;
    struct echo *a = s->app;
    solo5_time_t now = rt_loop_now(&a->loop); /* no clock read per segment */
    (void)ev;
    while (tcp_recv(c, now, a->chunk, sizeof(a->chunk)) > 0)
        ;
    if (finish_if_done(c, a, now)) {
        free(s);
        return;
    }
    for (;;) {
        size_t space = tcp_send_space(c);
        if (space == 0)
            break;
        if (space > ECHO_CHUNK)
            space = ECHO_CHUNK;
        long sent = tcp_send(c, now, a->pattern + s->offset % SOURCE_PERIOD, space);
        if (sent <= 0)
            break;
        s->offset += (uint64_t)sent;
    }
}

static void on_accept(void *user, struct tcp_listener *l)
{
    struct listener_ctx *lc = user;
    struct echo *a = lc->app;
    for (;;) {
        struct tcp_conn *c;
        if (lc->kind == SERVICE_SOURCE) {
            struct source_conn *s = malloc(sizeof(*s));
            if (!s)
                return; /* stays in the backlog until memory frees up */
            s->app = a;
            s->offset = 0;
            c = tcp_accept(l, on_source, s);
            if (!c) {
                free(s);
                return;
            }
            a->accepted++;
            on_source(s, c, TCP_EV_WRITABLE);
            continue;
        }
        c = tcp_accept(l, lc->kind == SERVICE_ECHO ? on_echo : on_discard, a);
        if (!c)
            return;
        a->accepted++;
        if (lc->kind == SERVICE_ECHO)
            on_echo(a, c, TCP_EV_READABLE);
        else
            on_discard(a, c, TCP_EV_READABLE);
    }
}

static void on_stats(void *ctx, solo5_time_t now)
{
    struct echo *a = ctx;
    const struct tcp_stats *st = tcp_engine_stats(a->tcp);
    if (st->live_conns != a->reported_live || a->accepted != a->reported_accepted) {
        a->reported_live = st->live_conns;
        a->reported_accepted = a->accepted;
        printf("tcp-echo: live %u accepted %lu retransmits %llu\n", st->live_conns,
               a->accepted, (unsigned long long)st->retransmits);
    }
    rt_timer_arm(&a->loop, &a->stats_timer, now + STATS_PERIOD);
}

/* --KEY=N among the space-separated boot arguments; 0 if absent, -1 if
 * malformed. key includes the "--" and the "=". */
static long parse_port(const char *cmdline, const char *key)
{
    size_t key_len = strlen(key);
    const char *p = cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        if (strncmp(p, key, key_len) == 0) {
            p += key_len;
            unsigned long v = 0;
            size_t digits = 0;
            while (p[digits] >= '0' && p[digits] <= '9' && digits < 6) {
                v = v * 10 + (unsigned long)(p[digits] - '0');
                digits++;
            }
            if (digits == 0 || (p[digits] != '\0' && p[digits] != ' ') || v == 0 || v > 65535)
                return -1;
            return (long)v;
        }
        while (*p && *p != ' ')
            p++;
    }
    return 0;
}

static void print_ready(uint32_t addr, unsigned prefix_len, unsigned port)
{
    printf("tcp-echo: ready %u.%u.%u.%u/%u port %u\n", (unsigned)(addr >> 24),
           (unsigned)(addr >> 16) & 255, (unsigned)(addr >> 8) & 255, (unsigned)addr & 255,
           prefix_len, port);
}

static unsigned echo_port;

static void on_dhcp(void *ctx, struct net_dhcp *d, enum net_dhcp_event ev)
{
    (void)ctx;
    const struct net_dhcp_lease *lease = net_dhcp_lease(d);
    if (ev == NET_DHCP_BOUND)
        print_ready(lease->addr, lease->prefix_len, echo_port);
    else
        printf("tcp-echo: dhcp %s\n", net_dhcp_event_name(ev));
}

static int start_service(struct echo *a, enum service kind, long port)
{
    struct listener_ctx *lc = &a->services[kind];
    lc->app = a;
    lc->kind = kind;
    return tcp_listen(a->tcp, 0, (uint16_t)port, ECHO_BACKLOG, on_accept, lc) ? 0 : -1;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    struct echo *a = &app;
    rt_init(si);
    struct net_bootargs args;
    const char *error;
    if (net_bootargs_parse(si->cmdline, &args, &error) != 0) {
        printf("tcp-echo: %s\n", error);
        return SOLO5_EXIT_FAILURE;
    }
    long port = parse_port(si->cmdline, "--port=");
    long discard = parse_port(si->cmdline, "--discard-port=");
    long source = parse_port(si->cmdline, "--source-port=");
    if (port < 0 || discard < 0 || source < 0) {
        printf("tcp-echo: --port must be a number from 1 to 65535\n");
        return SOLO5_EXIT_FAILURE;
    }
    echo_port = port ? (unsigned)port : ECHO_DEFAULT_PORT;
    for (unsigned i = 0; i < sizeof(a->pattern); i++)
        a->pattern[i] = (uint8_t)(i % SOURCE_PERIOD);
    rt_loop_init(&a->loop);
    struct netif *n = netif_open(&a->loop, "service");
    if (!n) {
        printf("tcp-echo: cannot open network device \"service\"\n");
        return SOLO5_EXIT_FAILURE;
    }
    struct tcp_config cfg;
    tcp_config_default(&cfg);
    cfg.rcvbuf = ECHO_BUF;
    cfg.sndbuf = ECHO_BUF;
    cfg.mss = 0;       /* from the interface MTU: jumbo frames carry 8,960 bytes */
    cfg.ack_batch = 1; /* the loop polls the stack after each batch of frames */
    a->tcp = tcp_stack_attach(netif_stack(n), &cfg);
    if (!a->tcp || start_service(a, SERVICE_ECHO, echo_port) != 0
        || (discard && start_service(a, SERVICE_DISCARD, discard) != 0)
        || (source && start_service(a, SERVICE_SOURCE, source) != 0)) {
        printf("tcp-echo: cannot listen (ports must differ)\n");
        return SOLO5_EXIT_FAILURE;
    }
    if (netif_configure(n, &args, on_dhcp, NULL) != 0) {
        printf("tcp-echo: cannot configure the network\n");
        return SOLO5_EXIT_FAILURE;
    }
    if (!args.dhcp)
        print_ready(args.addr, args.prefix_len, echo_port);
    else
        printf("tcp-echo: waiting for DHCP\n");
    rt_timer_init(&a->stats_timer, on_stats, a);
    rt_timer_arm(&a->loop, &a->stats_timer, solo5_clock_monotonic() + STATS_PERIOD);
    rt_loop_run(&a->loop);
    return SOLO5_EXIT_SUCCESS;
}
