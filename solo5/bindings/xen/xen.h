/*
 * xen (PVH) guest bindings: internal interface between the entry (pvh.S),
 * early boot (boot.c), hypercalls (hypercall.c), the PV console
 * (console.c), the clocks (clock.c), the IDT (cpu.c; stubs in ../x86_64/) and
 * the platform hooks (platform.c). Layouts are Xen's public ABI headers
 * (xen/include/public/: xen.h, hvm/start_info.h, hvm/params.h, hvm/hvm_op.h,
 * sched.h, event_channel.h, memory.h, io/console.h) for x86_64.
 *
 * The first 4 GiB are identity-mapped, so guest-physical addresses are
 * pointers. Booting needs a Xen hypervisor, which this project's hosts do
 * not have: the target is build-only here (docs/solo5.md, "xen").
 */
#ifndef SOLO5_BINDINGS_XEN_H
#define SOLO5_BINDINGS_XEN_H

#include "../common/bindings.h"
#include "../x86_64/boot32.h"
#include "../x86_64/cpu.h"

/* Hypercall numbers (public/xen.h). */
#define HYPERVISOR_memory_op 12
#define HYPERVISOR_event_channel_op 32
#define HYPERVISOR_sched_op 29
#define HYPERVISOR_hvm_op 34

/* Find Xen by CPUID and have it fill the hypercall page; false if absent. */
bool hypercall_init(void);
long hypercall2(unsigned nr, uint64_t a1, uint64_t a2);

/* Read an HVM parameter of this domain (HVMOP_get_param); aborts on error. */
uint64_t hvm_get_param(uint32_t index);

/* PV console ring (public/io/console.h), set up from the HVM parameters. */
void console_init(void);
void console_write(const char *buf, size_t size);

/* Time from the shared-info page's vcpu_time_info (pvclock) and wall clock. */
void clock_init(void);
solo5_time_t clock_monotonic(void);
solo5_time_t clock_wall(void);

/* GDT and a fatal-trap IDT. */
void cpu_init(void);

/* SCHEDOP_shutdown: the domain stops with this reason. */
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_crash 3
void xen_shutdown(unsigned reason) __attribute__((noreturn));

#endif /* SOLO5_BINDINGS_XEN_H */
