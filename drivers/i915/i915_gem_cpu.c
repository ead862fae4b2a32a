/*
 * The CPU's ways into i915 objects besides GEM_MMAP_OFFSET: the legacy
 * GEM_MMAP (a mapping made for the caller), PREAD/PWRITE (copies), and
 * USERPTR (objects over the caller's own memory), with the kernel's checks
 * in the kernel's order.
 */
#include <errno.h>
#include <string.h>

#include <drm.h>
#include <i915_drm.h>

#include "i915.h"
#include "i915_uapi.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"
#include "redox-drm/gem.h"

#define I915_PAGE_SIZE 4096ull
#define USER_ADDR_END ((1ull << 47) - I915_PAGE_SIZE) /* x86-64's TASK_SIZE */

/* The kernel's range_overflows(): [start, start + size) does not fit in max. */
static bool range_overflows(uint64_t start, uint64_t size, uint64_t max)
{
	return start >= max || size > max - start;
}

/*
 * The kernel maps the object's backing file into the caller and returns
 * the address. The daemon cannot map into another process: it checks
 * everything the kernel does, makes sure the object has a fake mmap offset,
 * and answers with that offset of the range in addr_ptr; the interposer
 * maps it (read/write, shared, as the kernel) and puts the address there.
 * The memory is coherent, so I915_MMAP_WC maps the same pages.
 */
int i915_gem_mmap_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)call;
	struct drm_i915_gem_mmap *args = data;
	if (args->flags & ~(uint64_t)I915_MMAP_WC)
		return -EINVAL;
	struct drm_gem_object *obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	int r = 0;
	if (!i915_gem_object_is_native(obj))
		r = -ENXIO; /* imported memory has no backing file to map from */
	else if (range_overflows(args->offset, args->size, obj->size))
		r = -EINVAL;
	else if (args->size == 0 || (args->offset & (I915_PAGE_SIZE - 1)))
		r = -EINVAL; /* what mapping an empty or unaligned range answers */
	else
		r = drm_gem_create_mmap_offset(obj);
	if (!r)
		args->addr_ptr = obj->mmap_offset + args->offset;
	drm_gem_object_put(obj);
	return r;
}

/*
 * The object for a copy of [offset, offset + size), once the GPU is done
 * with it as far as the copy cares (a read waits for writers, a write for
 * everyone, as the kernel's object wait): a reference, or NULL with *err,
 * which is DRM_CALL_PARKED when the call waits and will run again.
 */
static struct drm_gem_object *copy_target(struct drm_device *dev, struct drm_file *file, struct drm_call *call,
					  uint32_t handle, uint64_t offset, uint64_t size, bool write, int *err)
{
	struct drm_gem_object *obj = drm_gem_object_lookup(file, handle);
	if (!obj) {
		*err = -ENOENT;
		return NULL;
	}
	if (range_overflows(offset, size, obj->size) || !obj->vaddr) {
		*err = -EINVAL;
		drm_gem_object_put(obj);
		return NULL;
	}
	*err = 0;
	struct drm_fence *busy = drm_gem_resv_get_fence(obj, !write, err);
	if (busy && !drm_fence_is_signaled(busy))
		*err = i915_rerun_after_fence(dev, call, busy);
	drm_fence_put(busy);
	if (*err) {
		drm_gem_object_put(obj);
		return NULL;
	}
	return obj;
}

int i915_gem_pread_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_i915_gem_pread *args = data;
	if (args->size == 0)
		return 0;
	int err;
	struct drm_gem_object *obj = copy_target(dev, file, call, args->handle, args->offset, args->size, false, &err);
	if (!obj)
		return err;
	err = drm_copy_to_user(call, args->data_ptr, (const uint8_t *)obj->vaddr + args->offset, (size_t)args->size);
	drm_gem_object_put(obj);
	return err;
}

int i915_gem_pwrite_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_i915_gem_pwrite *args = data;
	if (args->size == 0)
		return 0;
	int err;
	struct drm_gem_object *obj = copy_target(dev, file, call, args->handle, args->offset, args->size, true, &err);
	if (!obj)
		return err;
	err = drm_copy_from_user(call, (uint8_t *)obj->vaddr + args->offset, args->data_ptr, (size_t)args->size);
	drm_gem_object_put(obj);
	return err;
}

/*
 * A userptr object would be the caller's own anonymous memory, which the
 * daemon (another process) cannot reach for the device. The kernel built
 * without MMU notifiers answers ENODEV after its argument checks; so does
 * this one. Read-only objects would be possible (gen9's PPGTT has a
 * read-only bit), so they get no earlier refusal. The PROBE flag's range
 * check would look at the caller's mappings, which the daemon cannot see;
 * the call fails with ENODEV either way.
 */
int i915_gem_userptr_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)file;
	(void)call;
	struct drm_i915_gem_userptr *args = data;
	if (args->flags & ~(uint32_t)(I915_USERPTR_READ_ONLY | I915_USERPTR_UNSYNCHRONIZED | I915_USERPTR_PROBE))
		return -EINVAL;
	if ((args->user_size >> 12) > INT32_MAX)
		return -E2BIG;
	if (!args->user_size)
		return -EINVAL;
	if ((args->user_ptr | args->user_size) & (I915_PAGE_SIZE - 1))
		return -EINVAL;
	/* access_ok(): the range must lie in the user half of a 4-level address space. */
	if (args->user_ptr > USER_ADDR_END || args->user_size > USER_ADDR_END - args->user_ptr)
		return -EFAULT;
	if (args->flags & I915_USERPTR_UNSYNCHRONIZED)
		return -ENODEV;
	return -ENODEV;
}
