/*
 * The Vega10 display (DCE 12), programmed directly: two CRTCs (timing
 * generator + DP DTO pixel clock), each with its primary surface (GRPH) and
 * hardware cursor; DCE has no overlays. Connector 1 is DisplayPort on DDC1 /
 * HPD1, connector 2 HDMI-A on DDC2 / HPD2. EDID is read by bit-banging I2C on
 * the DDC GPIO pins. Encoders, link training, PLLs and atombios are not
 * driven: the model has none of them (it shows what the CRTC scans out).
 *
 * Gamma: the 256-entry legacy LUT in the GRPH input path, loaded as
 * amdgpu's own DCE code loads it (DC_LUT_30_COLOR, the top 10 bits of each
 * 16-bit entry) and selected in INPUT_GAMMA_CONTROL. It acts on the primary
 * only (the cursor joins after it), for every format.
 *
 * Flips: the new surface address arms a surface update that the hardware
 * takes at the start of vblank and reports with the page-flip interrupt;
 * the commit is done then. Every commit on an active CRTC rewrites the
 * address, so it always completes through that interrupt.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <drm_fourcc.h>
#include <drm_mode.h>

#include "amdgpu.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/gem.h"
#include "redox-drm/kms.h"
#include "redox-drm/log.h"

/* ---- DCE 12 registers: byte offsets in BAR5 [AR dce_12_0_offset.h/_sh_mask.h]; seg1 0xC0, seg2 0x34C0 ---- */
#define AMDGPU_DISPLAY_PIPES 2u
#define PIPE_STRIDE 0x800u /* DCP, SCL, CRTC instances */
#define mmGRPH_ENABLE 0xE868u
#define mmGRPH_CONTROL 0xE86Cu
#define mmGRPH_LUT_10BIT_BYPASS 0xE870u
#define mmGRPH_SWAP_CNTL 0xE874u
#define mmGRPH_PRIMARY_SURFACE_ADDRESS 0xE878u
#define mmGRPH_PITCH 0xE880u
#define mmGRPH_PRIMARY_SURFACE_ADDRESS_HIGH 0xE884u
#define mmGRPH_SURFACE_OFFSET_X 0xE88Cu
#define mmGRPH_SURFACE_OFFSET_Y 0xE890u
#define mmGRPH_X_START 0xE894u
#define mmGRPH_Y_START 0xE898u
#define mmGRPH_X_END 0xE89Cu
#define mmGRPH_Y_END 0xE8A0u
#define mmINPUT_GAMMA_CONTROL 0xE8A4u
#define mmGRPH_UPDATE 0xE8A8u
#define mmGRPH_FLIP_CONTROL 0xE8ACu
#define mmGRPH_INTERRUPT_STATUS 0xE8BCu
#define mmGRPH_INTERRUPT_CONTROL 0xE8C0u
#define mmPRESCALE_GRPH_CONTROL 0xE8D8u
#define mmCUR_CONTROL 0xE9A4u
#define mmCUR_SURFACE_ADDRESS 0xE9A8u
#define mmCUR_SIZE 0xE9ACu
#define mmCUR_SURFACE_ADDRESS_HIGH 0xE9B0u
#define mmCUR_POSITION 0xE9B4u
#define mmCUR_HOT_SPOT 0xE9B8u
#define mmCUR_UPDATE 0xE9C4u
#define mmDC_LUT_RW_MODE 0xE9F8u
#define mmDC_LUT_RW_INDEX 0xE9FCu
#define mmDC_LUT_30_COLOR 0xEA08u
#define mmDC_LUT_WRITE_EN_MASK 0xEA10u
#define mmDC_LUT_CONTROL 0xEA18u
#define mmSCL_VIEWPORT_START 0xEDBCu
#define mmSCL_VIEWPORT_SIZE 0xEDC0u
#define mmCRTC_H_TOTAL 0xEE4Cu
#define mmCRTC_H_BLANK_START_END 0xEE50u
#define mmCRTC_H_SYNC_A 0xEE54u
#define mmCRTC_H_SYNC_A_CNTL 0xEE58u
#define mmCRTC_V_TOTAL 0xEE68u
#define mmCRTC_V_BLANK_START_END 0xEE80u
#define mmCRTC_V_SYNC_A 0xEE84u
#define mmCRTC_V_SYNC_A_CNTL 0xEE88u
#define mmCRTC_CONTROL 0xEEBCu
#define mmCRTC_STATUS_POSITION 0xEEDCu
#define mmCRTC_VERTICAL_INTERRUPT0_POSITION 0xEF74u
#define mmCRTC_VERTICAL_INTERRUPT0_CONTROL 0xEF78u
#define mmCRTC0_PIXEL_RATE_CNTL 0x500u
#define mmDP_DTO0_PHASE 0x504u
#define mmDP_DTO0_MODULO 0x508u
#define DCCG_PIPE_STRIDE 0x10u
#define mmDC_HPD0_INT_STATUS 0x12B00u
#define mmDC_HPD0_CONTROL 0x12B08u
#define HPD_STRIDE 0x20u
#define mmDC_GPIO_DDC1_MASK 0x15698u
#define mmDC_GPIO_DDC1_A 0x1569Cu
#define mmDC_GPIO_DDC1_EN 0x156A0u
#define mmDC_GPIO_DDC1_Y 0x156A4u
#define DDC_STRIDE 0x10u

#define GRPH_UPDATE__GRPH_UPDATE_LOCK (1u << 16)
#define GRPH_INTERRUPT_STATUS__GRPH_PFLIP_INT_CLEAR (1u << 8)
#define GRPH_INTERRUPT_CONTROL__GRPH_PFLIP_INT_MASK (1u << 0)
#define GRPH_DEPTH_16BPP 1u
#define GRPH_DEPTH_32BPP 2u
#define GRPH_FORMAT_SHIFT 8
#define GRPH_FORMAT_ARGB565 1u      /* 16bpp */
#define GRPH_FORMAT_ARGB8888 0u     /* 32bpp */
#define GRPH_FORMAT_ARGB2101010 1u  /* 32bpp */
#define GRPH_SWAP_RED_SEL_B (2u << 4)
#define GRPH_SWAP_BLUE_SEL_R (2u << 8)
#define INPUT_GAMMA_CONTROL__GRPH_INPUT_GAMMA_MODE (1u << 0) /* 1 = bypass the legacy LUT */
#define PRESCALE_GRPH_CONTROL__GRPH_PRESCALE_BYPASS (1u << 4)
#define DC_LUT_RW_MODE_256 0u
#define DC_LUT_WRITE_EN_ALL 7u
#define DC_LUT_30_COLOR_RED_SHIFT 20
#define DC_LUT_30_COLOR_GREEN_SHIFT 10
#define CUR_CONTROL__CURSOR_EN (1u << 0)
#define CUR_CONTROL__CURSOR_MODE_ARGB_PREMULT (2u << 8)
#define CUR_UPDATE__CURSOR_UPDATE_LOCK (1u << 16)
#define CRTC_CONTROL__CRTC_MASTER_EN (1u << 0)
#define VI0_CONTROL__INT_ENABLE (1u << 8)
#define VI0_CONTROL__CLEAR (1u << 20)
#define PIXEL_RATE_CNTL__DP_DTO_ENABLE (1u << 4)
#define DC_HPD_INT_STATUS__SENSE (1u << 1)
#define DC_HPD_CONTROL__DC_HPD_EN (1u << 28)
#define DDC_CLK (1u << 0)
#define DDC_DATA (1u << 8)

/* IH sources of the display (client DCE) [AR ivsrcid/ivsrcid_vislands30.h]. */
#define SRCID_D1_GRPH_PFLIP 8u          /* D(n+1): 8 + 2n */
#define SRCID_D1_VERTICAL_INTERRUPT0 19u /* D(n+1): 19 + n */

#define DPREFCLK_KHZ 600000u /* [plausible] DCE 11.2+ DP reference clock; bounds the DTO */
#define CURSOR_MAX 128u      /* CUR_SIZE holds width-1/height-1 in 7 bits */
#define GAMMA_SIZE 256u      /* legacy LUT entries */
#define MAX_FB_DIM 8192u
#define EDID_BLOCK 128u
#define EDID_I2C_ADDR 0x50u

struct amdgpu_crtc {
	struct drm_crtc *base;
	unsigned pipe;
	bool running, flip_pending;
	uint32_t htotal, vtotal, vblank_start; /* in the CRTC's counter coordinates */
	uint64_t pclk_hz;
};

/* A framebuffer's GART mapping (drm_framebuffer.driver_priv). */
struct amdgpu_fb {
	struct drm_framebuffer *fb;
	uint64_t gpu_addr;
	uint32_t npages; /* GART pages it took; 0 for VRAM, reached through the FB aperture */
	struct amdgpu_fb *next;
};

struct amdgpu_display {
	struct amdgpu_crtc crtc[AMDGPU_DISPLAY_PIPES];
	struct amdgpu_fb *fbs;
};

static const uint32_t primary_formats[] = {
	DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB8888, DRM_FORMAT_XBGR8888, DRM_FORMAT_ABGR8888, DRM_FORMAT_RGB565,
	DRM_FORMAT_XRGB2101010, DRM_FORMAT_ARGB2101010, DRM_FORMAT_XBGR2101010, DRM_FORMAT_ABGR2101010,
};
static const uint32_t cursor_formats[] = {DRM_FORMAT_ARGB8888};
static const uint64_t linear_only[] = {DRM_FORMAT_MOD_LINEAR};

static struct amdgpu_device *to_adev(struct drm_device *dev)
{
	return dev->dev_private;
}

static struct amdgpu_crtc *to_acrtc(struct drm_crtc *crtc)
{
	return crtc->driver_priv;
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- DDC: I2C by bit-banging the GPIO pins (open drain: EN=1 pulls low, EN=0 releases) ---- */

struct ddc {
	struct amdgpu_device *adev;
	uint32_t off; /* line offset from DDC1 */
	uint32_t en;
};

/* Half a 100 kHz clock period; the bus needs it on hardware. */
static void ddc_delay(void)
{
	uint64_t until = monotonic_ns() + 5000;
	while (monotonic_ns() < until)
		;
}

static bool ddc_line(struct ddc *b, uint32_t pin)
{
	return amdgpu_rreg(b->adev, mmDC_GPIO_DDC1_Y + b->off) & pin;
}

static int ddc_set(struct ddc *b, uint32_t pin, bool high)
{
	b->en = high ? b->en & ~pin : b->en | pin;
	amdgpu_wreg(b->adev, mmDC_GPIO_DDC1_EN + b->off, b->en);
	ddc_delay();
	/* A released clock may be held low by the slave (clock stretching): wait, bounded. */
	if (pin == DDC_CLK && high) {
		for (int i = 0; !ddc_line(b, DDC_CLK); i++) {
			if (i > 1000)
				return -ETIMEDOUT;
			ddc_delay();
		}
	}
	return 0;
}

static int ddc_start(struct ddc *b)
{
	int r = ddc_set(b, DDC_DATA, true);
	if (!r)
		r = ddc_set(b, DDC_CLK, true);
	if (!r)
		r = ddc_set(b, DDC_DATA, false);
	if (!r)
		r = ddc_set(b, DDC_CLK, false);
	return r;
}

static void ddc_stop(struct ddc *b)
{
	ddc_set(b, DDC_DATA, false);
	ddc_set(b, DDC_CLK, true);
	ddc_set(b, DDC_DATA, true);
}

/* 0 if the slave acknowledged, -ENXIO if not. */
static int ddc_write_byte(struct ddc *b, uint8_t v)
{
	int r = 0;
	for (int i = 7; i >= 0 && !r; i--) {
		r = ddc_set(b, DDC_DATA, (v >> i) & 1);
		if (!r)
			r = ddc_set(b, DDC_CLK, true);
		if (!r)
			r = ddc_set(b, DDC_CLK, false);
	}
	if (!r)
		r = ddc_set(b, DDC_DATA, true);
	if (!r)
		r = ddc_set(b, DDC_CLK, true);
	if (r)
		return r;
	bool ack = !ddc_line(b, DDC_DATA);
	r = ddc_set(b, DDC_CLK, false);
	return r ? r : ack ? 0 : -ENXIO;
}

static int ddc_read_byte(struct ddc *b, bool ack, uint8_t *out)
{
	uint8_t v = 0;
	int r = ddc_set(b, DDC_DATA, true);
	for (int i = 0; i < 8 && !r; i++) {
		r = ddc_set(b, DDC_CLK, true);
		v = (uint8_t)(v << 1 | (ddc_line(b, DDC_DATA) ? 1 : 0));
		if (!r)
			r = ddc_set(b, DDC_CLK, false);
	}
	if (!r)
		r = ddc_set(b, DDC_DATA, !ack);
	if (!r)
		r = ddc_set(b, DDC_CLK, true);
	if (!r)
		r = ddc_set(b, DDC_CLK, false);
	*out = v;
	return r;
}

/* Reads len bytes at offset of the EEPROM at 0x50: word address write, repeated START, read. */
static int ddc_read(struct amdgpu_device *adev, unsigned line, uint8_t offset, uint8_t *buf, unsigned len)
{
	struct ddc b = {.adev = adev, .off = line * DDC_STRIDE};
	/* Software owns both pins; outputs are 0 so enabling a pin pulls it low. */
	amdgpu_wreg(adev, mmDC_GPIO_DDC1_A + b.off, 0);
	amdgpu_wreg(adev, mmDC_GPIO_DDC1_EN + b.off, 0);
	amdgpu_wreg(adev, mmDC_GPIO_DDC1_MASK + b.off, DDC_CLK | DDC_DATA);
	int r = ddc_start(&b);
	if (!r)
		r = ddc_write_byte(&b, EDID_I2C_ADDR << 1);
	if (!r)
		r = ddc_write_byte(&b, offset);
	if (!r)
		r = ddc_start(&b);
	if (!r)
		r = ddc_write_byte(&b, EDID_I2C_ADDR << 1 | 1);
	for (unsigned i = 0; i < len && !r; i++)
		r = ddc_read_byte(&b, i + 1 < len, &buf[i]);
	ddc_stop(&b);
	amdgpu_wreg(adev, mmDC_GPIO_DDC1_MASK + b.off, 0);
	return r;
}

static bool edid_block_ok(const uint8_t *e, bool base)
{
	static const uint8_t header[8] = {0, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0};
	uint8_t sum = 0;
	for (unsigned i = 0; i < EDID_BLOCK; i++)
		sum = (uint8_t)(sum + e[i]);
	return sum == 0 && (!base || memcmp(e, header, sizeof(header)) == 0);
}

/* The base block and, if announced, the first extension (both within the first 256 bytes). */
static size_t read_edid(struct amdgpu_device *adev, unsigned line, uint8_t *edid)
{
	if (ddc_read(adev, line, 0, edid, EDID_BLOCK) || !edid_block_ok(edid, true))
		return 0;
	if (edid[126] == 0)
		return EDID_BLOCK;
	/* Fewer extensions than announced: lower the count and keep the checksum whole. */
	unsigned keep = 1;
	if (ddc_read(adev, line, EDID_BLOCK, edid + EDID_BLOCK, EDID_BLOCK) || !edid_block_ok(edid + EDID_BLOCK, false))
		keep = 0;
	edid[127] = (uint8_t)(edid[127] + edid[126] - keep);
	edid[126] = (uint8_t)keep;
	return (1 + keep) * EDID_BLOCK;
}

/* ---- CRTC timing ---- */

static int check_mode(const struct drm_mode_modeinfo *m)
{
	if (m->flags & (DRM_MODE_FLAG_INTERLACE | DRM_MODE_FLAG_DBLSCAN | DRM_MODE_FLAG_DBLCLK))
		return -EINVAL;
	if (!m->clock || m->clock > DPREFCLK_KHZ)
		return -EINVAL;
	if (!m->hdisplay || m->hdisplay > m->hsync_start || m->hsync_start > m->hsync_end ||
	    m->hsync_end > m->htotal || m->htotal > 0x4000)
		return -EINVAL;
	if (!m->vdisplay || m->vdisplay > m->vsync_start || m->vsync_start > m->vsync_end ||
	    m->vsync_end > m->vtotal || m->vtotal > 0x4000)
		return -EINVAL;
	return 0;
}

/*
 * The CRTC counts from the start of the sync pulse: the picture is
 * [BLANK_END, BLANK_START), front porch after it, then the next sync.
 */
static void crtc_program(struct amdgpu_device *adev, struct amdgpu_crtc *ac, const struct drm_mode_modeinfo *m)
{
	uint32_t po = ac->pipe * PIPE_STRIDE, co = ac->pipe * DCCG_PIPE_STRIDE;
	uint32_t hbe = m->htotal - m->hsync_start, hbs = hbe + m->hdisplay;
	uint32_t vbe = m->vtotal - m->vsync_start, vbs = vbe + m->vdisplay;

	amdgpu_wreg(adev, mmCRTC_CONTROL + po, 0);
	/* Pixel clock = DPREFCLK * PHASE / MODULO. */
	amdgpu_wreg(adev, mmDP_DTO0_PHASE + co, m->clock * 1000u);
	amdgpu_wreg(adev, mmDP_DTO0_MODULO + co, DPREFCLK_KHZ * 1000u);
	amdgpu_wreg(adev, mmCRTC0_PIXEL_RATE_CNTL + co, PIXEL_RATE_CNTL__DP_DTO_ENABLE);
	amdgpu_wreg(adev, mmCRTC_H_TOTAL + po, m->htotal - 1u);
	amdgpu_wreg(adev, mmCRTC_H_BLANK_START_END + po, hbs | hbe << 16);
	amdgpu_wreg(adev, mmCRTC_H_SYNC_A + po, (uint32_t)(m->hsync_end - m->hsync_start) << 16);
	amdgpu_wreg(adev, mmCRTC_H_SYNC_A_CNTL + po, (m->flags & DRM_MODE_FLAG_NHSYNC) ? 1u : 0);
	amdgpu_wreg(adev, mmCRTC_V_TOTAL + po, m->vtotal - 1u);
	amdgpu_wreg(adev, mmCRTC_V_BLANK_START_END + po, vbs | vbe << 16);
	amdgpu_wreg(adev, mmCRTC_V_SYNC_A + po, (uint32_t)(m->vsync_end - m->vsync_start) << 16);
	amdgpu_wreg(adev, mmCRTC_V_SYNC_A_CNTL + po, (m->flags & DRM_MODE_FLAG_NVSYNC) ? 1u : 0);
	/* The vblank interrupt: vertical interrupt 0 at the first blank line. */
	amdgpu_wreg(adev, mmCRTC_VERTICAL_INTERRUPT0_POSITION + po, vbs);
	amdgpu_wreg(adev, mmGRPH_INTERRUPT_CONTROL + po, GRPH_INTERRUPT_CONTROL__GRPH_PFLIP_INT_MASK);
	amdgpu_wreg(adev, mmCRTC_CONTROL + po, CRTC_CONTROL__CRTC_MASTER_EN);

	ac->running = true;
	ac->htotal = m->htotal;
	ac->vtotal = m->vtotal;
	ac->vblank_start = vbs;
	ac->pclk_hz = (uint64_t)m->clock * 1000u;
}

static void crtc_disable(struct amdgpu_device *adev, struct amdgpu_crtc *ac)
{
	uint32_t po = ac->pipe * PIPE_STRIDE;
	amdgpu_wreg(adev, mmCUR_CONTROL + po, 0);
	amdgpu_wreg(adev, mmGRPH_ENABLE + po, 0);
	amdgpu_wreg(adev, mmCRTC_CONTROL + po, 0);
	amdgpu_wreg(adev, mmCRTC0_PIXEL_RATE_CNTL + ac->pipe * DCCG_PIPE_STRIDE, 0);
	ac->running = false;
	ac->flip_pending = false;
}

/* ---- planes ---- */

static bool grph_format(uint32_t fourcc, uint32_t *control, uint32_t *swap)
{
	uint32_t xbgr = GRPH_SWAP_RED_SEL_B | GRPH_SWAP_BLUE_SEL_R;
	*swap = 0;
	switch (fourcc) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_ARGB8888:
		*control = GRPH_DEPTH_32BPP | GRPH_FORMAT_ARGB8888 << GRPH_FORMAT_SHIFT;
		return true;
	case DRM_FORMAT_XBGR8888:
	case DRM_FORMAT_ABGR8888:
		*control = GRPH_DEPTH_32BPP | GRPH_FORMAT_ARGB8888 << GRPH_FORMAT_SHIFT;
		*swap = xbgr;
		return true;
	case DRM_FORMAT_RGB565:
		*control = GRPH_DEPTH_16BPP | GRPH_FORMAT_ARGB565 << GRPH_FORMAT_SHIFT;
		return true;
	case DRM_FORMAT_XRGB2101010:
	case DRM_FORMAT_ARGB2101010:
		*control = GRPH_DEPTH_32BPP | GRPH_FORMAT_ARGB2101010 << GRPH_FORMAT_SHIFT;
		return true;
	case DRM_FORMAT_XBGR2101010:
	case DRM_FORMAT_ABGR2101010:
		*control = GRPH_DEPTH_32BPP | GRPH_FORMAT_ARGB2101010 << GRPH_FORMAT_SHIFT;
		*swap = xbgr;
		return true;
	}
	return false;
}

static const struct amdgpu_fb *fb_map(const struct drm_framebuffer *fb)
{
	return fb ? fb->driver_priv : NULL;
}

/*
 * Programs the primary surface under GRPH_UPDATE_LOCK and arms a surface
 * update (the address write), so the whole change lands in one frame.
 */
static void primary_program(struct amdgpu_device *adev, struct amdgpu_crtc *ac, const struct drm_plane_state *ps)
{
	uint32_t po = ac->pipe * PIPE_STRIDE;
	const struct amdgpu_fb *afb = ps && ps->visible ? fb_map(ps->fb) : NULL;
	uint32_t control, swap;

	amdgpu_wreg(adev, mmGRPH_UPDATE + po, GRPH_UPDATE__GRPH_UPDATE_LOCK);
	if (afb && grph_format(ps->fb->format, &control, &swap)) {
		const struct drm_framebuffer *fb = ps->fb;
		uint32_t cpp = drm_format_cpp(fb->format);
		uint64_t addr = afb->gpu_addr + fb->offsets[0];
		uint32_t w = ps->src_w >> 16, h = ps->src_h >> 16;
		amdgpu_wreg(adev, mmGRPH_CONTROL + po, control);
		amdgpu_wreg(adev, mmGRPH_SWAP_CNTL + po, swap);
		amdgpu_wreg(adev, mmGRPH_PITCH + po, fb->pitches[0] / cpp);
		amdgpu_wreg(adev, mmGRPH_SURFACE_OFFSET_X + po, 0);
		amdgpu_wreg(adev, mmGRPH_SURFACE_OFFSET_Y + po, 0);
		amdgpu_wreg(adev, mmGRPH_X_START + po, 0);
		amdgpu_wreg(adev, mmGRPH_Y_START + po, 0);
		amdgpu_wreg(adev, mmGRPH_X_END + po, fb->width);
		amdgpu_wreg(adev, mmGRPH_Y_END + po, fb->height);
		amdgpu_wreg(adev, mmSCL_VIEWPORT_START + po, (ps->src_x >> 16) << 16 | (ps->src_y >> 16));
		amdgpu_wreg(adev, mmSCL_VIEWPORT_SIZE + po, w << 16 | h);
		amdgpu_wreg(adev, mmGRPH_FLIP_CONTROL + po, 0); /* flip at vblank only */
		amdgpu_wreg(adev, mmGRPH_ENABLE + po, 1);
		amdgpu_wreg(adev, mmGRPH_PRIMARY_SURFACE_ADDRESS_HIGH + po, (uint32_t)(addr >> 32) & 0xFFu);
		amdgpu_wreg(adev, mmGRPH_PRIMARY_SURFACE_ADDRESS + po, (uint32_t)addr & 0xFFFFFF00u);
	} else {
		/* No surface: the CRTC shows black; rewriting the address still marks the frame it lands in. */
		amdgpu_wreg(adev, mmGRPH_ENABLE + po, 0);
		amdgpu_wreg(adev, mmGRPH_PRIMARY_SURFACE_ADDRESS + po,
			    amdgpu_rreg(adev, mmGRPH_PRIMARY_SURFACE_ADDRESS + po));
	}
	amdgpu_wreg(adev, mmGRPH_UPDATE + po, 0);
}

static void cursor_program(struct amdgpu_device *adev, struct amdgpu_crtc *ac, const struct drm_plane_state *ps,
			   const struct drm_mode_modeinfo *mode)
{
	uint32_t po = ac->pipe * PIPE_STRIDE;
	const struct amdgpu_fb *afb = ps && ps->visible ? fb_map(ps->fb) : NULL;

	amdgpu_wreg(adev, mmCUR_UPDATE + po, CUR_UPDATE__CURSOR_UPDATE_LOCK);
	int64_t x = ps ? ps->crtc_x : 0, y = ps ? ps->crtc_y : 0;
	uint32_t w = ps ? ps->crtc_w : 0, h = ps ? ps->crtc_h : 0;
	/* Left of or above the screen: position 0, and the hot spot shifts the image the rest of the way. */
	uint32_t hot_x = x < 0 ? (uint32_t)-x : 0, hot_y = y < 0 ? (uint32_t)-y : 0;
	bool on_screen = afb && hot_x < w && hot_y < h && x < mode->hdisplay && y < mode->vdisplay;
	if (on_screen) {
		const struct drm_framebuffer *fb = ps->fb;
		uint64_t addr = afb->gpu_addr + fb->offsets[0] + (uint64_t)(ps->src_y >> 16) * fb->pitches[0];
		amdgpu_wreg(adev, mmCUR_SURFACE_ADDRESS_HIGH + po, (uint32_t)(addr >> 32) & 0xFFu);
		amdgpu_wreg(adev, mmCUR_SURFACE_ADDRESS + po, (uint32_t)addr);
		amdgpu_wreg(adev, mmCUR_SIZE + po, (w - 1) << 16 | (h - 1));
		amdgpu_wreg(adev, mmCUR_POSITION + po, (uint32_t)(x < 0 ? 0 : x) << 16 | (uint32_t)(y < 0 ? 0 : y));
		amdgpu_wreg(adev, mmCUR_HOT_SPOT + po, hot_x << 16 | hot_y);
		/* DRM's ARGB8888 cursor is pre-multiplied (the "Pre-multiplied" blend mode). */
		amdgpu_wreg(adev, mmCUR_CONTROL + po, CUR_CONTROL__CURSOR_EN | CUR_CONTROL__CURSOR_MODE_ARGB_PREMULT);
	} else {
		amdgpu_wreg(adev, mmCUR_CONTROL + po, 0);
	}
	amdgpu_wreg(adev, mmCUR_UPDATE + po, 0);
}

/* ---- drm_kms_funcs ---- */

static const struct drm_plane_state *plane_state(const struct drm_atomic_state *s, const struct drm_plane *p)
{
	return s->planes_new[p->index] ? s->planes_new[p->index] : p->state;
}

static int check_primary(const struct drm_plane_state *ps, const struct drm_crtc_state *cs)
{
	if (!ps || !ps->visible || !ps->fb)
		return 0;
	const struct drm_framebuffer *fb = ps->fb;
	uint32_t control, swap, cpp = drm_format_cpp(fb->format);
	if (!grph_format(fb->format, &control, &swap) || !cpp || fb->modifier != DRM_FORMAT_MOD_LINEAR)
		return -EINVAL;
	if ((ps->src_x | ps->src_y | ps->src_w | ps->src_h) & 0xFFFF)
		return -EINVAL; /* no sub-pixel sources */
	/* No scaler and no positioning: the primary covers the CRTC exactly, 1:1. */
	if (ps->crtc_x != 0 || ps->crtc_y != 0 || ps->crtc_w != cs->mode.hdisplay || ps->crtc_h != cs->mode.vdisplay)
		return -EINVAL;
	if (ps->src_w >> 16 != ps->crtc_w || ps->src_h >> 16 != ps->crtc_h)
		return -EINVAL;
	if (fb->pitches[0] % cpp || fb->pitches[0] / cpp > 0x7FFF || fb->width > 0x3FFF || fb->height > 0x3FFF)
		return -ERANGE;
	if (fb->offsets[0] % 256)
		return -EINVAL; /* GRPH_PRIMARY_SURFACE_ADDRESS holds bits [39:8] */
	return 0;
}

static int check_cursor(const struct drm_plane_state *ps)
{
	if (!ps || !ps->visible || !ps->fb)
		return 0;
	const struct drm_framebuffer *fb = ps->fb;
	if (fb->format != DRM_FORMAT_ARGB8888 || fb->modifier != DRM_FORMAT_MOD_LINEAR)
		return -EINVAL;
	if ((ps->src_x | ps->src_y | ps->src_w | ps->src_h) & 0xFFFF || ps->src_x)
		return -EINVAL; /* whole pixels, starting at the left edge */
	if (ps->src_w >> 16 != ps->crtc_w || ps->src_h >> 16 != ps->crtc_h)
		return -EINVAL; /* no scaling */
	if (!ps->crtc_w || !ps->crtc_h || ps->crtc_w > CURSOR_MAX || ps->crtc_h > CURSOR_MAX)
		return -ERANGE;
	if (fb->pitches[0] != ps->crtc_w * 4)
		return -EINVAL; /* the cursor engine reads packed rows */
	return 0;
}

static int amdgpu_atomic_check(struct drm_device *dev, struct drm_atomic_state *s)
{
	for (unsigned i = 0; i < KMS_MAX_CRTCS; i++) {
		const struct drm_crtc_state *cs = s->crtcs_new[i];
		if (!cs)
			continue;
		struct drm_crtc *crtc = cs->crtc;
		if (cs->active) {
			int r = check_mode(&cs->mode);
			if (r)
				return r;
		}
		int r = check_primary(plane_state(s, crtc->primary), cs);
		if (!r)
			r = check_cursor(plane_state(s, crtc->cursor));
		if (r)
			return r;
	}
	return 0;
}

static int amdgpu_prepare_fb(struct drm_device *dev, struct drm_framebuffer *fb)
{
	struct amdgpu_device *adev = to_adev(dev);
	struct drm_gem_object *obj = fb->obj[0];
	bool system = true;
	uint64_t addr = obj ? amdgpu_bo_gpu_addr(obj, 0, &system) : 0;
	if (!adev->display || fb->nplanes != 1 || !obj || (system && !obj->dma_addr) || !obj->size)
		return -EINVAL; /* scanout needs one plane of contiguous DMA memory or VRAM */
	uint32_t cpp = drm_format_cpp(fb->format);
	if (!cpp || !fb->width || !fb->height)
		return -EINVAL;
	uint64_t need = (uint64_t)fb->offsets[0] + (uint64_t)fb->pitches[0] * (fb->height - 1) +
			(uint64_t)fb->width * cpp;
	if (need > obj->size)
		return -EINVAL;

	struct amdgpu_fb *afb = calloc(1, sizeof(*afb));
	if (!afb)
		return -ENOMEM;
	int r = 0;
	if (!system) {
		afb->gpu_addr = adev->vram_start + addr; /* the MMHUB's FB aperture */
	} else {
		afb->npages = (uint32_t)((obj->size + AMDGPU_GPU_PAGE_SIZE - 1) / AMDGPU_GPU_PAGE_SIZE);
		r = amdgpu_gart_alloc(adev, afb->npages, &afb->gpu_addr);
		if (!r) {
			r = amdgpu_gart_map(adev, afb->gpu_addr, addr, afb->npages);
			if (r)
				amdgpu_gart_free(adev, afb->gpu_addr, afb->npages);
		}
	}
	if (r) {
		free(afb);
		return r;
	}
	afb->fb = fb;
	afb->next = adev->display->fbs;
	adev->display->fbs = afb;
	fb->driver_priv = afb;
	return 0;
}

static void amdgpu_cleanup_fb(struct drm_device *dev, struct drm_framebuffer *fb)
{
	struct amdgpu_device *adev = to_adev(dev);
	struct amdgpu_fb *afb = fb->driver_priv;
	if (!afb || !adev->display)
		return;
	/* Called once nothing scans it out: the PTEs can go. */
	if (afb->npages) {
		amdgpu_gart_unmap(adev, afb->gpu_addr, afb->npages);
		amdgpu_gart_free(adev, afb->gpu_addr, afb->npages);
	}
	for (struct amdgpu_fb **p = &adev->display->fbs; *p; p = &(*p)->next) {
		if (*p == afb) {
			*p = afb->next;
			break;
		}
	}
	fb->driver_priv = NULL;
	free(afb);
}

static void amdgpu_atomic_commit(struct drm_device *dev, struct drm_atomic_state *s)
{
	struct amdgpu_device *adev = to_adev(dev);
	for (unsigned i = 0; i < KMS_MAX_CRTCS; i++) {
		if (!s->crtcs_new[i])
			continue;
		struct drm_crtc *crtc = drm_crtc_from_index(dev, i);
		struct amdgpu_crtc *ac = crtc ? to_acrtc(crtc) : NULL;
		if (!ac)
			continue;
		const struct drm_crtc_state *cs = crtc->state;
		if (!cs->active) {
			if (ac->running)
				crtc_disable(adev, ac);
			continue; /* nothing will scan out: the core finishes the commit */
		}
		if (cs->mode_changed || !ac->running)
			crtc_program(adev, ac, &cs->mode);
		/* Armed before the address write: the flip interrupt finishes the commit. */
		ac->flip_pending = true;
		cursor_program(adev, ac, crtc->cursor ? crtc->cursor->state : NULL, &cs->mode);
		primary_program(adev, ac, crtc->primary->state);
	}
}

static int amdgpu_enable_vblank(struct drm_crtc *crtc)
{
	struct amdgpu_device *adev = to_adev(crtc->dev);
	struct amdgpu_crtc *ac = to_acrtc(crtc);
	if (!ac)
		return -ENODEV;
	amdgpu_wreg(adev, mmCRTC_VERTICAL_INTERRUPT0_CONTROL + ac->pipe * PIPE_STRIDE,
		    VI0_CONTROL__INT_ENABLE | VI0_CONTROL__CLEAR);
	return 0;
}

static void amdgpu_disable_vblank(struct drm_crtc *crtc)
{
	struct amdgpu_device *adev = to_adev(crtc->dev);
	struct amdgpu_crtc *ac = to_acrtc(crtc);
	if (!ac)
		return;
	amdgpu_wreg(adev, mmCRTC_VERTICAL_INTERRUPT0_CONTROL + ac->pipe * PIPE_STRIDE, VI0_CONTROL__CLEAR);
}

/* The core's 16-bit entries keep their top 10 bits, as the kernel's legacy DCE path does. */
static void amdgpu_gamma_set(struct drm_crtc *crtc)
{
	struct amdgpu_crtc *ac = to_acrtc(crtc);
	if (!ac || !crtc->gamma || crtc->gamma_size != GAMMA_SIZE)
		return; /* at creation the CRTC is not bound yet: create_pipe loads it then */
	struct amdgpu_device *adev = to_adev(crtc->dev);
	uint32_t po = ac->pipe * PIPE_STRIDE;
	const uint16_t *r = crtc->gamma, *g = r + GAMMA_SIZE, *b = g + GAMMA_SIZE;
	/* Prescale would take the LUT's place in the input path. */
	amdgpu_wreg(adev, mmPRESCALE_GRPH_CONTROL + po,
		    amdgpu_rreg(adev, mmPRESCALE_GRPH_CONTROL + po) | PRESCALE_GRPH_CONTROL__GRPH_PRESCALE_BYPASS);
	amdgpu_wreg(adev, mmDC_LUT_CONTROL + po, 0);
	amdgpu_wreg(adev, mmDC_LUT_RW_MODE + po, DC_LUT_RW_MODE_256);
	amdgpu_wreg(adev, mmDC_LUT_WRITE_EN_MASK + po, DC_LUT_WRITE_EN_ALL);
	amdgpu_wreg(adev, mmDC_LUT_RW_INDEX + po, 0);
	for (unsigned i = 0; i < GAMMA_SIZE; i++)
		amdgpu_wreg(adev, mmDC_LUT_30_COLOR + po,
			    (uint32_t)(r[i] >> 6) << DC_LUT_30_COLOR_RED_SHIFT |
				    (uint32_t)(g[i] >> 6) << DC_LUT_30_COLOR_GREEN_SHIFT | (uint32_t)(b[i] >> 6));
	/* 10-bit surfaces go through it too: gamma applies to every format. */
	amdgpu_wreg(adev, mmGRPH_LUT_10BIT_BYPASS + po, 0);
	amdgpu_wreg(adev, mmINPUT_GAMMA_CONTROL + po,
		    amdgpu_rreg(adev, mmINPUT_GAMMA_CONTROL + po) & ~INPUT_GAMMA_CONTROL__GRPH_INPUT_GAMMA_MODE);
}

static int amdgpu_capture(struct drm_crtc *crtc, uint32_t *pixels, uint32_t width, uint32_t height)
{
	struct hw_device *hw = to_adev(crtc->dev)->hw;
	if (!to_acrtc(crtc))
		return -ENODEV;
	if (!hw->ops->scanout_capture)
		return -EOPNOTSUPP;
	return hw->ops->scanout_capture(hw, to_acrtc(crtc)->pipe, pixels, width, height);
}

/* ---- interrupts ---- */

/*
 * When vblank started: now, less the time the beam has spent since the first
 * blank line (the scanout position), so interrupt latency does not show.
 */
static uint64_t vblank_timestamp(struct amdgpu_device *adev, const struct amdgpu_crtc *ac)
{
	uint64_t t0 = monotonic_ns();
	uint32_t pos = amdgpu_rreg(adev, mmCRTC_STATUS_POSITION + ac->pipe * PIPE_STRIDE);
	uint64_t t1 = monotonic_ns();
	uint64_t now = t0 + (t1 - t0) / 2;
	uint32_t line = pos & 0x3FFFu, col = (pos >> 16) & 0x3FFFu;
	if (!ac->pclk_hz || line >= ac->vtotal || col >= ac->htotal)
		return now;
	uint64_t lines = (line + ac->vtotal - ac->vblank_start) % ac->vtotal;
	uint64_t pixels = lines * ac->htotal + col;
	uint64_t since = pixels / ac->pclk_hz * 1000000000ull + pixels % ac->pclk_hz * 1000000000ull / ac->pclk_hz;
	return since < now ? now - since : now;
}

bool amdgpu_display_irq(struct drm_device *dev, const struct amdgpu_iv_entry *iv)
{
	struct amdgpu_device *adev = to_adev(dev);
	struct amdgpu_display *disp = adev->display;
	if (!disp)
		return false;
	unsigned src = iv->src_id;
	if (src >= SRCID_D1_VERTICAL_INTERRUPT0 && src < SRCID_D1_VERTICAL_INTERRUPT0 + AMDGPU_DISPLAY_PIPES) {
		struct amdgpu_crtc *ac = &disp->crtc[src - SRCID_D1_VERTICAL_INTERRUPT0];
		uint32_t ctl = mmCRTC_VERTICAL_INTERRUPT0_CONTROL + ac->pipe * PIPE_STRIDE;
		amdgpu_wreg(adev, ctl, (amdgpu_rreg(adev, ctl) & VI0_CONTROL__INT_ENABLE) | VI0_CONTROL__CLEAR);
		if (ac->running && ac->base)
			drm_crtc_handle_vblank(ac->base, vblank_timestamp(adev, ac));
		return true;
	}
	if (src >= SRCID_D1_GRPH_PFLIP && src < SRCID_D1_GRPH_PFLIP + 2 * AMDGPU_DISPLAY_PIPES &&
	    (src - SRCID_D1_GRPH_PFLIP) % 2 == 0) {
		struct amdgpu_crtc *ac = &disp->crtc[(src - SRCID_D1_GRPH_PFLIP) / 2];
		amdgpu_wreg(adev, mmGRPH_INTERRUPT_STATUS + ac->pipe * PIPE_STRIDE,
			    GRPH_INTERRUPT_STATUS__GRPH_PFLIP_INT_CLEAR);
		if (ac->flip_pending && ac->base) {
			ac->flip_pending = false;
			drm_crtc_commit_done(ac->base);
		}
		return true;
	}
	return false;
}

/* ---- setup ---- */

static int create_pipe(struct drm_device *dev, struct amdgpu_display *disp, unsigned pipe)
{
	const unsigned nformats = sizeof(primary_formats) / sizeof(primary_formats[0]);
	struct drm_plane *primary = drm_plane_create(dev, 1u << pipe, DRM_PLANE_TYPE_PRIMARY, primary_formats, nformats,
						     linear_only, 1);
	struct drm_plane *cursor = drm_plane_create(dev, 1u << pipe, DRM_PLANE_TYPE_CURSOR, cursor_formats, 1,
						    linear_only, 1);
	if (!primary || !cursor)
		return -ENOMEM;
	cursor->max_width = cursor->max_height = CURSOR_MAX;
	struct drm_crtc *crtc = drm_crtc_create(dev, primary, cursor, GAMMA_SIZE);
	if (!crtc)
		return -ENOMEM;
	if (crtc->index != pipe)
		return -EINVAL; /* possible_crtcs above assumed creation order */
	disp->crtc[pipe] = (struct amdgpu_crtc){.base = crtc, .pipe = pipe};
	crtc->driver_priv = &disp->crtc[pipe];
	amdgpu_gamma_set(crtc); /* the core's linear ramp */
	return 0;
}

static int create_output(struct drm_device *dev, unsigned line, uint32_t connector_type)
{
	struct amdgpu_device *adev = to_adev(dev);
	/* DCE 12's digital encoders drive TMDS and DP alike; any CRTC can feed either. */
	struct drm_encoder *enc = drm_encoder_create(dev, DRM_MODE_ENCODER_TMDS, (1u << AMDGPU_DISPLAY_PIPES) - 1);
	if (!enc)
		return -ENOMEM;
	amdgpu_wreg(adev, mmDC_HPD0_CONTROL + line * HPD_STRIDE, DC_HPD_CONTROL__DC_HPD_EN);
	uint8_t edid[2 * EDID_BLOCK];
	size_t len = 0;
	if (amdgpu_rreg(adev, mmDC_HPD0_INT_STATUS + line * HPD_STRIDE) & DC_HPD_INT_STATUS__SENSE) {
		len = read_edid(adev, line, edid);
		if (!len)
			log_warn("amdgpu: %s: connector %u senses a monitor but its EDID is unreadable", adev->hw->name,
				 line + 1);
	}
	struct drm_connector *conn = drm_connector_create(dev, connector_type, enc, len ? edid : NULL, len);
	return conn ? 0 : -ENOMEM;
}

static void amdgpu_modeset_fini(struct drm_device *dev);

static int amdgpu_modeset_init(struct drm_device *dev)
{
	struct amdgpu_device *adev = to_adev(dev);
	if (!adev)
		return -ENODEV;
	/* The display fetches through the MMHUB's VMID0 and reports through the IH. load set both up;
	 * these are no-ops then, and retry if load could not (load keeps them until unload). */
	int r = amdgpu_gmc_init(adev);
	if (!r)
		r = amdgpu_ih_init(adev);
	if (r)
		return r;
	struct amdgpu_display *disp = calloc(1, sizeof(*disp));
	if (!disp)
		return -ENOMEM;
	adev->display = disp;
	for (unsigned p = 0; p < AMDGPU_DISPLAY_PIPES; p++) {
		disp->crtc[p].pipe = p;
		crtc_disable(adev, &disp->crtc[p]);
		amdgpu_wreg(adev, mmCRTC_VERTICAL_INTERRUPT0_CONTROL + p * PIPE_STRIDE, VI0_CONTROL__CLEAR);
		amdgpu_wreg(adev, mmGRPH_INTERRUPT_STATUS + p * PIPE_STRIDE,
			    GRPH_INTERRUPT_STATUS__GRPH_PFLIP_INT_CLEAR);
	}
	for (unsigned p = 0; p < AMDGPU_DISPLAY_PIPES && !r; p++)
		r = create_pipe(dev, disp, p);
	if (!r)
		r = create_output(dev, 0, DRM_MODE_CONNECTOR_DisplayPort);
	if (!r)
		r = create_output(dev, 1, DRM_MODE_CONNECTOR_HDMIA);
	if (r)
		amdgpu_modeset_fini(dev);
	return r;
}

static void amdgpu_modeset_fini(struct drm_device *dev)
{
	struct amdgpu_device *adev = to_adev(dev);
	struct amdgpu_display *disp = adev ? adev->display : NULL;
	if (!disp)
		return;
	for (unsigned p = 0; p < AMDGPU_DISPLAY_PIPES; p++) {
		crtc_disable(adev, &disp->crtc[p]);
		amdgpu_wreg(adev, mmCRTC_VERTICAL_INTERRUPT0_CONTROL + p * PIPE_STRIDE, VI0_CONTROL__CLEAR);
		amdgpu_wreg(adev, mmGRPH_INTERRUPT_CONTROL + p * PIPE_STRIDE, 0);
		if (disp->crtc[p].base)
			disp->crtc[p].base->driver_priv = NULL;
	}
	/* Framebuffers still mapped lose their mapping with the GART. */
	while (disp->fbs) {
		struct amdgpu_fb *afb = disp->fbs;
		disp->fbs = afb->next;
		afb->fb->driver_priv = NULL;
		free(afb);
	}
	adev->display = NULL;
	free(disp);
}

const struct drm_kms_funcs amdgpu_kms_funcs = {
	.modeset_init = amdgpu_modeset_init,
	.modeset_fini = amdgpu_modeset_fini,
	.atomic_check = amdgpu_atomic_check,
	.prepare_fb = amdgpu_prepare_fb,
	.cleanup_fb = amdgpu_cleanup_fb,
	.atomic_commit = amdgpu_atomic_commit,
	.enable_vblank = amdgpu_enable_vblank,
	.disable_vblank = amdgpu_disable_vblank,
	.gamma_set = amdgpu_gamma_set,
	.capture = amdgpu_capture,
	/* GRPH_PITCH counts pixels; 256-byte rows keep every format's pitch whole and aligned. */
	.dumb_pitch_align = 256,
	.cursor_width = CURSOR_MAX,
	.cursor_height = CURSOR_MAX,
	.max_width = MAX_FB_DIM,
	.max_height = MAX_FB_DIM,
	.preferred_depth = 24,
};
