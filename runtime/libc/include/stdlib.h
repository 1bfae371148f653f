/* Freestanding <stdlib.h> (C11 7.22): the heap, abort/exit, number parsing. */
#ifndef RT_STDLIB_H
#define RT_STDLIB_H

#include <stddef.h>

void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t size);
void free(void *p);

_Noreturn void abort(void);
_Noreturn void exit(int status);

unsigned long strtoul(const char *s, char **end, int base);
int atoi(const char *s);

#endif
