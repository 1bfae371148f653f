/* strtoul and atoi (C11 7.22.1). */
#include <stdint.h>
#include <stdlib.h>

#define ULONG_MAX_VALUE (~0ul)

static int digit_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'Z')
        return c - 'A' + 10;
    return 99;
}

unsigned long strtoul(const char *s, char **end, int base)
{
    const char *p = s;
    while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
        p++;
    int negative = 0;
    if (*p == '+' || *p == '-')
        negative = *p++ == '-';
    if ((base == 0 || base == 16) && p[0] == '0' && (p[1] == 'x' || p[1] == 'X') &&
        digit_value(p[2]) < 16) {
        p += 2;
        base = 16;
    } else if (base == 0) {
        base = p[0] == '0' ? 8 : 10;
    }
    unsigned long v = 0;
    int overflow = 0, any = 0;
    for (; digit_value(*p) < base; p++) {
        unsigned d = (unsigned)digit_value(*p);
        any = 1;
        if (v > (ULONG_MAX_VALUE - d) / (unsigned)base)
            overflow = 1;
        else
            v = v * (unsigned)base + d;
    }
    if (end)
        *end = (char *)(uintptr_t)(any ? p : s);
    if (overflow)
        return ULONG_MAX_VALUE;
    return negative ? -v : v;
}

int atoi(const char *s)
{
    return (int)strtoul(s, NULL, 10);
}
