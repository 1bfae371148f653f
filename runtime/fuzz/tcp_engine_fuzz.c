/* libFuzzer harness: the TCP engine driven by a byte program of segments,
 * clock steps and application calls (checksums unchecked so the fuzzer
 * reaches the state machine). Every emitted segment must parse, and once
 * the application has closed everything and the timers have run, no
 * connection and no byte may remain allocated. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/tcp.h"
#include "net/tcp_wire.h"

#define LOCAL_IP 0x0a000002u
#define PEER_IP 0x0a000001u
#define MAX_APP 8

struct reader {
    const uint8_t *p;
    size_t n;
};

static unsigned take(struct reader *r, unsigned bytes)
{
    unsigned v = 0;
    while (bytes-- && r->n) {
        v = (v << 8) | *r->p++;
        r->n--;
    }
    return v;
}

/* Half the inputs run with the headroom the stack asks for: the output
 * writes it, so ASan sees any segment placed without it. */
#define FUZZ_HEADROOM 50u

static void on_output(void *ctx, tcp_time_t now, uint32_t src, uint32_t dst,
                      uint8_t *seg, size_t len)
{
    (void)now;
    if (ctx)
        memset(seg - FUZZ_HEADROOM, 0xee, FUZZ_HEADROOM);
    struct tcp_segment s;
    if (src != LOCAL_IP || (dst != PEER_IP && dst != PEER_IP + 1)
        || tcp_segment_parse(&s, seg, len) != 0)
        __builtin_trap();
}

static struct tcp_conn *apps[MAX_APP];

/* Memory tcp_send_ref points into: ASan reports any read past a run. */
#define REF_AREA 4096u
static uint8_t ref_area[REF_AREA];

static void on_event(void *user, struct tcp_conn *c, unsigned ev)
{
    (void)user;
    (void)c;
    (void)ev;
}

static void drop_app(unsigned k)
{
    apps[k] = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tcp_config cfg;
    tcp_config_default(&cfg);
    cfg.output = on_output;
    cfg.verify_checksum = 0;
    cfg.rcvbuf = 4096;
    cfg.sndbuf = 4096;
    cfg.sndref_max = 6000; /* below what the program can queue: the cap is reached */
    cfg.mss = 536;
    cfg.max_conns = 16;
    cfg.ack_batch = (int)(size & 1); /* half the inputs defer ACKs to tcp_poll */
    static int headroom_on = 1;
    cfg.tx_headroom = (size & 2) ? FUZZ_HEADROOM : 0;
    cfg.output_ctx = (size & 2) ? &headroom_on : NULL;
    struct tcp_engine *e = tcp_engine_create(&cfg);
    if (!e)
        return 0;
    uint64_t base_bytes = tcp_engine_stats(e)->live_bytes;
    struct tcp_listener *l = tcp_listen(e, 0, 7, 4, NULL, NULL);
    memset(apps, 0, sizeof(apps));
    tcp_time_t now = 0;
    uint8_t buf[2048];
    struct reader r = {data, size};
    while (r.n) {
        unsigned op = take(&r, 1);
        unsigned k = (op >> 3) % MAX_APP;
        switch (op & 7) {
        case 0: {
            unsigned len = take(&r, 2) % 1600;
            if (len > r.n)
                len = (unsigned)r.n;
            tcp_input(e, now, PEER_IP + ((op >> 6) & 1), LOCAL_IP, r.p, len);
            r.p += len;
            r.n -= len;
            break;
        }
        case 1:
            now += (tcp_time_t)take(&r, 2) * 1000000u;
            tcp_poll(e, now);
            break;
        case 2: {
            tcp_time_t d = tcp_next_deadline(e);
            if (d != TCP_TIME_NEVER && d > now)
                now = d;
            tcp_poll(e, now);
            break;
        }
        case 3:
            if (apps[k] && (op & 0x40)) {
                /* by reference: a slice of ref_area */
                unsigned off = take(&r, 2) % REF_AREA;
                unsigned len = take(&r, 2) % (REF_AREA - off + 1);
                tcp_send_ref(apps[k], now, ref_area + off, len);
            } else if (apps[k]) {
                unsigned len = take(&r, 2) % sizeof(buf);
                memset(buf, (int)op, len);
                tcp_send(apps[k], now, buf, len);
            }
            break;
        case 4:
            if (apps[k])
                tcp_recv(apps[k], now, buf, take(&r, 2) % sizeof(buf));
            break;
        case 5:
            if (apps[k]) {
                if (op & 0x40)
                    tcp_abort(apps[k], now);
                else
                    tcp_close(apps[k], now);
                drop_app(k);
            }
            break;
        case 6:
            if (!apps[k])
                apps[k] = tcp_accept(l, on_event, NULL);
            break;
        case 7:
            if (!apps[k])
                apps[k] = tcp_connect(e, now, LOCAL_IP, (uint16_t)take(&r, 2),
                                      PEER_IP + ((op >> 6) & 1), 80, on_event, NULL);
            if (apps[k] && (op & 0x40))
                tcp_set_nodelay(apps[k], 1);
            break;
        }
    }
    /* The application lets go of everything; every state must then reach
     * CLOSED through its timers within a bounded number of steps. */
    for (unsigned k = 0; k < MAX_APP; k++)
        if (apps[k])
            tcp_close(apps[k], now);
    tcp_unlisten(l);
    for (int i = 0; i < 1000 && tcp_engine_stats(e)->live_conns; i++) {
        tcp_time_t d = tcp_next_deadline(e);
        if (d == TCP_TIME_NEVER)
            break;
        now = d > now ? d : now;
        tcp_poll(e, now);
    }
    if (tcp_engine_stats(e)->live_conns != 0 || tcp_engine_stats(e)->live_bytes != base_bytes)
        __builtin_trap();
    tcp_engine_destroy(e);
    return 0;
}
