/*
 * Clocks. Monotonic time is the TSC, whose rate is measured at boot
 * against PIT channel 2 (Intel 8254 data sheet; input clock 1193182 Hz).
 * Wall time is the CMOS RTC (MC146818 registers, read at boot with the
 * update-in-progress check) plus monotonic time since that read: it has
 * the RTC's one-second resolution and drifts with the TSC estimate.
 * PIT channel 0 in mode 0 gives yield its one-shot wake-up on IRQ 0.
 */
#include "virtio.h"

#define NSEC_PER_SEC 1000000000ULL
#define PIT_HZ 1193182ULL
#define PIT_CH0 0x40
#define PIT_CH2 0x42
#define PIT_MODE 0x43
#define PIT_SEL_CH0 0x00
#define PIT_SEL_CH2 0x80
#define PIT_LOHI 0x30     /* access: low byte then high byte */
#define PIT_MODE0 0x00    /* interrupt on terminal count */
#define PORT_B 0x61       /* keyboard controller port B: ch. 2 gate/out */
#define PORT_B_GATE2 0x01
#define PORT_B_SPEAKER 0x02
#define PORT_B_OUT2 0x20
/* 10 ms of PIT ticks for the calibration. */
#define CALIBRATION_TICKS (PIT_HZ / 100)
#define PIT_MAX_COUNT 0xFFFFULL

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define CMOS_NMI_OFF 0x80
#define RTC_SECONDS 0x00
#define RTC_MINUTES 0x02
#define RTC_HOURS 0x04
#define RTC_DAY 0x07
#define RTC_MONTH 0x08
#define RTC_YEAR 0x09
#define RTC_STATUS_A 0x0A
#define RTC_STATUS_B 0x0B
#define RTC_CENTURY 0x32   /* as QEMU and most PC firmware place it */
#define RTC_A_UIP 0x80
#define RTC_B_24H 0x02
#define RTC_B_BINARY 0x04
#define RTC_HOUR_PM 0x80

static uint64_t tsc_base;
static uint64_t ns_per_tick_q32; /* 32.32 fixed point */
static uint64_t wall_at_base;

static void pit_load(uint8_t select, uint16_t port, uint64_t count)
{
    outb(PIT_MODE, select | PIT_LOHI | PIT_MODE0);
    outb(port, (uint8_t)count);
    outb(port, (uint8_t)(count >> 8));
}

static uint64_t measure_tsc_hz(void)
{
    uint8_t b = inb(PORT_B);
    outb(PORT_B, (uint8_t)((b & ~PORT_B_SPEAKER) | PORT_B_GATE2));
    pit_load(PIT_SEL_CH2, PIT_CH2, CALIBRATION_TICKS);
    uint64_t start = rdtsc();
    while ((inb(PORT_B) & PORT_B_OUT2) == 0)
        ;
    uint64_t ticks = rdtsc() - start;
    outb(PORT_B, b);
    return ticks * (PIT_HZ / CALIBRATION_TICKS);
}

static uint8_t cmos_read(uint8_t reg)
{
    outb(CMOS_INDEX, CMOS_NMI_OFF | reg);
    return inb(CMOS_DATA);
}

static unsigned from_bcd(uint8_t v, bool binary)
{
    return binary ? v : (unsigned)(v >> 4) * 10 + (v & 0xF);
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; y >= 1970). */
static uint64_t days_since_epoch(unsigned y, unsigned m, unsigned d)
{
    static const unsigned before_month[12] = { 0, 31, 59, 90, 120, 151,
                                               181, 212, 243, 273, 304, 334 };
    uint64_t days = 0;
    for (unsigned year = 1970; year < y; year++)
        days += (year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)) ? 366 : 365;
    days += before_month[(m - 1) % 12];
    if (m > 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        days++;
    return days + d - 1;
}

static uint64_t rtc_read_seconds(void)
{
    while (cmos_read(RTC_STATUS_A) & RTC_A_UIP)
        ;
    uint8_t b = cmos_read(RTC_STATUS_B);
    bool binary = (b & RTC_B_BINARY) != 0;
    unsigned sec = from_bcd(cmos_read(RTC_SECONDS), binary);
    unsigned min = from_bcd(cmos_read(RTC_MINUTES), binary);
    uint8_t raw_hour = cmos_read(RTC_HOURS);
    unsigned hour = from_bcd(raw_hour & (uint8_t)~RTC_HOUR_PM, binary);
    if (!(b & RTC_B_24H) && (raw_hour & RTC_HOUR_PM))
        hour = (hour % 12) + 12;
    else if (!(b & RTC_B_24H) && hour == 12)
        hour = 0;
    unsigned day = from_bcd(cmos_read(RTC_DAY), binary);
    unsigned month = from_bcd(cmos_read(RTC_MONTH), binary);
    unsigned year = from_bcd(cmos_read(RTC_YEAR), binary) +
                    100 * from_bcd(cmos_read(RTC_CENTURY), binary);
    if (year < 1970 || month < 1 || month > 12 || day < 1)
        return 0;
    return days_since_epoch(year, month, day) * 86400 + hour * 3600ULL + min * 60ULL + sec;
}

void clock_init(void)
{
    uint64_t hz = measure_tsc_hz();
    if (hz == 0)
        bindings_abort("TSC does not advance");
    ns_per_tick_q32 = (uint64_t)(((unsigned __int128)NSEC_PER_SEC << 32) / hz);
    uint64_t seconds = rtc_read_seconds();
    tsc_base = rdtsc();
    wall_at_base = seconds * NSEC_PER_SEC;
    /* Replace the firmware's periodic tick by our one-shots. */
    clock_arm_timer(0);
    pic_unmask(0);
    log_printf(LOG_DEBUG, "Solo5: TSC %llu Hz, RTC %llu s\n", (unsigned long long)hz,
               (unsigned long long)seconds);
}

solo5_time_t clock_monotonic(void)
{
    uint64_t ticks = rdtsc() - tsc_base;
    return (uint64_t)(((unsigned __int128)ticks * ns_per_tick_q32) >> 32);
}

solo5_time_t clock_wall(void)
{
    return wall_at_base + clock_monotonic();
}

void clock_arm_timer(uint64_t ns)
{
    uint64_t count = PIT_MAX_COUNT;
    if (ns < PIT_MAX_COUNT * NSEC_PER_SEC / PIT_HZ)
        count = (ns * PIT_HZ + NSEC_PER_SEC - 1) / NSEC_PER_SEC;
    if (count == 0)
        count = 1;
    pit_load(PIT_SEL_CH0, PIT_CH0, count);
}
