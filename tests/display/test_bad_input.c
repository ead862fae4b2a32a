/*
 * Bad input to the real daemon, as an unmodified client would send it, on
 * the card given as argv[1]: foreign and stale handles and framebuffers,
 * framebuffers that do not fit their buffer, plane setups the display engine
 * cannot do, flips on top of pending flips, and mode setting from a file that
 * is not master. Afterwards the daemon holds no more descriptors than before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "daemon_proc.h"
#include "display_util.h"
#include "redox-drm/client.h"

static struct daemon_proc drmd;
static int card, fds_before;
static char card_node[24], render_node[24];

/* ---- small wrappers: each returns 0 or -errno ---- */

static int create_dumb(struct disp_conn *c, uint32_t w, uint32_t h, struct drm_mode_create_dumb *d)
{
	memset(d, 0, sizeof(*d));
	d->width = w;
	d->height = h;
	d->bpp = 32;
	return disp_ioctl(c, DRM_IOCTL_MODE_CREATE_DUMB, d);
}

static int destroy_dumb(struct disp_conn *c, uint32_t handle)
{
	struct drm_mode_destroy_dumb d = {.handle = handle};
	return disp_ioctl(c, DRM_IOCTL_MODE_DESTROY_DUMB, &d);
}

static int map_dumb(struct disp_conn *c, uint32_t handle, uint64_t *offset)
{
	struct drm_mode_map_dumb m = {.handle = handle};
	int r = disp_ioctl(c, DRM_IOCTL_MODE_MAP_DUMB, &m);
	if (offset)
		*offset = m.offset;
	return r;
}

static int addfb2(struct disp_conn *c, uint32_t w, uint32_t h, uint32_t format, uint32_t handle, uint32_t pitch,
		  uint32_t offset, uint32_t flags, uint64_t modifier, uint32_t *fb_id)
{
	struct drm_mode_fb_cmd2 f = {.width = w, .height = h, .pixel_format = format, .flags = flags};
	f.handles[0] = handle;
	f.pitches[0] = pitch;
	f.offsets[0] = offset;
	f.modifier[0] = modifier;
	int r = disp_ioctl(c, DRM_IOCTL_MODE_ADDFB2, &f);
	if (fb_id)
		*fb_id = r ? 0 : f.fb_id;
	return r;
}

static int rmfb(struct disp_conn *c, uint32_t fb_id)
{
	unsigned int id = fb_id;
	return disp_ioctl(c, DRM_IOCTL_MODE_RMFB, &id);
}

static int setcrtc(struct disp_conn *c, const struct disp_output *o, uint32_t fb_id)
{
	uint32_t conn = o->conn_id;
	struct drm_mode_crtc s = {.crtc_id = o->crtc_id, .fb_id = fb_id, .set_connectors_ptr = (uintptr_t)&conn,
				  .count_connectors = 1, .mode = o->mode, .mode_valid = 1};
	return disp_ioctl(c, DRM_IOCTL_MODE_SETCRTC, &s);
}

static int flip(struct disp_conn *c, uint32_t crtc_id, uint32_t fb_id, uint64_t user_data)
{
	struct drm_mode_crtc_page_flip f = {.crtc_id = crtc_id, .fb_id = fb_id, .flags = DRM_MODE_PAGE_FLIP_EVENT,
					    .user_data = user_data};
	return disp_ioctl(c, DRM_IOCTL_MODE_PAGE_FLIP, &f);
}

/* Destination in pixels, source in whole pixels (converted to 16.16). */
static int setplane(struct disp_conn *c, uint32_t plane, uint32_t crtc, uint32_t fb, int32_t x, int32_t y, uint32_t w,
		    uint32_t h, uint32_t sw, uint32_t sh)
{
	struct drm_mode_set_plane p = {.plane_id = plane, .crtc_id = crtc, .fb_id = fb, .crtc_x = x, .crtc_y = y,
				       .crtc_w = w, .crtc_h = h, .src_w = sw << 16, .src_h = sh << 16};
	return disp_ioctl(c, DRM_IOCTL_MODE_SETPLANE, &p);
}

static int set_cap(struct disp_conn *c, uint64_t cap, uint64_t value)
{
	struct drm_set_client_cap s = {.capability = cap, .value = value};
	return disp_ioctl(c, DRM_IOCTL_SET_CLIENT_CAP, &s);
}

/* The plane's "type" property (DRM_PLANE_TYPE_*), or -errno. */
static long plane_type(struct disp_conn *c, uint32_t plane)
{
	uint32_t ids[32];
	uint64_t vals[32];
	struct drm_mode_obj_get_properties gp = {.obj_id = plane, .obj_type = DRM_MODE_OBJECT_PLANE};
	int r = disp_ioctl(c, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &gp);
	if (r || gp.count_props > 32)
		return r ? r : -E2BIG;
	gp.props_ptr = (uintptr_t)ids;
	gp.prop_values_ptr = (uintptr_t)vals;
	if ((r = disp_ioctl(c, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &gp)))
		return r;
	for (uint32_t i = 0; i < gp.count_props; i++) {
		struct drm_mode_get_property p = {.prop_id = ids[i]};
		if ((r = disp_ioctl(c, DRM_IOCTL_MODE_GETPROPERTY, &p)))
			return r;
		if (!strcmp(p.name, "type"))
			return (long)vals[i];
	}
	return -ENOENT;
}

/* The plane of a type that can show on the CRTC with index crtc_index; 0 if none. */
static uint32_t find_plane(struct disp_conn *c, uint32_t crtc_index, long type)
{
	uint32_t ids[32];
	struct drm_mode_get_plane_res pr = {0};
	if (disp_ioctl(c, DRM_IOCTL_MODE_GETPLANERESOURCES, &pr) || pr.count_planes > 32)
		return 0;
	pr.plane_id_ptr = (uintptr_t)ids;
	if (disp_ioctl(c, DRM_IOCTL_MODE_GETPLANERESOURCES, &pr))
		return 0;
	for (uint32_t i = 0; i < pr.count_planes; i++) {
		struct drm_mode_get_plane gp = {.plane_id = ids[i]};
		if (disp_ioctl(c, DRM_IOCTL_MODE_GETPLANE, &gp))
			return 0;
		if ((gp.possible_crtcs & (1u << crtc_index)) && plane_type(c, ids[i]) == type)
			return ids[i];
	}
	return 0;
}

/* Waits up to timeout_ms for one event on the file; returns its bytes or -errno (-ETIMEDOUT). */
static int read_event(struct disp_conn *c, void *buf, size_t len, int timeout_ms)
{
	struct pollfd p = {.fd = c->file, .events = POLLIN};
	int r = poll(&p, 1, timeout_ms);
	if (r == 0)
		return -ETIMEDOUT;
	if (r < 0)
		return -errno;
	return (int)rdrm_read_events(c->file, buf, len);
}

static bool event_ready(struct disp_conn *c)
{
	struct pollfd p = {.fd = c->file, .events = POLLIN};
	return poll(&p, 1, 0) == 1;
}

/* Connections a test opened and has not closed (a failed test jumps past its closes). */
static int open_fds[16];
static unsigned nopen;

static void open_card(struct disp_conn *c)
{
	assert_int_equal(disp_open(drmd.dir, card_node, c), 0);
	if (nopen + 2 <= sizeof(open_fds) / sizeof(open_fds[0])) {
		open_fds[nopen++] = c->file;
		open_fds[nopen++] = c->chan;
	}
}

static void close_card(struct disp_conn *c)
{
	for (unsigned i = 0; i < nopen; i++)
		if (open_fds[i] == c->file || open_fds[i] == c->chan)
			open_fds[i] = -1;
	disp_close(c);
}

/* Waits until the daemon has seen every connection close: the next opener becomes master. */
static int settled_fds(void)
{
	int n = daemon_fd_count(&drmd);
	for (int i = 0; i < 300 && n != fds_before; i++) {
		disp_sleep_ms(10);
		n = daemon_fd_count(&drmd);
	}
	return n;
}

static int settle(void **state)
{
	for (unsigned i = 0; i < nopen; i++)
		if (open_fds[i] >= 0)
			close(open_fds[i]);
	nopen = 0;
	const char *gone = disp_proc_gone(drmd.pid);
	if (gone)
		fail_msg("the daemon %s", gone);
	settled_fds();
	return 0;
}

/* ---- the tests ---- */

static void foreign_and_stale_handles(void **state)
{
	struct disp_conn a, b;
	open_card(&a); /* the first opener: master */
	open_card(&b);
	struct drm_mode_create_dumb d;
	assert_int_equal(create_dumb(&a, 64, 64, &d), 0);
	uint32_t fb;
	assert_int_equal(addfb2(&a, 64, 64, DRM_FORMAT_XRGB8888, d.handle, d.pitch, 0, 0, 0, &fb), 0);

	/* Handles belong to their file: b has none, whatever the number. */
	assert_int_equal(addfb2(&b, 64, 64, DRM_FORMAT_XRGB8888, d.handle, d.pitch, 0, 0, 0, NULL), -ENOENT);
	assert_int_equal(map_dumb(&b, d.handle, NULL), -ENOENT);
	/* Framebuffers are removed only by their owner. */
	assert_int_equal(rmfb(&b, fb), -ENOENT);
	uint64_t off, fd_off;
	assert_int_equal(map_dumb(&a, d.handle, &off), 0);
	int memfd = rdrm_mmap_lookup(a.chan, off, d.size, &fd_off);
	assert_true(memfd >= 0);
	close(memfd);

	/* Stale: removed framebuffers and destroyed handles are gone. */
	assert_int_equal(rmfb(&a, fb), 0);
	assert_int_equal(rmfb(&a, fb), -ENOENT);
	assert_int_equal(destroy_dumb(&a, d.handle), 0);
	assert_int_equal(addfb2(&a, 64, 64, DRM_FORMAT_XRGB8888, d.handle, d.pitch, 0, 0, 0, NULL), -ENOENT);
	assert_int_equal(map_dumb(&a, d.handle, NULL), -ENOENT);
	assert_int_equal(destroy_dumb(&a, d.handle), -EINVAL); /* the kernel's drm_gem_handle_delete */
	/* The buffer is freed with its last handle: its old offset maps nothing (mmap's EINVAL). */
	assert_int_equal(rdrm_mmap_lookup(a.chan, off, d.size, &fd_off), -EINVAL);
	close_card(&b);
	close_card(&a);
}

static void foreign_mmap_offset(void **state)
{
	struct disp_conn a, b;
	open_card(&a);
	open_card(&b);
	struct drm_mode_create_dumb d;
	assert_int_equal(create_dumb(&a, 64, 64, &d), 0);
	uint64_t off, fd_off;
	assert_int_equal(map_dumb(&a, d.handle, &off), 0);
	/* The offset is a's: b holds no handle to the buffer, so mmap is refused as the kernel's
	 * drm_gem_mmap does when drm_vma_node_is_allowed fails. */
	int r = rdrm_mmap_lookup(b.chan, off, d.size, &fd_off);
	if (r >= 0)
		close(r);
	assert_int_equal(r, -EACCES);
	close_card(&b);
	close_card(&a);
}

static void addfb2_checks_buffer_and_format(void **state)
{
	struct disp_conn a;
	open_card(&a);
	struct drm_mode_create_dumb d;
	assert_int_equal(create_dumb(&a, 64, 64, &d), 0);
	uint32_t x = DRM_FORMAT_XRGB8888, fb;
	/* Larger than the buffer. */
	assert_int_equal(addfb2(&a, 1920, 1080, x, d.handle, 1920 * 4, 0, 0, 0, NULL), -EINVAL);
	assert_int_equal(addfb2(&a, 64, 65, x, d.handle, d.pitch, 0, 0, 0, NULL), -EINVAL);
	assert_int_equal(addfb2(&a, 64, 64, x, d.handle, d.pitch, d.pitch, 0, 0, NULL), -EINVAL);
	/* Rows shorter than a line of pixels. */
	assert_int_equal(addfb2(&a, 64, 64, x, d.handle, 64 * 4 - 4, 0, 0, 0, NULL), -EINVAL);
	/* No such format; a format no plane of the device scans out; a modifier no plane takes. */
	assert_int_equal(addfb2(&a, 64, 64, fourcc_code('Z', 'Z', 'Z', 'Z'), d.handle, d.pitch, 0, 0, 0, NULL),
			 -EINVAL);
	assert_int_equal(addfb2(&a, 64, 64, DRM_FORMAT_NV12, d.handle, d.pitch, 0, 0, 0, NULL), -EINVAL);
	assert_int_equal(addfb2(&a, 64, 64, x, d.handle, d.pitch, 0, DRM_MODE_FB_MODIFIERS,
				I915_FORMAT_MOD_X_TILED, NULL),
			 -EINVAL);
	/* A modifier without the flag that says it is there. */
	assert_int_equal(addfb2(&a, 64, 64, x, d.handle, d.pitch, 0, 0, DRM_FORMAT_MOD_LINEAR + 1, NULL), -EINVAL);
	/* The same buffer, described right, is fine. */
	assert_int_equal(addfb2(&a, 64, 64, x, d.handle, d.pitch, 0, DRM_MODE_FB_MODIFIERS, DRM_FORMAT_MOD_LINEAR, &fb),
			 0);
	assert_int_equal(rmfb(&a, fb), 0);
	assert_int_equal(destroy_dumb(&a, d.handle), 0);
	close_card(&a);
}

struct scanout {
	struct drm_mode_create_dumb dumb;
	uint32_t fb;
};

static void make_fb(struct disp_conn *c, uint32_t w, uint32_t h, uint32_t format, struct scanout *s)
{
	assert_int_equal(create_dumb(c, w, h, &s->dumb), 0);
	assert_int_equal(addfb2(c, w, h, format, s->dumb.handle, s->dumb.pitch, 0, 0, 0, &s->fb), 0);
}

/* Flips until one is refused as pending; the first flip is issued right after a flip event. */
static void flip_on_pending_flip(struct disp_conn *a, uint32_t crtc, const struct scanout *fbs)
{
	uint8_t ev[256];
	assert_int_equal(flip(a, crtc, fbs[1].fb, 1), 0);
	assert_true(read_event(a, ev, sizeof(ev), 1000) > 0);
	for (int attempt = 0;; attempt++) {
		/* Just after a flip completed: a whole frame before the next can. */
		assert_int_equal(flip(a, crtc, fbs[attempt & 1].fb, 100 + attempt), 0);
		int r = flip(a, crtc, fbs[(attempt + 1) & 1].fb, 200 + attempt);
		if (r == -EBUSY) {
			/* The pending flip completes and reports itself once. */
			int n = read_event(a, ev, sizeof(ev), 1000);
			assert_int_equal(n, sizeof(struct drm_event_vblank));
			struct drm_event_vblank *vb = (struct drm_event_vblank *)ev;
			assert_int_equal(vb->base.type, DRM_EVENT_FLIP_COMPLETE);
			assert_int_equal(vb->user_data, 100 + attempt);
			assert_int_equal(vb->crtc_id, crtc);
			assert_int_equal(read_event(a, ev, sizeof(ev), 100), -ETIMEDOUT);
			return;
		}
		/* Accepted only if the first flip had already completed: its event is there. */
		assert_int_equal(r, 0);
		assert_true(event_ready(a));
		assert_true(attempt < 10);
		while (read_event(a, ev, sizeof(ev), 1000) > 0 && ((struct drm_event_vblank *)ev)->user_data != 200u + attempt)
			;
	}
}

static void modeset_errors(void **state)
{
	struct disp_conn a, b;
	open_card(&a);
	open_card(&b);
	struct disp_output o;
	assert_int_equal(disp_find_output(&a, &o), 0);
	assert_int_equal(set_cap(&a, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1), 0);
	struct scanout fbs[2], stale;
	make_fb(&a, o.mode.hdisplay, o.mode.vdisplay, DRM_FORMAT_XRGB8888, &fbs[0]);
	make_fb(&a, o.mode.hdisplay, o.mode.vdisplay, DRM_FORMAT_XRGB8888, &fbs[1]);
	make_fb(&a, o.mode.hdisplay, o.mode.vdisplay, DRM_FORMAT_XRGB8888, &stale);
	assert_int_equal(rmfb(&a, stale.fb), 0);

	assert_int_equal(setcrtc(&a, &o, stale.fb), -ENOENT);
	assert_int_equal(setcrtc(&a, &o, fbs[0].fb), 0);
	assert_int_equal(flip(&a, o.crtc_id, stale.fb, 1), -ENOENT);

	/* Not master: no mode setting, flipping, plane setting or atomic commits. */
	assert_int_equal(setcrtc(&b, &o, fbs[0].fb), -EACCES);
	assert_int_equal(flip(&b, o.crtc_id, fbs[1].fb, 1), -EACCES);
	uint32_t primary = find_plane(&a, o.crtc_index, 1), cursor = find_plane(&a, o.crtc_index, 2),
		 overlay = find_plane(&a, o.crtc_index, 0);
	assert_true(primary && cursor);
	assert_int_equal(setplane(&b, primary, o.crtc_id, fbs[1].fb, 0, 0, o.mode.hdisplay, o.mode.vdisplay,
				  o.mode.hdisplay, o.mode.vdisplay),
			 -EACCES);
	assert_int_equal(set_cap(&b, DRM_CLIENT_CAP_ATOMIC, 1), 0);
	{
		uint32_t ids[32];
		uint64_t vals[32];
		struct drm_mode_obj_get_properties gp = {.obj_id = primary, .obj_type = DRM_MODE_OBJECT_PLANE,
							 .props_ptr = (uintptr_t)ids, .prop_values_ptr = (uintptr_t)vals,
							 .count_props = 32};
		assert_int_equal(disp_ioctl(&b, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &gp), 0);
		uint32_t fb_prop = 0;
		for (uint32_t i = 0; i < gp.count_props && !fb_prop; i++) {
			struct drm_mode_get_property p = {.prop_id = ids[i]};
			assert_int_equal(disp_ioctl(&b, DRM_IOCTL_MODE_GETPROPERTY, &p), 0);
			if (!strcmp(p.name, "FB_ID"))
				fb_prop = ids[i];
		}
		assert_true(fb_prop != 0);
		uint32_t objs[1] = {primary}, counts[1] = {1}, props[1] = {fb_prop};
		uint64_t values[1] = {fbs[1].fb};
		struct drm_mode_atomic at = {.count_objs = 1, .objs_ptr = (uintptr_t)objs,
					     .count_props_ptr = (uintptr_t)counts, .props_ptr = (uintptr_t)props,
					     .prop_values_ptr = (uintptr_t)values};
		assert_int_equal(disp_ioctl(&b, DRM_IOCTL_MODE_ATOMIC, &at), -EACCES);
		/* The master may (and test-only changes nothing). */
		assert_int_equal(set_cap(&a, DRM_CLIENT_CAP_ATOMIC, 1), 0);
		at.flags = DRM_MODE_ATOMIC_TEST_ONLY;
		assert_int_equal(disp_ioctl(&a, DRM_IOCTL_MODE_ATOMIC, &at), 0);
	}

	flip_on_pending_flip(&a, o.crtc_id, fbs);

	/* Planes beyond what the display engine does: the driver's atomic_check answers. */
	struct scanout c64, big;
	make_fb(&a, 64, 64, DRM_FORMAT_ARGB8888, &c64);
	assert_int_equal(setplane(&a, cursor, o.crtc_id, c64.fb, 10, 10, 64, 64, 64, 64), 0);
	/* The primary plane covers the CRTC 1:1: no scaling. */
	assert_int_equal(setplane(&a, primary, o.crtc_id, fbs[0].fb, 0, 0, o.mode.hdisplay / 2, o.mode.vdisplay / 2,
				  o.mode.hdisplay, o.mode.vdisplay),
			 !strcmp(a.hello.driver, "i915") ? -ERANGE : -EINVAL);
	if (!strcmp(a.hello.driver, "amdgpu")) {
		/* DCE cursors: no scaling (EINVAL), at most 128x128 (ERANGE). */
		assert_int_equal(setplane(&a, cursor, o.crtc_id, c64.fb, 10, 10, 128, 128, 64, 64), -EINVAL);
		make_fb(&a, 256, 256, DRM_FORMAT_ARGB8888, &big);
		assert_int_equal(setplane(&a, cursor, o.crtc_id, big.fb, 10, 10, 256, 256, 256, 256), -ERANGE);
	} else {
		/* Skylake: no scaler in use (ERANGE), universal planes only fully on screen (EINVAL). */
		assert_true(overlay != 0);
		assert_int_equal(setplane(&a, cursor, o.crtc_id, c64.fb, 10, 10, 128, 128, 64, 64), -ERANGE);
		make_fb(&a, 256, 256, DRM_FORMAT_XRGB8888, &big);
		assert_int_equal(setplane(&a, overlay, o.crtc_id, big.fb, 100, 100, 256, 256, 256, 256), 0);
		assert_int_equal(setplane(&a, overlay, o.crtc_id, big.fb, 100, 100, 512, 512, 256, 256), -ERANGE);
		assert_int_equal(setplane(&a, overlay, o.crtc_id, big.fb, (int32_t)o.mode.hdisplay - 128, 100, 256, 256,
					  256, 256),
				 -EINVAL);
	}
	/* Refused requests left the screen as it was: still on, showing one of the flipped buffers. */
	struct drm_mode_crtc gc = {.crtc_id = o.crtc_id};
	assert_int_equal(disp_ioctl(&a, DRM_IOCTL_MODE_GETCRTC, &gc), 0);
	assert_true(gc.mode_valid);
	assert_true(gc.fb_id == fbs[0].fb || gc.fb_id == fbs[1].fb);
	close_card(&b);
	close_card(&a);
}

static void nothing_leaks(void **state)
{
	/* The master's framebuffers left with it, and the CRTC went off with them. */
	int r = disp_wait_inactive(drmd.dir, card, 0, 5000);
	assert_int_equal(r, 0);
	assert_int_equal(settled_fds(), fds_before);
	/* And it still serves. */
	struct disp_conn c;
	assert_int_equal(disp_open(drmd.dir, render_node, &c), 0);
	struct drm_get_cap cap = {.capability = DRM_CAP_DUMB_BUFFER};
	assert_int_equal(disp_ioctl(&c, DRM_IOCTL_GET_CAP, &cap), 0);
	assert_int_equal(cap.value, 1);
	disp_close(&c);
}

static int start(void **state)
{
	int r = daemon_start(&drmd, NULL);
	if (r)
		fail_msg("daemon did not start: %s", strerror(-r));
	fds_before = daemon_fd_count(&drmd);
	return 0;
}

static int stop(void **state)
{
	assert_int_equal(daemon_stop(&drmd), 0); /* clean exit on SIGTERM */
	return 0;
}

int main(int argc, char **argv)
{
	card = argc > 1 ? atoi(argv[1]) : 0;
	snprintf(card_node, sizeof(card_node), "card%d", card);
	snprintf(render_node, sizeof(render_node), "renderD%d", 128 + card);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(foreign_and_stale_handles, settle),
		cmocka_unit_test_teardown(foreign_mmap_offset, settle),
		cmocka_unit_test_teardown(addfb2_checks_buffer_and_format, settle),
		cmocka_unit_test_teardown(modeset_errors, settle),
		cmocka_unit_test(nothing_leaks),
	};
	char name[32];
	snprintf(name, sizeof(name), "bad-input-card%d", card);
	return cmocka_run_group_tests_name(name, tests, start, stop);
}
