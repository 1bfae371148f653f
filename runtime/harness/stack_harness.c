/* Host-side driver for the network stack: reads a script on stdin, one
 * command per line, and prints what the stack did, each output line
 * prefixed with the number (from 0) of the command that caused it.
 *
 *   create MAC MTU SEED     new stack (MAC as 12 hex digits)
 *   ipv4 ADDR/PREFIX GW     net_stack_set_ipv4          -> ret RC
 *   time NS                 the virtual clock (never goes back)
 *   in HEX                  net_stack_input
 *   vnet_in HEX             net_stack_input_vnet (header + frame)  -> ret RC
 *   create_tso MAC MTU SEED as create, with TSO frames printed as
 *                           "tso MSS L4_OFF HDR_LEN HEX"
 *   tso_out IP TCP_HDR_LEN MSS HEX  net_ipv4_output_tso      -> ret RC
 *   tso_out_in_place IP TCP_HDR_LEN MSS HEX  the same through
 *                           net_ipv4_output_tso_in_place, the segment in a
 *                           buffer with exactly NET_TSO_PREFIX bytes before it
 *   poll                    net_stack_poll
 *   deadline                -> deadline NS|never
 *   udp_bind PORT           -> bound PORT | ret RC      (PORT 0: ephemeral)
 *   udp_send SPORT IP DPORT HEX                        -> ret RC
 *   udp_close PORT
 *   ip_out IP PROTO HEX     net_ipv4_output            -> ret RC
 *   l4 PROTO                register a handler printing "l4 PROTO SRC DST HEX"
 *   l4_off PROTO            unregister that handler     -> ret RC
 *   timer_at NS             register/move a timer hook printing "timer NS"
 *   timer_fill              register idle timer hooks until the stack
 *                           refuses                      -> ret COUNT
 *   tcp_attach              tcp_stack_attach, defaults   -> ret 0|-1
 *   tcp_detach              tcp_stack_detach
 *   dhcp_start / dns_server IP / dns_query NAME (see dhcp and dns)
 *   bootargs TEXT           net_bootargs_parse(TEXT)   -> bootargs ...
 *   stats                   -> stats counters
 *   destroy
 * Emitted frames print as "tx HEX"; received datagrams as
 * "udp PORT SRC SPORT HEX".
 */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/bootargs.h"
#include "net/dhcp.h"
#include "net/dns.h"
#include "net/stack.h"
#include "net/tcp_stack.h"
#include "net/udp.h"

#define MAX_SOCKETS 64

static unsigned long step;
static net_time_t now;
static struct net_stack *stack;
static struct net_udp *sockets[MAX_SOCKETS];
static net_time_t timer_deadline = NET_TIME_NEVER;
static int timer_registered;
static struct net_dhcp *dhcp;
static struct net_dns *dns;
static struct tcp_engine *tcp;
static int quiet; /* set for the clean-up after the last command */

static void print_hex(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        printf("%02x", p[i]);
}

static void print_ip(uint32_t ip)
{
    printf("%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

static void emit(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    if (quiet)
        return;
    printf("%lu tx ", step);
    print_hex(frame, len);
    printf("\n");
}

static void emit_tso(void *ctx, uint8_t *frame, size_t len, const struct net_tso *tso)
{
    (void)ctx;
    /* The headroom is writable: ASan reports it if it is not there. */
    memset(frame - NET_TSO_HEADROOM, 0, NET_TSO_HEADROOM);
    if (quiet)
        return;
    printf("%lu tso %u %u %u ", step, tso->mss, tso->l4_off, tso->hdr_len);
    print_hex(frame, len);
    printf("\n");
}

static size_t parse_hex(const char *hex, uint8_t **out)
{
    size_t n = strlen(hex) / 2;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            abort();
        buf[i] = (uint8_t)v;
    }
    *out = buf;
    return n;
}

static uint32_t parse_ip(const char *text)
{
    unsigned a, b, c, d;
    if (sscanf(text, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
        abort();
    return NET_IP4(a, b, c, d);
}

static void on_udp(void *ctx, struct net_udp *u, net_time_t t, uint32_t src, uint16_t sport,
                   const uint8_t *data, size_t len)
{
    (void)ctx;
    (void)t;
    printf("%lu udp %u ", step, net_udp_port(u));
    print_ip(src);
    printf(" %u ", sport);
    print_hex(data, len);
    printf("\n");
}

static void on_l4(void *ctx, struct net_stack *s, net_time_t t, uint32_t src, uint32_t dst,
                  const uint8_t *payload, size_t len)
{
    (void)s;
    (void)t;
    printf("%lu l4 %u ", step, (unsigned)(uintptr_t)ctx);
    print_ip(src);
    printf(" ");
    print_ip(dst);
    printf(" ");
    print_hex(payload, len);
    printf("\n");
}

static net_time_t timer_next(void *ctx)
{
    (void)ctx;
    return timer_deadline;
}

static void timer_poll(void *ctx, struct net_stack *s, net_time_t t)
{
    (void)ctx;
    (void)s;
    printf("%lu timer %" PRIu64 "\n", step, t);
    timer_deadline = NET_TIME_NEVER;
}

static net_time_t idle_next(void *ctx)
{
    (void)ctx;
    return NET_TIME_NEVER;
}

static void idle_poll(void *ctx, struct net_stack *s, net_time_t t)
{
    (void)ctx;
    (void)s;
    (void)t;
}

static void on_dhcp(void *ctx, struct net_dhcp *d, enum net_dhcp_event ev)
{
    (void)ctx;
    const struct net_dhcp_lease *l = net_dhcp_lease(d);
    printf("%lu dhcp %s", step, net_dhcp_event_name(ev));
    if (ev == NET_DHCP_BOUND || ev == NET_DHCP_RENEWED) {
        printf(" ");
        print_ip(l->addr);
        printf("/%u gw ", l->prefix_len);
        print_ip(l->gateway);
        printf(" dns ");
        print_ip(l->dns);
        printf(" lease %" PRIu32, l->lease_seconds);
    }
    printf("\n");
}

static void on_dns(void *ctx, struct net_dns *d, const char *name, int rc, const uint32_t *addrs,
                   size_t n)
{
    (void)ctx;
    (void)d;
    printf("%lu dns %s %d", step, name, rc);
    for (size_t i = 0; i < n; i++) {
        printf(" ");
        print_ip(addrs[i]);
    }
    printf("\n");
}

static struct net_udp **socket_slot(unsigned port)
{
    for (size_t i = 0; i < MAX_SOCKETS; i++)
        if (sockets[i] && net_udp_port(sockets[i]) == port)
            return &sockets[i];
    return NULL;
}

static void bootargs(char *text)
{
    char *nl = strchr(text, '\n');
    if (nl)
        *nl = 0;
    struct net_bootargs args;
    const char *error;
    if (net_bootargs_parse(text, &args, &error) != 0) {
        printf("%lu bootargs error %s\n", step, error);
        return;
    }
    printf("%lu bootargs dhcp=%d addr=", step, args.dhcp);
    print_ip(args.addr);
    printf(" prefix=%u gateway=", args.prefix_len);
    print_ip(args.gateway);
    printf("\n");
}

static void command(char *line)
{
    if (strncmp(line, "bootargs", 8) == 0 && (line[8] == ' ' || line[8] == '\n')) {
        bootargs(line + 8);
        return;
    }
    char *cmd = strtok(line, " \n");
    if (!cmd)
        return;
    char *a1 = strtok(NULL, " \n"), *a2 = strtok(NULL, " \n"), *a3 = strtok(NULL, " \n"),
         *a4 = strtok(NULL, " \n");
    if (strcmp(cmd, "create") == 0 || strcmp(cmd, "create_tso") == 0) {
        struct net_stack_config cfg = {.emit = emit};
        if (strcmp(cmd, "create_tso") == 0)
            cfg.emit_tso = emit_tso;
        uint8_t *mac;
        if (parse_hex(a1, &mac) != 6)
            abort();
        memcpy(cfg.mac, mac, 6);
        free(mac);
        cfg.mtu = strtoul(a2, NULL, 10);
        cfg.seed = strtoull(a3, NULL, 10);
        stack = net_stack_create(&cfg);
        printf("%lu created %d\n", step, stack != NULL);
    } else if (strcmp(cmd, "ipv4") == 0) {
        char *slash = strchr(a1, '/');
        *slash = 0;
        int rc = net_stack_set_ipv4(stack, now, parse_ip(a1), (uint8_t)atoi(slash + 1),
                                    parse_ip(a2));
        printf("%lu ret %d\n", step, rc);
    } else if (strcmp(cmd, "time") == 0) {
        net_time_t t = strtoull(a1, NULL, 10);
        if (t < now)
            abort();
        now = t;
    } else if (strcmp(cmd, "in") == 0) {
        uint8_t *f;
        size_t n = parse_hex(a1, &f);
        net_stack_input(stack, now, f, n);
        free(f);
    } else if (strcmp(cmd, "vnet_in") == 0) {
        uint8_t *f;
        size_t n = parse_hex(a1, &f);
        int rc = net_stack_input_vnet(stack, now, f, n);
        free(f);
        printf("%lu ret %d\n", step, rc);
    } else if (strcmp(cmd, "tso_out") == 0) {
        uint8_t *data;
        size_t n = parse_hex(a4 ? a4 : "", &data);
        int rc = net_ipv4_output_tso(stack, now, parse_ip(a1), data, n, (uint16_t)atoi(a2),
                                     (uint16_t)atoi(a3));
        free(data);
        printf("%lu ret %d\n", step, rc);
    } else if (strcmp(cmd, "tso_out_in_place") == 0) {
        uint8_t *data;
        size_t n = parse_hex(a4 ? a4 : "", &data);
        uint8_t *buf = malloc(NET_TSO_PREFIX + n + 1);
        if (!buf)
            abort();
        memcpy(buf + NET_TSO_PREFIX, data, n);
        int rc = net_ipv4_output_tso_in_place(stack, now, parse_ip(a1), buf + NET_TSO_PREFIX, n,
                                              (uint16_t)atoi(a2), (uint16_t)atoi(a3));
        free(buf);
        free(data);
        printf("%lu ret %d\n", step, rc);
    } else if (strcmp(cmd, "poll") == 0) {
        net_stack_poll(stack, now);
    } else if (strcmp(cmd, "deadline") == 0) {
        net_time_t d = net_stack_next_deadline(stack);
        if (d == NET_TIME_NEVER)
            printf("%lu deadline never\n", step);
        else
            printf("%lu deadline %" PRIu64 "\n", step, d);
    } else if (strcmp(cmd, "udp_bind") == 0) {
        struct net_udp *u = net_udp_bind(stack, (uint16_t)atoi(a1), on_udp, NULL);
        size_t i = 0;
        while (i < MAX_SOCKETS && sockets[i])
            i++;
        if (!u || i == MAX_SOCKETS) {
            printf("%lu ret -1\n", step);
            return;
        }
        sockets[i] = u;
        printf("%lu bound %u\n", step, net_udp_port(u));
    } else if (strcmp(cmd, "udp_send") == 0) {
        struct net_udp **u = socket_slot((unsigned)atoi(a1));
        uint8_t *data;
        size_t n = parse_hex(a4 ? a4 : "", &data);
        int rc = net_udp_send(*u, now, parse_ip(a2), (uint16_t)atoi(a3), data, n);
        free(data);
        printf("%lu ret %d\n", step, rc);
    } else if (strcmp(cmd, "udp_close") == 0) {
        struct net_udp **u = socket_slot((unsigned)atoi(a1));
        net_udp_close(*u);
        *u = NULL;
    } else if (strcmp(cmd, "ip_out") == 0) {
        uint8_t *data;
        size_t n = parse_hex(a3 ? a3 : "", &data);
        int rc = net_ipv4_output(stack, now, parse_ip(a1), (uint8_t)atoi(a2), data, n);
        free(data);
        printf("%lu ret %d\n", step, rc);
    } else if (strcmp(cmd, "l4") == 0) {
        unsigned proto = (unsigned)atoi(a1);
        int rc = net_stack_register_l4(stack, (uint8_t)proto, on_l4, (void *)(uintptr_t)proto);
        printf("%lu ret %d\n", step, rc);
    } else if (strcmp(cmd, "l4_off") == 0) {
        unsigned proto = (unsigned)atoi(a1);
        int rc = net_stack_unregister_l4(stack, (uint8_t)proto, on_l4, (void *)(uintptr_t)proto);
        printf("%lu ret %d\n", step, rc);
    } else if (strcmp(cmd, "timer_at") == 0) {
        timer_deadline = strtoull(a1, NULL, 10);
        if (!timer_registered) {
            timer_registered = 1;
            printf("%lu ret %d\n", step,
                   net_stack_register_timer(stack, timer_next, timer_poll, NULL));
        }
    } else if (strcmp(cmd, "timer_fill") == 0) {
        uintptr_t n = 0;
        while (net_stack_register_timer(stack, idle_next, idle_poll, (void *)(n + 1)) == 0)
            n++;
        printf("%lu ret %lu\n", step, (unsigned long)n);
    } else if (strcmp(cmd, "tcp_attach") == 0) {
        tcp = tcp_stack_attach(stack, NULL);
        printf("%lu ret %d\n", step, tcp ? 0 : -1);
    } else if (strcmp(cmd, "tcp_detach") == 0) {
        tcp_stack_detach(stack, tcp);
        tcp = NULL;
    } else if (strcmp(cmd, "dhcp_start") == 0) {
        dhcp = net_dhcp_start(stack, now, on_dhcp, NULL);
        printf("%lu dhcp_started %d\n", step, dhcp != NULL);
    } else if (strcmp(cmd, "dhcp_stop") == 0) {
        net_dhcp_stop(dhcp, now);
        dhcp = NULL;
    } else if (strcmp(cmd, "dns_server") == 0) {
        dns = net_dns_create(stack, parse_ip(a1));
        printf("%lu dns_created %d\n", step, dns != NULL);
    } else if (strcmp(cmd, "dns_query") == 0) {
        int rc = net_dns_resolve(dns, now, a1, on_dns, NULL);
        printf("%lu ret %d\n", step, rc);
    } else if (strcmp(cmd, "stats") == 0) {
        const struct net_stack_stats *st = net_stack_stats(stack);
        printf("%lu stats rx_frames=%" PRIu64 " rx_dropped=%" PRIu64 " tx_frames=%" PRIu64
               " arp_queue_dropped=%" PRIu64 " reasm_dropped=%" PRIu64
               " icmp_rate_limited=%" PRIu64 " rx_vnet_bad=%" PRIu64 "\n",
               step, st->rx_frames, st->rx_dropped, st->tx_frames, st->arp_queue_dropped,
               st->reasm_dropped, st->icmp_rate_limited, st->rx_vnet_bad);
    } else if (strcmp(cmd, "destroy") == 0) {
        net_dns_destroy(dns);
        dns = NULL;
        if (dhcp)
            net_dhcp_stop(dhcp, now);
        dhcp = NULL;
        tcp_stack_detach(stack, tcp);
        tcp = NULL;
        net_stack_destroy(stack);
        stack = NULL;
        memset(sockets, 0, sizeof(sockets));
    } else {
        fprintf(stderr, "unknown command %s\n", cmd);
        exit(2);
    }
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    while (getline(&line, &cap, stdin) > 0) {
        command(line);
        step++;
    }
    free(line);
    quiet = 1;
    if (stack) {
        net_dns_destroy(dns);
        if (dhcp)
            net_dhcp_stop(dhcp, now);
        tcp_stack_detach(stack, tcp);
        net_stack_destroy(stack);
    }
    return 0;
}
