/* Manifest lookups and guest-memory checks. The tender validated the
 * manifest (entries <= 64, names NUL-terminated) before starting us. */
#include "bindings.h"

const struct mft *bindings_mft;
uint64_t guest_mem_size;

bool guest_range_ok(const void *p, size_t size)
{
    uintptr_t start = (uintptr_t)p;
    if (start < SOLO5_GUEST_MIN || start > guest_mem_size)
        return false;
    return size <= guest_mem_size - start;
}

extern const char _erodata[];

bool guest_writable_ok(const void *p, size_t size)
{
    return guest_range_ok(p, size) && (uintptr_t)p >= (uintptr_t)_erodata;
}

bool guest_string_ok(const char *s, size_t max_len)
{
    uintptr_t start = (uintptr_t)s;
    if (start < SOLO5_GUEST_MIN || start >= guest_mem_size)
        return false;
    uint64_t room = guest_mem_size - start;
    for (size_t i = 0; i <= max_len && i < room; i++) {
        if (s[i] == '\0')
            return true;
    }
    return false;
}

const struct mft_entry *mft_entry_for_handle(solo5_handle_t h, mft_type_t type)
{
    if (h == 0 || h >= bindings_mft->entries)
        return NULL;
    const struct mft_entry *e = &bindings_mft->e[h];
    if (e->type != type || !e->attached)
        return NULL;
    return e;
}

const struct mft_entry *mft_entry_by_name(const char *name, mft_type_t type,
                                          solo5_handle_t *h)
{
    size_t len = strlen(name);
    for (uint32_t i = 1; i < bindings_mft->entries; i++) {
        const struct mft_entry *e = &bindings_mft->e[i];
        if (e->type == type && e->attached && memcmp(e->name, name, len + 1) == 0) {
            *h = i;
            return e;
        }
    }
    return NULL;
}
