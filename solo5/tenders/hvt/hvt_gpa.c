/*
 * Guest-physical address checks. Every guest pointer and length reaches the
 * host through one of these two functions; a range outside guest RAM stops
 * the tender with "Invalid guest access" (exit 1) before anything is read or
 * written, so the host never touches memory outside the guest's slot.
 */
#include "hvt.h"

static bool range_ok(const struct hvt *h, hvt_gpa_t gpa, uint64_t len,
                     uint64_t lowest)
{
    if (gpa < lowest || gpa > h->mem_size)
        return false;
    return len <= h->mem_size - gpa;
}

/* Readable by the host on the guest's behalf: boot info and above. */
void *hvt_gpa_read(const struct hvt *h, hvt_gpa_t gpa, uint64_t len)
{
    if (len == 0)
        return h->mem + HVT_GUEST_MIN_BASE;
    if (!range_ok(h, gpa, len, HVT_BOOT_INFO_BASE))
        hvt_die("Invalid guest access: read of %llu bytes at GPA 0x%llx "
                "(guest memory is 0x%llx bytes)",
                (unsigned long long)len, (unsigned long long)gpa,
                (unsigned long long)h->mem_size);
    return h->mem + gpa;
}

/*
 * Writable by the host on the guest's behalf: the kernel's RAM from 1 MiB,
 * minus segments the loader made read-only (the host mapping of those is
 * PROT_READ, so writing there would crash the tender).
 */
void *hvt_gpa_write(const struct hvt *h, hvt_gpa_t gpa, uint64_t len)
{
    if (len == 0)
        return h->mem + HVT_GUEST_MIN_BASE;
    bool ok = range_ok(h, gpa, len, HVT_GUEST_MIN_BASE);
    for (unsigned i = 0; ok && i < h->ro_count; i++)
        if (gpa < h->ro[i].end && gpa + len > h->ro[i].start)
            ok = false;
    if (!ok)
        hvt_die("Invalid guest access: write of %llu bytes at GPA 0x%llx "
                "(guest memory is 0x%llx bytes)",
                (unsigned long long)len, (unsigned long long)gpa,
                (unsigned long long)h->mem_size);
    return h->mem + gpa;
}

void hvt_add_ro_range(struct hvt *h, uint64_t start, uint64_t end)
{
    if (h->ro_count == HVT_MAX_RO_RANGES)
        hvt_die("too many read-only segments in the executable");
    h->ro[h->ro_count].start = start;
    h->ro[h->ro_count].end = end;
    h->ro_count++;
}
