/* Freestanding <stdio.h> (C11 7.21): formatted output only. printf and
 * puts write to the Solo5 console. Conversions: d i u x X o c s p %, flags
 * - 0 + space #, width and precision (also *), length hh h l ll z j t. */
#ifndef RT_STDIO_H
#define RT_STDIO_H

#include <stdarg.h>
#include <stddef.h>

int vsnprintf(char *restrict buf, size_t size, const char *restrict fmt, va_list ap);
int snprintf(char *restrict buf, size_t size, const char *restrict fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vprintf(const char *restrict fmt, va_list ap);
int printf(const char *restrict fmt, ...) __attribute__((format(printf, 1, 2)));
int puts(const char *s);

#endif
