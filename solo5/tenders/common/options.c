/* Option values with upstream's syntax (see options.h). */
#include "options.h"

#include <errno.h>
#include <stdlib.h>

/* Decimal digits only: strtoull alone would accept "+5", " 5" and "-5". */
static const char *parse_decimal(const char *value, unsigned long long *out)
{
    if (value[0] < '0' || value[0] > '9')
        return "not a decimal number";
    char *end;
    errno = 0;
    *out = strtoull(value, &end, 10);
    if (errno != 0 || *end != '\0')
        return "not a decimal number";
    return NULL;
}

const char *option_parse_mib(const char *value, uint64_t max_mib, uint64_t *mib)
{
    unsigned long long n;
    if (parse_decimal(value, &n) != NULL || n > max_mib)
        return "must be a decimal number of MiB";
    *mib = n;
    return NULL;
}

const char *option_parse_sector_size(const char *value, uint16_t *size)
{
    unsigned long long n;
    if (parse_decimal(value, &n) != NULL || n < OPTION_SECTOR_MIN || n > OPTION_SECTOR_MAX ||
        (n & (n - 1)) != 0)
        return "must be a power of two from 512 to 32768";
    *size = (uint16_t)n;
    return NULL;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

const char *option_parse_mac(const char *value, uint8_t mac[6])
{
    static const char *const bad = "not a MAC address (six hex pairs, e.g. 02:00:00:00:00:01)";
    uint8_t out[6];
    for (int i = 0; i < 6; i++) {
        const char *p = value + 3 * i;
        int hi = hex_digit(p[0]);
        int lo = hi < 0 ? -1 : hex_digit(p[1]);
        if (lo < 0 || p[2] != (i == 5 ? '\0' : ':'))
            return bad;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    for (int i = 0; i < 6; i++)
        mac[i] = out[i];
    return NULL;
}
