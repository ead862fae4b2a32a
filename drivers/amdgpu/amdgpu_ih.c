/*
 * The IH ring (vega10_ih, ring 0): the GPU writes 32-byte interrupt vectors
 * into a ring in host memory, writes its WPTR back, then raises the MSI. The
 * handler reads the written-back WPTR, decodes the entries between RPTR and
 * it, dispatches them by (client, source), and returns RPTR.
 */
#include <errno.h>
#include <string.h>

#include "amdgpu.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/log.h"

int amdgpu_ih_init(struct amdgpu_device *adev)
{
	struct amdgpu_ih *ih = &adev->ih;
	struct hw_device *hw = adev->hw;
	if (ih->ready)
		return 0;
	int ret = hw->ops->dma_alloc(hw, AMDGPU_IH_RING_SIZE, &ih->ring);
	if (ret)
		return ret;
	ret = hw->ops->dma_alloc(hw, 4096, &ih->wb);
	if (ret) {
		hw->ops->dma_free(hw, &ih->ring);
		return ret;
	}
	memset(ih->ring.cpu, 0, ih->ring.size);
	memset(ih->wb.cpu, 0, ih->wb.size);
	ih->rptr = 0;

	unsigned log2_dw = 0;
	while ((4u << log2_dw) < AMDGPU_IH_RING_SIZE)
		log2_dw++;
	amdgpu_wreg(adev, mmIH_RB_CNTL, 0);
	amdgpu_wreg(adev, mmIH_RB_BASE, (uint32_t)(ih->ring.bus_addr >> 8));
	amdgpu_wreg(adev, mmIH_RB_BASE_HI, (uint32_t)(ih->ring.bus_addr >> 40) & 0xFFu);
	amdgpu_wreg(adev, mmIH_RB_WPTR_ADDR_LO, (uint32_t)ih->wb.bus_addr);
	amdgpu_wreg(adev, mmIH_RB_WPTR_ADDR_HI, (uint32_t)(ih->wb.bus_addr >> 32) & 0xFFFFu);
	amdgpu_wreg(adev, mmIH_RB_RPTR, 0);
	amdgpu_wreg(adev, mmIH_RB_WPTR, 0);
	/* Bus addresses (MC_SPACE 1): the ring and the write-back are host memory, not behind the GART. */
	amdgpu_wreg(adev, mmIH_RB_CNTL,
		    IH_RB_CNTL__RB_ENABLE | log2_dw << IH_RB_CNTL__RB_SIZE__SHIFT | IH_RB_CNTL__WPTR_WRITEBACK_ENABLE |
			    IH_RB_CNTL__WPTR_OVERFLOW_ENABLE | IH_RB_CNTL__ENABLE_INTR |
			    1u << IH_RB_CNTL__MC_SPACE__SHIFT);
	ih->ready = true;
	return 0;
}

void amdgpu_ih_fini(struct amdgpu_device *adev)
{
	struct amdgpu_ih *ih = &adev->ih;
	if (ih->ready)
		amdgpu_wreg(adev, mmIH_RB_CNTL, 0);
	if (ih->ring.cpu)
		adev->hw->ops->dma_free(adev->hw, &ih->ring);
	if (ih->wb.cpu)
		adev->hw->ops->dma_free(adev->hw, &ih->wb);
	memset(ih, 0, sizeof(*ih));
}

static void decode(const volatile uint32_t *dw, struct amdgpu_iv_entry *e)
{
	e->client_id = (uint8_t)dw[0];
	e->src_id = (uint8_t)(dw[0] >> 8);
	e->ring_id = (uint8_t)(dw[0] >> 16);
	e->vmid = (uint8_t)((dw[0] >> 24) & 0xF);
	e->timestamp = dw[1] | (uint64_t)(dw[2] & 0xFFFF) << 32;
	e->pasid = (uint16_t)dw[3];
	for (int i = 0; i < 4; i++)
		e->src_data[i] = dw[4 + i];
}

void amdgpu_irq_handler(struct drm_device *dev)
{
	struct amdgpu_device *adev = dev->dev_private;
	if (!adev)
		return;
	struct amdgpu_ih *ih = &adev->ih;
	if (!ih->ready)
		return;
	const uint32_t mask = AMDGPU_IH_RING_SIZE - 1;

	/* The entries are in memory before the write-back that announces them. */
	uint32_t wptr = __atomic_load_n((volatile uint32_t *)ih->wb.cpu, __ATOMIC_ACQUIRE);
	if (wptr & IH_RB_WPTR__RB_OVERFLOW) {
		/* The ring wrapped over unread entries: the oldest one left is just after WPTR. */
		log_warn("amdgpu: %s: IH ring overflow (wptr 0x%08x, rptr 0x%08x)", adev->hw->name, wptr, ih->rptr);
		ih->rptr = ((wptr & ~IH_RB_WPTR__RB_OVERFLOW) + AMDGPU_IH_ENTRY_SIZE) & mask;
		amdgpu_wreg(adev, mmIH_RB_CNTL, amdgpu_rreg(adev, mmIH_RB_CNTL) | IH_RB_CNTL__WPTR_OVERFLOW_CLEAR);
	}
	wptr &= mask & ~(AMDGPU_IH_ENTRY_SIZE - 1);

	while (ih->rptr != wptr) {
		struct amdgpu_iv_entry e;
		decode((const volatile uint32_t *)((uint8_t *)ih->ring.cpu + ih->rptr), &e);
		ih->rptr = (ih->rptr + AMDGPU_IH_ENTRY_SIZE) & mask;
		bool handled = false;
		struct amdgpu_ring *ring;
		if (e.client_id == SOC15_IH_CLIENTID_DCE) {
			handled = amdgpu_display_irq(dev, &e);
		} else if ((ring = amdgpu_ring_of_iv(adev, &e))) {
			/* As amdgpu_fence_process: the seqno comes from the fence memory, not from the vector. */
			amdgpu_fence_irq(ring);
			handled = true;
		} else {
			handled = amdgpu_gmc_fault_irq(adev, &e);
		}
		if (!handled)
			log_debug("amdgpu: unhandled interrupt client %u src %u", e.client_id, e.src_id);
	}
	amdgpu_wreg(adev, mmIH_RB_RPTR, ih->rptr);
}
