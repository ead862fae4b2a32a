#include "kms_harness.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "harness.h"
#include "redox-drm/client.h"
#include "redox-drm/driver.h"
#include "redox-drm/gem.h"
#include "redox-drm/kms.h"
#include "redox-drm/loop.h"
#include "sim_edid.h"
#include "transport.h"

#define FRAME_NS 16666667ull

static const uint32_t formats[] = {DRM_FORMAT_XRGB8888, DRM_FORMAT_ARGB8888, DRM_FORMAT_RGB565};
static const uint32_t cursor_formats[] = {DRM_FORMAT_ARGB8888};
static const uint64_t modifiers[] = {DRM_FORMAT_MOD_LINEAR};

struct vdisplay {
	struct drm_crtc *crtcs[2];
	bool programmed[2]; /* a commit waits for the next vblank */
	bool vblank_enabled[2];
	struct event_timer *timer;
	struct drm_device *dev;
};

static struct vdisplay vd;

static void vblank_tick(void *data)
{
	uint64_t now = monotonic_ns();
	for (int i = 0; i < 2; i++) {
		struct drm_crtc *c = vd.crtcs[i];
		if (!c->state->active)
			continue;
		if (vd.programmed[i]) {
			vd.programmed[i] = false;
			drm_crtc_commit_done(c);
		}
		if (vd.vblank_enabled[i])
			drm_crtc_handle_vblank(c, now);
	}
	vd.timer = event_loop_add_timer(vd.dev->loop, now + FRAME_NS, vblank_tick, NULL);
}

static int v_init(struct drm_device *dev)
{
	uint8_t edid[128];
	sim_edid_build(edid, "Test Monitor", 527, 296);
	struct drm_plane *overlay = NULL;
	for (int i = 0; i < 2; i++) {
		struct drm_plane *primary = drm_plane_create(dev, 1u << i, DRM_PLANE_TYPE_PRIMARY, formats, 3, modifiers, 1);
		struct drm_plane *cursor = drm_plane_create(dev, 1u << i, DRM_PLANE_TYPE_CURSOR, cursor_formats, 1, modifiers, 1);
		vd.crtcs[i] = drm_crtc_create(dev, primary, cursor, 256);
		if (!vd.crtcs[i])
			return -ENOMEM;
	}
	overlay = drm_plane_create(dev, 3, DRM_PLANE_TYPE_OVERLAY, formats, 3, modifiers, 1);
	struct drm_encoder *e0 = drm_encoder_create(dev, DRM_MODE_ENCODER_TMDS, 3);
	struct drm_encoder *e1 = drm_encoder_create(dev, DRM_MODE_ENCODER_TMDS, 3);
	if (!overlay || !drm_connector_create(dev, DRM_MODE_CONNECTOR_HDMIA, e0, edid, sizeof(edid)) ||
	    !drm_connector_create(dev, DRM_MODE_CONNECTOR_HDMIA, e1, NULL, 0))
		return -ENOMEM;
	vd.dev = dev;
	vd.timer = event_loop_add_timer(dev->loop, monotonic_ns() + FRAME_NS, vblank_tick, NULL);
	return 0;
}

static void v_fini(struct drm_device *dev)
{
	event_timer_cancel(vd.timer);
	vd.timer = NULL;
}

/* The virtual engine cannot scale: sizes in and out must match. */
static int v_check(struct drm_device *dev, struct drm_atomic_state *s)
{
	for (int i = 0; i < 16; i++) {
		struct drm_plane_state *ps = s->planes_new[i];
		if (ps && ps->fb && (ps->src_w >> 16 != ps->crtc_w || ps->src_h >> 16 != ps->crtc_h))
			return -EINVAL;
	}
	return 0;
}

static void v_commit(struct drm_device *dev, struct drm_atomic_state *s)
{
	for (int i = 0; i < 2; i++)
		if (s->crtcs_new[i] && vd.crtcs[i]->state->active)
			vd.programmed[i] = true;
}

static int v_enable_vblank(struct drm_crtc *crtc)
{
	vd.vblank_enabled[crtc->index] = true;
	return 0;
}

static void v_disable_vblank(struct drm_crtc *crtc)
{
	vd.vblank_enabled[crtc->index] = false;
}

/* The primary plane's XRGB8888 pixels, straight from the buffer. */
static int v_capture(struct drm_crtc *crtc, uint32_t *px, uint32_t w, uint32_t h)
{
	struct drm_plane_state *ps = crtc->primary->state;
	if (!ps->fb || ps->fb->format != DRM_FORMAT_XRGB8888)
		return -ENODEV;
	const uint8_t *base = ps->fb->obj[0]->vaddr;
	for (uint32_t y = 0; y < h && y < ps->fb->height; y++)
		memcpy(px + (size_t)y * w, base + ps->fb->offsets[0] + (size_t)(y + (ps->src_y >> 16)) * ps->fb->pitches[0] +
					       (ps->src_x >> 16) * 4, 4u * (w < ps->fb->width ? w : ps->fb->width));
	return 0;
}

static const struct drm_kms_funcs vkms_funcs = {
	.modeset_init = v_init,
	.modeset_fini = v_fini,
	.atomic_check = v_check,
	.atomic_commit = v_commit,
	.enable_vblank = v_enable_vblank,
	.disable_vblank = v_disable_vblank,
	.capture = v_capture,
	.dumb_pitch_align = 256,
	.cursor_width = 64,
	.cursor_height = 64,
};

static void stop_cb(void *data, uint32_t events)
{
	struct kms_server *s = data;
	uint64_t v;
	if (read(s->stop_fd, &v, sizeof(v)) < 0)
		return;
	event_loop_stop(s->loop);
}

static void *serve(void *data)
{
	struct kms_server *s = data;
	event_loop_run(s->loop);
	return NULL;
}

struct drm_device *kms_test_device_create(struct event_loop *loop)
{
	memset(&vd, 0, sizeof(vd));
	struct drm_device *dev = test_device_create(DRIVER_GEM | DRIVER_MODESET | DRIVER_ATOMIC | DRIVER_RENDER);
	dev->loop = loop;
	test_device_set_kms(dev, &vkms_funcs);
	if (drm_mode_config_init(dev)) {
		test_device_destroy(dev);
		return NULL;
	}
	return dev;
}

int kms_server_start(struct kms_server *s)
{
	snprintf(s->dir, sizeof(s->dir), "/tmp/rdrm-kms-XXXXXX");
	if (!mkdtemp(s->dir))
		return -errno;
	s->loop = event_loop_create();
	s->dev = kms_test_device_create(s->loop);
	if (!s->dev)
		return -ENOMEM;
	int r;
	s->transport = transport_create(s->loop, s->dir);
	r = transport_add_device(s->transport, s->dev);
	if (r)
		return r;
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	event_loop_add_fd(s->loop, s->stop_fd, EPOLLIN, stop_cb, s);
	return -pthread_create(&s->thread, NULL, serve, s);
}

void kms_server_stop(struct kms_server *s)
{
	uint64_t one = 1;
	if (write(s->stop_fd, &one, sizeof(one)) < 0)
		return;
	pthread_join(s->thread, NULL);
	transport_destroy(s->transport);
	drm_mode_config_cleanup(s->dev);
	test_device_destroy(s->dev);
	event_loop_destroy(s->loop);
	close(s->stop_fd);
	rmdir(s->dir);
}

int kms_client_open(struct kms_server *s, struct kms_client *c, const char *node)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", s->dir, node);
	c->file = rdrm_connect(path, O_CLOEXEC);
	if (c->file < 0)
		return c->file;
	c->chan = rdrm_channel_open(c->file, &c->hello);
	return c->chan < 0 ? c->chan : 0;
}

void kms_client_close(struct kms_client *c)
{
	close(c->chan);
	close(c->file);
}

int kms_ioctl(struct kms_client *c, unsigned long cmd, void *arg)
{
	return rdrm_call(c->chan, c->hello.driver, cmd, arg);
}
