/*
 * sw_sync timelines: fences signalled by a counter the client advances, with
 * the kernel's sw_sync.c semantics (32-bit values compared with wrap-around,
 * pending points kept in value order, one fence per pending value).
 */
#include "redox-drm/sw_sync.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "redox-drm/fence.h"
#include "redox-drm/sync_file.h"

struct sw_pt {
	struct drm_fence base;
	struct drm_sw_sync_timeline *tl;
	struct sw_pt *prev, *next; /* pending list, by value; NULL when not on it */
};

struct drm_sw_sync_timeline {
	unsigned int refcount; /* the file's, plus one per fence */
	struct event_loop *loop;
	uint64_t context;
	uint32_t value;
	char name[32];
	struct sw_pt pending; /* list head */
};

static void timeline_put(struct drm_sw_sync_timeline *tl)
{
	if (--tl->refcount == 0)
		free(tl);
}

static const char *pt_driver_name(struct drm_fence *fence)
{
	return "sw_sync";
}

static const char *pt_timeline_name(struct drm_fence *fence)
{
	return ((struct sw_pt *)fence)->tl->name;
}

static void pt_unlink(struct sw_pt *pt)
{
	if (!pt->next)
		return;
	pt->prev->next = pt->next;
	pt->next->prev = pt->prev;
	pt->prev = pt->next = NULL;
}

static void pt_release(struct drm_fence *fence)
{
	struct sw_pt *pt = (struct sw_pt *)fence;
	pt_unlink(pt);
	timeline_put(pt->tl);
	free(pt);
}

static const struct drm_fence_ops pt_ops = {
	.driver_name = pt_driver_name,
	.timeline_name = pt_timeline_name,
	.release = pt_release,
};

/* Has the timeline reached value? 32-bit comparison with wrap-around, as the kernel's. */
static bool reached(const struct drm_sw_sync_timeline *tl, uint32_t value)
{
	return (int32_t)(value - tl->value) <= 0;
}

struct drm_sw_sync_timeline *drm_sw_sync_timeline_create(struct event_loop *loop, const char *name)
{
	struct drm_sw_sync_timeline *tl = calloc(1, sizeof(*tl));
	if (!tl)
		return NULL;
	tl->refcount = 1;
	tl->loop = loop;
	tl->context = drm_fence_context_alloc(1);
	snprintf(tl->name, sizeof(tl->name), "%s", name ? name : "");
	tl->pending.prev = tl->pending.next = &tl->pending;
	return tl;
}

uint32_t drm_sw_sync_timeline_value(const struct drm_sw_sync_timeline *tl)
{
	return tl->value;
}

struct drm_fence *drm_sw_sync_fence_create(struct drm_sw_sync_timeline *tl, uint32_t value)
{
	if (!reached(tl, value)) {
		/* One fence per pending value: a second request shares it. */
		for (struct sw_pt *o = tl->pending.next; o != &tl->pending; o = o->next)
			if ((uint32_t)o->base.seqno == value)
				return drm_fence_get(&o->base);
	}
	struct sw_pt *pt = calloc(1, sizeof(*pt));
	if (!pt)
		return NULL;
	drm_fence_init(&pt->base, &pt_ops, tl->context, value);
	pt->tl = tl;
	tl->refcount++;
	if (reached(tl, value)) {
		drm_fence_signal(&pt->base);
		return &pt->base;
	}
	/* Usually the newest value: search from the end. */
	struct sw_pt *after = tl->pending.prev;
	while (after != &tl->pending && (int32_t)((uint32_t)after->base.seqno - value) > 0)
		after = after->prev;
	pt->prev = after;
	pt->next = after->next;
	after->next->prev = pt;
	after->next = pt;
	return &pt->base;
}

int drm_sw_sync_create_fence(struct drm_sw_sync_timeline *tl, uint32_t value, int *out_fd)
{
	struct drm_fence *f = drm_sw_sync_fence_create(tl, value);
	if (!f)
		return -ENOMEM;
	int fd = drm_sync_file_create(tl->loop, f);
	drm_fence_put(f);
	if (fd < 0)
		return fd;
	*out_fd = fd;
	return 0;
}

static void timeline_signal(struct drm_sw_sync_timeline *tl, uint32_t inc)
{
	tl->value += inc;
	/* Re-read the head each time: a callback may free any other pending point. */
	while (tl->pending.next != &tl->pending) {
		struct sw_pt *pt = tl->pending.next;
		if (!reached(tl, (uint32_t)pt->base.seqno))
			break;
		pt_unlink(pt);
		drm_fence_signal(&pt->base);
	}
}

void drm_sw_sync_inc(struct drm_sw_sync_timeline *tl, uint32_t inc)
{
	/* In steps the wrap-around comparison can tell apart. */
	while (inc > INT_MAX) {
		timeline_signal(tl, INT_MAX);
		inc -= INT_MAX;
	}
	timeline_signal(tl, inc);
}

void drm_sw_sync_timeline_destroy(struct drm_sw_sync_timeline *tl)
{
	if (!tl)
		return;
	/* Nobody can advance it any more: what waits would wait forever, so it fails instead. */
	while (tl->pending.next != &tl->pending) {
		struct sw_pt *pt = tl->pending.next;
		pt_unlink(pt);
		drm_fence_set_error(&pt->base, -ENOENT);
		drm_fence_signal(&pt->base);
	}
	timeline_put(tl); /* the file's: held while signalling, so freed points cannot free it */
}

int drm_sw_sync_ioctl(struct drm_sw_sync_timeline *tl, unsigned long cmd, void *arg)
{
	switch (cmd) {
	case SW_SYNC_IOC_CREATE_FENCE: {
		struct sw_sync_create_fence_data *d = arg;
		int fd;
		int r = drm_sw_sync_create_fence(tl, d->value, &fd);
		if (!r)
			d->fence = fd;
		return r;
	}
	case SW_SYNC_IOC_INC:
		drm_sw_sync_inc(tl, *(const uint32_t *)arg);
		return 0;
	}
	return -ENOTTY;
}
