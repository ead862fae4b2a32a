/*
 * The i915 engine layer on the Skylake model, driven as the daemon drives it: the driver loaded
 * by the device code with a real event loop, interrupts delivered through it. PPGTT binding,
 * execlists submission and CSB processing, breadcrumbs into fences (in order, on both engines),
 * isolation between address spaces, engine reset of a spinning batch, and the lost-interrupt
 * fallback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <drm.h>
#include <i915_drm.h>

#include "harness.h"
#include "hw_sim.h"
#include "i915/i915.h"
#include "i915/sim_i915.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"
#include "redox-drm/gem.h"
#include "redox-drm/hw.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"

/* Commands [GPU-MODELS.md §7], spelled out here rather than taken from the driver. */
#define MI_NOOP 0u
#define MI_ARB_CHECK (0x05u << 23)
#define MI_BB_END (0x0Au << 23)
#define MI_SEMAPHORE_WAIT (0x1Cu << 23 | 2)
#define SEM_POLL (1u << 15)
#define SEM_EQ (4u << 12)
#define MI_SDI (0x20u << 23 | 2)
#define MI_COPY_MEM_MEM (0x2Eu << 23 | 3)
#define MI_BB_START (0x31u << 23 | 1)
#define BB_PPGTT (1u << 8)

#define WAIT_NS 3000000000ull

/* ELSP writes as the device saw them, recorded by a shim over the sim's MMIO write. */
static struct {
	uint32_t off[64], val[64];
	unsigned n;
	const struct hw_ops *real;
	struct hw_ops shim;
} elsp_log;

static void record_write32(struct hw_device *hw, int bar, uint64_t off, uint32_t v)
{
	if (bar == 0 && (off == RING_ELSP(RENDER_RING_BASE) || off == RING_ELSP(BLT_RING_BASE)) && elsp_log.n < 64) {
		elsp_log.off[elsp_log.n] = (uint32_t)off;
		elsp_log.val[elsp_log.n++] = v;
	}
	elsp_log.real->mmio_write32(hw, bar, off, v);
}

struct fixture {
	struct event_loop *loop;
	struct hw_device *hw;
	struct sim_model *m;
	struct drm_device *dev;
	struct i915_device *i915;
};

static int setup(void **state)
{
	log_set_level(LOG_ERROR);
	struct fixture *f = calloc(1, sizeof(*f));
	f->loop = event_loop_create();
	assert_non_null(f->loop);
	f->hw = hw_sim_create("i915", 1);
	assert_non_null(f->hw);
	f->m = hw_sim_model(f->hw);
	memset(&elsp_log, 0, sizeof(elsp_log));
	elsp_log.real = f->hw->ops;
	elsp_log.shim = *f->hw->ops;
	elsp_log.shim.mmio_write32 = record_write32;
	f->hw->ops = &elsp_log.shim;
	f->dev = drm_dev_create(f->hw, 1, f->loop);
	assert_non_null(f->dev);
	f->i915 = f->dev->dev_private;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	drm_dev_destroy(f->dev);
	f->hw->ops = elsp_log.real;
	hw_destroy(f->hw);
	event_loop_destroy(f->loop);
	free(f);
	return 0;
}

/* Runs the event loop until the fence signals (true) or WAIT_NS pass. */
static bool pump_until(struct fixture *f, struct drm_fence *fence)
{
	uint64_t end = monotonic_ns() + WAIT_NS;
	while (!fence->signaled) {
		if (monotonic_ns() > end)
			return false;
		event_loop_dispatch(f->loop, 5);
	}
	return true;
}

static void pump_ms(struct fixture *f, unsigned ms)
{
	uint64_t end = monotonic_ns() + ms * 1000000ull;
	while (monotonic_ns() < end)
		event_loop_dispatch(f->loop, 1);
}

/* Runs the event loop until the engine reports a context running (the CSB said IDLE_TO_ACTIVE). */
static bool wait_active(struct fixture *f, struct i915_engine *e)
{
	uint64_t end = monotonic_ns() + WAIT_NS;
	while (!e->active[0]) {
		if (monotonic_ns() > end)
			return false;
		event_loop_dispatch(f->loop, 5);
	}
	return true;
}

/* A GEM object bound at va in vm. */
static struct drm_gem_object *bo(struct fixture *f, struct i915_address_space *vm, uint64_t va, size_t size)
{
	struct drm_gem_object *obj = drm_gem_object_create(f->dev, size);
	assert_non_null(obj);
	assert_int_equal(i915_vm_bind(vm, va, obj, 0, obj->size, 0), 0);
	return obj;
}

static uint32_t peek(const void *p, size_t off)
{
	return __atomic_load_n((const uint32_t *)((const uint8_t *)p + off), __ATOMIC_ACQUIRE);
}

static void poke(void *p, size_t off, uint32_t v)
{
	__atomic_store_n((uint32_t *)((uint8_t *)p + off), v, __ATOMIC_RELEASE);
}

/* A batch storing value at va. */
static void batch_store(uint32_t *b, uint64_t va, uint32_t value)
{
	b[0] = MI_SDI;
	b[1] = (uint32_t)va;
	b[2] = (uint32_t)(va >> 32);
	b[3] = value;
	b[4] = MI_BB_END;
}

static void test_engines_up(void **state)
{
	struct fixture *f = *state;
	for (unsigned id = 0; id < I915_NUM_ENGINES; id++) {
		struct i915_engine *e = i915_engine_get(f->i915, id);
		assert_non_null(e);
		assert_true(e->up);
		assert_true(e->ready); /* passed the load-time self-test */
		assert_true(hw_read32(f->hw, 0, RING_GFX_MODE(e->base)) & GFX_RUN_LIST_ENABLE);
		assert_int_equal(hw_read32(f->hw, 0, RING_HWS_PGA(e->base)), (uint32_t)e->hwsp_ggtt);
		assert_true(e->irqs > 0);
	}
	assert_null(i915_engine_get(f->i915, I915_NUM_ENGINES));
	assert_string_equal(f->i915->engine[I915_RCS0].name, "rcs0");
	assert_string_equal(f->i915->engine[I915_BCS0].name, "bcs0");
}

static void test_vm_bind(void **state)
{
	struct fixture *f = *state;
	struct i915_address_space *vm = i915_ppgtt_create(f->i915);
	assert_non_null(vm);
	struct drm_gem_object *obj = drm_gem_object_create(f->dev, 4 * 4096);
	uint64_t bus;
	bool w;
	/* Page alignment, the 48-bit space and the object's size are checked. */
	assert_int_equal(i915_vm_bind(vm, 0x1001, obj, 0, 4096, 0), -EINVAL);
	assert_int_equal(i915_vm_bind(vm, 0x1000, obj, 0, 5 * 4096, 0), -EINVAL);
	assert_int_equal(i915_vm_bind(vm, 0x1000, obj, 4096, 4 * 4096, 0), -EINVAL);
	assert_int_equal(i915_vm_bind(vm, (1ull << 48) - 4096, obj, 0, 2 * 4096, 0), -EINVAL);
	assert_int_equal(i915_vm_bind(vm, 0x1000, obj, 0, 4096, 0x80), -EINVAL);
	/* A 4-level walk at the top of the space: every level is real. */
	uint64_t top = (1ull << 48) - 2 * 4096;
	assert_int_equal(i915_vm_bind(vm, top, obj, 4096, 2 * 4096, I915_VM_READ_ONLY), 0);
	assert_int_equal(i915_vm_lookup(vm, top + 8, &bus, &w), 0);
	assert_int_equal(bus, obj->dma_addr + 4096 + 8);
	assert_false(w);
	assert_int_equal(i915_vm_lookup(vm, top + 4096, &bus, &w), 0);
	assert_int_equal(bus, obj->dma_addr + 2 * 4096);
	/* Overlap is refused; a binding holds the object. */
	assert_int_equal(i915_vm_bind(vm, top - 4096, obj, 0, 2 * 4096, 0), -ENOSPC);
	assert_int_equal(obj->refcount, 2);
	assert_int_equal(i915_vm_bind(vm, 0x100000, obj, 0, 4 * 4096, 0), 0);
	assert_int_equal(i915_vm_lookup(vm, 0x102000, &bus, &w), 0);
	assert_int_equal(bus, obj->dma_addr + 2 * 4096);
	assert_true(w);
	/* Unbinding the middle cuts the binding in two. */
	i915_vm_unbind(vm, 0x101000, 2 * 4096);
	assert_int_equal(i915_vm_lookup(vm, 0x101000, &bus, &w), -ENOENT);
	assert_int_equal(i915_vm_lookup(vm, 0x102000, &bus, &w), -ENOENT);
	assert_int_equal(i915_vm_lookup(vm, 0x103000, &bus, &w), 0);
	assert_int_equal(bus, obj->dma_addr + 3 * 4096);
	assert_int_equal(i915_vm_lookup(vm, 0x100000, &bus, &w), 0);
	assert_int_equal(obj->refcount, 4);
	/* The hole can be bound again. */
	assert_int_equal(i915_vm_bind(vm, 0x101000, obj, 0, 2 * 4096, 0), 0);
	i915_vm_unbind(vm, 0x100000, 4 * 4096);
	assert_int_equal(obj->refcount, 2);
	/* Allocated VA is reserved, never overlapping, and can be bound exactly. */
	uint64_t a, b;
	assert_int_equal(i915_vm_alloc_va(vm, 8192, 65536, &a), 0);
	assert_int_equal(a % 65536, 0);
	assert_true(a != 0);
	assert_int_equal(i915_vm_alloc_va(vm, 8192, 0, &b), 0);
	assert_true(b >= a + 8192 || b + 8192 <= a);
	assert_int_equal(i915_vm_alloc_va(vm, 4095, 0, &b), -EINVAL);
	assert_int_equal(i915_vm_alloc_va(vm, 4096, 3, &b), -EINVAL);
	assert_int_equal(i915_vm_bind(vm, a, obj, 0, 8192, 0), 0);
	assert_int_equal(i915_vm_lookup(vm, a, &bus, &w), 0);
	assert_int_equal(bus, obj->dma_addr);
	/* The VM lets go of its objects when it goes. */
	assert_int_equal(obj->refcount, 3);
	i915_vm_put(i915_vm_get(vm));
	assert_int_equal(obj->refcount, 3);
	i915_vm_put(vm);
	assert_int_equal(obj->refcount, 1);
	drm_gem_object_put(obj);
}

static void test_submit_rcs(void **state)
{
	struct fixture *f = *state;
	struct i915_engine *e = &f->i915->engine[I915_RCS0];
	struct i915_address_space *vm = i915_ppgtt_create(f->i915);
	struct drm_gem_object *obj = bo(f, vm, 0x40000000ull, 8192);
	batch_store(obj->vaddr, 0x40001000ull, 0xC0FFEE);
	struct i915_lrc *lrc = i915_lrc_create(f->i915, I915_RCS0, vm);
	assert_non_null(lrc);
	uint64_t irqs = e->irqs, csb = e->csb_events;
	struct drm_fence *fence = NULL;
	assert_int_equal(i915_request_submit(lrc, 0x40000000ull, 20, &fence), 0);
	assert_non_null(fence);
	assert_string_equal(drm_fence_driver_name(fence), "i915");
	assert_string_equal(drm_fence_timeline_name(fence), "rcs0");
	assert_true(pump_until(f, fence));
	assert_int_equal(fence->error, 0);
	assert_int_equal(peek(obj->vaddr, 4096), 0xC0FFEE);
	assert_true(e->irqs > irqs);
	/* The context's events: IDLE_TO_ACTIVE, then COMPLETE | ACTIVE_TO_IDLE. */
	pump_ms(f, 5);
	assert_int_equal(e->csb_events - csb, 2);
	assert_null(e->active[0]);
	assert_null(e->pending[0]);
	/* Bad batch addresses are refused before anything is written. */
	struct drm_fence *bad = NULL;
	assert_int_equal(i915_request_submit(lrc, 0x40000002ull, 20, &bad), -EINVAL);
	assert_int_equal(i915_request_submit(lrc, 1ull << 48, 20, &bad), -EINVAL);
	assert_null(bad);
	drm_fence_put(fence);
	/* The LRC goes; the VM and the object follow when their last user does. */
	i915_lrc_destroy(lrc);
	i915_vm_put(vm);
	assert_int_equal(obj->refcount, 1);
	drm_gem_object_put(obj);
}

static uint64_t elsp_desc(unsigned at)
{
	return (uint64_t)elsp_log.val[at] << 32 | elsp_log.val[at + 1];
}

static uint32_t csb_status(struct i915_engine *e, unsigned slot)
{
	return peek(e->hwsp.cpu, 4u * (I915_HWSP_CSB + 2 * (slot % I915_CSB_ENTRIES)));
}

static uint32_t csb_ctx(struct i915_engine *e, unsigned slot)
{
	return peek(e->hwsp.cpu, 4u * (I915_HWSP_CSB + 2 * (slot % I915_CSB_ENTRIES) + 1));
}

/*
 * Two contexts queued behind a busy one go out in one ELSP submission, port 1 then port 0 (the
 * fourth dword triggers); the CSB then reports IDLE_TO_ACTIVE, ELEMENT_SWITCH | COMPLETE of the
 * first, COMPLETE | ACTIVE_TO_IDLE of the second, and their fences signal in that order.
 */
static void test_elsp_and_csb(void **state)
{
	struct fixture *f = *state;
	struct i915_engine *e = &f->i915->engine[I915_RCS0];
	struct i915_address_space *vm = i915_ppgtt_create(f->i915);
	struct drm_gem_object *obj = bo(f, vm, 0x1000000, 3 * 4096);
	uint32_t *spin = obj->vaddr;
	spin[0] = MI_ARB_CHECK;
	spin[1] = MI_NOOP;
	spin[2] = MI_BB_START | BB_PPGTT;
	spin[3] = 0x1000000;
	spin[4] = 0;
	batch_store((uint32_t *)((uint8_t *)obj->vaddr + 4096), 0x1002000, 0xA);
	batch_store((uint32_t *)((uint8_t *)obj->vaddr + 8192 - 64), 0x1002004, 0xB);
	struct i915_lrc *s = i915_lrc_create(f->i915, I915_RCS0, vm), *a = i915_lrc_create(f->i915, I915_RCS0, vm),
			*b = i915_lrc_create(f->i915, I915_RCS0, vm);
	struct drm_fence *fs, *fa, *fb;
	elsp_log.n = 0;
	assert_int_equal(i915_request_submit(s, 0x1000000, 20, &fs), 0);
	assert_true(wait_active(f, e));
	unsigned h0 = e->csb_head;
	assert_int_equal(csb_status(e, h0), CSB_IDLE_TO_ACTIVE);
	assert_int_equal(i915_request_submit(a, 0x1001000, 20, &fa), 0);
	assert_int_equal(i915_request_submit(b, 0x1002000 - 64, 20, &fb), 0);
	/* While the spinner runs, only its own submission went out: port 1 empty. */
	assert_int_equal(elsp_log.n, 4);
	assert_int_equal(elsp_desc(0), 0);
	uint64_t ds = elsp_desc(2);
	assert_int_equal(ds & 0xFFFFF000u, s->ggtt);
	assert_int_equal(ds & 0xFFF, 0x1 | 3u << 3 | 1u << 8); /* VALID, 4-level, PRIVILEGE */
	assert_int_equal(ds >> 32, s->ctx_id);
	poke(obj->vaddr, 0, MI_BB_END);
	assert_true(pump_until(f, fs));
	assert_true(pump_until(f, fb));
	assert_true(pump_until(f, fa));
	assert_true(drm_fence_is_later(fb, fa));
	pump_ms(f, 5);
	/* Then one submission of both: port 1 = b, port 0 = a, each hi before lo. */
	assert_int_equal(elsp_log.n, 8);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(elsp_log.off[i], RING_ELSP(RENDER_RING_BASE));
	assert_int_equal(elsp_desc(4) >> 32, b->ctx_id);
	assert_int_equal(elsp_desc(4) & 0xFFFFF000u, b->ggtt);
	assert_int_equal(elsp_desc(6) >> 32, a->ctx_id);
	assert_int_equal(elsp_desc(6) & 0xFFFFF000u, a->ggtt);
	assert_int_equal(csb_status(e, h0 + 1), CSB_COMPLETE | CSB_ACTIVE_TO_IDLE);
	assert_int_equal(csb_ctx(e, h0 + 1), s->ctx_id);
	assert_int_equal(csb_status(e, h0 + 2), CSB_IDLE_TO_ACTIVE);
	assert_int_equal(csb_status(e, h0 + 3), CSB_ELEMENT_SWITCH | CSB_COMPLETE);
	assert_int_equal(csb_ctx(e, h0 + 3), a->ctx_id);
	assert_int_equal(csb_status(e, h0 + 4), CSB_COMPLETE | CSB_ACTIVE_TO_IDLE);
	assert_int_equal(csb_ctx(e, h0 + 4), b->ctx_id);
	/* Everything read: the read pointer caught up with the write pointer. */
	assert_int_equal(e->csb_head, (h0 + 4) % I915_CSB_ENTRIES);
	uint32_t ptr = hw_read32(f->hw, 0, RING_CSB_PTR(RENDER_RING_BASE));
	assert_int_equal((ptr >> 8) & 7, ptr & 7);
	assert_int_equal(ptr & 7, e->csb_head);
	assert_int_equal(peek(obj->vaddr, 8192), 0xA);
	assert_int_equal(peek(obj->vaddr, 8196), 0xB);
	drm_fence_put(fs);
	drm_fence_put(fa);
	drm_fence_put(fb);
	i915_lrc_destroy(s);
	i915_lrc_destroy(a);
	i915_lrc_destroy(b);
	i915_vm_put(vm);
	drm_gem_object_put(obj);
}

struct order {
	struct drm_fence_cb cb[16];
	struct drm_fence *fences[16];
	unsigned seen[16], n;
};

static struct order *order_of;

static void record(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	(void)fence;
	order_of->seen[order_of->n++] = (unsigned)(cb - order_of->cb);
}

/* Two contexts on each engine, interleaved: every engine's fences signal in submission order. */
static void test_breadcrumb_order(void **state)
{
	struct fixture *f = *state;
	struct i915_address_space *vm = i915_ppgtt_create(f->i915);
	struct drm_gem_object *obj = bo(f, vm, 0x200000, 16 * 4096);
	struct i915_lrc *lrc[4];
	for (unsigned i = 0; i < 4; i++)
		lrc[i] = i915_lrc_create(f->i915, i & 2 ? I915_BCS0 : I915_RCS0, vm);
	static struct order o;
	memset(&o, 0, sizeof(o));
	order_of = &o;
	for (unsigned i = 0; i < 16; i++) {
		uint32_t *b = (uint32_t *)((uint8_t *)obj->vaddr + i * 4096);
		batch_store(b, 0x200000 + i * 4096 + 2048, 100 + i);
		assert_int_equal(i915_request_submit(lrc[i % 4], 0x200000 + i * 4096, 20, &o.fences[i]), 0);
		assert_int_equal(drm_fence_add_callback(o.fences[i], &o.cb[i], record), 0);
	}
	for (unsigned i = 0; i < 16; i++)
		assert_true(pump_until(f, o.fences[i]));
	assert_int_equal(o.n, 16);
	unsigned last[2] = {0, 0};
	bool any[2] = {false, false};
	for (unsigned k = 0; k < 16; k++) {
		unsigned i = o.seen[k], eng = (i & 2) ? 1 : 0;
		if (any[eng])
			assert_true(i > last[eng]);
		assert_true(drm_fence_is_later(o.fences[i], o.fences[eng ? 2 : 0]) || i == (eng ? 2u : 0u));
		last[eng] = i;
		any[eng] = true;
		assert_int_equal(peek(obj->vaddr, i * 4096 + 2048), 100 + i);
		assert_int_equal(o.fences[i]->error, 0);
	}
	/* One timeline per engine. */
	assert_int_equal(o.fences[0]->context, o.fences[1]->context);
	assert_true(o.fences[0]->context != o.fences[2]->context);
	for (unsigned i = 0; i < 16; i++)
		drm_fence_put(o.fences[i]);
	for (unsigned i = 0; i < 4; i++)
		i915_lrc_destroy(lrc[i]);
	i915_vm_put(vm);
	drm_gem_object_put(obj);
}

/* Seqnos near the 32-bit wrap still compare in order. */
static void test_seqno_wrap(void **state)
{
	(void)state;
	assert_true(i915_seqno_passed(5, 5));
	assert_true(i915_seqno_passed(6, 5));
	assert_false(i915_seqno_passed(5, 6));
	assert_true(i915_seqno_passed(2, 0xFFFFFFFEu));
	assert_false(i915_seqno_passed(0xFFFFFFFEu, 2));
}

/*
 * Address space A's batch reaches for B's memory at a VA only B maps: a page fault is reported
 * and B's bytes stay as they were; its own writes land. A read-only binding is not written either.
 */
static void test_ppgtt_isolation(void **state)
{
	struct fixture *f = *state;
	struct i915_address_space *a = i915_ppgtt_create(f->i915), *b = i915_ppgtt_create(f->i915);
	struct drm_gem_object *oa = bo(f, a, 0x10000000ull, 8192);
	struct drm_gem_object *ob = bo(f, b, 0x20000000ull, 4096);
	struct drm_gem_object *ro = drm_gem_object_create(f->dev, 4096);
	assert_int_equal(i915_vm_bind(a, 0x30000000ull, ro, 0, 4096, I915_VM_READ_ONLY), 0);
	memset(ob->vaddr, 0x5A, 4096);
	memset(ro->vaddr, 0x33, 4096);
	uint32_t *bb = oa->vaddr;
	unsigned n = 0;
	/* Write into B's VA, copy from it, write to the read-only page, then a write of its own. */
	bb[n++] = MI_SDI, bb[n++] = 0x20000000u, bb[n++] = 0, bb[n++] = 0xBAD;
	bb[n++] = MI_COPY_MEM_MEM, bb[n++] = 0x10001000u, bb[n++] = 0, bb[n++] = 0x20000010u, bb[n++] = 0;
	bb[n++] = MI_SDI, bb[n++] = 0x30000000u, bb[n++] = 0, bb[n++] = 0xBAD;
	bb[n++] = MI_SDI, bb[n++] = 0x10001004u, bb[n++] = 0, bb[n++] = 0x600D;
	bb[n++] = MI_BB_END;
	poke(oa->vaddr, 4096, 0x11111111u);
	struct i915_lrc *lrc = i915_lrc_create(f->i915, I915_RCS0, a);
	struct drm_fence *fence;
	assert_int_equal(i915_request_submit(lrc, 0x10000000ull, n * 4, &fence), 0);
	assert_true(pump_until(f, fence));
	assert_int_equal(fence->error, 0);
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(((uint8_t *)ob->vaddr)[i], 0x5A);
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(((uint8_t *)ro->vaddr)[i], 0x33);
	/* The copy brought nothing of B's over (the faulting read is dropped); its own write landed. */
	assert_int_equal(peek(oa->vaddr, 4096), 0x11111111u);
	assert_int_equal(peek(oa->vaddr, 4100), 0x600D);
	/* The fault registers keep the first fault until cleared; the driver read, reported and
	 * cleared them on the engine's interrupts (how many of the three it saw depends on when the
	 * context-switch interrupt was served). */
	struct i915_engine *e = &f->i915->engine[I915_RCS0];
	assert_true(e->page_faults >= 1 && e->page_faults <= 3);
	assert_true(e->last_fault_addr == 0x20000000u || e->last_fault_addr == 0x30000000u);
	assert_int_equal(hw_read32(f->hw, 0, GEN8_FAULT_REG) & 1, 0);
	struct sim_i915_engine_stats st;
	assert_int_equal(sim_i915_engine_stats(f->m, SIM_I915_RCS, &st), 0);
	assert_true(st.page_faults >= 3);
	drm_fence_put(fence);
	i915_lrc_destroy(lrc);
	i915_vm_put(a);
	i915_vm_put(b);
	drm_gem_object_put(oa);
	drm_gem_object_put(ob);
	drm_gem_object_put(ro);
}

/* IGT's spinner: arbitration point, then a jump back to its own start. */
static void spinner(uint32_t *b, uint64_t va)
{
	b[0] = MI_ARB_CHECK;
	b[1] = MI_NOOP;
	b[2] = MI_BB_START | BB_PPGTT;
	b[3] = (uint32_t)va;
	b[4] = (uint32_t)(va >> 32);
}

/* A semaphore that never comes: poll until memory equals 1. */
static void semaphore(uint32_t *b, uint64_t sem_va)
{
	b[0] = MI_SEMAPHORE_WAIT | SEM_POLL | SEM_EQ;
	b[1] = 1;
	b[2] = (uint32_t)sem_va;
	b[3] = (uint32_t)(sem_va >> 32);
	b[4] = MI_BB_END;
}

static void reset_hung(struct fixture *f, enum i915_engine_id id, bool use_semaphore)
{
	struct i915_engine *e = &f->i915->engine[id];
	struct i915_address_space *vm = i915_ppgtt_create(f->i915);
	struct drm_gem_object *obj = bo(f, vm, 0x1000000, 4 * 4096);
	uint32_t *b = obj->vaddr;
	if (use_semaphore)
		semaphore(b, 0x1000000 + 3 * 4096);
	else
		spinner(b, 0x1000000);
	batch_store((uint32_t *)((uint8_t *)obj->vaddr + 4096), 0x1000000 + 2 * 4096, 0xAF7E5);
	struct i915_lrc *hung = i915_lrc_create(f->i915, id, vm), *next = i915_lrc_create(f->i915, id, vm);
	struct drm_fence *f_hung, *f_behind, *f_after;
	assert_int_equal(i915_request_submit(hung, 0x1000000, 20, &f_hung), 0);
	/* Queued behind it on the same engine: never runs, cancelled too. */
	assert_int_equal(i915_request_submit(next, 0x1000000 + 4096, 20, &f_behind), 0);
	assert_true(wait_active(f, e));
	pump_ms(f, 20);
	assert_false(f_hung->signaled);
	assert_false(f_behind->signaled);
	assert_int_equal(hw_read32(f->hw, 0, RING_MI_MODE(e->base)) & MI_MODE_IDLE, 0); /* busy */
	uint64_t resets = e->resets;
	assert_int_equal(i915_engine_reset(f->i915, id), 0);
	assert_int_equal(e->resets, resets + 1);
	assert_true(f_hung->signaled);
	assert_int_equal(f_hung->error, -ECANCELED);
	assert_true(f_behind->signaled);
	assert_int_equal(f_behind->error, -ECANCELED);
	assert_int_equal(drm_fence_get_status(f_hung), -ECANCELED);
	assert_int_equal(peek(obj->vaddr, 2 * 4096), 0);
	assert_true(hw_read32(f->hw, 0, RING_MI_MODE(e->base)) & MI_MODE_IDLE);
	/* The engine takes work again, on the reset contexts too, and nothing cancelled replays. */
	assert_int_equal(i915_request_submit(next, 0x1000000 + 4096, 20, &f_after), 0);
	assert_true(pump_until(f, f_after));
	assert_int_equal(f_after->error, 0);
	assert_int_equal(peek(obj->vaddr, 2 * 4096), 0xAF7E5);
	struct drm_fence *f_again;
	batch_store(b, 0x1000000 + 2 * 4096, 0xA9A1);
	assert_int_equal(i915_request_submit(hung, 0x1000000, 20, &f_again), 0);
	assert_true(pump_until(f, f_again));
	assert_int_equal(f_again->error, 0);
	assert_int_equal(peek(obj->vaddr, 2 * 4096), 0xA9A1);
	struct sim_i915_engine_stats st;
	assert_int_equal(sim_i915_engine_stats(f->m, id == I915_RCS0 ? SIM_I915_RCS : SIM_I915_BCS, &st), 0);
	assert_true(st.resets >= 1);
	drm_fence_put(f_hung);
	drm_fence_put(f_behind);
	drm_fence_put(f_after);
	drm_fence_put(f_again);
	i915_lrc_destroy(hung);
	i915_lrc_destroy(next);
	i915_vm_put(vm);
	drm_gem_object_put(obj);
}

static void test_reset_spinner(void **state)
{
	reset_hung(*state, I915_RCS0, false);
}

static void test_reset_semaphore(void **state)
{
	reset_hung(*state, I915_BCS0, true);
}

/* The other engine is not disturbed by one engine's reset. */
static void test_reset_spares_other_engine(void **state)
{
	struct fixture *f = *state;
	struct i915_address_space *vm = i915_ppgtt_create(f->i915);
	struct drm_gem_object *obj = bo(f, vm, 0x1000000, 3 * 4096);
	spinner(obj->vaddr, 0x1000000);
	struct i915_lrc *r = i915_lrc_create(f->i915, I915_RCS0, vm), *c = i915_lrc_create(f->i915, I915_BCS0, vm);
	struct drm_fence *fr, *fc;
	assert_int_equal(i915_request_submit(r, 0x1000000, 20, &fr), 0);
	assert_int_equal(i915_request_submit(c, 0x1000000, 20, &fc), 0);
	assert_true(wait_active(f, &f->i915->engine[I915_RCS0]));
	assert_true(wait_active(f, &f->i915->engine[I915_BCS0]));
	assert_int_equal(i915_engine_reset(f->i915, I915_RCS0), 0);
	assert_int_equal(fr->error, -ECANCELED);
	assert_false(fc->signaled);
	/* Release the blitter's spinner by ending the batch. */
	poke(obj->vaddr, 0, MI_BB_END);
	assert_true(pump_until(f, fc));
	assert_int_equal(fc->error, 0);
	drm_fence_put(fr);
	drm_fence_put(fc);
	i915_lrc_destroy(r);
	i915_lrc_destroy(c);
	i915_vm_put(vm);
	drm_gem_object_put(obj);
}

/*
 * A batch with a command the engine cannot execute stops it with a CS error: the driver resets
 * the engine on the error interrupt by itself, that request fails with -EIO, and the requests
 * queued behind it (another context's, and a later one of the same context) run again and land.
 */
static void test_cs_error_recovery(void **state)
{
	struct fixture *f = *state;
	struct i915_engine *e = &f->i915->engine[I915_RCS0];
	struct i915_address_space *vm = i915_ppgtt_create(f->i915);
	struct drm_gem_object *obj = bo(f, vm, 0x1000000, 4 * 4096);
	uint32_t *bad = obj->vaddr;
	bad[0] = MI_NOOP;
	bad[1] = 0xE0000000u; /* command type 7: no such client */
	bad[2] = MI_BB_END;
	batch_store((uint32_t *)((uint8_t *)obj->vaddr + 4096), 0x1003000, 0xB1);
	batch_store((uint32_t *)((uint8_t *)obj->vaddr + 8192), 0x1003004, 0xA2);
	struct i915_lrc *a = i915_lrc_create(f->i915, I915_RCS0, vm), *b = i915_lrc_create(f->i915, I915_RCS0, vm);
	uint64_t resets = e->resets, errors = e->cs_errors;
	struct drm_fence *a1, *b1, *a2;
	assert_int_equal(i915_request_submit(a, 0x1000000, 12, &a1), 0);
	assert_int_equal(i915_request_submit(b, 0x1001000, 20, &b1), 0);
	assert_int_equal(i915_request_submit(a, 0x1002000, 20, &a2), 0);
	assert_true(pump_until(f, a2));
	assert_true(b1->signaled);
	assert_true(a1->signaled);
	assert_int_equal(a1->error, -EIO);
	assert_int_equal(b1->error, 0);
	assert_int_equal(a2->error, 0);
	assert_int_equal(peek(obj->vaddr, 3 * 4096), 0xB1);
	assert_int_equal(peek(obj->vaddr, 3 * 4096 + 4), 0xA2);
	assert_int_equal(e->cs_errors, errors + 1);
	assert_int_equal(e->resets, resets + 1);
	/* The engine goes on as before. */
	struct drm_fence *a3;
	batch_store((uint32_t *)((uint8_t *)obj->vaddr + 8192), 0x1003008, 0xA3);
	assert_int_equal(i915_request_submit(a, 0x1002000, 20, &a3), 0);
	assert_true(pump_until(f, a3));
	assert_int_equal(a3->error, 0);
	assert_int_equal(peek(obj->vaddr, 3 * 4096 + 8), 0xA3);
	drm_fence_put(a1);
	drm_fence_put(b1);
	drm_fence_put(a2);
	drm_fence_put(a3);
	i915_lrc_destroy(a);
	i915_lrc_destroy(b);
	i915_vm_put(vm);
	drm_gem_object_put(obj);
}

/* A batch address nothing is bound at: the fetch faults, the request fails with -EIO, the
 * engine goes on. */
static void test_unbound_batch(void **state)
{
	struct fixture *f = *state;
	struct i915_address_space *vm = i915_ppgtt_create(f->i915);
	struct drm_gem_object *obj = bo(f, vm, 0x1000000, 8192);
	batch_store(obj->vaddr, 0x1001000, 0x600D);
	struct i915_lrc *lrc = i915_lrc_create(f->i915, I915_BCS0, vm);
	struct drm_fence *bad, *good;
	assert_int_equal(i915_request_submit(lrc, 0x7000000, 20, &bad), 0);
	assert_int_equal(i915_request_submit(lrc, 0x1000000, 20, &good), 0);
	assert_true(pump_until(f, good));
	assert_int_equal(bad->error, -EIO);
	assert_int_equal(good->error, 0);
	assert_int_equal(peek(obj->vaddr, 4096), 0x600D);
	drm_fence_put(bad);
	drm_fence_put(good);
	i915_lrc_destroy(lrc);
	i915_vm_put(vm);
	drm_gem_object_put(obj);
}

/* User interrupts dropped: the fallback timer still signals, without an interrupt. */
static void test_dropped_user_irq(void **state)
{
	struct fixture *f = *state;
	struct i915_engine *e = &f->i915->engine[I915_BCS0];
	struct i915_address_space *vm = i915_ppgtt_create(f->i915);
	struct drm_gem_object *obj = bo(f, vm, 0x800000, 8192);
	batch_store(obj->vaddr, 0x801000, 77);
	struct i915_lrc *lrc = i915_lrc_create(f->i915, I915_BCS0, vm);
	sim_i915_set_engine_fault(f->m, SIM_I915_BCS, SIM_I915_ENGINE_FAULT_DROP_USER_IRQ | SIM_I915_ENGINE_FAULT_DROP_CTX_IRQ, 0);
	uint64_t fb = e->fallback_signals;
	struct drm_fence *fence;
	assert_int_equal(i915_request_submit(lrc, 0x800000, 20, &fence), 0);
	assert_true(pump_until(f, fence));
	assert_int_equal(fence->error, 0);
	assert_int_equal(peek(obj->vaddr, 4096), 77);
	assert_true(e->fallback_signals > fb);
	/* The CSB was read by the poll too: the engine takes the next request. */
	struct drm_fence *second;
	batch_store(obj->vaddr, 0x801000, 78);
	assert_int_equal(i915_request_submit(lrc, 0x800000, 20, &second), 0);
	assert_true(pump_until(f, second));
	assert_int_equal(peek(obj->vaddr, 4096), 78);
	sim_i915_set_engine_fault(f->m, SIM_I915_BCS, 0, 0);
	drm_fence_put(fence);
	drm_fence_put(second);
	i915_lrc_destroy(lrc);
	i915_vm_put(vm);
	drm_gem_object_put(obj);
}

/* Without the loop running: a waiter asking the fence gets the status page's answer. */
static void test_signaled_op(void **state)
{
	struct fixture *f = *state;
	struct i915_address_space *vm = i915_ppgtt_create(f->i915);
	struct drm_gem_object *obj = bo(f, vm, 0x800000, 8192);
	batch_store(obj->vaddr, 0x801000, 79);
	struct i915_lrc *lrc = i915_lrc_create(f->i915, I915_RCS0, vm);
	sim_i915_set_engine_fault(f->m, SIM_I915_RCS, SIM_I915_ENGINE_FAULT_DROP_USER_IRQ, 0);
	struct drm_fence *fence;
	assert_int_equal(i915_request_submit(lrc, 0x800000, 20, &fence), 0);
	uint64_t end = monotonic_ns() + WAIT_NS;
	while (!drm_fence_is_signaled(fence)) {
		assert_true(monotonic_ns() < end);
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	assert_int_equal(fence->error, 0);
	assert_int_equal(peek(obj->vaddr, 4096), 79);
	sim_i915_set_engine_fault(f->m, SIM_I915_RCS, 0, 0);
	pump_ms(f, 10);
	drm_fence_put(fence);
	i915_lrc_destroy(lrc);
	i915_vm_put(vm);
	drm_gem_object_put(obj);
}

/* A ring that fills refuses more until the engine retires what is in it. */
static void test_ring_full(void **state)
{
	struct fixture *f = *state;
	struct i915_address_space *vm = i915_ppgtt_create(f->i915);
	struct drm_gem_object *obj = bo(f, vm, 0x800000, 8192);
	spinner(obj->vaddr, 0x800000);
	struct i915_lrc *lrc = i915_lrc_create(f->i915, I915_RCS0, vm);
	struct drm_fence *fences[1024];
	unsigned n = 0;
	int ret;
	while ((ret = i915_request_submit(lrc, 0x800000, 20, &fences[n])) == 0 && n < 1023)
		n++;
	assert_int_equal(ret, -ENOSPC);
	assert_true(n > 16);
	poke(obj->vaddr, 0, MI_BB_END);
	for (unsigned i = 0; i < n; i++) {
		assert_true(pump_until(f, fences[i]));
		assert_int_equal(fences[i]->error, 0);
		drm_fence_put(fences[i]);
	}
	struct drm_fence *more;
	assert_int_equal(i915_request_submit(lrc, 0x800000, 20, &more), 0);
	assert_true(pump_until(f, more));
	drm_fence_put(more);
	i915_lrc_destroy(lrc);
	i915_vm_put(vm);
	drm_gem_object_put(obj);
}

/*
 * An engine that fails its self-test at load (the blitter hung from the start) is not offered:
 * GETPARAM HAS_BLT is 0 and QUERY's engine info lists the render engine alone.
 */
static void test_failed_selftest_not_offered(void **state)
{
	(void)state;
	struct event_loop *loop = event_loop_create();
	struct hw_device *hw = hw_sim_create("i915", 2);
	assert_non_null(hw);
	sim_i915_set_engine_fault(hw_sim_model(hw), SIM_I915_BCS, SIM_I915_ENGINE_FAULT_HANG, 0);
	struct drm_device *dev = drm_dev_create(hw, 2, loop);
	assert_non_null(dev);
	struct i915_device *i915 = dev->dev_private;
	assert_true(i915->engine[I915_RCS0].ready);
	assert_false(i915->engine[I915_BCS0].ready);
	struct drm_file *file = drm_file_open(&dev->render, 10, 1000);
	assert_non_null(file);
	int v = -1;
	struct drm_i915_getparam gp = {.param = I915_PARAM_HAS_BLT, .value = &v};
	assert_int_equal(test_ioctl(file, 10, 1000, DRM_IOCTL_I915_GETPARAM, &gp), 0);
	assert_int_equal(v, 0);
	gp.param = I915_PARAM_HAS_CONTEXT_ISOLATION;
	assert_int_equal(test_ioctl(file, 10, 1000, DRM_IOCTL_I915_GETPARAM, &gp), 0);
	assert_int_equal(v, 1 << I915_ENGINE_CLASS_RENDER);
	uint8_t buf[sizeof(struct drm_i915_query_engine_info) + 4 * sizeof(struct drm_i915_engine_info)];
	memset(buf, 0, sizeof(buf));
	struct drm_i915_query_item item = {.query_id = DRM_I915_QUERY_ENGINE_INFO, .length = sizeof(buf),
					   .data_ptr = (uintptr_t)buf};
	struct drm_i915_query q = {.num_items = 1, .items_ptr = (uintptr_t)&item};
	assert_int_equal(test_ioctl(file, 10, 1000, DRM_IOCTL_I915_QUERY, &q), 0);
	struct drm_i915_query_engine_info *info = (void *)buf;
	assert_int_equal(item.length, sizeof(*info) + sizeof(struct drm_i915_engine_info));
	assert_int_equal(info->num_engines, 1);
	assert_int_equal(info->engines[0].engine.engine_class, I915_ENGINE_CLASS_RENDER);
	drm_file_release(file);
	drm_dev_destroy(dev);
	hw_destroy(hw);
	event_loop_destroy(loop);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_engines_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_bind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_submit_rcs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elsp_and_csb, setup, teardown),
		cmocka_unit_test_setup_teardown(test_breadcrumb_order, setup, teardown),
		cmocka_unit_test(test_seqno_wrap),
		cmocka_unit_test_setup_teardown(test_ppgtt_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_spinner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_semaphore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_spares_other_engine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cs_error_recovery, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unbound_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped_user_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_signaled_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_full, setup, teardown),
		cmocka_unit_test(test_failed_selftest_not_offered),
	};
	return cmocka_run_group_tests_name("i915_engine", tests, NULL, NULL);
}
