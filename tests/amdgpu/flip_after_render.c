/*
 * Flips wait for rendering (implicit fencing): an unmodified libdrm_amdgpu
 * client (run by redox-drm-run) submits a GFX job that writes its
 * framebuffer BO, but only after a flag in another BO turns 1 (WAIT_REG_MEM
 * on memory). A nonblocking flip to that framebuffer, given no IN_FENCE_FD,
 * must not complete while the job runs; once the client sets the flag the
 * job ends, the flip completes, and the monitor shows what the GPU wrote.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
			fprintf(stderr, "flip_after_render: FAILED: %s (%s:%d)\n", what, __FILE__, __LINE__); \
			exit(1); \
		} \
	} while (0)

#define PACKET3(op, count) (0xC0000000u | ((uint32_t)(count)&0x3FFFu) << 16 | (uint32_t)(op) << 8)
#define PM4_NOP 0xFFFF1000u
#define PKT3_WRITE_DATA 0x37u
#define PKT3_WAIT_REG_MEM 0x3Cu
#define GPU_COLOUR 0xFF00C0FFu

static int fd;
static amdgpu_device_handle dev;

struct gpu_bo {
	amdgpu_bo_handle bo;
	amdgpu_va_handle va_handle;
	uint64_t va, size;
	void *cpu;
	uint32_t kms;
};

static void bo_new(struct gpu_bo *b, uint64_t size, uint32_t heap)
{
	struct amdgpu_bo_alloc_request req = {.alloc_size = size, .phys_alignment = 4096, .preferred_heap = heap,
					      .flags = AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED};
	CHECK(amdgpu_bo_alloc(dev, &req, &b->bo) == 0, "BO");
	CHECK(amdgpu_va_range_alloc(dev, amdgpu_gpu_va_range_general, size, 4096, 0, &b->va, &b->va_handle, 0) == 0,
	      "VA range");
	b->size = size;
	CHECK(amdgpu_bo_va_op(b->bo, 0, size, b->va, 0, AMDGPU_VA_OP_MAP) == 0, "GEM_VA map");
	CHECK(amdgpu_bo_cpu_map(b->bo, &b->cpu) == 0, "CPU map");
	CHECK(amdgpu_bo_export(b->bo, amdgpu_bo_handle_type_kms, &b->kms) == 0, "KMS handle");
}

static void bo_free(struct gpu_bo *b)
{
	amdgpu_bo_cpu_unmap(b->bo);
	amdgpu_bo_va_op(b->bo, 0, b->size, b->va, 0, AMDGPU_VA_OP_UNMAP);
	amdgpu_va_range_free(b->va_handle);
	amdgpu_bo_free(b->bo);
}

/* The colour the monitor shows at (x, y) of CRTC crtc_id. */
static int capture_pixel(uint32_t crtc_id, uint32_t x, uint32_t y, uint32_t *out)
{
	uint32_t *px = NULL, w = 0, h = 0;
	int r = kms_output_capture(crtc_id, &px, &w, &h);
	if (!r && (x >= w || y >= h))
		r = -ERANGE;
	if (!r)
		*out = px[y * w + x] & 0xFFFFFFu;
	free(px);
	return r;
}

static int flip_event(int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (poll(&p, 1, ms) <= 0)
		return 0;
	char buf[256];
	CHECK(read(fd, buf, sizeof(buf)) >= (ssize_t)sizeof(struct drm_event), "read event");
	return 1;
}

int main(void)
{
	fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "open card0");
	uint32_t major, minor;
	CHECK(amdgpu_device_initialize(fd, &major, &minor, &dev) == 0, "amdgpu_device_initialize");

	struct kms_output out;
	CHECK(kms_output_find(fd, &out) == 0, "a connected output");
	drmModeModeInfo mode = out.mode;
	uint32_t w = mode.hdisplay, h = mode.vdisplay, pitch = w * 4;
	uint64_t fb_size = (uint64_t)pitch * h;

	/* A: black, shown first. B: rendered by the GPU job. flag: what the job waits for. */
	struct gpu_bo a, b, flag, ib;
	bo_new(&a, fb_size, AMDGPU_GEM_DOMAIN_VRAM);
	bo_new(&b, fb_size, AMDGPU_GEM_DOMAIN_VRAM);
	bo_new(&flag, 4096, AMDGPU_GEM_DOMAIN_GTT);
	bo_new(&ib, 4096, AMDGPU_GEM_DOMAIN_GTT);
	memset(a.cpu, 0, fb_size);
	memset(b.cpu, 0, fb_size);
	volatile uint32_t *flag_cpu = flag.cpu;
	*flag_cpu = 0;

	uint32_t fb_a, fb_b, pitches[4] = {pitch}, offsets[4] = {0};
	uint32_t ha[4] = {a.kms}, hb[4] = {b.kms};
	CHECK(drmModeAddFB2(fd, w, h, DRM_FORMAT_XRGB8888, ha, pitches, offsets, &fb_a, 0) == 0, "AddFB2 A");
	CHECK(drmModeAddFB2(fd, w, h, DRM_FORMAT_XRGB8888, hb, pitches, offsets, &fb_b, 0) == 0, "AddFB2 B");
	uint32_t crtc_id = out.crtc_id;
	CHECK(drmModeSetCrtc(fd, crtc_id, fb_a, 0, 0, &out.conn->connector_id, 1, &mode) == 0, "SetCrtc A");

	/* The job: wait until flag == 1, then write a row of pixels at the centre of B. */
	uint32_t *p = ib.cpu, k = 0, cx = w / 2, cy = h / 2, n = 16;
	p[k++] = PACKET3(PKT3_WAIT_REG_MEM, 5);
	p[k++] = 3u | 1u << 4; /* equal, memory */
	p[k++] = (uint32_t)flag.va;
	p[k++] = (uint32_t)(flag.va >> 32);
	p[k++] = 1;
	p[k++] = 0xFFFFFFFFu;
	p[k++] = 4;
	uint64_t dst = b.va + (uint64_t)cy * pitch + (uint64_t)cx * 4;
	p[k++] = PACKET3(PKT3_WRITE_DATA, 2 + n);
	p[k++] = 5u << 8 | 1u << 20; /* memory, confirmed */
	p[k++] = (uint32_t)dst;
	p[k++] = (uint32_t)(dst >> 32);
	for (uint32_t i = 0; i < n; i++)
		p[k++] = GPU_COLOUR;
	while (k % 8)
		p[k++] = PM4_NOP;

	amdgpu_context_handle ctx;
	CHECK(amdgpu_cs_ctx_create(dev, &ctx) == 0, "context");
	amdgpu_bo_handle list_bos[3] = {b.bo, flag.bo, ib.bo};
	amdgpu_bo_list_handle list;
	CHECK(amdgpu_bo_list_create(dev, 3, list_bos, NULL, &list) == 0, "BO list");
	struct amdgpu_cs_ib_info ib_info = {.ib_mc_address = ib.va, .size = k};
	struct amdgpu_cs_request req = {.ip_type = AMDGPU_HW_IP_GFX, .resources = list, .number_of_ibs = 1,
					.ibs = &ib_info};
	CHECK(amdgpu_cs_submit(ctx, 0, &req, 1) == 0, "CS");

	/* Flip to B with no in-fence: the job still writes B, so the flip waits for it. */
	CHECK(drmModePageFlip(fd, crtc_id, fb_b, DRM_MODE_PAGE_FLIP_EVENT, NULL) == 0, "page flip");
	CHECK(!flip_event(400), "the flip completed while the GPU was still writing its framebuffer");
	uint32_t px;
	CHECK(capture_pixel(crtc_id, cx, cy, &px) == 0, "capture");
	CHECK(px == 0, "the monitor shows B before the GPU wrote it");

	*flag_cpu = 1; /* releases the job */
	CHECK(flip_event(3000), "no flip event after the job finished");
	struct amdgpu_cs_fence fence = {.context = ctx, .ip_type = AMDGPU_HW_IP_GFX, .fence = req.seq_no};
	uint32_t expired = 0;
	CHECK(amdgpu_cs_query_fence_status(&fence, 0, 0, &expired) == 0 && expired, "the job had finished");
	CHECK(capture_pixel(crtc_id, cx, cy, &px) == 0, "capture");
	CHECK(px == (GPU_COLOUR & 0xFFFFFFu), "the monitor shows what the GPU wrote");

	drmModeSetCrtc(fd, crtc_id, 0, 0, 0, NULL, 0, NULL);
	drmModeRmFB(fd, fb_a);
	drmModeRmFB(fd, fb_b);
	amdgpu_bo_list_destroy(list);
	amdgpu_cs_ctx_free(ctx);
	struct gpu_bo *all[] = {&a, &b, &flag, &ib};
	for (unsigned i = 0; i < 4; i++)
		bo_free(all[i]);
	kms_output_free(&out);
	amdgpu_device_deinitialize(dev);
	close(fd);
	printf("flip_after_render: ok\n");
	return 0;
}
