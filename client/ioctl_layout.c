/*
 * The layout table: for every ioctl the project speaks, the arrays and fds
 * its struct refers to. Numbers and structs come from the system's libdrm
 * uAPI headers.
 */
#include "redox-drm/ioctl_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include <amdgpu_drm.h>
#include <drm.h>
#include <drm_mode.h>
#include <i915_drm.h>

#include "redox-drm/uapi_extra.h"
#include <linux/sync_file.h>

#include "redox-drm/sw_sync.h"
#include "redox-drm/wire.h"

#define N(a) (uint8_t)(sizeof(a) / sizeof((a)[0]))
#define FIELD(type, f) (uint16_t) offsetof(type, f)
#define WIDTH(type, f) (uint8_t) sizeof(((type *)0)->f)

/* One counted array: pointer field, count field, direction, element size, bound. */
#define ARRAY(type, ptr, count, dir_, esize, max) \
	{.ptr_off = FIELD(type, ptr), .count_off = FIELD(type, count), \
	 .count_size = WIDTH(type, count), .dir = (dir_), .elem_size = (esize), .max_count = (max)}

/* Strings and blobs are counted in bytes. */
#define BYTES(type, ptr, len, dir_, max) ARRAY(type, ptr, len, dir_, 1, max)

enum {
	MAX_NAME = 4096,
	MAX_OBJECTS = 1u << 16,
	MAX_BLOB = 16u << 20,
	MAX_HANDLES = 1u << 20,
};

/* The walk's reads: a field wholly inside the struct is read directly, the rare short one byte-wise. */
static inline uint64_t field_get(const void *base, size_t size, uint16_t off, uint8_t width)
{
	const uint8_t *p = (const uint8_t *)base + off;
	if ((size_t)off + width <= size) {
		if (width == 4) { uint32_t v; memcpy(&v, p, 4); return v; }
		if (width == 8) { uint64_t v; memcpy(&v, p, 8); return v; }
	}
	return rdrm_field_get(base, size, off, width);
}

uint64_t rdrm_field_get(const void *base, size_t size, uint16_t off, uint8_t width)
{
	uint8_t tmp[8] = {0};
	if (width == 0 || width > 8 || off >= size)
		return 0;
	size_t n = size - off < width ? size - off : width;
	memcpy(tmp, (const uint8_t *)base + off, n);
	switch (width) {
	case 1: return tmp[0];
	case 2: { uint16_t v; memcpy(&v, tmp, 2); return v; }
	case 4: { uint32_t v; memcpy(&v, tmp, 4); return v; }
	default: { uint64_t v; memcpy(&v, tmp, 8); return v; }
	}
}

void rdrm_field_set(void *base, size_t size, uint16_t off, uint8_t width, uint64_t value)
{
	if (width == 0 || width > 8 || off >= size || size - off < width)
		return;
	uint8_t *p = (uint8_t *)base + off;
	switch (width) {
	case 1: *p = (uint8_t)value; break;
	case 2: { uint16_t v = (uint16_t)value; memcpy(p, &v, 2); break; }
	case 4: { uint32_t v = (uint32_t)value; memcpy(p, &v, 4); break; }
	default: memcpy(p, &value, 8); break;
	}
}

/* ---- core ---- */

static const struct rdrm_array version_arrays[] = {
	BYTES(struct drm_version, name, name_len, RDRM_OUT, MAX_NAME),
	BYTES(struct drm_version, date, date_len, RDRM_OUT, MAX_NAME),
	BYTES(struct drm_version, desc, desc_len, RDRM_OUT, MAX_NAME),
};

static const struct rdrm_array unique_arrays[] = {
	BYTES(struct drm_unique, unique, unique_len, RDRM_OUT, MAX_NAME),
};

static const struct rdrm_fd_field prime_to_fd[] = {
	{.off = FIELD(struct drm_prime_handle, fd), .dir = RDRM_OUT,
	 .cloexec_off = FIELD(struct drm_prime_handle, flags), .cloexec_mask = DRM_CLOEXEC},
};

static const struct rdrm_fd_field prime_from_fd[] = {
	{.off = FIELD(struct drm_prime_handle, fd), .dir = RDRM_IN},
};

/* ---- KMS ---- */

static const struct rdrm_array card_res_arrays[] = {
	ARRAY(struct drm_mode_card_res, fb_id_ptr, count_fbs, RDRM_OUT, 4, MAX_OBJECTS),
	ARRAY(struct drm_mode_card_res, crtc_id_ptr, count_crtcs, RDRM_OUT, 4, MAX_OBJECTS),
	ARRAY(struct drm_mode_card_res, connector_id_ptr, count_connectors, RDRM_OUT, 4, MAX_OBJECTS),
	ARRAY(struct drm_mode_card_res, encoder_id_ptr, count_encoders, RDRM_OUT, 4, MAX_OBJECTS),
};

static const struct rdrm_array setcrtc_arrays[] = {
	ARRAY(struct drm_mode_crtc, set_connectors_ptr, count_connectors, RDRM_IN, 4, MAX_OBJECTS),
};

static const struct rdrm_array getgamma_arrays[] = {
	ARRAY(struct drm_mode_crtc_lut, red, gamma_size, RDRM_OUT, 2, MAX_OBJECTS),
	ARRAY(struct drm_mode_crtc_lut, green, gamma_size, RDRM_OUT, 2, MAX_OBJECTS),
	ARRAY(struct drm_mode_crtc_lut, blue, gamma_size, RDRM_OUT, 2, MAX_OBJECTS),
};

static const struct rdrm_array setgamma_arrays[] = {
	ARRAY(struct drm_mode_crtc_lut, red, gamma_size, RDRM_IN, 2, MAX_OBJECTS),
	ARRAY(struct drm_mode_crtc_lut, green, gamma_size, RDRM_IN, 2, MAX_OBJECTS),
	ARRAY(struct drm_mode_crtc_lut, blue, gamma_size, RDRM_IN, 2, MAX_OBJECTS),
};

static const struct rdrm_array connector_arrays[] = {
	ARRAY(struct drm_mode_get_connector, encoders_ptr, count_encoders, RDRM_OUT, 4, MAX_OBJECTS),
	ARRAY(struct drm_mode_get_connector, modes_ptr, count_modes, RDRM_OUT,
	      sizeof(struct drm_mode_modeinfo), MAX_OBJECTS),
	ARRAY(struct drm_mode_get_connector, props_ptr, count_props, RDRM_OUT, 4, MAX_OBJECTS),
	ARRAY(struct drm_mode_get_connector, prop_values_ptr, count_props, RDRM_OUT, 8, MAX_OBJECTS),
};

static const struct rdrm_array property_arrays[] = {
	ARRAY(struct drm_mode_get_property, values_ptr, count_values, RDRM_OUT, 8, MAX_OBJECTS),
	ARRAY(struct drm_mode_get_property, enum_blob_ptr, count_enum_blobs, RDRM_OUT,
	      sizeof(struct drm_mode_property_enum), MAX_OBJECTS),
};

static const struct rdrm_array getblob_arrays[] = {
	BYTES(struct drm_mode_get_blob, data, length, RDRM_OUT, MAX_BLOB),
};

static const struct rdrm_array createblob_arrays[] = {
	BYTES(struct drm_mode_create_blob, data, length, RDRM_IN, MAX_BLOB),
};

static const struct rdrm_array dirtyfb_arrays[] = {
	/* The kernel refuses more than DRM_MODE_FB_DIRTY_MAX_CLIPS with EINVAL, as this bound does. */
	ARRAY(struct drm_mode_fb_dirty_cmd, clips_ptr, num_clips, RDRM_IN, sizeof(struct drm_clip_rect),
	      DRM_MODE_FB_DIRTY_MAX_CLIPS),
};

static const struct rdrm_array plane_res_arrays[] = {
	ARRAY(struct drm_mode_get_plane_res, plane_id_ptr, count_planes, RDRM_OUT, 4, MAX_OBJECTS),
};

static const struct rdrm_array plane_arrays[] = {
	ARRAY(struct drm_mode_get_plane, format_type_ptr, count_format_types, RDRM_OUT, 4, MAX_OBJECTS),
};

static const struct rdrm_array obj_props_arrays[] = {
	ARRAY(struct drm_mode_obj_get_properties, props_ptr, count_props, RDRM_OUT, 4, MAX_OBJECTS),
	ARRAY(struct drm_mode_obj_get_properties, prop_values_ptr, count_props, RDRM_OUT, 8, MAX_OBJECTS),
};

/* ATOMIC: per-object property counts, then as many props and values as they add up to. */
static uint64_t atomic_prop_total(const void *parent, size_t parent_size, const void *const *prev_data,
				  const uint64_t *prev_count)
{
	(void)parent;
	(void)parent_size;
	const uint32_t *counts = prev_data[1];
	uint64_t total = 0;
	if (!counts)
		return prev_count[1] ? UINT64_MAX : 0;
	for (uint64_t i = 0; i < prev_count[1]; i++) {
		uint32_t c;
		memcpy(&c, counts + i, sizeof(c));
		total += c;
	}
	return total;
}

static const struct rdrm_array atomic_arrays[] = {
	ARRAY(struct drm_mode_atomic, objs_ptr, count_objs, RDRM_IN, 4, MAX_OBJECTS),
	ARRAY(struct drm_mode_atomic, count_props_ptr, count_objs, RDRM_IN, 4, MAX_OBJECTS),
	{.ptr_off = FIELD(struct drm_mode_atomic, props_ptr), .dir = RDRM_IN, .elem_size = 4,
	 .max_count = MAX_OBJECTS, .count_fn = atomic_prop_total},
	{.ptr_off = FIELD(struct drm_mode_atomic, prop_values_ptr), .dir = RDRM_IN, .elem_size = 8,
	 .max_count = MAX_OBJECTS, .count_fn = atomic_prop_total},
};

/* IN_FENCE_FD values are sync_file fds: they travel as descriptors. */
static const struct rdrm_elem_fds atomic_fence_fds = {.values = 3, .keys = 2, .key = RDRM_IN_FENCE_FD_PROP_ID};

/* ---- syncobj ---- */

static const struct rdrm_fd_field syncobj_to_fd[] = {
	{.off = FIELD(struct drm_syncobj_handle, fd), .dir = RDRM_OUT},
};

static const struct rdrm_fd_field syncobj_from_fd[] = {
	{.off = FIELD(struct drm_syncobj_handle, fd), .dir = RDRM_IN},
};

static const struct rdrm_fd_field syncobj_eventfd_fd[] = {
	{.off = FIELD(struct drm_syncobj_eventfd, fd), .dir = RDRM_IN},
};

static const struct rdrm_array syncobj_wait_arrays[] = {
	ARRAY(struct drm_syncobj_wait, handles, count_handles, RDRM_IN, 4, MAX_HANDLES),
};

static const struct rdrm_array syncobj_array_arrays[] = {
	ARRAY(struct drm_syncobj_array, handles, count_handles, RDRM_IN, 4, MAX_HANDLES),
};

static const struct rdrm_array syncobj_timeline_wait_arrays[] = {
	ARRAY(struct drm_syncobj_timeline_wait, handles, count_handles, RDRM_IN, 4, MAX_HANDLES),
	ARRAY(struct drm_syncobj_timeline_wait, points, count_handles, RDRM_IN, 8, MAX_HANDLES),
};

static const struct rdrm_array syncobj_query_arrays[] = {
	ARRAY(struct drm_syncobj_timeline_array, handles, count_handles, RDRM_IN, 4, MAX_HANDLES),
	ARRAY(struct drm_syncobj_timeline_array, points, count_handles, RDRM_OUT, 8, MAX_HANDLES),
};

static const struct rdrm_array syncobj_timeline_signal_arrays[] = {
	ARRAY(struct drm_syncobj_timeline_array, handles, count_handles, RDRM_IN, 4, MAX_HANDLES),
	ARRAY(struct drm_syncobj_timeline_array, points, count_handles, RDRM_IN, 8, MAX_HANDLES),
};

#define LAYOUT_NONE {.narrays = 0}
#define ARRAYS(a) {.narrays = N(a), .arrays = a}
#define FDS(f) {.nfds = N(f), .fds = f}
#define ARRAYS_FDS(a, f) {.narrays = N(a), .nfds = N(f), .arrays = a, .fds = f}
#define ENTRY(ioctl, ...) {.cmd = ioctl, .name = #ioctl, .layout = __VA_ARGS__}

/* Core and KMS ioctls, indexed by number below. */
static const struct rdrm_ioctl_info core_table[] = {
	ENTRY(DRM_IOCTL_VERSION, ARRAYS(version_arrays)),
	ENTRY(DRM_IOCTL_GET_UNIQUE, ARRAYS(unique_arrays)),
	ENTRY(DRM_IOCTL_GET_MAGIC, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_GET_CLIENT, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_GET_STATS, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_SET_VERSION, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODESET_CTL, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_GEM_CLOSE, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_GEM_FLINK, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_GEM_OPEN, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_GET_CAP, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_SET_CLIENT_CAP, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_AUTH_MAGIC, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_BLOCK, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_UNBLOCK, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_SET_MASTER, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_DROP_MASTER, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_PRIME_HANDLE_TO_FD, FDS(prime_to_fd)),
	ENTRY(DRM_IOCTL_PRIME_FD_TO_HANDLE, FDS(prime_from_fd)),
	ENTRY(DRM_IOCTL_WAIT_VBLANK, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_CRTC_GET_SEQUENCE, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_CRTC_QUEUE_SEQUENCE, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_GETRESOURCES, ARRAYS(card_res_arrays)),
	ENTRY(DRM_IOCTL_MODE_GETCRTC, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_SETCRTC, ARRAYS(setcrtc_arrays)),
	ENTRY(DRM_IOCTL_MODE_CURSOR, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_GETGAMMA, ARRAYS(getgamma_arrays)),
	ENTRY(DRM_IOCTL_MODE_SETGAMMA, ARRAYS(setgamma_arrays)),
	ENTRY(DRM_IOCTL_MODE_GETENCODER, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_GETCONNECTOR, ARRAYS(connector_arrays)),
	ENTRY(DRM_IOCTL_MODE_GETPROPERTY, ARRAYS(property_arrays)),
	ENTRY(DRM_IOCTL_MODE_SETPROPERTY, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_GETPROPBLOB, ARRAYS(getblob_arrays)),
	ENTRY(DRM_IOCTL_MODE_GETFB, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_ADDFB, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_RMFB, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_PAGE_FLIP, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_DIRTYFB, ARRAYS(dirtyfb_arrays)),
	ENTRY(DRM_IOCTL_MODE_CREATE_DUMB, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_MAP_DUMB, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_DESTROY_DUMB, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_GETPLANERESOURCES, ARRAYS(plane_res_arrays)),
	ENTRY(DRM_IOCTL_MODE_GETPLANE, ARRAYS(plane_arrays)),
	ENTRY(DRM_IOCTL_MODE_SETPLANE, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_ADDFB2, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_OBJ_GETPROPERTIES, ARRAYS(obj_props_arrays)),
	ENTRY(DRM_IOCTL_MODE_OBJ_SETPROPERTY, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_CURSOR2, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_MODE_ATOMIC, {.narrays = N(atomic_arrays), .arrays = atomic_arrays, .elem_fds = &atomic_fence_fds}),
	ENTRY(DRM_IOCTL_MODE_CREATEPROPBLOB, ARRAYS(createblob_arrays)),
	ENTRY(DRM_IOCTL_MODE_DESTROYPROPBLOB, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_SYNCOBJ_CREATE, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_SYNCOBJ_DESTROY, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, FDS(syncobj_to_fd)),
	ENTRY(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, FDS(syncobj_from_fd)),
	ENTRY(DRM_IOCTL_SYNCOBJ_WAIT, ARRAYS(syncobj_wait_arrays)),
	ENTRY(DRM_IOCTL_SYNCOBJ_RESET, ARRAYS(syncobj_array_arrays)),
	ENTRY(DRM_IOCTL_SYNCOBJ_SIGNAL, ARRAYS(syncobj_array_arrays)),
	ENTRY(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, ARRAYS(syncobj_timeline_wait_arrays)),
	ENTRY(DRM_IOCTL_SYNCOBJ_QUERY, ARRAYS(syncobj_query_arrays)),
	ENTRY(DRM_IOCTL_SYNCOBJ_TRANSFER, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, ARRAYS(syncobj_timeline_signal_arrays)),
	ENTRY(DRM_IOCTL_SYNCOBJ_EVENTFD, FDS(syncobj_eventfd_fd)),
	ENTRY(DRM_IOCTL_MODE_GETFB2, LAYOUT_NONE),
};

/* ---- amdgpu ---- */

/* A pointer to exactly one element (GETPARAM's int, a CS chunk). */
static uint64_t one(const void *parent, size_t parent_size, const void *const *prev_data,
		    const uint64_t *prev_count)
{
	(void)parent;
	(void)parent_size;
	(void)prev_data;
	(void)prev_count;
	return 1;
}

/* INFO answers into a caller's buffer of return_size bytes, whatever the query. */
static const struct rdrm_array amdgpu_info_arrays[] = {
	BYTES(struct drm_amdgpu_info, return_pointer, return_size, RDRM_OUT, 1u << 16),
};

/* GEM_OP's value is a pointer to a create-info struct only for GET_GEM_CREATE_INFO. */
static uint64_t amdgpu_gem_op_info_count(const void *parent, size_t parent_size, const void *const *prev_data,
					 const uint64_t *prev_count)
{
	(void)prev_data;
	(void)prev_count;
	uint32_t op = (uint32_t)field_get(parent, parent_size,
					       FIELD(struct drm_amdgpu_gem_op, op), 4);
	return op == AMDGPU_GEM_OP_GET_GEM_CREATE_INFO;
}

static const struct rdrm_array amdgpu_gem_op_arrays[] = {
	{.ptr_off = FIELD(struct drm_amdgpu_gem_op, value), .dir = RDRM_OUT,
	 .elem_size = sizeof(struct drm_amdgpu_gem_create_in), .max_count = 1,
	 .count_fn = amdgpu_gem_op_info_count},
};

/* BO_LIST entries have the client's stride (bo_info_size), so they travel as bytes. */
static uint64_t amdgpu_bo_list_bytes(const void *parent, size_t parent_size, const void *const *prev_data,
				     const uint64_t *prev_count)
{
	(void)prev_data;
	(void)prev_count;
	uint64_t n = field_get(parent, parent_size, FIELD(struct drm_amdgpu_bo_list_in, bo_number), 4);
	uint64_t stride = field_get(parent, parent_size, FIELD(struct drm_amdgpu_bo_list_in, bo_info_size), 4);
	uint32_t op = (uint32_t)field_get(parent, parent_size, FIELD(struct drm_amdgpu_bo_list_in, operation), 4);
	/* DESTROY reads no entries. */
	return op == AMDGPU_BO_LIST_OP_DESTROY ? 0 : n * stride;
}

static const struct rdrm_array amdgpu_bo_list_arrays[] = {
	{.ptr_off = FIELD(struct drm_amdgpu_bo_list_in, bo_info_ptr), .dir = RDRM_IN, .elem_size = 1,
	 .max_count = MAX_BLOB, .count_fn = amdgpu_bo_list_bytes},
};

static const struct rdrm_layout amdgpu_bo_list_layout = ARRAYS(amdgpu_bo_list_arrays);

/* A chunk's data is length_dw dwords; only a BO_HANDLES chunk's data points further (to its BO list). */
static const struct rdrm_layout *amdgpu_chunk_data_layout(const void *parent, size_t parent_size)
{
	uint32_t id = (uint32_t)field_get(parent, parent_size, FIELD(struct drm_amdgpu_cs_chunk, chunk_id), 4);
	return id == AMDGPU_CHUNK_ID_BO_HANDLES ? &amdgpu_bo_list_layout : NULL;
}

static const struct rdrm_array amdgpu_chunk_arrays[] = {
	{.ptr_off = FIELD(struct drm_amdgpu_cs_chunk, chunk_data),
	 .count_off = FIELD(struct drm_amdgpu_cs_chunk, length_dw),
	 .count_size = WIDTH(struct drm_amdgpu_cs_chunk, length_dw), .dir = RDRM_IN, .elem_size = 4,
	 .max_count = MAX_BLOB / 4, .data_layout_fn = amdgpu_chunk_data_layout},
};

static const struct rdrm_layout amdgpu_chunk_layout = ARRAYS(amdgpu_chunk_arrays);

/* One pointer (an element of a pointer array) to one chunk struct. */
static const struct rdrm_array amdgpu_chunk_ptr_arrays[] = {
	{.ptr_off = 0, .dir = RDRM_IN, .elem_size = sizeof(struct drm_amdgpu_cs_chunk), .max_count = 1,
	 .count_fn = one, .elem = &amdgpu_chunk_layout},
};

static const struct rdrm_layout amdgpu_chunk_ptr_layout = ARRAYS(amdgpu_chunk_ptr_arrays);

/* CS: chunks -> num_chunks u64 pointers -> each a drm_amdgpu_cs_chunk -> its length_dw dwords. */
static const struct rdrm_array amdgpu_cs_arrays[] = {
	{.ptr_off = FIELD(struct drm_amdgpu_cs_in, chunks), .count_off = FIELD(struct drm_amdgpu_cs_in, num_chunks),
	 .count_size = WIDTH(struct drm_amdgpu_cs_in, num_chunks), .dir = RDRM_IN, .elem_size = sizeof(uint64_t),
	 .max_count = 1024, .elem = &amdgpu_chunk_ptr_layout},
};

/* WAIT_FENCES: an array of fence_count struct drm_amdgpu_fence (the header's comment notwithstanding). */
static const struct rdrm_array amdgpu_wait_fences_arrays[] = {
	ARRAY(struct drm_amdgpu_wait_fences_in, fences, fence_count, RDRM_IN, sizeof(struct drm_amdgpu_fence),
	      MAX_HANDLES),
};

/* FENCE_TO_HANDLE: out.handle is an fd for the two *_FD requests (what 1 and 2). It overlays the input fence. */
static const struct rdrm_fd_field amdgpu_fence_to_handle_fds[] = {
	{.off = 0, .dir = RDRM_OUT, .flag_size = 4, .flag_off = (uint16_t)offsetof(union drm_amdgpu_fence_to_handle, in.what),
	 .flag_mask = AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ_FD | AMDGPU_FENCE_TO_HANDLE_GET_SYNC_FILE_FD,
	 .overlays_in = 1},
};

/* SCHED names the DRM file whose priority changes by an fd. */
static const struct rdrm_fd_field amdgpu_sched_fds[] = {
	{.off = FIELD(struct drm_amdgpu_sched_in, fd), .dir = RDRM_IN},
};

/* Only what the daemon's amdgpu driver serves; the rest is refused here already. */
static const struct rdrm_ioctl_info amdgpu_table[] = {
	ENTRY(DRM_IOCTL_AMDGPU_CS, ARRAYS(amdgpu_cs_arrays)),
	ENTRY(DRM_IOCTL_AMDGPU_WAIT_CS, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_AMDGPU_WAIT_FENCES, ARRAYS(amdgpu_wait_fences_arrays)),
	ENTRY(DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE, FDS(amdgpu_fence_to_handle_fds)),
	ENTRY(DRM_IOCTL_AMDGPU_SCHED, FDS(amdgpu_sched_fds)),
	ENTRY(DRM_IOCTL_AMDGPU_GEM_CREATE, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_AMDGPU_GEM_MMAP, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_AMDGPU_CTX, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_AMDGPU_BO_LIST, ARRAYS(amdgpu_bo_list_arrays)),
	ENTRY(DRM_IOCTL_AMDGPU_GEM_VA, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_AMDGPU_INFO, ARRAYS(amdgpu_info_arrays)),
	ENTRY(DRM_IOCTL_AMDGPU_GEM_METADATA, LAYOUT_NONE), /* the metadata travels inside the struct */
	ENTRY(DRM_IOCTL_AMDGPU_GEM_WAIT_IDLE, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_AMDGPU_GEM_OP, ARRAYS(amdgpu_gem_op_arrays)),
	ENTRY(DRM_IOCTL_AMDGPU_GEM_USERPTR, LAYOUT_NONE),
};

/* ---- i915 ---- */

static const struct rdrm_array i915_getparam_arrays[] = {
	{.ptr_off = FIELD(struct drm_i915_getparam, value), .dir = RDRM_OUT, .elem_size = sizeof(int),
	 .max_count = 1, .count_fn = one},
};

/*
 * Each QUERY item names a buffer of length bytes: header in (checked), answer
 * out. length is signed; a negative one carries nothing, and the daemon answers
 * -EINVAL in that item as the kernel does, instead of failing the whole call.
 */
static uint64_t i915_query_item_bytes(const void *parent, size_t parent_size, const void *const *prev_data,
				      const uint64_t *prev_count)
{
	(void)prev_data;
	(void)prev_count;
	int32_t len = (int32_t)field_get(parent, parent_size,
					      FIELD(struct drm_i915_query_item, length), 4);
	return len > 0 ? (uint64_t)len : 0;
}

static const struct rdrm_array i915_query_item_arrays[] = {
	{.ptr_off = FIELD(struct drm_i915_query_item, data_ptr), .dir = RDRM_INOUT, .elem_size = 1,
	 .max_count = MAX_BLOB, .count_fn = i915_query_item_bytes},
};

static const struct rdrm_layout i915_query_item_layout = ARRAYS(i915_query_item_arrays);

static const struct rdrm_array i915_query_arrays[] = {
	{.ptr_off = FIELD(struct drm_i915_query, items_ptr), .count_off = FIELD(struct drm_i915_query, num_items),
	 .count_size = WIDTH(struct drm_i915_query, num_items), .dir = RDRM_INOUT,
	 .elem_size = sizeof(struct drm_i915_query_item), .max_count = 256, .elem = &i915_query_item_layout},
};

/* PWRITE brings the bytes to write, PREAD takes back the bytes read (counted in bytes, u64). */
static const struct rdrm_array i915_pwrite_arrays[] = {
	BYTES(struct drm_i915_gem_pwrite, data_ptr, size, RDRM_IN, RDRM_WIRE_MAX_PAYLOAD - 4096),
};

static const struct rdrm_array i915_pread_arrays[] = {
	BYTES(struct drm_i915_gem_pread, data_ptr, size, RDRM_OUT, RDRM_WIRE_MAX_PAYLOAD - 4096),
};

/*
 * Extension chains (i915_user_extension). The kernel follows at most 512
 * nodes and refuses a longer chain; one more travels so the daemon sees it.
 */
#define I915_EXT_CHAIN(kinds_) \
	{.next_off = FIELD(struct i915_user_extension, next_extension), \
	 .name_off = FIELD(struct i915_user_extension, name), .hdr_size = sizeof(struct i915_user_extension), \
	 .max_nodes = 513, .nkinds = N(kinds_), .kinds = kinds_}
#define I915_EXT_CHAIN_NONE \
	{.next_off = FIELD(struct i915_user_extension, next_extension), \
	 .name_off = FIELD(struct i915_user_extension, name), .hdr_size = sizeof(struct i915_user_extension), \
	 .max_nodes = 513}
_Static_assert(sizeof(struct i915_user_extension) % 8 == 0, "chain headers must be wire-aligned");

enum { MAX_PARAM_BYTES = 4096 };

/* An engine map's own extensions (load balancing, bonds): the daemon refuses them, only headers travel. */
static const struct rdrm_chain i915_engines_ext_chain = I915_EXT_CHAIN_NONE;
static const struct rdrm_array i915_engines_arrays[] = {
	{.ptr_off = FIELD(struct i915_context_param_engines, extensions), .dir = RDRM_IN,
	 .chain = &i915_engines_ext_chain},
};
static const struct rdrm_layout i915_engines_layout = ARRAYS(i915_engines_arrays);

/*
 * A context parameter's value is a pointer to size bytes only for the
 * parameters that take a struct (ENGINES, SSEU); the rest carry the value
 * itself. base is the drm_i915_gem_context_param at offset off.
 */
static uint64_t ctx_param_bytes(const void *base, size_t size, size_t off, uint64_t which)
{
	uint64_t param = field_get(base, size, (uint16_t)(off + offsetof(struct drm_i915_gem_context_param, param)), 8);
	uint32_t bytes =
		(uint32_t)field_get(base, size, (uint16_t)(off + offsetof(struct drm_i915_gem_context_param, size)), 4);
	return param == which ? bytes : 0;
}

static uint64_t setparam_engines_bytes(const void *parent, size_t parent_size, const void *const *pd, const uint64_t *pc)
{
	(void)pd;
	(void)pc;
	return ctx_param_bytes(parent, parent_size, 0, I915_CONTEXT_PARAM_ENGINES);
}

static uint64_t setparam_sseu_bytes(const void *parent, size_t parent_size, const void *const *pd, const uint64_t *pc)
{
	(void)pd;
	(void)pc;
	return ctx_param_bytes(parent, parent_size, 0, I915_CONTEXT_PARAM_SSEU);
}

/* An engine map is one variable-length struct: its layout covers the whole block. */
static const struct rdrm_layout *engines_data_layout(const void *parent, size_t parent_size)
{
	(void)parent;
	(void)parent_size;
	return &i915_engines_layout;
}

#define CTX_PARAM_ARRAY(type, base_off, dir_, fn, data_layout) \
	{.ptr_off = (uint16_t)((base_off) + offsetof(struct drm_i915_gem_context_param, value)), .dir = (dir_), \
	 .elem_size = 1, .max_count = MAX_PARAM_BYTES, .count_fn = (fn), .data_layout_fn = (data_layout)}

/* SETPARAM: the struct goes in. GETPARAM: SSEU names its engine in and is answered (the kernel no
 * longer reports engine maps, so nothing else travels). */
static const struct rdrm_array i915_ctx_setparam_arrays[] = {
	CTX_PARAM_ARRAY(struct drm_i915_gem_context_param, 0, RDRM_IN, setparam_engines_bytes, engines_data_layout),
	CTX_PARAM_ARRAY(struct drm_i915_gem_context_param, 0, RDRM_IN, setparam_sseu_bytes, NULL),
};
static const struct rdrm_array i915_ctx_getparam_arrays[] = {
	CTX_PARAM_ARRAY(struct drm_i915_gem_context_param, 0, RDRM_INOUT, setparam_sseu_bytes, NULL),
};

/* CONTEXT_CREATE_EXT: SETPARAM nodes, each with a context parameter inside. */
static uint64_t create_ext_engines_bytes(const void *parent, size_t parent_size, const void *const *pd,
				       const uint64_t *pc)
{
	(void)pd;
	(void)pc;
	return ctx_param_bytes(parent, parent_size,
			       offsetof(struct drm_i915_gem_context_create_ext_setparam, param), I915_CONTEXT_PARAM_ENGINES);
}

static uint64_t create_ext_sseu_bytes(const void *parent, size_t parent_size, const void *const *pd, const uint64_t *pc)
{
	(void)pd;
	(void)pc;
	return ctx_param_bytes(parent, parent_size,
			       offsetof(struct drm_i915_gem_context_create_ext_setparam, param), I915_CONTEXT_PARAM_SSEU);
}

static const struct rdrm_array i915_create_setparam_arrays[] = {
	CTX_PARAM_ARRAY(struct drm_i915_gem_context_create_ext_setparam,
			offsetof(struct drm_i915_gem_context_create_ext_setparam, param), RDRM_IN,
			create_ext_engines_bytes, engines_data_layout),
	CTX_PARAM_ARRAY(struct drm_i915_gem_context_create_ext_setparam,
			offsetof(struct drm_i915_gem_context_create_ext_setparam, param), RDRM_IN,
			create_ext_sseu_bytes, NULL),
};
static const struct rdrm_layout i915_create_setparam_layout = ARRAYS(i915_create_setparam_arrays);
static const struct rdrm_chain_node i915_create_ext_kinds[] = {
	{I915_CONTEXT_CREATE_EXT_SETPARAM, sizeof(struct drm_i915_gem_context_create_ext_setparam),
	 &i915_create_setparam_layout},
};
static const struct rdrm_chain i915_create_ext_chain = I915_EXT_CHAIN(i915_create_ext_kinds);

static uint64_t create_uses_extensions(const void *parent, size_t parent_size, const void *const *pd, const uint64_t *pc)
{
	(void)pd;
	(void)pc;
	return field_get(parent, parent_size,
			      FIELD(struct drm_i915_gem_context_create_ext, flags), 4) &
	       I915_CONTEXT_CREATE_FLAGS_USE_EXTENSIONS;
}

static const struct rdrm_array i915_ctx_create_arrays[] = {
	{.ptr_off = FIELD(struct drm_i915_gem_context_create_ext, extensions), .dir = RDRM_IN,
	 .count_fn = create_uses_extensions, .chain = &i915_create_ext_chain},
};

/* VM_CREATE: the kernel knows no VM extensions; headers travel so it can say so. */
static const struct rdrm_chain i915_vm_ext_chain = I915_EXT_CHAIN_NONE;
static const struct rdrm_array i915_vm_create_arrays[] = {
	{.ptr_off = FIELD(struct drm_i915_gem_vm_control, extensions), .dir = RDRM_IN, .chain = &i915_vm_ext_chain},
};

/*
 * EXECBUFFER2(_WR): the object list (offsets written back), each object's
 * relocations (presumed offsets written back), and in cliprects_ptr either
 * a fence array (FENCE_ARRAY) or an extension chain (USE_EXTENSIONS), never
 * both. rsvd2 carries the in-fence fd (low half) and the out-fence fd (high).
 */
static const struct rdrm_array i915_exec_object_arrays[] = {
	ARRAY(struct drm_i915_gem_exec_object2, relocs_ptr, relocation_count, RDRM_INOUT,
	      sizeof(struct drm_i915_gem_relocation_entry), 1u << 20),
};
static const struct rdrm_layout i915_exec_object_layout = ARRAYS(i915_exec_object_arrays);

static const struct rdrm_array i915_timeline_fences_arrays[] = {
	ARRAY(struct drm_i915_gem_execbuffer_ext_timeline_fences, handles_ptr, fence_count, RDRM_IN,
	      sizeof(struct drm_i915_gem_exec_fence), MAX_HANDLES),
	ARRAY(struct drm_i915_gem_execbuffer_ext_timeline_fences, values_ptr, fence_count, RDRM_IN, 8, MAX_HANDLES),
};
static const struct rdrm_layout i915_timeline_fences_layout = ARRAYS(i915_timeline_fences_arrays);
static const struct rdrm_chain_node i915_execbuf_ext_kinds[] = {
	{DRM_I915_GEM_EXECBUFFER_EXT_TIMELINE_FENCES, sizeof(struct drm_i915_gem_execbuffer_ext_timeline_fences),
	 &i915_timeline_fences_layout},
};
static const struct rdrm_chain i915_execbuf_ext_chain = I915_EXT_CHAIN(i915_execbuf_ext_kinds);

static uint64_t execbuf_flags(const void *parent, size_t parent_size)
{
	return field_get(parent, parent_size,
			      FIELD(struct drm_i915_gem_execbuffer2, flags), 8);
}

static uint64_t execbuf_fence_count(const void *parent, size_t parent_size, const void *const *pd, const uint64_t *pc)
{
	(void)pd;
	(void)pc;
	uint64_t flags = execbuf_flags(parent, parent_size);
	if (!(flags & I915_EXEC_FENCE_ARRAY) || (flags & I915_EXEC_USE_EXTENSIONS))
		return 0;
	return field_get(parent, parent_size, FIELD(struct drm_i915_gem_execbuffer2, num_cliprects), 4);
}

static uint64_t execbuf_uses_extensions(const void *parent, size_t parent_size, const void *const *pd,
				       const uint64_t *pc)
{
	(void)pd;
	(void)pc;
	uint64_t flags = execbuf_flags(parent, parent_size);
	return (flags & I915_EXEC_USE_EXTENSIONS) && !(flags & I915_EXEC_FENCE_ARRAY);
}

static const struct rdrm_array i915_execbuf_arrays[] = {
	{.ptr_off = FIELD(struct drm_i915_gem_execbuffer2, buffers_ptr),
	 .count_off = FIELD(struct drm_i915_gem_execbuffer2, buffer_count),
	 .count_size = WIDTH(struct drm_i915_gem_execbuffer2, buffer_count), .dir = RDRM_INOUT,
	 .elem_size = sizeof(struct drm_i915_gem_exec_object2), .max_count = 1u << 18,
	 .elem = &i915_exec_object_layout},
	{.ptr_off = FIELD(struct drm_i915_gem_execbuffer2, cliprects_ptr), .dir = RDRM_IN,
	 .elem_size = sizeof(struct drm_i915_gem_exec_fence), .max_count = MAX_HANDLES,
	 .count_fn = execbuf_fence_count},
	{.ptr_off = FIELD(struct drm_i915_gem_execbuffer2, cliprects_ptr), .dir = RDRM_IN,
	 .count_fn = execbuf_uses_extensions, .chain = &i915_execbuf_ext_chain},
};

static const struct rdrm_fd_field i915_execbuf_fds[] = {
	{.off = FIELD(struct drm_i915_gem_execbuffer2, rsvd2), .dir = RDRM_IN, .flag_size = 8,
	 .flag_off = FIELD(struct drm_i915_gem_execbuffer2, flags),
	 .flag_mask = I915_EXEC_FENCE_IN | I915_EXEC_FENCE_SUBMIT},
	{.off = FIELD(struct drm_i915_gem_execbuffer2, rsvd2) + 4, .dir = RDRM_OUT, .flag_size = 8,
	 .flag_off = FIELD(struct drm_i915_gem_execbuffer2, flags), .flag_mask = I915_EXEC_FENCE_OUT},
};

/* Only what the daemon's i915 driver serves; the rest is refused here already. */
static const struct rdrm_ioctl_info i915_table[] = {
	ENTRY(DRM_IOCTL_I915_GEM_EXECBUFFER2, ARRAYS_FDS(i915_execbuf_arrays, i915_execbuf_fds)),
	ENTRY(DRM_IOCTL_I915_GEM_EXECBUFFER2_WR, ARRAYS_FDS(i915_execbuf_arrays, i915_execbuf_fds)),
	ENTRY(DRM_IOCTL_I915_GEM_THROTTLE, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_VM_CREATE, ARRAYS(i915_vm_create_arrays)),
	ENTRY(DRM_IOCTL_I915_GEM_VM_DESTROY, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GETPARAM, ARRAYS(i915_getparam_arrays)),
	ENTRY(DRM_IOCTL_I915_GEM_CREATE, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_PREAD, ARRAYS(i915_pread_arrays)),
	ENTRY(DRM_IOCTL_I915_GEM_PWRITE, ARRAYS(i915_pwrite_arrays)),
	/* The daemon answers with the range's fake mmap offset; the interposer maps it (hooks_fd.c). */
	ENTRY(DRM_IOCTL_I915_GEM_MMAP, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_MMAP_OFFSET, LAYOUT_NONE), /* also MMAP_GTT: same number, shorter struct */
	ENTRY(DRM_IOCTL_I915_GEM_GET_APERTURE, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_SET_DOMAIN, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_SW_FINISH, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_SET_TILING, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_GET_TILING, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_SET_CACHING, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_GET_CACHING, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_MADVISE, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_BUSY, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_WAIT, LAYOUT_NONE),
	/* CONTEXT_CREATE too (same number, no extensions field: nothing is gated on). */
	ENTRY(DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, ARRAYS(i915_ctx_create_arrays)),
	ENTRY(DRM_IOCTL_I915_GEM_CONTEXT_DESTROY, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, ARRAYS(i915_ctx_getparam_arrays)),
	ENTRY(DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, ARRAYS(i915_ctx_setparam_arrays)),
	ENTRY(DRM_IOCTL_I915_GET_RESET_STATS, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_REG_READ, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_GEM_USERPTR, LAYOUT_NONE),
	ENTRY(DRM_IOCTL_I915_QUERY, ARRAYS(i915_query_arrays)),
};

/* ---- not DRM: sync_file fds and the sw_sync timeline device ---- */

static const struct rdrm_fd_field sync_merge_fds[] = {
	{.off = FIELD(struct sync_merge_data, fd2), .dir = RDRM_IN},
	{.off = FIELD(struct sync_merge_data, fence), .dir = RDRM_OUT},
};

static const struct rdrm_array sync_info_arrays[] = {
	ARRAY(struct sync_file_info, sync_fence_info, num_fences, RDRM_OUT, sizeof(struct sync_fence_info), 4096),
};

static const struct rdrm_fd_field sw_sync_fence_fds[] = {
	{.off = FIELD(struct sw_sync_create_fence_data, fence), .dir = RDRM_OUT},
};

static const struct rdrm_ioctl_info other_table[] = {
	ENTRY(SYNC_IOC_MERGE, FDS(sync_merge_fds)),
	ENTRY(SYNC_IOC_FILE_INFO, ARRAYS(sync_info_arrays)),
	ENTRY(SW_SYNC_IOC_CREATE_FENCE, FDS(sw_sync_fence_fds)),
	ENTRY(SW_SYNC_IOC_INC, LAYOUT_NONE),
	ENTRY(RDRM_IOC_ATTR_WRITE, LAYOUT_NONE), /* the interposer's own: debugfs writes */
};

/*
 * Driver numbers are looked up on every call. The answer of scanning a table
 * (the first entry with the number and the caller's direction, else the
 * first with the number) is worked out once per number and direction.
 */
#define DRV_NRS (DRM_COMMAND_END - DRM_COMMAND_BASE)

struct drv_table {
	const struct rdrm_ioctl_info *t;
	size_t n;
	pthread_once_t once;
	uint8_t by_dir[DRV_NRS][4]; /* table index + 1; 0: no entry */
	uint8_t by_nr[DRV_NRS];
};

static struct drv_table amdgpu_drv = {amdgpu_table, sizeof(amdgpu_table) / sizeof(amdgpu_table[0]),
				      PTHREAD_ONCE_INIT, {{0}}, {0}};
static struct drv_table i915_drv = {i915_table, sizeof(i915_table) / sizeof(i915_table[0]),
				    PTHREAD_ONCE_INIT, {{0}}, {0}};

_Static_assert(sizeof(amdgpu_table) / sizeof(amdgpu_table[0]) < 255 &&
	       sizeof(i915_table) / sizeof(i915_table[0]) < 255, "index entries are bytes");

static void drv_index(struct drv_table *d)
{
	for (size_t i = d->n; i-- > 0;) {
		unsigned nr = _IOC_NR(d->t[i].cmd) - DRM_COMMAND_BASE;
		if (nr >= DRV_NRS)
			continue; /* not a driver number: no lookup can reach it */
		/* Backwards, so the earliest entry wins, as in a forward scan. */
		d->by_dir[nr][_IOC_DIR(d->t[i].cmd)] = (uint8_t)(i + 1);
		d->by_nr[nr] = (uint8_t)(i + 1);
	}
}

static void amdgpu_index(void)
{
	drv_index(&amdgpu_drv);
}

static void i915_index(void)
{
	drv_index(&i915_drv);
}

/* The first byte tells the drivers apart without a call. */
static inline bool driver_is(const char *driver, const char *name)
{
	return driver && driver[0] == name[0] && !strcmp(driver, name);
}

const struct rdrm_ioctl_info *rdrm_ioctl_lookup(const char *driver, unsigned long cmd)
{
	if (_IOC_TYPE(cmd) != DRM_IOCTL_BASE) {
		/* Exact numbers: these structs have one size. */
		for (size_t i = 0; i < sizeof(other_table) / sizeof(other_table[0]); i++)
			if (other_table[i].cmd == cmd)
				return &other_table[i];
		return NULL;
	}
	unsigned nr = _IOC_NR(cmd);
	if (nr >= DRM_COMMAND_BASE && nr < DRM_COMMAND_END) {
		struct drv_table *d;
		if (driver_is(driver, "amdgpu")) {
			d = &amdgpu_drv;
			pthread_once(&d->once, amdgpu_index);
		} else if (driver_is(driver, "i915")) {
			d = &i915_drv;
			pthread_once(&d->once, i915_index);
		} else {
			return NULL;
		}
		/*
		 * By number and direction (one number may have two entries, as
		 * i915's EXECBUFFER2 and EXECBUFFER2_WR), else by number alone, as
		 * the kernel's drm_ioctl: libdrm issues some driver ioctls with
		 * another direction than the header's (GEM_VA is _IOW,
		 * drmCommandWriteRead sends _IOWR); only the directions both agree
		 * on are copied. The size may differ between header versions.
		 */
		unsigned i = d->by_dir[nr - DRM_COMMAND_BASE][_IOC_DIR(cmd)];
		if (!i)
			i = d->by_nr[nr - DRM_COMMAND_BASE];
		return i ? &d->t[i - 1] : NULL;
	}
	/* Match by number and direction; the size may differ (older or newer headers). */
	for (size_t i = 0; i < sizeof(core_table) / sizeof(core_table[0]); i++) {
		unsigned c = core_table[i].cmd;
		if (_IOC_NR(c) == nr && _IOC_DIR(c) == _IOC_DIR(cmd))
			return &core_table[i];
	}
	return NULL;
}

int rdrm_fd_field_active(const struct rdrm_fd_field *f, const void *base, size_t base_size)
{
	if (f->off + sizeof(int32_t) > base_size)
		return 0;
	if (!f->flag_size)
		return 1;
	return (field_get(base, base_size, f->flag_off, f->flag_size) & f->flag_mask) != 0;
}

static int walk(const struct rdrm_layout *l, const void *base, size_t base_size,
		const struct rdrm_walk_visitor *v, int depth, const void **top_data, uint64_t *top_count);

/* An extension chain: each node's header, then (known kinds) its body and arrays, then the next. */
static int walk_chain(const struct rdrm_array *a, uint64_t uptr, const struct rdrm_walk_visitor *v, int depth)
{
	const struct rdrm_chain *c = a->chain;
	for (uint32_t n = 0; uptr && n < c->max_nodes; n++) {
		struct rdrm_array hdr = {.dir = RDRM_IN, .elem_size = c->hdr_size, .max_count = 1};
		const void *data = NULL;
		int r = v->visit(v->ctx, &hdr, uptr, 1, c->hdr_size, &data);
		if (r || !data)
			return r;
		uint32_t name = (uint32_t)field_get(data, c->hdr_size, c->name_off, 4);
		const struct rdrm_chain_node *k = NULL;
		for (unsigned i = 0; i < c->nkinds; i++)
			if (c->kinds[i].name == name)
				k = &c->kinds[i];
		if (!k)
			return 0;
		if (k->size > c->hdr_size) {
			struct rdrm_array body = {.dir = RDRM_IN, .elem_size = k->size - c->hdr_size, .max_count = 1};
			const void *bdata = NULL;
			r = v->visit(v->ctx, &body, uptr + c->hdr_size, 1, body.elem_size, &bdata);
			if (r)
				return r;
			/* Every side lays header and body out back to back (hdr_size is wire-aligned). */
			if (bdata != (const uint8_t *)data + c->hdr_size)
				return -EFAULT;
		}
		if (k->layout) {
			r = walk(k->layout, data, k->size, v, depth + 1, NULL, NULL);
			if (r)
				return r;
		}
		uptr = field_get(data, c->hdr_size, c->next_off, 8);
	}
	return 0;
}

static int walk(const struct rdrm_layout *l, const void *base, size_t base_size,
		const struct rdrm_walk_visitor *v, int depth, const void **top_data, uint64_t *top_count)
{
	const void *local_data[RDRM_LAYOUT_MAX_ARRAYS];
	uint64_t local_count[RDRM_LAYOUT_MAX_ARRAYS];
	const void **prev_data = top_data ? top_data : local_data;
	uint64_t *prev_count = top_count ? top_count : local_count;
	if (depth > 4 || l->narrays > RDRM_LAYOUT_MAX_ARRAYS)
		return -EINVAL;
	/* Only this layout's entries are ever read (a count_fn looks at earlier arrays of its own layout). */
	if (!top_data) {
		for (unsigned i = 0; i < l->narrays; i++) {
			local_data[i] = NULL;
			local_count[i] = 0;
		}
	}
	for (unsigned i = 0; i < l->narrays; i++) {
		const struct rdrm_array *a = &l->arrays[i];
		uint64_t uptr = field_get(base, base_size, a->ptr_off, 8);
		if (a->chain) {
			if (a->count_fn && !a->count_fn(base, base_size, prev_data, prev_count))
				continue;
			int r = walk_chain(a, uptr, v, depth);
			if (r)
				return r;
			continue;
		}
		uint64_t count = a->count_fn ? a->count_fn(base, base_size, prev_data, prev_count)
					     : field_get(base, base_size, a->count_off, a->count_size);
		if (count > a->max_count)
			return -EINVAL;
		/* count <= 2^32 and elem_size < 2^32: the product cannot overflow 64 bits. */
		uint64_t bytes = count * a->elem_size;
		if (bytes > RDRM_WIRE_MAX_PAYLOAD)
			return -EINVAL;
		const void *data = NULL;
		int r = v->visit(v->ctx, a, uptr, count, bytes, &data);
		if (r)
			return r;
		prev_data[i] = data;
		prev_count[i] = count;
		if (a->data_layout_fn && data && bytes) {
			const struct rdrm_layout *dl = a->data_layout_fn(base, base_size);
			if (dl) {
				r = walk(dl, data, (size_t)bytes, v, depth + 1, NULL, NULL);
				if (r)
					return r;
			}
		}
		if (a->elem && count) {
			if (!data)
				continue; /* nothing travelled (NULL pointer): nothing nested either */
			for (uint64_t j = 0; j < count; j++) {
				r = walk(a->elem, (const uint8_t *)data + j * a->elem_size, a->elem_size, v,
					 depth + 1, NULL, NULL);
				if (r)
					return r;
			}
		}
	}
	return 0;
}

int rdrm_layout_walk(const struct rdrm_layout *l, const void *base, size_t base_size,
		     const struct rdrm_walk_visitor *v)
{
	return walk(l, base, base_size, v, 0, NULL, NULL);
}

int rdrm_layout_walk_top(const struct rdrm_layout *l, const void *base, size_t base_size,
			 const struct rdrm_walk_visitor *v, const void *top_data[RDRM_LAYOUT_MAX_ARRAYS],
			 uint64_t top_count[RDRM_LAYOUT_MAX_ARRAYS])
{
	for (unsigned i = 0; i < RDRM_LAYOUT_MAX_ARRAYS; i++) {
		top_data[i] = NULL;
		top_count[i] = 0;
	}
	return walk(l, base, base_size, v, 0, top_data, top_count);
}

int rdrm_elem_fds_for_each(const struct rdrm_layout *l, const void *const top_data[RDRM_LAYOUT_MAX_ARRAYS],
			   const uint64_t top_count[RDRM_LAYOUT_MAX_ARRAYS],
			   int (*fn)(void *ctx, uint8_t *value), void *ctx)
{
	const struct rdrm_elem_fds *ef = l->elem_fds;
	if (!ef)
		return 0;
	if (ef->values >= l->narrays || ef->keys >= l->narrays)
		return -EINVAL;
	const uint8_t *keys = top_data[ef->keys];
	uint8_t *values = (uint8_t *)(uintptr_t)top_data[ef->values]; /* the caller's own buffer */
	uint64_t n = top_count[ef->values];
	if (n > top_count[ef->keys])
		return -EINVAL;
	if (!n)
		return 0;
	if (!keys || !values)
		return 0; /* nothing travelled: the handler faults on it */
	for (uint64_t i = 0; i < n; i++) {
		uint32_t key;
		memcpy(&key, keys + i * sizeof(key), sizeof(key));
		if (key != ef->key)
			continue;
		int r = fn(ctx, values + i * sizeof(int64_t));
		if (r)
			return r;
	}
	return 0;
}
