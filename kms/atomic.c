/*
 * Atomic state: duplicate what a request touches, set properties, check,
 * swap in, let the driver program it, and finish per CRTC when the hardware
 * has latched it (drm_atomic.c, drm_atomic_uapi.c, drm_atomic_helper.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "redox-drm/driver.h"
#include "redox-drm/fence.h"
#include "redox-drm/gem.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"
#include "redox-drm/sync_file.h"
#include "kms_internal.h"

struct drm_atomic_state *drm_atomic_state_alloc(struct drm_device *dev, struct drm_file *file)
{
	struct drm_atomic_state *s = calloc(1, sizeof(*s));
	if (s) {
		s->dev = dev;
		s->file = file;
		s->allow_modeset = true; /* legacy paths may modeset; the ATOMIC ioctl says otherwise */
	}
	return s;
}

static void blob_put_id(struct drm_device *dev, uint32_t id)
{
	if (id)
		drm_property_blob_put(drm_property_lookup_blob(dev, id));
}

static void plane_state_free(struct drm_plane_state *ps, bool shown)
{
	if (!ps)
		return;
	if (ps->fb) {
		struct drm_framebuffer *fb = ps->fb;
		/* The last state showing a framebuffer lets the driver unmap it. */
		if (shown && --fb->prepared == 0 && fb->dev->mode_config->funcs->cleanup_fb)
			fb->dev->mode_config->funcs->cleanup_fb(fb->dev, fb);
		drm_framebuffer_put(fb);
	}
	if (ps->fence)
		drm_fence_put(ps->fence);
	free(ps);
}

/* Frees a state: after a commit its *_old arrays hold what was replaced; otherwise the unused *_new. */
static void state_free(struct drm_atomic_state *s, bool committed)
{
	struct drm_device *dev = s->dev;
	for (unsigned i = 0; i < KMS_MAX_PLANES; i++)
		plane_state_free(committed ? s->planes_old[i] : s->planes_new[i], committed);
	for (unsigned i = 0; i < KMS_MAX_CRTCS; i++) {
		struct drm_crtc_state *cs = committed ? s->crtcs_old[i] : s->crtcs_new[i];
		if (cs) {
			if (cs->event)
				drm_vblank_event_free(cs->event);
			blob_put_id(dev, cs->mode_blob_id);
			free(cs);
		}
		if (s->events[i])
			drm_vblank_event_free(s->events[i]);
	}
	for (unsigned i = 0; i < KMS_MAX_CONNECTORS; i++)
		free(committed ? s->conns_old[i] : s->conns_new[i]);
	free(s);
}

void drm_atomic_state_free(struct drm_atomic_state *state)
{
	if (state)
		state_free(state, false);
}

struct drm_plane_state *drm_atomic_get_plane_state(struct drm_atomic_state *s, struct drm_plane *plane)
{
	unsigned i = plane->index;
	if (s->planes_new[i])
		return s->planes_new[i];
	struct drm_plane_state *ps = malloc(sizeof(*ps));
	if (!ps)
		return NULL;
	*ps = *plane->state;
	if (ps->fb)
		drm_framebuffer_get(ps->fb);
	ps->visible = false;
	ps->fence = NULL; /* an in-fence belongs to the one commit that named it */
	s->planes_old[i] = plane->state;
	s->planes_new[i] = ps;
	/* The CRTC it is on is part of the update too (its event, its commit). */
	if (ps->crtc && !drm_atomic_get_crtc_state(s, ps->crtc))
		return NULL;
	return ps;
}

struct drm_crtc_state *drm_atomic_get_crtc_state(struct drm_atomic_state *s, struct drm_crtc *crtc)
{
	unsigned i = crtc->index;
	if (s->crtcs_new[i])
		return s->crtcs_new[i];
	struct drm_crtc_state *cs = malloc(sizeof(*cs));
	if (!cs)
		return NULL;
	*cs = *crtc->state;
	if (cs->mode_blob_id)
		drm_property_blob_get(drm_property_lookup_blob(s->dev, cs->mode_blob_id));
	cs->mode_changed = cs->planes_changed = false;
	cs->event = NULL;
	s->crtcs_old[i] = crtc->state;
	s->crtcs_new[i] = cs;
	return cs;
}

struct drm_connector_state *drm_atomic_get_connector_state(struct drm_atomic_state *s,
							   struct drm_connector *conn)
{
	unsigned i = conn->index;
	if (s->conns_new[i])
		return s->conns_new[i];
	struct drm_connector_state *cs = malloc(sizeof(*cs));
	if (!cs)
		return NULL;
	*cs = *conn->state;
	s->conns_old[i] = conn->state;
	s->conns_new[i] = cs;
	return cs;
}

int drm_atomic_set_mode_for_crtc(struct drm_crtc_state *cs, const struct drm_mode_modeinfo *mode)
{
	struct drm_device *dev = cs->crtc->dev;
	blob_put_id(dev, cs->mode_blob_id);
	cs->mode_blob_id = 0;
	if (!mode) {
		cs->enable = false;
		memset(&cs->mode, 0, sizeof(cs->mode));
		return 0;
	}
	struct drm_property_blob *b = drm_property_create_blob(dev, sizeof(*mode), mode);
	if (!b)
		return -ENOMEM;
	cs->mode_blob_id = b->base.id;
	cs->mode = *mode;
	cs->enable = true;
	return 0;
}

static int set_mode_blob(struct drm_crtc_state *cs, struct drm_property_blob *b)
{
	struct drm_device *dev = cs->crtc->dev;
	if (b && b->base.id == cs->mode_blob_id)
		return 0;
	if (!b)
		return drm_atomic_set_mode_for_crtc(cs, NULL);
	if (b->length != sizeof(struct drm_mode_modeinfo))
		return -EINVAL;
	struct drm_mode_modeinfo m;
	memcpy(&m, b->data, sizeof(m));
	if (drm_mode_validate_umode(&m))
		return -EINVAL;
	blob_put_id(dev, cs->mode_blob_id);
	cs->mode_blob_id = drm_property_blob_get(b)->base.id;
	cs->mode = m;
	cs->enable = true;
	return 0;
}

void drm_atomic_set_fb_for_plane(struct drm_plane_state *ps, struct drm_framebuffer *fb)
{
	if (fb)
		drm_framebuffer_get(fb);
	if (ps->fb)
		drm_framebuffer_put(ps->fb);
	ps->fb = fb;
}

static int set_crtc_for_plane(struct drm_atomic_state *s, struct drm_plane_state *ps, struct drm_crtc *crtc)
{
	/* Both the CRTC it leaves and the one it joins are part of the update. */
	if (ps->crtc && !drm_atomic_get_crtc_state(s, ps->crtc))
		return -ENOMEM;
	if (crtc && !drm_atomic_get_crtc_state(s, crtc))
		return -ENOMEM;
	ps->crtc = crtc;
	return 0;
}

/*
 * IN_FENCE_FD: a sync_file the plane waits for (drm_atomic_plane_set_property).
 * The value is the daemon's descriptor: the wire layer put it there (wire.h).
 */
static int set_in_fence(struct drm_plane_state *ps, int64_t fd)
{
	if (fd == -1)
		return 0;
	if (fd < 0 || fd > INT32_MAX || ps->fence)
		return -EINVAL; /* out of range, or named twice in one commit */
	ps->fence = drm_sync_file_get_fence((int)fd);
	return ps->fence ? 0 : -EINVAL;
}

int drm_atomic_set_property(struct drm_atomic_state *s, struct drm_mode_object *obj, struct drm_property *prop,
			    uint64_t val)
{
	struct drm_device *dev = s->dev;
	struct drm_mode_config *mc = dev->mode_config;
	switch (obj->type) {
	case DRM_MODE_OBJECT_PLANE: {
		struct drm_plane_state *ps = drm_atomic_get_plane_state(s, (struct drm_plane *)obj);
		if (!ps)
			return -ENOMEM;
		if (prop == mc->prop_fb_id) {
			/* An unknown id reads as "no framebuffer", as in the kernel; the check then decides. */
			drm_atomic_set_fb_for_plane(ps, val <= UINT32_MAX ? drm_framebuffer_lookup(dev, (uint32_t)val) : NULL);
		} else if (prop == mc->prop_crtc_id) {
			struct drm_crtc *crtc = (struct drm_crtc *)drm_mode_object_find(dev, (uint32_t)val, DRM_MODE_OBJECT_CRTC);
			if (val && (!crtc || val > UINT32_MAX))
				return -EACCES;
			return set_crtc_for_plane(s, ps, crtc);
		} else if (prop == mc->prop_crtc_x) {
			ps->crtc_x = (int32_t)val;
		} else if (prop == mc->prop_crtc_y) {
			ps->crtc_y = (int32_t)val;
		} else if (prop == mc->prop_crtc_w) {
			ps->crtc_w = (uint32_t)val;
		} else if (prop == mc->prop_crtc_h) {
			ps->crtc_h = (uint32_t)val;
		} else if (prop == mc->prop_src_x) {
			ps->src_x = (uint32_t)val;
		} else if (prop == mc->prop_src_y) {
			ps->src_y = (uint32_t)val;
		} else if (prop == mc->prop_src_w) {
			ps->src_w = (uint32_t)val;
		} else if (prop == mc->prop_src_h) {
			ps->src_h = (uint32_t)val;
		} else if (prop == mc->prop_in_fence_fd) {
			return set_in_fence(ps, (int64_t)val);
		} else {
			return -EINVAL;
		}
		return 0;
	}
	case DRM_MODE_OBJECT_CRTC: {
		struct drm_crtc_state *cs = drm_atomic_get_crtc_state(s, (struct drm_crtc *)obj);
		if (!cs)
			return -ENOMEM;
		if (prop == mc->prop_active) {
			if (val > 1)
				return -EINVAL;
			cs->active = val;
			return 0;
		}
		if (prop == mc->prop_mode_id) {
			/* An unknown blob id reads as "no mode", which disables the CRTC. */
			struct drm_property_blob *b = val <= UINT32_MAX ? drm_property_lookup_blob(dev, (uint32_t)val) : NULL;
			return set_mode_blob(cs, b);
		}
		return -EINVAL;
	}
	case DRM_MODE_OBJECT_CONNECTOR: {
		struct drm_connector *conn = (struct drm_connector *)obj;
		struct drm_connector_state *cs = drm_atomic_get_connector_state(s, conn);
		if (!cs)
			return -ENOMEM;
		if (prop == mc->prop_crtc_id) {
			struct drm_crtc *crtc = (struct drm_crtc *)drm_mode_object_find(dev, (uint32_t)val, DRM_MODE_OBJECT_CRTC);
			if (val && (!crtc || val > UINT32_MAX))
				return -EACCES;
			if (cs->crtc && !drm_atomic_get_crtc_state(s, cs->crtc))
				return -ENOMEM;
			if (crtc && !drm_atomic_get_crtc_state(s, crtc))
				return -ENOMEM;
			cs->crtc = crtc;
			return 0;
		}
		/* Userspace restoring a state may write link-status; only hardware may make it Bad. */
		if (prop == mc->prop_link_status)
			return val <= DRM_MODE_LINK_STATUS_BAD ? 0 : -EINVAL;
		/* DPMS goes through the legacy SETPROPERTY path only. */
		return -EINVAL;
	}
	default:
		return -EINVAL;
	}
}

int drm_atomic_get_property(struct drm_mode_object *obj, struct drm_property *prop, uint64_t *val)
{
	switch (obj->type) {
	case DRM_MODE_OBJECT_PLANE: {
		struct drm_plane *p = (struct drm_plane *)obj;
		struct drm_mode_config *mc = p->dev->mode_config;
		struct drm_plane_state *ps = p->state;
		if (prop == mc->prop_fb_id)
			*val = ps->fb ? ps->fb->base.id : 0;
		else if (prop == mc->prop_crtc_id)
			*val = ps->crtc ? ps->crtc->base.id : 0;
		else if (prop == mc->prop_crtc_x)
			*val = (uint64_t)(int64_t)ps->crtc_x;
		else if (prop == mc->prop_crtc_y)
			*val = (uint64_t)(int64_t)ps->crtc_y;
		else if (prop == mc->prop_crtc_w)
			*val = ps->crtc_w;
		else if (prop == mc->prop_crtc_h)
			*val = ps->crtc_h;
		else if (prop == mc->prop_src_x)
			*val = ps->src_x;
		else if (prop == mc->prop_src_y)
			*val = ps->src_y;
		else if (prop == mc->prop_src_w)
			*val = ps->src_w;
		else if (prop == mc->prop_src_h)
			*val = ps->src_h;
		else if (prop == mc->prop_in_fence_fd)
			*val = (uint64_t)-1; /* as the kernel: never reads back */
		else
			return -EINVAL;
		return 0;
	}
	case DRM_MODE_OBJECT_CRTC: {
		struct drm_crtc *c = (struct drm_crtc *)obj;
		struct drm_mode_config *mc = c->dev->mode_config;
		if (prop == mc->prop_active)
			*val = c->state->active;
		else if (prop == mc->prop_mode_id)
			*val = c->state->mode_blob_id;
		else
			return -EINVAL;
		return 0;
	}
	case DRM_MODE_OBJECT_CONNECTOR: {
		struct drm_connector *c = (struct drm_connector *)obj;
		if (prop != c->dev->mode_config->prop_crtc_id)
			return -EINVAL;
		*val = c->state->crtc ? c->state->crtc->base.id : 0;
		return 0;
	}
	}
	return -EINVAL;
}

/* ---- check ---- */

static int check_plane(struct drm_atomic_state *s, struct drm_plane *plane, struct drm_plane_state *ps)
{
	struct drm_framebuffer *fb = ps->fb;
	if (!ps->crtc != !fb)
		return -EINVAL; /* a CRTC needs a framebuffer and a framebuffer a CRTC */
	if (!fb)
		return 0;
	if (!(plane->possible_crtcs & (1u << ps->crtc->index)))
		return -EINVAL;
	if (!drm_plane_has_format(plane, fb->format, fb->modifier))
		return -EINVAL;
	if (ps->crtc_w > INT_MAX || ps->crtc_x > INT_MAX - (int32_t)ps->crtc_w || ps->crtc_h > INT_MAX ||
	    ps->crtc_y > INT_MAX - (int32_t)ps->crtc_h)
		return -ERANGE;
	uint64_t fw = (uint64_t)fb->width << 16, fh = (uint64_t)fb->height << 16;
	if (ps->src_w > fw || ps->src_x > fw - ps->src_w || ps->src_h > fh || ps->src_y > fh - ps->src_h)
		return -ENOSPC;
	return 0;
}

static bool same_mode(const struct drm_mode_modeinfo *a, const struct drm_mode_modeinfo *b)
{
	return a->clock == b->clock && a->hdisplay == b->hdisplay && a->hsync_start == b->hsync_start &&
	       a->hsync_end == b->hsync_end && a->htotal == b->htotal && a->vdisplay == b->vdisplay &&
	       a->vsync_start == b->vsync_start && a->vsync_end == b->vsync_end && a->vtotal == b->vtotal &&
	       a->flags == b->flags;
}

int drm_atomic_check(struct drm_atomic_state *s)
{
	struct drm_device *dev = s->dev;
	struct drm_mode_config *mc = dev->mode_config;
	for (unsigned i = 0; i < mc->nplanes; i++) {
		struct drm_plane_state *ps = s->planes_new[i];
		if (!ps)
			continue;
		int r = check_plane(s, mc->planes[i], ps);
		if (r)
			return r;
		if (ps->crtc && !drm_atomic_get_crtc_state(s, ps->crtc))
			return -ENOMEM;
		if (s->planes_old[i]->crtc && !drm_atomic_get_crtc_state(s, s->planes_old[i]->crtc))
			return -ENOMEM;
	}
	for (unsigned i = 0; i < mc->nconnectors; i++) {
		struct drm_connector_state *cs = s->conns_new[i];
		struct drm_connector *conn = mc->connectors[i];
		if (!cs || !cs->crtc)
			continue;
		if (!conn->encoder || !(conn->encoder->possible_crtcs & (1u << cs->crtc->index)))
			return -EINVAL;
		if (conn->status != connector_status_connected && cs->crtc != s->conns_old[i]->crtc)
			return -EINVAL; /* nothing to show a picture on */
	}
	for (unsigned i = 0; i < mc->ncrtcs; i++) {
		struct drm_crtc_state *cs = s->crtcs_new[i], *old = s->crtcs_old[i];
		if (!cs)
			continue;
		struct drm_crtc *crtc = mc->crtcs[i];
		if (cs->active && !cs->enable)
			return -EINVAL;
		if (cs->event && !cs->active && !old->active)
			return -EINVAL; /* an event that would never come */
		/* Which planes and connectors end up on this CRTC. */
		cs->plane_mask = 0;
		for (unsigned p = 0; p < mc->nplanes; p++) {
			struct drm_plane_state *ps = s->planes_new[p] ? s->planes_new[p] : mc->planes[p]->state;
			if (ps->crtc == crtc)
				cs->plane_mask |= 1u << p;
			if (s->planes_new[p] && (ps->crtc == crtc || s->planes_old[p]->crtc == crtc))
				cs->planes_changed = true;
		}
		uint32_t conns = 0;
		for (unsigned c = 0; c < mc->nconnectors; c++) {
			struct drm_connector_state *st = s->conns_new[c] ? s->conns_new[c] : mc->connectors[c]->state;
			if (st->crtc == crtc)
				conns |= 1u << c;
		}
		cs->mode_changed = cs->enable != old->enable || cs->active != old->active ||
				   !same_mode(&cs->mode, &old->mode) || conns != old->connector_mask;
		cs->connector_mask = conns;
		if (cs->enable != (conns != 0))
			return -EINVAL; /* enabled with no connector, or connectors on a disabled CRTC */
		if (cs->mode_changed && !s->allow_modeset)
			return -EINVAL;
		for (unsigned p = 0; p < mc->nplanes; p++) {
			struct drm_plane_state *ps = s->planes_new[p];
			if (!ps || ps->crtc != crtc)
				continue;
			if (ps->fb && !cs->enable)
				return -EINVAL; /* a plane on a disabled CRTC */
			ps->visible = ps->fb && cs->active;
		}
	}
	return mc->funcs->atomic_check ? mc->funcs->atomic_check(dev, s) : 0;
}

/* ---- commit and completion ---- */

static void stall_fire(void *data)
{
	struct kms_stall *st = data;
	struct drm_call *call = st->call;
	bool rerun = st->rerun;
	free(st);
	if (rerun)
		drm_call_rerun(call);
	else
		drm_call_complete(call, 0);
}

static void stall_cancel_timer(struct drm_call *call, void *data);

/*
 * Answered from the loop, not from inside the driver's interrupt handler that
 * finished the commit: a re-run commit would re-enter the driver mid-handler.
 */
static void stall_resolve(struct kms_stall *st)
{
	st->timer = event_loop_add_timer(st->dev->loop, 1, stall_fire, st);
	if (!st->timer) {
		stall_fire(st);
		return;
	}
	drm_call_park(st->call, stall_cancel_timer, st);
}

static void stall_cancel_timer(struct drm_call *call, void *data)
{
	struct kms_stall *st = data;
	event_timer_cancel(st->timer);
	free(st);
}

/* The CRTC has no commit in flight anymore: wake who waited for that. */
static void crtc_idle(struct drm_crtc *crtc)
{
	struct kms_crtc *kc = kms_crtc(crtc);
	struct stall_link *l = kc->stalls;
	kc->stalls = NULL;
	while (l) {
		struct stall_link *next = l->next;
		struct kms_stall *st = l->stall;
		free(l);
		if (--st->waiting == 0)
			stall_resolve(st);
		l = next;
	}
}

/* Swapped in, but waiting for its fences before the driver programs it. */
static bool awaiting_program(const struct drm_atomic_state *s)
{
	return s->fences_pending || s->program_timer;
}

static void commit_finish(struct drm_atomic_state *s)
{
	if (--s->pending == 0)
		state_free(s, true);
}

void drm_crtc_commit_done(struct drm_crtc *crtc)
{
	struct kms_crtc *kc = kms_crtc(crtc);
	struct drm_atomic_state *s = kc->commit;
	if (!s)
		return; /* already finished (a driver may report a disable twice) */
	if (awaiting_program(s))
		return; /* not even programmed: a late interrupt of the one before */
	kc->commit = NULL;
	/* Cursor updates made while it was in flight were latched by the same frame. */
	while (kc->riders) {
		struct drm_atomic_state *r = kc->riders;
		kc->riders = r->next_rider;
		commit_finish(r);
	}
	struct drm_pending_vblank_event *e = s->events[crtc->index];
	s->events[crtc->index] = NULL;
	if (e) {
		uint64_t t;
		uint64_t seq = drm_crtc_vblank_count(crtc, &t);
		drm_vblank_event_send(e, seq, t);
	}
	commit_finish(s);
	crtc_idle(crtc);
}

bool drm_atomic_busy(struct drm_atomic_state *s)
{
	struct drm_mode_config *mc = s->dev->mode_config;
	for (unsigned i = 0; i < mc->ncrtcs; i++)
		if (s->crtcs_new[i] && kms_crtc(mc->crtcs[i])->commit)
			return true;
	return false;
}

static void stall_cancel(struct drm_call *call, void *data)
{
	struct kms_stall *st = data;
	struct drm_mode_config *mc = st->dev->mode_config;
	for (unsigned i = 0; mc && i < mc->ncrtcs; i++) {
		struct kms_crtc *kc = kms_crtc(mc->crtcs[i]);
		for (struct stall_link **p = &kc->stalls; *p;) {
			if ((*p)->stall == st) {
				struct stall_link *dead = *p;
				*p = dead->next;
				free(dead);
			} else {
				p = &(*p)->next;
			}
		}
	}
	free(st);
}

/* Parks call until every CRTC of the state that has a commit in flight has finished it. */
static int stall_on(struct drm_atomic_state *s, struct drm_call *call, bool rerun)
{
	struct drm_mode_config *mc = s->dev->mode_config;
	struct kms_stall *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->dev = s->dev;
	st->call = call;
	st->rerun = rerun;
	for (unsigned i = 0; i < mc->ncrtcs; i++) {
		struct kms_crtc *kc = kms_crtc(mc->crtcs[i]);
		if (!s->crtcs_new[i] || !kc->commit)
			continue;
		struct stall_link *l = malloc(sizeof(*l));
		if (!l) {
			stall_cancel(call, st);
			return -ENOMEM;
		}
		l->stall = st;
		l->next = kc->stalls;
		kc->stalls = l;
		st->waiting++;
	}
	if (!st->waiting) {
		free(st);
		return 0;
	}
	drm_call_park(call, stall_cancel, st);
	return DRM_CALL_PARKED;
}


/* Commits that the hardware never confirmed: finish them a frame later rather than never. */
void kms_crtc_vblank_commit_check(struct drm_crtc *crtc, uint64_t count)
{
	struct kms_crtc *kc = kms_crtc(crtc);
	if (kc->commit && !awaiting_program(kc->commit) && kc->time_ns > kc->commit_time_ns &&
	    ++kc->commit_frames > 2) {
		log_warn("crtc %u: commit not confirmed by the hardware after two frames", crtc->base.id);
		drm_crtc_commit_done(crtc);
	}
}

/* ---- fences: a state is programmed once the fences of what it shows have signalled ---- */

struct kms_fence_wait {
	struct drm_fence_cb cb;
	struct drm_fence *fence;
	struct drm_atomic_state *state;
};

static void commit_program(struct drm_atomic_state *s);

static void program_fire(void *data)
{
	struct drm_atomic_state *s = data;
	s->program_timer = NULL;
	commit_program(s);
}

static void fences_all_signalled(struct drm_atomic_state *s)
{
	/* From the loop: the last fence may signal inside the driver's own interrupt handler. */
	s->program_timer = event_loop_add_timer(s->dev->loop, 1, program_fire, s);
	if (!s->program_timer)
		commit_program(s);
}

static void fence_wait_done(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	(void)fence;
	struct kms_fence_wait *w = (struct kms_fence_wait *)cb;
	struct drm_atomic_state *s = w->state;
	if (--s->fences_pending == 0)
		fences_all_signalled(s);
}

/*
 * Implicit fencing (drm_gem_plane_helper_prepare_fb): a plane given no
 * in-fence waits for the rendering still writing its framebuffer's memory.
 */
static int implicit_fence(struct drm_plane_state *ps)
{
	if (ps->fence || !ps->fb)
		return 0;
	struct drm_fence *fences[4];
	unsigned n = 0;
	int err = 0;
	for (unsigned k = 0; k < ps->fb->nplanes; k++) {
		struct drm_gem_object *obj = ps->fb->obj[k];
		if (!obj || (k && obj == ps->fb->obj[k - 1]))
			continue;
		struct drm_fence *f = drm_gem_resv_get_fence(obj, true, &err);
		if (err)
			break;
		if (f)
			fences[n++] = f;
	}
	if (err || n <= 1) {
		if (err)
			while (n)
				drm_fence_put(fences[--n]);
		else if (n)
			ps->fence = fences[0];
		return err;
	}
	ps->fence = drm_fence_array_create(n, fences, false);
	return ps->fence ? 0 : -ENOMEM;
}

/* The fences the new planes wait for: in-fences, else implicit ones. Allocated before anything changes. */
static int fence_waits_prepare(struct drm_atomic_state *s)
{
	struct drm_mode_config *mc = s->dev->mode_config;
	unsigned n = 0;
	for (unsigned i = 0; i < mc->nplanes; i++) {
		struct drm_plane_state *ps = s->planes_new[i];
		if (!ps)
			continue;
		int r = implicit_fence(ps);
		if (r)
			return r;
		if (ps->fence)
			n++;
	}
	if (!n)
		return 0;
	s->fence_waits = calloc(n, sizeof(*s->fence_waits));
	if (!s->fence_waits)
		return -ENOMEM;
	n = 0;
	for (unsigned i = 0; i < mc->nplanes; i++) {
		struct drm_plane_state *ps = s->planes_new[i];
		if (ps && ps->fence)
			s->fence_waits[n++] = (struct kms_fence_wait){.fence = drm_fence_get(ps->fence), .state = s};
	}
	s->nfence_waits = n;
	return 0;
}

/* Starts waiting; the ones already signalled do not count. */
static void fence_waits_arm(struct drm_atomic_state *s)
{
	s->fences_pending++; /* not before all are armed */
	for (unsigned i = 0; i < s->nfence_waits; i++) {
		struct kms_fence_wait *w = &s->fence_waits[i];
		if (drm_fence_add_callback(w->fence, &w->cb, fence_wait_done) == 0)
			s->fences_pending++;
	}
	if (--s->fences_pending == 0)
		commit_program(s);
}

static void fence_waits_free(struct drm_atomic_state *s)
{
	for (unsigned i = 0; i < s->nfence_waits; i++)
		drm_fence_put(s->fence_waits[i].fence);
	free(s->fence_waits);
	s->fence_waits = NULL;
	s->nfence_waits = 0;
}

/* A commit still waiting on the CRTCs of s. */
static bool waits_for_fences(struct drm_atomic_state *s)
{
	struct drm_mode_config *mc = s->dev->mode_config;
	for (unsigned i = 0; i < mc->ncrtcs; i++) {
		struct drm_atomic_state *c = kms_crtc(mc->crtcs[i])->commit;
		if (s->crtcs_new[i] && c && awaiting_program(c))
			return true;
	}
	return false;
}

/* Stops waiting and programs now (the state is overtaken by an internal commit). */
static void fence_waits_flush(struct drm_atomic_state *s)
{
	if (s->program_timer) {
		event_timer_cancel(s->program_timer);
		s->program_timer = NULL;
		commit_program(s);
		return;
	}
	if (!s->fences_pending)
		return;
	for (unsigned i = 0; i < s->nfence_waits; i++)
		drm_fence_remove_callback(s->fence_waits[i].fence, &s->fence_waits[i].cb);
	s->fences_pending = 0;
	commit_program(s);
}

/* Has the driver program a swapped-in state; the hold taken for it is dropped at the end. */
static void commit_program(struct drm_atomic_state *s)
{
	struct drm_device *dev = s->dev;
	struct drm_mode_config *mc = dev->mode_config;
	fence_waits_free(s);
	for (unsigned i = 0; i < mc->ncrtcs; i++) {
		struct kms_crtc *kc = kms_crtc(mc->crtcs[i]);
		if (s->crtcs_new[i] && kc->commit == s) {
			kc->commit_time_ns = monotonic_ns();
			kc->commit_frames = 0;
		}
	}
	mc->funcs->atomic_commit(dev, s);
	for (unsigned i = 0; i < mc->ncrtcs; i++) {
		struct drm_crtc *crtc = mc->crtcs[i];
		if (!s->crtcs_new[i] || crtc->state->active)
			continue;
		/* Nothing will scan out here: finish now, and let vblank waiters go. */
		if (kms_crtc(crtc)->commit == s)
			drm_crtc_commit_done(crtc);
		if (s->crtcs_old[i]->active)
			drm_crtc_vblank_off(crtc);
	}
	commit_finish(s);
}

int drm_atomic_commit(struct drm_atomic_state *s, bool nonblock, struct drm_call *call)
{
	struct drm_device *dev = s->dev;
	struct drm_mode_config *mc = dev->mode_config;
	int r = drm_atomic_check(s);
	if (r)
		return r;
	/*
	 * Legacy cursor moves never wait (as the kernel's legacy_cursor_update):
	 * they ride along with a commit in flight and are latched with it --
	 * unless that commit is not even programmed yet (waiting for fences).
	 */
	if (drm_atomic_busy(s) && (!s->legacy_cursor_update || waits_for_fences(s))) {
		if (nonblock)
			return -EBUSY;
		if (call) {
			/* Wait for the older commit, then run the whole request again on the new state. */
			r = stall_on(s, call, true);
			if (r == DRM_CALL_PARKED)
				drm_atomic_state_free(s);
			return r;
		}
		/* Internal (a closing file): the older commit is overtaken; finish it now. */
		for (unsigned i = 0; i < mc->ncrtcs; i++) {
			struct drm_atomic_state *older = kms_crtc(mc->crtcs[i])->commit;
			if (!s->crtcs_new[i] || !older)
				continue;
			older->pending++; /* programming it may finish it */
			fence_waits_flush(older);
			drm_crtc_commit_done(mc->crtcs[i]);
			commit_finish(older);
		}
	}
	r = fence_waits_prepare(s);
	if (r)
		return r;
	/* Map new framebuffers before anything changes, so a failure leaves all as it was. */
	unsigned prepared = 0;
	for (; prepared < mc->nplanes; prepared++) {
		struct drm_plane_state *ps = s->planes_new[prepared];
		if (!ps || !ps->fb)
			continue;
		if (ps->fb->prepared++ == 0 && mc->funcs->prepare_fb) {
			r = mc->funcs->prepare_fb(dev, ps->fb);
			if (r) {
				ps->fb->prepared--;
				break;
			}
		}
	}
	if (r) {
		for (unsigned i = 0; i < prepared; i++) {
			struct drm_plane_state *ps = s->planes_new[i];
			if (ps && ps->fb && --ps->fb->prepared == 0 && mc->funcs->cleanup_fb)
				mc->funcs->cleanup_fb(dev, ps->fb);
		}
		fence_waits_free(s);
		return r;
	}

	/* Swap: the new states become current; the old ones stay with the commit until it is done. */
	for (unsigned i = 0; i < mc->nplanes; i++)
		if (s->planes_new[i])
			mc->planes[i]->state = s->planes_new[i];
	for (unsigned i = 0; i < mc->nconnectors; i++)
		if (s->conns_new[i])
			mc->connectors[i]->state = s->conns_new[i];
	for (unsigned i = 0; i < mc->ncrtcs; i++) {
		struct drm_crtc_state *cs = s->crtcs_new[i];
		if (!cs)
			continue;
		mc->crtcs[i]->state = cs;
		s->events[i] = cs->event;
		cs->event = NULL;
	}
	/* Legacy DPMS follows what the connectors now drive (the kernel's legacy modeset state). */
	for (unsigned i = 0; i < mc->nconnectors; i++) {
		struct drm_connector *c = mc->connectors[i];
		for (unsigned k = 0; k < c->base.nprops; k++)
			if (c->base.props[k] == mc->prop_dpms)
				c->base.values[k] = c->state->crtc && c->state->crtc->state->active ? DRM_MODE_DPMS_ON
												 : DRM_MODE_DPMS_OFF;
	}
	for (unsigned i = 0; i < mc->nplanes; i++)
		s->planes_new[i] = NULL;
	for (unsigned i = 0; i < mc->nconnectors; i++)
		s->conns_new[i] = NULL;
	for (unsigned i = 0; i < mc->ncrtcs; i++)
		s->crtcs_new[i] = s->crtcs_old[i] ? mc->crtcs[i]->state : NULL;

	/* Every CRTC of the state finishes separately; the state goes when the last one has. */
	for (unsigned i = 0; i < mc->ncrtcs; i++) {
		if (!s->crtcs_new[i])
			continue;
		struct drm_crtc *crtc = mc->crtcs[i];
		struct kms_crtc *kc = kms_crtc(crtc);
		if (crtc->state->active && !s->crtcs_old[i]->active)
			drm_crtc_vblank_on(crtc);
		s->pending++;
		if (kc->commit) {
			/* Only a legacy cursor update gets here with a commit in flight. */
			s->next_rider = kc->riders;
			kc->riders = s;
			continue;
		}
		kc->commit = s;
	}
	/* Two holds: one until the driver has programmed everything (after the fences), one for here. */
	s->pending += 2;
	fence_waits_arm(s);
	/* Committed: from here on the state is the commit's, whatever the wait does. */
	r = 0;
	if (!nonblock && call && s->pending > 1 && stall_on(s, call, false) == DRM_CALL_PARKED)
		r = DRM_CALL_PARKED;
	commit_finish(s);
	return r;
}
