/*
 * The guest's own x86_64 descriptor tables: a GDT with flat code/data and a
 * 64-bit TSS whose IST stacks take every exception, and an IDT routing the
 * 32 architectural exceptions to one fatal handler. hvt has no interrupts,
 * so any vector means a bug: report it on the console and halt with 255.
 * (Intel SDM Vol. 3A §3.4.5 descriptors, §6.14 64-bit IDT, §7.7 64-bit TSS.)
 */
#include "hvt.h"

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18 /* 16-byte descriptor: GDT entries 3 and 4 */
/* User segments (entries 5, 6) are used by traps_x86_64.S with RPL 3. */

/* Descriptor values: flat 64-bit code (L=1), flat read/write data; the
 * user pair is the same with DPL 3. */
#define GDT_DESC_CODE64 0x00AF99000000FFFFULL
#define GDT_DESC_DATA 0x00CF93000000FFFFULL
#define GDT_DESC_USER_CODE64 0x00AFF9000000FFFFULL
#define GDT_DESC_USER_DATA 0x00CFF3000000FFFFULL
#define GDT_TSS_TYPE_AVAILABLE 0x9ULL
#define GDT_PRESENT (1ULL << 47)

#define IDT_GATE_INTERRUPT 0x8E /* P=1, DPL=0, 64-bit interrupt gate */
#define IDT_VECTORS 32

#define IST_TRAP 1
#define IST_DOUBLE_FAULT 2
#define IST_NMI 3
#define IST_STACK_SIZE 4096

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss64) == 104, "64-bit TSS is 104 bytes");

struct table_register {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

static uint64_t gdt[7] __attribute__((aligned(16)));
static struct tss64 tss __attribute__((aligned(16)));
/* 16-byte gates as two quadwords (SDM Vol. 3A Figure 6-8): low = offset
 * 15:0, selector, IST, type/attributes, offset 31:16; high = offset 63:32. */
static uint64_t idt[IDT_VECTORS][2] __attribute__((aligned(16)));
static uint8_t ist_stacks[3][IST_STACK_SIZE] __attribute__((aligned(16)));

/* Entry stubs in traps_x86_64.S: vector v at hvt_trap_stubs + 16 * v;
 * #GP has its own entry that first completes privileged hypercall
 * instructions issued from user mode. */
extern const char hvt_trap_stubs[];
extern const char hvt_gp_entry[];
#define TRAP_STUB_STRIDE 16
#define VECTOR_GP 13

static void gdt_init(void)
{
    uint64_t base = (uint64_t)(uintptr_t)&tss;
    uint64_t limit = sizeof tss - 1;
    gdt[0] = 0;
    gdt[1] = GDT_DESC_CODE64;
    gdt[2] = GDT_DESC_DATA;
    gdt[3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) |
             (GDT_TSS_TYPE_AVAILABLE << 40) | GDT_PRESENT |
             ((limit >> 16 & 0xF) << 48) | ((base >> 24 & 0xFF) << 56);
    gdt[4] = base >> 32;
    gdt[5] = GDT_DESC_USER_CODE64;
    gdt[6] = GDT_DESC_USER_DATA;

    for (int i = 0; i < 3; i++)
        tss.ist[i] = (uint64_t)(uintptr_t)&ist_stacks[i][IST_STACK_SIZE];
    tss.iomap_base = sizeof tss;

    struct table_register gdtr = { sizeof gdt - 1, (uint64_t)(uintptr_t)gdt };
    __asm__ __volatile__(
        "lgdt %0\n\t"
        "pushq %1\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movl %2, %%eax\n\t"
        "movl %%eax, %%ds\n\t"
        "movl %%eax, %%es\n\t"
        "movl %%eax, %%ss\n\t"
        "movl %%eax, %%fs\n\t"
        "movl %%eax, %%gs\n\t"
        "movl %3, %%eax\n\t"
        "ltr %%ax"
        :
        : "m"(gdtr), "i"(SEL_CODE), "i"(SEL_DATA), "i"(SEL_TSS)
        : "rax", "memory");
}

/* Fill the IDT from one template: every instruction counts where the
 * host emulates ring-0 code, and this runs on every boot. */
void hvt_idt_fill(void)
{
    uint64_t addr = (uint64_t)(uintptr_t)hvt_trap_stubs;
    uint64_t low = (addr & 0xFFFF) | ((uint64_t)SEL_CODE << 16) |
                   ((uint64_t)IST_TRAP << 32) | ((uint64_t)IDT_GATE_INTERRUPT << 40) |
                   ((addr >> 16 & 0xFFFF) << 48);
    uint64_t high = addr >> 32;
    for (int v = 0; v < IDT_VECTORS; v++) {
        idt[v][0] = low + (uint64_t)v * TRAP_STUB_STRIDE;
        idt[v][1] = high;
    }
    idt[2][0] += (uint64_t)(IST_NMI - IST_TRAP) << 32;
    idt[8][0] += (uint64_t)(IST_DOUBLE_FAULT - IST_TRAP) << 32;
    uint64_t gp = (uint64_t)(uintptr_t)hvt_gp_entry;
    idt[VECTOR_GP][0] = (low & 0x0000FFFFFFFF0000ULL) | (gp & 0xFFFF) | ((gp >> 16 & 0xFFFF) << 48);
    idt[VECTOR_GP][1] = gp >> 32;
}

void hvt_cpu_init(bool defer_idt_fill)
{
    gdt_init();
    if (!defer_idt_fill)
        hvt_idt_fill();
    struct table_register idtr = { sizeof idt - 1, (uint64_t)(uintptr_t)idt };
    __asm__ __volatile__("lidt %0" : : "m"(idtr) : "memory");
}

/* What traps_x86_64.S leaves on the IST stack: 15 saved general registers,
 * then vector and error code, then the CPU's interrupt frame. */
struct trap_regs {
    uint64_t gpr[15];
    uint64_t vector;
    uint64_t ec;
    uint64_t rip;
    uint64_t cs;
    uint64_t rflags;
    uint64_t rsp;
    uint64_t ss;
};

/* The HALT cookie: the trap record a core-dumping tender can use (§3.6). */
static uint64_t trap_cookie[HVT_HALT_COOKIE_MAX / sizeof(uint64_t)];

static const char *const trap_names[IDT_VECTORS] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
    "#DF", "#CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
    "#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
    "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

static size_t append(char *buf, size_t at, size_t cap, const char *s)
{
    while (*s != '\0' && at < cap)
        buf[at++] = *s++;
    return at;
}

static size_t append_hex(char *buf, size_t at, size_t cap, uint64_t value)
{
    static const char digits[] = "0123456789abcdef";
    at = append(buf, at, cap, "0x");
    for (int shift = 60; shift >= 0; shift -= 4)
        if (at < cap)
            buf[at++] = digits[(value >> shift) & 0xF];
    return at;
}

void hvt_trap_handler(const struct trap_regs *regs) __attribute__((noreturn));

void hvt_trap_handler(const struct trap_regs *regs)
{
    uint64_t cr2;
    __asm__ __volatile__("movq %%cr2, %0" : "=r"(cr2));

    char line[200];
    size_t cap = sizeof line, n = 0;
    n = append(line, n, cap, "Solo5: trap: type=");
    n = append(line, n, cap, trap_names[regs->vector % IDT_VECTORS]);
    n = append(line, n, cap, " ec=");
    n = append_hex(line, n, cap, regs->ec);
    n = append(line, n, cap, " rip=");
    n = append_hex(line, n, cap, regs->rip);
    n = append(line, n, cap, " rsp=");
    n = append_hex(line, n, cap, regs->rsp);
    n = append(line, n, cap, " rflags=");
    n = append_hex(line, n, cap, regs->rflags);
    if (regs->vector == 14) {
        n = append(line, n, cap, " cr2=");
        n = append_hex(line, n, cap, cr2);
    }
    n = append(line, n, cap, "\nSolo5: ABORT: fatal trap\n");
    platform_console_write(line, n);

    trap_cookie[0] = cr2;
    trap_cookie[1] = regs->ec;
    trap_cookie[2] = regs->rip;
    trap_cookie[3] = regs->cs;
    trap_cookie[4] = regs->rflags;
    trap_cookie[5] = regs->rsp;
    trap_cookie[6] = regs->ss;
    hvt_halt(SOLO5_EXIT_ABORT, trap_cookie);
}
