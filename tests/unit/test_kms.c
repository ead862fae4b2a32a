/* The KMS core through the wire, on a virtual display whose vblank is a 60 Hz timer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm.h>
#include <drm_fourcc.h>
#include <drm_mode.h>

#include "kms_harness.h"
#include "redox-drm/client.h"
#include "redox-drm/loop.h"

static struct kms_server srv;

static int start(void **state)
{
	assert_int_equal(kms_server_start(&srv), 0);
	return 0;
}

static int stop(void **state)
{
	kms_server_stop(&srv);
	return 0;
}

struct res {
	uint32_t crtcs[4], encoders[4], connectors[4];
	struct drm_mode_card_res r;
};

static void get_res(struct kms_client *c, struct res *res)
{
	memset(res, 0, sizeof(*res));
	res->r.crtc_id_ptr = (uintptr_t)res->crtcs;
	res->r.encoder_id_ptr = (uintptr_t)res->encoders;
	res->r.connector_id_ptr = (uintptr_t)res->connectors;
	res->r.count_crtcs = res->r.count_encoders = res->r.count_connectors = 4;
	assert_int_equal(kms_ioctl(c, DRM_IOCTL_MODE_GETRESOURCES, &res->r), 0);
}

static uint32_t find_prop(struct kms_client *c, uint32_t obj, uint32_t type, const char *name)
{
	uint32_t ids[32];
	uint64_t vals[32];
	struct drm_mode_obj_get_properties op = {.props_ptr = (uintptr_t)ids, .prop_values_ptr = (uintptr_t)vals,
						 .count_props = 32, .obj_id = obj, .obj_type = type};
	assert_int_equal(kms_ioctl(c, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op), 0);
	for (uint32_t i = 0; i < op.count_props && i < 32; i++) {
		struct drm_mode_get_property gp = {.prop_id = ids[i]};
		assert_int_equal(kms_ioctl(c, DRM_IOCTL_MODE_GETPROPERTY, &gp), 0);
		if (!strcmp(gp.name, name))
			return ids[i];
	}
	return 0;
}

static void resources_and_connectors(void **state)
{
	struct kms_client c;
	assert_int_equal(kms_client_open(&srv, &c, "card0"), 0);
	struct res res;
	get_res(&c, &res);
	assert_int_equal(res.r.count_crtcs, 2);
	assert_int_equal(res.r.count_encoders, 2);
	assert_int_equal(res.r.count_connectors, 2);
	assert_true(res.r.max_width >= 1920);
	/* A short array gets what fits and the full count. */
	uint32_t one = 0;
	struct drm_mode_card_res small = {.crtc_id_ptr = (uintptr_t)&one, .count_crtcs = 1};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETRESOURCES, &small), 0);
	assert_int_equal(small.count_crtcs, 2);
	assert_int_equal(one, res.crtcs[0]);

	struct drm_mode_modeinfo modes[16];
	uint32_t encs[4];
	struct drm_mode_get_connector gc = {.connector_id = res.connectors[0], .modes_ptr = (uintptr_t)modes,
					    .count_modes = 16, .encoders_ptr = (uintptr_t)encs, .count_encoders = 4};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETCONNECTOR, &gc), 0);
	assert_int_equal(gc.connection, 1); /* connected */
	assert_int_equal(gc.connector_type, DRM_MODE_CONNECTOR_HDMIA);
	assert_int_equal(gc.count_encoders, 1);
	assert_int_equal(encs[0], res.encoders[0]);
	assert_true(gc.count_modes >= 4);
	/* The EDID's detailed timing is the preferred mode, and comes first. */
	assert_int_equal(modes[0].hdisplay, 1920);
	assert_int_equal(modes[0].vdisplay, 1080);
	assert_int_equal(modes[0].vrefresh, 60);
	assert_true(modes[0].type & DRM_MODE_TYPE_PREFERRED);
	assert_string_equal(modes[0].name, "1920x1080");
	bool has_1024 = false;
	for (uint32_t i = 1; i < gc.count_modes; i++)
		has_1024 |= modes[i].hdisplay == 1024 && modes[i].vdisplay == 768;
	assert_true(has_1024);
	assert_true(gc.mm_width > 400 && gc.mm_height > 200);

	/* Its EDID blob reads back whole, only into a buffer of exactly its length. */
	uint32_t edid_prop = find_prop(&c, res.connectors[0], DRM_MODE_OBJECT_CONNECTOR, "EDID");
	assert_true(edid_prop != 0);
	uint32_t ids[16];
	uint64_t vals[16];
	struct drm_mode_obj_get_properties op = {.props_ptr = (uintptr_t)ids, .prop_values_ptr = (uintptr_t)vals,
						 .count_props = 16, .obj_id = res.connectors[0],
						 .obj_type = DRM_MODE_OBJECT_CONNECTOR};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_OBJ_GETPROPERTIES, &op), 0);
	uint64_t blob = 0;
	for (uint32_t i = 0; i < op.count_props; i++)
		if (ids[i] == edid_prop)
			blob = vals[i];
	uint8_t edid[256] = {0};
	struct drm_mode_get_blob gb = {.blob_id = (uint32_t)blob, .length = 10, .data = (uintptr_t)edid};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETPROPBLOB, &gb), 0);
	assert_int_equal(gb.length, 128);
	assert_int_equal(edid[0], 0); /* not copied: wrong length */
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETPROPBLOB, &gb), 0);
	assert_int_equal(edid[1], 0xff);
	/* Atomic properties are hidden from clients without the cap. */
	assert_int_equal(find_prop(&c, res.connectors[0], DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID"), 0);

	gc = (struct drm_mode_get_connector){.connector_id = res.connectors[1]};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETCONNECTOR, &gc), 0);
	assert_int_equal(gc.connection, 2); /* disconnected */
	assert_int_equal(gc.count_modes, 0);
	gc.connector_id = res.crtcs[0]; /* the wrong kind of object */
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETCONNECTOR, &gc), -ENOENT);
	kms_client_close(&c);
}

static void planes_and_formats(void **state)
{
	struct kms_client c;
	assert_int_equal(kms_client_open(&srv, &c, "card0"), 0);
	uint32_t planes[16];
	struct drm_mode_get_plane_res pr = {.plane_id_ptr = (uintptr_t)planes, .count_planes = 16};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETPLANERESOURCES, &pr), 0);
	assert_int_equal(pr.count_planes, 1); /* overlays only without UNIVERSAL_PLANES */
	struct drm_set_client_cap cap = {.capability = DRM_CLIENT_CAP_UNIVERSAL_PLANES, .value = 1};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_SET_CLIENT_CAP, &cap), 0);
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETPLANERESOURCES, &pr), 0);
	assert_int_equal(pr.count_planes, 5);
	uint32_t fmts[8];
	struct drm_mode_get_plane gp = {.plane_id = planes[0], .format_type_ptr = (uintptr_t)fmts, .count_format_types = 8};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETPLANE, &gp), 0);
	assert_int_equal(gp.count_format_types, 3);
	assert_int_equal(fmts[0], DRM_FORMAT_XRGB8888);
	/* IN_FORMATS: version 1 blob listing the formats with the linear modifier. */
	uint32_t prop = find_prop(&c, planes[0], DRM_MODE_OBJECT_PLANE, "IN_FORMATS");
	assert_true(prop != 0);
	uint32_t type_prop = find_prop(&c, planes[0], DRM_MODE_OBJECT_PLANE, "type");
	assert_true(type_prop != 0);
	kms_client_close(&c);
}

static uint32_t make_dumb(struct kms_client *c, uint32_t w, uint32_t h, uint32_t *pitch, uint32_t **map,
			  uint64_t *size)
{
	struct drm_mode_create_dumb cd = {.width = w, .height = h, .bpp = 32};
	assert_int_equal(kms_ioctl(c, DRM_IOCTL_MODE_CREATE_DUMB, &cd), 0);
	assert_int_equal(cd.pitch % 256, 0);
	struct drm_mode_map_dumb md = {.handle = cd.handle};
	assert_int_equal(kms_ioctl(c, DRM_IOCTL_MODE_MAP_DUMB, &md), 0);
	uint64_t fd_off;
	int mfd = rdrm_mmap_lookup(c->chan, md.offset, cd.size, &fd_off);
	assert_true(mfd >= 0);
	*map = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, (off_t)fd_off);
	assert_true(*map != MAP_FAILED);
	close(mfd);
	*pitch = cd.pitch;
	*size = cd.size;
	return cd.handle;
}

static void dumb_buffers_and_framebuffers(void **state)
{
	struct kms_client c, r;
	assert_int_equal(kms_client_open(&srv, &c, "card0"), 0);
	assert_int_equal(kms_client_open(&srv, &r, "renderD128"), 0);
	struct drm_mode_create_dumb cd = {.width = 0, .height = 10, .bpp = 32};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_CREATE_DUMB, &cd), -EINVAL);
	cd = (struct drm_mode_create_dumb){.width = 0x10000, .height = 0x10000, .bpp = 0xffffffff};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_CREATE_DUMB, &cd), -EINVAL);
	cd = (struct drm_mode_create_dumb){.width = 0x40000000, .height = 0x40000, .bpp = 32};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_CREATE_DUMB, &cd), -EINVAL);
	cd = (struct drm_mode_create_dumb){.width = 64, .height = 64, .bpp = 32};
	assert_int_equal(kms_ioctl(&r, DRM_IOCTL_MODE_CREATE_DUMB, &cd), -EACCES); /* not on render nodes */

	uint32_t pitch, *map;
	uint64_t size;
	uint32_t h = make_dumb(&c, 100, 50, &pitch, &map, &size);
	assert_int_equal(pitch, 512);
	map[0] = 0x11223344;
	/* Another file cannot map a buffer it has no handle to. */
	struct drm_mode_map_dumb md = {.handle = h};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_MAP_DUMB, &md), 0);
	uint64_t off;
	assert_true(rdrm_mmap_lookup(r.chan, md.offset, 4096, &off) < 0);
	assert_true(rdrm_mmap_lookup(c.chan, md.offset + size, 4096, &off) < 0);

	struct drm_mode_fb_cmd2 f = {.width = 100, .height = 50, .pixel_format = DRM_FORMAT_XRGB8888,
				     .handles = {h}, .pitches = {pitch}};
	struct drm_mode_fb_cmd2 bad = f;
	bad.pixel_format = DRM_FORMAT_NV12;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ADDFB2, &bad), -EINVAL);
	bad = f;
	bad.handles[0] = 999;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ADDFB2, &bad), -ENOENT);
	bad = f;
	bad.height = 60; /* more rows than the (page-rounded) buffer holds */
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ADDFB2, &bad), -EINVAL);
	bad = f;
	bad.pitches[0] = 399;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ADDFB2, &bad), -EINVAL);
	bad = f;
	bad.flags = 0x80;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ADDFB2, &bad), -EINVAL);
	bad = f;
	bad.pitches[0] = 0x40000000; /* height × pitch past 4 GiB */
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ADDFB2, &bad), -ERANGE);
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ADDFB2, &f), 0);
	assert_true(f.fb_id != 0);

	struct drm_mode_fb_cmd legacy = {.width = 100, .height = 50, .bpp = 32, .depth = 24, .pitch = pitch, .handle = h};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ADDFB, &legacy), 0);
	struct drm_mode_fb_cmd got = {.fb_id = legacy.fb_id};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETFB, &got), 0);
	assert_int_equal(got.depth, 24);
	assert_int_equal(got.bpp, 32);
	assert_true(got.handle != 0); /* the master gets a handle */
	/* RMFB is for the owner only. */
	assert_int_equal(kms_ioctl(&r, DRM_IOCTL_MODE_RMFB, &f.fb_id), -EACCES);
	struct kms_client other;
	assert_int_equal(kms_client_open(&srv, &other, "card0"), 0);
	assert_int_equal(kms_ioctl(&other, DRM_IOCTL_MODE_RMFB, &f.fb_id), -ENOENT);
	kms_client_close(&other);
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_RMFB, &f.fb_id), 0);
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_RMFB, &f.fb_id), -ENOENT);
	struct drm_mode_destroy_dumb dd = {.handle = h};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_DESTROY_DUMB, &dd), 0);
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_DESTROY_DUMB, &dd), -EINVAL);
	/* The mapping stays valid after the buffer is gone (it holds the memory). */
	assert_int_equal(map[0], 0x11223344);
	munmap(map, size);
	kms_client_close(&r);
	kms_client_close(&c);
}

static void modeset_flip_and_vblank(void **state)
{
	struct kms_client c, other;
	assert_int_equal(kms_client_open(&srv, &c, "card0"), 0);
	assert_int_equal(kms_client_open(&srv, &other, "card0"), 0);
	struct res res;
	get_res(&c, &res);
	struct drm_mode_modeinfo modes[16];
	struct drm_mode_get_connector gc = {.connector_id = res.connectors[0], .modes_ptr = (uintptr_t)modes, .count_modes = 16};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETCONNECTOR, &gc), 0);
	const struct drm_mode_modeinfo *mode = &modes[0];

	uint32_t pitch[2], *map[2], fb[2];
	uint64_t size[2];
	for (int i = 0; i < 2; i++) {
		uint32_t h = make_dumb(&c, 1920, 1080, &pitch[i], &map[i], &size[i]);
		for (uint32_t y = 0; y < 1080; y++)
			for (uint32_t x = 0; x < 1920; x++)
				map[i][y * (pitch[i] / 4) + x] = i ? 0x00ff0000u : (x * 255 / 1920) << 8 | y % 256;
		struct drm_mode_fb_cmd2 f = {.width = 1920, .height = 1080, .pixel_format = DRM_FORMAT_XRGB8888,
					     .handles = {h}, .pitches = {pitch[i]}};
		assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ADDFB2, &f), 0);
		fb[i] = f.fb_id;
	}
	/* Vblank waits on a CRTC that is off fail, as drm_vblank_get does. */
	union drm_wait_vblank vbl = {.request = {.type = _DRM_VBLANK_RELATIVE, .sequence = 1}};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_WAIT_VBLANK, &vbl), -EINVAL);

	struct drm_mode_crtc sc = {.crtc_id = res.crtcs[0], .fb_id = fb[0], .set_connectors_ptr = (uintptr_t)&res.connectors[0],
				   .count_connectors = 1, .mode = *mode, .mode_valid = 1};
	assert_int_equal(kms_ioctl(&other, DRM_IOCTL_MODE_SETCRTC, &sc), -EACCES); /* not the master */
	struct drm_mode_crtc bad = sc;
	bad.x = 1; /* the mode does not fit at x = 1 */
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_SETCRTC, &bad), -ENOSPC);
	bad = sc;
	bad.count_connectors = 0;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_SETCRTC, &bad), -EINVAL);
	uint32_t bogus = 4242;
	bad = sc;
	bad.set_connectors_ptr = (uintptr_t)&bogus;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_SETCRTC, &bad), -ENOENT);
	bad = sc;
	bad.mode.hsync_start = 10; /* before hdisplay */
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_SETCRTC, &bad), -EINVAL);
	/* A blocking modeset returns once the hardware latched it. */
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_SETCRTC, &sc), 0);
	struct drm_mode_crtc gcrtc = {.crtc_id = res.crtcs[0]};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETCRTC, &gcrtc), 0);
	assert_int_equal(gcrtc.fb_id, fb[0]);
	assert_int_equal(gcrtc.mode_valid, 1);
	assert_int_equal(gcrtc.mode.hdisplay, 1920);

	uint32_t *px, w, hgt, crtc;
	assert_int_equal(rdrm_capture(c.chan, 0, &px, &w, &hgt, &crtc), 0);
	assert_int_equal(w, 1920);
	assert_int_equal(crtc, res.crtcs[0]);
	assert_int_equal(px[500 * 1920 + 960], map[0][500 * (pitch[0] / 4) + 960]);
	free(px);

	/* Blocking vblank wait: parked in the daemon, answered one frame later. */
	vbl = (union drm_wait_vblank){.request = {.type = _DRM_VBLANK_RELATIVE, .sequence = 0}};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_WAIT_VBLANK, &vbl), 0);
	uint32_t seq0 = vbl.reply.sequence;
	vbl = (union drm_wait_vblank){.request = {.type = _DRM_VBLANK_RELATIVE, .sequence = 2}};
	uint64_t t0 = monotonic_ns();
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_WAIT_VBLANK, &vbl), 0);
	uint64_t waited = monotonic_ns() - t0;
	assert_true(vbl.reply.sequence >= seq0 + 2);
	assert_true(waited > 10000000 && waited < 1000000000);

	/* A flip with an event: EBUSY while it is pending, the event after the vblank. */
	struct drm_mode_crtc_page_flip flip = {.crtc_id = res.crtcs[0], .fb_id = fb[1],
					       .flags = DRM_MODE_PAGE_FLIP_EVENT, .user_data = 0xabcdef};
	assert_int_equal(kms_ioctl(&other, DRM_IOCTL_MODE_PAGE_FLIP, &flip), -EACCES);
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_PAGE_FLIP, &flip), 0);
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_PAGE_FLIP, &flip), -EBUSY);
	struct pollfd pfd = {.fd = c.file, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	/* A buffer too small for one event gets nothing, and the event stays. */
	char buf[256];
	assert_int_equal(rdrm_read_events(c.file, buf, 8), 0);
	ssize_t n = rdrm_read_events(c.file, buf, sizeof(buf));
	assert_int_equal(n, sizeof(struct drm_event_vblank));
	struct drm_event_vblank ev;
	memcpy(&ev, buf, sizeof(ev));
	assert_int_equal(ev.base.type, DRM_EVENT_FLIP_COMPLETE);
	assert_int_equal(ev.user_data, 0xabcdef);
	assert_int_equal(ev.crtc_id, res.crtcs[0]);
	assert_true(ev.sequence > seq0);
	assert_int_equal(rdrm_capture(c.chan, res.crtcs[0], &px, &w, &hgt, &crtc), 0);
	assert_int_equal(px[0], 0x00ff0000u);
	free(px);

	/* Flip events arrive at the refresh rate: time the next few. */
	uint64_t first = 0, last = 0;
	for (int i = 0; i < 6; i++) {
		flip.fb_id = fb[i & 1];
		assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_PAGE_FLIP, &flip), 0);
		assert_int_equal(poll(&pfd, 1, 1000), 1);
		assert_int_equal(rdrm_read_events(c.file, &ev, sizeof(ev)), sizeof(ev));
		uint64_t t = (uint64_t)ev.tv_sec * 1000000000ull + ev.tv_usec * 1000ull;
		if (i == 0)
			first = t;
		last = t;
	}
	double frame = (double)(last - first) / 5;
	assert_true(frame > 16.0e6 && frame < 35.0e6); /* 60 Hz, a frame skipped at most */

	/* Vblank events by absolute sequence, and the CRTC sequence ioctls. */
	struct drm_crtc_get_sequence gs = {.crtc_id = res.crtcs[0]};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_CRTC_GET_SEQUENCE, &gs), 0);
	assert_int_equal(gs.active, 1);
	struct drm_crtc_queue_sequence qs = {.crtc_id = res.crtcs[0], .flags = DRM_CRTC_SEQUENCE_RELATIVE,
					     .sequence = 1, .user_data = 77};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_CRTC_QUEUE_SEQUENCE, &qs), 0);
	assert_int_equal(qs.sequence, gs.sequence + 1);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	struct drm_event_crtc_sequence es;
	assert_int_equal(rdrm_read_events(c.file, &es, sizeof(es)), sizeof(es));
	assert_int_equal(es.base.type, DRM_EVENT_CRTC_SEQUENCE);
	assert_int_equal(es.user_data, 77);
	qs.flags = 0x100;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_CRTC_QUEUE_SEQUENCE, &qs), -EINVAL);

	/* Removing the framebuffer being shown turns the CRTC off. */
	uint32_t shown = fb[(5) & 1];
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_RMFB, &shown), 0);
	usleep(50000);
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETCRTC, &gcrtc), 0);
	assert_int_equal(gcrtc.fb_id, 0);
	assert_int_equal(gcrtc.mode_valid, 0);
	kms_client_close(&other);
	kms_client_close(&c);
	munmap(map[0], size[0]);
	munmap(map[1], size[1]);
}

static void atomic_uapi(void **state)
{
	struct kms_client c;
	assert_int_equal(kms_client_open(&srv, &c, "card0"), 0);
	struct res res;
	get_res(&c, &res);
	struct drm_mode_atomic a = {0};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ATOMIC, &a), -EINVAL); /* no ATOMIC cap */
	struct drm_set_client_cap cap = {.capability = DRM_CLIENT_CAP_ATOMIC, .value = 1};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_SET_CLIENT_CAP, &cap), 0);
	uint32_t planes[16];
	struct drm_mode_get_plane_res pr = {.plane_id_ptr = (uintptr_t)planes, .count_planes = 16};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETPLANERESOURCES, &pr), 0);
	uint32_t primary = planes[0];
	uint32_t p_fb = find_prop(&c, primary, DRM_MODE_OBJECT_PLANE, "FB_ID");
	uint32_t p_crtc = find_prop(&c, primary, DRM_MODE_OBJECT_PLANE, "CRTC_ID");
	uint32_t p_sw = find_prop(&c, primary, DRM_MODE_OBJECT_PLANE, "SRC_W");
	uint32_t p_sh = find_prop(&c, primary, DRM_MODE_OBJECT_PLANE, "SRC_H");
	uint32_t p_cw = find_prop(&c, primary, DRM_MODE_OBJECT_PLANE, "CRTC_W");
	uint32_t p_ch = find_prop(&c, primary, DRM_MODE_OBJECT_PLANE, "CRTC_H");
	uint32_t c_active = find_prop(&c, res.crtcs[0], DRM_MODE_OBJECT_CRTC, "ACTIVE");
	uint32_t c_mode = find_prop(&c, res.crtcs[0], DRM_MODE_OBJECT_CRTC, "MODE_ID");
	uint32_t k_crtc = find_prop(&c, res.connectors[0], DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID");
	assert_true(p_fb && p_crtc && p_sw && c_active && c_mode && k_crtc);

	struct drm_mode_modeinfo modes[16];
	struct drm_mode_get_connector gc = {.connector_id = res.connectors[0], .modes_ptr = (uintptr_t)modes, .count_modes = 16};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETCONNECTOR, &gc), 0);
	struct drm_mode_modeinfo *m = NULL;
	for (uint32_t i = 0; i < gc.count_modes; i++)
		if (modes[i].hdisplay == 1024)
			m = &modes[i];
	assert_non_null(m);
	struct drm_mode_create_blob cb = {.data = (uintptr_t)m, .length = sizeof(*m)};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_CREATEPROPBLOB, &cb), 0);
	uint32_t pitch, *map;
	uint64_t size;
	uint32_t h = make_dumb(&c, 1024, 768, &pitch, &map, &size);
	struct drm_mode_fb_cmd2 f = {.width = 1024, .height = 768, .pixel_format = DRM_FORMAT_XRGB8888,
				     .handles = {h}, .pitches = {pitch}};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ADDFB2, &f), 0);

	uint32_t objs[3] = {res.crtcs[0], primary, res.connectors[0]};
	uint32_t counts[3] = {2, 6, 1};
	uint32_t props[9] = {c_active, c_mode, p_fb, p_crtc, p_sw, p_sh, p_cw, p_ch, k_crtc};
	uint64_t values[9] = {1, cb.blob_id, f.fb_id, res.crtcs[0], 1024ull << 16, 768ull << 16, 1024, 768, res.crtcs[0]};
	a = (struct drm_mode_atomic){.count_objs = 3, .objs_ptr = (uintptr_t)objs, .count_props_ptr = (uintptr_t)counts,
				     .props_ptr = (uintptr_t)props, .prop_values_ptr = (uintptr_t)values};
	/* A modeset needs ALLOW_MODESET. */
	a.flags = DRM_MODE_ATOMIC_TEST_ONLY;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ATOMIC, &a), -EINVAL);
	a.flags = DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_PAGE_FLIP_EVENT;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ATOMIC, &a), -EINVAL);
	a.flags = DRM_MODE_ATOMIC_TEST_ONLY | DRM_MODE_ATOMIC_ALLOW_MODESET;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ATOMIC, &a), 0);
	/* The virtual engine cannot scale: a smaller source is refused by the driver's check. */
	values[4] = 512ull << 16;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ATOMIC, &a), -EINVAL);
	values[4] = 1024ull << 16;
	/* A source outside the framebuffer. */
	values[5] = 769ull << 16;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ATOMIC, &a), -ENOSPC);
	values[5] = 768ull << 16;
	/* Unknown CRTC id; unknown property; unknown object. */
	values[3] = 9999;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ATOMIC, &a), -EACCES);
	values[3] = res.crtcs[0];
	props[2] = 9999;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ATOMIC, &a), -ENOENT);
	props[2] = p_fb;
	objs[1] = 9999;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ATOMIC, &a), -ENOENT);
	objs[1] = primary;
	/* For real, nonblocking, with an event. */
	a.flags = DRM_MODE_ATOMIC_ALLOW_MODESET | DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT;
	a.user_data = 99;
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_ATOMIC, &a), 0);
	struct pollfd pfd = {.fd = c.file, .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	struct drm_event_vblank ev;
	assert_int_equal(rdrm_read_events(c.file, &ev, sizeof(ev)), sizeof(ev));
	assert_int_equal(ev.user_data, 99);
	assert_int_equal(find_prop(&c, res.crtcs[0], DRM_MODE_OBJECT_CRTC, "ACTIVE"), c_active);
	/* The blob stays in use by the CRTC after its creator destroys it. */
	struct drm_mode_destroy_blob db = {.blob_id = cb.blob_id};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_DESTROYPROPBLOB, &db), 0);
	/* Still alive (the CRTC holds it) but no longer the client's: EPERM, as in the kernel. */
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_DESTROYPROPBLOB, &db), -EPERM);
	struct drm_mode_crtc gcrtc = {.crtc_id = res.crtcs[0]};
	assert_int_equal(kms_ioctl(&c, DRM_IOCTL_MODE_GETCRTC, &gcrtc), 0);
	assert_int_equal(gcrtc.mode.hdisplay, 1024);
	/* The master leaving takes its framebuffers off the screen. */
	kms_client_close(&c);
	usleep(100000);
	struct kms_client d;
	assert_int_equal(kms_client_open(&srv, &d, "card0"), 0);
	assert_int_equal(kms_ioctl(&d, DRM_IOCTL_MODE_GETCRTC, &gcrtc), 0);
	assert_int_equal(gcrtc.mode_valid, 0);
	kms_client_close(&d);
	munmap(map, size);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(resources_and_connectors),
		cmocka_unit_test(planes_and_formats),
		cmocka_unit_test(dumb_buffers_and_framebuffers),
		cmocka_unit_test(modeset_flip_and_vblank),
		cmocka_unit_test(atomic_uapi),
	};
	return cmocka_run_group_tests_name("kms", tests, start, stop);
}
