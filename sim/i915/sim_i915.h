/*
 * The Skylake GT2 (Gen9, PCI 8086:1912 rev 06) device model: BAR layout,
 * modelled registers, the interrupt block's input, and misbehaviour
 * switches. Register offsets are byte offsets in BAR0 (GTTMMADR).
 */
#ifndef REDOX_DRM_SIM_I915_H
#define REDOX_DRM_SIM_I915_H

#include <pthread.h>
#include <stdbool.h>
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
/* The same with the model lock held: latches the bits, true when the line must be raised
 * (by the caller, after the unlock). */
bool sim_i915_gt_latch_locked(struct sim_model *m, unsigned bank, uint32_t bits);

/* GGTT lookup for engines and the aperture: 0 and *bus, or -1 for a non-present PTE. */
int sim_i915_ggtt_translate(struct sim_model *m, uint64_t gfx_addr, uint64_t *bus);

/* Engine seam: a hook on a BAR0 register. Runs with the model lock held. */
int sim_i915_hook_mmio(struct sim_model *m, const struct sim_reg_hook *hook);

/*
 * ---- Engines: the RCS and BCS command streamers (i915_engine.c, i915_cmd.c, i915_ppgtt.c) ----
 * Execlists submission (ELSP, LRC, CSB), the MI command parser and PPGTT walks, one thread per
 * engine. 3D, media and blit commands are parsed and skipped: shaders never run.
 */
enum { SIM_I915_RCS = 0, SIM_I915_BCS = 1, SIM_I915_ENGINES = 2 };
#define SIM_I915_RING_ACTHD_UDW 0x5Cu
#define SIM_I915_RING_IPEHR 0x68u       /* header of the command that raised the CS error */
#define SIM_I915_RING_ACTHD 0x74u       /* address of the command being executed */
#define SIM_I915_RING_NOPID 0x94u
#define SIM_I915_RING_EIR 0xB0u         /* error identity, write 1s to clear: INSTRUCTION b0, PRIV b2 */
#define SIM_I915_RING_EMR 0xB4u         /* error mask (all masked at reset) */
#define SIM_I915_RING_ESR 0xB8u         /* error status */
#define SIM_I915_RING_RESET_CTL 0xD0u   /* masked: REQUEST_RESET b0; READY_TO_RESET b1 is status */
#define SIM_I915_RING_BBADDR 0x140u
#define SIM_I915_RING_BBADDR_UDW 0x168u
#define SIM_I915_RING_TIMESTAMP 0x358u  /* live 12 MHz counter, and its upper dword */
#define SIM_I915_RING_TIMESTAMP_UDW 0x35Cu
#define SIM_I915_RING_CSB(n) (0x370u + 8u * (n)) /* 6 entries: status, context ID */
#define SIM_I915_RING_CTX_TIMESTAMP 0x3A8u
#define SIM_I915_RING_GPR(n) (0x600u + 8u * (n)) /* 16 64-bit general purpose registers */
/* Engine events in GT bank 0: RCS [15:0], BCS [31:16]. */
#define SIM_I915_GT_USER_INTERRUPT 0x001u
#define SIM_I915_GT_CS_MASTER_ERROR 0x008u
#define SIM_I915_GT_NOTIFY 0x010u        /* PIPE_CONTROL / MI_FLUSH_DW notify */
#define SIM_I915_GT_CONTEXT_SWITCH 0x100u
/* Reset: FULL b0, RENDER b1, BLT b3; a bit reads back set until its reset is done. */
#define SIM_I915_GDRST 0x941Cu
/* Page faults, the first kept until VALID is cleared. FAULT_REG: VALID b0, type [2:1], engine
 * [14:12] (RCS 0, BCS 2); TLB_DATA0: address [43:12]; TLB_DATA1: [47:44] in [3:0], GGTT b4. */
#define SIM_I915_FAULT_REG 0x4094u
#define SIM_I915_FAULT_TLB_DATA0 0x4B10u
#define SIM_I915_FAULT_TLB_DATA1 0x4B14u

/* Engine misbehaviour switches (bit mask, per engine). */
enum sim_i915_engine_fault {
	SIM_I915_ENGINE_FAULT_NONE = 0,
	SIM_I915_ENGINE_FAULT_HANG = 1u << 0,           /* stop at the next command until an engine reset, which clears it */
	SIM_I915_ENGINE_FAULT_DROP_USER_IRQ = 1u << 1,  /* user interrupts and notifies never reach IIR */
	SIM_I915_ENGINE_FAULT_DROP_CTX_IRQ = 1u << 2,   /* context-switch interrupts never reach IIR */
	SIM_I915_ENGINE_FAULT_DELAY_USER_IRQ = 1u << 3, /* they reach IIR delay_us late */
	SIM_I915_ENGINE_FAULT_DELAY_CTX_IRQ = 1u << 4,
};
void sim_i915_set_engine_fault(struct sim_model *m, unsigned engine, unsigned faults, uint32_t delay_us);
/* The page of gfx_addr (in the GGTT, or in every PPGTT) faults on every access while on. */
int sim_i915_fault_page(struct sim_model *m, bool ppgtt, uint64_t gfx_addr, bool on);

/* What an engine did. Skipped commands (3D, media, blit, inert MI) are only counted and recorded. */
#define SIM_I915_STATS_RECENT 8
struct sim_i915_engine_stats {
	uint64_t commands, skipped, draws, dispatches, blits;
	uint64_t switches, preemptions, lite_restores, cs_errors, page_faults, resets;
	uint32_t last_skipped[SIM_I915_STATS_RECENT]; /* headers; skip number n went to [n % RECENT] */
};
int sim_i915_engine_stats(struct sim_model *m, unsigned engine, struct sim_i915_engine_stats *out);

/* For i915_model.c: the engines' life. */
struct sim_i915_engines;
struct sim_i915_engines *sim_i915_engines_create(struct sim_model *m, pthread_mutex_t *lock, struct sim_regs *regs);
void sim_i915_engines_destroy(struct sim_i915_engines *g);
struct sim_i915_engines *sim_i915_engines_of(struct sim_model *m);
/*
 * A driver's register write, lock held from begin to end: the engines it
 * wakes are returned by end and signalled by wake after the unlock, so they
 * do not wake only to wait for the lock the writer still holds.
 */
void sim_i915_engines_write_begin(struct sim_i915_engines *g);
unsigned sim_i915_engines_write_end(struct sim_i915_engines *g);
void sim_i915_engines_wake(struct sim_i915_engines *g, unsigned due);

/*
 * ---- Display engine (i915_display.c) ----
 * Pipes/transcoders A and B of Skylake's three (C's registers are plain
 * storage), universal planes 1-3 and the cursor on each, DDI B and C with
 * their DPLLs, GMBUS, south-display hot-plug sense [I display regs headers, i915_reg.h].
 * Pipe/transcoder B registers are A's + 0x1000; plane n (1..3) is plane 1's + 0x100 * (n - 1).
 */
#define SIM_I915_PIPES 2u
#define SIM_I915_PLANES 3u
#define SIM_I915_PIPE_STRIDE 0x1000u

/* Transcoder timings: (value - 1) in each 16-bit half. HTOTAL: total [31:16], active [15:0];
 * HBLANK/VBLANK: end [31:16], start [15:0]; HSYNC/VSYNC: end, start; PIPESRC: width [31:16], height [15:0]. */
#define SIM_I915_TRANS_HTOTAL(p) (0x60000u + SIM_I915_PIPE_STRIDE * (p))
#define SIM_I915_TRANS_HBLANK(p) (0x60004u + SIM_I915_PIPE_STRIDE * (p))
#define SIM_I915_TRANS_HSYNC(p) (0x60008u + SIM_I915_PIPE_STRIDE * (p))
#define SIM_I915_TRANS_VTOTAL(p) (0x6000Cu + SIM_I915_PIPE_STRIDE * (p))
#define SIM_I915_TRANS_VBLANK(p) (0x60010u + SIM_I915_PIPE_STRIDE * (p))
#define SIM_I915_TRANS_VSYNC(p) (0x60014u + SIM_I915_PIPE_STRIDE * (p))
#define SIM_I915_PIPESRC(p) (0x6001Cu + SIM_I915_PIPE_STRIDE * (p))
/* DP link M/N: dot clock = link (port) clock * M / N, each [23:0]. */
#define SIM_I915_TRANS_LINK_M1(p) (0x60040u + SIM_I915_PIPE_STRIDE * (p))
#define SIM_I915_TRANS_LINK_N1(p) (0x60044u + SIM_I915_PIPE_STRIDE * (p))
/* ENABLE b31, DDI port [30:28] (1 = B .. 4 = E), mode [26:24] (0 HDMI, 1 DVI, 2 DP SST), bpc [22:20] (0 = 8). */
#define SIM_I915_TRANS_DDI_FUNC_CTL(p) (0x60400u + SIM_I915_PIPE_STRIDE * (p))
#define SIM_I915_TRANS_DDI_ENABLE 0x80000000u

#define SIM_I915_PIPEDSL(p) (0x70000u + SIM_I915_PIPE_STRIDE * (p))   /* live scanline [19:0]; 0 = first active line */
#define SIM_I915_PIPECONF(p) (0x70008u + SIM_I915_PIPE_STRIDE * (p))  /* TRANSCONF: ENABLE b31, STATE b30 (read-only) */
#define SIM_I915_PIPECONF_ENABLE 0x80000000u
#define SIM_I915_PIPECONF_STATE 0x40000000u
#define SIM_I915_PIPE_FRMCOUNT(p) (0x70040u + SIM_I915_PIPE_STRIDE * (p))  /* +1 at each vblank start */
#define SIM_I915_PIPE_FLIPCOUNT(p) (0x70044u + SIM_I915_PIPE_STRIDE * (p)) /* +1 at each plane 1 flip */

/* Universal planes (n = 1..3; 1 is the primary, the bottom of the stack). */
#define SIM_I915_PLANE_REG(p, n, r) (0x70180u + SIM_I915_PIPE_STRIDE * (p) + 0x100u * ((n) - 1) + (r))
#define SIM_I915_PLANE_CTL(p, n) SIM_I915_PLANE_REG(p, n, 0x00)
#define SIM_I915_PLANE_STRIDE(p, n) SIM_I915_PLANE_REG(p, n, 0x08)  /* [11:0] in 64-byte units (linear) */
#define SIM_I915_PLANE_POS(p, n) SIM_I915_PLANE_REG(p, n, 0x0C)     /* y [31:16], x [15:0] */
#define SIM_I915_PLANE_SIZE(p, n) SIM_I915_PLANE_REG(p, n, 0x10)    /* (h - 1) [31:16], (w - 1) [15:0] */
#define SIM_I915_PLANE_SURF(p, n) SIM_I915_PLANE_REG(p, n, 0x1C)    /* GGTT address [31:12]; the write arms */
#define SIM_I915_PLANE_OFFSET(p, n) SIM_I915_PLANE_REG(p, n, 0x24)  /* source y [31:16], x [15:0] */
#define SIM_I915_PLANE_SURFLIVE(p, n) SIM_I915_PLANE_REG(p, n, 0x2C) /* the surface being scanned out */
#define SIM_I915_PLANE_CTL_ENABLE 0x80000000u
#define SIM_I915_PLANE_CTL_PIPE_GAMMA_ENABLE 0x40000000u /* b30 (before Gemini Lake): through the pipe gamma */
#define SIM_I915_PLANE_CTL_FORMAT_SHIFT 24 /* [27:24] */
#define SIM_I915_PLANE_FORMAT_XRGB_2101010 0x2u
#define SIM_I915_PLANE_FORMAT_XRGB_8888 0x4u
#define SIM_I915_PLANE_FORMAT_RGB_565 0xEu
#define SIM_I915_PLANE_CTL_ORDER_RGBX 0x00100000u  /* b20: R in the low bits (XBGR/ABGR) */
#define SIM_I915_PLANE_CTL_TILED_MASK 0x00001C00u  /* [12:10], 0 = linear */
#define SIM_I915_PLANE_CTL_ALPHA_SHIFT 4          /* [5:4]: 0 off, 2 premultiplied, 3 hardware-multiplied */
#define SIM_I915_PLANE_CTL_ALPHA_SW_PREMULTIPLY (2u << 4)
#define SIM_I915_PLANE_CTL_ALPHA_HW_PREMULTIPLY (3u << 4)
#define SIM_I915_PLANE_CTL_ROTATE_MASK 0x3u

/* Cursor: CURCNTR mode [5:0] (0x27 64x64, 0x22 128x128, 0x23 256x256 ARGB); CURPOS sign-magnitude
 * y b31 + [30:16], x b15 + [14:0]; CURBASE GGTT address, the write arms. */
#define SIM_I915_CURCNTR(p) (0x70080u + SIM_I915_PIPE_STRIDE * (p))
#define SIM_I915_CURBASE(p) (0x70084u + SIM_I915_PIPE_STRIDE * (p))
#define SIM_I915_CURPOS(p) (0x70088u + SIM_I915_PIPE_STRIDE * (p))
#define SIM_I915_CURSURFLIVE(p) (0x700ACu + SIM_I915_PIPE_STRIDE * (p))
#define SIM_I915_CURSOR_MODE_MASK 0x27u
#define SIM_I915_CURSOR_MODE_64_ARGB 0x27u
#define SIM_I915_CURSOR_MODE_128_ARGB 0x22u
#define SIM_I915_CURSOR_MODE_256_ARGB 0x23u
#define SIM_I915_CURSOR_PIPE_GAMMA_ENABLE 0x04000000u /* CURCNTR b26 */

/* Pipe gamma after the blender [I display/intel_color_regs.h]: the legacy palette, 256 entries of
 * R [23:16] G [15:8] B [7:0], used when GAMMA_MODE [1:0] is 0 (8 bit); planes opt in through their
 * gamma enable bits, the background through SKL_BOTTOM_COLOR. The palette and these two registers
 * act at once (no double buffering). Pipe B's palette and GAMMA_MODE are A's + 0x800. */
#define SIM_I915_LGC_PALETTE(p, i) (0x4A000u + 0x800u * (p) + 4u * (i))
#define SIM_I915_GAMMA_MODE(p) (0x4A480u + 0x800u * (p))
#define SIM_I915_GAMMA_MODE_MASK 0x3u
#define SIM_I915_GAMMA_MODE_8BIT 0x0u
#define SIM_I915_SKL_BOTTOM_COLOR(p) (0x70034u + SIM_I915_PIPE_STRIDE * (p))
#define SIM_I915_BOTTOM_COLOR_GAMMA_ENABLE 0x80000000u

/* Display engine interrupts. Pipe banks for pipes 0..2; events: VBLANK b0, PLANE n FLIP_DONE b(2 + n). */
#define SIM_I915_DE_PIPE_ISR(p) (0x44400u + 0x10u * (p))
#define SIM_I915_DE_PIPE_IMR(p) (0x44404u + 0x10u * (p))
#define SIM_I915_DE_PIPE_IIR(p) (0x44408u + 0x10u * (p))
#define SIM_I915_DE_PIPE_IER(p) (0x4440Cu + 0x10u * (p))
#define SIM_I915_DE_PIPE_VBLANK 0x1u
#define SIM_I915_DE_PIPE_FLIP_DONE(n) (1u << (2 + (n)))
#define SIM_I915_DE_PORT_IIR 0x44448u
#define SIM_I915_DE_PORT_IER 0x4444Cu
#define SIM_I915_DE_MISC_IIR 0x44468u
#define SIM_I915_DE_MISC_IER 0x4446Cu
/* GEN8_MASTER_IRQ pending bits of the display. */
#define SIM_I915_MASTER_DE_PIPE(p) (1u << (16 + (p)))
#define SIM_I915_MASTER_DE_PORT (1u << 20)
#define SIM_I915_MASTER_DE_MISC (1u << 22)
#define SIM_I915_MASTER_PCH (1u << 23)

/* South display (Sunrise Point PCH): hot-plug. SDEISR shows live presence: DDI B b21, C b22, D b23. */
#define SIM_I915_SDEISR 0xC4000u
#define SIM_I915_SDEIMR 0xC4004u
#define SIM_I915_SDEIIR 0xC4008u
#define SIM_I915_SDEIER 0xC400Cu
#define SIM_I915_SDE_HOTPLUG(port) (1u << (20 + (port))) /* port 1..3 = DDI B..D */
/* SHOTPLUG_CTL: per DDI B/C/D an enable (b4/b12/b20) and a sticky status [1:0]/[9:8]/[17:16]
 * (1 short, 2 long pulse; write 1s to clear). */
#define SIM_I915_PCH_PORT_HOTPLUG 0xC4030u
#define SIM_I915_HOTPLUG_ENABLE(port) (0x10u << (8 * ((port) - 1)))
#define SIM_I915_HOTPLUG_STATUS_MASK(port) (0x3u << (8 * ((port) - 1)))
#define SIM_I915_HOTPLUG_LONG(port) (0x2u << (8 * ((port) - 1)))

/* GMBUS (I2C to the monitors' DDC). GMBUS0: pin pair [2:0] (5 = DDI B, 4 = DDI C, 6 = DDI D). */
#define SIM_I915_GMBUS0 0xC5100u
#define SIM_I915_GMBUS1 0xC5104u /* SW_CLR_INT b31, SW_RDY b30, cycle [27:25] (WAIT 1, INDEX 2, STOP 4),
				   count [24:16], index [15:8], address [7:1], read b0 */
#define SIM_I915_GMBUS2 0xC5108u /* INUSE b15, HW_WAIT_PHASE b14, HW_RDY b11, SATOER (NAK) b10, ACTIVE b9,
				   bytes done [8:0] */
#define SIM_I915_GMBUS3 0xC510Cu /* data, first byte in [7:0] */
#define SIM_I915_GMBUS4 0xC5110u
#define SIM_I915_GMBUS5 0xC5120u /* 2-byte index: enable b31, index [15:0] */
#define SIM_I915_GMBUS_PIN_DPC 4u
#define SIM_I915_GMBUS_PIN_DPB 5u
#define SIM_I915_GMBUS_PIN_DPD 6u
#define SIM_I915_DDC_ADDR 0x50u

/* Clocks: DPLL n feeds a DDI through DPLL_CTRL2; HDMI mode runs the WRPLL dividers of CFGCR1/2,
 * otherwise the DP link rate of DPLL_CTRL1. Reference 24 MHz. */
#define SIM_I915_LCPLL1_CTL 0x46010u /* DPLL0 (CDCLK, eDP): on from reset */
#define SIM_I915_LCPLL2_CTL 0x46014u /* DPLL1 */
#define SIM_I915_WRPLL_CTL1 0x46040u /* DPLL2 */
#define SIM_I915_WRPLL_CTL2 0x46060u /* DPLL3 */
#define SIM_I915_PLL_ENABLE 0x80000000u
#define SIM_I915_DPLL_CTRL1 0x6C058u /* 6 bits per DPLL: OVERRIDE b0, LINK_RATE [3:1], SSC b4, HDMI_MODE b5 */
#define SIM_I915_DPLL_CTRL2 0x6C05Cu /* per DDI: SEL_OVERRIDE b(3p), CLK_SEL [3p+2:3p+1], CLK_OFF b(p+15) */
#define SIM_I915_DPLL_STATUS 0x6C060u /* LOCK b(8 id) */
#define SIM_I915_DPLL_CFGCR1(id) (0x6C040u + 8u * ((id) - 1)) /* FREQ_ENABLE b31, DCO fraction [23:9], integer [8:0] */
#define SIM_I915_DPLL_CFGCR2(id) (0x6C044u + 8u * ((id) - 1)) /* QDIV ratio [15:8], QDIV mode b7, KDIV [6:5], PDIV [4:2] */
#define SIM_I915_DDI_BUF_CTL(port) (0x64000u + 0x100u * (port)) /* ENABLE b31, IDLE b7 (read-only) */

/* DDI ports. The monitor at reset: an HDMI display on DDI B; DDI C (DisplayPort) is empty. */
enum { SIM_I915_DDI_A = 0, SIM_I915_DDI_B = 1, SIM_I915_DDI_C = 2, SIM_I915_DDI_D = 3, SIM_I915_DDI_E = 4 };
#define SIM_I915_MONITOR_NAME "RDRM Skylake"
#define SIM_I915_MONITOR_WIDTH_MM 527
#define SIM_I915_MONITOR_HEIGHT_MM 296

/* Plugs (or unplugs) the monitor on DDI B, C or D: SDEISR follows, the DDC EEPROM appears on the
 * port's GMBUS pin pair, and a long pulse is reported where SHOTPLUG_CTL enables it. */
void sim_i915_set_monitor(struct sim_model *m, unsigned ddi_port, bool connected);

/* Display misbehaviour switches (bit mask). Events still happen (counters, flips latch); only
 * their interrupts misbehave. */
enum sim_i915_display_fault {
	SIM_I915_DISPLAY_FAULT_NONE = 0,
	SIM_I915_DISPLAY_FAULT_DROP_IRQ = 1u << 0,  /* vblank/flip-done never reach IIR */
	SIM_I915_DISPLAY_FAULT_DELAY_IRQ = 1u << 1, /* they reach IIR delay_us late */
};
void sim_i915_set_display_fault(struct sim_model *m, unsigned faults, uint32_t delay_us);

/* For i915_model.c: the display block's life, its share of GEN8_MASTER_IRQ and the monitor view. */
struct sim_i915_display;
struct sim_i915_display *sim_i915_display_create(struct sim_model *m, pthread_mutex_t *lock, struct sim_regs *regs);
void sim_i915_display_destroy(struct sim_i915_display *d);
uint32_t sim_i915_display_pending(const struct sim_regs *r);
int sim_i915_display_capture(struct sim_i915_display *d, unsigned pipe, uint32_t *pixels, uint32_t width,
			     uint32_t height);
struct sim_i915_display *sim_i915_display_of(struct sim_model *m);

#endif
