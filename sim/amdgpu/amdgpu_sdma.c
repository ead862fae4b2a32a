/*
 * SDMA 4.0, instances 0 and 1 (facts §3): each a thread that fetches packets
 * from its GFX queue ring and from the IBs it points to, through the MMHUB
 * translation of the stream's VMID (the ring: VMID 0; an IB: the VMID in its
 * INDIRECT header), and copies, writes, fills, fences, traps and polls.
 * A fence is in memory before a later TRAP's entry reaches the IH ring.
 *
 * Read and write pointers are 64-bit byte offsets. An unknown op or sub-op
 * stops the ring, busy in SDMA0_STATUS_REG, until the driver disables and
 * re-enables the ring (RB_ENABLE), which is also how a hang is cleared.
 *
 * Locking as the CP: the thread holds the model lock while it works and drops
 * it between packets and while it sleeps.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim_amdgpu.h"

enum {
	SDMA_OP_NOP = 0,
	SDMA_OP_COPY = 1,
	SDMA_OP_WRITE = 2,
	SDMA_OP_INDIRECT = 4,
	SDMA_OP_FENCE = 5,
	SDMA_OP_TRAP = 6,
	SDMA_OP_POLL_REGMEM = 8,
	SDMA_OP_CONST_FILL = 11,
	SDMA_OP_PTEPDE = 12,
	SDMA_OP_TIMESTAMP = 13,
	SDMA_OP_SRBM_WRITE = 14,
};

#define NINST 2u
#define CHUNK 16384u
#define PKT_MAX_DW 16u /* the longest fixed-size packet (PTEPDE: 10) */
#define REG(inst, off) ((off) + (inst)->idx * SIM_AMDGPU_SDMA_STRIDE)

struct sdma_wait {
	uint32_t len;
	bool mem;
	uint64_t addr; /* memory address, or register byte offset */
	uint32_t func, ref, mask;
	uint64_t give_up_ns; /* after RETRY_COUNT intervals; UINT64_MAX for 0xFFF: forever */
	uint64_t poll_ns;
	uint8_t vmid;
};

struct sdma_inst {
	struct sim_model *m;
	unsigned idx;
	const bool *stop; /* the engine's (under the model lock) */
	pthread_t thread;
	bool started;

	uint64_t rptr, wptr; /* bytes, free running; wptr as last latched */
	bool in_ib;
	uint64_t ib_va;
	uint32_t ib_size, ib_pos; /* dwords */
	uint8_t ib_vmid;
	uint32_t ring_ib_len;
	bool waiting;
	struct sdma_wait w;
	uint64_t generation;
	bool wrote; /* memory changed: other engines may be polling */
	struct sim_amdgpu_waiter *waiter;

	enum sim_amdgpu_ring_error error;
	uint32_t error_header;
	uint64_t error_addr;
	bool hung;
	unsigned faults;
	uint64_t delay_ns;
	struct sim_amdgpu_iv_queue delayed;
	struct sim_amdgpu_ring_status st;

	uint32_t pkt[PKT_MAX_DW];
	uint8_t chunk[CHUNK];
};

struct sim_amdgpu_sdma {
	bool stop;
	struct sdma_inst inst[NINST];
};

struct ring_cfg {
	uint64_t base;
	uint32_t size, mask; /* dwords */
};

enum exec { EX_DONE, EX_WAIT, EX_MOVED, EX_ERROR };

static uint64_t gpu_clock(void)
{
	uint64_t t = sim_amdgpu_now_ns();
	return t / 1000000000ull * SIM_AMDGPU_GPU_CLOCK_HZ + t % 1000000000ull * SIM_AMDGPU_GPU_CLOCK_HZ / 1000000000ull;
}

static struct sim_amdgpu_sdma *get_sdma(struct sim_model *m)
{
	return sim_amdgpu_engine(m, SIM_AMDGPU_ENGINE_SDMA);
}

static uint32_t rd(const struct sdma_inst *s, uint32_t off)
{
	return sim_regs_get(sim_amdgpu_mmio(s->m), REG(s, off));
}

static bool running(const struct sdma_inst *s)
{
	return !(rd(s, SIM_AMDGPU_SDMA0_F32_CNTL) & SIM_AMDGPU_SDMA_F32_HALT) &&
	       (rd(s, SIM_AMDGPU_SDMA0_GFX_RB_CNTL) & SIM_AMDGPU_SDMA_RB_ENABLE);
}

static bool ring_cfg(const struct sdma_inst *s, struct ring_cfg *c)
{
	unsigned log2 = (rd(s, SIM_AMDGPU_SDMA0_GFX_RB_CNTL) >> SIM_AMDGPU_SDMA_RB_SIZE_SHIFT) & 0x3Fu;
	if (log2 < 4 || log2 > 20) /* 64 bytes .. 4 MiB */
		return false;
	c->size = 1u << log2;
	c->mask = c->size - 1;
	c->base = ((uint64_t)rd(s, SIM_AMDGPU_SDMA0_GFX_RB_BASE) | (uint64_t)(rd(s, SIM_AMDGPU_SDMA0_GFX_RB_BASE_HI) & 0xFFFFFFu)
							       << 32) << 8;
	return true;
}

static uint32_t ring_avail(const struct sdma_inst *s, const struct ring_cfg *rc)
{
	return (uint32_t)((s->wptr >> 2) - (s->rptr >> 2)) & rc->mask;
}

static bool busy(const struct sdma_inst *s)
{
	if (s->error || s->hung)
		return true;
	struct ring_cfg rc;
	return running(s) && (s->in_ib || s->waiting || (ring_cfg(s, &rc) && ring_avail(s, &rc)));
}

/* ---- memory through the MMHUB ---- */

/* SDMA reads and writes through the MMHUB; its failed accesses raise VMC faults. */
static int vm_ctx(struct sdma_inst *s, uint8_t vmid, struct sim_amdgpu_vm_ctx *vm)
{
	return sim_amdgpu_engine_vm(s->m, SIM_AMDGPU_MMHUB, vmid, vm);
}

static void mem_read(struct sdma_inst *s, uint8_t vmid, uint64_t addr, void *dst, size_t len)
{
	if (sim_amdgpu_engine_read(s->m, SIM_AMDGPU_MMHUB, vmid, addr, dst, len))
		s->st.faults++;
}

static void mem_write(struct sdma_inst *s, uint8_t vmid, uint64_t addr, const void *src, size_t len)
{
	if (sim_amdgpu_engine_write(s->m, SIM_AMDGPU_MMHUB, vmid, addr, src, len))
		s->st.faults++;
	s->wrote = true;
}

static uint64_t addr64(uint32_t lo, uint32_t hi)
{
	return (uint64_t)lo | (uint64_t)hi << 32;
}

/* ---- interrupts ---- */

static void post_irq(struct sdma_inst *s, const struct sim_amdgpu_iv *iv)
{
	if (s->faults & SIM_AMDGPU_RING_DROP_IRQ) {
		s->st.irqs_dropped++;
		return;
	}
	if ((s->faults & SIM_AMDGPU_RING_DELAY_IRQ) && sim_amdgpu_iv_queue_push(&s->delayed, sim_amdgpu_now_ns() + s->delay_ns, iv)) {
		s->st.irqs_delayed++;
		return;
	}
	sim_amdgpu_ih_post(s->m, iv);
	s->st.irqs++;
}

static void post_delayed(struct sdma_inst *s, uint64_t now, uint64_t *deadline)
{
	s->st.irqs += sim_amdgpu_iv_queue_flush(&s->delayed, s->m, now, deadline);
}

static uint8_t client(const struct sdma_inst *s)
{
	return s->idx ? SIM_AMDGPU_IH_CLIENT_SDMA1 : SIM_AMDGPU_IH_CLIENT_SDMA0;
}

/* ---- ring state ---- */

static void publish_rptr(struct sdma_inst *s)
{
	struct sim_regs *r = sim_amdgpu_mmio(s->m);
	sim_regs_set(r, REG(s, SIM_AMDGPU_SDMA0_GFX_RB_RPTR), (uint32_t)s->rptr);
	sim_regs_set(r, REG(s, SIM_AMDGPU_SDMA0_GFX_RB_RPTR_HI), (uint32_t)(s->rptr >> 32));
}

static void retire(struct sdma_inst *s, uint32_t len)
{
	if (s->in_ib) {
		s->ib_pos += len;
		return;
	}
	s->rptr += (uint64_t)len * 4;
	publish_rptr(s);
	if (rd(s, SIM_AMDGPU_SDMA0_GFX_RB_CNTL) & SIM_AMDGPU_SDMA_RB_RPTR_WRITEBACK_ENABLE) {
		uint64_t addr = addr64(rd(s, SIM_AMDGPU_SDMA0_GFX_RB_RPTR_ADDR_LO) & ~3u,
				       rd(s, SIM_AMDGPU_SDMA0_GFX_RB_RPTR_ADDR_HI));
		mem_write(s, 0, addr, &s->rptr, sizeof(s->rptr)); /* 64-bit, in bytes */
	}
}

static void drop_state(struct sdma_inst *s)
{
	s->in_ib = false;
	s->waiting = false;
	s->error = SIM_AMDGPU_RING_OK;
	s->hung = false;
	s->generation++;
}

static void fail(struct sdma_inst *s, enum sim_amdgpu_ring_error err, uint32_t header, uint64_t addr)
{
	s->error = err;
	s->error_header = header;
	s->error_addr = addr;
}

static bool compare(uint32_t func, uint32_t val, uint32_t ref, uint32_t mask)
{
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

static bool wait_met(struct sdma_inst *s)
{
	uint32_t v;
	if (s->w.mem)
		mem_read(s, s->w.vmid, s->w.addr, &v, sizeof(v));
	else
		v = sim_regs_read(sim_amdgpu_mmio(s->m), s->w.addr);
	return compare(s->w.func, v, s->w.ref, s->w.mask);
}

/* Reads n dwords at off dwords past the fetch point (ring or IB). */
static int fetch(struct sdma_inst *s, const struct ring_cfg *rc, uint32_t off, uint32_t n, uint32_t *dst)
{
	struct sim_amdgpu_vm_ctx vm;
	if (s->in_ib) {
		if (vm_ctx(s, s->ib_vmid, &vm))
			return -EFAULT;
		return sim_amdgpu_vm_read(&vm, s->ib_va + ((uint64_t)s->ib_pos + off) * 4, dst, (size_t)n * 4) ? -EFAULT : 0;
	}
	if (vm_ctx(s, 0, &vm))
		return -EFAULT;
	uint32_t pos = (uint32_t)((s->rptr >> 2) + off) & rc->mask, first = rc->size - pos;
	if (first > n)
		first = n;
	if (sim_amdgpu_vm_read(&vm, rc->base + (uint64_t)pos * 4, dst, (size_t)first * 4))
		return -EFAULT;
	if (first < n && sim_amdgpu_vm_read(&vm, rc->base, dst + first, (size_t)(n - first) * 4))
		return -EFAULT;
	return 0;
}

/* ---- packets ---- */

static void copy_linear(struct sdma_inst *s, uint8_t vmid, uint64_t src, uint64_t dst, uint64_t bytes)
{
	for (uint64_t off = 0; off < bytes;) {
		size_t n = bytes - off < CHUNK ? (size_t)(bytes - off) : CHUNK;
		mem_read(s, vmid, src + off, s->chunk, n);
		mem_write(s, vmid, dst + off, s->chunk, n);
		off += n;
	}
}

static void const_fill(struct sdma_inst *s, uint8_t vmid, uint64_t dst, uint32_t data, unsigned size_sel,
		       uint64_t bytes)
{
	unsigned unit = size_sel == 0 ? 1 : size_sel == 1 ? 2 : 4; /* byte, word, dword */
	for (uint32_t i = 0; i < CHUNK; i += unit)
		memcpy(s->chunk + i, &data, unit);
	for (uint64_t off = 0; off < bytes;) {
		size_t n = bytes - off < CHUNK ? (size_t)(bytes - off) : CHUNK;
		mem_write(s, vmid, dst + off, s->chunk, n);
		off += n;
	}
}

/* WRITE_LINEAR: the data follows the header in the stream, ndw dwords of it. */
static int write_linear(struct sdma_inst *s, const struct ring_cfg *rc, uint8_t vmid, uint64_t dst, uint32_t ndw)
{
	for (uint32_t done = 0; done < ndw;) {
		uint32_t n = ndw - done < CHUNK / 4 ? ndw - done : CHUNK / 4;
		if (fetch(s, rc, 4 + done, n, (uint32_t *)(void *)s->chunk))
			return -EFAULT;
		mem_write(s, vmid, dst + (uint64_t)done * 4, s->chunk, (size_t)n * 4);
		done += n;
	}
	return 0;
}

/* PTEPDE [inferred]: count entries (addr + i * incr) | flags, 8 bytes each, at pe. */
static void ptepde(struct sdma_inst *s, uint8_t vmid, const uint32_t *b)
{
	uint64_t pe = addr64(b[0], b[1]), flags = addr64(b[2], b[3]), addr = addr64(b[4], b[5]), incr = addr64(b[6], b[7]);
	uint32_t count = (b[8] & 0x7FFFFu) + 1;
	for (uint32_t i = 0; i < count;) {
		uint32_t n = count - i < CHUNK / 8 ? count - i : CHUNK / 8;
		for (uint32_t j = 0; j < n; j++) {
			uint64_t e = (addr + (uint64_t)(i + j) * incr) | flags;
			memcpy(s->chunk + (size_t)j * 8, &e, 8);
		}
		mem_write(s, vmid, pe + (uint64_t)i * 8, s->chunk, (size_t)n * 8);
		i += n;
	}
}

/*
 * A register write from a packet: only the ring and kernel IBs (VMID 0) may;
 * from a user IB it is dropped and reported as the SRBM write-protection
 * interrupt, so a user copy stream cannot reprogram the GPU.
 */
static void reg_write(struct sdma_inst *s, uint8_t vmid, uint64_t byte_off, uint32_t val, uint32_t byte_en)
{
	if (vmid != 0) {
		const struct sim_amdgpu_iv iv = {.client_id = client(s), .src_id = SIM_AMDGPU_SRCID_SDMA_SRBM_WRITE};
		sim_amdgpu_ih_post(s->m, &iv);
		return;
	}
	struct sim_regs *r = sim_amdgpu_mmio(s->m);
	uint32_t mask = 0;
	for (unsigned i = 0; i < 4; i++)
		if (byte_en & (1u << i))
			mask |= 0xFFu << (8 * i);
	if (mask != 0xFFFFFFFFu)
		val = (sim_regs_read(r, byte_off) & ~mask) | (val & mask);
	sim_regs_write(r, byte_off, val);
	sim_amdgpu_engines_notify(s->m, true, (uint32_t)byte_off, 4);
}

/* Packet length in dwords from its first dword(s); 0 for an unknown op or sub-op. */
static uint32_t packet_len(uint32_t h, uint32_t dw3)
{
	uint32_t op = h & 0xFFu, sub = (h >> 8) & 0xFFu;
	switch (op) {
	case SDMA_OP_NOP: return 1 + ((h >> 16) & 0x3FFFu);
	case SDMA_OP_COPY: return sub == 0 ? 7 : 0; /* linear only: tiled/sub-window copies are not modelled */
	case SDMA_OP_WRITE: return sub == 0 ? 4 + (dw3 & 0xFFFFFu) + 1 : 0;
	case SDMA_OP_INDIRECT: return 6;
	case SDMA_OP_FENCE: return 4;
	case SDMA_OP_TRAP: return 2;
	case SDMA_OP_POLL_REGMEM: return 6;
	case SDMA_OP_CONST_FILL: return 5;
	case SDMA_OP_PTEPDE: return sub == 0 ? 10 : 0;
	case SDMA_OP_TIMESTAMP: return sub <= 2 ? 3 : 0;
	case SDMA_OP_SRBM_WRITE: return 3;
	default: return 0;
	}
}

static enum exec execute(struct sdma_inst *s, const struct ring_cfg *rc, uint8_t vmid, uint32_t h, uint32_t len,
			 uint64_t hdr_addr)
{
	const uint32_t *b = &s->pkt[1];
	switch (h & 0xFFu) {
	case SDMA_OP_COPY:
		copy_linear(s, vmid, addr64(b[2], b[3]), addr64(b[4], b[5]), (uint64_t)(b[0] & 0x3FFFFFu) + 1);
		return EX_DONE;
	case SDMA_OP_WRITE:
		if (write_linear(s, rc, vmid, addr64(b[0] & ~3u, b[1]), (b[2] & 0xFFFFFu) + 1)) {
			fail(s, SIM_AMDGPU_RING_FETCH_FAULT, h, hdr_addr);
			return EX_ERROR;
		}
		return EX_DONE;
	case SDMA_OP_CONST_FILL:
		const_fill(s, vmid, addr64(b[0], b[1]), b[2], h >> 30, (uint64_t)(b[3] & 0x3FFFFFu) + 1);
		return EX_DONE;
	case SDMA_OP_FENCE:
		mem_write(s, vmid, addr64(b[0] & ~3u, b[1]), &b[2], 4);
		return EX_DONE;
	case SDMA_OP_TRAP:
		if (rd(s, SIM_AMDGPU_SDMA0_CNTL) & SIM_AMDGPU_SDMA_CNTL_TRAP_ENABLE) {
			const struct sim_amdgpu_iv iv = {
				.client_id = client(s), .src_id = SIM_AMDGPU_SRCID_SDMA_TRAP,
				.ring_id = 0, /* the GFX queue */
				.src_data = {b[0] & 0x0FFFFFFFu},
			};
			post_irq(s, &iv);
		}
		return EX_DONE;
	case SDMA_OP_PTEPDE:
		ptepde(s, vmid, b);
		return EX_DONE;
	case SDMA_OP_TIMESTAMP:
		if (((h >> 8) & 0xFFu) != 0) { /* GET_LOCAL / GET_GLOBAL: the GPU clock */
			uint64_t t = gpu_clock();
			mem_write(s, vmid, addr64(b[0] & ~7u, b[1]), &t, sizeof(t));
		} else {
			s->st.skipped++;
			s->st.last_skipped = h;
		}
		return EX_DONE;
	case SDMA_OP_SRBM_WRITE:
		reg_write(s, vmid, (uint64_t)(b[0] & 0x3FFFFu) * 4, b[1], h >> 28);
		return EX_DONE;
	case SDMA_OP_POLL_REGMEM: {
		bool mem = h >> 31, hdp = h & (1u << 26);
		struct sdma_wait w = {
			.len = len, .mem = mem, .func = (h >> 28) & 7u, .ref = b[2], .mask = b[3], .vmid = vmid,
		};
		uint64_t us = b[4] & 0xFFFFu, retries = (b[4] >> 16) & 0xFFFu;
		w.poll_ns = (us < 100 ? 100 : us > 2000 ? 2000 : us) * 1000u;
		w.give_up_ns = retries == 0xFFF ? UINT64_MAX : sim_amdgpu_now_ns() + (retries + 1) * w.poll_ns;
		if (mem) {
			w.addr = addr64(b[0] & ~3u, b[1]);
		} else {
			w.addr = b[0] & 0x3FFFFFCu; /* byte address of the register polled */
			/* An HDP flush writes the reference to the request register first. */
			if (hdp)
				reg_write(s, vmid, b[1] & 0x3FFFFFCu, b[2], 0xF);
		}
		s->w = w;
		if (wait_met(s))
			return EX_DONE;
		s->waiting = true;
		return EX_WAIT;
	}
	case SDMA_OP_INDIRECT: {
		uint32_t size = b[2] & 0xFFFFFu;
		if (s->in_ib || !(rd(s, SIM_AMDGPU_SDMA0_GFX_IB_CNTL) & SIM_AMDGPU_SDMA_IB_ENABLE)) {
			fail(s, SIM_AMDGPU_RING_BAD_PACKET, h, hdr_addr); /* no IB from an IB */
			return EX_ERROR;
		}
		if (!size)
			return EX_DONE;
		s->ib_va = addr64(b[0] & ~0x1Fu, b[1]);
		s->ib_size = size;
		s->ib_pos = 0;
		s->ib_vmid = (h >> 16) & 0xFu;
		s->ring_ib_len = len;
		s->in_ib = true;
		return EX_MOVED;
	}
	default:
		return EX_DONE;
	}
}

static bool step(struct sdma_inst *s, uint64_t now, uint64_t *deadline)
{
	struct ring_cfg rc;
	if (s->error || s->hung || !running(s) || !ring_cfg(s, &rc))
		return false;
	uint32_t avail = 0;
	if (!s->in_ib && !s->waiting) {
		avail = ring_avail(s, &rc);
		if (!avail)
			return false;
	}
	if (s->faults & SIM_AMDGPU_RING_HANG) {
		s->faults &= ~(unsigned)SIM_AMDGPU_RING_HANG;
		s->hung = true;
		return false;
	}
	if (s->waiting) {
		if (!wait_met(s)) {
			if (now >= s->w.give_up_ns) {
				s->waiting = false; /* out of retries: the poll gives up and the ring goes on */
				retire(s, s->w.len);
				return true;
			}
			uint64_t next = now + s->w.poll_ns < s->w.give_up_ns ? now + s->w.poll_ns : s->w.give_up_ns;
			if (next < *deadline)
				*deadline = next;
			return false;
		}
		s->waiting = false;
		retire(s, s->w.len);
		return true;
	}

	uint8_t vmid = 0;
	uint32_t room;
	uint64_t hdr_addr;
	if (s->in_ib) {
		if (s->ib_pos >= s->ib_size) {
			s->in_ib = false;
			retire(s, s->ring_ib_len);
			return true;
		}
		vmid = s->ib_vmid;
		room = s->ib_size - s->ib_pos;
		hdr_addr = s->ib_va + (uint64_t)s->ib_pos * 4;
	} else {
		room = avail;
		hdr_addr = rc.base + (uint64_t)((s->rptr >> 2) & rc.mask) * 4;
	}

	uint32_t head[4] = {0};
	if (fetch(s, &rc, 0, room < 4 ? room : 4, head)) {
		fail(s, SIM_AMDGPU_RING_FETCH_FAULT, 0, hdr_addr);
		return true;
	}
	uint32_t h = head[0], op = h & 0xFFu;
	/* WRITE_LINEAR's length is in its fourth dword: wait until the ring holds it. */
	if (op == SDMA_OP_WRITE && room < 4) {
		if (!s->in_ib)
			return false;
		fail(s, SIM_AMDGPU_RING_BAD_PACKET, h, hdr_addr);
		return true;
	}
	uint32_t len = packet_len(h, head[3]);
	if (!len) {
		fail(s, SIM_AMDGPU_RING_BAD_OPCODE, h, hdr_addr);
		return true;
	}
	if (len > room) {
		if (!s->in_ib)
			return false;
		fail(s, SIM_AMDGPU_RING_BAD_PACKET, h, hdr_addr);
		return true;
	}
	s->st.packets++;
	s->st.op_count[op]++;
	if (op == SDMA_OP_NOP) {
		retire(s, len);
		return true;
	}
	uint32_t body = len < PKT_MAX_DW ? len : 4; /* WRITE_LINEAR streams its data itself */
	if (fetch(s, &rc, 0, body, s->pkt)) {
		fail(s, SIM_AMDGPU_RING_FETCH_FAULT, h, hdr_addr);
		return true;
	}
	uint64_t gen = s->generation;
	enum exec e = execute(s, &rc, vmid, h, len, hdr_addr);
	if (e == EX_DONE && gen == s->generation && !s->error)
		retire(s, len);
	if (e == EX_WAIT && now + s->w.poll_ns < *deadline)
		*deadline = now + s->w.poll_ns;
	return e != EX_WAIT;
}

static bool tick(void *ctx, uint64_t now, uint64_t *deadline)
{
	struct sdma_inst *s = ctx;
	post_delayed(s, now, deadline);
	bool progress = step(s, now, deadline);
	if (s->wrote) {
		s->wrote = false;
		sim_amdgpu_engines_notify(s->m, false, 0, 0);
	}
	return progress;
}

static void *sdma_thread(void *arg)
{
	struct sdma_inst *s = arg;
	sim_amdgpu_engine_run(s->m, s->waiter, s->stop, tick, s);
	return NULL;
}

/* ---- registers ---- */

static struct sdma_inst *inst_of(void *ctx)
{
	return ctx;
}

/* WPTR takes effect when MINOR_PTR_UPDATE is 0: the kernel raises it around the two halves. */
static void latch_wptr(struct sdma_inst *s)
{
	if (rd(s, SIM_AMDGPU_SDMA0_GFX_MINOR_PTR_UPDATE) & 1u)
		return;
	s->wptr = addr64(rd(s, SIM_AMDGPU_SDMA0_GFX_RB_WPTR), rd(s, SIM_AMDGPU_SDMA0_GFX_RB_WPTR_HI));
}

static void wptr_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, val);
	latch_wptr(inst_of(ctx));
}

static void rptr_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sdma_inst *s = inst_of(ctx);
	sim_regs_set(r, off, val);
	s->rptr = addr64(rd(s, SIM_AMDGPU_SDMA0_GFX_RB_RPTR), rd(s, SIM_AMDGPU_SDMA0_GFX_RB_RPTR_HI));
	s->in_ib = false;
	s->waiting = false;
	s->generation++;
}

/* Disabling the ring (or halting the engine) drops what was in flight and clears a stop. */
static void rb_cntl_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, val);
	if (!(val & SIM_AMDGPU_SDMA_RB_ENABLE))
		drop_state(inst_of(ctx));
}

static void f32_cntl_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, val);
	if (val & SIM_AMDGPU_SDMA_F32_HALT)
		drop_state(inst_of(ctx));
}

static uint32_t status_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	/* Busy: not IDLE, the ring not empty, the command queues not idle. */
	return busy(inst_of(ctx)) ? SIM_AMDGPU_SDMA_STATUS_IDLE_VALUE & ~0x415u : SIM_AMDGPU_SDMA_STATUS_IDLE_VALUE;
}

static void ignore_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
}

static void doorbell_wptr(struct sdma_inst *s, uint32_t off, uint64_t val, bool wide)
{
	struct sim_regs *mmio = sim_amdgpu_mmio(s->m);
	if (!(rd(s, SIM_AMDGPU_SDMA0_GFX_DOORBELL) & SIM_AMDGPU_SDMA_DOORBELL_ENABLE) ||
	    ((rd(s, SIM_AMDGPU_SDMA0_GFX_DOORBELL_OFFSET) >> 2) & 0x3FFFFFFu) != off / 4)
		return;
	if (!wide)
		val |= (uint64_t)rd(s, SIM_AMDGPU_SDMA0_GFX_RB_WPTR_HI) << 32;
	sim_regs_set(mmio, REG(s, SIM_AMDGPU_SDMA0_GFX_RB_WPTR), (uint32_t)val);
	sim_regs_set(mmio, REG(s, SIM_AMDGPU_SDMA0_GFX_RB_WPTR_HI), (uint32_t)(val >> 32));
	s->wptr = val;
	sim_amdgpu_engine_kick(s->waiter);
}

static void doorbell_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, val);
	doorbell_wptr(inst_of(ctx), off, val, false);
}

static void doorbell_write64(struct sim_regs *r, uint32_t off, uint64_t val, void *ctx)
{
	sim_regs_set(r, off, (uint32_t)val);
	sim_regs_set(r, off + 4, (uint32_t)(val >> 32));
	doorbell_wptr(inst_of(ctx), off, val, true);
}

/* ---- lifetime and test API ---- */

int sim_amdgpu_sdma_init(struct sim_model *m)
{
	struct sim_amdgpu_sdma *sdma = calloc(1, sizeof(*sdma));
	if (!sdma)
		return -ENOMEM;
	sim_amdgpu_set_engine(m, SIM_AMDGPU_ENGINE_SDMA, sdma);
	struct sim_regs *r = sim_amdgpu_mmio(m);
	for (unsigned i = 0; i < NINST; i++) {
		struct sdma_inst *s = &sdma->inst[i];
		s->m = m;
		s->idx = i;
		s->stop = &sdma->stop;
		pthread_mutex_lock(sim_amdgpu_lock(m));
		sim_regs_set(r, REG(s, SIM_AMDGPU_SDMA0_F32_CNTL), SIM_AMDGPU_SDMA_F32_HALT); /* waits for its firmware */
		pthread_mutex_unlock(sim_amdgpu_lock(m));
		const struct sim_reg_hook hooks[] = {
			{.off = REG(s, SIM_AMDGPU_SDMA0_GFX_RB_WPTR), .write = wptr_write, .ctx = s},
			{.off = REG(s, SIM_AMDGPU_SDMA0_GFX_RB_WPTR_HI), .write = wptr_write, .ctx = s},
			{.off = REG(s, SIM_AMDGPU_SDMA0_GFX_MINOR_PTR_UPDATE), .write = wptr_write, .ctx = s},
			{.off = REG(s, SIM_AMDGPU_SDMA0_GFX_RB_RPTR), .write = rptr_write, .ctx = s},
			{.off = REG(s, SIM_AMDGPU_SDMA0_GFX_RB_RPTR_HI), .write = rptr_write, .ctx = s},
			{.off = REG(s, SIM_AMDGPU_SDMA0_GFX_RB_CNTL), .write = rb_cntl_write, .ctx = s},
			{.off = REG(s, SIM_AMDGPU_SDMA0_F32_CNTL), .write = f32_cntl_write, .ctx = s},
			{.off = REG(s, SIM_AMDGPU_SDMA0_STATUS_REG), .read = status_read, .write = ignore_write, .ctx = s},
		};
		for (size_t k = 0; k < sizeof(hooks) / sizeof(hooks[0]); k++) {
			int ret = sim_amdgpu_hook_mmio(m, &hooks[k]);
			if (ret)
				return ret; /* sdma_fini (from the model's destroy) cleans up */
		}
		const struct sim_reg_hook db = {.off = i ? SIM_AMDGPU_SDMA1_DOORBELL : SIM_AMDGPU_SDMA0_DOORBELL,
						.write = doorbell_write, .write64 = doorbell_write64, .ctx = s};
		int ret = sim_amdgpu_hook_doorbell(m, &db);
		if (ret)
			return ret;
		/* Its registers: the instance's block, from SDMA_CNTL to the ring's last. */
		const struct sim_amdgpu_reg_window win = {REG(s, SIM_AMDGPU_SDMA0_CNTL),
							  REG(s, SIM_AMDGPU_SDMA0_GFX_MINOR_PTR_UPDATE) + 4};
		s->waiter = sim_amdgpu_waiter_add(m, &win, 1);
		if (!s->waiter)
			return -ENOMEM;
	}
	for (unsigned i = 0; i < NINST; i++) {
		int ret = pthread_create(&sdma->inst[i].thread, NULL, sdma_thread, &sdma->inst[i]);
		if (ret)
			return -ret;
		sdma->inst[i].started = true;
	}
	return 0;
}

void sim_amdgpu_sdma_stop(struct sim_model *m)
{
	struct sim_amdgpu_sdma *sdma = get_sdma(m);
	if (!sdma)
		return;
	pthread_mutex_lock(sim_amdgpu_lock(m));
	sdma->stop = true;
	sim_amdgpu_engines_wake(m);
	pthread_mutex_unlock(sim_amdgpu_lock(m));
	for (unsigned i = 0; i < NINST; i++) {
		if (sdma->inst[i].started)
			pthread_join(sdma->inst[i].thread, NULL);
		sdma->inst[i].started = false;
	}
}

void sim_amdgpu_sdma_fini(struct sim_model *m)
{
	struct sim_amdgpu_sdma *sdma = get_sdma(m);
	if (!sdma)
		return;
	sim_amdgpu_sdma_stop(m);
	sim_amdgpu_set_engine(m, SIM_AMDGPU_ENGINE_SDMA, NULL);
	free(sdma);
}

int sim_amdgpu_sdma_set_fault(struct sim_model *m, unsigned inst, unsigned faults, uint32_t delay_us)
{
	struct sim_amdgpu_sdma *sdma = get_sdma(m);
	if (!sdma || inst >= NINST)
		return -ENODEV;
	struct sdma_inst *s = &sdma->inst[inst];
	pthread_mutex_lock(sim_amdgpu_lock(m));
	s->faults = faults;
	s->delay_ns = (uint64_t)delay_us * 1000u;
	if (!(faults & SIM_AMDGPU_RING_HANG))
		s->hung = false;
	sim_amdgpu_engines_wake(m);
	pthread_mutex_unlock(sim_amdgpu_lock(m));
	return 0;
}

int sim_amdgpu_sdma_status(struct sim_model *m, unsigned inst, struct sim_amdgpu_ring_status *st)
{
	struct sim_amdgpu_sdma *sdma = get_sdma(m);
	if (!sdma || inst >= NINST)
		return -ENODEV;
	struct sdma_inst *s = &sdma->inst[inst];
	pthread_mutex_lock(sim_amdgpu_lock(m));
	*st = s->st;
	st->busy = busy(s);
	st->halted = rd(s, SIM_AMDGPU_SDMA0_F32_CNTL) & SIM_AMDGPU_SDMA_F32_HALT;
	st->hung = s->hung;
	st->error = s->error;
	st->error_header = s->error_header;
	st->error_addr = s->error_addr;
	pthread_mutex_unlock(sim_amdgpu_lock(m));
	return 0;
}
