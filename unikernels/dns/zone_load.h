/* The zones served: every "*.zone" file of the ustar archive on the block
 * device "zones", parsed at boot. */
#ifndef DNS_ZONE_LOAD_H
#define DNS_ZONE_LOAD_H

#include <stddef.h>

#include "blk/ustar.h"
#include "zone.h"

#define ZONE_LOAD_ERROR_MAX 320

/* 0, or -1 with "FILE:LINE: reason" (or "FILE: reason") in error. The
 * zones' names are the files' names less ".zone"; subdirectories are
 * allowed; other files are ignored. */
int zone_load_all(struct ustar *archive, struct zone_set *set, char *error, size_t error_size);

#endif
