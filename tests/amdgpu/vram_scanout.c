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

#include "kms_output.h"

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

int main(void)
{
	int fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "open card0");
	uint32_t major, minor;
	amdgpu_device_handle dev;
	CHECK(amdgpu_device_initialize(fd, &major, &minor, &dev) == 0, "amdgpu_device_initialize");

	struct kms_output out;
	CHECK(kms_output_find(fd, &out) == 0, "a connected output");
	drmModeModeInfo mode = out.mode;
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
	uint32_t crtc_id = out.crtc_id;
	CHECK(drmModeSetCrtc(fd, crtc_id, fb, 0, 0, &out.conn->connector_id, 1, &mode) == 0, "SetCrtc");

	/* The surface is latched at the next vblank: look until the screen shows it (5 s at most). */
	uint32_t *px = NULL, cw = 0, ch = 0;
	int matched = 0;
	for (int tries = 0; tries < 250 && !matched; tries++) {
		free(px);
		px = NULL;
		if (kms_output_capture(crtc_id, &px, &cw, &ch) == 0 && cw == w && ch == h) {
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
	kms_output_free(&out);
	amdgpu_device_deinitialize(dev);
	close(fd);
	printf("vram_scanout: %ux%u from VRAM shown\n", w, h);
	return 0;
}
