/* The event loop on the host, over a fake Solo5 clock and yield: yield
 * jumps the virtual clock to the deadline or to the next scripted
 * readiness event, so the test sees exactly when and how often the loop
 * sleeps. Prints "loop: N cases, M failures"; exits 1 on failure. */
#include <stdio.h>
#include <string.h>

#include "rt/loop.h"

static solo5_time_t clock_now;
static solo5_time_t ready_at = RT_TIME_NEVER; /* when handle 3 becomes readable */
static unsigned yields;
static int cases, failures;

solo5_time_t solo5_clock_monotonic(void)
{
    return clock_now;
}

void solo5_yield(solo5_time_t deadline, solo5_handle_set_t *ready_set)
{
    yields++;
    *ready_set = 0;
    if (ready_at <= deadline) {
        if (ready_at > clock_now)
            clock_now = ready_at;
        *ready_set = 1ull << 3;
        ready_at = RT_TIME_NEVER;
        return;
    }
    if (deadline != RT_TIME_NEVER && deadline > clock_now)
        clock_now = deadline;
}

static void check(int ok, const char *what)
{
    cases++;
    if (!ok) {
        failures++;
        printf("FAIL %s\n", what);
    }
}

static char log_buf[256];

static void note(const char *s)
{
    strncat(log_buf, s, sizeof(log_buf) - strlen(log_buf) - 1);
}

static struct rt_loop loop;
static struct rt_timer ta, tb, tc, periodic;
static int periodic_count;

static void on_a(void *ctx, solo5_time_t now)
{
    (void)ctx;
    /* rt_loop_now: the time the loop read for this batch of callbacks */
    note(now == 100 && rt_loop_now(&loop) == 100 ? "a@100 " : "a@? ");
}

static void on_b(void *ctx, solo5_time_t now)
{
    (void)ctx;
    note(now == 50 ? "b@50 " : "b@? ");
    rt_timer_cancel(&loop, &tc); /* callbacks may cancel others */
}

static void on_c(void *ctx, solo5_time_t now)
{
    (void)ctx;
    (void)now;
    note("c ");
}

static void on_periodic(void *ctx, solo5_time_t now)
{
    (void)ctx;
    if (++periodic_count < 5)
        rt_timer_arm(&loop, &periodic, now + 1000);
    else
        rt_loop_stop(&loop);
}

static void on_ready(void *ctx, solo5_handle_t h, solo5_time_t now)
{
    (void)ctx;
    note(h == 3 && now == 70 && rt_loop_now(&loop) == 70 ? "ready3@70 " : "ready? ");
}

static solo5_time_t source_deadline = 120;
static solo5_time_t source_next(void *ctx)
{
    (void)ctx;
    return source_deadline;
}

static void source_poll(void *ctx, solo5_time_t now)
{
    (void)ctx;
    note(now == 120 ? "src@120 " : "src@? ");
    source_deadline = RT_TIME_NEVER;
}

int main(void)
{
    rt_loop_init(&loop);
    rt_timer_init(&ta, on_a, NULL);
    rt_timer_init(&tb, on_b, NULL);
    rt_timer_init(&tc, on_c, NULL);
    rt_timer_arm(&loop, &ta, 100);
    rt_timer_arm(&loop, &tb, 50);
    rt_timer_arm(&loop, &tc, 60);
    rt_loop_watch(&loop, 3, on_ready, NULL);
    rt_loop_add_source(&loop, source_next, source_poll, NULL);
    ready_at = 70;
    /* Turns: sleep to 50 (b), to 70 (input), to 100 (a), to 120 (source). */
    for (int i = 0; i < 5; i++)
        rt_loop_turn(&loop, 1000);
    check(strcmp(log_buf, "b@50 ready3@70 a@100 src@120 ") == 0, log_buf);
    check(yields == 5 && clock_now == 1000, "one yield per wake-up, capped at 1000");

    /* Re-arming a timer moves it; periodic work stops the loop. */
    rt_timer_init(&periodic, on_periodic, NULL);
    rt_timer_arm(&loop, &periodic, 999999);
    rt_timer_arm(&loop, &periodic, 2000);
    yields = 0;
    rt_loop_run(&loop);
    check(periodic_count == 5 && clock_now == 6000, "periodic timer ran 5 times, 1000 apart");
    check(yields == 5, "no busy waiting: the loop slept once per expiry");
    printf("loop: %d cases, %d failures\n", cases, failures);
    return failures ? 1 : 0;
}
