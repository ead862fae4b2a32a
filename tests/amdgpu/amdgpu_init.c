/*
 * An unmodified libdrm_amdgpu client on renderD128 (card0, the Vega10 model):
 * device initialisation, then buffer objects and contexts. Runs under the
 * launcher, so every call goes through the interposer and the daemon.
 *
 * libdrm refuses a device whose ACCEL_WORKING is 0 (-EBADF). The driver
 * starts the GFX ring at load and reports 1 once its ring and IB tests
 * passed, so the test requires 1 and runs the libdrm path, then drives the
 * same ioctls directly.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <amdgpu.h>
#include <amdgpu_drm.h>
#include <xf86drm.h>

#define CHECK(cond, what) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "amdgpu_init: FAILED: %s (%s:%d)\n", what, __FILE__, __LINE__); \
			exit(1); \
		} \
	} while (0)

static int info(int fd, uint32_t query, void *out, uint32_t size, struct drm_amdgpu_info *req)
{
	struct drm_amdgpu_info i;
	if (req)
		i = *req;
	else
		memset(&i, 0, sizeof(i));
	i.query = query;
	i.return_pointer = (uint64_t)(uintptr_t)out;
	i.return_size = size;
	return drmCommandWrite(fd, DRM_AMDGPU_INFO, &i, sizeof(i));
}

static void through_libdrm(int fd)
{
	uint32_t major, minor;
	amdgpu_device_handle dev;
	CHECK(amdgpu_device_initialize(fd, &major, &minor, &dev) == 0, "amdgpu_device_initialize");
	CHECK(major == 3 && minor >= 42, "DRM version 3.42+");

	struct amdgpu_gpu_info gi;
	CHECK(amdgpu_query_gpu_info(dev, &gi) == 0, "amdgpu_query_gpu_info");
	CHECK(gi.asic_id == 0x687F && gi.family_id == AMDGPU_FAMILY_AI, "Vega10 identity");
	CHECK(gi.gb_addr_cfg == 0x2A114042u, "GB_ADDR_CONFIG");

	struct drm_amdgpu_info_hw_ip ip;
	CHECK(amdgpu_query_hw_ip_info(dev, AMDGPU_HW_IP_GFX, 0, &ip) == 0, "hw_ip_info GFX");
	CHECK(ip.hw_ip_version_major == 9, "GFX 9");

	struct amdgpu_bo_alloc_request req = {.alloc_size = 65536, .phys_alignment = 4096,
					      .preferred_heap = AMDGPU_GEM_DOMAIN_GTT};
	amdgpu_bo_handle bo;
	CHECK(amdgpu_bo_alloc(dev, &req, &bo) == 0, "amdgpu_bo_alloc");
	void *p;
	CHECK(amdgpu_bo_cpu_map(bo, &p) == 0, "amdgpu_bo_cpu_map");
	memset(p, 0x3C, 65536);
	CHECK(((uint8_t *)p)[65535] == 0x3C, "write through the mapping");
	CHECK(amdgpu_bo_cpu_unmap(bo) == 0, "amdgpu_bo_cpu_unmap");
	CHECK(amdgpu_bo_free(bo) == 0, "amdgpu_bo_free");

	amdgpu_context_handle ctx;
	CHECK(amdgpu_cs_ctx_create(dev, &ctx) == 0, "amdgpu_cs_ctx_create");
	CHECK(amdgpu_cs_ctx_free(ctx) == 0, "amdgpu_cs_ctx_free");
	amdgpu_device_deinitialize(dev);
	printf("amdgpu_init: libdrm_amdgpu path ok\n");
}

static void through_ioctls(int fd)
{
	struct drm_amdgpu_info_device d;
	CHECK(info(fd, AMDGPU_INFO_DEV_INFO, &d, sizeof(d), NULL) == 0, "DEV_INFO");
	CHECK(d.device_id == 0x687F && d.family == AMDGPU_FAMILY_AI, "Vega10 identity");
	CHECK(d.virtual_address_max == 0x0000800000000000ull, "VA range");

	struct drm_amdgpu_info req;
	memset(&req, 0, sizeof(req));
	req.read_mmr_reg.dword_offset = 0x263E;
	req.read_mmr_reg.count = 1;
	req.read_mmr_reg.instance = 0xFFFFFFFFu;
	uint32_t gb = 0;
	CHECK(info(fd, AMDGPU_INFO_READ_MMR_REG, &gb, sizeof(gb), &req) == 0 && gb == 0x2A114042u,
	      "READ_MMR_REG GB_ADDR_CONFIG");

	memset(&req, 0, sizeof(req));
	req.query_hw_ip.type = AMDGPU_HW_IP_GFX;
	struct drm_amdgpu_info_hw_ip ip;
	CHECK(info(fd, AMDGPU_INFO_HW_IP_INFO, &ip, sizeof(ip), &req) == 0 && ip.hw_ip_version_major == 9,
	      "HW_IP_INFO GFX");

	/* What amdgpu_bo_alloc + amdgpu_bo_cpu_map do: GEM_CREATE, GEM_MMAP, mmap on the fd. */
	union drm_amdgpu_gem_create c;
	memset(&c, 0, sizeof(c));
	c.in.bo_size = 65536;
	c.in.alignment = 4096;
	c.in.domains = AMDGPU_GEM_DOMAIN_GTT;
	CHECK(drmCommandWriteRead(fd, DRM_AMDGPU_GEM_CREATE, &c, sizeof(c)) == 0, "GEM_CREATE");
	uint32_t handle = c.out.handle;
	union drm_amdgpu_gem_mmap m;
	memset(&m, 0, sizeof(m));
	m.in.handle = handle;
	CHECK(drmCommandWriteRead(fd, DRM_AMDGPU_GEM_MMAP, &m, sizeof(m)) == 0, "GEM_MMAP");
	uint8_t *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.out.addr_ptr);
	CHECK(p != MAP_FAILED, "mmap of the fake offset");
	memset(p, 0x3C, 65536);
	uint8_t *q = mmap(NULL, 65536, PROT_READ, MAP_SHARED, fd, (off_t)m.out.addr_ptr);
	CHECK(q != MAP_FAILED && q[65535] == 0x3C, "second mapping sees the data");
	munmap(p, 65536);
	munmap(q, 65536);
	uint64_t gtt = 0;
	CHECK(info(fd, AMDGPU_INFO_GTT_USAGE, &gtt, sizeof(gtt), NULL) == 0 && gtt >= 65536, "GTT_USAGE counts it");
	struct drm_gem_close gc = {.handle = handle};
	CHECK(drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &gc) == 0, "GEM_CLOSE");

	union drm_amdgpu_ctx x;
	memset(&x, 0, sizeof(x));
	x.in.op = AMDGPU_CTX_OP_ALLOC_CTX;
	CHECK(drmCommandWriteRead(fd, DRM_AMDGPU_CTX, &x, sizeof(x)) == 0, "CTX ALLOC");
	uint32_t id = x.out.alloc.ctx_id;
	memset(&x, 0, sizeof(x));
	x.in.op = AMDGPU_CTX_OP_FREE_CTX;
	x.in.ctx_id = id;
	CHECK(drmCommandWriteRead(fd, DRM_AMDGPU_CTX, &x, sizeof(x)) == 0, "CTX FREE");
	printf("amdgpu_init: ioctl path ok\n");
}

int main(void)
{
	int fd = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "open renderD128");

	uint32_t accel = 2;
	CHECK(info(fd, AMDGPU_INFO_ACCEL_WORKING, &accel, sizeof(accel), NULL) == 0, "ACCEL_WORKING");
	CHECK(accel == 1, "ACCEL_WORKING is 1 (GFX ring up and tested at load)");
	through_libdrm(fd);
	through_ioctls(fd);
	close(fd);
	return 0;
}
