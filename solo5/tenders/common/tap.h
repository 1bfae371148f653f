/* Host TAP devices for NET_BASIC (reference: solo5.md §3.7). */
#ifndef SOLO5_TENDER_TAP_H
#define SOLO5_TENDER_TAP_H

#include <stdint.h>

/*
 * Open the existing TAP interface ifname (non-blocking, IFF_TAP|IFF_NO_PI)
 * and read its MTU. Without vnet_tso4 the tap has no offloads (reset
 * explicitly, since a previous reader may have left some on). With
 * vnet_tso4 (docs/net-offload.md) frames carry a 10-byte virtio-net
 * header and the tap takes and gives checksum-partial frames and TCPv4
 * segments up to 64 KiB. Returns the fd, or -1 with *error set to a
 * one-line message. Never creates an interface.
 */
int tap_attach(const char *ifname, int vnet_tso4, unsigned *mtu, const char **error);

/* A random, locally administered unicast MAC (§1.8). 0 or -1. */
int tap_random_mac(uint8_t mac[6]);

#endif /* SOLO5_TENDER_TAP_H */
