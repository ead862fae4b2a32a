/* Properties and blobs (drm_property.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redox-drm/driver.h"
#include "kms_internal.h"

static struct drm_property *prop_new(struct drm_device *dev, uint32_t flags, const char *name)
{
	struct drm_mode_config *mc = dev->mode_config;
	if (mc->nprops == sizeof(mc->props) / sizeof(mc->props[0]))
		return NULL;
	struct drm_property *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	if (drm_mode_object_add(dev, &p->base, DRM_MODE_OBJECT_PROPERTY)) {
		free(p);
		return NULL;
	}
	p->flags = flags;
	snprintf(p->name, sizeof(p->name), "%s", name);
	mc->props[mc->nprops++] = p;
	return p;
}

struct drm_property *drm_property_create_range(struct drm_device *dev, uint32_t flags, const char *name,
					       uint64_t min, uint64_t max)
{
	struct drm_property *p = prop_new(dev, flags | DRM_MODE_PROP_RANGE, name);
	if (p) {
		p->nvalues = 2;
		p->values[0] = min;
		p->values[1] = max;
	}
	return p;
}

struct drm_property *drm_property_create_signed_range(struct drm_device *dev, uint32_t flags,
						      const char *name, int64_t min, int64_t max)
{
	struct drm_property *p = prop_new(dev, flags | DRM_MODE_PROP_SIGNED_RANGE, name);
	if (p) {
		p->nvalues = 2;
		p->values[0] = (uint64_t)min;
		p->values[1] = (uint64_t)max;
	}
	return p;
}

struct drm_property *drm_property_create_enum(struct drm_device *dev, uint32_t flags, const char *name,
					      const struct drm_property_enum *enums, unsigned int n)
{
	struct drm_property *p = prop_new(dev, flags | DRM_MODE_PROP_ENUM, name);
	if (!p)
		return NULL;
	for (unsigned i = 0; i < n && i < 8; i++) {
		p->enums[i] = enums[i];
		p->values[i] = enums[i].value;
	}
	p->nenums = p->nvalues = n < 8 ? n : 8;
	return p;
}

struct drm_property *drm_property_create_object(struct drm_device *dev, uint32_t flags, const char *name,
						uint32_t type)
{
	struct drm_property *p = prop_new(dev, flags | DRM_MODE_PROP_OBJECT, name);
	if (p) {
		p->nvalues = 1;
		p->values[0] = type;
	}
	return p;
}

struct drm_property *drm_property_create_blob_prop(struct drm_device *dev, uint32_t flags, const char *name)
{
	return prop_new(dev, flags | DRM_MODE_PROP_BLOB, name);
}

void drm_properties_destroy(struct drm_device *dev)
{
	struct drm_mode_config *mc = dev->mode_config;
	for (unsigned i = 0; i < mc->nprops; i++) {
		drm_mode_object_remove(dev, &mc->props[i]->base);
		free(mc->props[i]);
	}
	mc->nprops = 0;
}

/* ---- blobs ---- */

struct drm_property_blob *drm_property_create_blob(struct drm_device *dev, size_t length, const void *data)
{
	if (!length || length > (16u << 20))
		return NULL;
	struct drm_property_blob *b = calloc(1, sizeof(*b) + length);
	if (!b)
		return NULL;
	if (drm_mode_object_add(dev, &b->base, DRM_MODE_OBJECT_BLOB)) {
		free(b);
		return NULL;
	}
	b->refcount = 1;
	b->length = length;
	if (data)
		memcpy(b->data, data, length);
	b->dev = dev;
	return b;
}

struct drm_property_blob *drm_property_blob_get(struct drm_property_blob *blob)
{
	if (blob)
		blob->refcount++;
	return blob;
}

void drm_property_blob_put(struct drm_property_blob *blob)
{
	if (!blob || --blob->refcount)
		return;
	drm_mode_object_remove(blob->dev, &blob->base);
	free(blob);
}

struct drm_property_blob *drm_property_lookup_blob(struct drm_device *dev, uint32_t id)
{
	return (struct drm_property_blob *)drm_mode_object_find(dev, id, DRM_MODE_OBJECT_BLOB);
}

int drm_property_value_valid(struct drm_device *dev, struct drm_property *prop, uint64_t value)
{
	if (prop->flags & DRM_MODE_PROP_IMMUTABLE)
		return -EINVAL;
	if (prop->flags & DRM_MODE_PROP_RANGE)
		return value >= prop->values[0] && value <= prop->values[1] ? 0 : -EINVAL;
	if (prop->flags & DRM_MODE_PROP_SIGNED_RANGE)
		return (int64_t)value >= (int64_t)prop->values[0] && (int64_t)value <= (int64_t)prop->values[1]
			       ? 0 : -EINVAL;
	if (prop->flags & DRM_MODE_PROP_ENUM) {
		for (unsigned i = 0; i < prop->nenums; i++)
			if (prop->enums[i].value == value)
				return 0;
		return -EINVAL;
	}
	if (prop->flags & DRM_MODE_PROP_BLOB)
		return value == 0 || drm_property_lookup_blob(dev, (uint32_t)value) ? 0 : -EINVAL;
	if (prop->flags & DRM_MODE_PROP_OBJECT) {
		if (value == 0)
			return 0;
		if (value > UINT32_MAX)
			return -EINVAL;
		/* A missing object is ENOENT, as drm_property_change_valid_get reports it. */
		return drm_mode_object_find(dev, (uint32_t)value, (uint32_t)prop->values[0]) ? 0 : -ENOENT;
	}
	return -EINVAL;
}

void drm_kms_blobs_release(struct drm_file *file)
{
	struct drm_kms_file *kf = file->kms;
	while (kf && kf->blobs) {
		struct drm_property_blob *b = kf->blobs;
		kf->blobs = b->next_owned;
		b->owner = NULL;
		drm_property_blob_put(b);
	}
}

/* ---- ioctls ---- */

int drm_mode_getproperty_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_get_property *out = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_property *p = (struct drm_property *)drm_mode_object_find(dev, out->prop_id,
									     DRM_MODE_OBJECT_PROPERTY);
	if (!p)
		return -ENOENT;
	memset(out->name, 0, sizeof(out->name));
	memcpy(out->name, p->name, DRM_PROP_NAME_LEN - 1);
	out->flags = p->flags;
	for (unsigned i = 0; i < p->nvalues; i++)
		if (i < out->count_values && drm_copy_to_user(call, out->values_ptr + 8ull * i, &p->values[i], 8))
			return -EFAULT;
	out->count_values = p->nvalues;
	if (p->flags & (DRM_MODE_PROP_ENUM | DRM_MODE_PROP_BITMASK)) {
		unsigned copied = 0;
		for (unsigned i = 0; i < p->nenums; i++) {
			if (out->count_enum_blobs < i + 1)
				continue;
			struct drm_mode_property_enum e = {.value = p->enums[i].value};
			memcpy(e.name, p->enums[i].name, DRM_PROP_NAME_LEN);
			if (drm_copy_to_user(call, out->enum_blob_ptr + sizeof(e) * copied, &e, sizeof(e)))
				return -EFAULT;
			copied++;
		}
		out->count_enum_blobs = p->nenums;
	}
	if (p->flags & DRM_MODE_PROP_BLOB)
		out->count_enum_blobs = 0;
	return 0;
}

int drm_mode_getblob_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_get_blob *out = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_property_blob *b = drm_property_lookup_blob(dev, out->blob_id);
	if (!b)
		return -ENOENT;
	if (out->length == b->length && drm_copy_to_user(call, out->data, b->data, b->length))
		return -EFAULT;
	out->length = (uint32_t)b->length;
	return 0;
}

int drm_mode_createblob_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_create_blob *out = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_property_blob *b = drm_property_create_blob(dev, out->length, NULL);
	if (!b)
		return out->length ? -ENOMEM : -EINVAL;
	if (drm_copy_from_user(call, b->data, out->data, out->length)) {
		drm_property_blob_put(b);
		return -EFAULT;
	}
	b->owner = file;
	b->next_owned = file->kms->blobs;
	file->kms->blobs = b;
	out->blob_id = b->base.id;
	return 0;
}

int drm_mode_destroyblob_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_destroy_blob *out = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	struct drm_property_blob *b = drm_property_lookup_blob(dev, out->blob_id);
	if (!b)
		return -ENOENT;
	/* Only the creator may destroy it; states still using it keep their reference. */
	for (struct drm_property_blob **p = &file->kms->blobs; *p; p = &(*p)->next_owned) {
		if (*p == b) {
			*p = b->next_owned;
			b->owner = NULL;
			drm_property_blob_put(b);
			return 0;
		}
	}
	return -EPERM;
}
