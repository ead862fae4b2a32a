/*
 * The uAPI that changes the display: ATOMIC, and the legacy ioctls built on
 * the same atomic machinery (drm_atomic_uapi.c, drm_atomic_helper.c's legacy
 * entry points, drm_plane.c, drm_crtc.c, drm_mode_object.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <drm_fourcc.h>

#include "redox-drm/driver.h"
#include "kms_internal.h"

static struct drm_crtc *find_crtc(struct drm_device *dev, uint32_t id)
{
	return (struct drm_crtc *)drm_mode_object_find(dev, id, DRM_MODE_OBJECT_CRTC);
}

/* Commits, or frees the state on failure. Blocking commits park the caller. */
static int commit(struct drm_atomic_state *s, bool nonblock, struct drm_call *call)
{
	int r = drm_atomic_commit(s, nonblock, call);
	if (r < 0)
		drm_atomic_state_free(s);
	return r;
}

/* Points the CRTC's connectors at set (others leave it); CRTCs left with none go off. */
static int update_connectors(struct drm_atomic_state *s, struct drm_crtc *crtc, struct drm_connector **set,
			     unsigned n)
{
	struct drm_mode_config *mc = s->dev->mode_config;
	for (unsigned i = 0; i < mc->nconnectors; i++) {
		struct drm_connector *c = mc->connectors[i];
		bool in_set = false;
		for (unsigned k = 0; k < n; k++)
			in_set |= set[k] == c;
		if (!in_set && c->state->crtc != crtc)
			continue;
		struct drm_connector_state *cs = drm_atomic_get_connector_state(s, c);
		if (!cs)
			return -ENOMEM;
		if (cs->crtc && !drm_atomic_get_crtc_state(s, cs->crtc))
			return -ENOMEM;
		cs->crtc = in_set ? crtc : NULL;
	}
	for (unsigned i = 0; i < mc->ncrtcs; i++) {
		struct drm_crtc *other = mc->crtcs[i];
		struct drm_crtc_state *cs = s->crtcs_new[i];
		if (!cs || other == crtc || !cs->enable)
			continue;
		bool has = false;
		for (unsigned c = 0; c < mc->nconnectors; c++) {
			struct drm_connector_state *st = s->conns_new[c] ? s->conns_new[c] : mc->connectors[c]->state;
			has |= st->crtc == other;
		}
		if (has)
			continue;
		drm_atomic_set_mode_for_crtc(cs, NULL);
		cs->active = false;
		struct drm_plane_state *ps = other->primary ? drm_atomic_get_plane_state(s, other->primary) : NULL;
		if (ps) {
			drm_atomic_set_fb_for_plane(ps, NULL);
			ps->crtc = NULL;
		}
	}
	return 0;
}

int drm_mode_setcrtc(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_crtc *r = data;
	struct drm_mode_config *mc = dev->mode_config;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	if ((r->x & 0xffff0000u) || (r->y & 0xffff0000u))
		return -ERANGE;
	struct drm_crtc *crtc = find_crtc(dev, r->crtc_id);
	if (!crtc)
		return -ENOENT;
	struct drm_framebuffer *fb = NULL;
	if (r->mode_valid) {
		if (r->fb_id == (uint32_t)-1) {
			fb = crtc->primary->state->fb;
			if (!fb)
				return -EINVAL; /* "the current framebuffer", but there is none */
		} else if (!(fb = drm_framebuffer_lookup(dev, r->fb_id))) {
			return -ENOENT;
		}
		if (drm_mode_validate_umode(&r->mode))
			return -EINVAL;
		if (!drm_plane_has_format(crtc->primary, fb->format, fb->modifier))
			return -EINVAL;
		/* The mode at (x, y) must fit in the framebuffer. */
		if (r->mode.hdisplay > fb->width || r->mode.vdisplay > fb->height ||
		    r->x > fb->width - r->mode.hdisplay || r->y > fb->height - r->mode.vdisplay)
			return -ENOSPC;
	}
	if (r->count_connectors == 0 && r->mode_valid)
		return -EINVAL;
	if (r->count_connectors > 0 && !r->mode_valid)
		return -EINVAL;
	if (r->count_connectors > mc->nconnectors)
		return -EINVAL;
	struct drm_connector *set[KMS_MAX_CONNECTORS];
	for (uint32_t i = 0; i < r->count_connectors; i++) {
		uint32_t id;
		if (drm_copy_from_user(call, &id, r->set_connectors_ptr + 4ull * i, 4))
			return -EFAULT;
		set[i] = (struct drm_connector *)drm_mode_object_find(dev, id, DRM_MODE_OBJECT_CONNECTOR);
		if (!set[i])
			return -ENOENT;
	}

	struct drm_atomic_state *s = drm_atomic_state_alloc(dev, file);
	if (!s)
		return -ENOMEM;
	struct drm_crtc_state *cs = drm_atomic_get_crtc_state(s, crtc);
	struct drm_plane_state *ps = drm_atomic_get_plane_state(s, crtc->primary);
	int ret = cs && ps ? 0 : -ENOMEM;
	if (!ret && !r->mode_valid) {
		ret = drm_atomic_set_mode_for_crtc(cs, NULL);
		cs->active = false;
		drm_atomic_set_fb_for_plane(ps, NULL);
		ps->crtc = NULL;
	} else if (!ret) {
		struct drm_mode_modeinfo mode = r->mode;
		mode.type &= DRM_MODE_TYPE_ALL;
		ret = drm_atomic_set_mode_for_crtc(cs, &mode);
		cs->active = true;
		ps->crtc = crtc;
		drm_atomic_set_fb_for_plane(ps, fb);
		ps->crtc_x = ps->crtc_y = 0;
		ps->crtc_w = mode.hdisplay;
		ps->crtc_h = mode.vdisplay;
		ps->src_x = r->x << 16;
		ps->src_y = r->y << 16;
		ps->src_w = (uint32_t)mode.hdisplay << 16;
		ps->src_h = (uint32_t)mode.vdisplay << 16;
	}
	if (!ret)
		ret = update_connectors(s, crtc, set, r->count_connectors);
	if (ret) {
		drm_atomic_state_free(s);
		return ret;
	}
	return commit(s, false, call);
}

/* cursor: a legacy cursor update, which never waits (see drm_atomic_commit). */
static int setplane(struct drm_device *dev, struct drm_file *file, struct drm_call *call, struct drm_plane *plane,
		    struct drm_crtc *crtc, struct drm_framebuffer *fb, int32_t crtc_x, int32_t crtc_y,
		    uint32_t crtc_w, uint32_t crtc_h, uint32_t src_x, uint32_t src_y, uint32_t src_w,
		    uint32_t src_h, bool cursor)
{
	if (fb) {
		if (!(plane->possible_crtcs & (1u << crtc->index)))
			return -EINVAL;
		if (!drm_plane_has_format(plane, fb->format, fb->modifier))
			return -EINVAL;
		if (crtc_w > INT_MAX || crtc_x > INT_MAX - (int32_t)crtc_w || crtc_h > INT_MAX ||
		    crtc_y > INT_MAX - (int32_t)crtc_h)
			return -ERANGE;
	}
	struct drm_atomic_state *s = drm_atomic_state_alloc(dev, file);
	if (!s)
		return -ENOMEM;
	struct drm_plane_state *ps = drm_atomic_get_plane_state(s, plane);
	if (!ps || (crtc && !drm_atomic_get_crtc_state(s, crtc))) {
		drm_atomic_state_free(s);
		return -ENOMEM;
	}
	drm_atomic_set_fb_for_plane(ps, fb);
	ps->crtc = fb ? crtc : NULL;
	ps->crtc_x = crtc_x;
	ps->crtc_y = crtc_y;
	ps->crtc_w = crtc_w;
	ps->crtc_h = crtc_h;
	ps->src_x = src_x;
	ps->src_y = src_y;
	ps->src_w = src_w;
	ps->src_h = src_h;
	s->allow_modeset = false;
	s->legacy_cursor_update = cursor;
	return commit(s, cursor, call);
}

int drm_mode_setplane(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_set_plane *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_plane *plane = (struct drm_plane *)drm_mode_object_find(dev, r->plane_id, DRM_MODE_OBJECT_PLANE);
	if (!plane)
		return -ENOENT;
	struct drm_framebuffer *fb = NULL;
	struct drm_crtc *crtc = NULL;
	if (r->fb_id) {
		fb = drm_framebuffer_lookup(dev, r->fb_id);
		if (!fb)
			return -ENOENT;
		crtc = find_crtc(dev, r->crtc_id);
		if (!crtc)
			return -ENOENT;
	}
	return setplane(dev, file, call, plane, crtc, fb, r->crtc_x, r->crtc_y, r->crtc_w, r->crtc_h, r->src_x,
			r->src_y, r->src_w, r->src_h, false);
}

static int cursor_common(struct drm_device *dev, struct drm_mode_cursor2 *req, struct drm_file *file,
			 struct drm_call *call)
{
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	if (!req->flags || (req->flags & ~DRM_MODE_CURSOR_FLAGS))
		return -EINVAL;
	struct drm_crtc *crtc = find_crtc(dev, req->crtc_id);
	if (!crtc)
		return -ENOENT;
	if (!crtc->cursor)
		return -ENXIO; /* the kernel's answer without cursor support */
	struct kms_crtc *kc = kms_crtc(crtc);
	struct drm_plane *plane = crtc->cursor;
	struct drm_framebuffer *fb = NULL;
	if (req->flags & DRM_MODE_CURSOR_BO) {
		if (req->handle) {
			struct drm_mode_fb_cmd2 fr = {
				.width = req->width, .height = req->height, .pixel_format = DRM_FORMAT_ARGB8888,
				.pitches = {req->width * 4}, .handles = {req->handle},
			};
			int err;
			if (req->width > UINT32_MAX / 4)
				return -EINVAL;
			fb = drm_internal_framebuffer_create(dev, file, &fr, &err);
			if (!fb)
				return err;
			fb->hot_x = req->hot_x;
			fb->hot_y = req->hot_y;
		}
	} else if ((fb = plane->state->fb)) {
		drm_framebuffer_get(fb);
	}
	int32_t x = (req->flags & DRM_MODE_CURSOR_MOVE) ? req->x : kc->cursor_x;
	int32_t y = (req->flags & DRM_MODE_CURSOR_MOVE) ? req->y : kc->cursor_y;
	uint32_t w = fb ? fb->width : 0, h = fb ? fb->height : 0;
	int ret = setplane(dev, file, call, plane, crtc, fb, x, y, w, h, 0, 0, w << 16, h << 16, true);
	if (fb)
		drm_framebuffer_put(fb); /* the plane state holds its own reference */
	if ((ret == 0 || ret == DRM_CALL_PARKED) && (req->flags & DRM_MODE_CURSOR_MOVE)) {
		kc->cursor_x = req->x;
		kc->cursor_y = req->y;
	}
	return ret;
}

int drm_mode_cursor_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_cursor *r = data;
	struct drm_mode_cursor2 c2 = {.flags = r->flags, .crtc_id = r->crtc_id, .x = r->x, .y = r->y,
				      .width = r->width, .height = r->height, .handle = r->handle};
	return cursor_common(dev, &c2, file, call);
}

int drm_mode_cursor2_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	return cursor_common(dev, data, file, call);
}

int drm_mode_page_flip_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_crtc_page_flip_target *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	if (r->flags & ~DRM_MODE_PAGE_FLIP_FLAGS)
		return -EINVAL;
	/* Neither async flips nor flip targets are advertised (DRM_CAP_ASYNC_PAGE_FLIP, DRM_CAP_PAGE_FLIP_TARGET). */
	if (r->flags & (DRM_MODE_PAGE_FLIP_ASYNC | DRM_MODE_PAGE_FLIP_TARGET))
		return -EINVAL;
	struct drm_crtc *crtc = find_crtc(dev, r->crtc_id);
	if (!crtc)
		return -ENOENT;
	struct drm_plane *plane = crtc->primary;
	struct drm_framebuffer *old_fb = plane->state->fb;
	if (!old_fb)
		return -EBUSY; /* nothing shown to flip from (e.g. unplugged meanwhile) */
	struct drm_framebuffer *fb = drm_framebuffer_lookup(dev, r->fb_id);
	if (!fb)
		return -ENOENT;
	const struct drm_plane_state *cur = plane->state;
	uint64_t fw = (uint64_t)fb->width << 16, fh = (uint64_t)fb->height << 16;
	if (cur->src_w > fw || cur->src_x > fw - cur->src_w || cur->src_h > fh || cur->src_y > fh - cur->src_h)
		return -ENOSPC;
	if (old_fb->format != fb->format)
		return -EINVAL;
	struct drm_atomic_state *s = drm_atomic_state_alloc(dev, file);
	if (!s)
		return -ENOMEM;
	s->allow_modeset = false;
	struct drm_plane_state *ps = drm_atomic_get_plane_state(s, plane);
	struct drm_crtc_state *cs = drm_atomic_get_crtc_state(s, crtc);
	if (!ps || !cs) {
		drm_atomic_state_free(s);
		return -ENOMEM;
	}
	drm_atomic_set_fb_for_plane(ps, fb);
	if (r->flags & DRM_MODE_PAGE_FLIP_EVENT) {
		int err;
		cs->event = drm_vblank_event_create(file, crtc, DRM_EVENT_FLIP_COMPLETE, r->user_data, &err);
		if (!cs->event) {
			drm_atomic_state_free(s);
			return err;
		}
	}
	/* A flip never waits for an earlier one: EBUSY, as the kernel's nonblocking helper. */
	return commit(s, true, call);
}

static int connector_dpms(struct drm_device *dev, struct drm_file *file, struct drm_call *call,
			  struct drm_connector *conn, uint64_t mode)
{
	struct drm_mode_config *mc = dev->mode_config;
	for (unsigned k = 0; k < conn->base.nprops; k++) {
		if (conn->base.props[k] != mc->prop_dpms)
			continue;
		uint64_t want = mode == DRM_MODE_DPMS_ON ? DRM_MODE_DPMS_ON : DRM_MODE_DPMS_OFF;
		if (conn->base.values[k] == want)
			return 0;
		conn->base.values[k] = want;
		struct drm_crtc *crtc = conn->state->crtc;
		if (!crtc)
			return 0;
		/* The CRTC stays on while any of its connectors is on. */
		bool on = false;
		for (unsigned c = 0; c < mc->nconnectors; c++) {
			struct drm_connector *o = mc->connectors[c];
			if (o->state->crtc != crtc)
				continue;
			for (unsigned p = 0; p < o->base.nprops; p++)
				if (o->base.props[p] == mc->prop_dpms && o->base.values[p] == DRM_MODE_DPMS_ON)
					on = true;
		}
		struct drm_atomic_state *s = drm_atomic_state_alloc(dev, file);
		struct drm_crtc_state *cs = s ? drm_atomic_get_crtc_state(s, crtc) : NULL;
		if (!cs) {
			drm_atomic_state_free(s);
			return -ENOMEM;
		}
		cs->active = on;
		return commit(s, false, call);
	}
	return -EINVAL;
}

int drm_mode_obj_set_property_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_obj_set_property *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_mode_object *obj = drm_mode_object_find(dev, r->obj_id, r->obj_type);
	if (!obj)
		return -ENOENT;
	struct drm_property *prop = drm_object_find_prop(obj, r->prop_id);
	if (!prop)
		return -EINVAL;
	if (prop == dev->mode_config->prop_dpms) {
		if (drm_property_value_valid(dev, prop, r->value))
			return -EINVAL;
		return connector_dpms(dev, file, call, (struct drm_connector *)obj, r->value);
	}
	/* Only ATOMIC carries the descriptor across (wire.h); here it would be a number of ours. */
	if (prop == dev->mode_config->prop_in_fence_fd)
		return -EINVAL;
	struct drm_atomic_state *s = drm_atomic_state_alloc(dev, file);
	if (!s)
		return -ENOMEM;
	int ret = drm_atomic_set_property(s, obj, prop, r->value);
	if (ret) {
		drm_atomic_state_free(s);
		return ret;
	}
	return commit(s, false, call);
}

int drm_mode_connector_property_set_ioctl(struct drm_device *dev, void *data, struct drm_file *file,
					  struct drm_call *call)
{
	struct drm_mode_connector_set_property *r = data;
	struct drm_mode_obj_set_property os = {.value = r->value, .prop_id = r->prop_id, .obj_id = r->connector_id,
					       .obj_type = DRM_MODE_OBJECT_CONNECTOR};
	return drm_mode_obj_set_property_ioctl(dev, &os, file, call);
}

int drm_mode_atomic_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_atomic *a = data;
	if (!drm_core_check_feature(dev, DRIVER_ATOMIC))
		return -EOPNOTSUPP;
	if (!file->atomic)
		return -EINVAL;
	if (a->flags & ~DRM_MODE_ATOMIC_FLAGS)
		return -EINVAL;
	if (a->reserved)
		return -EINVAL;
	if (a->flags & DRM_MODE_PAGE_FLIP_ASYNC)
		return -EINVAL;
	if ((a->flags & DRM_MODE_ATOMIC_TEST_ONLY) && (a->flags & DRM_MODE_PAGE_FLIP_EVENT))
		return -EINVAL;
	struct drm_atomic_state *s = drm_atomic_state_alloc(dev, file);
	if (!s)
		return -ENOMEM;
	s->allow_modeset = a->flags & DRM_MODE_ATOMIC_ALLOW_MODESET;
	s->flags = a->flags;
	int ret = 0;
	uint64_t copied_props = 0;
	for (uint32_t i = 0; !ret && i < a->count_objs; i++) {
		uint32_t obj_id, count;
		if (drm_copy_from_user(call, &obj_id, a->objs_ptr + 4ull * i, 4) ||
		    drm_copy_from_user(call, &count, a->count_props_ptr + 4ull * i, 4)) {
			ret = -EFAULT;
			break;
		}
		struct drm_mode_object *obj = drm_mode_object_find(dev, obj_id, DRM_MODE_OBJECT_ANY);
		if (!obj || !obj->nprops) {
			ret = -ENOENT;
			break;
		}
		for (uint32_t j = 0; j < count; j++, copied_props++) {
			uint32_t prop_id;
			uint64_t value;
			if (drm_copy_from_user(call, &prop_id, a->props_ptr + 4 * copied_props, 4) ||
			    drm_copy_from_user(call, &value, a->prop_values_ptr + 8 * copied_props, 8)) {
				ret = -EFAULT;
				break;
			}
			struct drm_property *prop = drm_object_find_prop(obj, prop_id);
			if (!prop) {
				ret = -ENOENT;
				break;
			}
			ret = drm_atomic_set_property(s, obj, prop, value);
			if (ret)
				break;
		}
	}
	if (!ret && (a->flags & DRM_MODE_PAGE_FLIP_EVENT)) {
		struct drm_mode_config *mc = dev->mode_config;
		for (unsigned i = 0; !ret && i < mc->ncrtcs; i++) {
			if (!s->crtcs_new[i])
				continue;
			s->crtcs_new[i]->event = drm_vblank_event_create(file, mc->crtcs[i], DRM_EVENT_FLIP_COMPLETE,
									 a->user_data, &ret);
		}
	}
	if (ret) {
		drm_atomic_state_free(s);
		return ret;
	}
	if (a->flags & DRM_MODE_ATOMIC_TEST_ONLY) {
		ret = drm_atomic_check(s);
		drm_atomic_state_free(s);
		return ret;
	}
	return commit(s, a->flags & DRM_MODE_ATOMIC_NONBLOCK, call);
}
