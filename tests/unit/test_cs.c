/* The scheduler (cs/) against a fake ring whose hardware fences the tests signal, and GEM implicit sync. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "redox-drm/cs.h"
#include "redox-drm/driver.h"
#include "redox-drm/fence.h"
#include "redox-drm/gem.h"
#include "redox-drm/loop.h"

#define MAX_LOG 64

/* ---- the fake ring ---- */

struct ring {
	struct cs_sched sched;
	struct event_loop *loop;
	uint64_t hw_context;
	uint64_t hw_seqno;
	/* hardware fences not yet signalled by the ring, oldest first */
	struct drm_fence *hw[MAX_LOG];
	unsigned int nhw;
	bool immediate;     /* signal the hardware fence inside run_job */
	bool no_fence;      /* run_job hands back no hardware fence */
	int run_error;      /* run_job fails with this */
	enum cs_timeout_status answer;
	bool signal_in_timeout; /* the "hung" job completes while the driver looks */
	int ids_run[MAX_LOG], nrun;
	int ids_freed[MAX_LOG];
	unsigned int nfreed_total, nrun_total, ntimedout;
	int timedout_id;
};

struct tjob {
	struct cs_job base;
	struct ring *ring;
	int id;
};

static const char *hw_name(struct drm_fence *f)
{
	return "fake-hw";
}

static const struct drm_fence_ops hw_ops = {.driver_name = hw_name, .timeline_name = hw_name};

/* A fence whose interrupt was lost: only asking the hardware finds it done. */
static bool polled_done(struct drm_fence *f)
{
	return true;
}

static const struct drm_fence_ops polled_ops = {.driver_name = hw_name, .timeline_name = hw_name, .signaled = polled_done};

static struct drm_fence *plain_fence(void)
{
	struct drm_fence *f = malloc(sizeof(*f));
	drm_fence_init(f, &hw_ops, drm_fence_context_alloc(1), 1);
	return f;
}

static int fake_run(struct cs_job *job, struct drm_fence **hw_fence)
{
	struct tjob *t = (struct tjob *)job;
	struct ring *r = t->ring;
	if (r->nrun < MAX_LOG)
		r->ids_run[r->nrun++] = t->id;
	r->nrun_total++;
	if (r->run_error)
		return r->run_error;
	if (r->no_fence)
		return 0;
	struct drm_fence *f = malloc(sizeof(*f));
	drm_fence_init(f, &hw_ops, r->hw_context, ++r->hw_seqno);
	if (r->immediate) {
		drm_fence_signal(f);
	} else {
		assert_true(r->nhw < MAX_LOG);
		r->hw[r->nhw++] = drm_fence_get(f);
	}
	*hw_fence = f;
	return 0;
}

/* The ring completes its oldest outstanding fence (with error, if any). */
static void ring_retire(struct ring *r, int error)
{
	assert_true(r->nhw > 0);
	struct drm_fence *f = r->hw[0];
	memmove(r->hw, r->hw + 1, --r->nhw * sizeof(r->hw[0]));
	if (error)
		drm_fence_set_error(f, error);
	drm_fence_signal(f);
	drm_fence_put(f);
}

/* A reset: the ring forgets what it had outstanding, completing it with -ECANCELED (nobody listens). */
static void ring_forget(struct ring *r)
{
	while (r->nhw)
		ring_retire(r, -ECANCELED);
}

static enum cs_timeout_status fake_timedout(struct cs_job *job)
{
	struct ring *r = ((struct tjob *)job)->ring;
	r->ntimedout++;
	r->timedout_id = ((struct tjob *)job)->id;
	if (r->answer == CS_TIMEOUT_RESET)
		ring_forget(r);
	else if (r->signal_in_timeout)
		ring_retire(r, 0);
	return r->answer;
}

static void fake_free(struct cs_job *job)
{
	struct tjob *t = (struct tjob *)job;
	struct ring *r = t->ring;
	if (r->nfreed_total < MAX_LOG)
		r->ids_freed[r->nfreed_total] = t->id;
	r->nfreed_total++;
	free(t);
}

static const struct cs_sched_ops fake_ops = {
	.run_job = fake_run,
	.timedout_job = fake_timedout,
	.free_job = fake_free,
};

static struct ring *ring_create(unsigned int credits, uint64_t timeout_ns)
{
	struct ring *r = calloc(1, sizeof(*r));
	r->loop = event_loop_create();
	r->hw_context = drm_fence_context_alloc(1);
	assert_int_equal(cs_sched_init(&r->sched, &fake_ops, r->loop, "fake-ring", credits, timeout_ns), 0);
	return r;
}

static void ring_destroy(struct ring *r)
{
	cs_sched_fini(&r->sched);
	for (unsigned int i = 0; i < r->nhw; i++)
		drm_fence_put(r->hw[i]);
	event_loop_destroy(r->loop);
	free(r);
}

static struct tjob *job_new(struct ring *r, struct cs_entity *e, int id)
{
	struct tjob *t = calloc(1, sizeof(*t));
	cs_job_init(&t->base, e);
	t->ring = r;
	t->id = id;
	return t;
}

/* Pushes a job with the given dependencies (references taken); returns its finished fence (a reference). */
static struct drm_fence *submit(struct ring *r, struct cs_entity *e, int id, unsigned int ndeps, struct drm_fence **deps)
{
	struct tjob *t = job_new(r, e, id);
	for (unsigned int i = 0; i < ndeps; i++)
		assert_int_equal(cs_job_add_dependency(&t->base, drm_fence_get(deps[i])), 0);
	assert_int_equal(cs_job_arm(&t->base), 0);
	struct drm_fence *f = drm_fence_get(t->base.finished);
	cs_entity_push_job(&t->base);
	return f;
}

static void assert_status(struct drm_fence *f, int status)
{
	assert_int_equal(drm_fence_get_status(f), status);
}

static void put_all(struct drm_fence **f, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		drm_fence_put(f[i]);
}

/* ---- tests ---- */

static void runs_in_order_with_finished_fences(void **state)
{
	struct ring *r = ring_create(1, 0);
	struct cs_entity e;
	cs_entity_init(&e, &r->sched, CS_PRIORITY_NORMAL, NULL);
	struct drm_fence *f[5];
	for (int i = 0; i < 5; i++)
		f[i] = submit(r, &e, i + 1, 0, NULL);
	assert_int_equal(r->nrun, 1);
	for (int i = 0; i < 5; i++) {
		assert_true(cs_fence_is_sched(f[i]));
		assert_int_equal(f[i]->context, e.fence_context);
		assert_int_equal(f[i]->seqno, (uint64_t)i + 1);
		assert_string_equal(drm_fence_driver_name(f[i]), "cs");
		assert_string_equal(drm_fence_timeline_name(f[i]), "fake-ring");
	}
	assert_ptr_equal(e.last_scheduled, f[4]);
	for (int i = 0; i < 5; i++) {
		assert_status(f[i], 0);
		assert_false(cs_fence_is_sched(r->hw[0]));
		ring_retire(r, i == 2 ? -EIO : 0);
		assert_status(f[i], i == 2 ? -EIO : 1); /* the hardware fence's error is copied */
	}
	for (int i = 0; i < 5; i++) {
		assert_int_equal(r->ids_run[i], i + 1);
		assert_int_equal(r->ids_freed[i], i + 1);
	}
	cs_entity_fini(&e);
	put_all(f, 5);
	ring_destroy(r);
}

static void synchronous_completion_and_run_errors(void **state)
{
	struct ring *r = ring_create(2, 0);
	r->immediate = true;
	struct cs_entity e;
	cs_entity_init(&e, &r->sched, CS_PRIORITY_NORMAL, NULL);
	struct drm_fence *f[40];
	for (int i = 0; i < 40; i++)
		f[i] = submit(r, &e, i, 0, NULL);
	for (int i = 0; i < 40; i++) {
		assert_status(f[i], 1);
		assert_int_equal(r->ids_run[i], i);
	}
	assert_int_equal(r->nfreed_total, 40);
	assert_int_equal(r->sched.in_flight, 0);
	/* run_job without a hardware fence: done at once. */
	r->no_fence = true;
	struct drm_fence *nf = submit(r, &e, 98, 0, NULL);
	assert_status(nf, 1);
	drm_fence_put(nf);
	r->no_fence = false;
	r->run_error = -ENOSPC;
	struct drm_fence *bad = submit(r, &e, 99, 0, NULL);
	assert_status(bad, -ENOSPC);
	assert_int_equal(r->nfreed_total, 42);
	cs_entity_fini(&e);
	put_all(f, 40);
	drm_fence_put(bad);
	ring_destroy(r);
}

static void dependencies(void **state)
{
	struct ring *r = ring_create(4, 0);
	r->immediate = true;
	struct cs_entity a, b;
	cs_entity_init(&a, &r->sched, CS_PRIORITY_NORMAL, NULL);
	cs_entity_init(&b, &r->sched, CS_PRIORITY_NORMAL, NULL);

	struct drm_fence *dep = plain_fence();
	struct drm_fence *fa1 = submit(r, &a, 1, 1, &dep);
	struct drm_fence *fa2 = submit(r, &a, 2, 0, NULL); /* FIFO: behind a1 though it has no dependency */
	struct drm_fence *fb1 = submit(r, &b, 3, 0, NULL); /* another entity is not held up */
	assert_int_equal(r->nrun, 1);
	assert_int_equal(r->ids_run[0], 3);
	assert_status(fa1, 0);
	assert_status(fa2, 0);
	assert_status(fb1, 1);
	/* A dependency that fails does not fail the job. */
	drm_fence_set_error(dep, -EIO);
	drm_fence_signal(dep);
	assert_int_equal(r->nrun, 3);
	assert_int_equal(r->ids_run[1], 1);
	assert_int_equal(r->ids_run[2], 2);
	assert_status(fa1, 1);
	assert_status(fa2, 1);

	/* Already signalled: runs at once. Several on one context: only the latest counts. */
	struct drm_fence *done = drm_fence_allocate_signaled();
	struct drm_fence *fa3 = submit(r, &a, 4, 1, &done);
	assert_status(fa3, 1);
	struct drm_fence *p1 = plain_fence(), *p2 = plain_fence();
	p2->context = p1->context;
	p2->seqno = 2;
	struct drm_fence *both[3] = {p1, p2, fb1};
	struct drm_fence *fa4 = submit(r, &a, 5, 3, both);
	assert_status(fa4, 0);
	drm_fence_signal(p2); /* the later point of the timeline */
	assert_status(fa4, 1);
	assert_int_equal(r->nrun, 5);
	drm_fence_signal(p1);

	/* A job waiting on a dependency fence whose last other reference goes: the job keeps it alive. */
	struct drm_fence *lone = plain_fence();
	struct drm_fence *fb2 = submit(r, &b, 6, 1, &lone);
	drm_fence_put(lone);
	assert_status(fb2, 0);
	cs_entity_fini(&b); /* queued: fails, and its dependency callback is gone */
	assert_status(fb2, -ESRCH);

	cs_entity_fini(&a);
	struct drm_fence *all[] = {dep, fa1, fa2, fb1, done, fa3, p1, p2, fa4, fb2};
	put_all(all, 10);
	ring_destroy(r);
}

static void credits_limit_the_ring(void **state)
{
	struct ring *r = ring_create(2, 0);
	struct cs_entity e;
	cs_entity_init(&e, &r->sched, CS_PRIORITY_NORMAL, NULL);
	struct drm_fence *f[5];
	for (int i = 0; i < 5; i++)
		f[i] = submit(r, &e, i, 0, NULL);
	assert_int_equal(r->nrun, 2);
	assert_int_equal(r->sched.in_flight, 2);
	ring_retire(r, 0);
	assert_int_equal(r->nrun, 3);
	assert_int_equal(r->sched.in_flight, 2);
	while (r->nhw)
		ring_retire(r, 0);
	assert_int_equal(r->nrun, 5);
	for (int i = 0; i < 5; i++)
		assert_status(f[i], 1);
	cs_entity_fini(&e);
	put_all(f, 5);
	ring_destroy(r);
}

static void priority_and_round_robin(void **state)
{
	struct ring *r = ring_create(1, 0);
	struct cs_entity a, b, h, c;
	cs_entity_init(&a, &r->sched, CS_PRIORITY_NORMAL, NULL);
	cs_entity_init(&b, &r->sched, CS_PRIORITY_NORMAL, NULL);
	cs_entity_init(&h, &r->sched, CS_PRIORITY_HIGH, NULL);
	cs_entity_init(&c, &r->sched, CS_PRIORITY_MIN, NULL);
	struct drm_fence *f[9];
	f[0] = submit(r, &a, 0, 0, NULL); /* occupies the ring */
	f[1] = submit(r, &c, 10, 0, NULL);
	f[2] = submit(r, &a, 1, 0, NULL);
	f[3] = submit(r, &a, 2, 0, NULL);
	f[4] = submit(r, &b, 3, 0, NULL);
	f[5] = submit(r, &b, 4, 0, NULL);
	f[6] = submit(r, &h, 5, 0, NULL);
	while (r->nhw)
		ring_retire(r, 0);
	/* High first, then a and b taking turns, the low priority one last. */
	int want[] = {0, 5, 1, 3, 2, 4, 10};
	assert_int_equal(r->nrun, 7);
	for (int i = 0; i < 7; i++)
		assert_int_equal(r->ids_run[i], want[i]);

	/* set_priority takes effect for the next pick. */
	r->nrun = 0;
	f[7] = submit(r, &a, 20, 0, NULL); /* occupies the ring */
	f[8] = submit(r, &a, 21, 0, NULL);
	struct drm_fence *g = submit(r, &c, 22, 0, NULL);
	cs_entity_set_priority(&c, CS_PRIORITY_KERNEL);
	while (r->nhw)
		ring_retire(r, 0);
	assert_int_equal(r->ids_run[0], 20);
	assert_int_equal(r->ids_run[1], 22);
	assert_int_equal(r->ids_run[2], 21);
	for (int i = 0; i < 9; i++)
		assert_status(f[i], 1);
	assert_status(g, 1);
	cs_entity_fini(&a);
	cs_entity_fini(&b);
	cs_entity_fini(&h);
	cs_entity_fini(&c);
	put_all(f, 9);
	drm_fence_put(g);
	ring_destroy(r);
}

static void run_loop_until(struct ring *r, unsigned int *counter, unsigned int value)
{
	for (int i = 0; i < 500 && *counter < value; i++)
		event_loop_dispatch(r->loop, 100);
	assert_true(*counter >= value);
}

static void timeout_nominal(void **state)
{
	struct ring *r = ring_create(2, 20 * 1000000ull);
	r->answer = CS_TIMEOUT_NOMINAL;
	struct cs_entity e;
	cs_entity_init(&e, &r->sched, CS_PRIORITY_NORMAL, NULL);
	struct drm_fence *f1 = submit(r, &e, 1, 0, NULL);
	struct drm_fence *f2 = submit(r, &e, 2, 0, NULL);
	run_loop_until(r, &r->ntimedout, 1);
	assert_int_equal(r->timedout_id, 1);
	/* Not hung: still waited for, and the timer runs again. */
	assert_status(f1, 0);
	ring_retire(r, 0);
	assert_status(f1, 1);
	/* The job completes while the driver looks: handled on return. */
	r->signal_in_timeout = true;
	run_loop_until(r, &r->ntimedout, 2);
	assert_int_equal(r->timedout_id, 2);
	assert_status(f2, 1);
	assert_int_equal(r->sched.hang_count, 0);
	assert_int_equal(r->nrun_total, 2);
	assert_false(cs_entity_is_guilty(&e));
	cs_entity_fini(&e);
	drm_fence_put(f1);
	drm_fence_put(f2);
	ring_destroy(r);
}

static void timeout_reset(void **state)
{
	struct ring *r = ring_create(3, 20 * 1000000ull);
	r->answer = CS_TIMEOUT_RESET;
	bool ctx_guilty = false;
	struct cs_entity a, a2, b;
	cs_entity_init(&a, &r->sched, CS_PRIORITY_NORMAL, &ctx_guilty);
	cs_entity_init(&a2, &r->sched, CS_PRIORITY_NORMAL, &ctx_guilty); /* same context, another entity */
	cs_entity_init(&b, &r->sched, CS_PRIORITY_NORMAL, NULL);
	struct drm_fence *a1 = submit(r, &a, 1, 0, NULL); /* hangs */
	struct drm_fence *b1 = submit(r, &b, 2, 0, NULL); /* innocent, on the ring */
	struct drm_fence *a_2 = submit(r, &a, 3, 0, NULL); /* the guilty entity's, on the ring */
	struct drm_fence *a3 = submit(r, &a, 4, 0, NULL); /* queued */
	struct drm_fence *c1 = submit(r, &a2, 5, 0, NULL); /* queued on the context's other entity */
	struct drm_fence *b2 = submit(r, &b, 6, 0, NULL); /* queued, innocent */
	assert_int_equal(r->nrun, 3);
	run_loop_until(r, &r->ntimedout, 1);
	assert_int_equal(r->timedout_id, 1);
	assert_status(a1, -ETIME);
	assert_status(a_2, -ECANCELED);
	assert_status(a3, -ECANCELED);
	assert_status(c1, -ECANCELED);
	assert_true(ctx_guilty);
	assert_true(cs_entity_is_guilty(&a));
	assert_true(cs_entity_is_guilty(&a2));
	assert_false(cs_entity_is_guilty(&b));
	assert_int_equal(r->sched.hang_count, 1);
	/* b1 ran again, then b2 was picked; the guilty entities' queued jobs never ran. */
	int want[] = {1, 2, 3, 2, 6};
	assert_int_equal(r->nrun, 5);
	for (int i = 0; i < 5; i++)
		assert_int_equal(r->ids_run[i], want[i]);
	assert_status(b1, 0);
	ring_retire(r, 0);
	assert_status(b1, 1);
	ring_retire(r, 0);
	assert_status(b2, 1);
	/* Later jobs of a guilty entity fail without running. */
	struct drm_fence *a4 = submit(r, &a, 7, 0, NULL);
	assert_status(a4, -ECANCELED);
	assert_int_equal(r->nrun, 5);
	assert_int_equal(r->nfreed_total, 7);
	cs_entity_fini(&a);
	cs_entity_fini(&a2);
	cs_entity_fini(&b);
	struct drm_fence *all[] = {a1, b1, a_2, a3, c1, b2, a4};
	put_all(all, 7);
	ring_destroy(r);
}

/* Jobs whose entities are gone: the hung one is still guilty, an innocent one runs again. */
static void timeout_reset_without_entities(void **state)
{
	struct ring *r = ring_create(2, 20 * 1000000ull);
	r->answer = CS_TIMEOUT_RESET;
	struct cs_entity a, b;
	cs_entity_init(&a, &r->sched, CS_PRIORITY_NORMAL, NULL);
	cs_entity_init(&b, &r->sched, CS_PRIORITY_NORMAL, NULL);
	struct drm_fence *fa = submit(r, &a, 1, 0, NULL);
	struct drm_fence *fb = submit(r, &b, 2, 0, NULL);
	/* A job on another ring waits for b's: dependencies across schedulers. */
	struct ring *r2 = ring_create(1, 0);
	struct cs_entity c;
	cs_entity_init(&c, &r2->sched, CS_PRIORITY_NORMAL, NULL);
	struct drm_fence *fc = submit(r2, &c, 3, 1, &fb);
	assert_int_equal(r2->nrun, 0);
	cs_entity_fini(&a);
	cs_entity_fini(&b);
	run_loop_until(r, &r->ntimedout, 1);
	assert_status(fa, -ETIME);
	assert_int_equal(r->nrun, 3);
	assert_int_equal(r->ids_run[2], 2);
	assert_int_equal(r->sched.hang_count, 1);
	ring_retire(r, 0);
	assert_status(fb, 1);
	assert_int_equal(r2->nrun, 1);
	ring_retire(r2, 0);
	assert_status(fc, 1);
	cs_entity_fini(&c);
	struct drm_fence *all[] = {fa, fb, fc};
	put_all(all, 3);
	ring_destroy(r2);
	ring_destroy(r);
}

/* The guilty job's fence callback tears down an innocent entity that has a job on the ring. */
struct teardown {
	struct drm_fence_cb cb;
	struct cs_entity *e;
};

static void teardown_cb(struct drm_fence *f, struct drm_fence_cb *cb)
{
	struct teardown *t = (struct teardown *)cb;
	cs_entity_fini(t->e);
	free(t->e);
	t->e = NULL;
}

static void reset_callbacks_may_finalise_entities(void **state)
{
	struct ring *r = ring_create(3, 20 * 1000000ull);
	r->answer = CS_TIMEOUT_RESET;
	struct cs_entity a, *b = malloc(sizeof(*b));
	cs_entity_init(&a, &r->sched, CS_PRIORITY_NORMAL, NULL);
	cs_entity_init(b, &r->sched, CS_PRIORITY_NORMAL, NULL);
	struct drm_fence *fa = submit(r, &a, 1, 0, NULL);
	struct drm_fence *fb1 = submit(r, b, 2, 0, NULL);
	struct drm_fence *fa2 = submit(r, &a, 3, 0, NULL);
	struct drm_fence *fb2 = submit(r, b, 4, 0, NULL);
	struct teardown t = {.e = b};
	assert_int_equal(drm_fence_add_callback(fa, &t.cb, teardown_cb), 0);
	run_loop_until(r, &r->ntimedout, 1);
	assert_null(t.e);
	assert_status(fa, -ETIME);
	assert_status(fa2, -ECANCELED);
	/* b's job on the ring ran again without its entity; b's queued job went with it. */
	assert_int_equal(r->nrun, 4);
	assert_int_equal(r->ids_run[3], 2);
	assert_status(fb2, -ESRCH);
	ring_retire(r, 0);
	assert_status(fb1, 1);
	cs_entity_fini(&a);
	struct drm_fence *all[] = {fa, fb1, fa2, fb2};
	put_all(all, 4);
	ring_destroy(r);
}

static void entity_fini_fails_queued_jobs(void **state)
{
	struct ring *r = ring_create(1, 0);
	struct cs_entity *e = malloc(sizeof(*e));
	cs_entity_init(e, &r->sched, CS_PRIORITY_NORMAL, NULL);
	struct drm_fence *dep = plain_fence();
	struct drm_fence *f1 = submit(r, e, 1, 0, NULL);
	struct drm_fence *f2 = submit(r, e, 2, 1, &dep);
	struct drm_fence *f3 = submit(r, e, 3, 0, NULL);
	cs_entity_fini(e);
	free(e); /* the owner is gone for good */
	assert_status(f2, -ESRCH);
	assert_status(f3, -ESRCH);
	assert_int_equal(r->nfreed_total, 2);
	assert_null(r->sched.pending_head->entity);
	ring_retire(r, 0);
	assert_status(f1, 1);
	assert_int_equal(r->nrun, 1);
	assert_int_equal(r->nfreed_total, 3);
	drm_fence_signal(dep); /* nobody listens any more */
	struct drm_fence *all[] = {dep, f1, f2, f3};
	put_all(all, 4);
	ring_destroy(r);
}

static void sched_fini_fails_everything(void **state)
{
	struct ring *r = ring_create(2, 1000000000ull);
	struct cs_entity a, b;
	cs_entity_init(&a, &r->sched, CS_PRIORITY_NORMAL, NULL);
	cs_entity_init(&b, &r->sched, CS_PRIORITY_HIGH, NULL);
	struct drm_fence *dep = plain_fence();
	struct drm_fence *f[5];
	f[0] = submit(r, &a, 1, 0, NULL);
	f[1] = submit(r, &a, 2, 0, NULL);
	f[2] = submit(r, &a, 3, 0, NULL);
	f[3] = submit(r, &b, 4, 1, &dep);
	cs_sched_fini(&r->sched);
	assert_status(f[0], -ECANCELED);
	assert_status(f[1], -ECANCELED);
	assert_status(f[2], -ESRCH);
	assert_status(f[3], -ESRCH);
	assert_int_equal(r->nfreed_total, 4);
	f[4] = submit(r, &b, 5, 0, NULL); /* too late */
	assert_status(f[4], -ESRCH);
	assert_int_equal(r->nrun, 2);
	cs_entity_fini(&a);
	cs_entity_fini(&b);
	ring_forget(r); /* the hardware fences have no listeners left */
	drm_fence_signal(dep);
	put_all(f, 5);
	drm_fence_put(dep);
	ring_destroy(r);
}

/* While the scheduler goes, a failing job's callback ends another entity with queued jobs. */
static void sched_fini_callbacks_may_finalise_entities(void **state)
{
	struct ring *r = ring_create(1, 0);
	struct cs_entity a, *b = malloc(sizeof(*b));
	cs_entity_init(&a, &r->sched, CS_PRIORITY_NORMAL, NULL);
	cs_entity_init(b, &r->sched, CS_PRIORITY_NORMAL, NULL);
	struct drm_fence *f0 = submit(r, &a, 0, 0, NULL); /* on the ring */
	struct drm_fence *fa = submit(r, &a, 1, 0, NULL);
	struct drm_fence *fb = submit(r, b, 2, 0, NULL);
	struct teardown t = {.e = b};
	assert_int_equal(drm_fence_add_callback(fa, &t.cb, teardown_cb), 0);
	cs_sched_fini(&r->sched);
	assert_null(t.e);
	assert_status(f0, -ECANCELED);
	assert_status(fa, -ESRCH);
	assert_status(fb, -ESRCH);
	assert_int_equal(r->nfreed_total, 3);
	cs_entity_fini(&a);
	ring_forget(r);
	struct drm_fence *all[] = {f0, fa, fb};
	put_all(all, 3);
	ring_destroy(r);
}

static void never_pushed_jobs_clean_up(void **state)
{
	struct ring *r = ring_create(1, 0);
	struct cs_entity e;
	cs_entity_init(&e, &r->sched, CS_PRIORITY_NORMAL, NULL);
	struct drm_fence *dep = plain_fence();
	struct tjob *t = job_new(r, &e, 1);
	assert_int_equal(cs_job_add_dependency(&t->base, drm_fence_get(dep)), 0);
	cs_job_cleanup(&t->base);
	free(t);
	assert_int_equal(dep->refcount, 1);

	t = job_new(r, &e, 2);
	assert_int_equal(cs_job_add_dependency(&t->base, drm_fence_get(dep)), 0);
	assert_int_equal(cs_job_arm(&t->base), 0);
	struct drm_fence *fin = drm_fence_get(t->base.finished);
	cs_job_cleanup(&t->base);
	free(t);
	assert_status(fin, -ECANCELED); /* whoever holds it does not wait forever */
	assert_int_equal(fin->refcount, 1);
	assert_int_equal(r->nrun, 0);
	assert_int_equal(r->nfreed_total, 0);
	cs_entity_fini(&e);
	drm_fence_put(fin);
	drm_fence_put(dep);
	ring_destroy(r);
}

/* A finished fence's callback pushes the next job: the scheduler takes it without nesting. */
struct chain {
	struct drm_fence_cb cb;
	struct ring *r;
	struct cs_entity *e;
	int left;
	struct drm_fence *last;
};

static void chain_cb(struct drm_fence *f, struct drm_fence_cb *cb)
{
	struct chain *c = (struct chain *)cb;
	while (c->left > 0) {
		c->left--;
		drm_fence_put(c->last);
		c->last = submit(c->r, c->e, c->left, 0, NULL);
		/* Already done (the ring completed it inside run_job): go on from here. */
		if (drm_fence_add_callback(c->last, &c->cb, chain_cb) == 0)
			return;
	}
}

static void callbacks_push_jobs(void **state)
{
	struct ring *r = ring_create(1, 0);
	r->immediate = true;
	struct cs_entity e;
	cs_entity_init(&e, &r->sched, CS_PRIORITY_NORMAL, NULL);
	r->immediate = false;
	struct chain c = {.r = r, .e = &e, .left = 1000};
	c.last = submit(r, &e, 1000, 0, NULL);
	drm_fence_add_callback(c.last, &c.cb, chain_cb);
	r->immediate = true;
	ring_retire(r, 0);
	assert_int_equal(c.left, 0);
	assert_int_equal(r->nrun_total, 1001);
	assert_int_equal(r->nfreed_total, 1001);
	assert_status(c.last, 1);
	drm_fence_put(c.last);
	cs_entity_fini(&e);
	ring_destroy(r);
}

/* Many jobs, some completing inside run_job, the rest from timers on the loop. */
struct retire_timer {
	struct ring *r;
	unsigned int *fired;
};

static void retire_from_loop(void *data)
{
	struct retire_timer *t = data;
	while (t->r->nhw)
		ring_retire(t->r, 0);
	(*t->fired)++;
}

static void ten_thousand_jobs(void **state)
{
	enum { N = 10000 };
	struct ring *r = ring_create(4, 5000000000ull);
	struct cs_entity e[3];
	for (int i = 0; i < 3; i++)
		cs_entity_init(&e[i], &r->sched, (enum cs_priority)i, NULL);
	struct drm_fence **f = calloc(N, sizeof(*f));
	unsigned int fired = 0;
	struct retire_timer rt = {r, &fired};
	for (int i = 0; i < N; i++) {
		r->immediate = i % 3 == 0;
		struct drm_fence *dep = i ? f[i - 1] : NULL;
		f[i] = submit(r, &e[i % 3], i, dep ? 1 : 0, &dep);
		if (i % 50 == 49) {
			unsigned int want = fired + 1;
			event_loop_add_timer(r->loop, monotonic_ns(), retire_from_loop, &rt);
			run_loop_until(r, &fired, want);
		}
	}
	while (r->sched.in_flight || r->nhw) {
		unsigned int want = fired + 1;
		event_loop_add_timer(r->loop, monotonic_ns(), retire_from_loop, &rt);
		run_loop_until(r, &fired, want);
	}
	for (int i = 0; i < N; i++)
		assert_status(f[i], 1);
	assert_int_equal(r->nrun_total, N);
	assert_int_equal(r->nfreed_total, N);
	/* Each job depended on the one before: they ran in push order across the entities. */
	for (int i = 0; i < MAX_LOG; i++)
		assert_int_equal(r->ids_run[i], i);
	for (int i = 0; i < 3; i++)
		cs_entity_fini(&e[i]);
	for (int i = 0; i < N; i++) {
		assert_int_equal(f[i]->refcount, 1);
		drm_fence_put(f[i]);
	}
	free(f);
	ring_destroy(r);
}

static void init_checks(void **state)
{
	struct cs_sched s;
	struct event_loop *loop = event_loop_create();
	assert_int_equal(cs_sched_init(&s, &fake_ops, loop, "x", 0, 0), -EINVAL);
	assert_int_equal(cs_sched_init(&s, NULL, loop, "x", 1, 0), -EINVAL);
	assert_int_equal(cs_sched_init(&s, &fake_ops, NULL, "x", 1, 0), -EINVAL);
	event_loop_destroy(loop);
}

/* ---- implicit sync ---- */

static void count_fn(struct drm_fence *f, bool write, void *data)
{
	unsigned int *c = data;
	c[0]++;
	c[1] += write;
}

/* How many fences the object still records (or how many of them write). */
static unsigned int count_resv(struct drm_gem_object *obj, bool writes)
{
	unsigned int c[2] = {0, 0};
	drm_gem_resv_for_each(obj, count_fn, c);
	return c[writes];
}

static void resv_tracks_pending_fences(void **state)
{
	struct drm_device *dev = test_device_create(DRIVER_GEM);
	struct drm_gem_object *obj = drm_gem_object_create(dev, 4096);
	int err = 1;
	assert_null(drm_gem_resv_get_fence(obj, false, &err));
	assert_int_equal(err, 0);
	assert_false(drm_gem_resv_busy(obj, false));

	struct drm_fence *r1 = plain_fence(), *w1 = plain_fence(), *r2 = plain_fence();
	assert_int_equal(drm_gem_resv_add_fence(obj, r1, false), 0);
	assert_true(drm_gem_resv_busy(obj, false));
	assert_false(drm_gem_resv_busy(obj, true));
	assert_null(drm_gem_resv_get_fence(obj, true, &err));
	assert_int_equal(drm_gem_resv_add_fence(obj, w1, true), 0);
	assert_int_equal(drm_gem_resv_add_fence(obj, r2, false), 0);
	assert_int_equal(count_resv(obj, false), 3);
	assert_int_equal(count_resv(obj, true), 1);
	assert_int_equal(r1->refcount, 2);

	/* Writers only: that one fence itself. */
	struct drm_fence *g = drm_gem_resv_get_fence(obj, true, &err);
	assert_ptr_equal(g, w1);
	drm_fence_put(g);
	/* Everything: signals when all have, with the first error. */
	g = drm_gem_resv_get_fence(obj, false, &err);
	assert_non_null(g);
	assert_true(drm_fence_is_array(g));
	drm_fence_signal(r1);
	drm_fence_set_error(w1, -EIO);
	drm_fence_signal(w1);
	assert_status(g, 0);
	assert_false(drm_gem_resv_busy(obj, true));
	assert_int_equal(count_resv(obj, false), 1); /* signalled ones were dropped */
	assert_int_equal(r1->refcount, 2);           /* r1: the array's and ours */
	drm_fence_signal(r2);
	assert_status(g, -EIO);
	drm_fence_put(g);
	assert_false(drm_gem_resv_busy(obj, false));
	assert_int_equal(r1->refcount, 1);

	/* A later fence of the same timeline replaces the earlier; a read does not replace a write. */
	struct drm_fence *t1 = plain_fence(), *t2 = plain_fence(), *t3 = plain_fence();
	t2->context = t3->context = t1->context;
	t2->seqno = 2;
	t3->seqno = 3;
	assert_int_equal(drm_gem_resv_add_fence(obj, t1, true), 0);
	assert_int_equal(drm_gem_resv_add_fence(obj, t2, false), 0);
	assert_int_equal(count_resv(obj, false), 2);
	assert_int_equal(count_resv(obj, true), 1);
	assert_int_equal(drm_gem_resv_add_fence(obj, t1, false), 0); /* the same fence again: nothing new */
	assert_int_equal(count_resv(obj, false), 2);
	assert_int_equal(count_resv(obj, true), 1);
	assert_int_equal(drm_gem_resv_add_fence(obj, t3, true), 0); /* covers both */
	assert_int_equal(count_resv(obj, false), 1);
	assert_int_equal(count_resv(obj, true), 1);
	assert_int_equal(t1->refcount, 1);
	assert_int_equal(t2->refcount, 1);
	assert_int_equal(drm_gem_resv_add_fence(obj, drm_fence_get_stub(), true), 0); /* signalled: ignored */
	assert_int_equal(count_resv(obj, false), 1);

	/* A scheduler's finished fence works like any other. */
	struct ring *r = ring_create(1, 0);
	struct cs_entity e;
	cs_entity_init(&e, &r->sched, CS_PRIORITY_NORMAL, NULL);
	struct drm_fence *fin = submit(r, &e, 1, 0, NULL);
	assert_int_equal(drm_gem_resv_add_fence(obj, fin, true), 0);
	assert_int_equal(count_resv(obj, true), 2);
	ring_retire(r, 0);
	assert_int_equal(count_resv(obj, true), 1);

	/* busy asks the hardware: a fence whose interrupt was lost does not keep the object busy. */
	struct drm_fence *lost = plain_fence();
	lost->ops = &polled_ops;
	assert_int_equal(drm_gem_resv_add_fence(obj, lost, false), 0);
	assert_int_equal(count_resv(obj, false), 2);
	assert_true(drm_gem_resv_busy(obj, false)); /* t3 still pending */
	assert_false(lost->signaled);
	drm_fence_signal(t3);
	assert_false(drm_gem_resv_busy(obj, false));
	assert_true(lost->signaled);
	assert_int_equal(count_resv(obj, false), 0);
	drm_fence_put(lost);

	/* The object goes: its pending fences are dropped. */
	struct drm_fence *keep = plain_fence();
	assert_int_equal(drm_gem_resv_add_fence(obj, keep, true), 0);
	assert_int_equal(keep->refcount, 2);
	drm_gem_object_put(obj);
	assert_int_equal(keep->refcount, 1);
	drm_fence_signal(keep);
	drm_fence_put(keep);
	assert_int_equal(t1->refcount, 1);
	assert_int_equal(t3->refcount, 1);
	cs_entity_fini(&e); /* its last_scheduled */
	assert_int_equal(fin->refcount, 1);
	struct drm_fence *all[] = {r1, w1, r2, t1, t2, t3, fin};
	for (int i = 3; i < 6; i++)
		drm_fence_signal(all[i]);
	put_all(all, 7);
	ring_destroy(r);
	test_device_destroy(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(runs_in_order_with_finished_fences),
		cmocka_unit_test(synchronous_completion_and_run_errors),
		cmocka_unit_test(dependencies),
		cmocka_unit_test(credits_limit_the_ring),
		cmocka_unit_test(priority_and_round_robin),
		cmocka_unit_test(timeout_nominal),
		cmocka_unit_test(timeout_reset),
		cmocka_unit_test(timeout_reset_without_entities),
		cmocka_unit_test(reset_callbacks_may_finalise_entities),
		cmocka_unit_test(entity_fini_fails_queued_jobs),
		cmocka_unit_test(sched_fini_fails_everything),
		cmocka_unit_test(sched_fini_callbacks_may_finalise_entities),
		cmocka_unit_test(never_pushed_jobs_clean_up),
		cmocka_unit_test(callbacks_push_jobs),
		cmocka_unit_test(ten_thousand_jobs),
		cmocka_unit_test(init_checks),
		cmocka_unit_test(resv_tracks_pending_fences),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
