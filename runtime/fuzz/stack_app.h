/* The application the whole-stack fuzzers (fuzz_stack, fuzz_vnet) run on
 * their stack, wired as a unikernel wires it: TCP through
 * tcp_stack_attach with an echo listener on port 80 and one active open
 * to the peer, and a UDP echo on port 7. */
#ifndef FUZZ_STACK_APP_H
#define FUZZ_STACK_APP_H

#include <stddef.h>
#include <stdint.h>

#include "net/stack.h"
#include "net/tcp.h"
#include "net/udp.h"

#define FUZZ_APP_MTU 1500
#define FUZZ_APP_ADDR NET_IP4(10, 0, 0, 2)
#define FUZZ_APP_PEER NET_IP4(10, 0, 0, 10) /* the active open's peer */
#define FUZZ_APP_TCP_PORT 80
#define FUZZ_APP_PEER_PORT 8080
#define FUZZ_APP_LOCAL_PORT 40000 /* fixed, so seeds can answer its SYN */
#define FUZZ_APP_UDP_PORT 7

struct fuzz_app {
    net_time_t now; /* the harness sets it before each input and poll */
    struct tcp_engine *tcp;
    struct tcp_listener *listener;
    struct net_udp *udp;
};

/* Must be the first thing after net_stack_create: the TCP secret is then
 * the stack's 2nd to 5th random numbers, which the seed generator
 * (tests/runtime/fuzz_corpus.py) relies on to ACK a SYN-ACK. ack_batch as
 * in tcp_config. Aborts if the stack refuses. */
void fuzz_app_start(struct fuzz_app *a, struct net_stack *s, int ack_batch);
/* Frees everything fuzz_app_start set up; before net_stack_destroy. */
void fuzz_app_stop(struct fuzz_app *a, struct net_stack *s);

/* The emit callback: checks and reads a frame; aborts beyond the MTU. */
void fuzz_app_emit(void *ctx, const uint8_t *frame, size_t len);

#endif
