/* DNS stub resolver: queries, retransmission, answer matching. */
#include "net/dns.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dns_wire.h"
#include "net/udp.h"

#define DNS_MAX_QUERIES 8
#define DNS_RETRY_INTERVAL NET_SEC(2) /* RFC 1536 section 1: 2-5 s retransmission */
#define DNS_TRIES 3
#define DNS_QUERY_MAX (DNS_HDR_LEN + DNS_NAME_MAX + 4)

struct dns_query {
    uint8_t used;
    uint8_t tries;
    uint16_t id;
    net_time_t deadline;
    char name[DNS_TEXT_MAX + 1];
    uint8_t msg[DNS_QUERY_MAX];
    size_t msg_len;
    struct net_udp *udp; /* one port per query: RFC 5452 source port randomisation */
    net_dns_result_fn fn;
    void *ctx;
    struct net_dns *owner;
};

struct net_dns {
    struct net_stack *stack;
    uint32_t server;
    struct dns_query q[DNS_MAX_QUERIES];
};

static void dns_finish(struct net_dns *d, struct dns_query *q, int rc, const uint32_t *addrs,
                       size_t n)
{
    char name[DNS_TEXT_MAX + 1];
    net_dns_result_fn fn = q->fn;
    void *ctx = q->ctx;
    memcpy(name, q->name, sizeof(name));
    net_udp_close(q->udp);
    memset(q, 0, sizeof(*q));
    fn(ctx, d, name, rc, addrs, n);
}

static int names_equal(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
        if (x != *b)
            return 0;
    }
    return *a == *b;
}

static void dns_input(void *ctx, struct net_udp *u, net_time_t now, uint32_t src_ip,
                      uint16_t src_port, const uint8_t *data, size_t len)
{
    (void)u;
    (void)now;
    struct dns_query *q = ctx;
    struct net_dns *d = q->owner;
    struct dns_answer a;
    if (src_ip != d->server || src_port != DNS_PORT)
        return;
    if (dns_parse_response(data, len, &a) != 0 || a.id != q->id || !names_equal(q->name, a.qname))
        return; /* malformed or not ours: keep waiting for the real answer */
    if (a.rcode == DNS_RCODE_NXDOMAIN)
        dns_finish(d, q, NET_DNS_ENXDOMAIN, NULL, 0);
    else if (a.rcode != 0 || a.truncated) /* no TCP fallback (RFC 7766) in a stub */
        dns_finish(d, q, NET_DNS_ESERVFAIL, NULL, 0);
    else if (a.n_addrs == 0)
        dns_finish(d, q, NET_DNS_ENODATA, NULL, 0);
    else
        dns_finish(d, q, 0, a.addrs, a.n_addrs);
}

static void dns_send(struct net_dns *d, struct dns_query *q, net_time_t now)
{
    q->tries++;
    q->deadline = now + DNS_RETRY_INTERVAL;
    (void)net_udp_send(q->udp, now, d->server, DNS_PORT, q->msg, q->msg_len);
}

static net_time_t dns_next(void *ctx)
{
    const struct net_dns *d = ctx;
    net_time_t next = NET_TIME_NEVER;
    for (size_t i = 0; i < DNS_MAX_QUERIES; i++)
        if (d->q[i].used && d->q[i].deadline < next)
            next = d->q[i].deadline;
    return next;
}

static void dns_poll(void *ctx, struct net_stack *s, net_time_t now)
{
    (void)s;
    struct net_dns *d = ctx;
    for (size_t i = 0; i < DNS_MAX_QUERIES; i++) {
        struct dns_query *q = &d->q[i];
        if (!q->used || now < q->deadline)
            continue;
        if (q->tries >= DNS_TRIES)
            dns_finish(d, q, NET_DNS_ETIMEDOUT, NULL, 0);
        else
            dns_send(d, q, now);
    }
}

struct net_dns *net_dns_create(struct net_stack *s, uint32_t server_ip)
{
    if (server_ip == 0)
        return NULL;
    struct net_dns *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->stack = s;
    d->server = server_ip;
    if (net_stack_register_timer(s, dns_next, dns_poll, d) != 0) {
        free(d);
        return NULL;
    }
    return d;
}

int net_dns_resolve(struct net_dns *d, net_time_t now, const char *name, net_dns_result_fn fn,
                    void *ctx)
{
    if (!fn || !name)
        return NET_EINVAL;
    size_t name_len = strlen(name);
    if (name_len > 0 && name[name_len - 1] == '.')
        name_len--;
    if (name_len == 0 || name_len > DNS_TEXT_MAX)
        return NET_EINVAL;
    struct dns_query *q = NULL;
    for (size_t i = 0; i < DNS_MAX_QUERIES && !q; i++)
        if (!d->q[i].used)
            q = &d->q[i];
    if (!q)
        return NET_DNS_EBUSY;
    uint8_t *m = q->msg;
    size_t qname_len = dns_name_encode(name, m + DNS_HDR_LEN, DNS_NAME_MAX);
    if (qname_len == 0)
        return NET_EINVAL;
    q->udp = net_udp_bind(d->stack, 0, dns_input, q);
    if (!q->udp)
        return NET_ENOMEM;
    q->used = 1;
    q->owner = d;
    q->fn = fn;
    q->ctx = ctx;
    q->tries = 0;
    memcpy(q->name, name, name_len);
    q->name[name_len] = 0;
    q->id = (uint16_t)net_stack_random(d->stack);
    put_be16(m, q->id);
    put_be16(m + 2, DNS_FLAG_RD); /* RFC 1035 4.1.1: recursion desired */
    put_be16(m + 4, 1);
    put_be16(m + 6, 0);
    put_be16(m + 8, 0);
    put_be16(m + 10, 0);
    size_t at = DNS_HDR_LEN + qname_len;
    put_be16(m + at, DNS_TYPE_A);
    put_be16(m + at + 2, DNS_CLASS_IN);
    q->msg_len = at + 4;
    dns_send(d, q, now);
    return 0;
}

void net_dns_destroy(struct net_dns *d)
{
    if (!d)
        return;
    for (size_t i = 0; i < DNS_MAX_QUERIES; i++)
        if (d->q[i].used)
            net_udp_close(d->q[i].udp);
    (void)net_stack_unregister_timer(d->stack, dns_next, dns_poll, d);
    free(d);
}
