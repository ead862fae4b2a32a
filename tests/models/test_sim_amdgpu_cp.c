/*
 * Vega10 command engines: the GFX CP and SDMA0/1, driven as the kernel drives
 * them, through the hw ops only: rings and IBs in DMA memory mapped through
 * the GART (and 4-level page tables for user VMIDs), doorbells, fences, the
 * IH ring, and the misbehaviour switches.
 *
 * Memory the engines write is read only after a register read showed the
 * work done: the model lock orders the two, as an interrupt would.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "amdgpu/sim_amdgpu.h"
#include "hw_sim.h"
#include "redox-drm/hw.h"

#define MMIO 5
#define DOORBELL 2

#define FB_START 0x000000F400000000ull
#define GART_START 0x000000FF00000000ull
#define GART_PAGES 4096u
#define RING_DW 1024u
#define IH_SIZE 4096u

/* Offsets in the writeback page. */
#define WB_RPTR 0
#define WB_WPTR 8
#define WB_FENCE 64
#define WB_DATA 256
#define WB_SDMA_RPTR(i) (128 + 16 * (i))

#define PKT3(op, count) (0xC0000000u | ((uint32_t)(count)&0x3FFFu) << 16 | (uint32_t)(op) << 8)
#define SCRATCH(i) (SIM_AMDGPU_SCRATCH_REG0 + 4u * (i))
#define UCONFIG(byte_off) ((byte_off) / 4 - 0xC000u)

struct buf {
	struct hw_dma d;
	uint64_t va;
};

struct fx {
	struct hw_device *hw;
	struct sim_model *m;
	struct hw_dma gart;
	uint64_t next_page;
	struct hw_dma ih, ihwb;
	uint32_t ih_rptr;
	struct buf ring, wb;
	uint32_t ring_dw;
	uint64_t wptr; /* dwords */
	struct buf sdma_ring[2];
	uint64_t sdma_wptr[2]; /* bytes */
	struct hw_dma pt[32];  /* user page tables */
	unsigned npt;
};

struct cmd {
	uint32_t d[8192];
	uint32_t n;
};

/* ---- plumbing ---- */

static void wr(struct fx *f, uint32_t off, uint32_t v)
{
	hw_write32(f->hw, MMIO, off, v);
}

static uint32_t rd(struct fx *f, uint32_t off)
{
	return hw_read32(f->hw, MMIO, off);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static bool wait_reg(struct fx *f, uint32_t off, uint32_t mask, uint32_t val, unsigned ms)
{
	uint64_t end = mono_ns() + (uint64_t)ms * 1000000u;
	do {
		if ((rd(f, off) & mask) == val)
			return true;
		struct timespec ts = {.tv_nsec = 100000};
		nanosleep(&ts, NULL);
	} while (mono_ns() < end);
	return (rd(f, off) & mask) == val;
}

static uint32_t *wb32(struct fx *f, unsigned off)
{
	return (uint32_t *)((uint8_t *)f->wb.d.cpu + off);
}

/* ---- GPU memory ---- */

struct hub {
	uint32_t cntl, req, ack, base, start, end, fb_base, fb_top, agp_top, agp_bot, sys_lo, sys_hi;
};

static const struct hub hubs[2] = {
	{SIM_AMDGPU_MMHUB_VM_CONTEXT0_CNTL, SIM_AMDGPU_MMHUB_VM_INVALIDATE_ENG0_REQ, SIM_AMDGPU_MMHUB_VM_INVALIDATE_ENG0_ACK,
	 SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_BASE_LO32, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_START_LO32,
	 SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_END_LO32, SIM_AMDGPU_MMHUB_MC_VM_FB_LOCATION_BASE,
	 SIM_AMDGPU_MMHUB_MC_VM_FB_LOCATION_TOP, SIM_AMDGPU_MMHUB_MC_VM_AGP_TOP, SIM_AMDGPU_MMHUB_MC_VM_AGP_BOT,
	 SIM_AMDGPU_MMHUB_MC_VM_SYSTEM_APERTURE_LOW, SIM_AMDGPU_MMHUB_MC_VM_SYSTEM_APERTURE_HIGH},
	{SIM_AMDGPU_GFXHUB_VM_CONTEXT0_CNTL, SIM_AMDGPU_GFXHUB_VM_INVALIDATE_ENG0_REQ,
	 SIM_AMDGPU_GFXHUB_VM_INVALIDATE_ENG0_ACK, SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_BASE_LO32,
	 SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_START_LO32, SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_END_LO32,
	 SIM_AMDGPU_GFXHUB_MC_VM_FB_LOCATION_BASE, SIM_AMDGPU_GFXHUB_MC_VM_FB_LOCATION_TOP,
	 SIM_AMDGPU_GFXHUB_MC_VM_AGP_TOP, SIM_AMDGPU_GFXHUB_MC_VM_AGP_BOT,
	 SIM_AMDGPU_GFXHUB_MC_VM_SYSTEM_APERTURE_LOW, SIM_AMDGPU_GFXHUB_MC_VM_SYSTEM_APERTURE_HIGH},
};

/* Both hubs see the same VMID0 (FB aperture + one flat GART table), as the kernel sets them up. */
static void setup_vm(struct fx *f)
{
	assert_int_equal(f->hw->ops->dma_alloc(f->hw, GART_PAGES * 8, &f->gart), 0);
	memset(f->gart.cpu, 0, f->gart.size);
	uint64_t fb_end = FB_START + SIM_AMDGPU_VRAM_SIZE - 1, start = GART_START >> 12, end = start + GART_PAGES - 1;
	uint64_t base = f->gart.bus_addr | SIM_AMDGPU_PTE_VALID | SIM_AMDGPU_PTE_SYSTEM;
	for (unsigned h = 0; h < 2; h++) {
		const struct hub *hb = &hubs[h];
		wr(f, hb->fb_base, (uint32_t)(FB_START >> 24));
		wr(f, hb->fb_top, (uint32_t)(fb_end >> 24));
		wr(f, hb->agp_bot, 0xFFFFFF);
		wr(f, hb->agp_top, 0);
		wr(f, hb->sys_lo, (uint32_t)(FB_START >> 18));
		wr(f, hb->sys_hi, (uint32_t)(fb_end >> 18));
		wr(f, hb->start, (uint32_t)start);
		wr(f, hb->start + 4, (uint32_t)(start >> 32));
		wr(f, hb->end, (uint32_t)end);
		wr(f, hb->end + 4, (uint32_t)(end >> 32));
		wr(f, hb->base, (uint32_t)base);
		wr(f, hb->base + 4, (uint32_t)(base >> 32));
		wr(f, hb->cntl, 1);
	}
}

#define PTE_RW (SIM_AMDGPU_PTE_VALID | SIM_AMDGPU_PTE_SYSTEM | SIM_AMDGPU_PTE_SNOOPED | SIM_AMDGPU_PTE_READABLE | \
		SIM_AMDGPU_PTE_WRITEABLE)

static struct buf gart_buf(struct fx *f, size_t size)
{
	struct buf b;
	assert_int_equal(f->hw->ops->dma_alloc(f->hw, size, &b.d), 0);
	memset(b.d.cpu, 0, b.d.size);
	uint64_t *pte = f->gart.cpu;
	size_t pages = (b.d.size + 4095) / 4096;
	assert_true(f->next_page + pages <= GART_PAGES);
	for (size_t i = 0; i < pages; i++)
		pte[f->next_page + i] = (b.d.bus_addr + i * 4096) | PTE_RW;
	b.va = GART_START + f->next_page * 4096;
	f->next_page += pages + 1; /* a hole after each */
	return b;
}

/* User VMIDs: 4 levels, 9 bits each; one root per VMID, tables allocated as needed. */
static uint64_t *pt_new(struct fx *f, uint64_t *bus)
{
	assert_true(f->npt < 32);
	struct hw_dma *d = &f->pt[f->npt++];
	assert_int_equal(f->hw->ops->dma_alloc(f->hw, 4096, d), 0);
	memset(d->cpu, 0, 4096);
	*bus = d->bus_addr;
	return d->cpu;
}

static uint64_t *pt_cpu(struct fx *f, uint64_t bus)
{
	for (unsigned i = 0; i < f->npt; i++)
		if (f->pt[i].bus_addr == bus)
			return f->pt[i].cpu;
	fail_msg("no table at %llx", (unsigned long long)bus);
	return NULL;
}

static uint64_t vm_root(struct fx *f, unsigned vmid)
{
	uint64_t bus;
	pt_new(f, &bus);
	uint64_t pde = bus | SIM_AMDGPU_PTE_VALID | SIM_AMDGPU_PTE_SYSTEM;
	for (unsigned h = 0; h < 2; h++) {
		wr(f, hubs[h].base + 8 * vmid, (uint32_t)pde);
		wr(f, hubs[h].base + 8 * vmid + 4, (uint32_t)(pde >> 32));
		wr(f, hubs[h].start + 8 * vmid, 0);
		wr(f, hubs[h].start + 8 * vmid + 4, 0);
		wr(f, hubs[h].end + 8 * vmid, 0xFFFFFFFFu);
		wr(f, hubs[h].end + 8 * vmid + 4, 0xF);
		wr(f, hubs[h].cntl + 4 * vmid, 1u | 3u << 1); /* enabled, depth 3 */
	}
	return bus;
}

static void vm_map(struct fx *f, uint64_t root, uint64_t va, uint64_t bus_page)
{
	uint64_t table = root;
	for (int level = 3; level > 0; level--) {
		uint64_t *t = pt_cpu(f, table);
		unsigned idx = (va >> (12 + 9 * level)) & 0x1FF;
		if (!(t[idx] & SIM_AMDGPU_PTE_VALID)) {
			uint64_t nb;
			pt_new(f, &nb);
			t = pt_cpu(f, table);
			t[idx] = nb | SIM_AMDGPU_PTE_VALID | SIM_AMDGPU_PTE_SYSTEM;
		}
		table = t[idx] & 0x0000FFFFFFFFF000ull;
	}
	pt_cpu(f, table)[(va >> 12) & 0x1FF] = bus_page | PTE_RW;
}

/* ---- IH ---- */

static void setup_ih(struct fx *f)
{
	assert_int_equal(f->hw->ops->dma_alloc(f->hw, IH_SIZE, &f->ih), 0);
	assert_int_equal(f->hw->ops->dma_alloc(f->hw, 4096, &f->ihwb), 0);
	memset(f->ih.cpu, 0, f->ih.size);
	unsigned log2_dw = 0;
	while ((4u << log2_dw) < IH_SIZE)
		log2_dw++;
	wr(f, SIM_AMDGPU_IH_RB_BASE, (uint32_t)(f->ih.bus_addr >> 8));
	wr(f, SIM_AMDGPU_IH_RB_BASE_HI, (uint32_t)(f->ih.bus_addr >> 40));
	wr(f, SIM_AMDGPU_IH_RB_WPTR_ADDR_LO, (uint32_t)f->ihwb.bus_addr);
	wr(f, SIM_AMDGPU_IH_RB_WPTR_ADDR_HI, (uint32_t)(f->ihwb.bus_addr >> 32));
	wr(f, SIM_AMDGPU_IH_RB_RPTR, 0);
	wr(f, SIM_AMDGPU_IH_RB_WPTR, 0);
	wr(f, SIM_AMDGPU_IH_RB_CNTL,
	   SIM_AMDGPU_IH_RB_CNTL_RB_ENABLE | log2_dw << SIM_AMDGPU_IH_RB_CNTL_RB_SIZE_SHIFT |
		   SIM_AMDGPU_IH_RB_CNTL_WPTR_WRITEBACK_ENABLE | SIM_AMDGPU_IH_RB_CNTL_WPTR_OVERFLOW_ENABLE |
		   SIM_AMDGPU_IH_RB_CNTL_ENABLE_INTR | 1u << SIM_AMDGPU_IH_RB_CNTL_MC_SPACE_SHIFT);
}

static uint32_t ih_wptr(struct fx *f)
{
	return rd(f, SIM_AMDGPU_IH_RB_WPTR) & 0x3FFFCu;
}

/* The next IH entry within ms, as the driver's IH handler takes it; false if none came. */
static bool ih_next(struct fx *f, uint32_t e[8], unsigned ms)
{
	if (!wait_reg(f, SIM_AMDGPU_IH_RB_WPTR, 0x3FFFCu, (f->ih_rptr + 32) % IH_SIZE, ms) && ih_wptr(f) == f->ih_rptr)
		return false;
	memcpy(e, (uint8_t *)f->ih.cpu + f->ih_rptr, 32);
	f->ih_rptr = (f->ih_rptr + 32) % IH_SIZE;
	wr(f, SIM_AMDGPU_IH_RB_RPTR, f->ih_rptr);
	return true;
}

static void expect_no_ih(struct fx *f, unsigned ms)
{
	sleep_ms(ms);
	assert_int_equal(ih_wptr(f), f->ih_rptr);
}

/* ---- GFX ring ---- */

static void gfx_ring_init(struct fx *f, uint32_t ring_dw)
{
	unsigned bufsz = 0;
	while ((8u << bufsz) < ring_dw * 4)
		bufsz++;
	f->ring_dw = ring_dw;
	f->wptr = 0;
	uint32_t cntl = bufsz | (bufsz - 2) << SIM_AMDGPU_CP_RB_CNTL_BLKSZ_SHIFT;
	/* gfx_v9_0_cp_gfx_resume's order. */
	wr(f, SIM_AMDGPU_CP_RB_WPTR_DELAY, 0);
	wr(f, SIM_AMDGPU_CP_RB_VMID, 0);
	wr(f, SIM_AMDGPU_CP_RB0_CNTL, cntl);
	wr(f, SIM_AMDGPU_CP_RB0_CNTL, cntl | SIM_AMDGPU_CP_RB_CNTL_RB_RPTR_WR_ENA);
	wr(f, SIM_AMDGPU_CP_RB0_WPTR, 0);
	wr(f, SIM_AMDGPU_CP_RB0_WPTR_HI, 0);
	uint64_t rptr = f->wb.va + WB_RPTR, wptr = f->wb.va + WB_WPTR;
	wr(f, SIM_AMDGPU_CP_RB0_RPTR_ADDR, (uint32_t)rptr);
	wr(f, SIM_AMDGPU_CP_RB0_RPTR_ADDR_HI, (uint32_t)(rptr >> 32) & 0xFFFF);
	wr(f, SIM_AMDGPU_CP_RB_WPTR_POLL_ADDR_LO, (uint32_t)wptr);
	wr(f, SIM_AMDGPU_CP_RB_WPTR_POLL_ADDR_HI, (uint32_t)(wptr >> 32));
	wr(f, SIM_AMDGPU_CP_RB0_CNTL, cntl);
	wr(f, SIM_AMDGPU_CP_RB0_BASE, (uint32_t)(f->ring.va >> 8));
	wr(f, SIM_AMDGPU_CP_RB0_BASE_HI, (uint32_t)(f->ring.va >> 40));
	wr(f, SIM_AMDGPU_CP_RB_DOORBELL_CONTROL,
	   (SIM_AMDGPU_GFX_DOORBELL / 4) << SIM_AMDGPU_CP_DOORBELL_OFFSET_SHIFT | SIM_AMDGPU_CP_DOORBELL_EN);
}

static void gfx_submit(struct fx *f, const struct cmd *c)
{
	uint32_t *ring = f->ring.d.cpu;
	for (uint32_t i = 0; i < c->n; i++)
		ring[(f->wptr + i) & (f->ring_dw - 1)] = c->d[i];
	f->wptr += c->n;
	/* gfx_v9_0_ring_set_wptr_gfx: the shadow, then one 64-bit doorbell write. */
	memcpy(wb32(f, WB_WPTR), &f->wptr, 8);
	hw_write64(f->hw, DOORBELL, SIM_AMDGPU_GFX_DOORBELL, f->wptr);
}

static bool gfx_idle(struct fx *f, unsigned ms)
{
	uint64_t end = mono_ns() + (uint64_t)ms * 1000000u;
	for (;;) {
		if (rd(f, SIM_AMDGPU_CP_RB0_RPTR) == (f->wptr & (f->ring_dw - 1)) &&
		    !(rd(f, SIM_AMDGPU_GRBM_STATUS) & SIM_AMDGPU_GRBM_STATUS_GUI_ACTIVE))
			return true;
		if (mono_ns() > end)
			return false;
		sleep_ms(1);
	}
}

static void c1(struct cmd *c, uint32_t v)
{
	assert_true(c->n < sizeof(c->d) / 4);
	c->d[c->n++] = v;
}

static void set_uconfig(struct cmd *c, uint32_t reg, uint32_t v)
{
	c1(c, PKT3(0x79, 1));
	c1(c, UCONFIG(reg));
	c1(c, v);
}

static void write_data(struct cmd *c, uint64_t va, const uint32_t *v, unsigned n)
{
	c1(c, PKT3(0x37, 2 + n));
	c1(c, 5u << 8 | 1u << 20); /* DST_SEL memory, WR_CONFIRM */
	c1(c, (uint32_t)va);
	c1(c, (uint32_t)(va >> 32));
	for (unsigned i = 0; i < n; i++)
		c1(c, v[i]);
}

static void write_reg(struct cmd *c, uint32_t reg, uint32_t v)
{
	c1(c, PKT3(0x37, 3));
	c1(c, 0u << 8 | 1u << 20);
	c1(c, reg / 4);
	c1(c, 0);
	c1(c, v);
}

/* The kernel's fence: RELEASE_MEM with the cache actions, EVENT CACHE_FLUSH_AND_INV_TS, index 5. */
static void release_mem(struct cmd *c, uint64_t va, uint64_t seq, unsigned data_sel, unsigned int_sel)
{
	c1(c, PKT3(0x49, 6));
	c1(c, 0x14u | 5u << 8 | 1u << 16 | 1u << 17 | 1u << 21 | 1u << 15);
	c1(c, data_sel << 29 | int_sel << 24);
	c1(c, (uint32_t)va);
	c1(c, (uint32_t)(va >> 32));
	c1(c, (uint32_t)seq);
	c1(c, (uint32_t)(seq >> 32));
	c1(c, 0);
}

static void ib(struct cmd *c, uint64_t va, uint32_t ndw, unsigned vmid, bool chain, bool ce)
{
	c1(c, PKT3(ce ? 0x33 : 0x3F, 2));
	c1(c, (uint32_t)va);
	c1(c, (uint32_t)(va >> 32) & 0xFFFF);
	c1(c, ndw | (chain ? 1u << 20 : 0) | 1u << 23 | vmid << 24);
}

static void wait_reg_mem(struct cmd *c, bool mem, unsigned op, unsigned func, uint64_t addr0, uint32_t reg1,
			 uint32_t ref, uint32_t mask)
{
	c1(c, PKT3(0x3C, 5));
	c1(c, func | (mem ? 1u : 0u) << 4 | op << 6);
	c1(c, mem ? (uint32_t)addr0 : (uint32_t)addr0 / 4);
	c1(c, mem ? (uint32_t)(addr0 >> 32) : reg1 / 4);
	c1(c, ref);
	c1(c, mask);
	c1(c, 4); /* poll interval */
}

/* Copies a command buffer into an IB buffer at dword offset off; returns its GPU address. */
static uint64_t ib_put(struct buf *b, uint32_t off, const struct cmd *c)
{
	memcpy((uint32_t *)b->d.cpu + off, c->d, c->n * 4);
	return b->va + off * 4ull;
}

/* ---- SDMA ---- */

#define SDMA(i, reg) ((reg) + (i)*SIM_AMDGPU_SDMA_STRIDE)

/* sdma_v4_0_gfx_resume's order; doorbell off for SDMA1 (register WPTR with MINOR_PTR_UPDATE). */
static void sdma_init(struct fx *f, unsigned i, bool doorbell)
{
	f->sdma_ring[i] = gart_buf(f, 4096);
	f->sdma_wptr[i] = 0;
	uint32_t cntl = 10u << SIM_AMDGPU_SDMA_RB_SIZE_SHIFT | SIM_AMDGPU_SDMA_RB_RPTR_WRITEBACK_ENABLE; /* 1024 dw */
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_CNTL), cntl);
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_RPTR), 0);
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_RPTR_HI), 0);
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_WPTR), 0);
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_WPTR_HI), 0);
	uint64_t wb = f->wb.va + WB_SDMA_RPTR(i);
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_RPTR_ADDR_HI), (uint32_t)(wb >> 32));
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_RPTR_ADDR_LO), (uint32_t)wb & ~3u);
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_BASE), (uint32_t)(f->sdma_ring[i].va >> 8));
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_BASE_HI), (uint32_t)(f->sdma_ring[i].va >> 40));
	uint32_t db = i ? SIM_AMDGPU_SDMA1_DOORBELL : SIM_AMDGPU_SDMA0_DOORBELL;
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_DOORBELL_OFFSET), (db / 4) << 2);
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_DOORBELL), doorbell ? SIM_AMDGPU_SDMA_DOORBELL_ENABLE : 0);
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_CNTL), cntl | SIM_AMDGPU_SDMA_RB_ENABLE);
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_IB_CNTL), SIM_AMDGPU_SDMA_IB_ENABLE);
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_CNTL), SIM_AMDGPU_SDMA_CNTL_TRAP_ENABLE);
	wr(f, SDMA(i, SIM_AMDGPU_SDMA0_F32_CNTL), 0);
}

static void sdma_submit(struct fx *f, unsigned i, const struct cmd *c)
{
	uint32_t *ring = f->sdma_ring[i].d.cpu;
	for (uint32_t k = 0; k < c->n; k++)
		ring[((f->sdma_wptr[i] >> 2) + k) & 1023] = c->d[k];
	f->sdma_wptr[i] += c->n * 4ull;
	if (rd(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_DOORBELL)) & SIM_AMDGPU_SDMA_DOORBELL_ENABLE) {
		hw_write64(f->hw, DOORBELL, i ? SIM_AMDGPU_SDMA1_DOORBELL : SIM_AMDGPU_SDMA0_DOORBELL, f->sdma_wptr[i]);
	} else {
		wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_MINOR_PTR_UPDATE), 1);
		wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_WPTR), (uint32_t)f->sdma_wptr[i]);
		wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_WPTR_HI), (uint32_t)(f->sdma_wptr[i] >> 32));
		wr(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_MINOR_PTR_UPDATE), 0);
	}
}

static bool sdma_idle(struct fx *f, unsigned i, unsigned ms)
{
	uint64_t end = mono_ns() + (uint64_t)ms * 1000000u;
	for (;;) {
		if (rd(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_RPTR)) == (uint32_t)f->sdma_wptr[i] &&
		    (rd(f, SDMA(i, SIM_AMDGPU_SDMA0_STATUS_REG)) & SIM_AMDGPU_SDMA_STATUS_IDLE))
			return true;
		if (mono_ns() > end)
			return false;
		sleep_ms(1);
	}
}

static void sdma_write(struct cmd *c, uint64_t va, const uint32_t *v, unsigned n)
{
	c1(c, 2u); /* WRITE_LINEAR */
	c1(c, (uint32_t)va);
	c1(c, (uint32_t)(va >> 32));
	c1(c, n - 1);
	for (unsigned k = 0; k < n; k++)
		c1(c, v[k]);
}

static void sdma_copy(struct cmd *c, uint64_t src, uint64_t dst, uint32_t bytes)
{
	c1(c, 1u); /* COPY_LINEAR */
	c1(c, bytes - 1);
	c1(c, 0);
	c1(c, (uint32_t)src);
	c1(c, (uint32_t)(src >> 32));
	c1(c, (uint32_t)dst);
	c1(c, (uint32_t)(dst >> 32));
}

static void sdma_fill(struct cmd *c, uint64_t dst, uint32_t data, uint32_t bytes)
{
	c1(c, 11u | 2u << 30); /* CONST_FILL, dword */
	c1(c, (uint32_t)dst);
	c1(c, (uint32_t)(dst >> 32));
	c1(c, data);
	c1(c, bytes - 1);
}

static void sdma_fence(struct cmd *c, uint64_t va, uint32_t seq)
{
	c1(c, 5u);
	c1(c, (uint32_t)va);
	c1(c, (uint32_t)(va >> 32));
	c1(c, seq);
}

static void sdma_trap(struct cmd *c, uint32_t ctx)
{
	c1(c, 6u);
	c1(c, ctx);
}

/* ---- fixture ---- */

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->hw = hw_sim_create("amdgpu", 0);
	if (!f->hw) {
		free(f);
		return -1;
	}
	f->m = hw_sim_model(f->hw);
	setup_vm(f);
	setup_ih(f);
	f->wb = gart_buf(f, 4096);
	f->ring = gart_buf(f, RING_DW * 4);
	gfx_ring_init(f, RING_DW);
	wr(f, SIM_AMDGPU_CP_INT_CNTL_RING0,
	   SIM_AMDGPU_CP_INT_TIME_STAMP | SIM_AMDGPU_CP_INT_OPCODE_ERROR | SIM_AMDGPU_CP_INT_PRIV_REG);
	wr(f, SIM_AMDGPU_CP_ME_CNTL, 0); /* gfx_v9_0_cp_gfx_enable */
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	hw_destroy(f->hw);
	free(f);
	return 0;
}

static struct sim_amdgpu_ring_status status(struct fx *f, enum sim_amdgpu_ring ring)
{
	struct sim_amdgpu_ring_status st;
	assert_int_equal(sim_amdgpu_ring_status(f->m, ring, &st), 0);
	return st;
}

/* ---- tests ---- */

static void test_registers(void **state)
{
	struct fx *f = *state;
	struct hw_device *hw = hw_sim_create("amdgpu", 1);
	assert_non_null(hw);
	/* Reset: the CP waits for its firmware, SDMA halted, everything idle. */
	assert_int_equal(hw_read32(hw, MMIO, SIM_AMDGPU_CP_ME_CNTL), 0x15000000u);
	assert_int_equal(hw_read32(hw, MMIO, SIM_AMDGPU_GRBM_STATUS), SIM_AMDGPU_GRBM_STATUS_IDLE);
	assert_int_equal(hw_read32(hw, MMIO, SIM_AMDGPU_CP_STAT), 0);
	assert_int_equal(hw_read32(hw, MMIO, SIM_AMDGPU_SDMA0_F32_CNTL), SIM_AMDGPU_SDMA_F32_HALT);
	assert_int_equal(hw_read32(hw, MMIO, SDMA(1, SIM_AMDGPU_SDMA0_F32_CNTL)), SIM_AMDGPU_SDMA_F32_HALT);
	assert_int_equal(hw_read32(hw, MMIO, SIM_AMDGPU_SDMA0_STATUS_REG), SIM_AMDGPU_SDMA_STATUS_IDLE_VALUE);
	assert_int_equal(hw_read32(hw, MMIO, SIM_AMDGPU_CP_RB0_RPTR), 0);
	hw_destroy(hw);

	/* Plain ring registers store what the driver writes. */
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_BASE), (uint32_t)(f->ring.va >> 8));
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_BASE_HI), (uint32_t)(f->ring.va >> 40));
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR_ADDR), (uint32_t)(f->wb.va + WB_RPTR));
	assert_int_equal(rd(f, SIM_AMDGPU_CP_INT_CNTL_RING0) & SIM_AMDGPU_CP_INT_TIME_STAMP, SIM_AMDGPU_CP_INT_TIME_STAMP);
	/* RPTR is read only; RB_RPTR_WR_ENA loads it from CP_RB_RPTR_WR. */
	wr(f, SIM_AMDGPU_CP_ME_CNTL, SIM_AMDGPU_CP_ME_CNTL_RESET);
	wr(f, SIM_AMDGPU_CP_RB0_RPTR, 7);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), 0);
	uint32_t cntl = rd(f, SIM_AMDGPU_CP_RB0_CNTL);
	wr(f, SIM_AMDGPU_CP_RB_RPTR_WR, 5);
	wr(f, SIM_AMDGPU_CP_RB0_CNTL, cntl | SIM_AMDGPU_CP_RB_CNTL_RB_RPTR_WR_ENA);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), 5);
	wr(f, SIM_AMDGPU_CP_RB_RPTR_WR, 0);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), 0);
	wr(f, SIM_AMDGPU_CP_RB0_CNTL, cntl);

	/* Halted at reset: a submission waits, not busy, until the halt bits clear. */
	struct cmd c = {0};
	set_uconfig(&c, SCRATCH(0), 0xDEADBEEF);
	gfx_submit(f, &c);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_WPTR), 3); /* the doorbell carried WPTR */
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_WPTR_HI), 0);
	sleep_ms(20);
	assert_int_equal(rd(f, SCRATCH(0)), 0);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), 0);
	assert_int_equal(rd(f, SIM_AMDGPU_GRBM_STATUS), SIM_AMDGPU_GRBM_STATUS_IDLE);
	wr(f, SIM_AMDGPU_CP_ME_CNTL, SIM_AMDGPU_CP_ME_CNTL_ME_HALT); /* still halted: ME */
	sleep_ms(10);
	assert_int_equal(rd(f, SCRATCH(0)), 0);
	wr(f, SIM_AMDGPU_CP_ME_CNTL, 0);
	assert_true(wait_reg(f, SCRATCH(0), ~0u, 0xDEADBEEF, 1000));
	assert_true(gfx_idle(f, 1000));

	/* A doorbell the CP does not own (disabled) changes nothing. */
	wr(f, SIM_AMDGPU_CP_RB_DOORBELL_CONTROL, (SIM_AMDGPU_GFX_DOORBELL / 4) << 2);
	hw_write64(f->hw, DOORBELL, SIM_AMDGPU_GFX_DOORBELL, 0x40);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_WPTR), 3);
	/* WPTR through the register works as well. */
	c.n = 0;
	set_uconfig(&c, SCRATCH(1), 0x1234);
	uint32_t *ring = f->ring.d.cpu;
	for (uint32_t i = 0; i < c.n; i++)
		ring[(f->wptr + i) & (f->ring_dw - 1)] = c.d[i];
	f->wptr += c.n;
	wr(f, SIM_AMDGPU_CP_RB0_WPTR, (uint32_t)f->wptr);
	assert_true(wait_reg(f, SCRATCH(1), ~0u, 0x1234, 1000));
	assert_true(gfx_idle(f, 1000));

	/* VM invalidation and HDP flush complete at once (the kernel polls for them). */
	wr(f, SIM_AMDGPU_GFXHUB_VM_INVALIDATE_ENG0_REQ + 4 * 17, 1u << 3 | 0x1Fu << 18);
	assert_int_equal(rd(f, SIM_AMDGPU_GFXHUB_VM_INVALIDATE_ENG0_ACK + 4 * 17), 1u << 3);
	wr(f, SIM_AMDGPU_HDP_FLUSH_REQ, 1u << 2);
	assert_int_equal(rd(f, SIM_AMDGPU_HDP_FLUSH_DONE), 1u << 2);
	wr(f, SIM_AMDGPU_HDP_FLUSH_DONE, 0);
	assert_int_equal(rd(f, SIM_AMDGPU_HDP_FLUSH_DONE), 1u << 2);
}

/* gfx_v9_0_ring_test_ring. */
static void test_ring_test(void **state)
{
	struct fx *f = *state;
	wr(f, SCRATCH(0), 0xCAFEDEAD);
	struct cmd c = {0};
	set_uconfig(&c, SCRATCH(0), 0xDEADBEEF);
	gfx_submit(f, &c);
	assert_true(wait_reg(f, SCRATCH(0), ~0u, 0xDEADBEEF, 1000));
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), 3);
	assert_int_equal(*wb32(f, WB_RPTR), 3); /* the 32-bit dword offset writeback */
	assert_int_equal(rd(f, SIM_AMDGPU_CP_STAT), 0);
	struct sim_amdgpu_ring_status st = status(f, SIM_AMDGPU_RING_GFX);
	assert_int_equal(st.packets, 1);
	assert_int_equal(st.op_count[0x79], 1);
	assert_int_equal(st.error, SIM_AMDGPU_RING_OK);
}

/* gfx_v9_0_ring_test_ib plus the kernel's fence: data, then fence, then the EOP entry. */
static void test_ib_fence_eop(void **state)
{
	struct fx *f = *state;
	struct buf ibb = gart_buf(f, 4096);
	struct cmd c = {0};
	uint32_t v = 0xDEADBEEF;
	write_data(&c, f->wb.va + WB_DATA, &v, 1);
	uint64_t ib_va = ib_put(&ibb, 0, &c);
	uint32_t ib_dw = c.n;

	/* The frame stops before its fence until SCRATCH1 is set: the IB ran, no fence, no entry. */
	c.n = 0;
	ib(&c, ib_va, ib_dw, 0, false, false);
	wait_reg_mem(&c, false, 0, 3, SCRATCH(1), 0, 1, 0xFFFFFFFF);
	release_mem(&c, f->wb.va + WB_FENCE, 1, 1, 2);
	gfx_submit(f, &c);
	assert_true(wait_reg(f, SIM_AMDGPU_GRBM_STATUS, SIM_AMDGPU_GRBM_STATUS_GUI_ACTIVE,
			     SIM_AMDGPU_GRBM_STATUS_GUI_ACTIVE, 1000));
	assert_true(wait_reg(f, SIM_AMDGPU_CP_RB0_RPTR, ~0u, 4, 1000)); /* the IB packet retired */
	assert_int_equal(*wb32(f, WB_DATA), 0xDEADBEEF);
	assert_int_equal(*wb32(f, WB_FENCE), 0);
	expect_no_ih(f, 10);

	/* Release it, and watch the IH WPTR: whenever it has moved the fence is already there. */
	wr(f, SCRATCH(1), 1);
	uint64_t end = mono_ns() + 1000000000ull;
	while (ih_wptr(f) == f->ih_rptr && mono_ns() < end)
		;
	assert_int_not_equal(ih_wptr(f), f->ih_rptr);
	assert_int_equal(*wb32(f, WB_FENCE), 1);
	uint32_t e[8];
	assert_true(ih_next(f, e, 100));
	assert_int_equal(e[0] & 0xFF, SIM_AMDGPU_IH_CLIENT_GRBM_CP);
	assert_int_equal((e[0] >> 8) & 0xFF, SIM_AMDGPU_SRCID_CP_EOP);
	assert_int_equal((e[0] >> 16) & 0xFF, 0); /* me 0 pipe 0 queue 0 */
	assert_int_equal(*(uint32_t *)f->ihwb.cpu, 32); /* IH wptr writeback */
	assert_true(gfx_idle(f, 1000));

	/* 64-bit and timestamp fences; TIME_STAMP_INT disabled: no entry. */
	wr(f, SIM_AMDGPU_CP_INT_CNTL_RING0, 0);
	c.n = 0;
	release_mem(&c, f->wb.va + WB_FENCE, 0x123456789ull, 2, 2);
	release_mem(&c, f->wb.va + WB_FENCE + 8, 0, 3, 0);
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	uint64_t fence64, ts;
	memcpy(&fence64, wb32(f, WB_FENCE), 8);
	memcpy(&ts, wb32(f, WB_FENCE + 8), 8);
	assert_int_equal(fence64, 0x123456789ull);
	assert_true(ts != 0);
	expect_no_ih(f, 10);
	struct sim_amdgpu_ring_status st = status(f, SIM_AMDGPU_RING_GFX);
	assert_int_equal(st.op_count[0x49], 3);
	assert_int_equal(st.irqs, 1);
}

static void test_rptr_writeback(void **state)
{
	struct fx *f = *state;
	struct cmd c = {0};
	for (int i = 0; i < 5; i++)
		c1(&c, 0xFFFF1000u); /* 1-dword NOPs */
	c1(&c, PKT3(0x10, 2));
	c1(&c, 0);
	c1(&c, 0);
	c1(&c, 0);
	c1(&c, 0x80000000u); /* type-2 filler */
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), 10);
	assert_int_equal(*wb32(f, WB_RPTR), 10);
	assert_int_equal(status(f, SIM_AMDGPU_RING_GFX).packets, 7);
	/* RB_NO_UPDATE: the register moves, memory does not. */
	wr(f, SIM_AMDGPU_CP_RB0_CNTL, rd(f, SIM_AMDGPU_CP_RB0_CNTL) | SIM_AMDGPU_CP_RB_CNTL_RB_NO_UPDATE);
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), 20);
	assert_int_equal(*wb32(f, WB_RPTR), 10);

	/*
	 * Memory gets RPTR as each RB_BLKSZ block is done and when the CP has
	 * caught up, not after every packet: a CP waiting in the middle of a
	 * block has RPTR at the wait in the register, the last report in memory.
	 */
	wr(f, SIM_AMDGPU_CP_ME_CNTL, SIM_AMDGPU_CP_ME_CNTL_RESET);
	gfx_ring_init(f, 1024);
	uint32_t cntl = rd(f, SIM_AMDGPU_CP_RB0_CNTL) & ~(0x3Fu << SIM_AMDGPU_CP_RB_CNTL_BLKSZ_SHIFT);
	wr(f, SIM_AMDGPU_CP_RB0_CNTL, cntl | 4u << SIM_AMDGPU_CP_RB_CNTL_BLKSZ_SHIFT); /* 128-byte blocks: 32 dwords */
	wr(f, SIM_AMDGPU_CP_ME_CNTL, 0);
	*wb32(f, WB_DATA) = 0;
	*wb32(f, WB_RPTR) = 0xDEAD;
	struct cmd w = {0};
	for (int i = 0; i < 5; i++)
		c1(&w, 0xFFFF1000u);
	wait_reg_mem(&w, true, 0, 3, f->wb.va + WB_DATA, 0, 1, 0xFFFFFFFF); /* dwords 5..11 */
	gfx_submit(f, &w);
	assert_true(wait_reg(f, SIM_AMDGPU_CP_RB0_RPTR, 0xFFFFFFFF, 5, 1000));
	sleep_ms(20);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), 5);
	assert_int_equal(*wb32(f, WB_RPTR), 0xDEAD); /* no block done, not caught up: no report */
	/* Past the first block boundary (dword 32) and waiting again: the report is at the packet that crossed it. */
	struct cmd x = {0};
	for (int i = 0; i < 24; i++)
		c1(&x, 0xFFFF1000u); /* dwords 12..35 */
	wait_reg_mem(&x, true, 0, 3, f->wb.va + WB_DATA, 0, 2, 0xFFFFFFFF); /* dwords 36..42 */
	gfx_submit(f, &x);
	__atomic_store_n(wb32(f, WB_DATA), 1, __ATOMIC_RELEASE);
	assert_true(wait_reg(f, SIM_AMDGPU_CP_RB0_RPTR, 0xFFFFFFFF, 36, 1000));
	assert_int_equal(*wb32(f, WB_RPTR), 32); /* the NOP in dword 31 finished the first block */
	__atomic_store_n(wb32(f, WB_DATA), 2, __ATOMIC_RELEASE);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(*wb32(f, WB_RPTR), 43); /* caught up */
}

static void test_ring_wrap(void **state)
{
	struct fx *f = *state;
	wr(f, SIM_AMDGPU_CP_ME_CNTL, SIM_AMDGPU_CP_ME_CNTL_RESET);
	gfx_ring_init(f, 64); /* 256 bytes */
	wr(f, SIM_AMDGPU_CP_ME_CNTL, 0);
	for (uint32_t round = 1; round <= 40; round++) {
		struct cmd c = {0};
		set_uconfig(&c, SCRATCH(2), round);
		uint32_t v = round * 3;
		write_data(&c, f->wb.va + WB_DATA, &v, 1);
		if (round % 3 == 0)
			c1(&c, 0xFFFF1000u);
		gfx_submit(f, &c);
		assert_true(gfx_idle(f, 1000));
		assert_int_equal(rd(f, SCRATCH(2)), round);
		assert_int_equal(*wb32(f, WB_DATA), round * 3);
		assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), f->wptr & 63);
	}
	assert_true(f->wptr > 5 * 64);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_WPTR_HI), 0);
	/* A packet whose header sits in the last dword and whose body wraps, written in two halves:
	 * the CP waits for the rest instead of reading past WPTR. */
	struct cmd pad = {0};
	uint32_t used = f->wptr & 63;
	if (used == 62) {
		c1(&pad, 0xFFFF1000u);
	} else if (used != 63) {
		c1(&pad, PKT3(0x10, 63 - used - 2));
		for (uint32_t i = 0; i < 63 - used - 1; i++)
			c1(&pad, 0);
	}
	if (pad.n) {
		gfx_submit(f, &pad);
		assert_true(gfx_idle(f, 1000));
	}
	assert_int_equal(f->wptr & 63, 63);
	struct cmd c = {0};
	set_uconfig(&c, SCRATCH(3), 0xAB);
	struct cmd head = {.d = {c.d[0]}, .n = 1}, tail = {.d = {c.d[1], c.d[2]}, .n = 2};
	gfx_submit(f, &head);
	sleep_ms(10);
	assert_int_equal(rd(f, SCRATCH(3)), 0);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), 63);
	gfx_submit(f, &tail);
	assert_true(wait_reg(f, SCRATCH(3), ~0u, 0xAB, 1000));
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), 2);
}

static void test_wait_reg_mem(void **state)
{
	struct fx *f = *state;
	/* On a register, masked: released by a later MMIO write. */
	struct cmd c = {0};
	wait_reg_mem(&c, false, 0, 3, SCRATCH(1), 0, 5, 0xFF);
	set_uconfig(&c, SCRATCH(2), 1);
	gfx_submit(f, &c);
	sleep_ms(20);
	assert_int_equal(rd(f, SCRATCH(2)), 0);
	assert_int_equal(rd(f, SIM_AMDGPU_GRBM_STATUS) & SIM_AMDGPU_GRBM_STATUS_CP_BUSY, SIM_AMDGPU_GRBM_STATUS_CP_BUSY);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_STAT) & SIM_AMDGPU_CP_STAT_CP_BUSY, SIM_AMDGPU_CP_STAT_CP_BUSY);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), 0);
	wr(f, SCRATCH(1), 0x104); /* masked 0x04: still not equal */
	sleep_ms(10);
	assert_int_equal(rd(f, SCRATCH(2)), 0);
	wr(f, SCRATCH(1), 0x705); /* masked 0x05 */
	assert_true(wait_reg(f, SCRATCH(2), ~0u, 1, 1000));
	assert_true(gfx_idle(f, 1000));

	/* The compare functions, on memory. */
	static const struct {
		unsigned func;
		uint32_t val, ref;
		bool pass;
	} cases[] = {
		{0, 1, 2, true}, {1, 1, 2, true}, {1, 2, 2, false}, {2, 2, 2, true}, {3, 2, 2, true}, {3, 1, 2, false},
		{4, 1, 2, true}, {4, 2, 2, false}, {5, 2, 2, true}, {5, 1, 2, false}, {6, 3, 2, true}, {6, 2, 2, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		*wb32(f, WB_DATA) = cases[i].val;
		wr(f, SCRATCH(4), 0);
		c.n = 0;
		wait_reg_mem(&c, true, 0, cases[i].func, f->wb.va + WB_DATA, 0, cases[i].ref, 0xFFFFFFFF);
		set_uconfig(&c, SCRATCH(4), 1);
		gfx_submit(f, &c);
		if (cases[i].pass) {
			assert_true(gfx_idle(f, 1000));
			assert_int_equal(rd(f, SCRATCH(4)), 1);
		} else {
			sleep_ms(5);
			assert_int_equal(rd(f, SCRATCH(4)), 0);
			wr(f, SIM_AMDGPU_GRBM_SOFT_RESET, SIM_AMDGPU_GRBM_SOFT_RESET_CP); /* abandon the wait */
			wr(f, SIM_AMDGPU_GRBM_SOFT_RESET, 0);
			assert_true(gfx_idle(f, 1000));
			assert_int_equal(rd(f, SCRATCH(4)), 0);
		}
	}

	/* Operation 1, as the kernel's VM flush and HDP flush: write REQ, wait for ACK/DONE. */
	c.n = 0;
	wait_reg_mem(&c, false, 1, 3, SIM_AMDGPU_GFXHUB_VM_INVALIDATE_ENG0_REQ + 4 * 4,
		     SIM_AMDGPU_GFXHUB_VM_INVALIDATE_ENG0_ACK + 4 * 4, 1u << 2 | 0x1Fu << 18, 1u << 2);
	wait_reg_mem(&c, false, 1, 3, SIM_AMDGPU_HDP_FLUSH_REQ, SIM_AMDGPU_HDP_FLUSH_DONE, 1u, 1u);
	set_uconfig(&c, SCRATCH(5), 7);
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(rd(f, SCRATCH(5)), 7);
	assert_int_equal(rd(f, SIM_AMDGPU_GFXHUB_VM_INVALIDATE_ENG0_REQ + 4 * 4), 1u << 2 | 0x1Fu << 18);
	assert_int_equal(rd(f, SIM_AMDGPU_GFXHUB_VM_INVALIDATE_ENG0_ACK + 4 * 4), 1u << 2);

	/* A malformed one (reserved function) stops the ring. */
	c.n = 0;
	wait_reg_mem(&c, true, 0, 7, f->wb.va, 0, 0, 0);
	gfx_submit(f, &c);
	assert_true(wait_reg(f, SIM_AMDGPU_CP_INT_STATUS_RING0, SIM_AMDGPU_CP_INT_OPCODE_ERROR,
			     SIM_AMDGPU_CP_INT_OPCODE_ERROR, 1000));
	assert_int_equal(status(f, SIM_AMDGPU_RING_GFX).error, SIM_AMDGPU_RING_BAD_PACKET);
}

/* The CP polls memory that another engine (SDMA0) writes later. */
static void test_wait_released_by_sdma(void **state)
{
	struct fx *f = *state;
	sdma_init(f, 0, true);
	struct cmd c = {0};
	wait_reg_mem(&c, true, 0, 3, f->wb.va + WB_DATA, 0, 7, 0xFFFFFFFF);
	set_uconfig(&c, SCRATCH(6), 0x77);
	gfx_submit(f, &c);
	sleep_ms(20);
	assert_int_equal(rd(f, SCRATCH(6)), 0);
	struct cmd s = {0};
	sdma_fence(&s, f->wb.va + WB_DATA, 7);
	sdma_submit(f, 0, &s);
	assert_true(wait_reg(f, SCRATCH(6), ~0u, 0x77, 1000));
	assert_true(gfx_idle(f, 1000));
	assert_true(sdma_idle(f, 0, 1000));
}

static void test_cond_exec(void **state)
{
	struct fx *f = *state;
	for (uint32_t flag = 0; flag < 2; flag++) {
		*wb32(f, WB_DATA) = flag;
		wr(f, SCRATCH(3), 0);
		wr(f, SCRATCH(4), 0);
		struct cmd c = {0};
		uint64_t a = f->wb.va + WB_DATA;
		c1(&c, PKT3(0x22, 3));
		c1(&c, (uint32_t)a);
		c1(&c, (uint32_t)(a >> 32));
		c1(&c, 0);
		c1(&c, 3); /* the next packet */
		set_uconfig(&c, SCRATCH(3), 1);
		set_uconfig(&c, SCRATCH(4), 1);
		gfx_submit(f, &c);
		assert_true(gfx_idle(f, 1000));
		assert_int_equal(rd(f, SCRATCH(3)), flag);
		assert_int_equal(rd(f, SCRATCH(4)), 1);

		/* The same inside an IB. */
		struct buf ibb = gart_buf(f, 4096);
		wr(f, SCRATCH(3), 0);
		wr(f, SCRATCH(4), 0);
		uint64_t ib_va = ib_put(&ibb, 0, &c);
		struct cmd r = {0};
		ib(&r, ib_va, c.n, 0, false, false);
		gfx_submit(f, &r);
		assert_true(gfx_idle(f, 1000));
		assert_int_equal(rd(f, SCRATCH(3)), flag);
		assert_int_equal(rd(f, SCRATCH(4)), 1);
	}
	/* A skip running past the end of its IB is malformed. */
	struct buf ibb = gart_buf(f, 4096);
	*wb32(f, WB_DATA) = 0;
	struct cmd c = {0};
	uint64_t a = f->wb.va + WB_DATA;
	c1(&c, PKT3(0x22, 3));
	c1(&c, (uint32_t)a);
	c1(&c, (uint32_t)(a >> 32));
	c1(&c, 0);
	c1(&c, 100);
	struct cmd r = {0};
	ib(&r, ib_put(&ibb, 0, &c), c.n, 0, false, false);
	gfx_submit(f, &r);
	assert_true(wait_reg(f, SIM_AMDGPU_CP_INT_STATUS_RING0, SIM_AMDGPU_CP_INT_OPCODE_ERROR,
			     SIM_AMDGPU_CP_INT_OPCODE_ERROR, 1000));
	assert_int_equal(status(f, SIM_AMDGPU_RING_GFX).error, SIM_AMDGPU_RING_BAD_PACKET);
}

static void test_dma_and_copy_data(void **state)
{
	struct fx *f = *state;
	struct buf a = gart_buf(f, 3 * 4096), b = gart_buf(f, 3 * 4096);
	memset(a.d.cpu, 0xEE, a.d.size);
	memset(b.d.cpu, 0x11, b.d.size);
	const uint32_t bytes = 2 * 4096 + 12;
	struct cmd c = {0};
	/* Fill A[4 ..] with a dword pattern (SRC_SEL DATA), then copy A -> B, both crossing pages. */
	c1(&c, PKT3(0x50, 5));
	c1(&c, 2u << 29 | 1u << 31);
	c1(&c, 0x5A6B7C8D);
	c1(&c, 0);
	c1(&c, (uint32_t)(a.va + 4));
	c1(&c, (uint32_t)((a.va + 4) >> 32));
	c1(&c, bytes);
	c1(&c, PKT3(0x50, 5));
	c1(&c, 0u << 29 | 1u << 31);
	c1(&c, (uint32_t)a.va);
	c1(&c, (uint32_t)(a.va >> 32));
	c1(&c, (uint32_t)b.va);
	c1(&c, (uint32_t)(b.va >> 32));
	c1(&c, bytes + 8);
	/* COPY_DATA: immediate 64-bit -> memory, register -> memory, memory -> register, clock -> memory. */
	c1(&c, PKT3(0x40, 4));
	c1(&c, 5u | 5u << 8 | 1u << 16 | 1u << 20);
	c1(&c, 0x89ABCDEF);
	c1(&c, 0x01234567);
	c1(&c, (uint32_t)(f->wb.va + WB_DATA));
	c1(&c, (uint32_t)((f->wb.va + WB_DATA) >> 32));
	c1(&c, PKT3(0x40, 4));
	c1(&c, 0u | 5u << 8);
	c1(&c, SIM_AMDGPU_GB_ADDR_CONFIG / 4);
	c1(&c, 0);
	c1(&c, (uint32_t)(f->wb.va + WB_DATA + 8));
	c1(&c, (uint32_t)((f->wb.va + WB_DATA + 8) >> 32));
	c1(&c, PKT3(0x40, 4));
	c1(&c, 1u | 0u << 8);
	c1(&c, (uint32_t)(f->wb.va + WB_DATA));
	c1(&c, (uint32_t)((f->wb.va + WB_DATA) >> 32));
	c1(&c, SCRATCH(7) / 4);
	c1(&c, 0);
	c1(&c, PKT3(0x40, 4));
	c1(&c, 9u | 5u << 8 | 1u << 16);
	c1(&c, 0);
	c1(&c, 0);
	c1(&c, (uint32_t)(f->wb.va + WB_DATA + 16));
	c1(&c, (uint32_t)((f->wb.va + WB_DATA + 16) >> 32));
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));

	const uint8_t *pa = a.d.cpu, *pb = b.d.cpu;
	assert_int_equal(pa[0], 0xEE);
	for (uint32_t i = 4; i < 4 + bytes; i += 4) {
		uint32_t v;
		memcpy(&v, pa + i, 4);
		assert_int_equal(v, 0x5A6B7C8D);
	}
	assert_int_equal(pa[4 + bytes], 0xEE);
	assert_memory_equal(pa, pb, bytes + 8);
	assert_int_equal(pb[bytes + 8], 0x11);
	uint64_t v64;
	memcpy(&v64, wb32(f, WB_DATA), 8);
	assert_int_equal(v64, 0x0123456789ABCDEFull);
	assert_int_equal(*wb32(f, WB_DATA + 8), SIM_AMDGPU_GB_ADDR_CONFIG_GOLDEN);
	assert_int_equal(rd(f, SCRATCH(7)), 0x89ABCDEF);
	memcpy(&v64, wb32(f, WB_DATA + 16), 8);
	assert_true(v64 != 0);
	assert_int_equal(status(f, SIM_AMDGPU_RING_GFX).op_count[0x50], 2);
}

static void test_sdma(void **state)
{
	struct fx *f = *state;
	sdma_init(f, 0, true);
	sdma_init(f, 1, false);
	struct buf a = gart_buf(f, 3 * 4096), b = gart_buf(f, 4 * 4096);
	for (size_t i = 0; i < a.d.size; i++)
		((uint8_t *)a.d.cpu)[i] = (uint8_t)(i * 7 + 1);

	for (unsigned i = 0; i < 2; i++) {
		memset(b.d.cpu, 0, b.d.size);
		struct cmd c = {0};
		const uint32_t words[3] = {0x11111111u * (i + 1), 0x22222222, 0x33333333};
		sdma_write(&c, f->wb.va + WB_DATA, words, 3);
		sdma_copy(&c, a.va + 3, b.va + 5, 9000);
		sdma_fill(&c, b.va + 9008, 0xA5A5F00D, 4096 + 8);
		c1(&c, 0u | 2u << 16); /* NOP with 2 more dwords */
		c1(&c, 0);
		c1(&c, 0);
		sdma_fence(&c, f->wb.va + WB_FENCE, 40 + i);
		sdma_trap(&c, 0x42 + i);
		sdma_submit(f, i, &c);

		uint32_t e[8];
		assert_true(ih_next(f, e, 1000));
		assert_int_equal(*wb32(f, WB_FENCE), 40 + i); /* the fence landed before the trap */
		assert_int_equal(e[0] & 0xFF, i ? SIM_AMDGPU_IH_CLIENT_SDMA1 : SIM_AMDGPU_IH_CLIENT_SDMA0);
		assert_int_equal((e[0] >> 8) & 0xFF, SIM_AMDGPU_SRCID_SDMA_TRAP);
		assert_int_equal((e[0] >> 16) & 0xFF, 0);
		assert_int_equal(e[4], 0x42 + i);
		assert_true(sdma_idle(f, i, 1000));

		assert_memory_equal(wb32(f, WB_DATA), words, sizeof(words));
		assert_memory_equal((uint8_t *)b.d.cpu + 5, (uint8_t *)a.d.cpu + 3, 9000);
		assert_int_equal(((uint8_t *)b.d.cpu)[4], 0);
		for (uint32_t k = 0; k < 4096 + 8; k += 4) {
			uint32_t v;
			memcpy(&v, (uint8_t *)b.d.cpu + 9008 + k, 4);
			assert_int_equal(v, 0xA5A5F00D);
		}
		assert_int_equal(((uint8_t *)b.d.cpu)[9008 + 4096 + 8], 0);
		/* RPTR: bytes, 64-bit, in the register and written back. */
		uint64_t rptr;
		memcpy(&rptr, wb32(f, WB_SDMA_RPTR(i)), 8);
		assert_int_equal(rptr, f->sdma_wptr[i]);
		assert_int_equal(rd(f, SDMA(i, SIM_AMDGPU_SDMA0_GFX_RB_RPTR)), (uint32_t)f->sdma_wptr[i]);
		assert_int_equal(rd(f, SDMA(i, SIM_AMDGPU_SDMA0_STATUS_REG)), SIM_AMDGPU_SDMA_STATUS_IDLE_VALUE);
		struct sim_amdgpu_ring_status st = status(f, i ? SIM_AMDGPU_RING_SDMA1 : SIM_AMDGPU_RING_SDMA0);
		assert_int_equal(st.packets, 6);
		assert_int_equal(st.irqs, 1);
		assert_int_equal(st.error, SIM_AMDGPU_RING_OK);
	}

	/* POLL_REGMEM: on memory, and the HDP flush form on registers; then an IB. */
	*wb32(f, WB_DATA + 32) = 0x0F;
	struct buf ibb = gart_buf(f, 4096);
	struct cmd ibc = {0};
	sdma_fence(&ibc, f->wb.va + WB_DATA + 40, 0xAAAA);
	uint64_t ib_va = ib_put(&ibb, 0, &ibc);
	struct cmd c = {0};
	c1(&c, 8u | 1u << 31 | 3u << 28); /* memory, == */
	c1(&c, (uint32_t)(f->wb.va + WB_DATA + 32));
	c1(&c, (uint32_t)((f->wb.va + WB_DATA + 32) >> 32));
	c1(&c, 0x0F);
	c1(&c, 0xFF);
	c1(&c, 0xFFFu << 16 | 10);
	c1(&c, 8u | 1u << 26 | 3u << 28); /* registers, HDP flush */
	c1(&c, SIM_AMDGPU_HDP_FLUSH_DONE);
	c1(&c, SIM_AMDGPU_HDP_FLUSH_REQ);
	c1(&c, 1u << 5);
	c1(&c, 1u << 5);
	c1(&c, 0xFFFu << 16 | 10);
	c1(&c, 4u); /* INDIRECT, VMID 0 */
	c1(&c, (uint32_t)ib_va);
	c1(&c, (uint32_t)(ib_va >> 32));
	c1(&c, ibc.n);
	c1(&c, 0);
	c1(&c, 0);
	sdma_submit(f, 0, &c);
	assert_true(sdma_idle(f, 0, 1000));
	assert_int_equal(*wb32(f, WB_DATA + 40), 0xAAAA);
	assert_int_equal(rd(f, SIM_AMDGPU_HDP_FLUSH_DONE), 1u << 5);

	/* A poll that is not met keeps the engine busy; another engine's write ends it. */
	c.n = 0;
	c1(&c, 8u | 1u << 31 | 3u << 28);
	c1(&c, (uint32_t)(f->wb.va + WB_DATA + 48));
	c1(&c, (uint32_t)((f->wb.va + WB_DATA + 48) >> 32));
	c1(&c, 9);
	c1(&c, 0xFFFFFFFF);
	c1(&c, 0xFFFu << 16 | 10);
	sdma_fence(&c, f->wb.va + WB_DATA + 52, 1);
	sdma_submit(f, 1, &c);
	sleep_ms(20);
	assert_int_equal(rd(f, SDMA(1, SIM_AMDGPU_SDMA0_STATUS_REG)) & SIM_AMDGPU_SDMA_STATUS_IDLE, 0);
	struct cmd g = {0};
	uint32_t nine = 9;
	write_data(&g, f->wb.va + WB_DATA + 48, &nine, 1);
	gfx_submit(f, &g);
	assert_true(sdma_idle(f, 1, 1000));
	assert_int_equal(*wb32(f, WB_DATA + 52), 1);

	/* A poll with a retry count gives up and the ring goes on; SRBM_WRITE (byte enables),
	 * PTEPDE and TIMESTAMP from the ring. */
	wr(f, SCRATCH(0), 0x11223344);
	c.n = 0;
	c1(&c, 8u | 1u << 31 | 3u << 28);
	c1(&c, (uint32_t)(f->wb.va + WB_DATA + 48));
	c1(&c, (uint32_t)((f->wb.va + WB_DATA + 48) >> 32));
	c1(&c, 123);
	c1(&c, 0xFFFFFFFF);
	c1(&c, 3u << 16 | 100);
	c1(&c, 14u | 0x5u << 28); /* SRBM_WRITE, bytes 0 and 2 */
	c1(&c, SCRATCH(0) / 4);
	c1(&c, 0xAABBCCDD);
	c1(&c, 12u); /* PTEPDE: 3 entries */
	c1(&c, (uint32_t)(f->wb.va + WB_DATA + 64));
	c1(&c, (uint32_t)((f->wb.va + WB_DATA + 64) >> 32));
	c1(&c, 0x73);
	c1(&c, 0);
	c1(&c, 0x10000);
	c1(&c, 0);
	c1(&c, 0x1000);
	c1(&c, 0);
	c1(&c, 2);
	c1(&c, 13u | 2u << 8); /* TIMESTAMP GET_GLOBAL */
	c1(&c, (uint32_t)(f->wb.va + WB_DATA + 96));
	c1(&c, (uint32_t)((f->wb.va + WB_DATA + 96) >> 32));
	sdma_submit(f, 1, &c);
	assert_true(sdma_idle(f, 1, 1000));
	assert_int_equal(rd(f, SCRATCH(0)), 0x11BB33DD);
	const uint64_t pte[3] = {0x10073, 0x11073, 0x12073};
	assert_memory_equal(wb32(f, WB_DATA + 64), pte, sizeof(pte));
	uint64_t ts;
	memcpy(&ts, wb32(f, WB_DATA + 96), 8);
	assert_true(ts != 0);
}

/* An IB in VMID 1 writes an address mapped only in VMID 2: a fault, nothing changes. */
static void test_vm_isolation(void **state)
{
	struct fx *f = *state;
	const uint64_t ib_va = 0x400000, data_va = 0x100000;
	struct buf data = gart_buf(f, 4096), ib1 = gart_buf(f, 4096), ib2 = gart_buf(f, 4096);
	memset(data.d.cpu, 0x5C, 4096);
	uint64_t root1 = vm_root(f, 1), root2 = vm_root(f, 2);
	vm_map(f, root1, ib_va, ib1.d.bus_addr);
	vm_map(f, root2, ib_va, ib2.d.bus_addr);
	vm_map(f, root2, data_va, data.d.bus_addr);

	uint32_t v = 0xBAD0BAD0;
	struct cmd c = {0};
	write_data(&c, data_va + 16, &v, 1);
	ib_put(&ib1, 0, &c);
	uint64_t faults = sim_amdgpu_vm_faults(f->m);
	struct cmd r = {0};
	ib(&r, ib_va, c.n, 1, false, false);
	release_mem(&r, f->wb.va + WB_FENCE, 1, 1, 0);
	gfx_submit(f, &r);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(*wb32(f, WB_FENCE), 1); /* the ring went on */
	assert_true(sim_amdgpu_vm_faults(f->m) > faults);
	assert_int_equal(status(f, SIM_AMDGPU_RING_GFX).faults, 1);
	for (unsigned i = 0; i < 4096; i++)
		assert_int_equal(((uint8_t *)data.d.cpu)[i], 0x5C);

	/* The same IB in VMID 2 reaches it. */
	v = 0x600D600D;
	c.n = 0;
	write_data(&c, data_va + 16, &v, 1);
	ib_put(&ib2, 0, &c);
	r.n = 0;
	ib(&r, ib_va, c.n, 2, false, false);
	gfx_submit(f, &r);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(*(uint32_t *)((uint8_t *)data.d.cpu + 16), 0x600D600D);

	/* SDMA: the INDIRECT header's VMID selects the space on the MMHUB. */
	sdma_init(f, 0, true);
	struct cmd s = {0};
	sdma_fence(&s, data_va + 32, 0x5D5D5D5D);
	ib_put(&ib1, 0, &s);
	ib_put(&ib2, 0, &s);
	for (unsigned vmid = 1; vmid <= 2; vmid++) {
		struct cmd rs = {0};
		c1(&rs, 4u | vmid << 16);
		c1(&rs, (uint32_t)ib_va);
		c1(&rs, 0);
		c1(&rs, s.n);
		c1(&rs, 0);
		c1(&rs, 0);
		sdma_submit(f, 0, &rs);
		assert_true(sdma_idle(f, 0, 1000));
		uint32_t got = *(uint32_t *)((uint8_t *)data.d.cpu + 32);
		assert_int_equal(got, vmid == 1 ? 0x5C5C5C5Cu : 0x5D5D5D5Du);
	}
	assert_int_equal(status(f, SIM_AMDGPU_RING_SDMA0).faults, 1);
	/* A user IB's SRBM_WRITE is dropped and reported. */
	s.n = 0;
	c1(&s, 14u | 0xFu << 28);
	c1(&s, SCRATCH(7) / 4);
	c1(&s, 0xE);
	ib_put(&ib2, 0, &s);
	struct cmd rs = {0};
	c1(&rs, 4u | 2u << 16);
	c1(&rs, (uint32_t)ib_va);
	c1(&rs, 0);
	c1(&rs, s.n);
	c1(&rs, 0);
	c1(&rs, 0);
	sdma_submit(f, 0, &rs);
	uint32_t e[8];
	assert_true(ih_next(f, e, 1000));
	assert_int_equal(e[0] & 0xFF, SIM_AMDGPU_IH_CLIENT_SDMA0);
	assert_int_equal((e[0] >> 8) & 0xFF, SIM_AMDGPU_SRCID_SDMA_SRBM_WRITE);
	assert_true(sdma_idle(f, 0, 1000));
	assert_int_equal(rd(f, SCRATCH(7)), 0);

	/* A user IB cannot reach the VM's registers: a privileged register fault stops the ring. */
	c.n = 0;
	set_uconfig(&c, SCRATCH(5), 0x55); /* uconfig is allowed */
	write_reg(&c, SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_BASE_LO32 + 8, 0);
	set_uconfig(&c, SCRATCH(6), 0x66);
	ib_put(&ib1, 0, &c);
	r.n = 0;
	ib(&r, ib_va, c.n, 1, false, false);
	gfx_submit(f, &r);
	assert_true(ih_next(f, e, 1000));
	assert_int_equal((e[0] >> 8) & 0xFF, SIM_AMDGPU_SRCID_CP_PRIV_REG_FAULT);
	assert_int_equal(rd(f, SCRATCH(5)), 0x55);
	assert_int_equal(rd(f, SCRATCH(6)), 0);
	assert_int_not_equal(rd(f, SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_BASE_LO32 + 8), 0);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_INT_STATUS_RING0) & SIM_AMDGPU_CP_INT_PRIV_REG, SIM_AMDGPU_CP_INT_PRIV_REG);
	struct sim_amdgpu_ring_status st = status(f, SIM_AMDGPU_RING_GFX);
	assert_int_equal(st.error, SIM_AMDGPU_RING_PRIV_FAULT);
	assert_int_equal(st.error_addr, ib_va + 12);
}

static void test_ib_nesting(void **state)
{
	struct fx *f = *state;
	struct buf ibb = gart_buf(f, 4 * 4096); /* IBs at dword 0 .. 2047 */
	/* IB2 at 512, IB1b at 768; IB1 at 0 calls IB2, writes, then chains to IB1b. */
	struct cmd k2 = {0}, k1b = {0}, k1 = {0};
	set_uconfig(&k2, SCRATCH(1), 2);
	uint64_t ib2 = ib_put(&ibb, 512, &k2);
	set_uconfig(&k1b, SCRATCH(3), 3);
	uint64_t ib1b = ib_put(&ibb, 768, &k1b);
	ib(&k1, ib2, k2.n, 0, false, false);
	set_uconfig(&k1, SCRATCH(2), 1);
	ib(&k1, ib1b, k1b.n, 0, true, false);
	set_uconfig(&k1, SCRATCH(4), 0xBAD); /* after the chain: never reached */
	uint64_t ib1 = ib_put(&ibb, 0, &k1);
	struct cmd r = {0};
	ib(&r, ib1, k1.n, 0, false, false);
	set_uconfig(&r, SCRATCH(5), 5);
	gfx_submit(f, &r);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(rd(f, SCRATCH(1)), 2);
	assert_int_equal(rd(f, SCRATCH(2)), 1);
	assert_int_equal(rd(f, SCRATCH(3)), 3);
	assert_int_equal(rd(f, SCRATCH(4)), 0);
	assert_int_equal(rd(f, SCRATCH(5)), 5);

	/* CE IB before the DE IB: the DE copies what the CE wrote. */
	struct cmd ce = {0}, de = {0};
	uint32_t one = 1;
	write_data(&ce, f->wb.va + WB_DATA, &one, 1);
	uint64_t ce_va = ib_put(&ibb, 1024, &ce);
	c1(&de, PKT3(0x40, 4));
	c1(&de, 1u | 0u << 8);
	c1(&de, (uint32_t)(f->wb.va + WB_DATA));
	c1(&de, (uint32_t)((f->wb.va + WB_DATA) >> 32));
	c1(&de, SCRATCH(6) / 4);
	c1(&de, 0);
	uint64_t de_va = ib_put(&ibb, 1280, &de);
	r.n = 0;
	ib(&r, ce_va, ce.n, 0, false, true);
	ib(&r, de_va, de.n, 0, false, false);
	gfx_submit(f, &r);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(rd(f, SCRATCH(6)), 1);
	/* With the CE halted its IBs do not run. */
	*wb32(f, WB_DATA) = 0;
	wr(f, SIM_AMDGPU_CP_ME_CNTL, SIM_AMDGPU_CP_ME_CNTL_CE_HALT);
	r.n = 0;
	ib(&r, ce_va, ce.n, 0, false, true);
	gfx_submit(f, &r);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(*wb32(f, WB_DATA), 0);
	wr(f, SIM_AMDGPU_CP_ME_CNTL, 0);

	/* IB3 does not exist. */
	struct cmd c3 = {0};
	ib(&c3, ib2, k2.n, 0, false, false);
	uint64_t ib2b = ib_put(&ibb, 1536, &c3);
	k1.n = 0;
	ib(&k1, ib2b, c3.n, 0, false, false);
	uint64_t ib1c = ib_put(&ibb, 1792, &k1);
	r.n = 0;
	ib(&r, ib1c, k1.n, 0, false, false);
	gfx_submit(f, &r);
	assert_true(wait_reg(f, SIM_AMDGPU_CP_INT_STATUS_RING0, SIM_AMDGPU_CP_INT_OPCODE_ERROR,
			     SIM_AMDGPU_CP_INT_OPCODE_ERROR, 1000));
	struct sim_amdgpu_ring_status st = status(f, SIM_AMDGPU_RING_GFX);
	assert_int_equal(st.error, SIM_AMDGPU_RING_BAD_PACKET);
	assert_int_equal(st.error_addr, ib2b);
}

static void test_hang(void **state)
{
	struct fx *f = *state;
	assert_int_equal(sim_amdgpu_ring_set_fault(f->m, SIM_AMDGPU_RING_GFX, SIM_AMDGPU_RING_HANG, 0), 0);
	struct cmd c = {0};
	set_uconfig(&c, SCRATCH(0), 1);
	release_mem(&c, f->wb.va + WB_FENCE, 9, 1, 2);
	gfx_submit(f, &c);
	sleep_ms(30);
	assert_int_equal(rd(f, SCRATCH(0)), 0);
	assert_int_equal(*wb32(f, WB_FENCE), 0);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), 0);
	assert_int_equal(rd(f, SIM_AMDGPU_GRBM_STATUS) & SIM_AMDGPU_GRBM_STATUS_GUI_ACTIVE,
			 SIM_AMDGPU_GRBM_STATUS_GUI_ACTIVE);
	assert_true(status(f, SIM_AMDGPU_RING_GFX).hung);
	expect_no_ih(f, 5);
	/* The driver's recovery: soft reset drops the hung work; the next job runs. */
	wr(f, SIM_AMDGPU_GRBM_SOFT_RESET, SIM_AMDGPU_GRBM_SOFT_RESET_CP | SIM_AMDGPU_GRBM_SOFT_RESET_GFX);
	wr(f, SIM_AMDGPU_GRBM_SOFT_RESET, 0);
	assert_true(gfx_idle(f, 1000));
	assert_false(status(f, SIM_AMDGPU_RING_GFX).hung);
	c.n = 0;
	set_uconfig(&c, SCRATCH(0), 2);
	gfx_submit(f, &c);
	assert_true(wait_reg(f, SCRATCH(0), ~0u, 2, 1000));
	assert_true(gfx_idle(f, 1000));

	/* SDMA: hangs, busy in STATUS_REG; disabling the ring and draining it recovers. */
	sdma_init(f, 0, true);
	assert_int_equal(sim_amdgpu_ring_set_fault(f->m, SIM_AMDGPU_RING_SDMA0, SIM_AMDGPU_RING_HANG, 0), 0);
	struct cmd s = {0};
	sdma_fence(&s, f->wb.va + WB_FENCE, 77);
	sdma_submit(f, 0, &s);
	sleep_ms(20);
	assert_int_equal(*wb32(f, WB_FENCE), 0);
	assert_int_equal(rd(f, SIM_AMDGPU_SDMA0_STATUS_REG) & SIM_AMDGPU_SDMA_STATUS_IDLE, 0);
	uint32_t cntl = rd(f, SIM_AMDGPU_SDMA0_GFX_RB_CNTL);
	wr(f, SIM_AMDGPU_SDMA0_GFX_RB_CNTL, cntl & ~SIM_AMDGPU_SDMA_RB_ENABLE);
	wr(f, SIM_AMDGPU_SDMA0_GFX_RB_RPTR, (uint32_t)f->sdma_wptr[0]);
	wr(f, SIM_AMDGPU_SDMA0_GFX_RB_CNTL, cntl);
	assert_true(sdma_idle(f, 0, 1000));
	s.n = 0;
	sdma_fence(&s, f->wb.va + WB_FENCE, 78);
	sdma_submit(f, 0, &s);
	assert_true(sdma_idle(f, 0, 1000));
	assert_int_equal(*wb32(f, WB_FENCE), 78);
}

static void test_irq_switches(void **state)
{
	struct fx *f = *state;
	/* Dropped: the fence is written, no entry ever comes. */
	assert_int_equal(sim_amdgpu_ring_set_fault(f->m, SIM_AMDGPU_RING_GFX, SIM_AMDGPU_RING_DROP_IRQ, 0), 0);
	struct cmd c = {0};
	release_mem(&c, f->wb.va + WB_FENCE, 5, 1, 2);
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(*wb32(f, WB_FENCE), 5);
	expect_no_ih(f, 30);
	assert_int_equal(status(f, SIM_AMDGPU_RING_GFX).irqs_dropped, 1);

	/* Delayed: the entry arrives, late. */
	assert_int_equal(sim_amdgpu_ring_set_fault(f->m, SIM_AMDGPU_RING_GFX, SIM_AMDGPU_RING_DELAY_IRQ, 60000), 0);
	c.n = 0;
	release_mem(&c, f->wb.va + WB_FENCE, 6, 1, 2);
	uint64_t t0 = mono_ns();
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(*wb32(f, WB_FENCE), 6);
	uint32_t e[8];
	assert_true(ih_next(f, e, 2000));
	assert_true(mono_ns() - t0 >= 50000000ull);
	assert_int_equal((e[0] >> 8) & 0xFF, SIM_AMDGPU_SRCID_CP_EOP);
	assert_int_equal(status(f, SIM_AMDGPU_RING_GFX).irqs_delayed, 1);
	assert_int_equal(sim_amdgpu_ring_set_fault(f->m, SIM_AMDGPU_RING_GFX, 0, 0), 0);

	/* SDMA trap dropped. */
	sdma_init(f, 1, true);
	assert_int_equal(sim_amdgpu_ring_set_fault(f->m, SIM_AMDGPU_RING_SDMA1, SIM_AMDGPU_RING_DROP_IRQ, 0), 0);
	struct cmd s = {0};
	sdma_fence(&s, f->wb.va + WB_FENCE, 7);
	sdma_trap(&s, 0);
	sdma_submit(f, 1, &s);
	assert_true(sdma_idle(f, 1, 1000));
	assert_int_equal(*wb32(f, WB_FENCE), 7);
	expect_no_ih(f, 20);
	assert_int_equal(status(f, SIM_AMDGPU_RING_SDMA1).irqs_dropped, 1);
	assert_int_equal(sim_amdgpu_ring_set_fault(f->m, SIM_AMDGPU_NUM_RINGS, 0, 0), -EINVAL);
}

static void expect_stopped(struct fx *f, uint32_t header, enum sim_amdgpu_ring_error err, uint32_t rptr)
{
	assert_true(wait_reg(f, SIM_AMDGPU_CP_STAT, SIM_AMDGPU_CP_STAT_CP_BUSY, SIM_AMDGPU_CP_STAT_CP_BUSY, 1000));
	uint64_t end = mono_ns() + 1000000000ull;
	while (status(f, SIM_AMDGPU_RING_GFX).error == SIM_AMDGPU_RING_OK && mono_ns() < end)
		sleep_ms(1);
	struct sim_amdgpu_ring_status st = status(f, SIM_AMDGPU_RING_GFX);
	assert_int_equal(st.error, err);
	assert_int_equal(st.error_header, header);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_ME_HEADER_DUMP), header);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), rptr);
	assert_int_equal(rd(f, SIM_AMDGPU_GRBM_STATUS) & (SIM_AMDGPU_GRBM_STATUS_GUI_ACTIVE | SIM_AMDGPU_GRBM_STATUS_CP_BUSY),
			 SIM_AMDGPU_GRBM_STATUS_GUI_ACTIVE | SIM_AMDGPU_GRBM_STATUS_CP_BUSY);
	sleep_ms(10);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), rptr); /* stopped, not spinning on */
}

static void soft_reset(struct fx *f)
{
	wr(f, SIM_AMDGPU_GRBM_SOFT_RESET, SIM_AMDGPU_GRBM_SOFT_RESET_CP);
	wr(f, SIM_AMDGPU_GRBM_SOFT_RESET, 0);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(rd(f, SIM_AMDGPU_CP_INT_STATUS_RING0), 0);
	assert_int_equal(status(f, SIM_AMDGPU_RING_GFX).error, SIM_AMDGPU_RING_OK);
}

static void test_malformed(void **state)
{
	struct fx *f = *state;
	/* An unknown opcode in the ring. */
	struct cmd c = {0};
	set_uconfig(&c, SCRATCH(0), 1);
	c1(&c, PKT3(0xEE, 1));
	c1(&c, 0);
	c1(&c, 0);
	set_uconfig(&c, SCRATCH(1), 1);
	gfx_submit(f, &c);
	expect_stopped(f, PKT3(0xEE, 1), SIM_AMDGPU_RING_BAD_OPCODE, 3);
	assert_int_equal(rd(f, SCRATCH(0)), 1);
	assert_int_equal(rd(f, SCRATCH(1)), 0);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_INT_STATUS_RING0) & SIM_AMDGPU_CP_INT_OPCODE_ERROR,
			 SIM_AMDGPU_CP_INT_OPCODE_ERROR);
	uint32_t e[8];
	assert_true(ih_next(f, e, 1000));
	assert_int_equal(e[0] & 0xFF, SIM_AMDGPU_IH_CLIENT_GRBM_CP);
	assert_int_equal((e[0] >> 8) & 0xFF, SIM_AMDGPU_SRCID_CP_BAD_OPCODE);
	soft_reset(f);
	assert_int_equal(rd(f, SCRATCH(1)), 0); /* what was behind it was dropped */

	/* A type-0 packet. */
	c.n = 0;
	c1(&c, 0x00001234u);
	gfx_submit(f, &c);
	expect_stopped(f, 0x00001234u, SIM_AMDGPU_RING_BAD_OPCODE, (f->wptr - 1) & (f->ring_dw - 1));
	assert_true(ih_next(f, e, 1000));
	soft_reset(f);

	/* WRITE_DATA with too short a count, inside an IB. */
	struct buf ibb = gart_buf(f, 4096);
	struct cmd ic = {0};
	c1(&ic, PKT3(0x37, 1));
	c1(&ic, 5u << 8);
	c1(&ic, 0);
	uint64_t ib_va = ib_put(&ibb, 0, &ic);
	c.n = 0;
	ib(&c, ib_va, ic.n, 0, false, false);
	uint32_t at = f->wptr & (f->ring_dw - 1);
	gfx_submit(f, &c);
	expect_stopped(f, PKT3(0x37, 1), SIM_AMDGPU_RING_BAD_PACKET, at);
	assert_int_equal(status(f, SIM_AMDGPU_RING_GFX).error_addr, ib_va);
	assert_true(ih_next(f, e, 1000));
	soft_reset(f);

	/* A packet running past the end of its IB (the IB says 3 dwords, the packet needs 5). */
	uint32_t v = 1;
	ic.n = 0;
	write_data(&ic, f->wb.va + WB_DATA, &v, 1);
	ib_va = ib_put(&ibb, 64, &ic);
	c.n = 0;
	ib(&c, ib_va, 3, 0, false, false);
	at = f->wptr & (f->ring_dw - 1);
	gfx_submit(f, &c);
	expect_stopped(f, ic.d[0], SIM_AMDGPU_RING_BAD_PACKET, at);
	assert_true(ih_next(f, e, 1000));
	soft_reset(f);

	/* An IB nobody mapped: the fetch faults. No OPCODE_ERROR entry for that. */
	c.n = 0;
	ib(&c, 0x7000000000ull, 16, 0, false, false);
	at = f->wptr & (f->ring_dw - 1);
	gfx_submit(f, &c);
	expect_stopped(f, 0, SIM_AMDGPU_RING_FETCH_FAULT, at);
	expect_no_ih(f, 5);
	soft_reset(f);

	/* With OPCODE_ERROR_INT off: stopped and flagged in CP_INT_STATUS_RING0, no entry. */
	wr(f, SIM_AMDGPU_CP_INT_CNTL_RING0, SIM_AMDGPU_CP_INT_TIME_STAMP);
	c.n = 0;
	c1(&c, PKT3(0xEF, 0));
	c1(&c, 0);
	at = f->wptr & (f->ring_dw - 1);
	gfx_submit(f, &c);
	expect_stopped(f, PKT3(0xEF, 0), SIM_AMDGPU_RING_BAD_OPCODE, at);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_INT_STATUS_RING0) & SIM_AMDGPU_CP_INT_OPCODE_ERROR,
			 SIM_AMDGPU_CP_INT_OPCODE_ERROR);
	expect_no_ih(f, 5);
	soft_reset(f);
	c.n = 0;
	set_uconfig(&c, SCRATCH(2), 0x42);
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(rd(f, SCRATCH(2)), 0x42);

	/* SDMA: an unknown op stops its ring, busy. */
	sdma_init(f, 0, true);
	struct cmd s = {0};
	c1(&s, 0x3Fu);
	sdma_fence(&s, f->wb.va + WB_FENCE, 3);
	sdma_submit(f, 0, &s);
	uint64_t end = mono_ns() + 1000000000ull;
	while (status(f, SIM_AMDGPU_RING_SDMA0).error == SIM_AMDGPU_RING_OK && mono_ns() < end)
		sleep_ms(1);
	struct sim_amdgpu_ring_status st = status(f, SIM_AMDGPU_RING_SDMA0);
	assert_int_equal(st.error, SIM_AMDGPU_RING_BAD_OPCODE);
	assert_int_equal(st.error_header, 0x3F);
	assert_int_equal(st.error_addr, f->sdma_ring[0].va);
	assert_int_equal(rd(f, SIM_AMDGPU_SDMA0_STATUS_REG) & SIM_AMDGPU_SDMA_STATUS_IDLE, 0);
	assert_int_equal(rd(f, SIM_AMDGPU_SDMA0_GFX_RB_RPTR), 0);
	assert_int_equal(*wb32(f, WB_FENCE), 0);
}

static void test_fail_page(void **state)
{
	struct fx *f = *state;
	struct buf b = gart_buf(f, 2 * 4096);
	assert_int_equal(sim_amdgpu_vm_fail_page(f->m, 0, b.va + 4096 + 100), 0);
	uint32_t v[2] = {0x11, 0x22};
	struct cmd c = {0};
	write_data(&c, b.va + 8, &v[0], 1);
	write_data(&c, b.va + 4096 + 8, &v[1], 1);
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(*(uint32_t *)((uint8_t *)b.d.cpu + 8), 0x11);
	assert_int_equal(*(uint32_t *)((uint8_t *)b.d.cpu + 4096 + 8), 0);
	assert_int_equal(status(f, SIM_AMDGPU_RING_GFX).faults, 1);
	sim_amdgpu_vm_fail_page_clear(f->m);
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(*(uint32_t *)((uint8_t *)b.d.cpu + 4096 + 8), 0x22);
	for (unsigned i = 0; i < SIM_AMDGPU_VM_FAIL_PAGES; i++)
		assert_int_equal(sim_amdgpu_vm_fail_page(f->m, 0, 0x1000ull * i), 0);
	assert_int_equal(sim_amdgpu_vm_fail_page(f->m, 0, 0x100000), -ENOSPC);
	assert_int_equal(sim_amdgpu_vm_fail_page(f->m, 16, 0), -EINVAL);
	sim_amdgpu_vm_fail_page_clear(f->m);
}

/* State, draw and dispatch packets are parsed, counted and skipped; SET_*_REG values are stored. */
static void test_safe_noops(void **state)
{
	struct fx *f = *state;
	struct cmd c = {0};
	c1(&c, PKT3(0x4A, 0)); /* PREAMBLE_CNTL */
	c1(&c, 0x10000000);
	c1(&c, PKT3(0x28, 1)); /* CONTEXT_CONTROL */
	c1(&c, 0x80000000);
	c1(&c, 0x80000000);
	c1(&c, PKT3(0x12, 0)); /* CLEAR_STATE */
	c1(&c, 0);
	c1(&c, PKT3(0x69, 3)); /* SET_CONTEXT_REG x3 at 0x28000 + 0x200 * 4 */
	c1(&c, 0x200);
	c1(&c, 0xA);
	c1(&c, 0xB);
	c1(&c, 0xC);
	c1(&c, PKT3(0x76, 1)); /* SET_SH_REG */
	c1(&c, 0x48);
	c1(&c, 0x5555);
	c1(&c, PKT3(0x51, 2)); /* CONTEXT_REG_RMW */
	c1(&c, 0x201);
	c1(&c, 0xF0);
	c1(&c, 0x3C);
	c1(&c, PKT3(0x2D, 1)); /* DRAW_INDEX_AUTO */
	c1(&c, 3);
	c1(&c, 2);
	c1(&c, PKT3(0x15, 3)); /* DISPATCH_DIRECT */
	c1(&c, 1);
	c1(&c, 1);
	c1(&c, 1);
	c1(&c, 1);
	c1(&c, PKT3(0x46, 0)); /* EVENT_WRITE CS_PARTIAL_FLUSH */
	c1(&c, 7u | 4u << 8);
	c1(&c, PKT3(0x58, 5)); /* ACQUIRE_MEM */
	for (int i = 0; i < 6; i++)
		c1(&c, 0);
	c1(&c, 0x80000000u);
	c1(&c, 0xFFFF1000u);
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(rd(f, 0x28000 + 0x200 * 4), 0xA);
	assert_int_equal(rd(f, 0x28000 + 0x201 * 4), 0x3B); /* 0xB with bits 7:4 from 0x3C */
	assert_int_equal(rd(f, 0x28000 + 0x202 * 4), 0xC);
	assert_int_equal(rd(f, (0x2C00 + 0x48) * 4), 0x5555);
	struct sim_amdgpu_ring_status st = status(f, SIM_AMDGPU_RING_GFX);
	assert_int_equal(st.packets, 12);
	assert_int_equal(st.skipped, 7);
	assert_int_equal(st.last_skipped, PKT3(0x58, 5));
	assert_int_equal(st.op_count[0x2D], 1);
	assert_int_equal(st.op_count[0x15], 1);
	assert_int_equal(st.op_count[0x10], 1);
	assert_int_equal(st.error, SIM_AMDGPU_RING_OK);
}

/* IH entries the driver has not consumed yet, as its interrupt handler would take them. */
static void ih_drain(struct fx *f, unsigned *eop, unsigned *trap)
{
	uint32_t e[8];
	while (ih_wptr(f) != f->ih_rptr && ih_next(f, e, 0)) {
		if ((e[0] & 0xFF) == SIM_AMDGPU_IH_CLIENT_GRBM_CP && ((e[0] >> 8) & 0xFF) == SIM_AMDGPU_SRCID_CP_EOP)
			(*eop)++;
		else if ((e[0] & 0xFF) == SIM_AMDGPU_IH_CLIENT_SDMA0 && ((e[0] >> 8) & 0xFF) == SIM_AMDGPU_SRCID_SDMA_TRAP)
			(*trap)++;
	}
}

/* Many submissions on two engines while the driver side polls: no lost doorbell or entry. */
static void test_stream(void **state)
{
	struct fx *f = *state;
	sdma_init(f, 0, true);
	unsigned eop = 0, trap = 0;
	for (uint32_t i = 1; i <= 300; i++) {
		struct cmd c = {0};
		set_uconfig(&c, SCRATCH(0), i);
		release_mem(&c, f->wb.va + WB_FENCE, i, 1, 2);
		gfx_submit(f, &c);
		struct cmd s = {0};
		sdma_fence(&s, f->wb.va + WB_FENCE + 4, i);
		sdma_trap(&s, i);
		sdma_submit(f, 0, &s);
		ih_drain(f, &eop, &trap);
		if (i % 16 == 0) {
			assert_true(gfx_idle(f, 1000));
			assert_true(sdma_idle(f, 0, 1000));
			assert_int_equal(*wb32(f, WB_FENCE), i);
			assert_int_equal(*wb32(f, WB_FENCE + 4), i);
		}
	}
	assert_true(gfx_idle(f, 1000));
	assert_true(sdma_idle(f, 0, 1000));
	assert_int_equal(rd(f, SCRATCH(0)), 300);
	ih_drain(f, &eop, &trap);
	assert_int_equal(eop, 300);
	assert_int_equal(trap, 300);
	assert_int_equal(rd(f, SIM_AMDGPU_IH_RB_WPTR) & SIM_AMDGPU_IH_RB_WPTR_RB_OVERFLOW, 0);
	assert_int_equal(status(f, SIM_AMDGPU_RING_GFX).irqs, 300);
	assert_int_equal(status(f, SIM_AMDGPU_RING_SDMA0).irqs, 300);
}

/* ---- ring reset, VM flushes through the rings, VM fault vectors ---- */

static void sdma_poll_mem(struct cmd *c, uint64_t va, uint32_t ref, uint32_t mask)
{
	c1(c, 8u | 3u << 28 | 1u << 31); /* POLL_REGMEM, ==, memory */
	c1(c, (uint32_t)va);
	c1(c, (uint32_t)(va >> 32));
	c1(c, ref);
	c1(c, mask);
	c1(c, 0xFFFu << 16 | 10); /* retry forever */
}

static void sdma_indirect(struct cmd *c, unsigned vmid, uint64_t va, uint32_t ndw)
{
	c1(c, 4u | vmid << 16);
	c1(c, (uint32_t)va);
	c1(c, (uint32_t)(va >> 32));
	c1(c, ndw);
	c1(c, 0);
	c1(c, 0);
}

/*
 * A WAIT_REG_MEM that never matches holds the ring busy; halting the CP
 * abandons it (nothing after it runs even when its memory later matches),
 * and after the pointers are reset the ring runs new work.
 */
static void test_halt_abandons_wait(void **state)
{
	struct fx *f = *state;
	*wb32(f, WB_DATA) = 0;
	struct cmd c = {0};
	wait_reg_mem(&c, true, 0, 3, f->wb.va + WB_DATA, 0, 1, ~0u);
	set_uconfig(&c, SCRATCH(0), 5);
	release_mem(&c, f->wb.va + WB_FENCE, 3, 1, 2);
	gfx_submit(f, &c);
	/* The ME is on the wait (it set the header dump and started waiting in one step). */
	assert_true(wait_reg(f, SIM_AMDGPU_CP_ME_HEADER_DUMP, ~0u, PKT3(0x3C, 5), 1000));
	sleep_ms(10);
	assert_int_equal(rd(f, SIM_AMDGPU_CP_RB0_RPTR), 0); /* the wait has not retired */
	assert_int_equal(rd(f, SIM_AMDGPU_GRBM_STATUS) & SIM_AMDGPU_GRBM_STATUS_GUI_ACTIVE, SIM_AMDGPU_GRBM_STATUS_GUI_ACTIVE);
	assert_int_equal(rd(f, SCRATCH(0)), 0);

	wr(f, SIM_AMDGPU_CP_ME_CNTL, SIM_AMDGPU_CP_ME_CNTL_RESET);
	assert_int_equal(rd(f, SIM_AMDGPU_GRBM_STATUS), SIM_AMDGPU_GRBM_STATUS_IDLE);
	*wb32(f, WB_DATA) = 1; /* would have released it */
	sleep_ms(20);
	assert_int_equal(rd(f, SCRATCH(0)), 0);
	assert_int_equal(*wb32(f, WB_FENCE), 0);
	expect_no_ih(f, 1);

	/* The driver's restart: both pointers to 0, then unhalt. */
	uint32_t cntl = rd(f, SIM_AMDGPU_CP_RB0_CNTL);
	wr(f, SIM_AMDGPU_CP_RB_RPTR_WR, 0);
	wr(f, SIM_AMDGPU_CP_RB0_CNTL, cntl | SIM_AMDGPU_CP_RB_CNTL_RB_RPTR_WR_ENA);
	wr(f, SIM_AMDGPU_CP_RB0_WPTR, 0);
	wr(f, SIM_AMDGPU_CP_RB0_WPTR_HI, 0);
	wr(f, SIM_AMDGPU_CP_RB0_CNTL, cntl);
	f->wptr = 0;
	wr(f, SIM_AMDGPU_CP_ME_CNTL, 0);
	sleep_ms(10);
	assert_int_equal(rd(f, SCRATCH(0)), 0); /* the old work is gone for good */
	c.n = 0;
	set_uconfig(&c, SCRATCH(1), 7);
	release_mem(&c, f->wb.va + WB_FENCE, 4, 1, 2);
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(rd(f, SCRATCH(1)), 7);
	assert_int_equal(rd(f, SCRATCH(0)), 0);
	assert_int_equal(*wb32(f, WB_FENCE), 4);
	uint32_t e[8];
	assert_true(ih_next(f, e, 1000));
	assert_int_equal(e[0], SIM_AMDGPU_IH_CLIENT_GRBM_CP | SIM_AMDGPU_SRCID_CP_EOP << 8);
	expect_no_ih(f, 5);

	/* SDMA: a POLL_REGMEM with no retry limit; halting the F32 abandons it. */
	sdma_init(f, 0, true);
	struct cmd s = {0};
	sdma_poll_mem(&s, f->wb.va + WB_DATA + 4, 0xAB, ~0u);
	sdma_fence(&s, f->wb.va + WB_FENCE + 4, 9);
	sdma_trap(&s, 0);
	sdma_submit(f, 0, &s);
	uint64_t end = mono_ns() + 1000000000ull;
	while (status(f, SIM_AMDGPU_RING_SDMA0).op_count[8] == 0 && mono_ns() < end)
		sleep_ms(1);
	assert_int_equal(status(f, SIM_AMDGPU_RING_SDMA0).op_count[8], 1); /* polling */
	sleep_ms(10);
	assert_int_equal(rd(f, SDMA(0, SIM_AMDGPU_SDMA0_STATUS_REG)) & SIM_AMDGPU_SDMA_STATUS_IDLE, 0);
	assert_int_equal(rd(f, SDMA(0, SIM_AMDGPU_SDMA0_GFX_RB_RPTR)), 0);
	wr(f, SDMA(0, SIM_AMDGPU_SDMA0_F32_CNTL), SIM_AMDGPU_SDMA_F32_HALT);
	uint32_t scntl = rd(f, SDMA(0, SIM_AMDGPU_SDMA0_GFX_RB_CNTL));
	wr(f, SDMA(0, SIM_AMDGPU_SDMA0_GFX_RB_CNTL), scntl & ~SIM_AMDGPU_SDMA_RB_ENABLE);
	*wb32(f, WB_DATA + 4) = 0xAB;
	sleep_ms(10);
	assert_int_equal(*wb32(f, WB_FENCE + 4), 0);
	wr(f, SDMA(0, SIM_AMDGPU_SDMA0_GFX_RB_RPTR), 0);
	wr(f, SDMA(0, SIM_AMDGPU_SDMA0_GFX_RB_RPTR_HI), 0);
	wr(f, SDMA(0, SIM_AMDGPU_SDMA0_GFX_RB_WPTR), 0);
	wr(f, SDMA(0, SIM_AMDGPU_SDMA0_GFX_RB_WPTR_HI), 0);
	f->sdma_wptr[0] = 0;
	wr(f, SDMA(0, SIM_AMDGPU_SDMA0_GFX_RB_CNTL), scntl);
	wr(f, SDMA(0, SIM_AMDGPU_SDMA0_F32_CNTL), 0);
	s.n = 0;
	sdma_fence(&s, f->wb.va + WB_FENCE + 4, 10);
	sdma_trap(&s, 0);
	sdma_submit(f, 0, &s);
	assert_true(sdma_idle(f, 0, 1000));
	assert_int_equal(*wb32(f, WB_FENCE + 4), 10);
	assert_true(ih_next(f, e, 1000));
	assert_int_equal(e[0], SIM_AMDGPU_IH_CLIENT_SDMA0 | SIM_AMDGPU_SRCID_SDMA_TRAP << 8);
	expect_no_ih(f, 5);
}

/* Registers of a user VMID as the rings program them. */
#define CTX_CNTL(h, vmid) (hubs[h].cntl + 4u * (vmid))
#define CTX_BASE(h, vmid) (hubs[h].base + 8u * (vmid))
#define INV_REQ(vmid) ((1u << (vmid)) | 0x1Fu << 18)

/*
 * The kernel's VM flush from each ring: the GFX ring writes VM_CONTEXT3's
 * control and root through WRITE_DATA and waits on the GFXHUB invalidation
 * engine's ACK with WAIT_REG_MEM (write REQ, wait ACK); SDMA0 does the same
 * for VMID 4 on the MMHUB with SRBM_WRITE and POLL_REGMEM. An IB in the VMID
 * then runs through the new tables.
 */
static void test_vm_flush_through_rings(void **state)
{
	struct fx *f = *state;
	const uint64_t ib_va = 0x200000, data_va = 0x7000000;
	struct buf data = gart_buf(f, 4096), ibb = gart_buf(f, 4096);
	uint64_t root;
	pt_new(f, &root);
	vm_map(f, root, ib_va, ibb.d.bus_addr);
	vm_map(f, root, data_va, data.d.bus_addr);
	const uint64_t pde = root | SIM_AMDGPU_PTE_VALID | SIM_AMDGPU_PTE_SYSTEM;
	const uint32_t cntl = 1u | 3u << 1; /* enabled, depth 3 */
	for (unsigned h = 0; h < 2; h++) {
		for (unsigned vmid = 3; vmid <= 4; vmid++) { /* the ranges, as at load */
			wr(f, hubs[h].start + 8 * vmid, 0);
			wr(f, hubs[h].start + 8 * vmid + 4, 0);
			wr(f, hubs[h].end + 8 * vmid, 0xFFFFFFFFu);
			wr(f, hubs[h].end + 8 * vmid + 4, 0xF);
		}
	}

	struct cmd c = {0};
	write_reg(&c, CTX_CNTL(1, 3), cntl);
	c1(&c, PKT3(0x37, 4));
	c1(&c, 1u << 30 | 1u << 20); /* PFP, registers, WR_CONFIRM */
	c1(&c, CTX_BASE(1, 3) / 4);
	c1(&c, 0);
	c1(&c, (uint32_t)pde);
	c1(&c, (uint32_t)(pde >> 32));
	wait_reg_mem(&c, false, 1, 3, hubs[1].req, hubs[1].ack, INV_REQ(3), 1u << 3);
	uint32_t v = 0x33333333;
	struct cmd u = {0};
	write_data(&u, data_va, &v, 1);
	ib_put(&ibb, 0, &u);
	ib(&c, ib_va, u.n, 3, false, false);
	release_mem(&c, f->wb.va + WB_FENCE, 1, 1, 0);
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	assert_int_equal(*wb32(f, WB_FENCE), 1);
	assert_int_equal(rd(f, CTX_CNTL(1, 3)), cntl);
	assert_int_equal(rd(f, CTX_BASE(1, 3)), (uint32_t)pde);
	assert_int_equal(rd(f, CTX_BASE(1, 3) + 4), (uint32_t)(pde >> 32));
	assert_int_equal(rd(f, hubs[1].req), INV_REQ(3));
	assert_int_equal(rd(f, hubs[1].ack), 1u << 3);
	assert_int_equal(*(uint32_t *)data.d.cpu, 0x33333333u);
	assert_int_equal(rd(f, CTX_CNTL(0, 3)), 0); /* the other hub untouched */
	assert_int_equal(status(f, SIM_AMDGPU_RING_GFX).faults, 0);

	sdma_init(f, 0, true);
	struct cmd s = {0};
	const uint32_t regs[3][2] = {{CTX_CNTL(0, 4), cntl}, {CTX_BASE(0, 4), (uint32_t)pde}, {CTX_BASE(0, 4) + 4, (uint32_t)(pde >> 32)}};
	for (unsigned i = 0; i < 3; i++) {
		c1(&s, 14u | 0xFu << 28);
		c1(&s, regs[i][0] / 4);
		c1(&s, regs[i][1]);
	}
	c1(&s, 14u | 0xFu << 28);
	c1(&s, (hubs[0].req + 4) / 4); /* engine 1 */
	c1(&s, INV_REQ(4));
	c1(&s, 8u | 3u << 28); /* POLL_REGMEM, ==, register */
	c1(&s, hubs[0].ack + 4);
	c1(&s, 0);
	c1(&s, 1u << 4);
	c1(&s, 1u << 4);
	c1(&s, 0xFFFu << 16 | 10);
	struct cmd su = {0};
	v = 0x44444444;
	sdma_write(&su, data_va + 4, &v, 1);
	ib_put(&ibb, 64, &su);
	sdma_indirect(&s, 4, ib_va + 256, su.n);
	sdma_submit(f, 0, &s);
	assert_true(sdma_idle(f, 0, 1000));
	assert_int_equal(rd(f, CTX_CNTL(0, 4)), cntl);
	assert_int_equal(rd(f, CTX_BASE(0, 4)), (uint32_t)pde);
	assert_int_equal(rd(f, hubs[0].req + 4), INV_REQ(4));
	assert_int_equal(rd(f, hubs[0].ack + 4), 1u << 4);
	assert_int_equal(((uint32_t *)data.d.cpu)[1], 0x44444444u);
	assert_int_equal(status(f, SIM_AMDGPU_RING_SDMA0).faults, 0);
}

/*
 * A failed translation of an engine's access raises the hub's fault vector
 * when the context enables fault interrupts: UTCL2 for the CP (GFXHUB), VMC
 * for SDMA (MMHUB), with the VMID and the page; none without the enables.
 */
static void test_vm_fault_vectors(void **state)
{
	struct fx *f = *state;
	const uint64_t ib_va = 0x400000, bad_va = 0x123456789000ull;
	struct buf ibb = gart_buf(f, 4096);
	uint64_t root5 = vm_root(f, 5), root6 = vm_root(f, 6), root7 = vm_root(f, 7);
	vm_map(f, root5, ib_va, ibb.d.bus_addr);
	vm_map(f, root6, ib_va, ibb.d.bus_addr);
	vm_map(f, root7, ib_va, ibb.d.bus_addr);
	for (unsigned h = 0; h < 2; h++)
		for (unsigned vmid = 5; vmid <= 6; vmid++)
			wr(f, CTX_CNTL(h, vmid), rd(f, CTX_CNTL(h, vmid)) | SIM_AMDGPU_VM_CNTL_FAULT_INTERRUPTS);

	uint32_t v = 1;
	struct cmd u = {0};
	write_data(&u, bad_va + 0x10, &v, 1);
	ib_put(&ibb, 0, &u);
	struct cmd c = {0};
	ib(&c, ib_va, u.n, 5, false, false);
	release_mem(&c, f->wb.va + WB_FENCE, 1, 1, 2);
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	uint32_t e[8];
	assert_true(ih_next(f, e, 1000));
	assert_int_equal(e[0], SIM_AMDGPU_IH_CLIENT_UTCL2 | SIM_AMDGPU_SRCID_VM_FAULT << 8 | 5u << 24);
	assert_int_equal(e[4], (uint32_t)(bad_va >> 12));
	assert_int_equal(e[5], (uint32_t)(bad_va >> 44) | SIM_AMDGPU_VM_FAULT_WRITE);
	/* Then the fence's EOP: the ring went on. */
	assert_true(ih_next(f, e, 1000));
	assert_int_equal(e[0], SIM_AMDGPU_IH_CLIENT_GRBM_CP | SIM_AMDGPU_SRCID_CP_EOP << 8);

	/* SDMA in VMID 6: a fill to the unmapped page, on the MMHUB. */
	sdma_init(f, 1, true);
	struct cmd su = {0};
	sdma_fill(&su, bad_va, 0, 64);
	ib_put(&ibb, 64, &su);
	struct cmd s = {0};
	sdma_indirect(&s, 6, ib_va + 256, su.n);
	sdma_submit(f, 1, &s);
	assert_true(sdma_idle(f, 1, 1000));
	assert_true(ih_next(f, e, 1000));
	assert_int_equal(e[0], SIM_AMDGPU_IH_CLIENT_VMC | SIM_AMDGPU_SRCID_VM_FAULT << 8 | 6u << 24 | 1u << 31);
	assert_int_equal(e[4], (uint32_t)(bad_va >> 12));
	assert_int_equal(e[5], (uint32_t)(bad_va >> 44) | SIM_AMDGPU_VM_FAULT_WRITE);

	/* VMID 7 without the interrupt enables: the fault is counted by the hub, no vector. */
	uint64_t before = sim_amdgpu_vm_faults(f->m);
	c.n = 0;
	ib(&c, ib_va, u.n, 7, false, false);
	gfx_submit(f, &c);
	assert_true(gfx_idle(f, 1000));
	assert_true(sim_amdgpu_vm_faults(f->m) > before);
	expect_no_ih(f, 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_test, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ib_fence_eop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rptr_writeback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ring_wrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_reg_mem, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait_released_by_sdma, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cond_exec, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_and_copy_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sdma, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ib_nesting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hang, setup, teardown),
		cmocka_unit_test_setup_teardown(test_irq_switches, setup, teardown),
		cmocka_unit_test_setup_teardown(test_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_page, setup, teardown),
		cmocka_unit_test_setup_teardown(test_safe_noops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
		cmocka_unit_test_setup_teardown(test_halt_abandons_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_flush_through_rings, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_fault_vectors, setup, teardown),
	};
	return cmocka_run_group_tests_name("sim_amdgpu_cp", tests, NULL, NULL);
}
