#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "redox-drm/loop.h"

struct order {
	int seen[8];
	int n;
};

struct tag {
	struct order *o;
	int id;
};

static void timer_cb(void *data)
{
	struct tag *t = data;
	t->o->seen[t->o->n++] = t->id;
}

static void timers_fire_in_deadline_order(void **state)
{
	struct event_loop *loop = event_loop_create();
	struct order o = {0};
	struct tag a = {&o, 1}, b = {&o, 2}, c = {&o, 3};
	uint64_t now = monotonic_ns();
	event_loop_add_timer(loop, now + 30000000, timer_cb, &c);
	event_loop_add_timer(loop, now + 10000000, timer_cb, &a);
	struct event_timer *cancelled = event_loop_add_timer(loop, now + 20000000, timer_cb, &b);
	event_timer_cancel(cancelled);
	while (o.n < 2)
		event_loop_dispatch(loop, 1000);
	assert_int_equal(o.seen[0], 1);
	assert_int_equal(o.seen[1], 3);
	/* Not early, and (on an idle machine) not much late either; the bound here is generous. */
	uint64_t elapsed = monotonic_ns() - now;
	assert_true(elapsed >= 30000000);
	event_loop_destroy(loop);
}

static void past_deadline_fires_at_once(void **state)
{
	struct event_loop *loop = event_loop_create();
	struct order o = {0};
	struct tag a = {&o, 7};
	event_loop_add_timer(loop, 1, timer_cb, &a);
	event_loop_dispatch(loop, 1000);
	assert_int_equal(o.n, 1);
	event_loop_destroy(loop);
}

struct pair {
	struct event_source *self, *other;
	int fd;
	int calls;
};

static void remove_both(void *data, uint32_t events)
{
	struct pair *p = data;
	char c;
	p->calls++;
	if (read(p->fd, &c, 1) < 0)
		return;
	/* Removing a source that is in the same epoll batch must not crash or call it. */
	event_source_remove(p->other);
	event_source_remove(p->self);
}

static void remove_during_dispatch(void **state)
{
	struct event_loop *loop = event_loop_create();
	int a[2], b[2];
	assert_int_equal(pipe(a), 0);
	assert_int_equal(pipe(b), 0);
	struct pair pa = {.fd = a[0]}, pb = {.fd = b[0]};
	pa.self = event_loop_add_fd(loop, a[0], EPOLLIN, remove_both, &pa);
	pb.self = event_loop_add_fd(loop, b[0], EPOLLIN, remove_both, &pb);
	pa.other = pb.self;
	pb.other = pa.self;
	assert_int_equal(write(a[1], "x", 1), 1);
	assert_int_equal(write(b[1], "x", 1), 1);
	event_loop_dispatch(loop, 1000);
	assert_int_equal(pa.calls + pb.calls, 1);
	event_loop_destroy(loop);
	close(a[0]), close(a[1]), close(b[0]), close(b[1]);
}

/* A cancelled first timer leaves the timerfd early; a later one must still fire, and on time. */
static void cancelled_first_timer_then_later(void **state)
{
	struct event_loop *loop = event_loop_create();
	struct order o = {0};
	struct tag a = {&o, 1}, b = {&o, 2};
	uint64_t now = monotonic_ns();
	struct event_timer *early = event_loop_add_timer(loop, now + 5000000, timer_cb, &a);
	event_loop_add_timer(loop, now + 20000000, timer_cb, &b);
	event_timer_cancel(early);
	while (o.n < 1)
		event_loop_dispatch(loop, 1000);
	assert_int_equal(o.seen[0], 2);
	assert_true(monotonic_ns() - now >= 20000000);
	/* A new earlier deadline after that still moves the timerfd. */
	struct tag c = {&o, 3};
	event_loop_add_timer(loop, monotonic_ns() + 60000000000ull, timer_cb, &a);
	event_loop_add_timer(loop, monotonic_ns() + 1000000, timer_cb, &c);
	while (o.n < 2)
		event_loop_dispatch(loop, 1000);
	assert_int_equal(o.seen[1], 3);
	event_loop_destroy(loop);
}

struct idle_ctx {
	struct event_loop *loop;
	struct order *o;
	int fd;
	int id;
	struct event_idle *queued; /* what the fd callback queues */
};

static void idle_cb(void *data)
{
	struct tag *t = data;
	t->o->seen[t->o->n++] = t->id;
}

static struct tag idle_tag_late;

static void fd_queues_idle(void *data, uint32_t events)
{
	struct idle_ctx *c = data;
	char ch;
	if (read(c->fd, &ch, 1) != 1)
		return;
	c->o->seen[c->o->n++] = c->id;
	c->queued = event_loop_add_idle(c->loop, idle_cb, &idle_tag_late);
}

/* Idle work runs after the events of its iteration, once; cancelled work never runs. */
static void idle_runs_after_events(void **state)
{
	struct event_loop *loop = event_loop_create();
	struct order o = {0};
	int p[2];
	assert_int_equal(pipe(p), 0);
	struct idle_ctx c = {.loop = loop, .o = &o, .fd = p[0], .id = 1};
	idle_tag_late = (struct tag){&o, 2};
	assert_non_null(event_loop_add_fd(loop, p[0], EPOLLIN, fd_queues_idle, &c));
	assert_int_equal(write(p[1], "x", 1), 1);
	event_loop_dispatch(loop, 1000);
	assert_int_equal(o.n, 2);
	assert_int_equal(o.seen[0], 1);
	assert_int_equal(o.seen[1], 2);
	/* Nothing more to do: the next dispatch runs no idle work again. */
	event_loop_dispatch(loop, 0);
	assert_int_equal(o.n, 2);
	/* Queued outside a dispatch: the next one runs it and does not wait. */
	struct tag t3 = {&o, 3}, t4 = {&o, 4};
	assert_non_null(event_loop_add_idle(loop, idle_cb, &t3));
	event_idle_cancel(event_loop_add_idle(loop, idle_cb, &t4));
	uint64_t t0 = monotonic_ns();
	event_loop_dispatch(loop, 10000);
	assert_true(monotonic_ns() - t0 < 5000000000ull);
	assert_int_equal(o.n, 3);
	assert_int_equal(o.seen[2], 3);
	/* Left queued at destroy: freed, not run. */
	assert_non_null(event_loop_add_idle(loop, idle_cb, &t4));
	event_loop_destroy(loop);
	assert_int_equal(o.n, 3);
	close(p[0]), close(p[1]);
}

/* A reader that asks to be called again after each message, as the transport does for an answered call. */
struct again_ctx {
	struct event_loop *loop;
	struct event_source *src;
	int fd;
	int calls, reads, idle_before; /* callbacks, messages read, idle work seen run before a call */
	int idle_runs;
	bool queue_idle;
};

static void again_idle(void *data)
{
	((struct again_ctx *)data)->idle_runs++;
}

static void again_cb(void *data, uint32_t events)
{
	struct again_ctx *c = data;
	c->calls++;
	if (c->idle_runs)
		c->idle_before++;
	char ch;
	if (read(c->fd, &ch, 1) != 1)
		return; /* nothing there: the callback copes */
	c->reads++;
	if (c->queue_idle)
		event_loop_add_idle(c->loop, again_idle, c);
	event_source_poll_again(c->src, EPOLLIN);
}

/*
 * A source called again reads what arrived meanwhile without epoll_wait,
 * after the iteration's idle work, and at most EVENT_LOOP_POLL_AGAIN_MAX
 * times in a row; a removed source is not called.
 */
static void poll_again_reads_on(void **state)
{
	struct event_loop *loop = event_loop_create();
	int p[2];
	assert_int_equal(pipe(p), 0);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	struct again_ctx c = {.loop = loop, .fd = p[0], .queue_idle = true};
	c.src = event_loop_add_fd(loop, p[0], EPOLLIN, again_cb, &c);
	assert_non_null(c.src);
	/* One byte: read by the epoll call, then one more call finds nothing and stops. */
	assert_int_equal(write(p[1], "x", 1), 1);
	event_loop_dispatch(loop, 1000);
	assert_int_equal(c.reads, 1);
	assert_int_equal(c.calls, 2);
	assert_int_equal(c.idle_runs, 1);
	assert_int_equal(c.idle_before, 1); /* the second call came after the idle work */

	/* Many bytes: one dispatch reads the epoll one plus the bound, then leaves the rest to epoll. */
	c = (struct again_ctx){.loop = loop, .src = c.src, .fd = p[0]};
	char many[32];
	memset(many, 'y', sizeof(many));
	assert_int_equal(write(p[1], many, sizeof(many)), (ssize_t)sizeof(many));
	event_loop_dispatch(loop, 1000);
	assert_int_equal(c.reads, 1 + EVENT_LOOP_POLL_AGAIN_MAX);
	while (c.reads < (int)sizeof(many))
		event_loop_dispatch(loop, 1000);
	event_loop_dispatch(loop, 0);
	assert_int_equal(c.reads, (int)sizeof(many));

	/* Asked for outside a dispatch: the next dispatch calls it and does not wait. */
	c.calls = 0;
	event_source_poll_again(c.src, EPOLLIN);
	uint64_t t0 = monotonic_ns();
	event_loop_dispatch(loop, 10000);
	assert_true(monotonic_ns() - t0 < 5000000000ull);
	assert_int_equal(c.calls, 1);

	/* Removed after asking: never called. */
	c.calls = 0;
	event_source_poll_again(c.src, EPOLLIN);
	event_source_remove(c.src);
	event_loop_dispatch(loop, 0);
	assert_int_equal(c.calls, 0);
	event_loop_destroy(loop);
	close(p[0]), close(p[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_fire_in_deadline_order),
		cmocka_unit_test(past_deadline_fires_at_once),
		cmocka_unit_test(remove_during_dispatch),
		cmocka_unit_test(cancelled_first_timer_then_later),
		cmocka_unit_test(idle_runs_after_events),
		cmocka_unit_test(poll_again_reads_on),
	};
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
