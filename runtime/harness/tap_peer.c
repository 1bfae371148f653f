/* The stack on a Linux tap device, for tests against real peers (dnsmasq)
 * without a unikernel in between: the same code as in the unikernel, with
 * poll() instead of solo5_yield.
 *
 *   tap_peer TAP (--ipv4=ADDR/PREFIX --dns SERVER | --dhcp) [--resolve NAME]...
 *            [--wait-renewal 1] [--seconds N]
 *
 * Prints "ready ADDR/PREFIX dns SERVER" once configured, then resolves each
 * NAME with the DNS server (given, or from the DHCP lease), printing
 * "resolved NAME RC ADDR...", and exits 0 after the last answer (and,
 * with --wait-renewal, after the lease was renewed: "renewed ADDR"), 1 on
 * timeout. The MAC is 02:00:00:00:00:77.
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "net/bootargs.h"
#include "net/dhcp.h"
#include "net/dns.h"
#include "net/stack.h"

#define MAX_NAMES 16

static int tap_fd = -1;
static const char *names[MAX_NAMES];
static int n_names, answered, renewed;
static struct net_dns *dns;
static struct net_stack *stack;

static net_time_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (net_time_t)ts.tv_sec * 1000000000u + (net_time_t)ts.tv_nsec;
}

static void emit(void *ctx, const uint8_t *frame, size_t len)
{
    (void)ctx;
    if (write(tap_fd, frame, len) < 0 && errno != EAGAIN)
        perror("tap write");
}

static void print_ip(uint32_t ip)
{
    printf("%u.%u.%u.%u", ip >> 24, (ip >> 16) & 0xff, (ip >> 8) & 0xff, ip & 0xff);
}

static void on_dns(void *ctx, struct net_dns *d, const char *name, int rc, const uint32_t *addrs,
                   size_t n)
{
    (void)ctx;
    (void)d;
    printf("resolved %s %d", name, rc);
    for (size_t i = 0; i < n; i++) {
        printf(" ");
        print_ip(addrs[i]);
    }
    printf("\n");
    fflush(stdout);
    answered++;
}

static void start_queries(uint32_t server, net_time_t now)
{
    printf(" dns ");
    print_ip(server);
    printf("\n");
    fflush(stdout);
    if (n_names == 0)
        return;
    dns = net_dns_create(stack, server);
    for (int i = 0; dns && i < n_names; i++)
        if (net_dns_resolve(dns, now, names[i], on_dns, NULL) != 0)
            answered++;
}

static void on_dhcp(void *ctx, struct net_dhcp *d, enum net_dhcp_event ev)
{
    (void)ctx;
    const struct net_dhcp_lease *l = net_dhcp_lease(d);
    if (ev == NET_DHCP_RENEWED) {
        printf("renewed ");
        print_ip(l->addr);
        printf("\n");
        fflush(stdout);
        renewed = 1;
    }
    if (ev != NET_DHCP_BOUND || dns)
        return;
    printf("ready ");
    print_ip(l->addr);
    printf("/%u", l->prefix_len);
    start_queries(l->dns, now_ns());
}

static int open_tap(const char *name)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: tap_peer TAP (--ipv4=A/P --dns IP | --dhcp) [--resolve NAME]...\n");
        return 2;
    }
    const char *config = argv[2];
    int seconds = 30;
    uint32_t dns_server = 0;
    int wait_renewal = 0;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--resolve") == 0 && n_names < MAX_NAMES)
            names[n_names++] = argv[i + 1];
        else if (strcmp(argv[i], "--dns") == 0 &&
                 net_parse_ipv4(argv[i + 1], strlen(argv[i + 1]), &dns_server) != 0)
            return 2;
        else if (strcmp(argv[i], "--wait-renewal") == 0)
            wait_renewal = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atoi(argv[i + 1]);
    }
    struct net_bootargs args;
    const char *error;
    if (net_bootargs_parse(config, &args, &error) != 0) {
        fprintf(stderr, "tap_peer: %s\n", error);
        return 2;
    }
    tap_fd = open_tap(argv[1]);
    if (tap_fd < 0) {
        perror("tap_peer: open tap");
        return 2;
    }
    struct net_stack_config cfg = {.mac = {2, 0, 0, 0, 0, 0x77}, .mtu = 1500, .emit = emit,
                                   .seed = now_ns()};
    stack = net_stack_create(&cfg);
    struct net_dhcp *dhcp = NULL;
    net_time_t start = now_ns();
    if (args.dhcp) {
        dhcp = net_dhcp_start(stack, start, on_dhcp, NULL);
    } else {
        net_stack_set_ipv4(stack, start, args.addr, args.prefix_len, args.gateway);
        printf("ready ");
        print_ip(args.addr);
        printf("/%u", args.prefix_len);
        start_queries(dns_server, start);
    }
    uint8_t frame[1514];
    int status = 1;
    while (now_ns() - start < (net_time_t)seconds * 1000000000u) {
        if (dns && answered == n_names && (renewed || !wait_renewal)) {
            status = 0;
            break;
        }
        net_time_t deadline = net_stack_next_deadline(stack), now = now_ns();
        int wait_ms = 100;
        if (deadline != NET_TIME_NEVER)
            wait_ms = deadline <= now ? 0 : (int)((deadline - now) / 1000000u) + 1;
        if (wait_ms > 100)
            wait_ms = 100;
        struct pollfd p = {.fd = tap_fd, .events = POLLIN};
        poll(&p, 1, wait_ms);
        ssize_t n;
        while ((n = read(tap_fd, frame, sizeof(frame))) > 0)
            net_stack_input(stack, now_ns(), frame, (size_t)n);
        net_stack_poll(stack, now_ns());
    }
    net_dns_destroy(dns);
    net_dhcp_stop(dhcp, now_ns());
    net_stack_destroy(stack);
    close(tap_fd);
    return status;
}
