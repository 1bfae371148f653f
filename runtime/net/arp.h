/* ARP resolution (RFC 826) with a bounded cache and a bounded queue of
 * frames waiting for resolution. */
#ifndef NET_ARP_H
#define NET_ARP_H

#include <stddef.h>
#include <stdint.h>

#include "net/stack.h"

#define ARP_CACHE_SIZE 16                 /* entries; the oldest resolved one is replaced */
#define ARP_ENTRY_LIFETIME NET_SEC(60)    /* reference: smoltcp's 60 s neighbour lifetime */
#define ARP_RETRY_INTERVAL NET_SEC(1)     /* at most one request per second per neighbour */
#define ARP_MAX_REQUESTS 3                /* then the neighbour is unreachable: queue dropped */
#define ARP_QUEUE_PER_ENTRY 16            /* frames held per unresolved neighbour */

struct arp_pending {
    struct arp_pending *next;
    size_t len;
    uint8_t frame[]; /* Ethernet frame, destination filled in at resolution */
};

struct arp_entry {
    uint32_t ip; /* 0: slot free */
    uint8_t mac[6];
    uint8_t resolved;
    uint8_t requests;        /* requests sent while unresolved */
    net_time_t deadline;     /* resolved: expiry; unresolved: next retry */
    struct arp_pending *queue_head, *queue_tail;
    size_t queue_len;
};

struct arp_table {
    struct arp_entry entries[ARP_CACHE_SIZE];
};

struct net_stack;

void arp_input(struct net_stack *s, net_time_t now, const uint8_t *p, size_t len);
/* Sends frame (len bytes, Ethernet header with our source) to next_hop,
 * now or once resolved. */
int arp_output(struct net_stack *s, net_time_t now, uint32_t next_hop, uint8_t *frame,
               size_t len);
/* The MAC of a resolved, unexpired next_hop, or NULL after starting (or
 * continuing) its resolution: for frames that cannot wait in the queue
 * (TSO super-segments, docs/net-offload.md). */
const uint8_t *arp_resolved_or_request(struct net_stack *s, net_time_t now, uint32_t next_hop);
/* Gratuitous ARP request announcing our address (RFC 5227 section 3). */
void arp_announce(struct net_stack *s);
void arp_poll(struct net_stack *s, net_time_t now);
net_time_t arp_next_deadline(const struct net_stack *s);
void arp_flush(struct net_stack *s);

#endif
