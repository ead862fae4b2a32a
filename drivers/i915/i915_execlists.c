/*
 * Execlists submission (GPU-MODELS.md §8): logical ring contexts, requests written into their
 * rings, the ELSP and the context status buffer.
 *
 * An LRC is one GGTT range: page 0 the per-context status page, page 1 the register state in
 * MI_LOAD_REGISTER_IMM form (ring head/tail/start/ctl, the PML4 in PDP0), then the ring.
 *
 * Requests run in the order they were submitted on an engine, which is their seqno order: the
 * breadcrumbs then land in order and one seqno in the status page says which requests are done.
 * So a context is given to the ELSP only with the requests up to the first one of another
 * context, and only once both ports are free again (no preemption, no lite restore): the
 * hardware never reorders what the queue says.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "i915.h"
#include "redox-drm/hw.h"
#include "redox-drm/log.h"

/* Commands [GPU-MODELS.md §7]. */
#define MI_NOOP 0u
#define MI_USER_INTERRUPT (0x02u << 23)
#define MI_ARB_CHECK (0x05u << 23)
#define MI_ARB_ON_OFF (0x08u << 23)
#define MI_ARB_ENABLE 1u
#define MI_BATCH_BUFFER_END (0x0Au << 23)
#define MI_LOAD_REGISTER_IMM(n) (0x22u << 23 | (2u * (n) - 1))
#define MI_FLUSH_DW (0x26u << 23 | 2)
#define MI_FLUSH_DW_STORE_DW (1u << 14)
#define MI_FLUSH_DW_TLB_INV (1u << 18)
#define MI_FLUSH_DW_GGTT 4u
#define MI_BATCH_BUFFER_START (0x31u << 23 | 1)
#define MI_BB_PPGTT (1u << 8)
#define PIPE_CONTROL 0x7A000004u
#define PC_CS_STALL (1u << 20)
#define PC_GGTT (1u << 24)
#define PC_TLB_INV (1u << 18)
#define PC_QW_WRITE (1u << 14)
#define PC_RT_FLUSH (1u << 12)
#define PC_DEPTH_FLUSH (1u << 0)
#define PC_DC_FLUSH (1u << 5)
#define PC_INVALIDATES 0x00000C1Cu /* instruction, texture, VF, constant, state cache invalidate */

/* Descriptor: VALID, legacy 64-bit (4-level) addressing, PRIVILEGE, LRCA, context ID. */
#define DESC_VALID 1u
#define DESC_ADDRESSING_4LVL (3u << 3)
#define DESC_PRIVILEGE (1u << 8)
#define CTX_ID_MASK 0x1FFFFFu

/* LRC register state (page 1), value dword indexes [GPU-MODELS.md §8]. */
#define LRC_PAGES 2u
#define LRC_STATE 1024u
#define CTX_CONTEXT_CONTROL 0x03u
#define CTX_RING_HEAD 0x05u
#define CTX_RING_TAIL 0x07u
#define CTX_RING_START 0x09u
#define CTX_RING_CTL 0x0Bu
#define CTX_BB_STATE 0x11u
#define CTX_TIMESTAMP 0x23u
#define CTX_PDP_UDW(n) (0x31u - 4u * (n))
#define CTX_PDP_LDW(n) (0x33u - 4u * (n))
#define CTX_END 0x34u
#define CTX_CTRL_INHIBIT_SYN_CTX_SWITCH (1u << 3)
#define RING_BB_PPGTT 0x20u
#define RING_VALID 1u

#define RING_SIZE (16u << 10)
#define RQ_MAX_DWORDS 32u

static uint32_t *state(struct i915_lrc *lrc)
{
	return lrc->state;
}

static void put_dw(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

/* The register state as i915 lays it out: LRI headers and register offsets around the values. */
static void lrc_init_state(struct i915_lrc *lrc)
{
	uint32_t *s = state(lrc), base = lrc->engine->base;
	static const uint32_t regs1[13] = {0x244, 0x34, 0x30, 0x38, 0x3C, 0x168, 0x140, 0x110,
					   0x11C, 0x114, 0x118, 0x1C0, 0x1C4};
	s[1] = MI_LOAD_REGISTER_IMM(13);
	for (unsigned i = 0; i < 13; i++)
		s[2 + 2 * i] = base + regs1[i];
	s[CTX_CONTEXT_CONTROL] = MASKED_BIT_ENABLE(CTX_CTRL_INHIBIT_SYN_CTX_SWITCH);
	s[CTX_RING_HEAD] = 0;
	s[CTX_RING_TAIL] = 0;
	s[CTX_RING_START] = lrc->ring_ggtt;
	s[CTX_RING_CTL] = ((lrc->ring_size / 4096u - 1) << 12) | RING_VALID;
	s[CTX_BB_STATE] = RING_BB_PPGTT;
	s[0x21] = MI_LOAD_REGISTER_IMM(9);
	s[0x22] = base + 0x3A8; /* CTX_TIMESTAMP */
	s[CTX_TIMESTAMP] = 0;
	for (unsigned n = 0; n < 4; n++) {
		s[CTX_PDP_UDW(n) - 1] = base + 0x270 + 8 * n + 4;
		s[CTX_PDP_LDW(n) - 1] = base + 0x270 + 8 * n;
	}
	uint64_t pml4 = i915_vm_pml4(lrc->vm);
	s[CTX_PDP_UDW(0)] = (uint32_t)(pml4 >> 32);
	s[CTX_PDP_LDW(0)] = (uint32_t)pml4;
	s[CTX_END] = MI_BATCH_BUFFER_END;
}

struct i915_engine *i915_engine_get(struct i915_device *i915, enum i915_engine_id id)
{
	if (!i915 || (unsigned)id >= I915_NUM_ENGINES)
		return NULL;
	return &i915->engine[id];
}

struct i915_lrc *i915_lrc_create(struct i915_device *i915, enum i915_engine_id id, struct i915_address_space *vm)
{
	struct i915_engine *engine = i915_engine_get(i915, id);
	if (!engine || !vm)
		return NULL;
	struct hw_device *hw = i915->hw;
	struct i915_lrc *lrc = calloc(1, sizeof(*lrc));
	if (!lrc)
		return NULL;
	size_t size = LRC_PAGES * 4096u + RING_SIZE;
	if (hw->ops->dma_alloc(hw, size, &lrc->mem)) {
		free(lrc);
		return NULL;
	}
	if (i915_ggtt_alloc(i915, size, 4096, &lrc->ggtt)) {
		hw->ops->dma_free(hw, &lrc->mem);
		free(lrc);
		return NULL;
	}
	if (lrc->ggtt + size > (1ull << 32)) { /* the descriptor holds 32 bits of LRCA */
		i915_ggtt_free(i915, lrc->ggtt);
		hw->ops->dma_free(hw, &lrc->mem);
		free(lrc);
		return NULL;
	}
	memset(lrc->mem.cpu, 0, size);
	i915_ggtt_map(i915, lrc->ggtt, lrc->mem.bus_addr, size, 0);
	lrc->refcount = 1;
	lrc->engine = engine;
	lrc->vm = i915_vm_get(vm);
	lrc->state = (uint32_t *)((uint8_t *)lrc->mem.cpu + 4096u);
	lrc->ring = (uint32_t *)((uint8_t *)lrc->mem.cpu + LRC_PAGES * 4096u);
	lrc->ring_ggtt = (uint32_t)lrc->ggtt + LRC_PAGES * 4096u;
	lrc->ring_size = RING_SIZE;
	/* The context ID names the context in CSB entries; 0 is what IDLE_TO_ACTIVE reports. */
	i915->next_ctx_id = (i915->next_ctx_id + 1) & CTX_ID_MASK;
	if (!i915->next_ctx_id)
		i915->next_ctx_id = 1;
	lrc->ctx_id = i915->next_ctx_id;
	lrc_init_state(lrc);
	lrc->next = engine->lrcs;
	engine->lrcs = lrc;
	return lrc;
}

void i915_lrc_get(struct i915_lrc *lrc)
{
	lrc->refcount++;
}

void i915_lrc_put(struct i915_lrc *lrc)
{
	if (!lrc || --lrc->refcount)
		return;
	struct i915_engine *engine = lrc->engine;
	struct i915_device *i915 = engine->i915;
	for (struct i915_lrc **l = &engine->lrcs; *l; l = &(*l)->next) {
		if (*l == lrc) {
			*l = lrc->next;
			break;
		}
	}
	size_t size = LRC_PAGES * 4096u + lrc->ring_size;
	i915_ggtt_unmap(i915, lrc->ggtt, size);
	i915_ggtt_free(i915, lrc->ggtt);
	i915->hw->ops->dma_free(i915->hw, &lrc->mem);
	i915_vm_put(lrc->vm);
	free(lrc);
}

void i915_lrc_destroy(struct i915_lrc *lrc)
{
	if (!lrc || lrc->destroyed)
		return;
	lrc->destroyed = true;
	i915_lrc_put(lrc);
}

/* ---- the ring ---- */

static uint32_t ring_space(const struct i915_lrc *lrc)
{
	uint32_t used = (lrc->emit - lrc->retired + lrc->ring_size) % lrc->ring_size;
	return lrc->ring_size - used - 8; /* never full: head == tail means empty */
}

static void emit(struct i915_lrc *lrc, uint32_t v)
{
	put_dw(&lrc->ring[lrc->emit / 4], v);
	lrc->emit = (lrc->emit + 4) % lrc->ring_size;
}

static void emit_flush_invalidate(struct i915_lrc *lrc)
{
	if (lrc->engine->id == I915_RCS0) {
		/* Caches and TLBs invalidated before the batch: bindings may have changed since the last. */
		emit(lrc, PIPE_CONTROL);
		emit(lrc, PC_CS_STALL | PC_TLB_INV | PC_INVALIDATES);
		emit(lrc, 0);
		emit(lrc, 0);
		emit(lrc, 0);
		emit(lrc, 0);
	} else {
		emit(lrc, MI_FLUSH_DW | MI_FLUSH_DW_TLB_INV);
		emit(lrc, 0);
		emit(lrc, 0);
		emit(lrc, 0);
	}
}

/* The seqno into the engine's status page (GGTT), after the batch's writes, then the interrupt. */
static void emit_breadcrumb(struct i915_lrc *lrc, uint32_t seqno)
{
	struct i915_engine *engine = lrc->engine;
	uint64_t addr = engine->hwsp_ggtt + 4u * I915_HWSP_SEQNO;
	if (engine->id == I915_RCS0) {
		emit(lrc, PIPE_CONTROL);
		emit(lrc, PC_CS_STALL | PC_QW_WRITE | PC_GGTT | PC_RT_FLUSH | PC_DEPTH_FLUSH | PC_DC_FLUSH);
		emit(lrc, (uint32_t)addr);
		emit(lrc, (uint32_t)(addr >> 32));
		emit(lrc, seqno);
		emit(lrc, 0);
	} else {
		emit(lrc, MI_FLUSH_DW | MI_FLUSH_DW_STORE_DW);
		emit(lrc, (uint32_t)addr | MI_FLUSH_DW_GGTT);
		emit(lrc, (uint32_t)(addr >> 32));
		emit(lrc, seqno);
	}
	emit(lrc, MI_USER_INTERRUPT);
	emit(lrc, MI_ARB_ON_OFF | MI_ARB_ENABLE);
	emit(lrc, MI_ARB_CHECK);
}

static void request_release(struct drm_fence *fence)
{
	struct i915_request *rq = (struct i915_request *)fence;
	if (rq->lrc)
		i915_lrc_put(rq->lrc);
	free(rq);
}

static const char *request_driver_name(struct drm_fence *fence)
{
	(void)fence;
	return "i915";
}

static const char *request_timeline_name(struct drm_fence *fence)
{
	struct i915_request *rq = (struct i915_request *)fence;
	return rq->timeline;
}

/* The lost-interrupt fallback: whatever the status page says is done signals now, in order. */
static bool request_signaled(struct drm_fence *fence)
{
	struct i915_request *rq = (struct i915_request *)fence;
	if (!rq->engine)
		return false;
	if (!i915_seqno_passed(i915_hwsp_seqno(rq->engine), (uint32_t)fence->seqno))
		return false;
	i915_breadcrumbs_process(rq->engine);
	return true;
}

const struct drm_fence_ops i915_request_fence_ops = {
	.driver_name = request_driver_name,
	.timeline_name = request_timeline_name,
	.signaled = request_signaled,
	.release = request_release,
};

int i915_request_submit(struct i915_lrc *lrc, uint64_t batch_va, uint32_t batch_len, struct drm_fence **hw_fence)
{
	(void)batch_len; /* the batch ends itself (MI_BATCH_BUFFER_END); the length is the caller's check */
	if (!lrc || !hw_fence || lrc->destroyed)
		return -EINVAL;
	struct i915_engine *engine = lrc->engine;
	if (!engine->up)
		return -ENODEV;
	if ((batch_va & 3) || batch_va >= I915_VM_TOTAL)
		return -EINVAL;
	if (ring_space(lrc) < RQ_MAX_DWORDS * 4)
		return -ENOSPC;
	struct i915_request *rq = calloc(1, sizeof(*rq));
	if (!rq)
		return -ENOMEM;
	uint64_t seqno = ++engine->next_seqno;
	drm_fence_init(&rq->fence, &i915_request_fence_ops, engine->fence_context, seqno);
	rq->engine = engine;
	rq->timeline = engine->name;
	rq->lrc = lrc;
	i915_lrc_get(lrc);

	rq->head = lrc->emit;
	emit(lrc, MI_ARB_CHECK);
	emit_flush_invalidate(lrc);
	emit(lrc, MI_ARB_ON_OFF | MI_ARB_ENABLE);
	emit(lrc, MI_BATCH_BUFFER_START | MI_BB_PPGTT);
	emit(lrc, (uint32_t)batch_va);
	emit(lrc, (uint32_t)(batch_va >> 32));
	emit(lrc, MI_ARB_ON_OFF);
	rq->postfix = lrc->emit;
	emit_breadcrumb(lrc, (uint32_t)seqno);
	if (lrc->emit & 7) /* RING_TAIL is qword aligned */
		emit(lrc, MI_NOOP);
	rq->tail = lrc->emit;

	*hw_fence = drm_fence_get(&rq->fence);
	i915_breadcrumbs_add(engine, rq); /* takes the initial reference */
	rq->queue_next = NULL;
	*engine->queue_tail = rq;
	engine->queue_tail = &rq->queue_next;
	engine->submits++;
	/* Events whose interrupt has not come yet may have freed the ports already. */
	i915_execlists_process_csb(engine);
	return 0;
}

/* ---- ELSP and CSB ---- */

static uint64_t descriptor(const struct i915_lrc *lrc)
{
	return (uint64_t)lrc->ctx_id << 32 | lrc->ggtt | DESC_VALID | DESC_ADDRESSING_4LVL | DESC_PRIVILEGE;
}

/* Takes the queue's first context with its consecutive requests: the image's tail covers them. */
static struct i915_lrc *take_context(struct i915_engine *engine)
{
	struct i915_request *rq = engine->queue_head;
	if (!rq)
		return NULL;
	struct i915_lrc *lrc = rq->lrc;
	uint32_t tail = rq->tail;
	while ((rq = rq->queue_next) && rq->lrc == lrc)
		tail = rq->tail;
	engine->queue_head = rq;
	if (!rq)
		engine->queue_tail = &engine->queue_head;
	put_dw(&state(lrc)[CTX_RING_TAIL], tail);
	i915_lrc_get(lrc); /* the port's */
	return lrc;
}

void i915_execlists_dequeue(struct i915_engine *engine)
{
	if (!engine->queue_head || engine->pending[0] || engine->active[0])
		return;
	struct i915_lrc *port0 = take_context(engine), *port1 = take_context(engine);
	uint64_t d0 = descriptor(port0), d1 = port1 ? descriptor(port1) : 0;
	engine->pending[0] = port0;
	engine->pending[1] = port1;
	/* Context images and rings in memory before the engine is told. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	struct hw_device *hw = engine->i915->hw;
	hw_write32(hw, I915_BAR_GTTMMADR, RING_ELSP(engine->base), (uint32_t)(d1 >> 32));
	hw_write32(hw, I915_BAR_GTTMMADR, RING_ELSP(engine->base), (uint32_t)d1);
	hw_write32(hw, I915_BAR_GTTMMADR, RING_ELSP(engine->base), (uint32_t)(d0 >> 32));
	hw_write32(hw, I915_BAR_GTTMMADR, RING_ELSP(engine->base), (uint32_t)d0);
}

static void port_release(struct i915_lrc **port)
{
	i915_lrc_put(port[0]);
	port[0] = port[1];
	port[1] = NULL;
}

/* One CSB entry (gen8 format): promote on IDLE_TO_ACTIVE / PREEMPTED, retire an element on COMPLETE. */
static void csb_entry(struct i915_engine *engine, uint32_t status, uint32_t ctx_id)
{
	engine->csb_events++;
	if (status & (CSB_IDLE_TO_ACTIVE | CSB_PREEMPTED)) {
		while (engine->active[0])
			port_release(engine->active);
		engine->active[0] = engine->pending[0];
		engine->active[1] = engine->pending[1];
		engine->pending[0] = engine->pending[1] = NULL;
	}
	if (status & CSB_COMPLETE) {
		if (engine->active[0] && engine->active[0]->ctx_id != ctx_id)
			log_warn("i915: %s: CSB completes context %u, expected %u", engine->name, ctx_id,
				 engine->active[0]->ctx_id);
		if (engine->active[0])
			port_release(engine->active);
	}
	if (status & CSB_ACTIVE_TO_IDLE) {
		while (engine->active[0])
			port_release(engine->active);
	}
}

void i915_execlists_process_csb(struct i915_engine *engine)
{
	volatile uint32_t *hwsp = engine->hwsp.cpu;
	if (!hwsp)
		return;
	uint32_t wp = __atomic_load_n(&hwsp[I915_HWSP_CSB_WRITE], __ATOMIC_ACQUIRE) & 7;
	if (wp >= I915_CSB_ENTRIES || wp == engine->csb_head)
		goto dequeue;
	unsigned head = engine->csb_head;
	do {
		head = (head + 1) % I915_CSB_ENTRIES;
		uint32_t status = __atomic_load_n(&hwsp[I915_HWSP_CSB + 2 * head], __ATOMIC_ACQUIRE);
		uint32_t id = __atomic_load_n(&hwsp[I915_HWSP_CSB + 2 * head + 1], __ATOMIC_ACQUIRE);
		csb_entry(engine, status, id);
	} while (head != wp);
	engine->csb_head = head;
	/* The read pointer tells the hardware which entries it may overwrite. */
	hw_write32(engine->i915->hw, I915_BAR_GTTMMADR, RING_CSB_PTR(engine->base), (0x0700u << 16) | (head << 8));
dequeue:
	i915_execlists_dequeue(engine);
}

/* After an engine reset: nothing is on the hardware, CSB starts over, the rings skip what was
 * abandoned (the image's head would replay it otherwise). */
void i915_execlists_reset(struct i915_engine *engine)
{
	while (engine->pending[0])
		port_release(engine->pending);
	while (engine->active[0])
		port_release(engine->active);
	engine->queue_head = NULL;
	engine->queue_tail = &engine->queue_head;
	for (struct i915_lrc *lrc = engine->lrcs; lrc; lrc = lrc->next) {
		put_dw(&state(lrc)[CTX_RING_HEAD], lrc->emit);
		put_dw(&state(lrc)[CTX_RING_TAIL], lrc->emit);
		lrc->retired = lrc->emit;
	}
}

/*
 * After a reset for a command-streamer error: the requests still outstanding (the guilty one is
 * gone) run again from their own first command, in the order they had. Their breadcrumbs carry
 * the seqnos they had, so signalling stays in order.
 */
void i915_execlists_replay(struct i915_engine *engine)
{
	uint64_t gen = ++engine->replay_gen;
	engine->queue_head = NULL;
	engine->queue_tail = &engine->queue_head;
	for (struct i915_request *rq = engine->signal_head; rq; rq = rq->signal_next) {
		struct i915_lrc *lrc = rq->lrc;
		if (lrc->replay_gen != gen) {
			/* Its first outstanding request: the ring restarts there. */
			lrc->replay_gen = gen;
			put_dw(&state(lrc)[CTX_RING_HEAD], rq->head);
			lrc->retired = rq->head;
		}
		rq->queue_next = NULL;
		*engine->queue_tail = rq;
		engine->queue_tail = &rq->queue_next;
	}
	i915_execlists_dequeue(engine);
}
