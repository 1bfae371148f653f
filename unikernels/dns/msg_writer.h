/* Writes a DNS message (RFC 1035 4.1) into a caller's buffer that it never
 * overruns: every put either fits whole or leaves the message as it was.
 * Names are compressed (RFC 1035 4.1.4) against the names already written;
 * inside RDATA only for the RFC 1035 types whose RDATA names may be
 * compressed (NS, CNAME, SOA, PTR, MX; RFC 3597 4). */
#ifndef DNS_MSG_WRITER_H
#define DNS_MSG_WRITER_H

#include <stddef.h>
#include <stdint.h>

#define MSG_TARGETS_MAX 256 /* remembered name offsets for compression */
#define MSG_POINTER_MAX 0x3fff

struct msg_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    unsigned n_targets;
    uint16_t targets[MSG_TARGETS_MAX]; /* offsets where a written name (suffix) starts */
};

void msg_init(struct msg_writer *w, uint8_t *buf, size_t cap);

/* A mark to roll back to (length and compression state). */
struct msg_mark {
    size_t len;
    unsigned n_targets;
};
struct msg_mark msg_mark(const struct msg_writer *w);
void msg_rollback(struct msg_writer *w, struct msg_mark m);

int msg_put_u16(struct msg_writer *w, uint16_t v);
int msg_put_u32(struct msg_writer *w, uint32_t v);
int msg_put_bytes(struct msg_writer *w, const uint8_t *p, size_t n);

/* A name, compressed when compress is set; its suffixes become targets. */
int msg_put_name(struct msg_writer *w, const uint8_t *wire, int compress);

/* A resource record; 0, or -1 with nothing written. */
int msg_put_rr(struct msg_writer *w, const uint8_t *owner, uint16_t type, uint16_t klass,
               uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);

#endif
