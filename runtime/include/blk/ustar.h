/* A read-only index of a ustar archive on a block device: an operator
 * makes the archive with `tar --format=ustar -cf site.tar -C public .`
 * and attaches the file as a Solo5 block device; the unikernel indexes it
 * once at boot and then looks files up by path and reads their bytes.
 *
 *     static struct blk_device dev;
 *     char error[USTAR_ERROR_MAX];
 *     const char *why;
 *     if (blk_device_open_solo5(&dev, "site", &why) != 0) ...
 *     struct ustar *site = ustar_open(&dev, error, sizeof error);
 *     if (!site) { printf("www: site: %s\n", error); return SOLO5_EXIT_FAILURE; }
 *     const struct ustar_entry *e = ustar_find(site, "css/main.css", 12);
 *     if (e && e->type == USTAR_FILE) ustar_read(site, e, 0, buf, e->size);
 *
 * Validation (POSIX.1-2017 pax, "ustar Interchange Format"): magic
 * "ustar\0" version "00"; the header checksum; octal numeric fields; names
 * from prefix + name, normalised (no "./" prefix, no trailing '/') with
 * absolute names and empty, "." or ".." components refused; every entry's
 * data inside the device; the two zero blocks ending the archive. pax
 * extended headers and GNU long names are refused (not ustar). A later
 * entry with the same name replaces an earlier one, as tar extracts. Hard
 * links share their target's data; symbolic links and special files are
 * indexed (USTAR_SYMLINK, USTAR_OTHER) but have no data.
 *
 * Memory: sizeof(struct ustar_entry) + name length + 1 bytes per entry,
 * allocated at ustar_open; nothing afterwards. */
#ifndef BLK_USTAR_H
#define BLK_USTAR_H

#include <stddef.h>
#include <stdint.h>

#include "blk/device.h"

#define USTAR_ERROR_MAX 256

enum ustar_type {
    USTAR_FILE = 1, /* '0', '\0', '7' (contiguous), and hard links ('1') to files */
    USTAR_DIR,      /* '5' */
    USTAR_SYMLINK,  /* '2' */
    USTAR_OTHER     /* devices, FIFOs ('3', '4', '6') and unknown types */
};

struct ustar_entry {
    const char *name;   /* normalised, NUL-terminated; "" is the root directory */
    size_t name_len;
    uint64_t offset;    /* of the data on the device */
    uint64_t size;      /* bytes of data (0 unless USTAR_FILE) */
    uint64_t mtime;     /* seconds since 1970-01-01 UTC */
    uint32_t mode;      /* permission bits */
    enum ustar_type type;
};

struct ustar;

/* Reads and checks every header of the archive on dev and builds the
 * index; NULL with a one-line message in error (what is wrong, at which
 * byte) for an invalid archive, a failed read or no memory. dev must
 * outlive the index. */
struct ustar *ustar_open(struct blk_device *dev, char *error, size_t error_size);
void ustar_close(struct ustar *u);

/* The entry for a normalised path (len bytes, no NUL needed), or NULL. */
const struct ustar_entry *ustar_find(const struct ustar *u, const char *path, size_t len);
/* 1 if path is a directory: a directory entry, or the parent of some
 * entry (archives need not list directories); "" (the root) always is. */
int ustar_is_directory(const struct ustar *u, const char *path, size_t len);
/* Entries sorted by name (bytewise), for i < ustar_count(u). */
size_t ustar_count(const struct ustar *u);
const struct ustar_entry *ustar_entry_at(const struct ustar *u, size_t i);

/* Bytes [offset, offset + len) of a file's data into buf; 0, or -1 if the
 * range is not inside the file or the device read failed. */
int ustar_read(struct ustar *u, const struct ustar_entry *e, uint64_t offset, uint8_t *buf,
               size_t len);

#endif
