/*
 * test_net: a minimal ARP (RFC 826) and ICMP echo (RFC 792) responder on
 * NET_BASIC device "service". Command line: "IPV4-ADDRESS COUNT". Exits 0
 * after answering COUNT echo requests, 1 if that takes over 20 seconds.
 * Every frame is length-checked before any field is read.
 */
#include "testlib.h"

#define ETHERTYPE_IPV4 0x0800 /* RFC 894 */
#define ETHERTYPE_ARP 0x0806  /* RFC 826 */
#define ARP_HTYPE_ETHERNET 1  /* RFC 826 */
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2
#define ARP_LEN 28            /* Ethernet/IPv4 ARP packet */
#define IP_PROTO_ICMP 1       /* RFC 790 */
#define ICMP_ECHO_REPLY 0     /* RFC 792 */
#define ICMP_ECHO_REQUEST 8
#define IPV4_MIN_HEADER 20    /* RFC 791 */
#define ICMP_HEADER 8

#define MS 1000000ULL
#define TEST_TIMEOUT (20000 * MS)

static uint8_t frame[65536 + SOLO5_NET_HLEN];
static uint8_t reply[65536 + SOLO5_NET_HLEN];
static uint8_t my_mac[SOLO5_NET_ALEN];
static uint8_t my_ip[4];
static solo5_handle_t net;

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* RFC 1071 Internet checksum. */
static uint16_t checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += get16(p + i);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static bool parse_ipv4(const char **s, uint8_t ip[4])
{
    for (int i = 0; i < 4; i++) {
        uint64_t part;
        if (!parse_u64(s, &part) || part > 255)
            return false;
        ip[i] = (uint8_t)part;
        if (i < 3) {
            if (**s != '.')
                return false;
            (*s)++;
        }
    }
    return true;
}

static void send_reply(size_t len)
{
    if (solo5_net_write(net, reply, len) != SOLO5_R_OK)
        puts_console("warning: reply not sent\n");
}

static void handle_arp(const uint8_t *pkt, size_t len)
{
    if (len < ARP_LEN || get16(pkt) != ARP_HTYPE_ETHERNET || get16(pkt + 2) != ETHERTYPE_IPV4 ||
        pkt[4] != 6 || pkt[5] != 4 || get16(pkt + 6) != ARP_OP_REQUEST ||
        memcmp(pkt + 24, my_ip, 4) != 0)
        return;
    uint8_t *out = reply + SOLO5_NET_HLEN;
    memcpy(reply, pkt + 8, 6); /* to the requester */
    memcpy(reply + 6, my_mac, 6);
    put16(reply + 12, ETHERTYPE_ARP);
    memcpy(out, pkt, 6); /* htype, ptype, hlen, plen */
    put16(out + 6, ARP_OP_REPLY);
    memcpy(out + 8, my_mac, 6);
    memcpy(out + 14, my_ip, 4);
    memcpy(out + 18, pkt + 8, 10); /* requester's MAC and IP */
    send_reply(SOLO5_NET_HLEN + ARP_LEN);
}

/* Returns true if an echo reply was sent. */
static bool handle_ipv4(const uint8_t *eth, const uint8_t *pkt, size_t len)
{
    if (len < IPV4_MIN_HEADER || (pkt[0] >> 4) != 4)
        return false;
    size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
    size_t total = get16(pkt + 2);
    if (ihl < IPV4_MIN_HEADER || total < ihl + ICMP_HEADER || total > len)
        return false;
    if (pkt[9] != IP_PROTO_ICMP || memcmp(pkt + 16, my_ip, 4) != 0 ||
        (get16(pkt + 6) & 0x3fff) != 0 || checksum(pkt, ihl) != 0)
        return false; /* not ICMP for us, a fragment, or corrupt */
    const uint8_t *icmp = pkt + ihl;
    size_t icmp_len = total - ihl;
    if (icmp[0] != ICMP_ECHO_REQUEST || checksum(icmp, icmp_len) != 0)
        return false;

    uint8_t *ip = reply + SOLO5_NET_HLEN;
    memcpy(reply, eth + 6, 6);
    memcpy(reply + 6, my_mac, 6);
    put16(reply + 12, ETHERTYPE_IPV4);
    memcpy(ip, pkt, total);
    memcpy(ip + 12, my_ip, 4);
    memcpy(ip + 16, pkt + 12, 4);
    ip[8] = 64; /* TTL */
    put16(ip + 10, 0);
    put16(ip + 10, checksum(ip, ihl));
    uint8_t *out = ip + ihl;
    out[0] = ICMP_ECHO_REPLY;
    put16(out + 2, 0);
    put16(out + 2, checksum(out, icmp_len));
    send_reply(SOLO5_NET_HLEN + total);
    return true;
}

int solo5_app_main(const struct solo5_start_info *si)
{
    const char *args = si->cmdline;
    uint64_t wanted;
    if (!parse_ipv4(&args, my_ip) || *args++ != ' ' || !parse_u64(&args, &wanted)) {
        puts_console("FAIL: usage: IPV4-ADDRESS COUNT\n");
        return SOLO5_EXIT_FAILURE;
    }
    struct solo5_net_info info;
    if (solo5_net_acquire("service", &net, &info) != SOLO5_R_OK) {
        puts_console("FAIL: cannot acquire net device 'service'\n");
        return SOLO5_EXIT_FAILURE;
    }
    memcpy(my_mac, info.mac_address, sizeof my_mac);
    size_t frame_max = info.mtu + SOLO5_NET_HLEN;
    if (frame_max > sizeof frame) {
        puts_console("FAIL: MTU too large\n");
        return SOLO5_EXIT_FAILURE;
    }
    puts_console("mac: ");
    for (int i = 0; i < SOLO5_NET_ALEN; i++) {
        char hex[3] = { "0123456789abcdef"[my_mac[i] >> 4], "0123456789abcdef"[my_mac[i] & 15],
                        i + 1 < SOLO5_NET_ALEN ? ':' : '\n' };
        solo5_console_write(hex, sizeof hex);
    }
    puts_console("mtu: ");
    put_u64(info.mtu);
    puts_console("\nserving ARP and ICMP echo\n");

    uint64_t answered = 0;
    solo5_time_t give_up = solo5_clock_monotonic() + TEST_TIMEOUT;
    while (answered < wanted) {
        solo5_time_t now = solo5_clock_monotonic();
        if (now >= give_up) {
            puts_console("FAIL: timed out waiting for echo requests\n");
            return SOLO5_EXIT_FAILURE;
        }
        solo5_handle_set_t ready = 0;
        solo5_yield(now + 500 * MS, &ready);
        if (!(ready & (1ULL << net)))
            continue;
        for (;;) {
            size_t len = 0;
            solo5_result_t r = solo5_net_read(net, frame, frame_max, &len);
            if (r != SOLO5_R_OK)
                break;
            if (len < SOLO5_NET_HLEN)
                continue;
            uint16_t type = get16(frame + 12);
            if (type == ETHERTYPE_ARP)
                handle_arp(frame + SOLO5_NET_HLEN, len - SOLO5_NET_HLEN);
            else if (type == ETHERTYPE_IPV4 &&
                     handle_ipv4(frame, frame + SOLO5_NET_HLEN, len - SOLO5_NET_HLEN))
                answered++;
        }
    }
    puts_console("answered: ");
    put_u64(answered);
    puts_console("\nSUCCESS\n");
    return SOLO5_EXIT_SUCCESS;
}
