/* Binds a TCP engine (net/tcp.h) to a net_stack (net/stack.h): segments
 * of IPv4 protocol 6 go to tcp_input, the engine's segments leave through
 * net_ipv4_output, and its timers join net_stack_next_deadline /
 * net_stack_poll. A unikernel keeps the engine as long as the stack;
 * tcp_stack_detach frees it first (host tests, fuzzers).
 *
 *     struct tcp_engine *tcp = tcp_stack_attach(stack, NULL);
 *     tcp_listen(tcp, 0, 7, 64, on_accept, app);
 */
#ifndef NET_TCP_STACK_H
#define NET_TCP_STACK_H

#include "net/stack.h"
#include "net/tcp.h"

/* cfg NULL uses tcp_config_default() with the MSS from the MTU. The
 * output callback and the secret (from net_stack_random) are always filled
 * in here, and the MSS is the MTU - 40 (RFC 9293 3.7.1) when cfg->mss is 0
 * or larger (tcp_config_default's 1460 thus stays 1460 on a jumbo-frame
 * tap; set 0 to use the whole MTU). NULL if memory runs out or TCP is
 * attached already. */
struct tcp_engine *tcp_stack_attach(struct net_stack *s, const struct tcp_config *cfg);
/* Unregisters the engine tcp_stack_attach bound to s and destroys it
 * (tcp_engine_destroy: every connection is freed, nothing is sent). Call
 * it before net_stack_destroy. */
void tcp_stack_detach(struct net_stack *s, struct tcp_engine *e);

#endif
