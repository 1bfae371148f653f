/*
 * Values of the tenders' command-line options, parsed with upstream
 * Solo5's syntax and limits (reference: solo5.md §2.9, §1.8, §1.9, §3.10).
 * Pure functions: each returns NULL on success or a static one-line reason
 * that the caller prints after the option itself.
 */
#ifndef SOLO5_TENDER_OPTIONS_H
#define SOLO5_TENDER_OPTIONS_H

#include <stdint.h>

/* --mem=MB: a decimal number of MiB, at most max_mib (the caller rounds it
 * to the target's granularity, 0 becoming one unit, as upstream does). */
const char *option_parse_mib(const char *value, uint64_t max_mib, uint64_t *mib);

/* --block-sector-size:NAME=N: a power of two, at least 512 (§1.9), and at
 * most 32768 because the manifest's block_size field is 16 bits (§2.3). */
#define OPTION_SECTOR_MIN 512U
#define OPTION_SECTOR_MAX 32768U
const char *option_parse_sector_size(const char *value, uint16_t *size);

/* --net-mac:NAME=MAC: six hex byte pairs separated by ':' (§1.8). */
const char *option_parse_mac(const char *value, uint8_t mac[6]);

#endif /* SOLO5_TENDER_OPTIONS_H */
