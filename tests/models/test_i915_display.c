/*
 * The i915 display backend against the Skylake model, through a stand-in for
 * the KMS core that does what kms.h promises (objects, check → swap →
 * prepare_fb → commit, vblank on/off, completion bookkeeping): bring-up and
 * EDID, modesets and flips seen on the captured monitor, completion from
 * flip-done and vblank interrupts, vblank timestamps, atomic_check's
 * refusals, hot-plug, the gamma table, the GGTT allocator, and the
 * lost-interrupt watchdog.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <drm_fourcc.h>

#include "hw_sim.h"
#include "i915/i915.h"
#include "i915/sim_i915.h"
#include "irq_line.h"
#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/gem.h"
#include "redox-drm/hw.h"
#include "redox-drm/kms.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"
#include "sim_edid.h"

/* ---- the stand-in core ---- */

static struct {
	struct drm_plane *planes[KMS_MAX_PLANES];
	struct drm_crtc *crtcs[KMS_MAX_CRTCS];
	struct drm_encoder *encoders[KMS_MAX_ENCODERS];
	struct drm_connector *conns[KMS_MAX_CONNECTORS];
	unsigned nplanes, ncrtcs, nencoders, nconns;
	uint8_t edid[KMS_MAX_CONNECTORS][256];
	size_t edid_len[KMS_MAX_CONNECTORS];
	unsigned edid_updates[KMS_MAX_CONNECTORS];
	unsigned vblanks[KMS_MAX_CRTCS];
	uint64_t vblank_ts[KMS_MAX_CRTCS][256];
	bool vblank_on[KMS_MAX_CRTCS];
	unsigned commits_done[KMS_MAX_CRTCS];
	uint64_t commit_done_ns[KMS_MAX_CRTCS];
	bool commit_pending[KMS_MAX_CRTCS];
} core;

/*
 * The driver's uAPI handlers (i915_uapi.c, linked along with the driver) reach
 * the caller's memory through the daemon's call; no ioctl runs in these tests.
 */
int drm_copy_from_user(struct drm_call *call, void *dst, uint64_t uptr, size_t len)
{
	(void)call, (void)dst, (void)uptr, (void)len;
	return -EFAULT;
}

int drm_copy_to_user(struct drm_call *call, uint64_t uptr, const void *src, size_t len)
{
	(void)call, (void)src, (void)uptr, (void)len;
	return -EFAULT;
}

bool drm_call_privileged(const struct drm_call *call)
{
	(void)call;
	return false;
}

/* Waits (WAIT, syncobjs) park calls; none is made here. */
void drm_call_park(struct drm_call *call, void (*cancel)(struct drm_call *call, void *data), void *data)
{
	(void)call, (void)cancel, (void)data;
}

void drm_call_complete(struct drm_call *call, int ret)
{
	(void)call, (void)ret;
}

void drm_call_rerun(struct drm_call *call)
{
	(void)call;
}

void *drm_call_data(struct drm_call *call)
{
	(void)call;
	return NULL;
}

/* gem.c (linked for the GEM ioctls) asks the core this; the core is not linked here. */
bool drm_core_check_feature(const struct drm_device *dev, uint32_t feature)
{
	return dev->driver && (dev->driver->features & feature) == feature;
}

struct drm_plane *drm_plane_create(struct drm_device *dev, uint32_t possible_crtcs, enum drm_plane_type type,
				   const uint32_t *formats, unsigned int nformats, const uint64_t *modifiers,
				   unsigned int nmodifiers)
{
	struct drm_plane *p = calloc(1, sizeof(*p));
	p->dev = dev;
	p->index = core.nplanes;
	p->type = type;
	p->possible_crtcs = possible_crtcs;
	p->formats = formats;
	p->nformats = nformats;
	p->modifiers = modifiers;
	p->nmodifiers = nmodifiers;
	p->state = calloc(1, sizeof(*p->state));
	p->state->plane = p;
	core.planes[core.nplanes++] = p;
	return p;
}

struct drm_crtc *drm_crtc_create(struct drm_device *dev, struct drm_plane *primary, struct drm_plane *cursor,
				 uint32_t gamma_size)
{
	struct drm_crtc *c = calloc(1, sizeof(*c));
	c->dev = dev;
	c->index = core.ncrtcs;
	c->primary = primary;
	c->cursor = cursor;
	c->state = calloc(1, sizeof(*c->state));
	c->state->crtc = c;
	/* The table starts as the linear ramp; the real core also calls gamma_set now, before the
	 * driver has bound the CRTC, so drivers load it themselves once bound. */
	c->gamma_size = gamma_size;
	c->gamma = gamma_size ? calloc(3 * gamma_size, sizeof(uint16_t)) : NULL;
	for (uint32_t i = 0; i < gamma_size && gamma_size > 1; i++)
		c->gamma[i] = c->gamma[gamma_size + i] = c->gamma[2 * gamma_size + i] =
			(uint16_t)(i * 0xFFFFu / (gamma_size - 1));
	core.crtcs[core.ncrtcs++] = c;
	return c;
}

struct drm_encoder *drm_encoder_create(struct drm_device *dev, uint32_t encoder_type, uint32_t possible_crtcs)
{
	struct drm_encoder *e = calloc(1, sizeof(*e));
	e->index = core.nencoders;
	e->encoder_type = encoder_type;
	e->possible_crtcs = possible_crtcs;
	core.encoders[core.nencoders++] = e;
	return e;
}

static void set_edid(struct drm_connector *c, const uint8_t *edid, size_t len)
{
	core.edid_len[c->index] = edid ? len : 0;
	if (edid)
		memcpy(core.edid[c->index], edid, len);
	c->status = edid ? connector_status_connected : connector_status_disconnected;
}

struct drm_connector *drm_connector_create(struct drm_device *dev, uint32_t connector_type,
					   struct drm_encoder *encoder, const uint8_t *edid, size_t edid_len)
{
	struct drm_connector *c = calloc(1, sizeof(*c));
	c->dev = dev;
	c->index = core.nconns;
	c->connector_type = connector_type;
	c->encoder = encoder;
	c->state = calloc(1, sizeof(*c->state));
	c->state->connector = c;
	core.conns[core.nconns++] = c;
	set_edid(c, edid, edid_len);
	return c;
}

void drm_connector_update_edid(struct drm_connector *connector, const uint8_t *edid, size_t edid_len)
{
	core.edid_updates[connector->index]++;
	set_edid(connector, edid, edid_len);
}

void drm_crtc_handle_vblank(struct drm_crtc *crtc, uint64_t timestamp_ns)
{
	if (!core.vblank_on[crtc->index])
		return;
	core.vblank_ts[crtc->index][core.vblanks[crtc->index]++ % 256] = timestamp_ns;
}

void drm_crtc_commit_done(struct drm_crtc *crtc)
{
	if (!core.commit_pending[crtc->index])
		return;
	core.commit_pending[crtc->index] = false;
	core.commits_done[crtc->index]++;
	core.commit_done_ns[crtc->index] = monotonic_ns();
}

static void core_reset(void)
{
	for (unsigned i = 0; i < core.nplanes; i++) {
		free(core.planes[i]->state);
		free(core.planes[i]);
	}
	for (unsigned i = 0; i < core.ncrtcs; i++) {
		free(core.crtcs[i]->state);
		free(core.crtcs[i]->gamma);
		free(core.crtcs[i]);
	}
	for (unsigned i = 0; i < core.nencoders; i++)
		free(core.encoders[i]);
	for (unsigned i = 0; i < core.nconns; i++) {
		free(core.conns[i]->state);
		free(core.conns[i]);
	}
	memset(&core, 0, sizeof(core));
}

/* check → prepare new framebuffers → swap → vblank on → driver commit → finish inactive CRTCs. */
static int commit(struct drm_device *dev, struct drm_atomic_state *s)
{
	const struct drm_kms_funcs *f = &i915_kms_funcs;
	for (unsigned i = 0; i < core.ncrtcs; i++) {
		struct drm_crtc_state *cs = s->crtcs_new[i];
		if (!cs)
			continue;
		struct drm_crtc_state *old = core.crtcs[i]->state;
		cs->mode_changed = cs->active != old->active || cs->enable != old->enable ||
				   memcmp(&cs->mode, &old->mode, sizeof(cs->mode)) || cs->connector_mask != old->connector_mask;
	}
	for (unsigned i = 0; i < core.nplanes; i++) {
		struct drm_plane_state *ps = s->planes_new[i];
		if (!ps)
			continue;
		const struct drm_crtc_state *cs = NULL;
		if (ps->crtc)
			cs = s->crtcs_new[ps->crtc->index] ? s->crtcs_new[ps->crtc->index] : ps->crtc->state;
		ps->visible = ps->fb && cs && cs->active;
	}
	int r = f->atomic_check(dev, s);
	if (r)
		return r;
	for (unsigned i = 0; i < core.nplanes; i++) {
		struct drm_plane_state *ps = s->planes_new[i];
		if (ps && ps->fb && !ps->fb->driver_priv) {
			r = f->prepare_fb(dev, ps->fb);
			if (r)
				return r;
		}
	}
	for (unsigned i = 0; i < core.nplanes; i++) {
		if (!s->planes_new[i])
			continue;
		s->planes_old[i] = core.planes[i]->state;
		core.planes[i]->state = s->planes_new[i];
		s->planes_new[i] = NULL;
	}
	for (unsigned i = 0; i < core.ncrtcs; i++) {
		if (!s->crtcs_new[i])
			continue;
		s->crtcs_old[i] = core.crtcs[i]->state;
		core.crtcs[i]->state = s->crtcs_new[i];
		core.commit_pending[i] = true;
		if (s->crtcs_new[i]->active && !core.vblank_on[i]) {
			assert_int_equal(f->enable_vblank(core.crtcs[i]), 0);
			core.vblank_on[i] = true;
		}
	}
	f->atomic_commit(dev, s);
	for (unsigned i = 0; i < core.ncrtcs; i++) {
		if (!s->crtcs_new[i] || s->crtcs_new[i]->active)
			continue;
		drm_crtc_commit_done(core.crtcs[i]);
		if (core.vblank_on[i]) {
			f->disable_vblank(core.crtcs[i]);
			core.vblank_on[i] = false;
		}
	}
	for (unsigned i = 0; i < KMS_MAX_PLANES; i++)
		free(s->planes_old[i]);
	for (unsigned i = 0; i < KMS_MAX_CRTCS; i++)
		free(s->crtcs_old[i]);
	return 0;
}

/* ---- fixtures ---- */

struct fixture {
	struct hw_device *hw;
	struct drm_device dev;
	struct event_loop *loop;
	int irq_ep; /* irq_line.h */
};

static int setup(void **state)
{
	core_reset();
	struct fixture *fx = calloc(1, sizeof(*fx));
	fx->hw = hw_sim_create("i915", 0);
	fx->loop = event_loop_create();
	if (!fx->hw || !fx->loop)
		return -1;
	fx->irq_ep = irq_line_open(fx->hw);
	fx->dev.hw = fx->hw;
	fx->dev.driver = &i915_driver;
	fx->dev.loop = fx->loop;
	if (i915_driver.load(&fx->dev) || i915_kms_funcs.modeset_init(&fx->dev))
		return -1;
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;
	i915_kms_funcs.modeset_fini(&fx->dev);
	i915_driver.unload(&fx->dev);
	close(fx->irq_ep);
	hw_destroy(fx->hw);
	event_loop_destroy(fx->loop);
	free(fx);
	core_reset();
	return 0;
}

/* Runs the interrupt line and the timers (as the event loop would) until cond or timeout. */
static bool pump(struct fixture *fx, bool (*cond)(void *), void *arg, unsigned timeout_ms)
{
	uint64_t end = monotonic_ns() + timeout_ms * 1000000ull;
	while (!cond(arg)) {
		if (monotonic_ns() > end)
			return false;
		if (irq_line_wait(fx->irq_ep, 1)) {
			fx->hw->ops->irq_ack(fx->hw);
			i915_driver.irq_handler(&fx->dev);
		}
		event_loop_dispatch(fx->loop, 0);
	}
	return true;
}

static bool commit_done(void *arg)
{
	return !core.commit_pending[*(unsigned *)arg];
}

static bool vblanks_reach(void *arg)
{
	const unsigned *want = arg;
	return core.vblanks[want[0]] >= want[1];
}

struct fb {
	struct drm_framebuffer fb;
	struct drm_gem_object obj;
	struct hw_dma dma;
};

static struct fb *fb_new(struct fixture *fx, uint32_t format, uint32_t w, uint32_t h, uint32_t cpp, uint32_t fill)
{
	struct fb *f = calloc(1, sizeof(*f));
	uint32_t pitch = (w * cpp + 63) & ~63u;
	assert_int_equal(fx->hw->ops->dma_alloc(fx->hw, (size_t)pitch * h, &f->dma), 0);
	f->obj.size = f->dma.size;
	f->obj.dma_addr = f->dma.bus_addr;
	f->obj.vaddr = f->dma.cpu;
	f->fb = (struct drm_framebuffer){.width = w, .height = h, .format = format, .modifier = DRM_FORMAT_MOD_LINEAR,
					 .nplanes = 1, .obj = {&f->obj}, .pitches = {pitch}};
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			memcpy((uint8_t *)f->dma.cpu + (size_t)y * pitch + x * cpp, &fill, cpp);
	return f;
}

static void fb_free(struct fixture *fx, struct fb *f)
{
	i915_kms_funcs.cleanup_fb(&fx->dev, &f->fb);
	fx->hw->ops->dma_free(fx->hw, &f->dma);
	free(f);
}

static struct drm_mode_modeinfo mode_1080p(void)
{
	return (struct drm_mode_modeinfo){
		.clock = 148500, .hdisplay = 1920, .hsync_start = 2008, .hsync_end = 2052, .htotal = 2200,
		.vdisplay = 1080, .vsync_start = 1084, .vsync_end = 1089, .vtotal = 1125, .vrefresh = 60,
		.flags = DRM_MODE_FLAG_PHSYNC | DRM_MODE_FLAG_PVSYNC, .name = "1920x1080",
	};
}

static struct drm_crtc_state *crtc_on(unsigned pipe, const struct drm_mode_modeinfo *m, unsigned conn)
{
	struct drm_crtc_state *cs = calloc(1, sizeof(*cs));
	cs->crtc = core.crtcs[pipe];
	cs->enable = cs->active = true;
	cs->mode = *m;
	cs->connector_mask = 1u << conn;
	return cs;
}

static struct drm_crtc_state *crtc_copy(unsigned pipe)
{
	struct drm_crtc_state *cs = malloc(sizeof(*cs));
	*cs = *core.crtcs[pipe]->state;
	cs->mode_changed = false;
	return cs;
}

static struct drm_plane_state *plane_on(struct drm_plane *p, unsigned pipe, struct fb *f, int32_t x, int32_t y)
{
	struct drm_plane_state *ps = calloc(1, sizeof(*ps));
	ps->plane = p;
	ps->crtc = core.crtcs[pipe];
	ps->fb = &f->fb;
	ps->crtc_x = x;
	ps->crtc_y = y;
	ps->crtc_w = f->fb.width;
	ps->crtc_h = f->fb.height;
	ps->src_w = f->fb.width << 16;
	ps->src_h = f->fb.height << 16;
	return ps;
}

static struct drm_plane_state *plane_off(struct drm_plane *p)
{
	struct drm_plane_state *ps = calloc(1, sizeof(*ps));
	ps->plane = p;
	return ps;
}

static uint32_t *capture(struct fixture *fx, unsigned pipe, uint32_t w, uint32_t h)
{
	uint32_t *px = malloc((size_t)w * h * 4);
	assert_int_equal(i915_kms_funcs.capture(core.crtcs[pipe], px, w, h), 0);
	return px;
}

/* Pipe A on the HDMI connector at 1080p with a primary framebuffer; waits for completion. */
static void light_up(struct fixture *fx, struct fb *primary)
{
	struct drm_mode_modeinfo m = mode_1080p();
	struct drm_atomic_state s = {.dev = &fx->dev, .allow_modeset = true};
	s.crtcs_new[0] = crtc_on(0, &m, 0);
	s.planes_new[core.crtcs[0]->primary->index] = plane_on(core.crtcs[0]->primary, 0, primary, 0, 0);
	assert_int_equal(commit(&fx->dev, &s), 0);
	unsigned pipe = 0;
	assert_true(core.commit_pending[0]); /* the pipe's first vblank finishes it */
	assert_true(pump(fx, commit_done, &pipe, 1000));
	assert_int_equal(core.commits_done[0], 1);
}

/* ---- tests ---- */

static void test_bringup(void **state)
{
	struct fixture *fx = *state;
	/* Two CRTCs, each: primary, overlay, cursor. */
	assert_int_equal(core.ncrtcs, 2);
	assert_int_equal(core.nplanes, 6);
	for (unsigned p = 0; p < 2; p++) {
		const struct drm_crtc *c = core.crtcs[p];
		assert_int_equal(c->primary->type, DRM_PLANE_TYPE_PRIMARY);
		assert_int_equal(c->cursor->type, DRM_PLANE_TYPE_CURSOR);
		assert_int_equal(c->primary->possible_crtcs, 1u << p);
		assert_int_equal(c->primary->nformats, 6);
		assert_int_equal(c->primary->modifiers[0], DRM_FORMAT_MOD_LINEAR);
		assert_int_equal(c->cursor->nformats, 1);
		assert_int_equal(c->cursor->formats[0], DRM_FORMAT_ARGB8888);
		assert_int_equal(c->cursor->max_width, 256);
	}
	unsigned overlays = 0;
	for (unsigned i = 0; i < core.nplanes; i++)
		overlays += core.planes[i]->type == DRM_PLANE_TYPE_OVERLAY;
	assert_int_equal(overlays, 2);

	/* HDMI on DDI B with the monitor's EDID read over GMBUS; DisplayPort empty. */
	assert_int_equal(core.nencoders, 2);
	assert_int_equal(core.encoders[0]->encoder_type, DRM_MODE_ENCODER_TMDS);
	assert_int_equal(core.nconns, 2);
	assert_int_equal(core.conns[0]->connector_type, DRM_MODE_CONNECTOR_HDMIA);
	assert_int_equal(core.conns[0]->status, connector_status_connected);
	uint8_t want[128];
	sim_edid_build(want, SIM_I915_MONITOR_NAME, SIM_I915_MONITOR_WIDTH_MM, SIM_I915_MONITOR_HEIGHT_MM);
	assert_int_equal(core.edid_len[0], 128);
	assert_memory_equal(core.edid[0], want, 128);
	assert_int_equal(core.conns[1]->connector_type, DRM_MODE_CONNECTOR_DisplayPort);
	assert_int_equal(core.conns[1]->status, connector_status_disconnected);

	/* Interrupts armed: flip done on both pipes, vblank only once asked for, hot-plug on B and C. */
	struct hw_device *hw = fx->hw;
	assert_int_equal(hw_read32(hw, 0, GEN8_MASTER_IRQ) & GEN8_MASTER_IRQ_CONTROL, GEN8_MASTER_IRQ_CONTROL);
	assert_int_equal(hw_read32(hw, 0, GEN8_DE_PIPE_IER(0)), 0x39);
	assert_int_equal(hw_read32(hw, 0, GEN8_DE_PIPE_IMR(0)), ~0x38u);
	assert_int_equal(hw_read32(hw, 0, SDEIER), 3u << 21);
	assert_int_equal(hw_read32(hw, 0, PCH_PORT_HOTPLUG) & 0x1010, 0x1010);
	assert_int_equal(i915_kms_funcs.enable_vblank(core.crtcs[1]), 0);
	assert_int_equal(hw_read32(hw, 0, GEN8_DE_PIPE_IMR(1)), ~0x39u);
	i915_kms_funcs.disable_vblank(core.crtcs[1]);
	assert_int_equal(hw_read32(hw, 0, GEN8_DE_PIPE_IMR(1)), ~0x38u);
}

static void test_modeset_flip_disable(void **state)
{
	struct fixture *fx = *state;
	struct hw_device *hw = fx->hw;
	struct fb *a = fb_new(fx, DRM_FORMAT_XRGB8888, 1920, 1080, 4, 0x00336699);
	struct fb *b = fb_new(fx, DRM_FORMAT_XRGB8888, 1920, 1080, 4, 0x00FF8000);
	light_up(fx, a);
	assert_int_equal(hw_read32(hw, 0, TRANSCONF(0)), TRANSCONF_ENABLE | TRANSCONF_STATE_ENABLE);
	uint32_t *px = capture(fx, 0, 1920, 1080);
	assert_int_equal(px[0], 0x336699);
	assert_int_equal(px[1920 * 1080 - 1], 0x336699);
	free(px);
	/* The pipe really runs at 60 Hz: vblanks come and the core counts them. */
	unsigned want[2] = {0, core.vblanks[0] + 3};
	assert_true(pump(fx, vblanks_reach, want, 1000));

	/* A page flip: armed now, shown and finished at the next vblank by the flip-done interrupt. */
	uint64_t old_offset = hw_read32(hw, 0, PLANE_SURFLIVE(0, 1));
	struct drm_atomic_state s = {.dev = &fx->dev};
	s.crtcs_new[0] = crtc_copy(0);
	s.planes_new[core.crtcs[0]->primary->index] = plane_on(core.crtcs[0]->primary, 0, b, 0, 0);
	assert_int_equal(commit(&fx->dev, &s), 0);
	assert_true(core.commit_pending[0]);
	unsigned pipe = 0;
	assert_true(pump(fx, commit_done, &pipe, 1000));
	px = capture(fx, 0, 1920, 1080);
	assert_int_equal(px[1920 * 540], 0xFF8000);
	free(px);
	/* The old framebuffer leaves the GGTT: its PTEs are cleared. */
	assert_int_not_equal(hw_read64(hw, 0, I915_GGTT_OFFSET + old_offset / 4096 * 8), 0);
	i915_kms_funcs.cleanup_fb(&fx->dev, &a->fb);
	assert_null(a->fb.driver_priv);
	assert_int_equal(hw_read64(hw, 0, I915_GGTT_OFFSET + old_offset / 4096 * 8), 0);

	/* Disable: finished at once, the pipe is off, the monitor dark. */
	memset(&s, 0, sizeof(s));
	s.dev = &fx->dev;
	s.allow_modeset = true;
	s.crtcs_new[0] = calloc(1, sizeof(struct drm_crtc_state));
	s.crtcs_new[0]->crtc = core.crtcs[0];
	s.planes_new[core.crtcs[0]->primary->index] = plane_off(core.crtcs[0]->primary);
	unsigned done = core.commits_done[0];
	assert_int_equal(commit(&fx->dev, &s), 0);
	assert_int_equal(core.commits_done[0], done + 1);
	assert_int_equal(hw_read32(hw, 0, TRANSCONF(0)), 0);
	assert_int_equal(hw_read32(hw, 0, DDI_BUF_CTL(I915_PORT_B)) & DDI_BUF_CTL_ENABLE, 0);
	uint32_t one;
	assert_int_equal(i915_kms_funcs.capture(core.crtcs[0], &one, 1, 1), -ENODEV);
	fb_free(fx, a);
	fb_free(fx, b);
}

static void test_vblank_timestamps(void **state)
{
	struct fixture *fx = *state;
	struct fb *a = fb_new(fx, DRM_FORMAT_XRGB8888, 1920, 1080, 4, 0);
	light_up(fx, a);
	unsigned first = core.vblanks[0];
	unsigned want[2] = {0, first + 6};
	assert_true(pump(fx, vblanks_reach, want, 2000));
	/* Corrected to the start of vblank: spaced by exactly a frame, whenever the handler ran. */
	const double frame = 2200.0 * 1125 / 148.5e6 * 1e9;
	for (unsigned i = first + 1; i < first + 6; i++) {
		double dt = (double)(core.vblank_ts[0][i % 256] - core.vblank_ts[0][(i - 1) % 256]);
		print_message("vblank %u: +%.3f ms\n", i, dt / 1e6);
		assert_true(dt > frame - 300000 && dt < frame + 300000);
	}
	assert_true(core.vblank_ts[0][(first + 5) % 256] <= monotonic_ns());
	fb_free(fx, a);
}

static void set_gamma(struct drm_crtc *c, uint16_t (*entry)(unsigned ch, unsigned i))
{
	for (unsigned ch = 0; ch < 3; ch++)
		for (unsigned i = 0; i < c->gamma_size; i++)
			c->gamma[ch * c->gamma_size + i] = entry(ch, i);
	i915_kms_funcs.gamma_set(c);
}

static uint16_t modetest_ramp(unsigned ch, unsigned i)
{
	(void)ch;
	return (uint16_t)(i << 8);
}

/* Red inverted, green zeroed, blue kept; low bits set to show they are dropped. */
static uint16_t invert_red_zero_green(unsigned ch, unsigned i)
{
	return (uint16_t)(ch == 0 ? (255 - i) << 8 | 0xFF : ch == 1 ? 0xFF : i * 257);
}

/* The legacy gamma table: loaded at bring-up, its top 8 bits in the palette, every plane through it. */
static void test_gamma(void **state)
{
	struct fixture *fx = *state;
	struct hw_device *hw = fx->hw;
	for (unsigned p = 0; p < 2; p++) {
		assert_int_equal(core.crtcs[p]->gamma_size, 256);
		for (unsigned i = 0; i < 256; i++)
			assert_int_equal(hw_read32(hw, 0, SIM_I915_LGC_PALETTE(p, i)), i * 0x010101u);
		assert_int_equal(hw_read32(hw, 0, SIM_I915_GAMMA_MODE(p)) & SIM_I915_GAMMA_MODE_MASK,
				 SIM_I915_GAMMA_MODE_8BIT);
		assert_int_equal(hw_read32(hw, 0, SIM_I915_SKL_BOTTOM_COLOR(p)), SIM_I915_BOTTOM_COLOR_GAMMA_ENABLE);
	}
	struct fb *a = fb_new(fx, DRM_FORMAT_XRGB8888, 1920, 1080, 4, 0x00336699);
	light_up(fx, a);
	assert_true(hw_read32(hw, 0, PLANE_CTL(0, 1)) & SIM_I915_PLANE_CTL_PIPE_GAMMA_ENABLE);
	uint32_t *px = capture(fx, 0, 1920, 1080);
	assert_int_equal(px[0], 0x336699);
	free(px);

	/* modetest's linear table (i << 8) is the identity too. */
	set_gamma(core.crtcs[0], modetest_ramp);
	for (unsigned i = 0; i < 256; i++)
		assert_int_equal(hw_read32(hw, 0, SIM_I915_LGC_PALETTE(0, i)), i * 0x010101u);
	px = capture(fx, 0, 1920, 1080);
	assert_int_equal(px[0], 0x336699);
	assert_int_equal(px[1920 * 1080 - 1], 0x336699);
	free(px);

	set_gamma(core.crtcs[0], invert_red_zero_green);
	px = capture(fx, 0, 1920, 1080);
	assert_int_equal(px[0], 0xCC0099);
	assert_int_equal(px[1920 * 1080 - 1], 0xCC0099);
	free(px);
	/* Pipe B's palette is its own. */
	assert_int_equal(hw_read32(hw, 0, SIM_I915_LGC_PALETTE(1, 0x33)), 0x333333u);
	fb_free(fx, a);
}

static void test_planes_on_screen(void **state)
{
	struct fixture *fx = *state;
	struct fb *pri = fb_new(fx, DRM_FORMAT_XRGB8888, 1920, 1080, 4, 0x00204080);
	light_up(fx, pri);
	/* Overlay: premultiplied half-transparent white ABGR; cursor: opaque red ARGB, hanging off the corner. */
	struct fb *ovl = fb_new(fx, DRM_FORMAT_ABGR8888, 256, 128, 4, 0x80808080);
	struct fb *cur = fb_new(fx, DRM_FORMAT_ARGB8888, 64, 64, 4, 0xFFFF0000);
	struct drm_plane *overlay = NULL;
	for (unsigned i = 0; i < core.nplanes; i++)
		if (core.planes[i]->type == DRM_PLANE_TYPE_OVERLAY && core.planes[i]->possible_crtcs == 1)
			overlay = core.planes[i];
	struct drm_atomic_state s = {.dev = &fx->dev};
	s.crtcs_new[0] = crtc_copy(0);
	s.planes_new[overlay->index] = plane_on(overlay, 0, ovl, 100, 200);
	s.planes_new[core.crtcs[0]->cursor->index] = plane_on(core.crtcs[0]->cursor, 0, cur, -10, -20);
	assert_int_equal(commit(&fx->dev, &s), 0);
	unsigned pipe = 0;
	assert_true(pump(fx, commit_done, &pipe, 1000));
	uint32_t *px = capture(fx, 0, 1920, 1080);
	assert_int_equal(px[0], 0xFF0000);
	assert_int_equal(px[43 * 1920 + 53], 0xFF0000);
	assert_int_equal(px[44 * 1920 + 53], 0x204080);
	assert_int_equal(px[200 * 1920 + 100], 0x90A0C0);
	assert_int_equal(px[327 * 1920 + 355], 0x90A0C0);
	assert_int_equal(px[328 * 1920 + 355], 0x204080);
	free(px);

	/* Moving only the cursor finishes at the next vblank (cursors have no flip done). */
	memset(&s, 0, sizeof(s));
	s.dev = &fx->dev;
	s.crtcs_new[0] = crtc_copy(0);
	s.planes_new[core.crtcs[0]->cursor->index] = plane_on(core.crtcs[0]->cursor, 0, cur, 1900, 1070);
	assert_int_equal(commit(&fx->dev, &s), 0);
	assert_true(pump(fx, commit_done, &pipe, 1000));
	px = capture(fx, 0, 1920, 1080);
	assert_int_equal(px[0], 0x204080);
	assert_int_equal(px[1079 * 1920 + 1919], 0xFF0000);
	free(px);

	/* Every format the planes offer, on the primary. */
	const struct {
		uint32_t fourcc, cpp, raw, want;
	} formats[] = {
		{DRM_FORMAT_XRGB8888, 4, 0x00123456, 0x123456}, {DRM_FORMAT_ARGB8888, 4, 0xFF123456, 0x123456},
		{DRM_FORMAT_XBGR8888, 4, 0x00563412, 0x123456}, {DRM_FORMAT_ABGR8888, 4, 0xFF563412, 0x123456},
		{DRM_FORMAT_RGB565, 2, 0xF800, 0xFF0000},       {DRM_FORMAT_XRGB2101010, 4, 0x000FFC00, 0x00FF00},
	};
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		struct fb *f = fb_new(fx, formats[i].fourcc, 1920, 1080, formats[i].cpp, formats[i].raw);
		memset(&s, 0, sizeof(s));
		s.dev = &fx->dev;
		s.crtcs_new[0] = crtc_copy(0);
		s.planes_new[core.crtcs[0]->primary->index] = plane_on(core.crtcs[0]->primary, 0, f, 0, 0);
		assert_int_equal(commit(&fx->dev, &s), 0);
		assert_true(pump(fx, commit_done, &pipe, 1000));
		px = capture(fx, 0, 1920, 1080);
		assert_int_equal(px[500 * 1920 + 700], formats[i].want);
		free(px);
		i915_kms_funcs.cleanup_fb(&fx->dev, &pri->fb); /* the previous one is off screen now */
		fb_free(fx, pri);
		pri = f;
	}
	fb_free(fx, pri);
	fb_free(fx, ovl);
	fb_free(fx, cur);
}

static void test_check_refuses(void **state)
{
	struct fixture *fx = *state;
	struct drm_mode_modeinfo m = mode_1080p();
	struct fb *f = fb_new(fx, DRM_FORMAT_XRGB8888, 1920, 1080, 4, 0);
	struct fb *small = fb_new(fx, DRM_FORMAT_ARGB8888, 100, 100, 4, 0);
	struct drm_plane *pri = core.crtcs[0]->primary, *cur = core.crtcs[0]->cursor;
	const struct drm_kms_funcs *k = &i915_kms_funcs;
	struct drm_atomic_state s;
#define RESET()                                                                                                        \
	do {                                                                                                           \
		for (unsigned i = 0; i < KMS_MAX_PLANES; i++)                                                          \
			free(s.planes_new[i]);                                                                         \
		for (unsigned i = 0; i < KMS_MAX_CRTCS; i++)                                                           \
			free(s.crtcs_new[i]);                                                                          \
		memset(&s, 0, sizeof(s));                                                                              \
		s.dev = &fx->dev;                                                                                      \
		s.allow_modeset = true;                                                                                \
		s.crtcs_new[0] = crtc_on(0, &m, 0);                                                                     \
		s.planes_new[pri->index] = plane_on(pri, 0, f, 0, 0);                                                  \
		s.planes_new[pri->index]->visible = true;                                                              \
	} while (0)
	memset(&s, 0, sizeof(s));
	RESET();
	assert_int_equal(k->atomic_check(&fx->dev, &s), 0);

	/* No scaler: source and destination sizes must match. */
	s.planes_new[pri->index]->crtc_w = 960;
	assert_int_equal(k->atomic_check(&fx->dev, &s), -ERANGE);
	RESET();
	s.planes_new[pri->index]->src_x = 0x8000; /* half a pixel */
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	/* Universal planes only fully on screen. */
	RESET();
	s.planes_new[pri->index]->crtc_x = -1;
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	RESET();
	s.planes_new[pri->index]->crtc_y = 1;
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	/* Stride limits: a multiple of 64 up to 32 KiB. */
	RESET();
	f->fb.pitches[0] = 32832;
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	f->fb.pitches[0] = 7688;
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	f->fb.pitches[0] = 7680;
	/* Tiled buffers are not supported. */
	f->fb.modifier = I915_FORMAT_MOD_X_TILED;
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	f->fb.modifier = DRM_FORMAT_MOD_LINEAR;
	/* Modes: interlaced, too fast a clock, no blanking. */
	RESET();
	s.crtcs_new[0]->mode.flags |= DRM_MODE_FLAG_INTERLACE;
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	RESET();
	s.crtcs_new[0]->mode.clock = 400000;
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	RESET();
	s.crtcs_new[0]->mode.htotal = 1920;
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	/* The DisplayPort connector cannot be driven (no AUX), nor two connectors at once. */
	RESET();
	s.crtcs_new[0]->connector_mask = 1u << 1;
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	RESET();
	s.crtcs_new[0]->connector_mask = 3;
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	/* A plane on another pipe's CRTC. */
	RESET();
	s.planes_new[core.crtcs[1]->primary->index] = plane_on(core.crtcs[1]->primary, 0, f, 0, 0);
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	/* Cursors: square 64/128/256 ARGB only. */
	RESET();
	s.planes_new[cur->index] = plane_on(cur, 0, small, 10, 10);
	s.planes_new[cur->index]->visible = true;
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	struct fb *c64 = fb_new(fx, DRM_FORMAT_ARGB8888, 64, 64, 4, 0);
	s.planes_new[cur->index]->fb = &c64->fb;
	s.planes_new[cur->index]->crtc_w = s.planes_new[cur->index]->crtc_h = 64;
	s.planes_new[cur->index]->src_w = s.planes_new[cur->index]->src_h = 64 << 16;
	s.planes_new[cur->index]->crtc_x = -63;
	assert_int_equal(k->atomic_check(&fx->dev, &s), 0);
	c64->fb.format = DRM_FORMAT_XRGB8888;
	assert_int_equal(k->atomic_check(&fx->dev, &s), -EINVAL);
	for (unsigned i = 0; i < KMS_MAX_PLANES; i++)
		free(s.planes_new[i]);
	for (unsigned i = 0; i < KMS_MAX_CRTCS; i++)
		free(s.crtcs_new[i]);
	fb_free(fx, f);
	fb_free(fx, small);
	fb_free(fx, c64);
#undef RESET
}

static void test_hotplug(void **state)
{
	struct fixture *fx = *state;
	struct sim_model *m = hw_sim_model(fx->hw);
	sim_i915_set_monitor(m, SIM_I915_DDI_B, false);
	assert_true(irq_line_wait(fx->irq_ep, 1000));
	fx->hw->ops->irq_ack(fx->hw);
	i915_driver.irq_handler(&fx->dev);
	assert_int_equal(core.edid_updates[0], 1);
	assert_int_equal(core.conns[0]->status, connector_status_disconnected);
	sim_i915_set_monitor(m, SIM_I915_DDI_B, true);
	assert_true(irq_line_wait(fx->irq_ep, 1000));
	fx->hw->ops->irq_ack(fx->hw);
	i915_driver.irq_handler(&fx->dev);
	assert_int_equal(core.edid_updates[0], 2);
	assert_int_equal(core.conns[0]->status, connector_status_connected);
	assert_int_equal(core.edid_len[0], 128);
	assert_true(sim_edid_valid(core.edid[0]));
	/* A sink on the DisplayPort connector: seen, but without AUX it stays disconnected. */
	log_set_level(LOG_ERROR);
	sim_i915_set_monitor(m, SIM_I915_DDI_C, true);
	assert_true(irq_line_wait(fx->irq_ep, 1000));
	fx->hw->ops->irq_ack(fx->hw);
	i915_driver.irq_handler(&fx->dev);
	assert_int_equal(core.edid_updates[1], 1);
	assert_int_equal(core.conns[1]->status, connector_status_disconnected);
	log_set_level(LOG_WARN);
	/* Everything was served: nothing pending, the master is back on. */
	assert_int_equal(hw_read32(fx->hw, 0, SDEIIR), 0);
	assert_int_equal(hw_read32(fx->hw, 0, GEN8_MASTER_IRQ), GEN8_MASTER_IRQ_CONTROL);
}

/* A lost flip-done interrupt: the watchdog reads the hardware and finishes the commit. */
static void test_lost_interrupt_watchdog(void **state)
{
	struct fixture *fx = *state;
	struct fb *a = fb_new(fx, DRM_FORMAT_XRGB8888, 1920, 1080, 4, 0x000000FF);
	struct fb *b = fb_new(fx, DRM_FORMAT_XRGB8888, 1920, 1080, 4, 0x0000FF00);
	light_up(fx, a);
	log_set_level(LOG_ERROR);
	sim_i915_set_display_fault(hw_sim_model(fx->hw), SIM_I915_DISPLAY_FAULT_DROP_IRQ, 0);
	struct drm_atomic_state s = {.dev = &fx->dev};
	s.crtcs_new[0] = crtc_copy(0);
	s.planes_new[core.crtcs[0]->primary->index] = plane_on(core.crtcs[0]->primary, 0, b, 0, 0);
	uint64_t t0 = monotonic_ns();
	assert_int_equal(commit(&fx->dev, &s), 0);
	unsigned pipe = 0;
	assert_true(pump(fx, commit_done, &pipe, 2000));
	uint64_t took = core.commit_done_ns[0] - t0;
	assert_true(took >= 50000000ull); /* not before the watchdog's 4 frames / 50 ms */
	uint32_t *px = capture(fx, 0, 1920, 1080);
	assert_int_equal(px[0], 0x00FF00);
	free(px);
	sim_i915_set_display_fault(hw_sim_model(fx->hw), SIM_I915_DISPLAY_FAULT_NONE, 0);
	log_set_level(LOG_WARN);
	fb_free(fx, a);
	fb_free(fx, b);
}

static bool never(void *arg)
{
	return false;
}

/* Interrupts arriving late and merged (the model delays them 50 ms): every frame is still counted. */
static void test_late_vblanks_counted(void **state)
{
	struct fixture *fx = *state;
	struct fb *a = fb_new(fx, DRM_FORMAT_XRGB8888, 1920, 1080, 4, 0);
	light_up(fx, a);
	sim_i915_set_display_fault(hw_sim_model(fx->hw), SIM_I915_DISPLAY_FAULT_DELAY_IRQ, 50000);
	pump(fx, never, NULL, 300);
	sim_i915_set_display_fault(hw_sim_model(fx->hw), SIM_I915_DISPLAY_FAULT_NONE, 0);
	pump(fx, never, NULL, 100);
	/* The core's count and the hardware frame counter moved together. */
	uint32_t hw0 = hw_read32(fx->hw, 0, PIPE_FRMCOUNT(0));
	unsigned c0 = core.vblanks[0];
	pump(fx, never, NULL, 100);
	unsigned want[2] = {0, c0 + (hw_read32(fx->hw, 0, PIPE_FRMCOUNT(0)) - hw0)};
	assert_true(pump(fx, vblanks_reach, want, 500));
	/* Through the delayed stretch, timestamps stay a frame apart. */
	const double frame = 2200.0 * 1125 / 148.5e6 * 1e9;
	for (unsigned i = core.vblanks[0] - 20; i < core.vblanks[0]; i++) {
		double dt = (double)(core.vblank_ts[0][i % 256] - core.vblank_ts[0][(i - 1) % 256]);
		assert_true(dt > frame - 300000 && dt < frame + 300000);
	}
	fb_free(fx, a);
}

static void test_ggtt_allocator(void **state)
{
	struct fixture *fx = *state;
	struct i915_device *i915 = fx->dev.dev_private;
	uint64_t a, b, c, d, e;
	/* The engines' status pages are already there (the bottom of the GGTT). */
	unsigned before = 0, after = 0;
	for (struct i915_ggtt_range *r = i915->ggtt.used; r; r = r->next)
		before++;
	assert_int_equal(i915_ggtt_alloc(i915, 4096, 0, &a), 0);
	assert_true(a >= 256 * 1024); /* the bottom stays unused */
	assert_int_equal(i915_ggtt_alloc(i915, 10000, 1u << 18, &b), 0);
	assert_int_equal(b % (1u << 18), 0);
	assert_true(b >= a + 8192); /* the guard page after a */
	/* First fit: the hole the alignment left before b. */
	assert_int_equal(i915_ggtt_alloc(i915, 4096, 0, &c), 0);
	assert_int_equal(c, a + 8192);
	/* Freed space is reused. */
	i915_ggtt_free(i915, b);
	assert_int_equal(i915_ggtt_alloc(i915, 240 * 1024, 0, &d), 0);
	assert_int_equal(d, c + 8192);
	assert_int_equal(i915_ggtt_alloc(i915, 4096, 1u << 18, &b), 0);
	assert_int_equal(b, 768 * 1024); /* d and its guard page end past 512 KiB */
	assert_int_equal(i915_ggtt_alloc(i915, 0, 0, &e), -EINVAL);
	assert_int_equal(i915_ggtt_alloc(i915, 4096, 3, &e), -EINVAL);
	assert_int_equal(i915_ggtt_alloc(i915, 8ull << 30, 0, &e), -EINVAL);
	assert_int_equal(i915_ggtt_alloc(i915, (4ull << 30) - (256u << 10), 0, &e), -ENOSPC);
	/* Mapping writes present PTEs with the bus address; unmapping clears them. */
	i915_ggtt_map(i915, d, 0x123450000ull, 8192, I915_GGTT_PTE_UNCACHED);
	assert_int_equal(hw_read64(fx->hw, 0, I915_GGTT_OFFSET + d / 4096 * 8), 0x123450019ull);
	assert_int_equal(hw_read64(fx->hw, 0, I915_GGTT_OFFSET + d / 4096 * 8 + 8), 0x123451019ull);
	assert_int_equal(hw_read64(fx->hw, 0, I915_GGTT_OFFSET + d / 4096 * 8 + 16), 0);
	i915_ggtt_unmap(i915, d, 8192);
	assert_int_equal(hw_read64(fx->hw, 0, I915_GGTT_OFFSET + d / 4096 * 8), 0);
	i915_ggtt_free(i915, a);
	i915_ggtt_free(i915, b);
	i915_ggtt_free(i915, c);
	i915_ggtt_free(i915, d);
	for (struct i915_ggtt_range *r = i915->ggtt.used; r; r = r->next)
		after++;
	assert_int_equal(after, before);
}

int main(void)
{
	log_set_level(LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bringup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modeset_flip_disable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vblank_timestamps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planes_on_screen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gamma, setup, teardown),
		cmocka_unit_test_setup_teardown(test_check_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hotplug, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_interrupt_watchdog, setup, teardown),
		cmocka_unit_test_setup_teardown(test_late_vblanks_counted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ggtt_allocator, setup, teardown),
	};
	return cmocka_run_group_tests_name("i915_display", tests, NULL, NULL);
}
