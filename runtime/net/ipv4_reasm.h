/* IPv4 fragment reassembly (RFC 791 section 3.2, RFC 815) with limits on
 * memory, datagrams, fragments and time. Overlapping fragments drop the
 * whole datagram (as RFC 5722 requires for IPv6); exact duplicates are
 * ignored. */
#ifndef NET_IPV4_REASM_H
#define NET_IPV4_REASM_H

#include <stddef.h>
#include <stdint.h>

#include "ipv4_wire.h"
#include "net/stack.h"

#define REASM_MAX_DATAGRAMS 8          /* in progress at once; the oldest is evicted */
#define REASM_MAX_FRAGMENTS 64         /* per datagram */
#define REASM_MAX_BYTES (256u * 1024u) /* buffer memory across all datagrams */
#define REASM_TIMEOUT NET_SEC(10)      /* first fragment to completion (RFC 791 3.2 timer) */

struct reasm_range {
    uint32_t start, end; /* payload bytes [start, end) */
};

struct reasm_datagram {
    uint8_t used;
    uint8_t proto;
    uint8_t have_last;
    uint16_t id;
    uint32_t src, dst;
    net_time_t deadline;
    uint8_t *buf;
    size_t cap;
    size_t total; /* payload length, known once the last fragment arrived */
    size_t received;
    struct reasm_range ranges[REASM_MAX_FRAGMENTS];
    size_t n_ranges;
    uint8_t first_hdr[60]; /* the offset-0 fragment's header, for ICMP errors */
    size_t first_hdr_len;
};

struct reasm_table {
    struct reasm_datagram d[REASM_MAX_DATAGRAMS];
    size_t bytes;
    uint64_t dropped;
};

/* Adds the fragment v (header checksum already checked). Returns the
 * completed datagram, whose payload is buf[0..total), or NULL. The caller
 * delivers it and then calls reasm_release(). */
struct reasm_datagram *reasm_input(struct reasm_table *t, net_time_t now,
                                   const struct ipv4_view *v);
void reasm_release(struct reasm_table *t, struct reasm_datagram *d);
/* One datagram whose time ran out (counted as dropped), or NULL. The
 * caller may send an ICMP time exceeded, then calls reasm_release(). */
struct reasm_datagram *reasm_take_expired(struct reasm_table *t, net_time_t now);
net_time_t reasm_next_deadline(const struct reasm_table *t);
void reasm_flush(struct reasm_table *t);

#endif
