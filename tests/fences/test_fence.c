/* Fences, arrays, chains and merging (fence/fence.c), driven directly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "redox-drm/fence.h"
#include "redox-drm/loop.h"

/* A test fence: counts the live ones, and has a "hardware" flag for the signaled op. */
struct tfence {
	struct drm_fence base;
	bool hw_done;
};

static int live;

static const char *tf_name(struct drm_fence *f)
{
	return "test";
}

static bool tf_signaled(struct drm_fence *f)
{
	return ((struct tfence *)f)->hw_done;
}

static void tf_release(struct drm_fence *f)
{
	live--;
	free(f);
}

static const struct drm_fence_ops tf_ops = {
	.driver_name = tf_name, .timeline_name = tf_name, .signaled = tf_signaled, .release = tf_release,
};

static struct drm_fence *tf_new(uint64_t context, uint64_t seqno)
{
	struct tfence *t = calloc(1, sizeof(*t));
	assert_non_null(t);
	drm_fence_init(&t->base, &tf_ops, context, seqno);
	live++;
	return &t->base;
}

static int reset_live(void **state)
{
	live = 0;
	return 0;
}

static int check_live(void **state)
{
	assert_int_equal(live, 0);
	return 0;
}

/* ---- core ---- */

static void signal_once_status_timestamp(void **state)
{
	struct drm_fence *f = tf_new(drm_fence_context_alloc(1), 1);
	assert_int_equal(f->refcount, 1);
	assert_false(drm_fence_is_signaled(f));
	assert_int_equal(drm_fence_get_status(f), 0);
	uint64_t before = monotonic_ns();
	assert_int_equal(drm_fence_signal(f), 0);
	uint64_t after = monotonic_ns();
	assert_int_equal(drm_fence_signal(f), -EINVAL);
	assert_true(drm_fence_is_signaled(f));
	assert_true(f->timestamp_ns >= before && f->timestamp_ns <= after);
	assert_int_equal(drm_fence_get_status(f), 1);
	drm_fence_set_error(f, -EIO); /* too late: ignored */
	assert_int_equal(drm_fence_get_status(f), 1);
	drm_fence_put(f);

	f = tf_new(drm_fence_context_alloc(1), 1);
	drm_fence_set_error(f, -EIO);
	assert_int_equal(drm_fence_get_status(f), 0);
	drm_fence_signal(f);
	assert_int_equal(drm_fence_get_status(f), -EIO);
	assert_ptr_equal(drm_fence_get(f), f);
	assert_int_equal(f->refcount, 2);
	drm_fence_put(f);
	drm_fence_put(f);
}

static void contexts_and_later(void **state)
{
	uint64_t a = drm_fence_context_alloc(3), b = drm_fence_context_alloc(1);
	assert_int_equal(b, a + 3);
	struct drm_fence *x = tf_new(a, 5), *y = tf_new(a, 7), *z = tf_new(a + 1, 9);
	assert_true(drm_fence_is_later(y, x));
	assert_false(drm_fence_is_later(x, y));
	assert_false(drm_fence_is_later(z, x)); /* other context */
	drm_fence_put(x);
	drm_fence_put(y);
	drm_fence_put(z);
}

struct rec {
	struct drm_fence_cb cb;
	int *log;
	int *n;
	int id;
	struct drm_fence *drop[3];   /* references to drop when called */
	struct drm_fence *signal;    /* a fence to signal when called */
	struct drm_fence *rm_fence;  /* a callback to remove when called */
	struct drm_fence_cb *rm_cb;
};

static void rec_func(struct drm_fence *f, struct drm_fence_cb *cb)
{
	struct rec *r = (struct rec *)cb;
	r->log[(*r->n)++] = r->id;
	for (int i = 0; i < 3; i++)
		drm_fence_put(r->drop[i]);
	if (r->rm_fence)
		assert_true(drm_fence_remove_callback(r->rm_fence, r->rm_cb));
	if (r->signal)
		drm_fence_signal(r->signal);
}

static void callbacks_in_order_add_remove(void **state)
{
	int log[8], n = 0;
	struct drm_fence *f = tf_new(drm_fence_context_alloc(1), 1);
	struct rec r[4] = {{.log = log, .n = &n, .id = 1}, {.log = log, .n = &n, .id = 2},
			   {.log = log, .n = &n, .id = 3}, {.log = log, .n = &n, .id = 4}};
	for (int i = 0; i < 3; i++)
		assert_int_equal(drm_fence_add_callback(f, &r[i].cb, rec_func), 0);
	assert_true(drm_fence_remove_callback(f, &r[1].cb));
	assert_false(drm_fence_remove_callback(f, &r[1].cb));
	drm_fence_signal(f);
	assert_int_equal(n, 2);
	assert_int_equal(log[0], 1);
	assert_int_equal(log[1], 3);
	/* Already signalled: -ENOENT and never called. */
	assert_int_equal(drm_fence_add_callback(f, &r[3].cb, rec_func), -ENOENT);
	assert_int_equal(n, 2);
	assert_false(drm_fence_remove_callback(f, &r[0].cb));
	drm_fence_put(f);
}

static void callback_drops_last_references(void **state)
{
	int log[8], n = 0;
	struct drm_fence *a = tf_new(drm_fence_context_alloc(1), 1);
	struct drm_fence *b = tf_new(drm_fence_context_alloc(1), 1);
	struct rec r1 = {.log = log, .n = &n, .id = 1};
	struct rec r2 = {.log = log, .n = &n, .id = 2};
	assert_int_equal(drm_fence_add_callback(a, &r1.cb, rec_func), 0);
	assert_int_equal(drm_fence_add_callback(a, &r2.cb, rec_func), 0);
	/* The first callback drops the only references to a itself and to b; the second still runs. */
	r1.drop[0] = a;
	r1.drop[1] = b;
	drm_fence_signal(a);
	assert_int_equal(n, 2);
	assert_int_equal(live, 0);
}

static void callback_removes_sibling(void **state)
{
	int log[8], n = 0;
	struct drm_fence *f = tf_new(drm_fence_context_alloc(1), 1);
	struct rec r1 = {.log = log, .n = &n, .id = 1}, r2 = {.log = log, .n = &n, .id = 2};
	assert_int_equal(drm_fence_add_callback(f, &r1.cb, rec_func), 0);
	assert_int_equal(drm_fence_add_callback(f, &r2.cb, rec_func), 0);
	r1.rm_fence = f;
	r1.rm_cb = &r2.cb;
	drm_fence_signal(f);
	assert_int_equal(n, 1);
	drm_fence_put(f);
}

static void nested_signals_do_not_recurse(void **state)
{
	/* Each callback signals the next fence: 200,000 levels would overflow a recursive design. */
	enum { N = 200000 };
	struct drm_fence **f = calloc(N, sizeof(*f));
	struct rec *r = calloc(N, sizeof(*r));
	int *log = calloc(N, sizeof(int)), n = 0;
	for (int i = 0; i < N; i++)
		f[i] = tf_new(drm_fence_context_alloc(1), 1);
	for (int i = 0; i < N; i++) {
		r[i] = (struct rec){.log = log, .n = &n, .id = i, .signal = i + 1 < N ? f[i + 1] : NULL};
		assert_int_equal(drm_fence_add_callback(f[i], &r[i].cb, rec_func), 0);
	}
	drm_fence_signal(f[0]);
	assert_int_equal(n, N);
	for (int i = 0; i < N; i++) {
		assert_int_equal(log[i], i);
		assert_true(f[i]->signaled);
	}
	for (int i = 0; i < N; i++)
		drm_fence_put(f[i]);
	free(f);
	free(r);
	free(log);
}

static void signaled_op_fallback(void **state)
{
	int log[4], n = 0;
	struct drm_fence *f = tf_new(drm_fence_context_alloc(1), 1);
	struct rec r = {.log = log, .n = &n, .id = 7};
	assert_int_equal(drm_fence_add_callback(f, &r.cb, rec_func), 0);
	assert_false(drm_fence_is_signaled(f));
	((struct tfence *)f)->hw_done = true; /* the GPU wrote the seqno; the interrupt got lost */
	assert_true(drm_fence_is_signaled(f));
	assert_true(f->signaled);
	assert_int_equal(n, 1);
	drm_fence_put(f);
}

static void stub_and_signaled(void **state)
{
	struct drm_fence *s = drm_fence_get_stub();
	assert_true(drm_fence_is_signaled(s));
	assert_ptr_equal(drm_fence_get_stub(), s);
	drm_fence_put(s);
	drm_fence_put(drm_fence_get(s));
	assert_true(s->signaled);
	assert_string_equal(drm_fence_driver_name(s), "stub");
	struct drm_fence *a = drm_fence_allocate_signaled(), *b = drm_fence_allocate_signaled();
	assert_true(a->signaled && b->signaled);
	assert_int_not_equal(a->context, b->context);
	assert_true(a->timestamp_ns > 0);
	struct drm_fence_cb cb;
	assert_int_equal(drm_fence_add_callback(a, &cb, NULL), -ENOENT);
	drm_fence_put(a);
	drm_fence_put(b);
}

/* ---- arrays ---- */

static void array_all_and_any(void **state)
{
	struct drm_fence *f[3];
	for (int i = 0; i < 3; i++)
		f[i] = tf_new(drm_fence_context_alloc(1), 1);
	struct drm_fence *in[3] = {drm_fence_get(f[0]), drm_fence_get(f[1]), drm_fence_get(f[2])};
	struct drm_fence *all = drm_fence_array_create(3, in, false);
	struct drm_fence *in2[3] = {drm_fence_get(f[0]), drm_fence_get(f[1]), drm_fence_get(f[2])};
	struct drm_fence *any = drm_fence_array_create(3, in2, true);
	assert_true(drm_fence_is_array(all));
	assert_int_equal(drm_fence_array_count(all), 3);
	assert_ptr_equal(drm_fence_array_fence(all, 2), f[2]);
	assert_string_equal(drm_fence_driver_name(all), "dma_fence_array");
	drm_fence_set_error(f[1], -EIO);
	drm_fence_signal(f[1]);
	assert_true(any->signaled);
	assert_int_equal(any->error, -EIO);
	assert_false(all->signaled);
	drm_fence_signal(f[2]);
	assert_false(all->signaled);
	drm_fence_signal(f[0]);
	assert_true(all->signaled);
	assert_int_equal(drm_fence_get_status(all), -EIO); /* the first error among them */
	drm_fence_put(all);
	drm_fence_put(any);
	for (int i = 0; i < 3; i++)
		drm_fence_put(f[i]);
	assert_null(drm_fence_array_create(0, in, false));
}

static void array_of_signaled_and_early_release(void **state)
{
	struct drm_fence *in[2] = {drm_fence_allocate_signaled(), drm_fence_get_stub()};
	struct drm_fence *a = drm_fence_array_create(2, in, false);
	assert_true(a->signaled);
	drm_fence_put(a);
	/* Released while pending: its callbacks leave the member, which signals later unharmed. */
	struct drm_fence *m = tf_new(drm_fence_context_alloc(1), 1);
	struct drm_fence *in2[1] = {drm_fence_get(m)};
	a = drm_fence_array_create(1, in2, false);
	assert_false(a->signaled);
	drm_fence_put(a);
	assert_null(m->cbs);
	drm_fence_signal(m);
	drm_fence_put(m);
}

/* ---- chains ---- */

static void chain_order_and_find(void **state)
{
	struct drm_fence *f[4];
	struct drm_fence *c[4] = {0};
	struct drm_fence *head = NULL;
	for (int i = 1; i <= 3; i++) {
		f[i] = tf_new(drm_fence_context_alloc(1), 1);
		head = drm_fence_chain_create(head, drm_fence_get(f[i]), (uint64_t)i);
		c[i] = drm_fence_get(head);
	}
	assert_true(drm_fence_is_chain(head));
	assert_int_equal(head->seqno, 3);
	assert_int_equal(c[1]->context, c[3]->context);
	assert_int_equal(drm_fence_chain_prev_seqno(c[3]), 2);
	assert_ptr_equal(drm_fence_chain_contained(c[2]), f[2]);

	struct drm_fence *p = drm_fence_get(head);
	assert_int_equal(drm_fence_chain_find_seqno(&p, 2), 0);
	assert_ptr_equal(p, c[2]);
	drm_fence_put(p);

	/* The newest fence signalling first signals nothing: points signal in order. */
	drm_fence_signal(f[3]);
	assert_false(c[3]->signaled);
	drm_fence_signal(f[2]);
	assert_false(c[2]->signaled || c[3]->signaled);
	/* Point 2 now only waits for link 1 (link 2's own fence is done, so it is collected). */
	p = drm_fence_get(head);
	assert_int_equal(drm_fence_chain_find_seqno(&p, 2), 0);
	assert_ptr_equal(p, c[1]);
	drm_fence_put(p);
	p = drm_fence_get(head);
	assert_int_equal(drm_fence_chain_find_seqno(&p, 4), -EINVAL); /* not reached */
	assert_ptr_equal(p, head);
	assert_int_equal(drm_fence_chain_find_seqno(&p, 0), 0);   /* point 0: the whole fence */
	assert_ptr_equal(p, head);
	drm_fence_put(p);

	drm_fence_signal(f[1]);
	assert_true(c[1]->signaled && c[2]->signaled && c[3]->signaled);
	/* Everything signalled and collected: point 1 is found as NULL (long signalled). */
	p = drm_fence_get(head);
	assert_int_equal(drm_fence_chain_find_seqno(&p, 1), 0);
	assert_null(p);
	p = drm_fence_get(f[1]);
	assert_int_equal(drm_fence_chain_find_seqno(&p, 1), -EINVAL); /* not a chain */
	drm_fence_put(p);
	for (int i = 1; i <= 3; i++) {
		drm_fence_put(c[i]);
		drm_fence_put(f[i]);
	}
	drm_fence_put(head);
}

static void chain_out_of_order_points(void **state)
{
	struct drm_fence *a = drm_fence_chain_create(NULL, drm_fence_get_stub(), 5);
	struct drm_fence *b = drm_fence_chain_create(drm_fence_get(a), drm_fence_get_stub(), 3);
	/* Backwards: a new context, and never numbered below its predecessor. */
	assert_int_not_equal(a->context, b->context);
	assert_int_equal(b->seqno, 5);
	assert_int_equal(drm_fence_chain_prev_seqno(b), 0);
	struct drm_fence *plain = tf_new(drm_fence_context_alloc(1), 9);
	struct drm_fence *c = drm_fence_chain_create(plain, drm_fence_get_stub(), 2);
	assert_int_equal(c->seqno, 2); /* after a non-chain fence the point is kept */
	assert_false(c->signaled);      /* it waits for the fence before it */
	drm_fence_signal(plain);
	assert_true(c->signaled);
	drm_fence_put(a);
	drm_fence_put(b);
	drm_fence_put(c);
}

static void chain_gc_bounds_a_long_timeline(void **state)
{
	/* A timeline of 10,000 points, each fence signalling once the next point exists. */
	struct drm_fence *head = NULL, *pending = NULL;
	for (int i = 1; i <= 10000; i++) {
		struct drm_fence *f = tf_new(drm_fence_context_alloc(1), 1);
		head = drm_fence_chain_create(head, drm_fence_get(f), (uint64_t)i);
		if (pending) {
			drm_fence_signal(pending);
			drm_fence_put(pending);
		}
		pending = f;
		assert_true(live <= 3);
	}
	assert_int_equal(head->seqno, 10000);
	assert_false(head->signaled);
	drm_fence_signal(pending);
	drm_fence_put(pending);
	assert_true(head->signaled);
	drm_fence_put(head);

	/* A long pending chain is freed link by link, not recursively. */
	head = NULL;
	struct drm_fence *keep = tf_new(drm_fence_context_alloc(1), 1);
	for (int i = 1; i <= 300000; i++)
		head = drm_fence_chain_create(head, drm_fence_get(keep), (uint64_t)i);
	drm_fence_put(head);
	assert_null(keep->cbs);
	drm_fence_put(keep);
}

/* ---- unwrap and merge ---- */

static void count_cb(struct drm_fence *f, void *data)
{
	(*(int *)data)++;
}

static void unwrap_and_merge(void **state)
{
	uint64_t c1 = drm_fence_context_alloc(1), c2 = drm_fence_context_alloc(1);
	struct drm_fence *a1 = tf_new(c1, 1), *a2 = tf_new(c1, 2), *b = tf_new(c2, 1);
	struct drm_fence *in[2] = {drm_fence_get(a1), drm_fence_get(b)};
	struct drm_fence *arr = drm_fence_array_create(2, in, false);
	struct drm_fence *ch = drm_fence_chain_create(NULL, drm_fence_get(arr), 1);
	ch = drm_fence_chain_create(ch, drm_fence_get(a2), 2);
	int n = 0;
	drm_fence_unwrap_for_each(ch, count_cb, &n);
	assert_int_equal(n, 3); /* a2, then a1 and b inside the array */

	/* The later of a context survives; one left is returned itself. */
	struct drm_fence *two[2] = {ch, a1};
	struct drm_fence *m = drm_fence_unwrap_merge(2, two);
	assert_true(drm_fence_is_array(m));
	assert_int_equal(drm_fence_array_count(m), 2);
	assert_ptr_equal(drm_fence_array_fence(m, 0), a2);
	assert_ptr_equal(drm_fence_array_fence(m, 1), b);
	struct drm_fence *one[1] = {a1};
	struct drm_fence *m1 = drm_fence_unwrap_merge(1, one);
	assert_ptr_equal(m1, a1);
	drm_fence_put(m1);

	/* All signalled: a signalled fence carrying the latest signal time. */
	drm_fence_signal(a1);
	drm_fence_signal(b);
	drm_fence_signal(a2);
	struct drm_fence *m2 = drm_fence_unwrap_merge(2, two);
	assert_true(m2->signaled);
	assert_int_equal(m2->timestamp_ns, a2->timestamp_ns);
	assert_true(m->signaled);
	drm_fence_put(m2);
	drm_fence_put(m);
	drm_fence_put(ch);
	drm_fence_put(arr);
	drm_fence_put(a1);
	drm_fence_put(a2);
	drm_fence_put(b);
}

#define T(f) cmocka_unit_test_setup_teardown(f, reset_live, check_live)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(signal_once_status_timestamp),
		T(contexts_and_later),
		T(callbacks_in_order_add_remove),
		T(callback_drops_last_references),
		T(callback_removes_sibling),
		T(nested_signals_do_not_recurse),
		T(signaled_op_fallback),
		T(stub_and_signaled),
		T(array_all_and_any),
		T(array_of_signaled_and_early_release),
		T(chain_order_and_find),
		T(chain_out_of_order_points),
		T(chain_gc_bounds_a_long_timeline),
		T(unwrap_and_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
