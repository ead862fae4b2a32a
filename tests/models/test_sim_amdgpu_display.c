/*
 * Vega10 display model: GART translation, scanout capture, double buffering
 * and flips, vblank timing, the IH ring, EDID over DDC and hot-plug sense,
 * all through the hw ops as a driver would reach them; plus the EDID builder.
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
#include "irq_line.h"
#include "redox-drm/hw.h"
#include "sim_edid.h"

#define MMIO 5

/* Where the test places memory in the GPU's address space (as a VBIOS/driver would). */
#define FB_START 0x000000F400000000ull
#define GART_START 0x000000FF00000000ull
#define GART_PAGES 4096u

struct fixture {
	struct hw_device *hw;
	struct hw_dma gart, ih, wb;
	uint32_t ih_size;
	uint32_t rptr;
	uint64_t next_gart_page;
};

static void wr(struct fixture *f, uint32_t off, uint32_t v)
{
	hw_write32(f->hw, MMIO, off, v);
}

static uint32_t rd(struct fixture *f, uint32_t off)
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

/* ---- bring-up, as the driver does it ---- */

static void setup_vm(struct fixture *f)
{
	assert_int_equal(f->hw->ops->dma_alloc(f->hw, GART_PAGES * 8, &f->gart), 0);
	memset(f->gart.cpu, 0, f->gart.size);
	uint64_t fb_end = FB_START + SIM_AMDGPU_VRAM_SIZE - 1;
	wr(f, SIM_AMDGPU_MMHUB_MC_VM_FB_LOCATION_BASE, (uint32_t)(FB_START >> 24));
	wr(f, SIM_AMDGPU_MMHUB_MC_VM_FB_LOCATION_TOP, (uint32_t)(fb_end >> 24));
	wr(f, SIM_AMDGPU_MMHUB_MC_VM_AGP_BOT, 0xFFFFFF); /* AGP off: bottom above top */
	wr(f, SIM_AMDGPU_MMHUB_MC_VM_AGP_TOP, 0);
	wr(f, SIM_AMDGPU_MMHUB_MC_VM_SYSTEM_APERTURE_LOW, (uint32_t)(FB_START >> 18));
	wr(f, SIM_AMDGPU_MMHUB_MC_VM_SYSTEM_APERTURE_HIGH, (uint32_t)(fb_end >> 18));
	uint64_t start = GART_START >> 12, end = start + GART_PAGES - 1;
	wr(f, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_START_LO32, (uint32_t)start);
	wr(f, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_START_LO32 + 4, (uint32_t)(start >> 32));
	wr(f, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_END_LO32, (uint32_t)end);
	wr(f, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_END_LO32 + 4, (uint32_t)(end >> 32));
	uint64_t base = f->gart.bus_addr | SIM_AMDGPU_PTE_VALID | SIM_AMDGPU_PTE_SYSTEM;
	wr(f, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_BASE_LO32, (uint32_t)base);
	wr(f, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_BASE_LO32 + 4, (uint32_t)(base >> 32));
	wr(f, SIM_AMDGPU_MMHUB_VM_CONTEXT0_CNTL, 1); /* enabled, depth 0: flat */
}

static void setup_ih(struct fixture *f, uint32_t size)
{
	f->ih_size = size;
	f->rptr = 0;
	assert_int_equal(f->hw->ops->dma_alloc(f->hw, size, &f->ih), 0);
	assert_int_equal(f->hw->ops->dma_alloc(f->hw, 4096, &f->wb), 0);
	memset(f->ih.cpu, 0, f->ih.size);
	memset(f->wb.cpu, 0, f->wb.size);
	unsigned log2_dw = 0;
	while ((4u << log2_dw) < size)
		log2_dw++;
	wr(f, SIM_AMDGPU_IH_RB_BASE, (uint32_t)(f->ih.bus_addr >> 8));
	wr(f, SIM_AMDGPU_IH_RB_BASE_HI, (uint32_t)(f->ih.bus_addr >> 40));
	wr(f, SIM_AMDGPU_IH_RB_WPTR_ADDR_LO, (uint32_t)f->wb.bus_addr);
	wr(f, SIM_AMDGPU_IH_RB_WPTR_ADDR_HI, (uint32_t)(f->wb.bus_addr >> 32));
	wr(f, SIM_AMDGPU_IH_RB_RPTR, 0);
	wr(f, SIM_AMDGPU_IH_RB_WPTR, 0);
	wr(f, SIM_AMDGPU_IH_RB_CNTL,
	   SIM_AMDGPU_IH_RB_CNTL_RB_ENABLE | log2_dw << SIM_AMDGPU_IH_RB_CNTL_RB_SIZE_SHIFT |
		   SIM_AMDGPU_IH_RB_CNTL_WPTR_WRITEBACK_ENABLE | SIM_AMDGPU_IH_RB_CNTL_WPTR_OVERFLOW_ENABLE |
		   SIM_AMDGPU_IH_RB_CNTL_ENABLE_INTR | 1u << SIM_AMDGPU_IH_RB_CNTL_MC_SPACE_SHIFT);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	f->hw = hw_sim_create("amdgpu", 0);
	if (!f->hw) {
		free(f);
		return -1;
	}
	setup_vm(f);
	setup_ih(f, 4096);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	hw_destroy(f->hw);
	free(f);
	return 0;
}

/* Maps a DMA buffer into the GART; returns its GPU address. */
static uint64_t gart_map(struct fixture *f, const struct hw_dma *buf)
{
	uint64_t *pte = f->gart.cpu;
	size_t pages = (buf->size + 4095) / 4096;
	uint64_t first = f->next_gart_page;
	assert_true(first + pages <= GART_PAGES);
	for (size_t i = 0; i < pages; i++)
		pte[first + i] = (buf->bus_addr + i * 4096) | SIM_AMDGPU_PTE_VALID | SIM_AMDGPU_PTE_SYSTEM |
				 SIM_AMDGPU_PTE_SNOOPED | SIM_AMDGPU_PTE_READABLE | SIM_AMDGPU_PTE_WRITEABLE;
	f->next_gart_page += pages + 1; /* a hole after each mapping */
	/* Invalidate as the driver must (engine 17, VMID0) and see the ACK. */
	wr(f, SIM_AMDGPU_MMHUB_VM_INVALIDATE_ENG0_REQ + 17 * 4, 1u | 0x1Fu << 18);
	assert_int_equal(rd(f, SIM_AMDGPU_MMHUB_VM_INVALIDATE_ENG0_ACK + 17 * 4) & 1u, 1u);
	return GART_START + first * 4096;
}

struct mode {
	uint32_t w, h, htotal, vtotal, hsync, hback, vsync, vback;
	uint64_t pclk;
};

static struct mode small_mode(uint32_t w, uint32_t h, uint32_t refresh)
{
	struct mode m = {.w = w, .h = h, .htotal = w + 16, .vtotal = h + 12,
			 .hsync = 4, .hback = 6, .vsync = 2, .vback = 4};
	m.pclk = (uint64_t)m.htotal * m.vtotal * refresh;
	return m;
}

static void crtc_program(struct fixture *f, unsigned pipe, const struct mode *m)
{
	uint32_t po = pipe * SIM_AMDGPU_DCE_PIPE_STRIDE, co = pipe * SIM_AMDGPU_DCCG_PIPE_STRIDE;
	uint32_t hbe = m->hsync + m->hback, hbs = hbe + m->w, vbe = m->vsync + m->vback, vbs = vbe + m->h;
	wr(f, SIM_AMDGPU_DP_DTO0_PHASE + co, (uint32_t)m->pclk);
	wr(f, SIM_AMDGPU_DP_DTO0_MODULO + co, SIM_AMDGPU_DPREFCLK_KHZ * 1000u);
	wr(f, SIM_AMDGPU_CRTC0_PIXEL_RATE_CNTL + co, SIM_AMDGPU_DP_DTO_ENABLE);
	wr(f, SIM_AMDGPU_CRTC_H_TOTAL + po, m->htotal - 1);
	wr(f, SIM_AMDGPU_CRTC_H_SYNC_A + po, m->hsync << 16);
	wr(f, SIM_AMDGPU_CRTC_H_BLANK_START_END + po, hbs | hbe << 16);
	wr(f, SIM_AMDGPU_CRTC_V_TOTAL + po, m->vtotal - 1);
	wr(f, SIM_AMDGPU_CRTC_V_SYNC_A + po, m->vsync << 16);
	wr(f, SIM_AMDGPU_CRTC_V_BLANK_START_END + po, vbs | vbe << 16);
	wr(f, SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_POSITION + po, vbs);
}

static void crtc_enable(struct fixture *f, unsigned pipe, bool on)
{
	wr(f, SIM_AMDGPU_CRTC_CONTROL + pipe * SIM_AMDGPU_DCE_PIPE_STRIDE, on ? SIM_AMDGPU_CRTC_MASTER_EN : 0);
}

/* GRPH_CONTROL/SWAP values for a surface format. */
enum fmt { FMT_XRGB8888, FMT_XBGR8888, FMT_RGB565, FMT_XRGB2101010, FMT_XBGR2101010 };

static void primary_program(struct fixture *f, unsigned pipe, enum fmt fmt, uint64_t addr, uint32_t pitch_px,
			    uint32_t w, uint32_t h)
{
	uint32_t po = pipe * SIM_AMDGPU_DCE_PIPE_STRIDE;
	uint32_t control = 2u /* 32bpp */, swap = 0;
	switch (fmt) {
	case FMT_XRGB8888: break;
	case FMT_XBGR8888: swap = 2u << 4 | 2u << 8; break; /* RED_SEL_B, BLUE_SEL_R */
	case FMT_RGB565: control = 1u | 1u << 8; break;     /* 16bpp, ARGB565 */
	case FMT_XRGB2101010: control = 2u | 1u << 8; break;
	case FMT_XBGR2101010: control = 2u | 1u << 8; swap = 2u << 4 | 2u << 8; break;
	}
	wr(f, SIM_AMDGPU_GRPH_UPDATE + po, SIM_AMDGPU_GRPH_UPDATE_LOCK);
	wr(f, SIM_AMDGPU_GRPH_CONTROL + po, control);
	wr(f, SIM_AMDGPU_GRPH_SWAP_CNTL + po, swap);
	wr(f, SIM_AMDGPU_GRPH_PITCH + po, pitch_px);
	wr(f, SIM_AMDGPU_GRPH_X_START + po, 0);
	wr(f, SIM_AMDGPU_GRPH_Y_START + po, 0);
	wr(f, SIM_AMDGPU_GRPH_X_END + po, w);
	wr(f, SIM_AMDGPU_GRPH_Y_END + po, h);
	wr(f, SIM_AMDGPU_SCL_VIEWPORT_START + po, 0);
	wr(f, SIM_AMDGPU_SCL_VIEWPORT_SIZE + po, w << 16 | h);
	wr(f, SIM_AMDGPU_GRPH_ENABLE + po, 1);
	wr(f, SIM_AMDGPU_GRPH_INTERRUPT_CONTROL + po, 1);
	wr(f, SIM_AMDGPU_GRPH_PRIMARY_SURFACE_ADDRESS_HIGH + po, (uint32_t)(addr >> 32));
	wr(f, SIM_AMDGPU_GRPH_PRIMARY_SURFACE_ADDRESS + po, (uint32_t)addr);
	wr(f, SIM_AMDGPU_GRPH_UPDATE + po, 0);
}

static int capture(struct fixture *f, unsigned pipe, uint32_t *px, uint32_t w, uint32_t h)
{
	assert_non_null(f->hw->ops->scanout_capture);
	return f->hw->ops->scanout_capture(f->hw, pipe, px, w, h);
}

static uint32_t frame_count(struct fixture *f, unsigned pipe)
{
	return rd(f, SIM_AMDGPU_CRTC_STATUS_FRAME_COUNT + pipe * SIM_AMDGPU_DCE_PIPE_STRIDE);
}

/* Waits (bounded) for the next frame boundary and returns just after it. */
static void wait_vblank(struct fixture *f, unsigned pipe)
{
	uint32_t fc = frame_count(f, pipe);
	uint64_t deadline = mono_ns() + 2000000000ull;
	while (frame_count(f, pipe) == fc) {
		assert_true(mono_ns() < deadline);
		sleep_ms(1);
	}
}

/* ---- IH reading ---- */

struct iv {
	uint8_t client, src;
	uint32_t data0;
	uint64_t ts;
};

static uint32_t wb_wptr(struct fixture *f)
{
	return __atomic_load_n((uint32_t *)f->wb.cpu, __ATOMIC_ACQUIRE);
}

/* Drains the ring like the driver: entries from rptr up to the written-back wptr. */
static unsigned ih_drain(struct fixture *f, struct iv *out, unsigned max)
{
	uint32_t wptr = wb_wptr(f) & 0x3FFFCu & (f->ih_size - 1);
	unsigned n = 0;
	while (f->rptr != wptr) {
		const uint32_t *e = (const uint32_t *)((uint8_t *)f->ih.cpu + f->rptr);
		if (n < max)
			out[n] = (struct iv){.client = (uint8_t)e[0], .src = (uint8_t)(e[0] >> 8), .data0 = e[4],
					     .ts = e[1] | (uint64_t)(e[2] & 0xFFFF) << 32};
		n++;
		f->rptr = (f->rptr + 32) & (f->ih_size - 1);
	}
	wr(f, SIM_AMDGPU_IH_RB_RPTR, f->rptr);
	return n;
}

/* ---- pixel helpers ---- */

static struct hw_dma surface_alloc(struct fixture *f, size_t size)
{
	struct hw_dma d;
	assert_int_equal(f->hw->ops->dma_alloc(f->hw, size, &d), 0);
	memset(d.cpu, 0, d.size);
	return d;
}

static uint32_t pattern(uint32_t x, uint32_t y)
{
	return 0xFF000000u | (x * 4) << 16 | (y * 5) << 8 | ((x + y) & 0xFF);
}

/* ================= tests ================= */

static void test_edid_block(void **state)
{
	uint8_t e[SIM_EDID_SIZE];
	sim_edid_build(e, "RDRM Vega", 527, 296);
	assert_true(sim_edid_valid(e));
	static const uint8_t header[8] = {0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0};
	assert_memory_equal(e, header, 8);
	uint8_t sum = 0;
	for (unsigned i = 0; i < 128; i++)
		sum = (uint8_t)(sum + e[i]);
	assert_int_equal(sum, 0);
	/* Manufacturer "RDX", EDID 1.4, digital DisplayPort input, 8 bpc. */
	uint16_t id = (uint16_t)(e[8] << 8 | e[9]);
	assert_int_equal('@' + ((id >> 10) & 31), 'R');
	assert_int_equal('@' + ((id >> 5) & 31), 'D');
	assert_int_equal('@' + (id & 31), 'X');
	assert_int_equal(e[0x12], 1);
	assert_int_equal(e[0x13], 4);
	assert_int_equal(e[0x14], 0xA5);
	assert_int_equal(e[0x15], 53);
	assert_int_equal(e[0x16], 30);
	/* Established: 640x480@60, 800x600@60, 1024x768@60. */
	assert_int_equal(e[0x23], 0x21);
	assert_int_equal(e[0x24], 0x08);
	/* Standard timing 1: 1280x720@60 (16:9). */
	assert_int_equal((e[0x26] + 31) * 8, 1280);
	assert_int_equal(e[0x27] >> 6, 3);
	assert_int_equal((e[0x27] & 0x3F) + 60, 60);

	/* Decode the preferred DTD: the CEA 1080p60 timing. */
	const uint8_t *d = e + 0x36;
	unsigned clk_khz = (d[0] | d[1] << 8) * 10u;
	unsigned ha = d[2] | (d[4] >> 4) << 8, hbl = d[3] | (d[4] & 0xF) << 8;
	unsigned va = d[5] | (d[7] >> 4) << 8, vbl = d[6] | (d[7] & 0xF) << 8;
	unsigned hso = d[8] | (d[11] >> 6) << 8, hsw = d[9] | ((d[11] >> 4) & 3) << 8;
	unsigned vso = (d[10] >> 4) | ((d[11] >> 2) & 3) << 4, vsw = (d[10] & 0xF) | (d[11] & 3) << 4;
	unsigned wmm = d[12] | (d[14] >> 4) << 8, hmm = d[13] | (d[14] & 0xF) << 8;
	assert_int_equal(clk_khz, 148500);
	assert_int_equal(ha, 1920);
	assert_int_equal(hbl, 280);
	assert_int_equal(va, 1080);
	assert_int_equal(vbl, 45);
	assert_int_equal(hso, 88);
	assert_int_equal(hsw, 44);
	assert_int_equal(vso, 4);
	assert_int_equal(vsw, 5);
	assert_int_equal(wmm, 527);
	assert_int_equal(hmm, 296);
	assert_int_equal(d[17], 0x1E); /* digital separate, +vsync +hsync */
	/* 60 Hz: 148.5 MHz / (2200 * 1125). */
	assert_int_equal(148500000u / ((ha + hbl) * (va + vbl)), 60);

	/* Range limits then the name descriptor. */
	assert_int_equal(e[0x48 + 3], 0xFD);
	assert_int_equal(e[0x5A + 3], 0xFC);
	assert_memory_equal(e + 0x5A + 5, "RDRM Vega\n   ", 13);
	assert_int_equal(e[0x6C + 3], 0x10);
	assert_int_equal(e[0x7E], 0);

	/* A long name is cut at 13 characters and the block stays valid. */
	sim_edid_build(e, "A very long monitor name", 600, 340);
	assert_true(sim_edid_valid(e));
	assert_memory_equal(e + 0x5A + 5, "A very long m", 13);
	e[20] ^= 1;
	assert_false(sim_edid_valid(e));
}

static uint32_t expect_565(uint16_t v)
{
	uint32_t r = v >> 11, g = (v >> 5) & 63, b = v & 31;
	return (r << 3 | r >> 2) << 16 | (g << 2 | g >> 4) << 8 | (b << 3 | b >> 2);
}

static uint32_t c10to8(uint32_t v)
{
	return (v * 255u + 511u) / 1023u;
}

static void test_gart_scanout_formats(void **state)
{
	struct fixture *f = *state;
	const uint32_t w = 64, h = 48, pitch = 80; /* pitch wider than the picture */
	struct mode m = small_mode(w, h, 60);
	crtc_program(f, 0, &m);
	crtc_enable(f, 0, true);
	uint32_t *px = malloc(w * h * 4);
	assert_non_null(px);

	static const enum fmt fmts[] = {FMT_XRGB8888, FMT_XBGR8888, FMT_RGB565, FMT_XRGB2101010, FMT_XBGR2101010};
	for (size_t fi = 0; fi < sizeof(fmts) / sizeof(fmts[0]); fi++) {
		enum fmt fmt = fmts[fi];
		uint32_t cpp = fmt == FMT_RGB565 ? 2 : 4;
		struct hw_dma s = surface_alloc(f, (size_t)pitch * h * cpp);
		for (uint32_t y = 0; y < h; y++) {
			for (uint32_t x = 0; x < w; x++) {
				uint8_t *p = (uint8_t *)s.cpu + (size_t)y * pitch * cpp + (size_t)x * cpp;
				uint32_t v = (x * 37 + y * 101) * 2654435761u;
				if (cpp == 2) {
					uint16_t v16 = (uint16_t)v;
					memcpy(p, &v16, 2);
				} else {
					memcpy(p, &v, 4);
				}
			}
		}
		uint64_t addr = gart_map(f, &s);
		primary_program(f, 0, fmt, addr, pitch, w, h);
		wait_vblank(f, 0); /* the surface update is taken at the frame boundary */
		assert_int_equal(capture(f, 0, px, w, h), 0);
		for (uint32_t y = 0; y < h; y++) {
			for (uint32_t x = 0; x < w; x++) {
				const uint8_t *p = (const uint8_t *)s.cpu + (size_t)y * pitch * cpp + (size_t)x * cpp;
				uint32_t v, expect;
				memcpy(&v, p, 4);
				switch (fmt) {
				case FMT_XRGB8888: expect = v & 0xFFFFFF; break;
				case FMT_XBGR8888:
					expect = (v & 0xFF) << 16 | (v & 0xFF00) | ((v >> 16) & 0xFF);
					break;
				case FMT_RGB565: expect = expect_565((uint16_t)v); break;
				case FMT_XRGB2101010:
					expect = c10to8((v >> 20) & 0x3FF) << 16 | c10to8((v >> 10) & 0x3FF) << 8 |
						 c10to8(v & 0x3FF);
					break;
				default:
					expect = c10to8(v & 0x3FF) << 16 | c10to8((v >> 10) & 0x3FF) << 8 |
						 c10to8((v >> 20) & 0x3FF);
					break;
				}
				if (px[y * w + x] != expect)
					fail_msg("format %zu pixel (%u,%u): 0x%08x != 0x%08x", fi, x, y,
						 px[y * w + x], expect);
			}
		}
	}
	/* Capture wants the active size; a stopped CRTC has no picture. */
	assert_int_equal(capture(f, 0, px, w + 1, h), -EINVAL);
	assert_int_equal(capture(f, 1, px, w, h), -ENODEV);
	crtc_enable(f, 0, false);
	assert_int_equal(capture(f, 0, px, w, h), -ENODEV);
	free(px);
}

static void test_viewport_and_fb_aperture(void **state)
{
	struct fixture *f = *state;
	const uint32_t w = 32, h = 16, sw = 64, sh = 40;
	/* A surface in VRAM, reached through the FB aperture; written over BAR0. */
	size_t map_size;
	uint32_t *vram = f->hw->ops->bar_map(f->hw, 0, &map_size);
	assert_non_null(vram);
	const uint64_t vram_off = 1 << 20;
	for (uint32_t y = 0; y < sh; y++)
		for (uint32_t x = 0; x < sw; x++)
			vram[vram_off / 4 + y * sw + x] = pattern(x, y);
	struct mode m = small_mode(w, h, 60);
	crtc_program(f, 1, &m);
	primary_program(f, 1, FMT_XRGB8888, FB_START + vram_off, sw, sw, sh);
	/* Pan: show the surface from (20, 10). */
	wr(f, SIM_AMDGPU_SCL_VIEWPORT_START + SIM_AMDGPU_DCE_PIPE_STRIDE, 20u << 16 | 10u);
	wr(f, SIM_AMDGPU_SCL_VIEWPORT_SIZE + SIM_AMDGPU_DCE_PIPE_STRIDE, w << 16 | h);
	crtc_enable(f, 1, true);
	uint32_t px[32 * 16];
	assert_int_equal(capture(f, 1, px, w, h), 0);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			assert_int_equal(px[y * w + x], pattern(x + 20, y + 10) & 0xFFFFFF);
	/* The viewport running past X_END shows black there. */
	wr(f, SIM_AMDGPU_SCL_VIEWPORT_START + SIM_AMDGPU_DCE_PIPE_STRIDE, 50u << 16);
	wait_vblank(f, 1);
	assert_int_equal(capture(f, 1, px, w, h), 0);
	assert_int_equal(px[0], pattern(50, 0) & 0xFFFFFF);
	assert_int_equal(px[13], pattern(63, 0) & 0xFFFFFF);
	assert_int_equal(px[14], 0);
	assert_int_equal(px[31], 0);
}

static void test_cursor_blend(void **state)
{
	struct fixture *f = *state;
	const uint32_t w = 64, h = 48;
	uint32_t po = 0;
	struct mode m = small_mode(w, h, 60);
	crtc_program(f, 0, &m);
	struct hw_dma prim = surface_alloc(f, w * h * 4);
	for (uint32_t i = 0; i < w * h; i++)
		((uint32_t *)prim.cpu)[i] = 0xFF204060u;
	primary_program(f, 0, FMT_XRGB8888, gart_map(f, &prim), w, w, h);

	/* A 4x2 cursor: opaque red, transparent, half-transparent white (pre-multiplied), ... */
	struct hw_dma cur = surface_alloc(f, 4096);
	uint32_t *c = cur.cpu;
	const uint32_t cpx[8] = {0xFFFF0000u, 0x00000000u, 0x80808080u, 0xFF00FF00u,
				 0x40400000u, 0xFF0000FFu, 0x00000000u, 0xFFFFFFFFu};
	memcpy(c, cpx, sizeof(cpx));
	uint64_t caddr = gart_map(f, &cur);
	wr(f, SIM_AMDGPU_CUR_UPDATE + po, 1u << 16);
	wr(f, SIM_AMDGPU_CUR_SURFACE_ADDRESS_HIGH + po, (uint32_t)(caddr >> 32));
	wr(f, SIM_AMDGPU_CUR_SURFACE_ADDRESS + po, (uint32_t)caddr);
	wr(f, SIM_AMDGPU_CUR_SIZE + po, (4u - 1) << 16 | (2u - 1));
	wr(f, SIM_AMDGPU_CUR_POSITION + po, 10u << 16 | 5u);
	wr(f, SIM_AMDGPU_CUR_HOT_SPOT + po, 0);
	wr(f, SIM_AMDGPU_CUR_CONTROL + po, 1u | 2u << 8); /* enabled, ARGB pre-multiplied */
	wr(f, SIM_AMDGPU_CUR_UPDATE + po, 0);
	crtc_enable(f, 0, true);

	uint32_t *px = malloc(w * h * 4);
	assert_non_null(px);
	assert_int_equal(capture(f, 0, px, w, h), 0);
	const uint32_t bg = 0x204060;
	assert_int_equal(px[5 * w + 9], bg);
	assert_int_equal(px[5 * w + 10], 0xFF0000);
	assert_int_equal(px[5 * w + 11], bg); /* fully transparent */
	/* 0x80 + bg * (255 - 0x80) / 255 per channel */
	uint32_t r = 0x80 + (0x20 * 127 + 127) / 255, g = 0x80 + (0x40 * 127 + 127) / 255,
		 b = 0x80 + (0x60 * 127 + 127) / 255;
	assert_int_equal(px[5 * w + 12], r << 16 | g << 8 | b);
	assert_int_equal(px[5 * w + 13], 0x00FF00);
	assert_int_equal(px[6 * w + 10], (0x40 + (0x20 * 191 + 127) / 255) << 16 | ((0x40 * 191 + 127) / 255) << 8 |
					      (0x60 * 191 + 127) / 255);
	assert_int_equal(px[6 * w + 13], 0xFFFFFF);
	assert_int_equal(px[7 * w + 10], bg);

	/* Un-pre-multiplied mode: out = src * a + dst * (1 - a). */
	wr(f, SIM_AMDGPU_CUR_CONTROL + po, 1u | 3u << 8);
	wait_vblank(f, 0);
	assert_int_equal(capture(f, 0, px, w, h), 0);
	r = (0x80 * 0x80 + 0x20 * 127 + 127) / 255;
	assert_int_equal(px[5 * w + 12] >> 16, r);

	/* Off the left/top edge: position 0 with the hot spot carrying the rest. */
	wr(f, SIM_AMDGPU_CUR_CONTROL + po, 1u | 2u << 8);
	wr(f, SIM_AMDGPU_CUR_POSITION + po, 0);
	wr(f, SIM_AMDGPU_CUR_HOT_SPOT + po, 2u << 16 | 1u);
	wait_vblank(f, 0);
	assert_int_equal(capture(f, 0, px, w, h), 0);
	/* The image's top left is at (-2, -1): screen (0,0) shows cursor (2,1), (1,0) cursor (3,1). */
	assert_int_equal(px[0], bg);          /* transparent */
	assert_int_equal(px[1], 0xFFFFFF);
	assert_int_equal(px[2], bg);
	assert_int_equal(px[w], bg);          /* below the cursor's last row */
	free(px);
}

static uint32_t lut_r(uint32_t v)
{
	return (v >> 16) & 0xFF;
}

static uint32_t lut_g(uint32_t v)
{
	return (v >> 8) & 0xFF;
}

static uint32_t lut_b(uint32_t v)
{
	return v & 0xFF;
}

/* Every primary pixel is want(pattern) and the 4x2 cursor at (10, 5) stays cur. */
static void check_lut_picture(struct fixture *f, uint32_t w, uint32_t h, uint32_t (*want)(uint32_t), uint32_t cur)
{
	uint32_t *px = malloc(w * h * 4);
	assert_non_null(px);
	assert_int_equal(capture(f, 0, px, w, h), 0);
	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++) {
			bool in_cursor = x >= 10 && x < 14 && y >= 5 && y < 7;
			uint32_t expect = in_cursor ? cur : want(pattern(x, y) & 0xFFFFFF);
			if (px[y * w + x] != expect)
				fail_msg("pixel (%u,%u): 0x%06x != 0x%06x", x, y, px[y * w + x], expect);
		}
	}
	free(px);
}

static uint32_t same(uint32_t v)
{
	return v;
}

static uint32_t red_inverted_green_zeroed(uint32_t v)
{
	return (255 - lut_r(v)) << 16 | lut_b(v);
}

static uint32_t green_inverted_blue_zeroed(uint32_t v)
{
	return lut_r(v) << 16 | (255 - lut_g(v)) << 8;
}

static uint32_t red_zeroed_green_inverted(uint32_t v)
{
	return (255 - lut_g(v)) << 8;
}

/* The GRPH legacy LUT: bypassed at reset, 30-bit and sequential writes, write masks, PWL mode,
 * the 10-bit bypass; it changes the primary and never the cursor. */
static void test_legacy_lut(void **state)
{
	struct fixture *f = *state;
	const uint32_t w = 64, h = 48;
	struct mode m = small_mode(w, h, 60);
	crtc_program(f, 0, &m);
	struct hw_dma prim = surface_alloc(f, w * h * 4);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			((uint32_t *)prim.cpu)[y * w + x] = pattern(x, y);
	uint64_t paddr = gart_map(f, &prim);
	primary_program(f, 0, FMT_XRGB8888, paddr, w, w, h);
	struct hw_dma cur = surface_alloc(f, 4096);
	for (unsigned i = 0; i < 8; i++)
		((uint32_t *)cur.cpu)[i] = 0xFF102030u;
	uint64_t caddr = gart_map(f, &cur);
	wr(f, SIM_AMDGPU_CUR_SURFACE_ADDRESS_HIGH, (uint32_t)(caddr >> 32));
	wr(f, SIM_AMDGPU_CUR_SURFACE_ADDRESS, (uint32_t)caddr);
	wr(f, SIM_AMDGPU_CUR_SIZE, 3u << 16 | 1u);
	wr(f, SIM_AMDGPU_CUR_POSITION, 10u << 16 | 5u);
	wr(f, SIM_AMDGPU_CUR_CONTROL, 1u | 2u << 8);
	crtc_enable(f, 0, true);

	/* Reset: the LUT is bypassed (and holds the identity): the picture is the surface. */
	for (unsigned p = 0; p < SIM_AMDGPU_DCE_PIPES; p++)
		assert_int_equal(rd(f, SIM_AMDGPU_INPUT_GAMMA_CONTROL + p * SIM_AMDGPU_DCE_PIPE_STRIDE),
				 SIM_AMDGPU_INPUT_GAMMA_BYPASS);
	check_lut_picture(f, w, h, same, 0x102030);
	wr(f, SIM_AMDGPU_INPUT_GAMMA_CONTROL, 0);
	check_lut_picture(f, w, h, same, 0x102030);

	/* 10-bit entries, one write each: the output keeps their top 8 bits. Written while selected:
	 * the RAM is not double buffered, so the next capture shows it. */
	wr(f, SIM_AMDGPU_DC_LUT_RW_MODE, 0);
	wr(f, SIM_AMDGPU_DC_LUT_WRITE_EN_MASK, 7);
	wr(f, SIM_AMDGPU_DC_LUT_RW_INDEX, 0);
	for (uint32_t i = 0; i < 256; i++)
		wr(f, SIM_AMDGPU_DC_LUT_30_COLOR, (255 - i) << 22 | 0u << 10 | (i << 2 | 3u));
	assert_int_equal(rd(f, SIM_AMDGPU_DC_LUT_RW_INDEX), 0); /* 256 entries: back at 0 */
	check_lut_picture(f, w, h, red_inverted_green_zeroed, 0x102030);
	wr(f, SIM_AMDGPU_INPUT_GAMMA_CONTROL, SIM_AMDGPU_INPUT_GAMMA_BYPASS);
	check_lut_picture(f, w, h, same, 0x102030);
	wr(f, SIM_AMDGPU_INPUT_GAMMA_CONTROL, 0);

	/* 16-bit channels in turn (red, green, blue), as DC's dce_ipp writes them. */
	wr(f, SIM_AMDGPU_DC_LUT_RW_INDEX, 0);
	for (uint32_t i = 0; i < 256; i++) {
		wr(f, SIM_AMDGPU_DC_LUT_SEQ_COLOR, i * 257u);
		wr(f, SIM_AMDGPU_DC_LUT_SEQ_COLOR, 0xFFFFu - i * 257u);
		wr(f, SIM_AMDGPU_DC_LUT_SEQ_COLOR, 0);
		assert_int_equal(rd(f, SIM_AMDGPU_DC_LUT_RW_INDEX), (i + 1) & 0xFF);
	}
	check_lut_picture(f, w, h, green_inverted_blue_zeroed, 0x102030);

	/* The write mask: red only (b2); green and blue keep their entries. */
	wr(f, SIM_AMDGPU_DC_LUT_WRITE_EN_MASK, 4);
	wr(f, SIM_AMDGPU_DC_LUT_RW_INDEX, 0);
	for (uint32_t i = 0; i < 256; i++)
		wr(f, SIM_AMDGPU_DC_LUT_30_COLOR, 0x3FFu << 10 | 0x3FFu);
	check_lut_picture(f, w, h, red_zeroed_green_inverted, 0x102030);

	/* PWL mode (not modelled) takes no 256-entry writes. */
	wr(f, SIM_AMDGPU_DC_LUT_WRITE_EN_MASK, 7);
	wr(f, SIM_AMDGPU_DC_LUT_RW_MODE, 1);
	wr(f, SIM_AMDGPU_DC_LUT_RW_INDEX, 0);
	for (uint32_t i = 0; i < 256; i++)
		wr(f, SIM_AMDGPU_DC_LUT_30_COLOR, 0x3FFFFFFFu);
	check_lut_picture(f, w, h, red_zeroed_green_inverted, 0x102030);
	wr(f, SIM_AMDGPU_DC_LUT_RW_MODE, 0);

	/* A 10-bit surface goes through it too, unless GRPH_LUT_10BIT_BYPASS_EN. */
	struct hw_dma ten = surface_alloc(f, w * h * 4);
	for (uint32_t i = 0; i < w * h; i++)
		((uint32_t *)ten.cpu)[i] = 0x3FFu << 20 | 0x200u << 10; /* 255, 128, 0 at 8 bits */
	primary_program(f, 0, FMT_XRGB2101010, gart_map(f, &ten), w, w, h);
	wait_vblank(f, 0);
	uint32_t *px = malloc(w * h * 4);
	assert_non_null(px);
	assert_int_equal(capture(f, 0, px, w, h), 0);
	assert_int_equal(px[0], 127u << 8);
	wr(f, SIM_AMDGPU_GRPH_LUT_10BIT_BYPASS, SIM_AMDGPU_GRPH_LUT_10BIT_BYPASS_EN);
	assert_int_equal(capture(f, 0, px, w, h), 0);
	assert_int_equal(px[0], 0xFF8000u);
	assert_int_equal(px[5 * w + 10], 0x102030); /* the cursor as ever */
	free(px);
	f->hw->ops->dma_free(f->hw, &ten);
	f->hw->ops->dma_free(f->hw, &cur);
	f->hw->ops->dma_free(f->hw, &prim);
}

static void test_flip_latches_at_vblank(void **state)
{
	struct fixture *f = *state;
	const uint32_t w = 32, h = 24;
	uint32_t po = 0;
	/* 20 Hz: 50 ms frames leave ample room between a boundary and the next. */
	struct mode m = small_mode(w, h, 20);
	crtc_program(f, 0, &m);
	struct hw_dma a = surface_alloc(f, w * h * 4), b = surface_alloc(f, w * h * 4);
	for (uint32_t i = 0; i < w * h; i++) {
		((uint32_t *)a.cpu)[i] = 0x00AA0000u;
		((uint32_t *)b.cpu)[i] = 0x000000BBu;
	}
	uint64_t aa = gart_map(f, &a), ba = gart_map(f, &b);
	primary_program(f, 0, FMT_XRGB8888, aa, w, w, h);
	crtc_enable(f, 0, true);
	uint32_t px[32 * 24];
	struct iv iv[64];

	wait_vblank(f, 0);
	ih_drain(f, iv, 64);
	/* Flip to B just after a boundary: A stays on screen for the rest of the frame. */
	wr(f, SIM_AMDGPU_GRPH_PRIMARY_SURFACE_ADDRESS_HIGH + po, (uint32_t)(ba >> 32));
	wr(f, SIM_AMDGPU_GRPH_PRIMARY_SURFACE_ADDRESS + po, (uint32_t)ba);
	uint64_t t_flip = mono_ns();
	assert_int_equal(capture(f, 0, px, w, h), 0);
	assert_int_equal(px[0], 0xAA0000);
	assert_true(rd(f, SIM_AMDGPU_GRPH_UPDATE + po) & SIM_AMDGPU_GRPH_UPDATE_SURFACE_PENDING);
	assert_int_equal(rd(f, SIM_AMDGPU_GRPH_SURFACE_ADDRESS_INUSE + po), (uint32_t)aa & ~0xFFu);
	assert_true(mono_ns() - t_flip < 30000000ull); /* still inside the frame */
	assert_int_equal(ih_drain(f, iv, 64), 0);

	wait_vblank(f, 0);
	assert_int_equal(capture(f, 0, px, w, h), 0);
	assert_int_equal(px[0], 0x0000BB);
	uint32_t upd = rd(f, SIM_AMDGPU_GRPH_UPDATE + po);
	assert_false(upd & SIM_AMDGPU_GRPH_UPDATE_SURFACE_PENDING);
	assert_true(upd & SIM_AMDGPU_GRPH_UPDATE_SURFACE_TAKEN);
	assert_int_equal(rd(f, SIM_AMDGPU_GRPH_SURFACE_ADDRESS_INUSE + po), (uint32_t)ba & ~0xFFu);
	/* The page-flip entry follows (D1: client 4, src 8) and the status bit is set until cleared. */
	unsigned n = ih_drain(f, iv, 64);
	bool pflip = false;
	for (unsigned i = 0; i < n && i < 64; i++)
		if (iv[i].client == SIM_AMDGPU_IH_CLIENT_DCE && iv[i].src == SIM_AMDGPU_SRCID_D1_GRPH_PFLIP)
			pflip = true;
	assert_true(pflip);
	assert_int_equal(rd(f, SIM_AMDGPU_GRPH_INTERRUPT_STATUS + po) & 1u, 1u);
	wr(f, SIM_AMDGPU_GRPH_INTERRUPT_STATUS + po, 1u << 8);
	assert_int_equal(rd(f, SIM_AMDGPU_GRPH_INTERRUPT_STATUS + po) & 1u, 0);

	/* Held by GRPH_UPDATE_LOCK across a boundary, a flip waits for the unlock. */
	wr(f, SIM_AMDGPU_GRPH_UPDATE + po, SIM_AMDGPU_GRPH_UPDATE_LOCK);
	wr(f, SIM_AMDGPU_GRPH_PRIMARY_SURFACE_ADDRESS + po, (uint32_t)aa);
	wait_vblank(f, 0);
	assert_int_equal(capture(f, 0, px, w, h), 0);
	assert_int_equal(px[0], 0x0000BB);
	wr(f, SIM_AMDGPU_GRPH_UPDATE + po, 0);
	wait_vblank(f, 0);
	assert_int_equal(capture(f, 0, px, w, h), 0);
	assert_int_equal(px[0], 0xAA0000);
}

static void test_vblank_rate(void **state)
{
	struct fixture *f = *state;
	const unsigned refresh = 240;
	struct mode m = small_mode(64, 48, refresh);
	setup_ih(f, 16384);
	crtc_program(f, 0, &m);
	crtc_enable(f, 0, true);
	wr(f, SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_CONTROL, SIM_AMDGPU_VI0_INT_ENABLE);

	/* The interrupt line fires: wait for it on the irq fd as the event loop would. */
	int ep = irq_line_open(f->hw);
	f->hw->ops->irq_ack(f->hw);
	assert_true(irq_line_wait(ep, 1000));
	close(ep);

	struct iv iv[128];
	/* Every entry counted below comes from a frame boundary after fc0. */
	uint32_t fc0 = frame_count(f, 0);
	ih_drain(f, iv, 128);
	uint64_t first_ts = 0, last_ts = 0;
	unsigned count = 0;
	uint64_t deadline = mono_ns() + 2000000000ull;
	while (count < 50 && mono_ns() < deadline) {
		sleep_ms(5);
		unsigned n = ih_drain(f, iv, 128);
		for (unsigned i = 0; i < n && i < 128; i++) {
			if (iv[i].src != SIM_AMDGPU_SRCID_D1_VERTICAL_INTERRUPT0)
				continue;
			assert_int_equal(iv[i].client, SIM_AMDGPU_IH_CLIENT_DCE);
			assert_int_equal(iv[i].data0, SIM_AMDGPU_EXTID_VERTICAL_INTERRUPT0);
			if (!count)
				first_ts = iv[i].ts;
			last_ts = iv[i].ts;
			count++;
		}
	}
	assert_true(count >= 50);
	double period = (double)(last_ts - first_ts) / (double)(count - 1) / (double)SIM_AMDGPU_GPU_CLOCK_HZ;
	double expect = (double)m.htotal * m.vtotal / (double)m.pclk;
	if (period < expect * 0.98 || period > expect * 1.02)
		fail_msg("vblank period %.6f s, mode says %.6f s", period, expect);
	/* The frame counter kept pace. */
	uint32_t frames = (frame_count(f, 0) - fc0) & 0xFFFFFF;
	assert_true(frames >= count);
	assert_true(rd(f, SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_CONTROL) & SIM_AMDGPU_VI0_STATUS);
	wr(f, SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_CONTROL, SIM_AMDGPU_VI0_INT_ENABLE | SIM_AMDGPU_VI0_CLEAR);
	assert_false(rd(f, SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_CONTROL) & SIM_AMDGPU_VI0_INT_STATUS);

	/* Position: inside the frame, counting; status agrees with it. */
	uint32_t pos = rd(f, SIM_AMDGPU_CRTC_STATUS_POSITION);
	assert_true((pos & 0x3FFF) < m.vtotal);
	assert_true(((pos >> 16) & 0x3FFF) < m.htotal);
	assert_true(rd(f, SIM_AMDGPU_CRTC_CONTROL) & SIM_AMDGPU_CRTC_CURRENT_MASTER_EN_STATE);

	/* Disabled: no more vblank entries. */
	wr(f, SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_CONTROL, 0);
	ih_drain(f, iv, 128);
	sleep_ms(30);
	assert_int_equal(ih_drain(f, iv, 128), 0);
}

/* Immediate flips post their entry synchronously: a deterministic IH source. */
static void immediate_flip(struct fixture *f, uint64_t addr)
{
	wr(f, SIM_AMDGPU_GRPH_PRIMARY_SURFACE_ADDRESS, (uint32_t)addr);
}

static void test_ih_wrap_and_writeback(void **state)
{
	struct fixture *f = *state;
	setup_ih(f, 256); /* 8 entries */
	struct mode m = small_mode(32, 16, 10);
	crtc_program(f, 0, &m);
	struct hw_dma s = surface_alloc(f, 32 * 16 * 4);
	uint64_t addr = gart_map(f, &s);
	primary_program(f, 0, FMT_XRGB8888, addr, 32, 32, 16);
	crtc_enable(f, 0, true);
	wr(f, SIM_AMDGPU_GRPH_FLIP_CONTROL, 1); /* SURFACE_UPDATE_H_RETRACE_EN */

	struct iv iv[16];
	ih_drain(f, iv, 16);
	/* 20 entries through an 8-entry ring, draining as we go: wraps twice. */
	for (unsigned i = 0; i < 20; i++) {
		immediate_flip(f, addr);
		uint32_t wptr = rd(f, SIM_AMDGPU_IH_RB_WPTR);
		assert_int_equal(wb_wptr(f), wptr); /* written back exactly */
		assert_int_equal(wptr & 1u, 0);     /* no overflow */
		assert_int_equal(ih_drain(f, iv, 16), 1);
		assert_int_equal(iv[0].client, SIM_AMDGPU_IH_CLIENT_DCE);
		assert_int_equal(iv[0].src, SIM_AMDGPU_SRCID_D1_GRPH_PFLIP);
	}
	assert_int_equal(rd(f, SIM_AMDGPU_IH_RB_WPTR), (20u * 32) % 256);

	/* Not draining: after 7 entries the ring is full and RB_OVERFLOW is raised. */
	for (unsigned i = 0; i < 8; i++)
		immediate_flip(f, addr);
	assert_int_equal(rd(f, SIM_AMDGPU_IH_RB_WPTR) & 1u, 1u);
	assert_int_equal(wb_wptr(f) & 1u, 1u);
	/* WPTR_OVERFLOW_CLEAR acknowledges it. */
	uint32_t cntl = rd(f, SIM_AMDGPU_IH_RB_CNTL);
	wr(f, SIM_AMDGPU_IH_RB_CNTL, cntl | SIM_AMDGPU_IH_RB_CNTL_WPTR_OVERFLOW_CLEAR);
	assert_int_equal(rd(f, SIM_AMDGPU_IH_RB_WPTR) & 1u, 0);
	assert_int_equal(rd(f, SIM_AMDGPU_IH_RB_CNTL), cntl);

	/* A disabled ring takes nothing. */
	wr(f, SIM_AMDGPU_IH_RB_CNTL, cntl & ~SIM_AMDGPU_IH_RB_CNTL_RB_ENABLE);
	uint32_t w0 = rd(f, SIM_AMDGPU_IH_RB_WPTR);
	immediate_flip(f, addr);
	assert_int_equal(rd(f, SIM_AMDGPU_IH_RB_WPTR), w0);
}

static void test_unmapped_is_black(void **state)
{
	struct fixture *f = *state;
	const uint32_t w = 32, h = 16;
	struct mode m = small_mode(w, h, 60);
	crtc_program(f, 0, &m);
	uint64_t before = sim_amdgpu_vm_faults(hw_sim_model(f->hw));
	/* A GART page with no PTE. */
	primary_program(f, 0, FMT_XRGB8888, GART_START + 100 * 4096, w, w, h);
	crtc_enable(f, 0, true);
	uint32_t px[32 * 16];
	memset(px, 0x55, sizeof(px));
	assert_int_equal(capture(f, 0, px, w, h), 0);
	for (unsigned i = 0; i < w * h; i++)
		assert_int_equal(px[i], 0);
	assert_true(sim_amdgpu_vm_faults(hw_sim_model(f->hw)) > before);

	/* Outside every aperture, and a PTE pointing at nothing on the bus. */
	primary_program(f, 0, FMT_XRGB8888, 0x0000001000000000ull, w, w, h);
	wait_vblank(f, 0);
	assert_int_equal(capture(f, 0, px, w, h), 0);
	assert_int_equal(px[0], 0);
	uint64_t *pte = f->gart.cpu;
	pte[200] = 0x7FFF00000000ull | SIM_AMDGPU_PTE_VALID | SIM_AMDGPU_PTE_SYSTEM | SIM_AMDGPU_PTE_READABLE;
	primary_program(f, 0, FMT_XRGB8888, GART_START + 200 * 4096, w, w, h);
	wait_vblank(f, 0);
	assert_int_equal(capture(f, 0, px, w, h), 0);
	assert_int_equal(px[w * h - 1], 0);
	/* A PTE without READABLE is a fault too. */
	struct hw_dma s = surface_alloc(f, 4096);
	((uint32_t *)s.cpu)[0] = 0x123456;
	pte[300] = s.bus_addr | SIM_AMDGPU_PTE_VALID | SIM_AMDGPU_PTE_SYSTEM;
	primary_program(f, 0, FMT_XRGB8888, GART_START + 300 * 4096, w, w, h);
	wait_vblank(f, 0);
	assert_int_equal(capture(f, 0, px, w, h), 0);
	assert_int_equal(px[0], 0);
	pte[300] |= SIM_AMDGPU_PTE_READABLE;
	assert_int_equal(capture(f, 0, px, w, h), 0); /* no TLB: the new PTE is seen at once */
	assert_int_equal(px[0], 0x123456);
}

/* ---- I2C master over the DDC GPIO pins (open drain: EN=1 pulls low, EN=0 releases) ---- */

struct i2c {
	struct fixture *f;
	uint32_t base; /* DC_GPIO_DDCn_MASK */
	uint32_t en;
};

static void pins(struct i2c *b, bool scl, bool sda)
{
	b->en = (scl ? 0 : SIM_AMDGPU_DC_GPIO_DDC_CLK) | (sda ? 0 : SIM_AMDGPU_DC_GPIO_DDC_DATA);
	wr(b->f, b->base + (SIM_AMDGPU_DC_GPIO_DDC1_EN - SIM_AMDGPU_DC_GPIO_DDC1_MASK), b->en);
}

static void set_scl(struct i2c *b, bool v)
{
	pins(b, v, !(b->en & SIM_AMDGPU_DC_GPIO_DDC_DATA));
}

static void set_sda(struct i2c *b, bool v)
{
	pins(b, !(b->en & SIM_AMDGPU_DC_GPIO_DDC_CLK), v);
}

static bool get_sda(struct i2c *b)
{
	return rd(b->f, b->base + (SIM_AMDGPU_DC_GPIO_DDC1_Y - SIM_AMDGPU_DC_GPIO_DDC1_MASK)) &
	       SIM_AMDGPU_DC_GPIO_DDC_DATA;
}

static void i2c_start(struct i2c *b)
{
	set_sda(b, true);
	set_scl(b, true);
	set_sda(b, false);
	set_scl(b, false);
}

static void i2c_stop(struct i2c *b)
{
	set_sda(b, false);
	set_scl(b, true);
	set_sda(b, true);
}

static bool i2c_write_byte(struct i2c *b, uint8_t v)
{
	for (int i = 7; i >= 0; i--) {
		set_sda(b, (v >> i) & 1);
		set_scl(b, true);
		set_scl(b, false);
	}
	set_sda(b, true);
	set_scl(b, true);
	bool ack = !get_sda(b);
	set_scl(b, false);
	return ack;
}

static uint8_t i2c_read_byte(struct i2c *b, bool ack)
{
	uint8_t v = 0;
	set_sda(b, true);
	for (int i = 0; i < 8; i++) {
		set_scl(b, true);
		v = (uint8_t)(v << 1 | get_sda(b));
		set_scl(b, false);
	}
	set_sda(b, !ack);
	set_scl(b, true);
	set_scl(b, false);
	set_sda(b, true);
	return v;
}

static void i2c_init(struct i2c *b, struct fixture *f, unsigned line)
{
	b->f = f;
	b->base = SIM_AMDGPU_DC_GPIO_DDC1_MASK + line * SIM_AMDGPU_DC_GPIO_DDC_STRIDE;
	b->en = 0;
	uint32_t both = SIM_AMDGPU_DC_GPIO_DDC_CLK | SIM_AMDGPU_DC_GPIO_DDC_DATA;
	wr(f, b->base + (SIM_AMDGPU_DC_GPIO_DDC1_A - SIM_AMDGPU_DC_GPIO_DDC1_MASK), 0);
	wr(f, b->base + (SIM_AMDGPU_DC_GPIO_DDC1_EN - SIM_AMDGPU_DC_GPIO_DDC1_MASK), 0);
	wr(f, b->base, both);
}

/* The driver's EDID read: set the word address to 0, then read 128 bytes. */
static int read_edid(struct fixture *f, unsigned line, uint8_t *out, unsigned len, uint8_t offset)
{
	struct i2c b;
	i2c_init(&b, f, line);
	i2c_start(&b);
	if (!i2c_write_byte(&b, SIM_EDID_I2C_ADDR << 1) || !i2c_write_byte(&b, offset)) {
		i2c_stop(&b);
		return -ENXIO;
	}
	i2c_start(&b); /* repeated START */
	if (!i2c_write_byte(&b, SIM_EDID_I2C_ADDR << 1 | 1)) {
		i2c_stop(&b);
		return -ENXIO;
	}
	for (unsigned i = 0; i < len; i++)
		out[i] = i2c_read_byte(&b, i + 1 < len);
	i2c_stop(&b);
	return 0;
}

static void test_edid_over_ddc(void **state)
{
	struct fixture *f = *state;
	uint8_t expect[SIM_EDID_SIZE], got[SIM_EDID_SIZE];
	sim_edid_build(expect, "RDRM Vega", 527, 296);
	assert_int_equal(read_edid(f, 0, got, sizeof(got), 0), 0);
	assert_memory_equal(got, expect, sizeof(got));
	/* Again (the slave returned to idle), and from an offset. */
	memset(got, 0, sizeof(got));
	assert_int_equal(read_edid(f, 0, got, 16, 0x36), 0);
	assert_memory_equal(got, expect + 0x36, 16);
	/* Line 2: nobody answers. */
	assert_int_equal(read_edid(f, 1, got, sizeof(got), 0), -ENXIO);
	/* Released pins read high; a pin not under GPIO control is not driven. */
	uint32_t y = rd(f, SIM_AMDGPU_DC_GPIO_DDC1_Y);
	assert_int_equal(y & (SIM_AMDGPU_DC_GPIO_DDC_CLK | SIM_AMDGPU_DC_GPIO_DDC_DATA),
			 SIM_AMDGPU_DC_GPIO_DDC_CLK | SIM_AMDGPU_DC_GPIO_DDC_DATA);
	wr(f, SIM_AMDGPU_DC_GPIO_DDC1_MASK, 0);
	wr(f, SIM_AMDGPU_DC_GPIO_DDC1_EN, SIM_AMDGPU_DC_GPIO_DDC_CLK);
	assert_true(rd(f, SIM_AMDGPU_DC_GPIO_DDC1_Y) & SIM_AMDGPU_DC_GPIO_DDC_CLK);
}

static void test_hpd(void **state)
{
	struct fixture *f = *state;
	/* Nothing is sensed until the HPD blocks are enabled. */
	assert_false(rd(f, SIM_AMDGPU_DC_HPD0_INT_STATUS) & SIM_AMDGPU_DC_HPD_SENSE);
	wr(f, SIM_AMDGPU_DC_HPD0_CONTROL, SIM_AMDGPU_DC_HPD_EN);
	wr(f, SIM_AMDGPU_DC_HPD0_CONTROL + SIM_AMDGPU_DC_HPD_STRIDE, SIM_AMDGPU_DC_HPD_EN);
	assert_true(rd(f, SIM_AMDGPU_DC_HPD0_INT_STATUS) & SIM_AMDGPU_DC_HPD_SENSE);
	assert_false(rd(f, SIM_AMDGPU_DC_HPD0_INT_STATUS + SIM_AMDGPU_DC_HPD_STRIDE) & SIM_AMDGPU_DC_HPD_SENSE);
	wr(f, SIM_AMDGPU_DC_HPD0_INT_STATUS, 0); /* read only */
	assert_true(rd(f, SIM_AMDGPU_DC_HPD0_INT_STATUS) & SIM_AMDGPU_DC_HPD_SENSE);
}

static void test_misbehaviour(void **state)
{
	struct fixture *f = *state;
	struct sim_model *model = hw_sim_model(f->hw);
	struct mode m = small_mode(32, 16, 200);
	setup_ih(f, 16384);
	crtc_program(f, 0, &m);
	crtc_enable(f, 0, true);
	wr(f, SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_CONTROL, SIM_AMDGPU_VI0_INT_ENABLE);
	struct iv iv[256];
	sleep_ms(30);
	assert_true(ih_drain(f, iv, 256) > 0);

	/* Dropped: frames go on, the status bit is set, no entries reach the ring. */
	sim_amdgpu_display_set_fault(model, SIM_AMDGPU_DISPLAY_DROP_VBLANK, 0);
	ih_drain(f, iv, 256);
	uint32_t fc = frame_count(f, 0);
	sleep_ms(40);
	assert_int_equal(ih_drain(f, iv, 256), 0);
	assert_true(((frame_count(f, 0) - fc) & 0xFFFFFF) >= 4);
	assert_true(rd(f, SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_CONTROL) & SIM_AMDGPU_VI0_STATUS);

	/* Delayed by 50 ms: nothing for a while, then the entries, stamped late. */
	sim_amdgpu_display_set_fault(model, SIM_AMDGPU_DISPLAY_DELAY_IRQ, 50000);
	ih_drain(f, iv, 256);
	sleep_ms(20);
	assert_int_equal(ih_drain(f, iv, 256), 0);
	sleep_ms(80);
	assert_true(ih_drain(f, iv, 256) > 0);

	sim_amdgpu_display_set_fault(model, SIM_AMDGPU_DISPLAY_FAULT_NONE, 0);
	sleep_ms(80); /* let delayed entries drain */
	ih_drain(f, iv, 256);
	sleep_ms(30);
	assert_true(ih_drain(f, iv, 256) > 0);
}

static void test_vm_invalidate_and_vmids(void **state)
{
	struct fixture *f = *state;
	/* REQ on any engine is acknowledged for the requested VMIDs at once. */
	wr(f, SIM_AMDGPU_MMHUB_VM_INVALIDATE_ENG0_REQ + 3 * 4, 0x0006u);
	assert_int_equal(rd(f, SIM_AMDGPU_MMHUB_VM_INVALIDATE_ENG0_ACK + 3 * 4), 0x0006u);

	/* VMID 1 with a 4-level table (PDB2 -> PDB1 -> PDB0 -> PTB), and a 2 MiB page. */
	struct hw_dma t = surface_alloc(f, 6 * 4096);
	uint64_t *pd2 = t.cpu, *pd1 = pd2 + 512, *pd0 = pd1 + 512, *pt = pd0 + 512;
	uint8_t *page = (uint8_t *)(pt + 512);
	uint64_t bus = t.bus_addr;
	const uint64_t va = 0x0000123456789000ull;
	uint64_t sys = SIM_AMDGPU_PTE_VALID | SIM_AMDGPU_PTE_SYSTEM;
	pd2[(va >> 39) & 0x1FF] = (bus + 4096) | sys;
	pd1[(va >> 30) & 0x1FF] = (bus + 8192) | sys;
	pd0[(va >> 21) & 0x1FF] = (bus + 12288) | sys;
	pt[(va >> 12) & 0x1FF] = (bus + 16384) | sys | SIM_AMDGPU_PTE_READABLE;
	memcpy(page + 0x10, "vmid1", 6);
	wr(f, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_BASE_LO32 + 8, (uint32_t)(bus | sys));
	wr(f, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_BASE_LO32 + 12, (uint32_t)(bus >> 32));
	wr(f, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_END_LO32 + 8, 0xFFFFFFFFu);
	wr(f, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_END_LO32 + 12, 0xF);
	wr(f, SIM_AMDGPU_MMHUB_VM_CONTEXT0_CNTL + 4, 1u | 3u << 1);

	struct sim_model *model = hw_sim_model(f->hw);
	struct sim_amdgpu_vm_ctx ctx;
	pthread_mutex_lock(sim_amdgpu_lock(model));
	assert_int_equal(sim_amdgpu_vm_snapshot(model, SIM_AMDGPU_MMHUB, 1, &ctx), 0);
	pthread_mutex_unlock(sim_amdgpu_lock(model));
	char buf[6];
	assert_int_equal(sim_amdgpu_vm_read(&ctx, va + 0x10, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "vmid1");
	/* Not writeable, and the next page is unmapped. */
	assert_int_equal(sim_amdgpu_vm_write(&ctx, va + 0x10, "x", 1), -EFAULT);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, va + 4096, buf, 1), -EFAULT);
	/* VMID 1 has no system aperture: an FB address is not reachable there. */
	assert_int_equal(sim_amdgpu_vm_read(&ctx, FB_START, buf, 1), -EFAULT);
	/* A PDB0 entry with PDE_PTE maps 2 MiB directly. */
	pd0[(va >> 21) & 0x1FF] = (t.bus_addr & ~0x1FFFFFull) | sys | SIM_AMDGPU_PDE_PTE | SIM_AMDGPU_PTE_READABLE;
	uint64_t pa;
	bool system;
	assert_int_equal(sim_amdgpu_vm_translate(&ctx, va + 0x10, false, &pa, &system), 0);
	assert_true(system);
	assert_int_equal(pa, (t.bus_addr & ~0x1FFFFFull) | ((va + 0x10) & 0x1FFFFF));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_edid_block),
		cmocka_unit_test_setup_teardown(test_gart_scanout_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_viewport_and_fb_aperture, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cursor_blend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_legacy_lut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip_latches_at_vblank, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vblank_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ih_wrap_and_writeback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmapped_is_black, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edid_over_ddc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hpd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_misbehaviour, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vm_invalidate_and_vmids, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
