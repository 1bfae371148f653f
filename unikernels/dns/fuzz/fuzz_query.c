/* libFuzzer harness: the query engine on arbitrary messages, over UDP and
 * over TCP with AXFR allowed (streamed to the end), against zones with
 * wildcards, delegations, CNAME chains and a CNAME loop. Checks that no
 * response exceeds its limit and that every response's question reads
 * back. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "axfr.h"
#include "query.h"
#include "zone.h"

static const char zone_text[] =
    "$TTL 300\n"
    "@ IN SOA ns1 hostmaster ( 1 7200 3600 1209600 60 )\n"
    "  NS ns1\n  NS ns2.other.test.\n  MX 10 mail\n  A 192.0.2.1\n  AAAA 2001:db8::1\n"
    "  TXT \"v=spf1 -all\" \"second\"\n  CAA 0 issue \"ca.example\"\n"
    "ns1 A 192.0.2.53\nmail A 192.0.2.25\n"
    "www CNAME web\nweb CNAME @\nloop1 CNAME loop2\nloop2 CNAME loop1\nout CNAME x.other.test.\n"
    "*.wild A 192.0.2.99\n*.wild TXT wild\n*.cn CNAME www\n"
    "sub NS ns.sub\nsub NS ns1\nns.sub A 192.0.2.77\nns.sub AAAA 2001:db8::77\n"
    "_sip._tcp SRV 10 20 5060 sip\nsip A 192.0.2.60\n"
    "1.2 PTR host\na.b.c.d TXT deep\n"
    "big TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n"
    "big TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"\n"
    "big TXT \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"\n";

static struct zone_set zones;

static void setup(void)
{
    static struct zone zone;
    static const struct dname origin = {
        13, { 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0 } };
    struct zone_error err;
    if (zone_parse(zone_text, sizeof(zone_text) - 1, &origin, &zone, &err) != 0)
        abort();
    zones.zones = &zone;
    zones.n = 1;
}

static void check_response(const uint8_t *out, size_t n, size_t limit)
{
    if (n > limit)
        abort();
    if (n > DNS_HDR_LEN && (out[4] << 8 | out[5]) == 1) {
        struct dname name;
        size_t next;
        if (dname_read(out, n, DNS_HDR_LEN, &name, &next) != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t out[DNS_TCP_MAX];
    if (!zones.n)
        setup();
    struct dns_query_opts udp = { DNS_OVER_UDP, 0, DNS_EDNS_DEFAULT };
    size_t n = dns_query_answer(&zones, data, size, &udp, out, DNS_EDNS_DEFAULT, NULL);
    check_response(out, n, DNS_EDNS_DEFAULT);
    /* A small buffer: truncation paths. */
    n = dns_query_answer(&zones, data, size, &udp, out, 100, NULL);
    check_response(out, n, 100);
    struct dns_query_opts tcp = { DNS_OVER_TCP, 1, DNS_EDNS_DEFAULT };
    struct dns_axfr_start start;
    n = dns_query_answer(&zones, data, size, &tcp, out, sizeof(out), &start);
    check_response(out, n, sizeof(out));
    if (start.zone) {
        struct axfr_stream s;
        axfr_begin(&s, &start);
        unsigned messages = 0;
        while ((n = axfr_next(&s, out, 512)) > 0) {
            check_response(out, n, 512);
            if (++messages > 1000)
                abort(); /* the stream must end */
        }
    }
    return 0;
}
