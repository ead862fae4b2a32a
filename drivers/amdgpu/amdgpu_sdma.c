/*
 * SDMA 4.0, instances 0 and 1: the GFX queue of each engine as the kernel's
 * ring (sdma_v4_0_gfx_resume's order), written with SDMA packets: INDIRECT
 * IBs with their VMID, FENCE + TRAP fences, VM flushes through the MMHUB
 * (SRBM_WRITE, POLL_REGMEM). Pointers are byte offsets to the engine.
 */
#include <errno.h>
#include <string.h>

#include <amdgpu_drm.h>

#include "amdgpu.h"
#include "redox-drm/log.h"

#define SDMA_OP_NOP 0u
#define SDMA_OP_WRITE 2u
#define SDMA_OP_INDIRECT 4u
#define SDMA_OP_FENCE 5u
#define SDMA_OP_TRAP 6u
#define SDMA_OP_POLL_REGMEM 8u
#define SDMA_OP_SRBM_WRITE 14u
#define SDMA_INDIRECT_VMID_SHIFT 16
#define SDMA_SRBM_WRITE_BYTE_EN (0xFu << 28)
#define SDMA_POLL_FUNC_EQ (3u << 28)
#define SDMA_POLL_MEM (1u << 31)
#define SDMA_POLL_INTERVAL 10u
#define SDMA_POLL_RETRY_FOREVER (0xFFFu << 16)

#define RING_TEST_VALUE 0xDEADBEEFu
#define IB_TEST_VALUE 0xBEEFCAFEu
#define TEST_TIMEOUT_NS 1000000000ull

#define MMHUB_CTX_CNTL(vmid) (mmMMHUB_VM_CONTEXT0_CNTL + 4u * (vmid))
#define MMHUB_CTX_PT_BASE(vmid) (mmMMHUB_VM_CONTEXT0_PAGE_TABLE_BASE_ADDR_LO32 + 8u * (vmid))
#define INV_REQ(vmid) ((1u << (vmid)) | 0x1Fu << 18)

static uint32_t reg(const struct amdgpu_ring *ring, uint32_t off)
{
	return off + ring->me * AMDGPU_SDMA_STRIDE;
}

static void wreg(struct amdgpu_ring *ring, uint32_t off, uint32_t v)
{
	amdgpu_wreg(ring->adev, reg(ring, off), v);
}

static uint32_t rreg(struct amdgpu_ring *ring, uint32_t off)
{
	return amdgpu_rreg(ring->adev, reg(ring, off));
}

static uint32_t doorbell(const struct amdgpu_ring *ring)
{
	return ring->me ? AMDGPU_SDMA1_DOORBELL : AMDGPU_SDMA0_DOORBELL;
}

static uint64_t sdma_get_rptr(struct amdgpu_ring *ring)
{
	/* A 64-bit byte offset, written back by the engine. */
	return __atomic_load_n((volatile uint64_t *)(void *)amdgpu_ring_wb32(ring, AMDGPU_WB_RPTR), __ATOMIC_ACQUIRE) >> 2;
}

/* sdma_v4_0_ring_set_wptr: the shadow, then the 64-bit doorbell, both in bytes. */
static void sdma_set_wptr(struct amdgpu_ring *ring)
{
	__atomic_store_n((volatile uint64_t *)(void *)amdgpu_ring_wb32(ring, AMDGPU_WB_WPTR), ring->wptr << 2,
			 __ATOMIC_RELEASE);
	hw_write64(ring->adev->hw, AMDGPU_BAR_DOORBELL, doorbell(ring), ring->wptr << 2);
}

static void sdma_hw_start(struct amdgpu_ring *ring)
{
	unsigned log2_dw = 0;
	while ((1u << log2_dw) < ring->ring_dw)
		log2_dw++;
	uint32_t cntl = log2_dw << SDMA0_GFX_RB_CNTL__RB_SIZE__SHIFT | SDMA0_GFX_RB_CNTL__RPTR_WRITEBACK_ENABLE;
	uint64_t rptr_addr = ring->wb_gpu + AMDGPU_WB_RPTR;

	wreg(ring, mmSDMA0_F32_CNTL, SDMA0_F32_CNTL__HALT); /* programmed while halted */
	wreg(ring, mmSDMA0_GFX_RB_CNTL, cntl);
	wreg(ring, mmSDMA0_GFX_RB_RPTR, 0);
	wreg(ring, mmSDMA0_GFX_RB_RPTR_HI, 0);
	wreg(ring, mmSDMA0_GFX_RB_WPTR, 0);
	wreg(ring, mmSDMA0_GFX_RB_WPTR_HI, 0);
	wreg(ring, mmSDMA0_GFX_RB_RPTR_ADDR_HI, (uint32_t)(rptr_addr >> 32));
	wreg(ring, mmSDMA0_GFX_RB_RPTR_ADDR_LO, (uint32_t)rptr_addr & ~3u);
	wreg(ring, mmSDMA0_GFX_RB_BASE, (uint32_t)(ring->ring_gpu >> 8));
	wreg(ring, mmSDMA0_GFX_RB_BASE_HI, (uint32_t)(ring->ring_gpu >> 40));
	wreg(ring, mmSDMA0_GFX_MINOR_PTR_UPDATE, 0);
	wreg(ring, mmSDMA0_GFX_DOORBELL_OFFSET, (doorbell(ring) / 4) << SDMA0_GFX_DOORBELL_OFFSET__SHIFT);
	wreg(ring, mmSDMA0_GFX_DOORBELL, SDMA0_GFX_DOORBELL__ENABLE);
	wreg(ring, mmSDMA0_GFX_RB_CNTL, cntl | SDMA0_GFX_RB_CNTL__RB_ENABLE);
	wreg(ring, mmSDMA0_GFX_IB_CNTL, rreg(ring, mmSDMA0_GFX_IB_CNTL) | SDMA0_GFX_IB_CNTL__IB_ENABLE);
	/* Traps raise the IH (client SDMA0/1, source 224). */
	wreg(ring, mmSDMA0_CNTL, rreg(ring, mmSDMA0_CNTL) | SDMA0_CNTL__TRAP_ENABLE);
	wreg(ring, mmSDMA0_F32_CNTL, 0);
}

static void sdma_hw_stop(struct amdgpu_ring *ring)
{
	wreg(ring, mmSDMA0_CNTL, rreg(ring, mmSDMA0_CNTL) & ~SDMA0_CNTL__TRAP_ENABLE);
	wreg(ring, mmSDMA0_F32_CNTL, SDMA0_F32_CNTL__HALT);
	wreg(ring, mmSDMA0_GFX_RB_CNTL, rreg(ring, mmSDMA0_GFX_RB_CNTL) & ~SDMA0_GFX_RB_CNTL__RB_ENABLE);
	wreg(ring, mmSDMA0_GFX_IB_CNTL, rreg(ring, mmSDMA0_GFX_IB_CNTL) & ~SDMA0_GFX_IB_CNTL__IB_ENABLE);
	wreg(ring, mmSDMA0_GFX_DOORBELL, 0);
}

/* Halting the F32 abandons the packet in flight (a poll that never matches); then the queue off. */
static void sdma_hw_reset(struct amdgpu_ring *ring)
{
	wreg(ring, mmSDMA0_F32_CNTL, SDMA0_F32_CNTL__HALT);
	wreg(ring, mmSDMA0_GFX_RB_CNTL, rreg(ring, mmSDMA0_GFX_RB_CNTL) & ~SDMA0_GFX_RB_CNTL__RB_ENABLE);
}

static void sdma_nop(struct amdgpu_ring *ring, unsigned n)
{
	amdgpu_ring_insert_nop(ring, n);
}

/* sdma_v4_0_ring_emit_ib: NOPs so the 6-dword INDIRECT ends on an 8-dword boundary. */
static void sdma_emit_ib(struct amdgpu_ring *ring, unsigned vmid, uint64_t ib_va, uint32_t length_dw, uint32_t flags)
{
	(void)flags; /* the CE/preamble flags are the GFX ring's */
	sdma_nop(ring, (unsigned)(2 - (uint32_t)ring->wptr) & 7u);
	amdgpu_ring_write(ring, SDMA_OP_INDIRECT | vmid << SDMA_INDIRECT_VMID_SHIFT);
	amdgpu_ring_write(ring, (uint32_t)ib_va & ~0x1Fu); /* 32-byte aligned */
	amdgpu_ring_write(ring, (uint32_t)(ib_va >> 32));
	amdgpu_ring_write(ring, length_dw & 0xFFFFFu);
	amdgpu_ring_write(ring, 0); /* no CSA */
	amdgpu_ring_write(ring, 0);
}

/* FENCE writes the seqno; a TRAP after it raises the interrupt once it has landed. */
static void sdma_emit_fence(struct amdgpu_ring *ring, uint64_t addr, uint32_t seq, bool irq)
{
	amdgpu_ring_write(ring, SDMA_OP_FENCE);
	amdgpu_ring_write(ring, (uint32_t)addr & ~3u);
	amdgpu_ring_write(ring, (uint32_t)(addr >> 32));
	amdgpu_ring_write(ring, seq);
	if (irq) {
		amdgpu_ring_write(ring, SDMA_OP_TRAP);
		amdgpu_ring_write(ring, 0); /* INT_CONTEXT */
	}
}

static void sdma_emit_wreg(struct amdgpu_ring *ring, uint32_t reg_byte, uint32_t v)
{
	amdgpu_ring_write(ring, SDMA_OP_SRBM_WRITE | SDMA_SRBM_WRITE_BYTE_EN);
	amdgpu_ring_write(ring, reg_byte / 4);
	amdgpu_ring_write(ring, v);
}

/* gmc_v9_0_emit_flush_gpu_tlb on the MMHUB (Vega10's SDMA hub), after a pipeline sync: the VMID's
 * context, then REQ and a POLL_REGMEM that waits for the ACK bit (no retry limit, as the kernel's). */
static void sdma_emit_vm_flush(struct amdgpu_ring *ring, unsigned vmid, uint64_t pd_base, uint32_t context_cntl)
{
	uint32_t eng = AMDGPU_SDMA_INV_ENG(ring->me);
	/* sdma_v4_0_ring_emit_pipeline_sync: the ring's earlier jobs finish before the tables change. */
	uint64_t fence_addr = ring->wb_gpu + AMDGPU_WB_FENCE;
	amdgpu_ring_write(ring, SDMA_OP_POLL_REGMEM | SDMA_POLL_FUNC_EQ | SDMA_POLL_MEM);
	amdgpu_ring_write(ring, (uint32_t)fence_addr & ~3u);
	amdgpu_ring_write(ring, (uint32_t)(fence_addr >> 32));
	amdgpu_ring_write(ring, (uint32_t)ring->fence.sync_seq);
	amdgpu_ring_write(ring, 0xFFFFFFFFu);
	amdgpu_ring_write(ring, SDMA_POLL_RETRY_FOREVER | SDMA_POLL_INTERVAL);
	sdma_emit_wreg(ring, MMHUB_CTX_CNTL(vmid), context_cntl | VM_CONTEXT_CNTL__FAULT_INTERRUPTS);
	sdma_emit_wreg(ring, MMHUB_CTX_PT_BASE(vmid), (uint32_t)pd_base);
	sdma_emit_wreg(ring, MMHUB_CTX_PT_BASE(vmid) + 4, (uint32_t)(pd_base >> 32));
	sdma_emit_wreg(ring, mmMMHUB_VM_INVALIDATE_ENG0_REQ + 4u * eng, INV_REQ(vmid));
	amdgpu_ring_write(ring, SDMA_OP_POLL_REGMEM | SDMA_POLL_FUNC_EQ); /* MEM_POLL 0: a register */
	amdgpu_ring_write(ring, mmMMHUB_VM_INVALIDATE_ENG0_ACK + 4u * eng); /* its byte address */
	amdgpu_ring_write(ring, 0);
	amdgpu_ring_write(ring, 1u << vmid);
	amdgpu_ring_write(ring, 1u << vmid);
	amdgpu_ring_write(ring, SDMA_POLL_RETRY_FOREVER | SDMA_POLL_INTERVAL);
}

/* sdma_v4_0_ring_test_ring: a WRITE_LINEAR of one dword into the writeback page. */
static int sdma_test_ring(struct amdgpu_ring *ring)
{
	*amdgpu_ring_wb32(ring, AMDGPU_WB_TEST) = 0xCAFEDEADu;
	int ret = amdgpu_ring_alloc(ring, 5);
	if (ret)
		return ret;
	uint64_t dst = ring->wb_gpu + AMDGPU_WB_TEST;
	amdgpu_ring_write(ring, SDMA_OP_WRITE);
	amdgpu_ring_write(ring, (uint32_t)dst);
	amdgpu_ring_write(ring, (uint32_t)(dst >> 32));
	amdgpu_ring_write(ring, 0); /* one dword */
	amdgpu_ring_write(ring, RING_TEST_VALUE);
	amdgpu_ring_commit(ring);
	ret = amdgpu_ring_poll_wb(ring, AMDGPU_WB_TEST, RING_TEST_VALUE, TEST_TIMEOUT_NS);
	if (ret)
		log_error("amdgpu: %s: %s ring test: slot has 0x%08x, rptr %llu, wptr %llu", ring->adev->hw->name,
			  ring->name, *amdgpu_ring_wb32(ring, AMDGPU_WB_TEST),
			  (unsigned long long)sdma_get_rptr(ring), (unsigned long long)ring->wptr);
	return ret;
}

/* sdma_v4_0_ring_test_ib: the same write from an IB, padded to 8 dwords. */
static int sdma_test_ib(struct amdgpu_ring *ring)
{
	*amdgpu_ring_wb32(ring, AMDGPU_WB_TEST) = 0;
	volatile uint32_t *ib = amdgpu_ring_wb32(ring, AMDGPU_WB_IB);
	uint64_t dst = ring->wb_gpu + AMDGPU_WB_TEST;
	uint32_t n = 0;
	ib[n++] = SDMA_OP_WRITE;
	ib[n++] = (uint32_t)dst;
	ib[n++] = (uint32_t)(dst >> 32);
	ib[n++] = 0;
	ib[n++] = IB_TEST_VALUE;
	while (n % 8)
		ib[n++] = SDMA_OP_NOP;
	return amdgpu_ring_test_ib_common(ring, n, IB_TEST_VALUE);
}

const struct amdgpu_ring_funcs amdgpu_sdma_ring_funcs = {
	.name_fmt = "sdma%u",
	.type = AMDGPU_HW_IP_DMA,
	.align_mask = 0x7,
	.nop = SDMA_OP_NOP,
	.ring_size = AMDGPU_SDMA_RING_SIZE,
	.emit_ib_size = 7 + 6,
	.emit_fence_size = 6,
	.emit_vm_flush_size = 6 + 4 * 3 + 6,
	.hw_start = sdma_hw_start,
	.hw_stop = sdma_hw_stop,
	.hw_reset = sdma_hw_reset,
	.get_rptr = sdma_get_rptr,
	.set_wptr = sdma_set_wptr,
	.emit_ib = sdma_emit_ib,
	.emit_fence = sdma_emit_fence,
	.emit_vm_flush = sdma_emit_vm_flush,
	.test_ring = sdma_test_ring,
	.test_ib = sdma_test_ib,
};

int amdgpu_sdma_init(struct amdgpu_device *adev)
{
	int first_err = 0;
	for (unsigned i = 0; i < AMDGPU_NUM_SDMA; i++) {
		int ret = amdgpu_ring_init(adev, &adev->sdma_ring[i], &amdgpu_sdma_ring_funcs, i);
		if (ret) {
			log_warn("amdgpu: %s: SDMA%u not started (%d)", adev->hw->name, i, ret);
			if (!first_err)
				first_err = ret;
		}
	}
	return first_err;
}

void amdgpu_sdma_fini(struct amdgpu_device *adev)
{
	for (unsigned i = 0; i < AMDGPU_NUM_SDMA; i++)
		amdgpu_ring_fini(&adev->sdma_ring[i]);
}
