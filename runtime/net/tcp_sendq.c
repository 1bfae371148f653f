/* The send queue: copied bytes in a ring, referenced bytes in place, in
 * sequence order as a short list of runs (tcp_internal.h). */
#include "tcp_internal.h"

#include <string.h>

int tcp_sendq_init(struct tcp_engine *e, struct tcp_sendq *q, uint32_t ring_cap)
{
    memset(q, 0, sizeof(*q));
    return tcp_ring_init(e, &q->ring, ring_cap);
}

/* Referenced memory is the application's: only the ring is freed. */
void tcp_sendq_release(struct tcp_engine *e, struct tcp_sendq *q)
{
    tcp_ring_release(e, &q->ring);
    q->n_run = 0;
    q->len = q->ref_len = 0;
}

static struct tcp_run *last_run(struct tcp_sendq *q)
{
    return q->n_run ? &q->run[q->n_run - 1] : NULL;
}

/* Bytes tcp_sendq_copy takes now: the ring's free space, if the copy can
 * extend the last run or start a new one. */
uint32_t tcp_sendq_copy_space(const struct tcp_sendq *q)
{
    if (!q->ring.buf)
        return 0;
    int extends = q->n_run > 0 && q->run[q->n_run - 1].ref == NULL;
    if (!extends && q->n_run == TCP_SEND_RUNS)
        return 0;
    return q->ring.cap - q->ring.len;
}

uint32_t tcp_sendq_copy(struct tcp_sendq *q, const uint8_t *src, uint32_t n)
{
    uint32_t space = tcp_sendq_copy_space(q);
    if (n > space)
        n = space;
    if (n == 0)
        return 0;
    tcp_ring_write_at(&q->ring, q->ring.len, src, n);
    q->ring.len += n;
    struct tcp_run *r = last_run(q);
    if (!r || r->ref) {
        r = &q->run[q->n_run++];
        r->ref = NULL;
        r->len = 0;
    }
    r->len += n;
    q->len += n;
    return n;
}

/* Queues n bytes by reference (the caller has checked its cap); 0 when
 * every run is taken and the bytes do not continue the last one. */
uint32_t tcp_sendq_ref(struct tcp_sendq *q, const uint8_t *data, uint32_t n)
{
    if (n == 0 || !q->ring.buf)
        return 0;
    struct tcp_run *r = last_run(q);
    if (!r || !r->ref || r->ref + r->len != data) {
        if (q->n_run == TCP_SEND_RUNS)
            return 0;
        r = &q->run[q->n_run++];
        r->ref = data;
        r->len = 0;
    }
    r->len += n;
    q->len += n;
    q->ref_len += n;
    return n;
}

/* Copies the n queued bytes at offset off (from SND.UNA) to dst, from the
 * ring or the referenced memory as each run says. off + n <= len. */
void tcp_sendq_read(const struct tcp_sendq *q, uint32_t off, uint8_t *dst, uint32_t n)
{
    uint32_t ring_off = 0; /* the ring bytes of the runs before this one */
    for (unsigned i = 0; i < q->n_run && n > 0; i++) {
        const struct tcp_run *r = &q->run[i];
        if (off >= r->len) {
            off -= r->len;
            if (!r->ref)
                ring_off += r->len;
            continue;
        }
        uint32_t take = r->len - off < n ? r->len - off : n;
        if (r->ref)
            memcpy(dst, r->ref + off, take);
        else
            tcp_ring_read_at(&q->ring, ring_off + off, dst, take);
        dst += take;
        n -= take;
        off = 0;
        if (!r->ref)
            ring_off += r->len;
    }
}

/* Drops n acknowledged bytes from the head (n <= len). */
void tcp_sendq_consume(struct tcp_sendq *q, uint32_t n)
{
    q->len -= n;
    while (n > 0) {
        struct tcp_run *r = &q->run[0];
        uint32_t take = r->len < n ? r->len : n;
        if (r->ref) {
            r->ref += take;
            q->ref_len -= take;
        } else {
            tcp_ring_consume(&q->ring, take);
        }
        r->len -= take;
        n -= take;
        if (r->len == 0) {
            q->n_run--;
            memmove(&q->run[0], &q->run[1], q->n_run * sizeof(q->run[0]));
        }
    }
}
