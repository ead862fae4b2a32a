/*
 * The kernel's GFX ring (ME0 pipe0 queue0) on the CP: programmed in
 * gfx_v9_0_cp_gfx_resume's order, started by clearing the CP halts, and
 * written with PM4 packets: IBs, RELEASE_MEM fences with the EOP interrupt,
 * and VM flushes through the GFXHUB. Checked at load with the kernel's ring
 * and IB tests; only a ring that passed both is reported available.
 */
#include <errno.h>
#include <string.h>

#include <amdgpu_drm.h>

#include "amdgpu.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"

#define PACKET3(op, count) (0xC0000000u | ((uint32_t)(count)&0x3FFFu) << 16 | (uint32_t)(op) << 8)
#define PACKET3_NOP_1DW 0xFFFF1000u /* count 0x3FFF: a one-dword NOP */
#define PKT3_INDIRECT_BUFFER_CONST 0x33u
#define PKT3_WRITE_DATA 0x37u
#define PKT3_WAIT_REG_MEM 0x3Cu
#define PKT3_INDIRECT_BUFFER 0x3Fu
#define PKT3_PFP_SYNC_ME 0x42u
#define PKT3_RELEASE_MEM 0x49u
#define PKT3_SET_UCONFIG_REG 0x79u
#define UCONFIG_REG_BASE 0xC000u /* dwords */
#define WRITE_DATA_DST_SEL_REG (0u << 8)
#define WRITE_DATA_DST_SEL_MEM (5u << 8)
#define WRITE_DATA_WR_CONFIRM (1u << 20)
#define WRITE_DATA_ENGINE_PFP (1u << 30)
#define WAIT_REG_MEM_FUNC_EQ 3u
#define WAIT_REG_MEM_MEM_SPACE (1u << 4)     /* poll memory, not a register */
#define WAIT_REG_MEM_OP_WRITE_WAIT (1u << 6) /* write reg0, then wait on reg1 */
#define WAIT_REG_MEM_POLL_INTERVAL 0x20u
#define IB_PRE_ENB (1u << 21)
#define IB_VALID (1u << 23)
#define IB_VMID_SHIFT 24
/* RELEASE_MEM dw1 as the kernel's fence: CACHE_FLUSH_AND_INV_TS_EVENT, index 5, with the
 * TC write-back and TCL1/TC/TC_MD actions so the fence lands after the work's writes. */
#define RELEASE_MEM_EVENT (0x14u | 5u << 8 | 1u << 15 | 1u << 16 | 1u << 17 | 1u << 21)
#define RELEASE_MEM_DATA_SEL_32 (1u << 29)
#define RELEASE_MEM_INT_SEL_AFTER_CONFIRM (2u << 24)
/* VM_INVALIDATE_ENGn_REQ: PER_VMID_INVALIDATE_REQ [15:0], FLUSH_TYPE 0, INVALIDATE_L2_PTES,
 * _L2_PDE0/1/2 and _L1_PTES [22:18]. */
#define INV_REQ(vmid) ((1u << (vmid)) | 0x1Fu << 18)

#define RING_TEST_VALUE 0xDEADBEEFu
#define IB_TEST_VALUE 0xCAFEF00Du
#define TEST_TIMEOUT_NS 1000000000ull /* generous for a simulated or loaded CP */

/* GFXHUB registers of a user VMID (facts §5): CNTL +4 per VMID, the address pairs +8. */
#define GFXHUB_CTX_CNTL(vmid) (mmGFXHUB_VM_CONTEXT0_CNTL + 4u * (vmid))
#define GFXHUB_CTX_PT_BASE(vmid) (mmGFXHUB_VM_CONTEXT0_PAGE_TABLE_BASE_ADDR_LO32 + 8u * (vmid))

static uint64_t gfx_get_rptr(struct amdgpu_ring *ring)
{
	/* gfx9 writes back a 32-bit dword offset in the ring. */
	return __atomic_load_n(amdgpu_ring_wb32(ring, AMDGPU_WB_RPTR), __ATOMIC_ACQUIRE);
}

/* gfx_v9_0_ring_set_wptr_gfx: the shadow first, then one 64-bit doorbell write the CP acts on. */
static void gfx_set_wptr(struct amdgpu_ring *ring)
{
	__atomic_store_n((volatile uint64_t *)(void *)amdgpu_ring_wb32(ring, AMDGPU_WB_WPTR), ring->wptr,
			 __ATOMIC_RELEASE);
	hw_write64(ring->adev->hw, AMDGPU_BAR_DOORBELL, AMDGPU_GFX_DOORBELL, ring->wptr);
}

static void gfx_hw_start(struct amdgpu_ring *ring)
{
	struct amdgpu_device *adev = ring->adev;
	unsigned bufsz = 0;
	while ((8u << bufsz) < ring->ring_dw * 4)
		bufsz++;
	uint32_t cntl = bufsz | (bufsz - 2) << CP_RB_CNTL__RB_BLKSZ__SHIFT;
	uint64_t rptr_addr = ring->wb_gpu + AMDGPU_WB_RPTR, wptr_addr = ring->wb_gpu + AMDGPU_WB_WPTR;

	amdgpu_wreg(adev, mmCP_RB_WPTR_DELAY, 0);
	amdgpu_wreg(adev, mmCP_RB_VMID, 0); /* the kernel's ring fetches through VMID0 (the GART) */
	/* Both pointers from 0: RB_RPTR_WR_ENA loads RPTR from CP_RB_RPTR_WR while set. */
	amdgpu_wreg(adev, mmCP_RB_RPTR_WR, 0);
	amdgpu_wreg(adev, mmCP_RB0_CNTL, cntl | CP_RB_CNTL__RB_RPTR_WR_ENA);
	amdgpu_wreg(adev, mmCP_RB0_WPTR, 0);
	amdgpu_wreg(adev, mmCP_RB0_WPTR_HI, 0);
	amdgpu_wreg(adev, mmCP_RB0_RPTR_ADDR, (uint32_t)rptr_addr);
	amdgpu_wreg(adev, mmCP_RB0_RPTR_ADDR_HI, (uint32_t)(rptr_addr >> 32) & 0xFFFFu);
	amdgpu_wreg(adev, mmCP_RB_WPTR_POLL_ADDR_LO, (uint32_t)wptr_addr);
	amdgpu_wreg(adev, mmCP_RB_WPTR_POLL_ADDR_HI, (uint32_t)(wptr_addr >> 32));
	amdgpu_wreg(adev, mmCP_RB0_CNTL, cntl);
	amdgpu_wreg(adev, mmCP_RB0_BASE, (uint32_t)(ring->ring_gpu >> 8));
	amdgpu_wreg(adev, mmCP_RB0_BASE_HI, (uint32_t)(ring->ring_gpu >> 40));
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

static void gfx_hw_stop(struct amdgpu_ring *ring)
{
	struct amdgpu_device *adev = ring->adev;
	amdgpu_wreg(adev, mmCP_INT_CNTL_RING0,
		    amdgpu_rreg(adev, mmCP_INT_CNTL_RING0) & ~CP_INT_CNTL_RING0__TIME_STAMP_INT_ENABLE);
	amdgpu_wreg(adev, mmCP_ME_CNTL, CP_ME_CNTL__HALT_ALL);
	amdgpu_wreg(adev, mmCP_RB_DOORBELL_CONTROL, 0);
}

/* Halt the CP (abandoning a packet it waits in), then soft-reset it, as gfx_v9_0_soft_reset. */
static void gfx_hw_reset(struct amdgpu_ring *ring)
{
	struct amdgpu_device *adev = ring->adev;
	amdgpu_wreg(adev, mmCP_ME_CNTL, CP_ME_CNTL__HALT_ALL);
	amdgpu_wreg(adev, mmGRBM_SOFT_RESET, amdgpu_rreg(adev, mmGRBM_SOFT_RESET) | GRBM_SOFT_RESET__CP_GFX);
	(void)amdgpu_rreg(adev, mmGRBM_SOFT_RESET); /* posted before the release */
	amdgpu_wreg(adev, mmGRBM_SOFT_RESET, amdgpu_rreg(adev, mmGRBM_SOFT_RESET) & ~GRBM_SOFT_RESET__CP_GFX);
	(void)amdgpu_rreg(adev, mmGRBM_SOFT_RESET);
}

/*
 * gfx_v9_0_ring_emit_ib_gfx: the CE's IBs go to the constant engine
 * (INDIRECT_BUFFER_CONST), the rest to the DE. A preemptible IB sets PRE_ENB.
 * Preamble IBs are emitted like any other: skipping them when the context
 * did not change is the submitter's choice, as in amdgpu_ib_schedule.
 */
static void gfx_emit_ib(struct amdgpu_ring *ring, unsigned vmid, uint64_t ib_va, uint32_t length_dw, uint32_t flags)
{
	uint32_t control = IB_VALID | (length_dw & 0xFFFFFu) | vmid << IB_VMID_SHIFT;
	if (flags & AMDGPU_IB_FLAG_PREEMPT)
		control |= IB_PRE_ENB;
	amdgpu_ring_write(ring, PACKET3(flags & AMDGPU_IB_FLAG_CE ? PKT3_INDIRECT_BUFFER_CONST : PKT3_INDIRECT_BUFFER, 2));
	amdgpu_ring_write(ring, (uint32_t)ib_va & ~3u); /* bits 1:0 are the swap control: none */
	amdgpu_ring_write(ring, (uint32_t)(ib_va >> 32) & 0xFFFFu);
	amdgpu_ring_write(ring, control);
}

/* The kernel's fence: the seqno is in memory before the EOP interrupt announces it (INT_SEL 2). */
static void gfx_emit_fence(struct amdgpu_ring *ring, uint64_t addr, uint32_t seq, bool irq)
{
	amdgpu_ring_write(ring, PACKET3(PKT3_RELEASE_MEM, 6));
	amdgpu_ring_write(ring, RELEASE_MEM_EVENT);
	amdgpu_ring_write(ring, RELEASE_MEM_DATA_SEL_32 | (irq ? RELEASE_MEM_INT_SEL_AFTER_CONFIRM : 0));
	amdgpu_ring_write(ring, (uint32_t)addr);
	amdgpu_ring_write(ring, (uint32_t)(addr >> 32));
	amdgpu_ring_write(ring, seq);
	amdgpu_ring_write(ring, 0);
	amdgpu_ring_write(ring, 0);
}

/* gfx_v9_0_ring_emit_wreg for the GFX ring: WRITE_DATA to n consecutive registers from the PFP. */
static void gfx_emit_wregs(struct amdgpu_ring *ring, uint32_t reg, const uint32_t *v, unsigned n)
{
	amdgpu_ring_write(ring, PACKET3(PKT3_WRITE_DATA, 2 + n));
	amdgpu_ring_write(ring, WRITE_DATA_ENGINE_PFP | WRITE_DATA_DST_SEL_REG | WRITE_DATA_WR_CONFIRM);
	amdgpu_ring_write(ring, reg / 4);
	amdgpu_ring_write(ring, 0);
	for (unsigned i = 0; i < n; i++)
		amdgpu_ring_write(ring, v[i]);
}

/*
 * gmc_v9_0_emit_flush_gpu_tlb through the CP, after a pipeline sync (wait
 * for the ring's last fence): the VMID's context (control
 * with the fault interrupts the driver keeps enabled, and the root PDE),
 * then a WAIT_REG_MEM that writes the invalidate REQ and waits for its ACK
 * bit, then PFP_SYNC_ME so the prefetcher does not run ahead of the flush.
 */
static void gfx_emit_vm_flush(struct amdgpu_ring *ring, unsigned vmid, uint64_t pd_base, uint32_t context_cntl)
{
	const uint32_t cntl = context_cntl | VM_CONTEXT_CNTL__FAULT_INTERRUPTS;
	const uint32_t base[2] = {(uint32_t)pd_base, (uint32_t)(pd_base >> 32)};
	/* gfx_v9_0_ring_emit_pipeline_sync: the ring's earlier jobs finish before the tables change. */
	uint64_t fence_addr = ring->wb_gpu + AMDGPU_WB_FENCE;
	amdgpu_ring_write(ring, PACKET3(PKT3_WAIT_REG_MEM, 5));
	amdgpu_ring_write(ring, WAIT_REG_MEM_FUNC_EQ | WAIT_REG_MEM_MEM_SPACE);
	amdgpu_ring_write(ring, (uint32_t)fence_addr);
	amdgpu_ring_write(ring, (uint32_t)(fence_addr >> 32));
	amdgpu_ring_write(ring, (uint32_t)ring->fence.sync_seq);
	amdgpu_ring_write(ring, 0xFFFFFFFFu);
	amdgpu_ring_write(ring, WAIT_REG_MEM_POLL_INTERVAL);
	gfx_emit_wregs(ring, GFXHUB_CTX_CNTL(vmid), &cntl, 1);
	gfx_emit_wregs(ring, GFXHUB_CTX_PT_BASE(vmid), base, 2);
	amdgpu_ring_write(ring, PACKET3(PKT3_WAIT_REG_MEM, 5));
	amdgpu_ring_write(ring, WAIT_REG_MEM_FUNC_EQ | WAIT_REG_MEM_OP_WRITE_WAIT);
	amdgpu_ring_write(ring, (mmGFXHUB_VM_INVALIDATE_ENG0_REQ + 4u * AMDGPU_GFX_INV_ENG) / 4);
	amdgpu_ring_write(ring, (mmGFXHUB_VM_INVALIDATE_ENG0_ACK + 4u * AMDGPU_GFX_INV_ENG) / 4);
	amdgpu_ring_write(ring, INV_REQ(vmid));
	amdgpu_ring_write(ring, 1u << vmid);
	amdgpu_ring_write(ring, WAIT_REG_MEM_POLL_INTERVAL);
	amdgpu_ring_write(ring, PACKET3(PKT3_PFP_SYNC_ME, 0));
	amdgpu_ring_write(ring, 0);
}

/* gfx_v9_0_ring_test_ring: a SET_UCONFIG_REG the CP must execute for SCRATCH_REG0 to change. */
static int gfx_test_ring(struct amdgpu_ring *ring)
{
	struct amdgpu_device *adev = ring->adev;
	amdgpu_wreg(adev, mmSCRATCH_REG0, 0xCAFEDEADu);
	int ret = amdgpu_ring_alloc(ring, 3);
	if (ret)
		return ret;
	amdgpu_ring_write(ring, PACKET3(PKT3_SET_UCONFIG_REG, 1));
	amdgpu_ring_write(ring, mmSCRATCH_REG0 / 4 - UCONFIG_REG_BASE);
	amdgpu_ring_write(ring, RING_TEST_VALUE);
	amdgpu_ring_commit(ring);
	uint64_t end = monotonic_ns() + TEST_TIMEOUT_NS;
	uint32_t got;
	while ((got = amdgpu_rreg(adev, mmSCRATCH_REG0)) != RING_TEST_VALUE) {
		if (monotonic_ns() > end) {
			log_error("amdgpu: %s: GFX ring test: SCRATCH_REG0 0x%08x, rptr %u, wptr %llu", adev->hw->name, got,
				  amdgpu_rreg(adev, mmCP_RB0_RPTR), (unsigned long long)ring->wptr);
			return -ETIMEDOUT;
		}
		amdgpu_ring_pause();
	}
	return 0;
}

/*
 * The IB test of both IPs: an IB (built by the caller in the writeback page)
 * and a fence with its interrupt. The IB's write must land, and the fence
 * must be signalled by the interrupt handler, not by a fallback, since that
 * is how every later fence is signalled. The event loop does not run yet
 * (load) or is this caller: the handler is run here, boundedly.
 */
int amdgpu_ring_test_ib_common(struct amdgpu_ring *ring, uint32_t ib_dw, uint32_t expect)
{
	struct amdgpu_device *adev = ring->adev;
	int ret = amdgpu_ring_alloc(ring, ring->funcs->emit_ib_size + ring->funcs->emit_fence_size);
	if (ret)
		return ret;
	struct drm_fence *fence = NULL;
	amdgpu_ring_emit_ib(ring, 0, ring->wb_gpu + AMDGPU_WB_IB, ib_dw, 0); /* VMID 0: a GART address */
	ret = amdgpu_fence_emit(ring, &fence);
	if (ret) {
		amdgpu_ring_undo(ring);
		return ret;
	}
	amdgpu_ring_commit(ring);
	uint64_t end = monotonic_ns() + TEST_TIMEOUT_NS;
	while (!fence->signaled && monotonic_ns() < end) {
		if (adev->ddev)
			amdgpu_irq_handler(adev->ddev);
		if (!fence->signaled)
			amdgpu_ring_pause();
	}
	if (!fence->signaled) {
		log_error("amdgpu: %s: %s IB test: no fence interrupt for seqno %llu (memory has %u)", adev->hw->name,
			  ring->name, (unsigned long long)fence->seqno, *amdgpu_ring_wb32(ring, AMDGPU_WB_FENCE));
		ret = -ETIMEDOUT;
	} else if (fence->error) {
		ret = fence->error;
	} else if (*amdgpu_ring_wb32(ring, AMDGPU_WB_TEST) != expect) {
		log_error("amdgpu: %s: %s IB test: IB wrote 0x%08x, expected 0x%08x", adev->hw->name, ring->name,
			  *amdgpu_ring_wb32(ring, AMDGPU_WB_TEST), expect);
		ret = -EIO;
	}
	drm_fence_put(fence);
	return ret;
}

/* gfx_v9_0_ring_test_ib: WRITE_DATA to writeback memory from an IB. */
static int gfx_test_ib(struct amdgpu_ring *ring)
{
	*amdgpu_ring_wb32(ring, AMDGPU_WB_TEST) = 0;
	volatile uint32_t *ib = amdgpu_ring_wb32(ring, AMDGPU_WB_IB);
	uint32_t n = 0;
	uint64_t dst = ring->wb_gpu + AMDGPU_WB_TEST;
	ib[n++] = PACKET3(PKT3_WRITE_DATA, 3);
	ib[n++] = WRITE_DATA_DST_SEL_MEM | WRITE_DATA_WR_CONFIRM;
	ib[n++] = (uint32_t)dst;
	ib[n++] = (uint32_t)(dst >> 32);
	ib[n++] = IB_TEST_VALUE;
	while (n % 8) /* GFX IB sizes are padded to 8 dwords */
		ib[n++] = PACKET3_NOP_1DW;
	return amdgpu_ring_test_ib_common(ring, n, IB_TEST_VALUE);
}

const struct amdgpu_ring_funcs amdgpu_gfx_ring_funcs = {
	.name_fmt = "gfx",
	.type = AMDGPU_HW_IP_GFX,
	.align_mask = 0x7, /* [plausible] the model fetches by packet, so 8 dwords are enough */
	.nop = PACKET3_NOP_1DW,
	.ring_size = AMDGPU_GFX_RING_SIZE,
	.emit_ib_size = 4,
	.emit_fence_size = 8,
	.emit_vm_flush_size = 7 + 5 + 6 + 7 + 2,
	.hw_start = gfx_hw_start,
	.hw_stop = gfx_hw_stop,
	.hw_reset = gfx_hw_reset,
	.get_rptr = gfx_get_rptr,
	.set_wptr = gfx_set_wptr,
	.emit_ib = gfx_emit_ib,
	.emit_fence = gfx_emit_fence,
	.emit_vm_flush = gfx_emit_vm_flush,
	.test_ring = gfx_test_ring,
	.test_ib = gfx_test_ib,
};

int amdgpu_gfx_init(struct amdgpu_device *adev)
{
	return amdgpu_ring_init(adev, &adev->gfx_ring, &amdgpu_gfx_ring_funcs, 0);
}

void amdgpu_gfx_fini(struct amdgpu_device *adev)
{
	amdgpu_ring_fini(&adev->gfx_ring);
}
