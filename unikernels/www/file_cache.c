/* The file cache (see file_cache.h). */
#include "file_cache.h"

#include <stdlib.h>

int file_cache_init(struct file_cache *fc, struct ustar *site, size_t budget)
{
    size_t n = ustar_count(site);
    fc->site = site;
    fc->budget = budget;
    fc->used = 0;
    fc->data = calloc(n ? n : 1, sizeof(*fc->data));
    return fc->data ? 0 : -1;
}

const uint8_t *file_cache_get(struct file_cache *fc, const struct ustar_entry *e)
{
    size_t i = (size_t)(e - ustar_entry_at(fc->site, 0));
    if (fc->data[i])
        return fc->data[i];
    if (e->type != USTAR_FILE || e->size == 0 || e->size > fc->budget - fc->used)
        return NULL;
    uint8_t *copy = malloc((size_t)e->size);
    if (!copy)
        return NULL;
    if (ustar_read(fc->site, e, 0, copy, (size_t)e->size) != 0) {
        free(copy);
        return NULL;
    }
    fc->used += (size_t)e->size;
    fc->data[i] = copy;
    return copy;
}
