/* The web server's state, shared by the connections and main.c. */
#ifndef WWW_SERVER_H
#define WWW_SERVER_H

#include <stdint.h>

#include "args.h"
#include "blk/ustar.h"
#include "file_cache.h"
#include "http_date.h"
#include "net/tcp.h"
#include "rt/loop.h"

/* One request's file bytes are read into this buffer and queued to TCP
 * from it; one per server (a single thread). */
#define WWW_SCRATCH (64u * 1024u)

struct www_conn;

struct www_server {
    struct rt_loop loop;
    struct rt_timer sweep;
    struct rt_timer stats;
    struct tcp_engine *tcp;
    struct ustar *site;
    struct file_cache cache;
    struct www_config cfg;
    struct www_conn *conns;      /* every open connection, oldest first */
    struct www_conn *conns_tail;
    unsigned live;
    unsigned long accepted, requests, refused;
    unsigned reported_live;
    unsigned long reported_accepted, reported_requests;
    int64_t date_second;         /* the second date[] shows */
    solo5_time_t wall_offset;    /* wall clock minus monotonic, read at wall_read_at */
    solo5_time_t wall_read_at;
    char date[HTTP_DATE_LEN + 1];
    uint8_t scratch[WWW_SCRATCH];
};

/* The Date field value for now (cached per second). */
const char *www_date(struct www_server *s, int64_t *wall_seconds);

#endif
