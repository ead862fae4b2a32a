/*
 * BO lists: a file's named sets of buffer objects that a command submission
 * names by handle (the BO_LIST ioctl), each entry holding a reference.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drm.h>
#include <amdgpu_drm.h>

#include "amdgpu.h"
#include "redox-drm/drm_device.h"

struct amdgpu_bo_list_entry {
	struct drm_gem_object *obj;
	unsigned priority;
};

struct amdgpu_bo_list {
	unsigned count;
	struct amdgpu_bo_list_entry entries[];
};

static void list_free(struct amdgpu_bo_list *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->count; i++)
		drm_gem_object_put(l->entries[i].obj);
	free(l);
}

/* Copies the entries in (the client's entry size may be older or newer than ours) and looks them up. */
static int list_create(struct drm_file *file, struct drm_call *call, const struct drm_amdgpu_bo_list_in *in,
		       struct amdgpu_bo_list **out)
{
	const size_t ours = sizeof(struct drm_amdgpu_bo_list_entry);
	if (in->bo_number > AMDGPU_BO_LIST_MAX_ENTRIES)
		return -EINVAL;
	struct drm_amdgpu_bo_list_entry *info = calloc(in->bo_number ? in->bo_number : 1, ours);
	if (!info)
		return -ENOMEM;
	int r = 0;
	size_t bytes = in->bo_info_size < ours ? in->bo_info_size : ours;
	for (uint32_t i = 0; i < in->bo_number && !r && bytes; i++)
		r = drm_copy_from_user(call, &info[i], in->bo_info_ptr + (uint64_t)i * in->bo_info_size, bytes);
	struct amdgpu_bo_list *l = NULL;
	if (!r) {
		l = calloc(1, sizeof(*l) + (size_t)in->bo_number * sizeof(l->entries[0]));
		if (!l)
			r = -ENOMEM;
	}
	for (uint32_t i = 0; i < in->bo_number && !r; i++) {
		struct drm_gem_object *obj = drm_gem_object_lookup(file, info[i].bo_handle);
		if (!obj) {
			r = -ENOENT;
			break;
		}
		l->entries[i].obj = obj;
		l->entries[i].priority =
			info[i].bo_priority < AMDGPU_BO_LIST_MAX_PRIORITY ? info[i].bo_priority : AMDGPU_BO_LIST_MAX_PRIORITY;
		l->count = i + 1;
	}
	free(info);
	if (r) {
		list_free(l);
		return r;
	}
	*out = l;
	return 0;
}

int amdgpu_bo_list_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	union drm_amdgpu_bo_list *args = data;
	struct amdgpu_fpriv *fpriv = file->driver_priv;
	uint32_t handle = args->in.list_handle;
	struct amdgpu_bo_list *l = NULL;
	(void)dev;
	if (!fpriv)
		return -EINVAL;

	int r = 0;
	switch (args->in.operation) {
	case AMDGPU_BO_LIST_OP_CREATE: {
		r = list_create(file, call, &args->in, &l);
		if (r)
			return r;
		int64_t id = idr_alloc(&fpriv->bo_list_idr, l);
		if (id < 0) {
			list_free(l);
			return (int)id;
		}
		handle = (uint32_t)id;
		break;
	}
	case AMDGPU_BO_LIST_OP_DESTROY:
		/* Destroying an unknown handle is not an error, as in the kernel. */
		list_free(idr_remove(&fpriv->bo_list_idr, handle));
		handle = 0;
		break;
	case AMDGPU_BO_LIST_OP_UPDATE:
		r = list_create(file, call, &args->in, &l);
		if (r)
			return r;
		if (!idr_find(&fpriv->bo_list_idr, handle)) {
			list_free(l);
			return -ENOENT;
		}
		list_free(idr_replace(&fpriv->bo_list_idr, handle, l));
		break;
	default:
		return -EINVAL;
	}
	memset(args, 0, sizeof(*args));
	args->out.list_handle = handle;
	return 0;
}

struct amdgpu_bo_list *amdgpu_bo_list_get(struct drm_file *file, uint32_t handle)
{
	struct amdgpu_fpriv *fpriv = file ? file->driver_priv : NULL;
	return fpriv ? idr_find(&fpriv->bo_list_idr, handle) : NULL;
}

unsigned amdgpu_bo_list_count(const struct amdgpu_bo_list *l)
{
	return l->count;
}

struct drm_gem_object *amdgpu_bo_list_obj(const struct amdgpu_bo_list *l, unsigned i)
{
	return i < l->count ? l->entries[i].obj : NULL;
}

unsigned amdgpu_bo_list_priority(const struct amdgpu_bo_list *l, unsigned i)
{
	return i < l->count ? l->entries[i].priority : 0;
}

static void free_list(uint32_t id, void *ptr, void *data)
{
	(void)id;
	(void)data;
	list_free(ptr);
}

void amdgpu_bo_list_fini(struct amdgpu_fpriv *fpriv)
{
	idr_for_each(&fpriv->bo_list_idr, free_list, NULL);
	idr_destroy(&fpriv->bo_list_idr);
}
