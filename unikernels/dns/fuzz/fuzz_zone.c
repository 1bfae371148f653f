/* libFuzzer harness: the zone-file parser on arbitrary text, then lookups
 * of every owner in the parsed zone. Sanitizers catch overruns and leaks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "zone.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct dname origin = {
        13, { 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'o', 'r', 'g', 0 } };
    struct zone zone;
    struct zone_error err;
    if (zone_parse((const char *)data, size, &origin, &zone, &err) != 0) {
        if (err.reason[0] == 0)
            abort(); /* every failure says why */
        return 0;
    }
    for (size_t i = 0; i < zone.n_rrs; i++) {
        size_t first, end;
        if (!zone_node(&zone, zone.rrs[i].owner, &first, &end) || i < first || i >= end)
            abort(); /* the sorted array must find every record's node */
        if (!zone_name_exists(&zone, zone.rrs[i].owner))
            abort();
        char text[1100];
        dname_to_text(zone.rrs[i].owner, text, sizeof(text));
    }
    zone_free(&zone);
    return 0;
}
