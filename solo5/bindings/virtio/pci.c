/*
 * PCI configuration space through configuration mechanism #1 (PCI Local
 * Bus Specification 3.0 §3.2.2.3.2): write the address to 0xCF8, access
 * the dword at 0xCFC. Only bus 0 and function 0 of each device are
 * examined: virtio devices are single-function, the launcher puts them on
 * the root bus, and every configuration access is a VM exit, so walking all
 * 256 buses (8192 probes) would cost real boot time under KVM.
 */
#include "virtio.h"

#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define PCI_ENABLE (1U << 31)
#define PCI_VENDOR_ID 0x00      /* vendor in bits 15:0, device in 31:16 */
#define PCI_COMMAND 0x04
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM 0x2C      /* subsystem vendor 15:0, subsystem 31:16 */
#define PCI_INTERRUPT_LINE 0x3C /* line in bits 7:0, pin (1 = INTA) in 15:8 */
/* The PIIX3 PCI-to-ISA bridge (Intel 82371SB data sheet §2.2.8): PIRQRC[A:D]
 * at 0x60-0x63 route the four PCI interrupt wires to ISA IRQs (bit 7 set:
 * not routed). On QEMU's i440fx machine, INTx# of slot s is wire
 * (s - 1 + x) mod 4. The firmware's interrupt-line value is not always
 * that routing (qboot's is not), so where the bridge is there we ask it. */
#define PIIX3_ID 0x70008086U
#define PIIX3_SLOT 1
#define PIIX3_PIRQ_ROUTE 0x60
#define PIIX3_PIRQ_DISABLED 0x80
#define PCI_COMMAND_IO 0x1
#define PCI_COMMAND_MASTER 0x4
#define PCI_BAR_IO 0x1
/* virtio 1.0 §4.1.2: vendor 0x1AF4; transitional devices are 0x1000-0x103F
 * and their subsystem ID is the virtio device type. */
/* Where we place I/O BARs that the firmware left unassigned (qboot does
 * not assign them): the PC's usual PCI I/O window, above the ISA ports. */
#define PCI_IO_WINDOW_START 0xC000U
#define PCI_IO_WINDOW_END 0x10000U
#define VIRTIO_PCI_VENDOR 0x1AF4
#define VIRTIO_PCI_LEGACY_FIRST 0x1000
#define VIRTIO_PCI_LEGACY_LAST 0x103F

static uint32_t pci_read(uint8_t bus, uint8_t slot, uint8_t reg)
{
    outl(PCI_CONFIG_ADDRESS, PCI_ENABLE | (uint32_t)bus << 16 | (uint32_t)slot << 11 | reg);
    return inl(PCI_CONFIG_DATA);
}

static void pci_write(uint8_t bus, uint8_t slot, uint8_t reg, uint32_t value)
{
    outl(PCI_CONFIG_ADDRESS, PCI_ENABLE | (uint32_t)bus << 16 | (uint32_t)slot << 11 | reg);
    outl(PCI_CONFIG_DATA, value);
}

static uint32_t io_next = PCI_IO_WINDOW_START;

static uint8_t interrupt_line(uint8_t bus, uint8_t slot)
{
    uint32_t reg = pci_read(bus, slot, PCI_INTERRUPT_LINE);
    uint8_t line = (uint8_t)reg, pin = (uint8_t)(reg >> 8);
    if (bus != 0 || pin < 1 || pin > 4 || slot == 0 ||
        pci_read(0, PIIX3_SLOT, PCI_VENDOR_ID) != PIIX3_ID)
        return line;
    uint8_t wire = (uint8_t)((slot - 1 + pin - 1) % 4);
    uint8_t route = (uint8_t)(pci_read(0, PIIX3_SLOT, PIIX3_PIRQ_ROUTE) >> (8 * wire));
    if (route & PIIX3_PIRQ_DISABLED)
        return line;
    return route & 0x0F;
}

/* Size the I/O BAR by writing all ones (PCI 3.0 §6.2.5.1) and place it at
 * the next free, naturally aligned address of the window. */
static uint32_t assign_io_bar(uint8_t bus, uint8_t slot)
{
    pci_write(bus, slot, PCI_BAR0, 0xFFFFFFFFU);
    uint32_t size = (~(pci_read(bus, slot, PCI_BAR0) & ~0x3U) & 0xFFFFU) + 1;
    uint32_t base = (io_next + size - 1) & ~(size - 1);
    if (size < 4 || (size & (size - 1)) != 0 || base + size > PCI_IO_WINDOW_END)
        bindings_abort("PCI %u:%u: cannot place an I/O BAR of %u bytes", bus, slot, size);
    pci_write(bus, slot, PCI_BAR0, base | PCI_BAR_IO);
    io_next = base + size;
    return base | PCI_BAR_IO;
}

void pci_scan(void (*found)(const struct pci_virtio *dev))
{
    const uint8_t bus = 0;
    for (uint8_t slot = 0; slot < 32; slot++) {
        uint32_t id = pci_read(bus, slot, PCI_VENDOR_ID);
        uint16_t vendor = (uint16_t)id, device = (uint16_t)(id >> 16);
        if (vendor != VIRTIO_PCI_VENDOR)
            continue;
        if (device < VIRTIO_PCI_LEGACY_FIRST || device > VIRTIO_PCI_LEGACY_LAST)
            continue; /* modern-only device: no legacy I/O BAR */
        uint32_t bar = pci_read(bus, slot, PCI_BAR0);
        if ((bar & PCI_BAR_IO) == 0)
            continue;
        if ((bar & ~0x3U) == 0)
            bar = assign_io_bar(bus, slot);
        else if ((bar & ~0x3U) >= io_next)
            io_next = (bar & ~0x3U) + 0x100U; /* stay clear of firmware's BARs */
        uint32_t command = pci_read(bus, slot, PCI_COMMAND);
        pci_write(bus, slot, PCI_COMMAND, command | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
        struct pci_virtio dev = {
            .subsystem = (uint16_t)(pci_read(bus, slot, PCI_SUBSYSTEM) >> 16),
            .io_base = (uint16_t)(bar & ~0x3U),
            .irq = interrupt_line(bus, slot),
            .bus = bus,
            .slot = slot,
        };
        found(&dev);
    }
}
