/* Differential test of the freestanding libc: its functions (renamed rt_*
 * by objcopy) against glibc's, on the host. Prints one line per failed
 * case and "libc: N cases, M failures" at the end; exits 1 on failure. */
#define _DEFAULT_SOURCE
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct heap_stats {
    size_t total, in_use, peak, allocations;
};

int rt_snprintf(char *buf, size_t size, const char *fmt, ...);
void *rt_memcpy(void *dst, const void *src, size_t n);
void *rt_memmove(void *dst, const void *src, size_t n);
void *rt_memset(void *dst, int c, size_t n);
int rt_memcmp(const void *a, const void *b, size_t n);
size_t rt_strlen(const char *s);
int rt_strcmp(const char *a, const char *b);
int rt_strncmp(const char *a, const char *b, size_t n);
char *rt_strchr(const char *s, int c);
char *rt_strrchr(const char *s, int c);
unsigned long rt_strtoul(const char *s, char **end, int base);
void rt_heap_init(void *start, size_t size);
void rt_heap_get_stats(struct heap_stats *out);
void *rt_malloc(size_t n);
void *rt_calloc(size_t n, size_t size);
void *rt_realloc(void *p, size_t n);
void rt_free(void *p);
void rt_prng_seed(uint64_t seed);
uint64_t rt_prng_next(void);
uint32_t rt_prng_below(uint32_t bound);

/* The libc calls abort() on heap corruption; renamed, it lands here. */
void rt_abort(void);
void rt_abort(void)
{
    abort();
}

static int cases, failures;

static void check(int ok, const char *what)
{
    cases++;
    if (!ok) {
        failures++;
        printf("FAIL %s\n", what);
    }
}

#define FORMAT_CASE(...)                                                        \
    do {                                                                        \
        char want[256], got[256];                                               \
        memset(got, 'Z', sizeof(got));                                          \
        int wn = snprintf(want, sizeof(want), __VA_ARGS__);                     \
        int gn = rt_snprintf(got, sizeof(got), __VA_ARGS__);                    \
        cases++;                                                                \
        if (wn != gn || strcmp(want, got) != 0) {                               \
            failures++;                                                         \
            printf("FAIL format %s: want [%s] %d got [%s] %d\n", #__VA_ARGS__, want, wn, \
                   got, gn);                                                    \
        }                                                                       \
    } while (0)

static void test_format(void)
{
    FORMAT_CASE("plain");
    FORMAT_CASE("%d %i %u", -42, 0, 4000000000u);
    FORMAT_CASE("%5d|%-5d|%05d|%+d|% d", 42, 42, -42, 7, 7);
    FORMAT_CASE("%x %X %#x %#o %o", 0xbeefu, 0xbeefu, 255u, 8u, 0u);
    FORMAT_CASE("%.3d %.0d %8.3d %-8.3x|", 5, 0, -5, 10u);
    FORMAT_CASE("%ld %lu %lld %llu", -1L, 123456789UL, (long long)INT64_MIN,
                (unsigned long long)UINT64_MAX);
    FORMAT_CASE("%hhd %hhu %hd %hu", 300, 300, 70000, 70000);
    FORMAT_CASE("%zu %zd %jd %td", (size_t)99, (ssize_t)-3, (intmax_t)-9, (ptrdiff_t)-1);
    FORMAT_CASE("%s|%10s|%-10s|%.2s|%*s|%-*s|", "abc", "abc", "abc", "abc", 4, "x", 4, "y");
    FORMAT_CASE("%c%c%3c%-3c|", 'a', 'b', 'c', 'd');
    FORMAT_CASE("%p", (void *)0x1234);
    FORMAT_CASE("100%%");
    FORMAT_CASE("%*d %.*d", -6, 1, 3, 2);
    FORMAT_CASE("%02x:%02x:%02x", 2, 0, 255);

    char small[5];
    int n = rt_snprintf(small, sizeof(small), "%s", "truncated");
    check(n == 9 && strcmp(small, "trun") == 0, "snprintf truncates and counts");
    check(rt_snprintf(NULL, 0, "%d", 12345) == 5, "snprintf size 0");
}

static void test_memory(void)
{
    unsigned char a[64], b[64];
    for (int i = 0; i < 64; i++)
        a[i] = (unsigned char)(i * 7);
    for (size_t off = 0; off < 8; off++) {
        for (size_t len = 0; len < 40; len++) {
            memset(b, 0, sizeof(b));
            rt_memcpy(b + off, a + (7 - off), len);
            check(memcmp(b + off, a + (7 - off), len) == 0, "memcpy copies");
            check(b[off + len] == 0, "memcpy stays in bounds");
        }
    }
    memcpy(b, a, 64);
    rt_memmove(b + 3, b, 40);
    check(memcmp(b + 3, a, 40) == 0, "memmove forward overlap");
    memcpy(b, a, 64);
    rt_memmove(b, b + 5, 40);
    check(memcmp(b, a + 5, 40) == 0, "memmove backward overlap");
    rt_memset(b, 0xab, 10);
    check(b[0] == 0xab && b[9] == 0xab && b[10] != 0xab, "memset");
    check(rt_memcmp("abc", "abd", 3) < 0 && rt_memcmp("abd", "abc", 3) > 0 &&
              rt_memcmp("abc", "abc", 3) == 0 && rt_memcmp("\x80", "\x01", 1) > 0,
          "memcmp is unsigned");
    check(rt_strlen("") == 0 && rt_strlen("hello") == 5, "strlen");
    check(rt_strcmp("a", "b") < 0 && rt_strcmp("b", "a") > 0 && rt_strcmp("x", "x") == 0 &&
              rt_strcmp("ab", "a") > 0,
          "strcmp");
    check(rt_strncmp("abcX", "abcY", 3) == 0 && rt_strncmp("abcX", "abcY", 4) < 0, "strncmp");
    const char *s = "a.b.c";
    check(rt_strchr(s, '.') == s + 1 && rt_strrchr(s, '.') == s + 3 && rt_strchr(s, 0) == s + 5 &&
              rt_strchr(s, 'z') == NULL,
          "strchr/strrchr");
    const char *nums[] = {"0", "42", "  17x", "0x1F", "-3", "99999999999999999999999", "", "z"};
    int bases[] = {10, 10, 10, 16, 10, 10, 10, 10};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        char *we, *ge;
        unsigned long want = strtoul(nums[i], &we, bases[i]);
        unsigned long got = rt_strtoul(nums[i], &ge, bases[i]);
        check(want == got && we == ge, nums[i]);
    }
}

static void test_heap(void)
{
    static _Alignas(16) unsigned char arena[1 << 20];
    rt_heap_init(arena, sizeof(arena));
    struct heap_stats st;
    rt_heap_get_stats(&st);
    check(st.total == sizeof(arena) && st.in_use == 0, "heap starts empty");
    /* Random allocations and frees, each block filled with its own pattern
     * and checked before it is freed: overlaps would corrupt patterns. */
    enum { SLOTS = 256 };
    unsigned char *p[SLOTS] = {0};
    size_t len[SLOTS] = {0};
    rt_prng_seed(42);
    int corrupt = 0, misaligned = 0;
    for (int round = 0; round < 20000; round++) {
        size_t i = rt_prng_below(SLOTS);
        if (p[i]) {
            for (size_t k = 0; k < len[i]; k++)
                if (p[i][k] != (unsigned char)(i + k))
                    corrupt = 1;
            if (rt_prng_below(4) == 0) {
                size_t nl = rt_prng_below(3000) + 1;
                unsigned char *q = rt_realloc(p[i], nl);
                if (q) {
                    size_t keep = nl < len[i] ? nl : len[i];
                    for (size_t k = 0; k < keep; k++)
                        if (q[k] != (unsigned char)(i + k))
                            corrupt = 1;
                    for (size_t k = 0; k < nl; k++)
                        q[k] = (unsigned char)(i + k);
                    p[i] = q;
                    len[i] = nl;
                }
                continue;
            }
            rt_free(p[i]);
            p[i] = NULL;
        } else {
            len[i] = rt_prng_below(3000) + 1;
            p[i] = rt_prng_below(8) == 0 ? rt_calloc(1, len[i]) : rt_malloc(len[i]);
            if (!p[i])
                continue;
            if ((uintptr_t)p[i] % 16)
                misaligned = 1;
            for (size_t k = 0; k < len[i]; k++)
                p[i][k] = (unsigned char)(i + k);
        }
    }
    check(!corrupt, "heap blocks never overlap");
    check(!misaligned, "heap blocks are 16-byte aligned");
    for (size_t i = 0; i < SLOTS; i++)
        rt_free(p[i]);
    rt_heap_get_stats(&st);
    check(st.in_use == 0 && st.allocations == 0, "everything freed");
    /* Fully coalesced again: one allocation of nearly everything succeeds. */
    void *big = rt_malloc(sizeof(arena) - 64);
    check(big != NULL, "free blocks coalesce");
    rt_free(big);
    check(rt_malloc(sizeof(arena)) == NULL, "out of memory gives NULL");
    check(rt_calloc(SIZE_MAX / 2, 4) == NULL, "calloc overflow gives NULL");
}

static void test_prng(void)
{
    rt_prng_seed(7);
    uint64_t a = rt_prng_next(), b = rt_prng_next();
    rt_prng_seed(7);
    check(rt_prng_next() == a && rt_prng_next() == b && a != b, "prng is deterministic");
    /* splitmix64 reference values for seed 0 (published test vector). */
    rt_prng_seed(0);
    check(rt_prng_next() == 0xe220a8397b1dcdafu, "splitmix64 vector 1");
    check(rt_prng_next() == 0x6e789e6aa1b965f4u, "splitmix64 vector 2");
    unsigned counts[6] = {0};
    for (int i = 0; i < 60000; i++)
        counts[rt_prng_below(6)]++;
    int even = 1;
    for (int i = 0; i < 6; i++)
        if (counts[i] < 9000 || counts[i] > 11000)
            even = 0;
    check(even, "prng_below is uniform");
}

int main(void)
{
    test_format();
    test_memory();
    test_heap();
    test_prng();
    printf("libc: %d cases, %d failures\n", cases, failures);
    return failures ? 1 : 0;
}
