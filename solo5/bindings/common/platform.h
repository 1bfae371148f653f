/*
 * The per-target hook interface of the guest bindings.
 *
 * How a target plugs in:
 *   - bindings/common/ implements the whole public API (solo5.h), the
 *     start sequence (_start), the manifest lookups, argument checks, the
 *     stack protector, TLS helpers and the exit/abort paths.
 *   - bindings/<target>/ implements exactly the platform_* hooks below and
 *     declares its ABI note with ABI1_NOTE_DECLARE(target, version) from
 *     abi/elf_abi.h. Nothing else is required.
 *   - The recipe (solo5/recipe.py) compiles every bindings/common C file plus every
 *     bindings/<target> .c and .S file, links them with lds/<target>.lds, and
 *     keeps only solo5_*, _start and the stack-protector symbols global.
 *
 * Guarantees the common layer gives the hooks (so targets need not re-check):
 *   - handles passed to net/block hooks are valid manifest indices of an
 *     attached device of the right type;
 *   - buffers lie entirely inside [SOLO5_GUEST_MIN, mem_size) (no overflow),
 *     and buffers the host writes into lie above the read-only segments;
 *   - net writes are at most mtu + 14 bytes, net reads offer at least
 *     mtu + 14 bytes, block I/O is exactly one block, block-aligned and
 *     inside the capacity.
 *
 * Bindings code is freestanding: no libc. Use the helpers in bindings.h.
 */
#ifndef SOLO5_BINDINGS_PLATFORM_H
#define SOLO5_BINDINGS_PLATFORM_H

#include "../../include/solo5.h"
#include "../../include/abi/mft_abi.h"

/* What a target's boot information says; filled by platform_init. */
struct platform_boot {
    uint64_t mem_size;      /* guest memory is [0, mem_size); stack at its top */
    const char *cmdline;    /* NUL-terminated, at most PLATFORM_CMDLINE_SIZE */
    const struct mft *mft;  /* the tender's validated manifest copy */
};

#define PLATFORM_CMDLINE_SIZE 8192

/*
 * Called once from _start, first thing after the stack-protector canary is
 * set, with _start's argument (the boot-info pointer the tender passed).
 * Set up whatever the target needs (CPU tables, clock calibration, ...)
 * and describe memory, command line and manifest in *boot.
 */
void platform_init(void *boot_arg, struct platform_boot *boot);

/* Write to the console; best effort. */
void platform_console_write(const char *buf, size_t size);

/*
 * End the guest with status (0..255). cookie is NULL, or for aborts a
 * target-specific trap record (hvt passes it in the HALT hypercall).
 */
void platform_exit(int status, void *cookie) __attribute__((noreturn));

/* Clocks, in nanoseconds (monotonic: since an unspecified point; wall: UTC). */
solo5_time_t platform_clock_monotonic(void);
solo5_time_t platform_clock_wall(void);

/*
 * Wait until monotonic time >= deadline (absolute) or a NET device is
 * readable; return the set of ready handles (bit h for handle h).
 */
solo5_handle_set_t platform_yield(solo5_time_t deadline);

/* One frame, already checked against the MTU. */
solo5_result_t platform_net_write(solo5_handle_t h, const uint8_t *buf, size_t size);
/* Non-blocking; SOLO5_R_AGAIN when nothing is queued. */
solo5_result_t platform_net_read(solo5_handle_t h, uint8_t *buf, size_t size,
                                 size_t *read_size);

/* Exactly one block at an aligned, in-range byte offset. */
solo5_result_t platform_block_write(solo5_handle_t h, solo5_off_t offset,
                                    const uint8_t *buf, size_t size);
solo5_result_t platform_block_read(solo5_handle_t h, solo5_off_t offset,
                                   uint8_t *buf, size_t size);

/* Set the thread pointer (x86_64: FS base). */
solo5_result_t platform_set_tls_base(uintptr_t base);

#endif /* SOLO5_BINDINGS_PLATFORM_H */
