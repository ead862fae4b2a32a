/*
 * Skylake display engine model, register by register through the hw ops:
 * clocks and pipe enable, planes and cursor through the GGTT to the capture,
 * double buffering and flip done, pipe gamma, vblank interrupts and their
 * rate, GMBUS EDID, hot-plug, and the misbehaviour switches.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "hw_sim.h"
#include "irq_line.h"
#include "i915/sim_i915.h"
#include "redox-drm/hw.h"
#include "sim_edid.h"

#define BAR0 0
#define GGTT_PTES (8u << 20)

/* Register offsets as the public sources give them (not the model's macros). */
#define TRANS_HTOTAL(p) (0x60000u + 0x1000u * (p))
#define TRANS_HBLANK(p) (0x60004u + 0x1000u * (p))
#define TRANS_HSYNC(p) (0x60008u + 0x1000u * (p))
#define TRANS_VTOTAL(p) (0x6000Cu + 0x1000u * (p))
#define TRANS_VBLANK(p) (0x60010u + 0x1000u * (p))
#define TRANS_VSYNC(p) (0x60014u + 0x1000u * (p))
#define PIPESRC(p) (0x6001Cu + 0x1000u * (p))
#define TRANS_DDI_FUNC_CTL(p) (0x60400u + 0x1000u * (p))
#define PIPEDSL(p) (0x70000u + 0x1000u * (p))
#define PIPECONF(p) (0x70008u + 0x1000u * (p))
#define PIPE_FRMCOUNT(p) (0x70040u + 0x1000u * (p))
#define PLANE(p, n, r) (0x70180u + 0x1000u * (p) + 0x100u * ((n) - 1) + (r))
#define PLANE_CTL(p, n) PLANE(p, n, 0x00)
#define PLANE_STRIDE(p, n) PLANE(p, n, 0x08)
#define PLANE_POS(p, n) PLANE(p, n, 0x0C)
#define PLANE_SIZE(p, n) PLANE(p, n, 0x10)
#define PLANE_SURF(p, n) PLANE(p, n, 0x1C)
#define PLANE_OFFSET(p, n) PLANE(p, n, 0x24)
#define PLANE_SURFLIVE(p, n) PLANE(p, n, 0x2C)
#define CURCNTR(p) (0x70080u + 0x1000u * (p))
#define CURBASE(p) (0x70084u + 0x1000u * (p))
#define CURPOS(p) (0x70088u + 0x1000u * (p))
#define DE_PIPE_ISR(p) (0x44400u + 0x10u * (p))
#define DE_PIPE_IMR(p) (0x44404u + 0x10u * (p))
#define DE_PIPE_IIR(p) (0x44408u + 0x10u * (p))
#define DE_PIPE_IER(p) (0x4440Cu + 0x10u * (p))
#define MASTER_IRQ 0x44200u
#define SDEISR 0xC4000u
#define SDEIMR 0xC4004u
#define SDEIIR 0xC4008u
#define SDEIER 0xC400Cu
#define PCH_PORT_HOTPLUG 0xC4030u
#define GMBUS0 0xC5100u
#define GMBUS1 0xC5104u
#define GMBUS2 0xC5108u
#define GMBUS3 0xC510Cu
#define LCPLL2_CTL 0x46014u
#define WRPLL_CTL1 0x46040u
#define DPLL_CTRL1 0x6C058u
#define DPLL_CTRL2 0x6C05Cu
#define DPLL_STATUS 0x6C060u
#define DPLL_CFGCR1(id) (0x6C040u + 8u * ((id) - 1))
#define DPLL_CFGCR2(id) (0x6C044u + 8u * ((id) - 1))
#define DDI_BUF_CTL(port) (0x64000u + 0x100u * (port))

#define PIPE_VBLANK 0x1u
#define FLIP_DONE(n) (1u << (2 + (n)))
#define CTL_ENABLE 0x80000000u
#define FMT_2101010 (2u << 24)
#define FMT_8888 (4u << 24)
#define FMT_565 (14u << 24)
#define ORDER_RGBX (1u << 20)
#define ALPHA_PREMUL (2u << 4)
#define ALPHA_COVERAGE (3u << 4)
#define GMBUS_SW_CLR_INT 0x80000000u
#define GMBUS_SW_RDY 0x40000000u
#define GMBUS_CYCLE_WAIT (1u << 25)
#define GMBUS_CYCLE_INDEX (2u << 25)
#define GMBUS_CYCLE_STOP (4u << 25)
#define GMBUS_HW_WAIT_PHASE (1u << 14)
#define GMBUS_HW_RDY (1u << 11)
#define GMBUS_SATOER (1u << 10)
#define GMBUS_ACTIVE (1u << 9)

/* A small mode so tests run many frames quickly: 160x200 active in 200x250 at 25.2 MHz = 504 Hz. */
struct mode {
	uint32_t hactive, hsync_start, hsync_end, htotal, vactive, vsync_start, vsync_end, vtotal;
	/* WRPLL for the port clock: DCO integer/fraction, PDIV/QDIV/KDIV codes. */
	uint32_t cfgcr1, cfgcr2;
	double hz;
};

static const struct mode small = {
	160, 170, 180, 200, 200, 210, 215, 250,
	/* DCO 9072 MHz = 378 x 24 MHz; 9072 / (5 x 2 x 12 x 3) = 25.2 MHz. */
	0x80000000u | 378u, (12u << 8) | (1u << 7) | (2u << 5) | (1u << 2) | 1u,
	25200000.0 / (200 * 250),
};

/* CEA 1080p60: 148.5 MHz from DCO 8910 MHz = 371.25 x 24 MHz, / (5 x 2 x 2 x 3). */
static const struct mode full_hd = {
	1920, 2008, 2052, 2200, 1080, 1084, 1089, 1125,
	0x80000000u | (8192u << 9) | 371u, (2u << 8) | (1u << 7) | (2u << 5) | (1u << 2) | 1u,
	148500000.0 / (2200 * 1125),
};

/* The interrupt line of the test's device, watched as the daemon does. */
static int irq_ep = -1;

static int setup(void **state)
{
	struct hw_device *hw = hw_sim_create("i915", 0);
	if (!hw)
		return -1;
	irq_ep = irq_line_open(hw);
	*state = hw;
	return 0;
}

static int teardown(void **state)
{
	close(irq_ep);
	irq_ep = -1;
	hw_destroy(*state);
	return 0;
}

static uint32_t rd(struct hw_device *hw, uint32_t off)
{
	return hw_read32(hw, BAR0, off);
}

static void wr(struct hw_device *hw, uint32_t off, uint32_t v)
{
	hw_write32(hw, BAR0, off, v);
}

/* The line was raised since the last look (irq_line.h). */
static bool irq_pending(struct hw_device *hw)
{
	(void)hw;
	return irq_line_wait(irq_ep, 0);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_us(unsigned us)
{
	struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000};
	nanosleep(&ts, NULL);
}

/* Waits until the frame counter has moved n past start; false after a second. */
static bool wait_frames(struct hw_device *hw, unsigned pipe, uint32_t start, uint32_t n)
{
	uint64_t end = now_ns() + 1000000000ull;
	while (rd(hw, PIPE_FRMCOUNT(pipe)) - start < n) {
		if (now_ns() > end)
			return false;
		sleep_us(200);
	}
	return true;
}

/* DPLL (1 + pipe) in HDMI mode feeding DDI port, then the transcoder and the pipe. */
static void pipe_on(struct hw_device *hw, unsigned pipe, const struct mode *m, unsigned port)
{
	unsigned id = 1 + pipe;
	uint32_t ctrl1 = rd(hw, DPLL_CTRL1) & ~(0x3Fu << (6 * id));
	wr(hw, DPLL_CTRL1, ctrl1 | (0x21u << (6 * id))); /* HDMI mode, override */
	wr(hw, DPLL_CFGCR1(id), m->cfgcr1);
	wr(hw, DPLL_CFGCR2(id), m->cfgcr2);
	wr(hw, id == 1 ? LCPLL2_CTL : WRPLL_CTL1, 0x80000000u);
	assert_true(rd(hw, DPLL_STATUS) & (1u << (8 * id)));
	uint32_t ctrl2 = rd(hw, DPLL_CTRL2);
	ctrl2 &= ~((1u << (port + 15)) | (3u << (3 * port + 1)));
	wr(hw, DPLL_CTRL2, ctrl2 | (id << (3 * port + 1)) | (1u << (3 * port)));
	wr(hw, DDI_BUF_CTL(port), 0x80000000u);

	wr(hw, TRANS_HTOTAL(pipe), (m->htotal - 1) << 16 | (m->hactive - 1));
	wr(hw, TRANS_HBLANK(pipe), (m->htotal - 1) << 16 | (m->hactive - 1));
	wr(hw, TRANS_HSYNC(pipe), (m->hsync_end - 1) << 16 | (m->hsync_start - 1));
	wr(hw, TRANS_VTOTAL(pipe), (m->vtotal - 1) << 16 | (m->vactive - 1));
	wr(hw, TRANS_VBLANK(pipe), (m->vtotal - 1) << 16 | (m->vactive - 1));
	wr(hw, TRANS_VSYNC(pipe), (m->vsync_end - 1) << 16 | (m->vsync_start - 1));
	wr(hw, PIPESRC(pipe), (m->hactive - 1) << 16 | (m->vactive - 1));
	wr(hw, TRANS_DDI_FUNC_CTL(pipe), 0x80000000u | port << 28 | 0u << 24 /* HDMI */);
	wr(hw, PIPECONF(pipe), 0x80000000u);
	assert_int_equal(rd(hw, PIPECONF(pipe)), 0xC0000000u);
}

/* A DMA buffer mapped into the GGTT at gfx (4 KiB pages, one PTE each). */
static struct hw_dma map_buffer(struct hw_device *hw, uint32_t gfx, size_t size)
{
	struct hw_dma dma;
	assert_int_equal(hw->ops->dma_alloc(hw, size, &dma), 0);
	memset(dma.cpu, 0, dma.size);
	for (size_t off = 0; off < dma.size; off += 4096)
		hw_write64(hw, BAR0, GGTT_PTES + (gfx + off) / 4096 * 8, (dma.bus_addr + off) | 1);
	return dma;
}

static void put32(struct hw_dma *d, uint32_t pitch, uint32_t x, uint32_t y, uint32_t v)
{
	memcpy((uint8_t *)d->cpu + (size_t)y * pitch + x * 4, &v, 4);
}

static void fill32(struct hw_dma *d, uint32_t pitch, uint32_t w, uint32_t h, uint32_t v)
{
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			put32(d, pitch, x, y, v);
}

static void plane_set(struct hw_device *hw, unsigned pipe, unsigned n, uint32_t ctl, uint32_t gfx, uint32_t pitch,
		      uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
	wr(hw, PLANE_CTL(pipe, n), ctl);
	wr(hw, PLANE_STRIDE(pipe, n), pitch / 64);
	wr(hw, PLANE_POS(pipe, n), y << 16 | x);
	wr(hw, PLANE_SIZE(pipe, n), (h - 1) << 16 | (w - 1));
	wr(hw, PLANE_OFFSET(pipe, n), 0);
	wr(hw, PLANE_SURF(pipe, n), gfx);
}

static uint32_t *capture(struct hw_device *hw, unsigned pipe, uint32_t w, uint32_t h)
{
	uint32_t *px = malloc((size_t)w * h * 4);
	assert_non_null(px);
	assert_int_equal(hw->ops->scanout_capture(hw, pipe, px, w, h), 0);
	return px;
}

static void test_pipe_enable_needs_clock(void **state)
{
	struct hw_device *hw = *state;
	/* Reset: everything off, all display interrupts masked. */
	for (unsigned p = 0; p < 3; p++) {
		assert_int_equal(rd(hw, DE_PIPE_IMR(p)), 0xFFFFFFFFu);
		assert_int_equal(rd(hw, DE_PIPE_IIR(p)), 0);
	}
	assert_int_equal(rd(hw, PIPECONF(0)), 0);
	assert_int_equal(rd(hw, DDI_BUF_CTL(1)), 0x80); /* idle */
	uint32_t px[4];
	assert_int_equal(hw->ops->scanout_capture(hw, 0, px, 2, 2), -ENODEV);
	assert_int_equal(hw->ops->scanout_capture(hw, 7, px, 2, 2), -ENODEV);
	assert_int_equal(hw->ops->scanout_capture(hw, 0, NULL, 2, 2), -EINVAL);

	/* Timings and an enabled transcoder, but no clock routed: the pipe never runs. */
	const struct mode *m = &small;
	wr(hw, TRANS_HTOTAL(0), (m->htotal - 1) << 16 | (m->hactive - 1));
	wr(hw, TRANS_VTOTAL(0), (m->vtotal - 1) << 16 | (m->vactive - 1));
	wr(hw, TRANS_VBLANK(0), (m->vtotal - 1) << 16 | (m->vactive - 1));
	wr(hw, PIPESRC(0), (m->hactive - 1) << 16 | (m->vactive - 1));
	wr(hw, TRANS_DDI_FUNC_CTL(0), 0x80000000u | 1u << 28);
	wr(hw, PIPECONF(0), 0xC0000000u); /* the state bit is read-only */
	assert_int_equal(rd(hw, PIPECONF(0)), 0x80000000u);
	uint32_t f = rd(hw, PIPE_FRMCOUNT(0));
	sleep_us(5000);
	assert_int_equal(rd(hw, PIPE_FRMCOUNT(0)), f);
	assert_int_equal(rd(hw, PIPEDSL(0)), 0);

	/* A DPLL with dividers outside the DCO range does not lock. */
	wr(hw, DPLL_CTRL1, rd(hw, DPLL_CTRL1) | 0x21u << 6);
	wr(hw, DPLL_CFGCR1(1), 0x80000000u | 100u); /* 2.4 GHz DCO */
	wr(hw, DPLL_CFGCR2(1), m->cfgcr2);
	wr(hw, LCPLL2_CTL, 0x80000000u);
	assert_int_equal(rd(hw, DPLL_STATUS) & 0x100, 0);
	assert_int_equal(rd(hw, DPLL_STATUS) & 0x1, 0x1); /* DPLL0 runs from reset */

	/* Now properly: the state bit follows, the scanline and frame counter move. */
	pipe_on(hw, 0, m, 1);
	assert_int_equal(rd(hw, DDI_BUF_CTL(1)), 0x80000000u);
	assert_true(wait_frames(hw, 0, f, 3));
	for (int i = 0; i < 50; i++)
		assert_true(rd(hw, PIPEDSL(0)) < m->vtotal);

	/* Gating the DDI clock stops the pipe; ungating restarts it. */
	uint32_t ctrl2 = rd(hw, DPLL_CTRL2);
	wr(hw, DPLL_CTRL2, ctrl2 | (1u << 16));
	assert_int_equal(rd(hw, PIPECONF(0)), 0x80000000u);
	wr(hw, DPLL_CTRL2, ctrl2);
	assert_int_equal(rd(hw, PIPECONF(0)), 0xC0000000u);

	/* Disable: the state bit drops at once and frames stop. */
	wr(hw, PIPECONF(0), 0);
	assert_int_equal(rd(hw, PIPECONF(0)), 0);
	f = rd(hw, PIPE_FRMCOUNT(0));
	sleep_us(5000);
	assert_int_equal(rd(hw, PIPE_FRMCOUNT(0)), f);
	assert_int_equal(hw->ops->scanout_capture(hw, 0, px, 2, 2), -ENODEV);
}

/* Each plane format through PLANE_CTL, the GGTT and the capture. */
static void test_plane_formats(void **state)
{
	struct hw_device *hw = *state;
	const struct {
		uint32_t ctl, raw, cpp, want;
	} cases[] = {
		{FMT_8888, 0xAA123456, 4, 0x123456},
		{FMT_8888 | ORDER_RGBX, 0xAA563412, 4, 0x123456},
		{FMT_8888 | ALPHA_PREMUL, 0xFF123456, 4, 0x123456},
		{FMT_8888 | ORDER_RGBX | ALPHA_PREMUL, 0xFF563412, 4, 0x123456},
		{FMT_8888 | ALPHA_PREMUL, 0x00000000, 4, 0x000000},
		{FMT_565, 0xF800F800, 2, 0xFF0000},
		{FMT_565, 0x07E007E0, 2, 0x00FF00},
		{FMT_2101010, 0x3FF00000, 4, 0xFF0000},
		{FMT_2101010, 0x000003FF, 4, 0x0000FF},
		{FMT_2101010 | ORDER_RGBX, 0x000003FF, 4, 0xFF0000},
		/* Layouts the model does not fetch show black: X tiling. */
		{FMT_8888 | (1u << 10), 0x00FFFFFF, 4, 0x000000},
	};
	const uint32_t w = 160, h = 200, pitch = 1024, gfx = 0x100000;
	struct hw_dma fb = map_buffer(hw, gfx, (size_t)pitch * h);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		for (uint32_t y = 0; y < h; y++)
			for (uint32_t x = 0; x < pitch / 4; x++)
				put32(&fb, pitch, x, y, cases[c].raw);
		uint32_t f = rd(hw, PIPE_FRMCOUNT(0));
		plane_set(hw, 0, 1, CTL_ENABLE | cases[c].ctl, gfx, pitch, 0, 0, w, h);
		if (c == 0)
			pipe_on(hw, 0, &small, 1); /* written with the pipe off: in effect at once */
		else
			assert_true(wait_frames(hw, 0, f, 1)); /* armed: in effect from the next vblank */
		assert_int_equal(rd(hw, PLANE_SURFLIVE(0, 1)), gfx);
		uint32_t *px = capture(hw, 0, w, h);
		for (uint32_t i = 0; i < w * h; i += 97)
			assert_int_equal(px[i], cases[c].want);
		assert_int_equal(px[w * h - 1], cases[c].want);
		free(px);
	}
	hw->ops->dma_free(hw, &fb);
}

/* Primary, an alpha overlay, and a cursor hanging off the top left corner. */
static void test_overlay_and_cursor(void **state)
{
	struct hw_device *hw = *state;
	const uint32_t w = 160, h = 200;
	struct hw_dma pri = map_buffer(hw, 0x000000, 640 * 200);
	struct hw_dma ovl = map_buffer(hw, 0x040000, 256 * 32);
	struct hw_dma cur = map_buffer(hw, 0x080000, 64 * 64 * 4);
	fill32(&pri, 640, w, h, 0x00204080);
	fill32(&ovl, 256, 40, 30, 0x80808080); /* premultiplied half-transparent white */
	for (uint32_t y = 0; y < 64; y++)
		for (uint32_t x = 0; x < 64; x++)
			put32(&cur, 256, x, y, x < 32 ? 0xFFFF0000 : 0x00000000); /* left half opaque red */

	plane_set(hw, 0, 1, CTL_ENABLE | FMT_8888, 0x000000, 640, 0, 0, w, h);
	plane_set(hw, 0, 2, CTL_ENABLE | FMT_8888 | ALPHA_PREMUL, 0x040000, 256, 100, 150, 40, 30);
	wr(hw, CURCNTR(0), 0x27);
	wr(hw, CURPOS(0), 0x80000000u | 10u << 16 | 0x8000u | 20u); /* (-20, -10) */
	wr(hw, CURBASE(0), 0x080000);
	pipe_on(hw, 0, &small, 1);

	uint32_t *px = capture(hw, 0, w, h);
	uint32_t blend = 0x90A0C0; /* 0x80 + 0x204080 * 127/255, rounded */
	assert_int_equal(px[0], 0xFF0000);            /* cursor column 20: opaque */
	assert_int_equal(px[53 * w + 11], 0xFF0000);  /* cursor row 63 */
	assert_int_equal(px[54 * w + 11], 0x204080);  /* below the cursor */
	assert_int_equal(px[5 * w + 11], 0xFF0000);   /* cursor x 31 */
	assert_int_equal(px[5 * w + 12], 0x204080);   /* cursor x 32: transparent */
	assert_int_equal(px[150 * w + 100], blend);
	assert_int_equal(px[179 * w + 139], blend);
	assert_int_equal(px[180 * w + 139], 0x204080);
	assert_int_equal(px[179 * w + 140], 0x204080);
	assert_int_equal(px[149 * w + 100], 0x204080);
	free(px);

	/* A capture buffer larger than the mode: the rest is black; a smaller one is cut. */
	px = capture(hw, 0, w + 10, h + 5);
	assert_int_equal(px[(h - 1) * (w + 10) + w - 1], 0x204080);
	assert_int_equal(px[(h - 1) * (w + 10) + w], 0);
	assert_int_equal(px[h * (w + 10)], 0);
	free(px);
	px = capture(hw, 0, 8, 8);
	assert_int_equal(px[0], 0xFF0000);
	assert_int_equal(px[7 * 8 + 7], 0xFF0000);
	free(px);

	/* Disabling the cursor takes effect at the next vblank. */
	uint32_t f = rd(hw, PIPE_FRMCOUNT(0));
	assert_true(wait_frames(hw, 0, f, 1));
	f = rd(hw, PIPE_FRMCOUNT(0));
	wr(hw, CURCNTR(0), 0);
	wr(hw, CURBASE(0), 0);
	px = capture(hw, 0, w, h);
	if (rd(hw, PIPE_FRMCOUNT(0)) == f)
		assert_int_equal(px[0], 0xFF0000); /* not yet */
	free(px);
	assert_true(wait_frames(hw, 0, f, 1));
	px = capture(hw, 0, w, h);
	assert_int_equal(px[0], 0x204080);
	free(px);
	hw->ops->dma_free(hw, &pri);
	hw->ops->dma_free(hw, &ovl);
	hw->ops->dma_free(hw, &cur);
}

/* PLANE_SURF arms; the flip happens at the start of vblank, with FLIP_DONE and VBLANK in IIR. */
static void test_flip_latches_at_vblank(void **state)
{
	struct hw_device *hw = *state;
	const uint32_t w = 160, h = 200, pitch = 640;
	struct hw_dma a = map_buffer(hw, 0x100000, pitch * h), b = map_buffer(hw, 0x200000, pitch * h);
	fill32(&a, pitch, w, h, 0x000000FF);
	fill32(&b, pitch, w, h, 0x0000FF00);
	plane_set(hw, 0, 1, CTL_ENABLE | FMT_8888, 0x100000, pitch, 0, 0, w, h);
	pipe_on(hw, 0, &small, 1);
	wr(hw, DE_PIPE_IMR(0), ~(PIPE_VBLANK | FLIP_DONE(1)));
	wr(hw, DE_PIPE_IER(0), PIPE_VBLANK | FLIP_DONE(1));
	wr(hw, MASTER_IRQ, 0x80000000u);

	for (int round = 0; round < 4; round++) {
		/* Start right after a vblank so the frame has ~2 ms left. */
		uint32_t f = rd(hw, PIPE_FRMCOUNT(0));
		assert_true(wait_frames(hw, 0, f, 1));
		wr(hw, DE_PIPE_IIR(0), 0xFFFFFFFFu);
		hw->ops->irq_ack(hw);
		f = rd(hw, PIPE_FRMCOUNT(0));

		uint32_t next = round & 1 ? 0x100000 : 0x200000, old = round & 1 ? 0x200000 : 0x100000;
		wr(hw, PLANE_SURF(0, 1), next);
		assert_int_equal(rd(hw, PLANE_SURF(0, 1)), next);
		{
			/* Armed, not latched: the monitor still shows the old buffer, no flip done yet
			 * (checked only if no vblank came while looking). */
			uint32_t live = rd(hw, PLANE_SURFLIVE(0, 1));
			uint32_t *px = capture(hw, 0, w, h);
			uint32_t iir = rd(hw, DE_PIPE_IIR(0));
			if (rd(hw, PIPE_FRMCOUNT(0)) == f) {
				assert_int_equal(live, old);
				assert_int_equal(px[w * h / 2], old == 0x100000 ? 0xFF : 0xFF00);
				assert_int_equal(iir & FLIP_DONE(1), 0);
			}
			free(px);
		}
		assert_true(wait_frames(hw, 0, f, 1));
		assert_int_equal(rd(hw, PLANE_SURFLIVE(0, 1)), next);
		assert_int_equal(rd(hw, DE_PIPE_IIR(0)) & (PIPE_VBLANK | FLIP_DONE(1)), PIPE_VBLANK | FLIP_DONE(1));
		assert_true(irq_pending(hw));
		assert_int_equal(rd(hw, MASTER_IRQ), 0x80000000u | 1u << 16);
		uint32_t *px = capture(hw, 0, w, h);
		assert_int_equal(px[w * h / 2], next == 0x100000 ? 0xFF : 0xFF00);
		free(px);
		/* One flip done per arming: the following vblank has only VBLANK. */
		wr(hw, DE_PIPE_IIR(0), 0xFFFFFFFFu);
		f = rd(hw, PIPE_FRMCOUNT(0));
		assert_true(wait_frames(hw, 0, f, 1));
		assert_int_equal(rd(hw, DE_PIPE_IIR(0)) & (PIPE_VBLANK | FLIP_DONE(1)), PIPE_VBLANK);
	}
	hw->ops->dma_free(hw, &a);
	hw->ops->dma_free(hw, &b);
}

/*
 * One clean (time of the latest vblank start, frame counter) sample: the time
 * is corrected back by the lines scanned since, as a driver does, so a late
 * wake-up does not skew it. False if the pipe crossed a vblank while sampling.
 */
static bool vblank_sample(struct hw_device *hw, unsigned pipe, const struct mode *m, uint64_t *tv, uint32_t *f)
{
	uint32_t dsl = rd(hw, PIPEDSL(pipe));
	uint64_t t = now_ns();
	*f = rd(hw, PIPE_FRMCOUNT(pipe));
	uint32_t dsl2 = rd(hw, PIPEDSL(pipe));
	if (dsl2 < dsl || (dsl < m->vactive) != (dsl2 < m->vactive))
		return false;
	uint64_t lines = dsl >= m->vactive ? dsl - m->vactive : dsl + m->vtotal - m->vactive;
	*tv = t - (uint64_t)(lines / (m->hz * m->vtotal) * 1e9); /* a line lasts 1 / (rate x vtotal) */
	return true;
}

/* The vblank interrupt rate is the mode's refresh rate. */
static void measure_rate(struct hw_device *hw, unsigned pipe, const struct mode *m, double seconds)
{
	wr(hw, DE_PIPE_IMR(pipe), ~PIPE_VBLANK);
	wr(hw, DE_PIPE_IER(pipe), PIPE_VBLANK);
	wr(hw, MASTER_IRQ, 0x80000000u);
	struct pollfd pfd = {.fd = hw->ops->irq_fd(hw), .events = POLLIN};
	unsigned count = 0, samples = 0;
	uint64_t first = 0, last = 0, end = now_ns() + (uint64_t)(seconds * 1e9);
	uint32_t f0 = 0, f1 = 0, irq_f0 = 0, irq_f1 = 0;
	while (now_ns() < end || samples < 2) {
		assert_int_equal(poll(&pfd, 1, 1000), 1);
		hw->ops->irq_ack(hw);
		/* As a driver: master off, read and clear IIR, master back on. */
		wr(hw, MASTER_IRQ, 0);
		uint32_t iir = rd(hw, DE_PIPE_IIR(pipe));
		wr(hw, DE_PIPE_IIR(pipe), iir);
		uint64_t tv;
		uint32_t f;
		bool ok = vblank_sample(hw, pipe, m, &tv, &f);
		wr(hw, MASTER_IRQ, 0x80000000u);
		if (!(iir & PIPE_VBLANK))
			continue;
		if (!count)
			irq_f0 = f;
		irq_f1 = f;
		count++;
		if (!ok)
			continue;
		if (!samples) {
			first = tv;
			f0 = f;
		}
		last = tv;
		f1 = f;
		samples++;
	}
	double rate = (f1 - f0) / ((last - first) / 1e9);
	print_message("pipe %u: %u interrupts for %u frames; %u frames in %.2f ms: %.2f Hz (mode %.2f Hz)\n", pipe,
		      count, irq_f1 - irq_f0 + 1, f1 - f0, (last - first) / 1e6, rate, m->hz);
	assert_true(rate > m->hz * 0.98 && rate < m->hz * 1.02);
	/* Each frame raises its own interrupt; at high rates a busy host may merge some in the eventfd. */
	if (m->hz < 100)
		assert_true(count >= (irq_f1 - irq_f0 + 1) * 3 / 4);
	else
		assert_true(count >= 3);
}

static void test_vblank_rate(void **state)
{
	struct hw_device *hw = *state;
	pipe_on(hw, 0, &small, 1);
	measure_rate(hw, 0, &small, 0.2);
	/* Pipe B, with its own DPLL, at 1080p60: a few frames only. */
	wr(hw, DE_PIPE_IMR(0), 0xFFFFFFFFu);
	pipe_on(hw, 1, &full_hd, 2);
	measure_rate(hw, 1, &full_hd, 0.2);
}

static void test_imr_masks_vblank(void **state)
{
	struct hw_device *hw = *state;
	pipe_on(hw, 0, &small, 1);
	wr(hw, DE_PIPE_IER(0), PIPE_VBLANK);
	wr(hw, MASTER_IRQ, 0x80000000u);
	uint32_t f = rd(hw, PIPE_FRMCOUNT(0));
	assert_true(wait_frames(hw, 0, f, 3));
	/* Masked: nothing latches and no message, although frames pass and ISR shows vblank. */
	assert_int_equal(rd(hw, DE_PIPE_IIR(0)), 0);
	assert_false(irq_pending(hw));
	bool seen_isr = false;
	for (int i = 0; i < 2000 && !seen_isr; i++) {
		seen_isr = rd(hw, DE_PIPE_ISR(0)) & PIPE_VBLANK;
		sleep_us(50);
	}
	assert_true(seen_isr);
	/* Unmasked but not enabled: latches, no message, no master bit. */
	wr(hw, DE_PIPE_IER(0), 0);
	wr(hw, DE_PIPE_IMR(0), ~PIPE_VBLANK);
	f = rd(hw, PIPE_FRMCOUNT(0));
	assert_true(wait_frames(hw, 0, f, 1));
	assert_int_equal(rd(hw, DE_PIPE_IIR(0)), PIPE_VBLANK);
	assert_false(irq_pending(hw));
	assert_int_equal(rd(hw, MASTER_IRQ), 0x80000000u);
	/* Enabling with the bit latched: the master shows the pipe; re-arming the master sends the message. */
	wr(hw, DE_PIPE_IER(0), PIPE_VBLANK);
	assert_int_equal(rd(hw, MASTER_IRQ), 0x80010000u);
	wr(hw, MASTER_IRQ, 0);
	wr(hw, MASTER_IRQ, 0x80000000u);
	assert_true(irq_pending(hw));
}

static void test_display_faults(void **state)
{
	struct hw_device *hw = *state;
	struct sim_model *m = hw_sim_model(hw);
	pipe_on(hw, 0, &small, 1);
	wr(hw, DE_PIPE_IMR(0), ~PIPE_VBLANK);
	wr(hw, DE_PIPE_IER(0), PIPE_VBLANK);
	wr(hw, MASTER_IRQ, 0x80000000u);

	/* Dropped: the frames go on, their interrupts never arrive. */
	sim_i915_set_display_fault(m, SIM_I915_DISPLAY_FAULT_DROP_IRQ, 0);
	uint32_t f = rd(hw, PIPE_FRMCOUNT(0));
	wr(hw, DE_PIPE_IIR(0), 0xFFFFFFFFu);
	hw->ops->irq_ack(hw);
	assert_true(wait_frames(hw, 0, f, 3));
	assert_int_equal(rd(hw, DE_PIPE_IIR(0)), 0);
	assert_false(irq_pending(hw));

	/* Delayed by 20 ms (10 frames): the interrupt comes, late. */
	sim_i915_set_display_fault(m, SIM_I915_DISPLAY_FAULT_DELAY_IRQ, 20000);
	f = rd(hw, PIPE_FRMCOUNT(0));
	assert_true(wait_frames(hw, 0, f, 1));
	uint64_t t0 = now_ns();
	assert_int_equal(rd(hw, DE_PIPE_IIR(0)), 0);
	struct pollfd pfd = {.fd = hw->ops->irq_fd(hw), .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	uint64_t late = now_ns() - t0;
	assert_true(late > 15000000ull);
	assert_int_equal(rd(hw, DE_PIPE_IIR(0)), PIPE_VBLANK);

	sim_i915_set_display_fault(m, SIM_I915_DISPLAY_FAULT_NONE, 0);
	wr(hw, DE_PIPE_IIR(0), 0xFFFFFFFFu);
	sleep_us(30000); /* anything still held back lands */
	wr(hw, DE_PIPE_IIR(0), 0xFFFFFFFFu);
	hw->ops->irq_ack(hw);
	f = rd(hw, PIPE_FRMCOUNT(0));
	assert_true(wait_frames(hw, 0, f, 1));
	assert_int_equal(rd(hw, DE_PIPE_IIR(0)), PIPE_VBLANK);
	assert_true(irq_pending(hw));
}

/* Unmapped or partly unmapped surfaces: black where the fetch fails, never a crash. */
static void test_unmapped_surface(void **state)
{
	struct hw_device *hw = *state;
	const uint32_t w = 160, h = 200, pitch = 1024; /* 4 rows per page */
	struct hw_dma fb = map_buffer(hw, 0x300000, (size_t)pitch * h);
	fill32(&fb, pitch, w, h, 0x00ABCDEF);
	plane_set(hw, 0, 1, CTL_ENABLE | FMT_8888, 0x900000, pitch, 0, 0, w, h); /* nothing mapped there */
	pipe_on(hw, 0, &small, 1);
	uint32_t *px = capture(hw, 0, w, h);
	for (uint32_t i = 0; i < w * h; i++)
		assert_int_equal(px[i], 0);
	free(px);

	/* Unmap page 10 (rows 40-43) of the real buffer: just those rows go black. */
	uint32_t f = rd(hw, PIPE_FRMCOUNT(0));
	wr(hw, PLANE_SURF(0, 1), 0x300000);
	assert_true(wait_frames(hw, 0, f, 1));
	hw_write64(hw, BAR0, GGTT_PTES + (0x300000 / 4096 + 10) * 8, 0);
	px = capture(hw, 0, w, h);
	for (uint32_t y = 0; y < h; y++)
		assert_int_equal(px[y * w + 5], y >= 40 && y < 44 ? 0 : 0xABCDEF);
	free(px);

	/* A surface at the top of the GGTT running past 4 GiB, and a PTE naming no memory. */
	f = rd(hw, PIPE_FRMCOUNT(0));
	wr(hw, PLANE_SURF(0, 1), 0xFFFFF000u);
	hw_write64(hw, BAR0, GGTT_PTES + (0x300000 / 4096 + 11) * 8, 0x7000000001ull);
	assert_true(wait_frames(hw, 0, f, 1));
	px = capture(hw, 0, w, h);
	assert_int_equal(px[0], 0);
	free(px);
	f = rd(hw, PIPE_FRMCOUNT(0));
	wr(hw, PLANE_SURF(0, 1), 0x300000);
	assert_true(wait_frames(hw, 0, f, 1));
	px = capture(hw, 0, w, h);
	assert_int_equal(px[44 * w], 0);
	assert_int_equal(px[48 * w], 0xABCDEF);
	free(px);
	/* Freed memory behind present PTEs: black too. */
	hw->ops->dma_free(hw, &fb);
	px = capture(hw, 0, w, h);
	assert_int_equal(px[0], 0);
	free(px);
}

/* One I2C read the way a driver does it: index cycle with wait, then a stop. */
static int gmbus_read(struct hw_device *hw, unsigned pin, uint8_t addr, uint8_t index, uint8_t *buf, unsigned len)
{
	wr(hw, GMBUS0, pin);
	wr(hw, GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_INDEX | GMBUS_CYCLE_WAIT | len << 16 | (uint32_t)index << 8 |
			       (uint32_t)addr << 1 | 1);
	for (unsigned got = 0; got < len;) {
		uint32_t st = rd(hw, GMBUS2);
		if (st & GMBUS_SATOER) {
			wr(hw, GMBUS1, GMBUS_SW_CLR_INT);
			wr(hw, GMBUS1, 0);
			wr(hw, GMBUS0, 0);
			return -ENXIO;
		}
		if (!(st & GMBUS_HW_RDY))
			return -EIO;
		uint32_t v = rd(hw, GMBUS3);
		for (unsigned i = 0; i < 4 && got < len; i++)
			buf[got++] = (uint8_t)(v >> (8 * i));
	}
	if (!(rd(hw, GMBUS2) & GMBUS_HW_WAIT_PHASE))
		return -EIO;
	wr(hw, GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_STOP);
	if (rd(hw, GMBUS2) & GMBUS_ACTIVE)
		return -EIO;
	wr(hw, GMBUS0, 0);
	return 0;
}

static void test_gmbus_edid(void **state)
{
	struct hw_device *hw = *state;
	uint8_t want[128], got[128];
	sim_edid_build(want, "RDRM Skylake", 527, 296);
	assert_true(sim_edid_valid(want));

	/* DDI B's pin pair (5): the monitor's EEPROM at 0x50. */
	memset(got, 0, sizeof(got));
	assert_int_equal(gmbus_read(hw, 5, 0x50, 0, got, 128), 0);
	assert_memory_equal(got, want, 128);
	/* An index in the middle, an odd length. */
	assert_int_equal(gmbus_read(hw, 5, 0x50, 0x36, got, 18), 0);
	assert_memory_equal(got, want + 0x36, 18);

	/* Write the word address, then read without an index: the EEPROM continues from it. */
	wr(hw, GMBUS0, 5);
	wr(hw, GMBUS3, 0x08);
	wr(hw, GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_WAIT | 1u << 16 | 0x50u << 1);
	assert_true(rd(hw, GMBUS2) & GMBUS_HW_WAIT_PHASE);
	wr(hw, GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_WAIT | GMBUS_CYCLE_STOP | 4u << 16 | 0x50u << 1 | 1);
	uint32_t v = rd(hw, GMBUS3);
	assert_int_equal(v, (uint32_t)want[8] | (uint32_t)want[9] << 8 | (uint32_t)want[10] << 16 |
				    (uint32_t)want[11] << 24);
	assert_int_equal(rd(hw, GMBUS2) & (GMBUS_ACTIVE | GMBUS_HW_RDY), 0); /* stopped after the last byte */

	/* Nobody at another address, nothing on DDI C's (4) or D's (6) pins: NAK, cleared by SW_CLR_INT. */
	assert_int_equal(gmbus_read(hw, 5, 0x37, 0, got, 1), -ENXIO);
	assert_int_equal(gmbus_read(hw, 4, 0x50, 0, got, 128), -ENXIO);
	assert_int_equal(gmbus_read(hw, 6, 0x50, 0, got, 128), -ENXIO);
	assert_int_equal(gmbus_read(hw, 0, 0x50, 0, got, 128), -ENXIO);
	/* A NAK sticks until cleared. */
	wr(hw, GMBUS0, 4);
	wr(hw, GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_STOP | 1u << 16 | 0x50u << 1 | 1);
	assert_true(rd(hw, GMBUS2) & GMBUS_SATOER);
	wr(hw, GMBUS0, 5);
	wr(hw, GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_STOP | 1u << 16 | 0x50u << 1 | 1);
	assert_true(rd(hw, GMBUS2) & GMBUS_SATOER);
	wr(hw, GMBUS1, GMBUS_SW_CLR_INT);
	assert_int_equal(rd(hw, GMBUS2) & GMBUS_SATOER, 0);
	wr(hw, GMBUS1, 0);
	assert_int_equal(gmbus_read(hw, 5, 0x50, 0, got, 128), 0);
	assert_memory_equal(got, want, 128);
}

static void test_hotplug(void **state)
{
	struct hw_device *hw = *state;
	struct sim_model *m = hw_sim_model(hw);
	uint8_t got[128];
	/* Live presence: DDI B has the monitor, C and D nothing. */
	assert_int_equal(rd(hw, SDEISR) & (7u << 21), 1u << 21);

	/* Detection off: unplugging shows only in SDEISR. */
	sim_i915_set_monitor(m, 1, false);
	assert_int_equal(rd(hw, SDEISR) & (7u << 21), 0);
	assert_int_equal(rd(hw, SDEIIR), 0);
	assert_int_equal(gmbus_read(hw, 5, 0x50, 0, got, 128), -ENXIO);
	sim_i915_set_monitor(m, 1, true);

	/* Enable detection on B and C, unmask and enable their interrupts. */
	wr(hw, PCH_PORT_HOTPLUG, 0x10u | 0x1000u);
	wr(hw, SDEIMR, ~(3u << 21));
	wr(hw, SDEIER, 3u << 21);
	wr(hw, MASTER_IRQ, 0x80000000u);
	sim_i915_set_monitor(m, 1, false);
	assert_int_equal(rd(hw, SDEIIR), 1u << 21);
	assert_int_equal(rd(hw, PCH_PORT_HOTPLUG), 0x1012u); /* B: enabled, long pulse */
	assert_true(irq_pending(hw));
	assert_int_equal(rd(hw, MASTER_IRQ), 0x80000000u | 1u << 23);
	hw->ops->irq_ack(hw);
	/* Status bits clear by writing them back; the enables stay. */
	wr(hw, PCH_PORT_HOTPLUG, rd(hw, PCH_PORT_HOTPLUG));
	assert_int_equal(rd(hw, PCH_PORT_HOTPLUG), 0x1010u);
	wr(hw, SDEIIR, rd(hw, SDEIIR));
	assert_int_equal(rd(hw, SDEIIR), 0);

	/* A monitor on DDI C: presence, EDID on its pin pair, an interrupt. */
	sim_i915_set_monitor(m, 2, true);
	assert_int_equal(rd(hw, SDEISR) & (7u << 21), 1u << 22);
	assert_int_equal(rd(hw, SDEIIR), 1u << 22);
	assert_int_equal(rd(hw, PCH_PORT_HOTPLUG), 0x1210u);
	assert_int_equal(gmbus_read(hw, 4, 0x50, 0, got, 128), 0);
	assert_true(sim_edid_valid(got));
	/* Setting the same state again is no event. */
	wr(hw, SDEIIR, 0xFFFFFFFFu);
	sim_i915_set_monitor(m, 2, true);
	assert_int_equal(rd(hw, SDEIIR), 0);
	/* SDEISR ignores writes. */
	wr(hw, SDEISR, 0);
	assert_int_equal(rd(hw, SDEISR) & (7u << 21), 1u << 22);
}

/* DisplayPort: the DPLL gives the link clock; the stream (dot) clock is link x M / N. */
static void test_dp_link_clock(void **state)
{
	struct hw_device *hw = *state;
	const struct mode *m = &small;
	/* DPLL1: no HDMI mode, link rate 1350 (270 MHz symbol clock). */
	wr(hw, DPLL_CTRL1, (rd(hw, DPLL_CTRL1) & ~(0x3Fu << 6)) | (0x3u << 6));
	wr(hw, LCPLL2_CTL, 0x80000000u);
	assert_true(rd(hw, DPLL_STATUS) & 0x100);
	wr(hw, DPLL_CTRL2, (rd(hw, DPLL_CTRL2) & ~((1u << 17) | (3u << 7))) | (1u << 7) | (1u << 6));
	wr(hw, TRANS_HTOTAL(0), (m->htotal - 1) << 16 | (m->hactive - 1));
	wr(hw, TRANS_VTOTAL(0), (m->vtotal - 1) << 16 | (m->vactive - 1));
	wr(hw, TRANS_VBLANK(0), (m->vtotal - 1) << 16 | (m->vactive - 1));
	wr(hw, PIPESRC(0), (m->hactive - 1) << 16 | (m->vactive - 1));
	/* LINK_M1/N1 (0x60040/0x60044) still 0: no stream clock yet. */
	wr(hw, TRANS_DDI_FUNC_CTL(0), 0x80000000u | 2u << 28 | 2u << 24); /* DDI C, DP SST */
	wr(hw, PIPECONF(0), 0x80000000u);
	assert_int_equal(rd(hw, PIPECONF(0)), 0x80000000u);
	/* 270 MHz x 252 / 2700 = 25.2 MHz: the same 504 Hz as the HDMI route. */
	wr(hw, 0x60040, 252);
	wr(hw, 0x60044, 2700);
	assert_int_equal(rd(hw, PIPECONF(0)), 0xC0000000u);
	uint64_t tv0, tv1;
	uint32_t f0, f1;
	while (!vblank_sample(hw, 0, m, &tv0, &f0))
		;
	sleep_us(100000);
	while (!vblank_sample(hw, 0, m, &tv1, &f1))
		;
	double rate = (f1 - f0) / ((tv1 - tv0) / 1e9);
	assert_true(rate > m->hz * 0.98 && rate < m->hz * 1.02);
}

/* Each pipe has its own planes, clock and interrupt bank. */
static void test_two_pipes(void **state)
{
	struct hw_device *hw = *state;
	struct hw_dma a = map_buffer(hw, 0x100000, 640 * 200), b = map_buffer(hw, 0x200000, 640 * 200);
	fill32(&a, 640, 160, 200, 0x00111111);
	fill32(&b, 640, 160, 200, 0x00222222);
	plane_set(hw, 0, 1, CTL_ENABLE | FMT_8888, 0x100000, 640, 0, 0, 160, 200);
	plane_set(hw, 1, 1, CTL_ENABLE | FMT_8888, 0x200000, 640, 0, 0, 160, 200);
	pipe_on(hw, 0, &small, 1);
	pipe_on(hw, 1, &small, 2);
	uint32_t *pa = capture(hw, 0, 160, 200), *pb = capture(hw, 1, 160, 200);
	assert_int_equal(pa[100], 0x111111);
	assert_int_equal(pb[100], 0x222222);
	free(pa);
	free(pb);
	wr(hw, DE_PIPE_IMR(1), ~PIPE_VBLANK);
	uint32_t f = rd(hw, PIPE_FRMCOUNT(1));
	assert_true(wait_frames(hw, 1, f, 2));
	assert_int_equal(rd(hw, DE_PIPE_IIR(1)), PIPE_VBLANK);
	assert_int_equal(rd(hw, DE_PIPE_IIR(0)), 0);
	/* Pipe C exists as registers but never runs. */
	assert_int_equal(rd(hw, DE_PIPE_IIR(2)), 0);
	assert_int_equal(rd(hw, DE_PIPE_ISR(2)), 0);
	wr(hw, PIPECONF(1), 0);
	assert_int_equal(rd(hw, PIPECONF(0)), 0xC0000000u);
	hw->ops->dma_free(hw, &a);
	hw->ops->dma_free(hw, &b);
}

/* The legacy palette after the blender: per plane, cursor and background opt-in; 8-bit mode only. */
static void test_pipe_gamma(void **state)
{
	struct hw_device *hw = *state;
	const uint32_t w = 160, h = 200;
	struct hw_dma pri = map_buffer(hw, 0x000000, 512 * 100);
	struct hw_dma ovl = map_buffer(hw, 0x040000, 256 * 30);
	struct hw_dma cur = map_buffer(hw, 0x080000, 64 * 64 * 4);
	fill32(&pri, 512, 100, 100, 0x00204080);
	fill32(&ovl, 256, 40, 30, 0x00FF8000);
	for (uint32_t y = 0; y < 64; y++)
		for (uint32_t x = 0; x < 64; x++)
			put32(&cur, 256, x, y, x < 8 ? 0xFFFF0000 : 0x00000000); /* a red bar, then transparent */
	/* Invert every channel. */
	for (unsigned i = 0; i < 256; i++)
		wr(hw, SIM_I915_LGC_PALETTE(0, i), (255u - i) * 0x010101u);
	assert_int_equal(rd(hw, SIM_I915_GAMMA_MODE(0)) & SIM_I915_GAMMA_MODE_MASK, SIM_I915_GAMMA_MODE_8BIT);
	plane_set(hw, 0, 1, CTL_ENABLE | FMT_8888, 0x000000, 512, 0, 0, 100, 100);
	plane_set(hw, 0, 2, CTL_ENABLE | FMT_8888, 0x040000, 256, 50, 150, 40, 30);
	wr(hw, CURCNTR(0), SIM_I915_CURSOR_MODE_64_ARGB);
	wr(hw, CURPOS(0), 20u << 16 | 90u); /* (90, 20): half over the primary, half over nothing */
	wr(hw, CURBASE(0), 0x080000);
	pipe_on(hw, 0, &small, 1);

	/* No plane opts in: the palette is loaded but unused. */
	uint32_t *px = capture(hw, 0, w, h);
	assert_int_equal(px[0], 0x204080);
	assert_int_equal(px[150 * w + 50], 0xFF8000);
	assert_int_equal(px[20 * w + 90], 0xFF0000);
	assert_int_equal(px[20 * w + 98], 0x204080); /* under the cursor's transparent part */
	assert_int_equal(px[199 * w + 159], 0);
	free(px);

	/* The primary opts in (latched at vblank like the rest of PLANE_CTL); the overlay and the
	 * cursor do not, and where the cursor is transparent the primary below decides. */
	uint32_t f = rd(hw, PIPE_FRMCOUNT(0));
	plane_set(hw, 0, 1, CTL_ENABLE | SIM_I915_PLANE_CTL_PIPE_GAMMA_ENABLE | FMT_8888, 0x000000, 512, 0, 0, 100, 100);
	assert_true(wait_frames(hw, 0, f, 1));
	px = capture(hw, 0, w, h);
	assert_int_equal(px[0], 0xDFBF7F);
	assert_int_equal(px[99 * w + 99], 0xDFBF7F);
	assert_int_equal(px[150 * w + 50], 0xFF8000);
	assert_int_equal(px[20 * w + 90], 0xFF0000);
	assert_int_equal(px[20 * w + 98], 0xDFBF7F);
	assert_int_equal(px[20 * w + 100], 0);
	assert_int_equal(px[199 * w + 159], 0);
	free(px);

	/* The background and the cursor too: black becomes white, red cyan. The bottom colour and the
	 * palette act at once; CURCNTR waits for the cursor's arming write and the vblank. */
	wr(hw, SIM_I915_SKL_BOTTOM_COLOR(0), SIM_I915_BOTTOM_COLOR_GAMMA_ENABLE);
	px = capture(hw, 0, w, h);
	assert_int_equal(px[199 * w + 159], 0xFFFFFF);
	assert_int_equal(px[20 * w + 100], 0xFFFFFF);
	free(px);
	f = rd(hw, PIPE_FRMCOUNT(0));
	wr(hw, CURCNTR(0), SIM_I915_CURSOR_MODE_64_ARGB | SIM_I915_CURSOR_PIPE_GAMMA_ENABLE);
	wr(hw, CURBASE(0), 0x080000);
	assert_true(wait_frames(hw, 0, f, 1));
	wr(hw, SIM_I915_LGC_PALETTE(0, 0x80), 0x123456);
	px = capture(hw, 0, w, h);
	assert_int_equal(px[20 * w + 90], 0x00FFFF);
	assert_int_equal(px[0], 0xDFBF56); /* each channel looks up its own part: only blue is 0x80 */
	assert_int_equal(px[20 * w + 98], 0xDFBF56);
	free(px);

	/* The 10-bit, 12-bit and split modes are not modelled: the pipe passes pixels unchanged. */
	wr(hw, SIM_I915_GAMMA_MODE(0), 1);
	px = capture(hw, 0, w, h);
	assert_int_equal(px[0], 0x204080);
	assert_int_equal(px[199 * w + 159], 0);
	free(px);
	hw->ops->dma_free(hw, &pri);
	hw->ops->dma_free(hw, &ovl);
	hw->ops->dma_free(hw, &cur);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pipe_enable_needs_clock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plane_formats, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlay_and_cursor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flip_latches_at_vblank, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vblank_rate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_imr_masks_vblank, setup, teardown),
		cmocka_unit_test_setup_teardown(test_display_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmapped_surface, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gmbus_edid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hotplug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_pipes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pipe_gamma, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dp_link_clock, setup, teardown),
	};
	return cmocka_run_group_tests_name("sim_i915_display", tests, NULL, NULL);
}
