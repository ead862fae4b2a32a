/*
 * i915 GEM object ioctls. Objects are system memory from the device's DMA
 * allocator; the CPU and the GPU see it coherently (Skylake shares the LLC),
 * and no engine runs work yet, so every object is idle and every CPU access
 * mode maps the same pages.
 */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include <drm.h>
#include <i915_drm.h>

#include "i915.h"
#include "i915_uapi.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/gem.h"

#define I915_PAGE_SIZE 4096ull
/* Largest fence pitch on gen7+ in 128-byte units (the kernel's limit for a tiled stride). */
#define GEN7_FENCE_MAX_PITCH_VAL 0x0800u

static void i915_gem_free(struct drm_gem_object *obj)
{
	free((struct i915_gem_object *)obj);
}

static const struct drm_gem_object_funcs i915_gem_funcs = {.free = i915_gem_free};

/* The driver's state of obj, or NULL for an object it did not create (an imported dma-buf). */
static struct i915_gem_object *to_i915_bo(struct drm_gem_object *obj)
{
	return obj->funcs == &i915_gem_funcs ? (struct i915_gem_object *)obj : NULL;
}

bool i915_gem_object_is_native(struct drm_gem_object *obj)
{
	return to_i915_bo(obj) != NULL;
}

int i915_gem_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)call;
	struct drm_i915_gem_create *args = data;
	if (args->size == 0)
		return -EINVAL;
	if (args->size > UINT64_MAX - (I915_PAGE_SIZE - 1) || args->size > SIZE_MAX)
		return -E2BIG;
	uint64_t size = (args->size + I915_PAGE_SIZE - 1) & ~(I915_PAGE_SIZE - 1);

	struct i915_gem_object *bo = calloc(1, sizeof(*bo));
	if (!bo)
		return -ENOMEM;
	int r = drm_gem_object_init(dev, &bo->base, (size_t)size);
	if (r) {
		free(bo);
		return r;
	}
	bo->base.funcs = &i915_gem_funcs;
	bo->caching = I915_CACHING_CACHED; /* LLC: objects are cached by default */
	bo->madv = I915_MADV_WILLNEED;
	uint32_t handle;
	r = drm_gem_handle_create(file, &bo->base, &handle);
	drm_gem_object_put(&bo->base); /* the handle holds it now (or nothing does) */
	if (r)
		return r;
	args->handle = handle;
	args->size = size;
	return 0;
}

int i915_gem_mmap_offset_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)call;
	struct drm_i915_gem_mmap_offset *args = data;
	if (args->extensions)
		return -EINVAL; /* no mmap extension is defined */
	switch (args->flags) {
	case I915_MMAP_OFFSET_GTT:
	case I915_MMAP_OFFSET_WC:
	case I915_MMAP_OFFSET_WB:
	case I915_MMAP_OFFSET_UC:
	case I915_MMAP_OFFSET_FIXED:
		break;
	default:
		return -EINVAL;
	}
	struct drm_gem_object *obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	struct i915_gem_object *bo = to_i915_bo(obj);
	int r = 0;
	if (args->flags == I915_MMAP_OFFSET_FIXED) {
		/* FIXED is for objects whose placement decides the mode (discrete parts). */
		r = -ENODEV;
	} else if (args->flags == I915_MMAP_OFFSET_GTT && bo && bo->tiling_mode != I915_TILING_NONE) {
		/* A real GTT mapping detiles through a fence register; the pages served here
		 * are the object's own, so a tiled object would show its tiled layout. */
		r = -ENODEV;
	} else {
		r = drm_gem_create_mmap_offset(obj);
		if (!r) {
			args->offset = obj->mmap_offset;
			if (bo && args->flags == I915_MMAP_OFFSET_GTT)
				bo->gtt_mmap = true;
		}
	}
	drm_gem_object_put(obj);
	return r;
}

int i915_gem_get_aperture_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)file;
	(void)call;
	struct i915_device *i915 = dev->dev_private;
	struct drm_i915_gem_get_aperture *args = data;
	uint64_t used = 0;
	for (const struct i915_ggtt_range *r = i915->ggtt.used; r; r = r->next)
		used += r->size;
	args->aper_size = i915->ggtt_size;
	args->aper_available_size = used < i915->ggtt_size ? i915->ggtt_size - used : 0;
	return 0;
}

/* The object behind handle, a new reference; or NULL and -ENOENT in *err. */
static struct drm_gem_object *lookup(struct drm_file *file, uint32_t handle, int *err)
{
	struct drm_gem_object *obj = drm_gem_object_lookup(file, handle);
	*err = obj ? 0 : -ENOENT;
	return obj;
}

int i915_gem_set_domain_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)call;
	struct drm_i915_gem_set_domain *args = data;
	const uint32_t gpu_domains = I915_GEM_DOMAIN_RENDER | I915_GEM_DOMAIN_SAMPLER | I915_GEM_DOMAIN_COMMAND |
				     I915_GEM_DOMAIN_INSTRUCTION | I915_GEM_DOMAIN_VERTEX;
	if (args->write_domain && args->read_domains != args->write_domain)
		return -EINVAL;
	if ((args->read_domains | args->write_domain) & gpu_domains)
		return -EINVAL; /* userspace may only move objects into CPU-side domains */
	int err;
	struct drm_gem_object *obj = lookup(file, args->handle, &err);
	if (!obj)
		return err;
	/* Coherent and idle: no flush, no wait, nothing to move. */
	drm_gem_object_put(obj);
	return 0;
}

int i915_gem_sw_finish_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)call;
	struct drm_i915_gem_sw_finish *args = data;
	int err;
	struct drm_gem_object *obj = lookup(file, args->handle, &err);
	if (!obj)
		return err;
	/* Nothing scans out through a CPU cache that would need flushing. */
	drm_gem_object_put(obj);
	return 0;
}

static bool tiling_ok(uint32_t mode, uint32_t stride)
{
	if (mode == I915_TILING_NONE)
		return true;
	if (mode > I915_TILING_LAST)
		return false;
	if (stride / 128 > GEN7_FENCE_MAX_PITCH_VAL)
		return false;
	uint32_t tile_width = mode == I915_TILING_X ? 512 : 128;
	return stride && stride % tile_width == 0;
}

int i915_gem_set_tiling_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)call;
	struct drm_i915_gem_set_tiling *args = data;
	if (args->tiling_mode > I915_TILING_LAST)
		return -EINVAL;
	int err;
	struct drm_gem_object *obj = lookup(file, args->handle, &err);
	if (!obj)
		return err;
	struct i915_gem_object *bo = to_i915_bo(obj);
	if (!bo)
		err = -ENXIO; /* imported memory: its layout belongs to its exporter */
	else if (!tiling_ok(args->tiling_mode, args->stride))
		err = -EINVAL;
	else if (args->tiling_mode != I915_TILING_NONE && bo->gtt_mmap)
		err = -EBUSY; /* a GTT view was handed out, and it cannot detile (see MMAP_OFFSET) */
	if (!err) {
		bo->tiling_mode = args->tiling_mode;
		bo->stride = args->tiling_mode == I915_TILING_NONE ? 0 : args->stride;
		args->stride = bo->stride;
		/* Gen9 does no bit-6 address swizzling. */
		args->swizzle_mode = I915_BIT_6_SWIZZLE_NONE;
	}
	drm_gem_object_put(obj);
	return err;
}

int i915_gem_get_tiling_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)call;
	struct drm_i915_gem_get_tiling *args = data;
	int err;
	struct drm_gem_object *obj = lookup(file, args->handle, &err);
	if (!obj)
		return err;
	struct i915_gem_object *bo = to_i915_bo(obj);
	args->tiling_mode = bo ? bo->tiling_mode : I915_TILING_NONE;
	args->swizzle_mode = I915_BIT_6_SWIZZLE_NONE;
	args->phys_swizzle_mode = I915_BIT_6_SWIZZLE_NONE;
	drm_gem_object_put(obj);
	return 0;
}

int i915_gem_set_caching_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)call;
	struct drm_i915_gem_caching *args = data;
	uint32_t level;
	switch (args->caching) {
	case I915_CACHING_NONE:
		level = I915_CACHING_NONE;
		break;
	case I915_CACHING_CACHED:
		level = I915_CACHING_CACHED; /* the LLC makes this available */
		break;
	case I915_CACHING_DISPLAY:
		level = I915_CACHING_NONE; /* no write-through on Skylake GT2: display means uncached */
		break;
	default:
		return -EINVAL;
	}
	int err;
	struct drm_gem_object *obj = lookup(file, args->handle, &err);
	if (!obj)
		return err;
	struct i915_gem_object *bo = to_i915_bo(obj);
	if (bo)
		bo->caching = level;
	else
		err = -ENXIO;
	drm_gem_object_put(obj);
	return err;
}

int i915_gem_get_caching_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)call;
	struct drm_i915_gem_caching *args = data;
	int err;
	struct drm_gem_object *obj = lookup(file, args->handle, &err);
	if (!obj)
		return err;
	struct i915_gem_object *bo = to_i915_bo(obj);
	args->caching = bo ? bo->caching : I915_CACHING_CACHED;
	drm_gem_object_put(obj);
	return 0;
}

int i915_gem_madvise_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)call;
	struct drm_i915_gem_madvise *args = data;
	if (args->madv != I915_MADV_DONTNEED && args->madv != I915_MADV_WILLNEED)
		return -EINVAL;
	int err;
	struct drm_gem_object *obj = lookup(file, args->handle, &err);
	if (!obj)
		return err;
	struct i915_gem_object *bo = to_i915_bo(obj);
	if (bo)
		bo->madv = args->madv;
	/* Pages are never reclaimed behind the client's back, so they are always still there. */
	args->retained = 1;
	drm_gem_object_put(obj);
	return 0;
}
