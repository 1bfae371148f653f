/*
 * Deliberately unreproducible fixture: embeds the build year.
 *
 * __DATE__ and __TIME__ are pinned by SOURCE_DATE_EPOCH (GCC >= 7), which the
 * builder sets, so they alone would be harmless. __TIMESTAMP__ is the source
 * file's modification time as the compiler sees it: GCC does not clamp it to
 * SOURCE_DATE_EPOCH, and under a clock a year ahead (libfaketime also shifts
 * the times stat() reports) it names another year. Only its year is kept
 * (characters 20-23 of "Ddd Mmm dd hh:mm:ss yyyy"), so the time zone, which
 * moves it by hours, does not matter. The builder must blame "time".
 */
#include <solo5.h>

#define STAMP __TIMESTAMP__

static const char banner[] = "built " __DATE__ " " __TIME__ ", copyright ";
static const char year[4] = { STAMP[20], STAMP[21], STAMP[22], STAMP[23] };

int solo5_app_main(const struct solo5_start_info *info)
{
    (void)info;
    solo5_console_write(banner, sizeof banner - 1);
    solo5_console_write(year, sizeof year);
    solo5_console_write("\n", 1);
    return SOLO5_EXIT_SUCCESS;
}
