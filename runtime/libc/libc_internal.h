/* Shared between the libc's files; not for applications. */
#ifndef LIBC_INTERNAL_H
#define LIBC_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

/* Formats into 128-byte chunks handed to flush; returns the length. */
int libc_vformat_to(void (*flush)(const char *p, size_t n), const char *fmt, va_list ap);

#endif
