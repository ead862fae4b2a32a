/*
 * GPU memory controller, VMID0 on both hubs (MMHUB and GFXHUB): where VRAM
 * sits in the GPU's address space (the FB aperture) and the GART, a flat
 * table of PTEs in system memory through which the display engine, the IH
 * and the CP reach buffers in host memory. As gmc_v9, mmhub_v1_0 and
 * gfxhub_v1_0 program it for the kernel's own use.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "amdgpu.h"
#include "redox-drm/log.h"

#define INV_REQ_VMID0 (1u << 0)
/* INVALIDATE_L2_PTES, _L2_PDE0/1/2, _L1_PTES [22:18]; FLUSH_TYPE 0 (legacy). */
#define INV_REQ_ALL_LEVELS (0x1Fu << 18)
#define INV_TIMEOUT_READS 100000

/*
 * The two hubs have the same VMID0 registers at different offsets. The kernel
 * gives both the same view (one FB aperture, one GART table) so that a GART
 * address means the same to the CP (GFXHUB) as to the display, IH and SDMA
 * (MMHUB); one table of offsets keeps the two from drifting apart.
 */
struct vmid0_hub {
	const char *name;
	uint32_t cntl, inv_req, inv_ack, pt_base, pt_start, pt_end;
	uint32_t fb_offset, fb_base, fb_top, agp_top, agp_bot, agp_base, sys_low, sys_high;
};

static const struct vmid0_hub vmid0_hubs[] = {
	{"MMHUB", mmMMHUB_VM_CONTEXT0_CNTL, mmMMHUB_VM_INVALIDATE_ENG0_REQ, mmMMHUB_VM_INVALIDATE_ENG0_ACK,
	 mmMMHUB_VM_CONTEXT0_PAGE_TABLE_BASE_ADDR_LO32, mmMMHUB_VM_CONTEXT0_PAGE_TABLE_START_ADDR_LO32,
	 mmMMHUB_VM_CONTEXT0_PAGE_TABLE_END_ADDR_LO32, mmMMHUB_MC_VM_FB_OFFSET, mmMMHUB_MC_VM_FB_LOCATION_BASE,
	 mmMMHUB_MC_VM_FB_LOCATION_TOP, mmMMHUB_MC_VM_AGP_TOP, mmMMHUB_MC_VM_AGP_BOT, mmMMHUB_MC_VM_AGP_BASE,
	 mmMMHUB_MC_VM_SYSTEM_APERTURE_LOW_ADDR, mmMMHUB_MC_VM_SYSTEM_APERTURE_HIGH_ADDR},
	{"GFXHUB", mmGFXHUB_VM_CONTEXT0_CNTL, mmGFXHUB_VM_INVALIDATE_ENG0_REQ, mmGFXHUB_VM_INVALIDATE_ENG0_ACK,
	 mmGFXHUB_VM_CONTEXT0_PAGE_TABLE_BASE_ADDR_LO32, mmGFXHUB_VM_CONTEXT0_PAGE_TABLE_START_ADDR_LO32,
	 mmGFXHUB_VM_CONTEXT0_PAGE_TABLE_END_ADDR_LO32, mmGFXHUB_MC_VM_FB_OFFSET, mmGFXHUB_MC_VM_FB_LOCATION_BASE,
	 mmGFXHUB_MC_VM_FB_LOCATION_TOP, mmGFXHUB_MC_VM_AGP_TOP, mmGFXHUB_MC_VM_AGP_BOT, mmGFXHUB_MC_VM_AGP_BASE,
	 mmGFXHUB_MC_VM_SYSTEM_APERTURE_LOW_ADDR, mmGFXHUB_MC_VM_SYSTEM_APERTURE_HIGH_ADDR},
};
#define NUM_HUBS (sizeof(vmid0_hubs) / sizeof(vmid0_hubs[0]))

static void program_apertures(struct amdgpu_device *adev, const struct vmid0_hub *h)
{
	uint64_t fb_end = adev->vram_start + adev->vram_size - 1;
	amdgpu_wreg(adev, h->fb_base, (uint32_t)(adev->vram_start >> 24));
	amdgpu_wreg(adev, h->fb_top, (uint32_t)(fb_end >> 24));
	amdgpu_wreg(adev, h->fb_offset, 0); /* dGPU: VRAM starts at physical 0 */
	/* No AGP aperture: bottom above top. */
	amdgpu_wreg(adev, h->agp_base, 0);
	amdgpu_wreg(adev, h->agp_bot, 0xFFFFFF);
	amdgpu_wreg(adev, h->agp_top, 0);
	/* The system aperture spans VRAM; physical accesses outside it fault. */
	amdgpu_wreg(adev, h->sys_low, (uint32_t)(adev->vram_start >> 18));
	amdgpu_wreg(adev, h->sys_high, (uint32_t)(fb_end >> 18));
}

static void program_gart(struct amdgpu_device *adev, const struct vmid0_hub *h)
{
	struct amdgpu_gart *g = &adev->gart;
	uint64_t start = g->start >> 12, end = start + g->num_pages - 1;
	/* The table lives in host memory: a PDE-formatted base with VALID and SYSTEM. */
	uint64_t base = g->table.bus_addr | AMDGPU_PTE_VALID | AMDGPU_PTE_SYSTEM;
	amdgpu_wreg(adev, h->pt_start, (uint32_t)start);
	amdgpu_wreg(adev, h->pt_start + 4, (uint32_t)(start >> 32));
	amdgpu_wreg(adev, h->pt_end, (uint32_t)end);
	amdgpu_wreg(adev, h->pt_end + 4, (uint32_t)(end >> 32));
	amdgpu_wreg(adev, h->pt_base, (uint32_t)base);
	amdgpu_wreg(adev, h->pt_base + 4, (uint32_t)(base >> 32));
	amdgpu_wreg(adev, h->cntl, 1u); /* enabled, depth 0 (flat) */
}

/* Both hubs cache GART PTEs: a changed entry must be forgotten by each. */
int amdgpu_gmc_flush_tlb(struct amdgpu_device *adev)
{
	int ret = 0;
	for (size_t i = 0; i < NUM_HUBS; i++) {
		const struct vmid0_hub *h = &vmid0_hubs[i];
		uint32_t req = h->inv_req + 4 * AMDGPU_GART_INV_ENG;
		uint32_t ack = h->inv_ack + 4 * AMDGPU_GART_INV_ENG;
		amdgpu_wreg(adev, req, INV_REQ_VMID0 | INV_REQ_ALL_LEVELS);
		int n = 0;
		while (n < INV_TIMEOUT_READS && !(amdgpu_rreg(adev, ack) & INV_REQ_VMID0))
			n++;
		if (n == INV_TIMEOUT_READS) {
			log_error("amdgpu: %s: %s TLB invalidation not acknowledged", adev->hw->name, h->name);
			ret = -ETIMEDOUT;
		}
	}
	return ret;
}

int amdgpu_gmc_init(struct amdgpu_device *adev)
{
	struct amdgpu_gart *g = &adev->gart;
	if (g->ready)
		return 0;
	uint32_t mib = amdgpu_rreg(adev, mmRCC_CONFIG_MEMSIZE);
	if (mib == 0 || mib == 0xFFFFFFFFu)
		return -ENODEV;
	adev->vram_start = AMDGPU_VRAM_START;
	adev->vram_size = (uint64_t)mib << 20;
	for (size_t i = 0; i < NUM_HUBS; i++)
		program_apertures(adev, &vmid0_hubs[i]);

	g->start = AMDGPU_GART_START;
	g->num_pages = (uint32_t)(AMDGPU_GART_SIZE / AMDGPU_GPU_PAGE_SIZE);
	g->used = calloc((g->num_pages + 31) / 32, sizeof(uint32_t));
	if (!g->used)
		return -ENOMEM;
	int ret = adev->hw->ops->dma_alloc(adev->hw, (size_t)g->num_pages * 8, &g->table);
	if (ret) {
		free(g->used);
		g->used = NULL;
		return ret;
	}
	memset(g->table.cpu, 0, g->table.size); /* every page invalid */
	for (size_t i = 0; i < NUM_HUBS; i++)
		program_gart(adev, &vmid0_hubs[i]);
	ret = amdgpu_gmc_flush_tlb(adev);
	if (ret) {
		amdgpu_gmc_fini(adev);
		return ret;
	}
	g->ready = true;
	return 0;
}

void amdgpu_gmc_fini(struct amdgpu_device *adev)
{
	struct amdgpu_gart *g = &adev->gart;
	if (g->table.cpu) {
		for (size_t i = 0; i < NUM_HUBS; i++)
			amdgpu_wreg(adev, vmid0_hubs[i].cntl, 0);
		amdgpu_gmc_flush_tlb(adev);
		adev->hw->ops->dma_free(adev->hw, &g->table);
	}
	free(g->used);
	memset(g, 0, sizeof(*g));
}

static bool page_used(const struct amdgpu_gart *g, uint32_t p)
{
	return g->used[p / 32] & (1u << (p % 32));
}

static void mark(struct amdgpu_gart *g, uint32_t first, uint32_t n, bool used)
{
	for (uint32_t p = first; p < first + n; p++) {
		if (used)
			g->used[p / 32] |= 1u << (p % 32);
		else
			g->used[p / 32] &= ~(1u << (p % 32));
	}
}

int amdgpu_gart_alloc(struct amdgpu_device *adev, uint32_t npages, uint64_t *gpu_addr)
{
	struct amdgpu_gart *g = &adev->gart;
	if (!g->ready || npages == 0 || npages > g->num_pages)
		return -EINVAL;
	/* First fit: scanout buffers are few and long-lived. */
	uint32_t run = 0;
	for (uint32_t p = 0; p < g->num_pages; p++) {
		run = page_used(g, p) ? 0 : run + 1;
		if (run == npages) {
			uint32_t first = p + 1 - npages;
			mark(g, first, npages, true);
			*gpu_addr = g->start + (uint64_t)first * AMDGPU_GPU_PAGE_SIZE;
			return 0;
		}
	}
	return -ENOSPC;
}

static bool range_ok(const struct amdgpu_gart *g, uint64_t gpu_addr, uint32_t npages, uint32_t *first)
{
	if (gpu_addr < g->start || (gpu_addr - g->start) % AMDGPU_GPU_PAGE_SIZE)
		return false;
	uint64_t p = (gpu_addr - g->start) / AMDGPU_GPU_PAGE_SIZE;
	if (p > g->num_pages || npages > g->num_pages - p)
		return false;
	*first = (uint32_t)p;
	return true;
}

void amdgpu_gart_free(struct amdgpu_device *adev, uint64_t gpu_addr, uint32_t npages)
{
	uint32_t first;
	if (adev->gart.ready && range_ok(&adev->gart, gpu_addr, npages, &first))
		mark(&adev->gart, first, npages, false);
}

static int write_ptes(struct amdgpu_device *adev, uint64_t gpu_addr, uint64_t bus_addr, uint32_t npages, bool map)
{
	struct amdgpu_gart *g = &adev->gart;
	uint32_t first;
	if (!g->ready || !range_ok(g, gpu_addr, npages, &first) || (bus_addr % AMDGPU_GPU_PAGE_SIZE))
		return -EINVAL;
	volatile uint64_t *pte = (volatile uint64_t *)g->table.cpu + first;
	const uint64_t flags = AMDGPU_PTE_VALID | AMDGPU_PTE_SYSTEM | AMDGPU_PTE_SNOOPED | AMDGPU_PTE_READABLE |
			       AMDGPU_PTE_WRITEABLE;
	for (uint32_t i = 0; i < npages; i++)
		pte[i] = map ? (bus_addr + (uint64_t)i * AMDGPU_GPU_PAGE_SIZE) | flags : 0;
	/* The PTEs must be in memory before the hub is told to forget what it cached. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return amdgpu_gmc_flush_tlb(adev);
}

int amdgpu_gart_map(struct amdgpu_device *adev, uint64_t gpu_addr, uint64_t bus_addr, uint32_t npages)
{
	return write_ptes(adev, gpu_addr, bus_addr, npages, true);
}

int amdgpu_gart_unmap(struct amdgpu_device *adev, uint64_t gpu_addr, uint32_t npages)
{
	return write_ptes(adev, gpu_addr, 0, npages, false);
}
