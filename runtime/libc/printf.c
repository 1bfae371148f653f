/* Formatted output (C11 7.21.6.1 subset; see stdio.h). One formatter
 * writes through a sink, so snprintf and printf share the code. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "libc_internal.h"

struct sink {
    char *buf;
    size_t size;  /* capacity of buf, 0 for a flush sink */
    size_t count; /* characters produced (the return value) */
    void (*flush)(const char *p, size_t n);
    char chunk[128];
    size_t used;
};

static void put(struct sink *s, char c)
{
    if (s->flush) {
        s->chunk[s->used++] = c;
        if (s->used == sizeof(s->chunk)) {
            s->flush(s->chunk, s->used);
            s->used = 0;
        }
    } else if (s->count + 1 < s->size) {
        s->buf[s->count] = c;
    }
    s->count++;
}

static void put_repeat(struct sink *s, char c, int n)
{
    for (int i = 0; i < n; i++)
        put(s, c);
}

enum { F_LEFT = 1, F_ZERO = 2, F_PLUS = 4, F_SPACE = 8, F_ALT = 16 };

static void put_number(struct sink *s, uintmax_t v, int negative, unsigned base, int upper,
                       int flags, int width, int precision)
{
    char digits[64];
    int n = 0;
    const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    while (v) {
        digits[n++] = set[v % base];
        v /= base;
    }
    /* C11 7.21.6.1p8: precision 0 with value 0 prints no digits. */
    int zeros = precision > n ? precision - n : 0;
    if (precision < 0 && n == 0)
        zeros = 1;
    const char *prefix = "";
    if (negative)
        prefix = "-";
    else if (flags & F_PLUS)
        prefix = "+";
    else if (flags & F_SPACE)
        prefix = " ";
    if ((flags & F_ALT) && base == 16 && n > 0)
        prefix = upper ? "0X" : "0x";
    if ((flags & F_ALT) && base == 8 && zeros == 0)
        zeros = 1;
    int plen = (int)strlen(prefix);
    int body = plen + zeros + n;
    int pad = width > body ? width - body : 0;
    if ((flags & F_ZERO) && !(flags & F_LEFT) && precision < 0) {
        zeros += pad;
        pad = 0;
    }
    if (!(flags & F_LEFT))
        put_repeat(s, ' ', pad);
    for (int i = 0; i < plen; i++)
        put(s, prefix[i]);
    put_repeat(s, '0', zeros);
    while (n)
        put(s, digits[--n]);
    if (flags & F_LEFT)
        put_repeat(s, ' ', pad);
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
    while (*fmt) {
        if (*fmt != '%') {
            put(s, *fmt++);
            continue;
        }
        fmt++;
        int flags = 0;
        for (;; fmt++) {
            if (*fmt == '-') flags |= F_LEFT;
            else if (*fmt == '0') flags |= F_ZERO;
            else if (*fmt == '+') flags |= F_PLUS;
            else if (*fmt == ' ') flags |= F_SPACE;
            else if (*fmt == '#') flags |= F_ALT;
            else break;
        }
        int width = 0;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            if (width < 0) {
                flags |= F_LEFT;
                width = width == INT32_MIN ? 0 : -width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9' && width < 100000)
                width = width * 10 + (*fmt++ - '0');
        }
        int precision = -1;
        if (*fmt == '.') {
            fmt++;
            precision = 0;
            if (*fmt == '*') {
                precision = va_arg(ap, int);
                if (precision < 0)
                    precision = -1;
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9' && precision < 100000)
                    precision = precision * 10 + (*fmt++ - '0');
            }
        }
        enum { L_INT, L_CHAR, L_SHORT, L_LONG, L_LLONG, L_SIZE, L_MAX, L_PTRDIFF } len = L_INT;
        if (fmt[0] == 'h' && fmt[1] == 'h') { len = L_CHAR; fmt += 2; }
        else if (fmt[0] == 'h') { len = L_SHORT; fmt++; }
        else if (fmt[0] == 'l' && fmt[1] == 'l') { len = L_LLONG; fmt += 2; }
        else if (fmt[0] == 'l') { len = L_LONG; fmt++; }
        else if (fmt[0] == 'z') { len = L_SIZE; fmt++; }
        else if (fmt[0] == 'j') { len = L_MAX; fmt++; }
        else if (fmt[0] == 't') { len = L_PTRDIFF; fmt++; }
        char conv = *fmt;
        if (conv == 0)
            return;
        fmt++;
        switch (conv) {
        case 'd':
        case 'i': {
            intmax_t v;
            switch (len) {
            case L_CHAR: v = (signed char)va_arg(ap, int); break;
            case L_SHORT: v = (short)va_arg(ap, int); break;
            case L_LONG: v = va_arg(ap, long); break;
            case L_LLONG: v = va_arg(ap, long long); break;
            case L_SIZE: v = (intmax_t)va_arg(ap, size_t); break;
            case L_MAX: v = va_arg(ap, intmax_t); break;
            case L_PTRDIFF: v = va_arg(ap, ptrdiff_t); break;
            default: v = va_arg(ap, int); break;
            }
            uintmax_t mag = v < 0 ? (uintmax_t)0 - (uintmax_t)v : (uintmax_t)v;
            put_number(s, mag, v < 0, 10, 0, flags, width, precision);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uintmax_t v;
            switch (len) {
            case L_CHAR: v = (unsigned char)va_arg(ap, unsigned); break;
            case L_SHORT: v = (unsigned short)va_arg(ap, unsigned); break;
            case L_LONG: v = va_arg(ap, unsigned long); break;
            case L_LLONG: v = va_arg(ap, unsigned long long); break;
            case L_SIZE: v = va_arg(ap, size_t); break;
            case L_MAX: v = va_arg(ap, uintmax_t); break;
            case L_PTRDIFF: v = (uintmax_t)va_arg(ap, ptrdiff_t); break;
            default: v = va_arg(ap, unsigned); break;
            }
            unsigned base = conv == 'u' ? 10 : conv == 'o' ? 8 : 16;
            put_number(s, v, 0, base, conv == 'X', flags & ~(F_PLUS | F_SPACE), width,
                       precision);
            break;
        }
        case 'p':
            put_number(s, (uintptr_t)va_arg(ap, void *), 0, 16, 0, F_ALT, width, -1);
            break;
        case 'c': {
            int pad = width > 1 ? width - 1 : 0;
            if (!(flags & F_LEFT))
                put_repeat(s, ' ', pad);
            put(s, (char)va_arg(ap, int));
            if (flags & F_LEFT)
                put_repeat(s, ' ', pad);
            break;
        }
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            size_t n = precision >= 0 ? strnlen(str, (size_t)precision) : strlen(str);
            int pad = width > (int)n ? width - (int)n : 0;
            if (!(flags & F_LEFT))
                put_repeat(s, ' ', pad);
            for (size_t i = 0; i < n; i++)
                put(s, str[i]);
            if (flags & F_LEFT)
                put_repeat(s, ' ', pad);
            break;
        }
        case '%':
            put(s, '%');
            break;
        default: /* unknown conversion: shown as is */
            put(s, '%');
            put(s, conv);
            break;
        }
    }
}

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap)
{
    struct sink s = {.buf = buf, .size = size};
    format(&s, fmt, ap);
    if (size > 0)
        buf[s.count < size ? s.count : size - 1] = 0;
    return (int)s.count;
}

int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int libc_vformat_to(void (*flush)(const char *p, size_t n), const char *fmt, va_list ap)
{
    struct sink s = {.flush = flush};
    format(&s, fmt, ap);
    if (s.used)
        flush(s.chunk, s.used);
    return (int)s.count;
}
