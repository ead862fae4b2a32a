/* i915 uAPI internals shared by i915_uapi.c, i915_gem.c, i915_context.c and i915_execbuffer.c. */
#ifndef REDOX_DRM_I915_UAPI_H
#define REDOX_DRM_I915_UAPI_H

#include <stdbool.h>
#include <stdint.h>

#include "i915.h"
#include "redox-drm/cs.h"
#include "redox-drm/drm_ioctl.h"
#include "redox-drm/gem.h"
#include "redox-drm/idr.h"

struct drm_fence;
struct i915_vma;
struct i915_deferred_unbind;

/*
 * An address space as the uAPI sees it (VM_CREATE ids, a context's VM
 * parameter): the PPGTT plus where each object is bound in it. Refcounted:
 * VM ids, contexts and deferred unbinds hold it.
 */
struct i915_gem_vm {
	unsigned refcount;
	struct i915_address_space *ppgtt;
	struct i915_vma **buckets; /* object → binding, chained */
	unsigned nbuckets, count;
	struct i915_deferred_unbind *deferred; /* ranges still mapped for a job that is not done */
};

/* Where obj is bound in a VM. */
struct i915_vma {
	struct drm_gem_object *obj; /* the binding holds a reference (i915_vm_bind) */
	uint64_t va, size;
	struct i915_vma *next;
};

struct i915_gem_vm *i915_gem_vm_create(struct i915_device *i915);
struct i915_gem_vm *i915_gem_vm_get(struct i915_gem_vm *vm);
void i915_gem_vm_put(struct i915_gem_vm *vm);
struct i915_vma *i915_gem_vm_lookup(struct i915_gem_vm *vm, struct drm_gem_object *obj);
/* Binds obj at va (size bytes). -errno from i915_vm_bind, -ENOMEM. */
struct i915_vma *i915_gem_vm_bind(struct i915_gem_vm *vm, struct drm_gem_object *obj, uint64_t va,
				  uint64_t size, int *err);
/* Unbinds once the object is idle (at once if it is). */
void i915_gem_vm_unbind(struct i915_gem_vm *vm, struct i915_vma *vma);
/* The fence (a reference) after which a range overlapping [va, va+size) is unbound, or NULL. */
struct drm_fence *i915_gem_vm_pending_unbind(struct i915_gem_vm *vm, uint64_t va, uint64_t size);

/* One slot of a context's engine map, with what submitting there needs (made on first use). */
struct i915_ctx_engine {
	bool valid;
	enum i915_engine_id id;
	struct i915_lrc *lrc;
	struct cs_entity entity;
	bool live; /* lrc and entity exist */
};

struct i915_file;

struct i915_context {
	unsigned refcount; /* the file's id, jobs in flight */
	struct i915_file *file; /* NULL once the context is destroyed or its file closed */
	struct i915_device *i915;
	int priority;
	bool bannable, recoverable, persistent, no_error_capture, single_timeline;
	/* Created by CREATE_EXT and not yet used: VM and ENGINES may still be set (the kernel's proto-context). */
	bool finalized;
	bool guilty;             /* shared by the context's scheduler entities */
	uint32_t guilty_count;   /* batches of this context that hung (GET_RESET_STATS batch_active) */
	uint32_t pending_count;  /* batches of this context lost to another's hang (batch_pending) */
	struct i915_gem_vm *vm;  /* NULL until set or first needed */
	bool user_engines;       /* ENGINES was set: the exec ring field indexes engines[] */
	unsigned num_engines;
	struct i915_ctx_engine *engines;
	struct drm_fence *last_fence; /* single timeline: the last submission's finished fence */
};

/* drm_file.driver_priv */
struct i915_file {
	struct drm_device *dev;
	struct i915_context *default_context; /* id 0 */
	struct idr contexts;                  /* id → struct i915_context */
	struct idr vms;                       /* VM id → struct i915_gem_vm */
	/* Recent submissions, for THROTTLE. */
#define I915_THROTTLE_SLOTS 16
	struct drm_fence *recent[I915_THROTTLE_SLOTS];
	uint64_t recent_ns[I915_THROTTLE_SLOTS];
	unsigned recent_next;
};

/* A GEM object created by GEM_CREATE: the state the GEM ioctls keep for it. */
struct i915_gem_object {
	struct drm_gem_object base;
	uint32_t tiling_mode, stride;
	uint32_t caching; /* I915_CACHING_* */
	uint32_t madv;    /* I915_MADV_* */
	bool gtt_mmap;    /* a GTT mmap offset was handed out */
};

/* ---- contexts (i915_context.c) ---- */
/* One kind of extension: uptr is the node (its header already checked). */
typedef int (*i915_user_extension_fn)(struct drm_call *call, uint64_t uptr, void *data);
/* Walks a chain as the kernel: mbz header fields, known names only, at most 512 nodes (-E2BIG). */
int i915_user_extensions(struct drm_call *call, uint64_t uptr, const i915_user_extension_fn *tbl, unsigned count,
			 void *data);
/* A context of file by id, finalized (it is being used), or NULL. No reference. */
struct i915_context *i915_context_lookup(struct drm_file *file, uint32_t id);
void i915_context_get(struct i915_context *ctx);
void i915_context_put(struct i915_context *ctx);
/* The context's VM, made on first need. NULL: -ENOMEM. */
struct i915_gem_vm *i915_context_vm(struct i915_context *ctx);
/* The engine slot for an execbuf's ring selection, made ready to submit. -EINVAL, -EIO (banned), -ENOMEM. */
int i915_context_engine(struct i915_context *ctx, uint64_t exec_flags, struct i915_ctx_engine **out);
/* The GEM object funcs' close: forget the file's bindings of obj. */
void i915_gem_close_object(struct drm_file *file, struct drm_gem_object *obj);

/* ---- command submission (i915_execbuffer.c) ---- */
struct i915_exec;
int i915_exec_init(struct drm_device *dev, struct i915_device *i915);
void i915_exec_fini(struct i915_device *i915);
struct cs_sched *i915_exec_sched(struct i915_device *i915, enum i915_engine_id id);
/* Total engine resets (GET_RESET_STATS reset_count). */
uint32_t i915_exec_reset_count(struct i915_device *i915);
/* The uabi engine class whose scheduler made fence, or -1 (BUSY). */
int i915_exec_fence_class(struct i915_device *i915, struct drm_fence *fence);

drm_ioctl_t i915_gem_create_ioctl, i915_gem_mmap_offset_ioctl, i915_gem_get_aperture_ioctl,
	i915_gem_set_domain_ioctl, i915_gem_sw_finish_ioctl, i915_gem_set_tiling_ioctl, i915_gem_get_tiling_ioctl,
	i915_gem_set_caching_ioctl, i915_gem_get_caching_ioctl, i915_gem_madvise_ioctl, i915_gem_busy_ioctl,
	i915_gem_wait_ioctl, i915_gem_mmap_ioctl, i915_gem_pread_ioctl, i915_gem_pwrite_ioctl, i915_gem_userptr_ioctl;

/* True for objects GEM_CREATE made (with a backing file of their own), false for imported ones. */
bool i915_gem_object_is_native(struct drm_gem_object *obj);
drm_ioctl_t i915_context_create_ioctl, i915_context_destroy_ioctl, i915_context_getparam_ioctl,
	i915_context_setparam_ioctl, i915_get_reset_stats_ioctl, i915_vm_create_ioctl, i915_vm_destroy_ioctl;
void i915_throttle_record(struct i915_file *f, struct drm_fence *fence);
drm_ioctl_t i915_gem_execbuffer2_ioctl, i915_gem_throttle_ioctl;
/* Parks call until fence signals, then runs the ioctl again from the start (DRM_CALL_PARKED, 0 or -errno). */
int i915_rerun_after_fence(struct drm_device *dev, struct drm_call *call, struct drm_fence *fence);

#endif
