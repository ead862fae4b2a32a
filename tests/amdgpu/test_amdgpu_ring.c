/*
 * The amdgpu ring interface against the Vega10 model, with the device's
 * interrupt delivered through a real event loop as in the daemon: fences on
 * the GFX and SDMA rings (packets, the IH traffic, signalling in order and
 * across the 32-bit wrap), the lost- and late-interrupt paths, ring reset
 * after a wait that never ends or a hung engine, SDMA copies and fills, VM
 * flushes through the rings and VM faults counted per VMID.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <amdgpu_drm.h>

#include "amdgpu/amdgpu.h"
#include "amdgpu/sim_amdgpu.h"
#include "hw_sim.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"
#include "redox-drm/hw.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"

#define MMIO 5
#define PKT3(op, count) (0xC0000000u | ((uint32_t)(count)&0x3FFFu) << 16 | (uint32_t)(op) << 8)
#define WB_SPARE 512u /* a writeback dword the tests poll on (the ring's own slots sit below) */

struct fx {
	struct event_loop *loop;
	struct hw_device *hw;
	struct sim_model *m;
	struct drm_device *dev;
	struct amdgpu_device *adev;
	struct hw_dma pt[16]; /* user page tables */
	unsigned npt;
	struct hw_dma bufs[8];
	uint64_t buf_gpu[8];
	unsigned nbufs;
};

static int setup(void **state)
{
	log_set_level(LOG_ERROR);
	struct fx *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	f->loop = event_loop_create();
	assert_non_null(f->loop);
	f->hw = hw_sim_create("amdgpu", 0);
	assert_non_null(f->hw);
	f->m = hw_sim_model(f->hw);
	f->dev = drm_dev_create(f->hw, 0, f->loop);
	assert_non_null(f->dev);
	f->adev = f->dev->dev_private;
	assert_true(f->adev->gfx_ring.ready);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	for (unsigned i = 0; i < f->nbufs; i++) {
		if (f->dev)
			amdgpu_gart_unmap(f->adev, f->buf_gpu[i], (uint32_t)(f->bufs[i].size / 4096));
		f->hw->ops->dma_free(f->hw, &f->bufs[i]);
	}
	for (unsigned i = 0; i < f->npt; i++)
		f->hw->ops->dma_free(f->hw, &f->pt[i]);
	drm_dev_destroy(f->dev);
	hw_destroy(f->hw);
	event_loop_destroy(f->loop);
	free(f);
	return 0;
}

/* Runs the daemon's loop until the fence signals or ms pass. */
static bool run_until_signaled(struct fx *f, struct drm_fence *fence, unsigned ms)
{
	uint64_t end = monotonic_ns() + (uint64_t)ms * 1000000u;
	while (!fence->signaled && monotonic_ns() < end)
		event_loop_dispatch(f->loop, 5);
	return fence->signaled;
}

static void run_for(struct fx *f, unsigned ms)
{
	uint64_t end = monotonic_ns() + (uint64_t)ms * 1000000u;
	while (monotonic_ns() < end)
		event_loop_dispatch(f->loop, 5);
}

/* Waits (without the loop) for a dword of memory the engine writes. */
static bool wait_mem(volatile uint32_t *p, uint32_t v, unsigned ms)
{
	uint64_t end = monotonic_ns() + (uint64_t)ms * 1000000u;
	while (__atomic_load_n(p, __ATOMIC_ACQUIRE) != v)
		if (monotonic_ns() > end)
			return false;
	return true;
}

static struct drm_fence *submit_fence(struct amdgpu_ring *ring)
{
	struct drm_fence *fence = NULL;
	assert_int_equal(amdgpu_ring_alloc(ring, ring->funcs->emit_fence_size), 0);
	assert_int_equal(amdgpu_fence_emit(ring, &fence), 0);
	amdgpu_ring_commit(ring);
	return fence;
}

static const uint32_t *ring_dw(struct amdgpu_ring *ring, uint64_t pos)
{
	return (const uint32_t *)ring->ring.cpu + (pos & (ring->ring_dw - 1));
}

/* A DMA buffer in the GART (VMID0 on both hubs). */
static uint64_t gart_buf(struct fx *f, size_t size, void **cpu)
{
	assert_true(f->nbufs < 8);
	struct hw_dma *d = &f->bufs[f->nbufs];
	assert_int_equal(f->hw->ops->dma_alloc(f->hw, size, d), 0);
	memset(d->cpu, 0, d->size);
	uint64_t gpu;
	assert_int_equal(amdgpu_gart_alloc(f->adev, (uint32_t)(d->size / 4096), &gpu), 0);
	assert_int_equal(amdgpu_gart_map(f->adev, gpu, d->bus_addr, (uint32_t)(d->size / 4096)), 0);
	f->buf_gpu[f->nbufs++] = gpu;
	*cpu = d->cpu;
	return gpu;
}

/* ---- user page tables: 4 levels of 512 entries ---- */

static uint64_t pt_new(struct fx *f)
{
	assert_true(f->npt < 16);
	struct hw_dma *d = &f->pt[f->npt++];
	assert_int_equal(f->hw->ops->dma_alloc(f->hw, 4096, d), 0);
	memset(d->cpu, 0, 4096);
	return d->bus_addr;
}

static uint64_t *pt_cpu(struct fx *f, uint64_t bus)
{
	for (unsigned i = 0; i < f->npt; i++)
		if (f->pt[i].bus_addr == bus)
			return f->pt[i].cpu;
	fail();
	return NULL;
}

static void vm_map(struct fx *f, uint64_t root, uint64_t va, uint64_t bus_page)
{
	uint64_t table = root;
	for (int level = 3; level > 0; level--) {
		uint64_t *t = pt_cpu(f, table);
		unsigned idx = (va >> (12 + 9 * level)) & 0x1FF;
		if (!(t[idx] & AMDGPU_PTE_VALID)) {
			uint64_t nb = pt_new(f);
			t = pt_cpu(f, table);
			t[idx] = nb | AMDGPU_PTE_VALID | AMDGPU_PTE_SYSTEM;
		}
		table = t[idx] & 0x0000FFFFFFFFF000ull;
	}
	pt_cpu(f, table)[(va >> 12) & 0x1FF] = bus_page | AMDGPU_PTE_VALID | AMDGPU_PTE_SYSTEM | AMDGPU_PTE_SNOOPED |
					      AMDGPU_PTE_READABLE | AMDGPU_PTE_WRITEABLE;
}

/* ---- fences ---- */

/* A GFX fence, register by register and entry by entry: RELEASE_MEM in the ring, the seqno in
 * memory before the EOP vector, the vector decoded by the handler and the IH RPTR returned. */
static void test_gfx_fence_trace(void **state)
{
	struct fx *f = *state;
	struct amdgpu_ring *r = &f->adev->gfx_ring;
	struct amdgpu_ih *ih = &f->adev->ih;
	uint32_t ih_rptr = ih->rptr;
	uint64_t irqs = r->fence.irqs, start = r->wptr, seq = r->fence.sync_seq + 1;

	struct drm_fence *fence = submit_fence(r);
	assert_int_equal(fence->seqno, seq);
	assert_false(fence->signaled);
	const uint32_t *p = ring_dw(r, start);
	uint64_t addr = r->wb_gpu + AMDGPU_WB_FENCE;
	assert_int_equal(p[0], PKT3(0x49, 6));
	assert_int_equal(p[1], 0x14u | 5u << 8 | 1u << 15 | 1u << 16 | 1u << 17 | 1u << 21);
	assert_int_equal(p[2], 1u << 29 | 2u << 24); /* DATA_SEL 32 bits, INT_SEL after the write is confirmed */
	assert_int_equal(p[3], (uint32_t)addr);
	assert_int_equal(p[4], (uint32_t)(addr >> 32));
	assert_int_equal(p[5], (uint32_t)seq);
	assert_int_equal(r->wptr, start + 8); /* 8 dwords: no padding needed */
	assert_int_equal(hw_read64(f->hw, AMDGPU_BAR_DOORBELL, AMDGPU_GFX_DOORBELL), r->wptr);

	/* Once the IH announces the entry, the seqno is already in memory. */
	volatile uint32_t *ih_wptr = f->adev->ih.wb.cpu;
	assert_true(wait_mem(ih_wptr, (ih_rptr + 32) % AMDGPU_IH_RING_SIZE, 1000));
	assert_int_equal(*amdgpu_ring_wb32(r, AMDGPU_WB_FENCE), (uint32_t)seq);
	const uint32_t *e = (const uint32_t *)((uint8_t *)ih->ring.cpu + ih_rptr);
	assert_int_equal(e[0], SOC15_IH_CLIENTID_GRBM_CP | GFX_9_0__SRCID__CP_EOP_INTERRUPT << 8); /* ring 0, VMID 0 */
	assert_false(fence->signaled); /* nothing signals outside the loop */

	assert_true(run_until_signaled(f, fence, 1000));
	assert_int_equal(fence->error, 0);
	assert_int_equal(drm_fence_get_status(fence), 1);
	assert_int_equal(r->fence.irqs, irqs + 1);
	assert_int_equal(r->fence.last_seq, (uint32_t)seq);
	assert_int_equal(r->fence.fallback_signals, 0);
	assert_int_equal(ih->rptr, (ih_rptr + 32) % AMDGPU_IH_RING_SIZE);
	assert_int_equal(hw_read32(f->hw, MMIO, mmIH_RB_RPTR), ih->rptr);
	assert_int_equal(*amdgpu_ring_wb32(r, AMDGPU_WB_RPTR), (uint32_t)r->wptr); /* rptr writeback */
	assert_string_equal(drm_fence_driver_name(fence), "amdgpu");
	assert_string_equal(drm_fence_timeline_name(fence), "gfx");
	drm_fence_put(fence);
}

/* SDMA0/1 fences: FENCE + TRAP in the ring, a trap vector of the engine's client. */
static void test_sdma_fence_trace(void **state)
{
	struct fx *f = *state;
	struct amdgpu_ih *ih = &f->adev->ih;
	for (unsigned i = 0; i < 2; i++) {
		struct amdgpu_ring *r = amdgpu_ring_lookup(f->adev, AMDGPU_HW_IP_DMA, i);
		assert_ptr_equal(r, &f->adev->sdma_ring[i]);
		uint32_t ih_rptr = ih->rptr;
		uint64_t start = r->wptr, seq = r->fence.sync_seq + 1, irqs = r->fence.irqs;
		struct drm_fence *fence = submit_fence(r);
		const uint32_t *p = ring_dw(r, start);
		uint64_t addr = r->wb_gpu + AMDGPU_WB_FENCE;
		assert_int_equal(p[0], 5u); /* FENCE */
		assert_int_equal(p[1], (uint32_t)addr);
		assert_int_equal(p[2], (uint32_t)(addr >> 32));
		assert_int_equal(p[3], (uint32_t)seq);
		assert_int_equal(p[4], 6u); /* TRAP */
		assert_int_equal(p[5], 0u);
		assert_int_equal(p[6], 0u); /* NOP padding to 8 dwords */
		assert_int_equal(r->wptr, start + 8);
		/* The doorbell carries the byte offset. */
		assert_int_equal(hw_read64(f->hw, AMDGPU_BAR_DOORBELL, i ? AMDGPU_SDMA1_DOORBELL : AMDGPU_SDMA0_DOORBELL),
				 r->wptr * 4);
		volatile uint32_t *ih_wptr = f->adev->ih.wb.cpu;
		assert_true(wait_mem(ih_wptr, (ih_rptr + 32) % AMDGPU_IH_RING_SIZE, 1000));
		assert_int_equal(*amdgpu_ring_wb32(r, AMDGPU_WB_FENCE), (uint32_t)seq);
		const uint32_t *e = (const uint32_t *)((uint8_t *)ih->ring.cpu + ih_rptr);
		assert_int_equal(e[0], (i ? SOC15_IH_CLIENTID_SDMA1 : SOC15_IH_CLIENTID_SDMA0) |
					       SDMA0_4_0__SRCID__SDMA_TRAP << 8);
		assert_int_equal(e[4], 0); /* the TRAP's INT_CONTEXT */
		assert_true(run_until_signaled(f, fence, 1000));
		assert_int_equal(fence->error, 0);
		assert_int_equal(r->fence.irqs, irqs + 1);
		assert_int_equal(hw_read32(f->hw, MMIO, mmIH_RB_RPTR), ih->rptr);
		assert_int_equal(*(volatile uint64_t *)(void *)amdgpu_ring_wb32(r, AMDGPU_WB_RPTR), r->wptr * 4);
		drm_fence_put(fence);
	}
}

struct order {
	struct drm_fence_cb cb;
	unsigned *log, *n, idx;
};

static void order_cb(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	struct order *o = (struct order *)cb;
	o->log[(*o->n)++] = o->idx;
}

/* Many fences in one go signal in order, also across the engine's 32-bit seqno wrap. */
static void test_order_and_wrap(void **state)
{
	struct fx *f = *state;
	struct amdgpu_ring *r = &f->adev->gfx_ring;
	/* Move the ring's timeline next to the wrap, as 4 billion fences would. */
	r->fence.sync_seq = 0xFFFFFFF0ull;
	r->fence.last_seq = 0xFFFFFFF0u;
	*amdgpu_ring_wb32(r, AMDGPU_WB_FENCE) = 0xFFFFFFF0u;
	enum { N = 40 };
	struct drm_fence *fences[N];
	struct order ord[N];
	unsigned log[N], n = 0;
	for (unsigned i = 0; i < N; i++) {
		fences[i] = submit_fence(r);
		ord[i] = (struct order){.log = log, .n = &n, .idx = i};
		assert_int_equal(drm_fence_add_callback(fences[i], &ord[i].cb, order_cb), 0);
	}
	assert_int_equal(fences[N - 1]->seqno, 0xFFFFFFF0ull + N); /* 64-bit to clients */
	assert_true(run_until_signaled(f, fences[N - 1], 2000));
	assert_int_equal(n, N);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(log[i], i);
		assert_true(fences[i]->signaled);
		assert_int_equal(fences[i]->error, 0);
		if (i)
			assert_true(drm_fence_is_later(fences[i], fences[i - 1]));
	}
	/* Only now: fences[i - 1] must still be alive when fences[i] is compared with it. */
	for (unsigned i = 0; i < N; i++)
		drm_fence_put(fences[i]);
	assert_int_equal(r->fence.last_seq, (uint32_t)(0xFFFFFFF0ull + N));
	assert_int_equal(*amdgpu_ring_wb32(r, AMDGPU_WB_FENCE), (uint32_t)(0xFFFFFFF0ull + N));
}

/* Dropped interrupts: the fence still signals, through the timer or by being asked. */
static void test_dropped_irq_fallback(void **state)
{
	struct fx *f = *state;
	for (unsigned k = 0; k < 2; k++) {
		struct amdgpu_ring *r = k ? &f->adev->sdma_ring[1] : &f->adev->gfx_ring;
		enum sim_amdgpu_ring sr = k ? SIM_AMDGPU_RING_SDMA1 : SIM_AMDGPU_RING_GFX;
		assert_int_equal(sim_amdgpu_ring_set_fault(f->m, sr, SIM_AMDGPU_RING_DROP_IRQ, 0), 0);
		uint64_t irqs = r->fence.irqs, fb = r->fence.fallback_signals;

		/* Nobody asks: the fallback timer finds it half a second after the last activity. */
		uint64_t t0 = monotonic_ns();
		struct drm_fence *a = submit_fence(r);
		assert_true(wait_mem(amdgpu_ring_wb32(r, AMDGPU_WB_FENCE), (uint32_t)a->seqno, 1000));
		run_for(f, 100);
		if (monotonic_ns() - t0 < 450000000ull)
			assert_false(a->signaled); /* no interrupt came, and the timer is not due */
		assert_true(run_until_signaled(f, a, 3000));
		assert_int_equal(a->error, 0);
		assert_int_equal(r->fence.irqs, irqs);
		assert_int_equal(r->fence.fallback_signals, fb + 1);

		/* Someone asks (a wait, a poll): the signaled op reads the seqno the engine wrote. */
		struct drm_fence *b = submit_fence(r);
		assert_true(wait_mem(amdgpu_ring_wb32(r, AMDGPU_WB_FENCE), (uint32_t)b->seqno, 1000));
		assert_false(b->signaled);
		assert_true(drm_fence_is_signaled(b));
		assert_int_equal(b->error, 0);
		assert_int_equal(r->fence.fallback_signals, fb + 2);
		assert_int_equal(r->fence.irqs, irqs);
		struct sim_amdgpu_ring_status st;
		assert_int_equal(sim_amdgpu_ring_status(f->m, sr, &st), 0);
		assert_int_equal(st.irqs_dropped, 2);
		assert_int_equal(sim_amdgpu_ring_set_fault(f->m, sr, 0, 0), 0);
		drm_fence_put(a);
		drm_fence_put(b);
	}
}

/* A late interrupt (under the fallback's half second) signals the fence when it comes. */
static void test_delayed_irq(void **state)
{
	struct fx *f = *state;
	struct amdgpu_ring *r = &f->adev->sdma_ring[0];
	assert_int_equal(sim_amdgpu_ring_set_fault(f->m, SIM_AMDGPU_RING_SDMA0, SIM_AMDGPU_RING_DELAY_IRQ, 150000), 0);
	uint64_t irqs = r->fence.irqs;
	struct drm_fence *fence = submit_fence(r);
	assert_true(wait_mem(amdgpu_ring_wb32(r, AMDGPU_WB_FENCE), (uint32_t)fence->seqno, 1000));
	assert_true(run_until_signaled(f, fence, 2000));
	assert_int_equal(fence->error, 0);
	assert_int_equal(r->fence.irqs, irqs + 1);
	assert_int_equal(r->fence.fallback_signals, 0);
	struct sim_amdgpu_ring_status st;
	assert_int_equal(sim_amdgpu_ring_status(f->m, SIM_AMDGPU_RING_SDMA0, &st), 0);
	assert_int_equal(st.irqs_delayed, 1);
	drm_fence_put(fence);
}

/* ---- reset ---- */

/* The "hang a ring" switch takes effect when the engine next looks at work. */
static void wait_hung(struct fx *f, enum sim_amdgpu_ring sr)
{
	struct sim_amdgpu_ring_status st = {0};
	uint64_t end = monotonic_ns() + 1000000000ull;
	while (!st.hung && monotonic_ns() < end)
		assert_int_equal(sim_amdgpu_ring_status(f->m, sr, &st), 0);
	assert_true(st.hung);
}

/* Writes a wait that never ends (GFX WAIT_REG_MEM / SDMA POLL_REGMEM on a zero dword) and a fence. */
static struct drm_fence *submit_stuck(struct amdgpu_ring *r)
{
	uint64_t addr = r->wb_gpu + WB_SPARE;
	*amdgpu_ring_wb32(r, WB_SPARE) = 0;
	assert_int_equal(amdgpu_ring_alloc(r, 7 + r->funcs->emit_fence_size), 0);
	if (r->funcs->type == AMDGPU_HW_IP_GFX) {
		amdgpu_ring_write(r, PKT3(0x3C, 5));
		amdgpu_ring_write(r, 3u | 1u << 4); /* ==, memory */
	} else {
		amdgpu_ring_write(r, 8u | 3u << 28 | 1u << 31); /* POLL_REGMEM, ==, memory */
	}
	amdgpu_ring_write(r, (uint32_t)addr);
	amdgpu_ring_write(r, (uint32_t)(addr >> 32));
	amdgpu_ring_write(r, 1);
	amdgpu_ring_write(r, ~0u);
	amdgpu_ring_write(r, r->funcs->type == AMDGPU_HW_IP_GFX ? 4u : 0xFFFu << 16 | 10u);
	struct drm_fence *fence = NULL;
	assert_int_equal(amdgpu_fence_emit(r, &fence), 0);
	amdgpu_ring_commit(r);
	return fence;
}

static void check_reset_recovers(struct fx *f, struct amdgpu_ring *r, struct drm_fence *stuck)
{
	run_for(f, 30);
	assert_false(stuck->signaled);
	uint64_t resets = r->resets;
	assert_int_equal(amdgpu_ring_reset(r), 0);
	assert_true(stuck->signaled);
	assert_int_equal(stuck->error, -ECANCELED);
	assert_int_equal(drm_fence_get_status(stuck), -ECANCELED);
	assert_int_equal(r->resets, resets + 1);
	assert_true(r->ready);
	/* Nothing of the old work runs: releasing the wait now changes nothing. */
	*amdgpu_ring_wb32(r, WB_SPARE) = 1;
	struct drm_fence *fresh = submit_fence(r);
	assert_true(run_until_signaled(f, fresh, 1000));
	assert_int_equal(fresh->error, 0);
	assert_true(fresh->seqno > stuck->seqno);
	drm_fence_put(fresh);
	drm_fence_put(stuck);
}

static void test_reset_after_hung_wait(void **state)
{
	struct fx *f = *state;
	struct amdgpu_ring *rings[] = {&f->adev->gfx_ring, &f->adev->sdma_ring[0], &f->adev->sdma_ring[1]};
	for (unsigned i = 0; i < 3; i++) {
		struct amdgpu_ring *r = rings[i];
		struct drm_fence *earlier = submit_fence(r); /* done before the stuck one */
		assert_true(run_until_signaled(f, earlier, 1000));
		struct drm_fence *stuck = submit_stuck(r);
		check_reset_recovers(f, r, stuck);
		assert_int_equal(earlier->error, 0);
		drm_fence_put(earlier);
		/* The restarted engine programs the same registers from 0. */
		if (r == &f->adev->gfx_ring)
			assert_int_equal(hw_read32(f->hw, MMIO, mmCP_ME_CNTL) & CP_ME_CNTL__HALT_ALL, 0);
		else
			assert_int_equal(hw_read32(f->hw, MMIO, mmSDMA0_F32_CNTL + r->me * AMDGPU_SDMA_STRIDE) & 1u, 0);
	}
}

/* The model's "hang a ring" switch: the engine stops taking work until it is reset. */
static void test_reset_hung_engine(void **state)
{
	struct fx *f = *state;
	const enum sim_amdgpu_ring sr[] = {SIM_AMDGPU_RING_GFX, SIM_AMDGPU_RING_SDMA0};
	struct amdgpu_ring *rings[] = {&f->adev->gfx_ring, &f->adev->sdma_ring[0]};
	for (unsigned i = 0; i < 2; i++) {
		assert_int_equal(sim_amdgpu_ring_set_fault(f->m, sr[i], SIM_AMDGPU_RING_HANG, 0), 0);
		struct drm_fence *stuck = submit_fence(rings[i]);
		wait_hung(f, sr[i]);
		struct sim_amdgpu_ring_status st;
		check_reset_recovers(f, rings[i], stuck);
		assert_int_equal(sim_amdgpu_ring_status(f->m, sr[i], &st), 0);
		assert_false(st.hung);
	}
}

/* A ring whose engine does not consume: reservations fail with -ENOSPC, fences with -EBUSY past
 * the slots; a reset frees both. */
static void test_ring_full(void **state)
{
	struct fx *f = *state;
	struct amdgpu_ring *r = &f->adev->gfx_ring;
	assert_int_equal(sim_amdgpu_ring_set_fault(f->m, SIM_AMDGPU_RING_GFX, SIM_AMDGPU_RING_HANG, 0), 0);
	struct drm_fence *fences[AMDGPU_FENCE_SLOTS];
	unsigned n = 0;
	for (;;) {
		assert_int_equal(amdgpu_ring_alloc(r, r->funcs->emit_fence_size), 0);
		int ret = amdgpu_fence_emit(r, &fences[n]);
		if (ret) {
			assert_int_equal(ret, -EBUSY);
			amdgpu_ring_undo(r);
			break;
		}
		amdgpu_ring_commit(r);
		if (n++ == 0) /* the engine has stopped at the first packet before more come */
			wait_hung(f, SIM_AMDGPU_RING_GFX);
		assert_true(n <= AMDGPU_FENCE_SLOTS);
	}
	assert_int_equal(n, AMDGPU_FENCE_SLOTS);
	unsigned commits = 0;
	int ret;
	while ((ret = amdgpu_ring_alloc(r, 8)) == 0) {
		amdgpu_ring_insert_nop(r, 8);
		amdgpu_ring_commit(r);
		commits++;
	}
	assert_int_equal(ret, -ENOSPC);
	assert_true(commits > 0);
	assert_true(amdgpu_ring_free_dw(r) < 8);
	assert_int_equal(amdgpu_ring_alloc(r, r->ring_dw), -EINVAL); /* can never fit */
	assert_int_equal(amdgpu_ring_reset(r), 0);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(fences[i]->error, -ECANCELED);
		drm_fence_put(fences[i]);
	}
	struct drm_fence *fresh = submit_fence(r);
	assert_true(run_until_signaled(f, fresh, 1000));
	drm_fence_put(fresh);
}

/* Fences still pending when the device goes away complete with an error. */
static void test_unload_completes_pending(void **state)
{
	struct fx *f = *state;
	assert_int_equal(sim_amdgpu_ring_set_fault(f->m, SIM_AMDGPU_RING_SDMA1, SIM_AMDGPU_RING_HANG, 0), 0);
	struct drm_fence *fence = submit_fence(&f->adev->sdma_ring[1]);
	wait_hung(f, SIM_AMDGPU_RING_SDMA1);
	run_for(f, 10);
	assert_false(fence->signaled);
	for (unsigned i = 0; i < f->nbufs; i++)
		amdgpu_gart_unmap(f->adev, f->buf_gpu[i], (uint32_t)(f->bufs[i].size / 4096));
	drm_dev_destroy(f->dev);
	f->dev = NULL;
	assert_true(fence->signaled);
	assert_int_equal(fence->error, -ENODEV);
	assert_true(drm_fence_is_signaled(fence)); /* the ring is gone: no hardware is asked */
	drm_fence_put(fence);
}

/* ---- SDMA copy and fill, VM flushes and faults ---- */

static void test_sdma_copy_fill(void **state)
{
	struct fx *f = *state;
	void *src_cpu, *dst_cpu;
	uint64_t src = gart_buf(f, 16384, &src_cpu), dst = gart_buf(f, 16384, &dst_cpu);
	for (unsigned i = 0; i < 16384 / 4; i++)
		((uint32_t *)src_cpu)[i] = 0xA5000000u + i;
	struct amdgpu_ring *r = &f->adev->sdma_ring[1];
	assert_int_equal(amdgpu_ring_alloc(r, 7 + 5 + r->funcs->emit_fence_size), 0);
	amdgpu_ring_write(r, 1u); /* COPY_LINEAR of 12 KiB */
	amdgpu_ring_write(r, 12288 - 1);
	amdgpu_ring_write(r, 0);
	amdgpu_ring_write(r, (uint32_t)src);
	amdgpu_ring_write(r, (uint32_t)(src >> 32));
	amdgpu_ring_write(r, (uint32_t)dst);
	amdgpu_ring_write(r, (uint32_t)(dst >> 32));
	amdgpu_ring_write(r, 11u | 2u << 30); /* CONST_FILL of the last 4 KiB, dwords */
	amdgpu_ring_write(r, (uint32_t)(dst + 12288));
	amdgpu_ring_write(r, (uint32_t)((dst + 12288) >> 32));
	amdgpu_ring_write(r, 0x0F0F0F0Fu);
	amdgpu_ring_write(r, 4096 - 1);
	struct drm_fence *fence = NULL;
	assert_int_equal(amdgpu_fence_emit(r, &fence), 0);
	amdgpu_ring_commit(r);
	assert_true(run_until_signaled(f, fence, 1000));
	assert_int_equal(memcmp(src_cpu, dst_cpu, 12288), 0);
	for (unsigned i = 12288 / 4; i < 16384 / 4; i++)
		assert_int_equal(((uint32_t *)dst_cpu)[i], 0x0F0F0F0Fu);
	drm_fence_put(fence);
}

/*
 * A job in a user VMID on each ring: the VM flush programs the VMID's
 * context through the ring and invalidates its TLB, the IB runs through the
 * new tables, and its access to an unmapped page is a VM fault counted for
 * that VMID (and none other).
 */
static void test_vm_flush_and_fault(void **state)
{
	struct fx *f = *state;
	const uint64_t ib_va = 0x200000, data_va = 0x40000000, bad_va = 0x7FFF0000000ull;
	void *ib_cpu, *data_cpu;
	gart_buf(f, 4096, &ib_cpu);
	gart_buf(f, 4096, &data_cpu);
	uint64_t root = pt_new(f);
	vm_map(f, root, ib_va, f->bufs[f->nbufs - 2].bus_addr);
	vm_map(f, root, data_va, f->bufs[f->nbufs - 1].bus_addr);
	const uint64_t pd = root | AMDGPU_PTE_VALID | AMDGPU_PTE_SYSTEM;
	const uint32_t cntl = 1u | 3u << 1; /* enabled, depth 3 (what the VM code hands over) */
	uint64_t faults0[AMDGPU_NUM_VMID];
	for (unsigned v = 0; v < AMDGPU_NUM_VMID; v++)
		faults0[v] = amdgpu_vm_fault_count(f->adev, v);

	/* GFX, VMID 3: WRITE_DATA to a mapped page, then to an unmapped one. */
	uint32_t *ib = ib_cpu, n = 0;
	const uint64_t targets[2] = {data_va + 8, bad_va};
	for (unsigned k = 0; k < 2; k++) {
		ib[n++] = PKT3(0x37, 3);
		ib[n++] = 5u << 8 | 1u << 20;
		ib[n++] = (uint32_t)targets[k];
		ib[n++] = (uint32_t)(targets[k] >> 32);
		ib[n++] = 0x3333 + k;
	}
	while (n % 8)
		ib[n++] = 0xFFFF1000u;
	struct amdgpu_ring *r = amdgpu_ring_lookup(f->adev, AMDGPU_HW_IP_GFX, 0);
	assert_non_null(r);
	assert_null(amdgpu_ring_lookup(f->adev, AMDGPU_HW_IP_GFX, 1));
	assert_null(amdgpu_ring_lookup(f->adev, AMDGPU_HW_IP_COMPUTE, 0));
	uint64_t start = r->wptr;
	assert_int_equal(amdgpu_ring_alloc(r, r->funcs->emit_vm_flush_size + r->funcs->emit_ib_size +
						      r->funcs->emit_fence_size), 0);
	amdgpu_ring_emit_vm_flush(r, 3, pd, cntl);
	uint64_t ib_at = r->wptr;
	amdgpu_ring_emit_ib(r, 3, ib_va, n, 0);
	struct drm_fence *fence = NULL;
	assert_int_equal(amdgpu_fence_emit(r, &fence), 0);
	amdgpu_ring_commit(r);
	/* The flush as the CP reads it: first a wait for the ring's last fence (pipeline sync). */
	const uint32_t *p = ring_dw(r, start);
	uint64_t fence_addr = r->wb_gpu + AMDGPU_WB_FENCE;
	assert_int_equal(p[0], PKT3(0x3C, 5));
	assert_int_equal(p[1], 3u | 1u << 4); /* ==, memory */
	assert_int_equal(p[2], (uint32_t)fence_addr);
	assert_int_equal(p[4], (uint32_t)r->fence.sync_seq - 1); /* the fence before this job's */
	assert_int_equal(p[5], ~0u);
	p += 7;
	assert_int_equal(p[0], PKT3(0x37, 3));
	assert_int_equal(p[1], 1u << 30 | 1u << 20); /* from the PFP, to a register, confirmed */
	assert_int_equal(p[2], (mmGFXHUB_VM_CONTEXT0_CNTL + 4 * 3) / 4);
	assert_int_equal(p[4], cntl | VM_CONTEXT_CNTL__FAULT_INTERRUPTS);
	assert_int_equal(p[5], PKT3(0x37, 4));
	assert_int_equal(p[7], (mmGFXHUB_VM_CONTEXT0_PAGE_TABLE_BASE_ADDR_LO32 + 8 * 3) / 4);
	assert_int_equal(p[9], (uint32_t)pd);
	assert_int_equal(p[10], (uint32_t)(pd >> 32));
	assert_int_equal(p[11], PKT3(0x3C, 5));
	assert_int_equal(p[12], 3u | 1u << 6); /* ==, registers, write REQ then wait ACK */
	assert_int_equal(p[13], mmGFXHUB_VM_INVALIDATE_ENG0_REQ / 4);
	assert_int_equal(p[14], mmGFXHUB_VM_INVALIDATE_ENG0_ACK / 4);
	assert_int_equal(p[15], 1u << 3 | 0x1Fu << 18);
	assert_int_equal(p[16], 1u << 3);
	assert_int_equal(p[18], PKT3(0x42, 0)); /* PFP_SYNC_ME */
	const uint32_t *q = ring_dw(r, ib_at);
	assert_int_equal(q[0], PKT3(0x3F, 2));
	assert_int_equal(q[1], (uint32_t)ib_va);
	assert_int_equal(q[3], n | 1u << 23 | 3u << 24);
	assert_true(run_until_signaled(f, fence, 1000));
	assert_int_equal(fence->error, 0);
	drm_fence_put(fence);
	assert_int_equal(((uint32_t *)data_cpu)[2], 0x3333u);
	assert_int_equal(hw_read32(f->hw, MMIO, mmGFXHUB_VM_CONTEXT0_CNTL + 4 * 3), cntl | VM_CONTEXT_CNTL__FAULT_INTERRUPTS);
	assert_int_equal(hw_read32(f->hw, MMIO, mmGFXHUB_VM_CONTEXT0_PAGE_TABLE_BASE_ADDR_LO32 + 8 * 3), (uint32_t)pd);
	assert_int_equal(hw_read32(f->hw, MMIO, mmGFXHUB_VM_INVALIDATE_ENG0_ACK), 1u << 3);
	assert_int_equal(amdgpu_vm_fault_count(f->adev, 3), faults0[3] + 1);

	/* SDMA1, VMID 4 on the MMHUB: a fill of the mapped page and of the unmapped one. */
	uint32_t *sib = (uint32_t *)ib_cpu + 64;
	n = 0;
	for (unsigned k = 0; k < 2; k++) {
		uint64_t t = k ? bad_va : data_va + 64;
		sib[n++] = 11u | 2u << 30;
		sib[n++] = (uint32_t)t;
		sib[n++] = (uint32_t)(t >> 32);
		sib[n++] = 0x4444u;
		sib[n++] = 16 - 1;
	}
	r = amdgpu_ring_lookup(f->adev, AMDGPU_HW_IP_DMA, 1);
	assert_ptr_equal(r, &f->adev->sdma_ring[1]);
	start = r->wptr;
	assert_int_equal(amdgpu_ring_alloc(r, r->funcs->emit_vm_flush_size + r->funcs->emit_ib_size +
						      r->funcs->emit_fence_size), 0);
	amdgpu_ring_emit_vm_flush(r, 4, pd, cntl);
	amdgpu_ring_emit_ib(r, 4, ib_va + 256, n, 0);
	assert_int_equal(amdgpu_fence_emit(r, &fence), 0);
	amdgpu_ring_commit(r);
	p = ring_dw(r, start);
	assert_int_equal(p[0], 8u | 3u << 28 | 1u << 31); /* pipeline sync: POLL_REGMEM on the fence, == */
	assert_int_equal(p[1], (uint32_t)(r->wb_gpu + AMDGPU_WB_FENCE));
	assert_int_equal(p[3], (uint32_t)r->fence.sync_seq - 1);
	p += 6;
	assert_int_equal(p[0], 14u | 0xFu << 28); /* SRBM_WRITE, all bytes */
	assert_int_equal(p[1], (mmMMHUB_VM_CONTEXT0_CNTL + 4 * 4) / 4);
	assert_int_equal(p[2], cntl | VM_CONTEXT_CNTL__FAULT_INTERRUPTS);
	assert_int_equal(p[4], (mmMMHUB_VM_CONTEXT0_PAGE_TABLE_BASE_ADDR_LO32 + 8 * 4) / 4);
	assert_int_equal(p[5], (uint32_t)pd);
	assert_int_equal(p[10], (mmMMHUB_VM_INVALIDATE_ENG0_REQ + 4 * AMDGPU_SDMA_INV_ENG(1)) / 4);
	assert_int_equal(p[11], 1u << 4 | 0x1Fu << 18);
	assert_int_equal(p[12], 8u | 3u << 28); /* POLL_REGMEM on a register, == */
	assert_int_equal(p[13], mmMMHUB_VM_INVALIDATE_ENG0_ACK + 4 * AMDGPU_SDMA_INV_ENG(1));
	assert_int_equal(p[15], 1u << 4);
	assert_int_equal(p[16], 1u << 4);
	assert_true(run_until_signaled(f, fence, 1000));
	drm_fence_put(fence);
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(((uint32_t *)data_cpu)[16 + i], 0x4444u);
	assert_int_equal(hw_read32(f->hw, MMIO, mmMMHUB_VM_CONTEXT0_CNTL + 4 * 4), cntl | VM_CONTEXT_CNTL__FAULT_INTERRUPTS);
	assert_int_equal(amdgpu_vm_fault_count(f->adev, 4), faults0[4] + 1);
	for (unsigned v = 0; v < AMDGPU_NUM_VMID; v++)
		if (v != 3 && v != 4)
			assert_int_equal(amdgpu_vm_fault_count(f->adev, v), faults0[v]);
	assert_int_equal(amdgpu_vm_fault_count(f->adev, AMDGPU_NUM_VMID), 0);
}

/* GFX IB flags: a CE IB goes out as INDIRECT_BUFFER_CONST (and runs before the DE's), a
 * preemptible one carries PRE_ENB; the SDMA ring ignores them. */
static void test_gfx_ib_flags(void **state)
{
	struct fx *f = *state;
	void *cpu;
	uint64_t gpu = gart_buf(f, 4096, &cpu);
	uint32_t *ib = cpu;
	/* Two IBs of 8 dwords at 0 and 256 bytes, each a WRITE_DATA into the buffer's second page half. */
	for (unsigned k = 0; k < 2; k++) {
		uint32_t *p = ib + 64 * k;
		uint64_t dst = gpu + 2048 + 4 * k;
		p[0] = PKT3(0x37, 3);
		p[1] = 5u << 8 | 1u << 20;
		p[2] = (uint32_t)dst;
		p[3] = (uint32_t)(dst >> 32);
		p[4] = 0xC0DE0000u + k;
		p[5] = p[6] = p[7] = 0xFFFF1000u;
	}
	struct amdgpu_ring *r = &f->adev->gfx_ring;
	uint64_t start = r->wptr;
	assert_int_equal(amdgpu_ring_alloc(r, 2 * r->funcs->emit_ib_size + r->funcs->emit_fence_size), 0);
	amdgpu_ring_emit_ib(r, 0, gpu, 8, AMDGPU_IB_FLAG_CE);
	amdgpu_ring_emit_ib(r, 0, gpu + 256, 8, AMDGPU_IB_FLAG_PREEMPT | AMDGPU_IB_FLAG_PREAMBLE);
	struct drm_fence *fence = NULL;
	assert_int_equal(amdgpu_fence_emit(r, &fence), 0);
	amdgpu_ring_commit(r);
	const uint32_t *p = ring_dw(r, start);
	assert_int_equal(p[0], PKT3(0x33, 2));
	assert_int_equal(p[1], (uint32_t)gpu);
	assert_int_equal(p[2], (uint32_t)(gpu >> 32) & 0xFFFFu);
	assert_int_equal(p[3], 8u | 1u << 23);
	assert_int_equal(p[4], PKT3(0x3F, 2));
	assert_int_equal(p[7], 8u | 1u << 21 | 1u << 23);
	assert_true(run_until_signaled(f, fence, 1000));
	assert_int_equal(((uint32_t *)cpu)[512], 0xC0DE0000u);
	assert_int_equal(((uint32_t *)cpu)[513], 0xC0DE0001u);
	drm_fence_put(fence);
	struct sim_amdgpu_ring_status st;
	assert_int_equal(sim_amdgpu_ring_status(f->m, SIM_AMDGPU_RING_GFX, &st), 0);
	assert_int_equal(st.op_count[0x33], 1);

	r = &f->adev->sdma_ring[0];
	start = r->wptr;
	assert_int_equal(amdgpu_ring_alloc(r, r->funcs->emit_ib_size), 0);
	amdgpu_ring_emit_ib(r, 2, 0x100000, 16, AMDGPU_IB_FLAG_CE | AMDGPU_IB_FLAG_PREEMPT);
	p = ring_dw(r, start);
	unsigned pad = (unsigned)(2 - (uint32_t)start) & 7u;
	for (unsigned i = 0; i < pad; i++)
		assert_int_equal(p[i], 0u); /* NOPs so the packet ends on 8 dwords */
	assert_int_equal(p[pad], 4u | 2u << 16);
	assert_int_equal((start + pad + 6) % 8, 0);
	amdgpu_ring_undo(r);
	assert_int_equal(r->wptr, start);
}

/* Every fault vector is counted, whatever the log's rate limit lets through. */
static void test_many_faults(void **state)
{
	struct fx *f = *state;
	void *cpu;
	uint64_t gpu = gart_buf(f, 4096, &cpu);
	const uint64_t ib_va = 0x200000;
	uint64_t root = pt_new(f);
	vm_map(f, root, ib_va, f->bufs[f->nbufs - 1].bus_addr);
	(void)gpu;
	uint32_t *ib = cpu, n = 0;
	enum { FAULTS = 25 };
	for (unsigned k = 0; k < FAULTS; k++) {
		uint64_t bad = 0x500000000ull + 0x1000ull * k;
		ib[n++] = PKT3(0x37, 3);
		ib[n++] = 5u << 8 | 1u << 20;
		ib[n++] = (uint32_t)bad;
		ib[n++] = (uint32_t)(bad >> 32);
		ib[n++] = k;
	}
	while (n % 8)
		ib[n++] = 0xFFFF1000u;
	struct amdgpu_ring *r = &f->adev->gfx_ring;
	uint64_t before = amdgpu_vm_fault_count(f->adev, 9);
	assert_int_equal(amdgpu_ring_alloc(r, r->funcs->emit_vm_flush_size + r->funcs->emit_ib_size +
						      r->funcs->emit_fence_size), 0);
	amdgpu_ring_emit_vm_flush(r, 9, root | AMDGPU_PTE_VALID | AMDGPU_PTE_SYSTEM, 1u | 3u << 1);
	amdgpu_ring_emit_ib(r, 9, ib_va, n, 0);
	struct drm_fence *fence = NULL;
	assert_int_equal(amdgpu_fence_emit(r, &fence), 0);
	amdgpu_ring_commit(r);
	assert_true(run_until_signaled(f, fence, 1000));
	drm_fence_put(fence);
	assert_int_equal(amdgpu_vm_fault_count(f->adev, 9), before + FAULTS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gfx_fence_trace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sdma_fence_trace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_and_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dropped_irq_fallback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delayed_irq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_after_hung_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_hung_engine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unload_completes_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sdma_copy_fill, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_flush_and_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gfx_ib_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_faults, setup, teardown),
	};
	return cmocka_run_group_tests_name("amdgpu_ring", tests, NULL, NULL);
}
