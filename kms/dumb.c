/* Dumb buffers: CPU-drawn scanout buffers any KMS client can make (drm_dumb_buffers.c). */
#include <errno.h>
#include <stdint.h>

#include "redox-drm/driver.h"
#include "redox-drm/gem.h"
#include "kms_internal.h"

int drm_mode_create_dumb_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_create_dumb *a = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -ENOSYS;
	if (!a->width || !a->height || !a->bpp)
		return -EINVAL;
	/* Overflow checks of the kernel's 32-bit size arithmetic. */
	if (a->bpp > UINT32_MAX - 8)
		return -EINVAL;
	uint32_t cpp = (a->bpp + 7) / 8;
	if (cpp > UINT32_MAX / a->width)
		return -EINVAL;
	uint32_t align = dev->mode_config->funcs->dumb_pitch_align ? dev->mode_config->funcs->dumb_pitch_align : 64;
	uint64_t pitch = ((uint64_t)cpp * a->width + align - 1) / align * align;
	if (pitch > UINT32_MAX || a->height > UINT32_MAX / pitch)
		return -EINVAL;
	uint64_t size = pitch * a->height;
	a->handle = 0;
	a->pitch = 0;
	a->size = 0;
	struct drm_gem_object *obj = drm_gem_object_create(dev, size);
	if (!obj)
		return -ENOMEM;
	uint32_t handle;
	int r = drm_gem_handle_create(file, obj, &handle);
	drm_gem_object_put(obj); /* the handle holds it */
	if (r)
		return r;
	a->handle = handle;
	a->pitch = (uint32_t)pitch;
	a->size = obj->size;
	return 0;
}

int drm_mode_mmap_dumb_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_map_dumb *a = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -ENOSYS;
	struct drm_gem_object *obj = drm_gem_object_lookup(file, a->handle);
	if (!obj)
		return -ENOENT;
	int r = drm_gem_create_mmap_offset(obj);
	if (!r)
		a->offset = obj->mmap_offset;
	drm_gem_object_put(obj);
	return r;
}

int drm_mode_destroy_dumb_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_mode_destroy_dumb *a = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -ENOSYS;
	return drm_gem_handle_delete(file, a->handle);
}
