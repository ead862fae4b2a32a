/* Mode object ids and the properties attached to objects (drm_mode_object.c). */
#include <errno.h>
#include <string.h>

#include "kms_internal.h"

int drm_mode_object_add(struct drm_device *dev, struct drm_mode_object *obj, uint32_t type)
{
	int64_t id = idr_alloc(&dev->mode_config->objects, obj);
	if (id < 0)
		return (int)id;
	obj->id = (uint32_t)id;
	obj->type = type;
	return 0;
}

void drm_mode_object_remove(struct drm_device *dev, struct drm_mode_object *obj)
{
	if (obj->id)
		idr_remove(&dev->mode_config->objects, obj->id);
	obj->id = 0;
}

struct drm_mode_object *drm_mode_object_find(struct drm_device *dev, uint32_t id, uint32_t type)
{
	if (!dev->mode_config)
		return NULL;
	struct drm_mode_object *obj = idr_find(&dev->mode_config->objects, id);
	if (!obj || (type != DRM_MODE_OBJECT_ANY && obj->type != type))
		return NULL;
	return obj;
}

void drm_object_attach_property(struct drm_mode_object *obj, struct drm_property *prop, uint64_t value)
{
	if (obj->nprops == KMS_MAX_PROPS)
		return;
	obj->props[obj->nprops] = prop;
	obj->values[obj->nprops] = value;
	obj->nprops++;
}

struct drm_property *drm_object_find_prop(struct drm_mode_object *obj, uint32_t prop_id)
{
	for (unsigned i = 0; i < obj->nprops; i++)
		if (obj->props[i]->base.id == prop_id)
			return obj->props[i];
	return NULL;
}

int drm_object_property_get_value(struct drm_device *dev, struct drm_mode_object *obj,
				  struct drm_property *prop, uint64_t *val)
{
	/* Atomic properties live in the object's state; the rest in the object. */
	if (prop->flags & DRM_MODE_PROP_ATOMIC)
		return drm_atomic_get_property(obj, prop, val);
	for (unsigned i = 0; i < obj->nprops; i++) {
		if (obj->props[i] == prop) {
			*val = obj->values[i];
			return 0;
		}
	}
	return -EINVAL;
}

/* The kernel's drm_mode_object_get_properties: atomic ones only for atomic clients. */
int drm_mode_object_copy_props(struct drm_device *dev, struct drm_file *file, struct drm_call *call,
			       struct drm_mode_object *obj, uint64_t props_ptr, uint64_t values_ptr,
			       uint32_t *count)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < obj->nprops; i++) {
		struct drm_property *prop = obj->props[i];
		if ((prop->flags & DRM_MODE_PROP_ATOMIC) && !file->atomic)
			continue;
		if (*count > n) {
			uint64_t val;
			int r = drm_object_property_get_value(dev, obj, prop, &val);
			if (r)
				return r;
			if (drm_copy_to_user(call, props_ptr + 4ull * n, &prop->base.id, 4) ||
			    drm_copy_to_user(call, values_ptr + 8ull * n, &val, 8))
				return -EFAULT;
		}
		n++;
	}
	*count = n;
	return 0;
}
