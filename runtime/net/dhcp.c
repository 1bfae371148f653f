/* DHCP client state machine, RFC 2131 section 4.4 (figure 5). */
#include "net/dhcp.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dhcp_wire.h"
#include "ipv4_wire.h"
#include "net/udp.h"

#define DHCP_RETRY_FIRST NET_SEC(4)  /* RFC 2131 4.1: 4 s before the first retransmission */
#define DHCP_RETRY_MAX NET_SEC(64)   /* RFC 2131 4.1: doubling up to 64 s */
#define DHCP_JITTER_MS 1000          /* RFC 2131 4.1: randomised by +-1 s */
#define DHCP_REQUEST_TRIES 4         /* REQUESTING gives up and rediscovers after these */
#define DHCP_RENEW_MIN_RETRY NET_SEC(60) /* RFC 2131 4.4.5: at least 60 s between retries */
#define DHCP_INFINITE_LEASE 0xffffffffu  /* RFC 2132 9.2 */

enum dhcp_state { SELECTING, REQUESTING, BOUND, RENEWING, REBINDING };

struct net_dhcp {
    struct net_stack *stack;
    struct net_udp *udp;
    net_dhcp_event_fn fn;
    void *ctx;
    enum dhcp_state state;
    uint32_t xid;
    unsigned tries;
    net_time_t retry_interval;
    net_time_t deadline;          /* next retransmission or state timer */
    net_time_t lease_start;       /* when the accepted REQUEST was sent (RFC 2131 4.4.5) */
    net_time_t request_sent;
    net_time_t t1, t2, expiry;
    uint32_t offered_addr, offer_server;
    struct net_dhcp_lease lease;
};

static net_time_t dhcp_jittered(struct net_dhcp *d, net_time_t base)
{
    uint32_t ms = net_stack_random(d->stack) % (2 * DHCP_JITTER_MS + 1);
    return base - NET_MSEC(DHCP_JITTER_MS) + NET_MSEC(ms);
}

static size_t put_option(uint8_t *m, size_t at, uint8_t code, const uint8_t *v, uint8_t len)
{
    m[at] = code;
    m[at + 1] = len;
    memcpy(m + at + 2, v, len);
    return at + 2 + len;
}

static size_t put_option_ip(uint8_t *m, size_t at, uint8_t code, uint32_t ip)
{
    uint8_t v[4];
    put_be32(v, ip);
    return put_option(m, at, code, v, 4);
}

static void dhcp_send(struct net_dhcp *d, net_time_t now, uint8_t type)
{
    uint8_t m[300];
    memset(m, 0, sizeof(m));
    const uint8_t *mac = net_stack_mac(d->stack);
    int broadcast = d->state != RENEWING && type != DHCPRELEASE;
    uint32_t ciaddr = (d->state == RENEWING || d->state == REBINDING || type == DHCPRELEASE)
                          ? d->lease.addr : 0;
    m[0] = DHCP_OP_REQUEST;
    m[1] = 1; /* htype Ethernet */
    m[2] = 6;
    put_be32(m + 4, d->xid);
    /* ciaddr only when we may answer ARP for it; otherwise ask the server
     * to broadcast its reply (RFC 2131 4.1), since we have no address. */
    put_be16(m + 10, ciaddr ? 0 : DHCP_FLAG_BROADCAST);
    put_be32(m + 12, ciaddr);
    memcpy(m + 28, mac, 6);
    put_be32(m + 236, DHCP_MAGIC);
    size_t at = DHCP_OPTIONS_OFFSET;
    at = put_option(m, at, DHCP_OPT_MSG_TYPE, &type, 1);
    uint8_t client_id[7] = {1}; /* RFC 2132 9.14: type 1 (Ethernet) + MAC */
    memcpy(client_id + 1, mac, 6);
    at = put_option(m, at, DHCP_OPT_CLIENT_ID, client_id, sizeof(client_id));
    if (type == DHCPREQUEST && d->state == REQUESTING) {
        /* RFC 2131 4.3.2 SELECTING: requested address and server id MUST be set. */
        at = put_option_ip(m, at, DHCP_OPT_REQUESTED_IP, d->offered_addr);
        at = put_option_ip(m, at, DHCP_OPT_SERVER_ID, d->offer_server);
    }
    if (type == DHCPRELEASE)
        at = put_option_ip(m, at, DHCP_OPT_SERVER_ID, d->lease.server);
    if (type != DHCPRELEASE) {
        static const uint8_t params[] = {DHCP_OPT_SUBNET_MASK, DHCP_OPT_ROUTER, DHCP_OPT_DNS,
                                         DHCP_OPT_LEASE_TIME,  DHCP_OPT_T1,     DHCP_OPT_T2};
        at = put_option(m, at, DHCP_OPT_PARAM_LIST, params, sizeof(params));
    }
    m[at++] = DHCP_OPT_END;
    /* BOOTP minimum message: 300 bytes (RFC 1542 section 2.1), zero padded. */
    uint32_t dst = broadcast ? IPV4_BROADCAST : d->lease.server;
    if (at < sizeof(m))
        at = sizeof(m);
    (void)net_udp_send(d->udp, now, dst, DHCP_SERVER_PORT, m, at);
    d->request_sent = now;
}

static void dhcp_discover(struct net_dhcp *d, net_time_t now)
{
    d->state = SELECTING;
    d->xid = net_stack_random(d->stack);
    d->tries = 1;
    d->retry_interval = DHCP_RETRY_FIRST;
    d->deadline = now + dhcp_jittered(d, d->retry_interval);
    dhcp_send(d, now, DHCPDISCOVER);
}

static void dhcp_lose(struct net_dhcp *d, net_time_t now)
{
    int had = d->lease.addr != 0;
    memset(&d->lease, 0, sizeof(d->lease));
    (void)net_stack_set_ipv4(d->stack, now, 0, 0, 0);
    if (had)
        d->fn(d->ctx, d, NET_DHCP_LOST);
    dhcp_discover(d, now);
}

static uint8_t dhcp_prefix_len(uint32_t mask, uint32_t addr)
{
    /* A missing or non-contiguous mask falls back to the address class
     * (RFC 791 section 3.2 classes A/B/C). */
    if (mask != 0 && (~mask & (~mask + 1)) == 0) {
        uint8_t n = 0;
        while (mask & 0x80000000u) {
            n++;
            mask <<= 1;
        }
        return n;
    }
    if ((addr >> 31) == 0)
        return 8;
    if ((addr >> 30) == 2)
        return 16;
    return 24;
}

static void dhcp_bind(struct net_dhcp *d, net_time_t now, const struct dhcp_reply *r)
{
    int renewed = d->lease.addr == r->yiaddr;
    d->lease.addr = r->yiaddr;
    d->lease.prefix_len = dhcp_prefix_len(r->has_subnet_mask ? r->subnet_mask : 0, r->yiaddr);
    uint32_t mask = d->lease.prefix_len ? 0xffffffffu << (32 - d->lease.prefix_len) : 0;
    d->lease.gateway = (r->router & mask) == (r->yiaddr & mask) ? r->router : 0;
    d->lease.dns = r->dns;
    if (r->server_id)
        d->lease.server = r->server_id;
    d->lease.lease_seconds = r->lease_time;
    d->state = BOUND;
    d->lease_start = d->request_sent;
    if (r->lease_time == DHCP_INFINITE_LEASE) {
        d->t1 = d->t2 = d->expiry = d->deadline = NET_TIME_NEVER;
    } else {
        /* RFC 2131 4.4.5: T1 defaults to 0.5 and T2 to 0.875 of the lease. */
        net_time_t lease = NET_SEC(r->lease_time);
        net_time_t t1 = r->has_t1 ? NET_SEC(r->t1) : lease / 2;
        net_time_t t2 = r->has_t2 ? NET_SEC(r->t2) : lease / 8 * 7;
        if (t2 > lease)
            t2 = lease;
        if (t1 > t2)
            t1 = t2;
        d->expiry = d->lease_start + lease;
        d->t2 = d->lease_start + t2;
        d->t1 = d->lease_start + t1;
        d->deadline = d->t1;
    }
    if (renewed && net_stack_ipv4_addr(d->stack) == r->yiaddr) {
        d->fn(d->ctx, d, NET_DHCP_RENEWED);
        return;
    }
    if (net_stack_set_ipv4(d->stack, now, d->lease.addr, d->lease.prefix_len,
                           d->lease.gateway) != 0) {
        dhcp_lose(d, now);
        return;
    }
    d->fn(d->ctx, d, NET_DHCP_BOUND);
}

static void dhcp_input(void *ctx, struct net_udp *u, net_time_t now, uint32_t src_ip,
                       uint16_t src_port, const uint8_t *data, size_t len)
{
    (void)u;
    (void)src_ip;
    struct net_dhcp *d = ctx;
    struct dhcp_reply r;
    if (src_port != DHCP_SERVER_PORT || dhcp_parse_reply(data, len, &r) != 0)
        return;
    if (r.xid != d->xid || memcmp(r.chaddr, net_stack_mac(d->stack), 6) != 0)
        return;
    switch (d->state) {
    case SELECTING:
        /* RFC 2131 4.4.1: take the first acceptable offer. */
        if (r.msg_type != DHCPOFFER || r.yiaddr == 0 || r.server_id == 0 ||
            r.yiaddr == IPV4_BROADCAST || (r.yiaddr >> 28) >= 0xe)
            return;
        d->state = REQUESTING;
        d->offered_addr = r.yiaddr;
        d->offer_server = r.server_id;
        d->lease.server = r.server_id;
        d->tries = 1;
        d->retry_interval = DHCP_RETRY_FIRST;
        d->deadline = now + dhcp_jittered(d, d->retry_interval);
        dhcp_send(d, now, DHCPREQUEST);
        return;
    case REQUESTING:
    case RENEWING:
    case REBINDING:
        if (r.msg_type == DHCPNAK) {
            dhcp_lose(d, now);
        } else if (r.msg_type == DHCPACK && r.has_lease_time && r.yiaddr != 0 &&
                   (d->state != REQUESTING ||
                    (r.yiaddr == d->offered_addr && r.server_id == d->offer_server)) &&
                   (r.yiaddr >> 28) < 0xe && r.lease_time > 0) {
            dhcp_bind(d, now, &r);
        }
        return;
    case BOUND:
        return;
    }
}

static net_time_t dhcp_next(void *ctx)
{
    return ((struct net_dhcp *)ctx)->deadline;
}

/* RFC 2131 4.4.5: in RENEWING and REBINDING wait half the time left until
 * the next stage, at least 60 s. */
static net_time_t dhcp_half_until(net_time_t now, net_time_t until)
{
    net_time_t wait = until > now ? (until - now) / 2 : 0;
    if (wait < DHCP_RENEW_MIN_RETRY)
        wait = DHCP_RENEW_MIN_RETRY;
    return now + wait < until ? now + wait : until;
}

static void dhcp_poll(void *ctx, struct net_stack *s, net_time_t now)
{
    (void)s;
    struct net_dhcp *d = ctx;
    if (now < d->deadline)
        return;
    switch (d->state) {
    case SELECTING:
    case REQUESTING:
        if (d->state == REQUESTING && d->tries >= DHCP_REQUEST_TRIES) {
            dhcp_discover(d, now);
            return;
        }
        d->tries++;
        if (d->retry_interval < DHCP_RETRY_MAX)
            d->retry_interval *= 2;
        d->deadline = now + dhcp_jittered(d, d->retry_interval);
        dhcp_send(d, now, d->state == SELECTING ? DHCPDISCOVER : DHCPREQUEST);
        return;
    case BOUND:
        d->state = RENEWING;
        d->xid = net_stack_random(d->stack);
        /* fall through */
    case RENEWING:
        if (now >= d->t2) {
            d->state = REBINDING;
        } else {
            d->deadline = dhcp_half_until(now, d->t2);
            dhcp_send(d, now, DHCPREQUEST);
            return;
        }
        /* fall through */
    case REBINDING:
        if (now >= d->expiry) {
            dhcp_lose(d, now);
            return;
        }
        d->deadline = dhcp_half_until(now, d->expiry);
        dhcp_send(d, now, DHCPREQUEST);
        return;
    }
}

struct net_dhcp *net_dhcp_start(struct net_stack *s, net_time_t now, net_dhcp_event_fn fn,
                                void *ctx)
{
    if (!fn)
        return NULL;
    struct net_dhcp *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->stack = s;
    d->fn = fn;
    d->ctx = ctx;
    d->udp = net_udp_bind(s, DHCP_CLIENT_PORT, dhcp_input, d);
    if (!d->udp || net_stack_register_timer(s, dhcp_next, dhcp_poll, d) != 0) {
        net_udp_close(d->udp);
        free(d);
        return NULL;
    }
    dhcp_discover(d, now);
    return d;
}

void net_dhcp_stop(struct net_dhcp *d, net_time_t now)
{
    if (!d)
        return;
    if (d->lease.addr != 0) {
        dhcp_send(d, now, DHCPRELEASE);
        (void)net_stack_set_ipv4(d->stack, now, 0, 0, 0);
    }
    (void)net_stack_unregister_timer(d->stack, dhcp_next, dhcp_poll, d);
    net_udp_close(d->udp);
    free(d);
}

const struct net_dhcp_lease *net_dhcp_lease(const struct net_dhcp *d)
{
    return &d->lease;
}

const char *net_dhcp_event_name(enum net_dhcp_event ev)
{
    switch (ev) {
    case NET_DHCP_BOUND:
        return "bound";
    case NET_DHCP_RENEWED:
        return "renewed";
    case NET_DHCP_LOST:
        return "lost";
    }
    return "unknown";
}
