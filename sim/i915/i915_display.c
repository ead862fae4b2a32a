/*
 * Skylake display engine model: two pipes with their transcoder timings, the
 * DPLLs and DDI clock routing that give each pipe its dot clock, universal
 * planes 1-3 and the cursor (double buffered: the SURF/CURBASE write arms,
 * the start of vblank latches), the display interrupt banks, GMBUS with a
 * monitor's DDC EEPROM behind it, and south-display hot-plug sense.
 *
 * A vblank thread keeps each enabled pipe's frames in step with
 * CLOCK_MONOTONIC: frame k's vblank starts at t0 + pixels / dot clock,
 * computed from k (never accumulated), so there is no drift. Every register
 * read of a pipe first brings it up to now, so what the driver reads (the
 * scanline, the frame counter, IIR) agrees with the clock even when the thread
 * runs late.
 *
 * Pipe gamma: the 8-bit legacy palette, applied after the planes blend to
 * the pixels whose topmost plane enables it (PLANE_CTL / CURCNTR gamma bits,
 * latched with the plane) and to the background if SKL_BOTTOM_COLOR does.
 *
 * Not modelled (the registers are plain storage): power wells, CDCLK, display
 * buffer (DDB) allocation and watermarks, the 10/12-bit and split gamma
 * modes (the pipe passes pixels unchanged), pipe CSC, colour keys, the
 * pipe scaler, DP AUX, async flips, tiled, rotated or mirrored surfaces (they
 * show black), GMBUS interrupts (GMBUS4: drivers poll GMBUS2).
 */
#include "sim_i915.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <drm_fourcc.h>

#include "sim_edid.h"
#include "sim_scanout.h"

#define NS_PER_S 1000000000ull
#define REF_HZ 24000000ull /* DPLL reference clock */

/* GMBUS1 / GMBUS2 bits. */
#define GMBUS_SW_CLR_INT 0x80000000u
#define GMBUS_SW_RDY 0x40000000u
#define GMBUS_CYCLE_WAIT (1u << 25)
#define GMBUS_CYCLE_INDEX (2u << 25)
#define GMBUS_CYCLE_STOP (4u << 25)
#define GMBUS_CYCLE_MASK (7u << 25)
#define GMBUS_2BYTE_INDEX_EN 0x80000000u
#define GMBUS_INUSE (1u << 15)
#define GMBUS_HW_WAIT_PHASE (1u << 14)
#define GMBUS_HW_RDY (1u << 11)
#define GMBUS_SATOER (1u << 10)
#define GMBUS_ACTIVE (1u << 9)

#define DDI_BUF_CTL_ENABLE 0x80000000u
#define DDI_BUF_IS_IDLE 0x00000080u
#define DPLL_CFGCR1_FREQ_ENABLE 0x80000000u
#define HOTPLUG_STATUS_ALL 0x03030303u /* B [1:0], C [9:8], D [17:16], A [25:24] */
#define MCURSOR_ROTATE_180 0x8000u
#define PLANE_CTL_FLIP_HORIZONTAL 0x100u
#define DDI_PORTS 5
#define DE_PORT_ISR 0x44440u
#define DE_PORT_IMR 0x44444u
#define DE_MISC_ISR 0x44460u
#define DE_MISC_IMR 0x44464u

struct plane_latch {
	uint32_t ctl, stride, pos, size, surf, offset;
};

struct cursor_latch {
	uint32_t cntr, base, pos;
};

struct pipe_timing {
	uint64_t clock_hz;
	uint32_t htotal, hactive, vtotal, vactive, vblank_start, vblank_end, src_w, src_h;
};

struct pipe {
	bool active;
	struct pipe_timing t;
	uint64_t t0_ns;          /* frame 0, line 0 (first active line) */
	uint64_t frame;          /* vblanks since t0 */
	uint64_t next_vblank_ns; /* start of vblank of frame `frame` */
	uint32_t frmcount, flipcount;
	struct plane_latch live[SIM_I915_PLANES];
	bool armed[SIM_I915_PLANES];
	struct cursor_latch cur_live;
	bool cur_armed;
	uint32_t late_bits; /* events the DELAY fault holds back */
	uint64_t late_due_ns;
};

struct gmbus {
	uint32_t status; /* GMBUS2 without INUSE and the byte count */
	bool inuse;
	bool reading, addr_phase;
	unsigned port; /* the DDI whose DDC EEPROM answered */
	uint32_t cycle, total, remaining;
	uint32_t data; /* last GMBUS3 write: the first bytes of a write cycle */
};

struct sim_i915_display {
	struct sim_model *m;
	pthread_mutex_t *lock; /* the model's: registers and everything here */
	struct sim_regs *r;
	pthread_t thread;
	pthread_cond_t cond;
	bool cond_ready, thread_running, stop;
	unsigned faults;
	uint64_t delay_ns;
	struct pipe pipe[SIM_I915_PIPES];
	bool monitor[DDI_PORTS];
	uint8_t ddc_ptr[DDI_PORTS]; /* each EEPROM's word address */
	uint8_t eeprom[256];        /* 24C02-style: EDID block 0, then erased bytes */
	struct gmbus gm;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint32_t rd(const struct sim_i915_display *d, uint32_t off)
{
	return sim_regs_get(d->r, off);
}

static void wr(struct sim_i915_display *d, uint32_t off, uint32_t v)
{
	sim_regs_set(d->r, off, v);
}

/* Register offset → pipe (transcoder and pipe blocks are 0x1000 apart), plane (1..3). */
static unsigned pipe_of(uint32_t off)
{
	return (off >> 12) & 0xF;
}

static unsigned plane_of(uint32_t off)
{
	return (off >> 8) & 0xF;
}

/* ---- clocks ---- */

static uint32_t dpll_ctl_reg(unsigned id)
{
	static const uint32_t regs[4] = {SIM_I915_LCPLL1_CTL, SIM_I915_LCPLL2_CTL, SIM_I915_WRPLL_CTL1,
					 SIM_I915_WRPLL_CTL2};
	return regs[id];
}

/* WRPLL output (the HDMI port clock) from CFGCR1/2; 0 if the dividers are not a valid setting. */
static uint64_t wrpll_hz(const struct sim_i915_display *d, unsigned id)
{
	uint32_t c1 = rd(d, SIM_I915_DPLL_CFGCR1(id)), c2 = rd(d, SIM_I915_DPLL_CFGCR2(id));
	if (!(c1 & DPLL_CFGCR1_FREQ_ENABLE))
		return 0;
	uint64_t dco = (c1 & 0x1FF) * REF_HZ + ((c1 >> 9) & 0x7FFF) * REF_HZ / 0x8000;
	/* The DCO locks within 6% below its lowest and 1% above its highest centre (8.4-9.6 GHz) [inferred]. */
	if (dco < 7896000000ull || dco > 9696000000ull)
		return 0;
	static const uint8_t pdiv[8] = {1, 2, 3, 0, 7, 0, 0, 0};
	static const uint8_t kdiv[4] = {5, 2, 3, 1};
	uint64_t p0 = pdiv[(c2 >> 2) & 7], p2 = kdiv[(c2 >> 5) & 3];
	uint64_t p1 = (c2 & 0x80) ? (c2 >> 8) & 0xFF : 1;
	if (!p0 || !p1)
		return 0;
	return dco / (p0 * p1 * p2 * 5);
}

/* A DPLL's output (the port clock of the DDIs it feeds), or 0 if it is off or not locked. */
static uint64_t dpll_hz(const struct sim_i915_display *d, unsigned id)
{
	/* DPLL_CTRL1 link rate codes → DP port (symbol) clock: 2700, 1350, 810, 1620, 1080, 2160. */
	static const uint64_t link_hz[8] = {540000000, 270000000, 162000000, 324000000, 216000000, 432000000, 0, 0};
	if (id > 3 || !(rd(d, dpll_ctl_reg(id)) & SIM_I915_PLL_ENABLE))
		return 0;
	uint32_t ctrl1 = (rd(d, SIM_I915_DPLL_CTRL1) >> (6 * id)) & 0x3F;
	if (ctrl1 & 0x20) /* HDMI mode: DPLL0 has none */
		return id ? wrpll_hz(d, id) : 0;
	return link_hz[(ctrl1 >> 1) & 7];
}

static uint64_t ddi_clock_hz(const struct sim_i915_display *d, unsigned port)
{
	uint32_t ctrl2 = rd(d, SIM_I915_DPLL_CTRL2);
	if (port >= DDI_PORTS || (ctrl2 & (1u << (port + 15))))
		return 0; /* DDI clock gated */
	if (!(ctrl2 & (1u << (3 * port))))
		return 0; /* no DPLL selected: the strap default routing is not modelled */
	return dpll_hz(d, (ctrl2 >> (3 * port + 1)) & 3);
}

/* What pipe p would run with now: enabled, clocked and with sane timings. */
static bool pipe_config(const struct sim_i915_display *d, unsigned p, struct pipe_timing *t)
{
	memset(t, 0, sizeof(*t));
	if (!(rd(d, SIM_I915_PIPECONF(p)) & SIM_I915_PIPECONF_ENABLE))
		return false;
	uint32_t ddi = rd(d, SIM_I915_TRANS_DDI_FUNC_CTL(p));
	unsigned port = (ddi >> 28) & 7;
	if (!(ddi & SIM_I915_TRANS_DDI_ENABLE) || port < SIM_I915_DDI_B || port >= DDI_PORTS)
		return false; /* DDI A belongs to the eDP transcoder */
	uint64_t port_hz = ddi_clock_hz(d, port);
	if (!port_hz)
		return false;

	switch ((ddi >> 24) & 7) {
	case 0: /* HDMI */
	case 1: /* DVI: TMDS carries bpc/8 clocks per pixel */
		switch ((ddi >> 20) & 7) {
		case 0: t->clock_hz = port_hz; break;
		case 1: t->clock_hz = port_hz * 8 / 10; break;
		case 3: t->clock_hz = port_hz * 8 / 12; break;
		default: return false;
		}
		break;
	case 2: { /* DP SST: the stream clock is the link clock scaled by M/N */
		uint64_t m = rd(d, SIM_I915_TRANS_LINK_M1(p)) & 0xFFFFFF, n = rd(d, SIM_I915_TRANS_LINK_N1(p)) & 0xFFFFFF;
		if (!n)
			return false;
		t->clock_hz = port_hz * m / n;
		break;
	}
	default:
		return false;
	}
	if (!t->clock_hz)
		return false;

	uint32_t ht = rd(d, SIM_I915_TRANS_HTOTAL(p)), vt = rd(d, SIM_I915_TRANS_VTOTAL(p));
	uint32_t vb = rd(d, SIM_I915_TRANS_VBLANK(p)), src = rd(d, SIM_I915_PIPESRC(p));
	t->htotal = (ht >> 16) + 1;
	t->hactive = (ht & 0xFFFF) + 1;
	t->vtotal = (vt >> 16) + 1;
	t->vactive = (vt & 0xFFFF) + 1;
	t->vblank_start = (vb & 0xFFFF) + 1;
	t->vblank_end = (vb >> 16) + 1;
	t->src_w = (src >> 16) + 1;
	t->src_h = (src & 0xFFFF) + 1;
	/* A timing generator needs blanking in both directions and vblank inside the frame. */
	return t->hactive < t->htotal && t->vactive < t->vtotal && t->vblank_start >= t->vactive &&
	       t->vblank_start < t->vtotal && t->vblank_end > t->vblank_start && t->vblank_end <= t->vtotal;
}

static bool timing_equal(const struct pipe_timing *a, const struct pipe_timing *b)
{
	return a->clock_hz == b->clock_hz && a->htotal == b->htotal && a->hactive == b->hactive &&
	       a->vtotal == b->vtotal && a->vactive == b->vactive && a->vblank_start == b->vblank_start &&
	       a->vblank_end == b->vblank_end && a->src_w == b->src_w && a->src_h == b->src_h;
}

/* ---- frame timing ---- */

/* Duration of px pixel clocks, exactly (floor), without overflow for any real pipe. */
static uint64_t px_to_ns(uint64_t px, uint64_t hz)
{
	return px / hz * NS_PER_S + (px % hz) * NS_PER_S / hz;
}

static uint64_t vblank_time(const struct pipe *pp, uint64_t frame)
{
	uint64_t frame_px = (uint64_t)pp->t.htotal * pp->t.vtotal;
	return pp->t0_ns + px_to_ns(frame * frame_px + (uint64_t)pp->t.vblank_start * pp->t.htotal, pp->t.clock_hz);
}

/* Pixel clocks since t0. */
static uint64_t pixels_at(const struct pipe *pp, uint64_t now)
{
	uint64_t el = now - pp->t0_ns, hz = pp->t.clock_hz;
	return el / NS_PER_S * hz + (el % NS_PER_S) * hz / NS_PER_S;
}

/* The line being scanned out now, 0 = first active line. */
static uint32_t scanline(const struct pipe *pp, uint64_t now)
{
	if (!pp->active || now < pp->t0_ns)
		return 0;
	return (uint32_t)((pixels_at(pp, now) / pp->t.htotal) % pp->t.vtotal);
}

/* ---- interrupts ---- */

static void raise_msi(struct sim_i915_display *d)
{
	if (d->m->bus)
		d->m->bus->raise_irq(d->m->bus);
}

/* Latches events into an IIR through its IMR; the MSI fires for enabled bits under the master enable. */
static void latch_irq(struct sim_i915_display *d, uint32_t imr, uint32_t iir, uint32_t ier, uint32_t bits)
{
	uint32_t l = bits & ~rd(d, imr);
	if (!l)
		return;
	wr(d, iir, rd(d, iir) | l);
	if ((l & rd(d, ier)) && (rd(d, SIM_I915_MASTER_IRQ) & SIM_I915_MASTER_IRQ_CONTROL))
		raise_msi(d);
}

static void pipe_irq(struct sim_i915_display *d, unsigned p, uint32_t bits)
{
	latch_irq(d, SIM_I915_DE_PIPE_IMR(p), SIM_I915_DE_PIPE_IIR(p), SIM_I915_DE_PIPE_IER(p), bits);
}

static void pipe_event(struct sim_i915_display *d, unsigned p, uint32_t bits, uint64_t when)
{
	struct pipe *pp = &d->pipe[p];
	if (d->faults & SIM_I915_DISPLAY_FAULT_DROP_IRQ)
		return;
	if (d->faults & SIM_I915_DISPLAY_FAULT_DELAY_IRQ) {
		if (!pp->late_bits)
			pp->late_due_ns = when + d->delay_ns;
		pp->late_bits |= bits;
		pthread_cond_signal(&d->cond);
		return;
	}
	pipe_irq(d, p, bits);
}

/* ---- pipes and planes ---- */

static void plane_latch(struct sim_i915_display *d, unsigned p, unsigned n)
{
	struct pipe *pp = &d->pipe[p];
	pp->live[n - 1] = (struct plane_latch){
		.ctl = rd(d, SIM_I915_PLANE_CTL(p, n)),
		.stride = rd(d, SIM_I915_PLANE_STRIDE(p, n)),
		.pos = rd(d, SIM_I915_PLANE_POS(p, n)),
		.size = rd(d, SIM_I915_PLANE_SIZE(p, n)),
		.surf = rd(d, SIM_I915_PLANE_SURF(p, n)),
		.offset = rd(d, SIM_I915_PLANE_OFFSET(p, n)),
	};
	pp->armed[n - 1] = false;
}

static void cursor_latch(struct sim_i915_display *d, unsigned p)
{
	struct pipe *pp = &d->pipe[p];
	pp->cur_live = (struct cursor_latch){
		.cntr = rd(d, SIM_I915_CURCNTR(p)),
		.base = rd(d, SIM_I915_CURBASE(p)),
		.pos = rd(d, SIM_I915_CURPOS(p)),
	};
	pp->cur_armed = false;
}

/* Start of vblank: armed registers latch, the frame counter moves, the interrupts follow. */
static void vblank(struct sim_i915_display *d, unsigned p, uint64_t when)
{
	struct pipe *pp = &d->pipe[p];
	uint32_t bits = SIM_I915_DE_PIPE_VBLANK;
	pp->frmcount++;
	for (unsigned n = 1; n <= SIM_I915_PLANES; n++) {
		if (!pp->armed[n - 1])
			continue;
		plane_latch(d, p, n);
		bits |= SIM_I915_DE_PIPE_FLIP_DONE(n);
		if (n == 1)
			pp->flipcount++;
	}
	if (pp->cur_armed)
		cursor_latch(d, p);
	pipe_event(d, p, bits, when);
}

/* Runs every vblank of pipe p up to now. */
static void advance(struct sim_i915_display *d, unsigned p, uint64_t now)
{
	struct pipe *pp = &d->pipe[p];
	if (pp->active && pp->next_vblank_ns <= now) {
		/* Far behind (the host stalled this process): the frames count, but as one event. */
		uint64_t frame_px = (uint64_t)pp->t.htotal * pp->t.vtotal;
		uint64_t vbs_px = (uint64_t)pp->t.vblank_start * pp->t.htotal, px = pixels_at(pp, now);
		uint64_t due = px < vbs_px ? 0 : (px - vbs_px) / frame_px + 1;
		if (due > pp->frame + 64) {
			uint64_t skip = due - pp->frame - 1;
			pp->frmcount += (uint32_t)skip;
			pp->frame += skip;
			pp->next_vblank_ns = vblank_time(pp, pp->frame);
		}
	}
	while (pp->active && pp->next_vblank_ns <= now) {
		vblank(d, p, pp->next_vblank_ns);
		pp->frame++;
		pp->next_vblank_ns = vblank_time(pp, pp->frame);
	}
}

/* With the pipe off, double-buffered registers take effect at once. */
static void latch_all_now(struct sim_i915_display *d, unsigned p)
{
	for (unsigned n = 1; n <= SIM_I915_PLANES; n++)
		if (d->pipe[p].armed[n - 1])
			plane_latch(d, p, n);
	if (d->pipe[p].cur_armed)
		cursor_latch(d, p);
}

/* Re-evaluates which pipes run after a write to anything their timing depends on. */
static void reconfigure(struct sim_i915_display *d)
{
	uint64_t now = now_ns();
	for (unsigned p = 0; p < SIM_I915_PIPES; p++) {
		struct pipe *pp = &d->pipe[p];
		struct pipe_timing t;
		bool want = pipe_config(d, p, &t);
		advance(d, p, now);
		if (want && (!pp->active || !timing_equal(&t, &pp->t))) {
			/* (Re)start the timing generator at the top of a frame. */
			pp->active = true;
			pp->t = t;
			pp->t0_ns = now;
			pp->frame = 0;
			pp->next_vblank_ns = vblank_time(pp, 0);
		} else if (!want && pp->active) {
			pp->active = false;
			latch_all_now(d, p);
		}
	}
	pthread_cond_signal(&d->cond);
}

/* ---- register hooks ---- */

static void write_ignore(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
}

static uint32_t read_zero(struct sim_regs *r, uint32_t off, void *ctx)
{
	return 0;
}

static void config_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, val);
	reconfigure(ctx);
}

static uint32_t pipeconf_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_i915_display *d = ctx;
	return (sim_regs_get(r, off) & ~SIM_I915_PIPECONF_STATE) |
	       (d->pipe[pipe_of(off)].active ? SIM_I915_PIPECONF_STATE : 0);
}

static void pipeconf_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	config_write(r, off, val & ~SIM_I915_PIPECONF_STATE, ctx);
}

static uint32_t dsl_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_i915_display *d = ctx;
	uint64_t now = now_ns();
	advance(d, pipe_of(off), now);
	return scanline(&d->pipe[pipe_of(off)], now);
}

static uint32_t frmcount_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_i915_display *d = ctx;
	advance(d, pipe_of(off), now_ns());
	return d->pipe[pipe_of(off)].frmcount;
}

static uint32_t flipcount_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_i915_display *d = ctx;
	advance(d, pipe_of(off), now_ns());
	return d->pipe[pipe_of(off)].flipcount;
}

static void surf_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_i915_display *d = ctx;
	unsigned p = pipe_of(off), n = plane_of(off);
	advance(d, p, now_ns()); /* a vblank already past must not take this write */
	sim_regs_set(r, off, val);
	if (d->pipe[p].active)
		d->pipe[p].armed[n - 1] = true;
	else
		plane_latch(d, p, n);
}

static uint32_t surflive_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_i915_display *d = ctx;
	advance(d, pipe_of(off), now_ns());
	return d->pipe[pipe_of(off)].live[plane_of(off) - 1].surf;
}

/* CURBASE arms the whole cursor; a CURPOS write arms itself (so a move alone takes effect). */
static void cursor_arm_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_i915_display *d = ctx;
	unsigned p = pipe_of(off);
	advance(d, p, now_ns());
	sim_regs_set(r, off, val);
	if (d->pipe[p].active)
		d->pipe[p].cur_armed = true;
	else
		cursor_latch(d, p);
}

static uint32_t cursurflive_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_i915_display *d = ctx;
	advance(d, pipe_of(off), now_ns());
	return d->pipe[pipe_of(off)].cur_live.base;
}

static unsigned de_pipe_of(uint32_t off)
{
	return (off - SIM_I915_DE_PIPE_ISR(0)) >> 4;
}

/* ISR is live status: the vblank bit is high while the pipe is in vertical blank. */
static uint32_t de_isr_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_i915_display *d = ctx;
	unsigned p = de_pipe_of(off);
	if (p >= SIM_I915_PIPES || !d->pipe[p].active)
		return 0;
	uint64_t now = now_ns();
	advance(d, p, now);
	const struct pipe *pp = &d->pipe[p];
	uint32_t line = scanline(pp, now);
	return line >= pp->t.vblank_start && line < pp->t.vblank_end ? SIM_I915_DE_PIPE_VBLANK : 0;
}

static uint32_t de_iir_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_i915_display *d = ctx;
	unsigned p = de_pipe_of(off);
	if (p < SIM_I915_PIPES)
		advance(d, p, now_ns());
	return sim_regs_get(r, off);
}

static void iir_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, sim_regs_get(r, off) & ~val);
}

static uint32_t sdeisr_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_i915_display *d = ctx;
	uint32_t v = 0;
	for (unsigned port = SIM_I915_DDI_B; port <= SIM_I915_DDI_D; port++)
		if (d->monitor[port])
			v |= SIM_I915_SDE_HOTPLUG(port);
	return v;
}

/* Enables are stored; status bits are sticky and cleared by writing ones. */
static void hotplug_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	uint32_t old = sim_regs_get(r, off);
	sim_regs_set(r, off, (val & ~HOTPLUG_STATUS_ALL) | (old & HOTPLUG_STATUS_ALL & ~val));
}

static uint32_t ddi_buf_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	uint32_t v = sim_regs_get(r, off) & ~DDI_BUF_IS_IDLE;
	return v & DDI_BUF_CTL_ENABLE ? v : v | DDI_BUF_IS_IDLE;
}

static uint32_t dpll_status_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_i915_display *d = ctx;
	uint32_t v = 0;
	for (unsigned id = 0; id < 4; id++)
		if (dpll_hz(d, id))
			v |= 1u << (8 * id);
	return v;
}

/* ---- GMBUS ---- */

static int ddc_port_of_pin(uint32_t gmbus0)
{
	switch (gmbus0 & 7) {
	case SIM_I915_GMBUS_PIN_DPB: return SIM_I915_DDI_B;
	case SIM_I915_GMBUS_PIN_DPC: return SIM_I915_DDI_C;
	case SIM_I915_GMBUS_PIN_DPD: return SIM_I915_DDI_D;
	}
	return -1;
}

/* Every byte of the cycle has moved: wait for the next command, or stop and free the bus. */
static void gmbus_cycle_done(struct gmbus *gm)
{
	if (gm->cycle & GMBUS_CYCLE_WAIT)
		gm->status |= GMBUS_HW_WAIT_PHASE;
	if (gm->cycle & GMBUS_CYCLE_STOP)
		gm->status &= ~(GMBUS_ACTIVE | GMBUS_HW_WAIT_PHASE);
}

/* Up to four bytes written to the EEPROM: the first of a cycle sets its word address; the
 * rest are data, which a write-protected DDC EEPROM acknowledges and drops. */
static void gmbus_consume(struct sim_i915_display *d, uint32_t data)
{
	struct gmbus *gm = &d->gm;
	uint32_t n = gm->remaining < 4 ? gm->remaining : 4;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t byte = (uint8_t)(data >> (8 * i));
		if (gm->addr_phase) {
			d->ddc_ptr[gm->port] = byte;
			gm->addr_phase = false;
		} else {
			d->ddc_ptr[gm->port]++;
		}
	}
	gm->remaining -= n;
	gm->status |= GMBUS_HW_RDY;
	if (!gm->remaining)
		gmbus_cycle_done(gm);
}

static void gmbus1_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_i915_display *d = ctx;
	struct gmbus *gm = &d->gm;
	sim_regs_set(r, off, val);
	if (val & GMBUS_SW_CLR_INT) {
		/* Software reset of the controller: clears a NAK and releases the bus. */
		gm->status = 0;
		gm->remaining = gm->total = 0;
		return;
	}
	if (!(val & GMBUS_SW_RDY) || (gm->status & GMBUS_SATOER))
		return; /* nothing asked, or the bus stays in error until cleared */

	uint32_t cycle = val & GMBUS_CYCLE_MASK, count = (val >> 16) & 0x1FF;
	if (!count && cycle == GMBUS_CYCLE_STOP) {
		gm->status &= ~(GMBUS_ACTIVE | GMBUS_HW_WAIT_PHASE | GMBUS_HW_RDY);
		return;
	}
	int port = ddc_port_of_pin(sim_regs_get(r, SIM_I915_GMBUS0));
	if (port < 0 || !d->monitor[port] || ((val >> 1) & 0x7F) != SIM_I915_DDC_ADDR) {
		gm->status = GMBUS_SATOER; /* nobody acknowledged the address */
		gm->remaining = gm->total = 0;
		return;
	}
	if (cycle & GMBUS_CYCLE_INDEX) {
		uint32_t g5 = sim_regs_get(r, SIM_I915_GMBUS5);
		/* A 256-byte EEPROM decodes one address byte: a 2-byte index keeps its low byte. */
		d->ddc_ptr[port] = (uint8_t)(g5 & GMBUS_2BYTE_INDEX_EN ? g5 : val >> 8);
	}
	gm->port = (unsigned)port;
	gm->reading = val & 1;
	gm->addr_phase = !gm->reading && !(cycle & GMBUS_CYCLE_INDEX);
	gm->cycle = cycle;
	gm->total = gm->remaining = count;
	gm->status = GMBUS_ACTIVE;
	if (gm->reading) {
		if (count)
			gm->status |= GMBUS_HW_RDY;
		else
			gmbus_cycle_done(gm);
	} else if (count) {
		gmbus_consume(d, gm->data); /* drivers load the first four bytes before the command */
	} else {
		gmbus_cycle_done(gm);
	}
}

static uint32_t gmbus2_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct gmbus *gm = &((struct sim_i915_display *)ctx)->gm;
	uint32_t v = gm->status | ((gm->total - gm->remaining) & 0x1FF) | (gm->inuse ? GMBUS_INUSE : 0);
	gm->inuse = true; /* INUSE is a semaphore: reading takes it, writing 1 gives it back */
	return v;
}

static void gmbus2_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct gmbus *gm = &((struct sim_i915_display *)ctx)->gm;
	if (val & GMBUS_INUSE)
		gm->inuse = false;
}

static uint32_t gmbus3_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_i915_display *d = ctx;
	struct gmbus *gm = &d->gm;
	if (!(gm->status & GMBUS_ACTIVE) || !gm->reading || !gm->remaining)
		return sim_regs_get(r, off);
	uint32_t n = gm->remaining < 4 ? gm->remaining : 4, v = 0;
	for (uint32_t i = 0; i < n; i++)
		v |= (uint32_t)d->eeprom[d->ddc_ptr[gm->port]++] << (8 * i);
	gm->remaining -= n;
	if (!gm->remaining) {
		gm->status &= ~GMBUS_HW_RDY;
		gmbus_cycle_done(gm);
	}
	sim_regs_set(r, off, v);
	return v;
}

static void gmbus3_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_i915_display *d = ctx;
	struct gmbus *gm = &d->gm;
	sim_regs_set(r, off, val);
	gm->data = val;
	if ((gm->status & GMBUS_ACTIVE) && !gm->reading && gm->remaining)
		gmbus_consume(d, val);
}

/* ---- hot-plug ---- */

static void hotplug_event(struct sim_i915_display *d, unsigned port)
{
	uint32_t hp = rd(d, SIM_I915_PCH_PORT_HOTPLUG);
	if (!(hp & SIM_I915_HOTPLUG_ENABLE(port)))
		return; /* detection off: the change is only visible in SDEISR */
	wr(d, SIM_I915_PCH_PORT_HOTPLUG, hp | SIM_I915_HOTPLUG_LONG(port));
	latch_irq(d, SIM_I915_SDEIMR, SIM_I915_SDEIIR, SIM_I915_SDEIER, SIM_I915_SDE_HOTPLUG(port));
}

void sim_i915_set_monitor(struct sim_model *m, unsigned ddi_port, bool connected)
{
	struct sim_i915_display *d = sim_i915_display_of(m);
	if (!d || ddi_port < SIM_I915_DDI_B || ddi_port > SIM_I915_DDI_D)
		return;
	pthread_mutex_lock(d->lock);
	if (d->monitor[ddi_port] != connected) {
		d->monitor[ddi_port] = connected;
		d->ddc_ptr[ddi_port] = 0;
		hotplug_event(d, ddi_port);
	}
	pthread_mutex_unlock(d->lock);
}

void sim_i915_set_display_fault(struct sim_model *m, unsigned faults, uint32_t delay_us)
{
	struct sim_i915_display *d = sim_i915_display_of(m);
	if (!d)
		return;
	pthread_mutex_lock(d->lock);
	d->faults = faults;
	d->delay_ns = (uint64_t)delay_us * 1000;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(d->lock);
}

uint32_t sim_i915_display_pending(const struct sim_regs *r)
{
	uint32_t p = 0;
	for (unsigned pipe = 0; pipe < 3; pipe++)
		if (sim_regs_get(r, SIM_I915_DE_PIPE_IIR(pipe)) & sim_regs_get(r, SIM_I915_DE_PIPE_IER(pipe)))
			p |= SIM_I915_MASTER_DE_PIPE(pipe);
	if (sim_regs_get(r, SIM_I915_DE_PORT_IIR) & sim_regs_get(r, SIM_I915_DE_PORT_IER))
		p |= SIM_I915_MASTER_DE_PORT;
	if (sim_regs_get(r, SIM_I915_DE_MISC_IIR) & sim_regs_get(r, SIM_I915_DE_MISC_IER))
		p |= SIM_I915_MASTER_DE_MISC;
	if (sim_regs_get(r, SIM_I915_SDEIIR) & sim_regs_get(r, SIM_I915_SDEIER))
		p |= SIM_I915_MASTER_PCH;
	return p;
}

/* ---- the monitor's view ---- */

/* Scanout fetches go through the GGTT page by page; any unmapped page fails the read. */
static int ggtt_fetch(void *ctx, uint64_t addr, void *dst, size_t len)
{
	struct sim_model *m = ctx;
	uint8_t *out = dst;
	while (len) {
		size_t chunk = 4096 - (size_t)(addr & 4095);
		uint64_t bus;
		if (chunk > len)
			chunk = len;
		if (sim_i915_ggtt_translate(m, addr, &bus) || !m->bus || m->bus->dma_read(m->bus, bus, out, chunk))
			return -1;
		addr += chunk;
		out += chunk;
		len -= chunk;
	}
	return 0;
}

static void plane_view(const struct plane_latch *l, struct sim_model *m, struct sim_plane_view *v)
{
	bool rgbx = l->ctl & SIM_I915_PLANE_CTL_ORDER_RGBX;
	unsigned alpha = (l->ctl >> SIM_I915_PLANE_CTL_ALPHA_SHIFT) & 3;
	bool a = alpha == 2 || alpha == 3;
	uint32_t fourcc = 0;
	switch ((l->ctl >> SIM_I915_PLANE_CTL_FORMAT_SHIFT) & 0xF) {
	case SIM_I915_PLANE_FORMAT_XRGB_8888:
		fourcc = rgbx ? (a ? DRM_FORMAT_ABGR8888 : DRM_FORMAT_XBGR8888)
			      : (a ? DRM_FORMAT_ARGB8888 : DRM_FORMAT_XRGB8888);
		break;
	case SIM_I915_PLANE_FORMAT_XRGB_2101010:
		fourcc = rgbx ? (a ? DRM_FORMAT_ABGR2101010 : DRM_FORMAT_XBGR2101010)
			      : (a ? DRM_FORMAT_ARGB2101010 : DRM_FORMAT_XRGB2101010);
		break;
	case SIM_I915_PLANE_FORMAT_RGB_565:
		fourcc = rgbx ? 0 : DRM_FORMAT_RGB565;
		break;
	}
	if (l->ctl & (SIM_I915_PLANE_CTL_TILED_MASK | SIM_I915_PLANE_CTL_ROTATE_MASK | PLANE_CTL_FLIP_HORIZONTAL))
		fourcc = 0; /* layouts the model does not fetch: shown black */
	*v = (struct sim_plane_view){
		.enabled = l->ctl & SIM_I915_PLANE_CTL_ENABLE,
		.format = fourcc,
		.read = ggtt_fetch,
		.ctx = m,
		.base = l->surf & 0xFFFFF000u,
		.pitch = (l->stride & 0xFFF) * 64,
		.src_x = l->offset & 0xFFFF,
		.src_y = l->offset >> 16,
		.src_w = (l->size & 0xFFFF) + 1,
		.src_h = (l->size >> 16) + 1,
		.dst_x = (int32_t)(l->pos & 0xFFFF),
		.dst_y = (int32_t)(l->pos >> 16),
		.blend = alpha == 2 ? SIM_BLEND_PREMULTIPLIED : alpha == 3 ? SIM_BLEND_COVERAGE : SIM_BLEND_NONE,
		.pipe_lut = l->ctl & SIM_I915_PLANE_CTL_PIPE_GAMMA_ENABLE,
	};
	v->dst_w = v->src_w;
	v->dst_h = v->src_h;
}

static void cursor_view(const struct cursor_latch *c, struct sim_model *m, struct sim_plane_view *v)
{
	uint32_t mode = c->cntr & SIM_I915_CURSOR_MODE_MASK, size = 64, fourcc = DRM_FORMAT_ARGB8888;
	switch (mode) {
	case SIM_I915_CURSOR_MODE_64_ARGB: size = 64; break;
	case SIM_I915_CURSOR_MODE_128_ARGB: size = 128; break;
	case SIM_I915_CURSOR_MODE_256_ARGB: size = 256; break;
	default: fourcc = 0; /* 2bpp and AND/XOR modes are not modelled: shown black */
	}
	if (c->cntr & MCURSOR_ROTATE_180)
		fourcc = 0;
	int32_t x = (int32_t)(c->pos & 0x7FFF), y = (int32_t)((c->pos >> 16) & 0x7FFF);
	if (c->pos & 0x8000)
		x = -x;
	if (c->pos & 0x80000000u)
		y = -y;
	*v = (struct sim_plane_view){
		.enabled = mode != 0,
		.format = fourcc,
		.read = ggtt_fetch,
		.ctx = m,
		.base = c->base & 0xFFFFF000u,
		.pitch = size * 4,
		.src_w = size, .src_h = size,
		.dst_x = x, .dst_y = y,
		.dst_w = size, .dst_h = size,
		.blend = SIM_BLEND_PREMULTIPLIED,
		.pipe_lut = c->cntr & SIM_I915_CURSOR_PIPE_GAMMA_ENABLE,
	};
}

int sim_i915_display_capture(struct sim_i915_display *d, unsigned pipe, uint32_t *pixels, uint32_t width,
			     uint32_t height)
{
	if (!d || !pixels || !width || !height || (size_t)width > SIZE_MAX / 4 / height)
		return -EINVAL;
	if (pipe >= SIM_I915_PIPES)
		return -ENODEV;

	struct sim_plane_view views[SIM_I915_PLANES + 1];
	struct pipe_timing t;
	pthread_mutex_lock(d->lock);
	struct pipe *pp = &d->pipe[pipe];
	advance(d, pipe, now_ns());
	bool active = pp->active;
	t = pp->t;
	for (unsigned n = 0; n < SIM_I915_PLANES; n++)
		plane_view(&pp->live[n], d->m, &views[n]);
	cursor_view(&pp->cur_live, d->m, &views[SIM_I915_PLANES]);
	struct sim_lut lut;
	bool palette = (rd(d, SIM_I915_GAMMA_MODE(pipe)) & SIM_I915_GAMMA_MODE_MASK) == SIM_I915_GAMMA_MODE_8BIT;
	bool bg_gamma = rd(d, SIM_I915_SKL_BOTTOM_COLOR(pipe)) & SIM_I915_BOTTOM_COLOR_GAMMA_ENABLE;
	for (unsigned i = 0; palette && i < 256; i++) {
		uint32_t e = rd(d, SIM_I915_LGC_PALETTE(pipe, i));
		lut.r[i] = (uint8_t)(e >> 16);
		lut.g[i] = (uint8_t)(e >> 8);
		lut.b[i] = (uint8_t)e;
	}
	pthread_mutex_unlock(d->lock);
	if (!active)
		return -ENODEV;
	const struct sim_lut *pipe_lut = palette ? &lut : NULL;

	/* The pipe's source lands at the top left of the active area (no scaler); the rest is black. */
	uint32_t vw = t.src_w < t.hactive ? t.src_w : t.hactive, vh = t.src_h < t.vactive ? t.src_h : t.vactive;
	if (vw > width)
		vw = width;
	if (vh > height)
		vh = height;
	if (vw == width && vh == height)
		return sim_scanout_compose_lut(views, SIM_I915_PLANES + 1, pixels, width, height, pipe_lut, bg_gamma);

	uint32_t *img = malloc((size_t)vw * vh * 4);
	if (!img)
		return -ENOMEM;
	int ret = sim_scanout_compose_lut(views, SIM_I915_PLANES + 1, img, vw, vh, pipe_lut, bg_gamma);
	if (!ret) {
		memset(pixels, 0, (size_t)width * height * 4);
		for (uint32_t y = 0; y < vh; y++)
			memcpy(pixels + (size_t)y * width, img + (size_t)y * vw, (size_t)vw * 4);
	}
	free(img);
	return ret;
}

/* ---- vblank thread ---- */

static void *vblank_thread(void *arg)
{
	struct sim_i915_display *d = arg;
	pthread_mutex_lock(d->lock);
	while (!d->stop) {
		uint64_t now = now_ns(), next = UINT64_MAX;
		for (unsigned p = 0; p < SIM_I915_PIPES; p++) {
			struct pipe *pp = &d->pipe[p];
			advance(d, p, now);
			if (pp->active && pp->next_vblank_ns < next)
				next = pp->next_vblank_ns;
			if (pp->late_bits) {
				if (pp->late_due_ns <= now) {
					uint32_t bits = pp->late_bits;
					pp->late_bits = 0;
					pipe_irq(d, p, bits);
				} else if (pp->late_due_ns < next) {
					next = pp->late_due_ns;
				}
			}
		}
		if (next == UINT64_MAX) {
			pthread_cond_wait(&d->cond, d->lock);
		} else {
			/* An absolute deadline: sleeping late never shifts later frames. */
			struct timespec ts = {.tv_sec = (time_t)(next / NS_PER_S), .tv_nsec = (long)(next % NS_PER_S)};
			pthread_cond_timedwait(&d->cond, d->lock, &ts);
		}
	}
	pthread_mutex_unlock(d->lock);
	return NULL;
}

/* ---- setup ---- */

static int add_hook(struct sim_i915_display *d, uint32_t off, sim_reg_read_fn *read, sim_reg_write_fn *write)
{
	const struct sim_reg_hook h = {.off = off, .read = read, .write = write, .ctx = d};
	return sim_regs_add_hook(d->r, &h);
}

static int install(struct sim_i915_display *d)
{
	int ret = 0;
	for (unsigned p = 0; p < SIM_I915_PIPES && !ret; p++) {
		const uint32_t config_regs[] = {
			SIM_I915_TRANS_HTOTAL(p), SIM_I915_TRANS_HBLANK(p), SIM_I915_TRANS_HSYNC(p),
			SIM_I915_TRANS_VTOTAL(p), SIM_I915_TRANS_VBLANK(p), SIM_I915_TRANS_VSYNC(p),
			SIM_I915_PIPESRC(p), SIM_I915_TRANS_LINK_M1(p), SIM_I915_TRANS_LINK_N1(p),
			SIM_I915_TRANS_DDI_FUNC_CTL(p),
		};
		for (size_t k = 0; k < sizeof(config_regs) / sizeof(config_regs[0]) && !ret; k++)
			ret = add_hook(d, config_regs[k], NULL, config_write);
		if (!ret)
			ret = add_hook(d, SIM_I915_PIPECONF(p), pipeconf_read, pipeconf_write);
		if (!ret)
			ret = add_hook(d, SIM_I915_PIPEDSL(p), dsl_read, write_ignore);
		if (!ret)
			ret = add_hook(d, SIM_I915_PIPE_FRMCOUNT(p), frmcount_read, write_ignore);
		if (!ret)
			ret = add_hook(d, SIM_I915_PIPE_FLIPCOUNT(p), flipcount_read, write_ignore);
		for (unsigned n = 1; n <= SIM_I915_PLANES && !ret; n++) {
			ret = add_hook(d, SIM_I915_PLANE_SURF(p, n), NULL, surf_write);
			if (!ret)
				ret = add_hook(d, SIM_I915_PLANE_SURFLIVE(p, n), surflive_read, write_ignore);
		}
		if (!ret)
			ret = add_hook(d, SIM_I915_CURBASE(p), NULL, cursor_arm_write);
		if (!ret)
			ret = add_hook(d, SIM_I915_CURPOS(p), NULL, cursor_arm_write);
		if (!ret)
			ret = add_hook(d, SIM_I915_CURSURFLIVE(p), cursurflive_read, write_ignore);
	}
	/* Interrupt banks: pipes A-C (C never has events), port, misc, south display. */
	for (unsigned p = 0; p < 3 && !ret; p++) {
		ret = add_hook(d, SIM_I915_DE_PIPE_ISR(p), de_isr_read, write_ignore);
		if (!ret)
			ret = add_hook(d, SIM_I915_DE_PIPE_IIR(p), de_iir_read, iir_write);
		wr(d, SIM_I915_DE_PIPE_IMR(p), 0xFFFFFFFFu);
	}
	const struct {
		uint32_t off;
		sim_reg_read_fn *read;
		sim_reg_write_fn *write;
	} regs[] = {
		{DE_PORT_ISR, read_zero, write_ignore}, /* no port or misc events are modelled */
		{SIM_I915_DE_PORT_IIR, NULL, iir_write},
		{DE_MISC_ISR, read_zero, write_ignore},
		{SIM_I915_DE_MISC_IIR, NULL, iir_write},
		{SIM_I915_SDEISR, sdeisr_read, write_ignore},
		{SIM_I915_SDEIIR, NULL, iir_write},
		{SIM_I915_PCH_PORT_HOTPLUG, NULL, hotplug_write},
		{SIM_I915_GMBUS1, NULL, gmbus1_write},
		{SIM_I915_GMBUS2, gmbus2_read, gmbus2_write},
		{SIM_I915_GMBUS3, gmbus3_read, gmbus3_write},
		{SIM_I915_LCPLL1_CTL, NULL, config_write},
		{SIM_I915_LCPLL2_CTL, NULL, config_write},
		{SIM_I915_WRPLL_CTL1, NULL, config_write},
		{SIM_I915_WRPLL_CTL2, NULL, config_write},
		{SIM_I915_DPLL_CTRL1, NULL, config_write},
		{SIM_I915_DPLL_CTRL2, NULL, config_write},
		{SIM_I915_DPLL_STATUS, dpll_status_read, write_ignore},
	};
	for (size_t k = 0; k < sizeof(regs) / sizeof(regs[0]) && !ret; k++)
		ret = add_hook(d, regs[k].off, regs[k].read, regs[k].write);
	for (unsigned id = 1; id <= 3 && !ret; id++) {
		ret = add_hook(d, SIM_I915_DPLL_CFGCR1(id), NULL, config_write);
		if (!ret)
			ret = add_hook(d, SIM_I915_DPLL_CFGCR2(id), NULL, config_write);
	}
	for (unsigned port = 0; port < DDI_PORTS && !ret; port++)
		ret = add_hook(d, SIM_I915_DDI_BUF_CTL(port), ddi_buf_read, NULL);
	if (ret)
		return ret;

	/* Reset state [plausible]: interrupts masked, DPLL0 running for CDCLK, every DDI clock gated. */
	wr(d, DE_PORT_IMR, 0xFFFFFFFFu);
	wr(d, DE_MISC_IMR, 0xFFFFFFFFu);
	wr(d, SIM_I915_SDEIMR, 0xFFFFFFFFu);
	wr(d, SIM_I915_LCPLL1_CTL, SIM_I915_PLL_ENABLE);
	wr(d, SIM_I915_DPLL_CTRL1, 0x5u); /* DPLL0: override, 810 MHz link rate */
	wr(d, SIM_I915_DPLL_CTRL2, 0x1Fu << 15);
	return 0;
}

struct sim_i915_display *sim_i915_display_create(struct sim_model *m, pthread_mutex_t *lock, struct sim_regs *regs)
{
	struct sim_i915_display *d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->m = m;
	d->lock = lock;
	d->r = regs;

	pthread_condattr_t attr;
	int err = pthread_condattr_init(&attr);
	if (!err) {
		err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		if (!err)
			err = pthread_cond_init(&d->cond, &attr);
		pthread_condattr_destroy(&attr);
	}
	if (err)
		goto fail;
	d->cond_ready = true;

	sim_edid_build(d->eeprom, SIM_I915_MONITOR_NAME, SIM_I915_MONITOR_WIDTH_MM, SIM_I915_MONITOR_HEIGHT_MM);
	memset(d->eeprom + 128, 0xFF, sizeof(d->eeprom) - 128);
	d->monitor[SIM_I915_DDI_B] = true;

	err = -install(d);
	if (err)
		goto fail;
	err = pthread_create(&d->thread, NULL, vblank_thread, d);
	if (err)
		goto fail;
	d->thread_running = true;
	return d;

fail:
	sim_i915_display_destroy(d);
	errno = err > 0 ? err : ENOMEM;
	return NULL;
}

void sim_i915_display_destroy(struct sim_i915_display *d)
{
	if (!d)
		return;
	if (d->thread_running) {
		pthread_mutex_lock(d->lock);
		d->stop = true;
		pthread_cond_signal(&d->cond);
		pthread_mutex_unlock(d->lock);
		pthread_join(d->thread, NULL);
	}
	if (d->cond_ready)
		pthread_cond_destroy(&d->cond);
	free(d);
}
