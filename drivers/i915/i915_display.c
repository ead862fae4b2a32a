/*
 * i915 display backend (Skylake): what the KMS core drives through struct
 * drm_kms_funcs. Two CRTCs (pipes A and B), each with a primary plane
 * (universal plane 1), an overlay (plane 2) and the cursor; an HDMI connector
 * on DDI B and a DisplayPort connector on DDI C. Framebuffers are mapped into
 * the GGTT for scanout. Everything reaches the hardware through hw ops.
 *
 * Commit completion follows the hardware: plane updates are armed by the
 * PLANE_SURF write and finish on the flip-done interrupt; a pipe being
 * enabled finishes on its first vblank; a pipe being disabled at once. A
 * watchdog finishes a commit whose interrupt never came once the frame
 * counter and PLANE_SURFLIVE show it latched.
 *
 * Gamma: the pipe's legacy 8-bit palette (the top 8 bits of the core's
 * 16-bit entries), after the blender; every plane, the cursor and the
 * background opt in through their pre-Gemini Lake gamma enable bits.
 *
 * Not supported (atomic_check refuses): scaling, planes not fully on screen,
 * tiled buffers, interlaced modes, DisplayPort sinks (no AUX channel yet).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drm_fourcc.h>

#include "i915.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/gem.h"
#include "redox-drm/hw.h"
#include "redox-drm/kms.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"

#define BAR I915_BAR_GTTMMADR
#define MAX_DOTCLOCK_KHZ 300000u  /* HDMI 1.4 TMDS limit of Skylake's DDIs */
#define MAX_PIPE_SIZE 4096u       /* pipe source and plane size */
#define MAX_TIMING 8192u          /* timing register fields */
#define MAX_STRIDE 32768u         /* linear plane stride [inferred: i915 skl_plane_max_stride] */
#define SURF_ALIGN (256u << 10)   /* linear scanout surfaces on Skylake */
#define VBLANK_EVASION_NS 100000u /* keep arming writes out of the last 100 us before vblank */
#define REG_WAIT_NS 5000000u      /* PLL lock, pipe on/off, GMBUS byte */
#define EDID_LEN 128u
#define DDC_ADDR 0x50u
#define REF_HZ 24000000ull

/* Pipe gamma [I display/intel_color_regs.h, skl_universal_plane_regs.h, intel_cursor_regs.h]. */
#define GAMMA_SIZE 256u
#define LGC_PALETTE(p, i) (0x4A000u + 0x800u * (p) + 4u * (i)) /* R [23:16], G [15:8], B [7:0] */
#define GAMMA_MODE(p) (0x4A480u + 0x800u * (p))
#define GAMMA_MODE_MODE_8BIT 0u
#define SKL_BOTTOM_COLOR(p) (0x70034u + I915_PIPE_OFF(p))
#define SKL_BOTTOM_COLOR_GAMMA_ENABLE (1u << 31)
#define PLANE_CTL_PIPE_GAMMA_ENABLE (1u << 30) /* before Gemini Lake */
#define MCURSOR_PIPE_GAMMA_ENABLE (1u << 26)

struct fb_map {
	uint64_t offset, size;
};

struct output {
	struct drm_encoder *encoder;
	struct drm_connector *connector;
	enum i915_port port;
	unsigned pin;   /* GMBUS pin pair of its DDC */
	bool hdmi;      /* an HDMI port; DisplayPort would need AUX, which is not implemented */
	bool has_edid;
	uint8_t edid[EDID_LEN];
};

struct pipe_state {
	struct i915_display *disp;
	unsigned pipe;
	struct drm_crtc *crtc;
	struct drm_plane *primary, *overlay, *cursor;
	bool running;
	struct drm_mode_modeinfo mode;
	enum i915_port port;
	/* The commit in flight: done when flip_wait empties, or at a vblank if wait_vblank. */
	bool commit_pending, wait_vblank;
	uint32_t flip_wait;
	uint32_t gen;         /* bumped per commit, so a stale interrupt cannot finish a newer one */
	uint32_t arm_frame;   /* PIPE_FRMCOUNT when it was armed */
	uint32_t last_frame;  /* PIPE_FRMCOUNT at the last vblank counted */
	uint32_t armed_surf[4]; /* [n] = PLANE_SURF(n) written; [0] = CURBASE */
	struct event_timer *watchdog;
	bool vblank_on;
	uint32_t imr;
};

struct plane_hw {
	uint8_t pipe;
	uint8_t n; /* universal plane 1..3, 0 = cursor */
};

struct i915_display {
	struct drm_device *dev;
	struct i915_device *i915;
	struct hw_device *hw;
	struct pipe_state pipe[I915_NUM_PIPES];
	struct output out[2];
	struct plane_hw plane_hw[KMS_MAX_PLANES];
};

struct wrpll {
	uint32_t cfgcr1, cfgcr2;
};

static const struct {
	uint32_t fourcc, ctl, cpp;
} plane_formats[] = {
	{DRM_FORMAT_XRGB8888, PLANE_CTL_FORMAT_XRGB_8888, 4},
	/* DRM's default blend mode is pre-multiplied: the hardware must not multiply again. */
	{DRM_FORMAT_ARGB8888, PLANE_CTL_FORMAT_XRGB_8888 | PLANE_CTL_ALPHA_SW_PREMULTIPLY, 4},
	{DRM_FORMAT_XBGR8888, PLANE_CTL_FORMAT_XRGB_8888 | PLANE_CTL_ORDER_RGBX, 4},
	{DRM_FORMAT_ABGR8888, PLANE_CTL_FORMAT_XRGB_8888 | PLANE_CTL_ORDER_RGBX | PLANE_CTL_ALPHA_SW_PREMULTIPLY, 4},
	{DRM_FORMAT_RGB565, PLANE_CTL_FORMAT_RGB_565, 2},
	{DRM_FORMAT_XRGB2101010, PLANE_CTL_FORMAT_XRGB_2101010, 4},
};

static const uint32_t universal_fourccs[] = {
	DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB8888, DRM_FORMAT_XBGR8888,
	DRM_FORMAT_ABGR8888, DRM_FORMAT_RGB565,   DRM_FORMAT_XRGB2101010,
};
static const uint32_t cursor_fourccs[] = {DRM_FORMAT_ARGB8888};
static const uint64_t linear_only[] = {DRM_FORMAT_MOD_LINEAR};

static uint32_t rd(struct i915_display *d, uint32_t off)
{
	return hw_read32(d->hw, BAR, off);
}

static void wr(struct i915_display *d, uint32_t off, uint32_t v)
{
	hw_write32(d->hw, BAR, off, v);
}

static struct i915_display *to_disp(struct drm_device *dev)
{
	struct i915_device *i915 = dev->dev_private;
	return i915 ? i915->display : NULL;
}

static char pipe_name(unsigned p)
{
	return (char)('A' + p);
}

/* Polls until (reg & mask) == value; false after REG_WAIT_NS or if the device stops answering. */
static bool wait_reg(struct i915_display *d, uint32_t off, uint32_t mask, uint32_t value)
{
	uint64_t deadline = monotonic_ns() + REG_WAIT_NS;
	for (;;) {
		uint32_t v = rd(d, off);
		if (v == 0xFFFFFFFFu)
			return false;
		if ((v & mask) == value)
			return true;
		if (monotonic_ns() > deadline)
			return false;
	}
}

static bool find_format(uint32_t fourcc, uint32_t *ctl, uint32_t *cpp)
{
	for (size_t i = 0; i < sizeof(plane_formats) / sizeof(plane_formats[0]); i++) {
		if (plane_formats[i].fourcc == fourcc) {
			*ctl = plane_formats[i].ctl;
			*cpp = plane_formats[i].cpp;
			return true;
		}
	}
	return false;
}

/* ---- clocks: the WRPLL dividers for an HDMI port clock ---- */

/*
 * The DCO runs at 5 x port clock x P (P = PDIV x QDIV x KDIV) and must sit
 * within 6% below to 1% above one of its centre frequencies. Picks the P that
 * lands closest to a centre. QDIV > 1 is only combined with KDIV 2, the
 * combinations i915 uses [inferred].
 */
static int wrpll_compute(uint32_t clock_khz, struct wrpll *out)
{
	static const struct {
		uint64_t hz;
		uint32_t code;
	} centres[] = {{8400000000ull, 3}, {9000000000ull, 1}, {9600000000ull, 0}};
	static const struct {
		uint32_t div, code;
	} pdiv[] = {{1, 0}, {2, 1}, {3, 2}, {7, 4}}, kdiv[] = {{5, 0}, {2, 1}, {3, 2}, {1, 3}};
	uint64_t afe = (uint64_t)clock_khz * 1000 * 5, best_ppm = UINT64_MAX, best_dco = 0;
	uint32_t best_cfgcr2 = 0;
	if (!clock_khz)
		return -EINVAL;
	for (size_t pi = 0; pi < 4; pi++) {
		for (size_t ki = 0; ki < 4; ki++) {
			uint32_t qmax = kdiv[ki].div == 2 ? 255 : 1;
			for (uint32_t q = 1; q <= qmax; q++) {
				uint64_t dco = afe * pdiv[pi].div * kdiv[ki].div * q;
				for (size_t c = 0; c < 3; c++) {
					uint64_t hz = centres[c].hz;
					if (dco < hz / 100 * 94 || dco > hz / 100 * 101)
						continue;
					uint64_t ppm = (dco > hz ? dco - hz : hz - dco) * 1000000 / hz;
					if (ppm >= best_ppm)
						continue;
					best_ppm = ppm;
					best_dco = dco;
					best_cfgcr2 = q << 8 | (q > 1 ? 1u << 7 : 0) | kdiv[ki].code << 5 | pdiv[pi].code << 2 |
						      centres[c].code;
				}
			}
		}
	}
	if (best_ppm == UINT64_MAX)
		return -EINVAL;
	uint64_t frac = (best_dco % REF_HZ) * 0x8000 / REF_HZ;
	out->cfgcr1 = DPLL_CFGCR1_FREQ_ENABLE | (uint32_t)frac << 9 | (uint32_t)(best_dco / REF_HZ);
	out->cfgcr2 = best_cfgcr2;
	return 0;
}

static uint32_t dpll_ctl_reg(unsigned id)
{
	return id == 1 ? LCPLL2_CTL : id == 2 ? WRPLL_CTL1 : WRPLL_CTL2;
}

/* ---- GMBUS: EDID from the monitor's DDC EEPROM ---- */

static int gmbus_wait(struct i915_display *d, uint32_t bits)
{
	uint64_t deadline = monotonic_ns() + REG_WAIT_NS;
	for (;;) {
		uint32_t st = rd(d, GMBUS2);
		if (st == 0xFFFFFFFFu)
			return -ENODEV;
		if (st & GMBUS_SATOER)
			return -ENXIO; /* no acknowledge: nobody at that address */
		if (st & bits)
			return 0;
		if (monotonic_ns() > deadline)
			return -ETIMEDOUT;
	}
}

static void gmbus_release(struct i915_display *d, bool error)
{
	if (error) {
		/* As the kernel after a NAK: clear the controller, then idle it. */
		wr(d, GMBUS1, GMBUS_SW_CLR_INT);
		wr(d, GMBUS1, 0);
	}
	wr(d, GMBUS0, 0);
}

/* One index-cycle read (word address 0) of an EDID block; 0 or -errno. */
static int read_edid(struct i915_display *d, unsigned pin, uint8_t edid[EDID_LEN])
{
	wr(d, GMBUS0, GMBUS_RATE_100KHZ | pin);
	wr(d, GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_INDEX | GMBUS_CYCLE_WAIT | EDID_LEN << GMBUS_BYTE_COUNT_SHIFT |
			      0u << GMBUS_SLAVE_INDEX_SHIFT | DDC_ADDR << GMBUS_SLAVE_ADDR_SHIFT | GMBUS_SLAVE_READ);
	int ret = 0;
	for (unsigned got = 0; got < EDID_LEN && !ret;) {
		ret = gmbus_wait(d, GMBUS_HW_RDY);
		if (ret)
			break;
		uint32_t v = rd(d, GMBUS3);
		for (unsigned i = 0; i < 4 && got < EDID_LEN; i++)
			edid[got++] = (uint8_t)(v >> (8 * i));
	}
	if (!ret)
		ret = gmbus_wait(d, GMBUS_HW_WAIT_PHASE);
	if (!ret) {
		wr(d, GMBUS1, GMBUS_SW_RDY | GMBUS_CYCLE_STOP);
		if (!wait_reg(d, GMBUS2, GMBUS_ACTIVE, 0))
			ret = -ETIMEDOUT;
	}
	gmbus_release(d, ret != 0);
	if (ret)
		return ret;

	static const uint8_t header[8] = {0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00};
	uint8_t sum = 0;
	for (unsigned i = 0; i < EDID_LEN; i++)
		sum = (uint8_t)(sum + edid[i]);
	return memcmp(edid, header, sizeof(header)) || sum ? -EIO : 0;
}

/* Live hot-plug status first (as the kernel), then the EDID says who is there. */
static void detect(struct i915_display *d, struct output *o)
{
	o->has_edid = false;
	if (!(rd(d, SDEISR) & SDE_PORT_HOTPLUG_CPT(o->port)))
		return;
	if (!o->hdmi) {
		log_warn("i915: a sink is present on DDI %c but DisplayPort (AUX) is not supported", 'A' + o->port);
		return;
	}
	int ret = read_edid(d, o->pin, o->edid);
	if (ret)
		log_warn("i915: DDI %c: monitor present but no EDID (%d)", 'A' + o->port, ret);
	o->has_edid = ret == 0;
}

/* ---- interrupts ---- */

#define FLIP_DONE_ALL (GEN9_PIPE_PLANE_FLIP_DONE(1) | GEN9_PIPE_PLANE_FLIP_DONE(2) | GEN9_PIPE_PLANE_FLIP_DONE(3))

static void update_vblank_mask(struct pipe_state *ps)
{
	bool want = ps->vblank_on || (ps->commit_pending && ps->wait_vblank);
	uint32_t imr = ~(FLIP_DONE_ALL | (want ? GEN8_PIPE_VBLANK : 0));
	if (imr != ps->imr) {
		ps->imr = imr;
		wr(ps->disp, GEN8_DE_PIPE_IMR(ps->pipe), imr);
	}
}

static void complete(struct pipe_state *ps)
{
	if (ps->watchdog) {
		event_timer_cancel(ps->watchdog);
		ps->watchdog = NULL;
	}
	ps->commit_pending = false;
	ps->wait_vblank = false;
	ps->flip_wait = 0;
	update_vblank_mask(ps);
	drm_crtc_commit_done(ps->crtc); /* last: the core may start the next commit from here */
}

static uint64_t frame_ns(const struct drm_mode_modeinfo *m)
{
	return m->clock ? (uint64_t)m->htotal * m->vtotal * 1000000ull / m->clock : 0;
}

static void watchdog_fire(void *data);

static void watchdog_arm(struct pipe_state *ps)
{
	struct event_loop *loop = ps->disp->dev->loop;
	if (!loop || ps->watchdog)
		return;
	uint64_t wait = 4 * frame_ns(&ps->mode);
	if (wait < 50000000ull)
		wait = 50000000ull;
	ps->watchdog = event_loop_add_timer(loop, monotonic_ns() + wait, watchdog_fire, ps);
}

/* The interrupt that should have finished the commit did not come: ask the hardware. */
static void watchdog_fire(void *data)
{
	struct pipe_state *ps = data;
	struct i915_display *d = ps->disp;
	ps->watchdog = NULL;
	if (!ps->commit_pending)
		return;
	bool latched = !ps->running || rd(d, PIPE_FRMCOUNT(ps->pipe)) != ps->arm_frame;
	for (unsigned n = 1; n <= 3 && latched; n++)
		if (ps->flip_wait & GEN9_PIPE_PLANE_FLIP_DONE(n))
			latched = rd(d, PLANE_SURFLIVE(ps->pipe, n)) == ps->armed_surf[n];
	if (!latched) {
		watchdog_arm(ps);
		return;
	}
	log_warn("i915: pipe %c: commit completion interrupt missing; finished from the frame counter",
		 pipe_name(ps->pipe));
	complete(ps);
}

/*
 * The start of the latest vblank, the kernel's way: now, minus the lines
 * scanned since (PIPEDSL). *frame is the hardware frame counter of that vblank.
 */
static uint64_t vblank_timestamp(struct pipe_state *ps, uint32_t *frame)
{
	const struct drm_mode_modeinfo *m = &ps->mode;
	uint32_t line, again;
	uint64_t now;
	/* The counter read on both sides of the scanline, so both describe the same frame. */
	for (int tries = 0;; tries++) {
		*frame = rd(ps->disp, PIPE_FRMCOUNT(ps->pipe));
		line = rd(ps->disp, PIPEDSL(ps->pipe)) & PIPEDSL_LINE_MASK;
		now = monotonic_ns();
		again = rd(ps->disp, PIPE_FRMCOUNT(ps->pipe));
		if (again == *frame || tries == 2)
			break;
	}
	*frame = again;
	if (!m->clock || !m->vtotal || line >= m->vtotal)
		return now;
	uint64_t lines = line >= m->vdisplay ? line - m->vdisplay : line + m->vtotal - m->vdisplay;
	uint64_t back = lines * m->htotal * 1000000ull / m->clock;
	return back < now ? now - back : now;
}

/*
 * Reports the frames after the last one counted up to hardware frame upto
 * (at most max of them), each with its own start time: ts is the start of
 * frame latest, frames are period apart. Late or merged interrupts lose none.
 */
static void count_vblanks(struct pipe_state *ps, uint32_t upto, uint32_t latest, uint64_t ts, uint32_t max)
{
	uint64_t period = frame_ns(&ps->mode);
	uint32_t n = upto - ps->last_frame;
	if (!n || n > 0x80000000u)
		return; /* nothing new (a bit latched for a frame already counted) */
	if (n > max)
		n = max;
	/* Recorded first: the core may re-enter the driver from drm_crtc_handle_vblank. */
	ps->last_frame = upto;
	for (uint32_t k = n; k-- > 0;) {
		uint64_t back = (uint64_t)(latest - upto + k) * period;
		drm_crtc_handle_vblank(ps->crtc, back < ts ? ts - back : ts);
	}
}

static void pipe_irq(struct i915_display *d, unsigned p, uint32_t iir)
{
	struct pipe_state *ps = &d->pipe[p];
	uint32_t gen = ps->gen, frame = 0;
	uint64_t ts = 0;
	bool done = false, vblank = (iir & GEN8_PIPE_VBLANK) && ps->running;
	if (vblank)
		ts = vblank_timestamp(ps, &frame);
	if (ps->commit_pending) {
		ps->flip_wait &= ~iir;
		done = ps->wait_vblank ? vblank : !ps->flip_wait;
		/* An interrupt latched before the commit was armed is not its completion. */
		if (done && rd(d, PIPE_FRMCOUNT(p)) == ps->arm_frame)
			done = false;
	}
	if (done) {
		/* Count up to the frame the commit landed in: its event carries that frame's count. */
		uint32_t latch = ps->arm_frame + 1;
		if (vblank && latch - ps->last_frame - 1 < frame - ps->last_frame)
			count_vblanks(ps, latch, frame, ts, 1000);
		if (ps->commit_pending && ps->gen == gen)
			complete(ps);
	}
	/*
	 * The frames after it. If completing started the next commit at once, they are
	 * older than that commit: report at most two so it is not taken for overdue.
	 */
	if (vblank && ps->running)
		count_vblanks(ps, frame, frame, ts, ps->gen == gen ? 1000 : 2);
}

static void hotplug_irq(struct i915_display *d, uint32_t iir)
{
	/* The sticky pulse status clears by writing it back. */
	wr(d, PCH_PORT_HOTPLUG, rd(d, PCH_PORT_HOTPLUG));
	for (unsigned o = 0; o < 2; o++) {
		struct output *out = &d->out[o];
		if (!(iir & SDE_PORT_HOTPLUG_CPT(out->port)))
			continue;
		detect(d, out);
		log_info("i915: DDI %c hot-plug: %s", 'A' + out->port, out->has_edid ? "connected" : "disconnected");
		drm_connector_update_edid(out->connector, out->has_edid ? out->edid : NULL, out->has_edid ? EDID_LEN : 0);
	}
}

/* The display's banks among GEN8_MASTER_IRQ's pending bits: each IIR is read, cleared, then served. */
static void display_irq(struct drm_device *dev, uint32_t master)
{
	struct i915_display *d = to_disp(dev);
	if (!d)
		return;
	for (unsigned p = 0; p < I915_NUM_PIPES; p++) {
		if (!(master & GEN8_DE_PIPE_IRQ(p)))
			continue;
		uint32_t iir = rd(d, GEN8_DE_PIPE_IIR(p));
		if (!iir || iir == 0xFFFFFFFFu)
			continue;
		wr(d, GEN8_DE_PIPE_IIR(p), iir);
		pipe_irq(d, p, iir);
	}
	if (master & GEN8_PCH_IRQ) {
		uint32_t iir = rd(d, SDEIIR);
		if (iir && iir != 0xFFFFFFFFu) {
			wr(d, SDEIIR, iir);
			hotplug_irq(d, iir);
		}
	}
}

/* ---- planes ---- */

/* Arms one universal plane from its state (or turns it off); returns the SURF value written. */
static uint32_t program_plane(struct pipe_state *ps, unsigned n, const struct drm_plane_state *st)
{
	struct i915_display *d = ps->disp;
	unsigned p = ps->pipe;
	const struct drm_framebuffer *fb = st ? st->fb : NULL;
	const struct fb_map *map = fb ? fb->driver_priv : NULL;
	uint32_t ctl, cpp;
	if (!st || !st->visible || !map || !find_format(fb->format, &ctl, &cpp)) {
		wr(d, PLANE_CTL(p, n), 0);
		wr(d, PLANE_SURF(p, n), 0);
		return 0;
	}
	/* Linear: the surface is page aligned; the rest of the buffer offset becomes x/y. */
	uint32_t pitch = fb->pitches[0], rem = fb->offsets[0] & 4095;
	uint32_t x = (st->src_x >> 16) + (rem % pitch) / cpp, y = (st->src_y >> 16) + rem / pitch;
	uint32_t surf = (uint32_t)(map->offset + (fb->offsets[0] & ~4095u));
	wr(d, PLANE_CTL(p, n), PLANE_CTL_ENABLE | PLANE_CTL_PIPE_GAMMA_ENABLE | ctl);
	wr(d, PLANE_STRIDE(p, n), pitch / 64);
	wr(d, PLANE_POS(p, n), (uint32_t)st->crtc_y << 16 | (uint32_t)st->crtc_x);
	wr(d, PLANE_SIZE(p, n), (st->crtc_h - 1) << 16 | (st->crtc_w - 1));
	wr(d, PLANE_OFFSET(p, n), y << 16 | x);
	wr(d, PLANE_SURF(p, n), surf); /* last: arms the update */
	return surf;
}

static uint32_t cursor_mode(uint32_t size)
{
	return size == 64 ? MCURSOR_MODE_64_ARGB_AX : size == 128 ? MCURSOR_MODE_128_ARGB_AX
			 : size == 256 ? MCURSOR_MODE_256_ARGB_AX : 0;
}

static uint32_t program_cursor(struct pipe_state *ps, const struct drm_plane_state *st)
{
	struct i915_display *d = ps->disp;
	unsigned p = ps->pipe;
	const struct fb_map *map = st && st->fb ? st->fb->driver_priv : NULL;
	if (!st || !st->visible || !map) {
		wr(d, CURCNTR(p), 0);
		wr(d, CURPOS(p), 0);
		wr(d, CURBASE(p), 0);
		return 0;
	}
	/* Sign and magnitude, each coordinate in 15 bits. */
	int32_t x = st->crtc_x, y = st->crtc_y;
	uint32_t ax = x < 0 ? 0u - (uint32_t)x : (uint32_t)x, ay = y < 0 ? 0u - (uint32_t)y : (uint32_t)y;
	uint32_t pos = (x < 0 ? CURSOR_POS_X_SIGN : 0) | (ax & 0x7FFF) | (y < 0 ? CURSOR_POS_Y_SIGN : 0) |
		       (ay & 0x7FFF) << 16;
	uint32_t base = (uint32_t)(map->offset + st->fb->offsets[0]);
	wr(d, CURCNTR(p), cursor_mode(st->crtc_w) | MCURSOR_PIPE_GAMMA_ENABLE);
	wr(d, CURPOS(p), pos);
	wr(d, CURBASE(p), base); /* arms */
	return base;
}

/* Arms the planes of pipe p that changed (mask bit n for universal plane n, bit 0 for the cursor);
 * returns the flip-done bits that will confirm them. */
static uint32_t program_planes(struct pipe_state *ps, uint32_t mask)
{
	uint32_t flips = 0;
	const struct drm_plane_state *st[4] = {
		ps->cursor->state, ps->primary->state, ps->overlay->state, NULL,
	};
	for (unsigned n = 1; n <= 3; n++) {
		if (!(mask & (1u << n)))
			continue;
		ps->armed_surf[n] = program_plane(ps, n, st[n]);
		flips |= GEN9_PIPE_PLANE_FLIP_DONE(n);
	}
	if (mask & 1u)
		ps->armed_surf[0] = program_cursor(ps, st[0]);
	return flips;
}

/* Waits (briefly) until the pipe is not in the last lines before vblank, so writes land in one frame. */
static void vblank_evade(struct pipe_state *ps)
{
	const struct drm_mode_modeinfo *m = &ps->mode;
	if (!m->clock || !m->vdisplay)
		return;
	uint64_t line_ns = (uint64_t)m->htotal * 1000000ull / m->clock;
	uint32_t lines = (uint32_t)((VBLANK_EVASION_NS + line_ns - 1) / (line_ns ? line_ns : 1));
	uint32_t max = m->vdisplay - 1, min = lines < m->vdisplay ? m->vdisplay - lines : 0;
	uint64_t deadline = monotonic_ns() + frame_ns(m) + REG_WAIT_NS;
	for (;;) {
		uint32_t line = rd(ps->disp, PIPEDSL(ps->pipe)) & PIPEDSL_LINE_MASK;
		if (line < min || line > max)
			return;
		if (monotonic_ns() > deadline) {
			log_warn("i915: pipe %c: stuck at line %u while evading vblank", pipe_name(ps->pipe), line);
			return;
		}
	}
}

/* ---- pipes ---- */

static void pipe_disable(struct pipe_state *ps)
{
	struct i915_display *d = ps->disp;
	unsigned p = ps->pipe, id = 1 + p;
	for (unsigned n = 1; n <= 3; n++) {
		wr(d, PLANE_CTL(p, n), 0);
		wr(d, PLANE_SURF(p, n), 0);
	}
	wr(d, CURCNTR(p), 0);
	wr(d, CURBASE(p), 0);
	wr(d, TRANSCONF(p), 0);
	if (!wait_reg(d, TRANSCONF(p), TRANSCONF_STATE_ENABLE, 0))
		log_error("i915: pipe %c did not turn off", pipe_name(p));
	wr(d, TRANS_DDI_FUNC_CTL(p), 0);
	wr(d, DDI_BUF_CTL(ps->port), 0);
	wr(d, DPLL_CTRL2, rd(d, DPLL_CTRL2) | DPLL_CTRL2_DDI_CLK_OFF(ps->port));
	wr(d, dpll_ctl_reg(id), rd(d, dpll_ctl_reg(id)) & ~PLL_ENABLE);
	ps->running = false;
}

/* DPLL (1 + pipe) in HDMI mode → DDI port → transcoder timings → planes → pipe on. */
static bool pipe_enable(struct pipe_state *ps, const struct drm_mode_modeinfo *m, enum i915_port port)
{
	struct i915_display *d = ps->disp;
	unsigned p = ps->pipe, id = 1 + p;
	struct wrpll pll;
	if (wrpll_compute(m->clock, &pll)) {
		log_error("i915: pipe %c: no WRPLL setting for %u kHz", pipe_name(p), m->clock);
		return false;
	}
	wr(d, DPLL_CTRL1, (rd(d, DPLL_CTRL1) & ~DPLL_CTRL1_FIELD(id)) | DPLL_CTRL1_HDMI_MODE(id) | DPLL_CTRL1_OVERRIDE(id));
	wr(d, DPLL_CFGCR1(id), pll.cfgcr1);
	wr(d, DPLL_CFGCR2(id), pll.cfgcr2);
	wr(d, dpll_ctl_reg(id), rd(d, dpll_ctl_reg(id)) | PLL_ENABLE);
	if (!wait_reg(d, DPLL_STATUS, DPLL_LOCK(id), DPLL_LOCK(id))) {
		log_error("i915: DPLL%u did not lock for %u kHz", id, m->clock);
		wr(d, dpll_ctl_reg(id), rd(d, dpll_ctl_reg(id)) & ~PLL_ENABLE);
		return false;
	}
	uint32_t ctrl2 = rd(d, DPLL_CTRL2) & ~(DPLL_CTRL2_DDI_CLK_OFF(port) | DPLL_CTRL2_DDI_CLK_SEL_MASK(port));
	wr(d, DPLL_CTRL2, ctrl2 | DPLL_CTRL2_DDI_CLK_SEL(id, port) | DPLL_CTRL2_DDI_SEL_OVERRIDE(port));
	wr(d, DDI_BUF_CTL(port), DDI_BUF_CTL_ENABLE);

	wr(d, TRANS_HTOTAL(p), (uint32_t)(m->htotal - 1) << 16 | (uint32_t)(m->hdisplay - 1));
	wr(d, TRANS_HBLANK(p), (uint32_t)(m->htotal - 1) << 16 | (uint32_t)(m->hdisplay - 1));
	wr(d, TRANS_HSYNC(p), (uint32_t)(m->hsync_end - 1) << 16 | (uint32_t)(m->hsync_start - 1));
	wr(d, TRANS_VTOTAL(p), (uint32_t)(m->vtotal - 1) << 16 | (uint32_t)(m->vdisplay - 1));
	wr(d, TRANS_VBLANK(p), (uint32_t)(m->vtotal - 1) << 16 | (uint32_t)(m->vdisplay - 1));
	wr(d, TRANS_VSYNC(p), (uint32_t)(m->vsync_end - 1) << 16 | (uint32_t)(m->vsync_start - 1));
	wr(d, PIPESRC(p), (uint32_t)(m->hdisplay - 1) << 16 | (uint32_t)(m->vdisplay - 1));
	uint32_t ddi = TRANS_DDI_FUNC_ENABLE | TRANS_DDI_SELECT_PORT(port) | TRANS_DDI_MODE_SELECT_HDMI | TRANS_DDI_BPC_8;
	if (m->flags & DRM_MODE_FLAG_PHSYNC)
		ddi |= TRANS_DDI_PHSYNC;
	if (m->flags & DRM_MODE_FLAG_PVSYNC)
		ddi |= TRANS_DDI_PVSYNC;
	wr(d, TRANS_DDI_FUNC_CTL(p), ddi);

	/* With the pipe still off, plane writes take effect at once: the first frame is right. */
	ps->mode = *m;
	ps->port = port;
	program_planes(ps, 0xF & ~(1u << 3));
	wr(d, PLANE_CTL(p, 3), 0);
	wr(d, PLANE_SURF(p, 3), 0);

	wr(d, TRANSCONF(p), TRANSCONF_ENABLE);
	ps->running = true;
	ps->last_frame = rd(d, PIPE_FRMCOUNT(p));
	if (!wait_reg(d, TRANSCONF(p), TRANSCONF_STATE_ENABLE, TRANSCONF_STATE_ENABLE)) {
		log_error("i915: pipe %c did not start (%ux%u, %u kHz)", pipe_name(p), m->hdisplay, m->vdisplay,
			  m->clock);
		pipe_disable(ps);
		return false;
	}
	return true;
}

/* ---- atomic check ---- */

static int mode_check(const struct drm_mode_modeinfo *m)
{
	struct wrpll pll;
	if (m->flags & (DRM_MODE_FLAG_INTERLACE | DRM_MODE_FLAG_DBLSCAN | DRM_MODE_FLAG_DBLCLK))
		return -EINVAL;
	if (!m->clock || m->clock > MAX_DOTCLOCK_KHZ)
		return -EINVAL;
	if (!m->hdisplay || !m->vdisplay || m->hdisplay > MAX_PIPE_SIZE || m->vdisplay > MAX_PIPE_SIZE)
		return -EINVAL;
	if (m->hsync_start < m->hdisplay || m->hsync_end < m->hsync_start || m->htotal < m->hsync_end ||
	    m->htotal <= m->hdisplay || m->htotal > MAX_TIMING)
		return -EINVAL;
	if (m->vsync_start < m->vdisplay || m->vsync_end < m->vsync_start || m->vtotal < m->vsync_end ||
	    m->vtotal <= m->vdisplay || m->vtotal > MAX_TIMING)
		return -EINVAL;
	return wrpll_compute(m->clock, &pll);
}

static struct output *output_of_mask(struct i915_display *d, uint32_t connector_mask, int *count)
{
	struct output *found = NULL;
	*count = 0;
	for (unsigned o = 0; o < 2; o++) {
		if (connector_mask & (1u << d->out[o].connector->index)) {
			found = &d->out[o];
			(*count)++;
		}
	}
	return found;
}

static int check_plane(struct i915_display *d, struct drm_atomic_state *s, unsigned idx,
		       const struct drm_plane_state *st)
{
	const struct plane_hw *hwp = &d->plane_hw[idx];
	if (!st->crtc || !st->fb)
		return 0;
	if (st->crtc->index != hwp->pipe)
		return -EINVAL;
	if (!st->visible)
		return 0;
	const struct drm_crtc_state *cs = s->crtcs_new[st->crtc->index] ? s->crtcs_new[st->crtc->index] : st->crtc->state;
	const struct drm_framebuffer *fb = st->fb;
	uint32_t ctl, cpp;
	if (!find_format(fb->format, &ctl, &cpp) || fb->modifier != DRM_FORMAT_MOD_LINEAR || fb->nplanes != 1)
		return -EINVAL;
	/* Whole pixels only, and no scaler: the source is the destination size. */
	if ((st->src_x | st->src_y | st->src_w | st->src_h) & 0xFFFF)
		return -EINVAL;
	uint32_t sx = st->src_x >> 16, sy = st->src_y >> 16, sw = st->src_w >> 16, sh = st->src_h >> 16;
	if (sw != st->crtc_w || sh != st->crtc_h || !sw || !sh)
		return -ERANGE;
	if ((uint64_t)sx + sw > fb->width || (uint64_t)sy + sh > fb->height)
		return -ENOSPC;
	uint32_t pitch = fb->pitches[0];

	if (hwp->n == 0) {
		/* The cursor: a square ARGB image of a supported size, its own stride, no offset. */
		if (fb->format != DRM_FORMAT_ARGB8888 || !cursor_mode(sw) || sw != sh || pitch != sw * 4 || sx || sy ||
		    fb->offsets[0] % 4096)
			return -EINVAL;
		if (st->crtc_x <= -32768 || st->crtc_x >= 32768 || st->crtc_y <= -32768 || st->crtc_y >= 32768)
			return -ERANGE;
		return 0;
	}
	if (pitch % 64 || pitch > MAX_STRIDE || pitch < sw * cpp)
		return -EINVAL;
	if (((fb->offsets[0] & 4095) % pitch) % cpp)
		return -EINVAL; /* an offset that is no whole pixel */
	if (sw > MAX_PIPE_SIZE || sh > MAX_PIPE_SIZE)
		return -ERANGE;
	/* Universal planes cannot hang off the pipe: only fully visible positions. */
	if (st->crtc_x < 0 || st->crtc_y < 0 || (uint64_t)st->crtc_x + st->crtc_w > cs->mode.hdisplay ||
	    (uint64_t)st->crtc_y + st->crtc_h > cs->mode.vdisplay)
		return -EINVAL;
	return 0;
}

static int i915_atomic_check(struct drm_device *dev, struct drm_atomic_state *s)
{
	struct i915_display *d = to_disp(dev);
	if (!d)
		return -ENODEV;
	for (unsigned i = 0; i < I915_NUM_PIPES; i++) {
		const struct drm_crtc_state *cs = s->crtcs_new[i];
		if (!cs || !cs->active)
			continue;
		int ret = mode_check(&cs->mode);
		if (ret)
			return ret;
		int n;
		const struct output *out = output_of_mask(d, cs->connector_mask, &n);
		if (n != 1)
			return -EINVAL; /* no cloning */
		if (!out->hdmi)
			return -EINVAL; /* DisplayPort link training needs AUX */
	}
	for (unsigned i = 0; i < KMS_MAX_PLANES; i++) {
		if (!s->planes_new[i])
			continue;
		int ret = check_plane(d, s, i, s->planes_new[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- commit ---- */

static void i915_atomic_commit(struct drm_device *dev, struct drm_atomic_state *s)
{
	struct i915_display *d = to_disp(dev);
	if (!d)
		return;
	uint32_t planes[I915_NUM_PIPES] = {0};
	for (unsigned i = 0; i < KMS_MAX_PLANES; i++)
		if (s->planes_old[i] || s->planes_new[i])
			planes[d->plane_hw[i].pipe] |= 1u << d->plane_hw[i].n;

	/* Every disable first, so a port moving between pipes is free before it is taken. */
	for (unsigned p = 0; p < I915_NUM_PIPES; p++) {
		struct pipe_state *ps = &d->pipe[p];
		const struct drm_crtc_state *cs = ps->crtc->state;
		if (!s->crtcs_new[p])
			continue;
		if (ps->commit_pending) {
			/* The core finished it already (it overtook it): forget it. */
			if (ps->watchdog)
				event_timer_cancel(ps->watchdog);
			ps->watchdog = NULL;
			ps->commit_pending = false;
		}
		ps->gen++;
		if (ps->running && (!cs->active || cs->mode_changed))
			pipe_disable(ps);
	}

	for (unsigned p = 0; p < I915_NUM_PIPES; p++) {
		struct pipe_state *ps = &d->pipe[p];
		const struct drm_crtc_state *cs = ps->crtc->state;
		bool tracked = s->crtcs_new[p] != NULL;
		if (!tracked && !planes[p])
			continue;
		if (!cs->active) {
			if (tracked)
				complete(ps); /* nothing will scan out: done at once */
			continue;
		}
		if (!ps->running) {
			int n;
			struct output *out = output_of_mask(d, cs->connector_mask, &n);
			if (!out || !pipe_enable(ps, &cs->mode, out->port)) {
				if (tracked)
					complete(ps);
				continue;
			}
			if (tracked) {
				/* The first frame shows the new planes; its vblank ends the commit. */
				ps->commit_pending = true;
				ps->wait_vblank = true;
				ps->flip_wait = 0;
			}
		} else {
			vblank_evade(ps);
			uint32_t flips = program_planes(ps, planes[p]);
			if (tracked) {
				ps->commit_pending = true;
				ps->flip_wait = flips;
				ps->wait_vblank = flips == 0; /* cursor-only or no plane: the next vblank */
			}
		}
		ps->arm_frame = rd(d, PIPE_FRMCOUNT(p));
		if (tracked) {
			update_vblank_mask(ps);
			watchdog_arm(ps);
		}
	}
}

/* ---- framebuffers ---- */

static int i915_prepare_fb(struct drm_device *dev, struct drm_framebuffer *fb)
{
	struct i915_device *i915 = dev->dev_private;
	if (fb->driver_priv)
		return 0;
	const struct drm_gem_object *obj = fb->obj[0];
	if (!obj || !obj->dma_addr || !obj->size)
		return -EINVAL; /* scanout needs device-visible memory */
	for (unsigned i = 1; i < fb->nplanes; i++)
		if (fb->obj[i] != obj)
			return -EINVAL;
	struct fb_map *map = malloc(sizeof(*map));
	if (!map)
		return -ENOMEM;
	int ret = i915_ggtt_alloc(i915, obj->size, SURF_ALIGN, &map->offset);
	if (ret) {
		free(map);
		return ret;
	}
	map->size = obj->size;
	i915_ggtt_map(i915, map->offset, obj->dma_addr, obj->size, I915_GGTT_PTE_UNCACHED);
	fb->driver_priv = map;
	return 0;
}

static void i915_cleanup_fb(struct drm_device *dev, struct drm_framebuffer *fb)
{
	struct i915_device *i915 = dev->dev_private;
	struct fb_map *map = fb->driver_priv;
	if (!map)
		return;
	i915_ggtt_unmap(i915, map->offset, map->size);
	i915_ggtt_free(i915, map->offset);
	free(map);
	fb->driver_priv = NULL;
}

/* ---- vblank and capture ---- */

static int i915_enable_vblank(struct drm_crtc *crtc)
{
	struct pipe_state *ps = crtc->driver_priv;
	ps->vblank_on = true;
	update_vblank_mask(ps);
	return 0;
}

static void i915_disable_vblank(struct drm_crtc *crtc)
{
	struct pipe_state *ps = crtc->driver_priv;
	ps->vblank_on = false;
	update_vblank_mask(ps);
}

static int i915_capture(struct drm_crtc *crtc, uint32_t *pixels, uint32_t width, uint32_t height)
{
	struct pipe_state *ps = crtc->driver_priv;
	struct hw_device *hw = ps->disp->hw;
	if (!hw->ops->scanout_capture)
		return -ENODEV;
	return hw->ops->scanout_capture(hw, ps->pipe, pixels, width, height);
}

/* ---- gamma ---- */

/* Every plane has pipe gamma on, so the palette always holds a table: without one, the identity. */
static void i915_gamma_set(struct drm_crtc *crtc)
{
	struct pipe_state *ps = crtc->driver_priv;
	if (!ps)
		return; /* at creation the CRTC is not bound yet: modeset_init loads it then */
	struct i915_display *d = ps->disp;
	unsigned p = ps->pipe;
	const uint16_t *t = crtc->gamma_size == GAMMA_SIZE ? crtc->gamma : NULL;
	/* The palette is not double buffered: out of the last lines, one frame sees one table. */
	if (ps->running)
		vblank_evade(ps);
	for (unsigned i = 0; i < GAMMA_SIZE; i++) {
		uint32_t r = t ? t[i] >> 8 : i, g = t ? t[GAMMA_SIZE + i] >> 8 : i, b = t ? t[2 * GAMMA_SIZE + i] >> 8 : i;
		wr(d, LGC_PALETTE(p, i), r << 16 | g << 8 | b);
	}
	wr(d, GAMMA_MODE(p), GAMMA_MODE_MODE_8BIT);
	wr(d, SKL_BOTTOM_COLOR(p), SKL_BOTTOM_COLOR_GAMMA_ENABLE); /* black, through the gamma like the planes */
}

/* ---- setup ---- */

static void irq_setup(struct i915_display *d)
{
	for (unsigned p = 0; p < I915_NUM_PIPES; p++) {
		struct pipe_state *ps = &d->pipe[p];
		wr(d, GEN8_DE_PIPE_IMR(p), 0xFFFFFFFFu);
		wr(d, GEN8_DE_PIPE_IIR(p), 0xFFFFFFFFu);
		wr(d, GEN8_DE_PIPE_IER(p), GEN8_PIPE_VBLANK | FLIP_DONE_ALL);
		ps->imr = 0xFFFFFFFFu;
		update_vblank_mask(ps);
	}
	uint32_t hpd = SDE_PORT_HOTPLUG_CPT(I915_PORT_B) | SDE_PORT_HOTPLUG_CPT(I915_PORT_C);
	wr(d, PCH_PORT_HOTPLUG, rd(d, PCH_PORT_HOTPLUG) | PORT_HOTPLUG_ENABLE(I915_PORT_B) | PORT_HOTPLUG_ENABLE(I915_PORT_C));
	wr(d, SDEIIR, 0xFFFFFFFFu);
	wr(d, SDEIER, hpd);
	wr(d, SDEIMR, ~hpd);
	wr(d, GEN8_MASTER_IRQ, GEN8_MASTER_IRQ_CONTROL);
}

static void i915_modeset_fini(struct drm_device *dev)
{
	struct i915_device *i915 = dev->dev_private;
	struct i915_display *d = to_disp(dev);
	if (!d)
		return;
	for (unsigned p = 0; p < I915_NUM_PIPES; p++) {
		struct pipe_state *ps = &d->pipe[p];
		if (ps->watchdog)
			event_timer_cancel(ps->watchdog);
		ps->watchdog = NULL;
		if (ps->running)
			pipe_disable(ps);
		wr(d, GEN8_DE_PIPE_IER(p), 0);
		wr(d, GEN8_DE_PIPE_IMR(p), 0xFFFFFFFFu);
		wr(d, GEN8_DE_PIPE_IIR(p), 0xFFFFFFFFu);
	}
	wr(d, SDEIER, 0);
	wr(d, SDEIMR, 0xFFFFFFFFu);
	wr(d, SDEIIR, 0xFFFFFFFFu);
	i915->display_irq = NULL;
	i915->display = NULL;
	free(d);
}

static int i915_modeset_init(struct drm_device *dev)
{
	struct i915_device *i915 = dev->dev_private;
	if (!i915 || i915->display)
		return -EINVAL;
	struct i915_display *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->dev = dev;
	d->i915 = i915;
	d->hw = i915->hw;
	d->out[0] = (struct output){.port = I915_PORT_B, .pin = GMBUS_PIN_DPB, .hdmi = true};
	d->out[1] = (struct output){.port = I915_PORT_C, .pin = GMBUS_PIN_DPC, .hdmi = false};

	const unsigned nfmt = sizeof(universal_fourccs) / sizeof(universal_fourccs[0]);
	for (unsigned p = 0; p < I915_NUM_PIPES; p++) {
		struct pipe_state *ps = &d->pipe[p];
		ps->disp = d;
		ps->pipe = p;
		ps->primary = drm_plane_create(dev, 1u << p, DRM_PLANE_TYPE_PRIMARY, universal_fourccs, nfmt, linear_only, 1);
		ps->overlay = drm_plane_create(dev, 1u << p, DRM_PLANE_TYPE_OVERLAY, universal_fourccs, nfmt, linear_only, 1);
		ps->cursor = drm_plane_create(dev, 1u << p, DRM_PLANE_TYPE_CURSOR, cursor_fourccs, 1, linear_only, 1);
		if (!ps->primary || !ps->overlay || !ps->cursor)
			goto nomem;
		if (ps->primary->index >= KMS_MAX_PLANES || ps->overlay->index >= KMS_MAX_PLANES ||
		    ps->cursor->index >= KMS_MAX_PLANES)
			goto nomem;
		d->plane_hw[ps->primary->index] = (struct plane_hw){(uint8_t)p, 1};
		d->plane_hw[ps->overlay->index] = (struct plane_hw){(uint8_t)p, 2};
		d->plane_hw[ps->cursor->index] = (struct plane_hw){(uint8_t)p, 0};
		ps->cursor->max_width = 256;
		ps->cursor->max_height = 256;
		ps->crtc = drm_crtc_create(dev, ps->primary, ps->cursor, GAMMA_SIZE);
		if (!ps->crtc)
			goto nomem;
		ps->crtc->driver_priv = ps;
		i915_gamma_set(ps->crtc); /* the core's linear ramp */
	}
	for (unsigned o = 0; o < 2; o++) {
		struct output *out = &d->out[o];
		out->encoder = drm_encoder_create(dev, DRM_MODE_ENCODER_TMDS, (1u << I915_NUM_PIPES) - 1);
		if (!out->encoder)
			goto nomem;
		detect(d, out);
		out->connector = drm_connector_create(dev, out->hdmi ? DRM_MODE_CONNECTOR_HDMIA : DRM_MODE_CONNECTOR_DisplayPort,
						      out->encoder, out->has_edid ? out->edid : NULL,
						      out->has_edid ? EDID_LEN : 0);
		if (!out->connector)
			goto nomem;
		out->connector->driver_priv = out;
		log_info("i915: DDI %c (%s): %s", 'A' + out->port, out->hdmi ? "HDMI" : "DisplayPort",
			 out->has_edid ? "monitor connected" : "nothing connected");
	}
	i915->display = d;
	i915->display_irq = display_irq;
	irq_setup(d);
	return 0;

nomem:
	free(d);
	return -ENOMEM;
}

const struct drm_kms_funcs i915_kms_funcs = {
	.modeset_init = i915_modeset_init,
	.modeset_fini = i915_modeset_fini,
	.atomic_check = i915_atomic_check,
	.prepare_fb = i915_prepare_fb,
	.cleanup_fb = i915_cleanup_fb,
	.atomic_commit = i915_atomic_commit,
	.enable_vblank = i915_enable_vblank,
	.disable_vblank = i915_disable_vblank,
	.gamma_set = i915_gamma_set,
	.capture = i915_capture,
	.dumb_pitch_align = 64,
	.cursor_width = 64,
	.cursor_height = 64,
	.max_width = 8192,
	.max_height = 8192,
	.preferred_depth = 24,
};
