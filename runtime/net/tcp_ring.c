/* Byte rings for send/receive buffers and the receive side's record of
 * out-of-order data (which is stored in place, beyond the in-order bytes). */
#include "tcp_internal.h"

#include <string.h>

int tcp_ring_init(struct tcp_engine *e, struct tcp_ring *r, uint32_t cap)
{
    r->buf = tcp_alloc(e, cap);
    if (!r->buf)
        return -1;
    r->cap = cap;
    r->head = 0;
    r->len = 0;
    return 0;
}

void tcp_ring_release(struct tcp_engine *e, struct tcp_ring *r)
{
    if (r->buf)
        tcp_free(e, r->buf);
    r->buf = NULL;
    r->cap = r->head = r->len = 0;
}

/* off is relative to head; callers keep off + n <= cap. */
void tcp_ring_write_at(struct tcp_ring *r, uint32_t off, const uint8_t *src, uint32_t n)
{
    uint32_t pos = (uint32_t)(((uint64_t)r->head + off) % r->cap);
    uint32_t first = r->cap - pos < n ? r->cap - pos : n;
    memcpy(r->buf + pos, src, first);
    if (n > first)
        memcpy(r->buf, src + first, n - first);
}

void tcp_ring_read_at(const struct tcp_ring *r, uint32_t off, uint8_t *dst, uint32_t n)
{
    uint32_t pos = (uint32_t)(((uint64_t)r->head + off) % r->cap);
    uint32_t first = r->cap - pos < n ? r->cap - pos : n;
    memcpy(dst, r->buf + pos, first);
    if (n > first)
        memcpy(dst + first, r->buf, n - first);
}

void tcp_ring_consume(struct tcp_ring *r, uint32_t n)
{
    r->head = (uint32_t)(((uint64_t)r->head + n) % r->cap);
    r->len -= n;
}

/* Records [start, end) as received out of order, merging neighbours.
 * Returns -1 (segment to be dropped) when the table is full. */
int tcp_ooo_add(struct tcp_conn *c, uint32_t start, uint32_t end)
{
    unsigned i = 0;
    while (i < c->n_ooo && seq_lt(c->ooo_end[i], start))
        i++;
    /* ranges i.. may overlap or touch [start, end) */
    unsigned j = i;
    while (j < c->n_ooo && seq_le(c->ooo_start[j], end)) {
        if (seq_lt(c->ooo_start[j], start))
            start = c->ooo_start[j];
        if (seq_gt(c->ooo_end[j], end))
            end = c->ooo_end[j];
        j++;
    }
    unsigned merged = j - i;
    if (merged == 0 && c->n_ooo == TCP_OOO_MAX)
        return -1;
    if (merged == 0) {
        memmove(&c->ooo_start[i + 1], &c->ooo_start[i], (c->n_ooo - i) * sizeof(uint32_t));
        memmove(&c->ooo_end[i + 1], &c->ooo_end[i], (c->n_ooo - i) * sizeof(uint32_t));
        c->n_ooo++;
    } else if (merged > 1) {
        memmove(&c->ooo_start[i + 1], &c->ooo_start[j], (c->n_ooo - j) * sizeof(uint32_t));
        memmove(&c->ooo_end[i + 1], &c->ooo_end[j], (c->n_ooo - j) * sizeof(uint32_t));
        c->n_ooo -= merged - 1;
    }
    c->ooo_start[i] = start;
    c->ooo_end[i] = end;
    return 0;
}

/* After rcv_nxt moved: absorbs ranges that now start at or before it and
 * returns the new rcv_nxt. */
uint32_t tcp_ooo_advance(struct tcp_conn *c)
{
    uint32_t nxt = c->rcv_nxt;
    unsigned k = 0;
    while (k < c->n_ooo && seq_le(c->ooo_start[k], nxt)) {
        if (seq_gt(c->ooo_end[k], nxt))
            nxt = c->ooo_end[k];
        k++;
    }
    if (k) {
        memmove(&c->ooo_start[0], &c->ooo_start[k], (c->n_ooo - k) * sizeof(uint32_t));
        memmove(&c->ooo_end[0], &c->ooo_end[k], (c->n_ooo - k) * sizeof(uint32_t));
        c->n_ooo -= k;
    }
    return nxt;
}
