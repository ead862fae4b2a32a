/*
 * The kernel's GFX ring (ME0 pipe0 queue0) on the CP: a ring buffer and
 * its rptr/wptr writeback slots in host memory reached through the GART on
 * the GFXHUB, programmed in gfx_v9_0_cp_gfx_resume's order, started by
 * clearing the CP halts, and checked once at load with the kernel's ring
 * and IB tests. Only a ring that passed both is reported available.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "amdgpu.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/log.h"

#define PACKET3(op, count) (0xC0000000u | ((uint32_t)(count)&0x3FFFu) << 16 | (uint32_t)(op) << 8)
#define PACKET3_NOP_1DW 0xFFFF1000u /* count 0x3FFF: a one-dword NOP */
#define PKT3_INDIRECT_BUFFER 0x3Fu
#define PKT3_WRITE_DATA 0x37u
#define PKT3_RELEASE_MEM 0x49u
#define PKT3_SET_UCONFIG_REG 0x79u
#define UCONFIG_REG_BASE 0xC000u /* dwords */
#define WRITE_DATA_DST_SEL_MEM (5u << 8)
#define WRITE_DATA_WR_CONFIRM (1u << 20)
#define IB_VALID (1u << 23)
/* RELEASE_MEM dw1 as the kernel's fence: CACHE_FLUSH_AND_INV_TS_EVENT, index 5, with the
 * TC write-back and TCL1/TC/TC_MD actions so the fence lands after the work's writes. */
#define RELEASE_MEM_EVENT (0x14u | 5u << 8 | 1u << 15 | 1u << 16 | 1u << 17 | 1u << 21)
#define RELEASE_MEM_DATA_SEL_32 (1u << 29)
#define RELEASE_MEM_INT_SEL_AFTER_CONFIRM (2u << 24)

/* Where things sit in the writeback page. */
#define WB_RPTR 0u
#define WB_WPTR 8u
#define WB_FENCE 64u
#define WB_IB_TEST 256u
#define WB_IB 1024u /* the IB test's IB: 32-byte aligned as GFX IBs must be */

#define RING_TEST_VALUE 0xDEADBEEFu
#define IB_TEST_VALUE 0xCAFEF00Du
#define TEST_TIMEOUT_NS 1000000000ull /* generous for a simulated or loaded CP; only at load */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pause_us(long us)
{
	struct timespec ts = {.tv_sec = 0, .tv_nsec = us * 1000L};
	nanosleep(&ts, NULL);
}

static volatile uint32_t *wb32(struct amdgpu_ring *r, uint32_t off)
{
	return (volatile uint32_t *)((uint8_t *)r->wb.cpu + off);
}

/* Maps a DMA buffer into the GART; 0 or an error with nothing left reserved. */
static int map_in_gart(struct amdgpu_device *adev, const struct hw_dma *d, uint64_t *gpu)
{
	uint32_t pages = (uint32_t)((d->size + AMDGPU_GPU_PAGE_SIZE - 1) / AMDGPU_GPU_PAGE_SIZE);
	int ret = amdgpu_gart_alloc(adev, pages, gpu);
	if (ret)
		return ret;
	ret = amdgpu_gart_map(adev, *gpu, d->bus_addr, pages);
	if (ret)
		amdgpu_gart_free(adev, *gpu, pages);
	return ret;
}

static void unmap_from_gart(struct amdgpu_device *adev, const struct hw_dma *d, uint64_t gpu)
{
	uint32_t pages = (uint32_t)((d->size + AMDGPU_GPU_PAGE_SIZE - 1) / AMDGPU_GPU_PAGE_SIZE);
	amdgpu_gart_unmap(adev, gpu, pages);
	amdgpu_gart_free(adev, gpu, pages);
}

static void emit(struct amdgpu_ring *r, uint32_t v)
{
	((volatile uint32_t *)r->ring.cpu)[r->wptr & (r->ring_dw - 1)] = v;
	r->wptr++;
}

/* gfx_v9_0_ring_set_wptr_gfx: the shadow first, then one 64-bit doorbell write the CP acts on. */
static void commit(struct amdgpu_device *adev, struct amdgpu_ring *r)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* packets in memory before the CP is told */
	__atomic_store_n((volatile uint64_t *)((uint8_t *)r->wb.cpu + WB_WPTR), r->wptr, __ATOMIC_RELEASE);
	hw_write64(adev->hw, AMDGPU_BAR_DOORBELL, AMDGPU_GFX_DOORBELL, r->wptr);
}

static void cp_program(struct amdgpu_device *adev, struct amdgpu_ring *r)
{
	unsigned bufsz = 0;
	while ((8u << bufsz) < r->ring_dw * 4)
		bufsz++;
	uint32_t cntl = bufsz | (bufsz - 2) << CP_RB_CNTL__RB_BLKSZ__SHIFT;
	uint64_t rptr_addr = r->wb_gpu + WB_RPTR, wptr_addr = r->wb_gpu + WB_WPTR;

	amdgpu_wreg(adev, mmCP_RB_WPTR_DELAY, 0);
	amdgpu_wreg(adev, mmCP_RB_VMID, 0); /* the kernel's ring fetches through VMID0 (the GART) */
	amdgpu_wreg(adev, mmCP_RB0_CNTL, cntl);
	amdgpu_wreg(adev, mmCP_RB0_WPTR, 0);
	amdgpu_wreg(adev, mmCP_RB0_WPTR_HI, 0);
	amdgpu_wreg(adev, mmCP_RB0_RPTR_ADDR, (uint32_t)rptr_addr);
	amdgpu_wreg(adev, mmCP_RB0_RPTR_ADDR_HI, (uint32_t)(rptr_addr >> 32) & 0xFFFFu);
	amdgpu_wreg(adev, mmCP_RB_WPTR_POLL_ADDR_LO, (uint32_t)wptr_addr);
	amdgpu_wreg(adev, mmCP_RB_WPTR_POLL_ADDR_HI, (uint32_t)(wptr_addr >> 32));
	amdgpu_wreg(adev, mmCP_RB0_CNTL, cntl);
	amdgpu_wreg(adev, mmCP_RB0_BASE, (uint32_t)(r->ring_gpu >> 8));
	amdgpu_wreg(adev, mmCP_RB0_BASE_HI, (uint32_t)(r->ring_gpu >> 40));
	amdgpu_wreg(adev, mmCP_RB_DOORBELL_CONTROL,
		    (AMDGPU_GFX_DOORBELL / 4) << CP_RB_DOORBELL_CONTROL__DOORBELL_OFFSET__SHIFT |
			    CP_RB_DOORBELL_CONTROL__DOORBELL_EN);
	amdgpu_wreg(adev, mmCP_RB_DOORBELL_RANGE_LOWER, AMDGPU_GFX_DOORBELL);
	amdgpu_wreg(adev, mmCP_RB_DOORBELL_RANGE_UPPER, CP_RB_DOORBELL_RANGE_UPPER__MASK);
	/* gfx_v9_0_cp_gfx_start: the ME, PFP and CE run from here on. */
	amdgpu_wreg(adev, mmCP_ME_CNTL, 0);
	/* Fences raise the EOP interrupt (client GRBM_CP, source 181). */
	amdgpu_wreg(adev, mmCP_INT_CNTL_RING0,
		    amdgpu_rreg(adev, mmCP_INT_CNTL_RING0) | CP_INT_CNTL_RING0__TIME_STAMP_INT_ENABLE);
}

/* gfx_v9_0_ring_test_ring: a SET_UCONFIG_REG the CP must execute for SCRATCH_REG0 to change. */
static int ring_test(struct amdgpu_device *adev, struct amdgpu_ring *r)
{
	amdgpu_wreg(adev, mmSCRATCH_REG0, 0xCAFEDEADu);
	emit(r, PACKET3(PKT3_SET_UCONFIG_REG, 1));
	emit(r, mmSCRATCH_REG0 / 4 - UCONFIG_REG_BASE);
	emit(r, RING_TEST_VALUE);
	commit(adev, r);
	uint64_t end = now_ns() + TEST_TIMEOUT_NS;
	uint32_t got;
	while ((got = amdgpu_rreg(adev, mmSCRATCH_REG0)) != RING_TEST_VALUE) {
		if (now_ns() > end) {
			log_error("amdgpu: %s: GFX ring test failed: SCRATCH_REG0 0x%08x, rptr %u, wptr %llu",
				  adev->hw->name, got, amdgpu_rreg(adev, mmCP_RB0_RPTR),
				  (unsigned long long)r->wptr);
			return -ETIMEDOUT;
		}
		pause_us(10);
	}
	return 0;
}

/* The kernel's fence: the seqno is in memory before the EOP interrupt announces it (INT_SEL 2). */
static void emit_fence(struct amdgpu_ring *r, uint32_t seq)
{
	uint64_t addr = r->wb_gpu + WB_FENCE;
	emit(r, PACKET3(PKT3_RELEASE_MEM, 6));
	emit(r, RELEASE_MEM_EVENT);
	emit(r, RELEASE_MEM_DATA_SEL_32 | RELEASE_MEM_INT_SEL_AFTER_CONFIRM);
	emit(r, (uint32_t)addr);
	emit(r, (uint32_t)(addr >> 32));
	emit(r, seq);
	emit(r, 0);
	emit(r, 0);
}

/*
 * gfx_v9_0_ring_test_ib: an IB whose WRITE_DATA lands in the writeback page,
 * then a fence with the EOP interrupt. The seqno must reach memory and the
 * IH handler must see the EOP entry, since fences are signalled from it.
 */
static int ib_test(struct drm_device *dev, struct amdgpu_device *adev, struct amdgpu_ring *r)
{
	*wb32(r, WB_IB_TEST) = 0;
	volatile uint32_t *ib = wb32(r, WB_IB);
	uint32_t n = 0;
	uint64_t dst = r->wb_gpu + WB_IB_TEST;
	ib[n++] = PACKET3(PKT3_WRITE_DATA, 3);
	ib[n++] = WRITE_DATA_DST_SEL_MEM | WRITE_DATA_WR_CONFIRM;
	ib[n++] = (uint32_t)dst;
	ib[n++] = (uint32_t)(dst >> 32);
	ib[n++] = IB_TEST_VALUE;
	while (n % 8) /* GFX IB sizes are padded to 8 dwords */
		ib[n++] = PACKET3_NOP_1DW;

	uint64_t ib_addr = r->wb_gpu + WB_IB;
	uint32_t seq = ++r->fence_seq;
	emit(r, PACKET3(PKT3_INDIRECT_BUFFER, 2));
	emit(r, (uint32_t)ib_addr);
	emit(r, (uint32_t)(ib_addr >> 32) & 0xFFFFu);
	emit(r, n | IB_VALID); /* VMID 0: the IB is a GART address */
	emit_fence(r, seq);
	commit(adev, r);

	uint64_t end = now_ns() + TEST_TIMEOUT_NS;
	while (__atomic_load_n(wb32(r, WB_FENCE), __ATOMIC_ACQUIRE) != seq) {
		if (now_ns() > end) {
			log_error("amdgpu: %s: GFX IB test: fence %u never written (memory has %u)", adev->hw->name,
				  seq, *wb32(r, WB_FENCE));
			return -ETIMEDOUT;
		}
		pause_us(10);
	}
	if (*wb32(r, WB_IB_TEST) != IB_TEST_VALUE) {
		log_error("amdgpu: %s: GFX IB test: IB wrote 0x%08x, expected 0x%08x", adev->hw->name,
			  *wb32(r, WB_IB_TEST), IB_TEST_VALUE);
		return -EIO;
	}
	/* The event loop does not run yet: take the interrupt here, boundedly. */
	while (r->last_signalled != seq) {
		amdgpu_irq_handler(dev);
		if (r->last_signalled == seq)
			break;
		if (now_ns() > end) {
			log_error("amdgpu: %s: GFX IB test: no EOP interrupt for fence %u", adev->hw->name, seq);
			return -ETIMEDOUT;
		}
		pause_us(10);
	}
	return 0;
}

int amdgpu_gfx_init(struct drm_device *dev, struct amdgpu_device *adev)
{
	struct amdgpu_ring *r = &adev->gfx_ring;
	struct hw_device *hw = adev->hw;
	if (!adev->gart.ready || !adev->ih.ready)
		return -ENODEV;
	memset(r, 0, sizeof(*r));
	int ret = hw->ops->dma_alloc(hw, AMDGPU_GFX_RING_SIZE, &r->ring);
	if (ret)
		return ret;
	ret = hw->ops->dma_alloc(hw, AMDGPU_GPU_PAGE_SIZE, &r->wb);
	if (ret)
		goto fail;
	memset(r->ring.cpu, 0, r->ring.size);
	memset(r->wb.cpu, 0, r->wb.size);
	ret = map_in_gart(adev, &r->ring, &r->ring_gpu);
	if (ret)
		goto fail;
	r->ring_mapped = true;
	ret = map_in_gart(adev, &r->wb, &r->wb_gpu);
	if (ret)
		goto fail;
	r->wb_mapped = true;
	r->ring_dw = AMDGPU_GFX_RING_SIZE / 4;

	cp_program(adev, r);
	r->started = true;
	ret = ring_test(adev, r);
	if (!ret)
		ret = ib_test(dev, adev, r);
	if (ret)
		goto fail;
	r->ready = true;
	log_info("amdgpu: %s: GFX ring up (%u KiB at 0x%llx), ring and IB tests passed", hw->name,
		 AMDGPU_GFX_RING_SIZE >> 10, (unsigned long long)r->ring_gpu);
	return 0;
fail:
	amdgpu_gfx_fini(adev);
	return ret;
}

void amdgpu_gfx_fini(struct amdgpu_device *adev)
{
	struct amdgpu_ring *r = &adev->gfx_ring;
	struct hw_device *hw = adev->hw;
	if (r->started) {
		/* Halt the CP and silence it before its memory goes away. */
		amdgpu_wreg(adev, mmCP_INT_CNTL_RING0,
			    amdgpu_rreg(adev, mmCP_INT_CNTL_RING0) & ~CP_INT_CNTL_RING0__TIME_STAMP_INT_ENABLE);
		amdgpu_wreg(adev, mmCP_ME_CNTL, CP_ME_CNTL__HALT_ALL);
		amdgpu_wreg(adev, mmCP_RB_DOORBELL_CONTROL, 0);
	}
	if (r->wb_mapped)
		unmap_from_gart(adev, &r->wb, r->wb_gpu);
	if (r->ring_mapped)
		unmap_from_gart(adev, &r->ring, r->ring_gpu);
	if (r->wb.cpu)
		hw->ops->dma_free(hw, &r->wb);
	if (r->ring.cpu)
		hw->ops->dma_free(hw, &r->ring);
	memset(r, 0, sizeof(*r));
}

void amdgpu_gfx_eop_irq(struct amdgpu_device *adev, const struct amdgpu_iv_entry *iv)
{
	struct amdgpu_ring *r = &adev->gfx_ring;
	(void)iv;
	if (!r->started)
		return;
	/* As amdgpu_fence_process: the seqno comes from the fence memory, not from the vector. */
	r->last_signalled = __atomic_load_n(wb32(r, WB_FENCE), __ATOMIC_ACQUIRE);
	r->eop_irqs++;
}
