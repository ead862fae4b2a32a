/*
 * Skylake command streamers through the hw ops only: GGTT PTEs, LRC images, rings, batches and
 * page tables are built in DMA memory; ELSP writes and CSB/interrupt traffic are checked register
 * by register; then the command parser, PPGTT isolation, preemption, reset, CS errors and the
 * misbehaviour switches.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "hw_sim.h"
#include "irq_line.h"
#include "i915/sim_i915.h"
#include "redox-drm/hw.h"

#define BAR0 0
#define GGTT_PTES (8u << 20)

/* Register offsets as the public sources give them (not the model's macros). */
#define RCS 0x2000u
#define BCS 0x22000u
#define RING_TAIL 0x30u
#define RING_HEAD 0x34u
#define RING_START 0x38u
#define RING_CTL 0x3Cu
#define IPEHR 0x68u
#define ACTHD 0x74u
#define HWS_PGA 0x80u
#define HWSTAM 0x98u
#define MI_MODE 0x9Cu
#define RING_IMR 0xA8u
#define EIR 0xB0u
#define EMR 0xB4u
#define ESR 0xB8u
#define RESET_CTL 0xD0u
#define ELSP 0x230u
#define EXECLIST_STATUS 0x234u
#define GFX_MODE 0x29Cu
#define TIMESTAMP 0x358u
#define CSB(n) (0x370u + 8u * (n))
#define CSB_PTR 0x3A0u
#define CTX_TIMESTAMP 0x3A8u
#define GPR(n) (0x600u + 8u * (n))
#define MASTER_IRQ 0x44200u
#define GT_IMR0 0x44304u
#define GT_IIR0 0x44308u
#define GT_IER0 0x4430Cu
#define GDRST 0x941Cu
#define FAULT_REG 0x4094u
#define FAULT_DATA0 0x4B10u
#define FAULT_DATA1 0x4B14u

#define MODE_IDLE 0x200u
#define USER 0x001u
#define CS_ERROR 0x008u
#define NOTIFY 0x010u
#define CTX_SWITCH 0x100u

/* CSB status. */
#define IDLE_TO_ACTIVE 0x01u
#define PREEMPTED 0x02u
#define ELEMENT_SWITCH 0x04u
#define ACTIVE_TO_IDLE 0x08u
#define COMPLETE 0x10u
#define LITE_RESTORE 0x8000u

/* Commands [I gt/intel_gpu_commands.h]. */
#define MI_NOOP 0u
#define MI_USER_INTERRUPT (0x02u << 23)
#define MI_ARB_CHECK (0x05u << 23)
#define MI_ARB_ON_OFF (0x08u << 23) /* b0: enable */
#define MI_BB_END (0x0Au << 23)
#define MI_MATH(n) (0x1Au << 23 | ((n) - 1))
#define MI_SEMAPHORE_WAIT (0x1Cu << 23 | 2)
#define SEM_POLL (1u << 15)
#define SEM_GTE (1u << 12)
#define SEM_EQ (4u << 12)
#define MI_SDI (0x20u << 23 | 2)
#define MI_SDI_QW (0x20u << 23 | 3 | 1u << 21)
#define USE_GGTT (1u << 22)
#define MI_LRI(n) (0x22u << 23 | (2 * (n) - 1))
#define MI_SRM (0x24u << 23 | 2)
#define MI_FLUSH_DW (0x26u << 23 | 2)
#define FLUSH_STORE_DW (1u << 14)
#define FLUSH_NOTIFY (1u << 8)
#define FLUSH_GGTT 4u
#define MI_LRM (0x29u << 23 | 2)
#define MI_LRR (0x2Au << 23 | 1)
#define MI_COPY_MEM_MEM (0x2Eu << 23 | 3)
#define MI_ATOMIC(len) (0x2Fu << 23 | ((len) - 2))
#define ATOMIC_INLINE (1u << 18)
#define ATOMIC_RETURN (1u << 16)
#define MI_BB_START (0x31u << 23 | 1)
#define BB_PPGTT (1u << 8)
#define BB_2ND (1u << 22)
#define PIPE_CONTROL 0x7A000004u
#define PC_NOTIFY (1u << 8)
#define PC_QW_WRITE (1u << 14)
#define PC_TIMESTAMP (3u << 14)
#define PC_GGTT (1u << 24)
#define PC_CS_STALL (1u << 20)
#define ALU(op, a, b) ((uint32_t)(op) << 20 | (uint32_t)(a) << 10 | (uint32_t)(b))
#define ALU_LOAD 0x080u
#define ALU_LOADINV 0x480u
#define ALU_LOAD0 0x081u
#define ALU_ADD 0x100u
#define ALU_SUB 0x101u
#define ALU_AND 0x102u
#define ALU_OR 0x103u
#define ALU_XOR 0x104u
#define ALU_STORE 0x180u
#define ALU_STOREINV 0x580u
#define SRCA 0x20u
#define SRCB 0x21u
#define ACCU 0x31u
#define ZF 0x32u
#define CF 0x33u

/* PPGTT entries. */
#define PTE_PRESENT 1ull
#define PTE_RW 2ull
#define PDE_IPS_64K (1ull << 11)
#define PTE_ADDR 0x0000FFFFFFFFF000ull

/* LRC register state dword indexes [I gt/intel_lrc_reg.h]. */
#define CTX_RING_HEAD 0x05u
#define CTX_RING_TAIL 0x07u
#define CTX_BB_ADDR 0x0Fu
#define CTX_BB_STATE 0x11u
#define CTX_TIMESTAMP_IDX 0x23u

enum { MAX_BUFS = 96 };

struct t {
	struct hw_device *hw;
	struct sim_model *m;
	struct hw_dma bufs[MAX_BUFS];
	unsigned nbufs;
	uint32_t ggtt_next;
	/* Per engine: the status page. */
	uint32_t hwsp_gtt[2];
	uint32_t *hwsp[2];
	int irq_ep; /* irq_line.h */
};

struct ctx {
	uint32_t base;       /* engine */
	uint32_t lrca, ring; /* GGTT */
	uint32_t *lrc, *ring_cpu;
	uint32_t tail, id;
	uint64_t pml4;
};

/* ---- plumbing ---- */

static uint32_t rd(struct t *t, uint32_t off)
{
	return hw_read32(t->hw, BAR0, off);
}

static void wr(struct t *t, uint32_t off, uint32_t v)
{
	hw_write32(t->hw, BAR0, off, v);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static uint32_t peek(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void poke(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Waits up to 3 s for (register & mask) == val. */
static bool wait_reg(struct t *t, uint32_t off, uint32_t mask, uint32_t val)
{
	uint64_t end = now_ns() + 3000000000ull;
	while ((rd(t, off) & mask) != val) {
		if (now_ns() > end)
			return false;
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	return true;
}

static bool wait_mem(const uint32_t *p, uint32_t val)
{
	uint64_t end = now_ns() + 3000000000ull;
	while (peek(p) != val) {
		if (now_ns() > end)
			return false;
		struct timespec ts = {0, 100000};
		nanosleep(&ts, NULL);
	}
	return true;
}

/* The line was raised since the last look (irq_line.h). */
static bool irq_pending(struct t *t)
{
	return irq_line_wait(t->irq_ep, 0);
}

static struct hw_dma *dalloc(struct t *t, size_t size)
{
	assert_true(t->nbufs < MAX_BUFS);
	struct hw_dma *d = &t->bufs[t->nbufs];
	assert_int_equal(t->hw->ops->dma_alloc(t->hw, size, d), 0);
	t->nbufs++;
	return d;
}

static void *cpu_of(struct t *t, uint64_t bus)
{
	for (unsigned i = 0; i < t->nbufs; i++)
		if (bus >= t->bufs[i].bus_addr && bus - t->bufs[i].bus_addr < t->bufs[i].size)
			return (uint8_t *)t->bufs[i].cpu + (bus - t->bufs[i].bus_addr);
	fail_msg("bus address %llx not allocated", (unsigned long long)bus);
	return NULL;
}

/* Fresh DMA memory mapped at the next GGTT addresses: one 64-bit PTE per 4 KiB page. */
static uint32_t galloc(struct t *t, size_t size, void **cpu)
{
	struct hw_dma *d = dalloc(t, size);
	uint32_t gtt = t->ggtt_next;
	for (size_t off = 0; off < size; off += 4096)
		hw_write64(t->hw, BAR0, GGTT_PTES + 8ull * ((gtt + off) >> 12), (d->bus_addr + off) | 1);
	t->ggtt_next += (uint32_t)((size + 4095) & ~4095ull) + 4096; /* and a hole: unmapped */
	*cpu = d->cpu;
	return gtt;
}

static int setup(void **state)
{
	static struct t t;
	memset(&t, 0, sizeof(t));
	t.hw = hw_sim_create("i915", 1);
	if (!t.hw)
		return -1;
	t.m = hw_sim_model(t.hw);
	t.irq_ep = irq_line_open(t.hw);
	t.ggtt_next = 0x00100000u;
	*state = &t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;
	close(t->irq_ep);
	hw_destroy(t->hw); /* the model's threads stop before its DMA memory goes */
	return 0;
}

/* i915's execlists enable, error-interrupt setup and interrupt unmasking for one engine. */
static void engine_init(struct t *t, unsigned e)
{
	uint32_t base = e ? BCS : RCS;
	void *p;
	if (!t->hwsp[e]) {
		t->hwsp_gtt[e] = galloc(t, 4096, &p);
		t->hwsp[e] = p;
	}
	wr(t, base + HWSTAM, 0xFFFFFFFFu);
	wr(t, base + GFX_MODE, 0x80008000u); /* RUN_LIST_ENABLE */
	wr(t, base + MI_MODE, 0x01000000u);  /* STOP_RING off */
	wr(t, base + HWS_PGA, t->hwsp_gtt[e]);
	wr(t, base + EMR, 0xFFFFFFFFu);
	wr(t, base + EIR, 0xFFFFFFFFu);
	wr(t, base + EMR, ~1u); /* instruction errors only */
	wr(t, base + RING_IMR, ~(USER | CS_ERROR | NOTIFY | CTX_SWITCH));
	uint32_t bits = (USER | CS_ERROR | NOTIFY | CTX_SWITCH) * 0x10001u;
	wr(t, GT_IMR0, ~bits);
	wr(t, GT_IER0, bits);
	wr(t, MASTER_IRQ, 0x80000000u);
}

/* An LRC the way i915 lays it out: page 0 PPHWSP, page 1 MI_LRI-formatted register state. */
static void ctx_init(struct t *t, struct ctx *c, unsigned e, uint32_t id, uint64_t pml4)
{
	void *p;
	memset(c, 0, sizeof(*c));
	c->base = e ? BCS : RCS;
	c->id = id;
	c->pml4 = pml4;
	c->lrca = galloc(t, 2 * 4096, &p);
	c->lrc = p;
	c->ring = galloc(t, 4096, &p);
	c->ring_cpu = p;
	uint32_t *s = c->lrc + 1024, b = c->base;
	s[1] = MI_LRI(13);
	const uint32_t regs1[] = {0x244, 0x34, 0x30, 0x38, 0x3C, 0x168, 0x140, 0x110, 0x11C, 0x114, 0x118, 0x1C0, 0x1C4};
	for (unsigned i = 0; i < 13; i++)
		s[2 + 2 * i] = b + regs1[i];
	s[0x03] = 0x00080008u;  /* CONTEXT_CONTROL: masked INHIBIT_SYN_CTX_SWITCH */
	s[0x09] = c->ring;      /* RING_START */
	s[0x0B] = 0x00000001u;  /* RING_CTL: 4 KiB, valid */
	s[0x11] = 0x20u;        /* BB_STATE: PPGTT */
	s[0x21] = MI_LRI(9);
	s[0x22] = b + 0x3A8;
	s[CTX_TIMESTAMP_IDX] = 1000;
	for (unsigned n = 0; n < 4; n++) {
		s[0x24 + 4 * (3 - n)] = b + 0x270 + 8 * n + 4;
		s[0x26 + 4 * (3 - n)] = b + 0x270 + 8 * n;
	}
	s[0x31] = (uint32_t)(pml4 >> 32); /* PDP0 = PML4 */
	s[0x33] = (uint32_t)pml4;
}

static void emit(struct ctx *c, const uint32_t *dw, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		poke(&c->ring_cpu[(c->tail / 4) % 1024], dw[i]);
		c->tail = (c->tail + 4) % 4096;
	}
}

/* Pads the ring to a qword (RING_TAIL is qword aligned) and publishes the tail in the LRC. */
static void commit(struct ctx *c)
{
	if (c->tail & 7) {
		uint32_t noop = MI_NOOP;
		emit(c, &noop, 1);
	}
	poke(&c->lrc[1024 + CTX_RING_TAIL], c->tail);
}

static uint64_t desc(const struct ctx *c)
{
	/* VALID, legacy 64-bit (4-level) addressing, PRIVILEGE, LRCA, context ID. */
	return (uint64_t)c->id << 32 | c->lrca | 1u | 3u << 3 | 1u << 8;
}

static void elsp(struct t *t, uint32_t base, uint64_t d0, uint64_t d1)
{
	wr(t, base + ELSP, (uint32_t)(d1 >> 32));
	wr(t, base + ELSP, (uint32_t)d1);
	wr(t, base + ELSP, (uint32_t)(d0 >> 32));
	wr(t, base + ELSP, (uint32_t)d0);
}

static void submit(struct t *t, struct ctx *c)
{
	commit(c);
	elsp(t, c->base, desc(c), 0);
}

/* CSB slot as the register file and the HWSP both show it. */
static void expect_csb(struct t *t, unsigned e, unsigned slot, uint32_t status, uint32_t id)
{
	uint32_t base = e ? BCS : RCS;
	assert_int_equal(rd(t, base + CSB(slot)), status);
	assert_int_equal(rd(t, base + CSB(slot) + 4), id);
	assert_int_equal(peek(&t->hwsp[e][0x10 + 2 * slot]), status);
	assert_int_equal(peek(&t->hwsp[e][0x11 + 2 * slot]), id);
}

static bool wait_csb(struct t *t, unsigned e, uint32_t wp)
{
	uint32_t base = e ? BCS : RCS;
	return wait_reg(t, base + CSB_PTR, 7, wp) && wait_mem(&t->hwsp[e][0x1F], wp);
}

static void sdi(struct ctx *c, uint32_t gtt, uint32_t v)
{
	const uint32_t cmd[] = {MI_SDI | USE_GGTT, gtt, 0, v};
	emit(c, cmd, 4);
}

static void stats(struct t *t, unsigned e, struct sim_i915_engine_stats *s)
{
	assert_int_equal(sim_i915_engine_stats(t->m, e, s), 0);
}

/* The i915 gen8 engine reset: request, wait for ready, GDRST, wait for it to clear, cancel. */
static void engine_reset(struct t *t, unsigned e)
{
	uint32_t base = e ? BCS : RCS;
	wr(t, base + RESET_CTL, 0x00010001u);
	assert_true(wait_reg(t, base + RESET_CTL, 2, 2));
	wr(t, GDRST, e ? 0x8u : 0x2u);
	assert_true(wait_reg(t, GDRST, 0xFFu, 0));
	wr(t, base + RESET_CTL, 0x00010000u);
	assert_int_equal(rd(t, base + RESET_CTL) & 3, 0);
}

/* ---- PPGTT ---- */

static uint64_t new_table(struct t *t)
{
	return dalloc(t, 4096)->bus_addr;
}

static uint64_t *next_level(struct t *t, uint64_t *e, uint64_t flags)
{
	if (!(*e & PTE_PRESENT))
		*e = new_table(t) | PTE_PRESENT | PTE_RW | flags;
	return cpu_of(t, *e & PTE_ADDR);
}

/* Maps va → bus in a 4-level PPGTT; big: through a 64K page-table (IPS_64K). */
static void vm_map(struct t *t, uint64_t pml4, uint64_t va, uint64_t bus, bool rw, bool big)
{
	uint64_t *l4 = cpu_of(t, pml4);
	uint64_t *l3 = next_level(t, &l4[(va >> 39) & 511], 0);
	uint64_t *l2 = next_level(t, &l3[(va >> 30) & 511], 0);
	uint64_t *l1 = next_level(t, &l2[(va >> 21) & 511], big ? PDE_IPS_64K : 0);
	unsigned idx = big ? ((va >> 16) & 31) * 16 : (va >> 12) & 511;
	l1[idx] = bus | PTE_PRESENT | (rw ? PTE_RW : 0);
}

/* ---- tests ---- */

static void test_idle_registers(void **state)
{
	struct t *t = *state;
	for (unsigned e = 0; e < 2; e++) {
		uint32_t b = e ? BCS : RCS;
		assert_int_equal(rd(t, b + MI_MODE), MODE_IDLE);
		assert_int_equal(rd(t, b + CSB_PTR), 7);
		assert_int_equal(rd(t, b + EMR), 0xFFFFFFFFu);
		assert_int_equal(rd(t, b + EXECLIST_STATUS), 0);
		assert_int_equal(rd(t, b + ELSP), 0);
		/* ELSP is ignored until RUN_LIST_ENABLE. */
		elsp(t, b, 0x1001u, 0);
		sleep_ms(5);
		assert_int_equal(rd(t, b + CSB_PTR), 7);
		assert_int_equal(rd(t, b + MI_MODE), MODE_IDLE);
	}
	/* TIMESTAMP runs at 12 MHz: the ticks between two reads fit the times around them. */
	uint64_t na = now_ns();
	uint32_t t0 = rd(t, RCS + TIMESTAMP);
	uint64_t nb = now_ns();
	sleep_ms(20);
	uint64_t nc = now_ns();
	uint32_t t1 = rd(t, RCS + TIMESTAMP);
	uint64_t nd = now_ns();
	assert_true((uint64_t)(t1 - t0) + 1 >= (nc - nb) * 12 / 1000);
	assert_true((uint64_t)(t1 - t0) <= (nd - na) * 12 / 1000 + 1);
	/* STOP_RING and MODE_IDLE; GDRST of an idle engine completes. */
	wr(t, RCS + MI_MODE, 0x01000100u);
	assert_int_equal(rd(t, RCS + MI_MODE), 0x300);
	wr(t, RCS + MI_MODE, 0x01000000u);
	wr(t, GDRST, 0x2);
	assert_true(wait_reg(t, GDRST, 0xFF, 0));
	wr(t, GDRST, 0x1);
	assert_true(wait_reg(t, GDRST, 0xFF, 0));
}

static void test_elsp_one_context(void **state)
{
	struct t *t = *state;
	struct ctx a;
	engine_init(t, 0);
	ctx_init(t, &a, 0, 0x11, 0);
	sdi(&a, t->hwsp_gtt[0] + 0x100, 0xCAFE);
	const uint32_t tailcmds[] = {MI_USER_INTERRUPT, MI_NOOP};
	emit(&a, tailcmds, 2);
	submit(t, &a);
	assert_int_equal(a.tail, 24);

	assert_true(wait_csb(t, 0, 1));
	expect_csb(t, 0, 0, IDLE_TO_ACTIVE, 0);
	expect_csb(t, 0, 1, COMPLETE | ACTIVE_TO_IDLE, 0x11);
	assert_int_equal(peek(&t->hwsp[0][0x40]), 0xCAFE);
	assert_true(wait_reg(t, GT_IIR0, 0xFFFFFFFFu, USER | CTX_SWITCH));
	assert_int_equal(rd(t, MASTER_IRQ), 0x80000001u);
	assert_true(irq_pending(t));
	t->hw->ops->irq_ack(t->hw);
	assert_true(wait_reg(t, RCS + MI_MODE, MODE_IDLE, MODE_IDLE));

	/* Switch-out wrote the progress back; the ring registers show the context. */
	assert_int_equal(peek(&a.lrc[1024 + CTX_RING_HEAD]), 24);
	assert_true(peek(&a.lrc[1024 + CTX_TIMESTAMP_IDX]) >= 1000);
	assert_int_equal(rd(t, RCS + RING_HEAD), 24);
	assert_int_equal(rd(t, RCS + RING_TAIL), 24);
	assert_int_equal(rd(t, RCS + RING_START), a.ring);
	assert_int_equal(rd(t, RCS + RING_CTL), 1);
	assert_int_equal(rd(t, RCS + ACTHD), a.ring + 20);
	assert_int_equal(rd(t, RCS + EXECLIST_STATUS), 0);
	assert_int_equal(rd(t, RCS + CTX_TIMESTAMP), peek(&a.lrc[1024 + CTX_TIMESTAMP_IDX]));

	/* The driver's read pointer is its own; IIR clears by writing ones. */
	wr(t, RCS + CSB_PTR, 0x07000100u);
	assert_int_equal(rd(t, RCS + CSB_PTR), 0x101);
	wr(t, GT_IIR0, USER | CTX_SWITCH);
	assert_int_equal(rd(t, MASTER_IRQ), 0x80000000u);

	/* Four more runs: the write pointer wraps after slot 5, HEAD carries on from the image. */
	for (uint32_t i = 0; i < 4; i++) {
		sdi(&a, t->hwsp_gtt[0] + 0x104, 0x100 + i);
		submit(t, &a);
		assert_true(wait_csb(t, 0, (3 + 2 * i) % 6));
		assert_int_equal(peek(&t->hwsp[0][0x41]), 0x100 + i);
	}
	expect_csb(t, 0, 2, IDLE_TO_ACTIVE, 0);
	expect_csb(t, 0, 0, IDLE_TO_ACTIVE, 0);
	expect_csb(t, 0, 1, COMPLETE | ACTIVE_TO_IDLE, 0x11);
	assert_int_equal(rd(t, RCS + CSB_PTR), 0x103);
	assert_int_equal(peek(&a.lrc[1024 + CTX_RING_HEAD]), 24 + 4 * 16);

	struct sim_i915_engine_stats s;
	stats(t, 0, &s);
	assert_int_equal(s.switches, 5);
	assert_int_equal(s.commands, 3 + 4);
	assert_int_equal(s.cs_errors, 0);
	assert_int_equal(s.page_faults, 0);
}

/* Commands wrap at the end of the ring; a context whose image cannot be read is a CS error. */
static void test_ring_wrap_and_bad_context(void **state)
{
	struct t *t = *state;
	struct ctx a;
	engine_init(t, 0);
	ctx_init(t, &a, 0, 0x12, 0);
	a.tail = 4096 - 8;
	poke(&a.lrc[1024 + CTX_RING_HEAD], a.tail);
	sdi(&a, t->hwsp_gtt[0] + 0x180, 0x3A9);
	sdi(&a, t->hwsp_gtt[0] + 0x184, 0x3AA);
	submit(t, &a);
	assert_int_equal(a.tail, 24);
	assert_true(wait_csb(t, 0, 1));
	expect_csb(t, 0, 1, COMPLETE | ACTIVE_TO_IDLE, 0x12);
	assert_int_equal(peek(&t->hwsp[0][0x60]), 0x3A9);
	assert_int_equal(peek(&t->hwsp[0][0x61]), 0x3AA);
	assert_int_equal(peek(&a.lrc[1024 + CTX_RING_HEAD]), 24);

	/* An LRCA in a GGTT hole: the fetch faults, the engine reports a CS error and stops. */
	elsp(t, RCS, (uint64_t)0x13 << 32 | (t->ggtt_next - 4096) | 1u | 3u << 3 | 1u << 8, 0);
	assert_true(wait_reg(t, GT_IIR0, CS_ERROR, CS_ERROR));
	assert_int_equal(rd(t, RCS + EIR), 1);
	assert_int_equal(rd(t, FAULT_REG), 1);
	assert_int_equal(rd(t, FAULT_DATA0), t->ggtt_next >> 12); /* its register page */
	assert_int_equal(rd(t, FAULT_DATA1), 0x10);
	engine_reset(t, 0);
}

static void test_elsp_two_contexts(void **state)
{
	struct t *t = *state;
	struct ctx a, b;
	engine_init(t, 0);
	ctx_init(t, &a, 0, 0xA, 0);
	ctx_init(t, &b, 0, 0xB, 0);
	uint32_t z = t->hwsp_gtt[0] + 0x200;
	sdi(&a, z, 0xA);
	sdi(&a, z + 4, 0xA);
	sdi(&b, z, 0xB);
	sdi(&b, z + 8, 0xB);
	commit(&a);
	commit(&b);
	elsp(t, RCS, desc(&a), desc(&b));

	assert_true(wait_csb(t, 0, 2));
	expect_csb(t, 0, 0, IDLE_TO_ACTIVE, 0);
	expect_csb(t, 0, 1, ELEMENT_SWITCH | COMPLETE, 0xA);
	expect_csb(t, 0, 2, COMPLETE | ACTIVE_TO_IDLE, 0xB);
	/* Port 0 ran before port 1. */
	assert_int_equal(peek(&t->hwsp[0][0x80]), 0xB);
	assert_int_equal(peek(&t->hwsp[0][0x81]), 0xA);
	assert_int_equal(peek(&t->hwsp[0][0x82]), 0xB);
	assert_int_equal(peek(&a.lrc[1024 + CTX_RING_HEAD]), 32);
	assert_int_equal(peek(&b.lrc[1024 + CTX_RING_HEAD]), 32);
	assert_true(wait_reg(t, GT_IIR0, CTX_SWITCH, CTX_SWITCH));
}

static void test_lite_restore(void **state)
{
	struct t *t = *state;
	struct ctx a;
	engine_init(t, 0);
	ctx_init(t, &a, 0, 0xA, 0);
	uint32_t sem = t->hwsp_gtt[0] + 0x300;
	uint32_t *mem = &t->hwsp[0][0x300 / 4];
	const uint32_t wait[] = {MI_SEMAPHORE_WAIT | USE_GGTT | SEM_POLL | SEM_EQ, 1, sem, 0};
	emit(&a, wait, 4);
	sdi(&a, sem + 4, 1);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 0));
	assert_true(wait_reg(t, RCS + ACTHD, 0xFFFFFFFFu, a.ring));
	sleep_ms(10);
	assert_int_equal(rd(t, RCS + MI_MODE) & MODE_IDLE, 0);
	assert_int_equal(peek(&mem[1]), 0);

	/* More work for the running context: a lite restore at the semaphore's next poll. */
	sdi(&a, sem + 8, 2);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 1));
	expect_csb(t, 0, 1, PREEMPTED | LITE_RESTORE, 0xA);
	assert_int_equal(rd(t, RCS + RING_TAIL), a.tail);
	assert_int_equal(peek(&mem[1]), 0);

	poke(&mem[0], 1);
	assert_true(wait_csb(t, 0, 2));
	expect_csb(t, 0, 2, COMPLETE | ACTIVE_TO_IDLE, 0xA);
	assert_int_equal(peek(&mem[1]), 1);
	assert_int_equal(peek(&mem[2]), 2);
	struct sim_i915_engine_stats s;
	stats(t, 0, &s);
	assert_int_equal(s.lite_restores, 1);
	assert_int_equal(s.switches, 1);
}

static void test_preempt_resume_in_batch(void **state)
{
	struct t *t = *state;
	struct ctx a, b;
	void *p;
	engine_init(t, 0);
	ctx_init(t, &a, 0, 0xA, 0);
	ctx_init(t, &b, 0, 0xB, 0);
	uint32_t *mem = &t->hwsp[0][0x400 / 4], x = t->hwsp_gtt[0] + 0x400;
	uint32_t batch = galloc(t, 4096, &p);
	uint32_t *bb = p;
	const uint32_t cmds[] = {
		MI_SDI | USE_GGTT, x, 0, 1,
		MI_SEMAPHORE_WAIT | USE_GGTT | SEM_POLL | SEM_EQ, 1, x + 4, 0, /* at +16 */
		MI_SDI | USE_GGTT, x, 0, 2,
		MI_BB_END,
	};
	memcpy(bb, cmds, sizeof(cmds));
	const uint32_t start[] = {MI_BB_START, batch, 0};
	emit(&a, start, 3);
	sdi(&a, x + 8, 3);
	submit(t, &a);
	assert_true(wait_mem(&mem[0], 1));

	sdi(&b, x + 12, 7);
	submit(t, &b);
	assert_true(wait_csb(t, 0, 2));
	expect_csb(t, 0, 0, IDLE_TO_ACTIVE, 0);
	expect_csb(t, 0, 1, PREEMPTED, 0xA);
	expect_csb(t, 0, 2, COMPLETE | ACTIVE_TO_IDLE, 0xB);
	assert_int_equal(peek(&mem[3]), 7);
	/* A's image: HEAD past its BB_START, the batch resume point at the semaphore, in the GGTT. */
	assert_int_equal(peek(&a.lrc[1024 + CTX_RING_HEAD]), 12);
	assert_int_equal(peek(&a.lrc[1024 + CTX_BB_ADDR]), (batch + 16) | 1);
	assert_int_equal(peek(&a.lrc[1024 + CTX_BB_STATE]), 0);

	poke(&mem[1], 1);
	elsp(t, RCS, desc(&a), 0);
	assert_true(wait_csb(t, 0, 4));
	expect_csb(t, 0, 3, IDLE_TO_ACTIVE, 0);
	expect_csb(t, 0, 4, COMPLETE | ACTIVE_TO_IDLE, 0xA);
	assert_int_equal(peek(&mem[0]), 2);
	assert_int_equal(peek(&mem[2]), 3);
	assert_int_equal(peek(&a.lrc[1024 + CTX_BB_ADDR]), 0);
	struct sim_i915_engine_stats s;
	stats(t, 0, &s);
	assert_int_equal(s.preemptions, 1);
}

static void test_breadcrumb_order(void **state)
{
	struct t *t = *state;
	struct ctx a;
	engine_init(t, 0);
	ctx_init(t, &a, 0, 0x7, 0);
	uint32_t seqno = t->hwsp_gtt[0] + 0x500;
	for (uint32_t i = 1; i <= 40; i++) {
		sdi(&a, seqno, i);
		const uint32_t irq[] = {MI_USER_INTERRUPT};
		emit(&a, irq, 1);
		submit(t, &a);
		/* The interrupt first, memory second, as a driver's handler reads them. */
		assert_true(wait_reg(t, GT_IIR0, USER, USER));
		assert_int_equal(peek(&t->hwsp[0][0x500 / 4]), i);
		wr(t, GT_IIR0, USER);
		assert_true(wait_csb(t, 0, (2 * i - 1) % 6));
		wr(t, GT_IIR0, CTX_SWITCH);
		t->hw->ops->irq_ack(t->hw);
	}
}

static void test_ppgtt_isolation(void **state)
{
	struct t *t = *state;
	struct ctx a, b;
	engine_init(t, 0);
	uint64_t pml4_a = new_table(t), pml4_b = new_table(t);
	struct hw_dma *batch_a = dalloc(t, 4096), *batch_b = dalloc(t, 4096), *data_a = dalloc(t, 4096);
	struct hw_dma *ro = dalloc(t, 4096), *secret = dalloc(t, 4096), *big = dalloc(t, 64 * 1024);
	void *p;
	uint32_t secret_gtt = galloc(t, 4096, &p);
	uint32_t *secret_ggtt = p;
	vm_map(t, pml4_a, 0x10000000, batch_a->bus_addr, true, false);
	vm_map(t, pml4_a, 0x20000000, data_a->bus_addr, true, false);
	vm_map(t, pml4_a, 0x30000000, ro->bus_addr, false, false);
	vm_map(t, pml4_a, 0x50000000, big->bus_addr, true, true);
	vm_map(t, pml4_b, 0x10000000, batch_b->bus_addr, true, false);
	vm_map(t, pml4_b, 0x40000000, secret->bus_addr, true, false);
	ctx_init(t, &a, 0, 0xA, pml4_a);
	ctx_init(t, &b, 0, 0xB, pml4_b);

	/* A's batch reaches for B's page, its own read-only page, and (with the GGTT bit, which an
	 * unprivileged batch may not use) a GGTT page; then writes its own pages. */
	const uint32_t ca[] = {
		MI_SDI, 0x40000000, 0, 0xBAD,
		MI_SDI | USE_GGTT, secret_gtt, 0, 0xBAD,
		MI_SDI, 0x30000000, 0, 0xBAD,
		MI_SDI, 0x20000000, 0, 0x600D,
		MI_SDI, 0x50008004, 0, 0xB16,
		MI_BB_END,
	};
	memcpy(batch_a->cpu, ca, sizeof(ca));
	const uint32_t start[] = {MI_BB_START | BB_PPGTT, 0x10000000, 0};
	emit(&a, start, 3);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 1));
	expect_csb(t, 0, 1, COMPLETE | ACTIVE_TO_IDLE, 0xA);

	uint32_t *sec = secret->cpu, *own = data_a->cpu, *rop = ro->cpu, *bigp = big->cpu;
	assert_int_equal(peek(&sec[0]), 0);
	assert_int_equal(peek(&secret_ggtt[0]), 0);
	assert_int_equal(peek(&rop[0]), 0);
	assert_int_equal(peek(&own[0]), 0x600D);
	assert_int_equal(peek(&bigp[0x8004 / 4]), 0xB16);
	/* The first fault is kept: a directory miss at 0x40000000 in a PPGTT, by RCS. */
	assert_int_equal(rd(t, FAULT_REG), 0x1u | 1u << 1);
	assert_int_equal(rd(t, FAULT_DATA0), 0x40000);
	assert_int_equal(rd(t, FAULT_DATA1), 0);
	struct sim_i915_engine_stats s;
	stats(t, 0, &s);
	assert_int_equal(s.page_faults, 3);

	/* i915 clears VALID; the next fault is the read-only write, a page-level one. */
	wr(t, FAULT_REG, rd(t, FAULT_REG) & ~1u);
	const uint32_t ro_write[] = {MI_SDI, 0x30000000, 0, 0xBAD, MI_BB_END};
	memcpy(batch_a->cpu, ro_write, sizeof(ro_write));
	emit(&a, start, 3);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 3));
	assert_int_equal(rd(t, FAULT_REG), 0x1u | 2u << 1);
	assert_int_equal(rd(t, FAULT_DATA0), 0x30000);
	assert_int_equal(peek(&rop[0]), 0);
	wr(t, FAULT_REG, 0);

	/* The same address in B's space is B's page. */
	const uint32_t cb[] = {MI_SDI, 0x40000000, 0, 0x5EC, MI_BB_END};
	memcpy(batch_b->cpu, cb, sizeof(cb));
	emit(&b, start, 3);
	submit(t, &b);
	assert_true(wait_csb(t, 0, 5));
	assert_int_equal(peek(&sec[0]), 0x5EC);
	assert_int_equal(rd(t, FAULT_REG), 0);
}

static void test_bb_chaining(void **state)
{
	struct t *t = *state;
	struct ctx a;
	void *p;
	engine_init(t, 0);
	ctx_init(t, &a, 0, 0x1, 0);
	uint32_t m = t->hwsp_gtt[0] + 0x600, *mem = &t->hwsp[0][0x600 / 4];
	uint32_t b1 = galloc(t, 4096, &p);
	uint32_t *c1 = p;
	uint32_t b2 = galloc(t, 4096, &p);
	uint32_t *c2 = p;
	uint32_t b3 = galloc(t, 4096, &p);
	uint32_t *c3 = p;
	const uint32_t l1[] = {MI_SDI | USE_GGTT, m, 0, 1, MI_BB_START, b2, 0};
	const uint32_t l2[] = {MI_SDI | USE_GGTT, m + 4, 0, 2, MI_BB_START | BB_2ND, b3, 0,
			       MI_SDI | USE_GGTT, m + 12, 0, 4, MI_BB_END};
	const uint32_t l3[] = {MI_SDI | USE_GGTT, m + 8, 0, 3, MI_BB_END, MI_SDI | USE_GGTT, m + 12, 0, 0xBAD};
	memcpy(c1, l1, sizeof(l1));
	memcpy(c2, l2, sizeof(l2));
	memcpy(c3, l3, sizeof(l3));
	const uint32_t start[] = {MI_BB_START, b1, 0};
	emit(&a, start, 3);
	sdi(&a, m + 16, 5);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 1));
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(peek(&mem[i]), i + 1);
	assert_int_equal(rd(t, FAULT_REG), 0);
}

/* A batch that rewrites its own next command: the command streamer runs what memory holds
 * when it gets there, read ahead or not. */
static void test_self_modifying_batch(void **state)
{
	struct t *t = *state;
	struct ctx a;
	void *p;
	engine_init(t, 0);
	ctx_init(t, &a, 0, 0x1, 0);
	uint32_t m = t->hwsp_gtt[0] + 0x600, *mem = &t->hwsp[0][0x600 / 4];
	uint32_t b1 = galloc(t, 4096, &p);
	uint32_t *c1 = p;
	const uint32_t l1[] = {MI_SDI | USE_GGTT, b1 + 16, 0, MI_BB_END, /* turns the next SDI into BB_END */
			       MI_SDI | USE_GGTT, m, 0, 0xBAD, MI_BB_END};
	memcpy(c1, l1, sizeof(l1));
	const uint32_t start[] = {MI_BB_START, b1, 0};
	emit(&a, start, 3);
	sdi(&a, m + 4, 1);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 1));
	assert_int_equal(peek(&mem[0]), 0);
	assert_int_equal(peek(&mem[1]), 1);
	assert_int_equal(peek(&c1[4]), MI_BB_END);
	assert_int_equal(rd(t, FAULT_REG), 0);
}

static void test_mi_math_and_registers(void **state)
{
	struct t *t = *state;
	struct ctx a;
	engine_init(t, 0);
	ctx_init(t, &a, 0, 0x1, 0);
	uint32_t out = t->hwsp_gtt[0] + 0x800, *o = &t->hwsp[0][0x800 / 4];
	uint32_t in = t->hwsp_gtt[0] + 0x700, *i = &t->hwsp[0][0x700 / 4];
	poke(&i[0], 0x12345678);
	poke(&i[1], 0x9ABCDEF0);
	const uint32_t cmds[] = {
		MI_LRI(4), RCS + GPR(0), 5, RCS + GPR(0) + 4, 0, RCS + GPR(1), 7, RCS + GPR(1) + 4, 1,
		MI_MATH(4), ALU(ALU_LOAD, SRCA, 0), ALU(ALU_LOAD, SRCB, 1), ALU(ALU_ADD, 0, 0), ALU(ALU_STORE, 2, ACCU),
		MI_MATH(5), ALU(ALU_LOAD, SRCA, 0), ALU(ALU_LOAD, SRCB, 1), ALU(ALU_SUB, 0, 0), ALU(ALU_STORE, 3, ACCU),
		ALU(ALU_STORE, 4, CF),
		MI_MATH(4), ALU(ALU_LOAD, SRCA, 1), ALU(ALU_LOADINV, SRCB, 0), ALU(ALU_AND, 0, 0), ALU(ALU_STORE, 5, ACCU),
		MI_MATH(5), ALU(ALU_LOAD, SRCA, 0), ALU(ALU_LOAD, SRCB, 0), ALU(ALU_XOR, 0, 0), ALU(ALU_STORE, 6, ZF),
		ALU(ALU_STORE, 10, ACCU),
		MI_MATH(4), ALU(ALU_LOAD0, SRCA, 0), ALU(ALU_LOAD, SRCB, 1), ALU(ALU_OR, 0, 0), ALU(ALU_STOREINV, 7, ACCU),
		MI_LRM | USE_GGTT, RCS + GPR(8), in, 0,
		MI_LRR, RCS + GPR(8), RCS + GPR(9),
		MI_COPY_MEM_MEM | 1u << 22 | 1u << 21, out + 0x80, 0, in + 4, 0,
	};
	emit(&a, cmds, sizeof(cmds) / 4);
	/* Every GPR half 2..10 out to memory. */
	for (uint32_t r = 0; r < 18; r++) {
		const uint32_t srm[] = {MI_SRM | USE_GGTT, RCS + GPR(2) + 4 * r, out + 4 * r, 0};
		emit(&a, srm, 4);
	}
	submit(t, &a);
	assert_true(wait_csb(t, 0, 1));
	uint64_t g[9];
	for (unsigned r = 0; r < 9; r++)
		g[r] = (uint64_t)peek(&o[2 * r + 1]) << 32 | peek(&o[2 * r]);
	assert_int_equal(g[0], 0x10000000Cull);          /* R2 = 5 + 0x1_00000007 */
	assert_int_equal(g[1], 0xFFFFFFFEFFFFFFFEull);   /* R3 = 5 - 0x1_00000007 */
	assert_int_equal(g[2], ~0ull);                   /* R4 = borrow */
	assert_int_equal(g[3], 0x100000002ull);          /* R5 = R1 & ~R0 */
	assert_int_equal(g[4], ~0ull);                   /* R6 = ZF of R0 ^ R0 */
	assert_int_equal(g[5], ~0x100000007ull);         /* R7 = ~(0 | R1) */
	assert_int_equal(g[6] & 0xFFFFFFFFu, 0x12345678); /* R8 lo from memory */
	assert_int_equal(g[7] & 0xFFFFFFFFu, 0x12345678); /* R9 lo from R8 lo */
	assert_int_equal(g[8], 0);                       /* R10 = ACCU of R0 ^ R0 */
	assert_int_equal(peek(&o[0x80 / 4]), 0x9ABCDEF0);
	/* The CPU sees the same registers. */
	assert_int_equal(rd(t, RCS + GPR(2)), 0xC);
	assert_int_equal(rd(t, RCS + GPR(2) + 4), 1);

	/* TIMESTAMP through SRM is the live 12 MHz counter. */
	const uint32_t ts[] = {MI_SRM | USE_GGTT, RCS + TIMESTAMP, out + 0x100, 0};
	emit(&a, ts, 4);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 3));
	uint32_t t0 = peek(&o[0x40]);
	sleep_ms(20);
	const uint32_t ts2[] = {MI_SRM | USE_GGTT, RCS + TIMESTAMP, out + 0x104, 0};
	emit(&a, ts2, 4);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 5));
	uint32_t dt = peek(&o[0x41]) - t0;
	assert_true(dt >= 12000u * 20 && dt < 12000u * 2000);
}

static void test_mi_atomic(void **state)
{
	struct t *t = *state;
	struct ctx a;
	engine_init(t, 0);
	ctx_init(t, &a, 0, 0x1, 0);
	uint32_t v = t->hwsp_gtt[0] + 0x900, *m = &t->hwsp[0][0x900 / 4];
	poke(&m[0], 10);
	poke(&m[1], 7);
	poke(&m[2], 3);
	poke(&m[3], 42);
	poke(&m[4], 41);
	poke(&m[6], 0xFFFFFFFFu);
	poke(&m[7], 0);
	poke(&m[8], 9);
	const uint32_t cmds[] = {
		MI_ATOMIC(11) | USE_GGTT | ATOMIC_INLINE | 0x07u << 8, v, 0, 5, 0, 0, 0, 0, 0, 0, 0,     /* ADD */
		MI_ATOMIC(3) | USE_GGTT | 0x05u << 8, v + 4, 0,                                          /* INC */
		MI_ATOMIC(3) | USE_GGTT | 0x06u << 8, v + 8, 0,                                          /* DEC */
		MI_ATOMIC(11) | USE_GGTT | ATOMIC_INLINE | 0x0Eu << 8, v + 12, 0, 42, 0, 100, 0, 0, 0, 0, 0, /* CMP_WR */
		MI_ATOMIC(11) | USE_GGTT | ATOMIC_INLINE | 0x0Eu << 8, v + 16, 0, 42, 0, 100, 0, 0, 0, 0, 0,
		MI_ATOMIC(11) | USE_GGTT | ATOMIC_INLINE | 0x27u << 8, v + 24, 0, 1, 0, 0, 0, 0, 0, 0, 0, /* ADD8B */
		MI_ATOMIC(3) | USE_GGTT | ATOMIC_RETURN | 0x05u << 8, v + 32, 0,                         /* INC, old value back */
		MI_SRM | USE_GGTT, RCS + GPR(0), v + 36, 0,
	};
	emit(&a, cmds, sizeof(cmds) / 4);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 1));
	assert_int_equal(peek(&m[0]), 15);
	assert_int_equal(peek(&m[1]), 8);
	assert_int_equal(peek(&m[2]), 2);
	assert_int_equal(peek(&m[3]), 100);
	assert_int_equal(peek(&m[4]), 41);
	assert_int_equal(peek(&m[6]), 0);
	assert_int_equal(peek(&m[7]), 1);
	assert_int_equal(peek(&m[8]), 10);
	assert_int_equal(peek(&m[9]), 9);
}

static void test_semaphore_across_engines(void **state)
{
	struct t *t = *state;
	struct ctx r, b;
	engine_init(t, 0);
	engine_init(t, 1);
	ctx_init(t, &r, 0, 0x1, 0);
	ctx_init(t, &b, 1, 0x2, 0);
	uint32_t sem = t->hwsp_gtt[0] + 0xA00, *m = &t->hwsp[0][0xA00 / 4];
	const uint32_t wait[] = {MI_SEMAPHORE_WAIT | USE_GGTT | SEM_POLL | SEM_GTE, 3, sem, 0};
	emit(&r, wait, 4);
	sdi(&r, sem + 4, 1);
	submit(t, &r);
	assert_true(wait_csb(t, 0, 0));
	assert_true(wait_reg(t, RCS + ACTHD, 0xFFFFFFFFu, r.ring));
	sleep_ms(20);
	assert_int_equal(peek(&m[1]), 0);
	assert_int_equal(rd(t, RCS + MI_MODE) & MODE_IDLE, 0);

	/* BCS writes 2 (not yet), then 3 with a flush-dw post-sync store and notify. */
	sdi(&b, sem, 2);
	const uint32_t flush[] = {MI_FLUSH_DW | FLUSH_STORE_DW | FLUSH_NOTIFY, (sem + 8) | FLUSH_GGTT, 0, 0xF1};
	emit(&b, flush, 4);
	submit(t, &b);
	assert_true(wait_csb(t, 1, 1));
	assert_true(wait_reg(t, GT_IIR0, NOTIFY << 16, NOTIFY << 16));
	assert_int_equal(peek(&m[2]), 0xF1);
	sleep_ms(5);
	assert_int_equal(peek(&m[1]), 0);
	sdi(&b, sem, 3);
	submit(t, &b);
	assert_true(wait_mem(&m[1], 1));
	assert_true(wait_csb(t, 0, 1));
	expect_csb(t, 0, 1, COMPLETE | ACTIVE_TO_IDLE, 0x1);
	expect_csb(t, 1, 1, COMPLETE | ACTIVE_TO_IDLE, 0x2);
}

/* IGT's spinner: a batch whose BB_START loops back to its first dword until that dword changes. */
static uint32_t *spinner(struct t *t, struct ctx *c, uint64_t pml4, uint32_t done)
{
	struct hw_dma *bb = dalloc(t, 4096);
	vm_map(t, pml4, 0x7000000, bb->bus_addr, true, false);
	uint32_t *s = bb->cpu;
	s[0] = MI_NOOP; /* the condition: MI_BB_END ends the spin */
	s[1] = MI_ARB_CHECK;
	for (unsigned i = 2; i < 10; i++)
		s[i] = MI_NOOP;
	s[10] = MI_BB_START | BB_PPGTT;
	s[11] = 0x7000000;
	s[12] = 0;
	const uint32_t start[] = {MI_BB_START | BB_PPGTT, 0x7000000, 0};
	emit(c, start, 3);
	sdi(c, done, 1);
	return s;
}

static void test_spinner(void **state)
{
	struct t *t = *state;
	struct ctx a, c, n;
	engine_init(t, 0);
	uint64_t pml4 = new_table(t);
	uint32_t done = t->hwsp_gtt[0] + 0xB00, *d = &t->hwsp[0][0xB00 / 4];
	ctx_init(t, &a, 0, 0x5, pml4);
	uint32_t *s = spinner(t, &a, pml4, done);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 0));
	sleep_ms(20);
	struct sim_i915_engine_stats s0, s1;
	stats(t, 0, &s0);
	sleep_ms(100);
	stats(t, 0, &s1);
	/* Spinning, and sleeping between passes: a busy loop would run millions of commands. */
	assert_int_equal(rd(t, RCS + MI_MODE) & MODE_IDLE, 0);
	assert_true(rd(t, RCS + ACTHD) >= 0x7000000 && rd(t, RCS + ACTHD) < 0x7000000 + 52);
	assert_true(s1.commands > s0.commands);
	assert_true(s1.commands - s0.commands < 13 * 400);
	assert_int_equal(rd(t, RCS + CSB_PTR) & 7, 0);
	assert_int_equal(peek(d), 0);

	poke(&s[0], MI_BB_END);
	assert_true(wait_csb(t, 0, 1));
	expect_csb(t, 0, 1, COMPLETE | ACTIVE_TO_IDLE, 0x5);
	assert_int_equal(peek(d), 1);

	/* A second spinner, never released: reset stops it. */
	poke(d, 0);
	ctx_init(t, &c, 0, 0x6, pml4);
	s = spinner(t, &c, pml4, done);
	poke(&s[0], MI_NOOP);
	submit(t, &c);
	assert_true(wait_csb(t, 0, 2));
	sleep_ms(10);
	assert_int_equal(rd(t, RCS + MI_MODE) & MODE_IDLE, 0);
	engine_reset(t, 0);
	assert_int_equal(rd(t, RCS + MI_MODE), MODE_IDLE);
	assert_int_equal(rd(t, RCS + GFX_MODE), 0);
	assert_int_equal(rd(t, RCS + CSB_PTR), 7);
	sleep_ms(10);
	assert_int_equal(peek(d), 0);
	assert_int_equal(peek(&s[0]), MI_NOOP);
	stats(t, 0, &s1);
	assert_int_equal(s1.resets, 1);

	/* Re-initialised, the engine takes work again; status starts over at slot 0. */
	engine_init(t, 0);
	ctx_init(t, &n, 0, 0x9, 0);
	sdi(&n, done, 2);
	submit(t, &n);
	assert_true(wait_csb(t, 0, 1));
	expect_csb(t, 0, 0, IDLE_TO_ACTIVE, 0);
	expect_csb(t, 0, 1, COMPLETE | ACTIVE_TO_IDLE, 0x9);
	assert_int_equal(peek(d), 2);
}

static void test_preempt_spinner(void **state)
{
	struct t *t = *state;
	struct ctx a, b;
	engine_init(t, 0);
	uint64_t pml4 = new_table(t);
	uint32_t done = t->hwsp_gtt[0] + 0xB00, *d = &t->hwsp[0][0xB00 / 4];
	ctx_init(t, &a, 0, 0x5, pml4);
	uint32_t *s = spinner(t, &a, pml4, done);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 0));
	sleep_ms(5);
	/* Another context preempts the spinner at its MI_ARB_CHECK. */
	ctx_init(t, &b, 0, 0xB, 0);
	sdi(&b, done + 4, 0xB);
	submit(t, &b);
	assert_true(wait_csb(t, 0, 2));
	expect_csb(t, 0, 1, PREEMPTED, 0x5);
	expect_csb(t, 0, 2, COMPLETE | ACTIVE_TO_IDLE, 0xB);
	assert_int_equal(peek(&d[1]), 0xB);
	assert_int_equal(peek(&a.lrc[1024 + CTX_BB_STATE]), 0x20);
	assert_int_equal(peek(&a.lrc[1024 + CTX_BB_ADDR]) & 1, 1);
	/* Back on the engine, it spins on until released. */
	elsp(t, RCS, desc(&a), 0);
	assert_true(wait_csb(t, 0, 3));
	sleep_ms(10);
	assert_int_equal(peek(d), 0);
	poke(&s[0], MI_BB_END);
	assert_true(wait_csb(t, 0, 4));
	expect_csb(t, 0, 4, COMPLETE | ACTIVE_TO_IDLE, 0x5);
	assert_int_equal(peek(d), 1);
}

/*
 * A semaphore poll with arbitration off and another submission waiting behind it: the reset
 * handshake still completes, and the reset abandons both (neither context's later writes ever
 * land, not even once the semaphore is satisfied), clears the execlists state, and the engine
 * takes new work once enabled again.
 */
static void test_reset_semaphore_poll(void **state)
{
	struct t *t = *state;
	struct ctx a, b, c;
	engine_init(t, 1);
	ctx_init(t, &a, 1, 0x21, 0);
	ctx_init(t, &b, 1, 0x22, 0);
	uint32_t sem = t->hwsp_gtt[1] + 0xA00, *m = &t->hwsp[1][0xA00 / 4];
	const uint32_t wait[] = {MI_ARB_ON_OFF, MI_SEMAPHORE_WAIT | USE_GGTT | SEM_POLL | SEM_EQ, 7, sem, 0};
	emit(&a, wait, 5);
	sdi(&a, sem + 4, 1);
	submit(t, &a);
	assert_true(wait_csb(t, 1, 0));
	assert_true(wait_reg(t, BCS + ACTHD, 0xFFFFFFFFu, a.ring + 4));
	sdi(&b, sem + 8, 2);
	submit(t, &b);
	sleep_ms(20);
	/* Arbitration is off: b waits in the port, the poll goes on. */
	assert_int_equal(rd(t, BCS + EXECLIST_STATUS) & 0x4, 0x4);
	assert_int_equal(rd(t, BCS + CSB_PTR) & 7, 0);
	assert_int_equal(rd(t, BCS + MI_MODE) & MODE_IDLE, 0);
	engine_reset(t, 1);
	assert_int_equal(rd(t, BCS + MI_MODE), MODE_IDLE);
	assert_int_equal(rd(t, BCS + EXECLIST_STATUS), 0);
	assert_int_equal(rd(t, BCS + CSB_PTR), 7);
	assert_int_equal(rd(t, BCS + GFX_MODE), 0);
	assert_int_equal(rd(t, BCS + ACTHD), 0);
	poke(m, 7);
	sleep_ms(20);
	assert_int_equal(peek(&m[1]), 0);
	assert_int_equal(peek(&m[2]), 0);
	/* Execlists must be enabled again before a submission is taken. */
	ctx_init(t, &c, 1, 0x23, 0);
	sdi(&c, sem + 12, 3);
	submit(t, &c);
	sleep_ms(10);
	assert_int_equal(rd(t, BCS + CSB_PTR), 7);
	assert_int_equal(peek(&m[3]), 0);
	engine_init(t, 1);
	submit(t, &c);
	assert_true(wait_csb(t, 1, 1));
	expect_csb(t, 1, 0, IDLE_TO_ACTIVE, 0);
	expect_csb(t, 1, 1, COMPLETE | ACTIVE_TO_IDLE, 0x23);
	assert_int_equal(peek(&m[3]), 3);
	assert_int_equal(peek(&m[1]), 0);
	assert_int_equal(peek(&m[2]), 0);
	struct sim_i915_engine_stats st;
	stats(t, 1, &st);
	assert_int_equal(st.resets, 1);
}

static void test_malformed(void **state)
{
	struct t *t = *state;
	struct ctx a, n;
	void *p;
	engine_init(t, 0);
	ctx_init(t, &a, 0, 0x3, 0);
	uint32_t m = t->hwsp_gtt[0] + 0xC00, *mem = &t->hwsp[0][0xC00 / 4];
	sdi(&a, m, 1);
	const uint32_t junk[] = {0xFFFFFFFFu}; /* reserved client 7 */
	emit(&a, junk, 1);
	sdi(&a, m + 4, 2);
	submit(t, &a);
	assert_true(wait_reg(t, GT_IIR0, CS_ERROR, CS_ERROR));
	assert_int_equal(rd(t, RCS + EIR), 1);
	assert_int_equal(rd(t, RCS + ESR) & 1, 1);
	assert_int_equal(rd(t, RCS + IPEHR), 0xFFFFFFFFu);
	assert_int_equal(rd(t, RCS + ACTHD), a.ring + 16);
	sleep_ms(10);
	assert_int_equal(peek(&mem[0]), 1);
	assert_int_equal(peek(&mem[1]), 0);
	/* Stopped, not completed: only the accept was reported. */
	assert_int_equal(rd(t, RCS + CSB_PTR) & 7, 0);
	assert_int_equal(rd(t, RCS + MI_MODE) & MODE_IDLE, MODE_IDLE);
	/* EIR clears by writing ones. */
	wr(t, RCS + EIR, 1);
	assert_int_equal(rd(t, RCS + EIR), 0);
	engine_reset(t, 0);
	assert_int_equal(rd(t, RCS + ESR), 0);

	/* A blit on the render engine, an unknown MI opcode, a wrong length: each stops the engine. */
	const uint32_t bad[][4] = {
		{0x54F00005u, 0, 0, 0},             /* XY_COLOR_BLT */
		{0x3Fu << 23, 0, 0, 0},             /* MI opcode 0x3F */
		{MI_SDI + 2, m + 8, 0, 3},          /* MI_STORE_DATA_IMM of 6 dwords */
		{MI_FLUSH_DW, m + 8, 0, 3},         /* MI_FLUSH_DW is not the render engine's */
	};
	uint32_t batch = galloc(t, 4096, &p);
	uint32_t *bb = p;
	for (unsigned i = 0; i < 4; i++) {
		engine_init(t, 0);
		wr(t, GT_IIR0, 0xFFFFFFFFu);
		memcpy(bb, bad[i], sizeof(bad[i]));
		bb[4] = MI_BB_END;
		ctx_init(t, &n, 0, 0x20 + i, 0);
		const uint32_t start[] = {MI_BB_START, batch, 0};
		emit(&n, start, 3);
		submit(t, &n);
		assert_true(wait_reg(t, GT_IIR0, CS_ERROR, CS_ERROR));
		assert_int_equal(rd(t, RCS + IPEHR), bad[i][0]);
		assert_int_equal(rd(t, RCS + ACTHD), batch);
		engine_reset(t, 0);
	}
	assert_int_equal(peek(&mem[2]), 0);
	struct sim_i915_engine_stats s;
	stats(t, 0, &s);
	assert_int_equal(s.cs_errors, 5);
}

static void test_3d_skipped_and_post_sync(void **state)
{
	struct t *t = *state;
	struct ctx a;
	engine_init(t, 0);
	ctx_init(t, &a, 0, 0x1, 0);
	uint32_t m = t->hwsp_gtt[0] + 0xD00, *mem = &t->hwsp[0][0xD00 / 4];
	uint32_t cmds[128];
	unsigned n = 0;
	cmds[n++] = 0x69040303u; /* PIPELINE_SELECT (3D), one dword */
	cmds[n++] = 0x61010011u; /* STATE_BASE_ADDRESS, 19 dwords of garbage the parser must not read as commands */
	for (unsigned i = 0; i < 18; i++)
		cmds[n++] = 0xFFFFFFFFu;
	cmds[n++] = 0x7B000005u; /* 3DPRIMITIVE, 7 dwords */
	for (unsigned i = 0; i < 6; i++)
		cmds[n++] = 0xFFFFFFFFu;
	cmds[n++] = 0x7105000Du; /* GPGPU_WALKER, 15 dwords */
	for (unsigned i = 0; i < 14; i++)
		cmds[n++] = 0xFFFFFFFFu;
	cmds[n++] = 0x70000007u; /* MEDIA_VFE_STATE, 9 dwords */
	for (unsigned i = 0; i < 8; i++)
		cmds[n++] = 0xFFFFFFFFu;
	const uint32_t pc[] = {
		PIPE_CONTROL, PC_CS_STALL | PC_QW_WRITE | PC_GGTT | PC_NOTIFY, m, 0, 0x11112222u, 0x33334444u,
		PIPE_CONTROL, PC_CS_STALL | PC_TIMESTAMP | PC_GGTT, m + 8, 0, 0, 0,
	};
	memcpy(&cmds[n], pc, sizeof(pc));
	n += 12;
	emit(&a, cmds, n);
	sdi(&a, m + 16, 0xD0);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 1));
	assert_int_equal(peek(&mem[0]), 0x11112222u);
	assert_int_equal(peek(&mem[1]), 0x33334444u);
	assert_true(peek(&mem[2]) != 0 || peek(&mem[3]) != 0);
	assert_int_equal(peek(&mem[4]), 0xD0);
	assert_true(wait_reg(t, GT_IIR0, NOTIFY, NOTIFY));
	assert_int_equal(rd(t, RCS + ESR), 0);
	struct sim_i915_engine_stats s;
	stats(t, 0, &s);
	assert_int_equal(s.skipped, 5);
	assert_int_equal(s.draws, 1);
	assert_int_equal(s.dispatches, 1);
	assert_int_equal(s.last_skipped[0], 0x69040303u);
	assert_int_equal(s.last_skipped[2], 0x7B000005u);
	assert_int_equal(s.last_skipped[4], 0x70000007u);
}

static void test_misbehaviour(void **state)
{
	struct t *t = *state;
	struct ctx a, f;
	engine_init(t, 0);
	ctx_init(t, &a, 0, 0x1, 0);
	uint32_t m = t->hwsp_gtt[0] + 0xE00, *mem = &t->hwsp[0][0xE00 / 4];
	const uint32_t irq[] = {MI_USER_INTERRUPT};

	/* Dropped user interrupt: the seqno lands, the context switch is reported, IIR b0 never sets. */
	sim_i915_set_engine_fault(t->m, SIM_I915_RCS, SIM_I915_ENGINE_FAULT_DROP_USER_IRQ, 0);
	sdi(&a, m, 1);
	emit(&a, irq, 1);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 1));
	assert_true(wait_reg(t, GT_IIR0, CTX_SWITCH, CTX_SWITCH));
	sleep_ms(20);
	assert_int_equal(rd(t, GT_IIR0) & USER, 0);
	assert_int_equal(peek(&mem[0]), 1);
	wr(t, GT_IIR0, 0xFFFFFFFFu);

	/* Delayed context-switch interrupt: the CSB is written at once, IIR follows 100 ms later. */
	sim_i915_set_engine_fault(t->m, SIM_I915_RCS, SIM_I915_ENGINE_FAULT_DELAY_CTX_IRQ, 100000);
	sdi(&a, m, 2);
	emit(&a, irq, 1);
	uint64_t t0 = now_ns();
	submit(t, &a);
	assert_true(wait_csb(t, 0, 3));
	assert_true(wait_reg(t, GT_IIR0, USER, USER));
	uint32_t iir = rd(t, GT_IIR0);
	if (now_ns() - t0 < 100000000ull)
		assert_int_equal(iir & CTX_SWITCH, 0);
	assert_true(wait_reg(t, GT_IIR0, CTX_SWITCH, CTX_SWITCH));
	assert_true(now_ns() - t0 >= 100000000ull);
	sim_i915_set_engine_fault(t->m, SIM_I915_RCS, SIM_I915_ENGINE_FAULT_NONE, 0);
	wr(t, GT_IIR0, 0xFFFFFFFFu);

	/* A hung engine stays busy until reset, which also lifts the hang. */
	sim_i915_set_engine_fault(t->m, SIM_I915_RCS, SIM_I915_ENGINE_FAULT_HANG, 0);
	sdi(&a, m, 3);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 4));
	sleep_ms(30);
	assert_int_equal(rd(t, RCS + CSB_PTR) & 7, 4);
	assert_int_equal(peek(&mem[0]), 2);
	engine_reset(t, 0);
	engine_init(t, 0);
	ctx_init(t, &f, 0, 0x2, 0);
	sdi(&f, m, 4);
	submit(t, &f);
	assert_true(wait_csb(t, 0, 1));
	assert_int_equal(peek(&mem[0]), 4);

	/* A page told to fault: the write is dropped and reported as a GGTT fault by RCS. */
	void *p;
	uint32_t page = galloc(t, 4096, &p);
	uint32_t *pm = p;
	assert_int_equal(sim_i915_fault_page(t->m, false, page + 4, true), 0);
	sdi(&f, page + 4, 5);
	sdi(&f, m + 4, 6);
	submit(t, &f);
	assert_true(wait_csb(t, 0, 3));
	assert_int_equal(peek(&pm[1]), 0);
	assert_int_equal(peek(&mem[1]), 6);
	assert_int_equal(rd(t, FAULT_REG), 1);
	assert_int_equal(rd(t, FAULT_DATA0), page >> 12);
	assert_int_equal(rd(t, FAULT_DATA1), 0x10);
	assert_int_equal(sim_i915_fault_page(t->m, false, page, false), 0);
	wr(t, FAULT_REG, 0);
	sdi(&f, page + 4, 7);
	submit(t, &f);
	assert_true(wait_csb(t, 0, 5));
	assert_int_equal(peek(&pm[1]), 7);
	assert_int_equal(rd(t, FAULT_REG), 0);
}

static void test_unprivileged_registers(void **state)
{
	struct t *t = *state;
	struct ctx a;
	engine_init(t, 0);
	uint64_t pml4 = new_table(t);
	struct hw_dma *bb = dalloc(t, 4096), *data = dalloc(t, 4096);
	vm_map(t, pml4, 0x10000000, bb->bus_addr, true, false);
	vm_map(t, pml4, 0x20000000, data->bus_addr, true, false);
	ctx_init(t, &a, 0, 0x4, pml4);
	wr(t, RCS + EMR, ~5u); /* report privilege violations too */
	/* A user batch may use its GPRs and read TIMESTAMP, but not the GT's interrupt mask, its
	 * engine's HWS_PGA, or the other engine's registers. */
	const uint32_t cmds[] = {
		MI_LRI(1), RCS + GPR(3), 0x77,
		MI_SRM, RCS + GPR(3), 0x20000000, 0,
		MI_LRI(3), GT_IMR0, 0, RCS + HWS_PGA, 0, BCS + GPR(0), 0x55,
		MI_SRM, MASTER_IRQ, 0x20000004, 0,
		MI_BB_END,
	};
	memcpy(bb->cpu, cmds, sizeof(cmds));
	const uint32_t start[] = {MI_BB_START | BB_PPGTT, 0x10000000, 0};
	emit(&a, start, 3);
	uint32_t imr = rd(t, GT_IMR0);
	submit(t, &a);
	assert_true(wait_csb(t, 0, 1));
	uint32_t *o = data->cpu;
	assert_int_equal(peek(&o[0]), 0x77);
	assert_int_equal(peek(&o[1]), 0);
	assert_int_equal(rd(t, GT_IMR0), imr);
	assert_int_equal(rd(t, RCS + HWS_PGA), t->hwsp_gtt[0]);
	assert_int_equal(rd(t, BCS + GPR(0)), 0);
	assert_int_equal(rd(t, RCS + EIR), 4);
	assert_true(wait_reg(t, GT_IIR0, CS_ERROR, CS_ERROR));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_idle_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elsp_one_context, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_wrap_and_bad_context, setup, teardown),
		cmocka_unit_test_setup_teardown(test_elsp_two_contexts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lite_restore, setup, teardown),
		cmocka_unit_test_setup_teardown(test_preempt_resume_in_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_breadcrumb_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ppgtt_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bb_chaining, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_modifying_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mi_math_and_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mi_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_semaphore_across_engines, setup, teardown),
		cmocka_unit_test_setup_teardown(test_spinner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_preempt_spinner, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_semaphore_poll, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_3d_skipped_and_post_sync, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misbehaviour, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unprivileged_registers, setup, teardown),
	};
	return cmocka_run_group_tests_name("sim_i915_engine", tests, NULL, NULL);
}
