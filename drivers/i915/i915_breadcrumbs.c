/*
 * Breadcrumbs: requests become signalled fences when the engine's status page shows their
 * seqno (the GPU writes it, then raises the user interrupt). Requests of one engine complete in
 * seqno order (see i915_execlists.c), so one comparison per request, oldest first, is enough;
 * seqnos compare wrap-safe in 32 bits.
 *
 * An interrupt can be lost. As the kernel's breadcrumbs do, a timer polls the status page (and
 * the CSB) while requests are outstanding, and a fence's `signaled` op reads it too, so a
 * dropped interrupt delays a waiter by at most one period and never hangs it. The timer runs
 * out on its own once nothing is outstanding.
 */
#include "i915.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/loop.h"

#define FALLBACK_PERIOD_NS 5000000ull /* 5 ms */

bool i915_seqno_passed(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

uint32_t i915_hwsp_seqno(const struct i915_engine *engine)
{
	const uint32_t *hwsp = engine->hwsp.cpu;
	return hwsp ? __atomic_load_n(&hwsp[I915_HWSP_SEQNO], __ATOMIC_ACQUIRE) : 0;
}

static void fallback_fire(void *data);

static void arm_fallback(struct i915_engine *engine)
{
	struct event_loop *loop = engine->i915->drm ? engine->i915->drm->loop : NULL;
	if (engine->fallback || !engine->signal_head || !loop)
		return;
	engine->fallback = event_loop_add_timer(loop, monotonic_ns() + FALLBACK_PERIOD_NS, fallback_fire, engine);
}

static void fallback_fire(void *data)
{
	struct i915_engine *engine = data;
	engine->fallback = NULL; /* one-shot: it is gone now */
	uint64_t before = engine->irqs;
	i915_execlists_process_csb(engine);
	struct i915_request *head = engine->signal_head;
	i915_breadcrumbs_process(engine);
	if (engine->signal_head != head && engine->irqs == before)
		engine->fallback_signals++;
	arm_fallback(engine);
}

void i915_breadcrumbs_add(struct i915_engine *engine, struct i915_request *rq)
{
	rq->signal_next = NULL;
	*engine->signal_tail = rq;
	engine->signal_tail = &rq->signal_next;
	arm_fallback(engine);
}

/* Unlinks the oldest request and lets go of its ring space and context. */
static struct i915_request *pop(struct i915_engine *engine)
{
	struct i915_request *rq = engine->signal_head;
	engine->signal_head = rq->signal_next;
	if (!engine->signal_head)
		engine->signal_tail = &engine->signal_head;
	rq->signal_next = NULL;
	if (rq->lrc) {
		rq->lrc->retired = rq->postfix;
		i915_lrc_put(rq->lrc);
		rq->lrc = NULL;
	}
	rq->engine = NULL;
	return rq;
}

void i915_breadcrumbs_process(struct i915_engine *engine)
{
	uint32_t seqno = i915_hwsp_seqno(engine);
	while (engine->signal_head && i915_seqno_passed(seqno, (uint32_t)engine->signal_head->fence.seqno)) {
		/* Unlinked first: a callback may submit more work on this engine. */
		i915_request_complete(pop(engine), 0);
	}
	/* An idle engine's poll is left to expire (it then finds nothing and stops) rather than
	 * cancelled and armed again for every request. */
}

void i915_breadcrumbs_cancel(struct i915_engine *engine, int error)
{
	/* Those that did finish keep their good completion. */
	i915_breadcrumbs_process(engine);
	/* The rest leave the engine before any callback runs: work those submit is new work. */
	struct i915_request *list = NULL, **tail = &list;
	while (engine->signal_head) {
		*tail = pop(engine);
		tail = &(*tail)->signal_next;
	}
	if (engine->fallback) {
		event_timer_cancel(engine->fallback);
		engine->fallback = NULL;
	}
	while (list) {
		struct i915_request *rq = list;
		list = rq->signal_next;
		i915_request_complete(rq, error);
	}
}

struct i915_request *i915_breadcrumbs_detach_first(struct i915_engine *engine)
{
	return engine->signal_head ? pop(engine) : NULL;
}

void i915_request_complete(struct i915_request *rq, int error)
{
	if (error)
		drm_fence_set_error(&rq->fence, error);
	drm_fence_signal(&rq->fence);
	drm_fence_put(&rq->fence);
}
