/* Framebuffers (drm_framebuffer.c, drm_fourcc.c). */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <drm_fourcc.h>

#include "redox-drm/driver.h"
#include "redox-drm/gem.h"
#include "kms_internal.h"

/* Single-plane RGB formats: bytes per pixel and the legacy depth GETFB reports. */
static const struct format_info {
	uint32_t format;
	uint8_t cpp, depth;
} formats[] = {
	{DRM_FORMAT_C8, 1, 8},
	{DRM_FORMAT_RGB565, 2, 16},     {DRM_FORMAT_BGR565, 2, 16},
	{DRM_FORMAT_XRGB1555, 2, 15},   {DRM_FORMAT_ARGB1555, 2, 0},
	{DRM_FORMAT_RGB888, 3, 24},     {DRM_FORMAT_BGR888, 3, 24},
	{DRM_FORMAT_XRGB8888, 4, 24},   {DRM_FORMAT_ARGB8888, 4, 32},
	{DRM_FORMAT_XBGR8888, 4, 24},   {DRM_FORMAT_ABGR8888, 4, 0},
	{DRM_FORMAT_RGBX8888, 4, 0},    {DRM_FORMAT_BGRX8888, 4, 0},
	{DRM_FORMAT_RGBA8888, 4, 0},    {DRM_FORMAT_BGRA8888, 4, 0},
	{DRM_FORMAT_XRGB2101010, 4, 30}, {DRM_FORMAT_ARGB2101010, 4, 0},
	{DRM_FORMAT_XBGR2101010, 4, 30}, {DRM_FORMAT_ABGR2101010, 4, 0},
};

static const struct format_info *format_info(uint32_t format)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].format == format)
			return &formats[i];
	return NULL;
}

uint32_t drm_format_cpp(uint32_t format)
{
	const struct format_info *f = format_info(format);
	return f ? f->cpp : 0;
}

bool drm_plane_has_format(const struct drm_plane *plane, uint32_t format, uint64_t modifier)
{
	bool fmt = false, mod = plane->nmodifiers == 0 && modifier == DRM_FORMAT_MOD_LINEAR;
	for (unsigned i = 0; i < plane->nformats; i++)
		fmt |= plane->formats[i] == format;
	for (unsigned i = 0; i < plane->nmodifiers; i++)
		mod |= plane->modifiers[i] == modifier;
	return fmt && mod;
}

static bool any_plane_has_format(struct drm_device *dev, uint32_t format, uint64_t modifier)
{
	struct drm_mode_config *mc = dev->mode_config;
	for (unsigned i = 0; i < mc->nplanes; i++)
		if (drm_plane_has_format(mc->planes[i], format, modifier))
			return true;
	return false;
}

struct drm_framebuffer *drm_framebuffer_lookup(struct drm_device *dev, uint32_t id)
{
	return (struct drm_framebuffer *)drm_mode_object_find(dev, id, DRM_MODE_OBJECT_FB);
}

void drm_framebuffer_get(struct drm_framebuffer *fb)
{
	fb->refcount++;
}

void drm_framebuffer_put(struct drm_framebuffer *fb)
{
	if (!fb || --fb->refcount)
		return;
	drm_mode_object_remove(fb->dev, &fb->base);
	for (unsigned i = 0; i < fb->nplanes; i++)
		drm_gem_object_put(fb->obj[i]);
	free(fb);
}

/* The kernel's framebuffer_check + drm_gem_fb_create, in that order. */
struct drm_framebuffer *drm_internal_framebuffer_create(struct drm_device *dev, struct drm_file *file,
							 const struct drm_mode_fb_cmd2 *r, int *err)
{
	struct drm_mode_config *mc = dev->mode_config;
	*err = -EINVAL;
	if (r->flags & ~(DRM_MODE_FB_INTERLACED | DRM_MODE_FB_MODIFIERS))
		return NULL;
	if (r->width < mc->min_width || r->width > mc->max_width || r->height < mc->min_height ||
	    r->height > mc->max_height)
		return NULL;
	const struct format_info *info = format_info(r->pixel_format);
	if (!info)
		return NULL;
	uint64_t modifier = (r->flags & DRM_MODE_FB_MODIFIERS) ? r->modifier[0] : DRM_FORMAT_MOD_LINEAR;
	if (!(r->flags & DRM_MODE_FB_MODIFIERS) && r->modifier[0])
		return NULL;
	if (!r->handles[0])
		return NULL;
	uint64_t min_pitch = (uint64_t)r->width * info->cpp;
	if ((uint64_t)r->height * r->pitches[0] + r->offsets[0] > UINT_MAX) {
		*err = -ERANGE;
		return NULL;
	}
	if (r->pitches[0] < min_pitch)
		return NULL;
	/* One plane: the rest must be empty when the client says it filled them in. */
	for (int i = 1; i < 4; i++) {
		if (r->modifier[i] && (r->flags & DRM_MODE_FB_MODIFIERS) == 0)
			return NULL;
		if ((r->flags & DRM_MODE_FB_MODIFIERS) && (r->handles[i] || r->pitches[i] || r->offsets[i] || r->modifier[i]))
			return NULL;
	}
	if (!any_plane_has_format(dev, r->pixel_format, modifier))
		return NULL;
	struct drm_gem_object *obj = drm_gem_object_lookup(file, r->handles[0]);
	if (!obj) {
		*err = -ENOENT;
		return NULL;
	}
	uint64_t min_size = (uint64_t)(r->height - 1) * r->pitches[0] + min_pitch + r->offsets[0];
	if (obj->size < min_size) {
		drm_gem_object_put(obj);
		return NULL;
	}
	struct drm_framebuffer *fb = calloc(1, sizeof(*fb));
	if (!fb || drm_mode_object_add(dev, &fb->base, DRM_MODE_OBJECT_FB)) {
		free(fb);
		drm_gem_object_put(obj);
		*err = -ENOMEM;
		return NULL;
	}
	fb->dev = dev;
	fb->refcount = 1;
	fb->width = r->width;
	fb->height = r->height;
	fb->format = r->pixel_format;
	fb->modifier = modifier;
	fb->flags = r->flags;
	fb->nplanes = 1;
	fb->obj[0] = obj;
	fb->pitches[0] = r->pitches[0];
	fb->offsets[0] = r->offsets[0];
	*err = 0;
	return fb;
}

static void fb_list_add(struct drm_file *file, struct drm_framebuffer *fb)
{
	fb->owner = file;
	fb->next = file->kms->fbs;
	file->kms->fbs = fb;
}

static bool fb_list_del(struct drm_file *file, struct drm_framebuffer *fb)
{
	for (struct drm_framebuffer **p = &file->kms->fbs; *p; p = &(*p)->next) {
		if (*p == fb) {
			*p = fb->next;
			fb->owner = NULL;
			return true;
		}
	}
	return false;
}

int drm_mode_addfb2_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_fb_cmd2 *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	int err;
	struct drm_framebuffer *fb = drm_internal_framebuffer_create(dev, file, r, &err);
	if (!fb)
		return err;
	fb_list_add(file, fb);
	r->fb_id = fb->base.id;
	return 0;
}

/* drm_mode_legacy_fb_format: bpp/depth to a fourcc. */
static uint32_t legacy_format(uint32_t bpp, uint32_t depth)
{
	switch (bpp) {
	case 8: return depth == 8 ? DRM_FORMAT_C8 : 0;
	case 16: return depth == 15 ? DRM_FORMAT_XRGB1555 : depth == 16 ? DRM_FORMAT_RGB565 : 0;
	case 24: return depth == 24 ? DRM_FORMAT_RGB888 : 0;
	case 32: return depth == 24 ? DRM_FORMAT_XRGB8888 : depth == 30 ? DRM_FORMAT_XRGB2101010 :
			depth == 32 ? DRM_FORMAT_ARGB8888 : 0;
	}
	return 0;
}

int drm_mode_addfb_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_fb_cmd *or = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_mode_fb_cmd2 r = {
		.width = or->width, .height = or->height, .pixel_format = legacy_format(or->bpp, or->depth),
		.pitches = {or->pitch}, .handles = {or->handle},
	};
	if (!r.pixel_format || !any_plane_has_format(dev, r.pixel_format, DRM_FORMAT_MOD_LINEAR))
		return -EINVAL;
	int ret = drm_mode_addfb2_ioctl(dev, &r, file, call);
	if (!ret)
		or->fb_id = r.fb_id;
	return ret;
}

int drm_mode_rmfb_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	uint32_t *id = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_framebuffer *fb = drm_framebuffer_lookup(dev, *id);
	if (!fb || fb->owner != file)
		return -ENOENT;
	/*
	 * Off the screen, then the file's reference goes. The kernel waits for the
	 * planes to go dark; here the framebuffer's memory stays referenced until they have.
	 */
	int r = drm_framebuffer_remove_from_planes(dev, fb);
	if (r)
		return r;
	fb_list_del(file, fb);
	drm_framebuffer_put(fb);
	return 0;
}

void drm_kms_fbs_release(struct drm_file *file)
{
	while (file->kms->fbs) {
		struct drm_framebuffer *fb = file->kms->fbs;
		drm_framebuffer_remove_from_planes(file->dev, fb);
		fb_list_del(file, fb);
		drm_framebuffer_put(fb);
	}
}

static int fb_handle(struct drm_file *file, struct drm_call *call, struct drm_framebuffer *fb, unsigned plane,
		     uint32_t *handle)
{
	/* Handles go to the master (or root) only: GETFB is not privileged. */
	if (!drm_is_current_master(file) && !drm_call_privileged(call)) {
		*handle = 0;
		return 0;
	}
	return drm_gem_handle_create(file, fb->obj[plane], handle);
}

int drm_mode_getfb(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_fb_cmd *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_framebuffer *fb = drm_framebuffer_lookup(dev, r->fb_id);
	if (!fb)
		return -ENOENT;
	const struct format_info *info = format_info(fb->format);
	r->width = fb->width;
	r->height = fb->height;
	r->depth = info->depth;
	r->bpp = info->cpp * 8u;
	r->pitch = fb->pitches[0];
	return fb_handle(file, call, fb, 0, &r->handle);
}

int drm_mode_getfb2_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_fb_cmd2 *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_framebuffer *fb = drm_framebuffer_lookup(dev, r->fb_id);
	if (!fb)
		return -ENOENT;
	/* For multi-plane buffers we want to make sure all handles come from one creation... */
	memset(r->handles, 0, sizeof(r->handles));
	memset(r->pitches, 0, sizeof(r->pitches));
	memset(r->offsets, 0, sizeof(r->offsets));
	memset(r->modifier, 0, sizeof(r->modifier));
	r->width = fb->width;
	r->height = fb->height;
	r->pixel_format = fb->format;
	r->flags = DRM_MODE_FB_MODIFIERS | (fb->flags & DRM_MODE_FB_INTERLACED);
	for (unsigned i = 0; i < fb->nplanes; i++) {
		r->pitches[i] = fb->pitches[i];
		r->offsets[i] = fb->offsets[i];
		r->modifier[i] = fb->modifier;
		int ret = fb_handle(file, call, fb, i, &r->handles[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int drm_mode_dirtyfb_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_fb_dirty_cmd *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_framebuffer *fb = drm_framebuffer_lookup(dev, r->fb_id);
	if (!fb)
		return -ENOENT;
	if (!r->num_clips != !r->clips_ptr)
		return -EINVAL;
	uint32_t flags = r->flags & DRM_MODE_FB_DIRTY_FLAGS;
	if ((flags & DRM_MODE_FB_DIRTY_ANNOTATE_COPY) && (r->num_clips % 2))
		return -EINVAL;
	if (r->num_clips > DRM_MODE_FB_DIRTY_MAX_CLIPS)
		return -EINVAL;
	struct drm_clip_rect clip;
	for (uint32_t i = 0; i < r->num_clips; i++)
		if (drm_copy_from_user(call, &clip, r->clips_ptr + sizeof(clip) * i, sizeof(clip)))
			return -EFAULT;
	/* The display engines scan memory out directly: there is nothing to flush. */
	return 0;
}

int drm_framebuffer_remove_from_planes(struct drm_device *dev, struct drm_framebuffer *fb)
{
	struct drm_mode_config *mc = dev->mode_config;
	struct drm_atomic_state *s = NULL;
	for (unsigned i = 0; i < mc->nplanes; i++) {
		struct drm_plane *p = mc->planes[i];
		if (p->state->fb != fb)
			continue;
		if (!s && !(s = drm_atomic_state_alloc(dev, NULL)))
			return -ENOMEM;
		struct drm_plane_state *ps = drm_atomic_get_plane_state(s, p);
		if (!ps || (ps->crtc && !drm_atomic_get_crtc_state(s, ps->crtc))) {
			drm_atomic_state_free(s);
			return -ENOMEM;
		}
		/* A primary plane cannot go dark alone on these engines: the CRTC goes off with it. */
		if (p->type == DRM_PLANE_TYPE_PRIMARY && ps->crtc) {
			struct drm_crtc_state *cs = drm_atomic_get_crtc_state(s, ps->crtc);
			cs->active = false;
			drm_atomic_set_mode_for_crtc(cs, NULL);
			for (unsigned c = 0; c < mc->nconnectors; c++) {
				if (mc->connectors[c]->state->crtc == ps->crtc) {
					struct drm_connector_state *st = drm_atomic_get_connector_state(s, mc->connectors[c]);
					if (st)
						st->crtc = NULL;
				}
			}
			for (unsigned q = 0; q < mc->nplanes; q++) {
				if (mc->planes[q]->state->crtc == ps->crtc) {
					struct drm_plane_state *qs = drm_atomic_get_plane_state(s, mc->planes[q]);
					if (qs) {
						drm_atomic_set_fb_for_plane(qs, NULL);
						qs->crtc = NULL;
					}
				}
			}
		}
		drm_atomic_set_fb_for_plane(ps, NULL);
		ps->crtc = NULL;
	}
	if (!s)
		return 0;
	int r = drm_atomic_commit(s, false, NULL);
	if (r < 0)
		drm_atomic_state_free(s);
	return r;
}
