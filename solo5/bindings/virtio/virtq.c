/*
 * Legacy virtio devices and split virtqueues (virtio 1.0 §2.4 for the ring,
 * §4.1.4.8 and §2.4.2 "Legacy Interfaces" for the I/O-BAR registers and the
 * ring layout). A legacy device fixes the queue size; the ring lives in one
 * physically contiguous, 4096-aligned area: descriptors (16 bytes each),
 * then the available ring (flags, idx, ring[size], used_event), then, at
 * the next 4096 boundary, the used ring (flags, idx, ring[size] of
 * {id, len}, avail_event). The device is given its page frame number.
 */
#include "virtio.h"

#define VIRTIO_PAGE 4096U

uint32_t virtio_begin(uint16_t io_base)
{
    outb(io_base + VIRTIO_PCI_STATUS, 0); /* reset */
    outb(io_base + VIRTIO_PCI_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    outb(io_base + VIRTIO_PCI_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    return inl(io_base + VIRTIO_PCI_HOST_FEATURES);
}

void virtio_set_features(uint16_t io_base, uint32_t features)
{
    outl(io_base + VIRTIO_PCI_GUEST_FEATURES, features);
}

void virtio_driver_ok(uint16_t io_base)
{
    outb(io_base + VIRTIO_PCI_STATUS,
         VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_DRIVER_OK);
}

static size_t align_page(size_t n)
{
    return (n + VIRTIO_PAGE - 1) & ~(size_t)(VIRTIO_PAGE - 1);
}

void virtq_init(struct virtq *q, uint16_t io_base, uint16_t index, bool interrupts)
{
    outw(io_base + VIRTIO_PCI_QUEUE_SEL, index);
    uint16_t size = inw(io_base + VIRTIO_PCI_QUEUE_SIZE);
    if (size == 0 || (size & (size - 1)) != 0)
        bindings_abort("virtio queue %u has unusable size %u", index, size);
    size_t desc_bytes = 16U * size;
    size_t avail_bytes = 2U * (3U + size);
    size_t used_bytes = 2U * 3U + 8U * size;
    size_t used_offset = align_page(desc_bytes + avail_bytes);
    uint8_t *area = boot_alloc_pages(used_offset + align_page(used_bytes));

    q->io_base = io_base;
    q->index = index;
    q->size = size;
    q->used_seen = 0;
    q->avail_next = 0;
    q->desc = (struct vring_desc *)area;
    q->avail = (volatile uint16_t *)(area + desc_bytes);
    q->used = area + used_offset;
    q->avail[0] = interrupts ? 0 : VRING_AVAIL_F_NO_INTERRUPT;
    outl(io_base + VIRTIO_PCI_QUEUE_PFN, (uint32_t)((uintptr_t)area / VIRTIO_PAGE));
}

void virtq_submit(struct virtq *q, uint16_t head)
{
    q->avail[2 + (q->avail_next % q->size)] = head;
    barrier(); /* the entry before the index that publishes it */
    q->avail_next++;
    q->avail[1] = q->avail_next;
    barrier();
    outw(q->io_base + VIRTIO_PCI_QUEUE_NOTIFY, q->index);
}

static uint16_t used_idx(const struct virtq *q)
{
    return *(const volatile uint16_t *)(q->used + 2);
}

bool virtq_has_used(const struct virtq *q)
{
    return used_idx(q) != q->used_seen;
}

struct vring_used_elem virtq_take_used(struct virtq *q)
{
    barrier(); /* read the element after seeing the index move */
    const volatile struct vring_used_elem *ring =
        (const volatile struct vring_used_elem *)(q->used + 4);
    struct vring_used_elem elem = { ring[q->used_seen % q->size].id,
                                    ring[q->used_seen % q->size].len };
    q->used_seen++;
    return elem;
}
