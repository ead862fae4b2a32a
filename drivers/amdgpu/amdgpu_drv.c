/*
 * amdgpu backend: the driver description and device bring-up. Everything
 * here reaches the GPU through hw ops only.
 */
#include <errno.h>
#include <stdlib.h>

#include "amdgpu.h"
#include "amdgpu_cs.h"
#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/hw.h"
#include "redox-drm/log.h"

static const struct {
	uint16_t vendor, device;
} amdgpu_pci_ids[] = {
	{0x1002, 0x687F}, /* Vega 10 XL/XT (Radeon RX Vega 56/64) */
};

static bool amdgpu_match(const struct hw_pci_id *id)
{
	for (size_t i = 0; i < sizeof(amdgpu_pci_ids) / sizeof(amdgpu_pci_ids[0]); i++)
		if (id->vendor == amdgpu_pci_ids[i].vendor && id->device == amdgpu_pci_ids[i].device)
			return true;
	return false;
}

static uint32_t field(uint32_t v, unsigned shift, unsigned bits)
{
	return (v >> shift) & ((1u << bits) - 1);
}

/* GFX9 GB_ADDR_CONFIG: NUM_PIPES [2:0], PIPE_INTERLEAVE_SIZE [5:3], MAX_COMPRESSED_FRAGS [7:6],
 * NUM_SHADER_ENGINES [20:19], NUM_RB_PER_SE [27:26]; all log2-encoded. */
static void decode_gb_addr_config(struct amdgpu_device *adev, uint32_t v)
{
	adev->gb_addr_config = v;
	adev->num_pipes = 1u << field(v, 0, 3);
	adev->pipe_interleave_size = 256u << field(v, 3, 3);
	adev->max_compressed_frags = 1u << field(v, 6, 2);
	adev->num_se = 1u << field(v, 19, 2);
	adev->num_rb_per_se = 1u << field(v, 26, 2);
}

/*
 * The MMIO half of the kernel's ring test: a value written to SCRATCH_REG0
 * must read back. Two complementary patterns catch stuck bits either way.
 */
static int scratch_test(struct hw_device *hw)
{
	static const uint32_t patterns[] = {0xCAFEDEADu, ~0xCAFEDEADu};
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		hw_write32(hw, AMDGPU_BAR_MMIO, mmSCRATCH_REG0, patterns[i]);
		uint32_t got = hw_read32(hw, AMDGPU_BAR_MMIO, mmSCRATCH_REG0);
		if (got != patterns[i]) {
			log_error("amdgpu: %s: SCRATCH_REG0 read back 0x%08x after writing 0x%08x", hw->name, got,
				  patterns[i]);
			return -EIO;
		}
	}
	return 0;
}

static void amdgpu_unload(struct drm_device *dev);

/*
 * Identity is the core's match(); load checks that the hardware behind the
 * BARs really is a Vega10 before anything is programmed.
 */
static int amdgpu_load(struct drm_device *dev)
{
	struct hw_device *hw = dev->hw;
	const struct hw_bar *mmio = &hw->bars[AMDGPU_BAR_MMIO];

	if (mmio->size < AMDGPU_MMIO_MIN_SIZE || mmio->io) {
		log_error("amdgpu: %s: no register BAR%d (size %llu)", hw->name, AMDGPU_BAR_MMIO,
			  (unsigned long long)mmio->size);
		return -ENODEV;
	}

	uint32_t gb = hw_read32(hw, AMDGPU_BAR_MMIO, mmGB_ADDR_CONFIG);
	if (gb == 0xFFFFFFFFu) {
		log_error("amdgpu: %s: register reads return all-ones: device not responding", hw->name);
		return -ENODEV;
	}
	if (gb != VEGA10_GB_ADDR_CONFIG_GOLDEN) {
		log_error("amdgpu: %s: GB_ADDR_CONFIG 0x%08x, expected Vega10's 0x%08x", hw->name, gb,
			  VEGA10_GB_ADDR_CONFIG_GOLDEN);
		return -ENODEV;
	}

	int ret = scratch_test(hw);
	if (ret)
		return ret;

	struct amdgpu_device *adev = calloc(1, sizeof(*adev));
	if (!adev)
		return -ENOMEM;
	adev->hw = hw;
	adev->ddev = dev;
	adev->family = AMDGPU_FAMILY_AI;
	/* STRAP_ATI_REV_ID [27:24]; Vega10's external revision is rev_id + 1. */
	adev->rev_id = field(hw_read32(hw, AMDGPU_BAR_MMIO, mmRCC_DEV0_EPF0_STRAP0), 24, 4);
	adev->external_rev = adev->rev_id + 0x1;
	decode_gb_addr_config(adev, gb);
	amdgpu_mm_init(adev);
	/* Without local memory in the backend, VRAM requests fall back to GTT (or fail) as when VRAM is full. */
	if (hw->ops->local_alloc && amdgpu_vram_mgr_init(adev, adev->mm.vram_size)) {
		free(adev);
		return -ENOMEM;
	}
	dev->dev_private = adev;

	/*
	 * The GART (both hubs) and the IH serve the display and the CP alike. A
	 * GPU whose rings do not come up still loads, as the kernel's does, with
	 * ACCEL_WORKING 0; the display retries this setup in modeset_init.
	 */
	ret = amdgpu_gmc_init(adev);
	if (!ret)
		ret = amdgpu_ih_init(adev);
	if (!ret) {
		amdgpu_gmc_vmid_setup(adev);
		ret = amdgpu_gfx_init(adev);
		if (ret)
			log_warn("amdgpu: %s: GFX ring not started (%d): acceleration off", hw->name, ret);
		/* SDMA is independent of the GFX ring: each engine that passes its tests is usable. */
		amdgpu_sdma_init(adev);
	} else {
		log_warn("amdgpu: %s: GART or IH not set up (%d): acceleration off", hw->name, ret);
	}
	/* Schedulers for the rings that came up (none: every submission fails). */
	ret = amdgpu_cs_init(adev, dev->loop);
	if (ret) {
		amdgpu_unload(dev);
		return ret;
	}

	log_info("amdgpu: %s: Vega10 rev 0x%02x (chip rev %u), %u SE x %u RB, %u pipes", hw->name,
		 hw->pci.revision, adev->rev_id, adev->num_se, adev->num_rb_per_se, adev->num_pipes);
	return 0;
}

static void amdgpu_unload(struct drm_device *dev)
{
	struct amdgpu_device *adev = dev->dev_private;
	if (adev) {
		amdgpu_cs_fini(adev);
		amdgpu_sdma_fini(adev);
		amdgpu_gfx_fini(adev);
		amdgpu_ih_fini(adev);
		amdgpu_gmc_fini(adev);
		amdgpu_vm_manager_fini(adev);
		amdgpu_vram_mgr_fini(adev);
	}
	free(dev->dev_private);
	dev->dev_private = NULL;
}

const struct drm_driver amdgpu_driver = {
	.name = "amdgpu",
	.desc = "AMD GPU",
	.date = "20150101",
	.major = 3,
	.minor = 42, /* radeonsi needs >= 42 */
	.patchlevel = 0,
	.features = DRIVER_GEM | DRIVER_RENDER | DRIVER_MODESET | DRIVER_ATOMIC | DRIVER_PRIME |
		    DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE,
	.match = amdgpu_match,
	.load = amdgpu_load,
	.unload = amdgpu_unload,
	.irq_handler = amdgpu_irq_handler,
	.open = amdgpu_driver_open_kms,
	.postclose = amdgpu_driver_postclose_kms,
	.gem_close_object = amdgpu_vm_bo_close,
	.ioctls = amdgpu_ioctls_kms,
	.num_ioctls = AMDGPU_KMS_NUM_IOCTLS,
	.kms = &amdgpu_kms_funcs,
};
