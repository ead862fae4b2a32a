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
	struct drm_fence_cb *next;
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
};

/* n consecutive new context numbers. */
uint64_t drm_fence_context_alloc(unsigned int n);
void drm_fence_init(struct drm_fence *fence, const struct drm_fence_ops *ops, uint64_t context, uint64_t seqno);
struct drm_fence *drm_fence_get(struct drm_fence *fence);
void drm_fence_put(struct drm_fence *fence);
/* Signals once (later calls return -EINVAL) and runs the callbacks. */
int drm_fence_signal(struct drm_fence *fence);
/* Sets the error a fence will complete with; before signalling only. */
void drm_fence_set_error(struct drm_fence *fence, int error);
bool drm_fence_is_signaled(struct drm_fence *fence);
/* -ENOENT if already signalled (then func is not called). */
int drm_fence_add_callback(struct drm_fence *fence, struct drm_fence_cb *cb, drm_fence_func_t func);
/* true if the callback was still pending and is now removed. */
bool drm_fence_remove_callback(struct drm_fence *fence, struct drm_fence_cb *cb);
/* Is a later than b on the same context? */
bool drm_fence_is_later(const struct drm_fence *a, const struct drm_fence *b);

/* An already signalled fence (one shared instance; get/put as usual). */
struct drm_fence *drm_fence_get_stub(void);
/* A new signalled fence with its own context (syncobj SIGNAL, CREATE_SIGNALED). */
struct drm_fence *drm_fence_allocate_signaled(void);

/* A fence that signals when all (or any) of its fences have; takes the references. */
struct drm_fence *drm_fence_array_create(unsigned int n, struct drm_fence **fences, bool signal_on_any);
/* Timeline point: seqno on a chain after prev (may be NULL); takes references. */
struct drm_fence *drm_fence_chain_create(struct drm_fence *prev, struct drm_fence *fence, uint64_t seqno);
/* The chain link for a point, or NULL if the chain has not reached it. */
bool drm_fence_is_chain(const struct drm_fence *fence);

#endif
