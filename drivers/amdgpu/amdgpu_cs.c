/*
 * Command submission (the kernel's amdgpu_cs.c and amdgpu_job.c): the CS
 * ioctl parses the chunks with the kernel's checks, turns the submission
 * into one scheduler job on the context's entity, with its dependencies
 * (DEPENDENCIES, syncobjs, implicit sync on the BOs) and out-fences; the
 * scheduler of the hardware ring runs it (VMID, IBs, hardware fence) and
 * recovers a hung ring. WAIT_CS, WAIT_FENCES and FENCE_TO_HANDLE reach a
 * submission's finished fence by its sequence number.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "amdgpu.h"
#include "amdgpu_cs.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"
#include "redox-drm/fence_wait.h"
#include "redox-drm/gem.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"
#include "redox-drm/sync_file.h"
#include "redox-drm/syncobj.h"

/* Default time a job may spend on the ring before the ring is reset; REDOX_DRM_AMDGPU_TIMEOUT_MS overrides. */
#define AMDGPU_JOB_TIMEOUT_MS 2000u
/* Jobs on one ring at once. */
#define AMDGPU_RING_CREDITS 16u
/* IB_SIZE is a 20-bit dword count in INDIRECT_BUFFER. */
#define AMDGPU_IB_MAX_DW 0xFFFFFu

struct amdgpu_job_ib {
	uint64_t va;
	uint32_t length_dw;
	uint32_t flags;
};

struct amdgpu_job {
	struct cs_job base;
	struct amdgpu_cs_ring *cr;
	struct amdgpu_vm *vm;
	uint64_t vm_seq; /* amdgpu_vm_job_begin: unmaps wait for it */
	unsigned num_ibs;
	struct amdgpu_job_ib *ibs;
	struct drm_gem_object **bos; /* held until the job is done */
	unsigned num_bos;
	unsigned vmid;
	struct amdgpu_job *push_next;
};

static struct amdgpu_job *to_job(struct cs_job *job)
{
	return (struct amdgpu_job *)((char *)job - offsetof(struct amdgpu_job, base));
}

/* ------------------------------------------------------------------ scheduler hooks */

/* IBs per job, as the kernel's amdgpu_ring_max_ibs. */
static unsigned max_ibs(uint32_t ip_type)
{
	return ip_type == AMDGPU_HW_IP_GFX || ip_type == AMDGPU_HW_IP_COMPUTE ? 192 : 50;
}


static int amdgpu_job_run(struct cs_job *cj, struct drm_fence **hw_fence)
{
	struct amdgpu_job *job = to_job(cj);
	struct amdgpu_cs_ring *cr = job->cr;
	struct amdgpu_ring *ring = cr->ring;
	uint64_t pd_base = amdgpu_vm_pd_base(job->vm);
	bool flush;
	job->vmid = amdgpu_vmid_grab(&cr->vmids, job->vm, pd_base, amdgpu_vm_tlb_seq(job->vm), &flush);
	const struct amdgpu_ring_funcs *fn = ring->funcs;
	unsigned ndw = (flush ? fn->emit_vm_flush_size : 0) + job->num_ibs * fn->emit_ib_size + fn->emit_fence_size;
	int r = amdgpu_ring_alloc(ring, ndw);
	if (r) {
		log_error("amdgpu: %s: no room for a job (%d)", cr->sched.name, r);
		if (flush)
			amdgpu_vmid_forget_vm(&cr->vmids, job->vm); /* the flush never went out */
		return r;
	}
	if (flush)
		amdgpu_ring_emit_vm_flush(ring, job->vmid, pd_base, amdgpu_vm_context_cntl(job->vm));
	for (unsigned i = 0; i < job->num_ibs; i++)
		amdgpu_ring_emit_ib(ring, job->vmid, job->ibs[i].va, job->ibs[i].length_dw, job->ibs[i].flags);
	r = amdgpu_fence_emit(ring, hw_fence);
	if (r) {
		log_error("amdgpu: %s: fence emit failed (%d)", cr->sched.name, r);
		amdgpu_ring_undo(ring);
		if (flush)
			amdgpu_vmid_forget_vm(&cr->vmids, job->vm);
		return r;
	}
	amdgpu_ring_commit(ring);
	return 0;
}

static enum cs_timeout_status amdgpu_job_timedout(struct cs_job *cj)
{
	struct amdgpu_job *job = to_job(cj);
	struct amdgpu_cs_ring *cr = job->cr;
	/* A lost interrupt: the fence value is there, the job is done. */
	if (cj->hw_fence && drm_fence_is_signaled(cj->hw_fence))
		return CS_TIMEOUT_NOMINAL;
	log_error("amdgpu: %s: job %llu timed out, resetting the ring", cr->sched.name,
		  (unsigned long long)cj->seqno);
	int r = amdgpu_ring_reset(cr->ring);
	if (r)
		log_error("amdgpu: %s: ring reset failed (%d)", cr->sched.name, r);
	/* What the ring had not executed yet (VM flushes included) is gone. */
	amdgpu_vmid_reset(&cr->vmids);
	cr->adev->cs->reset_counter++;
	return CS_TIMEOUT_RESET;
}

static struct amdgpu_vm_use **vm_use_find(struct amdgpu_cs_dev *cs, const struct amdgpu_vm *vm)
{
	struct amdgpu_vm_use **p = &cs->vm_uses;
	while (*p && (*p)->vm != vm)
		p = &(*p)->next;
	return p;
}

static int vm_use_get(struct amdgpu_cs_dev *cs, struct amdgpu_vm *vm)
{
	struct amdgpu_vm_use **p = vm_use_find(cs, vm);
	if (!*p) {
		if (!(*p = calloc(1, sizeof(**p))))
			return -ENOMEM;
		(*p)->vm = vm;
	}
	(*p)->jobs++;
	return 0;
}

static void vm_destroy(struct amdgpu_device *adev, struct amdgpu_vm *vm)
{
	for (uint32_t ip = 0; ip < AMDGPU_HW_IP_NUM; ip++)
		for (uint32_t i = 0; i < AMDGPU_CS_MAX_RINGS; i++)
			amdgpu_vmid_forget_vm(&adev->cs->rings[ip][i].vmids, vm);
	amdgpu_vm_destroy(vm);
}

static void vm_use_put(struct amdgpu_device *adev, struct amdgpu_vm *vm)
{
	struct amdgpu_vm_use **p = vm_use_find(adev->cs, vm), *u = *p;
	if (!u || --u->jobs)
		return;
	*p = u->next;
	if (u->released)
		vm_destroy(adev, vm);
	free(u);
}

void amdgpu_cs_vm_release(struct amdgpu_device *adev, struct amdgpu_vm *vm)
{
	if (!vm)
		return;
	struct amdgpu_vm_use *u = adev->cs ? *vm_use_find(adev->cs, vm) : NULL;
	if (u)
		u->released = true;
	else if (adev->cs)
		vm_destroy(adev, vm);
	else
		amdgpu_vm_destroy(vm);
}

static void amdgpu_job_free(struct cs_job *cj)
{
	struct amdgpu_job *job = to_job(cj);
	amdgpu_vm_job_end(job->vm, job->vm_seq);
	vm_use_put(job->cr->adev, job->vm);
	for (unsigned i = 0; i < job->num_bos; i++)
		drm_gem_object_put(job->bos[i]);
	free(job->bos);
	free(job->ibs);
	free(job);
}

static const struct cs_sched_ops amdgpu_sched_ops = {
	.run_job = amdgpu_job_run,
	.timedout_job = amdgpu_job_timedout,
	.free_job = amdgpu_job_free,
};

static uint64_t timeout_ns(void)
{
	const char *s = getenv("REDOX_DRM_AMDGPU_TIMEOUT_MS");
	char *end;
	unsigned long ms = s ? strtoul(s, &end, 10) : 0;
	if (!s || end == s || *end || ms == 0 || ms > 3600000ul)
		ms = AMDGPU_JOB_TIMEOUT_MS;
	return (uint64_t)ms * 1000000ull;
}

int amdgpu_cs_init(struct amdgpu_device *adev, struct event_loop *loop)
{
	static const char *names[AMDGPU_HW_IP_NUM][AMDGPU_CS_MAX_RINGS] = {
		[AMDGPU_HW_IP_GFX] = {"gfx"},
		[AMDGPU_HW_IP_DMA] = {"sdma0", "sdma1"},
	};
	struct amdgpu_cs_dev *cs = calloc(1, sizeof(*cs));
	if (!cs)
		return -ENOMEM;
	cs->timeout_ns = timeout_ns();
	cs->push_tail = &cs->push_head;
	cs->loop = loop;
	adev->cs = cs;
	if (!loop)
		return 0; /* nothing can run without the loop: every submission fails with ENOENT */
	for (uint32_t ip = 0; ip < AMDGPU_HW_IP_NUM; ip++) {
		for (uint32_t i = 0; i < AMDGPU_CS_MAX_RINGS; i++) {
			struct amdgpu_cs_ring *cr = &cs->rings[ip][i];
			if (!names[ip][i])
				continue;
			struct amdgpu_ring *ring = amdgpu_ring_lookup(adev, ip, i);
			if (!ring)
				continue;
			cr->adev = adev;
			cr->ring = ring;
			cr->ip_type = ip;
			cr->index = i;
			/* The GFXHUB's VMIDs are the GFX ring's; the two SDMA engines split the MMHUB's. */
			if (ip == AMDGPU_HW_IP_DMA)
				amdgpu_vmid_mgr_init(&cr->vmids, i == 0 ? 1 : 8, i == 0 ? 7 : 8);
			else
				amdgpu_vmid_mgr_init(&cr->vmids, 1, 15);
			/* As many jobs as fit on the ring at their largest (flush, every IB, fence). */
			const struct amdgpu_ring_funcs *fn = ring->funcs;
			unsigned worst = fn->emit_vm_flush_size + max_ibs(ip) * fn->emit_ib_size + fn->emit_fence_size +
					 fn->align_mask + 1;
			unsigned credits = ring->ring_dw / 2 / worst;
			if (credits > AMDGPU_RING_CREDITS)
				credits = AMDGPU_RING_CREDITS;
			if (credits < 1)
				credits = 1;
			if (cs_sched_init(&cr->sched, &amdgpu_sched_ops, loop, names[ip][i], credits, cs->timeout_ns) == 0)
				cr->ready = true;
		}
	}
	return 0;
}

void amdgpu_cs_fini(struct amdgpu_device *adev)
{
	struct amdgpu_cs_dev *cs = adev->cs;
	if (!cs)
		return;
	amdgpu_cs_push_pending(adev);
	for (uint32_t ip = 0; ip < AMDGPU_HW_IP_NUM; ip++)
		for (uint32_t i = 0; i < AMDGPU_CS_MAX_RINGS; i++)
			if (cs->rings[ip][i].ready)
				cs_sched_fini(&cs->rings[ip][i].sched);
	/* Jobs forgotten by the schedulers dropped their VMs: whatever is left had no file any more. */
	while (cs->vm_uses) {
		struct amdgpu_vm_use *u = cs->vm_uses;
		cs->vm_uses = u->next;
		if (u->released)
			amdgpu_vm_destroy(u->vm);
		free(u);
	}
	free(cs);
	adev->cs = NULL;
}

void amdgpu_cs_push_pending(struct amdgpu_device *adev)
{
	struct amdgpu_cs_dev *cs = adev->cs;
	if (!cs)
		return;
	if (cs->push_idle) {
		event_idle_cancel(cs->push_idle);
		cs->push_idle = NULL;
	}
	struct amdgpu_job *job = cs->push_head;
	cs->push_head = NULL;
	cs->push_tail = &cs->push_head;
	while (job) {
		struct amdgpu_job *next = job->push_next;
		cs_entity_push_job(&job->base);
		job = next;
	}
}

static void push_idle_run(void *data)
{
	struct amdgpu_device *adev = data;
	adev->cs->push_idle = NULL; /* ran: the loop freed it */
	amdgpu_cs_push_pending(adev);
}

/*
 * The CS answer goes out first and the engine is started after it, at the
 * end of this loop iteration: the client's next call (its wait) then
 * overlaps the work instead of queueing behind the engine thread's wake-up.
 */
static void push_later(struct amdgpu_device *adev, struct amdgpu_job *job)
{
	struct amdgpu_cs_dev *cs = adev->cs;
	if (!cs->push_idle && !(cs->push_idle = event_loop_add_idle(cs->loop, push_idle_run, adev))) {
		amdgpu_cs_push_pending(adev);
		cs_entity_push_job(&job->base);
		return;
	}
	job->push_next = NULL;
	*cs->push_tail = job;
	cs->push_tail = &job->push_next;
}

struct amdgpu_cs_ring *amdgpu_cs_ring_get(struct amdgpu_device *adev, uint32_t ip_type, uint32_t ring)
{
	if (!adev->cs || ip_type >= AMDGPU_HW_IP_NUM || ring >= AMDGPU_CS_MAX_RINGS)
		return NULL;
	struct amdgpu_cs_ring *cr = &adev->cs->rings[ip_type][ring];
	return cr->ready ? cr : NULL;
}

/* ------------------------------------------------------------------ parsing */

struct cs_chunk {
	uint32_t id;
	uint32_t length_dw;
	uint32_t *data;
};

struct post_dep {
	struct drm_syncobj *syncobj;
	uint64_t point;
};

struct cs_parser {
	struct drm_device *dev;
	struct amdgpu_device *adev;
	struct drm_file *file;
	struct drm_call *call;
	struct amdgpu_ctx *ctx;
	struct cs_chunk *chunks;
	uint32_t num_chunks;
	struct amdgpu_ctx_entity *entity;
	struct amdgpu_job_ib *ibs;
	unsigned num_ibs;
	struct drm_gem_object **bos;
	unsigned num_bos, bos_cap;
	bool bo_handles_chunk;
	struct drm_gem_object *uf_bo;
	uint32_t uf_offset;
	struct drm_fence **deps;
	unsigned num_deps, deps_cap;
	struct post_dep *post;
	unsigned num_post, post_cap;
	/* What only lives while parsing (chunk list, chunk data) comes from here while it fits. */
	size_t scratch_used;
	_Alignas(8) uint8_t scratch[512];
};

static void *scratch_alloc(struct cs_parser *p, size_t size)
{
	size = (size + 7) & ~(size_t)7;
	if (size && size <= sizeof(p->scratch) - p->scratch_used) {
		void *r = p->scratch + p->scratch_used;
		p->scratch_used += size;
		return r;
	}
	return malloc(size ? size : 1);
}

static void scratch_free(struct cs_parser *p, void *ptr)
{
	uintptr_t a = (uintptr_t)ptr, lo = (uintptr_t)p->scratch;
	if (a < lo || a >= lo + sizeof(p->scratch))
		free(ptr);
}

static void parser_fini(struct cs_parser *p)
{
	for (uint32_t i = 0; i < p->num_chunks; i++)
		scratch_free(p, p->chunks[i].data);
	scratch_free(p, p->chunks);
	free(p->ibs);
	for (unsigned i = 0; i < p->num_bos; i++)
		drm_gem_object_put(p->bos[i]);
	free(p->bos);
	if (p->uf_bo)
		drm_gem_object_put(p->uf_bo);
	for (unsigned i = 0; i < p->num_deps; i++)
		if (p->deps[i])
			drm_fence_put(p->deps[i]); /* NULL: handed to the job */
	free(p->deps);
	for (unsigned i = 0; i < p->num_post; i++)
		drm_syncobj_put(p->post[i].syncobj);
	free(p->post);
}

/* Takes the reference. Signalled fences are dropped here already. */
static int add_dep(struct cs_parser *p, struct drm_fence *f)
{
	if (drm_fence_is_signaled(f) && !f->error) {
		drm_fence_put(f);
		return 0;
	}
	if (p->num_deps == p->deps_cap) {
		unsigned n = p->deps_cap ? p->deps_cap * 2 : 8;
		struct drm_fence **d = realloc(p->deps, n * sizeof(*d));
		if (!d) {
			drm_fence_put(f);
			return -ENOMEM;
		}
		p->deps = d;
		p->deps_cap = n;
	}
	p->deps[p->num_deps++] = f;
	return 0;
}

static int p1_ib(struct cs_parser *p, const struct cs_chunk *c)
{
	struct drm_amdgpu_cs_chunk_ib ib;
	if (c->length_dw * 4ull < sizeof(ib))
		return -EINVAL;
	memcpy(&ib, c->data, sizeof(ib));
	struct amdgpu_ctx_entity *e;
	int r = amdgpu_ctx_get_entity(p->ctx, ib.ip_type, ib.ip_instance, ib.ring, &e);
	if (r)
		return r;
	/* All IBs of one submission on one ring (no gang submission on GFX9). */
	if (p->entity && p->entity != e)
		return -EINVAL;
	p->entity = e;
	if (p->num_ibs >= max_ibs(ib.ip_type))
		return -EINVAL;
	if (ib.ib_bytes == 0 || ib.ib_bytes / 4 > AMDGPU_IB_MAX_DW)
		return -EINVAL;
	struct amdgpu_job_ib *n = realloc(p->ibs, (p->num_ibs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	p->ibs = n;
	p->ibs[p->num_ibs++] = (struct amdgpu_job_ib){.va = ib.va_start, .length_dw = ib.ib_bytes / 4,
						     .flags = ib.flags};
	return 0;
}

static int p1_user_fence(struct cs_parser *p, const struct cs_chunk *c)
{
	struct drm_amdgpu_cs_chunk_fence f;
	if (c->length_dw * 4ull < sizeof(f))
		return -EINVAL;
	memcpy(&f, c->data, sizeof(f));
	struct drm_gem_object *obj = drm_gem_object_lookup(p->file, f.handle);
	if (!obj)
		return -EINVAL;
	if (p->uf_bo)
		drm_gem_object_put(p->uf_bo);
	p->uf_bo = obj;
	if (obj->size != 4096 || f.offset > obj->size - 8)
		return -EINVAL;
	p->uf_offset = f.offset;
	return 0;
}

static int add_bo(struct cs_parser *p, struct drm_gem_object *obj)
{
	if (p->num_bos == p->bos_cap) {
		unsigned cap = p->bos_cap ? p->bos_cap * 2 : 16;
		struct drm_gem_object **n = realloc(p->bos, cap * sizeof(*n));
		if (!n) {
			drm_gem_object_put(obj);
			return -ENOMEM;
		}
		p->bos = n;
		p->bos_cap = cap;
	}
	p->bos[p->num_bos++] = obj;
	return 0;
}

static int cmp_ptr(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
	return x < y ? -1 : x > y;
}

/* A BO listed twice is used once (sorted, so a long list costs n log n). */
static void dedupe_bos(struct cs_parser *p)
{
	if (p->num_bos < 2)
		return;
	qsort(p->bos, p->num_bos, sizeof(*p->bos), cmp_ptr);
	unsigned k = 1;
	for (unsigned i = 1; i < p->num_bos; i++) {
		if (p->bos[i] == p->bos[k - 1])
			drm_gem_object_put(p->bos[i]);
		else
			p->bos[k++] = p->bos[i];
	}
	p->num_bos = k;
}

/* BO_HANDLES: a BO list made for this submission only (amdgpu_bo_create_list_entry_array). */
static int p1_bo_handles(struct cs_parser *p, const struct cs_chunk *c)
{
	struct drm_amdgpu_bo_list_in in;
	if (c->length_dw * 4ull < sizeof(in))
		return -EINVAL;
	if (p->bo_handles_chunk)
		return -EINVAL; /* one BO list per submission */
	p->bo_handles_chunk = true;
	memcpy(&in, c->data, sizeof(in));
	if (in.bo_number > AMDGPU_BO_LIST_MAX_ENTRIES)
		return -EINVAL;
	uint64_t each = in.bo_info_size;
	uint64_t take = each < sizeof(struct drm_amdgpu_bo_list_entry) ? each : sizeof(struct drm_amdgpu_bo_list_entry);
	for (uint32_t i = 0; i < in.bo_number; i++) {
		struct drm_amdgpu_bo_list_entry ent;
		memset(&ent, 0, sizeof(ent));
		int r = drm_copy_from_user(p->call, &ent, in.bo_info_ptr + i * each, (size_t)take);
		if (r)
			return r;
		struct drm_gem_object *obj = drm_gem_object_lookup(p->file, ent.bo_handle);
		if (!obj)
			return -ENOENT;
		r = add_bo(p, obj);
		if (r)
			return r;
	}
	return 0;
}

static int pass1(struct cs_parser *p, union drm_amdgpu_cs *cs)
{
	uint32_t n = cs->in.num_chunks;
	if (n == 0)
		return -EINVAL;
	p->chunks = scratch_alloc(p, n * sizeof(*p->chunks));
	uint64_t *ptrs = scratch_alloc(p, n * sizeof(*ptrs));
	if (!ptrs || !p->chunks) {
		scratch_free(p, ptrs);
		return -ENOMEM;
	}
	memset(p->chunks, 0, n * sizeof(*p->chunks));
	int r = drm_copy_from_user(p->call, ptrs, cs->in.chunks, n * sizeof(*ptrs));
	for (uint32_t i = 0; !r && i < n; i++) {
		struct drm_amdgpu_cs_chunk uc;
		r = drm_copy_from_user(p->call, &uc, ptrs[i], sizeof(uc));
		if (r)
			break;
		struct cs_chunk *c = &p->chunks[i];
		p->num_chunks = i + 1;
		c->id = uc.chunk_id;
		c->length_dw = uc.length_dw;
		c->data = scratch_alloc(p, uc.length_dw * 4ull);
		if (!c->data) {
			r = -ENOMEM;
			break;
		}
		r = drm_copy_from_user(p->call, c->data, uc.chunk_data, uc.length_dw * 4ull);
		if (r)
			break;
		switch (c->id) {
		case AMDGPU_CHUNK_ID_IB:
			r = p1_ib(p, c);
			break;
		case AMDGPU_CHUNK_ID_FENCE:
			r = p1_user_fence(p, c);
			break;
		case AMDGPU_CHUNK_ID_BO_HANDLES:
			r = p1_bo_handles(p, c);
			break;
		case AMDGPU_CHUNK_ID_DEPENDENCIES:
		case AMDGPU_CHUNK_ID_SCHEDULED_DEPENDENCIES:
		case AMDGPU_CHUNK_ID_SYNCOBJ_IN:
		case AMDGPU_CHUNK_ID_SYNCOBJ_OUT:
		case AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_WAIT:
		case AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_SIGNAL:
			break; /* pass 2 */
		default:
			r = -EINVAL;
			break;
		}
	}
	scratch_free(p, ptrs);
	if (r)
		return r;
	if (!p->num_ibs)
		return -EINVAL;
	if (cs->in.bo_list_handle) {
		if (p->bo_handles_chunk)
			return -EINVAL;
		struct amdgpu_bo_list *l = amdgpu_bo_list_get(p->file, cs->in.bo_list_handle);
		if (!l)
			return -ENOENT;
		unsigned count = amdgpu_bo_list_count(l);
		for (unsigned i = 0; !r && i < count; i++) {
			struct drm_gem_object *obj = amdgpu_bo_list_obj(l, i);
			drm_gem_object_get(obj);
			r = add_bo(p, obj);
		}
	}
	if (!r)
		dedupe_bos(p);
	return r;
}

static int p2_dependencies(struct cs_parser *p, const struct cs_chunk *c)
{
	unsigned n = c->length_dw * 4u / sizeof(struct drm_amdgpu_cs_chunk_dep);
	for (unsigned i = 0; i < n; i++) {
		struct drm_amdgpu_cs_chunk_dep d;
		memcpy(&d, (const uint8_t *)c->data + i * sizeof(d), sizeof(d));
		struct amdgpu_ctx *ctx = amdgpu_ctx_lookup(p->file, d.ctx_id);
		if (!ctx)
			return -EINVAL;
		struct amdgpu_ctx_entity *e;
		int r = amdgpu_ctx_get_entity(ctx, d.ip_type, d.ip_instance, d.ring, &e);
		if (r)
			return r;
		struct drm_fence *f = amdgpu_ctx_get_fence(e, d.handle, &r);
		if (r)
			return r;
		/* SCHEDULED_DEPENDENCIES waits for the job to finish too: later than the kernel, never early. */
		if (f && (r = add_dep(p, f)))
			return r;
	}
	return 0;
}

/* Parks the CS until a WAIT_FOR_SUBMIT syncobj point gets its fence (then reruns), or fails it with ETIME. */
struct submit_wait {
	struct drm_syncobj_waiter w;
	struct drm_call *call;
	struct event_loop *loop;
	struct event_timer *timer; /* the WAIT_FOR_SUBMIT timeout, then the rerun */
};

static void submit_wait_free(struct submit_wait *sw)
{
	drm_syncobj_remove_waiter(&sw->w);
	if (sw->timer)
		event_timer_cancel(sw->timer);
	free(sw);
}

static void submit_rerun(void *data)
{
	struct submit_wait *sw = data;
	struct drm_call *call = sw->call;
	sw->timer = NULL; /* fired: the loop freed it */
	submit_wait_free(sw);
	drm_call_rerun(call);
}

/* Runs inside the syncobj's update: the CS runs again from the loop, not nested in it. */
static void submit_arrived(struct drm_syncobj_waiter *w)
{
	struct submit_wait *sw = (struct submit_wait *)w;
	if (sw->timer)
		event_timer_cancel(sw->timer);
	sw->timer = event_loop_add_timer(sw->loop, 0, submit_rerun, sw);
	if (!sw->timer) {
		struct drm_call *call = sw->call;
		submit_wait_free(sw);
		drm_call_complete(call, -ENOMEM);
	}
}

static void submit_timeout(void *data)
{
	struct submit_wait *sw = data;
	struct drm_call *call = sw->call;
	sw->timer = NULL;
	submit_wait_free(sw);
	drm_call_complete(call, -ETIME);
}

static void submit_cancel(struct drm_call *call, void *data)
{
	(void)call;
	submit_wait_free(data);
}

static int p2_syncobj_wait(struct cs_parser *p, uint32_t handle, uint64_t point, uint32_t flags)
{
	struct submit_wait *sw = NULL;
	if ((flags & DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT) && p->dev->loop) {
		sw = calloc(1, sizeof(*sw));
		if (!sw)
			return -ENOMEM;
		sw->call = p->call;
		sw->loop = p->dev->loop;
		sw->w.func = submit_arrived;
	}
	struct drm_fence *f;
	int r = drm_syncobj_find_fence(p->file, handle, point, flags, &f, sw ? &sw->w : NULL);
	if (r == -EAGAIN && sw) {
		sw->timer = event_loop_add_timer(p->dev->loop, monotonic_ns() + DRM_SYNCOBJ_WAIT_FOR_SUBMIT_TIMEOUT_NS,
						 submit_timeout, sw);
		if (!sw->timer) {
			submit_wait_free(sw);
			return -ENOMEM;
		}
		drm_call_park(p->call, submit_cancel, sw);
		return DRM_CALL_PARKED;
	}
	free(sw);
	if (r)
		return r;
	return add_dep(p, f);
}

static int p2_post_dep(struct cs_parser *p, uint32_t handle, uint64_t point)
{
	struct drm_syncobj *s = drm_syncobj_find(p->file, handle);
	if (!s)
		return -EINVAL;
	if (p->num_post == p->post_cap) {
		unsigned cap = p->post_cap ? p->post_cap * 2 : 8;
		struct post_dep *n = realloc(p->post, cap * sizeof(*n));
		if (!n) {
			drm_syncobj_put(s);
			return -ENOMEM;
		}
		p->post = n;
		p->post_cap = cap;
	}
	p->post[p->num_post++] = (struct post_dep){.syncobj = s, .point = point};
	return 0;
}

static int pass2(struct cs_parser *p)
{
	for (uint32_t i = 0; i < p->num_chunks; i++) {
		const struct cs_chunk *c = &p->chunks[i];
		int r = 0;
		switch (c->id) {
		case AMDGPU_CHUNK_ID_DEPENDENCIES:
		case AMDGPU_CHUNK_ID_SCHEDULED_DEPENDENCIES:
			r = p2_dependencies(p, c);
			break;
		case AMDGPU_CHUNK_ID_SYNCOBJ_IN: {
			unsigned n = c->length_dw * 4u / sizeof(struct drm_amdgpu_cs_chunk_sem);
			for (unsigned k = 0; !r && k < n; k++)
				r = p2_syncobj_wait(p, c->data[k], 0, 0);
			break;
		}
		case AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_WAIT: {
			unsigned n = c->length_dw * 4u / sizeof(struct drm_amdgpu_cs_chunk_syncobj);
			for (unsigned k = 0; !r && k < n; k++) {
				struct drm_amdgpu_cs_chunk_syncobj s;
				memcpy(&s, (const uint8_t *)c->data + k * sizeof(s), sizeof(s));
				r = p2_syncobj_wait(p, s.handle, s.point, s.flags);
			}
			break;
		}
		case AMDGPU_CHUNK_ID_SYNCOBJ_OUT: {
			unsigned n = c->length_dw * 4u / sizeof(struct drm_amdgpu_cs_chunk_sem);
			for (unsigned k = 0; !r && k < n; k++)
				r = p2_post_dep(p, c->data[k], 0);
			break;
		}
		case AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_SIGNAL: {
			unsigned n = c->length_dw * 4u / sizeof(struct drm_amdgpu_cs_chunk_syncobj);
			for (unsigned k = 0; !r && k < n; k++) {
				struct drm_amdgpu_cs_chunk_syncobj s;
				memcpy(&s, (const uint8_t *)c->data + k * sizeof(s), sizeof(s));
				r = p2_post_dep(p, s.handle, s.point);
			}
			break;
		}
		default:
			break;
		}
		if (r)
			return r;
	}
	return 0;
}

/* Implicit sync: wait for other clients' work on the submission's BOs (amdgpu_sync_resv, owner != us). */
struct implicit_ctx {
	struct cs_parser *p;
	int err;
};

static void implicit_dep(struct drm_fence *fence, bool write, void *data)
{
	(void)write; /* every amdgpu submission counts as writing its BOs */
	struct implicit_ctx *ic = data;
	if (ic->err || amdgpu_ctx_fence_is_own(ic->p->file, fence))
		return;
	ic->err = add_dep(ic->p, drm_fence_get(fence));
}

/*
 * User fence: the sequence number lands at offset of the BO when the job
 * completes (the kernel has the engine write it after the IBs). Its own
 * allocation: the finished fence's callbacks may run after the job is freed.
 */
struct user_fence {
	struct drm_fence_cb cb;
	struct drm_gem_object *bo;
	uint32_t offset;
};

static void user_fence_write(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	struct user_fence *uf = (struct user_fence *)cb;
	/* The value a client polls: written only for work that completed. */
	if (!fence->error && uf->bo->vaddr) {
		uint64_t seq = fence->seqno;
		memcpy((uint8_t *)uf->bo->vaddr + uf->offset, &seq, sizeof(seq));
	}
	drm_gem_object_put(uf->bo);
	free(uf);
}

static int submit(struct cs_parser *p, union drm_amdgpu_cs *cs)
{
	struct amdgpu_ctx_entity *e = p->entity;
	struct amdgpu_job *job = calloc(1, sizeof(*job));
	if (!job)
		return -ENOMEM;
	job->cr = amdgpu_cs_ring_get(p->adev, e->ip_type, e->ring);
	job->vm = amdgpu_vm_of_file(p->file);
	if (!job->vm) {
		free(job);
		return -EINVAL;
	}
	cs_job_init(&job->base, &e->base);
	int r = 0;
	for (unsigned i = 0; i < p->num_bos && !r; i++) {
		if (amdgpu_bo_explicit_sync(p->bos[i]))
			continue;
		struct implicit_ctx ic = {.p = p};
		drm_gem_resv_for_each(p->bos[i], implicit_dep, &ic);
		r = ic.err;
	}
	for (unsigned i = 0; i < p->num_deps && !r; i++) {
		r = cs_job_add_dependency(&job->base, p->deps[i]);
		p->deps[i] = NULL;
	}
	if (!r)
		r = cs_job_arm(&job->base);
	struct user_fence *uf = NULL;
	if (!r && p->uf_bo && !(uf = calloc(1, sizeof(*uf))))
		r = -ENOMEM;
	if (!r)
		r = vm_use_get(p->adev->cs, job->vm); /* dropped by free_job */
	if (r) {
		free(uf);
		cs_job_cleanup(&job->base);
		free(job);
		return r;
	}
	struct drm_fence *finished = job->base.finished;
	job->vm_seq = amdgpu_vm_job_begin(job->vm);

	/* The job is committed: record its fence everywhere. */
	for (unsigned i = 0; i < p->num_bos; i++)
		if (drm_gem_resv_add_fence(p->bos[i], finished, true))
			log_warn("amdgpu: out of memory recording a BO's fence");
	amdgpu_ctx_add_fence(e, finished);
	for (unsigned i = 0; i < p->num_post; i++) {
		if (!p->post[i].point)
			drm_syncobj_replace_fence(p->post[i].syncobj, finished);
		else if (drm_syncobj_add_point(p->post[i].syncobj, finished, p->post[i].point))
			log_warn("amdgpu: out of memory adding a timeline point");
	}
	job->bos = p->bos;
	job->num_bos = p->num_bos;
	p->bos = NULL;
	p->num_bos = 0;
	job->ibs = p->ibs;
	job->num_ibs = p->num_ibs;
	p->ibs = NULL;
	p->num_ibs = 0;
	if (uf) {
		uf->bo = p->uf_bo;
		uf->offset = p->uf_offset;
		p->uf_bo = NULL;
		drm_fence_add_callback(finished, &uf->cb, user_fence_write);
	}
	cs->out.handle = job->base.seqno;
	push_later(p->adev, job);
	return 0;
}

int amdgpu_cs_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct amdgpu_device *adev = dev->dev_private;
	union drm_amdgpu_cs *cs = data;
	if (!amdgpu_accel_working(adev))
		return -EBUSY;
	struct cs_parser p;
	memset(&p, 0, offsetof(struct cs_parser, scratch)); /* the scratch is written before it is read */
	p.dev = dev;
	p.adev = adev;
	p.file = file;
	p.call = call;
	p.ctx = amdgpu_ctx_lookup(file, cs->in.ctx_id);
	if (!p.ctx)
		return -EINVAL;
	if (p.ctx->guilty)
		return -ECANCELED;
	int r = pass1(&p, cs);
	if (!r && !p.entity->base.sched)
		r = -ENOENT; /* no ring of that type is running (drm_sched_job_init without a run queue) */
	if (!r)
		r = pass2(&p);
	if (!r) {
		/* 32 submissions ahead on this entity: wait for the oldest, as amdgpu_ctx_wait_prev_fence. */
		struct drm_fence *slot = amdgpu_ctx_pending_slot(p.entity);
		if (slot) {
			r = drm_fence_park_call(dev, call, slot, DRM_FENCE_WAIT_FOREVER);
			if (r == 0)
				r = submit(&p, cs);
		} else {
			r = submit(&p, cs);
		}
	}
	parser_fini(&p);
	return r;
}

/* ------------------------------------------------------------------ waits */

void amdgpu_cs_fence_poll(struct amdgpu_device *adev)
{
	if (!adev->cs)
		return;
	for (uint32_t ip = 0; ip < AMDGPU_HW_IP_NUM; ip++)
		for (uint32_t i = 0; i < AMDGPU_CS_MAX_RINGS; i++)
			if (adev->cs->rings[ip][i].ready)
				amdgpu_fence_process(adev->cs->rings[ip][i].ring);
}

/* amdgpu_gem_timeout: an absolute CLOCK_MONOTONIC deadline; negative as s64 is forever. */
static uint64_t deadline_of(uint64_t timeout_ns)
{
	return (int64_t)timeout_ns < 0 ? DRM_FENCE_WAIT_FOREVER : timeout_ns;
}

static bool deadline_passed(uint64_t deadline)
{
	return deadline != DRM_FENCE_WAIT_FOREVER && monotonic_ns() >= deadline;
}

int amdgpu_cs_wait_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	union drm_amdgpu_wait_cs *wait = data;
	struct amdgpu_ctx *ctx = amdgpu_ctx_lookup(file, wait->in.ctx_id);
	if (!ctx)
		return -EINVAL;
	struct amdgpu_ctx_entity *e;
	int r = amdgpu_ctx_get_entity(ctx, wait->in.ip_type, wait->in.ip_instance, wait->in.ring, &e);
	if (r)
		return r;
	struct drm_fence *f = amdgpu_ctx_get_fence(e, wait->in.handle, &r);
	if (r)
		return r;
	bool busy = false;
	if (f && !drm_fence_is_signaled(f))
		amdgpu_cs_fence_poll(dev->dev_private);
	if (f && !drm_fence_is_signaled(f)) {
		uint64_t deadline = deadline_of(wait->in.timeout);
		if (!deadline_passed(deadline)) {
			r = drm_fence_park_call(dev, call, f, deadline);
			if (r) {
				drm_fence_put(f);
				return r; /* parked (or failed) */
			}
		}
		busy = !drm_fence_is_signaled(f);
	}
	if (f && !busy && f->error)
		r = f->error;
	if (f)
		drm_fence_put(f);
	if (r)
		return r;
	memset(wait, 0, sizeof(*wait));
	wait->out.status = busy;
	return 0;
}

static int fence_of(struct drm_file *file, const struct drm_amdgpu_fence *uf, struct drm_fence **out)
{
	struct amdgpu_ctx *ctx = amdgpu_ctx_lookup(file, uf->ctx_id);
	if (!ctx)
		return -EINVAL;
	struct amdgpu_ctx_entity *e;
	int r = amdgpu_ctx_get_entity(ctx, uf->ip_type, uf->ip_instance, uf->ring, &e);
	if (r)
		return r;
	*out = amdgpu_ctx_get_fence(e, uf->seq_no, &r);
	return r;
}

/* Which of the fences have signalled: their count still pending and the lowest index done. */
static void fences_scan(struct drm_fence **f, uint32_t n, uint32_t *pending, uint32_t *first)
{
	*pending = 0;
	*first = ~0u;
	for (uint32_t i = 0; i < n; i++) {
		if (!f[i] || drm_fence_is_signaled(f[i])) {
			if (*first == ~0u)
				*first = i;
		} else {
			(*pending)++;
		}
	}
}

/* One fence to wait on: all: any pending one (the call looks again); any: the first of the pending. */
static struct drm_fence *fences_wait_on(struct drm_fence **f, uint32_t n, uint32_t pending, bool all)
{
	struct drm_fence **pf = calloc(pending, sizeof(*pf));
	if (!pf)
		return NULL;
	unsigned k = 0;
	for (uint32_t i = 0; i < n && k < pending; i++)
		if (f[i] && !drm_fence_is_signaled(f[i]))
			pf[k++] = drm_fence_get(f[i]);
	struct drm_fence *w;
	if (all || k == 1) {
		w = pf[0];
		for (unsigned i = 1; i < k; i++)
			drm_fence_put(pf[i]);
	} else {
		w = drm_fence_array_create(k, pf, true);
	}
	free(pf);
	return w;
}

/*
 * WAIT_FENCES: all or any of the fences by the absolute timeout. status 1
 * when satisfied; first_signaled (any) the lowest index done, ~0 if none;
 * a fence that completed with an error fails the call with it, as the kernel.
 */
int amdgpu_cs_wait_fences_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	union drm_amdgpu_wait_fences *wait = data;
	uint32_t n = wait->in.fence_count;
	bool all = wait->in.wait_all != 0;
	if (n == 0)
		return -EINVAL;
	struct drm_amdgpu_fence *uf = calloc(n, sizeof(*uf));
	struct drm_fence **f = calloc(n, sizeof(*f));
	int r = !uf || !f ? -ENOMEM : drm_copy_from_user(call, uf, wait->in.fences, n * sizeof(*uf));
	for (uint32_t i = 0; !r && i < n; i++)
		r = fence_of(file, &uf[i], &f[i]);
	uint32_t pending = 0, first = ~0u;
	if (!r) {
		fences_scan(f, n, &pending, &first);
		if (pending) {
			amdgpu_cs_fence_poll(dev->dev_private);
			fences_scan(f, n, &pending, &first);
		}
	}
	bool done = all ? pending == 0 : first != ~0u;
	uint64_t deadline = deadline_of(wait->in.timeout_ns);
	if (!r && !done && !deadline_passed(deadline)) {
		struct drm_fence *w = fences_wait_on(f, n, pending, all);
		r = w ? drm_fence_park_call(dev, call, w, deadline) : -ENOMEM;
		if (w)
			drm_fence_put(w);
		if (r == 0) { /* signalled meanwhile */
			fences_scan(f, n, &pending, &first);
			done = all ? pending == 0 : first != ~0u;
		}
	}
	if (!r && done) {
		if (!all && f[first])
			r = f[first]->error;
		for (uint32_t i = 0; all && !r && i < n; i++)
			if (f[i])
				r = f[i]->error;
	}
	if (!r) {
		memset(wait, 0, sizeof(*wait));
		wait->out.status = done;
		wait->out.first_signaled = all ? 0 : first;
	}
	for (uint32_t i = 0; f && i < n; i++)
		if (f[i])
			drm_fence_put(f[i]);
	free(f);
	free(uf);
	return r;
}

/* FENCE_TO_HANDLE: a submission's fence as a new syncobj (handle or fd) or a sync_file fd. */
int amdgpu_cs_fence_to_handle_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	union drm_amdgpu_fence_to_handle *info = data;
	(void)call;
	struct drm_fence *f = NULL;
	int r = fence_of(file, &info->in.fence, &f);
	if (r)
		return r;
	if (!f)
		f = drm_fence_get_stub(); /* older than the window: signalled long ago */
	switch (info->in.what) {
	case AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ:
	case AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ_FD: {
		struct drm_syncobj *s = drm_syncobj_create(false);
		if (!s) {
			r = -ENOMEM;
			break;
		}
		drm_syncobj_replace_fence(s, f);
		if (info->in.what == AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ) {
			r = drm_syncobj_get_handle(file, s, &info->out.handle);
		} else if (!dev->loop) {
			r = -ENODEV;
		} else {
			int fd = drm_syncobj_fd_create(dev->loop, s);
			if (fd < 0)
				r = fd;
			else
				info->out.handle = (uint32_t)fd;
		}
		drm_syncobj_put(s);
		break;
	}
	case AMDGPU_FENCE_TO_HANDLE_GET_SYNC_FILE_FD: {
		int fd = dev->loop ? drm_sync_file_create(dev->loop, f) : -ENODEV;
		if (fd < 0)
			r = fd;
		else
			info->out.handle = (uint32_t)fd;
		break;
	}
	default:
		r = -EINVAL;
		break;
	}
	drm_fence_put(f);
	return r;
}
