/*
 * EXECBUFFER2(_WR): the kernel's checks, binding each object into the
 * context's VM (soft-pinned where asked, otherwise at free VA reported back
 * through exec_object2.offset), relocations patched through the daemon's
 * mapping of the object, implicit sync on the objects' reservations, sync_file
 * in/out fences, syncobj fence arrays and timeline points, and one scheduler
 * job per call on the engine's cs_sched. Also BUSY and WAIT on those fences,
 * and THROTTLE.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <drm.h>
#include <i915_drm.h>

#include "i915.h"
#include "i915_uapi.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"
#include "redox-drm/fence_wait.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"
#include "redox-drm/sync_file.h"
#include "redox-drm/syncobj.h"

/* How long a batch may run before its engine is reset (the kernel's heartbeat would catch it). */
#define I915_JOB_TIMEOUT_MS_DEFAULT 10000u
/* The domains a relocation may name (the GPU's caches). */
#define I915_GEM_GPU_DOMAINS \
	(I915_GEM_DOMAIN_RENDER | I915_GEM_DOMAIN_SAMPLER | I915_GEM_DOMAIN_COMMAND | I915_GEM_DOMAIN_INSTRUCTION | \
	 I915_GEM_DOMAIN_VERTEX)
/* Requests an engine's scheduler keeps on the ring at once. */
#define I915_SCHED_CREDITS 32u

struct i915_exec {
	struct i915_device *i915;
	struct cs_sched sched[I915_NUM_ENGINES];
	bool live[I915_NUM_ENGINES];
	uint32_t reset_count;
};

struct i915_job {
	struct cs_job base;
	struct i915_exec *exec;
	struct i915_context *ctx; /* a reference */
	struct i915_lrc *lrc;
	enum i915_engine_id engine;
	uint64_t batch_va;
	uint32_t batch_len;
};

static int i915_run_job(struct cs_job *job, struct drm_fence **hw_fence)
{
	struct i915_job *j = (struct i915_job *)job;
	return i915_request_submit(j->lrc, j->batch_va, j->batch_len, hw_fence);
}

static enum cs_timeout_status i915_timedout_job(struct cs_job *job)
{
	struct i915_job *j = (struct i915_job *)job;
	struct i915_exec *x = j->exec;
	log_warn("i915: %s hung (context batch at 0x%llx), resetting the engine", x->sched[j->engine].name,
		 (unsigned long long)j->batch_va);
	int err = i915_engine_reset(x->i915, j->engine);
	if (err)
		log_error("i915: %s reset failed (%d)", x->sched[j->engine].name, err);
	x->reset_count++;
	/* The hung batch is its context's; the innocent ones on the ring run again (not lost). */
	j->ctx->guilty_count++;
	return CS_TIMEOUT_RESET;
}

static void i915_free_job(struct cs_job *job)
{
	struct i915_job *j = (struct i915_job *)job;
	/* The engine stopped on this batch (a command-streamer error, e.g. a page fault) and was
	 * reset from its error interrupt: a hang of this context too. */
	if (job->finished && job->finished->error == -EIO) {
		j->exec->reset_count++;
		j->ctx->guilty_count++;
	}
	i915_context_put(j->ctx);
	free(j);
}

static const struct cs_sched_ops i915_sched_ops = {
	.run_job = i915_run_job,
	.timedout_job = i915_timedout_job,
	.free_job = i915_free_job,
};

int i915_exec_init(struct drm_device *dev, struct i915_device *i915)
{
	struct i915_exec *x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->i915 = i915;
	uint64_t timeout_ms = I915_JOB_TIMEOUT_MS_DEFAULT;
	/* Tests shorten it to see a hang recovered in reasonable time. */
	const char *env = getenv("REDOX_DRM_I915_JOB_TIMEOUT_MS");
	if (env && *env)
		timeout_ms = strtoull(env, NULL, 10);
	for (int id = 0; id < I915_NUM_ENGINES && dev->loop; id++) {
		struct i915_engine *e = i915_engine_get(i915, (enum i915_engine_id)id);
		if (!e || !e->ready)
			continue; /* an engine that did not come up is not offered */
		if (cs_sched_init(&x->sched[id], &i915_sched_ops, dev->loop, e->name, I915_SCHED_CREDITS,
				  timeout_ms * 1000000ull) == 0)
			x->live[id] = true;
	}
	i915->exec = x;
	return 0;
}

void i915_exec_fini(struct i915_device *i915)
{
	struct i915_exec *x = i915->exec;
	if (!x)
		return;
	for (int id = 0; id < I915_NUM_ENGINES; id++)
		if (x->live[id])
			cs_sched_fini(&x->sched[id]);
	free(x);
	i915->exec = NULL;
}

struct cs_sched *i915_exec_sched(struct i915_device *i915, enum i915_engine_id id)
{
	struct i915_exec *x = i915->exec;
	return x && (int)id >= 0 && id < I915_NUM_ENGINES && x->live[id] ? &x->sched[id] : NULL;
}

uint32_t i915_exec_reset_count(struct i915_device *i915)
{
	return i915->exec ? i915->exec->reset_count : 0;
}

int i915_exec_fence_class(struct i915_device *i915, struct drm_fence *fence)
{
	struct i915_exec *x = i915->exec;
	if (!x || !cs_fence_is_sched(fence))
		return -1;
	/* A scheduler's finished fences carry its name as their timeline. */
	const char *tl = drm_fence_timeline_name(fence);
	for (int id = 0; id < I915_NUM_ENGINES; id++) {
		if (!x->live[id] || strcmp(tl, x->sched[id].name))
			continue;
		struct i915_engine *e = i915_engine_get(i915, (enum i915_engine_id)id);
		return e ? e->uabi_class : -1;
	}
	return -1;
}

/* ---- execbuf state ---- */

/* 48-bit addresses in their canonical form (bit 47 sign-extended), as clients see them. */
static uint64_t canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16);
}

static uint64_t noncanonical(uint64_t a)
{
	return a & ((1ull << 48) - 1);
}

struct eb_fence {
	struct drm_syncobj *syncobj; /* a reference */
	struct drm_fence *wait;      /* a reference, or NULL */
	uint64_t point;
	uint32_t flags;
};

/* Object lists up to this long live in struct eb itself. */
#define EB_SMALL 8u

struct eb_obj {
	struct drm_i915_gem_exec_object2 entry;
	struct drm_gem_object *obj; /* a reference */
	struct i915_vma *vma;
	uint64_t size; /* what it takes in the VM (pad_to_size included) */
	bool write, moved;
};

struct eb {
	struct drm_device *dev;
	struct drm_file *file;
	struct drm_call *call;
	struct drm_i915_gem_execbuffer2 *args;
	struct eb_obj *objs;
	uint32_t count;
	struct eb_fence *fences;
	unsigned nfences, fences_cap;
	struct drm_fence *in_fence;
	struct i915_context *ctx;
	struct i915_gem_vm *vm;
	bool moved;
	struct drm_fence *wait_unbind; /* a soft-pinned range is still mapped until this signals */
	/* Open-addressed indexes (entry + 1; 0 empty): by object (duplicates) and by handle (relocations). */
	uint32_t *by_obj, *by_handle;
	uint32_t mask;
	bool small; /* the lists are the caller's struct eb_small, not allocated */
};

/* Storage for the common short lists, so they cost no allocation (zeroed as far as used). */
struct eb_small {
	struct eb_obj objs[EB_SMALL];
	uint32_t index[2][2 * EB_SMALL];
};

static uint32_t hash64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return (uint32_t)k;
}

/* Finds the slot of key in table (where it is, or the empty one where it would go). */
static uint32_t *index_slot(struct eb *eb, uint32_t *table, uint64_t key, bool by_obj)
{
	for (uint32_t h = hash64(key) & eb->mask;; h = (h + 1) & eb->mask) {
		uint32_t v = table[h];
		if (!v)
			return &table[h];
		const struct eb_obj *o = &eb->objs[v - 1];
		if (by_obj ? (uint64_t)(uintptr_t)o->obj == key : o->entry.handle == key)
			return &table[h];
	}
}

static void eb_release(struct eb *eb)
{
	for (uint32_t i = 0; eb->objs && i < eb->count; i++)
		drm_gem_object_put(eb->objs[i].obj);
	if (!eb->small) {
		free(eb->objs);
		free(eb->by_obj);
		free(eb->by_handle);
	}
	for (unsigned i = 0; i < eb->nfences; i++) {
		drm_syncobj_put(eb->fences[i].syncobj);
		drm_fence_put(eb->fences[i].wait);
	}
	free(eb->fences);
	drm_fence_put(eb->in_fence);
	drm_fence_put(eb->wait_unbind);
}

struct fence_wait;
static int park_on_fence(struct drm_device *dev, struct drm_call *call, struct drm_fence *fence, uint64_t deadline_ns,
			 void (*done)(struct fence_wait *w, int ret));

/* One syncobj to wait on and/or signal (FENCE_ARRAY or the timeline extension). */
static int eb_add_fence(struct eb *eb, uint32_t handle, uint32_t flags, uint64_t point)
{
	if (flags & __I915_EXEC_FENCE_UNKNOWN_FLAGS)
		return -EINVAL;
	struct drm_syncobj *syncobj = drm_syncobj_find(eb->file, handle);
	if (!syncobj)
		return -ENOENT;
	struct drm_fence *fence = drm_syncobj_fence_get(syncobj);
	if (!fence && flags && !(flags & I915_EXEC_FENCE_SIGNAL)) {
		drm_syncobj_put(syncobj);
		return -EINVAL;
	}
	if (fence && point) {
		int err = drm_fence_chain_find_seqno(&fence, point);
		if (err && !(flags & I915_EXEC_FENCE_SIGNAL)) {
			drm_fence_put(fence);
			drm_syncobj_put(syncobj);
			return err;
		}
		if (err) {
			drm_fence_put(fence);
			fence = NULL;
		}
	}
	/* A point that signalled long ago and was collected: nothing to wait for. */
	if (!fence && !(flags & I915_EXEC_FENCE_SIGNAL)) {
		drm_syncobj_put(syncobj);
		return 0;
	}
	/* Waiting for and signalling one timeline point would break the timeline. */
	if (point && (flags & I915_EXEC_FENCE_SIGNAL) && (flags & I915_EXEC_FENCE_WAIT)) {
		drm_fence_put(fence);
		drm_syncobj_put(syncobj);
		return -EINVAL;
	}
	if (eb->nfences == eb->fences_cap) {
		unsigned n = eb->fences_cap ? eb->fences_cap * 2 : 8;
		struct eb_fence *f = realloc(eb->fences, n * sizeof(*f));
		if (!f) {
			drm_fence_put(fence);
			drm_syncobj_put(syncobj);
			return -ENOMEM;
		}
		eb->fences = f;
		eb->fences_cap = n;
	}
	if (!(flags & I915_EXEC_FENCE_WAIT)) {
		drm_fence_put(fence);
		fence = NULL;
	}
	eb->fences[eb->nfences++] = (struct eb_fence){syncobj, fence, point, flags};
	return 0;
}

static int eb_fence_array(struct eb *eb)
{
	const struct drm_i915_gem_execbuffer2 *args = eb->args;
	for (uint32_t i = 0; i < args->num_cliprects; i++) {
		struct drm_i915_gem_exec_fence f;
		if (drm_copy_from_user(eb->call, &f, args->cliprects_ptr + (uint64_t)i * sizeof(f), sizeof(f)))
			return -EFAULT;
		int err = eb_add_fence(eb, f.handle, f.flags, 0);
		if (err)
			return err;
	}
	return 0;
}

static int eb_timeline_fences(struct drm_call *call, uint64_t uptr, void *data)
{
	struct eb *eb = data;
	struct drm_i915_gem_execbuffer_ext_timeline_fences t;
	if (drm_copy_from_user(call, &t, uptr, sizeof(t)))
		return -EFAULT;
	if (t.fence_count > UINT32_MAX)
		return -EINVAL;
	for (uint64_t i = 0; i < t.fence_count; i++) {
		struct drm_i915_gem_exec_fence f;
		uint64_t point;
		if (drm_copy_from_user(call, &f, t.handles_ptr + i * sizeof(f), sizeof(f)) ||
		    drm_copy_from_user(call, &point, t.values_ptr + i * sizeof(point), sizeof(point)))
			return -EFAULT;
		int err = eb_add_fence(eb, f.handle, f.flags, point);
		if (err)
			return err;
	}
	return 0;
}

/* The object list: handles (or nothing but indices for HANDLE_LUT), flags, duplicates. */
static int eb_lookup_objects(struct eb *eb)
{
	const struct drm_i915_gem_execbuffer2 *args = eb->args;
	for (uint32_t i = 0; i < eb->count; i++) {
		struct eb_obj *o = &eb->objs[i];
		struct drm_i915_gem_exec_object2 *e = &o->entry;
		if (drm_copy_from_user(eb->call, e, args->buffers_ptr + (uint64_t)i * sizeof(*e), sizeof(*e)))
			return -EFAULT;
	}
	for (uint32_t i = 0; i < eb->count; i++) {
		struct eb_obj *o = &eb->objs[i];
		struct drm_i915_gem_exec_object2 *e = &o->entry;
		o->obj = drm_gem_object_lookup(eb->file, e->handle);
		if (!o->obj)
			return -ENOENT;
		/* Full PPGTT: nothing is placed in the global GTT on a client's behalf. */
		if (e->flags & (__EXEC_OBJECT_UNKNOWN_FLAGS | EXEC_OBJECT_NEEDS_GTT))
			return -EINVAL;
		if (e->alignment & (e->alignment - 1))
			return -EINVAL;
		if ((e->flags & EXEC_OBJECT_PINNED) && e->offset != canonical(e->offset & ~4095ull))
			return -EINVAL;
		if (e->flags & EXEC_OBJECT_PAD_TO_SIZE) {
			if (e->pad_to_size & 4095)
				return -EINVAL;
		} else {
			e->pad_to_size = 0;
		}
		e->offset = noncanonical(e->offset);
		o->size = o->obj->size;
		if (e->pad_to_size > o->size)
			o->size = e->pad_to_size;
		o->write = (e->flags & EXEC_OBJECT_WRITE) != 0;
		/* Each object once: a second entry for it would be bound twice. */
		uint32_t *slot = index_slot(eb, eb->by_obj, (uintptr_t)o->obj, true);
		if (*slot)
			return -EINVAL;
		*slot = i + 1;
		*index_slot(eb, eb->by_handle, e->handle, false) = i + 1;
	}
	return 0;
}

static bool ranges_overlap(uint64_t a, uint64_t asz, uint64_t b, uint64_t bsz)
{
	return a < b + bsz && b < a + asz;
}

/* Makes room at [va, va+size) for a soft-pinned object: idle bindings of other objects move away. */
static int eb_evict_for(struct eb *eb, uint64_t va, uint64_t size, const struct drm_gem_object *keep)
{
	struct i915_gem_vm *vm = eb->vm;
	for (unsigned b = 0; b < vm->nbuckets; b++) {
		for (struct i915_vma *v = vm->buckets[b], *next; v; v = next) {
			next = v->next;
			if (v->obj == keep || !ranges_overlap(v->va, v->size, va, size))
				continue;
			for (uint32_t i = 0; i < eb->count; i++)
				if (eb->objs[i].vma == v)
					return -EINVAL; /* two objects of this call pinned on top of each other */
			i915_gem_vm_unbind(vm, v);
		}
	}
	return 0;
}

static int eb_place(struct eb *eb, struct eb_obj *o)
{
	struct drm_i915_gem_exec_object2 *e = &o->entry;
	uint64_t align = e->alignment > 4096 ? e->alignment : 4096;
	uint64_t limit = (e->flags & EXEC_OBJECT_SUPPORTS_48B_ADDRESS) ? 1ull << 48 : 1ull << 32;
	struct i915_vma *v = i915_gem_vm_lookup(eb->vm, o->obj);
	int err;
	if (e->flags & EXEC_OBJECT_PINNED) {
		uint64_t want = e->offset;
		if (want % align || want > limit || o->size > limit - want)
			return -EINVAL;
		/* The padding only keeps others out of the range in this call: the binding is the object's
		 * own size, so unbinding it never cuts into a neighbour placed there later. */
		if (v && v->va == want) {
			o->vma = v;
			/* Bindings never overlap: only padding can reach into a neighbour. */
			return o->size > o->obj->size ? eb_evict_for(eb, want, o->size, o->obj) : 0;
		}
		if (v)
			i915_gem_vm_unbind(eb->vm, v);
		err = eb_evict_for(eb, want, o->size, o->obj);
		if (err)
			return err;
		o->vma = i915_gem_vm_bind(eb->vm, o->obj, want, o->obj->size, &err);
		/* Still mapped for a job that has not finished: the call waits for it (parked). */
		if (!o->vma && err == -ENOSPC)
			eb->wait_unbind = i915_gem_vm_pending_unbind(eb->vm, want, o->obj->size);
		return o->vma ? 0 : err;
	}
	if (v && v->va % align == 0 && v->va + v->size <= limit && v->size >= o->size) {
		o->vma = v;
		return 0;
	}
	if (v)
		i915_gem_vm_unbind(eb->vm, v);
	uint64_t va;
	err = i915_vm_alloc_va(eb->vm->ppgtt, o->size, align, &va);
	if (err)
		return err;
	if (va + o->size > limit) {
		i915_vm_unbind(eb->vm->ppgtt, va, o->size);
		return -ENOSPC;
	}
	o->vma = i915_gem_vm_bind(eb->vm, o->obj, va, o->size, &err);
	if (!o->vma) {
		i915_vm_unbind(eb->vm->ppgtt, va, o->size);
		return err;
	}
	return 0;
}

/* Soft-pinned objects first, so free-VA placement never takes their place. */
static int eb_bind(struct eb *eb)
{
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < eb->count; i++) {
			struct eb_obj *o = &eb->objs[i];
			if (!!(o->entry.flags & EXEC_OBJECT_PINNED) != (pass == 0))
				continue;
			int err = eb_place(eb, o);
			if (err)
				return err;
			if (o->vma->va != o->entry.offset) {
				o->entry.offset = o->vma->va;
				o->moved = eb->moved = true;
			}
		}
	}
	return 0;
}

static struct eb_obj *eb_target(struct eb *eb, uint32_t handle)
{
	if (eb->args->flags & I915_EXEC_HANDLE_LUT)
		return handle < eb->count ? &eb->objs[handle] : NULL;
	uint32_t v = *index_slot(eb, eb->by_handle, handle, false);
	return v ? &eb->objs[v - 1] : NULL;
}

static int eb_relocate_one(struct eb *eb, struct eb_obj *o, struct drm_i915_gem_relocation_entry *r, bool *update)
{
	struct eb_obj *t = eb_target(eb, r->target_handle);
	*update = false;
	if (!t)
		return -ENOENT;
	/* At most one write domain, and only GPU domains. */
	if (r->write_domain & (r->write_domain - 1))
		return -EINVAL;
	if ((r->write_domain | r->read_domains) & ~(uint32_t)I915_GEM_GPU_DOMAINS)
		return -EINVAL;
	if (r->write_domain)
		t->write = true;
	uint64_t target = canonical(t->vma->va);
	if (target == r->presumed_offset)
		return 0; /* the client already wrote the right address */
	if (r->offset > o->obj->size - 8 || (r->offset & 3))
		return -EINVAL;
	/* Gen8+: a 64-bit address, delta signed. */
	uint64_t value = canonical(t->vma->va + (uint64_t)(int64_t)(int32_t)r->delta);
	memcpy((uint8_t *)o->obj->vaddr + r->offset, &value, sizeof(value));
	r->presumed_offset = target;
	*update = true;
	return 0;
}

static int eb_relocate(struct eb *eb)
{
	/* NO_RELOC: the client's offsets are right unless something moved. */
	if ((eb->args->flags & I915_EXEC_NO_RELOC) && !eb->moved)
		return 0;
	for (uint32_t i = 0; i < eb->count; i++) {
		struct eb_obj *o = &eb->objs[i];
		for (uint32_t k = 0; k < o->entry.relocation_count; k++) {
			struct drm_i915_gem_relocation_entry r;
			uint64_t at = o->entry.relocs_ptr + (uint64_t)k * sizeof(r);
			if (drm_copy_from_user(eb->call, &r, at, sizeof(r)))
				return -EFAULT;
			bool update;
			int err = eb_relocate_one(eb, o, &r, &update);
			if (err)
				return err;
			if (update)
				drm_copy_to_user(eb->call, at + offsetof(struct drm_i915_gem_relocation_entry, presumed_offset),
						 &r.presumed_offset, sizeof(r.presumed_offset));
		}
	}
	return 0;
}

/* New offsets go back to the client's list, whatever happens after (as the kernel). */
static void eb_write_offsets(struct eb *eb)
{
	for (uint32_t i = 0; i < eb->count; i++) {
		if (!eb->objs[i].moved)
			continue;
		uint64_t off = canonical(eb->objs[i].entry.offset);
		drm_copy_to_user(eb->call,
				 eb->args->buffers_ptr + (uint64_t)i * sizeof(struct drm_i915_gem_exec_object2) +
					 offsetof(struct drm_i915_gem_exec_object2, offset),
				 &off, sizeof(off));
	}
}

static int eb_add_dependencies(struct eb *eb, struct cs_job *job)
{
	int err;
	if (eb->in_fence && (err = cs_job_add_dependency(job, drm_fence_get(eb->in_fence))))
		return err;
	for (unsigned i = 0; i < eb->nfences; i++)
		if (eb->fences[i].wait && (err = cs_job_add_dependency(job, drm_fence_get(eb->fences[i].wait))))
			return err;
	if (eb->ctx->single_timeline && eb->ctx->last_fence &&
	    (err = cs_job_add_dependency(job, drm_fence_get(eb->ctx->last_fence))))
		return err;
	/* Implicit sync: a writer waits for everyone, a reader for the last writers. */
	for (uint32_t i = 0; i < eb->count; i++) {
		struct eb_obj *o = &eb->objs[i];
		if (o->entry.flags & EXEC_OBJECT_ASYNC)
			continue;
		struct drm_fence *f = drm_gem_resv_get_fence(o->obj, !o->write, &err);
		if (err)
			return err;
		if (f && (err = cs_job_add_dependency(job, f)))
			return err;
	}
	return 0;
}

int i915_gem_execbuffer2_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_i915_gem_execbuffer2 *args = data;
	struct i915_device *i915 = dev->dev_private;
	const uint64_t illegal = __I915_EXEC_UNKNOWN_FLAGS | I915_EXEC_CONSTANTS_MASK | I915_EXEC_RESOURCE_STREAMER;

	if (args->buffer_count < 1 || args->buffer_count > (1u << 18))
		return -EINVAL;
	if (args->flags & illegal)
		return -EINVAL;
	/* Kernel clipping was a DRI1 feature: cliprects_ptr means something else or nothing. */
	if (!(args->flags & (I915_EXEC_FENCE_ARRAY | I915_EXEC_USE_EXTENSIONS)) &&
	    (args->num_cliprects || args->cliprects_ptr))
		return -EINVAL;
	if (args->DR4 == 0xffffffffu)
		args->DR4 = 0; /* what old UXA sends: tolerated */
	if (args->DR1 || args->DR4)
		return -EINVAL;
	if ((args->batch_start_offset | args->batch_len) & 7)
		return -EINVAL;
	if (args->flags & I915_EXEC_SECURE)
		return -EPERM; /* secure batches predate gen6 */

	struct eb eb = {.dev = dev, .file = file, .call = call, .args = args, .count = args->buffer_count};
	int err = 0;
	int out_fd = -1;
	struct i915_job *job = NULL;
	eb.mask = 1;
	while (eb.mask < 2 * eb.count)
		eb.mask <<= 1;
	struct eb_small small;
	if (eb.count <= EB_SMALL) {
		eb.small = true;
		eb.objs = memset(small.objs, 0, eb.count * sizeof(*eb.objs));
		eb.by_obj = memset(small.index[0], 0, eb.mask * sizeof(*eb.by_obj));
		eb.by_handle = memset(small.index[1], 0, eb.mask * sizeof(*eb.by_handle));
	} else {
		eb.objs = calloc(eb.count, sizeof(*eb.objs));
		eb.by_obj = calloc(eb.mask, sizeof(*eb.by_obj));
		eb.by_handle = calloc(eb.mask, sizeof(*eb.by_handle));
	}
	eb.mask--;
	if (!eb.objs || !eb.by_obj || !eb.by_handle) {
		eb_release(&eb);
		return -ENOMEM;
	}

	if (args->flags & I915_EXEC_USE_EXTENSIONS) {
		/* The extension chain reuses cliprects_ptr: not with a fence array too. */
		if ((args->flags & I915_EXEC_FENCE_ARRAY) || args->num_cliprects) {
			err = -EINVAL;
			goto out;
		}
		static const i915_user_extension_fn tbl[] = {
			[DRM_I915_GEM_EXECBUFFER_EXT_TIMELINE_FENCES] = eb_timeline_fences};
		err = i915_user_extensions(call, args->cliprects_ptr, tbl, sizeof(tbl) / sizeof(tbl[0]), &eb);
	} else if (args->flags & I915_EXEC_FENCE_ARRAY) {
		err = eb_fence_array(&eb);
	}
	if (err)
		goto out;
	const uint64_t in_fences = I915_EXEC_FENCE_IN | I915_EXEC_FENCE_SUBMIT;
	if (args->flags & in_fences) {
		if ((args->flags & in_fences) == in_fences) {
			err = -EINVAL;
			goto out;
		}
		/* SUBMIT (start together with the fence's batch) is served as IN: after it, never before. */
		eb.in_fence = drm_sync_file_get_fence((int32_t)(uint32_t)args->rsvd2);
		if (!eb.in_fence) {
			err = -EINVAL;
			goto out;
		}
	}

	eb.ctx = i915_context_lookup(file, (uint32_t)(args->rsvd1 & I915_EXEC_CONTEXT_ID_MASK));
	if (!eb.ctx) {
		err = -ENOENT;
		goto out;
	}
	struct i915_ctx_engine *slot;
	err = i915_context_engine(eb.ctx, args->flags, &slot);
	if (!err && (args->flags & I915_EXEC_GEN7_SOL_RESET))
		err = -EINVAL; /* streamout offsets are reset on gen7's render ring only */
	if (err)
		goto out;
	eb.vm = eb.ctx->vm;

	err = eb_lookup_objects(&eb);
	if (err)
		goto out;
	uint32_t batch_idx = (args->flags & I915_EXEC_BATCH_FIRST) ? 0 : eb.count - 1;
	struct eb_obj *batch = &eb.objs[batch_idx];
	if (batch->entry.flags & EXEC_OBJECT_WRITE) {
		err = -EINVAL; /* a self-modifying batch */
		goto out;
	}
	uint64_t batch_size = batch->obj->size;
	if (args->batch_start_offset > batch_size || args->batch_len > batch_size - args->batch_start_offset) {
		err = -EINVAL;
		goto out;
	}
	uint64_t batch_len = args->batch_len ? args->batch_len : batch_size - args->batch_start_offset;
	if (!batch_len || batch_len > UINT32_MAX) {
		err = -EINVAL;
		goto out;
	}

	err = eb_bind(&eb);
	if (err == -ENOSPC && eb.wait_unbind) {
		/* A soft-pinned address is still in use by a finishing job: as the kernel waits for
		 * it, the call parks and runs again once the range is free. */
		struct drm_fence *wait = drm_fence_get(eb.wait_unbind);
		eb_release(&eb);
		err = i915_rerun_after_fence(dev, call, wait);
		drm_fence_put(wait);
		if (err == 0)
			return i915_gem_execbuffer2_ioctl(dev, data, file, call); /* free meanwhile */
		return err;
	}
	if (!err)
		err = eb_relocate(&eb);
	eb_write_offsets(&eb);
	if (err)
		goto out;

	job = calloc(1, sizeof(*job));
	if (!job) {
		err = -ENOMEM;
		goto out;
	}
	job->exec = i915->exec;
	job->ctx = eb.ctx;
	i915_context_get(eb.ctx);
	job->lrc = slot->lrc;
	job->engine = slot->id;
	job->batch_va = batch->vma->va + args->batch_start_offset;
	job->batch_len = (uint32_t)batch_len;
	cs_job_init(&job->base, &slot->entity);
	err = eb_add_dependencies(&eb, &job->base);
	if (!err)
		err = cs_job_arm(&job->base);
	if (!err && (args->flags & I915_EXEC_FENCE_OUT)) {
		out_fd = drm_sync_file_create(dev->loop, job->base.finished);
		if (out_fd < 0)
			err = out_fd;
	}
	/* Everything that can fail is behind us once the objects carry the fence. */
	for (uint32_t i = 0; !err && i < eb.count; i++)
		err = drm_gem_resv_add_fence(eb.objs[i].obj, job->base.finished, eb.objs[i].write);
	if (err) {
		cs_job_cleanup(&job->base);
		i915_free_job(&job->base);
		if (out_fd >= 0)
			close(out_fd);
		goto out;
	}
	struct drm_fence *finished = job->base.finished;
	for (unsigned i = 0; i < eb.nfences; i++) {
		struct eb_fence *f = &eb.fences[i];
		if (!(f->flags & I915_EXEC_FENCE_SIGNAL))
			continue;
		if (!f->point)
			drm_syncobj_replace_fence(f->syncobj, finished);
		else if (drm_syncobj_add_point(f->syncobj, finished, f->point))
			log_warn("i915: out of memory signalling timeline point %llu", (unsigned long long)f->point);
	}
	i915_throttle_record(file->driver_priv, finished);
	if (eb.ctx->single_timeline) {
		drm_fence_put(eb.ctx->last_fence);
		eb.ctx->last_fence = drm_fence_get(finished);
	}
	if (out_fd >= 0)
		args->rsvd2 = (args->rsvd2 & 0xffffffffull) | ((uint64_t)(uint32_t)out_fd << 32);
	cs_entity_push_job(&job->base);
out:
	eb_release(&eb);
	return err;
}

/* ---- waiting on objects ---- */

struct fence_wait {
	struct drm_call *call;
	struct drm_fence *fence;
	struct drm_fence_cb cb;
	struct event_timer *timer;
	uint64_t start_ns;
	void (*done)(struct fence_wait *w, int ret);
};

static void fence_wait_free(struct fence_wait *w)
{
	if (w->timer)
		event_timer_cancel(w->timer);
	drm_fence_put(w->fence);
	free(w);
}

static void fence_wait_signalled(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	(void)fence;
	struct fence_wait *w = (struct fence_wait *)((char *)cb - offsetof(struct fence_wait, cb));
	w->done(w, 0);
	fence_wait_free(w);
}

static void fence_wait_timeout(void *data)
{
	struct fence_wait *w = data;
	w->timer = NULL;
	drm_fence_remove_callback(w->fence, &w->cb);
	w->done(w, -ETIME);
	fence_wait_free(w);
}

static void fence_wait_cancel(struct drm_call *call, void *data)
{
	(void)call;
	struct fence_wait *w = data;
	drm_fence_remove_callback(w->fence, &w->cb);
	fence_wait_free(w);
}

/* Parks call until fence signals (done(w, 0)) or deadline_ns passes (done(w, -ETIME)); 0 = no deadline. */
static int park_on_fence(struct drm_device *dev, struct drm_call *call, struct drm_fence *fence, uint64_t deadline_ns,
			 void (*done)(struct fence_wait *w, int ret))
{
	if (!dev->loop)
		return -ENODEV;
	struct fence_wait *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->call = call;
	w->fence = drm_fence_get(fence);
	w->start_ns = monotonic_ns();
	w->done = done;
	if (deadline_ns && !(w->timer = event_loop_add_timer(dev->loop, deadline_ns, fence_wait_timeout, w))) {
		fence_wait_free(w);
		return -ENOMEM;
	}
	if (drm_fence_add_callback(fence, &w->cb, fence_wait_signalled)) {
		fence_wait_free(w);
		return 0; /* signalled meanwhile */
	}
	drm_call_park(call, fence_wait_cancel, w);
	return DRM_CALL_PARKED;
}

static void gem_wait_done(struct fence_wait *w, int ret)
{
	struct drm_i915_gem_wait *args = drm_call_data(w->call);
	if (args->timeout_ns > 0) {
		int64_t spent = (int64_t)(monotonic_ns() - w->start_ns);
		args->timeout_ns = args->timeout_ns > spent && ret == 0 ? args->timeout_ns - spent : 0;
	}
	drm_call_complete(w->call, ret);
}

int i915_gem_wait_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_i915_gem_wait *args = data;
	if (args->flags)
		return -EINVAL;
	struct drm_gem_object *obj = drm_gem_object_lookup(file, args->bo_handle);
	if (!obj)
		return -ENOENT;
	int err = 0;
	struct drm_fence *fence = drm_gem_resv_get_fence(obj, false, &err);
	drm_gem_object_put(obj);
	if (err)
		return err;
	if (!fence || drm_fence_is_signaled(fence)) {
		drm_fence_put(fence);
		return 0; /* idle: a positive timeout comes back nearly whole */
	}
	if (args->timeout_ns == 0) {
		drm_fence_put(fence);
		return -ETIME; /* a poll of a busy object */
	}
	/* Negative: forever. */
	uint64_t deadline = args->timeout_ns > 0 ? monotonic_ns() + (uint64_t)args->timeout_ns : 0;
	int r = park_on_fence(dev, call, fence, deadline, gem_wait_done);
	drm_fence_put(fence);
	return r;
}

struct busy_acc {
	struct i915_device *i915;
	uint32_t busy;
};

static void busy_one(struct drm_fence *fence, bool write, void *data)
{
	struct busy_acc *b = data;
	if (drm_fence_is_signaled(fence))
		return;
	int cls = i915_exec_fence_class(b->i915, fence);
	/* Readers: a bit per engine class in the high half. Writers: class + 1 in the low half, and read. */
	uint32_t read = cls < 0 ? 0xffff0000u : 1u << (16 + cls);
	uint32_t wr = cls < 0 ? 0xffffffffu : ((uint32_t)cls + 1) | read;
	b->busy |= write ? wr : read;
}

int i915_gem_busy_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)call;
	struct drm_i915_gem_busy *args = data;
	args->busy = 0;
	struct drm_gem_object *obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	struct busy_acc b = {dev->dev_private, 0};
	drm_gem_resv_for_each(obj, busy_one, &b);
	args->busy = b.busy;
	drm_gem_object_put(obj);
	return 0;
}

/* Runs call again once fence has signalled (the kernel's waits inside an ioctl). */
int i915_rerun_after_fence(struct drm_device *dev, struct drm_call *call, struct drm_fence *fence)
{
	return drm_fence_park_call(dev, call, fence, DRM_FENCE_WAIT_FOREVER);
}

static void throttle_done(struct fence_wait *w, int ret)
{
	drm_call_complete(w->call, ret);
}

/*
 * THROTTLE: wait until the file's work submitted more than 20 ms ago is done
 * (the kernel's answer to clients that queue without bound).
 */
int i915_gem_throttle_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)data;
	struct i915_file *f = file->driver_priv;
	uint64_t cutoff = monotonic_ns() - 20000000ull;
	struct drm_fence *wait = NULL;
	uint64_t newest = 0;
	for (unsigned i = 0; i < I915_THROTTLE_SLOTS; i++) {
		struct drm_fence *fence = f->recent[i];
		if (!fence || drm_fence_is_signaled(fence) || f->recent_ns[i] > cutoff || f->recent_ns[i] < newest)
			continue;
		wait = fence;
		newest = f->recent_ns[i];
	}
	if (!wait)
		return 0;
	return park_on_fence(dev, call, wait, 0, throttle_done);
}

void i915_throttle_record(struct i915_file *f, struct drm_fence *fence)
{
	unsigned i = f->recent_next++ % I915_THROTTLE_SLOTS;
	drm_fence_put(f->recent[i]);
	f->recent[i] = drm_fence_get(fence);
	f->recent_ns[i] = monotonic_ns();
}
