/* i915 backend: private device state and the registers it programs. */
#ifndef REDOX_DRM_I915_H
#define REDOX_DRM_I915_H

#include <stdbool.h>
#include <stdint.h>

#include "redox-drm/driver.h"
#include "redox-drm/drm_ioctl.h"
#include "redox-drm/fence.h"
#include "redox-drm/hw.h"

struct drm_device;
struct drm_gem_object;
struct event_timer;
struct drm_kms_funcs;
struct hw_device;
struct i915_display;

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

/*
 * ---- Display engine registers (Skylake) [Linux display/skl_universal_plane_regs.h,
 * intel_display_regs.h, intel_cursor_regs.h, intel_gmbus_regs.h, i915_reg.h] ----
 * Pipe/transcoder B is A + 0x1000; universal plane n (1..3) is plane 1 + 0x100 * (n - 1).
 */
#define I915_PIPE_OFF(p) (0x1000u * (p))
#define TRANS_HTOTAL(p) (0x60000u + I915_PIPE_OFF(p)) /* (total-1) [31:16], (active-1) [15:0] */
#define TRANS_HBLANK(p) (0x60004u + I915_PIPE_OFF(p)) /* (end-1), (start-1) */
#define TRANS_HSYNC(p) (0x60008u + I915_PIPE_OFF(p))
#define TRANS_VTOTAL(p) (0x6000Cu + I915_PIPE_OFF(p))
#define TRANS_VBLANK(p) (0x60010u + I915_PIPE_OFF(p))
#define TRANS_VSYNC(p) (0x60014u + I915_PIPE_OFF(p))
#define PIPESRC(p) (0x6001Cu + I915_PIPE_OFF(p)) /* (width-1) [31:16], (height-1) [15:0] */
#define TRANS_DDI_FUNC_CTL(p) (0x60400u + I915_PIPE_OFF(p))
#define TRANS_DDI_FUNC_ENABLE (1u << 31)
#define TRANS_DDI_SELECT_PORT(port) ((uint32_t)(port) << 28)
#define TRANS_DDI_MODE_SELECT_HDMI (0u << 24)
#define TRANS_DDI_BPC_8 (0u << 20)
#define TRANS_DDI_PVSYNC (1u << 17)
#define TRANS_DDI_PHSYNC (1u << 16)
#define PIPEDSL(p) (0x70000u + I915_PIPE_OFF(p))
#define PIPEDSL_LINE_MASK 0xFFFFFu
#define TRANSCONF(p) (0x70008u + I915_PIPE_OFF(p))
#define TRANSCONF_ENABLE (1u << 31)
#define TRANSCONF_STATE_ENABLE (1u << 30)
#define PIPE_FRMCOUNT(p) (0x70040u + I915_PIPE_OFF(p))

#define PLANE_REG(p, n, r) (0x70180u + I915_PIPE_OFF(p) + 0x100u * ((n) - 1) + (r))
#define PLANE_CTL(p, n) PLANE_REG(p, n, 0x00)
#define PLANE_STRIDE(p, n) PLANE_REG(p, n, 0x08) /* 64-byte units for linear */
#define PLANE_POS(p, n) PLANE_REG(p, n, 0x0C)
#define PLANE_SIZE(p, n) PLANE_REG(p, n, 0x10)
#define PLANE_SURF(p, n) PLANE_REG(p, n, 0x1C)
#define PLANE_OFFSET(p, n) PLANE_REG(p, n, 0x24)
#define PLANE_SURFLIVE(p, n) PLANE_REG(p, n, 0x2C)
#define PLANE_CTL_ENABLE (1u << 31)
#define PLANE_CTL_FORMAT_XRGB_2101010 (2u << 24)
#define PLANE_CTL_FORMAT_XRGB_8888 (4u << 24)
#define PLANE_CTL_FORMAT_RGB_565 (14u << 24)
#define PLANE_CTL_ORDER_RGBX (1u << 20)
#define PLANE_CTL_ALPHA_SW_PREMULTIPLY (2u << 4)
#define CURCNTR(p) (0x70080u + I915_PIPE_OFF(p))
#define CURBASE(p) (0x70084u + I915_PIPE_OFF(p))
#define CURPOS(p) (0x70088u + I915_PIPE_OFF(p))
#define CURSURFLIVE(p) (0x700ACu + I915_PIPE_OFF(p))
#define MCURSOR_MODE_64_ARGB_AX 0x27u
#define MCURSOR_MODE_128_ARGB_AX 0x22u
#define MCURSOR_MODE_256_ARGB_AX 0x23u
#define CURSOR_POS_Y_SIGN (1u << 31)
#define CURSOR_POS_X_SIGN (1u << 15)

#define GEN8_MASTER_IRQ 0x44200u
#define GEN8_MASTER_IRQ_CONTROL (1u << 31)
#define GEN8_DE_PIPE_IRQ(p) (1u << (16 + (p)))
#define GEN8_PCH_IRQ (1u << 23)
#define GEN8_DE_PIPE_ISR(p) (0x44400u + 0x10u * (p))
#define GEN8_DE_PIPE_IMR(p) (0x44404u + 0x10u * (p))
#define GEN8_DE_PIPE_IIR(p) (0x44408u + 0x10u * (p))
#define GEN8_DE_PIPE_IER(p) (0x4440Cu + 0x10u * (p))
#define GEN8_PIPE_VBLANK (1u << 0)
#define GEN9_PIPE_PLANE_FLIP_DONE(n) (1u << (2 + (n))) /* planes 1..3: b3..b5 */

#define SDEISR 0xC4000u
#define SDEIMR 0xC4004u
#define SDEIIR 0xC4008u
#define SDEIER 0xC400Cu
#define SDE_PORT_HOTPLUG_CPT(port) (1u << (20 + (port))) /* DDI B..D: b21..b23 */
#define PCH_PORT_HOTPLUG 0xC4030u
#define PORT_HOTPLUG_ENABLE(port) (0x10u << (8 * ((port) - 1))) /* DDI B..D */

#define GMBUS0 0xC5100u
#define GMBUS_RATE_100KHZ (0u << 8)
#define GMBUS_PIN_DPC 4u
#define GMBUS_PIN_DPB 5u
#define GMBUS1 0xC5104u
#define GMBUS_SW_CLR_INT (1u << 31)
#define GMBUS_SW_RDY (1u << 30)
#define GMBUS_CYCLE_WAIT (1u << 25)
#define GMBUS_CYCLE_INDEX (2u << 25)
#define GMBUS_CYCLE_STOP (4u << 25)
#define GMBUS_BYTE_COUNT_SHIFT 16
#define GMBUS_SLAVE_INDEX_SHIFT 8
#define GMBUS_SLAVE_ADDR_SHIFT 1
#define GMBUS_SLAVE_READ 1u
#define GMBUS2 0xC5108u
#define GMBUS_HW_WAIT_PHASE (1u << 14)
#define GMBUS_HW_RDY (1u << 11)
#define GMBUS_SATOER (1u << 10)
#define GMBUS_ACTIVE (1u << 9)
#define GMBUS3 0xC510Cu

#define LCPLL2_CTL 0x46014u /* DPLL1 */
#define WRPLL_CTL1 0x46040u /* DPLL2 */
#define WRPLL_CTL2 0x46060u /* DPLL3 */
#define PLL_ENABLE (1u << 31)
#define DPLL_CTRL1 0x6C058u
#define DPLL_CTRL1_FIELD(id) (0x3Fu << (6 * (id)))
#define DPLL_CTRL1_OVERRIDE(id) (1u << (6 * (id)))
#define DPLL_CTRL1_HDMI_MODE(id) (1u << (6 * (id) + 5))
#define DPLL_CTRL2 0x6C05Cu
#define DPLL_CTRL2_DDI_CLK_OFF(port) (1u << ((port) + 15))
#define DPLL_CTRL2_DDI_CLK_SEL_MASK(port) (3u << (3 * (port) + 1))
#define DPLL_CTRL2_DDI_CLK_SEL(id, port) ((uint32_t)(id) << (3 * (port) + 1))
#define DPLL_CTRL2_DDI_SEL_OVERRIDE(port) (1u << (3 * (port)))
#define DPLL_STATUS 0x6C060u
#define DPLL_LOCK(id) (1u << (8 * (id)))
#define DPLL_CFGCR1(id) (0x6C040u + 8u * ((id) - 1))
#define DPLL_CFGCR1_FREQ_ENABLE (1u << 31)
#define DPLL_CFGCR2(id) (0x6C044u + 8u * ((id) - 1))
#define DDI_BUF_CTL(port) (0x64000u + 0x100u * (port))
#define DDI_BUF_CTL_ENABLE (1u << 31)
#define GFX_FLSH_CNTL_GEN6 0x101008u /* a write flushes the GGTT's TLBs after PTE updates */
#define GFX_FLSH_CNTL_EN 1u

/* ---- GT: interrupts and command streamers [GPU-MODELS.md §8] ---- */
#define GEN8_GT_IRQ_RCS (1u << 0) /* GEN8_MASTER_IRQ pending bits */
#define GEN8_GT_IRQ_BCS (1u << 1)
#define GEN8_GT_IMR(n) (0x44304u + 0x10u * (n))
#define GEN8_GT_IIR(n) (0x44308u + 0x10u * (n))
#define GEN8_GT_IER(n) (0x4430Cu + 0x10u * (n))
#define GT_RENDER_USER_INTERRUPT (1u << 0) /* per-engine bits: RCS [15:0], BCS [31:16] of bank 0 */
#define GT_CS_MASTER_ERROR (1u << 3)
#define GT_CONTEXT_SWITCH (1u << 8)
#define BLT_RING_BASE 0x22000u
#define RING_TAIL(base) ((base) + 0x30u)
#define RING_HEAD(base) ((base) + 0x34u)
#define RING_START(base) ((base) + 0x38u)
#define RING_CTL(base) ((base) + 0x3Cu)
#define RING_IPEHR(base) ((base) + 0x68u)
#define RING_ACTHD(base) ((base) + 0x74u)
#define RING_HWS_PGA(base) ((base) + 0x80u)
#define RING_HWSTAM(base) ((base) + 0x98u)
#define RING_MI_MODE(base) ((base) + 0x9Cu)
#define MI_MODE_STOP_RING (1u << 8)
#define MI_MODE_IDLE (1u << 9)
#define RING_IMR(base) ((base) + 0xA8u)
#define RING_EIR(base) ((base) + 0xB0u)
#define RING_EMR(base) ((base) + 0xB4u)
#define RING_RESET_CTL(base) ((base) + 0xD0u)
#define RESET_CTL_REQUEST_RESET (1u << 0)
#define RESET_CTL_READY_TO_RESET (1u << 1)
#define RING_ELSP(base) ((base) + 0x230u)
#define RING_EXECLIST_STATUS_LO(base) ((base) + 0x234u)
#define RING_GFX_MODE(base) ((base) + 0x29Cu)
#define GFX_RUN_LIST_ENABLE (1u << 15)
#define RING_CSB_PTR(base) ((base) + 0x3A0u) /* masked: write [2:0], read [10:8] */
#define GEN6_GDRST 0x941Cu
#define GRDOM_FULL (1u << 0)
#define GRDOM_RENDER (1u << 1)
#define GRDOM_BLT (1u << 3)
#define GEN8_FAULT_REG 0x4094u /* VALID b0, type [2:1], engine [14:12] */
#define GEN8_FAULT_TLB_DATA0 0x4B10u
#define GEN8_FAULT_TLB_DATA1 0x4B14u

/* Status page dwords: the CSB copy, its write pointer, and the engine's breadcrumb. */
#define I915_HWSP_CSB 0x10u
#define I915_HWSP_CSB_WRITE 0x1Fu
#define I915_HWSP_SEQNO 0x40u /* a qword: PIPE_CONTROL writes 8 bytes */
#define I915_CSB_ENTRIES 6u
#define CSB_IDLE_TO_ACTIVE (1u << 0)
#define CSB_PREEMPTED (1u << 1)
#define CSB_ELEMENT_SWITCH (1u << 2)
#define CSB_ACTIVE_TO_IDLE (1u << 3)
#define CSB_COMPLETE (1u << 4)
#define CSB_LITE_RESTORE (1u << 15)

enum i915_port { I915_PORT_A = 0, I915_PORT_B, I915_PORT_C, I915_PORT_D, I915_PORT_E };
enum { I915_NUM_PIPES = 2 }; /* Skylake has three; the driver (and the model) use A and B */

/* GGTT address space bookkeeping: allocated ranges, sorted by offset. */
struct i915_ggtt_range {
	uint64_t start, size; /* size includes the unmapped guard page that ends every range */
	struct i915_ggtt_range *next;
};

struct i915_ggtt {
	uint64_t start, end; /* the allocatable part of the GGTT */
	struct i915_ggtt_range *used;
};

/* ---- Engines (i915_engine.c, i915_execlists.c, i915_breadcrumbs.c) ---- */
enum i915_engine_id { I915_RCS0, I915_BCS0, I915_NUM_ENGINES };

struct i915_lrc;
struct i915_request;

struct i915_engine {
	struct i915_device *i915;
	enum i915_engine_id id;
	const char *name;     /* "rcs0", "bcs0" */
	uint16_t uabi_class;  /* I915_ENGINE_CLASS_* */
	uint32_t base;        /* MMIO base of its registers */
	unsigned irq_shift;   /* its bits in GT interrupt bank 0 */
	bool up;              /* programmed: takes requests */
	bool ready;           /* up and passed its self-test: offered to clients */
	/* The engine's status page: CSB copy, write pointer, breadcrumb seqno. */
	struct hw_dma hwsp;
	uint64_t hwsp_ggtt;
	/* Breadcrumbs: every request not yet signalled, in seqno (= execution) order. */
	uint64_t fence_context;
	uint64_t next_seqno;
	struct i915_request *signal_head, **signal_tail;
	struct event_timer *fallback; /* lost-interrupt poll while requests are outstanding (it runs out idle) */
	/* Execlists: requests written to rings but not yet given to the ELSP, in order. */
	struct i915_request *queue_head, **queue_tail;
	struct i915_lrc *pending[2]; /* written to the ELSP, not yet acknowledged */
	struct i915_lrc *active[2];  /* on the hardware (IDLE_TO_ACTIVE seen) */
	unsigned csb_head;           /* last CSB entry read */
	struct i915_lrc *lrcs;       /* every context of this engine (reset fixes their rings up) */
	/* Counters (tests and benchmarks read them). */
	uint64_t irqs, csb_events, submits, fallback_signals, resets, cs_errors;
	uint64_t page_faults;      /* GPU page faults the fault registers reported for this engine */
	uint64_t last_fault_addr;  /* and the address of the last one */
	uint64_t replay_gen;
};

/* A logical ring context of one (GEM context, engine): image + ring in one GGTT range. */
struct i915_lrc {
	unsigned refcount;   /* the owner, in-flight requests, execlist ports */
	bool destroyed;      /* the owner let go */
	struct i915_engine *engine;
	struct i915_address_space *vm;
	struct hw_dma mem;
	uint64_t ggtt;       /* LRCA; the ring follows the image */
	uint32_t ring_ggtt, ring_size;
	uint32_t *ring, *state; /* CPU views: ring, register state page */
	uint32_t ctx_id;     /* descriptor bits [52:32], as the CSB reports it */
	uint32_t emit;       /* next byte to write in the ring */
	uint32_t retired;    /* the engine is past this offset */
	uint64_t replay_gen; /* internal: the replay that already set its head */
	struct i915_lrc *next; /* engine->lrcs */
};

struct i915_request {
	struct drm_fence fence; /* context: the engine; seqno: 64-bit, its low 32 bits in the HWSP */
	struct i915_engine *engine; /* until retired */
	struct i915_lrc *lrc;  /* until retired */
	const char *timeline;  /* the engine's name */
	uint32_t head;         /* ring offset of its first command (where a replay starts) */
	uint32_t postfix;      /* ring offset of its breadcrumb: the engine is past it once signalled */
	uint32_t tail;         /* ring offset after it */
	struct i915_request *signal_next, *queue_next;
};

/* ---- PPGTT (i915_ppgtt.c) ---- */
#define I915_VM_READ_ONLY 0x1u
#define I915_VM_TOTAL (1ull << 48)
struct i915_pt;
struct i915_pt_pool;
struct i915_vm_node;
/* A 4-level PPGTT (refcounted). Page tables live in DMA memory the VM allocated. */
struct i915_address_space {
	unsigned refcount;
	struct i915_device *i915;
	struct i915_pt *pml4;
	struct i915_pt_pool *pool;
	struct i915_vm_node *nodes; /* bound and reserved ranges, sorted */
	uint64_t bound_bytes;
};

struct i915_address_space *i915_ppgtt_create(struct i915_device *i915);
struct i915_address_space *i915_vm_get(struct i915_address_space *vm);
void i915_vm_put(struct i915_address_space *vm);
/* The PML4's bus address, for the LRC's PDP0. */
uint64_t i915_vm_pml4(const struct i915_address_space *vm);
/* Maps [va, va+size) to obj's memory from offset; flags I915_VM_READ_ONLY. Takes a reference to
 * obj until unbound. va, offset and size page aligned, inside the 48-bit space and the object:
 * else -EINVAL. A range overlapping another binding: -ENOSPC. A range i915_vm_alloc_va handed
 * out is filled. -ENOMEM. */
int i915_vm_bind(struct i915_address_space *vm, uint64_t va, struct drm_gem_object *obj, uint64_t offset,
		 uint64_t size, unsigned flags);
/* Clears every binding and reservation inside [va, va+size) (bindings partly inside are cut). */
void i915_vm_unbind(struct i915_address_space *vm, uint64_t va, uint64_t size);
/* Finds and reserves free VA (for objects not soft-pinned): -EINVAL, -ENOSPC. */
int i915_vm_alloc_va(struct i915_address_space *vm, uint64_t size, uint64_t align, uint64_t *va);
/* Where va points (bus address), for tests: 0 and *bus, or -ENOENT. */
int i915_vm_lookup(struct i915_address_space *vm, uint64_t va, uint64_t *bus, bool *writable);

/* ---- LRC and submission (i915_execlists.c) ---- */
struct i915_lrc *i915_lrc_create(struct i915_device *i915, enum i915_engine_id id, struct i915_address_space *vm);
/* The owner's reference; the memory stays until the hardware is done with the context. */
void i915_lrc_destroy(struct i915_lrc *lrc);
/*
 * Writes MI_BATCH_BUFFER_START(ppgtt) + a breadcrumb (seqno write + MI_USER_INTERRUPT) into the
 * LRC's ring and submits it through the ELSP (or queues it until the ports are free). *hw_fence
 * (a reference) signals when the breadcrumb lands, from the user interrupt or the lost-interrupt
 * fallback. -ENODEV engine not up (check engine->ready before offering it), -EINVAL bad batch address, -ENOSPC ring full, -ENOMEM.
 */
int i915_request_submit(struct i915_lrc *lrc, uint64_t batch_va, uint32_t batch_len, struct drm_fence **hw_fence);
/* Resets one engine through its reset registers; its outstanding fences complete with
 * -ECANCELED and the engine accepts new work after. -ENODEV / -EIO (engine not ready again).
 * (A command-streamer error needs no call: the driver resets the engine itself, fails the
 * request that caused it with -EIO and runs the ones behind it again.) */
int i915_engine_reset(struct i915_device *i915, enum i915_engine_id id);
struct i915_engine *i915_engine_get(struct i915_device *i915, enum i915_engine_id id); /* NULL */

/* internal to the engine files */
int i915_engines_init(struct drm_device *dev, struct i915_device *i915);
void i915_engines_fini(struct i915_device *i915);
void i915_engine_gt_irq(struct i915_engine *engine, uint32_t iir);
/* Reads, logs and clears the GPU page fault the fault registers hold, if any. */
void i915_gt_check_faults(struct i915_device *i915);
void i915_engine_hw_init(struct i915_engine *engine);
void i915_execlists_process_csb(struct i915_engine *engine);
void i915_execlists_dequeue(struct i915_engine *engine);
void i915_execlists_reset(struct i915_engine *engine);
void i915_execlists_replay(struct i915_engine *engine);
void i915_lrc_get(struct i915_lrc *lrc);
void i915_lrc_put(struct i915_lrc *lrc);
void i915_breadcrumbs_add(struct i915_engine *engine, struct i915_request *rq);
void i915_breadcrumbs_process(struct i915_engine *engine);
void i915_breadcrumbs_cancel(struct i915_engine *engine, int error);
/* Unlinks the oldest outstanding request (NULL if none); complete it after. */
struct i915_request *i915_breadcrumbs_detach_first(struct i915_engine *engine);
/* Signals (with error if not 0) and drops the engine's reference. */
void i915_request_complete(struct i915_request *rq, int error);
bool i915_seqno_passed(uint32_t a, uint32_t b);
uint32_t i915_hwsp_seqno(const struct i915_engine *engine);
extern const struct drm_fence_ops i915_request_fence_ops;

struct i915_device {
	struct hw_device *hw;
	struct drm_device *drm;
	struct i915_engine engine[I915_NUM_ENGINES];
	uint32_t next_ctx_id;
	uint64_t ggtt_size;  /* bytes of graphics address space the GGTT maps */
	uint32_t slice_mask;
	uint32_t subslice_mask; /* per slice; gen9 fuses disable the same subslices in every slice */
	uint32_t slice_total, subslice_total, eu_total;
	uint32_t eu_per_subslice; /* the most EUs any enabled subslice has */
	uint8_t eu_mask[GEN9_MAX_SLICES][GEN9_MAX_SUBSLICES]; /* enabled EUs of each subslice, from the fuses */
	struct i915_ggtt ggtt;
	struct i915_display *display; /* KMS state (i915_display.c), NULL until modeset_init */
	/* Serves the display's interrupt banks named in GEN8_MASTER_IRQ's pending bits (set by
	 * modeset_init; the master handler in i915_drv.c calls it with the master disabled). */
	void (*display_irq)(struct drm_device *dev, uint32_t master);
	struct i915_exec *exec; /* command submission: a scheduler per engine (i915_execbuffer.c) */
};

/* Render forcewake around register reads the GT must be awake for (i915_drv.c). */
int i915_forcewake_get(struct hw_device *hw);
int i915_forcewake_put(struct hw_device *hw);

/* ---- uAPI (i915_uapi.c, i915_gem.c) ---- */
#define RENDER_RING_BASE 0x2000u
#define RING_TIMESTAMP(base) ((base) + 0x358u)
#define RING_TIMESTAMP_UDW(base) ((base) + 0x35Cu)
/* The command streamer's timestamp: 24 MHz crystal divided by the CTC shift (gen9). */
#define I915_CS_TIMESTAMP_HZ 12000000u
/* Driver ioctl numbers 0..DRM_I915_GEM_VM_DESTROY (0x3b); i915_uapi.c checks it against the uAPI header. */
#define I915_NUM_IOCTLS 0x3Cu
extern const struct drm_ioctl_desc i915_ioctls[I915_NUM_IOCTLS];
struct drm_file;
int i915_driver_open(struct drm_device *dev, struct drm_file *file);
void i915_driver_postclose(struct drm_device *dev, struct drm_file *file);

/* ---- sysfs and debugfs entries (i915_sysfs.c) ---- */

#define I915_NUM_TREE_FILES 15u
extern const struct drm_tree_file i915_tree_files[];

/* ---- GGTT (i915_ggtt.c) ---- */
#define I915_GGTT_PTE_PRESENT 0x1ull
#define I915_GGTT_PTE_UNCACHED 0x18ull /* PWT | PCD: PPAT entry for uncached (scanout) */
void i915_ggtt_init(struct i915_device *i915);
void i915_ggtt_fini(struct i915_device *i915);
/* Reserves size bytes (rounded to pages) at an align-aligned offset, plus a guard page after it,
 * so a fetch running past the end hits an unmapped PTE. 0, -EINVAL or -ENOSPC. */
int i915_ggtt_alloc(struct i915_device *i915, uint64_t size, uint64_t align, uint64_t *offset);
void i915_ggtt_free(struct i915_device *i915, uint64_t offset);
/* Points the PTEs of [offset, offset + size) at contiguous bus memory, then flushes. */
void i915_ggtt_map(struct i915_device *i915, uint64_t offset, uint64_t bus_addr, uint64_t size, uint64_t flags);
void i915_ggtt_unmap(struct i915_device *i915, uint64_t offset, uint64_t size);

/* ---- Display (i915_display.c) ---- */
/* What the KMS core drives (struct drm_driver.kms once DRIVER_MODESET is on). */
extern const struct drm_kms_funcs i915_kms_funcs;

#endif
