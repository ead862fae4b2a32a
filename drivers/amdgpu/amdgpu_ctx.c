/*
 * Submission contexts (the kernel's amdgpu_ctx): per context one scheduler
 * entity per (IP type, ring), made on first use with the context's priority,
 * sharing the context's guilty flag; a window of the last finished fences per
 * entity so a CS sequence number maps back to its fence; reset status for
 * QUERY/QUERY2; priorities and their override (SCHED).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "amdgpu.h"
#include "amdgpu_cs.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"
#include "redox-drm/idr.h"
#include "redox-drm/log.h"

/* Rings a context may address per IP, as the kernel's amdgpu_ctx_num_entities. */
static const uint32_t num_entities[AMDGPU_HW_IP_NUM] = {
	[AMDGPU_HW_IP_GFX] = 1, [AMDGPU_HW_IP_COMPUTE] = 4, [AMDGPU_HW_IP_DMA] = 2,
	[AMDGPU_HW_IP_UVD] = 1, [AMDGPU_HW_IP_VCE] = 1,     [AMDGPU_HW_IP_UVD_ENC] = 1,
	[AMDGPU_HW_IP_VCN_DEC] = 1, [AMDGPU_HW_IP_VCN_ENC] = 1, [AMDGPU_HW_IP_VCN_JPEG] = 1,
};

static struct amdgpu_fpriv *fpriv_of(struct drm_file *file)
{
	return file->driver_priv;
}

static bool priority_valid(int32_t p)
{
	switch (p) {
	case AMDGPU_CTX_PRIORITY_UNSET:
	case AMDGPU_CTX_PRIORITY_VERY_LOW:
	case AMDGPU_CTX_PRIORITY_LOW:
	case AMDGPU_CTX_PRIORITY_NORMAL:
	case AMDGPU_CTX_PRIORITY_HIGH:
	case AMDGPU_CTX_PRIORITY_VERY_HIGH:
		return true;
	default:
		return false;
	}
}

/* The kernel's amdgpu_ctx_to_drm_sched_prio. */
static enum cs_priority to_cs_priority(int32_t p)
{
	switch (p) {
	case AMDGPU_CTX_PRIORITY_VERY_LOW:
	case AMDGPU_CTX_PRIORITY_LOW:
		return CS_PRIORITY_MIN;
	case AMDGPU_CTX_PRIORITY_HIGH:
	case AMDGPU_CTX_PRIORITY_VERY_HIGH:
		return CS_PRIORITY_HIGH;
	default:
		return CS_PRIORITY_NORMAL;
	}
}

static int32_t effective_priority(const struct amdgpu_ctx *ctx)
{
	return ctx->override_priority == AMDGPU_CTX_PRIORITY_UNSET ? ctx->init_priority : ctx->override_priority;
}

struct amdgpu_ctx *amdgpu_ctx_lookup(struct drm_file *file, uint32_t id)
{
	struct amdgpu_fpriv *fpriv = fpriv_of(file);
	return fpriv ? idr_find(&fpriv->ctx_idr, id) : NULL;
}

int amdgpu_ctx_get_entity(struct amdgpu_ctx *ctx, uint32_t ip_type, uint32_t instance, uint32_t ring,
			  struct amdgpu_ctx_entity **out)
{
	if (ip_type >= AMDGPU_HW_IP_NUM || instance != 0 || ring >= num_entities[ip_type])
		return -EINVAL;
	struct amdgpu_ctx_entity *e = ctx->entities[ip_type][ring];
	if (!e) {
		struct amdgpu_cs_ring *cr = amdgpu_cs_ring_get(ctx->adev, ip_type, ring);
		e = calloc(1, sizeof(*e));
		if (!e)
			return -ENOMEM;
		e->ip_type = ip_type;
		e->ring = ring;
		/* An IP without a running ring still gets its entity; submitting to it fails (-ENOENT). */
		if (cr)
			cs_entity_init(&e->base, &cr->sched, to_cs_priority(effective_priority(ctx)), &ctx->guilty);
		ctx->entities[ip_type][ring] = e;
	}
	/* drm_sched_entity_error: a failed last job fails what depends on the entity. */
	struct drm_fence *last = e->base.last_scheduled;
	if (last && drm_fence_is_signaled(last) && last->error)
		return last->error;
	*out = e;
	return 0;
}

struct drm_fence *amdgpu_ctx_get_fence(struct amdgpu_ctx_entity *e, uint64_t seq, int *err)
{
	uint64_t next = e->base.last_seqno + 1;
	*err = 0;
	if (seq == ~0ull)
		seq = next - 1;
	if (seq >= next) {
		*err = -EINVAL;
		return NULL;
	}
	if (seq + AMDGPU_CTX_FENCE_WINDOW < next)
		return NULL;
	struct drm_fence *f = e->fences[seq % AMDGPU_CTX_FENCE_WINDOW];
	/* The slot may hold an older fence (or none: seq 0) once the window moved past seq. */
	if (!f || f->seqno != seq)
		return NULL;
	return drm_fence_get(f);
}

struct drm_fence *amdgpu_ctx_pending_slot(struct amdgpu_ctx_entity *e)
{
	struct drm_fence *f = e->fences[(e->base.last_seqno + 1) % AMDGPU_CTX_FENCE_WINDOW];
	return f && !drm_fence_is_signaled(f) ? f : NULL;
}

void amdgpu_ctx_add_fence(struct amdgpu_ctx_entity *e, struct drm_fence *finished)
{
	struct drm_fence **slot = &e->fences[finished->seqno % AMDGPU_CTX_FENCE_WINDOW];
	if (*slot)
		drm_fence_put(*slot);
	*slot = drm_fence_get(finished);
}

struct own_fence {
	const struct drm_fence *fence;
	bool found;
};

static void match_ctx(uint32_t id, void *ptr, void *data)
{
	(void)id;
	struct amdgpu_ctx *ctx = ptr;
	struct own_fence *o = data;
	for (unsigned ip = 0; ip < AMDGPU_HW_IP_NUM && !o->found; ip++)
		for (unsigned r = 0; r < AMDGPU_CTX_MAX_RINGS; r++)
			if (ctx->entities[ip][r] && ctx->entities[ip][r]->base.sched &&
			    ctx->entities[ip][r]->base.fence_context == o->fence->context)
				o->found = true;
}

bool amdgpu_ctx_fence_is_own(struct drm_file *file, const struct drm_fence *fence)
{
	struct amdgpu_fpriv *fpriv = fpriv_of(file);
	if (!fpriv || !cs_fence_is_sched(fence))
		return false;
	struct own_fence o = {.fence = fence};
	idr_for_each(&fpriv->ctx_idr, match_ctx, &o);
	return o.found;
}

static void ctx_free(struct amdgpu_ctx *ctx)
{
	/* Submitted jobs reach their entities first, so the entities' end fails them properly. */
	amdgpu_cs_push_pending(ctx->adev);
	for (unsigned ip = 0; ip < AMDGPU_HW_IP_NUM; ip++) {
		for (unsigned r = 0; r < AMDGPU_CTX_MAX_RINGS; r++) {
			struct amdgpu_ctx_entity *e = ctx->entities[ip][r];
			if (!e)
				continue;
			/* Queued jobs fail; those on the ring finish without the entity. */
			if (e->base.sched)
				cs_entity_fini(&e->base);
			for (unsigned i = 0; i < AMDGPU_CTX_FENCE_WINDOW; i++)
				if (e->fences[i])
					drm_fence_put(e->fences[i]);
			free(e);
		}
	}
	free(ctx);
}

static void ctx_set_priority(struct amdgpu_ctx *ctx)
{
	enum cs_priority p = to_cs_priority(effective_priority(ctx));
	for (unsigned ip = 0; ip < AMDGPU_HW_IP_NUM; ip++)
		for (unsigned r = 0; r < AMDGPU_CTX_MAX_RINGS; r++)
			if (ctx->entities[ip][r] && ctx->entities[ip][r]->base.sched)
				cs_entity_set_priority(&ctx->entities[ip][r]->base, p);
}

/* Above NORMAL needs CAP_SYS_NICE or the current master, as amdgpu_ctx_priority_permit. */
static int priority_permit(struct drm_call *call, struct drm_file *file, int32_t priority)
{
	if (!priority_valid(priority))
		return -EINVAL;
	if (priority <= AMDGPU_CTX_PRIORITY_NORMAL)
		return 0;
	if (drm_call_privileged(call) || drm_is_current_master(file))
		return 0;
	return -EACCES;
}

int amdgpu_ctx_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	union drm_amdgpu_ctx *args = data;
	struct amdgpu_fpriv *fpriv = fpriv_of(file);
	struct amdgpu_device *adev = dev->dev_private;
	uint32_t id = args->in.ctx_id;
	int32_t priority = args->in.priority;

	if (!fpriv)
		return -EINVAL;
	switch (args->in.op) {
	case AMDGPU_CTX_OP_ALLOC_CTX: {
		int r = priority_permit(call, file, priority);
		if (r)
			return r;
		struct amdgpu_ctx *ctx = calloc(1, sizeof(*ctx));
		if (!ctx)
			return -ENOMEM;
		ctx->adev = adev;
		ctx->init_priority = priority == AMDGPU_CTX_PRIORITY_UNSET ? AMDGPU_CTX_PRIORITY_NORMAL : priority;
		ctx->override_priority = AMDGPU_CTX_PRIORITY_UNSET;
		ctx->reset_counter = ctx->reset_counter_query = adev->cs ? adev->cs->reset_counter : 0;
		int64_t h = idr_alloc(&fpriv->ctx_idr, ctx);
		if (h < 0) {
			free(ctx);
			return (int)h;
		}
		ctx->id = (uint32_t)h;
		memset(&args->out, 0, sizeof(args->out));
		args->out.alloc.ctx_id = (uint32_t)h;
		return 0;
	}
	case AMDGPU_CTX_OP_FREE_CTX: {
		struct amdgpu_ctx *ctx = idr_remove(&fpriv->ctx_idr, id);
		if (!ctx)
			return -EINVAL;
		ctx_free(ctx);
		return 0;
	}
	case AMDGPU_CTX_OP_QUERY_STATE: {
		struct amdgpu_ctx *ctx = idr_find(&fpriv->ctx_idr, id);
		if (!ctx)
			return -EINVAL;
		uint64_t resets = adev->cs ? adev->cs->reset_counter : 0;
		memset(&args->out, 0, sizeof(args->out));
		/* Whether a reset happened since the last query, and whose fault it was. */
		if (ctx->guilty)
			args->out.state.reset_status = AMDGPU_CTX_GUILTY_RESET;
		else if (ctx->reset_counter_query != resets)
			args->out.state.reset_status = AMDGPU_CTX_INNOCENT_RESET;
		else
			args->out.state.reset_status = AMDGPU_CTX_NO_RESET;
		ctx->reset_counter_query = resets;
		return 0;
	}
	case AMDGPU_CTX_OP_QUERY_STATE2: {
		struct amdgpu_ctx *ctx = idr_find(&fpriv->ctx_idr, id);
		if (!ctx)
			return -EINVAL;
		uint64_t resets = adev->cs ? adev->cs->reset_counter : 0;
		memset(&args->out, 0, sizeof(args->out));
		/* No VRAM is lost by a ring reset, and there is no RAS block. */
		if (ctx->reset_counter != resets)
			args->out.state.flags |= AMDGPU_CTX_QUERY2_FLAGS_RESET;
		if (ctx->guilty)
			args->out.state.flags |= AMDGPU_CTX_QUERY2_FLAGS_GUILTY;
		return 0;
	}
	default:
		/* Stable power states need power management, which the device does not have. */
		return -EINVAL;
	}
}

static void override_each(uint32_t id, void *ptr, void *data)
{
	(void)id;
	struct amdgpu_ctx *ctx = ptr;
	ctx->override_priority = *(const int32_t *)data;
	ctx_set_priority(ctx);
}

/*
 * SCHED: the current master (the table's DRM_MASTER) overrides the priority
 * of every context of another amdgpu file, or of one of them, named by an fd.
 */
int amdgpu_sched_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	union drm_amdgpu_sched *args = data;
	(void)call;
	if (!priority_valid(args->in.priority))
		return -EINVAL;
	if (args->in.op != AMDGPU_SCHED_OP_PROCESS_PRIORITY_OVERRIDE &&
	    args->in.op != AMDGPU_SCHED_OP_CONTEXT_PRIORITY_OVERRIDE)
		return -EINVAL;
	struct drm_file *target = drm_file_lookup_fd(file, (int)args->in.fd);
	/* Not an open file of an amdgpu device: the kernel's amdgpu_file_to_fpriv says EINVAL. */
	if (!target || target->dev->driver != dev->driver || !target->driver_priv)
		return -EINVAL;
	struct amdgpu_fpriv *fpriv = fpriv_of(target);
	int32_t prio = args->in.priority;
	if (args->in.op == AMDGPU_SCHED_OP_PROCESS_PRIORITY_OVERRIDE) {
		idr_for_each(&fpriv->ctx_idr, override_each, &prio);
		return 0;
	}
	struct amdgpu_ctx *ctx = idr_find(&fpriv->ctx_idr, args->in.ctx_id);
	if (!ctx)
		return -EINVAL;
	override_each(ctx->id, ctx, &prio);
	return 0;
}

static void free_each(uint32_t id, void *ptr, void *data)
{
	(void)id;
	(void)data;
	ctx_free(ptr);
}

void amdgpu_ctx_file_fini(struct drm_file *file)
{
	struct amdgpu_fpriv *fpriv = fpriv_of(file);
	if (!fpriv)
		return;
	idr_for_each(&fpriv->ctx_idr, free_each, NULL);
	idr_destroy(&fpriv->ctx_idr);
}
