/*
 * Implicit sync on GEM objects (the kernel's dma_resv, reduced): the fences
 * of the jobs that read or write an object, so a later job or a CPU wait can
 * follow them. A small array per object, pruned of signalled fences whenever
 * it is touched, so it holds only what is still pending.
 */
#include "redox-drm/gem.h"

#include <errno.h>
#include <stdlib.h>

#include "redox-drm/fence.h"

/* Drops signalled fences, keeping the order of the rest. */
static void resv_prune(struct drm_gem_object *obj)
{
	unsigned int n = 0;
	for (unsigned int i = 0; i < obj->resv_count; i++) {
		struct drm_gem_resv_fence *r = &obj->resv[i];
		if (drm_fence_is_signaled(r->fence))
			drm_fence_put(r->fence);
		else
			obj->resv[n++] = *r;
	}
	obj->resv_count = n;
}

int drm_gem_resv_add_fence(struct drm_gem_object *obj, struct drm_fence *fence, bool write)
{
	resv_prune(obj);
	if (!fence || drm_fence_is_signaled(fence))
		return 0;
	for (unsigned int i = 0; i < obj->resv_count; i++) {
		struct drm_gem_resv_fence *r = &obj->resv[i];
		if (r->fence == fence) {
			r->write |= write;
			return 0;
		}
		/* A later fence of the same timeline implies the earlier one; a read does not cover a write. */
		if (r->fence->context == fence->context && (write || !r->write) &&
		    drm_fence_is_later(fence, r->fence)) {
			drm_fence_get(fence);
			drm_fence_put(r->fence);
			r->fence = fence;
			r->write = write;
			return 0;
		}
	}
	if (obj->resv_count == obj->resv_cap) {
		unsigned int cap = obj->resv_cap ? obj->resv_cap * 2 : 4;
		struct drm_gem_resv_fence *a = cap > obj->resv_cap ? realloc(obj->resv, cap * sizeof(*a)) : NULL;
		if (!a)
			return -ENOMEM;
		obj->resv = a;
		obj->resv_cap = cap;
	}
	obj->resv[obj->resv_count++] = (struct drm_gem_resv_fence){drm_fence_get(fence), write};
	return 0;
}

struct drm_fence *drm_gem_resv_get_fence(struct drm_gem_object *obj, bool write_only, int *err)
{
	*err = 0;
	resv_prune(obj);
	unsigned int n = 0;
	for (unsigned int i = 0; i < obj->resv_count; i++)
		n += !write_only || obj->resv[i].write;
	if (!n)
		return NULL;
	struct drm_fence **f = malloc(n * sizeof(*f));
	if (!f) {
		*err = -ENOMEM;
		return NULL;
	}
	n = 0;
	for (unsigned int i = 0; i < obj->resv_count; i++)
		if (!write_only || obj->resv[i].write)
			f[n++] = drm_fence_get(obj->resv[i].fence);
	struct drm_fence *out = n == 1 ? f[0] : drm_fence_array_create(n, f, false);
	free(f);
	if (!out)
		*err = -ENOMEM;
	return out;
}

void drm_gem_resv_for_each(struct drm_gem_object *obj,
			   void (*fn)(struct drm_fence *fence, bool write, void *data), void *data)
{
	resv_prune(obj);
	for (unsigned int i = 0; i < obj->resv_count; i++)
		fn(obj->resv[i].fence, obj->resv[i].write, data);
}

bool drm_gem_resv_busy(struct drm_gem_object *obj, bool write_only)
{
	resv_prune(obj);
	for (unsigned int i = 0; i < obj->resv_count; i++)
		if (!write_only || obj->resv[i].write)
			return true;
	return false;
}

void drm_gem_resv_fini(struct drm_gem_object *obj)
{
	for (unsigned int i = 0; i < obj->resv_count; i++)
		drm_fence_put(obj->resv[i].fence);
	free(obj->resv);
	obj->resv = NULL;
	obj->resv_count = obj->resv_cap = 0;
}
