/*
 * The GFX command processor of GC 9.0: ME0 pipe 0, the one GFX ring (facts
 * §1-2). A thread fetches PM4 packets from the ring and from the IBs it
 * points to, always through the GFXHUB translation of the stream's VMID, and
 * executes the packets that move data, wait, branch and signal. A fence is in
 * memory before its EOP entry reaches the IH ring.
 *
 * Shaders are never executed. State, draw and dispatch packets are parsed by
 * their length, counted and skipped; SET_*_REG values are only stored in the
 * register file. So rendering and compute results are not produced.
 *
 * A malformed packet stops the ring where it is, busy (GRBM_STATUS, CP_STAT),
 * its header in CP_ME/PFP_HEADER_DUMP and an OPCODE_ERROR interrupt if enabled,
 * until the driver soft-resets the CP (GRBM_SOFT_RESET).
 *
 * Locking: the thread holds the model lock while it works and drops it
 * between packets and while it sleeps, so every engine's register, memory and
 * IH accesses are ordered by that one lock.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_amdgpu.h"

/* PM4 type-3 opcodes the CP acts on (soc15d.h). */
enum {
	OP_NOP = 0x10,
	OP_COND_EXEC = 0x22,
	OP_CONTEXT_REG_RMW = 0x51,
	OP_WRITE_DATA = 0x37,
	OP_INDIRECT_BUFFER_CONST = 0x33,
	OP_INDIRECT_BUFFER = 0x3F,
	OP_WAIT_REG_MEM = 0x3C,
	OP_COPY_DATA = 0x40,
	OP_EVENT_WRITE_EOP = 0x47,
	OP_RELEASE_MEM = 0x49,
	OP_DMA_DATA = 0x50,
	OP_SET_CONFIG_REG = 0x68,
	OP_SET_CONTEXT_REG = 0x69,
	OP_SET_SH_REG = 0x76,
	OP_SET_UCONFIG_REG = 0x79,
	OP_SET_UCONFIG_REG_INDEX = 0x7A,
	OP_SET_SH_REG_INDEX = 0x9B,
};

/*
 * Accepted and skipped by length: state, draw, dispatch, cache and
 * synchronisation packets whose effect the model has nothing to apply to.
 */
static const uint8_t skipped_ops[] = {
	0x11, /* SET_BASE */          0x12, /* CLEAR_STATE */      0x13, /* INDEX_BUFFER_SIZE */
	0x15, /* DISPATCH_DIRECT */   0x16, /* DISPATCH_INDIRECT */ 0x1E, /* ATOMIC_MEM */
	0x1F, /* OCCLUSION_QUERY */   0x20, /* SET_PREDICATION */  0x23, /* PRED_EXEC */
	0x24, /* DRAW_INDIRECT */     0x25, /* DRAW_INDEX_INDIRECT */ 0x26, /* INDEX_BASE */
	0x27, /* DRAW_INDEX_2 */      0x28, /* CONTEXT_CONTROL */  0x2A, /* INDEX_TYPE */
	0x2C, /* DRAW_INDIRECT_MULTI */ 0x2D, /* DRAW_INDEX_AUTO */ 0x2F, /* NUM_INSTANCES */
	0x30, /* DRAW_INDEX_MULTI_AUTO */ 0x34, /* STRMOUT_BUFFER_UPDATE */ 0x35, /* DRAW_INDEX_OFFSET_2 */
	0x36, /* DRAW_PREAMBLE */     0x38, /* DRAW_INDEX_INDIRECT_MULTI */ 0x42, /* PFP_SYNC_ME */
	0x46, /* EVENT_WRITE */       0x4A, /* PREAMBLE_CNTL */    0x58, /* ACQUIRE_MEM */
	0x5D, /* PRIME_UTCL2 */       0x5E, /* LOAD_UCONFIG_REG */ 0x5F, /* LOAD_SH_REG */
	0x61, /* LOAD_CONTEXT_REG */  0x63, /* LOAD_SH_REG_INDEX */ 0x77, /* SET_SH_REG_OFFSET */
	0x80, /* LOAD_CONST_RAM */    0x81, /* WRITE_CONST_RAM */  0x83, /* DUMP_CONST_RAM */
	0x84, /* INCREMENT_CE_COUNTER */ 0x85, /* INCREMENT_DE_COUNTER */ 0x86, /* WAIT_ON_CE_COUNTER */
	0x88, /* WAIT_ON_DE_COUNTER_DIFF */ 0x89, /* CE counter */ 0x8B, /* SWITCH_BUFFER */
	0x90, /* FRAME_CONTROL */     0x9F, /* LOAD_CONTEXT_REG_INDEX */
};

#define PKT_MAX_DW (0x3FFFu + 2u) /* header + the largest body */
#define CHUNK 16384u
#define PREFETCH_DW 64u /* the prefetch parser's queue */
/* Register ranges an unprivileged IB may write (SH, context, uconfig). */
#define USER_SH_LO 0xB000u
#define USER_SH_HI 0xC000u
#define USER_CTX_LO 0x28000u
#define USER_UCFG_HI 0x40000u
#define GRBM_SOFT_RESET_CP_BITS (SIM_AMDGPU_GRBM_SOFT_RESET_CP | SIM_AMDGPU_GRBM_SOFT_RESET_GFX | (7u << 17))

struct stream {
	uint64_t va;        /* GPU address of dword 0 */
	uint32_t size, pos; /* dwords */
	uint8_t vmid;
	bool priv, ce;
};

/* A WAIT_REG_MEM waiting for its condition. */
struct cp_wait {
	uint32_t len;  /* packet dwords to retire when it is met */
	bool mem;
	uint64_t addr; /* memory address, or register byte offset */
	uint32_t func, ref, mask;
	uint64_t poll_ns;
	uint8_t vmid;
};

struct sim_amdgpu_cp {
	struct sim_model *m;
	pthread_t thread;
	bool started, stop;

	uint32_t rptr;      /* dword offset in the ring */
	uint32_t ring_skip; /* COND_EXEC dwords still to discard at ring level */
	struct stream ib[2]; /* IB1, IB2 */
	unsigned depth;      /* 0: fetching from the ring */
	uint32_t ring_ib_len; /* the ring packet that started IB1, retired when IB1 ends */
	bool waiting;
	struct cp_wait w;
	uint64_t generation; /* bumped by resets: a packet in flight then retires nothing */
	bool wrote;          /* memory changed: other engines may be polling */
	struct sim_amdgpu_waiter *waiter;

	enum sim_amdgpu_ring_error error;
	uint32_t error_header;
	uint64_t error_addr;
	bool hung;
	unsigned faults;
	uint64_t delay_ns;
	struct sim_amdgpu_iv_queue delayed;
	struct sim_amdgpu_ring_status st;

	/*
	 * Dwords the prefetch parser read ahead of the packet being executed, in
	 * one stream and one page: one translation serves the packets in them.
	 * Emptied whenever the stream changes or is reset.
	 */
	struct {
		uint32_t n;
		unsigned depth;
		uint64_t addr; /* GPU address of dw[0] */
		uint32_t dw[PREFETCH_DW];
	} pf;

	uint32_t pkt[PKT_MAX_DW];
	uint8_t chunk[CHUNK];
};

struct ring_cfg {
	uint64_t base;
	uint32_t size, mask; /* dwords */
	uint8_t vmid;
};

/* What the packet being executed runs as. */
struct exec_ctx {
	uint8_t vmid;
	bool priv;
	uint64_t addr; /* GPU address of its header */
	uint32_t header;
};

enum exec { EX_DONE, EX_WAIT, EX_MOVED, EX_ERROR };

/* The 64-bit GPU clock counter (the reference clock the IH stamps with). */
static uint64_t gpu_clock(void)
{
	uint64_t t = sim_amdgpu_now_ns();
	return t / 1000000000ull * SIM_AMDGPU_GPU_CLOCK_HZ + t % 1000000000ull * SIM_AMDGPU_GPU_CLOCK_HZ / 1000000000ull;
}

static struct sim_amdgpu_cp *get_cp(struct sim_model *m)
{
	return sim_amdgpu_engine(m, SIM_AMDGPU_ENGINE_CP);
}

static bool halted(const struct sim_regs *r)
{
	return sim_regs_get(r, SIM_AMDGPU_CP_ME_CNTL) & (SIM_AMDGPU_CP_ME_CNTL_ME_HALT | SIM_AMDGPU_CP_ME_CNTL_PFP_HALT);
}

static bool ring_cfg(const struct sim_regs *r, struct ring_cfg *c)
{
	unsigned bufsz = sim_regs_get(r, SIM_AMDGPU_CP_RB0_CNTL) & SIM_AMDGPU_CP_RB_CNTL_BUFSZ_MASK;
	if (bufsz < 1 || bufsz > 20) /* 16 bytes .. 8 MiB */
		return false;
	c->size = 2u << bufsz;
	c->mask = c->size - 1;
	c->base = ((uint64_t)sim_regs_get(r, SIM_AMDGPU_CP_RB0_BASE) |
		   (uint64_t)(sim_regs_get(r, SIM_AMDGPU_CP_RB0_BASE_HI) & 0xFFu) << 32) << 8;
	c->vmid = sim_regs_get(r, SIM_AMDGPU_CP_RB_VMID) & 0xFu;
	return true;
}

static uint32_t ring_avail(const struct sim_amdgpu_cp *cp, const struct sim_regs *r, const struct ring_cfg *rc)
{
	return (sim_regs_get(r, SIM_AMDGPU_CP_RB0_WPTR) - cp->rptr) & rc->mask;
}

static bool busy(const struct sim_amdgpu_cp *cp)
{
	const struct sim_regs *r = sim_amdgpu_mmio(cp->m);
	if (cp->error || cp->hung)
		return true;
	if (halted(r))
		return false;
	struct ring_cfg rc;
	return cp->depth || cp->waiting || cp->ring_skip || (ring_cfg(r, &rc) && ring_avail(cp, r, &rc));
}

/* ---- memory and registers, as the packet's stream sees them ---- */

/* The CP reads and writes through the GFXHUB; its failed accesses raise UTCL2 faults. */
static int vm_ctx(struct sim_amdgpu_cp *cp, uint8_t vmid, struct sim_amdgpu_vm_ctx *vm)
{
	return sim_amdgpu_engine_vm(cp->m, SIM_AMDGPU_GFXHUB, vmid, vm);
}

static void mem_read(struct sim_amdgpu_cp *cp, uint8_t vmid, uint64_t addr, void *dst, size_t len)
{
	if (sim_amdgpu_engine_read(cp->m, SIM_AMDGPU_GFXHUB, vmid, addr, dst, len))
		cp->st.faults++;
}

static void mem_write(struct sim_amdgpu_cp *cp, uint8_t vmid, uint64_t addr, const void *src, size_t len)
{
	if (sim_amdgpu_engine_write(cp->m, SIM_AMDGPU_GFXHUB, vmid, addr, src, len))
		cp->st.faults++;
	cp->wrote = true;
}

static uint32_t mem_read32(struct sim_amdgpu_cp *cp, uint8_t vmid, uint64_t addr)
{
	uint32_t v;
	mem_read(cp, vmid, addr, &v, sizeof(v));
	return v;
}

static uint32_t reg_read(struct sim_amdgpu_cp *cp, uint64_t byte_off)
{
	return sim_regs_read(sim_amdgpu_mmio(cp->m), byte_off);
}

static bool user_reg(uint64_t off)
{
	return (off >= USER_SH_LO && off < USER_SH_HI) || (off >= USER_CTX_LO && off < USER_UCFG_HI);
}

static void post_irq(struct sim_amdgpu_cp *cp, const struct sim_amdgpu_iv *iv);
static void fail(struct sim_amdgpu_cp *cp, enum sim_amdgpu_ring_error err, const struct exec_ctx *x);

/*
 * A register write from a packet. Unprivileged IBs (user VMIDs) reach only
 * the SH, context and uconfig ranges; anything else is a privileged register
 * fault that stops the ring, so a command stream cannot reprogram the VM.
 */
static bool reg_write(struct sim_amdgpu_cp *cp, const struct exec_ctx *x, uint64_t byte_off, uint32_t val)
{
	if (!x->priv && !user_reg(byte_off)) {
		fail(cp, SIM_AMDGPU_RING_PRIV_FAULT, x);
		return false;
	}
	sim_regs_write(sim_amdgpu_mmio(cp->m), byte_off, val);
	sim_amdgpu_engines_notify(cp->m, true, (uint32_t)byte_off, 4);
	return true;
}

/* ---- interrupts ---- */

static void post_irq(struct sim_amdgpu_cp *cp, const struct sim_amdgpu_iv *iv)
{
	if (cp->faults & SIM_AMDGPU_RING_DROP_IRQ) {
		cp->st.irqs_dropped++;
		return;
	}
	if ((cp->faults & SIM_AMDGPU_RING_DELAY_IRQ) && sim_amdgpu_iv_queue_push(&cp->delayed, sim_amdgpu_now_ns() + cp->delay_ns, iv)) {
		cp->st.irqs_delayed++;
		return;
	}
	sim_amdgpu_ih_post(cp->m, iv);
	cp->st.irqs++;
}

static void post_delayed(struct sim_amdgpu_cp *cp, uint64_t now, uint64_t *deadline)
{
	cp->st.irqs += sim_amdgpu_iv_queue_flush(&cp->delayed, cp->m, now, deadline);
}

/* ---- ring state ---- */

static void rptr_writeback(struct sim_amdgpu_cp *cp, const struct ring_cfg *rc)
{
	struct sim_regs *r = sim_amdgpu_mmio(cp->m);
	sim_regs_set(r, SIM_AMDGPU_CP_RB0_RPTR, cp->rptr);
	uint64_t addr = (uint64_t)(sim_regs_get(r, SIM_AMDGPU_CP_RB0_RPTR_ADDR) & ~3u) |
			(uint64_t)(sim_regs_get(r, SIM_AMDGPU_CP_RB0_RPTR_ADDR_HI) & 0xFFFFu) << 32;
	if (addr && !(sim_regs_get(r, SIM_AMDGPU_CP_RB0_CNTL) & SIM_AMDGPU_CP_RB_CNTL_RB_NO_UPDATE))
		mem_write(cp, rc->vmid, addr, &cp->rptr, sizeof(cp->rptr)); /* gfx9: a 32-bit dword offset */
}

/*
 * Consumes len dwords of the current stream. At ring level RPTR moves with
 * every packet, but the CP writes it to memory only as it finishes an
 * RB_BLKSZ block of the ring (2^(BLKSZ+3) bytes) and when it has caught up
 * with WPTR.
 */
static void retire(struct sim_amdgpu_cp *cp, const struct ring_cfg *rc, uint32_t len)
{
	if (cp->depth) {
		cp->ib[cp->depth - 1].pos += len;
		return;
	}
	struct sim_regs *r = sim_amdgpu_mmio(cp->m);
	unsigned blk_shift = ((sim_regs_get(r, SIM_AMDGPU_CP_RB0_CNTL) >> SIM_AMDGPU_CP_RB_CNTL_BLKSZ_SHIFT) & 0x3Fu) + 1;
	uint64_t end = (uint64_t)cp->rptr + len;
	bool block_done = blk_shift >= 32 || (cp->rptr >> blk_shift) != (end >> blk_shift) || end > rc->mask;
	cp->rptr = (uint32_t)end & rc->mask;
	if (block_done || ring_avail(cp, r, rc) == 0)
		rptr_writeback(cp, rc);
	else
		sim_regs_set(r, SIM_AMDGPU_CP_RB0_RPTR, cp->rptr);
}

/* Drops whatever was in flight. */
static void drop_state(struct sim_amdgpu_cp *cp)
{
	cp->depth = 0;
	cp->ring_skip = 0;
	cp->waiting = false;
	cp->generation++;
	cp->pf.n = 0;
}

static void set_rptr(struct sim_amdgpu_cp *cp, uint32_t rptr)
{
	struct sim_regs *r = sim_amdgpu_mmio(cp->m);
	struct ring_cfg rc;
	drop_state(cp);
	cp->rptr = ring_cfg(r, &rc) ? rptr & rc.mask : rptr;
	sim_regs_set(r, SIM_AMDGPU_CP_RB0_RPTR, cp->rptr);
}

static void fail(struct sim_amdgpu_cp *cp, enum sim_amdgpu_ring_error err, const struct exec_ctx *x)
{
	struct sim_regs *r = sim_amdgpu_mmio(cp->m);
	cp->error = err;
	cp->error_header = x->header;
	cp->error_addr = x->addr;
	sim_regs_set(r, SIM_AMDGPU_CP_ME_HEADER_DUMP, x->header);
	sim_regs_set(r, SIM_AMDGPU_CP_PFP_HEADER_DUMP, x->header);
	uint32_t bit = 0;
	uint8_t src = 0;
	if (err == SIM_AMDGPU_RING_PRIV_FAULT) {
		bit = SIM_AMDGPU_CP_INT_PRIV_REG;
		src = SIM_AMDGPU_SRCID_CP_PRIV_REG_FAULT;
	} else if (err == SIM_AMDGPU_RING_BAD_OPCODE || err == SIM_AMDGPU_RING_BAD_PACKET) {
		bit = SIM_AMDGPU_CP_INT_OPCODE_ERROR;
		src = SIM_AMDGPU_SRCID_CP_BAD_OPCODE;
	}
	if (!bit)
		return;
	sim_regs_set(r, SIM_AMDGPU_CP_INT_STATUS_RING0, sim_regs_get(r, SIM_AMDGPU_CP_INT_STATUS_RING0) | bit);
	if (sim_regs_get(r, SIM_AMDGPU_CP_INT_CNTL_RING0) & bit) {
		/* A fault is not an EOP: the misbehaviour switches do not apply to it. */
		const struct sim_amdgpu_iv iv = {.client_id = SIM_AMDGPU_IH_CLIENT_GRBM_CP, .src_id = src};
		sim_amdgpu_ih_post(cp->m, &iv);
	}
}

/* ---- packets ---- */

static enum exec bad(struct sim_amdgpu_cp *cp, enum sim_amdgpu_ring_error err, const struct exec_ctx *x)
{
	fail(cp, err, x);
	return EX_ERROR;
}

static bool skipped_op(uint8_t op)
{
	for (size_t i = 0; i < sizeof(skipped_ops); i++)
		if (skipped_ops[i] == op)
			return true;
	return false;
}

static void skip(struct sim_amdgpu_cp *cp, uint32_t header)
{
	cp->st.skipped++;
	cp->st.last_skipped = header;
}

static uint64_t addr64(uint32_t lo, uint32_t hi)
{
	return (uint64_t)lo | (uint64_t)hi << 32;
}

static bool compare(uint32_t func, uint32_t val, uint32_t ref, uint32_t mask)
{
	/* Masked on both sides [inferred]: the kernel's VM flush passes the whole REQ word as ref. */
	val &= mask;
	ref &= mask;
	switch (func) {
	case 0: return true;
	case 1: return val < ref;
	case 2: return val <= ref;
	case 3: return val == ref;
	case 4: return val != ref;
	case 5: return val >= ref;
	case 6: return val > ref;
	default: return false;
	}
}

static bool wait_met(struct sim_amdgpu_cp *cp)
{
	const struct cp_wait *w = &cp->w;
	uint32_t v = w->mem ? mem_read32(cp, w->vmid, w->addr) : reg_read(cp, w->addr);
	return compare(w->func, v, w->ref, w->mask);
}

/* Data and fence writes of RELEASE_MEM / EVENT_WRITE_EOP, then the EOP interrupt. */
static void end_of_pipe(struct sim_amdgpu_cp *cp, const struct exec_ctx *x, uint32_t data_sel, uint32_t int_sel,
			uint64_t addr, uint64_t data, uint32_t ctx_id)
{
	switch (data_sel) {
	case 0: /* discard */
		break;
	case 1: {
		uint32_t v = (uint32_t)data;
		mem_write(cp, x->vmid, addr & ~3ull, &v, sizeof(v));
		break;
	}
	case 2:
		mem_write(cp, x->vmid, addr & ~7ull, &data, sizeof(data));
		break;
	case 3:   /* GPU clock */
	case 4: { /* system clock [plausible: the same counter] */
		uint64_t t = gpu_clock();
		mem_write(cp, x->vmid, addr & ~7ull, &t, sizeof(t));
		break;
	}
	default: /* GDS data: no GDS is modelled */
		skip(cp, x->header);
		break;
	}
	/* INT_SEL 1: interrupt; 2: interrupt once the write is confirmed (it is, above). */
	if ((int_sel == 1 || int_sel == 2) &&
	    (sim_regs_get(sim_amdgpu_mmio(cp->m), SIM_AMDGPU_CP_INT_CNTL_RING0) & SIM_AMDGPU_CP_INT_TIME_STAMP)) {
		const struct sim_amdgpu_iv iv = {
			.client_id = SIM_AMDGPU_IH_CLIENT_GRBM_CP, .src_id = SIM_AMDGPU_SRCID_CP_EOP,
			.ring_id = 0, /* me 0, pipe 0, queue 0: the GFX ring */
			.src_data = {ctx_id},
		};
		post_irq(cp, &iv);
	}
}

static enum exec do_write_data(struct sim_amdgpu_cp *cp, const struct exec_ctx *x, const uint32_t *b, uint32_t count)
{
	if (count < 3)
		return bad(cp, SIM_AMDGPU_RING_BAD_PACKET, x);
	uint32_t dst_sel = (b[0] >> 8) & 0xFu, n = count - 2;
	bool one_addr = b[0] & (1u << 16);
	const uint32_t *data = &b[3];
	switch (dst_sel) {
	case 0: /* registers, dword offset */
		for (uint32_t i = 0; i < n; i++)
			if (!reg_write(cp, x, ((uint64_t)b[1] + (one_addr ? 0 : i)) * 4, data[i]))
				return EX_ERROR;
		break;
	case 1: /* memory (sync) */
	case 2: /* TC L2 */
	case 5: { /* memory */
		uint64_t addr = addr64(b[1] & ~3u, b[2]);
		if (one_addr) {
			for (uint32_t i = 0; i < n; i++)
				mem_write(cp, x->vmid, addr, &data[i], 4);
		} else {
			mem_write(cp, x->vmid, addr, data, (size_t)n * 4);
		}
		break;
	}
	default: /* GDS and other destinations the model lacks */
		skip(cp, x->header);
		break;
	}
	return EX_DONE;
}

static enum exec do_copy_data(struct sim_amdgpu_cp *cp, const struct exec_ctx *x, const uint32_t *b, uint32_t count)
{
	if (count != 4)
		return bad(cp, SIM_AMDGPU_RING_BAD_PACKET, x);
	uint32_t src_sel = b[0] & 0xFu, dst_sel = (b[0] >> 8) & 0xFu;
	bool wide = b[0] & (1u << 16);
	uint64_t v;
	switch (src_sel) {
	case 0:
		v = reg_read(cp, (uint64_t)b[1] * 4);
		if (wide)
			v |= (uint64_t)reg_read(cp, ((uint64_t)b[1] + 1) * 4) << 32;
		break;
	case 1:
	case 2:
		v = 0;
		mem_read(cp, x->vmid, addr64(b[1], b[2]) & (wide ? ~7ull : ~3ull), &v, wide ? 8 : 4);
		break;
	case 5:
		v = wide ? addr64(b[1], b[2]) : b[1];
		break;
	case 9:
		v = gpu_clock();
		break;
	default: /* GDS, perf counters ... */
		skip(cp, x->header);
		return EX_DONE;
	}
	switch (dst_sel) {
	case 0:
		if (!reg_write(cp, x, (uint64_t)b[3] * 4, (uint32_t)v) ||
		    (wide && !reg_write(cp, x, ((uint64_t)b[3] + 1) * 4, (uint32_t)(v >> 32))))
			return EX_ERROR;
		break;
	case 1:
	case 2:
	case 5:
		mem_write(cp, x->vmid, addr64(b[3], b[4]) & (wide ? ~7ull : ~3ull), &v, wide ? 8 : 4);
		break;
	default:
		skip(cp, x->header);
		break;
	}
	return EX_DONE;
}

/* DMA_DATA: fill or copy, memory or registers (SAS/DAS), through the stream's VM. */
static enum exec do_dma_data(struct sim_amdgpu_cp *cp, const struct exec_ctx *x, const uint32_t *b, uint32_t count)
{
	if (count != 5)
		return bad(cp, SIM_AMDGPU_RING_BAD_PACKET, x);
	uint32_t dst_sel = (b[0] >> 20) & 3u, src_sel = (b[0] >> 29) & 3u, cmd = b[5];
	uint32_t bytes = cmd & 0x3FFFFFFu; /* radeonsi's GFX9 BYTE_COUNT is 26 bits wide */
	bool sas = cmd & (1u << 26), das = cmd & (1u << 27), saic = cmd & (1u << 28), daic = cmd & (1u << 29);
	if (src_sel == 1 || dst_sel == 1 || dst_sel == 2) { /* GDS (no GDS is modelled) */
		skip(cp, x->header);
		return EX_DONE;
	}
	uint64_t src = addr64(b[1], b[2]), dst = addr64(b[3], b[4]);
	bool fill = src_sel == 2;

	if (das || (sas && !fill)) {
		/* A register end: dword by dword; the address is a register dword offset. */
		for (uint32_t i = 0; i < bytes / 4; i++) {
			uint32_t v;
			if (fill)
				v = b[1];
			else if (sas)
				v = reg_read(cp, ((uint64_t)(uint32_t)src + (saic ? 0 : i)) * 4);
			else
				v = mem_read32(cp, x->vmid, src + (saic ? 0 : (uint64_t)i * 4));
			if (das) {
				if (!reg_write(cp, x, ((uint64_t)(uint32_t)dst + (daic ? 0 : i)) * 4, v))
					return EX_ERROR;
			} else {
				mem_write(cp, x->vmid, dst + (daic ? 0 : (uint64_t)i * 4), &v, 4);
			}
		}
		return EX_DONE;
	}
	if (fill || saic) {
		uint32_t pattern = fill ? b[1] : mem_read32(cp, x->vmid, src);
		for (uint32_t i = 0; i < CHUNK / 4; i++)
			memcpy(cp->chunk + i * 4, &pattern, 4);
	}
	for (uint32_t off = 0; off < bytes;) {
		uint32_t n = bytes - off < CHUNK ? bytes - off : CHUNK;
		if (!fill && !saic)
			mem_read(cp, x->vmid, src + off, cp->chunk, n);
		if (daic) /* every byte lands on the same dword: the last one wins */
			mem_write(cp, x->vmid, dst, cp->chunk + ((n - 1) & ~3u), n < 4 ? n : 4);
		else
			mem_write(cp, x->vmid, dst + off, cp->chunk, n);
		off += n;
	}
	return EX_DONE;
}

static enum exec do_wait_reg_mem(struct sim_amdgpu_cp *cp, const struct exec_ctx *x, const uint32_t *b,
				 uint32_t count, uint32_t len)
{
	if (count != 5)
		return bad(cp, SIM_AMDGPU_RING_BAD_PACKET, x);
	uint32_t func = b[0] & 7u, mem_space = (b[0] >> 4) & 3u, op = (b[0] >> 6) & 3u;
	if (func == 7 || op == 3 || mem_space > 1 || (op == 1 && mem_space))
		return bad(cp, SIM_AMDGPU_RING_BAD_PACKET, x);
	struct cp_wait w = {
		.len = len, .mem = mem_space == 1, .func = func, .ref = b[3], .mask = b[4], .vmid = x->vmid,
	};
	if (w.mem) {
		w.addr = addr64(b[1] & ~3u, b[2] & 0xFFFFu);
	} else {
		w.addr = (uint64_t)(op == 1 ? b[2] : b[1]) * 4;
		/* Operation 1: write the reference to reg0, then wait on reg1 (a REQ/ACK handshake). */
		if (op == 1 && !reg_write(cp, x, (uint64_t)b[1] * 4, b[3]))
			return EX_ERROR;
	}
	/* Poll at the packet's interval (clocks; read as microseconds), bounded; writes wake it sooner. */
	uint64_t us = b[5] & 0xFFFFu;
	w.poll_ns = (us < 100 ? 100 : us > 2000 ? 2000 : us) * 1000u;
	cp->w = w;
	if (wait_met(cp))
		return EX_DONE;
	cp->waiting = true;
	return EX_WAIT;
}

static enum exec do_set_reg(struct sim_amdgpu_cp *cp, const struct exec_ctx *x, uint8_t op, const uint32_t *b,
			    uint32_t count)
{
	uint32_t base;
	switch (op) {
	case OP_SET_CONFIG_REG: base = 0x2000u; break;
	case OP_SET_CONTEXT_REG: base = 0xA000u; break;
	case OP_SET_SH_REG:
	case OP_SET_SH_REG_INDEX: base = 0x2C00u; break;
	default: base = 0xC000u; break; /* uconfig */
	}
	if (count < 1)
		return bad(cp, SIM_AMDGPU_RING_BAD_PACKET, x);
	uint32_t reg = base + (b[0] & 0xFFFFu);
	for (uint32_t i = 0; i < count; i++)
		if (!reg_write(cp, x, ((uint64_t)reg + i) * 4, b[1 + i]))
			return EX_ERROR;
	return EX_DONE;
}

static enum exec do_indirect(struct sim_amdgpu_cp *cp, const struct exec_ctx *x, uint8_t op, const uint32_t *b,
			     uint32_t count, uint32_t len)
{
	if (count != 2)
		return bad(cp, SIM_AMDGPU_RING_BAD_PACKET, x);
	uint32_t ctl = b[2], size = ctl & 0xFFFFFu;
	bool chain = ctl & (1u << 20), valid = ctl & (1u << 23), ce = op == OP_INDIRECT_BUFFER_CONST;
	if (ce && (sim_regs_get(sim_amdgpu_mmio(cp->m), SIM_AMDGPU_CP_ME_CNTL) & SIM_AMDGPU_CP_ME_CNTL_CE_HALT)) {
		skip(cp, x->header); /* the CE is halted: its IB does not run */
		return EX_DONE;
	}
	if (!valid || !size)
		return EX_DONE;
	struct stream s = {.va = addr64(b[0] & ~3u, b[1] & 0xFFFFu), .size = size};
	if (cp->depth == 0) {
		/* The ring names the VMID; the kernel's own IBs (VMID 0) or PRIV ones are privileged. */
		s.vmid = (ctl >> 24) & 0xFu;
		s.priv = (ctl & (1u << 31)) || s.vmid == 0;
		s.ce = ce;
		cp->ring_ib_len = len;
		cp->ib[0] = s;
		cp->depth = 1;
		cp->pf.n = 0; /* a new stream */
		return EX_MOVED;
	}
	/* From inside an IB the VMID and privilege are inherited: an IB cannot escalate. */
	const struct stream *parent = &cp->ib[cp->depth - 1];
	s.vmid = parent->vmid;
	s.priv = parent->priv;
	s.ce = parent->ce || ce;
	if (chain) {
		cp->ib[cp->depth - 1] = s;
		cp->pf.n = 0; /* a new stream */
		return EX_MOVED;
	}
	if (cp->depth == 2) /* IB2 is the deepest level */
		return bad(cp, SIM_AMDGPU_RING_BAD_PACKET, x);
	cp->ib[0].pos += len;
	cp->ib[1] = s;
	cp->depth = 2;
	cp->pf.n = 0; /* a new stream */
	return EX_MOVED;
}

static enum exec do_cond_exec(struct sim_amdgpu_cp *cp, const struct ring_cfg *rc, const struct exec_ctx *x,
			      const uint32_t *b, uint32_t count, uint32_t len)
{
	if (count != 3)
		return bad(cp, SIM_AMDGPU_RING_BAD_PACKET, x);
	uint32_t n = b[3] & 0x3FFFu;
	if (mem_read32(cp, x->vmid, addr64(b[0] & ~3u, b[1])) != 0)
		return EX_DONE;
	if (cp->depth == 0) {
		/* The skipped dwords may not be in the ring yet: discard them as they come. */
		retire(cp, rc, len);
		cp->ring_skip = n;
		return EX_MOVED;
	}
	struct stream *s = &cp->ib[cp->depth - 1];
	if ((uint64_t)s->pos + len + n > s->size)
		return bad(cp, SIM_AMDGPU_RING_BAD_PACKET, x);
	s->pos += len + n;
	return EX_MOVED;
}

static enum exec execute(struct sim_amdgpu_cp *cp, const struct ring_cfg *rc, const struct exec_ctx *x, uint32_t len)
{
	uint32_t h = x->header, count = (h >> 16) & 0x3FFFu;
	uint8_t op = (h >> 8) & 0xFFu;
	const uint32_t *b = &cp->pkt[1];
	switch (op) {
	case OP_WRITE_DATA:
		return do_write_data(cp, x, b, count);
	case OP_COPY_DATA:
		return do_copy_data(cp, x, b, count);
	case OP_DMA_DATA:
		return do_dma_data(cp, x, b, count);
	case OP_WAIT_REG_MEM:
		return do_wait_reg_mem(cp, x, b, count, len);
	case OP_COND_EXEC:
		return do_cond_exec(cp, rc, x, b, count, len);
	case OP_INDIRECT_BUFFER:
	case OP_INDIRECT_BUFFER_CONST:
		return do_indirect(cp, x, op, b, count, len);
	case OP_RELEASE_MEM:
		if (count != 6) /* the GFX9 form */
			return bad(cp, SIM_AMDGPU_RING_BAD_PACKET, x);
		end_of_pipe(cp, x, b[1] >> 29, (b[1] >> 24) & 7u, addr64(b[2], b[3]), addr64(b[4], b[5]), b[6]);
		return EX_DONE;
	case OP_EVENT_WRITE_EOP:
		if (count != 4)
			return bad(cp, SIM_AMDGPU_RING_BAD_PACKET, x);
		end_of_pipe(cp, x, b[2] >> 29, (b[2] >> 24) & 3u, addr64(b[1], b[2] & 0xFFFFu), addr64(b[3], b[4]), 0);
		return EX_DONE;
	case OP_SET_CONFIG_REG:
	case OP_SET_CONTEXT_REG:
	case OP_SET_SH_REG:
	case OP_SET_SH_REG_INDEX:
	case OP_SET_UCONFIG_REG:
	case OP_SET_UCONFIG_REG_INDEX:
		return do_set_reg(cp, x, op, b, count);
	case OP_CONTEXT_REG_RMW: {
		if (count != 2)
			return bad(cp, SIM_AMDGPU_RING_BAD_PACKET, x);
		uint64_t off = (0xA000ull + (b[0] & 0xFFFFu)) * 4;
		uint32_t v = (reg_read(cp, off) & ~b[1]) | (b[2] & b[1]);
		return reg_write(cp, x, off, v) ? EX_DONE : EX_ERROR;
	}
	default:
		return bad(cp, SIM_AMDGPU_RING_BAD_OPCODE, x);
	}
}

/* Reads n dwords at off dwords past the fetch point of the current stream, through the prefetch queue. */
static int fetch(struct sim_amdgpu_cp *cp, const struct ring_cfg *rc, uint32_t off, uint32_t n, uint32_t *dst)
{
	struct sim_amdgpu_vm_ctx vm;
	uint64_t addr;
	uint32_t left; /* dwords of the stream from addr on that may be read: written, and not wrapping */
	uint8_t vmid;
	if (cp->depth == 0) {
		uint32_t pos = (cp->rptr + off) & rc->mask, avail = ring_avail(cp, sim_amdgpu_mmio(cp->m), rc);
		addr = rc->base + (uint64_t)pos * 4;
		left = rc->size - pos;
		if (avail <= off)
			left = 0; /* nothing written there yet: no read-ahead */
		else if (avail - off < left)
			left = avail - off;
		vmid = rc->vmid;
	} else {
		const struct stream *s = &cp->ib[cp->depth - 1];
		addr = s->va + ((uint64_t)s->pos + off) * 4;
		left = s->size > s->pos + off ? s->size - s->pos - off : 0;
		vmid = s->vmid;
	}
	if (cp->pf.n && cp->pf.depth == cp->depth && addr >= cp->pf.addr &&
	    addr + (uint64_t)n * 4 <= cp->pf.addr + (uint64_t)cp->pf.n * 4) {
		memcpy(dst, &cp->pf.dw[(addr - cp->pf.addr) / 4], (size_t)n * 4);
		return 0;
	}
	if (vm_ctx(cp, vmid, &vm))
		return -EFAULT;
	/* Read ahead to the end of the page, the stream or the queue, whichever is first. */
	uint32_t ahead = (uint32_t)((0x1000u - (addr & 0xFFFu)) / 4);
	if (ahead > left)
		ahead = left;
	if (ahead > PREFETCH_DW)
		ahead = PREFETCH_DW;
	if (ahead >= n) {
		cp->pf.n = 0;
		if (sim_amdgpu_vm_read(&vm, addr, cp->pf.dw, (size_t)ahead * 4))
			return -EFAULT;
		cp->pf.n = ahead;
		cp->pf.depth = cp->depth;
		cp->pf.addr = addr;
		memcpy(dst, cp->pf.dw, (size_t)n * 4);
		return 0;
	}
	/* A packet across a page or the ring's end: straight from memory. */
	if (cp->depth == 0) {
		uint32_t pos = (cp->rptr + off) & rc->mask, first = rc->size - pos;
		if (first > n)
			first = n;
		if (sim_amdgpu_vm_read(&vm, rc->base + (uint64_t)pos * 4, dst, (size_t)first * 4))
			return -EFAULT;
		if (first < n && sim_amdgpu_vm_read(&vm, rc->base, dst + first, (size_t)(n - first) * 4))
			return -EFAULT;
		return 0;
	}
	return sim_amdgpu_vm_read(&vm, addr, dst, (size_t)n * 4) ? -EFAULT : 0;
}

/* One unit of work; true if it made progress. Lock held. */
static bool step(struct sim_amdgpu_cp *cp, uint64_t now, uint64_t *deadline)
{
	struct sim_regs *r = sim_amdgpu_mmio(cp->m);
	struct ring_cfg rc;
	if (cp->error || cp->hung || halted(r) || !ring_cfg(r, &rc))
		return false;
	cp->rptr &= rc.mask; /* the ring may have been resized */

	uint32_t avail = 0;
	if (cp->depth == 0 && !cp->waiting) {
		avail = ring_avail(cp, r, &rc);
		if (!avail)
			return false;
	}
	if (cp->faults & SIM_AMDGPU_RING_HANG) {
		/* Work is there and the engine stops taking it, until a reset. */
		cp->faults &= ~(unsigned)SIM_AMDGPU_RING_HANG;
		cp->hung = true;
		return false;
	}
	if (cp->waiting) {
		if (!wait_met(cp)) {
			if (now + cp->w.poll_ns < *deadline)
				*deadline = now + cp->w.poll_ns;
			return false;
		}
		cp->waiting = false;
		retire(cp, &rc, cp->w.len);
		return true;
	}

	struct exec_ctx x = {.vmid = rc.vmid, .priv = true};
	uint32_t room;
	if (cp->depth == 0) {
		if (cp->ring_skip) {
			uint32_t n = avail < cp->ring_skip ? avail : cp->ring_skip;
			cp->ring_skip -= n;
			retire(cp, &rc, n);
			return true;
		}
		x.addr = rc.base + (uint64_t)cp->rptr * 4;
		room = avail;
	} else {
		struct stream *s = &cp->ib[cp->depth - 1];
		if (s->pos >= s->size) {
			/* End of an IB: back to its parent; the ring packet that started IB1 retires now. */
			cp->pf.n = 0;
			if (--cp->depth == 0)
				retire(cp, &rc, cp->ring_ib_len);
			return true;
		}
		x.vmid = s->vmid;
		x.priv = s->priv;
		x.addr = s->va + (uint64_t)s->pos * 4;
		room = s->size - s->pos;
	}

	if (fetch(cp, &rc, 0, 1, &x.header)) {
		fail(cp, SIM_AMDGPU_RING_FETCH_FAULT, &x);
		return true;
	}
	uint32_t h = x.header, type = h >> 30, len;
	uint8_t op = (h >> 8) & 0xFFu;
	if (type == 2) {
		len = 1; /* type-2 filler */
	} else if (type != 3) {
		fail(cp, SIM_AMDGPU_RING_BAD_OPCODE, &x); /* type 0/1 are GFX6 only */
		return true;
	} else if (op == OP_NOP && ((h >> 16) & 0x3FFFu) == 0x3FFFu) {
		len = 1; /* the 1-dword NOP */
	} else {
		len = ((h >> 16) & 0x3FFFu) + 2;
	}
	if (len > room) {
		if (cp->depth == 0)
			return false; /* the rest of the packet is not in the ring yet */
		fail(cp, SIM_AMDGPU_RING_BAD_PACKET, &x);
		return true;
	}
	cp->st.packets++;
	if (type == 3)
		cp->st.op_count[op]++;
	sim_regs_set(r, SIM_AMDGPU_CP_ME_HEADER_DUMP, h);
	sim_regs_set(r, SIM_AMDGPU_CP_PFP_HEADER_DUMP, h);
	if (type == 2 || op == OP_NOP || skipped_op(op)) {
		if (type == 3 && op != OP_NOP)
			skip(cp, h);
		retire(cp, &rc, len);
		return true;
	}
	if (fetch(cp, &rc, 0, len, cp->pkt)) {
		fail(cp, SIM_AMDGPU_RING_FETCH_FAULT, &x);
		return true;
	}
	uint64_t gen = cp->generation;
	enum exec e = execute(cp, &rc, &x, len);
	if (e == EX_DONE && gen == cp->generation && !cp->error)
		retire(cp, &rc, len);
	if (e == EX_WAIT && now + cp->w.poll_ns < *deadline)
		*deadline = now + cp->w.poll_ns;
	return e != EX_WAIT;
}

static bool tick(void *ctx, uint64_t now, uint64_t *deadline)
{
	struct sim_amdgpu_cp *cp = ctx;
	post_delayed(cp, now, deadline);
	bool progress = step(cp, now, deadline);
	if (cp->wrote) {
		cp->wrote = false;
		sim_amdgpu_engines_notify(cp->m, false, 0, 0);
	}
	return progress;
}

static void *cp_thread(void *arg)
{
	struct sim_amdgpu_cp *cp = arg;
	sim_amdgpu_engine_run(cp->m, cp->waiter, &cp->stop, tick, cp);
	return NULL;
}

/* ---- registers ---- */

static uint32_t grbm_status_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_amdgpu_cp *cp = ctx;
	return SIM_AMDGPU_GRBM_STATUS_IDLE |
	       (busy(cp) ? SIM_AMDGPU_GRBM_STATUS_GUI_ACTIVE | SIM_AMDGPU_GRBM_STATUS_CP_BUSY : 0);
}

static uint32_t cp_stat_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_amdgpu_cp *cp = ctx;
	return busy(cp) ? SIM_AMDGPU_CP_STAT_CP_BUSY | SIM_AMDGPU_CP_STAT_ME_BUSY | SIM_AMDGPU_CP_STAT_PFP_BUSY : 0;
}

static void ignore_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
}

/*
 * A soft reset of the CP drops everything in flight and clears a stop: the
 * ring is left drained (RPTR = WPTR) for the driver to reprogram or go on.
 */
static void soft_reset_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_amdgpu_cp *cp = ctx;
	sim_regs_set(r, off, val);
	if (!(val & GRBM_SOFT_RESET_CP_BITS))
		return;
	cp->error = SIM_AMDGPU_RING_OK;
	cp->hung = false;
	sim_regs_set(r, SIM_AMDGPU_CP_INT_STATUS_RING0, 0);
	set_rptr(cp, sim_regs_get(r, SIM_AMDGPU_CP_RB0_WPTR));
	struct ring_cfg rc;
	if (ring_cfg(r, &rc))
		rptr_writeback(cp, &rc);
}

/*
 * Halting the ME or PFP abandons the packet they are in (a WAIT_REG_MEM that
 * never matches) and the IBs it came from: nothing of it retires, and the
 * ring's read pointer stays at the packet that started them, for the driver
 * to reset. An idle CP loses nothing.
 */
static void me_cntl_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_amdgpu_cp *cp = ctx;
	bool was = halted(r);
	sim_regs_set(r, off, val);
	if (!was && halted(r) && (cp->waiting || cp->depth || cp->ring_skip))
		drop_state(cp);
}

/* RB_RPTR_WR_ENA loads RPTR from CP_RB_RPTR_WR (how the kernel starts a ring at 0). */
static void rb_cntl_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, val);
	if (val & SIM_AMDGPU_CP_RB_CNTL_RB_RPTR_WR_ENA)
		set_rptr(ctx, sim_regs_get(r, SIM_AMDGPU_CP_RB_RPTR_WR));
}

static void rptr_wr_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, val);
	if (sim_regs_get(r, SIM_AMDGPU_CP_RB0_CNTL) & SIM_AMDGPU_CP_RB_CNTL_RB_RPTR_WR_ENA)
		set_rptr(ctx, val);
}

/* The doorbell carries the 64-bit WPTR when CP_RB_DOORBELL_CONTROL routes it to the ring. */
static void doorbell_wptr(struct sim_amdgpu_cp *cp, uint32_t off, uint64_t val, bool wide)
{
	struct sim_regs *mmio = sim_amdgpu_mmio(cp->m);
	uint32_t ctl = sim_regs_get(mmio, SIM_AMDGPU_CP_RB_DOORBELL_CONTROL);
	if (!(ctl & SIM_AMDGPU_CP_DOORBELL_EN) || ((ctl >> SIM_AMDGPU_CP_DOORBELL_OFFSET_SHIFT) & 0x3FFFFFFu) != off / 4)
		return;
	sim_regs_set(mmio, SIM_AMDGPU_CP_RB0_WPTR, (uint32_t)val);
	if (wide)
		sim_regs_set(mmio, SIM_AMDGPU_CP_RB0_WPTR_HI, (uint32_t)(val >> 32));
	sim_amdgpu_engine_kick(cp->waiter);
}

static void doorbell_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, val);
	doorbell_wptr(ctx, off, val, false);
}

static void doorbell_write64(struct sim_regs *r, uint32_t off, uint64_t val, void *ctx)
{
	sim_regs_set(r, off, (uint32_t)val);
	sim_regs_set(r, off + 4, (uint32_t)(val >> 32));
	doorbell_wptr(ctx, off, val, true);
}

/* ---- lifetime and test API ---- */

int sim_amdgpu_cp_init(struct sim_model *m)
{
	struct sim_amdgpu_cp *cp = calloc(1, sizeof(*cp));
	if (!cp)
		return -ENOMEM;
	cp->m = m;
	sim_amdgpu_set_engine(m, SIM_AMDGPU_ENGINE_CP, cp);
	const struct sim_reg_hook hooks[] = {
		{.off = SIM_AMDGPU_GRBM_STATUS, .read = grbm_status_read, .write = ignore_write, .ctx = cp},
		{.off = SIM_AMDGPU_CP_STAT, .read = cp_stat_read, .write = ignore_write, .ctx = cp},
		{.off = SIM_AMDGPU_GRBM_SOFT_RESET, .write = soft_reset_write, .ctx = cp},
		{.off = SIM_AMDGPU_CP_RB0_CNTL, .write = rb_cntl_write, .ctx = cp},
		{.off = SIM_AMDGPU_CP_RB_RPTR_WR, .write = rptr_wr_write, .ctx = cp},
		{.off = SIM_AMDGPU_CP_RB0_RPTR, .write = ignore_write},
		{.off = SIM_AMDGPU_CP_ME_CNTL, .write = me_cntl_write, .ctx = cp},
	};
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		int ret = sim_amdgpu_hook_mmio(m, &hooks[i]);
		if (ret)
			return ret; /* cp_fini (from the model's destroy) frees cp */
	}
	const struct sim_reg_hook db = {.off = SIM_AMDGPU_GFX_DOORBELL, .write = doorbell_write,
					.write64 = doorbell_write64, .ctx = cp};
	int ret = sim_amdgpu_hook_doorbell(m, &db);
	if (ret)
		return ret;
	/* Its registers: GRBM and CP status and control, and the ring's block. */
	const struct sim_amdgpu_reg_window win[] = {{0x8000u, 0x9000u}, {0xC000u, 0xC400u}};
	cp->waiter = sim_amdgpu_waiter_add(m, win, 2);
	if (!cp->waiter)
		return -ENOMEM;
	ret = pthread_create(&cp->thread, NULL, cp_thread, cp);
	if (ret)
		return -ret;
	cp->started = true;
	return 0;
}

void sim_amdgpu_cp_stop(struct sim_model *m)
{
	struct sim_amdgpu_cp *cp = get_cp(m);
	if (!cp || !cp->started)
		return;
	pthread_mutex_lock(sim_amdgpu_lock(m));
	cp->stop = true;
	sim_amdgpu_engines_wake(m);
	pthread_mutex_unlock(sim_amdgpu_lock(m));
	pthread_join(cp->thread, NULL);
	cp->started = false;
}

void sim_amdgpu_cp_fini(struct sim_model *m)
{
	struct sim_amdgpu_cp *cp = get_cp(m);
	if (!cp)
		return;
	sim_amdgpu_cp_stop(m);
	sim_amdgpu_set_engine(m, SIM_AMDGPU_ENGINE_CP, NULL);
	free(cp);
}

int sim_amdgpu_cp_set_fault(struct sim_model *m, unsigned faults, uint32_t delay_us)
{
	struct sim_amdgpu_cp *cp = get_cp(m);
	if (!cp)
		return -ENODEV;
	pthread_mutex_lock(sim_amdgpu_lock(m));
	cp->faults = faults;
	cp->delay_ns = (uint64_t)delay_us * 1000u;
	if (!(faults & SIM_AMDGPU_RING_HANG))
		cp->hung = false;
	sim_amdgpu_engines_wake(m);
	pthread_mutex_unlock(sim_amdgpu_lock(m));
	return 0;
}

int sim_amdgpu_cp_status(struct sim_model *m, struct sim_amdgpu_ring_status *st)
{
	struct sim_amdgpu_cp *cp = get_cp(m);
	if (!cp)
		return -ENODEV;
	pthread_mutex_lock(sim_amdgpu_lock(m));
	*st = cp->st;
	st->busy = busy(cp);
	st->halted = halted(sim_amdgpu_mmio(m));
	st->hung = cp->hung;
	st->error = cp->error;
	st->error_header = cp->error_header;
	st->error_addr = cp->error_addr;
	pthread_mutex_unlock(sim_amdgpu_lock(m));
	return 0;
}

int sim_amdgpu_ring_set_fault(struct sim_model *m, enum sim_amdgpu_ring ring, unsigned faults, uint32_t delay_us)
{
	switch (ring) {
	case SIM_AMDGPU_RING_GFX: return sim_amdgpu_cp_set_fault(m, faults, delay_us);
	case SIM_AMDGPU_RING_SDMA0: return sim_amdgpu_sdma_set_fault(m, 0, faults, delay_us);
	case SIM_AMDGPU_RING_SDMA1: return sim_amdgpu_sdma_set_fault(m, 1, faults, delay_us);
	default: return -EINVAL;
	}
}

int sim_amdgpu_ring_status(struct sim_model *m, enum sim_amdgpu_ring ring, struct sim_amdgpu_ring_status *st)
{
	switch (ring) {
	case SIM_AMDGPU_RING_GFX: return sim_amdgpu_cp_status(m, st);
	case SIM_AMDGPU_RING_SDMA0: return sim_amdgpu_sdma_status(m, 0, st);
	case SIM_AMDGPU_RING_SDMA1: return sim_amdgpu_sdma_status(m, 1, st);
	default: return -EINVAL;
	}
}
