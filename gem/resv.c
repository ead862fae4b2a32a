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

/*
 * Drops signalled fences, keeping the order of the rest. By the flag: asking
 * the hardware (drm_fence_is_signaled) could run callbacks that change the
 * array under us.
 */
static void resv_prune(struct drm_gem_object *obj)
{
	unsigned int n = 0;
	for (unsigned int i = 0; i < obj->resv_count; i++) {
		struct drm_gem_resv_fence *r = &obj->resv[i];
		if (r->fence->signaled)
			drm_fence_put(r->fence);
		else
			obj->resv[n++] = *r;
	}
	obj->resv_count = n;
}

int drm_gem_resv_add_fence(struct drm_gem_object *obj, struct drm_fence *fence, bool write)
{
	resv_prune(obj);
	if (!fence || fence->signaled)
		return 0;
	/*
	 * A later fence of the same timeline implies the earlier ones: it takes
	 * their places (a read does not cover a write), so a context holds at
	 * most a writer and a reader.
	 */
	for (unsigned int i = 0; i < obj->resv_count; i++) {
		if (obj->resv[i].fence == fence) {
			obj->resv[i].write |= write;
			return 0;
		}
	}
	bool placed = false;
	unsigned int n = 0;
	for (unsigned int i = 0; i < obj->resv_count; i++) {
		struct drm_gem_resv_fence *r = &obj->resv[i];
		if (r->fence->context == fence->context && (write || !r->write) &&
		    drm_fence_is_later(fence, r->fence)) {
			drm_fence_put(r->fence);
			if (placed)
				continue;
			r->fence = drm_fence_get(fence);
			r->write = write;
			placed = true;
		}
		obj->resv[n++] = *r;
	}
	obj->resv_count = n;
	if (placed)
		return 0;
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
	/*
	 * Asks the hardware too (a lost interrupt must not keep an object busy).
	 * That may run callbacks which change the array: index it afresh each
	 * time and hold the fence while asking.
	 */
	bool busy = false;
	for (unsigned int i = 0; i < obj->resv_count && !busy; i++) {
		if (write_only && !obj->resv[i].write)
			continue;
		struct drm_fence *f = drm_fence_get(obj->resv[i].fence);
		busy = !drm_fence_is_signaled(f);
		drm_fence_put(f);
	}
	resv_prune(obj);
	return busy;
}

void drm_gem_resv_fini(struct drm_gem_object *obj)
{
	for (unsigned int i = 0; i < obj->resv_count; i++)
		drm_fence_put(obj->resv[i].fence);
	free(obj->resv);
	obj->resv = NULL;
	obj->resv_count = obj->resv_cap = 0;
}
