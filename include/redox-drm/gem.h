/*
 * GEM buffer objects: refcounted memory (a sealed memfd, so clients can map
 * it and cannot shrink it under the daemon), per-file handles, flink names.
 * Drivers embed struct drm_gem_object in their own BO types.
 */
#ifndef REDOX_DRM_GEM_H
#define REDOX_DRM_GEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "redox-drm/drm_ioctl.h"
#include "redox-drm/hw.h"

struct drm_device;
struct drm_fence;
struct drm_file;
struct drm_gem_object;

/* One pending fence of an object's reservation (implicit sync). */
struct drm_gem_resv_fence {
	struct drm_fence *fence; /* a reference */
	bool write;
};

struct drm_gem_object_funcs {
	/* Frees the driver's object after drm_gem_object_release(). */
	void (*free)(struct drm_gem_object *obj);
	/* Optional: one of file's handles to obj is going away (GEM_CLOSE or the file closing). */
	void (*close)(struct drm_gem_object *obj, struct drm_file *file);
};

struct drm_gem_object {
	unsigned int refcount;
	unsigned int handle_count;
	struct drm_device *dev;
	size_t size;      /* page aligned */
	uint32_t name;    /* flink name, 0 if none */
	int memfd;        /* backing memory */
	void *vaddr;      /* the daemon's mapping of it */
	uint64_t dma_addr; /* bus address of the (contiguous) memory, for the device */
	struct hw_dma dma; /* the allocation, when the device's DMA allocator provided it */
	uint64_t mmap_offset; /* fake offset for mmap on the DRM fd, 0 until asked for */
	dev_t mem_dev;        /* identity of the memory (the memfd's inode): dma-bufs are recognised by it */
	ino_t mem_ino;
	const struct drm_gem_object_funcs *funcs;
	/* implicit sync: fences of jobs that use the object, pending when added */
	struct drm_gem_resv_fence *resv;
	unsigned int resv_count, resv_cap;
};

/* Backs obj with size bytes (rounded up to pages) of zeroed memory. */
int drm_gem_object_init(struct drm_device *dev, struct drm_gem_object *obj, size_t size);
/* A plain object over existing memory (a dma-buf fd, sealed against shrinking). */
struct drm_gem_object *drm_gem_object_import(struct drm_device *dev, int fd, int *err);
/* This device's live object over the memory of fd (same inode), or NULL. No reference taken. */
struct drm_gem_object *drm_gem_find_by_memory(struct drm_device *dev, int fd);
/* The handle file already has for obj (0 if none). */
uint32_t drm_gem_file_handle_of(struct drm_file *file, struct drm_gem_object *obj);
void drm_gem_object_release(struct drm_gem_object *obj);
/* A plain object with no driver state (freed with free()). */
struct drm_gem_object *drm_gem_object_create(struct drm_device *dev, size_t size);

void drm_gem_object_get(struct drm_gem_object *obj);
void drm_gem_object_put(struct drm_gem_object *obj);

int drm_gem_handle_create(struct drm_file *file, struct drm_gem_object *obj, uint32_t *handlep);
int drm_gem_handle_delete(struct drm_file *file, uint32_t handle);
/* Returns a new reference, or NULL. */
struct drm_gem_object *drm_gem_object_lookup(struct drm_file *file, uint32_t handle);

/* A fake offset clients pass to mmap() on the DRM fd to map obj (kernel: drm_gem_create_mmap_offset). */
int drm_gem_create_mmap_offset(struct drm_gem_object *obj);
/*
 * The object behind [offset, offset+length), a new reference, if file holds a
 * handle to it; else NULL with *err = -EINVAL (no such range) or -EACCES (not
 * this file's), as drm_gem_mmap answers.
 */
struct drm_gem_object *drm_gem_mmap_lookup(struct drm_file *file, uint64_t offset, uint64_t length, int *err);
/* True if file has a handle to obj. */
bool drm_gem_file_has(struct drm_file *file, struct drm_gem_object *obj);

void drm_gem_file_open(struct drm_file *file);
void drm_gem_file_release(struct drm_file *file);
void drm_gem_device_init(struct drm_device *dev);
void drm_gem_device_fini(struct drm_device *dev);

/*
 * Implicit sync (the kernel's dma_resv, reduced). Everything here costs
 * O(number of fences still recorded); signalled ones are dropped on the way,
 * and the rest when the object is released.
 */
/*
 * Records that fence's job reads (write=false) or writes obj; takes a
 * reference of its own. A fence of the same context that it follows is
 * replaced (a write is not replaced by a read). -ENOMEM.
 */
int drm_gem_resv_add_fence(struct drm_gem_object *obj, struct drm_fence *fence, bool write);
/*
 * One fence that signals when the pending fences have (only the writers' if
 * write_only), with the first error among them; NULL when idle (*err = 0) or
 * out of memory (*err = -ENOMEM). Returns a reference.
 */
struct drm_fence *drm_gem_resv_get_fence(struct drm_gem_object *obj, bool write_only, int *err);
/* Calls fn for each pending fence (and whether it writes); for i915 BUSY's engine masks. */
void drm_gem_resv_for_each(struct drm_gem_object *obj,
			   void (*fn)(struct drm_fence *fence, bool write, void *data), void *data);
/* Is a fence (a writer's, if write_only) still pending? */
bool drm_gem_resv_busy(struct drm_gem_object *obj, bool write_only);
/* Drops every fence (drm_gem_object_release does). */
void drm_gem_resv_fini(struct drm_gem_object *obj);

drm_ioctl_t drm_gem_close_ioctl, drm_gem_flink_ioctl, drm_gem_open_ioctl;

#endif
