/* Small helpers shared by the test unikernels (freestanding: no libc). */
#ifndef TESTLIB_H
#define TESTLIB_H

#include <solo5.h>

/* The compiler may emit calls to these for copies and initialisers. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* Console output. */
void puts_console(const char *s);
void put_u64(uint64_t v);
void put_result(const char *label, solo5_result_t r);

/* Parse a decimal number at *s, advancing *s; false if none. */
bool parse_u64(const char **s, uint64_t *out);

#endif /* TESTLIB_H */
