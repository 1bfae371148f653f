/* HTTP dates (see http_date.h). Civil dates to and from day numbers use
 * the proleptic Gregorian calendar with March-based years, so leap days
 * fall at the end of a year. */
#include "http_date.h"

#include <stdio.h>
#include <string.h>

static const char days[7][4] = { "Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed" };
static const char *const long_days[7] = { "Thursday", "Friday", "Saturday", "Sunday",
                                          "Monday", "Tuesday", "Wednesday" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

#define MAX_SECONDS 253402300799LL /* 9999-12-31T23:59:59Z */

/* Days since 1970-01-01 of year-month-day (month 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;                                   /* 0..399 */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;  /* 0..365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           /* 0..146096 */
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

void http_date_format(int64_t seconds, char *out)
{
    if (seconds < 0)
        seconds = 0;
    if (seconds > MAX_SECONDS)
        seconds = MAX_SECONDS;
    int64_t day = seconds / 86400, rem = seconds % 86400;
    int64_t y;
    int m, d;
    civil_from_days(day, &y, &m, &d);
    snprintf(out, HTTP_DATE_LEN + 1, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[day % 7], d,
             months[m - 1], (int)y, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

void http_date_clf(int64_t seconds, char *out)
{
    if (seconds < 0)
        seconds = 0;
    if (seconds > MAX_SECONDS)
        seconds = MAX_SECONDS;
    int64_t y;
    int m, d;
    int64_t rem = seconds % 86400;
    civil_from_days(seconds / 86400, &y, &m, &d);
    snprintf(out, CLF_DATE_LEN + 1, "%02d/%s/%04d:%02d:%02d:%02d +0000", d, months[m - 1],
             (int)y, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
}

/* A cursor over the date text. */
struct cursor {
    const uint8_t *p;
    size_t len, at;
};

static int take(struct cursor *c, const char *text)
{
    size_t n = strlen(text);
    if (c->len - c->at < n || memcmp(c->p + c->at, text, n) != 0)
        return -1;
    c->at += n;
    return 0;
}

/* Exactly `digits` digits (a leading space allowed when pad_space). */
static int number(struct cursor *c, size_t digits, int pad_space, int *out)
{
    int v = 0;
    if (c->len - c->at < digits)
        return -1;
    for (size_t i = 0; i < digits; i++) {
        uint8_t b = c->p[c->at + i];
        if (pad_space && i == 0 && b == ' ')
            continue;
        if (b < '0' || b > '9')
            return -1;
        v = v * 10 + (b - '0');
    }
    c->at += digits;
    *out = v;
    return 0;
}

static int month(struct cursor *c, int *out)
{
    for (int i = 0; i < 12; i++) {
        if (take(c, months[i]) == 0) {
            *out = i + 1;
            return 0;
        }
    }
    return -1;
}

static int day_name(struct cursor *c, int long_form)
{
    for (int i = 0; i < 7; i++)
        if (take(c, long_form ? long_days[i] : days[i]) == 0)
            return 0;
    return -1;
}

static int clock_time(struct cursor *c, int *h, int *mi, int *s)
{
    if (number(c, 2, 0, h) != 0 || take(c, ":") != 0 || number(c, 2, 0, mi) != 0
        || take(c, ":") != 0 || number(c, 2, 0, s) != 0)
        return -1;
    return *h > 23 || *mi > 59 || *s > 60 ? -1 : 0; /* 60: a leap second */
}

static int days_in_month(int y, int m)
{
    static const int n[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : n[m - 1];
}

int http_date_parse(const uint8_t *p, size_t len, int64_t *seconds)
{
    struct cursor c = { p, len, 0 };
    int y = 0, m = 0, d = 0, h = 0, mi = 0, s = 0;
    if (day_name(&c, 0) == 0 && take(&c, ", ") == 0) {
        /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
        if (number(&c, 2, 0, &d) != 0 || take(&c, " ") != 0 || month(&c, &m) != 0
            || take(&c, " ") != 0 || number(&c, 4, 0, &y) != 0 || take(&c, " ") != 0
            || clock_time(&c, &h, &mi, &s) != 0 || take(&c, " GMT") != 0)
            return -1;
    } else if ((c.at = 0, day_name(&c, 0)) == 0 && take(&c, " ") == 0) {
        /* asctime: Sun Nov  6 08:49:37 1994 */
        if (month(&c, &m) != 0 || take(&c, " ") != 0 || number(&c, 2, 1, &d) != 0
            || take(&c, " ") != 0 || clock_time(&c, &h, &mi, &s) != 0 || take(&c, " ") != 0
            || number(&c, 4, 0, &y) != 0)
            return -1;
    } else if ((c.at = 0, day_name(&c, 1)) == 0 && take(&c, ", ") == 0) {
        /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT; RFC 9110 section 5.6.7
         * reads a two-digit year more than 50 years ahead as the past
         * century: with no clock here, 70-99 are 19xx, 00-69 20xx. */
        if (number(&c, 2, 0, &d) != 0 || take(&c, "-") != 0 || month(&c, &m) != 0
            || take(&c, "-") != 0 || number(&c, 2, 0, &y) != 0 || take(&c, " ") != 0
            || clock_time(&c, &h, &mi, &s) != 0 || take(&c, " GMT") != 0)
            return -1;
        y += y >= 70 ? 1900 : 2000;
    } else {
        return -1;
    }
    if (c.at != len || d < 1 || d > days_in_month(y, m))
        return -1;
    *seconds = days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}
