/* HTTP connections (see conn.h). */
#include "conn.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "http_request.h"
#include "mime.h"
#include "resource.h"
#include "response.h"
#include "solo5.h"

/* Heads, error bodies and redirects; a Location longer than this loses
 * its query. */
#define WWW_OUT_MAX 2048u
/* The engine's control block per connection and allocator headers. */
#define TCP_CONN_BOUND 1024u
#define ALLOC_OVERHEAD 32u

struct www_conn {
    struct www_conn *prev, *next;
    struct www_server *server;
    struct tcp_conn *tcp;
    uint32_t peer_ip;
    struct http_head_scan scan;
    size_t in_len;                   /* received bytes not yet answered */
    size_t out_len, out_sent;        /* response head (and small body) */
    const struct ustar_entry *body;  /* file bytes to send after out[] */
    const uint8_t *body_data;        /* the file's cached bytes, or NULL */
    uint64_t body_offset, body_left;
    uint64_t discard_left;           /* request body bytes to drop */
    int close_after;                 /* close once the output is queued */
    int peer_closed;
    int running, rerun;              /* conn_run is on the stack; run it again */
    solo5_time_t request_start;      /* first byte of the pending request */
    solo5_time_t last_progress;      /* last byte in or out */
    size_t unacked_seen;             /* tcp_send_queued at the last sweep */
    uint8_t out[WWW_OUT_MAX];
    uint8_t in[HTTP_HEAD_MAX];
};

size_t www_backlog_conn_memory(void)
{
    return TCP_CONN_BOUND + (WWW_RCVBUF + 1) + WWW_SNDBUF + 3 * ALLOC_OVERHEAD;
}

size_t www_conn_memory(void)
{
    return sizeof(struct www_conn) + ALLOC_OVERHEAD + www_backlog_conn_memory();
}

static void unlink_conn(struct www_conn *c)
{
    struct www_server *s = c->server;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        s->conns_tail = c->prev;
    s->live--;
}

/* Orderly close: FIN after the queued response. Unread input is dropped
 * first, so the close is not turned into a reset that could destroy the
 * response in flight (RFC 9112 section 9.6); what arrives later is
 * acknowledged and dropped by the engine. */
static void conn_close(struct www_conn *c, solo5_time_t now)
{
    uint8_t *sink = c->server->scratch;
    while (tcp_recv(c->tcp, now, sink, WWW_SCRATCH) > 0)
        ;
    tcp_close(c->tcp, now);
    unlink_conn(c);
    free(c);
}

static void conn_abort(struct www_conn *c, solo5_time_t now)
{
    tcp_abort(c->tcp, now);
    unlink_conn(c);
    free(c);
}

/* N body bytes are queued: the response has advanced. */
static void body_queued(struct www_conn *c, solo5_time_t now, size_t n)
{
    c->body_offset += n;
    c->body_left -= n;
    c->last_progress = now;
}

/* Queues out[] and then the file bytes as far as TCP takes them: 1 when
 * all is queued, 0 to wait for TCP_EV_WRITABLE, -1 on error. A cached body
 * of WWW_REF_MIN bytes or more is queued by reference: TCP builds its
 * segments from the cache, which lives as long as the server, and the
 * send ring holds only the head. */
static int flush(struct www_conn *c, solo5_time_t now)
{
    struct www_server *s = c->server;
    for (;;) {
        size_t pending = c->out_len - c->out_sent;
        if (pending == 0 && c->body_left == 0) {
            c->out_len = c->out_sent = 0;
            return 1;
        }
        int by_ref = c->body_data && c->body_left >= WWW_REF_MIN;
        if (pending == 0 && by_ref) {
            long sent = tcp_send_ref(c->tcp, now, c->body_data + c->body_offset,
                                     (size_t)c->body_left);
            if (sent == TCP_EAGAIN)
                return 0;
            if (sent < 0)
                return -1;
            body_queued(c, now, (size_t)sent);
            continue; /* a short send left want_write set: -> TCP_EAGAIN next */
        }
        size_t space = tcp_send_space(c->tcp);
        if (space == 0)
            return 0;
        if (pending == 0 && c->body_data) {
            /* cached: straight from the cache into the send buffer */
            size_t n = space < c->body_left ? space : (size_t)c->body_left;
            long sent = tcp_send(c->tcp, now, c->body_data + c->body_offset, n);
            if (sent == TCP_EAGAIN)
                return 0;
            if (sent < 0)
                return -1;
            body_queued(c, now, (size_t)sent);
            if ((size_t)sent < n)
                return 0;
            continue;
        }
        size_t n = space < WWW_SCRATCH ? space : WWW_SCRATCH;
        size_t head = pending < n ? pending : n;
        memcpy(s->scratch, c->out + c->out_sent, head);
        size_t body = by_ref ? 0 : n - head;
        if (body > c->body_left)
            body = (size_t)c->body_left;
        if (body > 0 && c->body_data) {
            memcpy(s->scratch + head, c->body_data + c->body_offset, body);
        } else if (body > 0
                   && ustar_read(s->site, c->body, c->body_offset, s->scratch + head, body) != 0) {
            printf("www: cannot read the site's block device\n");
            return -1;
        }
        long sent = tcp_send(c->tcp, now, s->scratch, head + body);
        if (sent == TCP_EAGAIN)
            return 0;
        if (sent < 0)
            return -1;
        size_t from_head = (size_t)sent < head ? (size_t)sent : head;
        c->out_sent += from_head;
        body_queued(c, now, (size_t)sent - from_head);
        if ((size_t)sent < head + body)
            return 0; /* TCP_EV_WRITABLE follows a short send */
    }
}

static void log_request(struct www_conn *c, const uint8_t *head, size_t head_len, int status,
                        uint64_t body_bytes)
{
    struct www_server *s = c->server;
    s->requests++;
    if (!s->cfg.access_log)
        return;
    size_t start = 0;
    while (start < head_len && (head[start] == '\r' || head[start] == '\n'))
        start++;
    size_t end = start;
    while (end < head_len && head[end] != '\r' && head[end] != '\n')
        end++;
    int64_t wall;
    www_date(s, &wall);
    char line[ACCESS_LOG_LINE_MAX];
    size_t n = access_log_format(line, c->peer_ip, wall, head + start, end - start, status,
                                 body_bytes);
    solo5_console_write(line, n);
}

static int closes_connection(int status)
{
    return status == 400 || status == 408 || status == 413 || status == 414 || status == 431
           || status == 505;
}

/* Writes the head (and for statuses without a file, the small body) of a
 * response into out[]; sets up the file body. Returns the body's size. */
static uint64_t respond(struct www_conn *c, const struct http_request *req,
                        const struct resource *res, int send_body)
{
    struct www_server *s = c->server;
    struct response_info ri;
    char last_modified[HTTP_DATE_LEN + 1];
    char body[64];
    size_t body_len = 0;
    memset(&ri, 0, sizeof(ri));
    ri.status = res->status;
    ri.date = www_date(s, NULL);
    ri.keep_alive = req && req->keep_alive && !c->close_after && !closes_connection(res->status);
    if (!ri.keep_alive)
        c->close_after = 1;
    ri.max_age = s->cfg.max_age;
    if (res->file) {
        http_date_format((int64_t)res->file->mtime, last_modified);
        ri.last_modified = last_modified;
        ri.etag = res->etag;
    }
    if (res->status == 200 || res->status == 206) {
        ri.content_type = mime_type(res->file->name, res->file->name_len);
        ri.has_content_length = 1;
        ri.content_length = res->length;
        ri.accept_ranges = res->status == 200; /* as nginx: not repeated on a 206 */
        if (res->status == 206) {
            ri.has_content_range = 1;
            ri.range_first = res->first;
            ri.range_length = res->length;
            ri.range_size = res->file->size;
        }
    } else if (res->status != 304) {
        body_len = response_error_body(res->status, body, sizeof(body));
        ri.content_type = "text/plain";
        ri.has_content_length = 1;
        ri.content_length = body_len;
        ri.allow = res->status == 405;
        if (res->status == 416) {
            ri.has_content_range = 1;
            ri.range_size = res->file->size;
            ri.etag = NULL;
            ri.last_modified = NULL;
        }
        if (res->status == 301) {
            ri.location_name = res->name;
            ri.location_has_query = req->query.p != NULL;
            ri.location_query = req->query;
        }
    }
    size_t n = response_head((char *)c->out, WWW_OUT_MAX, &ri);
    if (n == 0 && ri.location_has_query) {
        ri.location_has_query = 0; /* a very long query does not follow a redirect */
        n = response_head((char *)c->out, WWW_OUT_MAX, &ri);
    }
    if (n == 0) { /* cannot happen with WWW_OUT_MAX; answer rather than stall */
        struct resource failed;
        memset(&failed, 0, sizeof(failed));
        failed.status = 500;
        c->close_after = 1;
        return respond(c, NULL, &failed, send_body);
    }
    c->out_len = n;
    c->out_sent = 0;
    if (!send_body)
        return 0;
    if (body_len > 0 && body_len <= WWW_OUT_MAX - n) {
        memcpy(c->out + n, body, body_len);
        c->out_len += body_len;
        return body_len;
    }
    if ((res->status == 200 || res->status == 206) && res->length > 0) {
        c->body = res->file;
        c->body_data = file_cache_get(&c->server->cache, res->file);
        c->body_offset = res->first;
        c->body_left = res->length;
        return res->length;
    }
    return 0;
}

static uint64_t respond_status(struct www_conn *c, const struct http_request *req, int status)
{
    struct resource res;
    memset(&res, 0, sizeof(res));
    res.status = status;
    return respond(c, req, &res, 1);
}

static void handle_request(struct www_conn *c, size_t head_len)
{
    struct http_request req;
    struct resource res;
    if (http_request_parse(c->in, head_len, &req) != 0) {
        uint64_t bytes = respond_status(c, NULL, req.error_status);
        log_request(c, c->in, head_len, req.error_status, bytes);
        return;
    }
    /* RFC 9112 section 9.3 / 6.3: a body we do not read ends the connection */
    if (req.has_transfer_encoding) {
        c->close_after = 1;
    } else if (req.has_content_length && req.content_length > WWW_BODY_MAX) {
        uint64_t bytes = respond_status(c, &req, 413);
        log_request(c, c->in, head_len, 413, bytes);
        return;
    } else if (req.has_content_length) {
        c->discard_left = req.content_length;
    }
    resource_resolve(c->server->site, &req, &res);
    uint64_t bytes = respond(c, &req, &res, req.method != HTTP_HEAD);
    log_request(c, c->in, head_len, res.status, bytes);
}

/* Drops the answered head from in[], and as much of its body as came with
 * it; a pipelined request may follow. */
static void consume(struct www_conn *c, size_t head_len, solo5_time_t now)
{
    size_t used = head_len;
    size_t body = c->in_len - head_len;
    if (body > c->discard_left)
        body = (size_t)c->discard_left;
    used += body;
    c->discard_left -= body;
    memmove(c->in, c->in + used, c->in_len - used);
    c->in_len -= used;
    memset(&c->scan, 0, sizeof(c->scan));
    c->request_start = now;
}

/* Answers what can be answered now. Returns 1 when the connection was
 * closed (and freed), 0 when it waits for input or send space. */
static int conn_steps(struct www_conn *c, solo5_time_t now)
{
    struct www_server *s = c->server;
    for (;;) {
        int flushed = flush(c, now);
        if (flushed < 0) {
            conn_abort(c, now);
            return 1;
        }
        if (flushed == 0)
            return 0;
        if (c->close_after) {
            conn_close(c, now);
            return 1;
        }
        if (c->discard_left > 0) {
            size_t want = c->discard_left < WWW_SCRATCH ? (size_t)c->discard_left : WWW_SCRATCH;
            long got = tcp_recv(c->tcp, now, s->scratch, want);
            if (got > 0) {
                c->discard_left -= (uint64_t)got;
                c->last_progress = now;
                continue;
            }
            if (got == TCP_EAGAIN)
                return 0;
            conn_abort(c, now); /* the body never came */
            return 1;
        }
        size_t head_len = 0;
        int status = 0;
        int scanned = c->in_len > 0
                          ? http_head_scan(&c->scan, c->in, c->in_len, &head_len, &status)
                          : HTTP_HEAD_INCOMPLETE;
        if (scanned == HTTP_HEAD_COMPLETE) {
            handle_request(c, head_len);
            consume(c, head_len, now);
            continue;
        }
        if (scanned == HTTP_HEAD_ERROR) {
            uint64_t bytes = respond_status(c, NULL, status);
            log_request(c, c->in, c->in_len, status, bytes);
            c->in_len = 0;
            continue;
        }
        if (c->peer_closed) {
            conn_close(c, now);
            return 1;
        }
        long got = tcp_recv(c->tcp, now, c->in + c->in_len, HTTP_HEAD_MAX - c->in_len);
        if (got > 0) {
            if (c->in_len == 0)
                c->request_start = now;
            c->in_len += (size_t)got;
            c->last_progress = now;
        } else if (got == 0) {
            c->peer_closed = 1; /* answer what came, then close */
        } else if (got == TCP_EAGAIN) {
            return 0;
        } else {
            conn_abort(c, now); /* reset or timed out */
            return 1;
        }
    }
}

/* Engine calls made in conn_steps (tcp_send, tcp_recv) may call on_event
 * for this connection again: that only asks for another pass. */
static void conn_run(struct www_conn *c, solo5_time_t now)
{
    c->running = 1;
    do {
        c->rerun = 0;
        if (conn_steps(c, now))
            return;
    } while (c->rerun);
    c->running = 0;
}

static void on_event(void *user, struct tcp_conn *tcp, unsigned events)
{
    struct www_conn *c = user;
    (void)tcp;
    (void)events;
    if (c->running)
        c->rerun = 1;
    else
        conn_run(c, rt_loop_now(&c->server->loop)); /* no clock read per segment */
}

static void on_refused_event(void *user, struct tcp_conn *tcp, unsigned events)
{
    (void)user;
    (void)tcp;
    (void)events;
}

/* The connection that has waited longest for a next request, if any. */
static struct www_conn *oldest_idle(struct www_server *s)
{
    for (struct www_conn *c = s->conns; c; c = c->next)
        if (c->in_len == 0 && c->out_len == 0 && c->body_left == 0 && c->discard_left == 0)
            return c;
    return NULL;
}

void www_conn_on_accept(void *user, struct tcp_listener *l)
{
    struct www_server *s = user;
    solo5_time_t now = rt_loop_now(&s->loop);
    for (;;) {
        if (s->live >= s->cfg.max_connections) {
            /* at the limit an idle keep-alive connection makes room; if
             * every connection is busy the newcomer is reset */
            struct www_conn *idle = oldest_idle(s);
            if (idle) {
                conn_close(idle, now);
            } else {
                struct tcp_conn *refused = tcp_accept(l, on_refused_event, NULL);
                if (!refused)
                    return;
                tcp_abort(refused, now);
                s->refused++;
                continue;
            }
        }
        struct www_conn *c = malloc(sizeof(*c));
        if (!c)
            return; /* stays in the backlog */
        memset(c, 0, offsetof(struct www_conn, out));
        struct tcp_conn *tcp = tcp_accept(l, on_event, c);
        if (!tcp) {
            free(c);
            return;
        }
        uint16_t local_port, remote_port;
        uint32_t local_ip;
        tcp_conn_addr(tcp, &local_ip, &local_port, &c->peer_ip, &remote_port);
        tcp_set_nodelay(tcp, 1); /* a response's last segment must not wait for an ACK */
        c->server = s;
        c->tcp = tcp;
        c->last_progress = now;
        c->prev = s->conns_tail;
        if (s->conns_tail)
            s->conns_tail->next = c;
        else
            s->conns = c;
        s->conns_tail = c;
        s->live++;
        s->accepted++;
        conn_run(c, now);
    }
}

void www_conn_sweep(struct www_server *s, solo5_time_t now)
{
    struct www_conn *next;
    for (struct www_conn *c = s->conns; c; c = next) {
        next = c->next;
        size_t unacked = tcp_send_queued(c->tcp);
        if (unacked != c->unacked_seen) {
            c->unacked_seen = unacked; /* the client acknowledged (or we queued) bytes */
            c->last_progress = now;
        }
        if (c->out_len != c->out_sent || c->body_left > 0 || unacked > 0) {
            if (now - c->last_progress > (solo5_time_t)WWW_SEND_TIMEOUT_S * 1000000000ull)
                conn_abort(c, now); /* the client stopped reading */
        } else if (c->in_len > 0 || c->discard_left > 0) {
            if (now - c->request_start > (solo5_time_t)s->cfg.header_timeout * 1000000000ull) {
                /* RFC 9110 section 15.5.9: 408, then close */
                uint64_t bytes = respond_status(c, NULL, 408);
                log_request(c, c->in, c->in_len, 408, bytes);
                c->in_len = 0;
                c->discard_left = 0;
                conn_run(c, now);
            }
        } else if (now - c->last_progress > (solo5_time_t)s->cfg.idle_timeout * 1000000000ull) {
            conn_close(c, now);
        }
    }
}
