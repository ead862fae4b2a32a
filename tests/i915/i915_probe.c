/*
 * An ordinary libdrm client of the i915 uAPI, meant to run under
 * redox-drm-run: it finds the Intel render node, asks what iris and IGT ask
 * at start-up, and writes and reads a buffer object through a mapping of the
 * DRM fd. Exits 0 when every answer is the one the Skylake GT2 model implies.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <i915_drm.h>
#include <intel_bufmgr.h>
#include <xf86drm.h>

#include "i915_node.h"

static int failures;

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			failures++;                                              \
		}                                                                \
	} while (0)

static int getparam(int fd, int param)
{
	int value = -1;
	struct drm_i915_getparam gp = {.param = param, .value = &value};
	if (drmIoctl(fd, DRM_IOCTL_I915_GETPARAM, &gp))
		return -errno;
	return value;
}

int main(void)
{
	int fd = open_i915();
	if (fd < 0) {
		fprintf(stderr, "FAIL: no i915 render node\n");
		return 1;
	}

	CHECK(getparam(fd, I915_PARAM_CHIPSET_ID) == 0x1912);
	CHECK(getparam(fd, I915_PARAM_EU_TOTAL) == 24);
	CHECK(getparam(fd, I915_PARAM_SUBSLICE_MASK) == 0x7);
	CHECK(getparam(fd, I915_PARAM_CS_TIMESTAMP_FREQUENCY) == 12000000);
	CHECK(getparam(fd, I915_PARAM_HAS_CONTEXT_ISOLATION) > 0);
	CHECK(getparam(fd, I915_PARAM_MMAP_GTT_VERSION) == 4);
	CHECK(getparam(fd, 9999) == -EINVAL);

	/* Two-pass topology query. */
	struct drm_i915_query_item item = {.query_id = DRM_I915_QUERY_TOPOLOGY_INFO};
	struct drm_i915_query q = {.num_items = 1, .items_ptr = (uintptr_t)&item};
	CHECK(drmIoctl(fd, DRM_IOCTL_I915_QUERY, &q) == 0);
	CHECK(item.length == 32);
	uint8_t topo[32] = {0};
	item.data_ptr = (uintptr_t)topo;
	CHECK(drmIoctl(fd, DRM_IOCTL_I915_QUERY, &q) == 0);
	CHECK(topo[16] == 0x01 && topo[17] == 0x07 && topo[20] == 0xFF && topo[23] == 0x00);

	/* libdrm_intel's aperture query (GEM_GET_APERTURE). */
	size_t mappable = 0, total = 0;
	CHECK(drm_intel_get_aperture_sizes(fd, &mappable, &total) == 0);
	CHECK(total > 0);

	/* A buffer written through one mapping and read through another. */
	struct drm_i915_gem_create c = {.size = 10000};
	CHECK(drmIoctl(fd, DRM_IOCTL_I915_GEM_CREATE, &c) == 0);
	CHECK(c.size == 12288);
	struct drm_i915_gem_mmap_offset mo = {.handle = c.handle, .flags = I915_MMAP_OFFSET_WB};
	CHECK(drmIoctl(fd, DRM_IOCTL_I915_GEM_MMAP_OFFSET, &mo) == 0);
	uint32_t *a = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)mo.offset);
	uint32_t *b = mmap(NULL, c.size, PROT_READ, MAP_SHARED, fd, (off_t)mo.offset);
	CHECK(a != MAP_FAILED && b != MAP_FAILED);
	if (a != MAP_FAILED && b != MAP_FAILED) {
		a[1000] = 0xC0FFEE;
		CHECK(b[1000] == 0xC0FFEE);
		munmap(a, c.size);
		munmap(b, c.size);
	}
	struct drm_i915_gem_get_tiling gt = {.handle = c.handle, .tiling_mode = 99};
	CHECK(drmIoctl(fd, DRM_IOCTL_I915_GEM_GET_TILING, &gt) == 0);
	CHECK(gt.tiling_mode == I915_TILING_NONE);
	struct drm_gem_close cl = {.handle = c.handle};
	CHECK(drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &cl) == 0);

	/* Not implemented, so refused as an unknown number would be. */
	struct drm_i915_gem_execbuffer2 eb = {0};
	CHECK(drmIoctl(fd, DRM_IOCTL_I915_GEM_EXECBUFFER2, &eb) == -1 && errno == EINVAL);

	close(fd);
	if (failures)
		return 1;
	printf("i915 uAPI probe: all answers as expected\n");
	return 0;
}
