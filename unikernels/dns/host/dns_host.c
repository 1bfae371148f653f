/* Host program for the tests: the zone parser and the query engine of the
 * dns unikernel, compiled for Linux under ASan and UBSan.
 *
 *   dns_host check FILE...        parse zone files: "FILE: N records" or
 *                                 "FILE:LINE: reason" and exit status 1
 *   dns_host dump FILE            every record: owner TTL type RDATA-hex
 *   dns_host memory FILE          "N records, B bytes" held for the zone
 *   dns_host query [--axfr] FILE...
 *                                 reads "udp HEX" / "tcp HEX" lines on
 *                                 stdin, writes the response(s) in hex per
 *                                 line ("-" for none); --axfr allows AXFR
 *   dns_host args CMDLINE         the boot arguments: "tcp-idle N" and one
 *                                 "axfr ADDR/PREFIX" per network, or
 *                                 "error MESSAGE" and exit status 1 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "axfr.h"
#include "dns_args.h"
#include "query.h"
#include "zone.h"

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *grown = realloc(buf, cap * 2);
            if (!grown) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

static int load(const char *path, struct zone *zone)
{
    size_t len;
    struct zone_error err;
    struct dname origin;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (zone_origin_from_file_name(base, &origin, &err) != 0) {
        printf("%s: %s\n", base, err.reason);
        return -1;
    }
    char *text = read_file(path, &len);
    if (!text) {
        printf("%s: cannot read\n", base);
        return -1;
    }
    int rc = zone_parse(text, len, &origin, zone, &err);
    free(text);
    if (rc != 0) {
        if (err.line)
            printf("%s:%u: %s\n", base, err.line, err.reason);
        else
            printf("%s: %s\n", base, err.reason);
        return -1;
    }
    return 0;
}

static void print_hex(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
}

static int dump(const char *path)
{
    struct zone zone;
    if (load(path, &zone) != 0)
        return 1;
    for (size_t i = 0; i < zone.n_rrs; i++) {
        const struct zone_rr *rr = &zone.rrs[i];
        char owner[1024];
        dname_to_text(rr->owner, owner, sizeof(owner));
        printf("%s %u %u ", owner, (unsigned)rr->ttl, (unsigned)rr->type);
        print_hex(rr->rdata, rr->rdlen);
        printf("\n");
    }
    zone_free(&zone);
    return 0;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static int query(int argc, char **argv)
{
    int allow = 0, first = 0;
    if (argc > 0 && strcmp(argv[0], "--axfr") == 0) {
        allow = 1;
        first = 1;
    }
    struct zone_set set = { calloc((size_t)argc, sizeof(struct zone)), 0 };
    for (int i = first; i < argc; i++) {
        if (load(argv[i], &set.zones[set.n]) != 0)
            return 1;
        set.n++;
    }
    static char line[200000];
    static uint8_t q[70000], out[DNS_TCP_MAX];
    while (fgets(line, sizeof(line), stdin)) {
        size_t n = 0;
        const char *h = line + 4;
        while (hex_nibble(h[0]) >= 0 && hex_nibble(h[1]) >= 0 && n < sizeof(q)) {
            q[n++] = (uint8_t)(hex_nibble(h[0]) << 4 | hex_nibble(h[1]));
            h += 2;
        }
        struct dns_query_opts opts = { strncmp(line, "tcp", 3) == 0 ? DNS_OVER_TCP : DNS_OVER_UDP,
                                       allow, DNS_EDNS_DEFAULT };
        struct dns_axfr_start start;
        size_t len = dns_query_answer(&set, q, n, &opts, out, sizeof(out), &start);
        if (start.zone) {
            struct axfr_stream s;
            axfr_begin(&s, &start);
            const char *sep = "";
            while ((len = axfr_next(&s, out, sizeof(out))) > 0) {
                printf("%s", sep);
                print_hex(out, len);
                sep = " ";
            }
            printf("\n");
        } else if (len == 0) {
            printf("-\n");
        } else {
            print_hex(out, len);
            printf("\n");
        }
        fflush(stdout);
    }
    for (size_t i = 0; i < set.n; i++)
        zone_free(&set.zones[i]);
    free(set.zones);
    return 0;
}

static int args(const char *cmdline)
{
    struct dns_args parsed;
    const char *error = NULL;
    if (dns_args_parse(cmdline, &parsed, &error) != 0) {
        printf("error %s\n", error);
        return 1;
    }
    printf("tcp-idle %u\n", parsed.tcp_idle);
    for (unsigned i = 0; i < parsed.n_axfr; i++) {
        uint32_t a = parsed.axfr[i].addr, m = parsed.axfr[i].mask;
        unsigned prefix = 0;
        while (prefix < 32 && (m & (0x80000000u >> prefix)))
            prefix++;
        printf("axfr %u.%u.%u.%u/%u\n", a >> 24, a >> 16 & 0xff, a >> 8 & 0xff, a & 0xff, prefix);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "check") == 0) {
        int rc = 0;
        for (int i = 2; i < argc; i++) {
            struct zone zone;
            if (load(argv[i], &zone) != 0) {
                rc = 1;
                continue;
            }
            const char *base = strrchr(argv[i], '/');
            printf("%s: %zu records\n", base ? base + 1 : argv[i], zone.n_rrs);
            zone_free(&zone);
        }
        return rc;
    }
    if (argc == 3 && strcmp(argv[1], "dump") == 0)
        return dump(argv[2]);
    if (argc == 3 && strcmp(argv[1], "memory") == 0) {
        struct zone zone;
        if (load(argv[2], &zone) != 0)
            return 1;
        printf("%zu records, %zu bytes\n", zone.n_rrs, zone_memory(&zone));
        zone_free(&zone);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "query") == 0)
        return query(argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[1], "args") == 0)
        return args(argv[2]);
    fprintf(stderr, "usage: dns_host check FILE... | dump FILE | memory FILE"
                    " | query [--axfr] FILE... | args CMDLINE\n");
    return 2;
}
