/* The event loop (see rt/loop.h). */
#include "rt/loop.h"

#include <string.h>

void rt_loop_init(struct rt_loop *l)
{
    memset(l, 0, sizeof(*l));
}

int rt_loop_watch(struct rt_loop *l, solo5_handle_t handle, rt_ready_fn fn, void *ctx)
{
    if (handle >= RT_LOOP_MAX_WATCHES)
        return -1;
    l->watches[handle].fn = fn;
    l->watches[handle].ctx = ctx;
    return 0;
}

int rt_loop_add_source(struct rt_loop *l, rt_next_fn next, rt_poll_fn poll, void *ctx)
{
    if (l->n_sources == RT_LOOP_MAX_SOURCES || !next || !poll)
        return -1;
    l->sources[l->n_sources++] = (struct rt_source){next, poll, ctx};
    return 0;
}

void rt_timer_init(struct rt_timer *t, rt_timer_fn fn, void *ctx)
{
    memset(t, 0, sizeof(*t));
    t->fn = fn;
    t->ctx = ctx;
}

void rt_timer_cancel(struct rt_loop *l, struct rt_timer *t)
{
    if (!t->armed)
        return;
    for (struct rt_timer **pp = &l->timers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    t->armed = 0;
    t->next = NULL;
}

void rt_timer_arm(struct rt_loop *l, struct rt_timer *t, solo5_time_t deadline)
{
    rt_timer_cancel(l, t);
    t->deadline = deadline;
    struct rt_timer **pp = &l->timers;
    while (*pp && (*pp)->deadline <= deadline) /* equal deadlines fire in arming order */
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    t->armed = 1;
}

void rt_loop_stop(struct rt_loop *l)
{
    l->stopped = 1;
}

static solo5_time_t run_due(struct rt_loop *l, solo5_time_t now)
{
    while (l->timers && l->timers->deadline <= now) {
        struct rt_timer *t = l->timers;
        l->timers = t->next;
        t->armed = 0;
        t->next = NULL;
        t->fn(t->ctx, now);
    }
    for (int i = 0; i < l->n_sources; i++) {
        struct rt_source *s = &l->sources[i];
        if (s->next(s->ctx) <= now)
            s->poll(s->ctx, now);
    }
    solo5_time_t next = l->timers ? l->timers->deadline : RT_TIME_NEVER;
    for (int i = 0; i < l->n_sources; i++) {
        solo5_time_t t = l->sources[i].next(l->sources[i].ctx);
        if (t < next)
            next = t;
    }
    return next;
}

solo5_time_t rt_loop_now(const struct rt_loop *l)
{
    return l->now;
}

void rt_loop_turn(struct rt_loop *l, solo5_time_t cap)
{
    solo5_time_t now = solo5_clock_monotonic();
    l->now = now;
    solo5_time_t next = run_due(l, now);
    if (l->stopped)
        return;
    if (next > cap)
        next = cap;
    /* Work that became due while running callbacks: no sleep this turn. */
    if (next <= now)
        next = now;
    solo5_handle_set_t ready = 0;
    l->turns++;
    solo5_yield(next, &ready);
    now = solo5_clock_monotonic();
    l->now = now;
    for (solo5_handle_t h = 0; h < RT_LOOP_MAX_WATCHES && ready; h++) {
        if (!(ready & (1ull << h)))
            continue;
        ready &= ~(1ull << h);
        if (l->watches[h].fn)
            l->watches[h].fn(l->watches[h].ctx, h, now);
    }
}

void rt_loop_run(struct rt_loop *l)
{
    l->stopped = 0;
    while (!l->stopped)
        rt_loop_turn(l, RT_TIME_NEVER);
}
