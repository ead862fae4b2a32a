/*
 * Explicit fencing of a flip: a libdrm client, run through the launcher,
 * flips to a framebuffer with an IN_FENCE_FD from a sw_sync timeline it
 * controls. The flip must not complete while the fence is pending (no event,
 * the CRTC still busy) and must complete once it signals. Also the kernel's
 * refusals: a descriptor that is no sync_file, and IN_FENCE_FD named twice.
 *
 * Usage: in_fence CARD_INDEX. Exit 0 on success, 1 with a message otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "redox-drm/sw_sync.h"

#define CHECK(cond, ...) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "in_fence: " __VA_ARGS__); \
			fprintf(stderr, " (line %d, errno %d)\n", __LINE__, errno); \
			exit(1); \
		} \
	} while (0)

static int fd;

static uint32_t prop_id(uint32_t obj, uint32_t type, const char *name)
{
	drmModeObjectProperties *props = drmModeObjectGetProperties(fd, obj, type);
	CHECK(props, "properties of %u", obj);
	uint32_t id = 0;
	for (uint32_t i = 0; i < props->count_props && !id; i++) {
		drmModePropertyRes *p = drmModeGetProperty(fd, props->props[i]);
		if (p && !strcmp(p->name, name))
			id = p->prop_id;
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	CHECK(id, "no property %s on %u", name, obj);
	return id;
}

static uint32_t make_fb(uint32_t w, uint32_t h, uint32_t colour)
{
	struct drm_mode_create_dumb c = {.width = w, .height = h, .bpp = 32};
	CHECK(drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c) == 0, "create dumb");
	struct drm_mode_map_dumb m = {.handle = c.handle};
	CHECK(drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m) == 0, "map dumb");
	uint32_t *px = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.offset);
	CHECK(px != MAP_FAILED, "mmap");
	for (uint64_t i = 0; i < c.size / 4; i++)
		px[i] = colour;
	munmap(px, c.size);
	uint32_t handles[4] = {c.handle}, pitches[4] = {c.pitch}, offsets[4] = {0}, id;
	CHECK(drmModeAddFB2(fd, w, h, DRM_FORMAT_XRGB8888, handles, pitches, offsets, &id, 0) == 0, "addfb2");
	return id;
}

/* Waits up to ms for a flip event; 1 if one came. */
static int flip_event(int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, ms) <= 0)
		return 0;
	char buf[1024];
	ssize_t n = read(fd, buf, sizeof(buf));
	CHECK(n >= (ssize_t)sizeof(struct drm_event), "read event");
	struct drm_event *e = (struct drm_event *)buf;
	CHECK(e->type == DRM_EVENT_FLIP_COMPLETE, "event type %u", e->type);
	return 1;
}

static int flip(uint32_t plane, uint32_t p_fb, uint32_t fb, uint32_t p_fence, int64_t fence_fd, int fence_twice)
{
	/* The raw ioctl: libdrm's helper would merge a property named twice. */
	uint32_t objs[1] = {plane}, counts[1] = {1}, props[3] = {p_fb, p_fence, p_fence};
	uint64_t values[3] = {fb, (uint64_t)fence_fd, (uint64_t)fence_fd};
	if (fence_fd != -1)
		counts[0] = fence_twice ? 3 : 2;
	struct drm_mode_atomic a = {
		.flags = DRM_MODE_ATOMIC_NONBLOCK | DRM_MODE_PAGE_FLIP_EVENT,
		.count_objs = 1,
		.objs_ptr = (uintptr_t)objs,
		.count_props_ptr = (uintptr_t)counts,
		.props_ptr = (uintptr_t)props,
		.prop_values_ptr = (uintptr_t)values,
	};
	return drmIoctl(fd, DRM_IOCTL_MODE_ATOMIC, &a) ? -errno : 0;
}

int main(int argc, char **argv)
{
	char path[64];
	snprintf(path, sizeof(path), "/dev/dri/card%s", argc > 1 ? argv[1] : "0");
	fd = open(path, O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "open %s", path);
	CHECK(drmSetClientCap(fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1) == 0, "universal planes");
	CHECK(drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1) == 0, "atomic cap");

	drmModeRes *res = drmModeGetResources(fd);
	CHECK(res, "resources");
	drmModeConnector *conn = NULL;
	for (int i = 0; i < res->count_connectors && !conn; i++) {
		conn = drmModeGetConnector(fd, res->connectors[i]);
		if (conn && (conn->connection != DRM_MODE_CONNECTED || !conn->count_modes)) {
			drmModeFreeConnector(conn);
			conn = NULL;
		}
	}
	CHECK(conn, "no connected connector");
	uint32_t crtc = res->crtcs[0];
	drmModeModeInfo mode = conn->modes[0];
	drmModePlaneRes *pres = drmModeGetPlaneResources(fd);
	CHECK(pres, "plane resources");
	uint32_t plane = 0;
	for (uint32_t i = 0; i < pres->count_planes && !plane; i++) {
		drmModePlane *p = drmModeGetPlane(fd, pres->planes[i]);
		uint32_t type_prop = prop_id(pres->planes[i], DRM_MODE_OBJECT_PLANE, "type");
		drmModeObjectProperties *props = drmModeObjectGetProperties(fd, pres->planes[i], DRM_MODE_OBJECT_PLANE);
		for (uint32_t k = 0; k < props->count_props; k++)
			if (props->props[k] == type_prop && props->prop_values[k] == DRM_PLANE_TYPE_PRIMARY &&
			    (p->possible_crtcs & 1))
				plane = pres->planes[i];
		drmModeFreeObjectProperties(props);
		drmModeFreePlane(p);
	}
	CHECK(plane, "no primary plane for the first CRTC");

	uint32_t p_fb = prop_id(plane, DRM_MODE_OBJECT_PLANE, "FB_ID");
	uint32_t p_crtc = prop_id(plane, DRM_MODE_OBJECT_PLANE, "CRTC_ID");
	uint32_t p_fence = prop_id(plane, DRM_MODE_OBJECT_PLANE, "IN_FENCE_FD");
	uint32_t p_sx = prop_id(plane, DRM_MODE_OBJECT_PLANE, "SRC_X"), p_sy = prop_id(plane, DRM_MODE_OBJECT_PLANE, "SRC_Y");
	uint32_t p_sw = prop_id(plane, DRM_MODE_OBJECT_PLANE, "SRC_W"), p_sh = prop_id(plane, DRM_MODE_OBJECT_PLANE, "SRC_H");
	uint32_t p_cx = prop_id(plane, DRM_MODE_OBJECT_PLANE, "CRTC_X"), p_cy = prop_id(plane, DRM_MODE_OBJECT_PLANE, "CRTC_Y");
	uint32_t p_cw = prop_id(plane, DRM_MODE_OBJECT_PLANE, "CRTC_W"), p_ch = prop_id(plane, DRM_MODE_OBJECT_PLANE, "CRTC_H");
	uint32_t p_conn_crtc = prop_id(conn->connector_id, DRM_MODE_OBJECT_CONNECTOR, "CRTC_ID");
	uint32_t p_active = prop_id(crtc, DRM_MODE_OBJECT_CRTC, "ACTIVE");
	uint32_t p_mode = prop_id(crtc, DRM_MODE_OBJECT_CRTC, "MODE_ID");

	uint32_t fb_a = make_fb(mode.hdisplay, mode.vdisplay, 0x00ff0000);
	uint32_t fb_b = make_fb(mode.hdisplay, mode.vdisplay, 0x000000ff);

	/* Light the screen with A (blocking modeset). */
	uint32_t blob;
	CHECK(drmModeCreatePropertyBlob(fd, &mode, sizeof(mode), &blob) == 0, "mode blob");
	drmModeAtomicReq *req = drmModeAtomicAlloc();
	drmModeAtomicAddProperty(req, conn->connector_id, p_conn_crtc, crtc);
	drmModeAtomicAddProperty(req, crtc, p_active, 1);
	drmModeAtomicAddProperty(req, crtc, p_mode, blob);
	drmModeAtomicAddProperty(req, plane, p_fb, fb_a);
	drmModeAtomicAddProperty(req, plane, p_crtc, crtc);
	drmModeAtomicAddProperty(req, plane, p_sx, 0);
	drmModeAtomicAddProperty(req, plane, p_sy, 0);
	drmModeAtomicAddProperty(req, plane, p_sw, (uint64_t)mode.hdisplay << 16);
	drmModeAtomicAddProperty(req, plane, p_sh, (uint64_t)mode.vdisplay << 16);
	drmModeAtomicAddProperty(req, plane, p_cx, 0);
	drmModeAtomicAddProperty(req, plane, p_cy, 0);
	drmModeAtomicAddProperty(req, plane, p_cw, mode.hdisplay);
	drmModeAtomicAddProperty(req, plane, p_ch, mode.vdisplay);
	CHECK(drmModeAtomicCommit(fd, req, DRM_MODE_ATOMIC_ALLOW_MODESET, NULL) == 0, "modeset");
	drmModeAtomicFree(req);

	/* The property reads back as -1, as the kernel's. */
	drmModeObjectProperties *props = drmModeObjectGetProperties(fd, plane, DRM_MODE_OBJECT_PLANE);
	for (uint32_t k = 0; k < props->count_props; k++)
		if (props->props[k] == p_fence)
			CHECK((int64_t)props->prop_values[k] == -1, "IN_FENCE_FD reads %lld",
			      (long long)props->prop_values[k]);
	drmModeFreeObjectProperties(props);

	/* Refusals: not a sync_file; named twice. Nothing changes on the screen. */
	int pipefd[2];
	CHECK(pipe(pipefd) == 0, "pipe");
	CHECK(flip(plane, p_fb, fb_b, p_fence, pipefd[0], 0) == -EINVAL, "a pipe as IN_FENCE_FD not refused");
	CHECK(flip(plane, p_fb, fb_b, p_fence, -5, 0) == -EINVAL, "IN_FENCE_FD -5 not refused");

	int tl = open("/dev/sw_sync", O_RDWR | O_CLOEXEC);
	CHECK(tl >= 0, "open /dev/sw_sync");
	struct sw_sync_create_fence_data f = {.value = 1};
	snprintf(f.name, sizeof(f.name), "in_fence");
	CHECK(ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &f) == 0, "sw_sync fence");
	CHECK(flip(plane, p_fb, fb_b, p_fence, f.fence, 1) == -EINVAL, "IN_FENCE_FD twice not refused");
	CHECK(!flip_event(50), "an event from a refused commit");

	/* The flip waits for the fence: no event, and the CRTC stays busy. */
	CHECK(flip(plane, p_fb, fb_b, p_fence, f.fence, 0) == 0, "fenced flip");
	close(f.fence); /* the commit holds the fence, not the descriptor */
	CHECK(!flip_event(300), "the flip completed before its fence signalled");
	CHECK(flip(plane, p_fb, fb_a, p_fence, -1, 0) == -EBUSY, "second flip while fenced one pending not EBUSY");
	uint32_t inc = 1;
	CHECK(ioctl(tl, SW_SYNC_IOC_INC, &inc) == 0, "sw_sync inc");
	CHECK(flip_event(2000), "no flip event after the fence signalled");

	/* An already signalled fence does not hold a flip back. */
	struct sw_sync_create_fence_data g = {.value = 1};
	snprintf(g.name, sizeof(g.name), "done");
	CHECK(ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &g) == 0, "signalled fence");
	CHECK(flip(plane, p_fb, fb_a, p_fence, g.fence, 0) == 0, "flip on a signalled fence");
	CHECK(flip_event(2000), "no event for the flip on a signalled fence");

	/* A pending fenced flip left behind when the client exits must not hold the daemon. */
	struct sw_sync_create_fence_data h = {.value = 5};
	snprintf(h.name, sizeof(h.name), "never");
	CHECK(ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &h) == 0, "pending fence");
	CHECK(flip(plane, p_fb, fb_b, p_fence, h.fence, 0) == 0, "fenced flip left pending");
	printf("in_fence: ok\n");
	return 0;
}
