/*
 * DRM sync objects and their ioctls, with the kernel's drm_syncobj.c
 * semantics and errnos. Every wait is parked: its fences and syncobjs get
 * callbacks, a loop timer holds its deadline, and nothing runs for it until
 * one of those fires. A parked wait costs its memory and nothing else.
 */
#include "redox-drm/syncobj.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <drm.h>

#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"
#include "redox-drm/loop.h"
#include "redox-drm/sync_file.h"
#include "redox-drm/uapi_extra.h"

/* Handles one file may hold (the kernel's idr stops at INT_MAX; a daemon needs a quota). */
#define SYNCOBJ_MAX_HANDLES (1u << 20)
/*
 * Array sizes the kernel can allocate (kmalloc tops out at 4 MiB): beyond
 * these it answers -ENOMEM, and so do we, which also bounds a parked wait.
 */
#define SYNCOBJ_ARRAY_MAX (1u << 19)
#define SYNCOBJ_WAIT_MAX (1u << 16)
/* Eventfd registrations a file may have pending: each holds a daemon descriptor. */
#define SYNCOBJ_EVENTFD_MAX 1024

struct drm_syncobj {
	unsigned int refcount;
	struct drm_fence *fence;
	struct drm_syncobj_waiter waiters; /* list head: told when the fence changes */
};

/* ---- waiter lists (circular, so an entry unlinks itself from whichever list holds it) ---- */

static void wlist_init(struct drm_syncobj_waiter *head)
{
	head->prev = head->next = head;
}

static void wlist_add_tail(struct drm_syncobj_waiter *head, struct drm_syncobj_waiter *w)
{
	w->prev = head->prev;
	w->next = head;
	head->prev->next = w;
	head->prev = w;
}

static void wlist_del(struct drm_syncobj_waiter *w)
{
	if (!w->next)
		return;
	w->prev->next = w->next;
	w->next->prev = w->prev;
	w->prev = w->next = NULL;
}

/* ---- the object ---- */

struct drm_syncobj *drm_syncobj_create(bool signaled)
{
	struct drm_syncobj *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->refcount = 1;
	wlist_init(&s->waiters);
	if (signaled && !(s->fence = drm_fence_allocate_signaled())) {
		free(s);
		return NULL;
	}
	return s;
}

struct drm_syncobj *drm_syncobj_get(struct drm_syncobj *s)
{
	if (s)
		s->refcount++;
	return s;
}

void drm_syncobj_put(struct drm_syncobj *s)
{
	if (!s || --s->refcount)
		return;
	/* Only weak waiters (eventfds) can remain: they go with the object, unsignalled, as in the kernel. */
	while (s->waiters.next != &s->waiters) {
		struct drm_syncobj_waiter *w = s->waiters.next;
		wlist_del(w);
		w->syncobj = NULL;
		if (w->orphaned)
			w->orphaned(w);
	}
	drm_fence_put(s->fence);
	free(s);
}

struct drm_syncobj *drm_syncobj_find(struct drm_file *file, uint32_t handle)
{
	return drm_syncobj_get(idr_find(&file->syncobj_idr, handle));
}

int drm_syncobj_get_handle(struct drm_file *file, struct drm_syncobj *s, uint32_t *handle)
{
	int64_t id = idr_alloc(&file->syncobj_idr, s);
	if (id < 0)
		return (int)id;
	drm_syncobj_get(s);
	*handle = (uint32_t)id;
	return 0;
}

struct drm_fence *drm_syncobj_fence_get(struct drm_syncobj *s)
{
	return drm_fence_get(s->fence);
}

/*
 * The fence that signals point (the whole fence for point 0): 0 and a
 * reference (the stub for a point long signalled), or -EINVAL when there is
 * none yet.
 */
static int fence_at(struct drm_syncobj *s, uint64_t point, struct drm_fence **out)
{
	struct drm_fence *f = drm_fence_get(s->fence);
	if (!f)
		return -EINVAL;
	if (drm_fence_chain_find_seqno(&f, point)) {
		drm_fence_put(f);
		return -EINVAL;
	}
	*out = f ? f : drm_fence_get_stub();
	return 0;
}

static bool point_available(struct drm_syncobj *s, uint64_t point)
{
	struct drm_fence *f;
	if (fence_at(s, point, &f))
		return false;
	drm_fence_put(f);
	return true;
}

/*
 * The fence changed: tell the waiters whose point now exists. They are taken
 * off one at a time from a private list, so a waiter's func may unregister
 * any other waiter, register new ones, or change this syncobj again.
 */
static void notify(struct drm_syncobj *s)
{
	if (s->waiters.next == &s->waiters)
		return;
	drm_syncobj_get(s);
	struct drm_syncobj_waiter local;
	local.next = s->waiters.next;
	local.prev = s->waiters.prev;
	local.next->prev = &local;
	local.prev->next = &local;
	wlist_init(&s->waiters);
	while (local.next != &local) {
		struct drm_syncobj_waiter *w = local.next;
		wlist_del(w);
		if (!point_available(s, w->point)) {
			wlist_add_tail(&s->waiters, w);
			continue;
		}
		bool held = !w->orphaned;
		w->syncobj = s; /* valid during func */
		w->func(w);
		if (held)
			drm_syncobj_put(s);
	}
	drm_syncobj_put(s);
}

void drm_syncobj_replace_fence(struct drm_syncobj *s, struct drm_fence *fence)
{
	struct drm_fence *old = s->fence;
	s->fence = drm_fence_get(fence);
	if (fence != old)
		notify(s);
	drm_fence_put(old);
}

int drm_syncobj_add_point(struct drm_syncobj *s, struct drm_fence *fence, uint64_t point)
{
	struct drm_fence *chain = drm_fence_chain_create(drm_fence_get(s->fence), drm_fence_get(fence), point);
	if (!chain)
		return -ENOMEM;
	struct drm_fence *old = s->fence;
	s->fence = chain;
	notify(s);
	drm_fence_put(old);
	return 0;
}

/* Registers w; a strong waiter (public API) holds the syncobj, a weak one (eventfd) dies with it. */
static void waiter_register(struct drm_syncobj *s, struct drm_syncobj_waiter *w)
{
	if (point_available(s, w->point)) {
		w->syncobj = s;
		w->func(w);
		return;
	}
	w->syncobj = w->orphaned ? s : drm_syncobj_get(s);
	wlist_add_tail(&s->waiters, w);
}

void drm_syncobj_add_waiter(struct drm_syncobj *s, struct drm_syncobj_waiter *w)
{
	w->orphaned = NULL;
	w->prev = w->next = NULL;
	waiter_register(s, w);
}

void drm_syncobj_remove_waiter(struct drm_syncobj_waiter *w)
{
	if (!w->next)
		return;
	struct drm_syncobj *s = w->syncobj;
	wlist_del(w);
	if (!w->orphaned)
		drm_syncobj_put(s);
}

int drm_syncobj_find_fence(struct drm_file *file, uint32_t handle, uint64_t point, uint32_t flags,
			   struct drm_fence **fence, struct drm_syncobj_waiter *w)
{
	if (flags & ~DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT)
		return -EINVAL;
	struct drm_syncobj *s = drm_syncobj_find(file, handle);
	if (!s)
		return -ENOENT;
	int r = fence_at(s, point, fence);
	if (r && (flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT)) {
		r = -ETIME;
		if (w) {
			w->point = point;
			w->orphaned = NULL;
			w->syncobj = drm_syncobj_get(s);
			wlist_add_tail(&s->waiters, w);
			r = -EAGAIN;
		}
	}
	drm_syncobj_put(s);
	return r;
}

/* ---- per-file state ---- */

static void release_handle(uint32_t id, void *ptr, void *data)
{
	drm_syncobj_put(ptr);
}

/* Eventfd accounting per file; outlives the file while its registrations are pending. */
struct file_rec {
	struct drm_file *file; /* NULL once the file is gone */
	unsigned int refs;
	unsigned int eventfds;
	struct file_rec *next;
};

static struct file_rec *file_recs;

static struct file_rec *file_rec_get(struct drm_file *file)
{
	struct file_rec *r;
	for (r = file_recs; r; r = r->next)
		if (r->file == file)
			break;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return NULL;
		r->file = file;
		r->refs = 1; /* the list's, dropped at file release */
		r->next = file_recs;
		file_recs = r;
	}
	r->refs++;
	return r;
}

static void file_rec_put(struct file_rec *r)
{
	if (--r->refs == 0)
		free(r);
}

void drm_syncobj_file_open(struct drm_file *file)
{
	idr_init(&file->syncobj_idr, 1, SYNCOBJ_MAX_HANDLES);
}

void drm_syncobj_file_release(struct drm_file *file)
{
	idr_for_each(&file->syncobj_idr, release_handle, NULL);
	idr_destroy(&file->syncobj_idr);
	for (struct file_rec **p = &file_recs; *p; p = &(*p)->next) {
		if ((*p)->file == file) {
			struct file_rec *r = *p;
			*p = r->next;
			r->file = NULL;
			file_rec_put(r);
			break;
		}
	}
}

/* ---- helpers shared by the ioctls ---- */

/* The syncobjs behind count handles at uptr, as the kernel's drm_syncobj_array_find. */
static int array_find(struct drm_file *file, struct drm_call *call, uint64_t uptr, uint32_t count,
		      uint32_t limit, struct drm_syncobj ***out)
{
	if (count > limit)
		return -ENOMEM;
	uint32_t *handles = malloc((size_t)count * sizeof(*handles));
	struct drm_syncobj **objs = malloc((size_t)count * sizeof(*objs));
	int r = 0;
	if (!handles || !objs) {
		r = -ENOMEM;
		goto fail;
	}
	if (drm_copy_from_user(call, handles, uptr, (size_t)count * sizeof(*handles))) {
		r = -EFAULT;
		goto fail;
	}
	for (uint32_t i = 0; i < count; i++) {
		objs[i] = drm_syncobj_find(file, handles[i]);
		if (!objs[i]) {
			while (i--)
				drm_syncobj_put(objs[i]);
			r = -ENOENT;
			goto fail;
		}
	}
	free(handles);
	*out = objs;
	return 0;
fail:
	free(handles);
	free(objs);
	return r;
}

static void array_free(struct drm_syncobj **objs, uint32_t count)
{
	for (uint32_t i = 0; i < count; i++)
		drm_syncobj_put(objs[i]);
	free(objs);
}

/* count u64 points at uptr; a NULL pointer means all zero, as the kernel reads it. */
static int read_points(struct drm_call *call, uint64_t uptr, uint32_t count, uint64_t **out)
{
	uint64_t *points = calloc(count ? count : 1, sizeof(*points));
	if (!points)
		return -ENOMEM;
	if (uptr && drm_copy_from_user(call, points, uptr, (size_t)count * sizeof(*points))) {
		free(points);
		return -EFAULT;
	}
	*out = points;
	return 0;
}

/* ---- CREATE, DESTROY, fds ---- */

int drm_syncobj_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_syncobj_create *args = data;
	if (!drm_core_check_feature(dev, DRIVER_SYNCOBJ))
		return -EOPNOTSUPP;
	if (args->flags & ~DRM_SYNCOBJ_CREATE_SIGNALED)
		return -EINVAL;
	struct drm_syncobj *s = drm_syncobj_create(args->flags & DRM_SYNCOBJ_CREATE_SIGNALED);
	if (!s)
		return -ENOMEM;
	int r = drm_syncobj_get_handle(file, s, &args->handle);
	drm_syncobj_put(s);
	return r;
}

int drm_syncobj_destroy_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_syncobj_destroy *args = data;
	if (!drm_core_check_feature(dev, DRIVER_SYNCOBJ))
		return -EOPNOTSUPP;
	if (args->pad)
		return -EINVAL;
	struct drm_syncobj *s = idr_remove(&file->syncobj_idr, args->handle);
	if (!s)
		return -EINVAL;
	drm_syncobj_put(s);
	return 0;
}

int drm_syncobj_handle_to_fd_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_syncobj_handle *args = data;
	if (!drm_core_check_feature(dev, DRIVER_SYNCOBJ))
		return -EOPNOTSUPP;
	if (args->pad)
		return -EINVAL;
	if (args->flags & ~DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE)
		return -EINVAL;
	if (!dev->loop)
		return -ENODEV;
	int fd;
	if (args->flags & DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE) {
		/* The fence as it is now: later signals or resets of the syncobj do not touch the file. */
		struct drm_fence *fence;
		int r = drm_syncobj_find_fence(file, args->handle, 0, 0, &fence, NULL);
		if (r)
			return r;
		fd = drm_sync_file_create(dev->loop, fence);
		drm_fence_put(fence);
	} else {
		struct drm_syncobj *s = drm_syncobj_find(file, args->handle);
		if (!s)
			return -EINVAL;
		fd = drm_syncobj_fd_create(dev->loop, s);
		drm_syncobj_put(s);
	}
	if (fd < 0)
		return fd;
	args->fd = fd;
	return 0;
}

int drm_syncobj_fd_to_handle_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_syncobj_handle *args = data;
	if (!drm_core_check_feature(dev, DRIVER_SYNCOBJ))
		return -EOPNOTSUPP;
	if (args->pad)
		return -EINVAL;
	if (args->flags & ~DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE)
		return -EINVAL;
	if (args->flags & DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE) {
		/* A closed fd and a foreign one look alike to the kernel here: -EINVAL. */
		struct drm_fence *fence = drm_sync_file_get_fence(args->fd);
		if (!fence)
			return -EINVAL;
		struct drm_syncobj *s = drm_syncobj_find(file, args->handle);
		if (!s) {
			drm_fence_put(fence);
			return -ENOENT;
		}
		drm_syncobj_replace_fence(s, fence);
		drm_fence_put(fence);
		drm_syncobj_put(s);
		return 0;
	}
	struct drm_syncobj *s = drm_syncobj_fd_get(args->fd);
	if (!s)
		return -EINVAL;
	/* Every import is a new handle with its own reference (no de-duplication, unlike dma-bufs). */
	int r = drm_syncobj_get_handle(file, s, &args->handle);
	drm_syncobj_put(s);
	return r;
}

/* ---- RESET, SIGNAL, TIMELINE_SIGNAL, QUERY ---- */

int drm_syncobj_reset_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_syncobj_array *args = data;
	struct drm_syncobj **objs;
	if (!drm_core_check_feature(dev, DRIVER_SYNCOBJ))
		return -EOPNOTSUPP;
	if (args->pad || !args->count_handles)
		return -EINVAL;
	int r = array_find(file, call, args->handles, args->count_handles, SYNCOBJ_ARRAY_MAX, &objs);
	if (r)
		return r;
	for (uint32_t i = 0; i < args->count_handles; i++)
		drm_syncobj_replace_fence(objs[i], NULL);
	array_free(objs, args->count_handles);
	return 0;
}

int drm_syncobj_signal_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_syncobj_array *args = data;
	struct drm_syncobj **objs;
	if (!drm_core_check_feature(dev, DRIVER_SYNCOBJ))
		return -EOPNOTSUPP;
	if (args->pad || !args->count_handles)
		return -EINVAL;
	int r = array_find(file, call, args->handles, args->count_handles, SYNCOBJ_ARRAY_MAX, &objs);
	if (r)
		return r;
	for (uint32_t i = 0; i < args->count_handles; i++) {
		struct drm_fence *f = drm_fence_allocate_signaled();
		if (!f) {
			r = -ENOMEM;
			break;
		}
		drm_syncobj_replace_fence(objs[i], f);
		drm_fence_put(f);
	}
	array_free(objs, args->count_handles);
	return r;
}

int drm_syncobj_timeline_signal_ioctl(struct drm_device *dev, void *data, struct drm_file *file,
				      struct drm_call *call)
{
	struct drm_syncobj_timeline_array *args = data;
	struct drm_syncobj **objs;
	uint64_t *points;
	if (!drm_core_check_feature(dev, DRIVER_SYNCOBJ_TIMELINE))
		return -EOPNOTSUPP;
	if (args->flags || !args->count_handles)
		return -EINVAL;
	int r = array_find(file, call, args->handles, args->count_handles, SYNCOBJ_ARRAY_MAX, &objs);
	if (r)
		return r;
	r = read_points(call, args->points, args->count_handles, &points);
	if (!r) {
		/* Points going backwards are not refused (the kernel only logs them): they start a new context. */
		struct drm_fence *stub = drm_fence_get_stub();
		for (uint32_t i = 0; !r && i < args->count_handles; i++)
			r = drm_syncobj_add_point(objs[i], stub, points[i]);
		drm_fence_put(stub);
		free(points);
	}
	array_free(objs, args->count_handles);
	return r;
}

/* The last signalled point of a timeline, as the kernel's QUERY reckons it. */
static uint64_t query_point(struct drm_syncobj *s, bool last_submitted)
{
	struct drm_fence *head = drm_syncobj_fence_get(s);
	uint64_t point = 0;
	if (drm_fence_is_chain(head)) {
		if (last_submitted) {
			point = head->seqno;
		} else {
			struct drm_fence *last = drm_fence_get(head);
			struct drm_fence *it = drm_fence_get(head);
			while (it) {
				/* Another context: points were added out of order; stop at the break. */
				if (it->context != head->context) {
					drm_fence_put(it);
					break;
				}
				drm_fence_put(last);
				last = drm_fence_get(it);
				it = drm_fence_chain_walk(it);
			}
			point = drm_fence_is_signaled(last) ? last->seqno : drm_fence_chain_prev_seqno(last);
			drm_fence_put(last);
		}
	}
	drm_fence_put(head);
	return point;
}

int drm_syncobj_query_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_syncobj_timeline_array *args = data;
	struct drm_syncobj **objs;
	if (!drm_core_check_feature(dev, DRIVER_SYNCOBJ_TIMELINE))
		return -EOPNOTSUPP;
	if (args->flags & ~DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED)
		return -EINVAL;
	if (!args->count_handles)
		return -EINVAL;
	int r = array_find(file, call, args->handles, args->count_handles, SYNCOBJ_ARRAY_MAX, &objs);
	if (r)
		return r;
	for (uint32_t i = 0; i < args->count_handles; i++) {
		uint64_t point = query_point(objs[i], args->flags & DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED);
		if (drm_copy_to_user(call, args->points + (uint64_t)i * sizeof(point), &point, sizeof(point))) {
			r = -EFAULT;
			break;
		}
	}
	array_free(objs, args->count_handles);
	return r;
}

/* ---- TRANSFER (parks while WAIT_FOR_SUBMIT waits for its source point) ---- */

struct transfer_wait {
	struct drm_call *call;
	struct drm_syncobj_waiter w;
	struct event_timer *timer;
};

static void transfer_submitted(struct drm_syncobj_waiter *w)
{
	struct transfer_wait *t = (struct transfer_wait *)((char *)w - offsetof(struct transfer_wait, w));
	struct drm_call *call = t->call;
	event_timer_cancel(t->timer);
	free(t);
	drm_call_rerun(call); /* the point exists now: transfer it */
}

static void transfer_timeout(void *data)
{
	struct transfer_wait *t = data;
	struct drm_call *call = t->call;
	drm_syncobj_remove_waiter(&t->w);
	free(t);
	drm_call_complete(call, -ETIME);
}

static void transfer_cancel(struct drm_call *call, void *data)
{
	struct transfer_wait *t = data;
	drm_syncobj_remove_waiter(&t->w);
	event_timer_cancel(t->timer);
	free(t);
}

int drm_syncobj_transfer_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_syncobj_transfer *args = data;
	if (!drm_core_check_feature(dev, DRIVER_SYNCOBJ_TIMELINE))
		return -EOPNOTSUPP;
	if (args->pad)
		return -EINVAL;
	struct drm_syncobj *dst = drm_syncobj_find(file, args->dst_handle);
	if (!dst)
		return -ENOENT;
	struct transfer_wait *t = NULL;
	if ((args->flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT) && dev->loop && !(t = calloc(1, sizeof(*t)))) {
		drm_syncobj_put(dst);
		return -ENOMEM;
	}
	struct drm_fence *fence;
	if (t) {
		t->call = call;
		t->w.func = transfer_submitted;
	}
	int r = drm_syncobj_find_fence(file, args->src_handle, args->src_point, args->flags, &fence, t ? &t->w : NULL);
	if (r == -EAGAIN) {
		/* The kernel sleeps up to 5 s for the source point to be submitted. */
		t->timer = event_loop_add_timer(dev->loop, monotonic_ns() + DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS,
						transfer_timeout, t);
		drm_syncobj_put(dst);
		if (!t->timer) {
			drm_syncobj_remove_waiter(&t->w);
			free(t);
			return -ENOMEM;
		}
		drm_call_park(call, transfer_cancel, t);
		return DRM_CALL_PARKED;
	}
	free(t);
	if (r) {
		drm_syncobj_put(dst);
		return r;
	}
	if (args->dst_point) {
		/* Only the pending fences inside travel, so timelines never nest in each other. */
		struct drm_fence *merged = drm_fence_unwrap_merge(1, &fence);
		drm_fence_put(fence);
		r = merged ? drm_syncobj_add_point(dst, merged, args->dst_point) : -ENOMEM;
		drm_fence_put(merged);
	} else {
		drm_syncobj_replace_fence(dst, fence);
		drm_fence_put(fence);
	}
	drm_syncobj_put(dst);
	return r;
}

/* ---- WAIT and TIMELINE_WAIT ---- */

struct syncobj_wait;

struct wait_entry {
	struct syncobj_wait *wait;
	struct drm_syncobj *syncobj;
	uint64_t point;
	struct drm_fence *fence; /* NULL until the point has a fence */
	struct drm_fence_cb cb;
	bool armed;
	bool done;
	struct drm_syncobj_waiter sw; /* registered while waiting for a submission */
};

struct syncobj_wait {
	struct drm_call *call;
	uint32_t count, flags, ndone, first;
	bool timeline;
	struct event_timer *timer;
	struct wait_entry e[];
};

static void wait_free(struct syncobj_wait *w)
{
	event_timer_cancel(w->timer);
	for (uint32_t i = 0; i < w->count; i++) {
		struct wait_entry *e = &w->e[i];
		if (e->armed)
			drm_fence_remove_callback(e->fence, &e->cb);
		drm_syncobj_remove_waiter(&e->sw);
		drm_fence_put(e->fence);
		drm_syncobj_put(e->syncobj);
	}
	free(w);
}

static bool entry_signaled(const struct syncobj_wait *w, const struct wait_entry *e)
{
	if (!e->fence)
		return false;
	return (w->flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE) || e->fence->signaled;
}

static void wait_finish(struct syncobj_wait *w, int ret)
{
	struct drm_call *call = w->call;
	if (!ret) {
		uint32_t first = w->first;
		/* Waiting for any: the lowest index that holds now, as the kernel's scan finds it. */
		if (!(w->flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL))
			for (uint32_t i = 0; i < w->count; i++)
				if (entry_signaled(w, &w->e[i])) {
					first = i;
					break;
				}
		if (w->timeline)
			((struct drm_syncobj_timeline_wait *)drm_call_data(call))->first_signaled = first;
		else
			((struct drm_syncobj_wait *)drm_call_data(call))->first_signaled = first;
	}
	wait_free(w);
	drm_call_complete(call, ret);
}

static void entry_done(struct wait_entry *e)
{
	struct syncobj_wait *w = e->wait;
	if (e->done)
		return;
	e->done = true;
	if (++w->ndone == w->count || !(w->flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL))
		wait_finish(w, 0);
}

static void entry_fence_cb(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	struct wait_entry *e = (struct wait_entry *)((char *)cb - offsetof(struct wait_entry, cb));
	e->armed = false;
	entry_done(e);
}

/* Listens to an entry's fence; false when it has already signalled (or only availability counts). */
static bool entry_arm(struct wait_entry *e)
{
	if (e->wait->flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE)
		return false;
	e->armed = drm_fence_add_callback(e->fence, &e->cb, entry_fence_cb) == 0;
	return e->armed;
}

static void entry_submitted(struct drm_syncobj_waiter *sw)
{
	struct wait_entry *e = (struct wait_entry *)((char *)sw - offsetof(struct wait_entry, sw));
	if (fence_at(e->syncobj, e->point, &e->fence))
		return; /* cannot happen: we are only told once the point exists */
	if (!entry_arm(e))
		entry_done(e);
}

static void wait_timeout(void *data)
{
	struct syncobj_wait *w = data;
	w->timer = NULL; /* fired: the loop has freed it */
	wait_finish(w, -ETIME);
}

static void wait_cancel(struct drm_call *call, void *data)
{
	wait_free(data);
}

/* The kernel's drm_syncobj_array_wait_timeout, parked instead of sleeping. */
static int array_wait(struct drm_device *dev, struct drm_file *file, struct drm_call *call, uint64_t handles,
		      uint64_t points_ptr, uint32_t count, uint32_t flags, int64_t timeout_nsec, bool timeline,
		      uint32_t *first_signaled)
{
	struct drm_syncobj **objs;
	uint64_t *points = NULL;
	int r = array_find(file, call, handles, count, SYNCOBJ_ARRAY_MAX, &objs);
	if (r)
		return r;
	/* In the kernel's order: unknown handles, then unreadable points, then what cannot be allocated. */
	if (timeline && (r = read_points(call, points_ptr, count, &points))) {
		array_free(objs, count);
		return r;
	}
	struct syncobj_wait *w = NULL;
	if (count <= SYNCOBJ_WAIT_MAX)
		w = calloc(1, sizeof(*w) + (size_t)count * sizeof(w->e[0]));
	if (!w) {
		free(points);
		array_free(objs, count);
		return -ENOMEM;
	}
	w->call = call;
	w->count = count;
	w->flags = flags;
	w->timeline = timeline;
	w->first = ~0u;
	for (uint32_t i = 0; i < count; i++) {
		w->e[i].wait = w;
		w->e[i].syncobj = objs[i];
		w->e[i].point = points ? points[i] : 0;
	}
	free(objs);
	free(points);
	bool for_submit = flags & (DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE);
	/* Every entry first, so a missing fence is -EINVAL before anything waits. */
	for (uint32_t i = 0; i < count; i++) {
		struct wait_entry *e = &w->e[i];
		if (fence_at(e->syncobj, e->point, &e->fence)) {
			e->fence = NULL;
			if (!for_submit) {
				r = -EINVAL;
				goto out;
			}
			continue;
		}
		if ((flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE) || drm_fence_is_signaled(e->fence)) {
			if (w->first == ~0u)
				w->first = i;
			e->done = true;
			w->ndone++;
		}
	}
	if (w->ndone == count || (w->ndone && !(flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL))) {
		*first_signaled = w->first;
		goto out;
	}
	/* 0 means poll; a deadline already passed is a poll too. */
	uint64_t now = monotonic_ns();
	if (timeout_nsec <= 0 || (uint64_t)timeout_nsec <= now) {
		r = -ETIME;
		goto out;
	}
	if (!dev->loop) {
		r = -ENODEV;
		goto out;
	}
	w->timer = event_loop_add_timer(dev->loop, (uint64_t)timeout_nsec, wait_timeout, w);
	if (!w->timer) {
		r = -ENOMEM;
		goto out;
	}
	/* Nothing below can complete the wait synchronously: every entry was just found pending. */
	for (uint32_t i = 0; i < count; i++) {
		struct wait_entry *e = &w->e[i];
		if (e->done)
			continue;
		if (e->fence) {
			entry_arm(e);
		} else {
			e->sw.func = entry_submitted;
			e->sw.point = e->point;
			drm_syncobj_add_waiter(e->syncobj, &e->sw);
		}
	}
	drm_call_park(call, wait_cancel, w);
	return DRM_CALL_PARKED;
out:
	wait_free(w);
	return r;
}

int drm_syncobj_wait_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_syncobj_wait *args = data;
	if (!drm_core_check_feature(dev, DRIVER_SYNCOBJ))
		return -EOPNOTSUPP;
	if (args->flags & ~(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT))
		return -EINVAL;
	if (!args->count_handles)
		return -EINVAL;
	return array_wait(dev, file, call, args->handles, 0, args->count_handles, args->flags, args->timeout_nsec,
			  false, &args->first_signaled);
}

int drm_syncobj_timeline_wait_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_syncobj_timeline_wait *args = data;
	if (!drm_core_check_feature(dev, DRIVER_SYNCOBJ_TIMELINE))
		return -EOPNOTSUPP;
	if (args->flags & ~(DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT |
			    DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE))
		return -EINVAL;
	if (!args->count_handles)
		return -EINVAL;
	return array_wait(dev, file, call, args->handles, args->points, args->count_handles, args->flags,
			  args->timeout_nsec, true, &args->first_signaled);
}

/* ---- EVENTFD ---- */

struct eventfd_entry {
	struct drm_syncobj_waiter sw; /* weak: the registration goes when the syncobj does */
	struct drm_fence *fence;
	struct drm_fence_cb cb;
	int fd;
	uint32_t flags;
	struct file_rec *owner;
};

static void eventfd_entry_free(struct eventfd_entry *ev)
{
	close(ev->fd);
	drm_fence_put(ev->fence);
	ev->owner->eventfds--;
	file_rec_put(ev->owner);
	free(ev);
}

/*
 * Adds 1 to the client's eventfd, as eventfd_signal does. The daemon must not
 * block on a counter the client filled up, and the file status flags are
 * shared with the client's fd: it is made non-blocking only for this write.
 */
static void eventfd_signal_fd(int fd)
{
	uint64_t one = 1;
	struct pollfd p = {.fd = fd, .events = POLLOUT};
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
		return; /* saturated: it is readable already */
	int fl = fcntl(fd, F_GETFL);
	bool toggle = fl >= 0 && !(fl & O_NONBLOCK);
	if (toggle)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
	if (write(fd, &one, sizeof(one)) < 0) {
		/* Filled up meanwhile: it is readable, which is all a signal promises. */
	}
	if (toggle)
		fcntl(fd, F_SETFL, fl);
}

static void eventfd_fence_cb(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	struct eventfd_entry *ev = (struct eventfd_entry *)((char *)cb - offsetof(struct eventfd_entry, cb));
	eventfd_signal_fd(ev->fd);
	eventfd_entry_free(ev);
}

/* The point exists: signal now (WAIT_AVAILABLE, or already signalled), else when its fence does. */
static void eventfd_point_ready(struct drm_syncobj_waiter *sw)
{
	struct eventfd_entry *ev = (struct eventfd_entry *)sw;
	if (fence_at(sw->syncobj, sw->point, &ev->fence))
		return; /* cannot happen: we are only told once the point exists */
	if ((ev->flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE) ||
	    drm_fence_add_callback(ev->fence, &ev->cb, eventfd_fence_cb) != 0) {
		eventfd_signal_fd(ev->fd);
		eventfd_entry_free(ev);
	}
}

static void eventfd_orphaned(struct drm_syncobj_waiter *sw)
{
	eventfd_entry_free((struct eventfd_entry *)sw);
}

/* Is fd an eventfd? Linux names the file in /proc; where that cannot be read, trust the caller. */
static bool is_eventfd(int fd)
{
	char path[64], target[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return errno == ENOENT;
	target[n] = 0;
	return !strcmp(target, "anon_inode:[eventfd]");
}

int drm_syncobj_eventfd_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_syncobj_eventfd *args = data;
	if (!drm_core_check_feature(dev, DRIVER_SYNCOBJ_TIMELINE))
		return -EOPNOTSUPP;
	if (args->flags & ~DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE)
		return -EINVAL;
	if (args->pad)
		return -EINVAL;
	struct drm_syncobj *s = drm_syncobj_find(file, args->handle);
	if (!s)
		return -ENOENT;
	int r = 0;
	struct file_rec *owner = NULL;
	struct eventfd_entry *ev = NULL;
	if (args->fd < 0) {
		r = -EBADF; /* closed or bogus: the client sent nothing */
		goto out;
	}
	if (!is_eventfd(args->fd)) {
		r = -EINVAL;
		goto out;
	}
	owner = file_rec_get(file);
	if (!owner || owner->eventfds >= SYNCOBJ_EVENTFD_MAX) {
		r = -ENOMEM;
		goto out;
	}
	ev = calloc(1, sizeof(*ev));
	if (!ev) {
		r = -ENOMEM;
		goto out;
	}
	/* The call closes its copy after the handler: keep our own. */
	ev->fd = fcntl(args->fd, F_DUPFD_CLOEXEC, 0);
	if (ev->fd < 0) {
		r = -errno;
		free(ev);
		goto out;
	}
	ev->flags = args->flags;
	ev->owner = owner;
	owner->eventfds++;
	owner = NULL;
	ev->sw.func = eventfd_point_ready;
	ev->sw.point = args->point;
	ev->sw.orphaned = eventfd_orphaned;
	ev->sw.prev = ev->sw.next = NULL;
	waiter_register(s, &ev->sw);
out:
	if (owner)
		file_rec_put(owner);
	drm_syncobj_put(s);
	return r;
}
