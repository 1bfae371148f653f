/* malloc/free over one region (see rt/heap.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rt/heap.h"

#define ALIGN 16
#define HDR 16                        /* struct block, rounded to ALIGN */
#define MIN_BLOCK 32                  /* header + smallest payload */
#define USED_MAGIC 0x5553454455534544u /* "USEDUSED": header of an allocated block */

struct block {
    size_t size;        /* whole block, header included, multiple of ALIGN */
    struct block *next; /* free: next free block by address; used: USED_MAGIC */
};

_Static_assert(sizeof(struct block) <= HDR, "header fits");

static struct block *free_list;
static struct heap_stats stats;

void heap_init(void *start, size_t size)
{
    uintptr_t begin = ((uintptr_t)start + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1);
    uintptr_t end = ((uintptr_t)start + size) & ~(uintptr_t)(ALIGN - 1);
    free_list = NULL;
    memset(&stats, 0, sizeof(stats));
    if (end <= begin || end - begin < MIN_BLOCK)
        return;
    free_list = (struct block *)begin;
    free_list->size = end - begin;
    free_list->next = NULL;
    stats.total = end - begin;
}

void heap_get_stats(struct heap_stats *out)
{
    *out = stats;
}

void *malloc(size_t n)
{
    if (n == 0)
        n = 1;
    if (n > SIZE_MAX - HDR - ALIGN)
        return NULL;
    size_t need = (n + HDR + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    struct block **pp = &free_list;
    for (struct block *b = free_list; b; pp = &b->next, b = b->next) {
        if (b->size < need)
            continue;
        if (b->size - need >= MIN_BLOCK) {
            struct block *rest = (struct block *)((uint8_t *)b + need);
            rest->size = b->size - need;
            rest->next = b->next;
            *pp = rest;
            b->size = need;
        } else {
            *pp = b->next;
        }
        b->next = (struct block *)(uintptr_t)USED_MAGIC;
        stats.in_use += b->size;
        stats.allocations++;
        if (stats.in_use > stats.peak)
            stats.peak = stats.in_use;
        return (uint8_t *)b + HDR;
    }
    return NULL;
}

static struct block *header_of(void *p)
{
    struct block *b = (struct block *)((uint8_t *)p - HDR);
    if (b->next != (struct block *)(uintptr_t)USED_MAGIC)
        abort(); /* double free, or not from malloc, or a corrupted header */
    return b;
}

void free(void *p)
{
    if (!p)
        return;
    struct block *b = header_of(p);
    stats.in_use -= b->size;
    stats.allocations--;
    struct block *prev = NULL, *next = free_list;
    while (next && next < b) {
        prev = next;
        next = next->next;
    }
    b->next = next;
    if (next && (uint8_t *)b + b->size == (uint8_t *)next) {
        b->size += next->size;
        b->next = next->next;
    }
    if (prev && (uint8_t *)prev + prev->size == (uint8_t *)b) {
        prev->size += b->size;
        prev->next = b->next;
    } else if (prev) {
        prev->next = b;
    } else {
        free_list = b;
    }
}

void *calloc(size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        return NULL;
    void *p = malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *realloc(void *p, size_t size)
{
    if (!p)
        return malloc(size);
    if (size == 0) {
        free(p);
        return NULL;
    }
    struct block *b = header_of(p);
    size_t capacity = b->size - HDR;
    if (size <= capacity)
        return p;
    void *q = malloc(size);
    if (!q)
        return NULL;
    memcpy(q, p, capacity);
    free(p);
    return q;
}
