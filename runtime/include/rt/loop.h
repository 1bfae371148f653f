/* The event loop: one thread, no interrupts, no busy waiting. Each turn
 * runs what is due, then sleeps in solo5_yield() until the earliest
 * deadline or until a network device has input.
 *
 *     static struct rt_loop loop;
 *     rt_loop_init(&loop);
 *     rt_loop_watch(&loop, handle, on_readable, dev);        // readiness
 *     rt_timer_init(&t, on_timer, ctx);
 *     rt_timer_arm(&loop, &t, solo5_clock_monotonic() + NET_SEC(1));
 *     rt_loop_add_source(&loop, next_deadline, poll, stack); // e.g. a net stack
 *     rt_loop_run(&loop);                                    // until rt_loop_stop()
 *
 * Timers are owned by the caller (no allocation) and fire once; re-arm
 * from the callback for periodic work. Callbacks may arm, cancel, watch
 * and stop freely.
 */
#ifndef RT_LOOP_H
#define RT_LOOP_H

#include <stdint.h>

#include "solo5.h"

#define RT_LOOP_MAX_WATCHES 64 /* one per Solo5 handle bit */
#define RT_LOOP_MAX_SOURCES 8
#define RT_TIME_NEVER UINT64_MAX

struct rt_loop;

typedef void (*rt_timer_fn)(void *ctx, solo5_time_t now);
typedef void (*rt_ready_fn)(void *ctx, solo5_handle_t handle, solo5_time_t now);
typedef solo5_time_t (*rt_next_fn)(void *ctx);                 /* RT_TIME_NEVER: none */
typedef void (*rt_poll_fn)(void *ctx, solo5_time_t now);

struct rt_timer {
    struct rt_timer *next;
    solo5_time_t deadline;
    rt_timer_fn fn;
    void *ctx;
    int armed;
};

struct rt_watch {
    rt_ready_fn fn;
    void *ctx;
};

struct rt_source {
    rt_next_fn next;
    rt_poll_fn poll;
    void *ctx;
};

struct rt_loop {
    struct rt_timer *timers; /* sorted by deadline */
    struct rt_watch watches[RT_LOOP_MAX_WATCHES];
    struct rt_source sources[RT_LOOP_MAX_SOURCES];
    int n_sources;
    int stopped;
    uint64_t turns;          /* solo5_yield calls, for tests and statistics */
    solo5_time_t now;        /* the clock as last read by the loop */
};

void rt_loop_init(struct rt_loop *l);
/* Calls fn whenever solo5_yield reports handle ready. handle < 64. */
int rt_loop_watch(struct rt_loop *l, solo5_handle_t handle, rt_ready_fn fn, void *ctx);
/* A deadline source: poll runs when now >= next(). */
int rt_loop_add_source(struct rt_loop *l, rt_next_fn next, rt_poll_fn poll, void *ctx);

void rt_timer_init(struct rt_timer *t, rt_timer_fn fn, void *ctx);
void rt_timer_arm(struct rt_loop *l, struct rt_timer *t, solo5_time_t deadline);
void rt_timer_cancel(struct rt_loop *l, struct rt_timer *t);

/* Runs one turn: due work, then one solo5_yield (at most until deadline
 * cap), then readiness callbacks. */
void rt_loop_turn(struct rt_loop *l, solo5_time_t cap);
void rt_loop_run(struct rt_loop *l);
void rt_loop_stop(struct rt_loop *l);
/* The monotonic time the loop read before running the current batch of
 * callbacks (timers, or readiness after a yield). A callback may use it
 * instead of solo5_clock_monotonic(), which is a system call on spt: the
 * batch runs in far less than any protocol timer's granularity. */
solo5_time_t rt_loop_now(const struct rt_loop *l);

#endif
