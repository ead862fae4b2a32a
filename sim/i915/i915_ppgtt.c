/*
 * Address spaces of the Skylake model's engines (GPU-MODELS.md §9): the GGTT, looked up through
 * the model, and each context's PPGTT, walked in memory as the hardware walks it. 4-level
 * (descriptor addressing mode 3): PML4 [47:39] → PDP [38:30] → PD [29:21] → PT [20:12], the PML4
 * from the LRC's PDP0; 3-level (mode 1): the LRC's four PDPs point at page directories for a
 * 4 GiB space. Tables are 512 entries of 8 bytes: address [47:12], PRESENT b0, RW b1. A PDE with
 * IPS_64K (b11) points at a table of 64K pages, entry ((va >> 16) & 31) * 16.
 *
 * A miss, a table the bus cannot reach, or a write to a read-only page is a fault: the first one
 * is kept in FAULT_REG / FAULT_TLB_DATA0/1 until the driver clears VALID, and the access is
 * dropped (a read gives zeros). Fault types [plausible]: 0 page not present, 1 directory not
 * present, 2 write to a read-only page.
 */
#include "i915_engine.h"

#include <string.h>

#define PTE_PRESENT 0x1ull
#define PTE_RW 0x2ull
#define PDE_IPS_64K 0x800ull
#define PTE_ADDR 0x0000FFFFFFFFF000ull

#define FAULT_VALID 0x1u
enum { FAULT_PAGE = 0, FAULT_DIRECTORY = 1, FAULT_READ_ONLY = 2 };
#define FAULT_TLB_GGTT 0x10u

static int entry(struct sim_bus *bus, uint64_t table, unsigned idx, uint64_t *e)
{
	if (!bus || bus->dma_read(bus, (table & PTE_ADDR) + 8ull * idx, e, sizeof(*e)))
		return -1;
	return (*e & PTE_PRESENT) ? 0 : -1;
}

int i915_ppgtt_walk(struct sim_bus *bus, const struct i915_vm *vm, uint64_t va, bool write, uint64_t *bus_addr,
		    unsigned *type)
{
	uint64_t pd, pde, pte;
	*type = FAULT_DIRECTORY;
	if (vm->four_level) {
		uint64_t pml4e;
		if (!(vm->pdp[0] & PTE_ADDR) || entry(bus, vm->pdp[0], (va >> 39) & 511, &pml4e) ||
		    entry(bus, pml4e, (va >> 30) & 511, &pd))
			return -1;
	} else {
		if (va >> 32)
			return -1;
		pd = vm->pdp[(va >> 30) & 3];
		if (!(pd & PTE_ADDR))
			return -1;
	}
	if (entry(bus, pd, (va >> 21) & 511, &pde))
		return -1;
	bool big = pde & PDE_IPS_64K;
	*type = FAULT_PAGE;
	if (entry(bus, pde, big ? ((va >> 16) & 31) * 16 : (va >> 12) & 511, &pte))
		return -1;
	if (write && !(pte & PTE_RW)) {
		*type = FAULT_READ_ONLY;
		return -1;
	}
	uint64_t offset_mask = big ? 0xFFFFull : 0xFFFull;
	*bus_addr = (pte & PTE_ADDR & ~offset_mask) | (va & offset_mask);
	return 0;
}

static void report_fault(struct i915_engine *e, bool ppgtt, uint64_t addr, unsigned type)
{
	struct sim_i915_engines *g = e->g;
	pthread_mutex_lock(g->lock);
	e->stats.page_faults++;
	if (!(sim_regs_get(g->r, SIM_I915_FAULT_REG) & FAULT_VALID)) {
		sim_regs_set(g->r, SIM_I915_FAULT_REG, FAULT_VALID | type << 1 | e->fault_id << 12);
		sim_regs_set(g->r, SIM_I915_FAULT_TLB_DATA0, (uint32_t)(addr >> 12));
		sim_regs_set(g->r, SIM_I915_FAULT_TLB_DATA1, (uint32_t)((addr >> 44) & 0xF) | (ppgtt ? 0 : FAULT_TLB_GGTT));
	}
	pthread_mutex_unlock(g->lock);
}

/* The misbehaviour switch: pages told to fault do, mapped or not. */
static bool page_forced(struct sim_i915_engines *g, bool ppgtt, uint64_t addr)
{
	if (!atomic_load(&g->nfault_pages))
		return false;
	bool hit = false;
	pthread_mutex_lock(g->lock);
	unsigned n = atomic_load(&g->nfault_pages);
	for (unsigned i = 0; i < n && !hit; i++)
		hit = g->fault_pages[i].ppgtt == ppgtt && g->fault_pages[i].page == (addr & ~0xFFFull);
	pthread_mutex_unlock(g->lock);
	return hit;
}

/* One page's translation; a miss is left to the caller to report. */
static int translate_quiet(struct i915_engine *e, bool ppgtt, uint64_t addr, bool write, uint64_t *bus,
			   unsigned *type)
{
	*type = FAULT_PAGE;
	if (page_forced(e->g, ppgtt, addr))
		return -1;
	if (ppgtt)
		return i915_ppgtt_walk(e->g->m->bus, &e->ctx.vm, addr, write, bus, type);
	return addr < I915_GGTT_SIZE ? sim_i915_ggtt_translate(e->g->m, addr, bus) : -1;
}

static int translate(struct i915_engine *e, bool ppgtt, uint64_t addr, bool write, uint64_t *bus)
{
	unsigned type;
	int ret = translate_quiet(e, ppgtt, addr, write, bus, &type);
	if (ret)
		report_fault(e, ppgtt, addr, type);
	return ret;
}

/* A write of the engine's own over dwords it has prefetched: the queue is stale (as the
 * hardware's, which snoops its own writes). */
static void snoop_prefetch(struct i915_engine *e, uint64_t bus, size_t len)
{
	struct i915_ctx *c = &e->ctx;
	if (c->pf_n && bus < c->pf_bus + 4u * c->pf_n && c->pf_bus < bus + len)
		c->pf_n = 0;
}

enum { MAX_PAGES = 4 };

/* Translates every 4K page of [addr, addr+len) first, so a fault drops the whole access. */
static int translate_range(struct i915_engine *e, bool ppgtt, uint64_t addr, size_t len, bool write,
			   uint64_t bus[MAX_PAGES], size_t chunk[MAX_PAGES], unsigned *n)
{
	*n = 0;
	while (len) {
		size_t c = 4096 - (size_t)(addr & 4095);
		if (c > len)
			c = len;
		if (*n == MAX_PAGES || translate(e, ppgtt, addr, write, &bus[*n]))
			return -1;
		chunk[(*n)++] = c;
		addr = (addr + c) & I915_ADDR_MASK;
		len -= c;
	}
	return 0;
}

/* Longer accesses (ring and batch fetches) go page group by page group. */
static int access(struct i915_engine *e, bool ppgtt, uint64_t addr, void *buf, size_t len, bool write)
{
	struct sim_bus *b = e->g->m->bus;
	uint8_t *p = buf;
	addr &= I915_ADDR_MASK;
	while (len) {
		size_t part = len > (MAX_PAGES - 1) * 4096u ? (MAX_PAGES - 1) * 4096u : len;
		uint64_t bus[MAX_PAGES];
		size_t chunk[MAX_PAGES];
		unsigned n;
		if (!b || translate_range(e, ppgtt, addr, part, write, bus, chunk, &n))
			return -1;
		for (unsigned i = 0; i < n; i++) {
			if (write)
				snoop_prefetch(e, bus[i], chunk[i]);
			int ret = write ? b->dma_write(b, bus[i], p, chunk[i]) : b->dma_read(b, bus[i], p, chunk[i]);
			if (ret) {
				/* A PTE naming memory nobody backs: a master abort on the bus. */
				report_fault(e, ppgtt, addr, FAULT_PAGE);
				return -1;
			}
			p += chunk[i];
			addr = (addr + chunk[i]) & I915_ADDR_MASK;
		}
		len -= part;
	}
	return 0;
}

int i915_mem_read(struct i915_engine *e, bool ppgtt, uint64_t addr, void *dst, size_t len)
{
	if (access(e, ppgtt, addr, dst, len, false)) {
		memset(dst, 0, len);
		return -1;
	}
	return 0;
}

int i915_mem_write(struct i915_engine *e, bool ppgtt, uint64_t addr, const void *src, size_t len)
{
	return access(e, ppgtt, addr, (void *)src, len, true);
}

int i915_mem_read_page(struct i915_engine *e, bool ppgtt, uint64_t addr, void *dst, size_t len, uint64_t *bus_addr)
{
	struct sim_bus *b = e->g->m->bus;
	unsigned type;
	addr &= I915_ADDR_MASK;
	if (!b || !len || (addr & 4095) + len > 4096 || translate_quiet(e, ppgtt, addr, false, bus_addr, &type))
		return -1;
	return b->dma_read(b, *bus_addr, dst, len) ? -1 : 0;
}

void i915_mem_write_page(struct i915_engine *e, bool ppgtt, uint64_t page, const struct i915_page_write *w, unsigned n)
{
	struct sim_bus *b = e->g->m->bus;
	uint64_t bus;
	unsigned type, i = 0;
	page &= I915_ADDR_MASK & ~4095ull;
	if (b && !translate_quiet(e, ppgtt, page, true, &bus, &type)) {
		for (; i < n; i++) {
			snoop_prefetch(e, bus + w[i].off, w[i].len);
			if (b->dma_write(b, bus + w[i].off, w[i].v, w[i].len))
				break;
		}
	}
	/* A miss or a bus error: the rest the long way, which reports each fault as it happens. */
	for (; i < n; i++)
		i915_mem_write(e, ppgtt, page + w[i].off, w[i].v, w[i].len);
}
