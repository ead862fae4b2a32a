/*
 * The Vega10 (GFX9, PCI 1002:687F rev C1) device model: its BAR layout,
 * the registers it models, and the seams engines plug into. Register offsets
 * are byte offsets in the MMIO BAR (BAR5) = SOC15 dword offset * 4.
 */
#ifndef REDOX_DRM_SIM_AMDGPU_H
#define REDOX_DRM_SIM_AMDGPU_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

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
#define SIM_AMDGPU_HDP_FLUSH_REQ 0x3898u        /* GPU_HDP_FLUSH_REQ: a bit per client */
#define SIM_AMDGPU_HDP_FLUSH_DONE 0x389Cu       /* mirrors REQ: the model's HDP has nothing to flush */

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

/*
 * What the engine files share with the model core. The model lock guards
 * every register; engine threads take it around register and state access
 * (and may wait on condition variables with it).
 */
pthread_mutex_t *sim_amdgpu_lock(struct sim_model *m);
struct sim_regs *sim_amdgpu_mmio(struct sim_model *m); /* BAR5 register file (lock held) */
uint8_t *sim_amdgpu_vram(struct sim_model *m);         /* all SIM_AMDGPU_VRAM_SIZE bytes */

/* Per-engine state, owned by the engine's init/fini. */
enum sim_amdgpu_engine {
	SIM_AMDGPU_ENGINE_VM, SIM_AMDGPU_ENGINE_IH, SIM_AMDGPU_ENGINE_DCE, SIM_AMDGPU_ENGINE_CP, SIM_AMDGPU_ENGINE_SDMA,
	SIM_AMDGPU_ENGINE_COUNT
};
void *sim_amdgpu_engine(struct sim_model *m, enum sim_amdgpu_engine e);
void sim_amdgpu_set_engine(struct sim_model *m, enum sim_amdgpu_engine e, void *state);

/*
 * Command engines (CP, SDMA instances) each sleep on a condition of their
 * own with the model lock held, and are woken by what can concern them: an
 * idle engine (no deadline) by its doorbell (sim_amdgpu_engine_kick from the
 * doorbell hook) and by writes into its register windows; one that waits on
 * a poll or a delay (a deadline) also by every other register write and by
 * every memory write of another engine, as its condition may hold now.
 * deadline_ns: CLOCK_MONOTONIC, UINT64_MAX = none.
 */
struct sim_amdgpu_waiter;
struct sim_amdgpu_reg_window {
	uint32_t lo, hi; /* BAR5 byte offsets, [lo, hi) */
};
/* Before the engine's thread starts; NULL if the model has no room. Freed with the model. */
struct sim_amdgpu_waiter *sim_amdgpu_waiter_add(struct sim_model *m, const struct sim_amdgpu_reg_window *win,
						unsigned nwin);
void sim_amdgpu_engine_kick(struct sim_amdgpu_waiter *w); /* lock held */
void sim_amdgpu_engines_wake(struct sim_model *m);        /* every engine (stop, fault settings); lock held */
/* A register (reg: its byte offset) or memory (reg false) changed; lock held. */
void sim_amdgpu_engines_notify(struct sim_model *m, bool reg, uint32_t off, uint32_t len);

static inline uint64_t sim_amdgpu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * One engine step with the model lock held: true if it made progress (run
 * again at once), false to sleep until *deadline (UINT64_MAX: until woken).
 */
typedef bool (*sim_amdgpu_engine_tick_fn)(void *ctx, uint64_t now, uint64_t *deadline);
/* An engine thread's body: ticks under the model lock until *stop, sleeping on w between. */
void sim_amdgpu_engine_run(struct sim_model *m, struct sim_amdgpu_waiter *w, const bool *stop,
			   sim_amdgpu_engine_tick_fn tick, void *ctx);

/* ------------------------------------------------------------------------
 * GPU VM (GFX9 GMC, facts §5): the one address translation every engine that
 * masters memory uses. Two instances with the same layout: the MMHUB 1.0
 * (display, IH and SDMA are its clients; base 0x1A000 dwords) and the GFXHUB
 * of GC 9.0 (the CP's; base 0x2000 dwords). Byte offsets.
 */
enum sim_amdgpu_hub { SIM_AMDGPU_MMHUB = 0, SIM_AMDGPU_GFXHUB, SIM_AMDGPU_NUM_HUBS };

#define SIM_AMDGPU_MMHUB_VM_CONTEXT0_CNTL 0x69B00u        /* +4 per VMID: ENABLE b0, DEPTH [2:1], BLOCK_SIZE [6:3] */
#define SIM_AMDGPU_MMHUB_VM_INVALIDATE_ENG0_REQ 0x69B8Cu   /* +4 per engine (18) */
#define SIM_AMDGPU_MMHUB_VM_INVALIDATE_ENG0_ACK 0x69BD4u
#define SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_BASE_LO32 0x69CACu /* +8 per VMID; HI32 at +4 */
#define SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_START_LO32 0x69D2Cu /* page number [43:12]; HI32 [47:44] at +4 */
#define SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_END_LO32 0x69DACu
#define SIM_AMDGPU_MMHUB_MC_VM_FB_OFFSET 0x6A05Cu          /* >> 24 */
#define SIM_AMDGPU_MMHUB_MC_VM_FB_LOCATION_BASE 0x6A0B0u   /* >> 24 */
#define SIM_AMDGPU_MMHUB_MC_VM_FB_LOCATION_TOP 0x6A0B4u    /* >> 24, inclusive */
#define SIM_AMDGPU_MMHUB_MC_VM_AGP_TOP 0x6A0B8u            /* >> 24, inclusive */
#define SIM_AMDGPU_MMHUB_MC_VM_AGP_BOT 0x6A0BCu            /* >> 24 */
#define SIM_AMDGPU_MMHUB_MC_VM_AGP_BASE 0x6A0C0u           /* >> 24: bus address of AGP_BOT */
#define SIM_AMDGPU_MMHUB_MC_VM_SYSTEM_APERTURE_LOW 0x6A0C4u  /* >> 18 */
#define SIM_AMDGPU_MMHUB_MC_VM_SYSTEM_APERTURE_HIGH 0x6A0C8u /* >> 18, inclusive */
#define SIM_AMDGPU_VM_NUM_INVALIDATE_ENGS 18u
#define SIM_AMDGPU_GFXHUB_VM_CONTEXT0_CNTL 0xA200u
#define SIM_AMDGPU_GFXHUB_VM_INVALIDATE_ENG0_REQ 0xA28Cu
#define SIM_AMDGPU_GFXHUB_VM_INVALIDATE_ENG0_ACK 0xA2D4u
#define SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_BASE_LO32 0xA3ACu
#define SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_START_LO32 0xA42Cu
#define SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_END_LO32 0xA4ACu
#define SIM_AMDGPU_GFXHUB_MC_VM_FB_OFFSET 0xA5ACu
#define SIM_AMDGPU_GFXHUB_MC_VM_FB_LOCATION_BASE 0xA600u
#define SIM_AMDGPU_GFXHUB_MC_VM_FB_LOCATION_TOP 0xA604u
#define SIM_AMDGPU_GFXHUB_MC_VM_AGP_TOP 0xA608u
#define SIM_AMDGPU_GFXHUB_MC_VM_AGP_BOT 0xA60Cu
#define SIM_AMDGPU_GFXHUB_MC_VM_AGP_BASE 0xA610u
#define SIM_AMDGPU_GFXHUB_MC_VM_SYSTEM_APERTURE_LOW 0xA614u
#define SIM_AMDGPU_GFXHUB_MC_VM_SYSTEM_APERTURE_HIGH 0xA618u

/* PTE/PDE bits (GFX9). */
#define SIM_AMDGPU_PTE_VALID (1ull << 0)
#define SIM_AMDGPU_PTE_SYSTEM (1ull << 1)
#define SIM_AMDGPU_PTE_SNOOPED (1ull << 2)
#define SIM_AMDGPU_PTE_READABLE (1ull << 5)
#define SIM_AMDGPU_PTE_WRITEABLE (1ull << 6)
#define SIM_AMDGPU_PDE_PTE (1ull << 54) /* a PDB0 entry that maps a 2 MiB page */
#define SIM_AMDGPU_PTE_ADDR_MASK 0x0000FFFFFFFFF000ull

/*
 * VM_CONTEXTn_CNTL: the *_PROTECTION_FAULT_ENABLE_INTERRUPT bits (range, dummy
 * page, PDE0, valid, read, write, execute: the odd bits 9..21). With any of
 * them set, a failed translation of an engine's access raises a fault vector:
 * client UTCL2 (GFXHUB) or VMC (MMHUB), source 0, the VMID, and the page in
 * src_data[0] (address [43:12]) and src_data[1] [3:0] (address [47:44]),
 * b5 set for a write [inferred].
 */
#define SIM_AMDGPU_VM_CNTL_FAULT_INTERRUPTS 0x002AAA00u
#define SIM_AMDGPU_IH_CLIENT_VMC 0x12
#define SIM_AMDGPU_IH_CLIENT_UTCL2 0x1B
#define SIM_AMDGPU_SRCID_VM_FAULT 0u
#define SIM_AMDGPU_VM_FAULT_WRITE (1u << 5)

/* A snapshot of one hub's translation state for one VMID. */
struct sim_amdgpu_vm_ctx {
	struct sim_model *m;
	enum sim_amdgpu_hub hub;
	bool report_faults; /* an engine's access (lock held): failures raise fault vectors */
	unsigned vmid;
	bool pt_enabled;
	unsigned depth;           /* 0: flat PTE array; n: n PDB levels above the PTB */
	unsigned block_size;
	uint64_t pt_base;         /* PDE-formatted root: address | VALID | SYSTEM */
	uint64_t pt_start, pt_end; /* page numbers, end inclusive */
	/* VMID0 only: the system aperture (FB and AGP), byte addresses, tops inclusive. */
	uint64_t sys_low, sys_high, fb_base, fb_top, fb_offset, agp_bot, agp_top, agp_base;
};

int sim_amdgpu_vm_init(struct sim_model *m);
void sim_amdgpu_vm_fini(struct sim_model *m);
/* Captures the registers translation depends on (report_faults off). Lock held. 0 or -EINVAL. */
int sim_amdgpu_vm_snapshot(struct sim_model *m, enum sim_amdgpu_hub hub, unsigned vmid, struct sim_amdgpu_vm_ctx *ctx);
/*
 * Translates a GPU (MC) address as the hub does: for VMID0 the GART range
 * (page table) first, then the system aperture (FB -> VRAM, AGP -> bus);
 * VMIDs 1-15 through their page tables. *pa is a bus address if *system,
 * else a VRAM offset. -EFAULT for an unmapped, invalid or forbidden address.
 * No lock needed (page tables are read from memory as the hardware does).
 */
int sim_amdgpu_vm_translate(const struct sim_amdgpu_vm_ctx *ctx, uint64_t addr, bool write, uint64_t *pa,
			    bool *system);
/* Copies through the translation, page by page. 0, or -EFAULT at the first unmapped page. */
int sim_amdgpu_vm_read(const struct sim_amdgpu_vm_ctx *ctx, uint64_t addr, void *dst, size_t len);
int sim_amdgpu_vm_write(const struct sim_amdgpu_vm_ctx *ctx, uint64_t addr, const void *src, size_t len);
/* An engine's view of vmid through hub: a snapshot whose failed accesses raise fault vectors. Lock held. */
int sim_amdgpu_engine_vm(struct sim_model *m, enum sim_amdgpu_hub hub, unsigned vmid, struct sim_amdgpu_vm_ctx *ctx);
/*
 * An engine's data access: 0, or -EFAULT when it failed translation (a read
 * then gives zeros, as the hub's dummy page would; a write is dropped). Lock held.
 */
int sim_amdgpu_engine_read(struct sim_model *m, enum sim_amdgpu_hub hub, unsigned vmid, uint64_t addr, void *dst,
			   size_t len);
int sim_amdgpu_engine_write(struct sim_model *m, enum sim_amdgpu_hub hub, unsigned vmid, uint64_t addr,
			    const void *src, size_t len);
/* Translation faults seen so far (no fault status registers are modelled yet). */
uint64_t sim_amdgpu_vm_faults(struct sim_model *m);
/*
 * Misbehaviour: translation of the 4 KiB page holding va fails for vmid (on
 * both hubs, for every engine) as if it were unmapped. Up to
 * SIM_AMDGPU_VM_FAIL_PAGES at once; 0, or -ENOSPC. Clear drops them all.
 */
#define SIM_AMDGPU_VM_FAIL_PAGES 8u
int sim_amdgpu_vm_fail_page(struct sim_model *m, unsigned vmid, uint64_t va);
void sim_amdgpu_vm_fail_page_clear(struct sim_model *m);

/* ------------------------------------------------------------------------
 * IH ring (OSSSYS 4.0, facts §4). Byte offsets.
 */
#define SIM_AMDGPU_IH_RB_CNTL 0x4480u
#define SIM_AMDGPU_IH_RB_BASE 0x4484u      /* >> 8 */
#define SIM_AMDGPU_IH_RB_BASE_HI 0x4488u   /* >> 40 */
#define SIM_AMDGPU_IH_RB_RPTR 0x448Cu      /* byte offset */
#define SIM_AMDGPU_IH_RB_WPTR 0x4490u      /* OFFSET [17:2], RB_OVERFLOW b0 */
#define SIM_AMDGPU_IH_RB_WPTR_ADDR_HI 0x4494u
#define SIM_AMDGPU_IH_RB_WPTR_ADDR_LO 0x4498u
#define SIM_AMDGPU_IH_RB_CNTL_RB_ENABLE (1u << 0)
#define SIM_AMDGPU_IH_RB_CNTL_RB_SIZE_SHIFT 1 /* [5:1] log2(bytes / 4) */
#define SIM_AMDGPU_IH_RB_CNTL_WPTR_WRITEBACK_ENABLE (1u << 8)
#define SIM_AMDGPU_IH_RB_CNTL_WPTR_OVERFLOW_ENABLE (1u << 16)
#define SIM_AMDGPU_IH_RB_CNTL_ENABLE_INTR (1u << 17)
#define SIM_AMDGPU_IH_RB_CNTL_MC_VMID_SHIFT 24
#define SIM_AMDGPU_IH_RB_CNTL_MC_SPACE_SHIFT 28 /* [30:28]: 1 = bus addresses, else MMHUB VM */
#define SIM_AMDGPU_IH_RB_CNTL_WPTR_OVERFLOW_CLEAR (1u << 31)
#define SIM_AMDGPU_IH_RB_WPTR_RB_OVERFLOW (1u << 0)
#define SIM_AMDGPU_IH_ENTRY_SIZE 32u
/* The IH timestamp counter [plausible]: the 25 MHz GPU reference clock. */
#define SIM_AMDGPU_GPU_CLOCK_HZ 25000000ull

/* One interrupt vector as an engine raises it (the IH adds the timestamp). */
struct sim_amdgpu_iv {
	uint64_t time_ns; /* when the source fired (CLOCK_MONOTONIC), for the timestamp; 0 = now */
	uint8_t client_id, src_id, ring_id, vmid;
	bool vmid_src;
	uint16_t pasid;
	uint8_t node_id;
	uint32_t src_data[4];
};

/* SOC15 IH clients and the display sources (ivsrcid/ivsrcid_vislands30.h). */
#define SIM_AMDGPU_IH_CLIENT_DCE 0x04
#define SIM_AMDGPU_SRCID_D1_GRPH_PFLIP 8u          /* D(n+1): 8 + 2n */
#define SIM_AMDGPU_SRCID_D1_VERTICAL_INTERRUPT0 19u /* D(n+1): 19 + n */
#define SIM_AMDGPU_EXTID_VERTICAL_INTERRUPT0 7u      /* in src_data[0] */

int sim_amdgpu_ih_init(struct sim_model *m);
void sim_amdgpu_ih_fini(struct sim_model *m);
/*
 * Writes one 32-byte entry at WPTR, advances WPTR, writes it back and raises
 * the MSI, as IH_RB_CNTL enables. Lock held. 0; -ENODEV if the ring is off
 * or misprogrammed; -ENOSPC if it was full (the entry overwrote the oldest
 * one and RB_OVERFLOW is set, or with overflow disabled it was dropped);
 * -EFAULT if the ring memory is unreachable.
 */
int sim_amdgpu_ih_post(struct sim_model *m, const struct sim_amdgpu_iv *iv);

/*
 * Interrupts an engine holds back (the "delay interrupts" misbehaviour):
 * queued with the time they are due, posted to the IH ring when it comes.
 * Stamped when posted (time_ns 0), as a late entry would be.
 */
#define SIM_AMDGPU_IV_QUEUE_MAX 64u
struct sim_amdgpu_iv_queue {
	struct {
		uint64_t due_ns;
		struct sim_amdgpu_iv iv;
	} items[SIM_AMDGPU_IV_QUEUE_MAX];
	unsigned n;
};
/* false if the queue is full (the caller then posts at once). */
bool sim_amdgpu_iv_queue_push(struct sim_amdgpu_iv_queue *q, uint64_t due_ns, const struct sim_amdgpu_iv *iv);
/* Posts what is due by now (model lock held); lowers *next to the earliest still waiting. Returns how many. */
unsigned sim_amdgpu_iv_queue_flush(struct sim_amdgpu_iv_queue *q, struct sim_model *m, uint64_t now, uint64_t *next);

/* ------------------------------------------------------------------------
 * Display: DCE 12 (DCE base seg1 0xC0, seg2 0x34C0 dwords). Two of the six
 * pipes are exposed. Per pipe: CRTC timing and status, the primary (GRPH)
 * surface, the SCL viewport, the hardware cursor, the DP DTO pixel clock,
 * the GRPH legacy LUT. DCE has no overlay planes (the underlay pipe is not
 * modelled): primary and cursor only. No prescale, CSC, degamma/regamma,
 * scaler, FBC, tiling or DIG/PHY/link.
 */
#define SIM_AMDGPU_DCE_PIPES 2u
#define SIM_AMDGPU_DCE_PIPE_STRIDE 0x800u /* DCP, SCL, CRTC instances: 0x200 dwords apart */

/* DCP: primary surface. */
#define SIM_AMDGPU_GRPH_ENABLE 0xE868u             /* b0 */
#define SIM_AMDGPU_GRPH_CONTROL 0xE86Cu            /* DEPTH [1:0], FORMAT [10:8], SW_MODE [24:20] (0 = linear) */
/* GRPH_SWAP_CNTL: ENDIAN [1:0], RED/GREEN/BLUE/ALPHA_CROSSBAR [5:4]/[7:6]/[9:8]/[11:10]. */
#define SIM_AMDGPU_GRPH_SWAP_CNTL 0xE874u
#define SIM_AMDGPU_GRPH_PRIMARY_SURFACE_ADDRESS 0xE878u /* [31:8]; this write arms the surface update */
#define SIM_AMDGPU_GRPH_PITCH 0xE880u              /* [14:0] pixels */
#define SIM_AMDGPU_GRPH_PRIMARY_SURFACE_ADDRESS_HIGH 0xE884u /* [7:0] = address [39:32] */
#define SIM_AMDGPU_GRPH_SURFACE_OFFSET_X 0xE88Cu
#define SIM_AMDGPU_GRPH_SURFACE_OFFSET_Y 0xE890u
#define SIM_AMDGPU_GRPH_X_START 0xE894u
#define SIM_AMDGPU_GRPH_Y_START 0xE898u
#define SIM_AMDGPU_GRPH_X_END 0xE89Cu
#define SIM_AMDGPU_GRPH_Y_END 0xE8A0u
#define SIM_AMDGPU_GRPH_UPDATE 0xE8A8u
#define SIM_AMDGPU_GRPH_FLIP_CONTROL 0xE8ACu       /* SURFACE_UPDATE_H_RETRACE_EN b0: flip without waiting for vblank */
#define SIM_AMDGPU_GRPH_SURFACE_ADDRESS_INUSE 0xE8B0u
#define SIM_AMDGPU_GRPH_INTERRUPT_STATUS 0xE8BCu   /* PFLIP_INT_OCCURRED b0, PFLIP_INT_CLEAR b8 */
#define SIM_AMDGPU_GRPH_INTERRUPT_CONTROL 0xE8C0u  /* PFLIP_INT_MASK b0 (1 = enabled) */
#define SIM_AMDGPU_GRPH_SURFACE_ADDRESS_HIGH_INUSE 0xE8C4u
#define SIM_AMDGPU_GRPH_UPDATE_MODE_PENDING (1u << 0)
#define SIM_AMDGPU_GRPH_UPDATE_MODE_TAKEN (1u << 1)
#define SIM_AMDGPU_GRPH_UPDATE_SURFACE_PENDING (1u << 2)
#define SIM_AMDGPU_GRPH_UPDATE_SURFACE_TAKEN (1u << 3)
#define SIM_AMDGPU_GRPH_UPDATE_LOCK (1u << 16)
/* DCP: hardware cursor. */
#define SIM_AMDGPU_CUR_CONTROL 0xE9A4u     /* CURSOR_EN b0, CURSOR_MODE [9:8]: 2 = ARGB pre-multiplied, 3 = not */
#define SIM_AMDGPU_CUR_SURFACE_ADDRESS 0xE9A8u
#define SIM_AMDGPU_CUR_SIZE 0xE9ACu        /* HEIGHT-1 [6:0], WIDTH-1 [22:16]: up to 128x128 */
#define SIM_AMDGPU_CUR_SURFACE_ADDRESS_HIGH 0xE9B0u
#define SIM_AMDGPU_CUR_POSITION 0xE9B4u    /* Y [13:0], X [29:16] */
#define SIM_AMDGPU_CUR_HOT_SPOT 0xE9B8u    /* Y [6:0], X [22:16] */
#define SIM_AMDGPU_CUR_UPDATE 0xE9C4u      /* PENDING b0, TAKEN b1, LOCK b16 */
#define SIM_AMDGPU_CUR_MAX_SIZE 128u
/* DCP: the legacy LUT in the GRPH input path (256 entries per channel, through an index/data port). */
#define SIM_AMDGPU_GRPH_LUT_10BIT_BYPASS 0xE870u /* GRPH_LUT_10BIT_BYPASS_EN b8: 2101010 surfaces skip it */
#define SIM_AMDGPU_INPUT_GAMMA_CONTROL 0xE8A4u   /* GRPH_INPUT_GAMMA_MODE b0: 0 = the LUT, 1 = bypass */
#define SIM_AMDGPU_PRESCALE_GRPH_CONTROL 0xE8D8u /* GRPH_PRESCALE_BYPASS b4 (prescale not modelled) */
#define SIM_AMDGPU_DC_LUT_RW_MODE 0xE9F8u        /* b0: 0 = 256-entry legacy, 1 = PWL (not modelled) */
#define SIM_AMDGPU_DC_LUT_RW_INDEX 0xE9FCu       /* [7:0]; writes of an entry advance it */
#define SIM_AMDGPU_DC_LUT_SEQ_COLOR 0xEA00u      /* [15:0]: red, green, blue of an entry in turn */
#define SIM_AMDGPU_DC_LUT_30_COLOR 0xEA08u       /* a whole entry: B [9:0], G [19:10], R [29:20] */
#define SIM_AMDGPU_DC_LUT_WRITE_EN_MASK 0xEA10u  /* [2:0]: B b0, G b1, R b2 [plausible order] */
#define SIM_AMDGPU_DC_LUT_CONTROL 0xEA18u        /* data formats: stored, not interpreted */
#define SIM_AMDGPU_INPUT_GAMMA_BYPASS (1u << 0)
#define SIM_AMDGPU_GRPH_LUT_10BIT_BYPASS_EN (1u << 8)
/* SCL: the part of the surface shown (no scaling: its size is the active size). */
#define SIM_AMDGPU_SCL_VIEWPORT_START 0xEDBCu /* Y [13:0], X [29:16] */
#define SIM_AMDGPU_SCL_VIEWPORT_SIZE 0xEDC0u  /* HEIGHT [13:0], WIDTH [29:16] */
/* CRTC: timing. Counters start at the sync pulse: active lines are [V_BLANK_END, V_BLANK_START). */
#define SIM_AMDGPU_CRTC_H_TOTAL 0xEE4Cu           /* total - 1 */
#define SIM_AMDGPU_CRTC_H_BLANK_START_END 0xEE50u /* START [13:0], END [29:16] */
#define SIM_AMDGPU_CRTC_H_SYNC_A 0xEE54u
#define SIM_AMDGPU_CRTC_H_SYNC_A_CNTL 0xEE58u     /* POL b0 (1 = active low) */
#define SIM_AMDGPU_CRTC_V_TOTAL 0xEE68u
#define SIM_AMDGPU_CRTC_V_BLANK_START_END 0xEE80u
#define SIM_AMDGPU_CRTC_V_SYNC_A 0xEE84u
#define SIM_AMDGPU_CRTC_V_SYNC_A_CNTL 0xEE88u
#define SIM_AMDGPU_CRTC_CONTROL 0xEEBCu           /* MASTER_EN b0, CURRENT_MASTER_EN_STATE b16 (ro) */
#define SIM_AMDGPU_CRTC_STATUS 0xEED8u            /* V_BLANK b0, V_ACTIVE_DISP b1, H_BLANK b16, H_ACTIVE_DISP b17 */
#define SIM_AMDGPU_CRTC_STATUS_POSITION 0xEEDCu   /* VERT_COUNT [13:0], HORZ_COUNT [29:16] */
#define SIM_AMDGPU_CRTC_STATUS_FRAME_COUNT 0xEEE4u /* [23:0], +1 at each vblank start */
#define SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_POSITION 0xEF74u /* LINE_START [13:0] */
#define SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_CONTROL 0xEF78u  /* INT_ENABLE b8, STATUS b12, INT_STATUS b16, CLEAR b20 */
#define SIM_AMDGPU_CRTC_MASTER_EN (1u << 0)
#define SIM_AMDGPU_CRTC_CURRENT_MASTER_EN_STATE (1u << 16)
#define SIM_AMDGPU_VI0_INT_ENABLE (1u << 8)
#define SIM_AMDGPU_VI0_STATUS (1u << 12)
#define SIM_AMDGPU_VI0_INT_STATUS (1u << 16)
#define SIM_AMDGPU_VI0_CLEAR (1u << 20)
/* DCCG: pixel clock = DPREFCLK * PHASE / MODULO when DP_DTO_ENABLE. Stride 0x10 per pipe. */
#define SIM_AMDGPU_CRTC0_PIXEL_RATE_CNTL 0x500u   /* PIXEL_RATE_SOURCE [1:0], DP_DTO0_ENABLE b4 */
#define SIM_AMDGPU_DP_DTO0_PHASE 0x504u
#define SIM_AMDGPU_DP_DTO0_MODULO 0x508u
#define SIM_AMDGPU_DCCG_PIPE_STRIDE 0x10u
#define SIM_AMDGPU_DP_DTO_ENABLE (1u << 4)
#define SIM_AMDGPU_DPREFCLK_KHZ 600000u /* [plausible] the DP reference clock of DCE 11.2+ */
/* Hot-plug detect (HPD0 = connector 1). Stride 0x20. */
#define SIM_AMDGPU_DC_HPD0_INT_STATUS 0x12B00u    /* INT_STATUS b0, SENSE b1, SENSE_DELAYED b4 */
#define SIM_AMDGPU_DC_HPD0_INT_CONTROL 0x12B04u
#define SIM_AMDGPU_DC_HPD0_CONTROL 0x12B08u       /* DC_HPD_EN b28 */
#define SIM_AMDGPU_DC_HPD_STRIDE 0x20u
#define SIM_AMDGPU_DC_HPD_SENSE (1u << 1)
#define SIM_AMDGPU_DC_HPD_EN (1u << 28)
/* DDC lines as GPIO (the route the driver reads EDID through): CLK b0, DATA b8 in each. */
#define SIM_AMDGPU_DC_GPIO_DDC1_MASK 0x15698u /* 1 = pin under GPIO (software) control */
#define SIM_AMDGPU_DC_GPIO_DDC1_A 0x1569Cu    /* output value */
#define SIM_AMDGPU_DC_GPIO_DDC1_EN 0x156A0u   /* output enable */
#define SIM_AMDGPU_DC_GPIO_DDC1_Y 0x156A4u    /* line level (read only) */
#define SIM_AMDGPU_DC_GPIO_DDC_STRIDE 0x10u   /* DDC2 follows DDC1 */
#define SIM_AMDGPU_DC_GPIO_DDC_CLK (1u << 0)
#define SIM_AMDGPU_DC_GPIO_DDC_DATA (1u << 8)
/* The monitor on DDC line 1 / HPD 1; line 2 has nothing connected. */
#define SIM_AMDGPU_MONITOR_NAME "RDRM Vega"
#define SIM_AMDGPU_MONITOR_WIDTH_MM 527
#define SIM_AMDGPU_MONITOR_HEIGHT_MM 296

/* Misbehaviour switches for the display's interrupts (bit mask). */
enum sim_amdgpu_display_fault {
	SIM_AMDGPU_DISPLAY_FAULT_NONE = 0,
	SIM_AMDGPU_DISPLAY_DROP_VBLANK = 1u << 0, /* vertical-interrupt IV entries are lost (status still set) */
	SIM_AMDGPU_DISPLAY_DROP_PFLIP = 1u << 1,  /* page-flip IV entries are lost (the flip still happens) */
	SIM_AMDGPU_DISPLAY_DELAY_IRQ = 1u << 2,   /* display IV entries reach the ring delay_us late */
};
void sim_amdgpu_display_set_fault(struct sim_model *m, unsigned faults, uint32_t delay_us);

int sim_amdgpu_dce_init(struct sim_model *m);
void sim_amdgpu_dce_fini(struct sim_model *m);
/* sim_model_ops.scanout_capture: pipe = CRTC index. */
int sim_amdgpu_dce_capture(struct sim_model *m, unsigned int pipe, uint32_t *pixels, uint32_t width,
			   uint32_t height);

/* ------------------------------------------------------------------------
 * Command engines: the GFX command processor (GC 9.0 ME0 pipe 0, the one GFX
 * ring; facts §1-2) and SDMA0/SDMA1 (SDMA 4.0; facts §3). Each runs on its
 * own thread, woken by its WPTR registers and doorbell. Shaders are never
 * executed: state, draw and dispatch packets are parsed, counted and skipped.
 * Byte offsets in BAR5 unless said otherwise.
 */
#define SIM_AMDGPU_GRBM_SOFT_RESET 0x8020u      /* SOFT_RESET_CP b0, SOFT_RESET_GFX b16, CPF/CPC/CPG b17-19 */
#define SIM_AMDGPU_CP_ME_HEADER_DUMP 0x8684u    /* header of the packet the ME is on */
#define SIM_AMDGPU_CP_PFP_HEADER_DUMP 0x8688u
#define SIM_AMDGPU_CP_RB0_RPTR 0x8700u          /* read only: dword offset in the ring */
#define SIM_AMDGPU_CP_RB_WPTR_DELAY 0x8704u
#define SIM_AMDGPU_CP_RB0_BASE 0xC100u          /* address >> 8 */
#define SIM_AMDGPU_CP_RB0_CNTL 0xC104u
#define SIM_AMDGPU_CP_RB_RPTR_WR 0xC108u        /* loaded into RPTR while CNTL.RB_RPTR_WR_ENA */
#define SIM_AMDGPU_CP_RB0_RPTR_ADDR 0xC10Cu     /* rptr writeback, dword aligned */
#define SIM_AMDGPU_CP_RB0_RPTR_ADDR_HI 0xC110u  /* [15:0] */
#define SIM_AMDGPU_CP_RB_WPTR_POLL_ADDR_LO 0xC118u /* stored only: WPTR comes from the doorbell or register */
#define SIM_AMDGPU_CP_RB_WPTR_POLL_ADDR_HI 0xC11Cu
#define SIM_AMDGPU_CP_RB_VMID 0xC144u           /* RB0_VMID [3:0]: the VMID ring fetches use */
#define SIM_AMDGPU_CP_RB0_WPTR 0xC150u          /* 64-bit free-running dword count, low half */
#define SIM_AMDGPU_CP_RB0_WPTR_HI 0xC154u
#define SIM_AMDGPU_CP_RB_DOORBELL_CONTROL 0xC164u /* DOORBELL_OFFSET [27:2] (dword index), DOORBELL_EN b30 */
#define SIM_AMDGPU_CP_RB_DOORBELL_RANGE_LOWER 0xC168u
#define SIM_AMDGPU_CP_RB_DOORBELL_RANGE_UPPER 0xC16Cu
#define SIM_AMDGPU_CP_INT_CNTL_RING0 0xC1A8u
#define SIM_AMDGPU_CP_INT_STATUS_RING0 0xC1B4u  /* the *_INT_STAT bits sit where CNTL has the enables */
#define SIM_AMDGPU_CP_RB0_BASE_HI 0xC2C4u       /* address >> 40 */
#define SIM_AMDGPU_GFX_DOORBELL 0x458u          /* BAR2: the kernel's GFX ring doorbell, dword 0x8B << 1 */

#define SIM_AMDGPU_GRBM_SOFT_RESET_CP (1u << 0)
#define SIM_AMDGPU_GRBM_SOFT_RESET_GFX (1u << 16)
#define SIM_AMDGPU_GRBM_STATUS_CP_BUSY (1u << 29)
#define SIM_AMDGPU_GRBM_STATUS_GUI_ACTIVE (1u << 31)
#define SIM_AMDGPU_CP_STAT_PFP_BUSY (1u << 15)
#define SIM_AMDGPU_CP_STAT_ME_BUSY (1u << 17)
#define SIM_AMDGPU_CP_STAT_CP_BUSY (1u << 31)
#define SIM_AMDGPU_CP_ME_CNTL_CE_HALT (1u << 24)
#define SIM_AMDGPU_CP_ME_CNTL_PFP_HALT (1u << 26)
#define SIM_AMDGPU_CP_ME_CNTL_ME_HALT (1u << 28)
#define SIM_AMDGPU_CP_RB_CNTL_BUFSZ_MASK 0x3Fu       /* log2(bytes / 8) */
#define SIM_AMDGPU_CP_RB_CNTL_BLKSZ_SHIFT 8
#define SIM_AMDGPU_CP_RB_CNTL_RB_NO_UPDATE (1u << 27) /* no rptr writeback */
#define SIM_AMDGPU_CP_RB_CNTL_RB_RPTR_WR_ENA (1u << 31)
#define SIM_AMDGPU_CP_DOORBELL_OFFSET_SHIFT 2
#define SIM_AMDGPU_CP_DOORBELL_EN (1u << 30)
#define SIM_AMDGPU_CP_INT_PRIV_REG (1u << 23)     /* PRIV_REG_INT_ENABLE / _STAT */
#define SIM_AMDGPU_CP_INT_OPCODE_ERROR (1u << 24) /* OPCODE_ERROR_INT_ENABLE / _STAT */
#define SIM_AMDGPU_CP_INT_TIME_STAMP (1u << 26)   /* TIME_STAMP_INT_ENABLE / _STAT: the EOP interrupt */

/* IH sources the engines raise (client SOC15_IH_CLIENTID_GRBM_CP; SDMA0/1). */
#define SIM_AMDGPU_IH_CLIENT_GRBM_CP 0x14
#define SIM_AMDGPU_IH_CLIENT_SDMA0 0x08
#define SIM_AMDGPU_IH_CLIENT_SDMA1 0x09
#define SIM_AMDGPU_SRCID_CP_EOP 181u
#define SIM_AMDGPU_SRCID_CP_BAD_OPCODE 183u
#define SIM_AMDGPU_SRCID_CP_PRIV_REG_FAULT 184u
#define SIM_AMDGPU_SRCID_SDMA_TRAP 224u
#define SIM_AMDGPU_SRCID_SDMA_SRBM_WRITE 247u

/* SDMA 4.0: SDMA0 registers; SDMA1 is SIM_AMDGPU_SDMA_STRIDE bytes above. */
#define SIM_AMDGPU_SDMA_STRIDE 0x800u
#define SIM_AMDGPU_SDMA0_CNTL 0x49F0u              /* TRAP_ENABLE b0 */
#define SIM_AMDGPU_SDMA0_STATUS_REG 0x4A14u        /* IDLE b0, RB_EMPTY b2, RB_CMD_IDLE b4 ... */
#define SIM_AMDGPU_SDMA0_F32_CNTL 0x4A28u          /* HALT b0: set at reset */
#define SIM_AMDGPU_SDMA0_GFX_RB_CNTL 0x4B80u       /* RB_ENABLE b0, RB_SIZE [6:1] log2(dwords), RPTR_WRITEBACK_ENABLE b12 */
#define SIM_AMDGPU_SDMA0_GFX_RB_BASE 0x4B84u       /* address >> 8 */
#define SIM_AMDGPU_SDMA0_GFX_RB_BASE_HI 0x4B88u    /* address >> 40 */
#define SIM_AMDGPU_SDMA0_GFX_RB_RPTR 0x4B8Cu       /* 64-bit byte offset, free running */
#define SIM_AMDGPU_SDMA0_GFX_RB_RPTR_HI 0x4B90u
#define SIM_AMDGPU_SDMA0_GFX_RB_WPTR 0x4B94u
#define SIM_AMDGPU_SDMA0_GFX_RB_WPTR_HI 0x4B98u
#define SIM_AMDGPU_SDMA0_GFX_RB_RPTR_ADDR_HI 0x4BA0u
#define SIM_AMDGPU_SDMA0_GFX_RB_RPTR_ADDR_LO 0x4BA4u
#define SIM_AMDGPU_SDMA0_GFX_IB_CNTL 0x4BA8u       /* IB_ENABLE b0 */
#define SIM_AMDGPU_SDMA0_GFX_DOORBELL 0x4BC8u      /* ENABLE b28 */
#define SIM_AMDGPU_SDMA0_GFX_DOORBELL_OFFSET 0x4C2Cu /* OFFSET [27:2] (dword index) */
#define SIM_AMDGPU_SDMA0_GFX_MINOR_PTR_UPDATE 0x4C54u /* b0: WPTR writes take effect when it returns to 0 */
#define SIM_AMDGPU_SDMA0_DOORBELL 0x780u           /* BAR2: dword 0xF0 << 1 (SDMA1: 0xF2 << 1 = 0x790) */
#define SIM_AMDGPU_SDMA1_DOORBELL 0x790u
#define SIM_AMDGPU_SDMA_CNTL_TRAP_ENABLE (1u << 0)
#define SIM_AMDGPU_SDMA_F32_HALT (1u << 0)
#define SIM_AMDGPU_SDMA_RB_ENABLE (1u << 0)
#define SIM_AMDGPU_SDMA_RB_SIZE_SHIFT 1
#define SIM_AMDGPU_SDMA_RB_RPTR_WRITEBACK_ENABLE (1u << 12)
#define SIM_AMDGPU_SDMA_IB_ENABLE (1u << 0)
#define SIM_AMDGPU_SDMA_DOORBELL_ENABLE (1u << 28)
#define SIM_AMDGPU_SDMA_STATUS_IDLE (1u << 0)
/* STATUS_REG when idle [plausible]: the documented *_IDLE / *_EMPTY bits set. */
#define SIM_AMDGPU_SDMA_STATUS_IDLE_VALUE 0x465EE557u

/* The rings the engines serve. */
enum sim_amdgpu_ring { SIM_AMDGPU_RING_GFX, SIM_AMDGPU_RING_SDMA0, SIM_AMDGPU_RING_SDMA1, SIM_AMDGPU_NUM_RINGS };

/* Misbehaviour switches for one ring (bit mask). */
enum sim_amdgpu_ring_fault {
	SIM_AMDGPU_RING_FAULT_NONE = 0,
	SIM_AMDGPU_RING_HANG = 1u << 0,      /* stops consuming at the next packet, busy, until the engine is reset */
	SIM_AMDGPU_RING_DROP_IRQ = 1u << 1,  /* EOP / trap IV entries are lost (fences are still written) */
	SIM_AMDGPU_RING_DELAY_IRQ = 1u << 2, /* EOP / trap IV entries reach the IH delay_us late */
};
int sim_amdgpu_ring_set_fault(struct sim_model *m, enum sim_amdgpu_ring ring, unsigned faults, uint32_t delay_us);

/* Why an engine stopped its ring (reset clears it). */
enum sim_amdgpu_ring_error {
	SIM_AMDGPU_RING_OK,
	SIM_AMDGPU_RING_BAD_OPCODE,  /* unknown opcode or packet type */
	SIM_AMDGPU_RING_BAD_PACKET,  /* count wrong for its opcode, past the end of its buffer, bad IB nesting */
	SIM_AMDGPU_RING_FETCH_FAULT, /* the ring or an IB could not be read through the VM */
	SIM_AMDGPU_RING_PRIV_FAULT,  /* a privileged register write from an unprivileged IB */
};

/* What a test can see of an engine beyond its registers (lock taken inside). */
struct sim_amdgpu_ring_status {
	bool busy, halted, hung;
	enum sim_amdgpu_ring_error error;
	uint32_t error_header;  /* the packet it stopped at */
	uint64_t error_addr;    /* its GPU address */
	uint64_t packets;       /* packets executed, fillers included */
	uint64_t skipped;       /* accepted but not modelled: state, draw, dispatch, GDS ... */
	uint32_t last_skipped;  /* header of the latest one */
	uint64_t op_count[256]; /* per PM4 opcode (GFX) or SDMA op */
	uint64_t irqs, irqs_dropped, irqs_delayed;
	uint64_t faults;        /* data accesses that failed translation (writes dropped, reads 0) */
};
int sim_amdgpu_ring_status(struct sim_model *m, enum sim_amdgpu_ring ring, struct sim_amdgpu_ring_status *st);

int sim_amdgpu_cp_init(struct sim_model *m);
int sim_amdgpu_sdma_init(struct sim_model *m);
/* Stop joins the thread (the model stops every engine before freeing any: one's
 * packets may reach another's register hooks); fini stops too, then frees. */
void sim_amdgpu_cp_stop(struct sim_model *m);
void sim_amdgpu_sdma_stop(struct sim_model *m);
void sim_amdgpu_cp_fini(struct sim_model *m);
void sim_amdgpu_sdma_fini(struct sim_model *m);
/* Per-engine halves of the ring API (SDMA takes instance 0/1). */
int sim_amdgpu_cp_set_fault(struct sim_model *m, unsigned faults, uint32_t delay_us);
int sim_amdgpu_cp_status(struct sim_model *m, struct sim_amdgpu_ring_status *st);
int sim_amdgpu_sdma_set_fault(struct sim_model *m, unsigned inst, unsigned faults, uint32_t delay_us);
int sim_amdgpu_sdma_status(struct sim_model *m, unsigned inst, struct sim_amdgpu_ring_status *st);

#endif
