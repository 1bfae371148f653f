/*
 * solo5-spt: runs a Solo5 spt image inside this process, confined by a
 * seccomp allow-list (reference: solo5.md §4). spt_main.c sets up memory,
 * devices and boot info; spt_seccomp.c builds and installs the filter;
 * spt_launch.c enters the guest.
 */
#ifndef SOLO5_SPT_H
#define SOLO5_SPT_H

#include <stdint.h>

#include "../common/tender.h"

/* Install the allow-list for this guest (devices from t->mft). Exits 1 on
 * failure. After this returns only the guest's syscalls are allowed. */
void spt_seccomp_install(const struct tender *t, int epollfd, int timerfd);

/* Before the filter: prepare the guest's initial register state and clear
 * the GS base (the filter allows only ARCH_SET_FS). Exits 1 on failure. */
void spt_launch_prepare(const struct tender *t);

/* Jump to entry with the stack at sp, boot_info in the first argument
 * register, FS base 0 and no other host value in any register (see
 * spt_launch.c). Never returns. */
void spt_launch(uint64_t entry, uint64_t sp, uint64_t boot_info) __attribute__((noreturn));

#endif /* SOLO5_SPT_H */
