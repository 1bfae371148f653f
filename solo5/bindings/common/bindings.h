/*
 * Internal interface of bindings/common: freestanding helpers, logging,
 * guest-memory checks and manifest lookups shared by every target.
 * Targets include this (it includes platform.h).
 */
#ifndef SOLO5_BINDINGS_H
#define SOLO5_BINDINGS_H

#include "platform.h"

/* Lowest guest address an application buffer may use: the image base. */
#define SOLO5_GUEST_MIN 0x100000ULL
#define SOLO5_PAGE_SIZE 0x1000ULL
/* Less free memory than this above the image aborts start-up (§1.2). */
#define SOLO5_MIN_HEAP 0x80000ULL

/* Freestanding string helpers. The compiler may also emit calls to the
 * standard names, so lib.c defines those; the recipe localises them. */
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

/* Log levels, set with --solo5:quiet|error|warn|info|debug. */
enum log_level { LOG_QUIET = 0, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };
extern enum log_level log_level;
/* printf subset: %s %c %d %u %x %p with l/ll/z modifiers, %%. */
void log_printf(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Print "Solo5: ABORT: <message>" and exit with SOLO5_EXIT_ABORT. */
void bindings_abort(const char *fmt, ...)
    __attribute__((noreturn, format(printf, 1, 2)));

/* Guest memory size from the boot info; set once in _start. */
extern uint64_t guest_mem_size;

/* True if [p, p + size) lies inside [SOLO5_GUEST_MIN, guest_mem_size). */
bool guest_range_ok(const void *p, size_t size);
/* True if [p, p + size) is writable guest memory: from the end of the
 * image's read-only segments (_erodata) to guest_mem_size. Checked for
 * every buffer the bindings or the host write into. */
bool guest_writable_ok(const void *p, size_t size);
/* True if s is a NUL-terminated string of at most max_len characters
 * lying entirely in guest memory. */
bool guest_string_ok(const char *s, size_t max_len);

/* The tender's manifest copy; set once in _start. */
extern const struct mft *bindings_mft;
/* Entry h if it is an attached device of the given type, else NULL. */
const struct mft_entry *mft_entry_for_handle(solo5_handle_t h, mft_type_t type);
/* First attached entry with this name and type; its index in *h. */
const struct mft_entry *mft_entry_by_name(const char *name, mft_type_t type,
                                          solo5_handle_t *h);

/* Stack protector set-up, called first in _start. */
void ssp_init(void);

#endif /* SOLO5_BINDINGS_H */
