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
 * GDT (../x86_64/cpu.c): flat 64-bit code and data plus a 64-bit TSS whose
 * IST stacks take every exception. IDT: the 32 exceptions go to the shared
 * stubs and fatal handler (../x86_64/traps.S, trap_abort.c) except #GP,
 * which first completes the instructions above; vectors 32-47 are the two 8259 PICs'
 * lines, remapped there (8259A data sheet, ICW1-ICW4) because their power-on
 * vectors overlap the exceptions. Every line starts masked; the NIC drivers
 * and the yield timer unmask the lines they use.
 */
#include "virtio.h"

#define VECTOR_PIC_BASE X86_EXCEPTIONS
#define PIC_LINES 16
#define IDT_VECTORS (X86_EXCEPTIONS + PIC_LINES)

#define IST_TRAP 1
#define IST_DOUBLE_FAULT 2
#define IST_NMI 3
#define IST_IRQ 4
#define IST_STACKS 4

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

static uint64_t gdt[X86_GDT_ENTRIES] __attribute__((aligned(16)));
static struct x86_tss tss __attribute__((aligned(16)));
static uint64_t idt[IDT_VECTORS][2] __attribute__((aligned(16)));
static uint8_t ist_stacks[IST_STACKS][X86_IST_STACK_SIZE] __attribute__((aligned(16)));
static uint16_t pic_mask = 0xFFFF;

/* Devices whose ISR an interrupt reads (at most one per manifest entry). */
static struct {
    uint16_t io_base;
    uint8_t irq;
} irq_devices[MFT_MAX_ENTRIES];
static size_t irq_device_count;

/* traps.S: the PIC lines' entries, and the #GP entry. */
extern const uint64_t cpu_irq_entries[PIC_LINES];
extern const char gp_entry[];

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
    for (int i = 0; i < IST_STACKS; i++)
        tss.ist[i] = (uint64_t)(uintptr_t)&ist_stacks[i][X86_IST_STACK_SIZE];
    x86_gdt_load(gdt, &tss);
    /* Every gate has an IST stack, so no gate needs TSS.RSP0. IRQs have
     * their own: they arrive inside the #GP handler's HLT, on IST_TRAP. */
    for (unsigned v = 0; v < X86_EXCEPTIONS; v++) {
        unsigned ist = IST_TRAP;
        if (v == X86_VECTOR_NMI)
            ist = IST_NMI;
        else if (v == X86_VECTOR_DOUBLE_FAULT)
            ist = IST_DOUBLE_FAULT;
        x86_idt_gate(idt[v], (uint64_t)(uintptr_t)x86_trap_stubs + v * X86_TRAP_STUB_STRIDE, ist);
    }
    for (unsigned line = 0; line < PIC_LINES; line++)
        x86_idt_gate(idt[VECTOR_PIC_BASE + line], cpu_irq_entries[line], IST_IRQ);
    x86_idt_gate(idt[X86_VECTOR_GP], (uint64_t)(uintptr_t)gp_entry, IST_TRAP);
    x86_idt_load(idt, IDT_VECTORS);
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
