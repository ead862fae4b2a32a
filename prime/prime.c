/*
 * PRIME: a GEM object's memory as a dma-buf fd, and back (drm_prime.c).
 * The fd is the object's sealed memfd itself, so mmap() and
 * lseek(fd, 0, SEEK_END) work on it directly and the memory lives as long as
 * any fd or mapping does. An imported fd is recognised by the identity of
 * its memory: the same object on the same device, the same memory under a
 * new object on another device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <drm.h>

#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/gem.h"
#include "redox-drm/prime.h"

int drm_prime_handle_to_fd_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_prime_handle *args = data;
	if (!drm_core_check_feature(dev, DRIVER_PRIME))
		return -EOPNOTSUPP;
	if (args->flags & ~(DRM_CLOEXEC | DRM_RDWR))
		return -EINVAL;
	struct drm_gem_object *obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	int fd;
	if (args->flags & DRM_RDWR) {
		fd = fcntl(obj->memfd, F_DUPFD_CLOEXEC, 0);
	} else {
		/* A read-only open of the same memory: writable mappings fail, as on a dma-buf without O_RDWR. */
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", obj->memfd);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	int err = errno;
	drm_gem_object_put(obj);
	if (fd < 0)
		return -err;
	args->fd = fd; /* sent to the client, then closed here */
	return 0;
}

int drm_prime_fd_to_handle_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_prime_handle *args = data;
	if (!drm_core_check_feature(dev, DRIVER_PRIME))
		return -EOPNOTSUPP;
	if (args->fd < 0)
		return -EBADF; /* the client's fd was not open */
	struct drm_gem_object *obj = drm_gem_find_by_memory(dev, args->fd);
	if (obj) {
		/* Importing what the file already has gives the same handle back. */
		uint32_t h = drm_gem_file_handle_of(file, obj);
		if (h) {
			args->handle = h;
			return 0;
		}
		return drm_gem_handle_create(file, obj, &args->handle);
	}
	int err;
	obj = drm_gem_object_import(dev, args->fd, &err);
	if (!obj)
		return err;
	int r = drm_gem_handle_create(file, obj, &args->handle);
	drm_gem_object_put(obj); /* the handle holds it */
	return r;
}
