/* i915 backend: private device state and the registers it programs. */
#ifndef REDOX_DRM_I915_H
#define REDOX_DRM_I915_H

#include <stdint.h>

struct hw_device;

enum { I915_BAR_GTTMMADR = 0, I915_BAR_GMADR = 2 };
#define I915_GTTMMADR_MIN_SIZE (16u << 20)
#define I915_GGTT_OFFSET (8u << 20) /* PTEs start half way into BAR0 on gen8+ */

/* PCI config: GMCH control. GGMS [7:6]: log2 of the GGTT's PTE space in MiB. */
#define I915_CFG_GGC 0x50u

/* Byte offsets in BAR0. */
#define FORCEWAKE_RENDER_GEN9 0xA278u
#define FORCEWAKE_ACK_RENDER_GEN9 0x0D84u
#define FORCEWAKE_KERNEL 0x1u
#define GEN8_FUSE2 0x9120u
#define GEN8_F2_S_ENA_SHIFT 25
#define GEN8_F2_S_ENA_MASK 0x7u
#define GEN9_F2_SS_DIS_SHIFT 20
#define GEN9_F2_SS_DIS_MASK 0xFu
#define GEN9_EU_DISABLE(s) (0x9134u + 4u * (s))

#define MASKED_BIT_ENABLE(b) (((b) << 16) | (b))
#define MASKED_BIT_DISABLE(b) ((b) << 16)

/* Gen9 topology limits. */
#define GEN9_MAX_SLICES 3
#define GEN9_MAX_SUBSLICES 4
#define GEN9_MAX_EUS_PER_SUBSLICE 8

struct i915_device {
	struct hw_device *hw;
	uint64_t ggtt_size;  /* bytes of graphics address space the GGTT maps */
	uint32_t slice_mask;
	uint32_t subslice_mask; /* per slice; gen9 fuses disable the same subslices in every slice */
	uint32_t slice_total, subslice_total, eu_total;
	uint32_t eu_per_subslice; /* the most EUs any enabled subslice has */
};

#endif
