/* Small helpers shared by the test unikernels. */
#include "testlib.h"

void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    while (n--)
        *d++ = *s++;
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n] != '\0')
        n++;
    return n;
}

void puts_console(const char *s)
{
    solo5_console_write(s, strlen(s));
}

void put_u64(uint64_t v)
{
    char digits[21];
    size_t n = sizeof digits;
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    solo5_console_write(&digits[n], sizeof digits - n);
}

void put_result(const char *label, solo5_result_t r)
{
    static const char *const names[] = { "OK", "AGAIN", "EINVAL", "EUNSPEC" };
    puts_console(label);
    puts_console(": ");
    puts_console((unsigned)r < 4 ? names[r] : "?");
    puts_console("\n");
}

bool parse_u64(const char **s, uint64_t *out)
{
    const char *p = *s;
    uint64_t v = 0;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9') {
        uint64_t digit = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
        p++;
    }
    *s = p;
    *out = v;
    return true;
}
