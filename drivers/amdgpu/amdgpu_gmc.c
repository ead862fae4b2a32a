/*
 * GPU memory controller, MMHUB side, VMID0: where VRAM sits in the GPU's
 * address space (the FB aperture) and the GART, a flat table of PTEs in
 * system memory through which the display engine and the IH reach buffers
 * in host memory. As gmc_v9/mmhub_v1_0 program it for the kernel's own use.
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

static void program_apertures(struct amdgpu_device *adev)
{
	uint64_t fb_end = adev->vram_start + adev->vram_size - 1;
	amdgpu_wreg(adev, mmMMHUB_MC_VM_FB_LOCATION_BASE, (uint32_t)(adev->vram_start >> 24));
	amdgpu_wreg(adev, mmMMHUB_MC_VM_FB_LOCATION_TOP, (uint32_t)(fb_end >> 24));
	amdgpu_wreg(adev, mmMMHUB_MC_VM_FB_OFFSET, 0); /* dGPU: VRAM starts at physical 0 */
	/* No AGP aperture: bottom above top. */
	amdgpu_wreg(adev, mmMMHUB_MC_VM_AGP_BASE, 0);
	amdgpu_wreg(adev, mmMMHUB_MC_VM_AGP_BOT, 0xFFFFFF);
	amdgpu_wreg(adev, mmMMHUB_MC_VM_AGP_TOP, 0);
	/* The system aperture spans VRAM; physical accesses outside it fault. */
	amdgpu_wreg(adev, mmMMHUB_MC_VM_SYSTEM_APERTURE_LOW_ADDR, (uint32_t)(adev->vram_start >> 18));
	amdgpu_wreg(adev, mmMMHUB_MC_VM_SYSTEM_APERTURE_HIGH_ADDR, (uint32_t)(fb_end >> 18));
}

static void program_gart(struct amdgpu_device *adev)
{
	struct amdgpu_gart *g = &adev->gart;
	uint64_t start = g->start >> 12, end = start + g->num_pages - 1;
	/* The table lives in host memory: a PDE-formatted base with VALID and SYSTEM. */
	uint64_t base = g->table.bus_addr | AMDGPU_PTE_VALID | AMDGPU_PTE_SYSTEM;
	amdgpu_wreg(adev, mmMMHUB_VM_CONTEXT0_PAGE_TABLE_START_ADDR_LO32, (uint32_t)start);
	amdgpu_wreg(adev, mmMMHUB_VM_CONTEXT0_PAGE_TABLE_START_ADDR_HI32, (uint32_t)(start >> 32));
	amdgpu_wreg(adev, mmMMHUB_VM_CONTEXT0_PAGE_TABLE_END_ADDR_LO32, (uint32_t)end);
	amdgpu_wreg(adev, mmMMHUB_VM_CONTEXT0_PAGE_TABLE_END_ADDR_HI32, (uint32_t)(end >> 32));
	amdgpu_wreg(adev, mmMMHUB_VM_CONTEXT0_PAGE_TABLE_BASE_ADDR_LO32, (uint32_t)base);
	amdgpu_wreg(adev, mmMMHUB_VM_CONTEXT0_PAGE_TABLE_BASE_ADDR_HI32, (uint32_t)(base >> 32));
	amdgpu_wreg(adev, mmMMHUB_VM_CONTEXT0_CNTL, 1u); /* enabled, depth 0 (flat) */
}

int amdgpu_gmc_flush_tlb(struct amdgpu_device *adev)
{
	uint32_t req = mmMMHUB_VM_INVALIDATE_ENG0_REQ + 4 * AMDGPU_GART_INV_ENG;
	uint32_t ack = mmMMHUB_VM_INVALIDATE_ENG0_ACK + 4 * AMDGPU_GART_INV_ENG;
	amdgpu_wreg(adev, req, INV_REQ_VMID0 | INV_REQ_ALL_LEVELS);
	for (int i = 0; i < INV_TIMEOUT_READS; i++)
		if (amdgpu_rreg(adev, ack) & INV_REQ_VMID0)
			return 0;
	log_error("amdgpu: %s: MMHUB TLB invalidation not acknowledged", adev->hw->name);
	return -ETIMEDOUT;
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
	program_apertures(adev);

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
	program_gart(adev);
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
		amdgpu_wreg(adev, mmMMHUB_VM_CONTEXT0_CNTL, 0);
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
