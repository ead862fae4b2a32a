/*
 * The Vega10 display engine (DCE 12), two pipes of it: what a driver sees
 * through registers, what the monitor shows, and the interrupts in between.
 *
 * Time: each running CRTC counts pixels from the moment it started at the
 * pixel clock its DP DTO gives; line 0 starts with the vertical sync and the
 * active picture is [V_BLANK_END, V_BLANK_START). Position, status and frame
 * count are computed from CLOCK_MONOTONIC when read. Events (vblank start,
 * vertical interrupt 0's line) are processed in time order by the model's
 * display thread, and by every observation (register read, capture) first,
 * so what is seen is always consistent with the clock.
 *
 * Double buffering: the GRPH, SCL viewport and cursor registers read back
 * what was written; what is scanned out is the copy latched at the start of
 * vblank, unless GRPH_UPDATE_LOCK / CURSOR_UPDATE_LOCK is held. A write to
 * GRPH_PRIMARY_SURFACE_ADDRESS arms a surface update; when it is taken, the
 * page-flip interrupt fires. While the CRTC is not running, writes take
 * effect at once (there is no vblank to wait for) and no interrupt is raised.
 * The SCL viewport is latched with the GRPH registers (SCL_UPDATE's own lock
 * is not modelled). GRPH_FLIP_CONTROL.SURFACE_UPDATE_H_RETRACE_EN makes a
 * surface update take at once (an immediate flip), with its interrupt.
 *
 * Scanout: linear surfaces only (GRPH_SW_MODE 0), 32bpp ARGB8888/2101010
 * with the R/B crossbar swap (XBGR) and 16bpp RGB565; the primary's alpha is
 * ignored. Anything else scans out black. The cursor is ARGB8888, packed
 * (pitch = width), blended pre-multiplied (CURSOR_MODE 2) or not (3); the
 * monochrome modes 0/1 are not modelled and show nothing. CURSOR_2X_MAGNIFY
 * doubles it. Surfaces are fetched through the MMHUB's VMID0 (FB aperture
 * and GART); an unmapped page shows black rows.
 *
 * Legacy LUT: DCE's input gamma sits in the GRPH pipe ahead of the cursor,
 * so it changes the primary's pixels, before the cursor blends on, and never
 * the cursor's. 256 entries per channel, kept at 16 bits: DC_LUT_SEQ_COLOR
 * writes a 16-bit red, green, blue in turn, DC_LUT_30_COLOR a 10-bit entry
 * whole; either advances DC_LUT_RW_INDEX, and DC_LUT_WRITE_EN_MASK gates
 * the channels. The RAM takes writes at once (no double buffering), as do
 * INPUT_GAMMA_CONTROL and GRPH_LUT_10BIT_BYPASS. Each channel's 8-bit value
 * indexes it and the output keeps its top 8 bits (the monitor's depth). At
 * reset the RAM holds the identity and INPUT_GAMMA_CONTROL bypasses it.
 *
 * DDC: each line is two open-drain GPIO pins. Line 1 has an EDID EEPROM at
 * 0x50 holding sim_edid_build()'s block; line 2 has nothing (no ACK). HPD1
 * senses the monitor once DC_HPD_EN is set, HPD2 never does. No HPD interrupts (the monitors never
 * change).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include <time.h>

#include <drm_fourcc.h>

#include "sim_amdgpu.h"
#include "sim_edid.h"
#include "sim_scanout.h"

#define NPIPES SIM_AMDGPU_DCE_PIPES
#define NS_PER_S 1000000000ull
#define MAX_CATCH_UP 64

struct dce_grph {
	uint32_t enable, control, swap, pitch, offset_x, offset_y, x_start, y_start, x_end, y_end;
	uint32_t vp_start, vp_size;
	uint32_t addr_lo, addr_hi;
};

struct dce_cursor {
	uint32_t control, addr_lo, addr_hi, size, position, hot_spot;
};

struct dce_pipe {
	struct dce_grph grph;     /* latched: what is scanned out */
	struct dce_cursor cur;
	uint16_t lut[3][256];     /* legacy LUT RAM: red, green, blue */
	unsigned lut_seq;         /* the channel DC_LUT_SEQ_COLOR writes next */
	bool running;
	uint64_t t0_ns;           /* start of line 0 of the first frame */
	uint64_t pclk_hz;
	uint32_t htotal, vtotal, hbs, hbe, vbs, vbe, vi0_line;
	uint32_t frame_base;      /* CRTC_STATUS_FRAME_COUNT at t0 */
	uint64_t vb_done, vi0_done; /* events handled since t0 */
};

enum ddc_state { DDC_IDLE, DDC_ADDR, DDC_WRITE, DDC_READ, DDC_IGNORE };

/* An I2C EEPROM slave, clocked by the pin levels the master produces. */
struct ddc_line {
	bool has_eeprom;
	bool scl, sda;      /* line levels (pulled up unless someone drives low) */
	bool slave_low;     /* the slave pulls SDA low */
	enum ddc_state state;
	unsigned bit;
	uint8_t shift, ptr, cur;
	bool ack_phase, addressed, rw_read, first_write, acked;
};

struct sim_amdgpu_dce;

/* Which pipe a hooked register belongs to: hooks carry (dce, pipe) in their ctx. */
struct hook_ctx {
	struct sim_amdgpu_dce *d;
	unsigned pipe;
};

struct sim_amdgpu_dce {
	struct sim_model *m;
	struct hook_ctx hook_ctx[NPIPES];
	struct dce_pipe pipe[NPIPES];
	struct ddc_line ddc[NPIPES];
	uint8_t edid[SIM_EDID_SIZE];
	unsigned faults;
	uint64_t delay_ns;
	struct sim_amdgpu_iv_queue delayed;
	pthread_cond_t cond;
	pthread_t thread;
	bool thread_started, stop;
};

static uint32_t pipe_off(unsigned pipe)
{
	return pipe * SIM_AMDGPU_DCE_PIPE_STRIDE;
}

/* ---- time ---- */

/* Pixels clocked since t0 (exact, no overflow for any realistic run time). */
static uint64_t pixels_at(const struct dce_pipe *p, uint64_t t)
{
	if (t <= p->t0_ns)
		return 0;
	uint64_t e = t - p->t0_ns;
	return e / NS_PER_S * p->pclk_hz + e % NS_PER_S * p->pclk_hz / NS_PER_S;
}

/* When pixel pix starts (rounded up: the event has happened at that time). */
static uint64_t time_of(const struct dce_pipe *p, uint64_t pix)
{
	uint64_t rem = pix % p->pclk_hz * NS_PER_S;
	return p->t0_ns + pix / p->pclk_hz * NS_PER_S + rem / p->pclk_hz + (rem % p->pclk_hz != 0);
}

/* Vblank starts (line V_BLANK_START) passed at pixel count pix. */
static uint64_t vblanks_at(const struct dce_pipe *p, uint64_t pix)
{
	uint64_t first = (uint64_t)p->vbs * p->htotal, frame = (uint64_t)p->htotal * p->vtotal;
	return pix < first ? 0 : (pix - first) / frame + 1;
}

static uint64_t vi0_at(const struct dce_pipe *p, uint64_t pix)
{
	uint64_t first = (uint64_t)p->vi0_line * p->htotal, frame = (uint64_t)p->htotal * p->vtotal;
	if (p->vi0_line >= p->vtotal)
		return 0;
	return pix < first ? 0 : (pix - first) / frame + 1;
}

static uint32_t frame_count(const struct dce_pipe *p, uint64_t t)
{
	if (!p->running)
		return p->frame_base & 0xFFFFFFu;
	return (uint32_t)(p->frame_base + vblanks_at(p, pixels_at(p, t))) & 0xFFFFFFu;
}

/* ---- interrupts ---- */

/* Stamped with the event's time: the IH sees the source when it fired, however late we run. */
static void deliver(struct sim_amdgpu_dce *d, struct sim_amdgpu_iv *iv, uint64_t event_ns)
{
	if ((d->faults & SIM_AMDGPU_DISPLAY_DELAY_IRQ) && sim_amdgpu_iv_queue_push(&d->delayed, event_ns + d->delay_ns, iv)) {
		pthread_cond_signal(&d->cond);
		return;
	}
	iv->time_ns = event_ns;
	sim_amdgpu_ih_post(d->m, iv);
}

static void post_delayed(struct sim_amdgpu_dce *d, uint64_t now)
{
	sim_amdgpu_iv_queue_flush(&d->delayed, d->m, now, NULL);
}

static void pflip_fire(struct sim_amdgpu_dce *d, unsigned pipe, uint64_t t)
{
	struct sim_regs *r = sim_amdgpu_mmio(d->m);
	uint32_t po = pipe_off(pipe);
	sim_regs_set(r, SIM_AMDGPU_GRPH_INTERRUPT_STATUS + po,
		     sim_regs_get(r, SIM_AMDGPU_GRPH_INTERRUPT_STATUS + po) | 1u);
	if (!(sim_regs_get(r, SIM_AMDGPU_GRPH_INTERRUPT_CONTROL + po) & 1u) ||
	    (d->faults & SIM_AMDGPU_DISPLAY_DROP_PFLIP))
		return;
	struct sim_amdgpu_iv iv = {.client_id = SIM_AMDGPU_IH_CLIENT_DCE,
				   .src_id = (uint8_t)(SIM_AMDGPU_SRCID_D1_GRPH_PFLIP + 2 * pipe)};
	deliver(d, &iv, t);
}

static void vi0_fire(struct sim_amdgpu_dce *d, unsigned pipe, uint64_t t)
{
	struct sim_regs *r = sim_amdgpu_mmio(d->m);
	uint32_t off = SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_CONTROL + pipe_off(pipe);
	uint32_t v = sim_regs_get(r, off) | SIM_AMDGPU_VI0_STATUS;
	bool enabled = v & SIM_AMDGPU_VI0_INT_ENABLE;
	if (enabled)
		v |= SIM_AMDGPU_VI0_INT_STATUS;
	sim_regs_set(r, off, v);
	if (!enabled || (d->faults & SIM_AMDGPU_DISPLAY_DROP_VBLANK))
		return;
	struct sim_amdgpu_iv iv = {.client_id = SIM_AMDGPU_IH_CLIENT_DCE,
				   .src_id = (uint8_t)(SIM_AMDGPU_SRCID_D1_VERTICAL_INTERRUPT0 + pipe),
				   .src_data = {SIM_AMDGPU_EXTID_VERTICAL_INTERRUPT0}};
	deliver(d, &iv, t);
}

/* ---- double buffering ---- */

static void latch_grph_mode(struct sim_amdgpu_dce *d, unsigned pipe)
{
	const struct sim_regs *r = sim_amdgpu_mmio(d->m);
	uint32_t po = pipe_off(pipe);
	struct dce_grph *g = &d->pipe[pipe].grph;
	g->enable = sim_regs_get(r, SIM_AMDGPU_GRPH_ENABLE + po);
	g->control = sim_regs_get(r, SIM_AMDGPU_GRPH_CONTROL + po);
	g->swap = sim_regs_get(r, SIM_AMDGPU_GRPH_SWAP_CNTL + po);
	g->pitch = sim_regs_get(r, SIM_AMDGPU_GRPH_PITCH + po);
	g->offset_x = sim_regs_get(r, SIM_AMDGPU_GRPH_SURFACE_OFFSET_X + po);
	g->offset_y = sim_regs_get(r, SIM_AMDGPU_GRPH_SURFACE_OFFSET_Y + po);
	g->x_start = sim_regs_get(r, SIM_AMDGPU_GRPH_X_START + po);
	g->y_start = sim_regs_get(r, SIM_AMDGPU_GRPH_Y_START + po);
	g->x_end = sim_regs_get(r, SIM_AMDGPU_GRPH_X_END + po);
	g->y_end = sim_regs_get(r, SIM_AMDGPU_GRPH_Y_END + po);
	g->vp_start = sim_regs_get(r, SIM_AMDGPU_SCL_VIEWPORT_START + po);
	g->vp_size = sim_regs_get(r, SIM_AMDGPU_SCL_VIEWPORT_SIZE + po);
}

/* Takes the pending GRPH updates (unless locked); true if a surface update was taken. */
static bool latch_grph(struct sim_amdgpu_dce *d, unsigned pipe)
{
	struct sim_regs *r = sim_amdgpu_mmio(d->m);
	uint32_t po = pipe_off(pipe);
	uint32_t upd = sim_regs_get(r, SIM_AMDGPU_GRPH_UPDATE + po);
	bool flipped = false;
	if (upd & SIM_AMDGPU_GRPH_UPDATE_LOCK)
		return false;
	if (upd & SIM_AMDGPU_GRPH_UPDATE_MODE_PENDING) {
		latch_grph_mode(d, pipe);
		upd = (upd & ~SIM_AMDGPU_GRPH_UPDATE_MODE_PENDING) | SIM_AMDGPU_GRPH_UPDATE_MODE_TAKEN;
	}
	if (upd & SIM_AMDGPU_GRPH_UPDATE_SURFACE_PENDING) {
		struct dce_grph *g = &d->pipe[pipe].grph;
		g->addr_lo = sim_regs_get(r, SIM_AMDGPU_GRPH_PRIMARY_SURFACE_ADDRESS + po) & 0xFFFFFF00u;
		g->addr_hi = sim_regs_get(r, SIM_AMDGPU_GRPH_PRIMARY_SURFACE_ADDRESS_HIGH + po) & 0xFFu;
		sim_regs_set(r, SIM_AMDGPU_GRPH_SURFACE_ADDRESS_INUSE + po, g->addr_lo);
		sim_regs_set(r, SIM_AMDGPU_GRPH_SURFACE_ADDRESS_HIGH_INUSE + po, g->addr_hi);
		upd = (upd & ~SIM_AMDGPU_GRPH_UPDATE_SURFACE_PENDING) | SIM_AMDGPU_GRPH_UPDATE_SURFACE_TAKEN;
		flipped = true;
	}
	sim_regs_set(r, SIM_AMDGPU_GRPH_UPDATE + po, upd);
	return flipped;
}

static void latch_cursor(struct sim_amdgpu_dce *d, unsigned pipe)
{
	struct sim_regs *r = sim_amdgpu_mmio(d->m);
	uint32_t po = pipe_off(pipe);
	uint32_t upd = sim_regs_get(r, SIM_AMDGPU_CUR_UPDATE + po);
	if ((upd & (1u << 16)) || !(upd & 1u))
		return;
	struct dce_cursor *c = &d->pipe[pipe].cur;
	c->control = sim_regs_get(r, SIM_AMDGPU_CUR_CONTROL + po);
	c->addr_lo = sim_regs_get(r, SIM_AMDGPU_CUR_SURFACE_ADDRESS + po);
	c->addr_hi = sim_regs_get(r, SIM_AMDGPU_CUR_SURFACE_ADDRESS_HIGH + po);
	c->size = sim_regs_get(r, SIM_AMDGPU_CUR_SIZE + po);
	c->position = sim_regs_get(r, SIM_AMDGPU_CUR_POSITION + po);
	c->hot_spot = sim_regs_get(r, SIM_AMDGPU_CUR_HOT_SPOT + po);
	sim_regs_set(r, SIM_AMDGPU_CUR_UPDATE + po, (upd & ~1u) | 2u);
}

/* ---- events ---- */

static void pipe_advance(struct sim_amdgpu_dce *d, unsigned pipe, uint64_t now)
{
	struct dce_pipe *p = &d->pipe[pipe];
	if (!p->running)
		return;
	uint64_t pix = pixels_at(p, now);
	uint64_t frame = (uint64_t)p->htotal * p->vtotal;
	uint64_t vb_target = vblanks_at(p, pix), vi_target = vi0_at(p, pix);
	/* Events the thread was late for are all delivered, in order, up to a bound: after a
	 * longer stall (a stopped process) only the latest ones are, rather than a flood. */
	if (vb_target > p->vb_done + MAX_CATCH_UP)
		p->vb_done = vb_target - MAX_CATCH_UP;
	if (vi_target > p->vi0_done + MAX_CATCH_UP)
		p->vi0_done = vi_target - MAX_CATCH_UP;

	while (p->vb_done < vb_target || p->vi0_done < vi_target) {
		uint64_t nvb = p->vb_done < vb_target ? p->vb_done * frame + (uint64_t)p->vbs * p->htotal : UINT64_MAX;
		uint64_t nvi = p->vi0_done < vi_target ? p->vi0_done * frame + (uint64_t)p->vi0_line * p->htotal
						       : UINT64_MAX;
		if (nvb <= nvi) {
			/* Start of vblank: pending updates are taken (V_UPDATE). */
			if (latch_grph(d, pipe))
				pflip_fire(d, pipe, time_of(p, nvb));
			latch_cursor(d, pipe);
			p->vb_done++;
		} else {
			vi0_fire(d, pipe, time_of(p, nvi));
			p->vi0_done++;
		}
	}
}

static void advance_all(struct sim_amdgpu_dce *d, uint64_t now)
{
	for (unsigned i = 0; i < NPIPES; i++)
		pipe_advance(d, i, now);
	post_delayed(d, now);
}

static uint64_t next_deadline(const struct sim_amdgpu_dce *d)
{
	uint64_t t = UINT64_MAX;
	for (unsigned i = 0; i < NPIPES; i++) {
		const struct dce_pipe *p = &d->pipe[i];
		if (!p->running)
			continue;
		uint64_t frame = (uint64_t)p->htotal * p->vtotal;
		uint64_t nvb = time_of(p, p->vb_done * frame + (uint64_t)p->vbs * p->htotal);
		if (nvb < t)
			t = nvb;
		if (p->vi0_line < p->vtotal) {
			uint64_t nvi = time_of(p, p->vi0_done * frame + (uint64_t)p->vi0_line * p->htotal);
			if (nvi < t)
				t = nvi;
		}
	}
	for (unsigned i = 0; i < d->delayed.n; i++)
		if (d->delayed.items[i].due_ns < t)
			t = d->delayed.items[i].due_ns;
	return t;
}

/* Re-reads timing and clock; a change restarts the CRTC at line 0 (the frame count goes on). */
static void pipe_retime(struct sim_amdgpu_dce *d, unsigned pipe)
{
	const struct sim_regs *r = sim_amdgpu_mmio(d->m);
	struct dce_pipe *p = &d->pipe[pipe];
	uint32_t po = pipe_off(pipe), co = pipe * SIM_AMDGPU_DCCG_PIPE_STRIDE;
	uint64_t now = sim_amdgpu_now_ns();

	pipe_advance(d, pipe, now);

	uint32_t rate = sim_regs_get(r, SIM_AMDGPU_CRTC0_PIXEL_RATE_CNTL + co);
	uint64_t phase = sim_regs_get(r, SIM_AMDGPU_DP_DTO0_PHASE + co);
	uint64_t modulo = sim_regs_get(r, SIM_AMDGPU_DP_DTO0_MODULO + co);
	uint64_t pclk = 0;
	if ((rate & SIM_AMDGPU_DP_DTO_ENABLE) && modulo && phase && phase <= modulo)
		pclk = (uint64_t)SIM_AMDGPU_DPREFCLK_KHZ * 1000u * phase / modulo;

	uint32_t htotal = (sim_regs_get(r, SIM_AMDGPU_CRTC_H_TOTAL + po) & 0x3FFFu) + 1;
	uint32_t vtotal = (sim_regs_get(r, SIM_AMDGPU_CRTC_V_TOTAL + po) & 0x3FFFu) + 1;
	uint32_t hb = sim_regs_get(r, SIM_AMDGPU_CRTC_H_BLANK_START_END + po);
	uint32_t vb = sim_regs_get(r, SIM_AMDGPU_CRTC_V_BLANK_START_END + po);
	uint32_t hbs = hb & 0x3FFFu, hbe = (hb >> 16) & 0x3FFFu, vbs = vb & 0x3FFFu, vbe = (vb >> 16) & 0x3FFFu;
	uint32_t vi0 = sim_regs_get(r, SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_POSITION + po) & 0x3FFFu;
	bool enabled = sim_regs_get(r, SIM_AMDGPU_CRTC_CONTROL + po) & SIM_AMDGPU_CRTC_MASTER_EN;
	/* Without a clock or with impossible timing the CRTC never leaves reset. */
	bool running = enabled && pclk && htotal > 1 && vtotal > 1 && hbe < hbs && hbs <= htotal && vbe < vbs &&
		       vbs <= vtotal;

	if (running == p->running && pclk == p->pclk_hz && htotal == p->htotal && vtotal == p->vtotal &&
	    hbs == p->hbs && hbe == p->hbe && vbs == p->vbs && vbe == p->vbe) {
		if (vi0 != p->vi0_line && running) {
			/* A new interrupt line counts from the current frame. */
			p->vi0_line = vi0;
			p->vi0_done = vi0_at(p, pixels_at(p, now));
			pthread_cond_signal(&d->cond);
		}
		p->vi0_line = vi0;
		return;
	}
	p->frame_base = frame_count(p, now);
	p->running = running;
	p->pclk_hz = pclk;
	p->htotal = htotal;
	p->vtotal = vtotal;
	p->hbs = hbs;
	p->hbe = hbe;
	p->vbs = vbs;
	p->vbe = vbe;
	p->vi0_line = vi0;
	p->t0_ns = now;
	p->vb_done = p->vi0_done = 0;
	if (!running) {
		/* Nothing waits for a vblank any more: updates go straight through. */
		latch_grph(d, pipe);
		latch_cursor(d, pipe);
	}
	pthread_cond_signal(&d->cond);
}

static void *display_thread(void *arg)
{
	struct sim_amdgpu_dce *d = arg;
	pthread_mutex_t *lock = sim_amdgpu_lock(d->m);
	pthread_mutex_lock(lock);
	while (!d->stop) {
		advance_all(d, sim_amdgpu_now_ns());
		uint64_t deadline = next_deadline(d);
		if (deadline == UINT64_MAX) {
			pthread_cond_wait(&d->cond, lock);
		} else {
			/* Absolute CLOCK_MONOTONIC deadlines: frames never drift. */
			struct timespec ts = {.tv_sec = (time_t)(deadline / NS_PER_S),
					      .tv_nsec = (long)(deadline % NS_PER_S)};
			pthread_cond_timedwait(&d->cond, lock, &ts);
		}
	}
	pthread_mutex_unlock(lock);
	return NULL;
}

/* ---- register hooks ---- */

static struct sim_amdgpu_dce *ctx_dce(void *ctx)
{
	return ((struct hook_ctx *)ctx)->d;
}

static unsigned ctx_pipe(void *ctx)
{
	return ((struct hook_ctx *)ctx)->pipe;
}

static bool pipe_running(struct sim_amdgpu_dce *d, unsigned pipe)
{
	return d->pipe[pipe].running;
}

/* GRPH registers that take effect with the next mode update. */
static void grph_mode_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_amdgpu_dce *d = ctx_dce(ctx);
	unsigned pipe = ctx_pipe(ctx);
	uint32_t uoff = SIM_AMDGPU_GRPH_UPDATE + pipe_off(pipe);
	pipe_advance(d, pipe, sim_amdgpu_now_ns());
	sim_regs_set(r, off, val);
	sim_regs_set(r, uoff, (sim_regs_get(r, uoff) & ~SIM_AMDGPU_GRPH_UPDATE_MODE_TAKEN) |
				      SIM_AMDGPU_GRPH_UPDATE_MODE_PENDING);
	if (!pipe_running(d, pipe))
		latch_grph(d, pipe);
}

/* The high half of the address is only stored; the low half's write arms the flip. */
static void grph_addr_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_amdgpu_dce *d = ctx_dce(ctx);
	unsigned pipe = ctx_pipe(ctx);
	uint32_t po = pipe_off(pipe), uoff = SIM_AMDGPU_GRPH_UPDATE + po;
	uint64_t now = sim_amdgpu_now_ns();
	pipe_advance(d, pipe, now);
	sim_regs_set(r, off, val);
	sim_regs_set(r, uoff, (sim_regs_get(r, uoff) & ~SIM_AMDGPU_GRPH_UPDATE_SURFACE_TAKEN) |
				      SIM_AMDGPU_GRPH_UPDATE_SURFACE_PENDING);
	if (!pipe_running(d, pipe)) {
		latch_grph(d, pipe);
	} else if (sim_regs_get(r, SIM_AMDGPU_GRPH_FLIP_CONTROL + po) & 1u) {
		if (latch_grph(d, pipe))
			pflip_fire(d, pipe, now);
	}
}

static void grph_update_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_amdgpu_dce *d = ctx_dce(ctx);
	unsigned pipe = ctx_pipe(ctx);
	/* PENDING/TAKEN [3:0] are status; the rest (lock, modes) is control. */
	pipe_advance(d, pipe, sim_amdgpu_now_ns());
	sim_regs_set(r, off, (sim_regs_get(r, off) & 0xFu) | (val & ~0xFu));
	if (!pipe_running(d, pipe))
		latch_grph(d, pipe);
}

static void cur_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_amdgpu_dce *d = ctx_dce(ctx);
	unsigned pipe = ctx_pipe(ctx);
	uint32_t uoff = SIM_AMDGPU_CUR_UPDATE + pipe_off(pipe);
	pipe_advance(d, pipe, sim_amdgpu_now_ns());
	sim_regs_set(r, off, val);
	sim_regs_set(r, uoff, (sim_regs_get(r, uoff) & ~2u) | 1u);
	if (!pipe_running(d, pipe))
		latch_cursor(d, pipe);
}

static void cur_update_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_amdgpu_dce *d = ctx_dce(ctx);
	unsigned pipe = ctx_pipe(ctx);
	pipe_advance(d, pipe, sim_amdgpu_now_ns());
	sim_regs_set(r, off, (sim_regs_get(r, off) & 3u) | (val & ~3u));
	if (!pipe_running(d, pipe))
		latch_cursor(d, pipe);
}

/* Status registers that depend on time: bring the model up to now first. */
static uint32_t advanced_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	pipe_advance(ctx_dce(ctx), ctx_pipe(ctx), sim_amdgpu_now_ns());
	return sim_regs_get(r, off);
}

static void ignore_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
}

static void grph_int_status_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	pipe_advance(ctx_dce(ctx), ctx_pipe(ctx), sim_amdgpu_now_ns());
	if (val & (1u << 8)) /* GRPH_PFLIP_INT_CLEAR */
		sim_regs_set(r, off, sim_regs_get(r, off) & ~1u);
}

static void vi0_control_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	pipe_advance(ctx_dce(ctx), ctx_pipe(ctx), sim_amdgpu_now_ns());
	uint32_t status = sim_regs_get(r, off) & (SIM_AMDGPU_VI0_STATUS | SIM_AMDGPU_VI0_INT_STATUS);
	if (val & SIM_AMDGPU_VI0_CLEAR)
		status = 0;
	/* OUTPUT_POLARITY b4, INT_ENABLE b8, INT_TYPE b24 are control; CLEAR is a strobe. */
	sim_regs_set(r, off, (val & ((1u << 4) | SIM_AMDGPU_VI0_INT_ENABLE | (1u << 24))) | status);
}

/* ---- legacy LUT ---- */

static void lut_advance(struct sim_regs *r, struct dce_pipe *p, uint32_t idx_off)
{
	sim_regs_set(r, idx_off, (sim_regs_get(r, idx_off) + 1u) & 0xFFu);
	p->lut_seq = 0;
}

static void lut_index_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, val & 0xFFu);
	ctx_dce(ctx)->pipe[ctx_pipe(ctx)].lut_seq = 0; /* a new index starts at red */
}

static void lut_seq_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct dce_pipe *p = &ctx_dce(ctx)->pipe[ctx_pipe(ctx)];
	uint32_t po = pipe_off(ctx_pipe(ctx));
	sim_regs_set(r, off, val);
	if (sim_regs_get(r, SIM_AMDGPU_DC_LUT_RW_MODE + po) & 1u)
		return; /* PWL mode: not modelled */
	uint32_t idx = sim_regs_get(r, SIM_AMDGPU_DC_LUT_RW_INDEX + po) & 0xFFu;
	uint32_t mask = sim_regs_get(r, SIM_AMDGPU_DC_LUT_WRITE_EN_MASK + po);
	unsigned c = p->lut_seq;
	if (mask & (4u >> c)) /* R is b2, B is b0 */
		p->lut[c][idx] = (uint16_t)val;
	if (++p->lut_seq == 3)
		lut_advance(r, p, SIM_AMDGPU_DC_LUT_RW_INDEX + po);
}

static uint16_t widen10(uint32_t v)
{
	return (uint16_t)(v << 6 | v >> 4);
}

static void lut_30_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct dce_pipe *p = &ctx_dce(ctx)->pipe[ctx_pipe(ctx)];
	uint32_t po = pipe_off(ctx_pipe(ctx));
	sim_regs_set(r, off, val);
	if (sim_regs_get(r, SIM_AMDGPU_DC_LUT_RW_MODE + po) & 1u)
		return;
	uint32_t idx = sim_regs_get(r, SIM_AMDGPU_DC_LUT_RW_INDEX + po) & 0xFFu;
	uint32_t mask = sim_regs_get(r, SIM_AMDGPU_DC_LUT_WRITE_EN_MASK + po);
	if (mask & 4u)
		p->lut[0][idx] = widen10((val >> 20) & 0x3FFu);
	if (mask & 2u)
		p->lut[1][idx] = widen10((val >> 10) & 0x3FFu);
	if (mask & 1u)
		p->lut[2][idx] = widen10(val & 0x3FFu);
	lut_advance(r, p, SIM_AMDGPU_DC_LUT_RW_INDEX + po);
}

/* Timing, clock and CRTC control: stored, then the CRTC re-evaluates. */
static void timing_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	if (off == SIM_AMDGPU_CRTC_CONTROL + pipe_off(ctx_pipe(ctx)))
		val &= ~SIM_AMDGPU_CRTC_CURRENT_MASTER_EN_STATE;
	sim_regs_set(r, off, val);
	pipe_retime(ctx_dce(ctx), ctx_pipe(ctx));
}

static uint32_t crtc_control_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	bool running = pipe_running(ctx_dce(ctx), ctx_pipe(ctx));
	return sim_regs_get(r, off) | (running ? SIM_AMDGPU_CRTC_CURRENT_MASTER_EN_STATE : 0);
}

static uint32_t position_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_amdgpu_dce *d = ctx_dce(ctx);
	unsigned pipe = ctx_pipe(ctx);
	const struct dce_pipe *p = &d->pipe[pipe];
	uint64_t now = sim_amdgpu_now_ns();
	pipe_advance(d, pipe, now);
	if (!p->running)
		return off == SIM_AMDGPU_CRTC_STATUS + pipe_off(pipe) ? 1u /* in blank */ : 0;
	uint64_t pix = pixels_at(p, now) % ((uint64_t)p->htotal * p->vtotal);
	uint32_t line = (uint32_t)(pix / p->htotal), col = (uint32_t)(pix % p->htotal);
	if (off == SIM_AMDGPU_CRTC_STATUS_POSITION + pipe_off(pipe))
		return line | col << 16;
	bool vactive = line >= p->vbe && line < p->vbs, hactive = col >= p->hbe && col < p->hbs;
	return (vactive ? 2u : 1u) | (hactive ? 2u : 1u) << 16;
}

static uint32_t frame_count_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_amdgpu_dce *d = ctx_dce(ctx);
	uint64_t now = sim_amdgpu_now_ns();
	pipe_advance(d, ctx_pipe(ctx), now);
	return frame_count(&d->pipe[ctx_pipe(ctx)], now);
}

static uint32_t hpd_status_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_amdgpu_dce *d = ctx_dce(ctx);
	unsigned line = ctx_pipe(ctx);
	/* An enabled HPD block senses the (never changing) monitor; no interrupt is ever pending. */
	bool enabled = sim_regs_get(r, SIM_AMDGPU_DC_HPD0_CONTROL + line * SIM_AMDGPU_DC_HPD_STRIDE) &
		       SIM_AMDGPU_DC_HPD_EN;
	return enabled && d->ddc[line].has_eeprom ? SIM_AMDGPU_DC_HPD_SENSE | (1u << 4) : 0;
}

/* ---- DDC: the EEPROM on the wire ---- */

static uint8_t eeprom_byte(const struct sim_amdgpu_dce *d, uint8_t addr)
{
	return addr < SIM_EDID_SIZE ? d->edid[addr] : 0xFF;
}

static void ddc_rising(struct ddc_line *l)
{
	switch (l->state) {
	case DDC_ADDR:
	case DDC_WRITE:
		if (!l->ack_phase && l->bit < 8) {
			l->shift = (uint8_t)(l->shift << 1 | (l->sda ? 1 : 0));
			l->bit++;
		}
		break;
	case DDC_READ:
		if (l->bit == 8)
			l->acked = !l->sda;
		break;
	default:
		break;
	}
}

static void ddc_falling(struct sim_amdgpu_dce *d, struct ddc_line *l)
{
	switch (l->state) {
	case DDC_ADDR:
	case DDC_WRITE:
		if (l->ack_phase) {
			/* End of the ninth clock: release SDA and go on. */
			l->slave_low = false;
			l->ack_phase = false;
			l->bit = 0;
			l->shift = 0;
			if (l->state == DDC_ADDR) {
				if (!l->addressed) {
					l->state = DDC_IGNORE;
				} else if (l->rw_read) {
					l->state = DDC_READ;
					l->cur = eeprom_byte(d, l->ptr);
					l->slave_low = !(l->cur & 0x80);
				} else {
					l->state = DDC_WRITE;
					l->first_write = true;
				}
			}
		} else if (l->bit == 8) {
			if (l->state == DDC_ADDR) {
				l->addressed = (l->shift >> 1) == SIM_EDID_I2C_ADDR;
				l->rw_read = l->shift & 1;
				l->slave_low = l->addressed; /* ACK */
			} else {
				/* The first byte sets the word address; the EEPROM is write-protected after it. */
				if (l->first_write)
					l->ptr = l->shift;
				l->first_write = false;
				l->slave_low = true;
			}
			l->ack_phase = true;
		}
		break;
	case DDC_READ:
		if (l->bit < 8) {
			l->bit++;
			l->slave_low = l->bit < 8 && !((l->cur >> (7 - l->bit)) & 1);
		} else if (l->acked) {
			l->ptr++;
			l->cur = eeprom_byte(d, l->ptr);
			l->bit = 0;
			l->slave_low = !(l->cur & 0x80);
		} else {
			/* NACK: the master is done; wait for STOP. */
			l->state = DDC_IGNORE;
			l->slave_low = false;
		}
		break;
	default:
		break;
	}
}

static bool master_low(const struct sim_regs *r, unsigned line, uint32_t pin)
{
	uint32_t o = line * SIM_AMDGPU_DC_GPIO_DDC_STRIDE;
	uint32_t mask = sim_regs_get(r, SIM_AMDGPU_DC_GPIO_DDC1_MASK + o);
	uint32_t en = sim_regs_get(r, SIM_AMDGPU_DC_GPIO_DDC1_EN + o);
	uint32_t a = sim_regs_get(r, SIM_AMDGPU_DC_GPIO_DDC1_A + o);
	return (mask & pin) && (en & pin) && !(a & pin);
}

/* Pins changed: the SCL edge first, then SDA (a START/STOP if SCL is high). */
static void ddc_update(struct sim_amdgpu_dce *d, unsigned line)
{
	const struct sim_regs *r = sim_amdgpu_mmio(d->m);
	struct ddc_line *l = &d->ddc[line];
	bool scl = !master_low(r, line, SIM_AMDGPU_DC_GPIO_DDC_CLK);

	if (l->has_eeprom && scl != l->scl) {
		l->scl = scl;
		l->sda = !(master_low(r, line, SIM_AMDGPU_DC_GPIO_DDC_DATA) || l->slave_low);
		if (scl)
			ddc_rising(l);
		else
			ddc_falling(d, l);
	}
	l->scl = scl;
	bool sda = !(master_low(r, line, SIM_AMDGPU_DC_GPIO_DDC_DATA) || l->slave_low);
	if (l->has_eeprom && l->scl && sda != l->sda) {
		if (!sda) {
			/* START (or repeated START). */
			l->state = DDC_ADDR;
			l->bit = 0;
			l->shift = 0;
			l->ack_phase = false;
		} else {
			l->state = DDC_IDLE;
		}
		l->slave_low = false;
		sda = !master_low(r, line, SIM_AMDGPU_DC_GPIO_DDC_DATA);
	}
	l->sda = sda;
}

static void ddc_pin_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, val);
	ddc_update(ctx_dce(ctx), ctx_pipe(ctx));
}

static uint32_t ddc_y_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	const struct ddc_line *l = &ctx_dce(ctx)->ddc[ctx_pipe(ctx)];
	return (l->scl ? SIM_AMDGPU_DC_GPIO_DDC_CLK : 0) | (l->sda ? SIM_AMDGPU_DC_GPIO_DDC_DATA : 0);
}

/* ---- capture ---- */

struct capture_ctx {
	struct sim_amdgpu_vm_ctx vm;
};

static int capture_read(void *ctx, uint64_t addr, void *dst, size_t len)
{
	struct capture_ctx *c = ctx;
	return sim_amdgpu_vm_read(&c->vm, addr, dst, len);
}

/* The DRM format a latched GRPH_CONTROL/SWAP_CNTL pair scans out as, or 0 if not modelled. */
static uint32_t grph_fourcc(uint32_t control, uint32_t swap)
{
	uint32_t depth = control & 3u, format = (control >> 8) & 7u, sw_mode = (control >> 20) & 0x1Fu;
	if (sw_mode != 0 || (swap & 3u) != 0) /* tiled, or byte-swapped */
		return 0;
	uint32_t xbar = (swap >> 4) & 0xFFu;
	/* Crossbar identity, or RED_SEL_B | BLUE_SEL_R (2 in [5:4] and [9:8]). */
	bool rgb = xbar == 0, bgr = xbar == 0x22;
	if (depth == 2 && format == 0)
		return rgb ? DRM_FORMAT_XRGB8888 : bgr ? DRM_FORMAT_XBGR8888 : 0;
	if (depth == 2 && format == 1)
		return rgb ? DRM_FORMAT_XRGB2101010 : bgr ? DRM_FORMAT_XBGR2101010 : 0;
	if (depth == 1 && format == 1 && rgb)
		return DRM_FORMAT_RGB565;
	return 0;
}

static uint32_t clip_range(uint32_t start, uint32_t len, uint32_t lo, uint32_t hi, uint32_t *out_start)
{
	uint64_t a = start > lo ? start : lo, b = (uint64_t)start + len < hi ? (uint64_t)start + len : hi;
	*out_start = (uint32_t)a;
	return b > a ? (uint32_t)(b - a) : 0;
}

int sim_amdgpu_dce_capture(struct sim_model *m, unsigned int pipe, uint32_t *pixels, uint32_t width,
			   uint32_t height)
{
	struct sim_amdgpu_dce *d = sim_amdgpu_engine(m, SIM_AMDGPU_ENGINE_DCE);
	if (!d || pipe >= NPIPES)
		return -ENODEV;
	pthread_mutex_t *lock = sim_amdgpu_lock(m);
	struct capture_ctx cctx;
	pthread_mutex_lock(lock);
	advance_all(d, sim_amdgpu_now_ns());
	const struct dce_pipe *p = &d->pipe[pipe];
	bool running = p->running;
	struct dce_grph g = p->grph;
	struct dce_cursor c = p->cur;
	uint32_t active_w = p->hbs - p->hbe, active_h = p->vbs - p->vbe;
	sim_amdgpu_vm_snapshot(m, SIM_AMDGPU_MMHUB, 0, &cctx.vm);
	const struct sim_regs *r = sim_amdgpu_mmio(m);
	uint32_t fourcc = grph_fourcc(g.control, g.swap);
	bool ten_bit = fourcc == DRM_FORMAT_XRGB2101010 || fourcc == DRM_FORMAT_XBGR2101010;
	bool use_lut = !(sim_regs_get(r, SIM_AMDGPU_INPUT_GAMMA_CONTROL + pipe_off(pipe)) &
			 SIM_AMDGPU_INPUT_GAMMA_BYPASS) &&
		       !(ten_bit && (sim_regs_get(r, SIM_AMDGPU_GRPH_LUT_10BIT_BYPASS + pipe_off(pipe)) &
				     SIM_AMDGPU_GRPH_LUT_10BIT_BYPASS_EN));
	struct sim_lut lut;
	for (unsigned i = 0; use_lut && i < 256; i++) {
		/* 8 bits on the wire: the entry's top bits (the output truncates, it does not dither). */
		lut.r[i] = (uint8_t)(p->lut[0][i] >> 8);
		lut.g[i] = (uint8_t)(p->lut[1][i] >> 8);
		lut.b[i] = (uint8_t)(p->lut[2][i] >> 8);
	}
	pthread_mutex_unlock(lock);

	if (!running)
		return -ENODEV;
	if (!pixels || width != active_w || height != active_h)
		return -EINVAL;

	struct sim_plane_view planes[2];
	unsigned n = 0;
	if (g.enable & 1u) {
		uint32_t cpp = 1u << (g.control & 3u);
		uint32_t vx = (g.vp_start >> 16) & 0x3FFFu, vy = g.vp_start & 0x3FFFu;
		uint32_t vw = (g.vp_size >> 16) & 0x3FFFu, vh = g.vp_size & 0x3FFFu;
		/* No scaler: the viewport shows 1:1 from the top left of the active area. */
		if (vw > active_w)
			vw = active_w;
		if (vh > active_h)
			vh = active_h;
		uint32_t sx0 = (g.offset_x & 0x3FFFu) + vx, sy0 = (g.offset_y & 0x3FFFu) + vy, sx, sy;
		/* Outside [X_START, X_END) x [Y_START, Y_END) there is no surface: black. */
		uint32_t w = clip_range(sx0, vw, g.x_start & 0x3FFFu, g.x_end & 0x7FFFu, &sx);
		uint32_t h = clip_range(sy0, vh, g.y_start & 0x3FFFu, g.y_end & 0x7FFFu, &sy);
		planes[n++] = (struct sim_plane_view){
			.enabled = w && h,
			.format = fourcc, /* 0 (not modelled) composes as black */
			.read = capture_read,
			.ctx = &cctx,
			.base = (uint64_t)(g.addr_hi & 0xFFu) << 32 | (g.addr_lo & 0xFFFFFF00u),
			.pitch = (g.pitch & 0x7FFFu) * cpp,
			.src_x = sx, .src_y = sy, .src_w = w, .src_h = h,
			.dst_x = (int32_t)(sx - sx0), .dst_y = (int32_t)(sy - sy0), .dst_w = w, .dst_h = h,
			.blend = SIM_BLEND_NONE,
			.lut = use_lut ? &lut : NULL,
		};
	}
	uint32_t mode = (c.control >> 8) & 3u;
	if ((c.control & 1u) && (mode == 2 || mode == 3)) {
		uint32_t cw = ((c.size >> 16) & 0x7Fu) + 1, ch = (c.size & 0x7Fu) + 1;
		uint32_t scale = (c.control & (1u << 16)) ? 2 : 1; /* CURSOR_2X_MAGNIFY */
		int32_t x = (int32_t)((c.position >> 16) & 0x3FFFu) - (int32_t)((c.hot_spot >> 16) & 0x7Fu);
		int32_t y = (int32_t)(c.position & 0x3FFFu) - (int32_t)(c.hot_spot & 0x7Fu);
		planes[n++] = (struct sim_plane_view){
			.enabled = true,
			.format = DRM_FORMAT_ARGB8888,
			.read = capture_read,
			.ctx = &cctx,
			.base = (uint64_t)(c.addr_hi & 0xFFu) << 32 | c.addr_lo,
			.pitch = cw * 4,
			.src_w = cw, .src_h = ch,
			.dst_x = x, .dst_y = y, .dst_w = cw * scale, .dst_h = ch * scale,
			.blend = mode == 2 ? SIM_BLEND_PREMULTIPLIED : SIM_BLEND_COVERAGE,
		};
	}
	return sim_scanout_compose(planes, n, pixels, width, height);
}

/* ---- misbehaviour, setup ---- */

void sim_amdgpu_display_set_fault(struct sim_model *m, unsigned faults, uint32_t delay_us)
{
	struct sim_amdgpu_dce *d = sim_amdgpu_engine(m, SIM_AMDGPU_ENGINE_DCE);
	if (!d)
		return;
	pthread_mutex_lock(sim_amdgpu_lock(m));
	d->faults = faults;
	d->delay_ns = (uint64_t)delay_us * 1000u;
	pthread_cond_signal(&d->cond);
	pthread_mutex_unlock(sim_amdgpu_lock(m));
}

static int install_hooks(struct sim_model *m, struct hook_ctx *hc, unsigned pipe)
{
	uint32_t po = pipe_off(pipe), co = pipe * SIM_AMDGPU_DCCG_PIPE_STRIDE;
	uint32_t ho = pipe * SIM_AMDGPU_DC_HPD_STRIDE, go = pipe * SIM_AMDGPU_DC_GPIO_DDC_STRIDE;
	static const uint32_t grph_mode[] = {
		SIM_AMDGPU_GRPH_ENABLE, SIM_AMDGPU_GRPH_CONTROL, SIM_AMDGPU_GRPH_SWAP_CNTL, SIM_AMDGPU_GRPH_PITCH,
		SIM_AMDGPU_GRPH_SURFACE_OFFSET_X, SIM_AMDGPU_GRPH_SURFACE_OFFSET_Y, SIM_AMDGPU_GRPH_X_START,
		SIM_AMDGPU_GRPH_Y_START, SIM_AMDGPU_GRPH_X_END, SIM_AMDGPU_GRPH_Y_END,
		SIM_AMDGPU_SCL_VIEWPORT_START, SIM_AMDGPU_SCL_VIEWPORT_SIZE,
	};
	static const uint32_t cur[] = {
		SIM_AMDGPU_CUR_CONTROL, SIM_AMDGPU_CUR_SURFACE_ADDRESS, SIM_AMDGPU_CUR_SIZE,
		SIM_AMDGPU_CUR_SURFACE_ADDRESS_HIGH, SIM_AMDGPU_CUR_POSITION, SIM_AMDGPU_CUR_HOT_SPOT,
	};
	static const uint32_t timing[] = {
		SIM_AMDGPU_CRTC_H_TOTAL, SIM_AMDGPU_CRTC_H_BLANK_START_END, SIM_AMDGPU_CRTC_V_TOTAL,
		SIM_AMDGPU_CRTC_V_BLANK_START_END, SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_POSITION,
	};
	struct sim_reg_hook hooks[64];
	unsigned n = 0;
	for (size_t i = 0; i < sizeof(grph_mode) / sizeof(grph_mode[0]); i++)
		hooks[n++] = (struct sim_reg_hook){.off = grph_mode[i] + po, .write = grph_mode_write};
	for (size_t i = 0; i < sizeof(cur) / sizeof(cur[0]); i++)
		hooks[n++] = (struct sim_reg_hook){.off = cur[i] + po, .write = cur_write};
	for (size_t i = 0; i < sizeof(timing) / sizeof(timing[0]); i++)
		hooks[n++] = (struct sim_reg_hook){.off = timing[i] + po, .write = timing_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_GRPH_PRIMARY_SURFACE_ADDRESS_HIGH + po,
					   .write = grph_mode_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_GRPH_PRIMARY_SURFACE_ADDRESS + po,
					   .write = grph_addr_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_GRPH_UPDATE + po, .read = advanced_read,
					   .write = grph_update_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_GRPH_SURFACE_ADDRESS_INUSE + po, .read = advanced_read,
					   .write = ignore_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_GRPH_SURFACE_ADDRESS_HIGH_INUSE + po,
					   .read = advanced_read, .write = ignore_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_GRPH_INTERRUPT_STATUS + po, .read = advanced_read,
					   .write = grph_int_status_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_CUR_UPDATE + po, .read = advanced_read,
					   .write = cur_update_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_CRTC_CONTROL + po, .read = crtc_control_read,
					   .write = timing_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_CRTC_STATUS + po, .read = position_read,
					   .write = ignore_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_CRTC_STATUS_POSITION + po, .read = position_read,
					   .write = ignore_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_CRTC_STATUS_FRAME_COUNT + po,
					   .read = frame_count_read, .write = ignore_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_CRTC_VERTICAL_INTERRUPT0_CONTROL + po,
					   .read = advanced_read, .write = vi0_control_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_DC_LUT_RW_INDEX + po, .write = lut_index_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_DC_LUT_SEQ_COLOR + po, .write = lut_seq_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_DC_LUT_30_COLOR + po, .write = lut_30_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_CRTC0_PIXEL_RATE_CNTL + co, .write = timing_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_DP_DTO0_PHASE + co, .write = timing_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_DP_DTO0_MODULO + co, .write = timing_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_DC_HPD0_INT_STATUS + ho, .read = hpd_status_read,
					   .write = ignore_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_DC_GPIO_DDC1_MASK + go, .write = ddc_pin_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_DC_GPIO_DDC1_A + go, .write = ddc_pin_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_DC_GPIO_DDC1_EN + go, .write = ddc_pin_write};
	hooks[n++] = (struct sim_reg_hook){.off = SIM_AMDGPU_DC_GPIO_DDC1_Y + go, .read = ddc_y_read,
					   .write = ignore_write};
	for (unsigned i = 0; i < n; i++) {
		hooks[i].ctx = hc;
		int ret = sim_amdgpu_hook_mmio(m, &hooks[i]);
		if (ret)
			return ret;
	}
	return 0;
}

int sim_amdgpu_dce_init(struct sim_model *m)
{
	struct sim_amdgpu_dce *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->m = m;
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	int ret = pthread_cond_init(&d->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (ret) {
		free(d);
		return -ret;
	}
	sim_amdgpu_set_engine(m, SIM_AMDGPU_ENGINE_DCE, d);

	sim_edid_build(d->edid, SIM_AMDGPU_MONITOR_NAME, SIM_AMDGPU_MONITOR_WIDTH_MM, SIM_AMDGPU_MONITOR_HEIGHT_MM);
	for (unsigned i = 0; i < NPIPES; i++) {
		d->ddc[i] = (struct ddc_line){.has_eeprom = i == 0, .scl = true, .sda = true};
		d->pipe[i].htotal = d->pipe[i].vtotal = 1;
		d->hook_ctx[i] = (struct hook_ctx){.d = d, .pipe = i};
		/* LUT reset [plausible]: the identity, bypassed, as firmware leaves it; pictures are unchanged. */
		for (unsigned k = 0; k < 256; k++)
			d->pipe[i].lut[0][k] = d->pipe[i].lut[1][k] = d->pipe[i].lut[2][k] = (uint16_t)(k * 257u);
		sim_regs_set(sim_amdgpu_mmio(m), SIM_AMDGPU_INPUT_GAMMA_CONTROL + pipe_off(i),
			     SIM_AMDGPU_INPUT_GAMMA_BYPASS);
		ret = install_hooks(m, &d->hook_ctx[i], i);
		if (ret)
			return ret; /* dce_fini (from the model's destroy) frees d */
	}
	ret = pthread_create(&d->thread, NULL, display_thread, d);
	if (ret)
		return -ret;
	d->thread_started = true;
	return 0;
}

void sim_amdgpu_dce_fini(struct sim_model *m)
{
	struct sim_amdgpu_dce *d = sim_amdgpu_engine(m, SIM_AMDGPU_ENGINE_DCE);
	if (!d)
		return;
	if (d->thread_started) {
		pthread_mutex_lock(sim_amdgpu_lock(m));
		d->stop = true;
		pthread_cond_signal(&d->cond);
		pthread_mutex_unlock(sim_amdgpu_lock(m));
		pthread_join(d->thread, NULL);
	}
	pthread_cond_destroy(&d->cond);
	sim_amdgpu_set_engine(m, SIM_AMDGPU_ENGINE_DCE, NULL);
	free(d);
}
