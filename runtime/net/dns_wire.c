#include "dns_wire.h"

#include <string.h>

#include "bytes.h"

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int dns_name_unpack(const uint8_t *msg, size_t len, size_t off, uint8_t *out, size_t *wire_len,
                    size_t *next)
{
    size_t written = 0; /* octets of the name, length bytes included */
    int jumped = 0;
    size_t segment_start = off; /* where the labels being read began */
    for (;;) {
        if (off >= len)
            return -1;
        uint8_t l = msg[off];
        if ((l & 0xc0) == 0xc0) { /* RFC 1035 4.1.4: a 14-bit pointer */
            if (off + 1 >= len)
                return -1;
            size_t target = ((size_t)(l & 0x3f) << 8) | msg[off + 1];
            /* Only to before the labels just read: strictly decreasing
             * segment starts, so no loop and at most len jumps. */
            if (target >= segment_start)
                return -1;
            segment_start = target;
            if (!jumped)
                *next = off + 2;
            jumped = 1;
            off = target;
            continue;
        }
        if (l & 0xc0) /* 0x40 and 0x80 label types (RFC 6891 5 obsoleted them) */
            return -1;
        if (written + 1u + l > DNS_NAME_MAX || off + 1u + l > len)
            return -1;
        memcpy(out + written, msg + off, 1u + l);
        written += 1u + l;
        off += 1u + l;
        if (l == 0)
            break;
    }
    *wire_len = written;
    if (!jumped)
        *next = off;
    return 0;
}

int dns_name_read(const uint8_t *msg, size_t len, size_t off, char *out, size_t *next)
{
    uint8_t wire[DNS_NAME_MAX];
    size_t wire_len;
    if (dns_name_unpack(msg, len, off, wire, &wire_len, next) != 0)
        return -1;
    size_t text = 0;
    for (size_t at = 0; wire[at] != 0; at += 1u + wire[at]) {
        if (text != 0)
            out[text++] = '.';
        for (size_t i = 1; i <= wire[at]; i++) {
            char c = (char)wire[at + i];
            if (c == '.' || c == 0) /* would make the text form ambiguous */
                return -1;
            out[text++] = lower(c);
        }
    }
    out[text] = 0;
    return 0;
}

size_t dns_name_encode(const char *name, uint8_t *out, size_t cap)
{
    size_t at = 0;
    const char *p = name;
    if (*p == 0)
        return 0;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l == 0 || l > DNS_LABEL_MAX || at + 1 + l + 1 > cap || at + 1 + l + 1 > DNS_NAME_MAX)
            return 0;
        out[at++] = (uint8_t)l;
        memcpy(out + at, p, l);
        at += l;
        p += l;
        if (*p == '.') {
            p++;
            if (*p == 0) /* a trailing dot ends the name */
                break;
        }
    }
    out[at++] = 0;
    return at;
}

int dns_parse_response(const uint8_t *msg, size_t len, struct dns_answer *out)
{
    memset(out, 0, sizeof(*out));
    if (len < DNS_HDR_LEN)
        return -1;
    uint16_t flags = get_be16(msg + 2);
    if (!(flags & DNS_FLAG_QR) || (flags & DNS_OPCODE_MASK) != 0)
        return -1;
    out->id = get_be16(msg);
    out->rcode = flags & DNS_RCODE_MASK;
    out->truncated = (flags & DNS_FLAG_TC) != 0;
    if (get_be16(msg + 4) != 1)
        return -1;
    size_t ancount = get_be16(msg + 6);
    size_t off;
    if (dns_name_read(msg, len, DNS_HDR_LEN, out->qname, &off) != 0 || off + 4 > len)
        return -1;
    if (get_be16(msg + off) != DNS_TYPE_A || get_be16(msg + off + 2) != DNS_CLASS_IN)
        return -1;
    off += 4;
    char target[DNS_TEXT_MAX + 1];
    char owner[DNS_TEXT_MAX + 1];
    memcpy(target, out->qname, sizeof(target));
    /* Counts come from the sender: never trust them beyond the bytes present. */
    for (size_t i = 0; i < ancount && i < DNS_MAX_RECORDS; i++) {
        if (dns_name_read(msg, len, off, owner, &off) != 0 || off + 10 > len)
            return -1;
        uint16_t type = get_be16(msg + off);
        uint16_t klass = get_be16(msg + off + 2);
        size_t rdlen = get_be16(msg + off + 8);
        off += 10;
        if (rdlen > len - off)
            return -1;
        if (klass == DNS_CLASS_IN && strcmp(owner, target) == 0) {
            if (type == DNS_TYPE_A && rdlen == 4 && out->n_addrs < DNS_MAX_ADDRS) {
                out->addrs[out->n_addrs++] = get_be32(msg + off);
            } else if (type == DNS_TYPE_CNAME) {
                size_t after;
                if (dns_name_read(msg, len, off, target, &after) != 0 || after != off + rdlen)
                    return -1;
            }
        }
        off += rdlen;
    }
    return 0;
}
