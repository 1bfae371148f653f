/*
 * virtio-net over the legacy interface (virtio 1.0 §5.1). Queue 0 receives,
 * queue 1 transmits. We negotiate only VIRTIO_NET_F_MAC (required) and
 * VIRTIO_NET_F_MTU (if offered), so every frame is preceded by the 10-byte
 * legacy struct virtio_net_hdr (no checksum offload, no GSO, no merged
 * buffers). Without VIRTIO_F_ANY_LAYOUT a legacy driver puts that header in
 * its own descriptor (§5.1.6.6): each packet slot is a two-descriptor
 * chain, header then frame, using descriptors 2i and 2i+1.
 *
 * Receive buffers are posted at start and re-posted after each read; reads
 * copy out of them. Writes copy into a free transmit slot; with none free
 * the frame is dropped (solo5.h allows it). Only receive interrupts are on.
 */
#include "virtio.h"

#define VIRTIO_NET_F_MTU (1U << 3)
#define VIRTIO_NET_F_MAC (1U << 5)
#define NET_CONFIG_MAC 0  /* u8[6] */
#define NET_CONFIG_MTU 10 /* u16, if VIRTIO_NET_F_MTU */
#define NET_QUEUE_RX 0
#define NET_QUEUE_TX 1
#define NET_HDR_SIZE 10
#define NET_DEFAULT_MTU 1500
#define NET_SLOTS_MAX 64
#define NET_SLOT_SIZE 2048 /* header, then a frame of at most mtu + 14 */
#define NET_DEVICES_MAX 8

struct net_device {
    solo5_handle_t handle;
    uint16_t io_base;
    size_t frame_max; /* mtu + 14 */
    struct virtq rx, tx;
    uint16_t rx_slots, tx_slots;
    uint8_t *rx_buf, *tx_buf; /* slot i at i * NET_SLOT_SIZE */
    uint16_t tx_free[NET_SLOTS_MAX];
    uint16_t tx_free_count;
};

static struct net_device nets[NET_DEVICES_MAX];
static size_t net_count;

static void slot_chain(struct virtq *q, uint8_t *buf, uint16_t slot, size_t frame_len,
                       uint16_t write)
{
    struct vring_desc *d = &q->desc[2 * slot];
    uint8_t *base = buf + (size_t)slot * NET_SLOT_SIZE;
    d[0].addr = (uint64_t)(uintptr_t)base;
    d[0].len = NET_HDR_SIZE;
    d[0].flags = VRING_DESC_F_NEXT | write;
    d[0].next = (uint16_t)(2 * slot + 1);
    d[1].addr = (uint64_t)(uintptr_t)(base + NET_HDR_SIZE);
    d[1].len = (uint32_t)frame_len;
    d[1].flags = write;
    d[1].next = 0;
}

static uint16_t slots_for(const struct virtq *q)
{
    uint16_t n = q->size / 2;
    return n < NET_SLOTS_MAX ? n : NET_SLOTS_MAX;
}

void net_attach(const struct pci_virtio *dev, struct mft_entry *e, solo5_handle_t h)
{
    if (net_count == NET_DEVICES_MAX)
        bindings_abort("more than %d virtio-net devices", NET_DEVICES_MAX);
    struct net_device *n = &nets[net_count];
    uint32_t offered = virtio_begin(dev->io_base);
    if ((offered & VIRTIO_NET_F_MAC) == 0)
        bindings_abort("virtio-net device '%s' offers no MAC address", e->name);
    uint32_t features = VIRTIO_NET_F_MAC | (offered & VIRTIO_NET_F_MTU);
    virtio_set_features(dev->io_base, features);

    uint16_t cfg = dev->io_base + VIRTIO_PCI_CONFIG;
    for (int i = 0; i < SOLO5_NET_ALEN; i++)
        e->u.net_basic.mac[i] = inb((uint16_t)(cfg + NET_CONFIG_MAC + i));
    uint16_t mtu = NET_DEFAULT_MTU;
    if (features & VIRTIO_NET_F_MTU) {
        uint16_t offered_mtu = inw(cfg + NET_CONFIG_MTU);
        if (offered_mtu >= 68 && offered_mtu < NET_DEFAULT_MTU)
            mtu = offered_mtu; /* our slots hold at most a 1500-byte MTU */
    }
    e->u.net_basic.mtu = mtu;

    n->handle = h;
    n->io_base = dev->io_base;
    n->frame_max = (size_t)mtu + SOLO5_NET_HLEN;
    virtq_init(&n->rx, dev->io_base, NET_QUEUE_RX, true);
    virtq_init(&n->tx, dev->io_base, NET_QUEUE_TX, false);
    n->rx_slots = slots_for(&n->rx);
    n->tx_slots = slots_for(&n->tx);
    n->rx_buf = boot_alloc_pages((size_t)n->rx_slots * NET_SLOT_SIZE);
    n->tx_buf = boot_alloc_pages((size_t)n->tx_slots * NET_SLOT_SIZE);
    for (uint16_t i = 0; i < n->tx_slots; i++)
        n->tx_free[i] = i;
    n->tx_free_count = n->tx_slots;
    virtio_driver_ok(dev->io_base);
    for (uint16_t i = 0; i < n->rx_slots; i++) {
        slot_chain(&n->rx, n->rx_buf, i, n->frame_max, VRING_DESC_F_WRITE);
        virtq_submit(&n->rx, (uint16_t)(2 * i));
    }
    cpu_irq_device(dev->io_base, dev->irq);
    e->b.data = n;
    e->attached = true;
    net_count++;
}

solo5_handle_set_t net_ready_set(void)
{
    solo5_handle_set_t ready = 0;
    for (size_t i = 0; i < net_count; i++) {
        if (virtq_has_used(&nets[i].rx))
            ready |= 1ULL << nets[i].handle;
    }
    return ready;
}

static struct net_device *net_for(solo5_handle_t h)
{
    /* The common layer checked h names an attached NET entry. */
    return bindings_mft->e[h].b.data;
}

static void tx_reclaim(struct net_device *n)
{
    while (virtq_has_used(&n->tx)) {
        struct vring_used_elem done = virtq_take_used(&n->tx);
        /* Only ids we handed out, each once (the free list has room for all). */
        if (done.id % 2 == 0 && done.id / 2 < n->tx_slots && n->tx_free_count < n->tx_slots)
            n->tx_free[n->tx_free_count++] = (uint16_t)(done.id / 2);
    }
}

void net_flush(solo5_time_t deadline)
{
    for (size_t i = 0; i < net_count; i++) {
        struct net_device *n = &nets[i];
        tx_reclaim(n);
        while (n->tx_free_count < n->tx_slots && clock_monotonic() < deadline) {
            __builtin_ia32_pause();
            tx_reclaim(n);
        }
    }
}

solo5_result_t platform_net_write(solo5_handle_t h, const uint8_t *buf, size_t size)
{
    struct net_device *n = net_for(h);
    if (size > n->frame_max)
        return SOLO5_R_EINVAL;
    tx_reclaim(n);
    if (n->tx_free_count == 0)
        return SOLO5_R_OK; /* no room: dropped, as solo5.h allows */
    uint16_t slot = n->tx_free[--n->tx_free_count];
    uint8_t *base = n->tx_buf + (size_t)slot * NET_SLOT_SIZE;
    memset(base, 0, NET_HDR_SIZE);
    memcpy(base + NET_HDR_SIZE, buf, size);
    slot_chain(&n->tx, n->tx_buf, slot, size, 0);
    virtq_submit(&n->tx, (uint16_t)(2 * slot));
    return SOLO5_R_OK;
}

solo5_result_t platform_net_read(solo5_handle_t h, uint8_t *buf, size_t size,
                                 size_t *read_size)
{
    struct net_device *n = net_for(h);
    if (!virtq_has_used(&n->rx))
        return SOLO5_R_AGAIN;
    struct vring_used_elem got = virtq_take_used(&n->rx);
    /* A chain head is 2 * slot; anything else is not ours and is dropped. */
    bool ours = got.id % 2 == 0 && got.id / 2 < n->rx_slots;
    uint16_t slot = (uint16_t)(got.id / 2);
    solo5_result_t result = SOLO5_R_AGAIN;
    if (ours && got.len > NET_HDR_SIZE && got.len - NET_HDR_SIZE <= size &&
        got.len - NET_HDR_SIZE <= n->frame_max) {
        size_t len = got.len - NET_HDR_SIZE;
        memcpy(buf, n->rx_buf + (size_t)slot * NET_SLOT_SIZE + NET_HDR_SIZE, len);
        *read_size = len;
        result = SOLO5_R_OK;
    }
    if (ours) {
        slot_chain(&n->rx, n->rx_buf, slot, n->frame_max, VRING_DESC_F_WRITE);
        virtq_submit(&n->rx, (uint16_t)(2 * slot));
    }
    return result;
}
