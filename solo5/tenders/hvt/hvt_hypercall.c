/*
 * Hypercall handlers (solo5.md §3.6, §3.9, §3.10). Each request is copied
 * out of guest memory, acted on, and its results copied back; every guest
 * pointer inside a request is checked by hvt_gpa_read/hvt_gpa_write first,
 * before the handle, so a bad buffer stops the guest whatever the handle.
 */
#include "hvt.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

/* solo5_result_t values (solo5.h, §1.1). */
enum {
    RESULT_OK = 0,
    RESULT_AGAIN = 1,
    RESULT_EINVAL = 2,
};

#define POLL_TIMER_TAG UINT64_MAX
#define NSEC_PER_SEC 1000000000ULL

void hvt_io_init(struct hvt *h)
{
    h->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (h->epoll_fd < 0)
        hvt_die("epoll_create1: %s", strerror(errno));
    h->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (h->timer_fd < 0)
        hvt_die("timerfd_create: %s", strerror(errno));
    struct epoll_event ev = { .events = EPOLLIN, .data.u64 = POLL_TIMER_TAG };
    if (epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, h->timer_fd, &ev) < 0)
        hvt_die("epoll_ctl: %s", strerror(errno));
    for (uint64_t handle = 0; handle < HVT_MAX_DEVICES; handle++) {
        if (h->dev[handle].kind != HVT_DEV_NET)
            continue;
        ev.data.u64 = handle;
        if (epoll_ctl(h->epoll_fd, EPOLL_CTL_ADD, h->dev[handle].fd, &ev) < 0)
            hvt_die("epoll_ctl: %s", strerror(errno));
    }
}

static const struct hvt_device *device(const struct hvt *h, uint64_t handle,
                                       enum hvt_device_kind kind)
{
    if (handle >= HVT_MAX_DEVICES || h->dev[handle].kind != kind)
        return NULL;
    return &h->dev[handle];
}

static void hc_walltime(struct hvt *h, hvt_gpa_t gpa)
{
    void *at = hvt_gpa_write(h, gpa, sizeof(struct hvt_hc_walltime));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct hvt_hc_walltime req = {
        .nsecs = (uint64_t)ts.tv_sec * NSEC_PER_SEC + (uint64_t)ts.tv_nsec,
    };
    memcpy(at, &req, sizeof req);
}

static void hc_puts(struct hvt *h, hvt_gpa_t gpa)
{
    struct hvt_hc_puts req;
    memcpy(&req, hvt_gpa_read(h, gpa, sizeof req), sizeof req);
    const char *data = hvt_gpa_read(h, req.data, req.len);
    /* Best effort, like the console it stands for. */
    size_t done = 0;
    while (done < req.len) {
        ssize_t n = write(STDOUT_FILENO, data + done, req.len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
}

static void hc_poll(struct hvt *h, hvt_gpa_t gpa)
{
    void *at = hvt_gpa_write(h, gpa, sizeof(struct hvt_hc_poll));
    struct hvt_hc_poll req;
    memcpy(&req, at, sizeof req);

    int wait_ms = 0;
    if (req.timeout_nsecs > 0) {
        /* epoll has millisecond resolution; the timerfd gives nanoseconds. */
        struct itimerspec its = {
            .it_value.tv_sec = (time_t)(req.timeout_nsecs / NSEC_PER_SEC),
            .it_value.tv_nsec = (long)(req.timeout_nsecs % NSEC_PER_SEC),
        };
        if (timerfd_settime(h->timer_fd, 0, &its, NULL) < 0)
            hvt_die("timerfd_settime: %s", strerror(errno));
        wait_ms = -1;
    }
    struct epoll_event events[HVT_MAX_DEVICES + 1];
    int n;
    do {
        n = epoll_wait(h->epoll_fd, events, HVT_MAX_DEVICES + 1, wait_ms);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        hvt_die("epoll_wait: %s", strerror(errno));

    req.ready_set = 0;
    req.ret = 0;
    for (int i = 0; i < n; i++) {
        if (events[i].data.u64 == POLL_TIMER_TAG)
            continue;
        req.ready_set |= 1ULL << events[i].data.u64;
        req.ret++;
    }
    memcpy(at, &req, sizeof req);
}

/* Bounds of a block request (§3.10); false means EINVAL for the guest. */
static bool block_range_ok(const struct hvt_device *dev, uint64_t offset,
                           uint64_t len)
{
    return len <= SSIZE_MAX && offset < dev->capacity &&
           len <= dev->capacity - offset;
}

enum block_dir { BLOCK_READ, BLOCK_WRITE };

/* In the tender both block requests are {handle, offset, data, len, ret}
 * of the same types (HVT_GUEST_PTR is an hvt_gpa_t here), so one handler
 * copies either into a block_write request. */
_Static_assert(sizeof(struct hvt_hc_block_read) == sizeof(struct hvt_hc_block_write) &&
                   offsetof(struct hvt_hc_block_read, data) ==
                       offsetof(struct hvt_hc_block_write, data) &&
                   offsetof(struct hvt_hc_block_read, len) ==
                       offsetof(struct hvt_hc_block_write, len) &&
                   offsetof(struct hvt_hc_block_read, ret) ==
                       offsetof(struct hvt_hc_block_write, ret),
               "block read and write requests share one layout");

/* A block read or write (§3.10): the same checks either way. A failed or
 * short transfer within the checked range is the host's fault: fatal. */
static void hc_block(struct hvt *h, hvt_gpa_t gpa, enum block_dir dir)
{
    struct hvt_hc_block_write req;
    void *at = hvt_gpa_write(h, gpa, sizeof req);
    memcpy(&req, at, sizeof req);
    /* The guest's buffer is read from for a write, written to for a read. */
    void *buf = dir == BLOCK_WRITE ? hvt_gpa_read(h, req.data, req.len)
                                   : hvt_gpa_write(h, req.data, req.len);
    const struct hvt_device *dev = device(h, req.handle, HVT_DEV_BLOCK);
    if (dev == NULL || !block_range_ok(dev, req.offset, req.len)) {
        req.ret = RESULT_EINVAL;
    } else {
        ssize_t n = dir == BLOCK_WRITE ? pwrite(dev->fd, buf, req.len, (off_t)req.offset)
                                       : pread(dev->fd, buf, req.len, (off_t)req.offset);
        const char *what = dir == BLOCK_WRITE ? "write" : "read";
        if (n < 0)
            hvt_die("block %s failed: %s", what, strerror(errno));
        if ((size_t)n != req.len)
            hvt_die("block %s failed: short %s", what, what);
        req.ret = RESULT_OK;
    }
    memcpy(at, &req, sizeof req);
}

static void hc_net_write(struct hvt *h, hvt_gpa_t gpa)
{
    void *at = hvt_gpa_write(h, gpa, sizeof(struct hvt_hc_net_write));
    struct hvt_hc_net_write req;
    memcpy(&req, at, sizeof req);
    const void *data = hvt_gpa_read(h, req.data, req.len);
    const struct hvt_device *dev = device(h, req.handle, HVT_DEV_NET);
    if (dev == NULL) {
        req.ret = RESULT_EINVAL;
    } else {
        ssize_t n;
        do {
            n = write(dev->fd, data, req.len);
        } while (n < 0 && errno == EINTR);
        if (n < 0 || (size_t)n != req.len)
            hvt_die("net write failed: %s", n < 0 ? strerror(errno) : "short write");
        req.ret = RESULT_OK;
    }
    memcpy(at, &req, sizeof req);
}

static void hc_net_read(struct hvt *h, hvt_gpa_t gpa)
{
    void *at = hvt_gpa_write(h, gpa, sizeof(struct hvt_hc_net_read));
    struct hvt_hc_net_read req;
    memcpy(&req, at, sizeof req);
    void *data = hvt_gpa_write(h, req.data, req.len);
    const struct hvt_device *dev = device(h, req.handle, HVT_DEV_NET);
    if (dev == NULL) {
        req.ret = RESULT_EINVAL;
    } else {
        ssize_t n;
        do {
            n = read(dev->fd, data, req.len);
        } while (n < 0 && errno == EINTR);
        if (n < 0 && errno != EAGAIN)
            hvt_die("net read failed: %s", strerror(errno));
        if (n <= 0) {
            req.ret = RESULT_AGAIN;
        } else {
            req.len = (size_t)n;
            req.ret = RESULT_OK;
        }
    }
    memcpy(at, &req, sizeof req);
}

static int hc_halt(struct hvt *h, hvt_gpa_t gpa)
{
    struct hvt_hc_halt req;
    memcpy(&req, hvt_gpa_read(h, gpa, sizeof req), sizeof req);
    /* The cookie (trap record) is checked here and used only by --dumpcore. */
    if (req.cookie != 0)
        (void)hvt_gpa_read(h, req.cookie, HVT_HALT_COOKIE_MAX);
    h->halt_cookie = req.cookie;
    return req.exit_status;
}

bool hvt_hypercall(struct hvt *h, unsigned nr, hvt_gpa_t gpa, int *status)
{
    switch (nr) {
    case HVT_HYPERCALL_WALLTIME: hc_walltime(h, gpa); break;
    case HVT_HYPERCALL_PUTS: hc_puts(h, gpa); break;
    case HVT_HYPERCALL_POLL: hc_poll(h, gpa); break;
    case HVT_HYPERCALL_BLOCK_WRITE: hc_block(h, gpa, BLOCK_WRITE); break;
    case HVT_HYPERCALL_BLOCK_READ: hc_block(h, gpa, BLOCK_READ); break;
    case HVT_HYPERCALL_NET_WRITE: hc_net_write(h, gpa); break;
    case HVT_HYPERCALL_NET_READ: hc_net_read(h, gpa); break;
    case HVT_HYPERCALL_HALT:
        *status = hc_halt(h, gpa);
        return true;
    default:
        hvt_die("Invalid guest hypercall: %u", nr);
    }
    return false;
}
