#include "zone_load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_zone_file(const struct ustar_entry *e)
{
    static const char suffix[] = ".zone";
    size_t n = sizeof(suffix) - 1;
    return e->type == USTAR_FILE && e->name_len > n
           && memcmp(e->name + e->name_len - n, suffix, n) == 0;
}

static int load_one(struct ustar *archive, const struct ustar_entry *e, struct zone *zone,
                    char *error, size_t error_size)
{
    struct zone_error err;
    struct dname origin;
    if (zone_origin_from_file_name(e->name, &origin, &err) != 0) {
        snprintf(error, error_size, "%s: %s", e->name, err.reason);
        return -1;
    }
    if (e->size > 256u * 1024 * 1024) {
        snprintf(error, error_size, "%s: larger than 256 MiB", e->name);
        return -1;
    }
    char *text = malloc((size_t)e->size + 1);
    if (!text || ustar_read(archive, e, 0, (uint8_t *)text, (size_t)e->size) != 0) {
        free(text);
        snprintf(error, error_size, "%s: %s", e->name, text ? "cannot read" : "out of memory");
        return -1;
    }
    int rc = zone_parse(text, (size_t)e->size, &origin, zone, &err);
    free(text);
    if (rc != 0) {
        if (err.line)
            snprintf(error, error_size, "%s:%u: %s", e->name, err.line, err.reason);
        else
            snprintf(error, error_size, "%s: %s", e->name, err.reason);
        return -1;
    }
    return 0;
}

int zone_load_all(struct ustar *archive, struct zone_set *set, char *error, size_t error_size)
{
    size_t count = ustar_count(archive), wanted = 0;
    for (size_t i = 0; i < count; i++)
        wanted += is_zone_file(ustar_entry_at(archive, i));
    set->n = 0;
    set->zones = NULL;
    if (wanted == 0) {
        snprintf(error, error_size, "no *.zone file in the archive");
        return -1;
    }
    set->zones = calloc(wanted, sizeof(*set->zones));
    if (!set->zones) {
        snprintf(error, error_size, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        const struct ustar_entry *e = ustar_entry_at(archive, i);
        if (!is_zone_file(e))
            continue;
        struct zone *z = &set->zones[set->n];
        if (load_one(archive, e, z, error, error_size) != 0)
            return -1;
        for (size_t k = 0; k < set->n; k++) {
            if (dname_equal(set->zones[k].origin.wire, z->origin.wire)) {
                snprintf(error, error_size, "%s: a second file for the same zone", e->name);
                zone_free(z);
                return -1;
            }
        }
        set->n++;
    }
    return 0;
}
