/*
 * The spt seccomp allow-list (documented with reasons in docs/solo5.md).
 * Each rule is as narrow as the guest's use allows; devices add rules only
 * for their own fds. The BPF is exported and loaded by hand so that no
 * libc call (free -> brk) runs after the filter is in place (§4.3, #479).
 */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "../common/seccomp_arg.h"
#include "spt.h"

#define ARCH_SET_FS 0x1002 /* asm/prctl.h */
#define BPF_MAX_INSNS 4096

static void add(const struct tender *t, scmp_filter_ctx ctx, int nr, unsigned n,
                const struct scmp_arg_cmp *args)
{
    int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, n, args);
    if (rc != 0)
        tender_die(t, "seccomp rule for syscall %d: %s", nr, strerror(-rc));
}

static void add_rules(const struct tender *t, scmp_filter_ctx ctx, int epollfd, int timerfd)
{
    /* Console. */
    add(t, ctx, SCMP_SYS(write), 1, (struct scmp_arg_cmp[]){ seccomp_arg(0, SCMP_CMP_EQ, 1) });
    /* solo5_exit / abort. */
    add(t, ctx, SCMP_SYS(exit_group), 0, NULL);
    /* The two Solo5 clocks. */
    add(t, ctx, SCMP_SYS(clock_gettime), 1,
        (struct scmp_arg_cmp[]){ seccomp_arg(0, SCMP_CMP_EQ, CLOCK_MONOTONIC) });
    add(t, ctx, SCMP_SYS(clock_gettime), 1,
        (struct scmp_arg_cmp[]){ seccomp_arg(0, SCMP_CMP_EQ, CLOCK_REALTIME) });
    /* solo5_yield: arm the deadline absolutely, then wait. */
    add(t, ctx, SCMP_SYS(timerfd_settime), 2,
        (struct scmp_arg_cmp[]){ seccomp_arg(0, SCMP_CMP_EQ, (scmp_datum_t)timerfd),
                                 seccomp_arg(1, SCMP_CMP_EQ, TFD_TIMER_ABSTIME) });
    add(t, ctx, SCMP_SYS(epoll_pwait), 1,
        (struct scmp_arg_cmp[]){ seccomp_arg(0, SCMP_CMP_EQ, (scmp_datum_t)epollfd) });
    /* solo5_set_tls_base. */
    add(t, ctx, SCMP_SYS(arch_prctl), 1,
        (struct scmp_arg_cmp[]){ seccomp_arg(0, SCMP_CMP_EQ, ARCH_SET_FS) });

    for (uint32_t i = 1; i < t->mft->entries; i++) {
        const struct mft_entry *e = &t->mft->e[i];
        scmp_datum_t fd = (scmp_datum_t)e->b.hostfd;
        if (e->type == MFT_DEV_NET_BASIC) {
            struct scmp_arg_cmp on_fd = seccomp_arg(0, SCMP_CMP_EQ, fd);
            add(t, ctx, SCMP_SYS(read), 1, &on_fd);
            add(t, ctx, SCMP_SYS(write), 1, &on_fd);
        } else if (e->type == MFT_DEV_BLOCK_BASIC) {
            /* Exactly one block, at an offset no further than the last block. */
            scmp_datum_t bs = e->u.block_basic.block_size;
            scmp_datum_t last = e->u.block_basic.capacity - bs;
            struct scmp_arg_cmp io[] = { seccomp_arg(0, SCMP_CMP_EQ, fd),
                                         seccomp_arg(2, SCMP_CMP_EQ, bs),
                                         seccomp_arg(3, SCMP_CMP_LE, last) };
            add(t, ctx, SCMP_SYS(pread64), 3, io);
            add(t, ctx, SCMP_SYS(pwrite64), 3, io);
        }
    }
}

void spt_seccomp_install(const struct tender *t, int epollfd, int timerfd)
{
    static struct sock_filter insns[BPF_MAX_INSNS];

    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (ctx == NULL)
        tender_die(t, "seccomp_init failed");
    add_rules(t, ctx, epollfd, timerfd);

    int memfd = memfd_create("spt-bpf", MFD_CLOEXEC);
    if (memfd < 0)
        tender_die(t, "memfd_create: %s", strerror(errno));
    int rc = seccomp_export_bpf(ctx, memfd);
    if (rc != 0)
        tender_die(t, "seccomp_export_bpf: %s", strerror(-rc));
    seccomp_release(ctx);
    off_t size = lseek(memfd, 0, SEEK_END);
    if (size <= 0 || (size_t)size > sizeof insns || size % (off_t)sizeof insns[0] != 0)
        tender_die(t, "seccomp filter has an unexpected size (%lld bytes)", (long long)size);
    if (pread(memfd, insns, (size_t)size, 0) != size)
        tender_die(t, "cannot read back the seccomp filter");
    close(memfd);

    struct sock_fprog prog = { .len = (unsigned short)(size / (off_t)sizeof insns[0]),
                               .filter = insns };
    fflush(NULL);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        tender_die(t, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        tender_die(t, "installing the seccomp filter: %s", strerror(errno));
}
