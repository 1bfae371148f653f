/* The IPv4 network stack: Ethernet II, ARP, IPv4, ICMP, UDP (and TCP, DHCP,
 * DNS in their own headers) with no clock and no I/O of its own.
 *
 * The caller owns time and the device:
 *   - time is `now`, a monotonic nanosecond count passed into every call
 *     (solo5_clock_monotonic() in a unikernel, a virtual clock in tests);
 *   - frames arrive through net_stack_input() and leave through the `emit`
 *     callback given at creation (solo5_net_write() in a unikernel).
 *
 * Life cycle:
 *     struct net_stack_config cfg = { .mac = {...}, .mtu = 1500,
 *                                     .emit = write_frame, .emit_ctx = dev,
 *                                     .seed = clock ^ mac };
 *     struct net_stack *s = net_stack_create(&cfg);
 *     net_stack_set_ipv4(s, now, NET_IP4(10,0,0,2), 24, NET_IP4(10,0,0,1));
 *     for (;;) {
 *         wait for a frame or until net_stack_next_deadline(s);
 *         net_stack_input(s, now, frame, len);   // for each received frame
 *         net_stack_poll(s, now);                // runs every expired timer
 *     }
 *     net_stack_destroy(s);
 *
 * IPv4 addresses are host byte order uint32_t everywhere in the API.
 * Memory comes from malloc/free. Functions returning int return 0 on
 * success and a negative NET_E* value on error.
 */
#ifndef NET_STACK_H
#define NET_STACK_H

#include <stddef.h>
#include <stdint.h>

typedef uint64_t net_time_t; /* nanoseconds, monotonic, supplied by the caller */

#define NET_TIME_NEVER UINT64_MAX
#define NET_MSEC(ms) ((net_time_t)(ms) * 1000000u)
#define NET_SEC(s) ((net_time_t)(s) * 1000000000u)

#define NET_IP4(a, b, c, d) \
    (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

/* Error values (negative returns). */
enum {
    NET_OK = 0,
    NET_EINVAL = -1,      /* bad argument */
    NET_ENOMEM = -2,      /* malloc failed or a memory limit was reached */
    NET_EUNREACH = -3,    /* no address configured or no route */
    NET_EMSGSIZE = -4,    /* datagram larger than 65515 bytes of payload */
    NET_ENOBUFS = -5,     /* queue behind ARP resolution is full */
    NET_EADDRINUSE = -6,  /* port or protocol already registered */
};

struct net_stack;

/* Sends one Ethernet frame (header included, no FCS). */
typedef void (*net_emit_fn)(void *ctx, const uint8_t *frame, size_t len);

/* TCP segmentation offload (docs/net-offload.md). A TSO frame is one
 * Ethernet + IPv4 + TCP frame of up to 65,535 IP bytes whose TCP checksum
 * field holds only the pseudo-header sum; the device completes the
 * checksum and splits the data into mss-byte segments. NET_TSO_HEADROOM
 * writable bytes precede the frame (for a device header). */
#define NET_TSO_HEADROOM 16
struct net_tso {
    uint16_t mss;     /* data bytes per segment after splitting */
    uint16_t l4_off;  /* offset of the TCP header in the frame */
    uint16_t hdr_len; /* Ethernet + IP + TCP header bytes */
};
typedef void (*net_emit_tso_fn)(void *ctx, uint8_t *frame, size_t len,
                                const struct net_tso *tso);

struct net_stack_config {
    uint8_t mac[6];
    size_t mtu;          /* IP MTU (Ethernet payload); 0 means 1500; at least 576 */
    net_emit_fn emit;
    void *emit_ctx;
    uint64_t seed;       /* seeds IP IDs, DHCP xids, DNS ids, ephemeral ports */
    net_emit_tso_fn emit_tso; /* NULL: no TSO; else net_ipv4_output_tso is usable */
};

struct net_stack *net_stack_create(const struct net_stack_config *cfg);
/* Frees the stack and everything it still holds (queues, fragments, sockets). */
void net_stack_destroy(struct net_stack *s);

/* Configures (or reconfigures) the interface address and sends a
 * gratuitous ARP (RFC 5227 section 3). addr 0 removes the address.
 * gateway 0 means on-link destinations only. */
int net_stack_set_ipv4(struct net_stack *s, net_time_t now, uint32_t addr,
                       uint8_t prefix_len, uint32_t gateway);
uint32_t net_stack_ipv4_addr(const struct net_stack *s);   /* host byte order */
uint32_t net_stack_ipv4_gateway(const struct net_stack *s);
uint8_t net_stack_ipv4_prefix_len(const struct net_stack *s);
size_t net_stack_mtu(const struct net_stack *s);            /* IP MTU, excludes Ethernet header */
const uint8_t *net_stack_mac(const struct net_stack *s);

/* Feeds one received Ethernet frame. Invalid frames are dropped silently. */
void net_stack_input(struct net_stack *s, net_time_t now, const uint8_t *frame, size_t len);
/* The same for a frame whose TCP/UDP checksum the device vouches for
 * (virtio-net DATA_VALID or NEEDS_CSUM): it is not verified. The frame may
 * carry an IPv4 datagram of up to 65,535 bytes whatever the MTU (a
 * device's merged TCP segments). */
void net_stack_input_trusted(struct net_stack *s, net_time_t now, const uint8_t *frame,
                             size_t len);
/* One frame read from a device with the virtio-net header extension
 * (docs/net-offload.md): the header is checked (runtime/net/vnet_wire.h),
 * then the frame goes to net_stack_input_trusted or net_stack_input as the
 * header says. A malformed header drops the frame, counted in
 * rx_vnet_bad, and returns NET_EINVAL; 0 otherwise. */
int net_stack_input_vnet(struct net_stack *s, net_time_t now, const uint8_t *buf, size_t len);
/* Inside an L4 input callback: nonzero if the device vouched for the
 * checksum of the datagram being delivered. */
int net_stack_rx_csum_trusted(const struct net_stack *s);
/* Runs every timer that expired at or before now (ARP, reassembly, L4). */
void net_stack_poll(struct net_stack *s, net_time_t now);
/* The earliest time net_stack_poll() has work; NET_TIME_NEVER when none. */
net_time_t net_stack_next_deadline(const struct net_stack *s);

/* The stack's deterministic PRNG (xorshift, seeded from cfg.seed). */
uint32_t net_stack_random(struct net_stack *s);

/* Called for every valid IPv4 datagram (reassembled, checksum ok) addressed to us with this protocol. */
typedef void (*net_l4_input_fn)(void *ctx, struct net_stack *s, net_time_t now,
                                uint32_t src_ip, uint32_t dst_ip,
                                const uint8_t *payload, size_t len);
int net_stack_register_l4(struct net_stack *s, uint8_t ip_proto, net_l4_input_fn fn, void *ctx);
/* Removes the handler registered with exactly these arguments (so its
 * owner can be freed before the stack); NET_EINVAL if there is none. */
int net_stack_unregister_l4(struct net_stack *s, uint8_t ip_proto, net_l4_input_fn fn, void *ctx);

/* Sends one IPv4 datagram; fragments if it exceeds the MTU; queues behind ARP resolution.
   Returns 0 on success (sent or queued), negative on error. */
int net_ipv4_output(struct net_stack *s, net_time_t now, uint32_t dst_ip, uint8_t ip_proto,
                    const uint8_t *payload, size_t len);

/* Sends one TCP super-segment (payload = TCP header of tcp_hdr_len bytes
 * + data, checksum field = pseudo-header sum) as a TSO frame split at mss
 * by the device. NET_EINVAL without emit_tso, NET_EMSGSIZE beyond 65,535
 * IP bytes; an unresolved next hop starts ARP and returns NET_ENOBUFS (the
 * frame is not queued: TCP sends it again). */
int net_ipv4_output_tso(struct net_stack *s, net_time_t now, uint32_t dst_ip,
                        const uint8_t *payload, size_t len, uint16_t tcp_hdr_len, uint16_t mss);
/* Bytes net_ipv4_output_tso_in_place needs writable before the segment:
 * the device header's room, Ethernet, IPv4 without options. */
#define NET_TSO_PREFIX (NET_TSO_HEADROOM + 14 + 20)
/* The same without copying the segment: the headers are written into the
 * NET_TSO_PREFIX bytes before payload, and the frame leaves from there. */
int net_ipv4_output_tso_in_place(struct net_stack *s, net_time_t now, uint32_t dst_ip,
                                 uint8_t *payload, size_t len, uint16_t tcp_hdr_len,
                                 uint16_t mss);
/* Nonzero if the device takes TSO frames (cfg.emit_tso given). */
int net_stack_tso(const struct net_stack *s);

/* Timer hooks so L4 protocols share the stack's deadline computation. */
typedef net_time_t (*net_next_deadline_fn)(void *ctx);      /* UINT64_MAX = none */
typedef void (*net_poll_fn)(void *ctx, struct net_stack *s, net_time_t now);
int net_stack_register_timer(struct net_stack *s, net_next_deadline_fn next, net_poll_fn poll, void *ctx);
/* Removes the hook registered with exactly these arguments. */
int net_stack_unregister_timer(struct net_stack *s, net_next_deadline_fn next, net_poll_fn poll,
                               void *ctx);

/* Counters, for tests and diagnostics. */
struct net_stack_stats {
    uint64_t rx_frames, rx_dropped, tx_frames;
    uint64_t arp_queue_dropped, reasm_dropped, icmp_rate_limited;
    uint64_t rx_vnet_bad; /* frames whose virtio-net header was malformed */
};
const struct net_stack_stats *net_stack_stats(const struct net_stack *s);

#endif
