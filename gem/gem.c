/* GEM objects, handles and flink names (the kernel's drm_gem.c, in a process). */
#include "redox-drm/gem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <drm.h>

#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/log.h"

/*
 * Every live object by the identity of its memory, so an imported dma-buf fd
 * finds the object it came from. Kept sorted for lookup; all devices share it
 * (one memory may back objects on several cards).
 */
static struct drm_gem_object **by_memory;
static size_t nby_memory, by_memory_cap;

static int mem_cmp(dev_t d1, ino_t i1, dev_t d2, ino_t i2)
{
	if (d1 != d2)
		return d1 < d2 ? -1 : 1;
	return i1 < i2 ? -1 : i1 > i2;
}

/* First index whose identity is >= (d, i). */
static size_t mem_lower_bound(dev_t d, ino_t i)
{
	size_t lo = 0, hi = nby_memory;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mem_cmp(by_memory[mid]->mem_dev, by_memory[mid]->mem_ino, d, i) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int memory_register(struct drm_gem_object *obj)
{
	struct stat st;
	if (fstat(obj->memfd, &st) < 0)
		return -errno;
	obj->mem_dev = st.st_dev;
	obj->mem_ino = st.st_ino;
	if (nby_memory == by_memory_cap) {
		size_t cap = by_memory_cap ? by_memory_cap * 2 : 64;
		struct drm_gem_object **p = realloc(by_memory, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		by_memory = p;
		by_memory_cap = cap;
	}
	size_t at = mem_lower_bound(obj->mem_dev, obj->mem_ino);
	memmove(&by_memory[at + 1], &by_memory[at], (nby_memory - at) * sizeof(*by_memory));
	by_memory[at] = obj;
	nby_memory++;
	return 0;
}

static void memory_unregister(struct drm_gem_object *obj)
{
	for (size_t i = mem_lower_bound(obj->mem_dev, obj->mem_ino); i < nby_memory; i++) {
		if (by_memory[i] == obj) {
			memmove(&by_memory[i], &by_memory[i + 1], (nby_memory - i - 1) * sizeof(*by_memory));
			nby_memory--;
			break;
		}
		if (mem_cmp(by_memory[i]->mem_dev, by_memory[i]->mem_ino, obj->mem_dev, obj->mem_ino))
			break;
	}
	if (!nby_memory) {
		free(by_memory);
		by_memory = NULL;
		by_memory_cap = 0;
	}
}

struct drm_gem_object *drm_gem_find_by_memory(struct drm_device *dev, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return NULL;
	for (size_t i = mem_lower_bound(st.st_dev, st.st_ino); i < nby_memory; i++) {
		struct drm_gem_object *obj = by_memory[i];
		if (mem_cmp(obj->mem_dev, obj->mem_ino, st.st_dev, st.st_ino))
			break;
		if (obj->dev == dev)
			return obj;
	}
	return NULL;
}

/* Bounds a single object; larger requests fail with ENOMEM as a kernel out of memory would. */
#define GEM_MAX_OBJECT_SIZE (4ull << 30)

int drm_gem_object_init_dma(struct drm_device *dev, struct drm_gem_object *obj, const struct hw_dma *dma)
{
	memset(obj, 0, sizeof(*obj));
	obj->refcount = 1;
	obj->dev = dev;
	obj->size = dma->size;
	obj->dma = *dma;
	obj->memfd = dma->fd;
	obj->vaddr = dma->cpu;
	obj->dma_addr = dma->bus_addr;
	int r = memory_register(obj);
	if (r)
		dev->hw->ops->dma_free(dev->hw, &obj->dma);
	return r;
}

/* Device memory: the device's DMA allocator, so the GPU can reach the object by bus address. */
static int init_dma(struct drm_device *dev, struct drm_gem_object *obj, size_t size)
{
	struct hw_dma dma;
	int r = dev->hw->ops->dma_alloc(dev->hw, size, &dma);
	return r ? r : drm_gem_object_init_dma(dev, obj, &dma);
}

int drm_gem_object_init(struct drm_device *dev, struct drm_gem_object *obj, size_t size)
{
	long page = sysconf(_SC_PAGESIZE);
	if (size == 0)
		return -EINVAL;
	if (size > GEM_MAX_OBJECT_SIZE)
		return -ENOMEM;
	size = (size + (size_t)page - 1) & ~((size_t)page - 1);
	if (dev && dev->hw && dev->hw->ops && dev->hw->ops->dma_alloc)
		return init_dma(dev, obj, size);
	/* No device memory (tests): plain sealed memory, no bus address. */
	int fd = memfd_create("drm-gem", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/* Sealed against resizing: nobody holding the fd can make our mapping fault. */
	if (ftruncate(fd, (off_t)size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int err = -errno;
		close(fd);
		return err;
	}
	memset(obj, 0, sizeof(*obj));
	obj->refcount = 1;
	obj->dev = dev;
	obj->size = size;
	obj->memfd = fd;
	obj->vaddr = p;
	int r = memory_register(obj);
	if (r) {
		munmap(p, size);
		close(fd);
		return r;
	}
	return 0;
}

static void offset_remove(struct drm_gem_object *obj);

void drm_gem_object_release(struct drm_gem_object *obj)
{
	drm_gem_resv_fini(obj);
	offset_remove(obj);
	memory_unregister(obj);
	if (obj->dma.cpu) {
		obj->dev->hw->ops->dma_free(obj->dev->hw, &obj->dma);
		obj->vaddr = NULL;
		obj->memfd = -1;
		return;
	}
	if (obj->vaddr)
		munmap(obj->vaddr, obj->size);
	if (obj->memfd >= 0)
		close(obj->memfd);
	obj->vaddr = NULL;
	obj->memfd = -1;
}

static void plain_free(struct drm_gem_object *obj)
{
	free(obj);
}

static const struct drm_gem_object_funcs plain_funcs = {.free = plain_free};

struct drm_gem_object *drm_gem_object_create(struct drm_device *dev, size_t size)
{
	struct drm_gem_object *obj = malloc(sizeof(*obj));
	if (!obj)
		return NULL;
	int r = drm_gem_object_init(dev, obj, size);
	if (r) {
		free(obj);
		errno = -r;
		return NULL;
	}
	obj->funcs = &plain_funcs;
	return obj;
}

struct drm_gem_object *drm_gem_object_import(struct drm_device *dev, int fd, int *err)
{
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);
	/* Only sealed shared memory: anything else could shrink or change under the device. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || seals < 0 || !(seals & F_SEAL_SHRINK) || st.st_size <= 0 ||
	    (st.st_size & (sysconf(_SC_PAGESIZE) - 1)) || (uint64_t)st.st_size > GEM_MAX_OBJECT_SIZE) {
		*err = -EINVAL;
		return NULL;
	}
	size_t size = (size_t)st.st_size;
	struct drm_gem_object *obj = calloc(1, sizeof(*obj));
	if (!obj) {
		*err = -ENOMEM;
		return NULL;
	}
	obj->refcount = 1;
	obj->dev = dev;
	obj->size = size;
	obj->funcs = &plain_funcs;
	int r;
	if (dev->hw && dev->hw->ops && dev->hw->ops->dma_import) {
		r = dev->hw->ops->dma_import(dev->hw, fd, size, &obj->dma);
		obj->memfd = obj->dma.fd;
		obj->vaddr = obj->dma.cpu;
		obj->dma_addr = obj->dma.bus_addr;
	} else {
		obj->memfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
		obj->vaddr = obj->memfd < 0 ? MAP_FAILED : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, obj->memfd, 0);
		r = obj->vaddr == MAP_FAILED ? -errno : 0;
		if (r && obj->memfd >= 0)
			close(obj->memfd);
	}
	if (!r) {
		r = memory_register(obj);
		if (r)
			drm_gem_object_release(obj);
	}
	if (r) {
		free(obj);
		*err = r;
		return NULL;
	}
	return obj;
}

void drm_gem_object_get(struct drm_gem_object *obj)
{
	obj->refcount++;
}

void drm_gem_object_put(struct drm_gem_object *obj)
{
	if (!obj || --obj->refcount)
		return;
	drm_gem_object_release(obj);
	obj->funcs->free(obj);
}

int drm_gem_handle_create(struct drm_file *file, struct drm_gem_object *obj, uint32_t *handlep)
{
	int64_t id = idr_alloc(&file->object_idr, obj);
	if (id < 0)
		return (int)id;
	drm_gem_object_get(obj);
	obj->handle_count++;
	*handlep = (uint32_t)id;
	return 0;
}

/* The last handle gone: the flink name goes too (the kernel's drm_gem_object_handle_free). */
static void handle_put(struct drm_gem_object *obj)
{
	if (--obj->handle_count == 0 && obj->name) {
		idr_remove(&obj->dev->object_names, obj->name);
		obj->name = 0;
	}
	drm_gem_object_put(obj);
}

int drm_gem_handle_delete(struct drm_file *file, uint32_t handle)
{
	struct drm_gem_object *obj = idr_find(&file->object_idr, handle);
	if (!obj)
		return -EINVAL;
	idr_remove(&file->object_idr, handle);
	if (file->dev && file->dev->driver && file->dev->driver->gem_close_object)
		file->dev->driver->gem_close_object(file, obj);
	handle_put(obj);
	return 0;
}

struct drm_gem_object *drm_gem_object_lookup(struct drm_file *file, uint32_t handle)
{
	struct drm_gem_object *obj = idr_find(&file->object_idr, handle);
	if (obj)
		drm_gem_object_get(obj);
	return obj;
}

/*
 * Fake mmap offsets: page-aligned ranges above 4 GiB (as the kernel's
 * DRM_FILE_PAGE_OFFSET_START), handed out once and never reused, kept sorted
 * for lookup by any offset inside an object.
 */
struct drm_gem_offsets {
	struct drm_gem_object **objs; /* sorted by mmap_offset */
	size_t n, cap;
	uint64_t next;
};

#define GEM_OFFSET_START (1ull << 32)

int drm_gem_create_mmap_offset(struct drm_gem_object *obj)
{
	struct drm_gem_offsets *t = obj->dev->gem_offsets;
	if (obj->mmap_offset)
		return 0;
	if (!t)
		return -ENODEV;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct drm_gem_object **o = realloc(t->objs, cap * sizeof(*o));
		if (!o)
			return -ENOMEM;
		t->objs = o;
		t->cap = cap;
	}
	obj->mmap_offset = t->next;
	t->next += obj->size;
	t->objs[t->n++] = obj; /* offsets only grow: appending keeps the order */
	return 0;
}

static size_t offset_index(struct drm_gem_offsets *t, uint64_t offset)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->objs[mid]->mmap_offset <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : t->n;
}

static void offset_remove(struct drm_gem_object *obj)
{
	struct drm_gem_offsets *t = obj->dev ? obj->dev->gem_offsets : NULL;
	if (!obj->mmap_offset || !t)
		return;
	size_t i = offset_index(t, obj->mmap_offset);
	if (i < t->n && t->objs[i] == obj) {
		memmove(&t->objs[i], &t->objs[i + 1], (t->n - i - 1) * sizeof(*t->objs));
		t->n--;
	}
	obj->mmap_offset = 0;
}

struct has_ctx {
	struct drm_gem_object *obj;
	uint32_t handle;
};

static void has_cb(uint32_t id, void *ptr, void *data)
{
	struct has_ctx *c = data;
	if (ptr == c->obj && !c->handle)
		c->handle = id;
}

uint32_t drm_gem_file_handle_of(struct drm_file *file, struct drm_gem_object *obj)
{
	struct has_ctx c = {.obj = obj};
	idr_for_each(&file->object_idr, has_cb, &c);
	return c.handle;
}

bool drm_gem_file_has(struct drm_file *file, struct drm_gem_object *obj)
{
	return drm_gem_file_handle_of(file, obj) != 0;
}

struct drm_gem_object *drm_gem_mmap_lookup(struct drm_file *file, uint64_t offset, uint64_t length, int *err)
{
	struct drm_gem_offsets *t = file->dev->gem_offsets;
	*err = -EINVAL;
	if (!t || !length)
		return NULL;
	size_t i = offset_index(t, offset);
	if (i == t->n)
		return NULL;
	struct drm_gem_object *obj = t->objs[i];
	uint64_t delta = offset - obj->mmap_offset;
	if (delta >= obj->size || length > obj->size - delta)
		return NULL;
	/* Only files that hold a handle may map it (the kernel's drm_vma_node_is_allowed). */
	if (!drm_gem_file_has(file, obj)) {
		*err = -EACCES;
		return NULL;
	}
	drm_gem_object_get(obj);
	return obj;
}

void drm_gem_file_open(struct drm_file *file)
{
	idr_init(&file->object_idr, 1, 0);
}

static void release_handle(uint32_t id, void *ptr, void *data)
{
	struct drm_gem_object *obj = ptr;
	(void)data;
	handle_put(obj);
}

void drm_gem_file_release(struct drm_file *file)
{
	idr_for_each(&file->object_idr, release_handle, NULL);
	idr_destroy(&file->object_idr);
}

void drm_gem_device_init(struct drm_device *dev)
{
	idr_init(&dev->object_names, 1, 0);
	dev->gem_offsets = calloc(1, sizeof(*dev->gem_offsets));
	if (dev->gem_offsets)
		dev->gem_offsets->next = GEM_OFFSET_START;
}

void drm_gem_device_fini(struct drm_device *dev)
{
	idr_destroy(&dev->object_names);
	if (dev->gem_offsets)
		free(dev->gem_offsets->objs);
	free(dev->gem_offsets);
	dev->gem_offsets = NULL;
}

int drm_gem_close_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_gem_close *args = data;
	if (!drm_core_check_feature(dev, DRIVER_GEM))
		return -EOPNOTSUPP;
	return drm_gem_handle_delete(file, args->handle);
}

int drm_gem_flink_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_gem_flink *args = data;
	if (!drm_core_check_feature(dev, DRIVER_GEM))
		return -EOPNOTSUPP;
	struct drm_gem_object *obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	int ret = 0;
	if (obj->handle_count == 0) {
		ret = -ENOENT;
	} else if (!obj->name) {
		int64_t name = idr_alloc(&dev->object_names, obj);
		if (name < 0)
			ret = (int)name;
		else
			obj->name = (uint32_t)name;
	}
	if (!ret)
		args->name = obj->name;
	drm_gem_object_put(obj);
	return ret;
}

int drm_gem_open_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_gem_open *args = data;
	if (!drm_core_check_feature(dev, DRIVER_GEM))
		return -EOPNOTSUPP;
	struct drm_gem_object *obj = idr_find(&dev->object_names, args->name);
	if (!obj)
		return -ENOENT;
	uint32_t handle;
	int ret = drm_gem_handle_create(file, obj, &handle);
	if (ret)
		return ret;
	args->handle = handle;
	args->size = obj->size;
	return 0;
}
