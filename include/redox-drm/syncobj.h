/*
 * DRM sync objects (the kernel's drm_syncobj): a container for a fence
 * (binary) or for a timeline of points (a chain of fences), reachable by
 * per-file handles and by opaque fds. This is the API the CS and KMS code
 * use for in-/out-syncobjs; the ioctls live in fence/syncobj.c too.
 */
#ifndef REDOX_DRM_SYNCOBJ_H
#define REDOX_DRM_SYNCOBJ_H

#include <stdbool.h>
#include <stdint.h>

#include "redox-drm/drm_ioctl.h"

struct drm_device;
struct drm_fence;
struct drm_file;
struct drm_syncobj;

/* How long the kernel lets a WAIT_FOR_SUBMIT lookup wait for its fence (CS in-syncobjs). */
#define DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS 5000000000ull

/*
 * Told when a syncobj gains a fence at the waited-for point (or any fence,
 * for point 0). Registered with drm_syncobj_add_waiter(), which takes a
 * reference to the syncobj while it waits; func runs once (w->syncobj is
 * valid during it), after which w is no longer registered.
 */
struct drm_syncobj_waiter {
	void (*func)(struct drm_syncobj_waiter *w);
	uint64_t point;
	/* private */
	struct drm_syncobj *syncobj;
	struct drm_syncobj_waiter *prev, *next;
	void (*orphaned)(struct drm_syncobj_waiter *w); /* internal: the syncobj died first */
};

/* New syncobj; signalled: holds an already signalled fence (CREATE_SIGNALED). */
struct drm_syncobj *drm_syncobj_create(bool signaled);
struct drm_syncobj *drm_syncobj_get(struct drm_syncobj *syncobj);
void drm_syncobj_put(struct drm_syncobj *syncobj);
/* The syncobj behind a handle of file, with a reference; NULL if none. */
struct drm_syncobj *drm_syncobj_find(struct drm_file *file, uint32_t handle);
/* A new handle of file for syncobj (takes its own reference). */
int drm_syncobj_get_handle(struct drm_file *file, struct drm_syncobj *syncobj, uint32_t *handle);

/* The current fence (a reference), or NULL. */
struct drm_fence *drm_syncobj_fence_get(struct drm_syncobj *syncobj);
/* Replaces the fence (NULL resets it); waiters for a submission re-check. */
void drm_syncobj_replace_fence(struct drm_syncobj *syncobj, struct drm_fence *fence);
/* Adds timeline point `point` signalled by fence (a chain link after the current fence). */
int drm_syncobj_add_point(struct drm_syncobj *syncobj, struct drm_fence *fence, uint64_t point);

/*
 * The fence for (handle, point), as the kernel's drm_syncobj_find_fence:
 * -EINVAL for flags other than DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
 * -ENOENT for an unknown handle, -EINVAL when the syncobj has no fence (or
 * the timeline has not reached point). A point that signalled long ago gives
 * the stub. With WAIT_FOR_SUBMIT and no fence yet, the kernel sleeps; here,
 * if w is given, it is registered (w->func runs when the point materialises:
 * park the call, arm a DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS timer, then
 * look again) and -EAGAIN returned; without w, -ETIME as after a timeout.
 */
int drm_syncobj_find_fence(struct drm_file *file, uint32_t handle, uint64_t point, uint32_t flags,
			   struct drm_fence **fence, struct drm_syncobj_waiter *w);

/* Registers w (its func and point set) on syncobj; checks at once, so func may run before this returns. */
void drm_syncobj_add_waiter(struct drm_syncobj *syncobj, struct drm_syncobj_waiter *w);
/* Unregisters w if it is still waiting. */
void drm_syncobj_remove_waiter(struct drm_syncobj_waiter *w);

/* Per-file handle table: the transport's file open/release calls these. */
void drm_syncobj_file_open(struct drm_file *file);
void drm_syncobj_file_release(struct drm_file *file);

/* The SYNCOBJ ioctls (core table entries, DRM_RENDER_ALLOW). */
drm_ioctl_t drm_syncobj_create_ioctl, drm_syncobj_destroy_ioctl, drm_syncobj_handle_to_fd_ioctl,
	drm_syncobj_fd_to_handle_ioctl, drm_syncobj_wait_ioctl, drm_syncobj_reset_ioctl,
	drm_syncobj_signal_ioctl, drm_syncobj_timeline_wait_ioctl, drm_syncobj_query_ioctl,
	drm_syncobj_transfer_ioctl, drm_syncobj_timeline_signal_ioctl, drm_syncobj_eventfd_ioctl;

#endif
