/*
 * A framebuffer in VRAM on card0's display: an unmodified libdrm_amdgpu
 * client (run by redox-drm-run) allocates a CPU-visible VRAM BO, fills it
 * through its CPU mapping, makes it a framebuffer and lights the first
 * connected connector with it. What the monitor shows (the daemon's capture
 * of the display engine's output, which reads the surface through the
 * MMHUB's FB aperture) must be those pixels.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <amdgpu.h>
#include <amdgpu_drm.h>
#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "redox-drm/client.h"
#include "redox-drm/wire.h"

#define CHECK(cond, what) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "vram_scanout: FAILED: %s (%s:%d)\n", what, __FILE__, __LINE__); \
			exit(1); \
		} \
	} while (0)

static uint32_t pattern(uint32_t x, uint32_t y)
{
	return 0xFF000000u | ((x * 7u) & 0xFFu) << 16 | ((y * 3u) & 0xFFu) << 8 | ((x ^ y) & 0xFFu);
}

/* What CRTC crtc_id shows now, through the daemon's capture request on a node of its own. */
static int capture(uint32_t crtc_id, uint32_t **px, uint32_t *w, uint32_t *h)
{
	const char *dir = getenv("REDOX_DRM_RUNTIME_DIR");
	if (!dir)
		return -ENOENT;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/renderD128", dir);
	int file = rdrm_connect(path, O_CLOEXEC);
	if (file < 0)
		return file;
	struct rdrm_wire_hello hello;
	int chan = rdrm_channel_open(file, &hello);
	if (chan < 0) {
		close(file);
		return chan;
	}
	uint32_t id;
	int r = rdrm_capture(chan, crtc_id, px, w, h, &id);
	close(chan);
	close(file);
	return r;
}

int main(void)
{
	int fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "open card0");
	uint32_t major, minor;
	amdgpu_device_handle dev;
	CHECK(amdgpu_device_initialize(fd, &major, &minor, &dev) == 0, "amdgpu_device_initialize");

	drmModeRes *res = drmModeGetResources(fd);
	CHECK(res && res->count_crtcs > 0, "resources");
	drmModeConnector *conn = NULL;
	for (int i = 0; i < res->count_connectors && !conn; i++) {
		drmModeConnector *c = drmModeGetConnector(fd, res->connectors[i]);
		if (c && c->connection == DRM_MODE_CONNECTED && c->count_modes > 0)
			conn = c;
		else
			drmModeFreeConnector(c);
	}
	CHECK(conn, "a connected connector");
	drmModeModeInfo mode = conn->modes[0];
	uint32_t w = mode.hdisplay, h = mode.vdisplay, pitch = w * 4;

	struct amdgpu_bo_alloc_request req = {
		.alloc_size = (uint64_t)pitch * h,
		.phys_alignment = 4096,
		.preferred_heap = AMDGPU_GEM_DOMAIN_VRAM,
		.flags = AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED,
	};
	amdgpu_bo_handle bo;
	CHECK(amdgpu_bo_alloc(dev, &req, &bo) == 0, "VRAM BO");
	uint32_t handle;
	CHECK(amdgpu_bo_export(bo, amdgpu_bo_handle_type_kms, &handle) == 0, "KMS handle");
	/* It really is in VRAM: GEM_WAIT_IDLE reports where the BO lives. */
	union drm_amdgpu_gem_wait_idle wi;
	memset(&wi, 0, sizeof(wi));
	wi.in.handle = handle;
	CHECK(drmCommandWriteRead(fd, DRM_AMDGPU_GEM_WAIT_IDLE, &wi, sizeof(wi)) == 0, "GEM_WAIT_IDLE");
	CHECK(wi.out.domain == AMDGPU_GEM_DOMAIN_VRAM, "BO placed in VRAM");

	uint32_t *cpu;
	CHECK(amdgpu_bo_cpu_map(bo, (void **)&cpu) == 0, "CPU map");
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			cpu[y * w + x] = pattern(x, y);

	uint32_t fb, handles[4] = {handle}, pitches[4] = {pitch}, offsets[4] = {0};
	CHECK(drmModeAddFB2(fd, w, h, DRM_FORMAT_XRGB8888, handles, pitches, offsets, &fb, 0) == 0, "AddFB2");
	drmModeEncoder *enc = drmModeGetEncoder(fd, conn->encoder_id ? conn->encoder_id : conn->encoders[0]);
	CHECK(enc, "encoder");
	uint32_t crtc_id = enc->crtc_id;
	for (int i = 0; !crtc_id && i < res->count_crtcs; i++)
		if (enc->possible_crtcs & (1u << i))
			crtc_id = res->crtcs[i];
	CHECK(crtc_id, "a CRTC");
	CHECK(drmModeSetCrtc(fd, crtc_id, fb, 0, 0, &conn->connector_id, 1, &mode) == 0, "SetCrtc");

	/* The surface is latched at the next vblank: look until the screen shows it (5 s at most). */
	uint32_t *px = NULL, cw = 0, ch = 0;
	int matched = 0;
	for (int tries = 0; tries < 250 && !matched; tries++) {
		free(px);
		px = NULL;
		if (capture(crtc_id, &px, &cw, &ch) == 0 && cw == w && ch == h) {
			matched = 1;
			for (uint32_t y = 0; y < h && matched; y += 37)
				for (uint32_t x = 0; x < w && matched; x += 29)
					matched = (px[y * w + x] & 0xFFFFFFu) == (pattern(x, y) & 0xFFFFFFu);
		}
		if (!matched)
			usleep(20000);
	}
	CHECK(matched, "the monitor shows the VRAM framebuffer's pixels");
	free(px);

	drmModeSetCrtc(fd, crtc_id, 0, 0, 0, NULL, 0, NULL);
	drmModeRmFB(fd, fb);
	amdgpu_bo_cpu_unmap(bo);
	amdgpu_bo_free(bo);
	drmModeFreeEncoder(enc);
	drmModeFreeConnector(conn);
	drmModeFreeResources(res);
	amdgpu_device_deinitialize(dev);
	close(fd);
	printf("vram_scanout: %ux%u from VRAM shown\n", w, h);
	return 0;
}
