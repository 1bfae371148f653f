/* The libc's ties to Solo5: console output, termination, start-up. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libc_internal.h"
#include "rt/heap.h"
#include "rt/prng.h"
#include "rt/runtime.h"
#include "solo5.h"

void rt_init(const struct solo5_start_info *si)
{
    size_t size = si->heap_size > RT_STACK_RESERVE ? si->heap_size - RT_STACK_RESERVE : 0;
    heap_init((void *)si->heap_start, size);
    prng_seed(solo5_clock_monotonic());
}

static void console_flush(const char *p, size_t n)
{
    solo5_console_write(p, n);
}

int vprintf(const char *restrict fmt, va_list ap)
{
    return libc_vformat_to(console_flush, fmt, ap);
}

int printf(const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s)
{
    size_t n = strlen(s);
    solo5_console_write(s, n);
    solo5_console_write("\n", 1);
    return (int)n + 1;
}

_Noreturn void abort(void)
{
    static const char msg[] = "abort() called\n";
    solo5_console_write(msg, sizeof(msg) - 1);
    solo5_abort();
}

_Noreturn void exit(int status)
{
    solo5_exit(status);
}

_Noreturn void rt_assert_fail(const char *expr, const char *file, int line)
{
    printf("assertion failed: %s (%s:%d)\n", expr, file, line);
    solo5_abort();
}
