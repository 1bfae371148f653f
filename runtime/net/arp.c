/* ARP cache and resolution, RFC 826 ("Packet Reception" algorithm) and
 * RFC 1122 section 2.3.2 (cache timeout, flooding limit, queueing). */
#include "arp.h"

#include <stdlib.h>
#include <string.h>

#include "arp_wire.h"
#include "ethernet.h"
#include "stack_internal.h"

static const uint8_t zero_mac[6];

static struct arp_entry *arp_find(struct net_stack *s, uint32_t ip)
{
    for (size_t i = 0; i < ARP_CACHE_SIZE; i++)
        if (s->arp.entries[i].ip == ip && ip != 0)
            return &s->arp.entries[i];
    return NULL;
}

static void arp_entry_clear(struct arp_entry *e)
{
    struct arp_pending *p = e->queue_head;
    while (p) {
        struct arp_pending *next = p->next;
        free(p);
        p = next;
    }
    memset(e, 0, sizeof(*e));
}

/* A free slot, else the resolved entry closest to expiry. Unresolved
 * entries are never evicted, so a flood of lookups cannot churn the cache. */
static struct arp_entry *arp_alloc(struct net_stack *s)
{
    struct arp_entry *victim = NULL;
    for (size_t i = 0; i < ARP_CACHE_SIZE; i++) {
        struct arp_entry *e = &s->arp.entries[i];
        if (e->ip == 0)
            return e;
        if (e->resolved && (!victim || e->deadline < victim->deadline))
            victim = e;
    }
    if (victim)
        arp_entry_clear(victim);
    return victim;
}

static void arp_send(struct net_stack *s, uint16_t op, const uint8_t *eth_dst_mac,
                     const uint8_t *tha, uint32_t tpa)
{
    /* 14 + 28 bytes; Ethernet pads to 60, done here so frames are exact. */
    uint8_t frame[60];
    memset(frame, 0, sizeof(frame));
    eth_emit(frame, eth_dst_mac, s->mac, ETH_TYPE_ARP);
    arp_emit(frame + ETH_HDR_LEN, op, s->mac, s->addr, tha, tpa);
    stack_emit(s, frame, sizeof(frame));
}

static void arp_request(struct net_stack *s, net_time_t now, struct arp_entry *e)
{
    e->requests++;
    e->deadline = now + ARP_RETRY_INTERVAL;
    arp_send(s, ARP_OP_REQUEST, eth_broadcast, zero_mac, e->ip);
}

void arp_announce(struct net_stack *s)
{
    if (s->addr != 0)
        arp_send(s, ARP_OP_REQUEST, eth_broadcast, zero_mac, s->addr);
}

static void arp_flush_queue(struct net_stack *s, struct arp_entry *e)
{
    struct arp_pending *p = e->queue_head;
    e->queue_head = e->queue_tail = NULL;
    e->queue_len = 0;
    while (p) {
        struct arp_pending *next = p->next;
        memcpy(p->frame, e->mac, 6);
        stack_emit(s, p->frame, p->len);
        free(p);
        p = next;
    }
}

static void arp_update(struct net_stack *s, net_time_t now, struct arp_entry *e,
                       const uint8_t *mac)
{
    memcpy(e->mac, mac, 6);
    e->resolved = 1;
    e->requests = 0;
    e->deadline = now + ARP_ENTRY_LIFETIME;
    arp_flush_queue(s, e);
}

void arp_input(struct net_stack *s, net_time_t now, const uint8_t *p, size_t len)
{
    struct arp_view v;
    if (arp_view_check(&v, p, len) != 0)
        return;
    uint32_t spa = arp_spa(&v);
    const uint8_t *sha = arp_sha(&v);
    uint16_t op = arp_op(&v);
    if (op != ARP_OP_REQUEST && op != ARP_OP_REPLY)
        return;
    /* A sender claiming no address, a broadcast/multicast address or MAC,
     * or our own address is not a neighbour to remember. */
    if (spa == 0 || spa == s->addr || stack_is_broadcast(s, spa) || (spa >> 28) == 0xe ||
        eth_is_multicast(sha))
        return;
    /* RFC 826: update an existing entry; create one only if the packet is
     * for us (the merge flag). */
    int for_us = s->addr != 0 && arp_tpa(&v) == s->addr;
    struct arp_entry *e = arp_find(s, spa);
    if (e)
        arp_update(s, now, e, sha);
    else if (for_us && (e = arp_alloc(s)) != NULL) {
        e->ip = spa;
        arp_update(s, now, e, sha);
    }
    if (for_us && op == ARP_OP_REQUEST)
        arp_send(s, ARP_OP_REPLY, sha, sha, spa);
}

/* The entry a frame to NEXT_HOP goes through: resolved and fresh, or pending (an expired
 * entry goes back to pending, keeping the queue semantics of an unresolved one; a new one
 * is made). NULL when the cache has no room. */
static struct arp_entry *arp_entry_to(struct net_stack *s, net_time_t now, uint32_t next_hop)
{
    struct arp_entry *e = arp_find(s, next_hop);
    if (e && e->resolved && now < e->deadline)
        return e;
    if (e && e->resolved) {
        e->resolved = 0;
        e->requests = 0;
        e->deadline = now;
    }
    if (!e) {
        e = arp_alloc(s);
        if (!e)
            return NULL;
        e->ip = next_hop;
        e->deadline = now;
    }
    return e;
}

/* A pending entry asks again when it never asked or its retry time has come. */
static void arp_request_if_due(struct net_stack *s, net_time_t now, struct arp_entry *e)
{
    if (e->requests == 0 || now >= e->deadline)
        arp_request(s, now, e);
}

int arp_output(struct net_stack *s, net_time_t now, uint32_t next_hop, uint8_t *frame,
               size_t len)
{
    struct arp_entry *e = arp_entry_to(s, now, next_hop);
    if (!e) {
        s->stats.arp_queue_dropped++;
        return NET_ENOBUFS;
    }
    if (e->resolved) {
        memcpy(frame, e->mac, 6);
        stack_emit(s, frame, len);
        return 0;
    }
    if (e->queue_len >= ARP_QUEUE_PER_ENTRY) {
        s->stats.arp_queue_dropped++;
        return NET_ENOBUFS;
    }
    struct arp_pending *p = malloc(sizeof(*p) + len);
    if (!p)
        return NET_ENOMEM;
    p->next = NULL;
    p->len = len;
    memcpy(p->frame, frame, len);
    if (e->queue_tail)
        e->queue_tail->next = p;
    else
        e->queue_head = p;
    e->queue_tail = p;
    e->queue_len++;
    arp_request_if_due(s, now, e);
    return 0;
}

const uint8_t *arp_resolved_or_request(struct net_stack *s, net_time_t now, uint32_t next_hop)
{
    struct arp_entry *e = arp_entry_to(s, now, next_hop);
    if (!e)
        return NULL;
    if (e->resolved)
        return e->mac;
    arp_request_if_due(s, now, e);
    return NULL;
}

void arp_poll(struct net_stack *s, net_time_t now)
{
    for (size_t i = 0; i < ARP_CACHE_SIZE; i++) {
        struct arp_entry *e = &s->arp.entries[i];
        if (e->ip == 0 || now < e->deadline)
            continue;
        if (e->resolved || e->requests >= ARP_MAX_REQUESTS) {
            /* Expired, or unreachable: RFC 1122 2.3.2.2 drops what waited. */
            s->stats.arp_queue_dropped += e->queue_len;
            arp_entry_clear(e);
        } else {
            arp_request(s, now, e);
        }
    }
}

net_time_t arp_next_deadline(const struct net_stack *s)
{
    net_time_t next = NET_TIME_NEVER;
    for (size_t i = 0; i < ARP_CACHE_SIZE; i++) {
        const struct arp_entry *e = &s->arp.entries[i];
        if (e->ip != 0 && e->deadline < next)
            next = e->deadline;
    }
    return next;
}

void arp_flush(struct net_stack *s)
{
    for (size_t i = 0; i < ARP_CACHE_SIZE; i++)
        arp_entry_clear(&s->arp.entries[i]);
}
