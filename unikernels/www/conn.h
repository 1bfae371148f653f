/* One HTTP connection: reads request heads into a fixed buffer, answers
 * them in order (pipelining), streams file bodies as the send buffer
 * drains, and enforces the timeouts and the connection limit.
 *
 * Memory per connection is fixed when it is accepted (docs/www.md):
 * sizeof(struct www_conn) (the 16 KiB head buffer and 2 KiB response
 * buffer) plus the TCP connection's receive and send rings. */
#ifndef WWW_CONN_H
#define WWW_CONN_H

#include <stddef.h>

#include "net/tcp.h"
#include "server.h"

/* TCP buffers of a www connection. Requests are small: 16 KiB of receive
 * window holds many pipelined ones; the 64 KiB send ring takes heads, small
 * bodies and bodies read from the device. Cached bodies of WWW_REF_MIN
 * bytes or more are queued by reference (tcp_send_ref), up to WWW_SNDREF
 * at a time: they cost no memory per connection, so what is in flight is
 * bounded by the client's window and congestion control, not the ring. */
#define WWW_RCVBUF (16u * 1024u)
#define WWW_SNDBUF (64u * 1024u)
#define WWW_SNDREF (1024u * 1024u)
#define WWW_REF_MIN (16u * 1024u)
/* Connections established but not yet accepted, and half-open ones. */
#define WWW_BACKLOG 64u
/* A response that cannot be queued for this long is abandoned. */
#define WWW_SEND_TIMEOUT_S 60u
/* Request bodies (GET with a body) up to this size are read and dropped;
 * larger ones get 413 (nginx's client_max_body_size default). */
#define WWW_BODY_MAX (1024u * 1024u)

/* The listener's accept callback: user is the struct www_server. */
void www_conn_on_accept(void *user, struct tcp_listener *l);
/* Enforces the timeouts; run about once a second. */
void www_conn_sweep(struct www_server *s, solo5_time_t now);
/* Upper bounds of the memory of one accepted connection (its www state
 * and its TCP connection) and of one connection in the listen backlog. */
size_t www_conn_memory(void);
size_t www_backlog_conn_memory(void);

#endif
