/*
 * The mode configuration: creating planes, CRTCs, encoders and connectors,
 * the standard properties, and the read-only KMS ioctls
 * (drm_mode_config.c, drm_crtc.c, drm_plane.c, drm_connector.c, drm_encoder.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drm_fourcc.h>

#include "redox-drm/driver.h"
#include "redox-drm/log.h"
#include "redox-drm/wire.h"
#include "kms_internal.h"

static int create_standard_properties(struct drm_device *dev)
{
	struct drm_mode_config *mc = dev->mode_config;
	static const struct drm_property_enum plane_types[] = {
		{DRM_PLANE_TYPE_OVERLAY, "Overlay"}, {DRM_PLANE_TYPE_PRIMARY, "Primary"}, {DRM_PLANE_TYPE_CURSOR, "Cursor"},
	};
	static const struct drm_property_enum dpms[] = {
		{DRM_MODE_DPMS_ON, "On"}, {DRM_MODE_DPMS_STANDBY, "Standby"},
		{DRM_MODE_DPMS_SUSPEND, "Suspend"}, {DRM_MODE_DPMS_OFF, "Off"},
	};
	static const struct drm_property_enum link[] = {
		{DRM_MODE_LINK_STATUS_GOOD, "Good"}, {DRM_MODE_LINK_STATUS_BAD, "Bad"},
	};
	const uint32_t A = DRM_MODE_PROP_ATOMIC, I = DRM_MODE_PROP_IMMUTABLE;
	/* First, so that it gets the id the client side treats as carrying fds (wire.h). */
	mc->prop_in_fence_fd = drm_property_create_signed_range(dev, A, "IN_FENCE_FD", -1, INT32_MAX);
	if (!mc->prop_in_fence_fd || mc->prop_in_fence_fd->base.id != RDRM_IN_FENCE_FD_PROP_ID)
		return -EINVAL;
	mc->plane_type = drm_property_create_enum(dev, I, "type", plane_types, 3);
	mc->prop_fb_id = drm_property_create_object(dev, A, "FB_ID", DRM_MODE_OBJECT_FB);
	mc->prop_crtc_id = drm_property_create_object(dev, A, "CRTC_ID", DRM_MODE_OBJECT_CRTC);
	mc->prop_src_x = drm_property_create_range(dev, A, "SRC_X", 0, UINT32_MAX);
	mc->prop_src_y = drm_property_create_range(dev, A, "SRC_Y", 0, UINT32_MAX);
	mc->prop_src_w = drm_property_create_range(dev, A, "SRC_W", 0, UINT32_MAX);
	mc->prop_src_h = drm_property_create_range(dev, A, "SRC_H", 0, UINT32_MAX);
	mc->prop_crtc_x = drm_property_create_signed_range(dev, A, "CRTC_X", INT32_MIN, INT32_MAX);
	mc->prop_crtc_y = drm_property_create_signed_range(dev, A, "CRTC_Y", INT32_MIN, INT32_MAX);
	mc->prop_crtc_w = drm_property_create_range(dev, A, "CRTC_W", 0, INT32_MAX);
	mc->prop_crtc_h = drm_property_create_range(dev, A, "CRTC_H", 0, INT32_MAX);
	mc->prop_in_formats = drm_property_create_blob_prop(dev, I, "IN_FORMATS");
	mc->prop_active = drm_property_create_range(dev, A, "ACTIVE", 0, 1);
	mc->prop_mode_id = drm_property_create_blob_prop(dev, A, "MODE_ID");
	mc->prop_edid = drm_property_create_blob_prop(dev, I, "EDID");
	mc->prop_dpms = drm_property_create_enum(dev, 0, "DPMS", dpms, 4);
	mc->prop_link_status = drm_property_create_enum(dev, 0, "link-status", link, 2);
	mc->prop_non_desktop = drm_property_create_range(dev, I, "non-desktop", 0, 1);
	return mc->prop_non_desktop ? 0 : -ENOMEM;
}

int drm_mode_config_init(struct drm_device *dev)
{
	const struct drm_kms_funcs *funcs = dev->driver->kms;
	if (!funcs)
		return -EINVAL;
	struct drm_mode_config *mc = calloc(1, sizeof(*mc));
	if (!mc)
		return -ENOMEM;
	dev->mode_config = mc;
	idr_init(&mc->objects, 1, 0);
	mc->funcs = funcs;
	mc->min_width = mc->min_height = 1;
	mc->max_width = funcs->max_width ? funcs->max_width : 8192;
	mc->max_height = funcs->max_height ? funcs->max_height : 8192;
	int r = create_standard_properties(dev);
	if (!r)
		r = funcs->modeset_init(dev);
	if (r) {
		drm_mode_config_cleanup(dev);
		return r;
	}
	return 0;
}

void drm_mode_config_cleanup(struct drm_device *dev)
{
	struct drm_mode_config *mc = dev->mode_config;
	if (!mc)
		return;
	for (unsigned i = 0; i < mc->ncrtcs; i++) {
		drm_crtc_commit_done(mc->crtcs[i]);
		drm_crtc_vblank_off(mc->crtcs[i]);
	}
	if (mc->funcs->modeset_fini)
		mc->funcs->modeset_fini(dev);
	for (unsigned i = 0; i < mc->nplanes; i++) {
		struct drm_plane *p = mc->planes[i];
		if (p->state && p->state->fb)
			drm_framebuffer_put(p->state->fb);
		for (unsigned k = 0; k < p->base.nprops; k++)
			if (p->base.props[k] == mc->prop_in_formats && p->base.values[k])
				drm_property_blob_put(drm_property_lookup_blob(dev, (uint32_t)p->base.values[k]));
		free(p->state);
		free(p);
	}
	for (unsigned i = 0; i < mc->ncrtcs; i++) {
		struct drm_crtc *c = mc->crtcs[i];
		struct kms_crtc *kc = c->core_priv;
		if (c->state && c->state->mode_blob_id)
			drm_property_blob_put(drm_property_lookup_blob(dev, c->state->mode_blob_id));
		free(c->state);
		free(c->gamma);
		free(kc);
		free(c);
	}
	for (unsigned i = 0; i < mc->nencoders; i++)
		free(mc->encoders[i]);
	for (unsigned i = 0; i < mc->nconnectors; i++) {
		struct drm_connector *c = mc->connectors[i];
		for (unsigned k = 0; k < c->base.nprops; k++)
			if (c->base.props[k] == mc->prop_edid && c->base.values[k])
				drm_property_blob_put(drm_property_lookup_blob(dev, (uint32_t)c->base.values[k]));
		free(c->modes);
		free(c->state);
		free(c);
	}
	drm_properties_destroy(dev);
	idr_destroy(&mc->objects);
	free(mc);
	dev->mode_config = NULL;
}

static struct drm_property_blob *in_formats_blob(struct drm_device *dev, const struct drm_plane *p)
{
	size_t fmt_bytes = p->nformats * sizeof(uint32_t);
	size_t mod_off = (sizeof(struct drm_format_modifier_blob) + fmt_bytes + 7) & ~(size_t)7;
	size_t len = mod_off + p->nmodifiers * sizeof(struct drm_format_modifier);
	struct drm_property_blob *b = drm_property_create_blob(dev, len, NULL);
	if (!b)
		return NULL;
	struct drm_format_modifier_blob hdr = {
		.version = FORMAT_BLOB_CURRENT, .count_formats = p->nformats,
		.formats_offset = sizeof(hdr), .count_modifiers = p->nmodifiers, .modifiers_offset = (uint32_t)mod_off,
	};
	memcpy(b->data, &hdr, sizeof(hdr));
	memcpy(b->data + sizeof(hdr), p->formats, fmt_bytes);
	for (unsigned i = 0; i < p->nmodifiers; i++) {
		/* Every listed format works with every listed modifier on these planes. */
		struct drm_format_modifier m = {.modifier = p->modifiers[i], .offset = 0,
						.formats = p->nformats >= 64 ? ~0ull : (1ull << p->nformats) - 1};
		memcpy(b->data + mod_off + i * sizeof(m), &m, sizeof(m));
	}
	return b;
}

/*
 * A mode object and its first (empty) state: base is the first member of
 * every object type, so the object is reached through it. NULL on failure.
 */
static void *object_new(struct drm_device *dev, size_t size, size_t state_size, uint32_t type, void **state)
{
	struct drm_mode_object *obj = calloc(1, size);
	*state = obj ? calloc(1, state_size) : NULL;
	if (!*state || drm_mode_object_add(dev, obj, type)) {
		free(*state);
		free(obj);
		return NULL;
	}
	return obj;
}

struct drm_plane *drm_plane_create(struct drm_device *dev, uint32_t possible_crtcs, enum drm_plane_type type,
				   const uint32_t *formats, unsigned int nformats,
				   const uint64_t *modifiers, unsigned int nmodifiers)
{
	struct drm_mode_config *mc = dev->mode_config;
	if (mc->nplanes == KMS_MAX_PLANES)
		return NULL;
	void *state;
	struct drm_plane *p = object_new(dev, sizeof(*p), sizeof(*p->state), DRM_MODE_OBJECT_PLANE, &state);
	if (!p)
		return NULL;
	p->state = state;
	p->state->plane = p;
	p->dev = dev;
	p->index = mc->nplanes;
	p->type = type;
	p->possible_crtcs = possible_crtcs;
	p->formats = formats;
	p->nformats = nformats;
	p->modifiers = modifiers;
	p->nmodifiers = nmodifiers;
	mc->planes[mc->nplanes++] = p;
	drm_object_attach_property(&p->base, mc->plane_type, type);
	drm_object_attach_property(&p->base, mc->prop_fb_id, 0);
	drm_object_attach_property(&p->base, mc->prop_crtc_id, 0);
	drm_object_attach_property(&p->base, mc->prop_crtc_x, 0);
	drm_object_attach_property(&p->base, mc->prop_crtc_y, 0);
	drm_object_attach_property(&p->base, mc->prop_crtc_w, 0);
	drm_object_attach_property(&p->base, mc->prop_crtc_h, 0);
	drm_object_attach_property(&p->base, mc->prop_in_fence_fd, (uint64_t)-1);
	drm_object_attach_property(&p->base, mc->prop_src_x, 0);
	drm_object_attach_property(&p->base, mc->prop_src_y, 0);
	drm_object_attach_property(&p->base, mc->prop_src_w, 0);
	drm_object_attach_property(&p->base, mc->prop_src_h, 0);
	if (nmodifiers) {
		struct drm_property_blob *b = in_formats_blob(dev, p);
		if (b)
			drm_object_attach_property(&p->base, mc->prop_in_formats, b->base.id);
	}
	return p;
}

struct drm_crtc *drm_crtc_create(struct drm_device *dev, struct drm_plane *primary, struct drm_plane *cursor,
				 uint32_t gamma_size)
{
	struct drm_mode_config *mc = dev->mode_config;
	if (mc->ncrtcs == KMS_MAX_CRTCS)
		return NULL;
	struct drm_crtc *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->state = calloc(1, sizeof(*c->state));
	c->core_priv = calloc(1, sizeof(struct kms_crtc));
	c->gamma = gamma_size ? calloc(3 * gamma_size, sizeof(uint16_t)) : NULL;
	if (!c->state || !c->core_priv || (gamma_size && !c->gamma) ||
	    drm_mode_object_add(dev, &c->base, DRM_MODE_OBJECT_CRTC)) {
		free(c->state);
		free(c->core_priv);
		free(c->gamma);
		free(c);
		return NULL;
	}
	c->state->crtc = c;
	c->dev = dev;
	c->index = mc->ncrtcs;
	c->primary = primary;
	c->cursor = cursor;
	c->gamma_size = gamma_size;
	/* A linear ramp until a client sets its own. */
	for (uint32_t i = 0; i < gamma_size; i++) {
		uint16_t v = (uint16_t)(gamma_size > 1 ? (i * 0xffffu) / (gamma_size - 1) : 0);
		c->gamma[i] = c->gamma[gamma_size + i] = c->gamma[2 * gamma_size + i] = v;
	}
	mc->crtcs[mc->ncrtcs++] = c;
	if (gamma_size && mc->funcs->gamma_set)
		mc->funcs->gamma_set(c);
	drm_object_attach_property(&c->base, mc->prop_active, 0);
	drm_object_attach_property(&c->base, mc->prop_mode_id, 0);
	return c;
}

struct drm_encoder *drm_encoder_create(struct drm_device *dev, uint32_t encoder_type, uint32_t possible_crtcs)
{
	struct drm_mode_config *mc = dev->mode_config;
	if (mc->nencoders == KMS_MAX_ENCODERS)
		return NULL;
	struct drm_encoder *e = calloc(1, sizeof(*e));
	if (!e || drm_mode_object_add(dev, &e->base, DRM_MODE_OBJECT_ENCODER)) {
		free(e);
		return NULL;
	}
	e->index = mc->nencoders;
	e->encoder_type = encoder_type;
	e->possible_crtcs = possible_crtcs;
	mc->encoders[mc->nencoders++] = e;
	return e;
}

static unsigned type_count(struct drm_mode_config *mc, uint32_t type)
{
	unsigned n = 0;
	for (unsigned i = 0; i < mc->nconnectors; i++)
		n += mc->connectors[i]->connector_type == type;
	return n;
}

static void set_edid(struct drm_connector *c, const uint8_t *edid, size_t len)
{
	struct drm_device *dev = c->dev;
	struct drm_mode_config *mc = dev->mode_config;
	free(c->modes);
	c->modes = NULL;
	c->nmodes = 0;
	c->mm_width = c->mm_height = 0;
	uint32_t blob_id = 0;
	if (edid && len) {
		int n = drm_edid_to_modes(edid, len, &c->modes, &c->mm_width, &c->mm_height);
		if (n < 0)
			log_warn("connector %u: unusable EDID", c->base.id);
		c->nmodes = n > 0 ? (unsigned)n : 0;
		struct drm_property_blob *b = drm_property_create_blob(dev, len, edid);
		blob_id = b ? b->base.id : 0;
	}
	c->status = edid && len ? connector_status_connected : connector_status_disconnected;
	for (unsigned k = 0; k < c->base.nprops; k++) {
		if (c->base.props[k] == mc->prop_edid) {
			if (c->base.values[k])
				drm_property_blob_put(drm_property_lookup_blob(dev, (uint32_t)c->base.values[k]));
			c->base.values[k] = blob_id;
		}
	}
}

struct drm_connector *drm_connector_create(struct drm_device *dev, uint32_t connector_type,
					   struct drm_encoder *encoder, const uint8_t *edid, size_t edid_len)
{
	struct drm_mode_config *mc = dev->mode_config;
	if (mc->nconnectors == KMS_MAX_CONNECTORS)
		return NULL;
	void *state;
	struct drm_connector *c = object_new(dev, sizeof(*c), sizeof(*c->state), DRM_MODE_OBJECT_CONNECTOR, &state);
	if (!c)
		return NULL;
	c->state = state;
	c->state->connector = c;
	c->dev = dev;
	c->index = mc->nconnectors;
	c->connector_type = connector_type;
	c->connector_type_id = type_count(mc, connector_type) + 1;
	c->encoder = encoder;
	c->subpixel = 0; /* SubPixelUnknown in the kernel's enum subpixel_order */
	mc->connectors[mc->nconnectors++] = c;
	drm_object_attach_property(&c->base, mc->prop_edid, 0);
	drm_object_attach_property(&c->base, mc->prop_dpms, DRM_MODE_DPMS_OFF);
	drm_object_attach_property(&c->base, mc->prop_link_status, DRM_MODE_LINK_STATUS_GOOD);
	drm_object_attach_property(&c->base, mc->prop_non_desktop, 0);
	drm_object_attach_property(&c->base, mc->prop_crtc_id, 0);
	set_edid(c, edid, edid_len);
	return c;
}

void drm_connector_update_edid(struct drm_connector *connector, const uint8_t *edid, size_t edid_len)
{
	set_edid(connector, edid, edid_len);
	log_info("connector %u: %s", connector->base.id,
		 connector->status == connector_status_connected ? "connected" : "disconnected");
}

struct drm_crtc *drm_crtc_from_index(struct drm_device *dev, unsigned int index)
{
	struct drm_mode_config *mc = dev->mode_config;
	return mc && index < mc->ncrtcs ? mc->crtcs[index] : NULL;
}

int drm_kms_file_open(struct drm_file *file)
{
	file->kms = calloc(1, sizeof(*file->kms));
	return file->kms ? 0 : -ENOMEM;
}

void drm_kms_file_release(struct drm_file *file)
{
	if (!file->kms)
		return;
	if (file->dev->mode_config) {
		drm_kms_events_release(file);
		drm_kms_fbs_release(file);
		drm_kms_blobs_release(file);
	}
	free(file->kms);
	file->kms = NULL;
}

int drm_kms_capture(struct drm_device *dev, uint32_t crtc_id, uint32_t **pixels, uint32_t *width,
		    uint32_t *height, uint32_t *out_crtc_id)
{
	struct drm_mode_config *mc = dev->mode_config;
	if (!mc || !mc->funcs->capture)
		return -EOPNOTSUPP;
	struct drm_crtc *crtc = NULL;
	for (unsigned i = 0; i < mc->ncrtcs; i++) {
		struct drm_crtc *c = mc->crtcs[i];
		if (crtc_id ? c->base.id == crtc_id : c->state->active) {
			crtc = c;
			break;
		}
	}
	if (!crtc)
		return crtc_id ? -ENOENT : -ENODEV;
	if (!crtc->state->active)
		return -ENODEV;
	uint32_t w = crtc->state->mode.hdisplay, h = crtc->state->mode.vdisplay;
	uint32_t *px = calloc((size_t)w * h, sizeof(uint32_t));
	if (!px)
		return -ENOMEM;
	int r = mc->funcs->capture(crtc, px, w, h);
	if (r) {
		free(px);
		return r;
	}
	*pixels = px;
	*width = w;
	*height = h;
	*out_crtc_id = crtc->base.id;
	return 0;
}

/* ---- read-only ioctls ---- */

static int copy_ids(struct drm_call *call, uint64_t ptr, uint32_t cap, uint32_t n, const uint32_t id)
{
	return n < cap ? drm_copy_to_user(call, ptr + 4ull * n, &id, 4) : 0;
}

int drm_mode_getresources(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_card_res *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_mode_config *mc = dev->mode_config;
	uint32_t n = 0;
	for (struct drm_framebuffer *fb = file->kms->fbs; fb; fb = fb->next, n++)
		if (copy_ids(call, r->fb_id_ptr, r->count_fbs, n, fb->base.id))
			return -EFAULT;
	r->count_fbs = n;
	r->min_width = mc->min_width;
	r->max_width = mc->max_width;
	r->min_height = mc->min_height;
	r->max_height = mc->max_height;
	for (n = 0; n < mc->ncrtcs; n++)
		if (copy_ids(call, r->crtc_id_ptr, r->count_crtcs, n, mc->crtcs[n]->base.id))
			return -EFAULT;
	r->count_crtcs = n;
	for (n = 0; n < mc->nencoders; n++)
		if (copy_ids(call, r->encoder_id_ptr, r->count_encoders, n, mc->encoders[n]->base.id))
			return -EFAULT;
	r->count_encoders = n;
	for (n = 0; n < mc->nconnectors; n++)
		if (copy_ids(call, r->connector_id_ptr, r->count_connectors, n, mc->connectors[n]->base.id))
			return -EFAULT;
	r->count_connectors = n;
	return 0;
}

int drm_mode_getcrtc(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_crtc *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_crtc *crtc = (struct drm_crtc *)drm_mode_object_find(dev, r->crtc_id, DRM_MODE_OBJECT_CRTC);
	if (!crtc)
		return -ENOENT;
	struct drm_plane_state *ps = crtc->primary ? crtc->primary->state : NULL;
	r->gamma_size = crtc->gamma_size;
	r->fb_id = ps && ps->fb ? ps->fb->base.id : 0;
	r->x = ps ? ps->src_x >> 16 : 0;
	r->y = ps ? ps->src_y >> 16 : 0;
	if (crtc->state->enable) {
		r->mode = crtc->state->mode;
		r->mode_valid = 1;
	} else {
		memset(&r->mode, 0, sizeof(r->mode));
		r->mode_valid = 0;
	}
	if (!file->aspect_ratio_allowed)
		r->mode.flags &= ~DRM_MODE_FLAG_PIC_AR_MASK;
	return 0;
}

static struct drm_crtc *encoder_crtc(struct drm_device *dev, struct drm_encoder *e)
{
	struct drm_mode_config *mc = dev->mode_config;
	for (unsigned i = 0; i < mc->nconnectors; i++)
		if (mc->connectors[i]->encoder == e && mc->connectors[i]->state->crtc)
			return mc->connectors[i]->state->crtc;
	return NULL;
}

int drm_mode_getencoder(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_get_encoder *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_encoder *e = (struct drm_encoder *)drm_mode_object_find(dev, r->encoder_id,
									   DRM_MODE_OBJECT_ENCODER);
	if (!e)
		return -ENOENT;
	struct drm_crtc *crtc = encoder_crtc(dev, e);
	r->crtc_id = crtc ? crtc->base.id : 0;
	r->encoder_type = e->encoder_type;
	r->possible_crtcs = e->possible_crtcs;
	r->possible_clones = 1u << e->index; /* only itself */
	return 0;
}

int drm_mode_getconnector(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_get_connector *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_connector *c = (struct drm_connector *)drm_mode_object_find(dev, r->connector_id,
									       DRM_MODE_OBJECT_CONNECTOR);
	if (!c)
		return -ENOENT;
	uint32_t nenc = c->encoder ? 1 : 0;
	if (r->count_encoders >= nenc && nenc &&
	    drm_copy_to_user(call, r->encoders_ptr, &c->encoder->base.id, 4))
		return -EFAULT;
	r->count_encoders = nenc;
	r->connector_type = c->connector_type;
	r->connector_type_id = c->connector_type_id;
	r->mm_width = c->mm_width;
	r->mm_height = c->mm_height;
	r->subpixel = c->subpixel;
	r->connection = c->status;
	/* Both calls of the usual pair (count, then fill) see the same list. */
	if (r->count_modes >= c->nmodes && c->nmodes) {
		for (uint32_t i = 0; i < c->nmodes; i++) {
			struct drm_mode_modeinfo m = c->modes[i];
			if (!file->aspect_ratio_allowed)
				m.flags &= ~DRM_MODE_FLAG_PIC_AR_MASK;
			if (drm_copy_to_user(call, r->modes_ptr + sizeof(m) * i, &m, sizeof(m)))
				return -EFAULT;
		}
	}
	r->count_modes = c->nmodes;
	r->encoder_id = c->state->crtc && c->encoder ? c->encoder->base.id : 0;
	return drm_mode_object_copy_props(dev, file, call, &c->base, r->props_ptr, r->prop_values_ptr,
					  &r->count_props);
}

int drm_mode_getplane_res(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_get_plane_res *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_mode_config *mc = dev->mode_config;
	uint32_t n = 0;
	for (unsigned i = 0; i < mc->nplanes; i++) {
		struct drm_plane *p = mc->planes[i];
		/* Without UNIVERSAL_PLANES a client sees overlays only. */
		if (p->type != DRM_PLANE_TYPE_OVERLAY && !file->universal_planes)
			continue;
		if (copy_ids(call, r->plane_id_ptr, r->count_planes, n, p->base.id))
			return -EFAULT;
		n++;
	}
	r->count_planes = n;
	return 0;
}

int drm_mode_getplane(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_get_plane *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_plane *p = (struct drm_plane *)drm_mode_object_find(dev, r->plane_id, DRM_MODE_OBJECT_PLANE);
	if (!p)
		return -ENOENT;
	r->crtc_id = p->state->crtc ? p->state->crtc->base.id : 0;
	r->fb_id = p->state->fb ? p->state->fb->base.id : 0;
	r->possible_crtcs = p->possible_crtcs;
	r->gamma_size = 0;
	if (p->nformats && r->count_format_types >= p->nformats &&
	    drm_copy_to_user(call, r->format_type_ptr, p->formats, 4ull * p->nformats))
		return -EFAULT;
	r->count_format_types = p->nformats;
	return 0;
}

int drm_mode_obj_get_properties_ioctl(struct drm_device *dev, void *data, struct drm_file *file,
				      struct drm_call *call)
{
	struct drm_mode_obj_get_properties *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_mode_object *obj = drm_mode_object_find(dev, r->obj_id, r->obj_type);
	if (!obj)
		return -ENOENT;
	if (!obj->nprops)
		return -EINVAL;
	return drm_mode_object_copy_props(dev, file, call, obj, r->props_ptr, r->prop_values_ptr, &r->count_props);
}

int drm_mode_gamma_get_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_crtc_lut *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_crtc *crtc = (struct drm_crtc *)drm_mode_object_find(dev, r->crtc_id, DRM_MODE_OBJECT_CRTC);
	if (!crtc)
		return -ENOENT;
	/* memcpy of a wrong-sized table would be a lie: the sizes must match. */
	if (r->gamma_size != crtc->gamma_size)
		return -EINVAL;
	size_t bytes = 2ull * crtc->gamma_size;
	if (drm_copy_to_user(call, r->red, crtc->gamma, bytes) ||
	    drm_copy_to_user(call, r->green, crtc->gamma + crtc->gamma_size, bytes) ||
	    drm_copy_to_user(call, r->blue, crtc->gamma + 2 * crtc->gamma_size, bytes))
		return -EFAULT;
	return 0;
}

int drm_mode_gamma_set_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_crtc_lut *r = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_crtc *crtc = (struct drm_crtc *)drm_mode_object_find(dev, r->crtc_id, DRM_MODE_OBJECT_CRTC);
	if (!crtc)
		return -ENOENT;
	if (!crtc->gamma_size)
		return -ENOSYS;
	if (r->gamma_size != crtc->gamma_size)
		return -EINVAL;
	size_t bytes = 2ull * crtc->gamma_size;
	uint16_t *tmp = malloc(3 * bytes);
	if (!tmp)
		return -ENOMEM;
	if (drm_copy_from_user(call, tmp, r->red, bytes) ||
	    drm_copy_from_user(call, tmp + crtc->gamma_size, r->green, bytes) ||
	    drm_copy_from_user(call, tmp + 2 * crtc->gamma_size, r->blue, bytes)) {
		free(tmp);
		return -EFAULT;
	}
	memcpy(crtc->gamma, tmp, 3 * bytes);
	free(tmp);
	if (dev->mode_config->funcs->gamma_set)
		dev->mode_config->funcs->gamma_set(crtc);
	return 0;
}
