/*
 * Host-side unit tests for the hvt tender's pure parts: the page tables
 * and GDT written into guest low memory (exact entries, solo5.md §3.2) and
 * the guest-address checks (hvt_gpa.c) at and around every boundary.
 * Prints one line per check group and exits 0; any mismatch prints
 * "FAIL: ..." and exits 1. hvt_die is replaced so a refused access can be
 * observed instead of ending the process.
 */
#include "../hvt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jmp_buf refused;
static int failures;

void hvt_die(const char *fmt, ...)
{
    (void)fmt;
    longjmp(refused, 1);
}

static void expect_u64(const char *what, uint64_t got, uint64_t want)
{
    if (got != want) {
        printf("FAIL: %s: got 0x%llx, want 0x%llx\n", what, (unsigned long long)got,
               (unsigned long long)want);
        failures++;
    }
}

static uint64_t entry(const uint8_t *mem, uint64_t gpa)
{
    uint64_t v;
    memcpy(&v, mem + gpa, sizeof v);
    return v;
}

/* Number of non-zero 8-byte words in [from, to). */
static unsigned nonzero_words(const uint8_t *mem, uint64_t from, uint64_t to)
{
    unsigned n = 0;
    for (uint64_t gpa = from; gpa < to; gpa += 8)
        n += entry(mem, gpa) != 0;
    return n;
}

/* The tables live below 0x10000, so a 64 KiB buffer is enough even for a
 * 4 GiB guest: the writer must not touch anything above. */
#define LOW_SIZE 0x11000

/* ext: the tender's extensions on (U/S bit 0x4, MMIO window) or off
 * (exactly upstream's tables). */
static void check_page_tables(uint64_t mem_size, bool ext)
{
    uint8_t *mem = calloc(1, LOW_SIZE);
    if (mem == NULL)
        abort();
    hvt_x86_write_page_tables(mem, mem_size,
                              ext ? HVT_FEATURE_USER_MODE | HVT_FEATURE_MMIO_HYPERCALL : 0);
    uint64_t pages_2m = mem_size / HVT_LARGE_PAGE_SIZE;
    uint64_t gib = (pages_2m + 511) / 512;
    uint64_t us = ext ? 4 : 0;

    expect_u64("PML4[0]", entry(mem, HVT_PML4_BASE), 0x3003 | us);
    expect_u64("PML4 others", nonzero_words(mem, HVT_PML4_BASE + 8, HVT_PDPT_BASE), 0);
    for (uint64_t i = 0; i < 4; i++)
        expect_u64("PDPT[i]", entry(mem, HVT_PDPT_BASE + 8 * i),
                   i < gib ? (0x4000 + 0x1000 * i) | 3 | us : 0);
    expect_u64("PDPT[4] -> MMIO PD", entry(mem, HVT_PDPT_BASE + 32), ext ? 0x9007 : 0);
    expect_u64("PDPT entries", nonzero_words(mem, HVT_PDPT_BASE, HVT_PD_BASE), gib + ext);
    expect_u64("MMIO window", entry(mem, 0x9000), ext ? 0x100000087ULL : 0);
    expect_u64("MMIO PD entries", nonzero_words(mem, 0x9000, 0xA000), ext);
    expect_u64("PD[0] -> PT0", entry(mem, HVT_PD_BASE), 0x8003 | us);
    expect_u64("PD[1]", entry(mem, HVT_PD_BASE + 8), pages_2m > 1 ? 0x200083 | us : 0);
    expect_u64("PD[last]", entry(mem, HVT_PD_BASE + 8 * (pages_2m - 1)),
               pages_2m > 1 ? ((pages_2m - 1) * HVT_LARGE_PAGE_SIZE) | 0x83 | us
                            : 0x8003 | us);
    expect_u64("PD entries", nonzero_words(mem, HVT_PD_BASE, HVT_PT0_BASE), pages_2m);
    expect_u64("PT0[0x0f] unmapped", entry(mem, HVT_PT0_BASE + 8 * 0x0f), 0);
    expect_u64("PT0[0x10] boot info RO", entry(mem, HVT_PT0_BASE + 8 * 0x10), 0x10001 | us);
    expect_u64("PT0[0xff] RO", entry(mem, HVT_PT0_BASE + 8 * 0xff), 0xff001 | us);
    expect_u64("PT0[0x100] kernel RW", entry(mem, HVT_PT0_BASE + 8 * 0x100), 0x100003 | us);
    expect_u64("PT0[0x1ff] RW", entry(mem, HVT_PT0_BASE + 8 * 0x1ff), 0x1ff003 | us);
    expect_u64("PT0 entries", nonzero_words(mem, HVT_PT0_BASE, HVT_PT0_BASE + 0x1000),
               0x200 - 0x10);
    expect_u64("nothing above", nonzero_words(mem, 0xA000, LOW_SIZE), 0);
    expect_u64("nothing below PML4", nonzero_words(mem, 0, HVT_PML4_BASE), 0);
    free(mem);
    printf("page tables %llu MiB%s: ok\n", (unsigned long long)(mem_size >> 20),
           ext ? "" : " (upstream)");
}

static void check_gdt(void)
{
    uint8_t *mem = calloc(1, LOW_SIZE);
    if (mem == NULL)
        abort();
    hvt_x86_write_gdt(mem);
    expect_u64("GDT[0]", entry(mem, 0x1000), 0);
    expect_u64("GDT[1] code", entry(mem, 0x1008), 0x00AF99000000FFFFULL);
    expect_u64("GDT[2] data", entry(mem, 0x1010), 0x00CF93000000FFFFULL);
    expect_u64("GDT only", nonzero_words(mem, 0, LOW_SIZE), 2);
    free(mem);
    printf("gdt: ok\n");
}

static bool read_ok(const struct hvt *h, uint64_t gpa, uint64_t len)
{
    if (setjmp(refused) != 0)
        return false;
    uint8_t *p = hvt_gpa_read(h, gpa, len);
    return len == 0 || p == h->mem + gpa;
}

static bool write_ok(const struct hvt *h, uint64_t gpa, uint64_t len)
{
    if (setjmp(refused) != 0)
        return false;
    uint8_t *p = hvt_gpa_write(h, gpa, len);
    return len == 0 || p == h->mem + gpa;
}

static void check_gpa(void)
{
    static struct hvt h;
    h.mem_size = 0x400000;
    h.mem = malloc(h.mem_size);
    if (h.mem == NULL)
        abort();
    hvt_add_ro_range(&h, 0x100000, 0x103000); /* text + rodata */
    const uint64_t end = h.mem_size;
    struct { uint64_t gpa, len; bool read, write; } cases[] = {
        { 0x10000, 56, true, false },        /* boot info: host reads only */
        { 0xffff, 1, false, false },         /* below the boot info */
        { 0, 8, false, false },
        { 0x100000, 8, true, false },        /* read-only segment */
        { 0x102ff8, 16, true, false },       /* straddles the end of it */
        { 0x103000, 8, true, true },         /* first writable page */
        { end - 8, 8, true, true },          /* last 8 bytes */
        { end - 8, 9, false, false },        /* one past the end */
        { end, 1, false, false },
        { end, 0, true, true },              /* empty: nothing touched */
        { 0x103000, UINT64_MAX, false, false }, /* length wraps */
        { UINT64_MAX, 1, false, false },     /* address wraps */
        { UINT64_MAX - 7, 16, false, false },
        { 0x103000, end - 0x103000, true, true },
        { 0x103000, end - 0x103000 + 1, false, false },
        { 0xffffffff, 4, false, false },     /* 32-bit GPA beyond memory */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "read gpa 0x%llx len 0x%llx",
                 (unsigned long long)cases[i].gpa, (unsigned long long)cases[i].len);
        expect_u64(what, read_ok(&h, cases[i].gpa, cases[i].len), cases[i].read);
        what[0] = 'W';
        expect_u64(what, write_ok(&h, cases[i].gpa, cases[i].len), cases[i].write);
    }
    free(h.mem);
    printf("guest address checks: ok\n");
}

int main(void)
{
    for (int ext = 1; ext >= 0; ext--) {
        check_page_tables(2ULL << 20, ext);
        check_page_tables(32ULL << 20, ext);
        check_page_tables(1ULL << 30, ext);
        check_page_tables((1ULL << 30) + (2ULL << 20), ext);
        check_page_tables(4ULL << 30, ext);
    }
    check_gdt();
    check_gpa();
    if (failures != 0) {
        printf("%d failures\n", failures);
        return 1;
    }
    return 0;
}
