/*
 * Fences: the one place GPU completions are handed over (the kernel's
 * dma_fence). A fence belongs to a context (a timeline) and carries a seqno;
 * it signals once, possibly with an error, and runs its callbacks then.
 * Everything runs on the daemon's event loop thread: no locks.
 */
#ifndef REDOX_DRM_FENCE_H
#define REDOX_DRM_FENCE_H

#include <stdbool.h>
#include <stdint.h>

struct drm_fence;
struct drm_fence_cb;

typedef void (*drm_fence_func_t)(struct drm_fence *fence, struct drm_fence_cb *cb);

struct drm_fence_cb {
	drm_fence_func_t func;
	/* private: doubly linked, so adding and removing cost O(1) with thousands of waiters */
	struct drm_fence_cb *next, **pprev;
};

struct drm_fence_ops {
	const char *(*driver_name)(struct drm_fence *fence);
	const char *(*timeline_name)(struct drm_fence *fence);
	/*
	 * Optional: asks the hardware whether the fence has passed (reads the
	 * seqno the GPU wrote), for the kernel's fallback when an interrupt was
	 * lost. Returning true makes drm_fence_is_signaled() signal it.
	 */
	bool (*signaled)(struct drm_fence *fence);
	/* Optional: frees the containing object (default: free(fence)). */
	void (*release)(struct drm_fence *fence);
};

struct drm_fence {
	unsigned int refcount;
	const struct drm_fence_ops *ops;
	uint64_t context;
	uint64_t seqno;
	bool signaled;
	int error;             /* 0, or -errno it completed with (-ETIME, -EIO, -ECANCELED ...) */
	uint64_t timestamp_ns; /* CLOCK_MONOTONIC when it signalled */
	struct drm_fence_cb *cbs;
	struct drm_fence_cb **cbs_tail; /* internal: where the next callback is appended */
	struct drm_fence *queue_next;   /* internal: deferred callback/release queue */
};

/* n consecutive new context numbers. */
uint64_t drm_fence_context_alloc(unsigned int n);
void drm_fence_init(struct drm_fence *fence, const struct drm_fence_ops *ops, uint64_t context, uint64_t seqno);
struct drm_fence *drm_fence_get(struct drm_fence *fence);
void drm_fence_put(struct drm_fence *fence);
/*
 * Signals once (later calls return -EINVAL) and runs the callbacks. A signal
 * raised from inside a callback is queued and its callbacks run before the
 * outermost drm_fence_signal() returns, so nesting never deepens the stack.
 */
int drm_fence_signal(struct drm_fence *fence);
/* Sets the error a fence will complete with; before signalling only. */
void drm_fence_set_error(struct drm_fence *fence, int error);
bool drm_fence_is_signaled(struct drm_fence *fence);
/* -ENOENT if already signalled (then func is not called). */
int drm_fence_add_callback(struct drm_fence *fence, struct drm_fence_cb *cb, drm_fence_func_t func);
/* true if the callback was still pending and is now removed (cb must have been passed to add_callback). */
bool drm_fence_remove_callback(struct drm_fence *fence, struct drm_fence_cb *cb);
/* Is a later than b on the same context? */
bool drm_fence_is_later(const struct drm_fence *a, const struct drm_fence *b);
/* 1 signalled, 0 pending, or the -errno it completed with (dma_fence_get_status). */
int drm_fence_get_status(struct drm_fence *fence);
const char *drm_fence_driver_name(struct drm_fence *fence);
const char *drm_fence_timeline_name(struct drm_fence *fence);

/* An already signalled fence (one shared instance; get/put as usual). */
struct drm_fence *drm_fence_get_stub(void);
/* A new signalled fence with its own context (syncobj SIGNAL, CREATE_SIGNALED). */
struct drm_fence *drm_fence_allocate_signaled(void);

/*
 * A fence that signals when all (or any) of its fences have, with the first
 * error among them; own context, seqno 1. Takes the n references (also on
 * failure); the fences array itself stays the caller's. NULL for n == 0 or
 * out of memory.
 */
struct drm_fence *drm_fence_array_create(unsigned int n, struct drm_fence **fences, bool signal_on_any);
bool drm_fence_is_array(const struct drm_fence *fence);
unsigned int drm_fence_array_count(const struct drm_fence *fence);
struct drm_fence *drm_fence_array_fence(const struct drm_fence *fence, unsigned int i); /* no reference */

/*
 * Timeline point (dma_fence_chain): a link for seqno wrapping fence, after
 * prev (may be NULL). It signals once its fence and every earlier link's
 * fence have. It continues prev's context when seqno is later than prev's;
 * otherwise it starts a new context (and never goes below prev's seqno).
 * Takes both references (also on failure). NULL when out of memory.
 */
struct drm_fence *drm_fence_chain_create(struct drm_fence *prev, struct drm_fence *fence, uint64_t seqno);
bool drm_fence_is_chain(const struct drm_fence *fence);
/* The fence a link wraps, or fence itself if it is no chain link (no reference). */
struct drm_fence *drm_fence_chain_contained(struct drm_fence *fence);
/* The seqno of the link before this one when it was made (0 on a new context). */
uint64_t drm_fence_chain_prev_seqno(const struct drm_fence *fence);
/*
 * One step back along a chain: drops the reference to fence and returns one
 * to the previous link (NULL at the end or for a non-chain fence). Links whose
 * fences have signalled are unlinked on the way, so a long timeline holds only
 * what is still pending.
 */
struct drm_fence *drm_fence_chain_walk(struct drm_fence *fence);
/*
 * The chain link for a point: replaces *pfence (a reference) with the link
 * that signals point, or with NULL when that point has already signalled and
 * been collected. -EINVAL if *pfence is no chain or has not reached point
 * (then *pfence is left alone). Point 0 changes nothing.
 */
int drm_fence_chain_find_seqno(struct drm_fence **pfence, uint64_t seqno);

/*
 * Visits every fence inside chains and arrays (dma_fence_unwrap): each chain
 * link's fence, and each member of an array. No references are handed out.
 */
void drm_fence_unwrap_for_each(struct drm_fence *head, void (*fn)(struct drm_fence *fence, void *data), void *data);
/*
 * One fence for the pending fences inside n (unwrapped) fences, keeping the
 * latest per context: that fence itself when one remains, an array of them
 * when several do, a signalled fence (with the latest signal time) when none
 * does. NULL when out of memory.
 */
struct drm_fence *drm_fence_unwrap_merge(unsigned int n, struct drm_fence *const *fences);

#endif
