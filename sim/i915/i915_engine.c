/*
 * Skylake GT2 command streamers, RCS and BCS, one thread each.
 *
 * Submission is execlists (GPU-MODELS.md §8). The driver writes four ELSP dwords (port 1 hi/lo,
 * then port 0 hi/lo; the fourth triggers). A context is loaded from its LRC in the GGTT (page 1:
 * ring head/tail/start/ctl, PDPs, CTX_TIMESTAMP, batch state), its ring runs from head to tail,
 * and at switch-out RING_HEAD, CTX_TIMESTAMP and the batch state go back into the image. Every
 * transition is a context status buffer entry, written to MMIO (+0x370) and to the HWSP (dwords
 * 0x10.., write pointer in 0x1F and CSB_PTR[2:0]), then the context-switch interrupt. The event
 * sequence is GVT-g's: IDLE_TO_ACTIVE on accept, ELEMENT_SWITCH|COMPLETE between the ports,
 * COMPLETE|ACTIVE_TO_IDLE at the end, PREEMPTED|LITE_RESTORE when the running context is
 * resubmitted. A different context preempts at an arbitration point (MI_ARB_CHECK, a semaphore
 * poll) with PREEMPTED, and resumes later where it stopped, inside its batch if need be.
 *
 * Reset is GDRST (0x941C, domains RENDER b1 / BLT b3 / FULL b0, self-clearing) after the
 * optional RING_RESET_CTL handshake; a CS error is ESR/EIR (instruction error b0), IPEHR and
 * CS_MASTER_ERROR, and the engine stops until reset.
 *
 * Locking: the model lock guards the registers and the fields marked so in i915_engine.h, and
 * hooks run under it. An engine thread takes it for register updates and waits only, never
 * across DMA, GGTT lookups or the raising of the interrupt line.
 */
#include "i915_engine.h"
#include "sim_idle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NS_PER_S 1000000000ull

#define GFX_RUN_LIST_ENABLE 0x8000u
#define EXECLIST_QUEUE_FULL 0x4u
#define NONPRIV_SLOTS 12u
#define NONPRIV_SLOT0 0x4D0u

/* Engine MMIO blocks: RCS, VCS, VECS, BCS. Unprivileged commands keep out of them. */
static const uint32_t engine_blocks[] = {0x02000u, 0x12000u, 0x1A000u, 0x22000u};
#define ENGINE_BLOCK_SIZE 0x800u

/* Kernel-only register ranges: GAM (faults, PAT), fuses and GDRST, forcewake and power,
 * interrupts, display, south display and forcewake acks. */
static const struct {
	uint32_t lo, hi;
} kernel_ranges[] = {
	{0x04000u, 0x05000u}, {0x09000u, 0x0B000u}, {0x44000u, 0x50000u},
	{0x60000u, 0x80000u}, {0xC0000u, 0x200000u},
};

uint64_t i915_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* 12 MHz: 3 ticks every 250 ns. */
static uint64_t ns_to_ticks(uint64_t ns)
{
	return ns / 250 * 3 + ns % 250 * 3 / 250;
}

uint64_t i915_timestamp(const struct sim_i915_engines *g)
{
	return ns_to_ticks(i915_now_ns() - g->t0_ns);
}

static uint32_t rd(const struct i915_engine *e, uint32_t reg)
{
	return sim_regs_get(e->g->r, e->base + reg);
}

static void wr(struct i915_engine *e, uint32_t reg, uint32_t v)
{
	sim_regs_set(e->g->r, e->base + reg, v);
}

static void lock(struct i915_engine *e)
{
	pthread_mutex_lock(e->g->lock);
}

static void unlock(struct i915_engine *e)
{
	pthread_mutex_unlock(e->g->lock);
}

/* ---- attention and waiting (model lock held) ---- */

static void attn_set(struct i915_engine *e, unsigned bits)
{
	atomic_fetch_or(&e->attn, bits);
	if (e->g->bar_write)
		e->wake_due = true;
	else
		pthread_cond_signal(&e->cond);
}

void sim_i915_engines_write_begin(struct sim_i915_engines *g)
{
	if (g)
		g->bar_write = true;
}

unsigned sim_i915_engines_write_end(struct sim_i915_engines *g)
{
	unsigned due = 0;
	if (!g)
		return 0;
	g->bar_write = false;
	for (unsigned k = 0; k < SIM_I915_ENGINES; k++) {
		if (g->e[k].wake_due)
			due |= 1u << k;
		g->e[k].wake_due = false;
	}
	return due;
}

void sim_i915_engines_wake(struct sim_i915_engines *g, unsigned due)
{
	for (unsigned k = 0; g && k < SIM_I915_ENGINES; k++)
		if (due & (1u << k))
			pthread_cond_signal(&g->e[k].cond);
}

static void attn_clear(struct i915_engine *e, unsigned bits)
{
	atomic_fetch_and(&e->attn, ~bits);
}

/* Sleeps on the engine's condition until deadline (0: until signalled). */
static void wait_locked(struct i915_engine *e, uint64_t deadline_ns)
{
	if (!deadline_ns) {
		pthread_cond_wait(&e->cond, e->g->lock);
		return;
	}
	struct timespec ts = {.tv_sec = (time_t)(deadline_ns / NS_PER_S), .tv_nsec = (long)(deadline_ns % NS_PER_S)};
	pthread_cond_timedwait(&e->cond, e->g->lock, &ts);
}

/* READY_TO_RESET: a reset was requested and the engine is between commands. */
static void update_ready_locked(struct i915_engine *e)
{
	uint32_t v = rd(e, SIM_I915_RING_RESET_CTL) & ~I915_RESET_CTL_READY;
	if ((v & I915_RESET_CTL_REQUEST) && (!e->busy || e->paused || e->halted))
		v |= I915_RESET_CTL_READY;
	wr(e, SIM_I915_RING_RESET_CTL, v);
}

/* STOP_RING and a reset request both hold the engine at its next command boundary. */
static void update_stop_locked(struct i915_engine *e)
{
	if ((rd(e, SIM_I915_RING_MI_MODE) & SIM_I915_MI_MODE_STOP_RING) ||
	    (rd(e, SIM_I915_RING_RESET_CTL) & I915_RESET_CTL_REQUEST))
		attn_set(e, I915_ATTN_STOP);
	else
		attn_clear(e, I915_ATTN_STOP);
	pthread_cond_signal(&e->cond);
	update_ready_locked(e);
}

static void set_paused_locked(struct i915_engine *e, bool paused)
{
	if (e->paused == paused)
		return;
	e->paused = paused;
	update_ready_locked(e);
}

/* EXECLIST_STATUS: port valid bits, the active element, arbitration, queue full; the context ID. */
static void status_locked(struct i915_engine *e, bool active)
{
	uint32_t lo = 0;
	if (active) {
		lo |= (e->list[0] ? 1u << 4 : 0) | (e->list[1] ? 1u << 3 : 0);
		lo |= e->cur ? 1u << 17 : 1u << 18;
		lo |= e->ctx.arb ? 1u << 16 : 0;
	}
	if (atomic_load(&e->attn) & I915_ATTN_SUBMIT)
		lo |= EXECLIST_QUEUE_FULL;
	wr(e, SIM_I915_RING_EXECLIST_STATUS_LO, lo);
	wr(e, SIM_I915_RING_EXECLIST_STATUS_HI, active ? e->ctx.ctx_id : 0);
}

/* ---- interrupts ---- */

/* Applies the misbehaviour switches: drops, or parks bits to be raised delay_ns later. */
static uint32_t irq_filter_locked(struct i915_engine *e, uint32_t bits)
{
	const uint32_t user = SIM_I915_GT_USER_INTERRUPT | SIM_I915_GT_NOTIFY, ctxsw = SIM_I915_GT_CONTEXT_SWITCH;
	uint32_t late = 0;
	if (e->faults & SIM_I915_ENGINE_FAULT_DROP_USER_IRQ)
		bits &= ~user;
	if (e->faults & SIM_I915_ENGINE_FAULT_DROP_CTX_IRQ)
		bits &= ~ctxsw;
	if (e->faults & SIM_I915_ENGINE_FAULT_DELAY_USER_IRQ)
		late |= bits & user;
	if (e->faults & SIM_I915_ENGINE_FAULT_DELAY_CTX_IRQ)
		late |= bits & ctxsw;
	if (late) {
		if (!e->late_bits)
			e->late_due_ns = i915_now_ns() + e->delay_ns;
		e->late_bits |= late;
		attn_set(e, I915_ATTN_LATE);
	}
	return bits & ~late & ~rd(e, SIM_I915_RING_IMR);
}

/* Parked interrupts that are due, gated by RING_IMR now. */
static uint32_t take_late_locked(struct i915_engine *e, uint64_t now)
{
	if (!e->late_bits || now < e->late_due_ns)
		return 0;
	uint32_t bits = e->late_bits & ~rd(e, SIM_I915_RING_IMR);
	e->late_bits = 0;
	attn_clear(e, I915_ATTN_LATE);
	return bits;
}

/* Into the interrupt block; never with the model lock held (sim_i915_gt_irq takes it). */
static void deliver(struct i915_engine *e, uint32_t bits)
{
	if (bits)
		sim_i915_gt_irq(e->g->m, 0, bits << e->irq_shift);
}

void i915_engine_irq(struct i915_engine *e, uint32_t bits)
{
	struct sim_model *m = e->g->m;
	lock(e);
	bits = irq_filter_locked(e, bits);
	/* Latched in the same hold of the lock; the line is raised outside it. */
	bool fire = bits && sim_i915_gt_latch_locked(m, 0, bits << e->irq_shift);
	unlock(e);
	if (fire && m->bus)
		m->bus->raise_irq(m->bus);
}

void i915_cs_error(struct i915_engine *e, uint32_t header, uint64_t addr, uint32_t error)
{
	lock(e);
	uint32_t unmasked = error & ~rd(e, SIM_I915_RING_EMR);
	uint32_t fresh = unmasked & ~rd(e, SIM_I915_RING_EIR);
	wr(e, SIM_I915_RING_ESR, rd(e, SIM_I915_RING_ESR) | error);
	wr(e, SIM_I915_RING_EIR, rd(e, SIM_I915_RING_EIR) | unmasked);
	if (error & I915_ERROR_INSTRUCTION) {
		wr(e, SIM_I915_RING_IPEHR, header);
		wr(e, SIM_I915_RING_ACTHD, (uint32_t)addr);
		wr(e, SIM_I915_RING_ACTHD_UDW, (uint32_t)(addr >> 32));
		e->stats.cs_errors++;
	}
	/* The master error interrupt follows EIR, not the drop/delay switches. */
	uint32_t bits = fresh ? SIM_I915_GT_CS_MASTER_ERROR & ~rd(e, SIM_I915_RING_IMR) : 0;
	unlock(e);
	deliver(e, bits);
}

/* ---- register access for commands ---- */

static bool in_block(uint32_t off, uint32_t base)
{
	return off >= base && off - base < ENGINE_BLOCK_SIZE;
}

/* FORCE_TO_NONPRIV: the kernel's whitelist, address [25:2], count 4^range [1:0], access [29:28], deny b30. */
static bool nonpriv_listed(const struct i915_engine *e, uint32_t off, bool write)
{
	for (unsigned i = 0; i < NONPRIV_SLOTS; i++) {
		uint32_t v = rd(e, NONPRIV_SLOT0 + 4 * i);
		uint32_t a = v & 0x03FFFFFCu, n = 1u << (2 * (v & 3));
		unsigned access = (v >> 28) & 3;
		if (!a || (v & (1u << 30)) || access == 3 || (write && access == 1) || (!write && access == 2))
			continue;
		if (off >= a && off - a < 4 * n)
			return true;
	}
	return false;
}

/* What an unprivileged batch may reach: its engine's user range (GPRs, predicates; all of it to
 * read), registers the kernel whitelisted, and plain registers outside the kernel's ranges. */
static bool user_may(const struct i915_engine *e, uint32_t off, bool write)
{
	if (in_block(off, e->base)) {
		uint32_t rel = off - e->base;
		if (!write || (rel >= 0x400 && !(rel >= NONPRIV_SLOT0 && rel < NONPRIV_SLOT0 + 4 * NONPRIV_SLOTS)))
			return true;
		return nonpriv_listed(e, off, write);
	}
	if (nonpriv_listed(e, off, write))
		return true;
	for (size_t k = 0; k < sizeof(engine_blocks) / sizeof(engine_blocks[0]); k++)
		if (in_block(off, engine_blocks[k]))
			return false;
	for (size_t k = 0; k < sizeof(kernel_ranges) / sizeof(kernel_ranges[0]); k++)
		if (off >= kernel_ranges[k].lo && off < kernel_ranges[k].hi)
			return false;
	return off < e->g->r->size && !sim_regs_find_hook(e->g->r, off);
}

uint32_t i915_reg_read(struct i915_engine *e, uint32_t off, bool priv)
{
	lock(e);
	bool ok = priv || user_may(e, off, false);
	uint32_t v = ok ? sim_regs_read(e->g->r, off) : 0;
	unlock(e);
	if (!ok)
		i915_cs_error(e, 0, 0, I915_ERROR_PRIV);
	return v;
}

void i915_reg_write(struct i915_engine *e, uint32_t off, uint32_t val, bool priv)
{
	lock(e);
	bool ok = priv || user_may(e, off, true);
	if (ok)
		sim_regs_write(e->g->r, off, val);
	unlock(e);
	if (!ok)
		i915_cs_error(e, 0, 0, I915_ERROR_PRIV);
}

uint64_t i915_gpr_read(struct i915_engine *e, unsigned n)
{
	lock(e);
	uint64_t v = rd(e, SIM_I915_RING_GPR(n)) | (uint64_t)rd(e, SIM_I915_RING_GPR(n) + 4) << 32;
	unlock(e);
	return v;
}

void i915_gpr_write(struct i915_engine *e, unsigned n, uint64_t v)
{
	lock(e);
	wr(e, SIM_I915_RING_GPR(n), (uint32_t)v);
	wr(e, SIM_I915_RING_GPR(n) + 4, (uint32_t)(v >> 32));
	unlock(e);
}

uint32_t i915_hwsp(struct i915_engine *e)
{
	lock(e);
	uint32_t v = rd(e, SIM_I915_RING_HWS_PGA) & ~0xFFFu;
	unlock(e);
	return v;
}

void i915_publish_pointer(struct i915_engine *e, uint64_t addr)
{
	const struct i915_ctx *c = &e->ctx;
	lock(e);
	wr(e, SIM_I915_RING_ACTHD, (uint32_t)addr);
	wr(e, SIM_I915_RING_ACTHD_UDW, (uint32_t)(addr >> 32));
	wr(e, SIM_I915_RING_HEAD, c->head);
	if (c->level) {
		wr(e, SIM_I915_RING_BBADDR, (uint32_t)c->bb[c->level]);
		wr(e, SIM_I915_RING_BBADDR_UDW, (uint32_t)(c->bb[c->level] >> 32));
	}
	e->stats.commands++;
	unlock(e);
}

bool i915_submit_waiting(struct i915_engine *e)
{
	return atomic_load(&e->attn) & I915_ATTN_SUBMIT;
}

void i915_stat_skipped(struct i915_engine *e, uint32_t header, int kind)
{
	lock(e);
	struct sim_i915_engine_stats *s = &e->stats;
	s->last_skipped[s->skipped % SIM_I915_STATS_RECENT] = header;
	s->skipped++;
	if (kind == I915_SKIP_DRAW)
		s->draws++;
	else if (kind == I915_SKIP_DISPATCH)
		s->dispatches++;
	else if (kind == I915_SKIP_BLIT)
		s->blits++;
	unlock(e);
}

/* ---- command boundaries ---- */

/*
 * Between two commands: deliver due interrupts, hold while stopped or hung, give up the
 * context on reset or teardown (false).
 */
static bool boundary(struct i915_engine *e)
{
	for (;;) {
		if (!(atomic_load(&e->attn) & ~I915_ATTN_SUBMIT))
			return true;
		lock(e);
		unsigned a = atomic_load(&e->attn);
		uint32_t late = take_late_locked(e, i915_now_ns());
		bool abort = a & (I915_ATTN_QUIT | I915_ATTN_RESET);
		bool hold = !abort && (a & (I915_ATTN_STOP | I915_ATTN_HANG));
		set_paused_locked(e, hold);
		if (hold)
			i915_prefetch_flush(e);
		if (hold && !late)
			wait_locked(e, e->late_bits ? e->late_due_ns : 0);
		unlock(e);
		deliver(e, late);
		if (abort)
			return false;
		if (!hold)
			return true;
	}
}

bool i915_engine_nap(struct i915_engine *e, uint64_t ns)
{
	/* What the engine polls for may come with new commands: read them afresh after. */
	i915_prefetch_flush(e);
	lock(e);
	/* A waiting submission does not cut the nap short: the poller decides whether it may be preempted. */
	if (!(atomic_load(&e->attn) & (I915_ATTN_QUIT | I915_ATTN_RESET | I915_ATTN_STOP | I915_ATTN_HANG))) {
		uint64_t until = i915_now_ns() + ns;
		if (e->late_bits && e->late_due_ns < until)
			until = e->late_due_ns;
		wait_locked(e, until);
	}
	unlock(e);
	return boundary(e);
}

/* ---- context status buffer ---- */

static void csb_event(struct i915_engine *e, uint32_t status, uint32_t ctx_id)
{
	lock(e);
	uint32_t ptr = rd(e, SIM_I915_RING_CSB_PTR), wp = ptr & 7;
	/* 7 is "nothing written yet"; the buffer wraps after entry 5. */
	wp = wp >= I915_CSB_ENTRIES - 1 ? 0 : wp + 1;
	wr(e, SIM_I915_RING_CSB(wp), status);
	wr(e, SIM_I915_RING_CSB(wp) + 4, ctx_id);
	wr(e, SIM_I915_RING_CSB_PTR, (ptr & ~7u) | wp);
	uint32_t hws = rd(e, SIM_I915_RING_HWS_PGA) & ~0xFFFu;
	unlock(e);
	/* Entry before pointer, so a reader that sees the pointer sees the entry. */
	uint32_t entry[2] = {status, ctx_id};
	const struct i915_page_write w[] = {
		{4u * (I915_HWSP_CSB + 2 * wp), sizeof(entry), entry},
		{4u * I915_HWSP_CSB_WRITE, sizeof(wp), &wp},
	};
	i915_mem_write_page(e, false, hws, w, 2);
}

/* ---- context load and save ---- */

static bool same_ctx(uint64_t a, uint64_t b)
{
	return I915_DESC_LRCA(a) == I915_DESC_LRCA(b) && (a >> 32) == (b >> 32);
}

static uint64_t lrc_state(const struct i915_ctx *c, unsigned idx)
{
	return (uint64_t)c->lrca + I915_LRC_STATE_OFFSET + 4u * idx;
}

/* Switch-in of the current element: registers from the LRC. false: a CS error was reported. */
static bool ctx_load(struct i915_engine *e)
{
	struct i915_ctx *c = &e->ctx;
	uint64_t desc = e->list[e->cur];
	uint32_t s[I915_LRC_DWORDS];
	unsigned mode = I915_DESC_ADDRESSING(desc);

	memset(c, 0, sizeof(*c));
	c->desc = desc;
	c->lrca = I915_DESC_LRCA(desc);
	c->ctx_id = (uint32_t)(desc >> 32);
	if (i915_mem_read(e, false, lrc_state(c, 0), s, sizeof(s)) || (mode != 1 && mode != 3) ||
	    !(s[I915_LRC_RING_CTL] & I915_RING_CTL_VALID)) {
		i915_cs_error(e, 0, c->lrca, I915_ERROR_INSTRUCTION);
		return false;
	}
	c->vm.four_level = mode == 3;
	for (unsigned n = 0; n < 4; n++)
		c->vm.pdp[n] = (uint64_t)s[I915_LRC_PDP_UDW(n)] << 32 | s[I915_LRC_PDP_LDW(n)];
	c->ring_start = s[I915_LRC_RING_START] & ~0xFFFu;
	c->ring_size = (((s[I915_LRC_RING_CTL] >> 12) & 0x1FFu) + 1) * 4096u;
	c->head = (s[I915_LRC_RING_HEAD] & I915_RING_HEAD_MASK) % c->ring_size;
	c->tail = (s[I915_LRC_RING_TAIL] & I915_RING_TAIL_MASK) % c->ring_size;
	c->priv[0] = desc & I915_DESC_PRIVILEGE;
	c->arb = true;
	/* Preempted inside a batch: resume there. */
	if (s[I915_LRC_BB_ADDR] & I915_BB_ADDR_RESUME) {
		c->level = 1;
		c->bb[1] = ((uint64_t)s[I915_LRC_BB_ADDR_UDW] << 32 | (s[I915_LRC_BB_ADDR] & ~3u)) & I915_ADDR_MASK;
		c->bb_ppgtt[1] = s[I915_LRC_BB_STATE] & I915_BB_STATE_PPGTT;
		c->priv[1] = c->priv[0] && !c->bb_ppgtt[1];
		if (s[I915_LRC_SBB_ADDR] & I915_BB_ADDR_RESUME) {
			c->level = 2;
			c->bb[2] = ((uint64_t)s[I915_LRC_SBB_ADDR_UDW] << 32 | (s[I915_LRC_SBB_ADDR] & ~3u)) & I915_ADDR_MASK;
			c->bb_ppgtt[2] = s[I915_LRC_SBB_STATE] & I915_BB_STATE_PPGTT;
			c->priv[2] = c->priv[1] && !c->bb_ppgtt[2];
		}
	}
	c->ts_base = s[I915_LRC_CTX_TIMESTAMP];

	lock(e);
	wr(e, SIM_I915_RING_HEAD, c->head);
	wr(e, SIM_I915_RING_TAIL, c->tail);
	wr(e, SIM_I915_RING_START, c->ring_start);
	wr(e, SIM_I915_RING_CTL, s[I915_LRC_RING_CTL]);
	wr(e, SIM_I915_RING_CONTEXT_CONTROL, s[I915_LRC_CONTEXT_CONTROL] & 0xFFFFu);
	e->ctx_running = true;
	e->ctx_ts_base = c->ts_base;
	e->ctx_t_in_ns = i915_now_ns();
	e->stats.switches++;
	status_locked(e, true);
	unlock(e);
	return true;
}

/* Switch-out: the context's progress back into its image (one page of the LRC). */
static void ctx_save(struct i915_engine *e)
{
	const struct i915_ctx *c = &e->ctx;
	lock(e);
	uint32_t ts = (uint32_t)(e->ctx_ts_base + ns_to_ticks(i915_now_ns() - e->ctx_t_in_ns));
	e->ctx_running = false;
	wr(e, SIM_I915_RING_CTX_TIMESTAMP, ts);
	wr(e, SIM_I915_RING_HEAD, c->head);
	unlock(e);

	uint32_t v[8];
	struct i915_page_write w[8];
	unsigned n = 0;
#define PUT(idx, val) (v[n] = (val), w[n] = (struct i915_page_write){4u * (idx), 4u, &v[n]}, n++) /* in order */
	PUT(I915_LRC_RING_HEAD, c->head);
	PUT(I915_LRC_CTX_TIMESTAMP, ts);
	if (c->level >= 1) {
		PUT(I915_LRC_BB_ADDR_UDW, (uint32_t)(c->bb[1] >> 32));
		PUT(I915_LRC_BB_ADDR, (uint32_t)c->bb[1] | I915_BB_ADDR_RESUME);
		PUT(I915_LRC_BB_STATE, c->bb_ppgtt[1] ? I915_BB_STATE_PPGTT : 0);
	} else {
		PUT(I915_LRC_BB_ADDR, 0);
	}
	if (c->level == 2) {
		PUT(I915_LRC_SBB_ADDR_UDW, (uint32_t)(c->bb[2] >> 32));
		PUT(I915_LRC_SBB_ADDR, (uint32_t)c->bb[2] | I915_BB_ADDR_RESUME);
		PUT(I915_LRC_SBB_STATE, c->bb_ppgtt[2] ? I915_BB_STATE_PPGTT : 0);
	} else {
		PUT(I915_LRC_SBB_ADDR, 0);
	}
#undef PUT
	i915_mem_write_page(e, false, lrc_state(c, 0), w, n);
}

/* ---- execlists ---- */

/* Takes the waiting submission, if any (and, with only_same, only if it resubmits the running context). */
static bool take_submit(struct i915_engine *e, uint64_t n[2], bool only_same)
{
	lock(e);
	bool got = (atomic_load(&e->attn) & I915_ATTN_SUBMIT) && (!only_same || same_ctx(e->submit[0], e->ctx.desc));
	if (got) {
		n[0] = e->submit[0];
		n[1] = e->submit[1];
		attn_clear(e, I915_ATTN_SUBMIT);
	}
	unlock(e);
	return got;
}

static void set_list(struct i915_engine *e, const uint64_t n[2])
{
	e->list[0] = n[0];
	e->list[1] = n[1];
	e->cur = 0;
}

/* The running context resubmitted: no save/restore, only its new tail from the image. */
static void lite_restore(struct i915_engine *e, const uint64_t n[2])
{
	struct i915_ctx *c = &e->ctx;
	uint32_t tail;
	csb_event(e, I915_CSB_PREEMPTED | I915_CSB_LITE_RESTORE, (uint32_t)(n[0] >> 32));
	set_list(e, n);
	c->desc = n[0];
	if (!i915_mem_read(e, false, lrc_state(c, I915_LRC_RING_TAIL), &tail, sizeof(tail)))
		c->tail = (tail & I915_RING_TAIL_MASK) % c->ring_size;
	lock(e);
	wr(e, SIM_I915_RING_TAIL, c->tail);
	e->stats.lite_restores++;
	status_locked(e, true);
	unlock(e);
	i915_engine_irq(e, SIM_I915_GT_CONTEXT_SWITCH);
}

static void halt(struct i915_engine *e)
{
	lock(e);
	e->halted = true;
	e->ctx_running = false;
	update_ready_locked(e);
	unlock(e);
}

static enum i915_step run_element(struct i915_engine *e)
{
	for (;;) {
		if (!boundary(e))
			return I915_STEP_ABORT;
		enum i915_step s = i915_cmd_step(e);
		if (s != I915_STEP_NEXT)
			return s;
	}
}

/* Runs an accepted list until the engine goes idle, stops on an error, or is reset. */
static void run_list(struct i915_engine *e, const uint64_t d[2])
{
	uint64_t n[2];
	set_list(e, d);
	csb_event(e, I915_CSB_IDLE_TO_ACTIVE, 0);
	i915_engine_irq(e, SIM_I915_GT_CONTEXT_SWITCH);
	if (!ctx_load(e))
		goto stop;
	for (;;) {
		enum i915_step s = run_element(e);
		if (s == I915_STEP_ABORT)
			return; /* the thread performs the reset */
		if (s == I915_STEP_HALT)
			goto stop;
		if (s == I915_STEP_PREEMPT) {
			if (!take_submit(e, n, false))
				continue;
			if (same_ctx(n[0], e->ctx.desc)) {
				lite_restore(e, n);
				continue;
			}
			ctx_save(e);
			csb_event(e, I915_CSB_PREEMPTED, e->ctx.ctx_id);
			lock(e);
			e->stats.preemptions++;
			unlock(e);
			set_list(e, n);
			i915_engine_irq(e, SIM_I915_GT_CONTEXT_SWITCH);
			if (!ctx_load(e))
				goto stop;
			continue;
		}
		/* The ring ran empty. A resubmission of this context carries on where it is. */
		if (take_submit(e, n, true)) {
			lite_restore(e, n);
			continue;
		}
		ctx_save(e);
		if (e->cur == 0 && e->list[1]) {
			csb_event(e, I915_CSB_ELEMENT_SWITCH | I915_CSB_COMPLETE, e->ctx.ctx_id);
			e->cur = 1;
			i915_engine_irq(e, SIM_I915_GT_CONTEXT_SWITCH);
			if (!ctx_load(e))
				goto stop;
			continue;
		}
		csb_event(e, I915_CSB_COMPLETE | I915_CSB_ACTIVE_TO_IDLE, e->ctx.ctx_id);
		lock(e);
		bool more = (atomic_load(&e->attn) & I915_ATTN_SUBMIT) && !(atomic_load(&e->attn) & I915_ATTN_STOP);
		if (more) {
			n[0] = e->submit[0];
			n[1] = e->submit[1];
			attn_clear(e, I915_ATTN_SUBMIT);
		} else {
			e->busy = false;
			update_ready_locked(e);
			status_locked(e, false);
		}
		unlock(e);
		if (more) {
			/* Idle for an instant: one interrupt covers both entries, as GVT-g raises it. */
			csb_event(e, I915_CSB_IDLE_TO_ACTIVE, 0);
			set_list(e, n);
		}
		i915_engine_irq(e, SIM_I915_GT_CONTEXT_SWITCH);
		if (!more)
			return;
		if (!ctx_load(e))
			goto stop;
	}
stop:
	halt(e);
}

/* Engine reset (model lock held): the running context is abandoned unsaved. */
static void reset_locked(struct i915_engine *e)
{
	struct sim_i915_engines *g = e->g;
	attn_clear(e, I915_ATTN_SUBMIT | I915_ATTN_RESET | I915_ATTN_HANG | I915_ATTN_LATE);
	e->faults &= ~(unsigned)SIM_I915_ENGINE_FAULT_HANG;
	e->late_bits = 0;
	e->elsp_n = 0;
	e->busy = e->paused = e->halted = e->ctx_running = false;
	e->list[0] = e->list[1] = 0;
	e->cur = 0;
	static const uint32_t cleared[] = {
		SIM_I915_RING_HEAD, SIM_I915_RING_TAIL, SIM_I915_RING_START, SIM_I915_RING_CTL,
		SIM_I915_RING_ACTHD, SIM_I915_RING_ACTHD_UDW, SIM_I915_RING_BBADDR, SIM_I915_RING_BBADDR_UDW,
		SIM_I915_RING_EXECLIST_STATUS_LO, SIM_I915_RING_EXECLIST_STATUS_HI, SIM_I915_RING_GFX_MODE,
		SIM_I915_RING_MI_MODE, SIM_I915_RING_ESR, SIM_I915_RING_EIR, SIM_I915_RING_IPEHR,
		SIM_I915_RING_CTX_TIMESTAMP, SIM_I915_RING_CONTEXT_CONTROL,
	};
	for (size_t k = 0; k < sizeof(cleared) / sizeof(cleared[0]); k++)
		wr(e, cleared[k], 0);
	for (unsigned i = 0; i < I915_CSB_ENTRIES; i++) {
		wr(e, SIM_I915_RING_CSB(i), 0);
		wr(e, SIM_I915_RING_CSB(i) + 4, 0);
	}
	/* The next status entry goes to slot 0. */
	wr(e, SIM_I915_RING_CSB_PTR, SIM_I915_CSB_PTR_RESET);
	e->stats.resets++;

	uint32_t dom = e->id == SIM_I915_RCS ? I915_GRDOM_RENDER : I915_GRDOM_BLT;
	uint32_t gdrst = sim_regs_get(g->r, SIM_I915_GDRST) & ~dom;
	bool others = false;
	for (unsigned k = 0; k < SIM_I915_ENGINES; k++)
		others |= atomic_load(&g->e[k].attn) & I915_ATTN_RESET;
	if (!others)
		gdrst &= ~I915_GRDOM_FULL;
	sim_regs_set(g->r, SIM_I915_GDRST, gdrst);
	update_stop_locked(e);
}

static bool attn_changed(void *ctx)
{
	struct i915_engine *e = ctx;
	return atomic_load(&e->attn) != e->poll_attn;
}

/* Soon after a list ran, polls for attention without the lock instead of sleeping (sim_idle.h). */
static bool idle_poll(struct i915_engine *e)
{
	uint64_t until;
	if (!sim_idle_should_poll(e->busy_ns, i915_now_ns(), e->late_bits ? e->late_due_ns : UINT64_MAX, &until))
		return false;
	e->poll_attn = atomic_load(&e->attn);
	unlock(e);
	sim_idle_poll(attn_changed, e, until);
	lock(e);
	return true;
}

static void *engine_thread(void *arg)
{
	struct i915_engine *e = arg;
	lock(e);
	for (;;) {
		unsigned a = atomic_load(&e->attn);
		if (a & I915_ATTN_QUIT)
			break;
		if (a & I915_ATTN_RESET) {
			reset_locked(e);
			continue;
		}
		uint32_t late = take_late_locked(e, i915_now_ns());
		if (late) {
			unlock(e);
			deliver(e, late);
			lock(e);
			continue;
		}
		if ((a & I915_ATTN_SUBMIT) && !e->halted && !(a & I915_ATTN_STOP)) {
			uint64_t d[2] = {e->submit[0], e->submit[1]};
			attn_clear(e, I915_ATTN_SUBMIT);
			e->busy = true;
			update_ready_locked(e);
			unlock(e);
			run_list(e, d);
			e->busy_ns = i915_now_ns();
			lock(e);
			continue;
		}
		if (!idle_poll(e))
			wait_locked(e, e->late_bits ? e->late_due_ns : 0);
	}
	unlock(e);
	return NULL;
}

/* ---- register hooks (model lock held) ---- */

static void write_ignore(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
}

static uint32_t read_zero(struct sim_regs *r, uint32_t off, void *ctx)
{
	return 0;
}

static void write_masked(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, sim_masked_update(sim_regs_get(r, off), val));
}

static void write_1_to_clear(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, sim_regs_get(r, off) & ~val);
}

/* MODE_IDLE is the parser's state: nothing loaded, held at a boundary, or stopped by an error. */
static uint32_t mi_mode_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct i915_engine *e = ctx;
	bool idle = !e->busy || e->paused || e->halted;
	return sim_regs_get(r, off) | (idle ? SIM_I915_MI_MODE_IDLE : 0);
}

static void mi_mode_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	uint32_t v = sim_masked_update(sim_regs_get(r, off), val);
	sim_regs_set(r, off, v & ~SIM_I915_MI_MODE_IDLE);
	update_stop_locked(ctx);
}

static void reset_ctl_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	/* Only REQUEST is the driver's; READY_TO_RESET is status. */
	uint32_t v = sim_masked_update(sim_regs_get(r, off), val & (I915_RESET_CTL_REQUEST * 0x10001u));
	sim_regs_set(r, off, v);
	update_stop_locked(ctx);
}

static void elsp_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct i915_engine *e = ctx;
	e->elsp[e->elsp_n++] = val;
	if (e->elsp_n < 4)
		return;
	e->elsp_n = 0;
	/* Without RUN_LIST_ENABLE the engine is in ring-buffer mode and has no submit port. */
	if (!(rd(e, SIM_I915_RING_GFX_MODE) & GFX_RUN_LIST_ENABLE))
		return;
	uint64_t d1 = (uint64_t)e->elsp[0] << 32 | e->elsp[1];
	uint64_t d0 = (uint64_t)e->elsp[2] << 32 | e->elsp[3];
	if (!(d0 & I915_DESC_VALID))
		return;
	e->submit[0] = d0;
	e->submit[1] = d1 & I915_DESC_VALID ? d1 : 0;
	attn_set(e, I915_ATTN_SUBMIT);
	wr(e, SIM_I915_RING_EXECLIST_STATUS_LO, rd(e, SIM_I915_RING_EXECLIST_STATUS_LO) | EXECLIST_QUEUE_FULL);
}

static uint32_t timestamp_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct i915_engine *e = ctx;
	uint64_t t = i915_timestamp(e->g);
	return off == e->base + SIM_I915_RING_TIMESTAMP ? (uint32_t)t : (uint32_t)(t >> 32);
}

static uint32_t ctx_timestamp_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct i915_engine *e = ctx;
	if (!e->ctx_running)
		return sim_regs_get(r, off);
	return (uint32_t)(e->ctx_ts_base + ns_to_ticks(i915_now_ns() - e->ctx_t_in_ns));
}

static void gdrst_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_i915_engines *g = ctx;
	uint32_t pending = sim_regs_get(r, off);
	for (unsigned k = 0; k < SIM_I915_ENGINES; k++) {
		uint32_t dom = k == SIM_I915_RCS ? I915_GRDOM_RENDER : I915_GRDOM_BLT;
		if (val & (dom | I915_GRDOM_FULL)) {
			pending |= val & (dom | I915_GRDOM_FULL);
			attn_set(&g->e[k], I915_ATTN_RESET);
		}
	}
	/* Media, VEBOX and GuC domains have nothing behind them: their resets are done at once. */
	sim_regs_set(r, off, pending);
}

/* ---- setup ---- */

static int add_hook(struct sim_regs *r, uint32_t off, sim_reg_read_fn *read, sim_reg_write_fn *write, void *ctx)
{
	const struct sim_reg_hook h = {.off = off, .read = read, .write = write, .ctx = ctx};
	return sim_regs_add_hook(r, &h);
}

static int install_engine(struct i915_engine *e)
{
	struct sim_regs *r = e->g->r;
	const struct {
		uint32_t reg;
		sim_reg_read_fn *read;
		sim_reg_write_fn *write;
	} hooks[] = {
		{SIM_I915_RING_MI_MODE, mi_mode_read, mi_mode_write},
		{SIM_I915_RING_CONTEXT_CONTROL, NULL, write_masked},
		{SIM_I915_RING_GFX_MODE, NULL, write_masked},
		{SIM_I915_RING_CSB_PTR, NULL, write_masked},
		{SIM_I915_RING_EXECLIST_STATUS_LO, NULL, write_ignore},
		{SIM_I915_RING_EXECLIST_STATUS_HI, NULL, write_ignore},
		{SIM_I915_RING_ELSP, read_zero, elsp_write},
		{SIM_I915_RING_RESET_CTL, NULL, reset_ctl_write},
		{SIM_I915_RING_EIR, NULL, write_1_to_clear},
		{SIM_I915_RING_ESR, NULL, write_ignore},
		{SIM_I915_RING_TIMESTAMP, timestamp_read, write_ignore},
		{SIM_I915_RING_TIMESTAMP_UDW, timestamp_read, write_ignore},
		{SIM_I915_RING_CTX_TIMESTAMP, ctx_timestamp_read, NULL},
	};
	for (size_t k = 0; k < sizeof(hooks) / sizeof(hooks[0]); k++) {
		int ret = add_hook(r, e->base + hooks[k].reg, hooks[k].read, hooks[k].write, e);
		if (ret)
			return ret;
	}
	/* Reset state [plausible]: interrupts and errors masked, no status written yet. */
	wr(e, SIM_I915_RING_HWSTAM, 0xFFFFFFFFu);
	wr(e, SIM_I915_RING_IMR, 0xFFFFFFFFu);
	wr(e, SIM_I915_RING_EMR, 0xFFFFFFFFu);
	wr(e, SIM_I915_RING_CSB_PTR, SIM_I915_CSB_PTR_RESET);
	return 0;
}

struct sim_i915_engines *sim_i915_engines_create(struct sim_model *m, pthread_mutex_t *lock, struct sim_regs *regs)
{
	struct sim_i915_engines *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->m = m;
	g->lock = lock;
	g->r = regs;
	g->t0_ns = i915_now_ns();
	int err = pthread_mutex_init(&g->atomic_lock, NULL);
	if (err) {
		free(g);
		errno = err;
		return NULL;
	}
	for (unsigned k = 0; k < SIM_I915_ENGINES; k++) {
		struct i915_engine *e = &g->e[k];
		e->g = g;
		e->id = k;
		e->base = k == SIM_I915_RCS ? SIM_I915_RCS_BASE : SIM_I915_BCS_BASE;
		e->irq_shift = k == SIM_I915_RCS ? 0 : 16;
		e->fault_id = k == SIM_I915_RCS ? 0 : 2; /* the engines' hardware IDs [plausible] */
		atomic_init(&e->attn, 0);
	}
	for (unsigned k = 0; k < SIM_I915_ENGINES && !err; k++) {
		struct i915_engine *e = &g->e[k];
		pthread_condattr_t attr;
		err = pthread_condattr_init(&attr);
		if (!err) {
			err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
			if (!err)
				err = pthread_cond_init(&e->cond, &attr);
			pthread_condattr_destroy(&attr);
		}
		if (!err)
			err = -install_engine(e);
		if (!err) {
			err = pthread_create(&e->thread, NULL, engine_thread, e);
			e->thread_running = !err;
		}
	}
	if (!err)
		err = -add_hook(regs, SIM_I915_GDRST, NULL, gdrst_write, g);
	if (err) {
		sim_i915_engines_destroy(g);
		errno = err > 0 ? err : ENOMEM;
		return NULL;
	}
	return g;
}

void sim_i915_engines_destroy(struct sim_i915_engines *g)
{
	if (!g)
		return;
	for (unsigned k = 0; k < SIM_I915_ENGINES; k++) {
		struct i915_engine *e = &g->e[k];
		if (!e->thread_running)
			continue;
		pthread_mutex_lock(g->lock);
		attn_set(e, I915_ATTN_QUIT);
		pthread_mutex_unlock(g->lock);
		pthread_join(e->thread, NULL);
		e->thread_running = false;
	}
	for (unsigned k = 0; k < SIM_I915_ENGINES; k++)
		if (g->e[k].g)
			pthread_cond_destroy(&g->e[k].cond);
	pthread_mutex_destroy(&g->atomic_lock);
	free(g);
}

/* ---- misbehaviour and statistics ---- */

void sim_i915_set_engine_fault(struct sim_model *m, unsigned engine, unsigned faults, uint32_t delay_us)
{
	struct sim_i915_engines *g = sim_i915_engines_of(m);
	if (!g || engine >= SIM_I915_ENGINES)
		return;
	struct i915_engine *e = &g->e[engine];
	lock(e);
	e->faults = faults;
	e->delay_ns = (uint64_t)delay_us * 1000u;
	if (faults & SIM_I915_ENGINE_FAULT_HANG)
		attn_set(e, I915_ATTN_HANG);
	else
		attn_clear(e, I915_ATTN_HANG);
	pthread_cond_signal(&e->cond);
	unlock(e);
}

int sim_i915_fault_page(struct sim_model *m, bool ppgtt, uint64_t gfx_addr, bool on)
{
	struct sim_i915_engines *g = sim_i915_engines_of(m);
	if (!g)
		return -ENODEV;
	uint64_t page = gfx_addr & I915_ADDR_MASK & ~0xFFFull;
	int ret = on ? -ENOSPC : 0;
	pthread_mutex_lock(g->lock);
	unsigned n = atomic_load(&g->nfault_pages);
	for (unsigned i = 0; i < n; i++) {
		if (g->fault_pages[i].ppgtt == ppgtt && g->fault_pages[i].page == page) {
			if (!on) {
				g->fault_pages[i] = g->fault_pages[n - 1];
				atomic_store(&g->nfault_pages, n - 1);
			}
			ret = 0;
			goto out;
		}
	}
	if (on && n < I915_MAX_FAULT_PAGES) {
		g->fault_pages[n].ppgtt = ppgtt;
		g->fault_pages[n].page = page;
		atomic_store(&g->nfault_pages, n + 1);
		ret = 0;
	}
out:
	pthread_mutex_unlock(g->lock);
	return ret;
}

int sim_i915_engine_stats(struct sim_model *m, unsigned engine, struct sim_i915_engine_stats *out)
{
	struct sim_i915_engines *g = sim_i915_engines_of(m);
	if (!g || engine >= SIM_I915_ENGINES)
		return -EINVAL;
	pthread_mutex_lock(g->lock);
	*out = g->e[engine].stats;
	pthread_mutex_unlock(g->lock);
	return 0;
}
