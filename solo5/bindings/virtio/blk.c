/*
 * virtio-blk over the legacy interface (virtio 1.0 §5.2). One request at a
 * time on queue 0, polled to completion (solo5.h block I/O is synchronous
 * and never in the yield set), so the queue's interrupts stay off. A
 * request is a three-descriptor chain: the 16-byte header (type, sector in
 * 512-byte units), the caller's buffer (guest memory is identity-mapped, so
 * its address is its physical address) and the one-byte status.
 */
#include "virtio.h"

#define VIRTIO_BLK_F_RO (1U << 5)
#define VIRTIO_BLK_F_BLK_SIZE (1U << 6)
#define BLK_CONFIG_CAPACITY 0  /* u64, in 512-byte sectors */
#define BLK_CONFIG_BLK_SIZE 20 /* u32, if VIRTIO_BLK_F_BLK_SIZE */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_S_OK 0
#define BLK_SECTOR 512U
#define BLK_SIZE_MAX 0x8000U /* largest power of two the manifest's u16 holds */
#define BLK_DEVICES_MAX 8

struct blk_request_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

struct blk_device {
    uint16_t io_base;
    uint32_t block_size;
    bool read_only;
    struct virtq q;
    struct blk_request_header *header; /* device memory */
    volatile uint8_t *status;
};

static struct blk_device blks[BLK_DEVICES_MAX];
static size_t blk_count;

void blk_attach(const struct pci_virtio *dev, struct mft_entry *e, solo5_handle_t h)
{
    (void)h;
    if (blk_count == BLK_DEVICES_MAX)
        bindings_abort("more than %d virtio-blk devices", BLK_DEVICES_MAX);
    struct blk_device *b = &blks[blk_count];
    uint32_t offered = virtio_begin(dev->io_base);
    uint32_t features = offered & (VIRTIO_BLK_F_RO | VIRTIO_BLK_F_BLK_SIZE);
    virtio_set_features(dev->io_base, features);

    uint16_t cfg = dev->io_base + VIRTIO_PCI_CONFIG;
    uint64_t sectors = (uint64_t)inl(cfg + BLK_CONFIG_CAPACITY) |
                       (uint64_t)inl(cfg + BLK_CONFIG_CAPACITY + 4) << 32;
    uint32_t block_size = BLK_SECTOR;
    if (features & VIRTIO_BLK_F_BLK_SIZE)
        block_size = inl(cfg + BLK_CONFIG_BLK_SIZE);
    if (block_size < BLK_SECTOR || block_size > BLK_SIZE_MAX ||
        (block_size & (block_size - 1)) != 0)
        bindings_abort("virtio-blk device '%s' has unusable block size %u", e->name,
                       block_size);
    if (sectors > UINT64_MAX / BLK_SECTOR)
        bindings_abort("virtio-blk device '%s' reports an impossible capacity", e->name);
    uint64_t capacity = sectors * BLK_SECTOR / block_size * block_size;
    if (capacity == 0)
        bindings_abort("virtio-blk device '%s' is smaller than one block", e->name);

    b->io_base = dev->io_base;
    b->block_size = block_size;
    b->read_only = (features & VIRTIO_BLK_F_RO) != 0;
    virtq_init(&b->q, dev->io_base, 0, false);
    if (b->q.size < 3)
        bindings_abort("virtio-blk queue too small");
    uint8_t *page = boot_alloc_pages(SOLO5_PAGE_SIZE);
    b->header = (struct blk_request_header *)page;
    b->status = page + sizeof *b->header;
    virtio_driver_ok(dev->io_base);

    e->u.block_basic.capacity = capacity;
    e->u.block_basic.block_size = (uint16_t)block_size;
    e->b.data = b;
    e->attached = true;
    blk_count++;
}

static solo5_result_t blk_request(solo5_handle_t h, uint32_t type, solo5_off_t offset,
                                  uintptr_t data, size_t size)
{
    /* The common layer checked: one whole block, aligned, inside capacity. */
    struct blk_device *b = bindings_mft->e[h].b.data;
    if (type == VIRTIO_BLK_T_OUT && b->read_only)
        return SOLO5_R_EUNSPEC;
    b->header->type = type;
    b->header->reserved = 0;
    b->header->sector = offset / BLK_SECTOR;
    *b->status = 0xFF;
    struct vring_desc *d = b->q.desc;
    d[0].addr = (uint64_t)(uintptr_t)b->header;
    d[0].len = sizeof *b->header;
    d[0].flags = VRING_DESC_F_NEXT;
    d[0].next = 1;
    d[1].addr = (uint64_t)data;
    d[1].len = (uint32_t)size;
    d[1].flags = VRING_DESC_F_NEXT | (type == VIRTIO_BLK_T_IN ? VRING_DESC_F_WRITE : 0);
    d[1].next = 2;
    d[2].addr = (uint64_t)(uintptr_t)b->status;
    d[2].len = 1;
    d[2].flags = VRING_DESC_F_WRITE;
    d[2].next = 0;
    virtq_submit(&b->q, 0);
    while (!virtq_has_used(&b->q))
        __builtin_ia32_pause();
    (void)virtq_take_used(&b->q);
    barrier();
    return *b->status == VIRTIO_BLK_S_OK ? SOLO5_R_OK : SOLO5_R_EUNSPEC;
}

solo5_result_t platform_block_write(solo5_handle_t h, solo5_off_t offset,
                                    const uint8_t *buf, size_t size)
{
    /* The device only reads buf (the descriptor has no WRITE flag). */
    return blk_request(h, VIRTIO_BLK_T_OUT, offset, (uintptr_t)buf, size);
}

solo5_result_t platform_block_read(solo5_handle_t h, solo5_off_t offset,
                                   uint8_t *buf, size_t size)
{
    return blk_request(h, VIRTIO_BLK_T_IN, offset, (uintptr_t)buf, size);
}
