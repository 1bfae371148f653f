/*
 * The sandbox entered just before the first KVM_RUN: a seccomp allow-list
 * (libseccomp) with argument checks, so after set-up the tender can only
 * run its vCPU and do I/O on the descriptors it already holds. Anything
 * else kills the process. The filter context is never released: freeing it
 * could call brk/munmap, which the filter itself forbids.
 *
 *   ioctl            KVM_RUN on the vCPU fd only
 *   write            console (stdout), errors (stderr), TAP fds
 *   read             TAP fds
 *   pread64/pwrite64 block device fds
 *   epoll_wait/epoll_pwait  the poll set (glibc may use either)
 *   timerfd_settime  the poll timer
 *   clock_gettime    WALLTIME when the vDSO falls back to the syscall
 *   exit_group       the guest's exit status / fatal errors
 *   rt_sigreturn     return from the SIGINT/SIGTERM handler
 */
#include "hvt.h"
#include "../common/seccomp_arg.h"

#include <linux/kvm.h>
#include <seccomp.h>
#include <string.h>
#include <unistd.h>

static void allow(scmp_filter_ctx ctx, int syscall, unsigned argc,
                  const struct scmp_arg_cmp *args)
{
    int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, syscall, argc, args);
    if (rc < 0)
        hvt_die("seccomp_rule_add: %s", strerror(-rc));
}

static void allow_on_fd(scmp_filter_ctx ctx, int syscall, int fd)
{
    struct scmp_arg_cmp arg = seccomp_arg(0, SCMP_CMP_EQ, (scmp_datum_t)fd);
    allow(ctx, syscall, 1, &arg);
}

void hvt_sandbox(const struct hvt *h)
{
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (ctx == NULL)
        hvt_die("seccomp_init failed");

    struct scmp_arg_cmp run[2] = {
        seccomp_arg(0, SCMP_CMP_EQ, (scmp_datum_t)h->vcpu_fd),
        seccomp_arg(1, SCMP_CMP_EQ, (scmp_datum_t)KVM_RUN),
    };
    allow(ctx, SCMP_SYS(ioctl), 2, run);
    allow_on_fd(ctx, SCMP_SYS(write), STDOUT_FILENO);
    allow_on_fd(ctx, SCMP_SYS(write), STDERR_FILENO);
    for (unsigned i = 0; i < HVT_MAX_DEVICES; i++) {
        const struct hvt_device *dev = &h->dev[i];
        if (dev->kind == HVT_DEV_NET) {
            allow_on_fd(ctx, SCMP_SYS(read), dev->fd);
            allow_on_fd(ctx, SCMP_SYS(write), dev->fd);
        } else if (dev->kind == HVT_DEV_BLOCK) {
            allow_on_fd(ctx, SCMP_SYS(pread64), dev->fd);
            allow_on_fd(ctx, SCMP_SYS(pwrite64), dev->fd);
        }
    }
    allow_on_fd(ctx, SCMP_SYS(epoll_wait), h->epoll_fd);
    allow_on_fd(ctx, SCMP_SYS(epoll_pwait), h->epoll_fd);
    allow_on_fd(ctx, SCMP_SYS(timerfd_settime), h->timer_fd);
    allow(ctx, SCMP_SYS(clock_gettime), 0, NULL);
    allow(ctx, SCMP_SYS(exit_group), 0, NULL);
    allow(ctx, SCMP_SYS(rt_sigreturn), 0, NULL);

    int rc = seccomp_load(ctx);
    if (rc < 0)
        hvt_die("seccomp_load: %s", strerror(-rc));
}
