/* i915 uAPI internals shared by i915_uapi.c and i915_gem.c. */
#ifndef REDOX_DRM_I915_UAPI_H
#define REDOX_DRM_I915_UAPI_H

#include <stdbool.h>
#include <stdint.h>

#include "redox-drm/drm_ioctl.h"
#include "redox-drm/gem.h"
#include "redox-drm/idr.h"

struct i915_context {
	int priority;
	bool bannable, recoverable;
};

/* drm_file.driver_priv */
struct i915_file {
	struct i915_context default_context; /* id 0 */
	struct idr contexts;                 /* id → struct i915_context */
};

/* A GEM object created by GEM_CREATE: the state the GEM ioctls keep for it. */
struct i915_gem_object {
	struct drm_gem_object base;
	uint32_t tiling_mode, stride;
	uint32_t caching; /* I915_CACHING_* */
	uint32_t madv;    /* I915_MADV_* */
	bool gtt_mmap;    /* a GTT mmap offset was handed out */
};

drm_ioctl_t i915_gem_create_ioctl, i915_gem_mmap_offset_ioctl, i915_gem_get_aperture_ioctl,
	i915_gem_set_domain_ioctl, i915_gem_sw_finish_ioctl, i915_gem_set_tiling_ioctl, i915_gem_get_tiling_ioctl,
	i915_gem_set_caching_ioctl, i915_gem_get_caching_ioctl, i915_gem_madvise_ioctl, i915_gem_busy_ioctl,
	i915_gem_wait_ioctl, i915_gem_mmap_ioctl, i915_gem_pread_ioctl, i915_gem_pwrite_ioctl, i915_gem_userptr_ioctl;

/* True for objects GEM_CREATE made (with a backing file of their own), false for imported ones. */
bool i915_gem_object_is_native(struct drm_gem_object *obj);

#endif
