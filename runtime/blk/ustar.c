/* The ustar index (see blk/ustar.h): one pass over the headers, a stable
 * sort by name, later duplicates kept, hard links resolved. */
#include "blk/ustar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ustar_header.h"

struct ustar {
    struct blk_device *dev;
    struct ustar_entry *entries; /* sorted by name, names unique */
    size_t count;
    char *names;                 /* every entry's name, NUL-terminated */
};

/* An entry while the archive is scanned: names live in a growing pool. */
struct scanned {
    size_t name_at, name_len;
    size_t link_at, link_len; /* hard links: the target's name */
    uint64_t offset, size, mtime;
    uint32_t mode;
    enum ustar_type type;
    int hardlink;
};

struct scan {
    struct scanned *items;
    size_t count, cap;
    char *pool;
    size_t pool_len, pool_cap;
};

static int grow(void **p, size_t *cap, size_t need, size_t item)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need) {
        if (n > SIZE_MAX / 2 / item)
            return -1;
        n *= 2;
    }
    void *q = realloc(*p, n * item);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int pool_add(struct scan *s, const char *text, size_t len, size_t *at)
{
    if (grow((void **)&s->pool, &s->pool_cap, s->pool_len + len + 1, 1) != 0)
        return -1;
    memcpy(s->pool + s->pool_len, text, len);
    s->pool[s->pool_len + len] = 0;
    *at = s->pool_len;
    s->pool_len += len + 1;
    return 0;
}

static int name_cmp(const char *a, size_t a_len, const char *b, size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c != 0)
        return c;
    return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

static int scanned_cmp(const struct scan *s, size_t a, size_t b)
{
    const struct scanned *x = &s->items[a], *y = &s->items[b];
    return name_cmp(s->pool + x->name_at, x->name_len, s->pool + y->name_at, y->name_len);
}

/* Bottom-up merge sort of order[0..n) (indices into s->items): stable, so
 * duplicates keep archive order. */
static void sort_by_name(const struct scan *s, size_t *order, size_t *tmp, size_t n)
{
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = scanned_cmp(s, order[j], order[i]) < 0 ? order[j++] : order[i++];
            while (i < mid)
                tmp[k++] = order[i++];
            while (j < hi)
                tmp[k++] = order[j++];
        }
        memcpy(order, tmp, n * sizeof(*order));
        if (width > SIZE_MAX / 2)
            break;
    }
}

/* Position of name in order[0..n), or n. */
static size_t find_sorted(const struct scan *s, const size_t *order, size_t n, const char *name,
                          size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct scanned *e = &s->items[order[mid]];
        int c = name_cmp(s->pool + e->name_at, e->name_len, name, len);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return n;
}

static enum ustar_type type_of(uint8_t typeflag)
{
    switch (typeflag) {
    case '0': case '\0': case '7': case '1': return USTAR_FILE;
    case '5': return USTAR_DIR;
    case '2': return USTAR_SYMLINK;
    default: return USTAR_OTHER;
    }
}

/* Bytes of data after the header: POSIX gives none to links, devices,
 * FIFOs and directories whatever their size field says. */
static uint64_t data_size(const struct ustar_header *h)
{
    switch (h->typeflag) {
    case '1': case '2': case '3': case '4': case '5': case '6': return 0;
    default: return h->size;
    }
}

static int read_block_at(struct blk_device *dev, uint64_t at, uint8_t *block, char *error,
                         size_t error_size)
{
    if (blk_read(dev, at, block, USTAR_BLOCK) == 0)
        return 0;
    snprintf(error, error_size, "cannot read the block device at byte %llu",
             (unsigned long long)at);
    return -1;
}

static int scan_archive(struct blk_device *dev, struct scan *s, char *error, size_t error_size)
{
    static const uint64_t block = USTAR_BLOCK;
    uint8_t raw[USTAR_BLOCK] = { 0 };
    struct ustar_view v;
    struct ustar_header h;
    ustar_view_check(&v, raw, sizeof(raw));
    if (dev->capacity < 2 * block) {
        snprintf(error, error_size, "the device (%llu bytes) is too small for a ustar archive",
                 (unsigned long long)dev->capacity);
        return -1;
    }
    uint64_t at = 0;
    for (;;) {
        if (dev->capacity - at < 2 * block) {
            snprintf(error, error_size, "the archive has no end-of-archive blocks before the "
                     "end of the device (%llu bytes): truncated?",
                     (unsigned long long)dev->capacity);
            return -1;
        }
        if (read_block_at(dev, at, raw, error, error_size) != 0)
            return -1;
        if (ustar_view_is_zero(&v)) {
            if (read_block_at(dev, at + block, raw, error, error_size) != 0)
                return -1;
            if (ustar_view_is_zero(&v))
                return 0; /* two zero blocks: the end (POSIX) */
            snprintf(error, error_size, "a single zero block at byte %llu is followed by "
                     "more headers (not a valid archive)", (unsigned long long)at);
            return -1;
        }
        const char *why = NULL;
        if (ustar_header_parse(&v, &h, &why) != 0) {
            snprintf(error, error_size, "invalid ustar header at byte %llu: %s",
                     (unsigned long long)at, why);
            return -1;
        }
        if (h.name_len == 0 && type_of(h.typeflag) != USTAR_DIR) {
            snprintf(error, error_size, "entry at byte %llu names the root but is not a "
                     "directory", (unsigned long long)at);
            return -1;
        }
        uint64_t data_at = at + block;
        uint64_t size = data_size(&h);
        uint64_t padded = (size + block - 1) / block * block; /* size < 8^12: no overflow */
        if (padded > dev->capacity - data_at) {
            snprintf(error, error_size, "entry \"%.64s\" at byte %llu: its %llu bytes run past "
                     "the end of the device (%llu bytes)", h.name, (unsigned long long)at,
                     (unsigned long long)size, (unsigned long long)dev->capacity);
            return -1;
        }
        if (grow((void **)&s->items, &s->cap, s->count + 1, sizeof(*s->items)) != 0)
            goto no_memory;
        struct scanned *e = &s->items[s->count];
        memset(e, 0, sizeof(*e));
        if (pool_add(s, h.name, h.name_len, &e->name_at) != 0)
            goto no_memory;
        e->name_len = h.name_len;
        e->hardlink = h.typeflag == '1';
        if (e->hardlink && pool_add(s, h.link, h.link_len, &e->link_at) != 0)
            goto no_memory;
        e->link_len = h.link_len;
        e->offset = data_at;
        e->size = type_of(h.typeflag) == USTAR_FILE ? size : 0;
        e->mtime = h.mtime;
        e->mode = h.mode;
        e->type = type_of(h.typeflag);
        s->count++;
        at = data_at + padded;
    }
no_memory:
    snprintf(error, error_size, "out of memory indexing entry %zu (give the unikernel more "
             "memory)", s->count + 1);
    return -1;
}

/* Gives every hard link its target's data: the target must be, or lead
 * through links to, a regular file in the final index. */
static int resolve_links(struct scan *s, const size_t *order, size_t n, char *error,
                         size_t error_size)
{
    for (size_t i = 0; i < n; i++) {
        struct scanned *e = &s->items[order[i]];
        if (!e->hardlink)
            continue;
        const struct scanned *target = e;
        for (size_t hops = 0; target->hardlink && hops <= n; hops++) {
            size_t at = find_sorted(s, order, n, s->pool + target->link_at, target->link_len);
            target = at < n ? &s->items[order[at]] : NULL;
            if (!target || target == e)
                break;
        }
        if (!target || target->hardlink || target->type != USTAR_FILE) {
            snprintf(error, error_size, "hard link \"%.64s\" names \"%.64s\", which is not a "
                     "regular file in the archive", s->pool + e->name_at, s->pool + e->link_at);
            return -1;
        }
        e->offset = target->offset;
        e->size = target->size;
    }
    for (size_t i = 0; i < n; i++)
        s->items[order[i]].hardlink = 0;
    return 0;
}

/* The final index: entries in name order, each name once. */
static struct ustar *build_index(const struct scan *s, const size_t *order, size_t n)
{
    size_t names_len = 0;
    for (size_t i = 0; i < n; i++)
        names_len += s->items[order[i]].name_len + 1;
    struct ustar *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->entries = calloc(n ? n : 1, sizeof(*u->entries));
    u->names = malloc(names_len ? names_len : 1);
    if (!u->entries || !u->names) {
        ustar_close(u);
        return NULL;
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const struct scanned *e = &s->items[order[i]];
        struct ustar_entry *out = &u->entries[i];
        memcpy(u->names + at, s->pool + e->name_at, e->name_len + 1);
        out->name = u->names + at;
        out->name_len = e->name_len;
        out->offset = e->offset;
        out->size = e->size;
        out->mtime = e->mtime;
        out->mode = e->mode;
        out->type = e->type;
        at += e->name_len + 1;
    }
    u->count = n;
    return u;
}

struct ustar *ustar_open(struct blk_device *dev, char *error, size_t error_size)
{
    struct scan s;
    struct ustar *u = NULL;
    size_t *order = NULL, *tmp = NULL;
    memset(&s, 0, sizeof(s));
    if (scan_archive(dev, &s, error, error_size) != 0)
        goto out;
    order = malloc((s.count ? s.count : 1) * sizeof(*order));
    tmp = malloc((s.count ? s.count : 1) * sizeof(*tmp));
    if (!order || !tmp) {
        snprintf(error, error_size, "out of memory sorting %zu entries", s.count);
        goto out;
    }
    for (size_t i = 0; i < s.count; i++)
        order[i] = i;
    sort_by_name(&s, order, tmp, s.count);
    /* of equal names the last in the archive wins, as when tar extracts */
    size_t n = 0;
    for (size_t i = 0; i < s.count; i++) {
        if (i + 1 < s.count && scanned_cmp(&s, order[i], order[i + 1]) == 0)
            continue;
        order[n++] = order[i];
    }
    if (resolve_links(&s, order, n, error, error_size) != 0)
        goto out;
    u = build_index(&s, order, n);
    if (!u) {
        snprintf(error, error_size, "out of memory for the index of %zu entries", n);
        goto out;
    }
    u->dev = dev;
out:
    free(order);
    free(tmp);
    free(s.items);
    free(s.pool);
    return u;
}

void ustar_close(struct ustar *u)
{
    if (!u)
        return;
    free(u->entries);
    free(u->names);
    free(u);
}

/* First entry whose name is >= (path, len). */
static size_t lower_bound(const struct ustar *u, const char *path, size_t len)
{
    size_t lo = 0, hi = u->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct ustar_entry *e = &u->entries[mid];
        if (name_cmp(e->name, e->name_len, path, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const struct ustar_entry *ustar_find(const struct ustar *u, const char *path, size_t len)
{
    size_t i = lower_bound(u, path, len);
    if (i < u->count && name_cmp(u->entries[i].name, u->entries[i].name_len, path, len) == 0)
        return &u->entries[i];
    return NULL;
}

int ustar_is_directory(const struct ustar *u, const char *path, size_t len)
{
    if (len == 0)
        return 1;
    const struct ustar_entry *e = ustar_find(u, path, len);
    if (e)
        return e->type == USTAR_DIR;
    /* the names under path/ follow "path/" in name order */
    char prefix[USTAR_PATH_MAX + 1];
    if (len >= sizeof(prefix))
        return 0;
    memcpy(prefix, path, len);
    prefix[len] = '/';
    size_t i = lower_bound(u, prefix, len + 1);
    return i < u->count && u->entries[i].name_len > len
           && memcmp(u->entries[i].name, prefix, len + 1) == 0;
}

size_t ustar_count(const struct ustar *u)
{
    return u->count;
}

const struct ustar_entry *ustar_entry_at(const struct ustar *u, size_t i)
{
    return i < u->count ? &u->entries[i] : NULL;
}

int ustar_read(struct ustar *u, const struct ustar_entry *e, uint64_t offset, uint8_t *buf,
               size_t len)
{
    if (e->type != USTAR_FILE || offset > e->size || len > e->size - offset)
        return -1;
    return blk_read(u->dev, e->offset + offset, buf, len);
}
