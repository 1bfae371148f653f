/* www: a static web server (HTTP/1.1, RFC 9110/9112) for the site in a
 * ustar archive on the block device "site", on the runtime's TCP.
 *
 *   solo5-spt --net:service=tap0 --block:site=site.tar www.spt \
 *       --ipv4=10.0.0.2/24 [--port=80] [--max-age=SECONDS] [--access-log] ...
 *
 * (args.h lists every argument; docs/www.md is the operator's guide.)
 *
 * Console: "www: site N entries" once the archive is indexed, "www: ready
 * ADDRESS/PREFIX port N" when it listens, and "www: live L accepted A
 * requests R heap H" whenever those change, at most once a second (tests
 * watch connections being freed). An invalid archive or argument prints
 * "www: ..." and exits with status 1. */
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "blk/device.h"
#include "blk/ustar.h"
#include "conn.h"
#include "file_cache.h"
#include "net/bootargs.h"
#include "net/dhcp.h"
#include "net/netif.h"
#include "net/tcp_stack.h"
#include "rt/heap.h"
#include "rt/runtime.h"
#include "server.h"
#include "solo5.h"

#define SWEEP_PERIOD 1000000000ull /* timeouts are in whole seconds */
#define STATS_PERIOD 1000000000ull
/* The stack, the TCP engine, reassembly buffers and the loop: a bound on
 * what the server needs besides its index and connections. */
#define FIXED_MEMORY (2u * 1024u * 1024u)

static struct www_server server;
static struct blk_device site_device;

const char *www_date(struct www_server *s, int64_t *wall_seconds)
{
    /* The wall clock is a system call on spt: read it once a second and
     * derive it from the loop's monotonic time in between. */
    solo5_time_t mono = rt_loop_now(&s->loop);
    if (s->date[0] == 0 || mono - s->wall_read_at >= 1000000000ull) {
        s->wall_offset = solo5_clock_wall() - mono;
        s->wall_read_at = mono;
    }
    int64_t now = (int64_t)((mono + s->wall_offset) / 1000000000ull);
    if (now != s->date_second || s->date[0] == 0) {
        s->date_second = now;
        http_date_format(now, s->date);
    }
    if (wall_seconds)
        *wall_seconds = now;
    return s->date;
}

static void on_sweep(void *ctx, solo5_time_t now)
{
    struct www_server *s = ctx;
    www_conn_sweep(s, now);
    rt_timer_arm(&s->loop, &s->sweep, now + SWEEP_PERIOD);
}

static void on_stats(void *ctx, solo5_time_t now)
{
    struct www_server *s = ctx;
    if (s->live != s->reported_live || s->accepted != s->reported_accepted
        || s->requests != s->reported_requests) {
        struct heap_stats hs;
        heap_get_stats(&hs);
        s->reported_live = s->live;
        s->reported_accepted = s->accepted;
        s->reported_requests = s->requests;
        printf("www: live %u accepted %lu requests %lu refused %lu heap %zu\n", s->live,
               s->accepted, s->requests, s->refused, hs.in_use);
    }
    rt_timer_arm(&s->loop, &s->stats, now + STATS_PERIOD);
}

static void print_ready(uint32_t addr, unsigned prefix_len, unsigned port)
{
    printf("www: ready %u.%u.%u.%u/%u port %u\n", (unsigned)(addr >> 24),
           (unsigned)(addr >> 16) & 255, (unsigned)(addr >> 8) & 255, (unsigned)addr & 255,
           prefix_len, port);
}

static void on_dhcp(void *ctx, struct net_dhcp *d, enum net_dhcp_event ev)
{
    struct www_server *s = ctx;
    const struct net_dhcp_lease *lease = net_dhcp_lease(d);
    if (ev == NET_DHCP_BOUND)
        print_ready(lease->addr, lease->prefix_len, s->cfg.port);
    else
        printf("www: dhcp %s\n", net_dhcp_event_name(ev));
}

/* Refuses a configuration whose connections cannot all get their memory. */
static int memory_fits(const struct www_server *s, size_t heap_total)
{
    unsigned long long per_conn = www_conn_memory(), per_backlog = www_backlog_conn_memory();
    unsigned long long cache = (unsigned long long)s->cfg.cache_mb << 20;
    unsigned long long need = FIXED_MEMORY + (unsigned long long)s->cfg.max_connections * per_conn
                              + (unsigned long long)WWW_BACKLOG * per_backlog + cache;
    struct heap_stats hs;
    heap_get_stats(&hs);
    unsigned long long left = heap_total - hs.in_use;
    printf("www: %u connections x %llu bytes + backlog %u x %llu bytes + cache %u MiB + %u "
           "fixed = %llu KiB of %llu KiB free\n", s->cfg.max_connections, per_conn, WWW_BACKLOG,
           per_backlog, s->cfg.cache_mb, FIXED_MEMORY, need / 1024, left / 1024);
    if (need > left) {
        printf("www: --max-connections=%u needs %llu MiB but %llu MiB are free: give the "
               "guest more memory (--mem) or allow fewer connections\n",
               s->cfg.max_connections, (need + (1u << 20) - 1) >> 20, left >> 20);
        return 0;
    }
    return 1;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    struct www_server *s = &server;
    rt_init(si);
    struct net_bootargs net;
    const char *error;
    if (net_bootargs_parse(si->cmdline, &net, &error) != 0
        || www_args_parse(si->cmdline, &s->cfg, &error) != 0) {
        printf("www: %s\n", error);
        return SOLO5_EXIT_FAILURE;
    }
    if (blk_device_open_solo5(&site_device, "site", &error) != 0) {
        printf("www: site: %s\n", error);
        return SOLO5_EXIT_FAILURE;
    }
    char why[USTAR_ERROR_MAX];
    s->site = ustar_open(&site_device, why, sizeof(why));
    if (!s->site) {
        printf("www: site: %s\n", why);
        return SOLO5_EXIT_FAILURE;
    }
    printf("www: site %zu entries\n", ustar_count(s->site));
    if (file_cache_init(&s->cache, s->site, (size_t)s->cfg.cache_mb << 20) != 0) {
        printf("www: out of memory for the file cache's table\n");
        return SOLO5_EXIT_FAILURE;
    }
    struct heap_stats hs;
    heap_get_stats(&hs);
    if (!memory_fits(s, hs.total))
        return SOLO5_EXIT_FAILURE;

    rt_loop_init(&s->loop);
    struct netif *n = netif_open(&s->loop, "service");
    if (!n) {
        printf("www: cannot open network device \"service\"\n");
        return SOLO5_EXIT_FAILURE;
    }
    struct tcp_config cfg;
    tcp_config_default(&cfg);
    cfg.mss = 0; /* from the interface MTU: a jumbo-frame tap carries 8,960 bytes a frame */
    cfg.rcvbuf = WWW_RCVBUF;
    cfg.sndbuf = WWW_SNDBUF;
    cfg.sndref_max = WWW_SNDREF;
    cfg.max_conns = s->cfg.max_connections + WWW_BACKLOG;
    s->tcp = tcp_stack_attach(netif_stack(n), &cfg);
    if (!s->tcp
        || !tcp_listen(s->tcp, 0, (uint16_t)s->cfg.port, WWW_BACKLOG, www_conn_on_accept, s)) {
        printf("www: cannot listen on port %u\n", s->cfg.port);
        return SOLO5_EXIT_FAILURE;
    }
    if (netif_configure(n, &net, on_dhcp, s) != 0) {
        printf("www: cannot configure the network\n");
        return SOLO5_EXIT_FAILURE;
    }
    if (!net.dhcp)
        print_ready(net.addr, net.prefix_len, s->cfg.port);
    else
        printf("www: waiting for DHCP\n");
    solo5_time_t now = solo5_clock_monotonic();
    rt_timer_init(&s->sweep, on_sweep, s);
    rt_timer_arm(&s->loop, &s->sweep, now + SWEEP_PERIOD);
    rt_timer_init(&s->stats, on_stats, s);
    rt_timer_arm(&s->loop, &s->stats, now + STATS_PERIOD);
    rt_loop_run(&s->loop);
    return SOLO5_EXIT_SUCCESS;
}
