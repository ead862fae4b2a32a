/*
 * The VRAM heap: which ranges of the device's local memory are taken. Every
 * allocation is contiguous (the hw backend backs one range per object).
 * Placement follows the kernel's for visible VRAM: objects the CPU must reach
 * stay below the BAR's end; the others are placed top-down so the visible
 * window stays free for those that need it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "amdgpu.h"

struct amdgpu_vram_range {
	uint64_t start, end; /* [start, end) */
};

struct amdgpu_vram_mgr {
	uint64_t size;
	struct amdgpu_vram_range *used; /* sorted by start, never overlapping */
	size_t n, cap;
};

int amdgpu_vram_mgr_init(struct amdgpu_device *adev, uint64_t size)
{
	adev->vram_mgr = calloc(1, sizeof(*adev->vram_mgr));
	if (!adev->vram_mgr)
		return -ENOMEM;
	adev->vram_mgr->size = size;
	return 0;
}

void amdgpu_vram_mgr_fini(struct amdgpu_device *adev)
{
	if (adev->vram_mgr)
		free(adev->vram_mgr->used);
	free(adev->vram_mgr);
	adev->vram_mgr = NULL;
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v / a * a;
}

/* Places size bytes at an align-aligned place inside the gap [lo, hi), bottom-up or top-down. */
static bool fit(uint64_t lo, uint64_t hi, uint64_t size, uint64_t align, bool topdown, uint64_t *at)
{
	if (hi <= lo || hi - lo < size)
		return false;
	if (topdown) {
		uint64_t s = align_down(hi - size, align);
		if (s < lo)
			return false;
		*at = s;
		return true;
	}
	uint64_t s = (lo + align - 1) / align * align;
	if (s < lo || s > hi || hi - s < size)
		return false;
	*at = s;
	return true;
}

int amdgpu_vram_alloc(struct amdgpu_device *adev, uint64_t size, uint64_t align, uint64_t limit, bool topdown,
		      uint64_t *offset)
{
	struct amdgpu_vram_mgr *mgr = adev->vram_mgr;
	if (!mgr || !size || size % AMDGPU_GPU_PAGE_SIZE)
		return -EINVAL;
	if (align < AMDGPU_GPU_PAGE_SIZE)
		align = AMDGPU_GPU_PAGE_SIZE;
	if (align & (align - 1))
		return -EINVAL;
	if (limit > mgr->size)
		limit = mgr->size;
	if (mgr->n == mgr->cap) {
		size_t cap = mgr->cap ? mgr->cap * 2 : 64;
		struct amdgpu_vram_range *p = realloc(mgr->used, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		mgr->used = p;
		mgr->cap = cap;
	}
	/* Gap i lies before used[i] (gap n: after the last). */
	uint64_t at = 0;
	size_t slot = 0;
	bool found = false;
	for (size_t k = 0; k <= mgr->n && !found; k++) {
		size_t i = topdown ? mgr->n - k : k;
		uint64_t lo = i ? mgr->used[i - 1].end : 0;
		uint64_t hi = i < mgr->n ? mgr->used[i].start : mgr->size;
		if (hi > limit)
			hi = limit;
		if (fit(lo, hi, size, align, topdown, &at)) {
			found = true;
			slot = i;
		}
	}
	if (!found)
		return -ENOMEM;
	memmove(&mgr->used[slot + 1], &mgr->used[slot], (mgr->n - slot) * sizeof(*mgr->used));
	mgr->used[slot] = (struct amdgpu_vram_range){at, at + size};
	mgr->n++;
	*offset = at;
	return 0;
}

void amdgpu_vram_free(struct amdgpu_device *adev, uint64_t offset)
{
	struct amdgpu_vram_mgr *mgr = adev->vram_mgr;
	for (size_t i = 0; mgr && i < mgr->n; i++) {
		if (mgr->used[i].start == offset) {
			memmove(&mgr->used[i], &mgr->used[i + 1], (mgr->n - i - 1) * sizeof(*mgr->used));
			mgr->n--;
			return;
		}
	}
}

size_t amdgpu_vram_mgr_count(const struct amdgpu_device *adev)
{
	return adev->vram_mgr ? adev->vram_mgr->n : 0;
}
