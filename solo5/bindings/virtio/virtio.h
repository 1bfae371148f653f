/*
 * virtio guest bindings: internal interface between the boot code
 * (multiboot.S, ../x86_64/boot32.S, boot.c), the CPU tables and interrupts (cpu.c, traps.S), the
 * clocks (clock.c), the serial console (serial.c), the PCI bus (pci.c),
 * the legacy virtqueues (virtq.c), the two device drivers (net.c, blk.c)
 * and the platform hooks (platform.c).
 *
 * Memory model: the boot code identity-maps the first 4 GiB, so virtual
 * and physical addresses are equal and device DMA addresses are plain
 * pointers. Device memory (rings, packet buffers) is carved from the top of
 * RAM before the stack is placed, so it lies above the guest memory the
 * application and the common layer's checks see.
 */
#ifndef SOLO5_BINDINGS_VIRTIO_H
#define SOLO5_BINDINGS_VIRTIO_H

#include "../common/bindings.h"
#include "../x86_64/boot32.h"
#include "../x86_64/cpu.h"

/* x86 port I/O, always through DX: at CPL 3 on a hypervisor that ignores
 * IOPL the instruction traps, and traps.S completes only the DX forms. */
static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ __volatile__("outb %0, %1" : : "a"(v), "d"(port));
}
static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ __volatile__("outw %0, %1" : : "a"(v), "d"(port));
}
static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ __volatile__("outl %0, %1" : : "a"(v), "d"(port));
}
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ __volatile__("inb %1, %0" : "=a"(v) : "d"(port));
    return v;
}
static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ __volatile__("inw %1, %0" : "=a"(v) : "d"(port));
    return v;
}
static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ __volatile__("inl %1, %0" : "=a"(v) : "d"(port));
    return v;
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}
/* Orders our ring stores against the device (x86 is TSO: a compiler
 * barrier suffices for normal write-back memory). */
static inline void barrier(void)
{
    __asm__ __volatile__("" : : : "memory");
}

/* serial.c: COM1 16550 at 115200 8N1. */
void serial_init(void);
void serial_write(const char *buf, size_t size);

/* cpu.c: GDT with a TSS and IST stacks, IDT with fatal exception gates and
 * gates for the 16 legacy PIC interrupts (remapped to vectors 32-47). */
void cpu_init(void);
/* Unmask PIC line irq (0-15). */
void pic_unmask(unsigned irq);
/* Read (and so clear) this device's ISR on every interrupt on its line,
 * which lowers its level-triggered INTx. Unmasks the line. */
void cpu_irq_device(uint16_t io_base, uint8_t irq);
/* Called by an interrupt on line irq (traps.S). */
void virtio_irq(unsigned irq);
/* Halt until an interrupt arrives; interrupts are enabled only inside.
 * Called at CPL 3 (traps into ring 0). */
void cpu_wait_for_interrupt(void);

/* clock.c: TSC calibrated against PIT channel 2; wall time from the CMOS
 * RTC read at boot; PIT channel 0 one-shot wake-ups for yield. */
void clock_init(void);
solo5_time_t clock_monotonic(void);
solo5_time_t clock_wall(void);
/* Raise IRQ 0 after about ns nanoseconds (capped at the PIT's ~54 ms). */
void clock_arm_timer(uint64_t ns);

/* boot.c: memory carved from the top of RAM for device use (page-aligned,
 * zeroed). Only during boot; aborts when memory runs out. */
void *boot_alloc_pages(size_t size);

/* pci.c: walk bus 0-255, device 0-31, function 0; call found() for every
 * virtio (vendor 0x1af4) device, in slot order. */
struct pci_virtio {
    uint16_t subsystem; /* virtio device type: 1 net, 2 block */
    uint16_t io_base;   /* legacy I/O BAR 0 */
    uint8_t irq;        /* interrupt line the firmware routed */
    uint8_t bus, slot;
};
void pci_scan(void (*found)(const struct pci_virtio *dev));

/* virtq.c: a legacy virtqueue (virtio 1.0 §2.4 split ring, §4.1.4.8
 * legacy layout) and the legacy device register block. */
struct vring_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
struct vring_used_elem {
    uint32_t id;
    uint32_t len;
};
struct virtq {
    uint16_t io_base;
    uint16_t index;      /* queue number on the device */
    uint16_t size;       /* entries, fixed by a legacy device */
    uint16_t used_seen;  /* next used-ring index we have not consumed */
    uint16_t avail_next; /* our avail-ring index */
    struct vring_desc *desc;
    volatile uint16_t *avail; /* flags, idx, ring[size], used_event */
    volatile uint8_t *used;   /* flags, idx, ring[size] of used_elem */
};
/* Legacy register offsets in the I/O BAR (virtio 1.0 §4.1.4.8). */
#define VIRTIO_PCI_HOST_FEATURES 0
#define VIRTIO_PCI_GUEST_FEATURES 4
#define VIRTIO_PCI_QUEUE_PFN 8
#define VIRTIO_PCI_QUEUE_SIZE 12
#define VIRTIO_PCI_QUEUE_SEL 14
#define VIRTIO_PCI_QUEUE_NOTIFY 16
#define VIRTIO_PCI_STATUS 18
#define VIRTIO_PCI_ISR 19
#define VIRTIO_PCI_CONFIG 20 /* device config without MSI-X */
/* Device status bits (virtio 1.0 §2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FAILED 128
#define VRING_AVAIL_F_NO_INTERRUPT 1

/* Reset the device and acknowledge it; return its feature bits. */
uint32_t virtio_begin(uint16_t io_base);
/* Tell the device which features we use. */
void virtio_set_features(uint16_t io_base, uint32_t features);
void virtio_driver_ok(uint16_t io_base);
/* Set up queue index with device memory; interrupts off unless asked. */
void virtq_init(struct virtq *q, uint16_t io_base, uint16_t index, bool interrupts);
/* Publish descriptor chain head and notify the device. */
void virtq_submit(struct virtq *q, uint16_t head);
/* True if the device has returned a chain we have not consumed. */
bool virtq_has_used(const struct virtq *q);
/* Take the next used element; call only when virtq_has_used(). */
struct vring_used_elem virtq_take_used(struct virtq *q);

/* net.c and blk.c: bind a found device to the next manifest entry of its
 * type (in manifest order); the launcher places devices in that order. */
void net_attach(const struct pci_virtio *dev, struct mft_entry *e, solo5_handle_t h);
void blk_attach(const struct pci_virtio *dev, struct mft_entry *e, solo5_handle_t h);
/* Handles of NET devices with received frames waiting. */
solo5_handle_set_t net_ready_set(void);
/* Wait (until deadline at most) for the devices to send every queued frame:
 * QEMU transmits after the notify returns, and exit would drop the last. */
void net_flush(solo5_time_t deadline);

#endif /* SOLO5_BINDINGS_VIRTIO_H */
