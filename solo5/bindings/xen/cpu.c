/*
 * An IDT routing the 32 exceptions to one fatal handler (SDM Vol. 3A
 * §6.14). The boot GDT (pvh.S) stays: flat code at 0x08, data at 0x10.
 */
#include "xen.h"

#define SEL_CODE 0x08
#define IDT_INTERRUPT_GATE 0x8EULL
#define IDT_VECTORS 32

struct table_register {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

static uint64_t idt[IDT_VECTORS][2] __attribute__((aligned(16)));
extern const uint64_t cpu_trap_entries[IDT_VECTORS];

void cpu_init(void)
{
    for (unsigned v = 0; v < IDT_VECTORS; v++) {
        uint64_t addr = cpu_trap_entries[v];
        idt[v][0] = (addr & 0xFFFF) | ((uint64_t)SEL_CODE << 16) |
                    (IDT_INTERRUPT_GATE << 40) | ((addr >> 16 & 0xFFFF) << 48);
        idt[v][1] = addr >> 32;
    }
    struct table_register idtr = { sizeof idt - 1, (uint64_t)(uintptr_t)idt };
    __asm__ __volatile__("lidt %0" : : "m"(idtr) : "memory");
}

/* What traps.S passes: vector, error code, then the CPU's frame. */
struct trap_frame {
    uint64_t vector;
    uint64_t error_code;
    uint64_t rip;
    uint64_t cs;
    uint64_t rflags;
    uint64_t rsp;
    uint64_t ss;
};

void cpu_trap(const struct trap_frame *frame) __attribute__((noreturn));
void cpu_trap(const struct trap_frame *frame)
{
    log_printf(LOG_ERROR, "Solo5: trap: vector=%llu ec=0x%llx rip=0x%llx rsp=0x%llx\n",
               (unsigned long long)frame->vector, (unsigned long long)frame->error_code,
               (unsigned long long)frame->rip, (unsigned long long)frame->rsp);
    bindings_abort("fatal trap");
}
