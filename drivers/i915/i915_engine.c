/*
 * The command streamers RCS and BCS: bring-up (status page, execlists enable, interrupts) with a
 * self-test each, the GT interrupt's share per engine, and engine reset.
 *
 * Bring-up is the kernel's enable_execlists [GPU-MODELS.md §8]: HWSTAM all masked, GFX_MODE
 * RUN_LIST_ENABLE, MI_MODE STOP_RING off, HWS_PGA; then the CSB pointers start over and the user
 * and context-switch interrupts are unmasked. The self-test runs a batch in a PPGTT through the
 * ELSP and waits, boundedly, for its write, breadcrumb, user interrupt and CSB events. Only an
 * engine that passes is offered to clients (GETPARAM, QUERY engine info).
 *
 * Reset is gen8's: RING_RESET_CTL request → READY_TO_RESET, GDRST of the engine's domain until it
 * clears, request withdrawn, registers programmed again; then the engine's outstanding requests
 * complete with -ECANCELED.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <drm.h>
#include <i915_drm.h>

#include "i915.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/gem.h"
#include "redox-drm/hw.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"

#define ENGINE_IRQS (GT_RENDER_USER_INTERRUPT | GT_CONTEXT_SWITCH | GT_CS_MASTER_ERROR)
#define SELFTEST_TIMEOUT_NS 2000000000ull
#define RESET_READY_TIMEOUT_NS 20000000ull /* the kernel waits 700 us; the model's engines are threads */
#define RESET_DONE_TIMEOUT_NS 500000000ull
#define SELFTEST_MAGIC 0x5EEDC0DEu

/* Commands of the self-test batch. */
#define MI_STORE_DATA_IMM (0x20u << 23 | 2)
#define MI_BATCH_BUFFER_END (0x0Au << 23)

static const struct {
	const char *name;
	uint32_t base;
	unsigned irq_shift;
	uint16_t uabi_class;
	uint32_t grdom;
} engine_info[I915_NUM_ENGINES] = {
	[I915_RCS0] = {"rcs0", RENDER_RING_BASE, 0, I915_ENGINE_CLASS_RENDER, GRDOM_RENDER},
	[I915_BCS0] = {"bcs0", BLT_RING_BASE, 16, I915_ENGINE_CLASS_COPY, GRDOM_BLT},
};

static void cs_error_recovery(struct i915_engine *e);

static uint32_t rd(struct i915_engine *e, uint32_t off)
{
	return hw_read32(e->i915->hw, I915_BAR_GTTMMADR, off);
}

static void wr(struct i915_engine *e, uint32_t off, uint32_t v)
{
	hw_write32(e->i915->hw, I915_BAR_GTTMMADR, off, v);
}

static void pause_us(unsigned us)
{
	struct timespec ts = {0, (long)us * 1000};
	nanosleep(&ts, NULL);
}

/* Polls (register & mask) == val for up to timeout_ns. */
static bool wait_for(struct i915_engine *e, uint32_t off, uint32_t mask, uint32_t val, uint64_t timeout_ns)
{
	uint64_t end = monotonic_ns() + timeout_ns;
	for (;;) {
		uint32_t v = rd(e, off);
		if (v != 0xFFFFFFFFu && (v & mask) == val)
			return true;
		if (monotonic_ns() > end)
			return false;
		pause_us(10);
	}
}

/* Execlists on, status page, CSB pointers from the start, interrupts unmasked. */
void i915_engine_hw_init(struct i915_engine *e)
{
	uint32_t *hwsp = e->hwsp.cpu;
	uint32_t b = e->base;
	wr(e, RING_HWSTAM(b), 0xFFFFFFFFu);
	wr(e, RING_GFX_MODE(b), MASKED_BIT_ENABLE(GFX_RUN_LIST_ENABLE));
	wr(e, RING_MI_MODE(b), MASKED_BIT_DISABLE(MI_MODE_STOP_RING));
	wr(e, RING_HWS_PGA(b), (uint32_t)e->hwsp_ggtt);
	(void)rd(e, RING_HWS_PGA(b)); /* posting read */
	/* Both pointers at the last entry: the next event is entry 0. */
	e->csb_head = I915_CSB_ENTRIES - 1;
	__atomic_store_n(&hwsp[I915_HWSP_CSB_WRITE], I915_CSB_ENTRIES - 1, __ATOMIC_RELEASE);
	wr(e, RING_CSB_PTR(b), (0x0707u << 16) | ((I915_CSB_ENTRIES - 1) << 8) | (I915_CSB_ENTRIES - 1));
	/* Instruction errors are reported; the rest of EIR stays masked. */
	wr(e, RING_EMR(b), ~1u);
	wr(e, RING_EIR(b), 0xFFFFFFFFu);
	wr(e, RING_IMR(b), ~ENGINE_IRQS);
	uint32_t bits = ENGINE_IRQS << e->irq_shift;
	wr(e, GEN8_GT_IIR(0), bits);
	wr(e, GEN8_GT_IER(0), rd(e, GEN8_GT_IER(0)) | bits);
	wr(e, GEN8_GT_IMR(0), rd(e, GEN8_GT_IMR(0)) & ~bits);
}

/*
 * The fault registers keep the first fault until VALID is cleared; there is no interrupt for it,
 * so the driver looks when an engine reports something, as the kernel does around resets.
 */
void i915_gt_check_faults(struct i915_device *i915)
{
	struct hw_device *hw = i915->hw;
	uint32_t fault = hw_read32(hw, I915_BAR_GTTMMADR, GEN8_FAULT_REG);
	if (fault == 0xFFFFFFFFu || !(fault & 1))
		return;
	uint32_t d0 = hw_read32(hw, I915_BAR_GTTMMADR, GEN8_FAULT_TLB_DATA0);
	uint32_t d1 = hw_read32(hw, I915_BAR_GTTMMADR, GEN8_FAULT_TLB_DATA1);
	uint64_t addr = ((uint64_t)(d1 & 0xF) << 44) | ((uint64_t)d0 << 12);
	unsigned hw_engine = (fault >> 12) & 7, type = (fault >> 1) & 3;
	/* Hardware engine IDs: RCS 0, BCS 2 [plausible, as the model reports them]. */
	struct i915_engine *e = hw_engine == 0 ? &i915->engine[I915_RCS0] : hw_engine == 2 ? &i915->engine[I915_BCS0] : NULL;
	log_warn("i915: GPU page fault at 0x%012llx (%s, type %u) by %s", (unsigned long long)addr,
		 d1 & 0x10 ? "GGTT" : "PPGTT", type, e ? e->name : "another engine");
	if (e) {
		e->page_faults++;
		e->last_fault_addr = addr;
	}
	hw_write32(hw, I915_BAR_GTTMMADR, GEN8_FAULT_REG, fault & ~1u);
}

void i915_engine_gt_irq(struct i915_engine *e, uint32_t iir)
{
	e->irqs++;
	i915_gt_check_faults(e->i915);
	if (iir & GT_CS_MASTER_ERROR) {
		uint32_t eir = rd(e, RING_EIR(e->base));
		if (eir) {
			log_error("i915: %s: command streamer error (EIR 0x%08x, IPEHR 0x%08x, ACTHD 0x%08x): resetting",
				  e->name, eir, rd(e, RING_IPEHR(e->base)), rd(e, RING_ACTHD(e->base)));
			e->cs_errors++;
			cs_error_recovery(e);
			return;
		}
	}
	if (iir & GT_CONTEXT_SWITCH)
		i915_execlists_process_csb(e);
	if (iir & GT_RENDER_USER_INTERRUPT)
		i915_breadcrumbs_process(e);
}

/* The interrupt path without the event loop: GT IIR read, cleared and served here. */
static void poll_gt_irq(struct i915_engine *e)
{
	uint32_t iir = rd(e, GEN8_GT_IIR(0));
	if (iir == 0xFFFFFFFFu)
		return;
	uint32_t mine = (iir >> e->irq_shift) & 0xFFFFu;
	if (!mine)
		return;
	wr(e, GEN8_GT_IIR(0), mine << e->irq_shift);
	i915_engine_gt_irq(e, mine);
}

/*
 * A batch in a PPGTT writes a value next to itself; the request's breadcrumb must land, its user
 * interrupt arrive, and the CSB say the context went idle.
 */
static int selftest(struct drm_device *dev, struct i915_engine *e, struct i915_address_space *vm)
{
	struct drm_gem_object *obj = drm_gem_object_create(dev, 4096);
	if (!obj)
		return -ENOMEM;
	int ret;
	uint64_t va = 0;
	struct i915_lrc *lrc = NULL;
	struct drm_fence *fence = NULL;
	uint32_t *batch = obj->vaddr;
	if ((ret = i915_vm_alloc_va(vm, obj->size, 4096, &va)) || (ret = i915_vm_bind(vm, va, obj, 0, obj->size, 0)))
		goto out;
	uint64_t target = va + 2048;
	batch[0] = MI_STORE_DATA_IMM;
	batch[1] = (uint32_t)target;
	batch[2] = (uint32_t)(target >> 32);
	batch[3] = SELFTEST_MAGIC;
	batch[4] = MI_BATCH_BUFFER_END;
	lrc = i915_lrc_create(e->i915, e->id, vm);
	if (!lrc) {
		ret = -ENOMEM;
		goto out;
	}
	uint64_t irqs = e->irqs;
	if ((ret = i915_request_submit(lrc, va, 5 * 4, &fence)))
		goto out;
	uint64_t end = monotonic_ns() + SELFTEST_TIMEOUT_NS;
	while (!fence->signaled || e->active[0] || e->pending[0]) {
		poll_gt_irq(e);
		if (fence->signaled && !e->active[0] && !e->pending[0])
			break;
		if (monotonic_ns() > end) {
			log_error("i915: %s: self-test timed out (seqno %u of %llu, CSB head %u, ports %s/%s)", e->name,
				  i915_hwsp_seqno(e), (unsigned long long)fence->seqno, e->csb_head,
				  e->pending[0] ? "pending" : "-", e->active[0] ? "active" : "-");
			ret = -ETIMEDOUT;
			goto out;
		}
		pause_us(10);
	}
	uint32_t got = __atomic_load_n(&batch[512], __ATOMIC_ACQUIRE);
	if (fence->error || got != SELFTEST_MAGIC || e->irqs == irqs) {
		log_error("i915: %s: self-test: batch wrote 0x%08x (want 0x%08x), fence error %d, %llu interrupts",
			  e->name, got, SELFTEST_MAGIC, fence->error, (unsigned long long)(e->irqs - irqs));
		ret = -EIO;
	}
out:
	if (fence)
		drm_fence_put(fence);
	if (ret && e->up)
		i915_engine_reset(e->i915, e->id); /* whatever was left on it goes */
	i915_lrc_destroy(lrc);
	if (va)
		i915_vm_unbind(vm, va, obj->size);
	drm_gem_object_put(obj);
	return ret;
}

static int engine_init(struct drm_device *dev, struct i915_device *i915, enum i915_engine_id id)
{
	struct i915_engine *e = &i915->engine[id];
	struct hw_device *hw = i915->hw;
	memset(e, 0, sizeof(*e));
	e->i915 = i915;
	e->id = id;
	e->name = engine_info[id].name;
	e->uabi_class = engine_info[id].uabi_class;
	e->base = engine_info[id].base;
	e->irq_shift = engine_info[id].irq_shift;
	e->fence_context = drm_fence_context_alloc(1);
	e->signal_tail = &e->signal_head;
	e->queue_tail = &e->queue_head;
	int ret = hw->ops->dma_alloc(hw, 4096, &e->hwsp);
	if (ret)
		return ret;
	memset(e->hwsp.cpu, 0, 4096);
	ret = i915_ggtt_alloc(i915, 4096, 4096, &e->hwsp_ggtt);
	if (ret) {
		hw->ops->dma_free(hw, &e->hwsp);
		e->hwsp.cpu = NULL;
		return ret;
	}
	i915_ggtt_map(i915, e->hwsp_ggtt, e->hwsp.bus_addr, 4096, 0);
	i915_engine_hw_init(e);
	e->up = true;
	(void)dev;
	return 0;
}

static void engine_fini(struct i915_engine *e)
{
	struct i915_device *i915 = e->i915;
	if (!i915 || !e->hwsp.cpu)
		return;
	if (e->up) {
		/* Stop the engine before its memory goes; what was outstanding never finishes. Not up
		 * first: fence callbacks during the reset cannot submit again. */
		e->up = false;
		i915_engine_reset(i915, e->id);
		wr(e, RING_GFX_MODE(e->base), MASKED_BIT_DISABLE(GFX_RUN_LIST_ENABLE));
		uint32_t bits = ENGINE_IRQS << e->irq_shift;
		wr(e, GEN8_GT_IMR(0), rd(e, GEN8_GT_IMR(0)) | bits);
		wr(e, GEN8_GT_IER(0), rd(e, GEN8_GT_IER(0)) & ~bits);
	}
	i915_breadcrumbs_cancel(e, -ENODEV);
	i915_execlists_reset(e);
	i915_ggtt_unmap(i915, e->hwsp_ggtt, 4096);
	i915_ggtt_free(i915, e->hwsp_ggtt);
	i915->hw->ops->dma_free(i915->hw, &e->hwsp);
	e->hwsp.cpu = NULL;
}

int i915_engines_init(struct drm_device *dev, struct i915_device *i915)
{
	int ret = i915_forcewake_get(i915->hw);
	if (ret)
		return ret;
	for (unsigned id = 0; id < I915_NUM_ENGINES && !ret; id++)
		ret = engine_init(dev, i915, id);
	i915_forcewake_put(i915->hw);
	if (ret) {
		i915_engines_fini(i915);
		return ret;
	}
	wr(&i915->engine[0], GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);

	/* The self-tests share one address space, as the kernel's own requests do. */
	struct i915_address_space *vm = i915_ppgtt_create(i915);
	if (!vm)
		return -ENOMEM;
	for (unsigned id = 0; id < I915_NUM_ENGINES; id++) {
		struct i915_engine *e = &i915->engine[id];
		int r = selftest(dev, e, vm);
		e->ready = r == 0;
		if (r)
			log_error("i915: %s: self-test failed (%d): engine not offered", e->name, r);
		else
			log_info("i915: %s: execlists up, self-test passed", e->name);
	}
	i915_vm_put(vm);
	return 0;
}

void i915_engines_fini(struct i915_device *i915)
{
	for (unsigned id = 0; id < I915_NUM_ENGINES; id++)
		engine_fini(&i915->engine[id]);
}

/* The reset itself: handshake, GDRST, registers again. Nothing on the hardware afterwards. */
static int reset_hw(struct i915_engine *e)
{
	struct i915_device *i915 = e->i915;
	uint32_t b = e->base;
	int ret = 0;
	bool fw = i915_forcewake_get(i915->hw) == 0;
	wr(e, RING_RESET_CTL(b), MASKED_BIT_ENABLE(RESET_CTL_REQUEST_RESET));
	if (!wait_for(e, RING_RESET_CTL(b), RESET_CTL_READY_TO_RESET, RESET_CTL_READY_TO_RESET, RESET_READY_TIMEOUT_NS))
		log_warn("i915: %s: not ready to reset (RESET_CTL 0x%08x); resetting anyway", e->name,
			 rd(e, RING_RESET_CTL(b)));
	wr(e, GEN6_GDRST, engine_info[e->id].grdom);
	if (!wait_for(e, GEN6_GDRST, engine_info[e->id].grdom, 0, RESET_DONE_TIMEOUT_NS)) {
		log_error("i915: %s: reset did not complete (GDRST 0x%08x)", e->name, rd(e, GEN6_GDRST));
		ret = -EIO;
	}
	wr(e, RING_RESET_CTL(b), MASKED_BIT_DISABLE(RESET_CTL_REQUEST_RESET));
	i915_execlists_reset(e);
	if (!ret)
		i915_engine_hw_init(e);
	if (fw)
		i915_forcewake_put(i915->hw);
	e->resets++;
	if (ret)
		e->up = e->ready = false;
	return ret;
}

int i915_engine_reset(struct i915_device *i915, enum i915_engine_id id)
{
	struct i915_engine *e = i915_engine_get(i915, id);
	if (!e || !e->hwsp.cpu)
		return -ENODEV;
	i915_gt_check_faults(i915);
	int ret = reset_hw(e);
	log_info("i915: %s: reset%s", e->name, ret ? " failed: engine taken out of service" : "");
	/* Last: callbacks may submit again, to the engine as it is now. */
	i915_breadcrumbs_cancel(e, -ECANCELED);
	return ret;
}

/*
 * The engine stopped on a command it could not execute. As the kernel does on the error
 * interrupt: the request it was running fails with -EIO, the engine is reset, and the requests
 * behind it run again.
 */
static void cs_error_recovery(struct i915_engine *e)
{
	i915_gt_check_faults(e->i915);
	i915_breadcrumbs_process(e); /* what finished before the error keeps its good completion */
	if (reset_hw(e)) {
		i915_breadcrumbs_cancel(e, -EIO);
		return;
	}
	/* Requests run in seqno order: the oldest outstanding one is the one that stopped. It leaves
	 * before the replay and completes after, so work its callbacks submit queues behind. */
	struct i915_request *guilty = i915_breadcrumbs_detach_first(e);
	i915_execlists_replay(e);
	if (guilty)
		i915_request_complete(guilty, -EIO);
}
