/*
 * The Vega10 (GFX9, PCI 1002:687F rev C1) device model: its BAR layout,
 * the registers it models, and the seams engines plug into. Register offsets
 * are byte offsets in the MMIO BAR (BAR5) = SOC15 dword offset * 4.
 */
#ifndef REDOX_DRM_SIM_AMDGPU_H
#define REDOX_DRM_SIM_AMDGPU_H

#include <stdint.h>

#include "redox-drm/sim.h"
#include "sim_regs.h"

/* BARs, as lspci shows them on a Radeon RX Vega 64. */
enum {
	SIM_AMDGPU_BAR_VRAM = 0,     /* 64-bit prefetchable, CPU-visible VRAM window */
	SIM_AMDGPU_BAR_DOORBELL = 2, /* 64-bit prefetchable */
	SIM_AMDGPU_BAR_IO = 4,       /* legacy I/O ports, unused by the driver */
	SIM_AMDGPU_BAR_MMIO = 5,     /* 32-bit non-prefetchable registers */
};

#define SIM_AMDGPU_VRAM_SIZE (8ull << 30)          /* HBM2 on Vega 64 */
#define SIM_AMDGPU_VRAM_VISIBLE (256ull << 20)     /* BAR0 without resizable BAR */
#define SIM_AMDGPU_DOORBELL_SIZE (2u << 20)
#define SIM_AMDGPU_IO_SIZE 256u
#define SIM_AMDGPU_MMIO_SIZE (512u << 10)

/* NBIO 6.1 (base seg0 0x0, seg2 0xD20 dwords). */
#define SIM_AMDGPU_MM_INDEX 0x0000u    /* indirect access: byte offset, b31 = VRAM aperture */
#define SIM_AMDGPU_MM_DATA 0x0004u
#define SIM_AMDGPU_MM_INDEX_HI 0x0018u /* VRAM offset bits above 31 */
#define SIM_AMDGPU_RCC_DEV0_EPF0_STRAP0 0x34BCu /* dword 0xD2F: device id [15:0], ATI rev id [27:24] */
#define SIM_AMDGPU_RCC_CONFIG_MEMSIZE 0x378Cu   /* dword 0xDE3: VRAM size in MiB */

/* GC 9.0 (seg0 0x2000, seg1 0xA000 dwords). */
#define SIM_AMDGPU_GRBM_STATUS 0x8010u
#define SIM_AMDGPU_CP_STAT 0x8680u
#define SIM_AMDGPU_CP_ME_CNTL 0x86D8u
#define SIM_AMDGPU_GB_ADDR_CONFIG 0x98F8u
#define SIM_AMDGPU_SCRATCH_REG0 0x30100u /* uconfig 0xC040; REG1..7 follow */
#define SIM_AMDGPU_NUM_SCRATCH 8

/* Reset values. */
#define SIM_AMDGPU_GB_ADDR_CONFIG_GOLDEN 0x2A114042u
/* CP_ME_CNTL: CE_HALT b24 | PFP_HALT b26 | ME_HALT b28: the CP waits for its firmware. */
#define SIM_AMDGPU_CP_ME_CNTL_RESET 0x15000000u
/* GRBM_STATUS idle [plausible]: ME0PIPE0_CMDFIFO_AVAIL[3:0]=8, DB_CLEAN b12, CB_CLEAN b13, GUI_ACTIVE b31 clear. */
#define SIM_AMDGPU_GRBM_STATUS_IDLE 0x00003008u
/* Strap [plausible layout]: STRAP_DEVICE_ID 0x687F, ATI rev id 0 (chip_rev 0; Vega10 reports external_rev 0x1). */
#define SIM_AMDGPU_STRAP0_RESET 0x0000687Fu

/*
 * Engine seams: a hook on a BAR5 register or a doorbell (byte offset in
 * BAR2). Hooks run with the model lock held. 0 or -errno.
 */
int sim_amdgpu_hook_mmio(struct sim_model *m, const struct sim_reg_hook *hook);
int sim_amdgpu_hook_doorbell(struct sim_model *m, const struct sim_reg_hook *hook);

#endif
