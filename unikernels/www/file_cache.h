/* File contents kept in memory after their first request, up to a fixed
 * budget (--cache-mb): a cached file is sent without reading the block
 * device again (one Solo5 call per 512 bytes otherwise). Files that do not
 * fit in what is left of the budget are streamed from the device. The
 * archive is read-only, so a cached copy never goes stale. */
#ifndef WWW_FILE_CACHE_H
#define WWW_FILE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "blk/ustar.h"

struct file_cache {
    struct ustar *site;
    const uint8_t **data; /* per index entry: its bytes, or NULL */
    size_t budget, used;  /* bytes */
};

/* 0, or -1 when the per-entry table (8 bytes per entry) cannot be allocated. */
int file_cache_init(struct file_cache *fc, struct ustar *site, size_t budget);
/* The whole file's bytes, reading them now if they fit the budget; NULL
 * when the file is empty, does not fit, or the read failed. */
const uint8_t *file_cache_get(struct file_cache *fc, const struct ustar_entry *e);

#endif
