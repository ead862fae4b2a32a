/*
 * Internal interface of the Skylake model's command streamers, shared by
 * i915_engine.c (registers, execlists, one thread per engine), i915_cmd.c
 * (the command parser) and i915_ppgtt.c (address spaces and page faults).
 * Encodings and offsets are the public ones (GPU-MODELS.md §7-9).
 */
#ifndef REDOX_DRM_SIM_I915_ENGINE_H
#define REDOX_DRM_SIM_I915_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim_i915.h"

/* Execlist context descriptor (ELSP). */
#define I915_DESC_VALID 0x1u
#define I915_DESC_ADDRESSING(d) (((d) >> 3) & 3u) /* 1: legacy 32-bit (3-level), 3: legacy 64-bit (4-level) */
#define I915_DESC_PRIVILEGE 0x100u
#define I915_DESC_LRCA(d) ((uint32_t)(d) & 0xFFFFF000u)

/* Context status buffer entry, status dword. */
#define I915_CSB_IDLE_TO_ACTIVE 0x0001u
#define I915_CSB_PREEMPTED 0x0002u
#define I915_CSB_ELEMENT_SWITCH 0x0004u
#define I915_CSB_ACTIVE_TO_IDLE 0x0008u
#define I915_CSB_COMPLETE 0x0010u
#define I915_CSB_LITE_RESTORE 0x8000u
#define I915_CSB_ENTRIES 6u
#define I915_HWSP_CSB 0x10u       /* HWSP dword of CSB entry 0 */
#define I915_HWSP_CSB_WRITE 0x1Fu /* HWSP dword of the write pointer */

/* LRC: page 1 holds the register state in MI_LOAD_REGISTER_IMM form; these are value dwords. */
#define I915_LRC_STATE_OFFSET 0x1000u
#define I915_LRC_CONTEXT_CONTROL 0x03u
#define I915_LRC_RING_HEAD 0x05u
#define I915_LRC_RING_TAIL 0x07u
#define I915_LRC_RING_START 0x09u
#define I915_LRC_RING_CTL 0x0Bu
#define I915_LRC_BB_ADDR_UDW 0x0Du
#define I915_LRC_BB_ADDR 0x0Fu
#define I915_LRC_BB_STATE 0x11u
#define I915_LRC_SBB_ADDR_UDW 0x13u
#define I915_LRC_SBB_ADDR 0x15u
#define I915_LRC_SBB_STATE 0x17u
#define I915_LRC_CTX_TIMESTAMP 0x23u
#define I915_LRC_PDP_UDW(n) (0x31u - 4u * (n))
#define I915_LRC_PDP_LDW(n) (0x33u - 4u * (n))
#define I915_LRC_DWORDS 0x34u
/* BB_STATE: the batch is in the PPGTT. The model also keeps "resume inside this batch" in bit 0
 * of BB_ADDR/SBB_ADDR, which a dword-aligned address never uses [inferred]. */
#define I915_BB_STATE_PPGTT 0x20u
#define I915_BB_ADDR_RESUME 0x1u

/* Ring registers. */
#define I915_RING_CTL_VALID 0x1u
#define I915_RING_HEAD_MASK 0x001FFFFCu
#define I915_RING_TAIL_MASK 0x001FFFF8u

/* Engine error registers: instruction error (fatal), privilege violation (command dropped). */
#define I915_ERROR_INSTRUCTION 0x1u
#define I915_ERROR_PRIV 0x4u

/* RING_RESET_CTL (masked). */
#define I915_RESET_CTL_REQUEST 0x1u
#define I915_RESET_CTL_READY 0x2u

/* GDRST domains. */
#define I915_GRDOM_FULL 0x1u
#define I915_GRDOM_RENDER 0x2u
#define I915_GRDOM_BLT 0x8u

#define I915_ADDR_MASK 0x0000FFFFFFFFFFFFull /* 48-bit; commands may carry canonical sign bits */
#define I915_GGTT_SIZE (4ull << 30)

/* TIMESTAMP and CTX_TIMESTAMP tick at CS_TIMESTAMP_FREQUENCY: 12 MHz. */
#define I915_TS_HZ 12000000ull

enum { I915_LEVELS = 3 }; /* ring, first-level batch, second-level batch */
enum { I915_PREFETCH_DWORDS = 64 };

/* A context's address space: the descriptor's addressing mode and the LRC's PDPs. */
struct i915_vm {
	bool four_level;
	uint64_t pdp[4]; /* 4-level: pdp[0] is the PML4; 3-level: four page directories */
};

/* The running context's command-stream state; only the engine thread touches it. */
struct i915_ctx {
	uint64_t desc;
	uint32_t lrca, ctx_id;
	struct i915_vm vm;
	uint32_t ring_start, ring_size, head, tail;
	unsigned level;               /* 0 ring, 1 and 2 batch levels */
	uint64_t bb[I915_LEVELS];     /* next command of each batch level */
	bool bb_ppgtt[I915_LEVELS];
	bool priv[I915_LEVELS];       /* privileged (may name the GGTT and any register) */
	bool arb;                     /* MI_ARB_ON_OFF */
	unsigned loop_spins;          /* consecutive backward jumps: a polling batch */
	uint64_t ts_base;             /* CTX_TIMESTAMP at switch-in */
	/* The command prefetch: dwords of the current stream read ahead within one page with one
	 * translation (i915_cmd.c); pf_n 0 when empty. */
	uint32_t pf[I915_PREFETCH_DWORDS];
	uint64_t pf_addr, pf_bus;     /* graphics and bus address of pf[0] */
	unsigned pf_n, pf_level;
	bool pf_ppgtt;
};

/* Attention bits: what the outside wants from an engine thread (set under the model lock). */
enum {
	I915_ATTN_SUBMIT = 1u << 0, /* an ELSP submission waits */
	I915_ATTN_RESET = 1u << 1,  /* GDRST names this engine */
	I915_ATTN_STOP = 1u << 2,   /* MI_MODE STOP_RING or RESET_CTL request: hold at a boundary */
	I915_ATTN_QUIT = 1u << 3,
	I915_ATTN_HANG = 1u << 4,   /* misbehaviour: make no progress until reset */
	I915_ATTN_LATE = 1u << 5,   /* delayed interrupts pending */
};

struct sim_i915_engines;

struct i915_engine {
	struct sim_i915_engines *g;
	unsigned id;          /* SIM_I915_RCS / SIM_I915_BCS */
	uint32_t base;        /* MMIO base of the engine's registers */
	unsigned irq_shift;   /* its bits in GT interrupt bank 0 */
	uint32_t fault_id;    /* engine ID in the fault register */
	pthread_t thread;
	bool thread_running;
	pthread_cond_t cond;  /* waits on the model lock */
	bool wake_due;        /* woken by a register write still in progress: signalled after its unlock */
	atomic_uint attn;

	/* Under the model lock. */
	uint32_t elsp[4];
	unsigned elsp_n;
	uint64_t submit[2];
	bool busy;            /* a list is loaded (MI_MODE idle clear) */
	bool paused;          /* held at a boundary */
	bool halted;          /* stopped by a CS error until reset */
	bool ctx_running;
	uint64_t ctx_ts_base, ctx_t_in_ns;
	unsigned faults;
	uint64_t delay_ns, late_due_ns;
	uint32_t late_bits;
	struct sim_i915_engine_stats stats;

	/* Engine thread only. */
	uint64_t busy_ns;      /* when it last ran a list (sim_idle.h) */
	unsigned poll_attn;    /* attn when it began to poll */
	uint64_t list[2];
	unsigned cur;
	struct i915_ctx ctx;
	uint64_t alu_srca, alu_srcb, alu_accu;
	bool alu_zf, alu_cf;
};

enum { I915_MAX_FAULT_PAGES = 8 };

struct sim_i915_engines {
	struct sim_model *m;
	pthread_mutex_t *lock; /* the model's: registers and engine state */
	struct sim_regs *r;
	bool bar_write; /* a driver's register write holds the lock: wake-ups wait for its unlock */
	pthread_mutex_t atomic_lock; /* makes read-modify-write commands atomic across engines */
	uint64_t t0_ns;        /* TIMESTAMP epoch */
	struct {
		bool ppgtt;
		uint64_t page;
	} fault_pages[I915_MAX_FAULT_PAGES]; /* misbehaviour: pages that fault on access (lock) */
	atomic_uint nfault_pages;           /* written under the lock; read first without it */
	struct i915_engine e[SIM_I915_ENGINES];
};

/* What one command-parser step ended in. */
enum i915_step {
	I915_STEP_NEXT,    /* command done */
	I915_STEP_DONE,    /* ring empty: the element is complete */
	I915_STEP_PREEMPT, /* arbitration point with a submission waiting */
	I915_STEP_HALT,    /* CS error: the engine stops */
	I915_STEP_ABORT,   /* reset or teardown: abandon the context */
};

/* ---- i915_engine.c, for the parser ---- */
uint64_t i915_now_ns(void);
uint64_t i915_timestamp(const struct sim_i915_engines *g); /* live 12 MHz counter */
/* Register access as a command sees it; an unprivileged one outside the user ranges is refused
 * (reads 0, writes dropped) and flagged in ESR/EIR. */
uint32_t i915_reg_read(struct i915_engine *e, uint32_t off, bool priv);
void i915_reg_write(struct i915_engine *e, uint32_t off, uint32_t val, bool priv);
uint64_t i915_gpr_read(struct i915_engine *e, unsigned n);
void i915_gpr_write(struct i915_engine *e, unsigned n, uint64_t v);
uint32_t i915_hwsp(struct i915_engine *e);
/* Raises engine interrupt bits (subject to the misbehaviour switches and RING_IMR). */
void i915_engine_irq(struct i915_engine *e, uint32_t bits);
/* Reports a command-streamer error for the command header at addr. */
void i915_cs_error(struct i915_engine *e, uint32_t header, uint64_t addr, uint32_t error);
/* Publishes the command about to run (ACTHD, RING_HEAD, BBADDR). */
void i915_publish_pointer(struct i915_engine *e, uint64_t addr);
bool i915_submit_waiting(struct i915_engine *e);
/* Sleeps up to ns (an ELSP, reset or stop wakes it early); false: abandon the context. */
bool i915_engine_nap(struct i915_engine *e, uint64_t ns);
void i915_stat_skipped(struct i915_engine *e, uint32_t header, int kind);
enum { I915_SKIP_STATE, I915_SKIP_DRAW, I915_SKIP_DISPATCH, I915_SKIP_BLIT, I915_SKIP_MI };

/* ---- i915_ppgtt.c ---- */
/* Memory as a command sees it: GGTT or the context's PPGTT. A miss or a write to a read-only page
 * is reported in the fault registers and the access dropped (reads give zeros); -1 then. */
int i915_mem_read(struct i915_engine *e, bool ppgtt, uint64_t addr, void *dst, size_t len);
int i915_mem_write(struct i915_engine *e, bool ppgtt, uint64_t addr, const void *src, size_t len);
/* A read within one page with one translation, or -1 for any miss or bus error without
 * reporting it: the caller falls back to i915_mem_read, which does. */
int i915_mem_read_page(struct i915_engine *e, bool ppgtt, uint64_t addr, void *dst, size_t len, uint64_t *bus_addr);
/* Writes at offsets of one page, in order, with one translation; as i915_mem_write each if
 * that misses. */
struct i915_page_write {
	uint32_t off, len;
	const void *v;
};
void i915_mem_write_page(struct i915_engine *e, bool ppgtt, uint64_t page, const struct i915_page_write *w, unsigned n);
/* Empties the command prefetch (the stream jumps, or the engine waits while memory may change). */
static inline void i915_prefetch_flush(struct i915_engine *e)
{
	e->ctx.pf_n = 0;
}
/* The 4-level / 3-level walk alone: 0 and *bus, or -1 with *type the fault type. */
int i915_ppgtt_walk(struct sim_bus *bus, const struct i915_vm *vm, uint64_t va, bool write, uint64_t *bus_addr,
		    unsigned *type);

/* ---- i915_cmd.c ---- */
/* Runs the command at the context's pointer. */
enum i915_step i915_cmd_step(struct i915_engine *e);

#endif
