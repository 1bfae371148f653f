/* Shared helpers for the libFuzzer harnesses. */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Reading every byte a view exposes lets ASan catch any bound the view
 * got wrong. One sink per file: a harness may be linked with helpers
 * that include this header too (fuzz/stack_app.c). */
static volatile uint8_t fuzz_sink;

static inline void fuzz_touch(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc ^= p[i];
    fuzz_sink = acc;
}

/* Splits input into records of [2-byte big-endian length][bytes]; returns
 * the next record or NULL at the end. */
static inline const uint8_t *fuzz_next_record(const uint8_t **data, size_t *size, size_t *len)
{
    if (*size < 2)
        return NULL;
    size_t n = ((size_t)(*data)[0] << 8) | (*data)[1];
    if (n > *size - 2)
        n = *size - 2;
    const uint8_t *rec = *data + 2;
    *data += 2 + n;
    *size -= 2 + n;
    *len = n;
    return rec;
}

/* The input as a NUL-terminated string (a command line), or NULL if out
 * of memory; the caller frees it. */
static inline char *fuzz_cstring(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = 0;
    }
    return text;
}

#endif
