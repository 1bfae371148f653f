/*
 * The Solo5 public guest API (upstream-compatible: same names, types and
 * values, so applications written against upstream solo5.h compile here).
 * Reference: solo5.md §1.
 *
 * Error policy (§1.1): callers MUST NOT rely on getting SOLO5_R_EINVAL or
 * SOLO5_R_EUNSPEC back; an implementation may abort instead. Functions that
 * do not return solo5_result_t either succeed or abort.
 */
#ifndef SOLO5_H
#define SOLO5_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    SOLO5_R_OK = 0,
    SOLO5_R_AGAIN = 1,
    SOLO5_R_EINVAL = 2,
    SOLO5_R_EUNSPEC = 3
} solo5_result_t;

/* Nanoseconds. */
typedef uint64_t solo5_time_t;
/* A device handle: the device's index in the manifest (entry 0 is reserved). */
typedef uint64_t solo5_handle_t;
/* Bit h is set for every ready handle h, hence at most 64 handles. */
typedef uint64_t solo5_handle_set_t;
/* A byte offset. */
typedef uint64_t solo5_off_t;

/* Start information handed to solo5_app_main: statically allocated, read-only. */
struct solo5_start_info {
    const char *cmdline;
    uintptr_t heap_start; /* one contiguous RW, non-executable region ...  */
    size_t heap_size;     /* ... whose top also holds the initial stack    */
};

/* Provided by the application. Returning is the same as solo5_exit(ret). */
int solo5_app_main(const struct solo5_start_info *info);

/* Exit statuses; values >= 255 are reserved for Solo5. */
#define SOLO5_EXIT_SUCCESS 0
#define SOLO5_EXIT_FAILURE 1
#define SOLO5_EXIT_ABORT 255

/* Terminate with status; on hvt/spt it becomes the tender's exit status. */
void solo5_exit(int status) __attribute__((noreturn));
/* Terminate abnormally with status SOLO5_EXIT_ABORT. */
void solo5_abort(void) __attribute__((noreturn));

/* Thread-local storage for a single thread of execution (§1.4). */
size_t solo5_tls_size(void);
uintptr_t solo5_tls_tp_offset(uintptr_t tls);
solo5_result_t solo5_tls_init(uintptr_t tls);
solo5_result_t solo5_set_tls_base(uintptr_t base);

/* Nanoseconds since an unspecified point; never goes backwards. */
solo5_time_t solo5_clock_monotonic(void);
/* UTC nanoseconds since 1970-01-01. */
solo5_time_t solo5_clock_wall(void);

/*
 * Block until monotonic time reaches the absolute deadline, or until at
 * least one network device is ready for input. If ready_set is not NULL,
 * bit h is set in *ready_set for each ready handle h (block devices never
 * appear). A deadline in the past returns promptly.
 */
void solo5_yield(solo5_time_t deadline, solo5_handle_set_t *ready_set);

/* Best effort: always succeeds but may lose data. There is no input. */
void solo5_console_write(const char *buf, size_t size);

#define SOLO5_NET_ALEN 6
#define SOLO5_NET_HLEN 14 /* Ethernet header: destination, source, type */

struct solo5_net_info {
    uint8_t mac_address[SOLO5_NET_ALEN];
    size_t mtu; /* excludes the Ethernet header */
    /* unirepo extension (docs/net-offload.md): SOLO5_NET_OFFLOAD_* the
     * tender enabled; always 0 for an image that does not define
     * solo5_net_vnet_hdr_reader, on virtio and xen, and under upstream tenders. */
    uint32_t offload;
};

/*
 * Virtio-net header offload (unirepo extension, spt and hvt; docs/net-offload.md).
 * An image that defines the symbol solo5_net_vnet_hdr_reader (any value)
 * asks for it. When granted (SOLO5_NET_OFFLOAD_VNET_TSO4 in info.offload),
 * every frame read or written starts with a 10-byte struct virtio_net_hdr,
 * a frame may be up to SOLO5_NET_VNET_FRAME_MAX bytes (a TCPv4 segment of
 * up to 64 KiB for the host to split or one it merged), and reads need a
 * buffer of at least that size.
 */
#define SOLO5_NET_OFFLOAD_VNET_TSO4 1U
#define SOLO5_NET_VNET_HDR_LEN 10
#define SOLO5_NET_VNET_FRAME_MAX (SOLO5_NET_VNET_HDR_LEN + SOLO5_NET_HLEN + 65535)
extern const uint8_t solo5_net_vnet_hdr_reader;

/* Acquire the NET_BASIC device called name in the manifest. */
solo5_result_t solo5_net_acquire(const char *name, solo5_handle_t *handle,
                                 struct solo5_net_info *info);
/* Send one frame (header included, at most mtu + 14 bytes, or
 * SOLO5_NET_VNET_FRAME_MAX with offload); never blocks. */
solo5_result_t solo5_net_write(solo5_handle_t handle, const uint8_t *buf, size_t size);
/* Receive one frame; size >= mtu + 14 (SOLO5_NET_VNET_FRAME_MAX with
 * offload); SOLO5_R_AGAIN when none is queued. */
solo5_result_t solo5_net_read(solo5_handle_t handle, uint8_t *buf, size_t size,
                              size_t *read_size);

struct solo5_block_info {
    solo5_off_t capacity;   /* bytes */
    solo5_off_t block_size; /* bytes */
};

/* Acquire the BLOCK_BASIC device called name in the manifest. */
solo5_result_t solo5_block_acquire(const char *name, solo5_handle_t *handle,
                                   struct solo5_block_info *info);
/*
 * Synchronous, all-or-nothing I/O at a byte offset. offset and size must be
 * multiples of block_size; every current implementation requires
 * size == block_size.
 */
solo5_result_t solo5_block_write(solo5_handle_t handle, solo5_off_t offset,
                                 const uint8_t *buf, size_t size);
solo5_result_t solo5_block_read(solo5_handle_t handle, solo5_off_t offset,
                                uint8_t *buf, size_t size);

#endif /* SOLO5_H */
