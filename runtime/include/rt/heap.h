/* The heap behind malloc/free: first fit over an address-ordered free list
 * with coalescing, 16-byte aligned blocks, a guard word in each header to
 * catch double frees and stray writes (abort). */
#ifndef RT_HEAP_H
#define RT_HEAP_H

#include <stddef.h>

/* Hands [start, start + size) to the allocator; call once before malloc. */
void heap_init(void *start, size_t size);

struct heap_stats {
    size_t total;       /* bytes managed */
    size_t in_use;      /* bytes in allocated blocks, headers included */
    size_t peak;        /* largest in_use seen */
    size_t allocations; /* live allocations */
};
void heap_get_stats(struct heap_stats *out);

#endif
