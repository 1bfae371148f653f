/* Console output, logging, exit and abort paths. */
#include <stdarg.h>

#include "bindings.h"

enum log_level log_level = LOG_INFO;

void solo5_console_write(const char *buf, size_t size)
{
    /* Best effort by contract: a buffer outside guest memory is dropped. */
    if (size == 0 || !guest_range_ok(buf, size))
        return;
    platform_console_write(buf, size);
}

/* Formats into a fixed buffer; output beyond it is truncated. */
struct fmt_buf {
    char data[256];
    size_t len;
};

static void put_char(struct fmt_buf *b, char c)
{
    if (b->len < sizeof b->data)
        b->data[b->len++] = c;
}

static void put_string(struct fmt_buf *b, const char *s)
{
    if (s == NULL)
        s = "(null)";
    while (*s)
        put_char(b, *s++);
}

static void put_unsigned(struct fmt_buf *b, unsigned long long v, unsigned base)
{
    char digits[24];
    size_t n = 0;
    do {
        digits[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    while (n > 0)
        put_char(b, digits[--n]);
}

static void format(struct fmt_buf *b, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put_char(b, *fmt);
            continue;
        }
        fmt++;
        /* Length modifier: none (int), l (long), ll (long long) or z (size_t). */
        enum { LEN_INT, LEN_LONG, LEN_LLONG, LEN_SIZE } len = LEN_INT;
        if (*fmt == 'z') {
            len = LEN_SIZE;
            fmt++;
        } else if (*fmt == 'l') {
            len = LEN_LONG;
            fmt++;
            if (*fmt == 'l') {
                len = LEN_LLONG;
                fmt++;
            }
        }
        switch (*fmt) {
        case 's':
            put_string(b, va_arg(ap, const char *));
            break;
        case 'c':
            put_char(b, (char)va_arg(ap, int));
            break;
        case 'd': {
            long long v = len == LEN_LONG    ? va_arg(ap, long)
                          : len == LEN_LLONG ? va_arg(ap, long long)
                          : len == LEN_SIZE  ? (long long)va_arg(ap, size_t)
                                             : va_arg(ap, int);
            if (v < 0) {
                put_char(b, '-');
                put_unsigned(b, 0ULL - (unsigned long long)v, 10);
            } else {
                put_unsigned(b, (unsigned long long)v, 10);
            }
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v = len == LEN_LONG    ? va_arg(ap, unsigned long)
                                   : len == LEN_LLONG ? va_arg(ap, unsigned long long)
                                   : len == LEN_SIZE  ? va_arg(ap, size_t)
                                                      : va_arg(ap, unsigned int);
            put_unsigned(b, v, *fmt == 'x' ? 16 : 10);
            break;
        }
        case 'p':
            put_string(b, "0x");
            put_unsigned(b, (uintptr_t)va_arg(ap, void *), 16);
            break;
        case '%':
            put_char(b, '%');
            break;
        case '\0':
            return;
        default:
            put_char(b, '?');
            break;
        }
    }
}

void log_printf(enum log_level level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    struct fmt_buf b = { .len = 0 };
    va_list ap;
    va_start(ap, fmt);
    format(&b, fmt, ap);
    va_end(ap);
    platform_console_write(b.data, b.len);
}

void bindings_abort(const char *fmt, ...)
{
    /* An abort message is printed whatever the log level (§3.11). */
    struct fmt_buf b = { .len = 0 };
    put_string(&b, "Solo5: ABORT: ");
    va_list ap;
    va_start(ap, fmt);
    format(&b, fmt, ap);
    va_end(ap);
    put_char(&b, '\n');
    platform_console_write(b.data, b.len);
    platform_exit(SOLO5_EXIT_ABORT, NULL);
}

void solo5_exit(int status)
{
    log_printf(LOG_INFO, "Solo5: solo5_exit(%d) called\n", status);
    platform_exit(status, NULL);
}

void solo5_abort(void)
{
    bindings_abort("solo5_abort() called");
}
