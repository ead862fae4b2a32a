/*
 * i915 contexts and address spaces as the uAPI sees them: per-file context
 * and VM ids, CONTEXT_CREATE(_EXT) with its extension chain,
 * CONTEXT_GET/SETPARAM, VM_CREATE/DESTROY, GET_RESET_STATS, and where each
 * object is bound in each VM.
 *
 * As the kernel on gen <= 12, a context made by CONTEXT_CREATE is still a
 * "proto-context" until something uses it (execbuf, GETPARAM): until then
 * its VM and engine map may be set; afterwards they are fixed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drm.h>
#include <i915_drm.h>

#include "i915.h"
#include "i915_uapi.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"

/* ---- VMs and bindings ---- */

struct i915_gem_vm *i915_gem_vm_create(struct i915_device *i915)
{
	struct i915_gem_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->nbuckets = 64;
	vm->buckets = calloc(vm->nbuckets, sizeof(*vm->buckets));
	vm->ppgtt = vm->buckets ? i915_ppgtt_create(i915) : NULL;
	if (!vm->ppgtt) {
		free(vm->buckets);
		free(vm);
		return NULL;
	}
	vm->refcount = 1;
	return vm;
}

struct i915_gem_vm *i915_gem_vm_get(struct i915_gem_vm *vm)
{
	vm->refcount++;
	return vm;
}

void i915_gem_vm_put(struct i915_gem_vm *vm)
{
	if (!vm || --vm->refcount)
		return;
	for (unsigned i = 0; i < vm->nbuckets; i++) {
		for (struct i915_vma *v = vm->buckets[i], *n; v; v = n) {
			n = v->next;
			free(v);
		}
	}
	free(vm->buckets);
	/* The bindings go with the page tables, once the last context image using them is idle
	 * (an LRC holds the PPGTT until the hardware is done with it). */
	i915_vm_put(vm->ppgtt);
	free(vm);
}

static unsigned vma_bucket(const struct i915_gem_vm *vm, const struct drm_gem_object *obj)
{
	uintptr_t k = (uintptr_t)obj;
	k ^= k >> 17;
	return (unsigned)((k >> 4) & (vm->nbuckets - 1));
}

struct i915_vma *i915_gem_vm_lookup(struct i915_gem_vm *vm, struct drm_gem_object *obj)
{
	for (struct i915_vma *v = vm->buckets[vma_bucket(vm, obj)]; v; v = v->next)
		if (v->obj == obj)
			return v;
	return NULL;
}

static void vma_grow(struct i915_gem_vm *vm)
{
	unsigned n = vm->nbuckets * 2;
	struct i915_vma **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* longer chains, still correct */
	struct i915_vma **old = vm->buckets;
	unsigned oldn = vm->nbuckets;
	vm->buckets = b;
	vm->nbuckets = n;
	for (unsigned i = 0; i < oldn; i++) {
		for (struct i915_vma *v = old[i], *next; v; v = next) {
			next = v->next;
			unsigned k = vma_bucket(vm, v->obj);
			v->next = b[k];
			b[k] = v;
		}
	}
	free(old);
}

struct i915_vma *i915_gem_vm_bind(struct i915_gem_vm *vm, struct drm_gem_object *obj, uint64_t va, uint64_t size,
				  int *err)
{
	struct i915_vma *v = calloc(1, sizeof(*v));
	if (!v) {
		*err = -ENOMEM;
		return NULL;
	}
	*err = i915_vm_bind(vm->ppgtt, va, obj, 0, obj->size, 0);
	if (*err) {
		free(v);
		return NULL;
	}
	v->obj = obj;
	v->va = va;
	v->size = size;
	if (vm->count >= vm->nbuckets)
		vma_grow(vm);
	unsigned k = vma_bucket(vm, obj);
	v->next = vm->buckets[k];
	vm->buckets[k] = v;
	vm->count++;
	return v;
}

/* An unbind waiting for the object's last job. */
struct i915_deferred_unbind {
	struct drm_fence_cb cb;
	struct drm_fence *fence;
	struct i915_gem_vm *vm;
	uint64_t va, size;
	struct i915_deferred_unbind *next;
};

static void deferred_unbind_run(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	(void)fence;
	struct i915_deferred_unbind *d = (struct i915_deferred_unbind *)cb;
	for (struct i915_deferred_unbind **pp = &d->vm->deferred; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	}
	i915_vm_unbind(d->vm->ppgtt, d->va, d->size);
	i915_gem_vm_put(d->vm);
	drm_fence_put(d->fence);
	free(d);
}

void i915_gem_vm_unbind(struct i915_gem_vm *vm, struct i915_vma *vma)
{
	struct i915_vma **pp = &vm->buckets[vma_bucket(vm, vma->obj)];
	while (*pp && *pp != vma)
		pp = &(*pp)->next;
	if (*pp)
		*pp = vma->next;
	vm->count--;
	int err = 0;
	struct drm_fence *busy = drm_gem_resv_get_fence(vma->obj, false, &err);
	struct i915_deferred_unbind *d = busy ? calloc(1, sizeof(*d)) : NULL;
	if (d) {
		/* The GPU may still read it: the range stays mapped (and taken) until the job is done. */
		d->fence = busy;
		d->vm = i915_gem_vm_get(vm);
		d->va = vma->va;
		d->size = vma->size;
		if (drm_fence_add_callback(busy, &d->cb, deferred_unbind_run) == 0) {
			d->next = vm->deferred;
			vm->deferred = d;
			free(vma);
			return;
		}
		i915_gem_vm_put(vm);
		free(d);
	}
	drm_fence_put(busy);
	i915_vm_unbind(vm->ppgtt, vma->va, vma->size);
	free(vma);
}

struct drm_fence *i915_gem_vm_pending_unbind(struct i915_gem_vm *vm, uint64_t va, uint64_t size)
{
	for (struct i915_deferred_unbind *d = vm->deferred; d; d = d->next)
		if (d->va < va + size && va < d->va + d->size)
			return drm_fence_get(d->fence);
	return NULL;
}

/* ---- user extensions ---- */

int i915_user_extensions(struct drm_call *call, uint64_t uptr, const i915_user_extension_fn *tbl, unsigned count,
			 void *data)
{
	unsigned depth = 512; /* the kernel's bound: a chain is no place for recursion tricks */
	while (uptr) {
		if (!depth--)
			return -E2BIG;
		struct i915_user_extension ext;
		if (drm_copy_from_user(call, &ext, uptr, sizeof(ext)))
			return -EFAULT;
		if (ext.flags)
			return -EINVAL;
		for (unsigned i = 0; i < sizeof(ext.rsvd) / sizeof(ext.rsvd[0]); i++)
			if (ext.rsvd[i])
				return -EINVAL;
		if (ext.name >= count || !tbl[ext.name])
			return -EINVAL;
		int err = tbl[ext.name](call, uptr, data);
		if (err)
			return err;
		uptr = ext.next_extension;
	}
	return 0;
}

/* ---- contexts ---- */

static bool engine_usable(struct i915_device *i915, enum i915_engine_id id)
{
	struct i915_engine *e = i915_engine_get(i915, id);
	return e && e->ready;
}

/* The engine a client names by class and instance, or -1. */
static int engine_lookup_user(struct i915_device *i915, uint16_t class, uint16_t instance)
{
	for (int id = 0; id < I915_NUM_ENGINES; id++) {
		struct i915_engine *e = i915_engine_get(i915, (enum i915_engine_id)id);
		if (e && e->ready && e->uabi_class == class && instance == 0)
			return id;
	}
	return -1;
}

static struct i915_context *context_create(struct i915_file *f, bool single_timeline)
{
	struct i915_device *i915 = f->dev->dev_private;
	struct i915_context *ctx = calloc(1, sizeof(*ctx));
	struct i915_ctx_engine *engines = calloc(I915_NUM_ENGINES, sizeof(*engines));
	if (!ctx || !engines) {
		free(ctx);
		free(engines);
		return NULL;
	}
	ctx->refcount = 1;
	ctx->file = f;
	ctx->i915 = i915;
	ctx->priority = I915_CONTEXT_DEFAULT_PRIORITY;
	ctx->bannable = ctx->recoverable = ctx->persistent = true;
	ctx->single_timeline = single_timeline;
	/* The legacy map: one slot per engine the device offers. */
	ctx->engines = engines;
	ctx->num_engines = I915_NUM_ENGINES;
	for (int id = 0; id < I915_NUM_ENGINES; id++) {
		engines[id].id = (enum i915_engine_id)id;
		engines[id].valid = engine_usable(i915, (enum i915_engine_id)id);
	}
	return ctx;
}

void i915_context_get(struct i915_context *ctx)
{
	ctx->refcount++;
}

/* Jobs not yet on the hardware fail; those on it run to the end (and run again after a reset). */
static void context_stop_engines(struct i915_context *ctx)
{
	for (unsigned i = 0; i < ctx->num_engines; i++)
		if (ctx->engines[i].live)
			cs_entity_fini(&ctx->engines[i].entity);
}

void i915_context_put(struct i915_context *ctx)
{
	if (!ctx || --ctx->refcount)
		return;
	/* No job holds the context any more: its images can go. */
	context_stop_engines(ctx);
	for (unsigned i = 0; i < ctx->num_engines; i++)
		if (ctx->engines[i].live)
			i915_lrc_destroy(ctx->engines[i].lrc);
	free(ctx->engines);
	i915_gem_vm_put(ctx->vm);
	drm_fence_put(ctx->last_fence);
	free(ctx);
}

/* The context leaves its file (destroyed, or the file closed); jobs in flight keep it alive. */
static void context_close(struct i915_context *ctx)
{
	ctx->file = NULL;
	context_stop_engines(ctx);
	i915_context_put(ctx);
}

static struct i915_context *context_find(struct drm_file *file, uint32_t id)
{
	struct i915_file *f = file->driver_priv;
	if (id == 0)
		return f->default_context;
	return idr_find(&f->contexts, id);
}

struct i915_context *i915_context_lookup(struct drm_file *file, uint32_t id)
{
	struct i915_context *ctx = context_find(file, id);
	if (ctx)
		ctx->finalized = true;
	return ctx;
}

struct i915_gem_vm *i915_context_vm(struct i915_context *ctx)
{
	if (!ctx->vm)
		ctx->vm = i915_gem_vm_create(ctx->i915);
	return ctx->vm;
}

static enum cs_priority sched_priority(int prio)
{
	return prio > 0 ? CS_PRIORITY_HIGH : prio < 0 ? CS_PRIORITY_MIN : CS_PRIORITY_NORMAL;
}

int i915_context_engine(struct i915_context *ctx, uint64_t flags, struct i915_ctx_engine **out)
{
	struct i915_ctx_engine *slot;
	if (ctx->user_engines) {
		uint64_t idx = flags & I915_EXEC_RING_MASK;
		if (idx >= ctx->num_engines || !ctx->engines[idx].valid)
			return -EINVAL;
		slot = &ctx->engines[idx];
	} else {
		/* The legacy ring selection: DEFAULT and RENDER are the render engine. */
		uint64_t ring = flags & I915_EXEC_RING_MASK;
		if (ring != I915_EXEC_BSD && (flags & I915_EXEC_BSD_MASK))
			return -EINVAL;
		int id;
		switch (ring) {
		case I915_EXEC_DEFAULT:
		case I915_EXEC_RENDER: id = I915_RCS0; break;
		case I915_EXEC_BLT: id = I915_BCS0; break;
		default: return -EINVAL; /* BSD, VEBOX: no such engine; beyond: no such ring */
		}
		slot = &ctx->engines[id];
		if (!slot->valid)
			return -EINVAL;
	}
	if (ctx->guilty && !ctx->recoverable)
		return -EIO; /* banned, as the kernel bans a non-recoverable context that hung */
	if (slot->live && ctx->guilty) {
		/* A recoverable context goes on after a hang: fresh entities, the guilt is accounted. */
		ctx->guilty = false;
	}
	if (slot->live && cs_entity_is_guilty(&slot->entity)) {
		cs_entity_fini(&slot->entity);
		cs_entity_init(&slot->entity, i915_exec_sched(ctx->i915, slot->id), sched_priority(ctx->priority),
			       &ctx->guilty);
	}
	if (!slot->live) {
		struct i915_gem_vm *vm = i915_context_vm(ctx);
		if (!vm)
			return -ENOMEM;
		struct cs_sched *sched = i915_exec_sched(ctx->i915, slot->id);
		if (!sched)
			return -EINVAL;
		slot->lrc = i915_lrc_create(ctx->i915, slot->id, vm->ppgtt);
		if (!slot->lrc)
			return -ENOMEM;
		cs_entity_init(&slot->entity, sched, sched_priority(ctx->priority), &ctx->guilty);
		slot->live = true;
	}
	*out = slot;
	return 0;
}

int i915_driver_open(struct drm_device *dev, struct drm_file *file)
{
	struct i915_file *f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->dev = dev;
	/* Id 0 is the default context every file has; created ones start at 1, as the kernel's. */
	idr_init(&f->contexts, 1, INT32_MAX);
	idr_init(&f->vms, 1, INT32_MAX);
	f->default_context = context_create(f, false);
	if (!f->default_context) {
		idr_destroy(&f->contexts);
		idr_destroy(&f->vms);
		free(f);
		return -ENOMEM;
	}
	f->default_context->finalized = true;
	file->driver_priv = f;
	return 0;
}

static void close_context(uint32_t id, void *ptr, void *data)
{
	(void)id;
	(void)data;
	context_close(ptr);
}

static void close_vm(uint32_t id, void *ptr, void *data)
{
	(void)id;
	(void)data;
	i915_gem_vm_put(ptr);
}

void i915_driver_postclose(struct drm_device *dev, struct drm_file *file)
{
	(void)dev;
	struct i915_file *f = file->driver_priv;
	if (!f)
		return;
	idr_for_each(&f->contexts, close_context, NULL);
	idr_destroy(&f->contexts);
	context_close(f->default_context);
	idr_for_each(&f->vms, close_vm, NULL);
	idr_destroy(&f->vms);
	for (unsigned i = 0; i < I915_THROTTLE_SLOTS; i++)
		drm_fence_put(f->recent[i]);
	free(f);
	file->driver_priv = NULL;
}

static void close_in_vm(struct i915_gem_vm *vm, struct drm_gem_object *obj)
{
	struct i915_vma *v = vm ? i915_gem_vm_lookup(vm, obj) : NULL;
	if (v)
		i915_gem_vm_unbind(vm, v);
}

static void close_in_context(uint32_t id, void *ptr, void *data)
{
	(void)id;
	close_in_vm(((struct i915_context *)ptr)->vm, data);
}

static void close_in_vm_id(uint32_t id, void *ptr, void *data)
{
	(void)id;
	close_in_vm(ptr, data);
}

void i915_gem_close_object(struct drm_file *file, struct drm_gem_object *obj)
{
	struct i915_file *f = file->driver_priv;
	if (!f)
		return; /* the file is closing: its VMs are already gone */
	close_in_vm(f->default_context->vm, obj);
	idr_for_each(&f->contexts, close_in_context, obj);
	idr_for_each(&f->vms, close_in_vm_id, obj);
}

/* ---- parameters ---- */

static int validate_priority(const struct drm_i915_gem_context_param *args, struct drm_call *call)
{
	int64_t prio = (int64_t)args->value;
	if (args->size)
		return -EINVAL;
	if (prio > I915_CONTEXT_MAX_USER_PRIORITY || prio < I915_CONTEXT_MIN_USER_PRIORITY)
		return -EINVAL;
	/* Above normal is for privileged callers (CAP_SYS_NICE in the kernel). */
	if (prio > I915_CONTEXT_DEFAULT_PRIORITY && !drm_call_privileged(call))
		return -EPERM;
	return 0;
}

static int set_engines(struct i915_context *ctx, const struct drm_i915_gem_context_param *args, struct drm_call *call)
{
	struct i915_device *i915 = ctx->i915;
	const size_t hdr = sizeof(struct i915_context_param_engines);
	const size_t each = sizeof(struct i915_engine_class_instance);
	if (ctx->user_engines)
		return -EINVAL; /* set once */
	if (args->size < hdr || (args->size - hdr) % each)
		return -EINVAL;
	size_t n = (args->size - hdr) / each;
	if (n > I915_EXEC_RING_MASK + 1)
		return -EINVAL;
	struct i915_ctx_engine *engines = calloc(n ? n : 1, sizeof(*engines));
	if (!engines)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct i915_engine_class_instance ci;
		if (drm_copy_from_user(call, &ci, args->value + hdr + i * each, each)) {
			free(engines);
			return -EFAULT;
		}
		if (ci.engine_class == (uint16_t)I915_ENGINE_CLASS_INVALID &&
		    ci.engine_instance == (uint16_t)I915_ENGINE_CLASS_INVALID_NONE)
			continue; /* an empty slot */
		int id = engine_lookup_user(i915, ci.engine_class, ci.engine_instance);
		if (id < 0) {
			free(engines);
			return -ENOENT;
		}
		engines[i].valid = true;
		engines[i].id = (enum i915_engine_id)id;
	}
	/* Load balancing, bonds and parallel submission: none is offered (one engine per class). */
	uint64_t ext;
	if (drm_copy_from_user(call, &ext, args->value + offsetof(struct i915_context_param_engines, extensions),
			       sizeof(ext))) {
		free(engines);
		return -EFAULT;
	}
	int err = i915_user_extensions(call, ext, NULL, 0, NULL);
	if (err) {
		free(engines);
		return err;
	}
	free(ctx->engines);
	ctx->engines = engines;
	ctx->num_engines = (unsigned)n;
	ctx->user_engines = true;
	return 0;
}

static int set_vm(struct i915_context *ctx, const struct drm_i915_gem_context_param *args)
{
	if (args->size)
		return -EINVAL;
	if (args->value >> 32)
		return -ENOENT;
	struct i915_gem_vm *vm = idr_find(&ctx->file->vms, (uint32_t)args->value);
	if (!vm)
		return -ENOENT;
	i915_gem_vm_put(ctx->vm);
	ctx->vm = i915_gem_vm_get(vm);
	return 0;
}

/* The parameters a context takes (the kernel's set_proto_ctx_param and ctx_setparam in one). */
static int context_setparam(struct i915_context *ctx, const struct drm_i915_gem_context_param *args,
			    struct drm_call *call)
{
	switch (args->param) {
	case I915_CONTEXT_PARAM_NO_ERROR_CAPTURE:
		if (args->size)
			return -EINVAL;
		ctx->no_error_capture = args->value != 0;
		return 0;
	case I915_CONTEXT_PARAM_BANNABLE:
		if (args->size)
			return -EINVAL;
		/* Opting out of banning is for privileged callers. */
		if (!args->value && !drm_call_privileged(call))
			return -EPERM;
		ctx->bannable = args->value != 0;
		return 0;
	case I915_CONTEXT_PARAM_RECOVERABLE:
		if (args->size)
			return -EINVAL;
		ctx->recoverable = args->value != 0;
		return 0;
	case I915_CONTEXT_PARAM_PRIORITY: {
		int err = validate_priority(args, call);
		if (err)
			return err;
		ctx->priority = (int)(int64_t)args->value;
		for (unsigned i = 0; i < ctx->num_engines; i++)
			if (ctx->engines[i].live)
				cs_entity_set_priority(&ctx->engines[i].entity, sched_priority(ctx->priority));
		return 0;
	}
	case I915_CONTEXT_PARAM_SSEU:
		/* Reconfiguring slices per context is an Icelake feature. */
		if (args->size < sizeof(struct drm_i915_gem_context_param_sseu))
			return -EINVAL;
		return -ENODEV;
	case I915_CONTEXT_PARAM_VM:
		return ctx->finalized ? -EINVAL : set_vm(ctx, args);
	case I915_CONTEXT_PARAM_ENGINES:
		return ctx->finalized ? -EINVAL : set_engines(ctx, args, call);
	case I915_CONTEXT_PARAM_PERSISTENCE:
		if (args->size)
			return -EINVAL;
		/* Cancelling a context's work on close needs preempt-to-idle, which is not offered:
		 * contexts stay persistent (their submitted work runs to the end). */
		if (!args->value)
			return -ENODEV;
		ctx->persistent = true;
		return 0;
	case I915_CONTEXT_PARAM_PROTECTED_CONTENT:
		return -ENODEV; /* no PXP on this device */
	default:
		/* BAN_PERIOD, NO_ZEROMAP, RINGSIZE (gone from the kernel), GTT_SIZE and unknown ones. */
		return -EINVAL;
	}
}

struct create_ext {
	struct i915_context *ctx;
};

static int create_setparam(struct drm_call *call, uint64_t uptr, void *data)
{
	struct create_ext *c = data;
	struct drm_i915_gem_context_create_ext_setparam local;
	if (drm_copy_from_user(call, &local, uptr, sizeof(local)))
		return -EFAULT;
	if (local.param.ctx_id)
		return -EINVAL;
	return context_setparam(c->ctx, &local.param, call);
}

int i915_context_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	struct drm_i915_gem_context_create_ext *args = data;
	struct i915_file *f = file->driver_priv;
	if (args->flags & I915_CONTEXT_CREATE_FLAGS_UNKNOWN)
		return -EINVAL;
	struct i915_context *ctx =
		context_create(f, (args->flags & I915_CONTEXT_CREATE_FLAGS_SINGLE_TIMELINE) != 0);
	if (!ctx)
		return -ENOMEM;
	if (args->flags & I915_CONTEXT_CREATE_FLAGS_USE_EXTENSIONS) {
		/* CLONE is gone from the kernel: only SETPARAM is known. */
		static const i915_user_extension_fn tbl[] = {[I915_CONTEXT_CREATE_EXT_SETPARAM] = create_setparam};
		struct create_ext c = {ctx};
		int err = i915_user_extensions(call, args->extensions, tbl, sizeof(tbl) / sizeof(tbl[0]), &c);
		if (err) {
			context_close(ctx);
			return err;
		}
	}
	int64_t id = idr_alloc(&f->contexts, ctx);
	if (id < 0) {
		context_close(ctx);
		return (int)id;
	}
	args->ctx_id = (uint32_t)id;
	return 0;
}

int i915_context_destroy_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)call;
	struct drm_i915_gem_context_destroy *args = data;
	struct i915_file *f = file->driver_priv;
	if (args->pad)
		return -EINVAL;
	if (args->ctx_id == 0)
		return -ENOENT; /* the default context cannot be destroyed */
	struct i915_context *ctx = idr_remove(&f->contexts, args->ctx_id);
	if (!ctx)
		return -ENOENT;
	context_close(ctx);
	return 0;
}

/* SSEU of one of the context's engines: the device's whole configuration (gen9 does not split it). */
static int get_sseu(struct i915_context *ctx, struct drm_i915_gem_context_param *args, struct drm_call *call)
{
	struct drm_i915_gem_context_param_sseu sseu;
	if (args->size == 0)
		goto out;
	if (args->size < sizeof(sseu))
		return -EINVAL;
	if (drm_copy_from_user(call, &sseu, args->value, sizeof(sseu)))
		return -EFAULT;
	if (sseu.rsvd)
		return -EINVAL;
	if (sseu.flags & ~(uint32_t)I915_CONTEXT_SSEU_FLAG_ENGINE_INDEX)
		return -EINVAL;
	/* An index into the engine map exactly when the context has one. */
	if (!!(sseu.flags & I915_CONTEXT_SSEU_FLAG_ENGINE_INDEX) != ctx->user_engines)
		return -EINVAL;
	if (ctx->user_engines) {
		if (sseu.engine.engine_instance >= ctx->num_engines || !ctx->engines[sseu.engine.engine_instance].valid)
			return -EINVAL;
	} else if (engine_lookup_user(ctx->i915, sseu.engine.engine_class, sseu.engine.engine_instance) < 0) {
		return -EINVAL;
	}
	sseu.slice_mask = ctx->i915->slice_mask;
	sseu.subslice_mask = ctx->i915->subslice_mask;
	sseu.min_eus_per_subslice = (uint16_t)ctx->i915->eu_per_subslice;
	sseu.max_eus_per_subslice = (uint16_t)ctx->i915->eu_per_subslice;
	if (drm_copy_to_user(call, args->value, &sseu, sizeof(sseu)))
		return -EFAULT;
out:
	args->size = sizeof(sseu);
	return 0;
}

int i915_context_getparam_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	struct drm_i915_gem_context_param *args = data;
	struct i915_context *ctx = i915_context_lookup(file, args->ctx_id);
	if (!ctx)
		return -ENOENT;
	switch (args->param) {
	case I915_CONTEXT_PARAM_GTT_SIZE:
		args->size = 0;
		args->value = I915_VM_TOTAL; /* the 4-level PPGTT each context gets */
		return 0;
	case I915_CONTEXT_PARAM_NO_ERROR_CAPTURE:
		args->size = 0;
		args->value = ctx->no_error_capture;
		return 0;
	case I915_CONTEXT_PARAM_BANNABLE:
		args->size = 0;
		args->value = ctx->bannable;
		return 0;
	case I915_CONTEXT_PARAM_RECOVERABLE:
		args->size = 0;
		args->value = ctx->recoverable;
		return 0;
	case I915_CONTEXT_PARAM_PRIORITY:
		args->size = 0;
		args->value = (uint64_t)(int64_t)ctx->priority;
		return 0;
	case I915_CONTEXT_PARAM_PERSISTENCE:
		args->size = 0;
		args->value = ctx->persistent;
		return 0;
	case I915_CONTEXT_PARAM_PROTECTED_CONTENT:
		args->size = 0;
		args->value = 0;
		return 0;
	case I915_CONTEXT_PARAM_SSEU:
		return get_sseu(ctx, args, call);
	case I915_CONTEXT_PARAM_VM: {
		/* As the kernel: a new id of the file for the context's VM, each time. */
		struct i915_gem_vm *vm = i915_context_vm(ctx);
		if (!vm)
			return -ENOMEM;
		int64_t id = idr_alloc(&ctx->file->vms, vm);
		if (id < 0)
			return (int)id;
		i915_gem_vm_get(vm);
		args->size = 0;
		args->value = (uint64_t)id;
		return 0;
	}
	default:
		/* ENGINES, RINGSIZE, BAN_PERIOD, NO_ZEROMAP: the kernel no longer answers them. */
		return -EINVAL;
	}
}

int i915_context_setparam_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	struct drm_i915_gem_context_param *args = data;
	struct i915_context *ctx = context_find(file, args->ctx_id);
	if (!ctx)
		return -ENOENT;
	return context_setparam(ctx, args, call);
}

int i915_get_reset_stats_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_i915_reset_stats *args = data;
	if (args->flags || args->pad)
		return -EINVAL;
	struct i915_context *ctx = i915_context_lookup(file, args->ctx_id);
	if (!ctx)
		return -ENOENT;
	/* The device-wide count is for privileged callers only, as the kernel's. */
	args->reset_count = drm_call_privileged(call) ? i915_exec_reset_count(dev->dev_private) : 0;
	args->batch_active = ctx->guilty_count;
	args->batch_pending = ctx->pending_count;
	return 0;
}

/* ---- VM_CREATE / VM_DESTROY ---- */

int i915_vm_create_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_i915_gem_vm_control *args = data;
	struct i915_file *f = file->driver_priv;
	if (args->flags)
		return -EINVAL;
	struct i915_gem_vm *vm = i915_gem_vm_create(dev->dev_private);
	if (!vm)
		return -ENOMEM;
	/* No VM extension is known: any node is refused. */
	int err = i915_user_extensions(call, args->extensions, NULL, 0, NULL);
	int64_t id = err ? err : idr_alloc(&f->vms, vm);
	if (id < 0) {
		i915_gem_vm_put(vm);
		return (int)id;
	}
	args->vm_id = (uint32_t)id;
	return 0;
}

int i915_vm_destroy_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)call;
	struct drm_i915_gem_vm_control *args = data;
	struct i915_file *f = file->driver_priv;
	if (args->flags || args->extensions)
		return -EINVAL;
	struct i915_gem_vm *vm = args->vm_id ? idr_remove(&f->vms, args->vm_id) : NULL;
	if (!vm)
		return -ENOENT;
	i915_gem_vm_put(vm);
	return 0;
}
