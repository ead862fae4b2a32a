/*
 * Fences, fence arrays and timeline chains, with the semantics of the
 * kernel's dma_fence, dma_fence_array, dma_fence_chain and dma_fence_unwrap.
 *
 * Containers (arrays, chains) signal eagerly through callbacks on what they
 * contain: there is no enable_signaling step, since every producer here
 * signals its fences itself. Signalling and freeing never recurse: nested
 * signals and releases are queued and drained by the outermost call, so a
 * client cannot grow the daemon's stack by nesting containers.
 */
#include "redox-drm/fence.h"

#include <assert.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "redox-drm/loop.h"

/* Context 0 belongs to the stub; the counter is shared by every thread (tests run several loops). */
static _Atomic uint64_t next_context = 1;

uint64_t drm_fence_context_alloc(unsigned int n)
{
	return atomic_fetch_add(&next_context, n);
}

/* ---- the stub: one shared, always signalled fence ---- */

static const char *stub_name(struct drm_fence *fence)
{
	return "stub";
}

static const struct drm_fence_ops stub_ops = {
	.driver_name = stub_name,
	.timeline_name = stub_name,
};

/* Never counted: it is shared across threads and never freed. */
static struct drm_fence stub = {.refcount = 1, .ops = &stub_ops, .signaled = true};

struct drm_fence *drm_fence_get_stub(void)
{
	return &stub;
}

/* ---- queues that keep nesting off the stack (per thread: each loop is single-threaded) ---- */

struct fence_queue {
	struct drm_fence *head, *tail;
};

static _Thread_local struct fence_queue signal_queue, release_queue;
static _Thread_local bool signalling, releasing;

static void queue_push(struct fence_queue *q, struct drm_fence *f)
{
	f->queue_next = NULL;
	if (q->tail)
		q->tail->queue_next = f;
	else
		q->head = f;
	q->tail = f;
}

static struct drm_fence *queue_pop(struct fence_queue *q)
{
	struct drm_fence *f = q->head;
	if (f) {
		q->head = f->queue_next;
		if (!q->head)
			q->tail = NULL;
		f->queue_next = NULL;
	}
	return f;
}

/* ---- core ---- */

void drm_fence_init(struct drm_fence *fence, const struct drm_fence_ops *ops, uint64_t context, uint64_t seqno)
{
	fence->refcount = 1;
	fence->ops = ops;
	fence->context = context;
	fence->seqno = seqno;
	fence->signaled = false;
	fence->error = 0;
	fence->timestamp_ns = 0;
	fence->cbs = NULL;
	fence->cbs_tail = &fence->cbs;
	fence->queue_next = NULL;
}

struct drm_fence *drm_fence_get(struct drm_fence *fence)
{
	if (fence && fence != &stub)
		fence->refcount++;
	return fence;
}

void drm_fence_put(struct drm_fence *fence)
{
	if (!fence || fence == &stub)
		return;
	assert(fence->refcount > 0);
	if (--fence->refcount)
		return;
	assert(!fence->cbs);
	queue_push(&release_queue, fence);
	if (releasing)
		return;
	releasing = true;
	while ((fence = queue_pop(&release_queue))) {
		if (fence->ops && fence->ops->release)
			fence->ops->release(fence);
		else
			free(fence);
	}
	releasing = false;
}

int drm_fence_signal(struct drm_fence *fence)
{
	if (!fence || fence->signaled)
		return -EINVAL;
	fence->signaled = true;
	fence->timestamp_ns = monotonic_ns();
	/* Held while its callbacks run: any of them may drop the last reference. */
	drm_fence_get(fence);
	queue_push(&signal_queue, fence);
	if (signalling)
		return 0;
	signalling = true;
	while ((fence = queue_pop(&signal_queue))) {
		/* One at a time from the live list, so a callback may remove any other. */
		struct drm_fence_cb *cb;
		while ((cb = fence->cbs)) {
			drm_fence_remove_callback(fence, cb);
			cb->func(fence, cb);
		}
		drm_fence_put(fence);
	}
	signalling = false;
	return 0;
}

void drm_fence_set_error(struct drm_fence *fence, int error)
{
	if (!fence->signaled && error <= 0)
		fence->error = error;
}

bool drm_fence_is_signaled(struct drm_fence *fence)
{
	if (fence->signaled)
		return true;
	/* The fallback for a lost interrupt: ask the hardware, and signal on its word. */
	if (fence->ops && fence->ops->signaled && fence->ops->signaled(fence)) {
		drm_fence_signal(fence);
		return true;
	}
	return false;
}

int drm_fence_add_callback(struct drm_fence *fence, struct drm_fence_cb *cb, drm_fence_func_t func)
{
	cb->func = func;
	cb->next = NULL;
	cb->pprev = NULL;
	if (fence->signaled)
		return -ENOENT;
	/* Appended: callbacks run in the order they were added, as the kernel's. */
	cb->pprev = fence->cbs_tail;
	*fence->cbs_tail = cb;
	fence->cbs_tail = &cb->next;
	return 0;
}

bool drm_fence_remove_callback(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	if (!cb->pprev)
		return false;
	*cb->pprev = cb->next;
	if (cb->next)
		cb->next->pprev = cb->pprev;
	else
		fence->cbs_tail = cb->pprev;
	cb->next = NULL;
	cb->pprev = NULL;
	return true;
}

bool drm_fence_is_later(const struct drm_fence *a, const struct drm_fence *b)
{
	return a->context == b->context && a->seqno > b->seqno;
}

int drm_fence_get_status(struct drm_fence *fence)
{
	if (!drm_fence_is_signaled(fence))
		return 0;
	return fence->error ? fence->error : 1;
}

const char *drm_fence_driver_name(struct drm_fence *fence)
{
	return fence->ops && fence->ops->driver_name ? fence->ops->driver_name(fence) : "unknown";
}

const char *drm_fence_timeline_name(struct drm_fence *fence)
{
	return fence->ops && fence->ops->timeline_name ? fence->ops->timeline_name(fence) : "unknown";
}

/* A private signalled fence (the kernel's dma_fence_allocate_private_stub). */
static struct drm_fence *allocate_signaled_at(uint64_t timestamp_ns)
{
	struct drm_fence *f = malloc(sizeof(*f));
	if (!f)
		return NULL;
	drm_fence_init(f, &stub_ops, drm_fence_context_alloc(1), 0);
	f->signaled = true;
	f->timestamp_ns = timestamp_ns;
	return f;
}

struct drm_fence *drm_fence_allocate_signaled(void)
{
	return allocate_signaled_at(monotonic_ns());
}

/* ---- arrays ---- */

struct fence_array_cb {
	struct drm_fence_cb cb;
	struct fence_array *array;
	bool armed;
};

struct fence_array {
	struct drm_fence base;
	unsigned int n;
	unsigned int pending;
	bool any;
	int error;
	struct drm_fence **fences;
	struct fence_array_cb *cbs;
};

static const char *array_driver_name(struct drm_fence *fence)
{
	return "dma_fence_array";
}

static const char *unbound_name(struct drm_fence *fence)
{
	return "unbound";
}

static void array_release(struct drm_fence *fence);

static const struct drm_fence_ops array_ops = {
	.driver_name = array_driver_name,
	.timeline_name = unbound_name,
	.release = array_release,
};

static struct fence_array *to_array(const struct drm_fence *fence)
{
	return fence && fence->ops == &array_ops ? (struct fence_array *)fence : NULL;
}

bool drm_fence_is_array(const struct drm_fence *fence)
{
	return to_array(fence) != NULL;
}

unsigned int drm_fence_array_count(const struct drm_fence *fence)
{
	const struct fence_array *a = to_array(fence);
	return a ? a->n : 0;
}

struct drm_fence *drm_fence_array_fence(const struct drm_fence *fence, unsigned int i)
{
	const struct fence_array *a = to_array(fence);
	return a && i < a->n ? a->fences[i] : NULL;
}

static void array_disarm(struct fence_array *a)
{
	for (unsigned i = 0; i < a->n; i++) {
		if (a->cbs[i].armed) {
			drm_fence_remove_callback(a->fences[i], &a->cbs[i].cb);
			a->cbs[i].armed = false;
		}
	}
}

static void array_release(struct drm_fence *fence)
{
	struct fence_array *a = to_array(fence);
	/* Nobody can wait on it any more: stop listening to what is still pending. */
	array_disarm(a);
	for (unsigned i = 0; i < a->n; i++)
		drm_fence_put(a->fences[i]);
	free(a);
}

static void array_complete(struct fence_array *a)
{
	array_disarm(a);
	drm_fence_set_error(&a->base, a->error);
	drm_fence_signal(&a->base);
}

static void array_cb(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	struct fence_array_cb *c = (struct fence_array_cb *)cb;
	struct fence_array *a = c->array;
	c->armed = false;
	if (a->base.signaled)
		return;
	if (fence->error && !a->error)
		a->error = fence->error;
	if (--a->pending == 0)
		array_complete(a);
}

struct drm_fence *drm_fence_array_create(unsigned int n, struct drm_fence **fences, bool signal_on_any)
{
	if (!n || !fences)
		return NULL;
	size_t per = sizeof(struct drm_fence *) + sizeof(struct fence_array_cb);
	if (n > (SIZE_MAX - sizeof(struct fence_array)) / per)
		goto fail;
	struct fence_array *a = calloc(1, sizeof(*a) + (size_t)n * per);
	if (!a)
		goto fail;
	drm_fence_init(&a->base, &array_ops, drm_fence_context_alloc(1), 1);
	a->n = n;
	a->any = signal_on_any;
	a->cbs = (struct fence_array_cb *)(a + 1);
	a->fences = (struct drm_fence **)(a->cbs + n);
	unsigned done = 0;
	for (unsigned i = 0; i < n; i++) {
		a->fences[i] = fences[i];
		a->cbs[i].array = a;
		if (fences[i]->signaled) {
			if (fences[i]->error && !a->error)
				a->error = fences[i]->error;
			done++;
		}
	}
	if (signal_on_any ? done > 0 : done == n) {
		array_complete(a);
		return &a->base;
	}
	a->pending = signal_on_any ? 1 : n - done;
	/* Nothing signals while we arm: callbacks only run from drm_fence_signal(). */
	for (unsigned i = 0; i < n; i++)
		if (!a->fences[i]->signaled)
			a->cbs[i].armed = drm_fence_add_callback(a->fences[i], &a->cbs[i].cb, array_cb) == 0;
	return &a->base;
fail:
	for (unsigned i = 0; i < n; i++)
		drm_fence_put(fences[i]);
	return NULL;
}

/* ---- chains ---- */

struct fence_chain {
	struct drm_fence base;
	struct drm_fence *prev;  /* earlier link (or plain fence), NULL once everything before signalled */
	struct drm_fence *fence; /* what this point waits for */
	uint64_t prev_seqno;
	struct drm_fence_cb cb;
	struct drm_fence *armed_on; /* the fence cb is registered on (a reference), or NULL */
};

static const char *chain_driver_name(struct drm_fence *fence)
{
	return "dma_fence_chain";
}

static void chain_release(struct drm_fence *fence);

static const struct drm_fence_ops chain_ops = {
	.driver_name = chain_driver_name,
	.timeline_name = unbound_name,
	.release = chain_release,
};

static struct fence_chain *to_chain(const struct drm_fence *fence)
{
	return fence && fence->ops == &chain_ops ? (struct fence_chain *)fence : NULL;
}

bool drm_fence_is_chain(const struct drm_fence *fence)
{
	return to_chain(fence) != NULL;
}

struct drm_fence *drm_fence_chain_contained(struct drm_fence *fence)
{
	struct fence_chain *c = to_chain(fence);
	return c ? c->fence : fence;
}

uint64_t drm_fence_chain_prev_seqno(const struct drm_fence *fence)
{
	const struct fence_chain *c = to_chain(fence);
	return c ? c->prev_seqno : 0;
}

/*
 * c's previous link after dropping the ones whose fences have signalled
 * (borrowed: c's prev pointer holds it). This garbage collection is what
 * keeps a long-lived timeline from growing without bound.
 */
static struct drm_fence *chain_prev_gc(struct fence_chain *c)
{
	for (;;) {
		struct drm_fence *prev = c->prev, *replacement;
		if (!prev)
			return NULL;
		struct fence_chain *pc = to_chain(prev);
		if (pc) {
			if (pc->fence && !pc->fence->signaled)
				return prev;
			replacement = drm_fence_get(pc->prev);
		} else {
			if (!prev->signaled)
				return prev;
			replacement = NULL;
		}
		c->prev = replacement;
		drm_fence_put(prev);
	}
}

struct drm_fence *drm_fence_chain_walk(struct drm_fence *fence)
{
	struct fence_chain *c = to_chain(fence);
	struct drm_fence *prev = c ? drm_fence_get(chain_prev_gc(c)) : NULL;
	drm_fence_put(fence);
	return prev;
}

static void chain_cb(struct drm_fence *fence, struct drm_fence_cb *cb);

/* Listens to the newest fence of the chain still pending; false when none is. */
static bool chain_arm(struct fence_chain *head)
{
	struct drm_fence *it = &head->base;
	while (it) {
		struct fence_chain *c = to_chain(it);
		struct drm_fence *f = c ? c->fence : it;
		if (f && drm_fence_add_callback(f, &head->cb, chain_cb) == 0) {
			head->armed_on = drm_fence_get(f);
			return true;
		}
		it = c ? chain_prev_gc(c) : NULL;
	}
	return false;
}

static void chain_cb(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	struct fence_chain *c = (struct fence_chain *)((char *)cb - offsetof(struct fence_chain, cb));
	drm_fence_put(c->armed_on); /* the fence being signalled: its dispatch still holds it */
	c->armed_on = NULL;
	if (!chain_arm(c))
		drm_fence_signal(&c->base);
}

static void chain_release(struct drm_fence *fence)
{
	struct fence_chain *c = to_chain(fence);
	if (c->armed_on) {
		drm_fence_remove_callback(c->armed_on, &c->cb);
		drm_fence_put(c->armed_on);
	}
	/* Queued, not recursive: a long chain is freed link by link. */
	drm_fence_put(c->prev);
	drm_fence_put(c->fence);
	free(c);
}

struct drm_fence *drm_fence_chain_create(struct drm_fence *prev, struct drm_fence *fence, uint64_t seqno)
{
	struct fence_chain *c = calloc(1, sizeof(*c));
	if (!c || !fence) {
		free(c);
		drm_fence_put(prev);
		drm_fence_put(fence);
		return NULL;
	}
	struct fence_chain *pc = to_chain(prev);
	uint64_t context;
	c->prev = prev;
	c->fence = fence;
	if (pc && seqno > prev->seqno) {
		context = prev->context;
		c->prev_seqno = prev->seqno;
	} else {
		/* Out of order: a new timeline, never numbered below what it follows. */
		context = drm_fence_context_alloc(1);
		if (pc && prev->seqno > seqno)
			seqno = prev->seqno;
	}
	drm_fence_init(&c->base, &chain_ops, context, seqno);
	if (!chain_arm(c))
		drm_fence_signal(&c->base);
	return &c->base;
}

int drm_fence_chain_find_seqno(struct drm_fence **pfence, uint64_t seqno)
{
	if (!seqno)
		return 0;
	struct drm_fence *head = *pfence;
	if (!to_chain(head) || head->seqno < seqno)
		return -EINVAL;
	struct drm_fence *it = drm_fence_get(head);
	while (it) {
		struct fence_chain *c = to_chain(it);
		if (!c || it->context != head->context || c->prev_seqno < seqno)
			break;
		it = drm_fence_chain_walk(it);
	}
	drm_fence_put(head);
	*pfence = it;
	return 0;
}

/* ---- unwrapping and merging ---- */

void drm_fence_unwrap_for_each(struct drm_fence *head, void (*fn)(struct drm_fence *fence, void *data), void *data)
{
	struct drm_fence *it = drm_fence_get(head);
	while (it) {
		struct drm_fence *f = drm_fence_chain_contained(it);
		struct fence_array *a = to_array(f);
		if (a) {
			for (unsigned i = 0; i < a->n; i++)
				fn(a->fences[i], data);
		} else if (f) {
			fn(f, data);
		}
		it = drm_fence_chain_walk(it);
	}
}

struct merge_state {
	struct drm_fence **v;
	size_t n, cap;
	uint64_t timestamp;
	bool nomem;
};

static void merge_collect(struct drm_fence *f, void *data)
{
	struct merge_state *m = data;
	if (drm_fence_is_signaled(f)) {
		if (f->timestamp_ns > m->timestamp)
			m->timestamp = f->timestamp_ns;
		return;
	}
	if (m->nomem)
		return;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 8;
		struct drm_fence **v = realloc(m->v, cap * sizeof(*v));
		if (!v) {
			m->nomem = true;
			return;
		}
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n++] = drm_fence_get(f);
}

/* By context, the latest first within one: the first of each context is the one kept. */
static int merge_cmp(const void *pa, const void *pb)
{
	const struct drm_fence *a = *(struct drm_fence *const *)pa, *b = *(struct drm_fence *const *)pb;
	if (a->context != b->context)
		return a->context < b->context ? -1 : 1;
	if (a->seqno != b->seqno)
		return a->seqno > b->seqno ? -1 : 1;
	return 0;
}

struct drm_fence *drm_fence_unwrap_merge(unsigned int n, struct drm_fence *const *fences)
{
	struct merge_state m = {0};
	for (unsigned i = 0; i < n; i++)
		if (fences[i])
			drm_fence_unwrap_for_each(fences[i], merge_collect, &m);
	struct drm_fence *result = NULL;
	if (m.nomem)
		goto out;
	if (m.n == 0) {
		result = allocate_signaled_at(m.timestamp);
		goto out;
	}
	qsort(m.v, m.n, sizeof(*m.v), merge_cmp);
	size_t kept = 1;
	for (size_t i = 1; i < m.n; i++) {
		if (m.v[i]->context == m.v[kept - 1]->context) {
			drm_fence_put(m.v[i]);
		} else {
			m.v[kept++] = m.v[i];
		}
	}
	m.n = kept;
	if (kept == 1) {
		result = m.v[0];
		m.n = 0;
	} else if (kept <= UINT32_MAX) {
		result = drm_fence_array_create((unsigned)kept, m.v, false);
		m.n = 0; /* taken, also on failure */
	}
out:
	for (size_t i = 0; i < m.n; i++)
		drm_fence_put(m.v[i]);
	free(m.v);
	return result;
}
