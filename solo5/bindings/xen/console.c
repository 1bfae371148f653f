/*
 * The PV console (public/io/console.h): a shared page with an input ring
 * (1024 bytes) and an output ring (2048 bytes) and their free-running
 * indexes, plus an event channel to tell the backend there is output.
 * Both come from HVM parameters.
 */
#include "xen.h"

#define HVM_PARAM_CONSOLE_PFN 17
#define HVM_PARAM_CONSOLE_EVTCHN 18
#define EVTCHNOP_send 4
#define XEN_PAGE_SHIFT 12

struct xencons_interface {
    char in[1024];
    char out[2048];
    uint32_t in_cons, in_prod;
    uint32_t out_cons, out_prod;
};

static volatile struct xencons_interface *ring;
static uint32_t evtchn;

void console_init(void)
{
    uint64_t pfn = hvm_get_param(HVM_PARAM_CONSOLE_PFN);
    ring = (volatile struct xencons_interface *)(uintptr_t)(pfn << XEN_PAGE_SHIFT);
    evtchn = (uint32_t)hvm_get_param(HVM_PARAM_CONSOLE_EVTCHN);
}

static void notify(void)
{
    uint32_t port = evtchn;
    (void)hypercall2(HYPERVISOR_event_channel_op, EVTCHNOP_send, (uint64_t)(uintptr_t)&port);
}

void console_write(const char *buf, size_t size)
{
    if (ring == NULL)
        return;
    size_t done = 0;
    while (done < size) {
        uint32_t prod = ring->out_prod;
        __asm__ __volatile__("" : : : "memory");
        uint32_t used = prod - ring->out_cons;
        if (used >= sizeof ring->out) {
            notify(); /* full: let the backend drain it */
            continue;
        }
        while (done < size && used < sizeof ring->out) {
            ring->out[prod % sizeof ring->out] = buf[done++];
            prod++;
            used++;
        }
        __asm__ __volatile__("" : : : "memory"); /* bytes before the index (x86 TSO) */
        ring->out_prod = prod;
        notify();
    }
}
