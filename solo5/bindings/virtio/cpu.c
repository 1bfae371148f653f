/*
 * CPU tables, user mode and the legacy interrupt controller.
 *
 * After boot everything runs at CPL 3 with IOPL 3 and interrupts off
 * (multiboot.S). Why: where KVM emulates the guest's ring 0 instead of
 * running it (this host's kvm-pvm), ring-0 code is slow and cannot run SSE
 * instructions at all, while ring-3 code runs natively; on TCG and hardware
 * KVM, IN/OUT at IOPL 3 cost nothing extra. The few privileged instructions
 * left (HLT, WRMSR to FS base, and IN/OUT where IOPL is not honoured) trap
 * with #GP and are completed in ring 0 (traps.S).
 *
 * GDT: flat 64-bit code and data plus a 64-bit TSS whose IST stacks take
 * every exception (Intel SDM Vol. 3A §3.4.5, §7.7). IDT: the 32
 * exceptions go to one fatal handler; vectors 32-47 are the two 8259 PICs'
 * lines, remapped there (8259A data sheet, ICW1-ICW4) because their power-on
 * vectors overlap the exceptions. Every line starts masked; the NIC drivers
 * and the yield timer unmask the lines they use.
 */
#include "virtio.h"

#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS 0x18 /* 16-byte descriptor: entries 3 and 4 */
/* User code and data are entries 5 and 6 (selectors 0x2B, 0x33 with RPL 3). */

#define GDT_CODE64 0x00AF9A000000FFFFULL
#define GDT_DATA 0x00CF92000000FFFFULL
#define GDT_USER_CODE64 0x00AFFA000000FFFFULL
#define GDT_USER_DATA 0x00CFF2000000FFFFULL
#define GDT_TSS_AVAILABLE (0x9ULL << 40)
#define GDT_PRESENT (1ULL << 47)

#define IDT_INTERRUPT_GATE 0x8EULL /* present, DPL 0, 64-bit interrupt gate */
#define VECTOR_EXCEPTIONS 32
#define VECTOR_PIC_BASE 32
#define PIC_LINES 16
#define IDT_VECTORS (VECTOR_EXCEPTIONS + PIC_LINES)

#define IST_TRAP 1
#define IST_DOUBLE_FAULT 2
#define IST_NMI 3
#define IST_IRQ 4
#define IST_STACKS 4
#define VECTOR_GP 13
#define IST_STACK_SIZE 4096

/* 8259A ports and commands. */
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define PIC_ICW1_INIT_ICW4 0x11
#define PIC_ICW4_8086 0x01
#define PIC_EOI 0x20
#define PIC_CASCADE_LINE 2
/* The local APIC must pass the PIC's INTR on (SDM Vol. 3A §11.5.1,
 * "virtual wire" mode: LINT0 delivers ExtINT, LINT1 NMI). SeaBIOS sets this
 * up, qboot leaves LINT0 masked as at reset, so we set it ourselves. */
#define MSR_APIC_BASE 0x1BU
#define APIC_BASE_MASK 0xFFFFF000U
#define APIC_SVR 0xF0
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_SVR_ENABLE 0x100U
#define APIC_SPURIOUS_VECTOR 0x2FU /* low nibble 0xF; an ignored PIC vector */
#define APIC_DELIVER_EXTINT 0x700U
#define APIC_DELIVER_NMI 0x400U

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
static uint64_t idt[IDT_VECTORS][2] __attribute__((aligned(16)));
static uint8_t ist_stacks[IST_STACKS][IST_STACK_SIZE] __attribute__((aligned(16)));
static uint16_t pic_mask = 0xFFFF;

/* Devices whose ISR an interrupt reads (at most one per manifest entry). */
static struct {
    uint16_t io_base;
    uint8_t irq;
} irq_devices[MFT_MAX_ENTRIES];
static size_t irq_device_count;

extern const uint64_t cpu_vector_entries[IDT_VECTORS];
extern const char gp_entry[];

static void gdt_load(void)
{
    uint64_t base = (uint64_t)(uintptr_t)&tss;
    uint64_t limit = sizeof tss - 1;
    gdt[0] = 0;
    gdt[1] = GDT_CODE64;
    gdt[2] = GDT_DATA;
    gdt[3] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | GDT_TSS_AVAILABLE | GDT_PRESENT |
             ((limit >> 16 & 0xF) << 48) | ((base >> 24 & 0xFF) << 56);
    gdt[4] = base >> 32;
    gdt[5] = GDT_USER_CODE64;
    gdt[6] = GDT_USER_DATA;
    for (int i = 0; i < IST_STACKS; i++)
        tss.ist[i] = (uint64_t)(uintptr_t)&ist_stacks[i][IST_STACK_SIZE];
    tss.iomap_base = sizeof tss;

    struct table_register gdtr = { sizeof gdt - 1, (uint64_t)(uintptr_t)gdt };
    /* The boot GDT used the same selectors, so segment registers stay valid. */
    __asm__ __volatile__("lgdt %0\n\t"
                         "ltr %w1"
                         :
                         : "m"(gdtr), "r"((uint16_t)SEL_TSS)
                         : "memory");
}

/* 16-byte gate (SDM Vol. 3A Figure 6-8). */
static void idt_set(unsigned vector, uint64_t addr, unsigned ist)
{
    idt[vector][0] = (addr & 0xFFFF) | ((uint64_t)SEL_CODE << 16) | ((uint64_t)ist << 32) |
                     (IDT_INTERRUPT_GATE << 40) | ((addr >> 16 & 0xFFFF) << 48);
    idt[vector][1] = addr >> 32;
}

static void pic_write_mask(void)
{
    outb(PIC1_DATA, (uint8_t)pic_mask);
    outb(PIC2_DATA, (uint8_t)(pic_mask >> 8));
}

static void apic_virtual_wire(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(MSR_APIC_BASE));
    /* The APIC page is below 4 GiB, inside the identity map. */
    volatile uint32_t *apic = (volatile uint32_t *)(uintptr_t)(lo & APIC_BASE_MASK);
    apic[APIC_SVR / 4] = APIC_SVR_ENABLE | APIC_SPURIOUS_VECTOR;
    apic[APIC_LVT_LINT0 / 4] = APIC_DELIVER_EXTINT;
    apic[APIC_LVT_LINT1 / 4] = APIC_DELIVER_NMI;
}

static void pic_init(void)
{
    apic_virtual_wire();
    outb(PIC1_CMD, PIC_ICW1_INIT_ICW4);
    outb(PIC2_CMD, PIC_ICW1_INIT_ICW4);
    outb(PIC1_DATA, VECTOR_PIC_BASE);     /* ICW2: vector base */
    outb(PIC2_DATA, VECTOR_PIC_BASE + 8);
    outb(PIC1_DATA, 1 << PIC_CASCADE_LINE); /* ICW3: slave on line 2 */
    outb(PIC2_DATA, PIC_CASCADE_LINE);
    outb(PIC1_DATA, PIC_ICW4_8086);
    outb(PIC2_DATA, PIC_ICW4_8086);
    pic_write_mask();
}

void pic_unmask(unsigned irq)
{
    pic_mask &= (uint16_t)~(1U << irq);
    if (irq >= 8)
        pic_mask &= (uint16_t)~(1U << PIC_CASCADE_LINE);
    pic_write_mask();
}

void cpu_irq_device(uint16_t io_base, uint8_t irq)
{
    if (irq >= PIC_LINES || irq == 0 || irq == PIC_CASCADE_LINE)
        bindings_abort("virtio device at I/O 0x%x has no usable interrupt line (%u)",
                       io_base, irq);
    if (irq_device_count == MFT_MAX_ENTRIES)
        bindings_abort("too many interrupting devices");
    irq_devices[irq_device_count].io_base = io_base;
    irq_devices[irq_device_count].irq = irq;
    irq_device_count++;
    pic_unmask(irq);
}

void cpu_init(void)
{
    gdt_load();
    /* Every gate has an IST stack, so no gate needs TSS.RSP0. IRQs have
     * their own: they arrive inside the #GP handler's HLT, on IST_TRAP. */
    for (unsigned v = 0; v < IDT_VECTORS; v++) {
        unsigned ist = v < VECTOR_EXCEPTIONS ? IST_TRAP : IST_IRQ;
        if (v == 2)
            ist = IST_NMI;
        else if (v == 8)
            ist = IST_DOUBLE_FAULT;
        idt_set(v, cpu_vector_entries[v], ist);
    }
    idt_set(VECTOR_GP, (uint64_t)(uintptr_t)gp_entry, IST_TRAP);
    struct table_register idtr = { sizeof idt - 1, (uint64_t)(uintptr_t)idt };
    __asm__ __volatile__("lidt %0" : : "m"(idtr) : "memory");
    pic_init();
}

void virtio_irq(unsigned irq)
{
    for (size_t i = 0; i < irq_device_count; i++) {
        if (irq_devices[i].irq == irq)
            (void)inb(irq_devices[i].io_base + VIRTIO_PCI_ISR);
    }
    if (irq >= 8)
        outb(PIC2_CMD, PIC_EOI);
    outb(PIC1_CMD, PIC_EOI);
}

void cpu_wait_for_interrupt(void)
{
    /* At CPL 3 this traps; gp_entry runs STI; HLT; CLI in ring 0. STI takes
     * effect after the next instruction, so an interrupt that is already
     * pending wakes the HLT instead of being lost before it. */
    __asm__ __volatile__("hlt" : : : "memory");
}

/* What traps.S leaves on the IST stack. */
struct trap_frame {
    uint64_t gpr[15];
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
    uint64_t cr2;
    __asm__ __volatile__("movq %%cr2, %0" : "=r"(cr2));
    log_printf(LOG_ERROR,
               "Solo5: trap: vector=%llu ec=0x%llx rip=0x%llx rsp=0x%llx rflags=0x%llx"
               " cr2=0x%llx\n",
               (unsigned long long)frame->vector, (unsigned long long)frame->error_code,
               (unsigned long long)frame->rip, (unsigned long long)frame->rsp,
               (unsigned long long)frame->rflags, (unsigned long long)cr2);
    bindings_abort("fatal trap");
}
