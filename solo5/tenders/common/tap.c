/* TAP attachment on Linux (solo5.md §3.7). */
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The offloads of the tap: none, or checksum + TSO for IPv4 (the
 * virtio-net header of every frame says what each one needs). */
static int set_offloads(int fd, int vnet_tso4)
{
    if (!vnet_tso4)
        return ioctl(fd, TUNSETOFFLOAD, 0UL);
    int hdr_len = (int)sizeof(struct virtio_net_hdr);
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr_len) != 0)
        return -1;
    return ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4));
}

int tap_attach(const char *ifname, int vnet_tso4, unsigned *mtu, const char **error)
{
    if (strlen(ifname) >= IFNAMSIZ || strchr(ifname, '%') != NULL) {
        *error = "invalid interface name";
        return -1;
    }
    /* Opening a missing name would create an interface; refuse instead. */
    if (if_nametoindex(ifname) == 0) {
        *error = "no such network interface";
        return -1;
    }
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *error = "cannot open /dev/net/tun";
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = (short)(IFF_TAP | IFF_NO_PI | (vnet_tso4 ? IFF_VNET_HDR : 0));
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    if (ioctl(fd, TUNSETIFF, &ifr) != 0) {
        *error = errno == EBUSY ? "interface is busy (already attached?)"
                                : "interface is not a usable TAP device";
        close(fd);
        return -1;
    }
    if (strncmp(ifr.ifr_name, ifname, IFNAMSIZ) != 0) {
        *error = "kernel attached a different interface";
        close(fd);
        return -1;
    }
    if (set_offloads(fd, vnet_tso4) != 0) {
        *error = "cannot set the interface's offloads";
        close(fd);
        return -1;
    }
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq mreq;
    memset(&mreq, 0, sizeof mreq);
    memcpy(mreq.ifr_name, ifname, strlen(ifname));
    if (sock < 0 || ioctl(sock, SIOCGIFMTU, &mreq) != 0 || mreq.ifr_mtu <= 0 ||
        mreq.ifr_mtu > 65535) {
        *error = "cannot read the interface MTU";
        if (sock >= 0)
            close(sock);
        close(fd);
        return -1;
    }
    close(sock);
    *mtu = (unsigned)mreq.ifr_mtu;
    return fd;
}

int tap_random_mac(uint8_t mac[6])
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, mac, 6);
    close(fd);
    if (n != 6)
        return -1;
    mac[0] = (uint8_t)((mac[0] & 0xfe) | 0x02); /* unicast, locally administered */
    return 0;
}
