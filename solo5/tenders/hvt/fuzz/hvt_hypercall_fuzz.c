/*
 * libFuzzer harness for the hypercall handlers: the guest controls the
 * request address, the request contents and every pointer and length in
 * them. Input layout: byte 0 = hypercall number, bytes 1-4 = request GPA
 * (little-endian), the rest is copied into guest memory at 1 MiB. Guest
 * memory is an exact-size heap block, so ASan reports any host access
 * outside it; hvt_die (a refused access) longjmps back here.
 *
 * Build: clang -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *   fuzz/hvt_hypercall_fuzz.c hvt_hypercall.c hvt_gpa.c
 */
#include "../hvt.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define GUEST_MEM 0x200000ULL
#define BLOCK_CAPACITY 0x4000

static jmp_buf refused;
static struct hvt hvt;
static int net_peer;

void hvt_die(const char *fmt, ...)
{
    (void)fmt;
    longjmp(refused, 1);
}

static void setup(void)
{
    hvt.mem_size = GUEST_MEM;
    hvt.mem = malloc(GUEST_MEM);
    if (hvt.mem == NULL)
        abort();
    hvt_add_ro_range(&hvt, 0x100000, 0x101000);

    int block = memfd_create("block", MFD_CLOEXEC);
    if (block < 0 || ftruncate(block, BLOCK_CAPACITY) < 0)
        abort();
    hvt.dev[1] = (struct hvt_device){ .kind = HVT_DEV_BLOCK, .fd = block,
                                      .capacity = BLOCK_CAPACITY, .block_size = 512 };
    /* A datagram pair stands in for a TAP: frames in, frames out. */
    int net[2];
    if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, net) < 0)
        abort();
    hvt.dev[2] = (struct hvt_device){ .kind = HVT_DEV_NET, .fd = net[0] };
    net_peer = net[1];
    hvt_io_init(&hvt);
    /* PUTS writes the guest's console to stdout. */
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (null < 0 || dup2(null, STDOUT_FILENO) < 0)
        abort();
    close(null);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (hvt.mem == NULL)
        setup();
    if (size < 5)
        return 0;
    unsigned nr = data[0] % (HVT_HYPERCALL_MAX + 1);
    uint32_t gpa;
    memcpy(&gpa, data + 1, sizeof gpa);
    size_t payload = size - 5;
    if (payload > GUEST_MEM - HVT_GUEST_MIN_BASE)
        payload = GUEST_MEM - HVT_GUEST_MIN_BASE;
    memset(hvt.mem, 0, GUEST_MEM);
    memcpy(hvt.mem + HVT_GUEST_MIN_BASE, data + 5, payload);

    /* POLL must not block the fuzzer: zero its timeout if the request is in
     * range (an out-of-range request is refused before any wait). */
    if (nr == HVT_HYPERCALL_POLL && gpa < GUEST_MEM && GUEST_MEM - gpa >= 8)
        memset(hvt.mem + gpa, 0, 8);

    /* One frame waiting for NET_READ; whatever NET_WRITE sent is drained
     * afterwards so the pair never fills up. */
    static const uint8_t frame[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    (void)send(net_peer, frame, sizeof frame, MSG_DONTWAIT);

    if (setjmp(refused) == 0) {
        if (nr == 0 || nr == HVT_HYPERCALL_MAX)
            return 0; /* the run loop refuses these before dispatch */
        int status;
        (void)hvt_hypercall(&hvt, nr, gpa, &status);
    }
    uint8_t drain[2048];
    while (recv(net_peer, drain, sizeof drain, MSG_DONTWAIT) > 0)
        ;
    while (recv(hvt.dev[2].fd, drain, sizeof drain, MSG_DONTWAIT) > 0)
        ;
    return 0;
}
