/*
 * hvt guest bindings: internal interface between the CPU tables/traps
 * (cpu_x86_64.c, traps_x86_64.S), the TSC clock (tsc.c) and the platform
 * hooks (platform.c).
 */
#ifndef SOLO5_BINDINGS_HVT_H
#define SOLO5_BINDINGS_HVT_H

#include "../../include/abi/hvt_abi.h"
#include "../common/platform.h"

/*
 * Load our own GDT, TSS (with IST stacks) and IDT with fatal trap gates.
 * With defer_idt_fill the IDT is loaded empty and the caller fills it with
 * hvt_idt_fill() once in user mode, where the host may run it natively
 * (the table is ordinary memory; only lidt needs ring 0). Nothing between
 * the two may fault.
 */
void hvt_cpu_init(bool defer_idt_fill);
void hvt_idt_fill(void);
/* Return to the caller at CPL 3 (needs HVT_FEATURE_USER_MODE page tables). */
void hvt_cpu_enter_user(void);
/* Non-zero once a user-mode outl trapped (set by the #GP entry). */
extern volatile uint8_t hvt_outl_traps;

/* Calibrate the monotonic clock from the tender-supplied TSC frequency. */
void hvt_tsc_init(uint64_t tsc_hz);
solo5_time_t hvt_tsc_monotonic(void);

/* Halt with exit status; cookie is NULL or a trap record of at least
 * HVT_HALT_COOKIE_MAX bytes. */
void hvt_halt(int status, void *cookie) __attribute__((noreturn));

#endif /* SOLO5_BINDINGS_HVT_H */
