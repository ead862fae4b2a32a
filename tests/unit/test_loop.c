#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timers_fire_in_deadline_order),
		cmocka_unit_test(past_deadline_fires_at_once),
		cmocka_unit_test(remove_during_dispatch),
	};
	return cmocka_run_group_tests_name("loop", tests, NULL, NULL);
}
