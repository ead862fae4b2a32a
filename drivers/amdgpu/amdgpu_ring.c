/*
 * The ring layer shared by every engine queue: memory (the ring and its
 * writeback page, in host memory behind the GART), reserving and committing
 * space, and the bring-up, test and reset sequence around the IP's own
 * functions (amdgpu_gfx.c, amdgpu_sdma.c).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <amdgpu_drm.h>

#include "amdgpu.h"
#include "redox-drm/fence.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"

/* ---- memory ---- */

static uint32_t gpu_pages(const struct hw_dma *d)
{
	return (uint32_t)((d->size + AMDGPU_GPU_PAGE_SIZE - 1) / AMDGPU_GPU_PAGE_SIZE);
}

/* Maps a DMA buffer into the GART; 0 or an error with nothing left reserved. */
static int map_in_gart(struct amdgpu_device *adev, const struct hw_dma *d, uint64_t *gpu)
{
	int ret = amdgpu_gart_alloc(adev, gpu_pages(d), gpu);
	if (ret)
		return ret;
	ret = amdgpu_gart_map(adev, *gpu, d->bus_addr, gpu_pages(d));
	if (ret)
		amdgpu_gart_free(adev, *gpu, gpu_pages(d));
	return ret;
}

static void unmap_from_gart(struct amdgpu_device *adev, const struct hw_dma *d, uint64_t gpu)
{
	amdgpu_gart_unmap(adev, gpu, gpu_pages(d));
	amdgpu_gart_free(adev, gpu, gpu_pages(d));
}

volatile uint32_t *amdgpu_ring_wb32(struct amdgpu_ring *ring, uint32_t off)
{
	return (volatile uint32_t *)((uint8_t *)ring->wb.cpu + off);
}

void amdgpu_ring_pause(void)
{
	struct timespec ts = {.tv_nsec = 10000};
	nanosleep(&ts, NULL);
}

int amdgpu_ring_poll_wb(struct amdgpu_ring *ring, uint32_t off, uint32_t value, uint64_t timeout_ns)
{
	uint64_t end = monotonic_ns() + timeout_ns;
	while (__atomic_load_n(amdgpu_ring_wb32(ring, off), __ATOMIC_ACQUIRE) != value) {
		if (monotonic_ns() > end)
			return -ETIMEDOUT;
		amdgpu_ring_pause();
	}
	return 0;
}

/* ---- writing packets ---- */

void amdgpu_ring_write(struct amdgpu_ring *ring, uint32_t v)
{
	/* Writing past the reservation would overwrite what the engine has not read yet. */
	assert(ring->wptr < ring->alloc_end);
	((volatile uint32_t *)ring->ring.cpu)[ring->wptr & (ring->ring_dw - 1)] = v;
	ring->wptr++;
}

void amdgpu_ring_insert_nop(struct amdgpu_ring *ring, unsigned count)
{
	while (count--)
		amdgpu_ring_write(ring, ring->funcs->nop);
}

uint32_t amdgpu_ring_free_dw(struct amdgpu_ring *ring)
{
	uint64_t rptr = ring->funcs->get_rptr(ring);
	uint32_t used = (uint32_t)(ring->wptr - rptr) & (ring->ring_dw - 1);
	/* One dword stays free: a full ring would look empty (rptr == wptr). */
	return ring->ring_dw - 1 - used;
}

int amdgpu_ring_alloc(struct amdgpu_ring *ring, unsigned ndw)
{
	if (!ring->started)
		return -ENODEV;
	/* Room for the commit's padding too, as the kernel's amdgpu_ring_alloc. */
	uint32_t align = ring->funcs->align_mask + 1;
	if (ndw > ring->ring_dw / 2)
		return -EINVAL;
	uint32_t need = (ndw + align - 1) & ~(align - 1);
	if (need == 0)
		need = align;
	if (need > amdgpu_ring_free_dw(ring))
		return -ENOSPC;
	ring->wptr_old = ring->wptr;
	ring->alloc_end = ring->wptr + need;
	return 0;
}

void amdgpu_ring_commit(struct amdgpu_ring *ring)
{
	uint32_t align = ring->funcs->align_mask + 1;
	amdgpu_ring_insert_nop(ring, (uint32_t)(align - (ring->wptr & (align - 1))) & (align - 1));
	ring->alloc_end = ring->wptr;
	/* Packets in memory before the engine is told. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	ring->funcs->set_wptr(ring);
}

void amdgpu_ring_undo(struct amdgpu_ring *ring)
{
	ring->wptr = ring->wptr_old;
	ring->alloc_end = ring->wptr;
}

void amdgpu_ring_emit_ib(struct amdgpu_ring *ring, unsigned vmid, uint64_t ib_va, uint32_t length_dw, uint32_t flags)
{
	ring->funcs->emit_ib(ring, vmid & 0xFu, ib_va, length_dw, flags);
}

void amdgpu_ring_emit_vm_flush(struct amdgpu_ring *ring, unsigned vmid, uint64_t pd_base, uint32_t context_cntl)
{
	ring->funcs->emit_vm_flush(ring, vmid & 0xFu, pd_base, context_cntl);
}

/* ---- lookup ---- */

/* As the kernel's scheduler lists: a client's ring index counts the rings that are up. */
struct amdgpu_ring *amdgpu_ring_lookup(struct amdgpu_device *adev, uint32_t ip_type, uint32_t ring)
{
	struct amdgpu_ring *rings;
	unsigned n;
	if (ip_type == AMDGPU_HW_IP_GFX) {
		rings = &adev->gfx_ring;
		n = 1;
	} else if (ip_type == AMDGPU_HW_IP_DMA) {
		rings = adev->sdma_ring;
		n = AMDGPU_NUM_SDMA;
	} else {
		return NULL;
	}
	for (unsigned i = 0; i < n; i++)
		if (rings[i].ready && ring-- == 0)
			return &rings[i];
	return NULL;
}

struct amdgpu_ring *amdgpu_ring_of_iv(struct amdgpu_device *adev, const struct amdgpu_iv_entry *iv)
{
	/* ring_id 0: ME0 pipe0 queue0 (the GFX ring), and the SDMA engines' GFX queue. */
	if (iv->ring_id != 0)
		return NULL;
	if (iv->client_id == SOC15_IH_CLIENTID_GRBM_CP && iv->src_id == GFX_9_0__SRCID__CP_EOP_INTERRUPT)
		return &adev->gfx_ring;
	if (iv->src_id == SDMA0_4_0__SRCID__SDMA_TRAP) {
		if (iv->client_id == SOC15_IH_CLIENTID_SDMA0)
			return &adev->sdma_ring[0];
		if (iv->client_id == SOC15_IH_CLIENTID_SDMA1)
			return &adev->sdma_ring[1];
	}
	return NULL;
}

/* ---- bring-up, reset, teardown ---- */

static int run_tests(struct amdgpu_ring *ring)
{
	int ret = ring->funcs->test_ring(ring);
	if (ret) {
		log_error("amdgpu: %s: %s ring test failed (%d)", ring->adev->hw->name, ring->name, ret);
		return ret;
	}
	ret = ring->funcs->test_ib(ring);
	if (ret)
		log_error("amdgpu: %s: %s IB test failed (%d)", ring->adev->hw->name, ring->name, ret);
	return ret;
}

int amdgpu_ring_init(struct amdgpu_device *adev, struct amdgpu_ring *ring, const struct amdgpu_ring_funcs *funcs,
		     unsigned me)
{
	struct hw_device *hw = adev->hw;
	if (!adev->gart.ready || !adev->ih.ready)
		return -ENODEV;
	memset(ring, 0, sizeof(*ring));
	ring->adev = adev;
	ring->funcs = funcs;
	ring->me = me;
	snprintf(ring->name, sizeof(ring->name), funcs->name_fmt, me);
	int ret = hw->ops->dma_alloc(hw, funcs->ring_size, &ring->ring);
	if (ret)
		goto fail;
	ret = hw->ops->dma_alloc(hw, AMDGPU_GPU_PAGE_SIZE, &ring->wb);
	if (ret)
		goto fail;
	memset(ring->ring.cpu, 0, ring->ring.size);
	memset(ring->wb.cpu, 0, ring->wb.size);
	ret = map_in_gart(adev, &ring->ring, &ring->ring_gpu);
	if (ret)
		goto fail;
	ring->ring_mapped = true;
	ret = map_in_gart(adev, &ring->wb, &ring->wb_gpu);
	if (ret)
		goto fail;
	ring->wb_mapped = true;
	ring->ring_dw = funcs->ring_size / 4;
	ret = amdgpu_fence_driver_init(ring);
	if (ret)
		goto fail;

	funcs->hw_start(ring);
	ring->started = true;
	ret = run_tests(ring);
	if (ret)
		goto fail;
	ring->ready = true;
	log_info("amdgpu: %s: %s ring up (%u KiB at 0x%llx), ring and IB tests passed", hw->name, ring->name,
		 funcs->ring_size >> 10, (unsigned long long)ring->ring_gpu);
	return 0;
fail:
	amdgpu_ring_fini(ring);
	return ret;
}

void amdgpu_ring_fini(struct amdgpu_ring *ring)
{
	struct amdgpu_device *adev = ring->adev;
	if (!adev)
		return;
	struct hw_device *hw = adev->hw;
	if (ring->started)
		ring->funcs->hw_stop(ring); /* silent before its memory goes away */
	ring->started = ring->ready = false; /* callbacks of what completes now cannot submit */
	amdgpu_fence_driver_force_completion(ring, -ENODEV);
	amdgpu_fence_driver_fini(ring);
	if (ring->wb_mapped)
		unmap_from_gart(adev, &ring->wb, ring->wb_gpu);
	if (ring->ring_mapped)
		unmap_from_gart(adev, &ring->ring, ring->ring_gpu);
	if (ring->wb.cpu)
		hw->ops->dma_free(hw, &ring->wb);
	if (ring->ring.cpu)
		hw->ops->dma_free(hw, &ring->ring);
	memset(ring, 0, sizeof(*ring));
}

int amdgpu_ring_reset(struct amdgpu_ring *ring)
{
	if (!ring->started)
		return -ENODEV;
	struct amdgpu_device *adev = ring->adev;
	log_warn("amdgpu: %s: resetting %s ring (rptr %llu, wptr %llu, last fence %u of %llu)", adev->hw->name,
		 ring->name, (unsigned long long)ring->funcs->get_rptr(ring), (unsigned long long)ring->wptr,
		 ring->fence.last_seq, (unsigned long long)ring->fence.sync_seq);
	ring->ready = false;
	/* Halt first: what the engine was doing (a wait that never ends) is abandoned. */
	ring->funcs->hw_reset(ring);
	ring->wptr = ring->wptr_old = ring->alloc_end = 0;
	memset(ring->ring.cpu, 0, ring->ring.size);
	*amdgpu_ring_wb32(ring, AMDGPU_WB_RPTR) = 0;
	*amdgpu_ring_wb32(ring, AMDGPU_WB_RPTR + 4) = 0;
	ring->funcs->hw_start(ring);
	ring->resets++;
	/*
	 * No ring test here, unlike at load: it would hold the event loop until
	 * the engine answered. The next job's fence, under the scheduler's
	 * timeout, is what proves the ring again.
	 */
	ring->ready = true;
	/*
	 * Nobody will write these seqnos now. Completed last, with the ring
	 * already running again: their callbacks may submit new work at once.
	 */
	amdgpu_fence_driver_force_completion(ring, -ECANCELED);
	return 0;
}
