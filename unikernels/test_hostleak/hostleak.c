/*
 * test_hostleak: a guest that looks for the host (issue 11.3). It reports
 * every value it started with that is not zero and not an address inside
 * its own memory (callee-saved registers and xmm0-15 at solo5_app_main,
 * optionally the ymm upper halves and the FS/GS bases), then on spt scans
 * the host memory around each such value for an environment variable
 * UNIREPO_HOSTLEAK_SECRET=. Host pages are probed without faulting: the
 * allowed timerfd_settime reads 32 bytes at the pointer it is given and
 * fails with EFAULT when they are not mapped.
 *
 * Arguments (any order): "avx" reads the ymm upper halves, "fsgsbase"
 * reads the FS/GS bases with rdfsbase/rdgsbase (the host must enable
 * them), "spt" enables the host memory scan, "control" scans the guest's
 * own boot-info page instead, where the command line holds the marker: the
 * scanner must then find it, which shows the scan works. "sleep" waits
 * 3 s before exiting, so a test can look at the running tender.
 */
#include "testlib.h"

#include "abi/spt_abi.h"

int hostleak_main(const struct solo5_start_info *si);
void hostleak_read_ymm_upper(uint64_t out[32]);
void hostleak_read_fs_gs(uint64_t out[2]);

uint64_t hostleak_gprs[6];
uint64_t hostleak_xmm[32];

static const char *const gpr_names[6] = { "rbx", "rbp", "r12", "r13", "r14", "r15" };
/* Kept reversed in the image, so the guest's own rodata never matches. */
static const char marker_reversed[] = "=TERCES_KAELTSOH_OPERINU";
static char marker[sizeof marker_reversed];

#define PAGE 4096ULL
#define SCAN_PAGES 256 /* on each side of a candidate address */
#define TFD_TIMER_ABSTIME 1
#define SYS_TIMERFD_SETTIME 286
#define EFAULT 14

static uint64_t guest_end;
static unsigned host_values;
static bool secret_found;

static bool has_word(const char *cmdline, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = cmdline; *p != '\0';) {
        while (*p == ' ')
            p++;
        const char *start = p;
        while (*p != '\0' && *p != ' ')
            p++;
        if ((size_t)(p - start) == n && memcmp(start, word, n) == 0)
            return true;
    }
    return false;
}

static void put_hex(uint64_t v)
{
    char buf[19] = "0x";
    for (int i = 0; i < 16; i++)
        buf[2 + i] = "0123456789abcdef"[(v >> (60 - 4 * i)) & 0xf];
    buf[18] = '\0';
    puts_console(buf);
}

static void check_value(const char *where, unsigned index, uint64_t v)
{
    if (v == 0 || v < guest_end)
        return;
    host_values++;
    puts_console("hostleak: ");
    puts_console(where);
    if (index != ~0U) {
        puts_console("[");
        put_u64(index);
        puts_console("]");
    }
    puts_console(" holds host value ");
    put_hex(v);
    puts_console("\n");
}

/* True if the 32 bytes at p are mapped readable (no fault: EFAULT). */
static bool readable(int timerfd, uint64_t p)
{
    long ret;
    register long r10 __asm__("r10") = 0;
    __asm__ __volatile__("syscall"
                         : "=a"(ret)
                         : "a"(SYS_TIMERFD_SETTIME), "D"((long)timerfd),
                           "S"((long)TFD_TIMER_ABSTIME), "d"(p), "r"(r10)
                         : "rcx", "r11", "memory");
    return ret != -EFAULT;
}

/* Page readability, cached (direct-mapped) to keep the probes few. */
#define CACHE_SLOTS 1024
static uint64_t cache_page[CACHE_SLOTS];
static uint8_t cache_state[CACHE_SLOTS]; /* 0 unknown, 1 readable, 2 not */
static int probe_fd;

static bool page_readable(uint64_t addr)
{
    uint64_t page = addr & ~(PAGE - 1);
    unsigned slot = (unsigned)(page / PAGE) % CACHE_SLOTS;
    if (cache_state[slot] == 0 || cache_page[slot] != page) {
        cache_page[slot] = page;
        cache_state[slot] = readable(probe_fd, page) ? 1 : 2;
    }
    return cache_state[slot] == 1;
}

static bool starts_with_marker(uint64_t s)
{
    for (size_t k = 0; k < sizeof marker - 1; k++) {
        if (!page_readable(s + k) || ((const char *)(uintptr_t)s)[k] != marker[k])
            return false;
    }
    return true;
}

static void report_found(const char *s)
{
    secret_found = true;
    char value[96];
    size_t n = 0;
    while (n < sizeof value - 1 && page_readable((uint64_t)(uintptr_t)(s + n)) && s[n] != '\0') {
        value[n] = s[n];
        n++;
    }
    value[n] = '\0';
    puts_console("hostleak: found ");
    puts_console(value);
    puts_console("\n");
}

/* Treats a host qword as libc's environ (char **): an array of pointers to
 * NUL-terminated strings, ending with NULL. */
static void try_environ(uint64_t q)
{
    if (q < guest_end || q >= 0x800000000000ULL || (q & 7) != 0)
        return;
    for (unsigned j = 0; j < 512 && !secret_found; j++) {
        uint64_t at = q + 8ULL * j;
        if (!page_readable(at))
            return;
        uint64_t s = *(const uint64_t *)(uintptr_t)at;
        if (s == 0 || s < guest_end || s >= 0x800000000000ULL)
            return;
        if (starts_with_marker(s))
            report_found((const char *)(uintptr_t)s);
    }
}

static void scan_page(uint64_t page, bool next_readable)
{
    if (page >= guest_end) {
        const uint64_t *q = (const uint64_t *)(uintptr_t)page;
        for (size_t i = 0; i < PAGE / 8 && !secret_found; i++)
            try_environ(q[i]);
        if (secret_found)
            return;
    }
    const char *p = (const char *)(uintptr_t)page;
    size_t limit = PAGE + (next_readable ? sizeof marker - 1 : 0) - (sizeof marker - 1);
    for (size_t i = 0; i < limit; i++) {
        if (p[i] == marker[0] && memcmp(p + i, marker, sizeof marker - 1) == 0) {
            report_found(p + i);
            return;
        }
    }
}

/* Every readable page in [first, last], skipping guest memory unless asked. */
static void scan_pages(uint64_t first, uint64_t last, bool guest_too)
{
    for (uint64_t page = first; page <= last && !secret_found; page += PAGE) {
        if (!guest_too && page < guest_end)
            continue;
        if (page_readable(page))
            scan_page(page, page_readable(page + PAGE));
    }
}

static void scan_around(uint64_t v)
{
    uint64_t base = v & ~(PAGE - 1);
    uint64_t first = base > SCAN_PAGES * PAGE ? base - SCAN_PAGES * PAGE : 0;
    scan_pages(first, base + SCAN_PAGES * PAGE, false);
}

int hostleak_main(const struct solo5_start_info *si)
{
    guest_end = si->heap_start + si->heap_size;
    for (size_t i = 0; i + 1 < sizeof marker_reversed; i++)
        marker[i] = marker_reversed[sizeof marker_reversed - 2 - i];
    uint64_t candidates[6 + 32 + 32 + 2];
    size_t n = 0;
    for (unsigned i = 0; i < 6; i++) {
        check_value(gpr_names[i], ~0U, hostleak_gprs[i]);
        candidates[n++] = hostleak_gprs[i];
    }
    for (unsigned i = 0; i < 32; i++) {
        check_value("xmm qword", i, hostleak_xmm[i]);
        candidates[n++] = hostleak_xmm[i];
    }
    if (has_word(si->cmdline, "avx")) {
        uint64_t upper[32];
        hostleak_read_ymm_upper(upper);
        for (unsigned i = 0; i < 32; i++) {
            check_value("ymm upper qword", i, upper[i]);
            candidates[n++] = upper[i];
        }
    }
    if (has_word(si->cmdline, "fsgsbase")) {
        uint64_t bases[2];
        hostleak_read_fs_gs(bases);
        check_value("fs base", ~0U, bases[0]);
        check_value("gs base", ~0U, bases[1]);
        candidates[n++] = bases[0];
        candidates[n++] = bases[1];
    }
    if (has_word(si->cmdline, "spt") || has_word(si->cmdline, "control")) {
        const struct spt_boot_info *bi = (const void *)(uintptr_t)SPT_BOOT_INFO_BASE;
        probe_fd = bi->timerfd;
        if (has_word(si->cmdline, "control")) /* the tender's copy of the command line */
            scan_pages(SPT_HOST_MEM_BASE, SPT_GUEST_MIN_BASE - PAGE, true);
        for (size_t i = 0; i < n && !secret_found; i++) {
            if (candidates[i] >= guest_end && candidates[i] < 0x800000000000ULL)
                scan_around(candidates[i]);
        }
    }
    if (has_word(si->cmdline, "sleep")) {
        solo5_time_t until = solo5_clock_monotonic() + 3000000000ULL;
        while (solo5_clock_monotonic() < until)
            solo5_yield(until, NULL);
    }
    puts_console("hostleak: ");
    put_u64(host_values);
    puts_console(secret_found ? " host values, secret found\n"
                              : " host values, secret not found\n");
    return SOLO5_EXIT_SUCCESS;
}
