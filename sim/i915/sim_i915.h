/*
 * The Skylake GT2 (Gen9, PCI 8086:1912 rev 06) device model: BAR layout,
 * modelled registers, the interrupt block's input, and misbehaviour
 * switches. Register offsets are byte offsets in BAR0 (GTTMMADR).
 */
#ifndef REDOX_DRM_SIM_I915_H
#define REDOX_DRM_SIM_I915_H

#include <stdint.h>

#include "redox-drm/sim.h"
#include "sim_regs.h"

enum {
	SIM_I915_BAR_GTTMMADR = 0, /* 64-bit: registers, then the GGTT */
	SIM_I915_BAR_GMADR = 2,    /* 64-bit prefetchable: the aperture, translated by the GGTT */
	SIM_I915_BAR_IO = 4,
};

#define SIM_I915_GTTMMADR_SIZE (16u << 20)
#define SIM_I915_MMIO_SIZE (2u << 20)      /* registers at BAR0 [0, 2 MiB) */
#define SIM_I915_GGTT_OFFSET (8u << 20)    /* PTEs at BAR0 [8 MiB, 16 MiB) */
#define SIM_I915_GGTT_ENTRIES ((8u << 20) / 8) /* 1 Mi PTEs: a 4 GiB GGTT */
#define SIM_I915_GMADR_SIZE (256u << 20)
#define SIM_I915_IO_SIZE 64u

/* PCI config: GMCH graphics control (GGC). GGMS [7:6] = 3: 8 MiB of PTEs. GMS [15:8] = 0: no stolen memory. */
#define SIM_I915_CFG_GGC 0x50u
#define SIM_I915_GGC_RESET 0x00C0u

/* Forcewake (masked registers; the ack mirrors the request's low 16 bits). */
#define SIM_I915_FORCEWAKE_RENDER 0xA278u
#define SIM_I915_FORCEWAKE_ACK_RENDER 0x0D84u
#define SIM_I915_FORCEWAKE_MEDIA 0xA270u
#define SIM_I915_FORCEWAKE_ACK_MEDIA 0x0D88u
#define SIM_I915_FORCEWAKE_GT 0xA188u
#define SIM_I915_FORCEWAKE_ACK_GT 0x130044u

/* Fuses (read-only). */
#define SIM_I915_FUSE2 0x9120u           /* S_ENA [27:25], SS_DIS [23:20] */
#define SIM_I915_EU_DISABLE(s) (0x9134u + 4u * (s)) /* one byte per subslice, one bit per EU */
/* GT2 [plausible fuse image]: slice 0 on; subslices 0-2 on, 3 fused off; 8 EUs in each: 24 EUs. */
#define SIM_I915_FUSE2_GT2 0x02800000u
#define SIM_I915_EU_DISABLE0_GT2 0xFF000000u

/* GT interrupts. */
#define SIM_I915_MASTER_IRQ 0x44200u     /* CONTROL b31; pending banks: RCS b0, BCS b1, VCS0 b2, VCS1 b3, PM b4, VECS b6 */
#define SIM_I915_MASTER_IRQ_CONTROL 0x80000000u
#define SIM_I915_GT_ISR(n) (0x44300u + 0x10u * (n))
#define SIM_I915_GT_IMR(n) (0x44304u + 0x10u * (n))
#define SIM_I915_GT_IIR(n) (0x44308u + 0x10u * (n))
#define SIM_I915_GT_IER(n) (0x4430Cu + 0x10u * (n))
#define SIM_I915_GT_BANKS 4

/* Engine register blocks. */
#define SIM_I915_RCS_BASE 0x02000u
#define SIM_I915_BCS_BASE 0x22000u
#define SIM_I915_RING_TAIL 0x30u
#define SIM_I915_RING_HEAD 0x34u
#define SIM_I915_RING_START 0x38u
#define SIM_I915_RING_CTL 0x3Cu
#define SIM_I915_RING_HWS_PGA 0x80u
#define SIM_I915_RING_HWSTAM 0x98u
#define SIM_I915_RING_MI_MODE 0x9Cu      /* masked: STOP_RING b8; MODE_IDLE b9 is status */
#define SIM_I915_RING_IMR 0xA8u
#define SIM_I915_RING_ELSP 0x230u
#define SIM_I915_RING_EXECLIST_STATUS_LO 0x234u
#define SIM_I915_RING_EXECLIST_STATUS_HI 0x238u
#define SIM_I915_RING_CONTEXT_CONTROL 0x244u /* masked */
#define SIM_I915_RING_GFX_MODE 0x29Cu    /* masked: RUN_LIST_ENABLE b15 */
#define SIM_I915_RING_CSB_PTR 0x3A0u     /* masked: write ptr [2:0], read ptr [10:8] */
#define SIM_I915_MI_MODE_STOP_RING 0x0100u
#define SIM_I915_MI_MODE_IDLE 0x0200u
/* The write pointer starts at 7, "nothing written yet", as GVT-g presents it. */
#define SIM_I915_CSB_PTR_RESET 0x00000007u

/* Misbehaviour switches (bit mask). */
enum sim_i915_fault {
	SIM_I915_FAULT_NONE = 0,
	/* Forcewake acks never follow their requests: the GT never wakes. */
	SIM_I915_FAULT_NO_FORCEWAKE_ACK = 1u << 0,
	/* The device fell off the bus: every BAR read returns all-ones, writes are lost. */
	SIM_I915_FAULT_BUS_DEAD = 1u << 1,
};

void sim_i915_set_fault(struct sim_model *m, unsigned faults);

/*
 * The interrupt block's input, for engines: events (bits) in GT bank n.
 * Bits unmasked in IMR latch into IIR; the MSI fires when an IIR bit is
 * enabled in IER and the master CONTROL bit is set.
 */
void sim_i915_gt_irq(struct sim_model *m, unsigned bank, uint32_t bits);

/* GGTT lookup for engines and the aperture: 0 and *bus, or -1 for a non-present PTE. */
int sim_i915_ggtt_translate(struct sim_model *m, uint64_t gfx_addr, uint64_t *bus);

/* Engine seam: a hook on a BAR0 register. Runs with the model lock held. */
int sim_i915_hook_mmio(struct sim_model *m, const struct sim_reg_hook *hook);

#endif
