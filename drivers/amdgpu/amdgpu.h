/* amdgpu backend: private device state and the registers it programs. */
#ifndef REDOX_DRM_AMDGPU_H
#define REDOX_DRM_AMDGPU_H

#include <stdint.h>

struct hw_device;

/* PCI BARs of a GFX9 dGPU. */
enum { AMDGPU_BAR_VRAM = 0, AMDGPU_BAR_DOORBELL = 2, AMDGPU_BAR_MMIO = 5 };
#define AMDGPU_MMIO_MIN_SIZE (512u << 10)

/* Byte offsets in the MMIO BAR (SOC15 dword offset * 4). */
#define mmGB_ADDR_CONFIG 0x98F8u
#define mmSCRATCH_REG0 0x30100u
#define mmRCC_DEV0_EPF0_STRAP0 0x34BCu /* NBIO 6.1 */

#define VEGA10_GB_ADDR_CONFIG_GOLDEN 0x2A114042u
#define AMDGPU_FAMILY_AI 141

struct amdgpu_device {
	struct hw_device *hw;
	uint32_t family;
	uint32_t rev_id;       /* chip revision from the strap */
	uint32_t external_rev; /* what DEV_INFO reports; Mesa keys VEGA10 off it */
	uint32_t gb_addr_config;
	/* Decoded GB_ADDR_CONFIG geometry. */
	uint32_t num_pipes, pipe_interleave_size, max_compressed_frags;
	uint32_t num_se, num_rb_per_se;
};

#endif
