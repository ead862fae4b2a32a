/*
 * i915 backend: the driver description and device bring-up. Everything here
 * reaches the GPU through hw ops only.
 */
#include <errno.h>
#include <stdlib.h>

#include "i915.h"
#include "i915_uapi.h"
#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/hw.h"
#include "redox-drm/kms.h"
#include "redox-drm/log.h"

/*
 * How many ack reads before forcewake is declared dead. A read costs about a
 * microsecond on real hardware, so this is ~10 ms, in the range the kernel
 * waits (it uses a time bound; a count keeps the model tests deterministic).
 */
#define I915_FW_ACK_MAX_READS 10000

static const struct {
	uint16_t vendor, device;
} i915_pci_ids[] = {
	{0x8086, 0x1912}, /* Skylake GT2 desktop (HD Graphics 530) */
};

static bool i915_match(const struct hw_pci_id *id)
{
	for (size_t i = 0; i < sizeof(i915_pci_ids) / sizeof(i915_pci_ids[0]); i++)
		if (id->vendor == i915_pci_ids[i].vendor && id->device == i915_pci_ids[i].device)
			return true;
	return false;
}

static int fw_wait_ack(struct hw_device *hw, bool set)
{
	for (int i = 0; i < I915_FW_ACK_MAX_READS; i++) {
		uint32_t ack = hw_read32(hw, I915_BAR_GTTMMADR, FORCEWAKE_ACK_RENDER_GEN9);
		if (ack == 0xFFFFFFFFu)
			return -ENODEV; /* all-ones: nobody answers on the bus */
		if (!!(ack & FORCEWAKE_KERNEL) == set)
			return 0;
	}
	return -ETIMEDOUT;
}

/* As the kernel: the previous release must have been acked before a new request. */
int i915_forcewake_get(struct hw_device *hw)
{
	int ret = fw_wait_ack(hw, false);
	if (ret) {
		log_error("i915: %s: render forcewake ack stuck before request (%d)", hw->name, ret);
		return ret;
	}
	hw_write32(hw, I915_BAR_GTTMMADR, FORCEWAKE_RENDER_GEN9, MASKED_BIT_ENABLE(FORCEWAKE_KERNEL));
	ret = fw_wait_ack(hw, true);
	if (ret) {
		log_error("i915: %s: render forcewake not acked (%d)", hw->name, ret);
		/* Withdraw the request so the GT is not left half-woken. */
		hw_write32(hw, I915_BAR_GTTMMADR, FORCEWAKE_RENDER_GEN9, MASKED_BIT_DISABLE(FORCEWAKE_KERNEL));
	}
	return ret;
}

int i915_forcewake_put(struct hw_device *hw)
{
	hw_write32(hw, I915_BAR_GTTMMADR, FORCEWAKE_RENDER_GEN9, MASKED_BIT_DISABLE(FORCEWAKE_KERNEL));
	int ret = fw_wait_ack(hw, false);
	if (ret)
		log_error("i915: %s: render forcewake release not acked (%d)", hw->name, ret);
	return ret;
}

static unsigned popcount32(uint32_t v)
{
	return (unsigned)__builtin_popcount(v);
}

/* Reads the fuses (forcewake held) into the topology fields; -ENODEV if they make no sense. */
static int read_topology(struct hw_device *hw, struct i915_device *i915)
{
	uint32_t fuse2 = hw_read32(hw, I915_BAR_GTTMMADR, GEN8_FUSE2);
	if (fuse2 == 0xFFFFFFFFu) {
		log_error("i915: %s: FUSE2 reads all-ones: device not responding", hw->name);
		return -ENODEV;
	}

	i915->slice_mask = (fuse2 >> GEN8_F2_S_ENA_SHIFT) & GEN8_F2_S_ENA_MASK;
	uint32_t ss_disable = (fuse2 >> GEN9_F2_SS_DIS_SHIFT) & GEN9_F2_SS_DIS_MASK;
	i915->subslice_mask = ~ss_disable & ((1u << GEN9_MAX_SUBSLICES) - 1);
	i915->slice_total = popcount32(i915->slice_mask);
	i915->subslice_total = 0;
	i915->eu_total = 0;
	i915->eu_per_subslice = 0;

	if (!i915->slice_mask || !i915->subslice_mask) {
		log_error("i915: %s: FUSE2 0x%08x enables no slice or no subslice", hw->name, fuse2);
		return -ENODEV;
	}

	for (unsigned s = 0; s < GEN9_MAX_SLICES; s++) {
		if (!(i915->slice_mask & (1u << s)))
			continue;
		uint32_t eu_disable = hw_read32(hw, I915_BAR_GTTMMADR, GEN9_EU_DISABLE(s));
		for (unsigned ss = 0; ss < GEN9_MAX_SUBSLICES; ss++) {
			if (!(i915->subslice_mask & (1u << ss)))
				continue;
			uint32_t off = (eu_disable >> (ss * 8)) & 0xFFu;
			unsigned eus = GEN9_MAX_EUS_PER_SUBSLICE - popcount32(off);
			if (eus == 0) {
				log_error("i915: %s: slice %u subslice %u is enabled but has every EU fused off "
					  "(EU_DISABLE 0x%08x)", hw->name, s, ss, eu_disable);
				return -ENODEV;
			}
			i915->eu_mask[s][ss] = (uint8_t)~off;
			i915->subslice_total++;
			i915->eu_total += eus;
			if (eus > i915->eu_per_subslice)
				i915->eu_per_subslice = eus;
		}
	}

	/* Fuses are burnt in: a second read that differs means the reads are not to be trusted. */
	uint32_t again = hw_read32(hw, I915_BAR_GTTMMADR, GEN8_FUSE2);
	if (again != fuse2) {
		log_error("i915: %s: FUSE2 changed between reads (0x%08x, 0x%08x)", hw->name, fuse2, again);
		return -ENODEV;
	}
	return 0;
}

/* GGTT size from GGMS; the PTEs must fit in BAR0 after the register half. */
static int read_ggtt_size(struct hw_device *hw, uint64_t *size)
{
	uint16_t ggc = 0;
	if (!hw->ops->config_read || hw->ops->config_read(hw, I915_CFG_GGC, &ggc, sizeof(ggc)) < 0)
		return -ENODEV;
	unsigned ggms = (ggc >> 6) & 3;
	if (!ggms)
		return -ENODEV;
	uint64_t pte_bytes = (uint64_t)1 << (20 + ggms);
	if (I915_GGTT_OFFSET + pte_bytes > hw->bars[I915_BAR_GTTMMADR].size)
		return -ENODEV;
	*size = pte_bytes / 8 * 4096;
	return 0;
}

static int i915_load(struct drm_device *dev)
{
	struct hw_device *hw = dev->hw;
	const struct hw_bar *bar0 = &hw->bars[I915_BAR_GTTMMADR];

	/* GTTMMADR is a non-prefetchable memory BAR: registers have side effects. */
	if (bar0->size < I915_GTTMMADR_MIN_SIZE || bar0->io || bar0->prefetchable) {
		log_error("i915: %s: BAR0 is not a GTTMMADR (size %llu)", hw->name, (unsigned long long)bar0->size);
		return -ENODEV;
	}

	struct i915_device *i915 = calloc(1, sizeof(*i915));
	if (!i915)
		return -ENOMEM;
	i915->hw = hw;
	i915->drm = dev;

	int ret = read_ggtt_size(hw, &i915->ggtt_size);
	if (ret) {
		log_error("i915: %s: no usable GGTT size in GMCH control", hw->name);
		goto fail;
	}

	i915_ggtt_init(i915);

	ret = i915_forcewake_get(hw);
	if (ret)
		goto fail;
	ret = read_topology(hw, i915);
	int put = i915_forcewake_put(hw);
	if (!ret)
		ret = put;
	if (ret)
		goto fail;

	ret = i915_engines_init(dev, i915);
	if (ret) {
		log_error("i915: %s: engines failed to come up (%d)", hw->name, ret);
		goto fail;
	}

	ret = i915_exec_init(dev, i915);
	if (ret) {
		i915_engines_fini(i915);
		goto fail;
	}

	dev->dev_private = i915;
	log_info("i915: %s: Skylake GT2 rev 0x%02x, %u slice(s), %u subslices, %u EUs, GGTT %llu MiB", hw->name,
		 hw->pci.revision, i915->slice_total, i915->subslice_total, i915->eu_total,
		 (unsigned long long)(i915->ggtt_size >> 20));
	return 0;

fail:
	i915_ggtt_fini(i915);
	free(i915);
	return ret;
}

static void i915_unload(struct drm_device *dev)
{
	struct i915_device *i915 = dev->dev_private;
	if (i915) {
		i915_exec_fini(i915);
		i915_engines_fini(i915);
		i915_ggtt_fini(i915);
	}
	free(i915);
	dev->dev_private = NULL;
}

/*
 * GEN8_MASTER_IRQ: the master enable goes off while the banks it names are
 * served (each IIR read, then cleared by writing the bits back) and on again
 * after, which re-sends the interrupt if anything latched meanwhile. GT bank 0
 * carries RCS [15:0] and BCS [31:16]; the display's banks go to the display.
 */
static void i915_irq_handler(struct drm_device *dev)
{
	struct i915_device *i915 = dev->dev_private;
	if (!i915)
		return;
	uint32_t master = hw_read32(i915->hw, I915_BAR_GTTMMADR, GEN8_MASTER_IRQ);
	if (master == 0xFFFFFFFFu || !(master & ~GEN8_MASTER_IRQ_CONTROL))
		return; /* gone from the bus, or nothing pending */
	hw_write32(i915->hw, I915_BAR_GTTMMADR, GEN8_MASTER_IRQ, 0);
	if (master & (GEN8_GT_IRQ_RCS | GEN8_GT_IRQ_BCS)) {
		uint32_t iir = hw_read32(i915->hw, I915_BAR_GTTMMADR, GEN8_GT_IIR(0));
		if (iir && iir != 0xFFFFFFFFu) {
			hw_write32(i915->hw, I915_BAR_GTTMMADR, GEN8_GT_IIR(0), iir);
			for (unsigned id = 0; id < I915_NUM_ENGINES; id++) {
				struct i915_engine *e = &i915->engine[id];
				uint32_t bits = (iir >> e->irq_shift) & 0xFFFFu;
				if (bits && e->up)
					i915_engine_gt_irq(e, bits);
			}
		}
	}
	if (i915->display_irq)
		i915->display_irq(dev, master);
	hw_write32(i915->hw, I915_BAR_GTTMMADR, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
}

const struct drm_driver i915_driver = {
	.name = "i915",
	.desc = "Intel Graphics",
	.date = "20201103",
	.major = 1,
	.minor = 6,
	.patchlevel = 0,
	.features = DRIVER_GEM | DRIVER_RENDER | DRIVER_MODESET | DRIVER_ATOMIC | DRIVER_PRIME |
		    DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE,
	.match = i915_match,
	.load = i915_load,
	.unload = i915_unload,
	/* GT (engines) and display (DE pipes, south display) interrupts. */
	.irq_handler = i915_irq_handler,
	.open = i915_driver_open,
	.postclose = i915_driver_postclose,
	.gem_close_object = i915_gem_close_object,
	.ioctls = i915_ioctls,
	.num_ioctls = I915_NUM_IOCTLS,
	.kms = &i915_kms_funcs,
	.tree_files = i915_tree_files,
	.num_tree_files = I915_NUM_TREE_FILES,
};
