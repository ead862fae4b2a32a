/*
 * The global GTT: a range allocator over the graphics address space and the
 * PTEs (64-bit, bus address | flags, at BAR0 + 8 MiB) that back it. The
 * display maps framebuffers here for scanout; engines will map rings and
 * contexts the same way.
 */
#include <errno.h>
#include <stdlib.h>

#include "i915.h"
#include "redox-drm/hw.h"

#define GGTT_PAGE 4096ull
/* Kept unallocated: offset 0 never names a buffer, so a zero surface register shows nothing. */
#define GGTT_RESERVED_START (256ull << 10)

void i915_ggtt_init(struct i915_device *i915)
{
	i915->ggtt.start = GGTT_RESERVED_START;
	i915->ggtt.end = i915->ggtt_size;
	i915->ggtt.used = NULL;
}

void i915_ggtt_fini(struct i915_device *i915)
{
	while (i915->ggtt.used) {
		struct i915_ggtt_range *r = i915->ggtt.used;
		i915->ggtt.used = r->next;
		free(r);
	}
}

int i915_ggtt_alloc(struct i915_device *i915, uint64_t size, uint64_t align, uint64_t *offset)
{
	struct i915_ggtt *g = &i915->ggtt;
	if (!size || size > g->end || (align & (align - 1)))
		return -EINVAL;
	if (align < GGTT_PAGE)
		align = GGTT_PAGE;
	size = (size + GGTT_PAGE - 1) & ~(GGTT_PAGE - 1);
	uint64_t need = size + GGTT_PAGE; /* the guard page */

	/* First fit between the sorted ranges. */
	uint64_t cursor = g->start;
	struct i915_ggtt_range **link = &g->used;
	for (;; link = &(*link)->next) {
		uint64_t at = (cursor + align - 1) & ~(align - 1);
		uint64_t limit = *link ? (*link)->start : g->end;
		if (at >= cursor && at <= limit && need <= limit - at) {
			struct i915_ggtt_range *r = malloc(sizeof(*r));
			if (!r)
				return -ENOMEM;
			*r = (struct i915_ggtt_range){.start = at, .size = need, .next = *link};
			*link = r;
			*offset = at;
			return 0;
		}
		if (!*link)
			return -ENOSPC;
		cursor = (*link)->start + (*link)->size;
	}
}

void i915_ggtt_free(struct i915_device *i915, uint64_t offset)
{
	for (struct i915_ggtt_range **link = &i915->ggtt.used; *link; link = &(*link)->next) {
		if ((*link)->start == offset) {
			struct i915_ggtt_range *r = *link;
			*link = r->next;
			free(r);
			return;
		}
	}
}

static void flush(struct hw_device *hw)
{
	/* PTE writes are posted; the flush register makes the GGTT use the new ones. */
	hw_write32(hw, I915_BAR_GTTMMADR, GFX_FLSH_CNTL_GEN6, GFX_FLSH_CNTL_EN);
	(void)hw_read32(hw, I915_BAR_GTTMMADR, GFX_FLSH_CNTL_GEN6);
}

void i915_ggtt_map(struct i915_device *i915, uint64_t offset, uint64_t bus_addr, uint64_t size, uint64_t flags)
{
	for (uint64_t off = 0; off < size; off += GGTT_PAGE)
		hw_write64(i915->hw, I915_BAR_GTTMMADR, I915_GGTT_OFFSET + (offset + off) / GGTT_PAGE * 8,
			   (bus_addr + off) | flags | I915_GGTT_PTE_PRESENT);
	flush(i915->hw);
}

void i915_ggtt_unmap(struct i915_device *i915, uint64_t offset, uint64_t size)
{
	for (uint64_t off = 0; off < size; off += GGTT_PAGE)
		hw_write64(i915->hw, I915_BAR_GTTMMADR, I915_GGTT_OFFSET + (offset + off) / GGTT_PAGE * 8, 0);
	flush(i915->hw);
}
