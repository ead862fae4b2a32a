/*
 * Vblank counting, timestamps and the waits on them: WAIT_VBLANK, CRTC
 * sequences, and the events a commit or a client asked for (drm_vblank.c).
 * Counts and times come from the driver's interrupt handler; waits are parked.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "redox-drm/driver.h"
#include "redox-drm/loop.h"
#include "kms_internal.h"

/* How long a blocking WAIT_VBLANK waits before -EBUSY, as the kernel's 3 s. */
#define VBLANK_WAIT_TIMEOUT_NS 3000000000ull

struct kms_crtc *kms_crtc(struct drm_crtc *crtc)
{
	return crtc->core_priv;
}

uint64_t drm_crtc_vblank_count(struct drm_crtc *crtc, uint64_t *time_ns)
{
	struct kms_crtc *kc = kms_crtc(crtc);
	if (time_ns)
		*time_ns = kc->time_ns;
	return kc->count;
}

static bool vblank_passed(uint64_t seq, uint64_t ref)
{
	return (seq - ref) <= (1u << 23);
}

struct drm_pending_vblank_event *drm_vblank_event_create(struct drm_file *file, struct drm_crtc *crtc,
							 uint32_t type, uint64_t user_data, int *err)
{
	struct drm_pending_vblank_event *e = calloc(1, sizeof(*e));
	if (!e) {
		*err = -ENOMEM;
		return NULL;
	}
	e->event.base.type = type;
	if (type == DRM_EVENT_CRTC_SEQUENCE) {
		e->is_sequence = true;
		e->event.base.length = sizeof(e->event.seq);
		e->event.seq.user_data = user_data;
	} else {
		e->event.base.length = sizeof(e->event.vbl);
		e->event.vbl.user_data = user_data;
		e->event.vbl.crtc_id = crtc ? crtc->base.id : 0;
	}
	*err = drm_event_reserve(file, e->event.base.length);
	if (*err) {
		free(e);
		return NULL;
	}
	e->file = file;
	return e;
}

void drm_vblank_event_free(struct drm_pending_vblank_event *e)
{
	if (e->file)
		drm_event_release(e->file, e->event.base.length);
	free(e);
}

void drm_vblank_event_send(struct drm_pending_vblank_event *e, uint64_t seq, uint64_t time_ns)
{
	if (e->is_sequence) {
		e->event.seq.sequence = seq;
		e->event.seq.time_ns = (int64_t)time_ns;
	} else {
		e->event.vbl.sequence = (uint32_t)seq;
		e->event.vbl.tv_sec = (uint32_t)(time_ns / 1000000000ull);
		e->event.vbl.tv_usec = (uint32_t)(time_ns % 1000000000ull / 1000);
	}
	if (e->file)
		drm_event_send(e->file, &e->event, e->event.base.length);
	free(e);
}

static void fill_reply(struct drm_crtc *crtc, struct drm_wait_vblank_reply *reply)
{
	uint64_t t;
	reply->sequence = (uint32_t)drm_crtc_vblank_count(crtc, &t);
	reply->tval_sec = (long)(t / 1000000000ull);
	reply->tval_usec = (long)(t % 1000000000ull / 1000);
}

static void waiter_unlink(struct vblank_waiter *w)
{
	struct kms_crtc *kc = kms_crtc(w->crtc);
	for (struct vblank_waiter **p = &kc->waiters; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	event_timer_cancel(w->timeout);
}

static void waiter_answer(struct vblank_waiter *w, int ret)
{
	union drm_wait_vblank *vbl = drm_call_data(w->call);
	fill_reply(w->crtc, &vbl->reply);
	drm_call_complete(w->call, ret);
	free(w);
}

/* Delivers what the CRTC's new count satisfies (or everything, when it stops). */
static void deliver(struct drm_crtc *crtc, bool all)
{
	struct kms_crtc *kc = kms_crtc(crtc);
	for (struct drm_pending_vblank_event **p = &kc->events; *p;) {
		struct drm_pending_vblank_event *e = *p;
		if (all || vblank_passed(kc->count, e->sequence)) {
			*p = e->next;
			drm_vblank_event_send(e, kc->count, kc->time_ns);
		} else {
			p = &e->next;
		}
	}
	for (struct vblank_waiter **p = &kc->waiters; *p;) {
		struct vblank_waiter *w = *p;
		if (all || vblank_passed(kc->count, w->sequence)) {
			*p = w->next;
			event_timer_cancel(w->timeout);
			waiter_answer(w, 0);
		} else {
			p = &w->next;
		}
	}
}

void drm_crtc_handle_vblank(struct drm_crtc *crtc, uint64_t timestamp_ns)
{
	struct kms_crtc *kc = kms_crtc(crtc);
	if (!kc->vblank_on)
		return;
	kc->count++;
	kc->time_ns = timestamp_ns;
	deliver(crtc, false);
	kms_crtc_vblank_commit_check(crtc, kc->count);
}

void drm_crtc_vblank_on(struct drm_crtc *crtc)
{
	struct kms_crtc *kc = kms_crtc(crtc);
	const struct drm_kms_funcs *f = crtc->dev->mode_config->funcs;
	if (kc->vblank_on)
		return;
	if (f->enable_vblank && f->enable_vblank(crtc) < 0)
		return;
	kc->vblank_on = true;
	kc->time_ns = monotonic_ns();
}

void drm_crtc_vblank_off(struct drm_crtc *crtc)
{
	struct kms_crtc *kc = kms_crtc(crtc);
	const struct drm_kms_funcs *f = crtc->dev->mode_config->funcs;
	if (!kc->vblank_on)
		return;
	if (f->disable_vblank)
		f->disable_vblank(crtc);
	kc->vblank_on = false;
	/* Nothing will count anymore: answer everyone with the last count, as the kernel does. */
	deliver(crtc, true);
}

void drm_kms_events_release(struct drm_file *file)
{
	struct drm_mode_config *mc = file->dev->mode_config;
	for (unsigned i = 0; i < mc->ncrtcs; i++) {
		struct kms_crtc *kc = kms_crtc(mc->crtcs[i]);
		for (struct drm_pending_vblank_event **p = &kc->events; *p;) {
			struct drm_pending_vblank_event *e = *p;
			if (e->file == file) {
				*p = e->next;
				free(e);
			} else {
				p = &e->next;
			}
		}
		/* A commit in flight keeps its event; it just has nobody to go to now. */
		if (kc->commit && kc->commit->events[i] && kc->commit->events[i]->file == file)
			kc->commit->events[i]->file = NULL;
	}
}

static void queue_event(struct drm_crtc *crtc, struct drm_pending_vblank_event *e)
{
	struct kms_crtc *kc = kms_crtc(crtc);
	e->next = kc->events;
	kc->events = e;
}

static void waiter_timeout(void *data)
{
	struct vblank_waiter *w = data;
	w->timeout = NULL;
	waiter_unlink(w);
	waiter_answer(w, -EBUSY);
}

static void waiter_cancel(struct drm_call *call, void *data)
{
	struct vblank_waiter *w = data;
	waiter_unlink(w);
	free(w);
}

int drm_wait_vblank_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	union drm_wait_vblank *vbl = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	uint32_t type = vbl->request.type;
	if (type & _DRM_VBLANK_SIGNAL)
		return -EINVAL;
	if (type & ~(_DRM_VBLANK_TYPES_MASK | _DRM_VBLANK_FLAGS_MASK | _DRM_VBLANK_HIGH_CRTC_MASK))
		return -EINVAL;
	uint32_t flags = type & _DRM_VBLANK_FLAGS_MASK;
	uint32_t high = (type & _DRM_VBLANK_HIGH_CRTC_MASK) >> _DRM_VBLANK_HIGH_CRTC_SHIFT;
	unsigned pipe = high ? high : ((flags & _DRM_VBLANK_SECONDARY) ? 1 : 0);
	struct drm_crtc *crtc = drm_crtc_from_index(dev, pipe);
	if (!crtc)
		return -EINVAL;
	struct kms_crtc *kc = kms_crtc(crtc);
	if (!kc->vblank_on)
		return -EINVAL; /* drm_vblank_get on a CRTC that is off */
	uint64_t seq = kc->count, req;
	switch (type & _DRM_VBLANK_TYPES_MASK) {
	case _DRM_VBLANK_RELATIVE:
		req = seq + vbl->request.sequence;
		vbl->request.sequence = (uint32_t)req;
		vbl->request.type &= ~_DRM_VBLANK_RELATIVE;
		break;
	case _DRM_VBLANK_ABSOLUTE:
		req = seq + (uint64_t)(int64_t)(int32_t)(vbl->request.sequence - (uint32_t)seq);
		break;
	default:
		return -EINVAL;
	}
	if ((flags & _DRM_VBLANK_NEXTONMISS) && vblank_passed(seq, req)) {
		req = seq + 1;
		vbl->request.type &= ~_DRM_VBLANK_NEXTONMISS;
		vbl->request.sequence = (uint32_t)req;
	}
	if (flags & _DRM_VBLANK_EVENT) {
		int err;
		uint64_t user_data = vbl->request.signal;
		struct drm_pending_vblank_event *e = drm_vblank_event_create(file, crtc, DRM_EVENT_VBLANK, user_data, &err);
		if (!e)
			return err;
		if (vblank_passed(seq, req)) {
			drm_vblank_event_send(e, seq, kc->time_ns);
			vbl->reply.sequence = (uint32_t)seq;
		} else {
			e->sequence = req;
			queue_event(crtc, e);
			vbl->reply.sequence = (uint32_t)req;
		}
		return 0;
	}
	if (!vblank_passed(seq, req)) {
		struct vblank_waiter *w = calloc(1, sizeof(*w));
		if (!w)
			return -ENOMEM;
		w->call = call;
		w->crtc = crtc;
		w->sequence = req;
		w->timeout = event_loop_add_timer(dev->loop, monotonic_ns() + VBLANK_WAIT_TIMEOUT_NS, waiter_timeout, w);
		w->next = kc->waiters;
		kc->waiters = w;
		drm_call_park(call, waiter_cancel, w);
		return DRM_CALL_PARKED;
	}
	fill_reply(crtc, &vbl->reply);
	return 0;
}

int drm_crtc_get_sequence_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_crtc_get_sequence *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_crtc *crtc = (struct drm_crtc *)drm_mode_object_find(dev, r->crtc_id, DRM_MODE_OBJECT_CRTC);
	if (!crtc)
		return -ENOENT;
	if (!kms_crtc(crtc)->vblank_on)
		return -EINVAL;
	uint64_t t;
	r->active = crtc->state->enable;
	r->sequence = drm_crtc_vblank_count(crtc, &t);
	r->sequence_ns = (int64_t)t;
	return 0;
}

int drm_crtc_queue_sequence_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_crtc_queue_sequence *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_crtc *crtc = (struct drm_crtc *)drm_mode_object_find(dev, r->crtc_id, DRM_MODE_OBJECT_CRTC);
	if (!crtc)
		return -ENOENT;
	if (r->flags & ~(DRM_CRTC_SEQUENCE_RELATIVE | DRM_CRTC_SEQUENCE_NEXT_ON_MISS))
		return -EINVAL;
	struct kms_crtc *kc = kms_crtc(crtc);
	if (!kc->vblank_on)
		return -EINVAL;
	uint64_t seq = kc->count, req = r->sequence;
	if (r->flags & DRM_CRTC_SEQUENCE_RELATIVE)
		req += seq;
	if ((r->flags & DRM_CRTC_SEQUENCE_NEXT_ON_MISS) && vblank_passed(seq, req))
		req = seq + 1;
	int err;
	struct drm_pending_vblank_event *e = drm_vblank_event_create(file, crtc, DRM_EVENT_CRTC_SEQUENCE,
								     r->user_data, &err);
	if (!e)
		return err;
	if (vblank_passed(seq, req)) {
		drm_vblank_event_send(e, seq, kc->time_ns);
		r->sequence = seq;
	} else {
		e->sequence = req;
		queue_event(crtc, e);
		r->sequence = req;
	}
	return 0;
}
