/*
 * The Skylake command streamer's parser (GPU-MODELS.md §7, §12).
 *
 * Shaders are never executed. MI commands are; 3D, media and blit commands (PIPELINE_SELECT,
 * STATE_BASE_ADDRESS, 3DSTATE_*, 3DPRIMITIVE, MEDIA_*, GPGPU_WALKER, XY_*_BLT) are parsed by their
 * length field, counted, recorded and skipped, so draws, dispatches and blits leave memory as it
 * was. PIPE_CONTROL and MI_FLUSH_DW do their post-sync writes and notifies; their flush and
 * invalidate bits do nothing, as the model has no caches.
 *
 * A command the engine does not take (reserved client, unknown MI opcode, a length the command
 * cannot have, a blit on RCS, a 3D command on BCS, MI_FLUSH_DW on RCS) or cannot fetch is a CS
 * error and the engine stops. A batch that polls (jumps back into itself, or waits on a
 * semaphore) is re-read every pass with a growing sleep in between, never a busy loop.
 *
 * Commands come through a prefetch, as on the hardware: up to 64 dwords of the current stream
 * read ahead within one page with one translation (in the ring, never past the tail). It empties
 * when the stream jumps or ends, when the engine naps or is held, and when the engine's own
 * writes land on it; a fetch it cannot make is retried the long way, which reports the fault.
 *
 * Privilege: the ring (under a privileged descriptor) and GGTT batches started from it are
 * privileged; a PPGTT batch is not, and for it a command's GGTT bit is ignored (it stays in its
 * own PPGTT) and kernel registers are out of reach.
 */
#include "i915_engine.h"

#include <string.h>

#define MI_OPCODE(h) (((h) >> 23) & 0x3Fu)
#define MI_USE_GGTT (1u << 22)
#define MAX_CMD_DWORDS 260u

#define NAP_MIN_NS 10000ull
#define NAP_MAX_NS 1000000ull

enum kind { K_BAD, K_MI, K_3D, K_2D };

enum {
	OP_NOOP = 0x00, OP_USER_INTERRUPT = 0x02, OP_ARB_CHECK = 0x05, OP_ARB_ON_OFF = 0x08, OP_BB_END = 0x0A,
	OP_MATH = 0x1A, OP_SEMAPHORE_WAIT = 0x1C, OP_STORE_DATA_IMM = 0x20, OP_STORE_DATA_INDEX = 0x21,
	OP_LRI = 0x22, OP_SRM = 0x24, OP_FLUSH_DW = 0x26, OP_LRM = 0x29, OP_LRR = 0x2A, OP_COPY_MEM_MEM = 0x2E,
	OP_ATOMIC = 0x2F, OP_BB_START = 0x31, OP_COND_BB_END = 0x36,
};

/* MI commands that are parsed and skipped: predication, flips, URB and resource-streamer
 * commands, cache and GTT maintenance, perf reports. */
static bool mi_skipped(unsigned op)
{
	switch (op) {
	case 0x01: case 0x03: case 0x06: case 0x07: case 0x09: case 0x0B: case 0x0C: case 0x0D: case 0x0E:
	case 0x0F: case 0x12: case 0x13: case 0x14: case 0x19: case 0x1B: case 0x1D: case 0x23: case 0x27:
	case 0x28: case 0x2B: case 0x2C: case 0x2D:
		return true;
	default:
		return false;
	}
}

static unsigned mi_length_mask(unsigned op)
{
	switch (op) {
	case OP_FLUSH_DW:
		return 0x3F;
	case OP_STORE_DATA_IMM: case 0x23: case 0x27:
		return 0x3FF;
	default:
		return 0xFF;
	}
}

/* Total dwords of a command from its header. */
static unsigned cmd_length(const struct i915_engine *e, uint32_t h, enum kind *kind)
{
	switch (h >> 29) {
	case 0: {
		unsigned op = MI_OPCODE(h);
		*kind = K_MI;
		return op < 0x10 ? 1 : (h & mi_length_mask(op)) + 2;
	}
	case 2:
		*kind = e->id == SIM_I915_BCS ? K_2D : K_BAD;
		return (h & 0xFF) + 2;
	case 3: {
		unsigned sub = (h >> 27) & 3, op = (h >> 24) & 7, subop = (h >> 16) & 0xFF;
		*kind = e->id == SIM_I915_RCS ? K_3D : K_BAD;
		if (sub == 1) /* PIPELINE_SELECT, 3DSTATE_VF_STATISTICS: single dword */
			return 1;
		if (sub == 2 && !(op == 1 && (subop == 4 || subop == 5))) /* media: 16-bit length */
			return (h & 0xFFFF) + 2;
		if (sub == 3 && ((op == 0 && subop >= 0x43 && subop <= 0x47) || (op == 1 && subop == 0x17)))
			return (h & 0x1FF) + 2; /* binding-table edits, SO_DECL_LIST */
		return (h & 0xFF) + 2;
	}
	default:
		*kind = K_BAD;
		return 1;
	}
}

static uint64_t cmd_addr(const struct i915_ctx *c)
{
	return c->level ? c->bb[c->level] : (uint64_t)c->ring_start + c->head;
}

/* Dwords between head and tail. */
static uint32_t ring_avail(const struct i915_ctx *c)
{
	return (c->tail + c->ring_size - c->head) % c->ring_size / 4;
}

/* Dwords [first, first + n) of the current command read as they are, each page the long way. */
static int cmd_read_direct(struct i915_engine *e, unsigned first, uint32_t *dw, unsigned n)
{
	struct i915_ctx *c = &e->ctx;
	if (c->level)
		return i915_mem_read(e, c->bb_ppgtt[c->level], c->bb[c->level] + 4ull * first, dw, 4ull * n);
	uint32_t off = (c->head + 4 * first) % c->ring_size, len = 4 * n;
	uint32_t part = len < c->ring_size - off ? len : c->ring_size - off;
	if (i915_mem_read(e, false, (uint64_t)c->ring_start + off, dw, part))
		return -1;
	return part == len ? 0 : i915_mem_read(e, false, c->ring_start, (uint8_t *)dw + part, len - part);
}

/* Graphics address of dword idx of the current command. */
static uint64_t dword_addr(const struct i915_ctx *c, unsigned idx)
{
	if (c->level)
		return (c->bb[c->level] + 4ull * idx) & I915_ADDR_MASK;
	return (uint64_t)c->ring_start + (c->head + 4 * idx) % c->ring_size;
}

static bool stream_ppgtt(const struct i915_ctx *c)
{
	return c->level && c->bb_ppgtt[c->level];
}

/* Refills the prefetch from dword idx: up to its page's end, and in the ring up to the tail
 * (the driver writes beyond it). */
static int prefetch(struct i915_engine *e, uint64_t addr, unsigned idx)
{
	struct i915_ctx *c = &e->ctx;
	unsigned n = (unsigned)(4096 - (addr & 4095)) / 4;
	if (n > I915_PREFETCH_DWORDS)
		n = I915_PREFETCH_DWORDS;
	if (!c->level) {
		uint32_t avail = ring_avail(c);
		if (idx >= avail)
			return -1;
		if (n > avail - idx)
			n = avail - idx;
	}
	c->pf_n = 0;
	if (i915_mem_read_page(e, stream_ppgtt(c), addr, c->pf, 4u * n, &c->pf_bus))
		return -1;
	c->pf_addr = addr;
	c->pf_n = n;
	c->pf_level = c->level;
	c->pf_ppgtt = stream_ppgtt(c);
	return 0;
}

/*
 * Dwords [first, first + n) of the current command; the ring wraps at its end. They come from
 * the prefetch, refilled where it runs out; anything it cannot take (a miss, a bus error) is
 * read the long way, which reports the fault exactly where the access meets it.
 */
static int cmd_read(struct i915_engine *e, unsigned first, uint32_t *dw, unsigned n)
{
	struct i915_ctx *c = &e->ctx;
	for (unsigned i = 0; i < n;) {
		uint64_t a = dword_addr(c, first + i);
		bool hit = c->pf_n && c->pf_level == c->level && c->pf_ppgtt == stream_ppgtt(c) && a >= c->pf_addr &&
			   a < c->pf_addr + 4u * c->pf_n;
		if (!hit && prefetch(e, a, first + i))
			return cmd_read_direct(e, first, dw, n);
		unsigned k = (unsigned)(a - c->pf_addr) / 4, take = c->pf_n - k < n - i ? c->pf_n - k : n - i;
		memcpy(dw + i, c->pf + k, 4u * take);
		i += take;
	}
	return 0;
}

static void advance(struct i915_ctx *c, unsigned n)
{
	if (c->level)
		c->bb[c->level] = (c->bb[c->level] + 4ull * n) & I915_ADDR_MASK;
	else
		c->head = (c->head + 4 * n) % c->ring_size;
}

static uint64_t addr64(uint32_t lo, uint32_t hi)
{
	return ((uint64_t)hi << 32 | lo) & I915_ADDR_MASK;
}

static bool priv(const struct i915_ctx *c)
{
	return c->priv[c->level];
}

/* GGTT only when the command asks and may: an unprivileged batch stays in its PPGTT. */
static bool in_ppgtt(const struct i915_ctx *c, bool ggtt_bit)
{
	return !(ggtt_bit && priv(c));
}

static enum i915_step bad(struct i915_engine *e, uint32_t header, uint64_t addr)
{
	i915_cs_error(e, header, addr, I915_ERROR_INSTRUCTION);
	return I915_STEP_HALT;
}

static void store(struct i915_engine *e, bool ppgtt, uint64_t addr, const void *v, size_t len)
{
	i915_mem_write(e, ppgtt, addr, v, len);
}

/* ---- MI_MATH ---- */

enum {
	ALU_NOOP = 0x000, ALU_LOAD = 0x080, ALU_LOADINV = 0x480, ALU_LOAD0 = 0x081, ALU_LOAD1 = 0x481,
	ALU_ADD = 0x100, ALU_SUB = 0x101, ALU_AND = 0x102, ALU_OR = 0x103, ALU_XOR = 0x104,
	ALU_STORE = 0x180, ALU_STOREINV = 0x580,
};
enum { R_SRCA = 0x20, R_SRCB = 0x21, R_ACCU = 0x31, R_ZF = 0x32, R_CF = 0x33 };

static int alu_get(struct i915_engine *e, unsigned r, uint64_t *v)
{
	if (r < 16) {
		*v = i915_gpr_read(e, r);
		return 0;
	}
	switch (r) {
	case R_SRCA: *v = e->alu_srca; return 0;
	case R_SRCB: *v = e->alu_srcb; return 0;
	case R_ACCU: *v = e->alu_accu; return 0;
	/* Flags read as all ones or all zeros, usable as masks [inferred]. */
	case R_ZF: *v = e->alu_zf ? ~0ull : 0; return 0;
	case R_CF: *v = e->alu_cf ? ~0ull : 0; return 0;
	default: return -1;
	}
}

static int alu_src(struct i915_engine *e, unsigned r, uint64_t v)
{
	if (r == R_SRCA)
		e->alu_srca = v;
	else if (r == R_SRCB)
		e->alu_srcb = v;
	else
		return -1;
	return 0;
}

static void alu_result(struct i915_engine *e, uint64_t v, bool cf)
{
	e->alu_accu = v;
	e->alu_zf = v == 0;
	e->alu_cf = cf;
}

/* One ALU instruction: opcode [31:20], operand 1 [19:10], operand 2 [9:0]. */
static int alu(struct i915_engine *e, uint32_t insn)
{
	unsigned op = insn >> 20, o1 = (insn >> 10) & 0x3FF, o2 = insn & 0x3FF;
	uint64_t v, a = e->alu_srca, b = e->alu_srcb;
	switch (op) {
	case ALU_NOOP:
		return 0;
	case ALU_LOAD:
	case ALU_LOADINV:
		if (alu_get(e, o2, &v))
			return -1;
		return alu_src(e, o1, op == ALU_LOADINV ? ~v : v);
	case ALU_LOAD0:
	case ALU_LOAD1: /* zero, or its inverse: all ones [inferred from the LOADINV bit] */
		return alu_src(e, o1, op == ALU_LOAD1 ? ~0ull : 0);
	case ALU_ADD:
		alu_result(e, a + b, a + b < a);
		return 0;
	case ALU_SUB:
		alu_result(e, a - b, a < b);
		return 0;
	case ALU_AND:
		alu_result(e, a & b, false);
		return 0;
	case ALU_OR:
		alu_result(e, a | b, false);
		return 0;
	case ALU_XOR:
		alu_result(e, a ^ b, false);
		return 0;
	case ALU_STORE:
	case ALU_STOREINV:
		if (o1 >= 16 || alu_get(e, o2, &v))
			return -1;
		i915_gpr_write(e, o1, op == ALU_STOREINV ? ~v : v);
		return 0;
	default:
		return -1;
	}
}

/* ---- MI_ATOMIC ---- */

enum {
	AT_AND = 1, AT_OR, AT_XOR, AT_MOVE, AT_INC, AT_DEC, AT_ADD, AT_SUB, AT_RSUB, AT_IMAX, AT_IMIN,
	AT_UMAX, AT_UMIN, AT_CMP_WR, AT_PREDEC,
};

/* The new memory value, or -1 for an operation the model does not know. */
static int atomic_op(unsigned op, uint64_t m, uint64_t s1, uint64_t s2, bool qword, uint64_t *out)
{
	uint64_t mask = qword ? ~0ull : 0xFFFFFFFFull;
	int64_t sm = qword ? (int64_t)m : (int32_t)(uint32_t)m, ss = qword ? (int64_t)s1 : (int32_t)(uint32_t)s1;
	m &= mask;
	s1 &= mask;
	switch (op) {
	case AT_AND: *out = m & s1; break;
	case AT_OR: *out = m | s1; break;
	case AT_XOR: *out = m ^ s1; break;
	case AT_MOVE: *out = s1; break;
	case AT_INC: *out = m + 1; break;
	case AT_DEC: case AT_PREDEC: *out = m - 1; break;
	case AT_ADD: *out = m + s1; break;
	case AT_SUB: *out = m - s1; break;
	case AT_RSUB: *out = s1 - m; break;
	case AT_IMAX: *out = sm > ss ? m : s1; break;
	case AT_IMIN: *out = sm < ss ? m : s1; break;
	case AT_UMAX: *out = m > s1 ? m : s1; break;
	case AT_UMIN: *out = m < s1 ? m : s1; break;
	/* Compare operand 1 with memory; if equal, write operand 2 [inferred]. */
	case AT_CMP_WR: *out = m == s1 ? s2 : m; break;
	default: return -1;
	}
	*out &= mask;
	return 0;
}

static enum i915_step mi_atomic(struct i915_engine *e, const uint32_t *dw, unsigned len, uint64_t at)
{
	const struct i915_ctx *c = &e->ctx;
	uint32_t h = dw[0];
	unsigned op = (h >> 8) & 0xFF;
	bool inl = h & (1u << 18), qword = (op & 0xE0) == 0x20, ppgtt = in_ppgtt(c, h & MI_USE_GGTT);
	if ((inl ? len != 11 : len != 3) || (op & 0xE0) > 0x20)
		return bad(e, h, at);
	/* Operands inline, else from GPR0/GPR1 [inferred]. */
	uint64_t s1 = inl ? (uint64_t)dw[4] << 32 | dw[3] : i915_gpr_read(e, 0);
	uint64_t s2 = inl ? (uint64_t)dw[6] << 32 | dw[5] : i915_gpr_read(e, 1);
	uint64_t addr = addr64(dw[1], dw[2]) & ~(qword ? 7ull : 3ull), m = 0, n;
	size_t size = qword ? 8 : 4;
	if (atomic_op(op & 0x1F, 0, 0, 0, qword, &n))
		return bad(e, h, at);
	pthread_mutex_lock(&e->g->atomic_lock);
	if (!i915_mem_read(e, ppgtt, addr, &m, size)) {
		atomic_op(op & 0x1F, m, s1, s2, qword, &n);
		store(e, ppgtt, addr, &n, size);
	}
	pthread_mutex_unlock(&e->g->atomic_lock);
	if (h & (1u << 16)) /* return data: the old value, in GPR0 [inferred] */
		i915_gpr_write(e, 0, m);
	return I915_STEP_NEXT;
}

/* ---- flow control ---- */

static enum i915_step bb_start(struct i915_engine *e, const uint32_t *dw, uint64_t at)
{
	struct i915_ctx *c = &e->ctx;
	uint32_t h = dw[0];
	uint64_t target = addr64(dw[1], dw[2]) & ~3ull;
	bool ppgtt = (h & (1u << 8)) || !priv(c);
	unsigned from = c->level, to = from == 0 ? 1 : ((h & (1u << 22)) && from == 1 ? 2 : from);
	bool back = to == from && target <= at && ppgtt == c->bb_ppgtt[from];
	advance(c, 3);
	i915_prefetch_flush(e);
	c->priv[to] = c->priv[from] && !ppgtt;
	c->bb[to] = target;
	c->bb_ppgtt[to] = ppgtt;
	c->level = to;
	if (!back) {
		c->loop_spins = 0;
		return I915_STEP_NEXT;
	}
	/* Back into the same batch: a poll loop (IGT's spinner runs so until its first dword
	 * changes). Every pass re-reads memory; after the first passes, sleep between them. */
	if (++c->loop_spins > 2) {
		unsigned shift = c->loop_spins - 3 < 7 ? c->loop_spins - 3 : 7;
		uint64_t ns = NAP_MIN_NS << shift;
		if (!i915_engine_nap(e, ns < NAP_MAX_NS ? ns : NAP_MAX_NS))
			return I915_STEP_ABORT;
	}
	return I915_STEP_NEXT;
}

static bool semaphore_true(unsigned op, uint32_t sad, uint32_t sdd)
{
	switch (op) {
	case 0: return sad > sdd;
	case 1: return sad >= sdd;
	case 2: return sad < sdd;
	case 3: return sad <= sdd;
	case 4: return sad == sdd;
	default: return sad != sdd;
	}
}

/* Polls until the condition holds; preemptible while arbitration is on. Signal mode (b15 clear)
 * is polled the same way. */
static enum i915_step semaphore_wait(struct i915_engine *e, const uint32_t *dw, unsigned len, uint64_t at)
{
	struct i915_ctx *c = &e->ctx;
	uint32_t h = dw[0];
	unsigned op = (h >> 12) & 7;
	if (len != 4 || op > 5)
		return bad(e, h, at);
	bool ppgtt = in_ppgtt(c, h & MI_USE_GGTT);
	uint64_t addr = addr64(dw[2], dw[3]) & ~3ull, ns = NAP_MIN_NS;
	for (;;) {
		uint32_t sad = 0;
		i915_mem_read(e, ppgtt, addr, &sad, sizeof(sad));
		if (semaphore_true(op, sad, dw[1]))
			break;
		if (c->arb && i915_submit_waiting(e))
			return I915_STEP_PREEMPT; /* resumes at this command */
		if (!i915_engine_nap(e, ns))
			return I915_STEP_ABORT;
		ns = ns * 2 < NAP_MAX_NS ? ns * 2 : NAP_MAX_NS;
	}
	advance(c, 4);
	return I915_STEP_NEXT;
}

/* ---- post-sync writes ---- */

/* PIPE_CONTROL / MI_FLUSH_DW post-sync: 1 immediate data, 2 depth count (nothing is rasterised:
 * zero), 3 timestamp. */
static void post_sync(struct i915_engine *e, unsigned op, bool ppgtt, uint64_t addr, const uint32_t *imm,
		      size_t imm_len)
{
	uint64_t v = 0;
	switch (op) {
	case 1:
		store(e, ppgtt, addr, imm, imm_len);
		return;
	case 2:
		store(e, ppgtt, addr, &v, sizeof(v));
		return;
	case 3:
		v = i915_timestamp(e->g);
		store(e, ppgtt, addr, &v, sizeof(v));
		return;
	default:
		return;
	}
}

static enum i915_step pipe_control(struct i915_engine *e, const uint32_t *dw, unsigned len, uint64_t at)
{
	const struct i915_ctx *c = &e->ctx;
	if (len < 6)
		return bad(e, dw[0], at);
	uint32_t flags = dw[1];
	bool ppgtt = in_ppgtt(c, flags & (1u << 24));
	uint64_t addr = addr64(dw[2], dw[3]) & ~3ull;
	if ((flags & (1u << 21)) && priv(c)) { /* store data index: an offset in the HWSP */
		addr = i915_hwsp(e) + (dw[2] & 0xFFCu);
		ppgtt = false;
	}
	/* Gen8+ writes the immediate as a qword. */
	post_sync(e, (flags >> 14) & 3, ppgtt, addr, &dw[4], 8);
	if (flags & (1u << 8))
		i915_engine_irq(e, SIM_I915_GT_NOTIFY);
	return I915_STEP_NEXT;
}

static enum i915_step flush_dw(struct i915_engine *e, const uint32_t *dw, unsigned len, uint64_t at)
{
	const struct i915_ctx *c = &e->ctx;
	uint32_t h = dw[0];
	if (e->id != SIM_I915_BCS || (len != 4 && len != 5))
		return bad(e, h, at);
	bool ppgtt = in_ppgtt(c, dw[1] & 4u);
	uint64_t addr = addr64(dw[1] & ~7u, dw[2]);
	if ((h & (1u << 21)) && priv(c)) {
		addr = i915_hwsp(e) + (dw[1] & 0xFF8u);
		ppgtt = false;
	}
	post_sync(e, (h >> 14) & 3, ppgtt, addr, &dw[3], 4u * (len - 3));
	if (h & (1u << 8))
		i915_engine_irq(e, SIM_I915_GT_NOTIFY);
	return I915_STEP_NEXT;
}

/* ---- 3D, media, blit: parsed and skipped ---- */

static enum i915_step skip(struct i915_engine *e, uint32_t h, unsigned len, enum kind kind)
{
	int what = I915_SKIP_STATE;
	unsigned sub = (h >> 27) & 3, op = (h >> 24) & 7, subop = (h >> 16) & 0xFF;
	if (kind == K_2D)
		what = I915_SKIP_BLIT;
	else if (kind == K_MI)
		what = I915_SKIP_MI;
	else if (sub == 3 && op == 3 && subop == 0) /* 3DPRIMITIVE */
		what = I915_SKIP_DRAW;
	else if (sub == 2 && op == 1) /* MEDIA_OBJECT*, GPGPU_OBJECT, GPGPU_WALKER */
		what = I915_SKIP_DISPATCH;
	i915_stat_skipped(e, h, what);
	advance(&e->ctx, len);
	return I915_STEP_NEXT;
}

/* ---- MI dispatch ---- */

static enum i915_step mi(struct i915_engine *e, const uint32_t *dw, unsigned len, uint64_t at)
{
	struct i915_ctx *c = &e->ctx;
	uint32_t h = dw[0], v = 0;
	bool p = priv(c);
	switch (MI_OPCODE(h)) {
	case OP_NOOP:
		if (h & (1u << 22)) /* identification number to NOPID */
			i915_reg_write(e, e->base + SIM_I915_RING_NOPID, h & 0x3FFFFFu, true);
		break;
	case OP_USER_INTERRUPT:
		i915_engine_irq(e, SIM_I915_GT_USER_INTERRUPT);
		break;
	case OP_ARB_CHECK:
		advance(c, 1);
		return c->arb && i915_submit_waiting(e) ? I915_STEP_PREEMPT : I915_STEP_NEXT;
	case OP_ARB_ON_OFF:
		c->arb = h & 1;
		break;
	case OP_BB_END:
		if (!c->level)
			break; /* nothing to end in the ring */
		c->level--; /* the caller's pointer is already past its BB_START */
		c->loop_spins = 0;
		i915_prefetch_flush(e);
		return I915_STEP_NEXT;
	case OP_BB_START:
		return len == 3 ? bb_start(e, dw, at) : bad(e, h, at);
	case OP_COND_BB_END: {
		if (len != 4)
			return bad(e, h, at);
		i915_mem_read(e, in_ppgtt(c, h & MI_USE_GGTT), addr64(dw[2], dw[3]) & ~3ull, &v, sizeof(v));
		/* Ends the batch when memory <= the compare dword, or 0 without Compare Semaphore [inferred]. */
		if (c->level && v <= ((h & (1u << 21)) ? dw[1] : 0)) {
			c->level = 0;
			c->loop_spins = 0;
			i915_prefetch_flush(e);
			return I915_STEP_NEXT;
		}
		break;
	}
	case OP_SEMAPHORE_WAIT:
		return semaphore_wait(e, dw, len, at);
	case OP_STORE_DATA_IMM:
		if (len != 4 && len != 5)
			return bad(e, h, at);
		store(e, in_ppgtt(c, h & MI_USE_GGTT), addr64(dw[1], dw[2]) & ~3ull, &dw[3], 4u * (len - 3));
		break;
	case OP_STORE_DATA_INDEX: {
		if (len != 3 && len != 4)
			return bad(e, h, at);
		/* Engine HWSP, or the context's own (LRC page 0) for b21 and for unprivileged batches. */
		uint64_t base = (h & (1u << 21)) || !p ? c->lrca : i915_hwsp(e);
		store(e, false, base + (dw[1] & 0xFFCu), &dw[2], 4u * (len - 2));
		break;
	}
	case OP_LRI:
		if (len < 3 || !(len & 1))
			return bad(e, h, at);
		for (unsigned i = 1; i + 1 < len; i += 2)
			i915_reg_write(e, dw[i] & 0x7FFFFCu, dw[i + 1], p);
		break;
	case OP_SRM:
		if (len != 4)
			return bad(e, h, at);
		v = i915_reg_read(e, dw[1] & 0x7FFFFCu, p);
		store(e, in_ppgtt(c, h & MI_USE_GGTT), addr64(dw[2], dw[3]) & ~3ull, &v, sizeof(v));
		break;
	case OP_LRM:
		if (len != 4)
			return bad(e, h, at);
		if (!i915_mem_read(e, in_ppgtt(c, h & MI_USE_GGTT), addr64(dw[2], dw[3]) & ~3ull, &v, sizeof(v)))
			i915_reg_write(e, dw[1] & 0x7FFFFCu, v, p);
		break;
	case OP_LRR:
		if (len != 3)
			return bad(e, h, at);
		i915_reg_write(e, dw[2] & 0x7FFFFCu, i915_reg_read(e, dw[1] & 0x7FFFFCu, p), p);
		break;
	case OP_COPY_MEM_MEM:
		if (len != 5)
			return bad(e, h, at);
		/* b22: source in the GGTT, b21: destination in the GGTT. */
		if (!i915_mem_read(e, in_ppgtt(c, h & (1u << 22)), addr64(dw[3], dw[4]) & ~3ull, &v, sizeof(v)))
			store(e, in_ppgtt(c, h & (1u << 21)), addr64(dw[1], dw[2]) & ~3ull, &v, sizeof(v));
		break;
	case OP_ATOMIC: {
		enum i915_step s = mi_atomic(e, dw, len, at);
		if (s != I915_STEP_NEXT)
			return s;
		break;
	}
	case OP_MATH:
		if (len < 2)
			return bad(e, h, at);
		for (unsigned i = 1; i < len; i++)
			if (alu(e, dw[i]))
				return bad(e, h, at);
		break;
	case OP_FLUSH_DW: {
		enum i915_step s = flush_dw(e, dw, len, at);
		if (s != I915_STEP_NEXT)
			return s;
		break;
	}
	default:
		if (mi_skipped(MI_OPCODE(h)))
			return skip(e, h, len, K_MI);
		return bad(e, h, at);
	}
	advance(c, len);
	return I915_STEP_NEXT;
}

enum i915_step i915_cmd_step(struct i915_engine *e)
{
	struct i915_ctx *c = &e->ctx;
	uint32_t dw[MAX_CMD_DWORDS];
	enum kind kind;
	if (!c->level && c->head == c->tail)
		return I915_STEP_DONE;
	uint64_t at = cmd_addr(c);
	i915_publish_pointer(e, at);
	if (cmd_read(e, 0, dw, 1))
		return bad(e, 0, at);
	unsigned len = cmd_length(e, dw[0], &kind);
	if (kind == K_BAD || (!c->level && len > ring_avail(c)))
		return bad(e, dw[0], at);
	bool pc = kind == K_3D && (dw[0] >> 16) == 0x7A00u; /* PIPE_CONTROL */
	if (kind != K_MI && !pc)
		return skip(e, dw[0], len, kind);
	if (kind == K_MI && mi_skipped(MI_OPCODE(dw[0])))
		return skip(e, dw[0], len, kind);
	if (len > MAX_CMD_DWORDS || (len > 1 && cmd_read(e, 1, dw + 1, len - 1)))
		return bad(e, dw[0], at);
	if (pc) {
		enum i915_step s = pipe_control(e, dw, len, at);
		if (s == I915_STEP_NEXT)
			advance(c, len);
		return s;
	}
	return mi(e, dw, len, at);
}
