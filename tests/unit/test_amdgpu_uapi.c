/*
 * The amdgpu ioctls over the wire, against the Vega10 model and the real
 * driver: what libdrm_amdgpu asks at device initialisation, buffer objects
 * and contexts, with the kernel's answers for bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <amdgpu_drm.h>
#include <drm.h>

#include "harness.h"
#include "redox-drm/client.h"
#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/gem.h"
#include "redox-drm/hw.h"
#include "redox-drm/log.h"

static int setup(void **state)
{
	log_set_level(LOG_ERROR);
	struct sim_fixture *f = sim_fixture_create("amdgpu", 0, 2);
	assert_non_null(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	sim_fixture_destroy(*state);
	return 0;
}

static int call(struct test_channel *ch, unsigned long cmd, void *arg)
{
	return rdrm_call(ch->fd, "amdgpu", cmd, arg);
}

static int info(struct sim_fixture *f, uint32_t query, void *out, uint32_t size, struct drm_amdgpu_info *req)
{
	struct drm_amdgpu_info i;
	if (req)
		i = *req;
	else
		memset(&i, 0, sizeof(i));
	i.query = query;
	i.return_pointer = (uint64_t)(uintptr_t)out;
	i.return_size = size;
	return call(&f->ch, DRM_IOCTL_AMDGPU_INFO, &i);
}

static uint64_t info_u64(struct sim_fixture *f, uint32_t query)
{
	uint64_t v = ~0ull;
	assert_int_equal(info(f, query, &v, sizeof(v), NULL), 0);
	return v;
}

static void test_version(void **state)
{
	struct sim_fixture *f = *state;
	char name[16] = {0};
	struct drm_version v = {.name = name, .name_len = sizeof(name) - 1};
	assert_int_equal(call(&f->ch, DRM_IOCTL_VERSION, &v), 0);
	assert_string_equal(name, "amdgpu");
	assert_int_equal(v.version_major, 3);
	assert_true(v.version_minor >= 42);
}

static void test_info_init_queries(void **state)
{
	struct sim_fixture *f = *state;
	uint32_t accel = 7;
	assert_int_equal(info(f, AMDGPU_INFO_ACCEL_WORKING, &accel, sizeof(accel), NULL), 0);
	/* load started the GFX ring on the model and its ring and IB tests passed. */
	assert_int_equal(accel, 1);

	struct drm_amdgpu_info_device d;
	memset(&d, 0xAB, sizeof(d));
	assert_int_equal(info(f, AMDGPU_INFO_DEV_INFO, &d, sizeof(d), NULL), 0);
	assert_int_equal(d.device_id, 0x687F);
	assert_int_equal(d.family, AMDGPU_FAMILY_AI);
	assert_int_equal(d.external_rev, 1);
	assert_int_equal(d.chip_rev, 0);
	assert_int_equal(d.num_shader_engines, 4);
	assert_int_equal(d.num_shader_arrays_per_engine, 1);
	assert_int_equal(d.num_cu_per_sh, 16);
	assert_int_equal(d.cu_active_number, 64);
	assert_int_equal(d.cu_bitmap[3][0], 0xFFFF);
	assert_int_equal(d.num_rb_pipes, 16);
	assert_int_equal(d.enabled_rb_pipes_mask, 0xFFFF);
	assert_int_equal(d.wave_front_size, 64);
	assert_int_equal(d.gpu_counter_freq, 25000);
	assert_int_equal(d.vram_type, AMDGPU_VRAM_TYPE_HBM);
	assert_int_equal(d.vram_bit_width, 2048);
	assert_true(d.virtual_address_offset == (2ull << 20));
	assert_true(d.virtual_address_max == 0x0000800000000000ull);
	assert_true(d.high_va_offset == 0xFFFF800000000000ull);
	assert_true(d.high_va_max == 0xFFFFFFFFFFC00000ull);
	assert_int_equal(d.virtual_address_alignment, 4096);
	assert_int_equal(d.gart_page_size, 4096);
	assert_int_equal(d.ids_flags, 0);

	/* A short buffer gets the head of the answer and nothing past it. */
	uint8_t small[8];
	memset(small, 0xEE, sizeof(small));
	assert_int_equal(info(f, AMDGPU_INFO_DEV_INFO, small, 4, NULL), 0);
	uint32_t id;
	memcpy(&id, small, 4);
	assert_int_equal(id, 0x687F);
	/* A longer buffer than the answer: the rest is left as it was. */
	memset(small, 0xEE, sizeof(small));
	assert_int_equal(info(f, AMDGPU_INFO_ACCEL_WORKING, small, sizeof(small), NULL), 0);
	assert_int_equal(small[0], 1);
	assert_int_equal(small[4], 0xEE);
	assert_int_equal(small[7], 0xEE);

	/* GB_ADDR_CONFIG (dword 0x263E), as libdrm reads it for family AI. */
	struct drm_amdgpu_info req = {0};
	req.read_mmr_reg.dword_offset = 0x263E;
	req.read_mmr_reg.count = 1;
	req.read_mmr_reg.instance = 0xFFFFFFFFu;
	uint32_t gb = 0;
	assert_int_equal(info(f, AMDGPU_INFO_READ_MMR_REG, &gb, sizeof(gb), &req), 0);
	assert_int_equal(gb, 0x2A114042u);
	/* Off the allow-list (SCRATCH_REG0) and too many at once. */
	req.read_mmr_reg.dword_offset = 0xC040;
	assert_int_equal(info(f, AMDGPU_INFO_READ_MMR_REG, &gb, sizeof(gb), &req), -EFAULT);
	req.read_mmr_reg.dword_offset = 0x263E;
	req.read_mmr_reg.count = 129;
	assert_int_equal(info(f, AMDGPU_INFO_READ_MMR_REG, &gb, sizeof(gb), &req), -EINVAL);
}

static void test_info_hw_ip(void **state)
{
	struct sim_fixture *f = *state;
	struct drm_amdgpu_info req = {0};
	struct drm_amdgpu_info_hw_ip ip;

	req.query_hw_ip.type = AMDGPU_HW_IP_GFX;
	assert_int_equal(info(f, AMDGPU_INFO_HW_IP_INFO, &ip, sizeof(ip), &req), 0);
	assert_int_equal(ip.hw_ip_version_major, 9);
	assert_int_equal(ip.hw_ip_version_minor, 0);
	assert_int_equal(ip.ib_start_alignment, 32);
	assert_int_equal(ip.ib_size_alignment, 32);
	/* The one GFX ring load brought up and tested. */
	assert_int_equal(ip.available_rings, 1);

	/* Compute queues are not mapped: none available. */
	req.query_hw_ip.type = AMDGPU_HW_IP_COMPUTE;
	assert_int_equal(info(f, AMDGPU_INFO_HW_IP_INFO, &ip, sizeof(ip), &req), 0);
	assert_int_equal(ip.available_rings, 0);

	req.query_hw_ip.type = AMDGPU_HW_IP_DMA;
	assert_int_equal(info(f, AMDGPU_INFO_HW_IP_INFO, &ip, sizeof(ip), &req), 0);
	/* SDMA0 and SDMA1, both through their ring and IB tests. */
	assert_int_equal(ip.available_rings, 0x3);
	assert_int_equal(ip.hw_ip_version_major, 4);
	assert_int_equal(ip.ib_start_alignment, 256);
	assert_int_equal(ip.ib_size_alignment, 4);

	req.query_hw_ip.type = AMDGPU_HW_IP_VCN_DEC;
	assert_int_equal(info(f, AMDGPU_INFO_HW_IP_INFO, &ip, sizeof(ip), &req), 0);
	assert_int_equal(ip.hw_ip_version_major, 0);
	assert_int_equal(ip.available_rings, 0);

	req.query_hw_ip.type = AMDGPU_HW_IP_NUM;
	assert_int_equal(info(f, AMDGPU_INFO_HW_IP_INFO, &ip, sizeof(ip), &req), -EINVAL);
	req.query_hw_ip.type = AMDGPU_HW_IP_GFX;
	req.query_hw_ip.ip_instance = 1;
	assert_int_equal(info(f, AMDGPU_INFO_HW_IP_INFO, &ip, sizeof(ip), &req), -EINVAL);

	uint32_t n = 9;
	req.query_hw_ip.ip_instance = 0;
	assert_int_equal(info(f, AMDGPU_INFO_HW_IP_COUNT, &n, sizeof(n), &req), 0);
	assert_int_equal(n, 1);
	req.query_hw_ip.type = AMDGPU_HW_IP_DMA;
	assert_int_equal(info(f, AMDGPU_INFO_HW_IP_COUNT, &n, sizeof(n), &req), 0);
	assert_int_equal(n, 2); /* SDMA instances */
	req.query_hw_ip.type = AMDGPU_HW_IP_UVD;
	assert_int_equal(info(f, AMDGPU_INFO_HW_IP_COUNT, &n, sizeof(n), &req), 0);
	assert_int_equal(n, 0);
	req.query_hw_ip.type = 77;
	assert_int_equal(info(f, AMDGPU_INFO_HW_IP_COUNT, &n, sizeof(n), &req), -EINVAL);
}

static void test_info_fw_memory_misc(void **state)
{
	struct sim_fixture *f = *state;
	struct drm_amdgpu_info req = {0};
	struct drm_amdgpu_info_firmware fw;

	req.query_fw.fw_type = AMDGPU_INFO_FW_GFX_ME;
	assert_int_equal(info(f, AMDGPU_INFO_FW_VERSION, &fw, sizeof(fw), &req), 0);
	assert_true(fw.ver >= 0x9C && fw.feature >= 42);
	req.query_fw.fw_type = AMDGPU_INFO_FW_GFX_PFP;
	assert_int_equal(info(f, AMDGPU_INFO_FW_VERSION, &fw, sizeof(fw), &req), 0);
	assert_true(fw.ver >= 0xB7);
	req.query_fw.fw_type = AMDGPU_INFO_FW_GFX_MEC;
	assert_int_equal(info(f, AMDGPU_INFO_FW_VERSION, &fw, sizeof(fw), &req), 0);
	assert_true(fw.ver >= 0x1A5);
	req.query_fw.fw_type = AMDGPU_INFO_FW_VCN;
	assert_int_equal(info(f, AMDGPU_INFO_FW_VERSION, &fw, sizeof(fw), &req), 0);
	assert_int_equal(fw.ver, 0);
	req.query_fw.fw_type = 0x7F;
	assert_int_equal(info(f, AMDGPU_INFO_FW_VERSION, &fw, sizeof(fw), &req), -EINVAL);

	struct drm_amdgpu_memory_info m;
	assert_int_equal(info(f, AMDGPU_INFO_MEMORY, &m, sizeof(m), NULL), 0);
	assert_true(m.vram.total_heap_size == 8ull << 30);
	assert_true(m.cpu_accessible_vram.total_heap_size == f->hw->bars[0].size);
	assert_true(m.gtt.total_heap_size > 0);
	assert_true(m.vram.max_allocation == m.vram.usable_heap_size / 4 * 3);

	struct drm_amdgpu_info_vram_gtt vg;
	assert_int_equal(info(f, AMDGPU_INFO_VRAM_GTT, &vg, sizeof(vg), NULL), 0);
	assert_true(vg.vram_size == 8ull << 30);
	assert_true(vg.gtt_size == m.gtt.total_heap_size);

	assert_true(info_u64(f, AMDGPU_INFO_NUM_BYTES_MOVED) == 0);
	assert_true(info_u64(f, AMDGPU_INFO_NUM_EVICTIONS) == 0);
	uint64_t t0 = info_u64(f, AMDGPU_INFO_TIMESTAMP);
	usleep(2000);
	uint64_t t1 = info_u64(f, AMDGPU_INFO_TIMESTAMP);
	/* 2 ms at 25 MHz is 50000 ticks. */
	assert_true(t1 - t0 >= 50000);

	struct drm_amdgpu_info_video_caps caps;
	memset(&caps, 0xFF, sizeof(caps));
	req.video_cap.type = AMDGPU_INFO_VIDEO_CAPS_DECODE;
	assert_int_equal(info(f, AMDGPU_INFO_VIDEO_CAPS, &caps, sizeof(caps), &req), 0);
	for (int i = 0; i < AMDGPU_INFO_VIDEO_CAPS_CODEC_IDX_COUNT; i++)
		assert_int_equal(caps.codec_info[i].valid, 0);
	req.video_cap.type = 5;
	assert_int_equal(info(f, AMDGPU_INFO_VIDEO_CAPS, &caps, sizeof(caps), &req), -EINVAL);

	uint32_t temp;
	req.sensor_info.type = AMDGPU_INFO_SENSOR_GPU_TEMP;
	assert_int_equal(info(f, AMDGPU_INFO_SENSOR, &temp, sizeof(temp), &req), -ENOENT);

	/* Unknown queries, no buffer, and unimplemented ioctls. */
	uint64_t v;
	assert_int_equal(info(f, 0xEE, &v, sizeof(v), NULL), -EINVAL);
	assert_int_equal(info(f, AMDGPU_INFO_ACCEL_WORKING, NULL, 4, NULL), -EINVAL);
	assert_int_equal(info(f, AMDGPU_INFO_ACCEL_WORKING, &v, 0, NULL), -EINVAL);
	union drm_amdgpu_cs cs;
	memset(&cs, 0, sizeof(cs));
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_CS, &cs), -EINVAL);
}

static uint32_t gem_create(struct sim_fixture *f, uint64_t size, uint64_t domains, uint64_t flags, int *err)
{
	union drm_amdgpu_gem_create c;
	memset(&c, 0, sizeof(c));
	c.in.bo_size = size;
	c.in.alignment = 4096;
	c.in.domains = domains;
	c.in.domain_flags = flags;
	*err = call(&f->ch, DRM_IOCTL_AMDGPU_GEM_CREATE, &c);
	return c.out.handle;
}

static void gem_close(struct sim_fixture *f, uint32_t h)
{
	struct drm_gem_close c = {.handle = h};
	assert_int_equal(call(&f->ch, DRM_IOCTL_GEM_CLOSE, &c), 0);
}

static void test_gem_usage_and_mmap(void **state)
{
	struct sim_fixture *f = *state;
	int err;
	uint64_t vram0 = info_u64(f, AMDGPU_INFO_VRAM_USAGE), gtt0 = info_u64(f, AMDGPU_INFO_GTT_USAGE);
	uint64_t vis0 = info_u64(f, AMDGPU_INFO_VIS_VRAM_USAGE);

	uint32_t v = gem_create(f, 65536, AMDGPU_GEM_DOMAIN_VRAM, AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED, &err);
	assert_int_equal(err, 0);
	uint32_t g = gem_create(f, 5000, AMDGPU_GEM_DOMAIN_GTT, 0, &err);
	assert_int_equal(err, 0);
	assert_true(info_u64(f, AMDGPU_INFO_VRAM_USAGE) == vram0 + 65536);
	assert_true(info_u64(f, AMDGPU_INFO_VIS_VRAM_USAGE) == vis0 + 65536);
	assert_true(info_u64(f, AMDGPU_INFO_GTT_USAGE) == gtt0 + 8192);

	/* Map through the fake offset, write, and read it back through a second mapping. */
	union drm_amdgpu_gem_mmap mm = {.in.handle = g};
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_MMAP, &mm), 0);
	assert_true(mm.out.addr_ptr != 0);
	/* The harness serves ioctls only: resolve the offset as the transport's MMAP does. */
	int lerr = 0;
	struct drm_gem_object *obj = drm_gem_mmap_lookup(f->file, mm.out.addr_ptr, 8192, &lerr);
	assert_non_null(obj);
	assert_int_equal(drm_gem_mmap_lookup(f->file2, mm.out.addr_ptr, 8192, &lerr) == NULL, 1);
	assert_int_equal(lerr, -EACCES);
	uint8_t *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, obj->memfd, 0);
	assert_true(p != MAP_FAILED);
	assert_int_equal(p[100], 0);
	p[100] = 0x5A;
	/* The same memory the daemon (and the device) sees. */
	assert_int_equal(((uint8_t *)obj->vaddr)[100], 0x5A);
	munmap(p, 8192);
	drm_gem_object_put(obj);

	/* Flag and domain checks. */
	gem_create(f, 4096, AMDGPU_GEM_DOMAIN_GDS, 0, &err);
	assert_int_equal(err, -EINVAL);
	gem_create(f, 4096, AMDGPU_GEM_DOMAIN_VRAM, AMDGPU_GEM_CREATE_ENCRYPTED, &err);
	assert_int_equal(err, -EINVAL);
	gem_create(f, 4096, 0x80, 0, &err);
	assert_int_equal(err, -EINVAL);
	uint32_t hidden = gem_create(f, 4096, AMDGPU_GEM_DOMAIN_VRAM, AMDGPU_GEM_CREATE_NO_CPU_ACCESS, &err);
	assert_int_equal(err, 0);
	union drm_amdgpu_gem_mmap hm = {.in.handle = hidden};
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_MMAP, &hm), -EPERM);
	union drm_amdgpu_gem_mmap none = {.in.handle = 999};
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_MMAP, &none), -ENOENT);

	/* Idle at once, reporting the domain it lives in. */
	union drm_amdgpu_gem_wait_idle w;
	memset(&w, 0, sizeof(w));
	w.in.handle = v;
	w.in.timeout = 1000000;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_WAIT_IDLE, &w), 0);
	assert_int_equal(w.out.status, 0);
	assert_int_equal(w.out.domain, AMDGPU_GEM_DOMAIN_VRAM);

	gem_close(f, v);
	gem_close(f, g);
	gem_close(f, hidden);
	assert_true(info_u64(f, AMDGPU_INFO_VRAM_USAGE) == vram0);
	assert_true(info_u64(f, AMDGPU_INFO_VIS_VRAM_USAGE) == vis0);
	assert_true(info_u64(f, AMDGPU_INFO_GTT_USAGE) == gtt0);
}

static void test_gem_metadata_and_op(void **state)
{
	struct sim_fixture *f = *state;
	int err;
	uint32_t h = gem_create(f, 8192, AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT,
				AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED, &err);
	assert_int_equal(err, 0);

	struct drm_amdgpu_gem_metadata md;
	memset(&md, 0, sizeof(md));
	md.handle = h;
	md.op = AMDGPU_GEM_METADATA_OP_SET_METADATA;
	md.data.tiling_info = 0x1234;
	md.data.flags = 7;
	md.data.data_size_bytes = 12;
	md.data.data[0] = 0xA;
	md.data.data[2] = 0xC;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_METADATA, &md), 0);
	memset(&md, 0, sizeof(md));
	md.handle = h;
	md.op = AMDGPU_GEM_METADATA_OP_GET_METADATA;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_METADATA, &md), 0);
	assert_true(md.data.tiling_info == 0x1234);
	assert_true(md.data.flags == 7);
	assert_int_equal(md.data.data_size_bytes, 12);
	assert_int_equal(md.data.data[0], 0xA);
	assert_int_equal(md.data.data[2], 0xC);
	md.op = AMDGPU_GEM_METADATA_OP_SET_METADATA;
	md.data.data_size_bytes = sizeof(md.data.data) + 4;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_METADATA, &md), -EINVAL);
	md.op = 9;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_METADATA, &md), -EINVAL);

	struct drm_amdgpu_gem_create_in ci;
	memset(&ci, 0xFF, sizeof(ci));
	struct drm_amdgpu_gem_op op = {.handle = h, .op = AMDGPU_GEM_OP_GET_GEM_CREATE_INFO,
				       .value = (uint64_t)(uintptr_t)&ci};
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_OP, &op), 0);
	assert_true(ci.bo_size == 8192);
	assert_true(ci.alignment == 4096);
	assert_true(ci.domains == (AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT));
	assert_true(ci.domain_flags == AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED);

	op = (struct drm_amdgpu_gem_op){.handle = h, .op = AMDGPU_GEM_OP_SET_PLACEMENT,
					.value = AMDGPU_GEM_DOMAIN_GTT};
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_OP, &op), 0);
	op = (struct drm_amdgpu_gem_op){.handle = h, .op = AMDGPU_GEM_OP_GET_GEM_CREATE_INFO,
					.value = (uint64_t)(uintptr_t)&ci};
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_OP, &op), 0);
	assert_true(ci.domains == AMDGPU_GEM_DOMAIN_GTT);
	/* A preference, not a move. */
	assert_true(info_u64(f, AMDGPU_INFO_NUM_BYTES_MOVED) == 0);

	op.op = 5;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_OP, &op), -EINVAL);
	op = (struct drm_amdgpu_gem_op){.handle = 4242, .op = AMDGPU_GEM_OP_SET_PLACEMENT};
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_OP, &op), -ENOENT);
	gem_close(f, h);
}

static int ctx(struct test_channel *ch, uint32_t op, uint32_t id, int32_t prio, union drm_amdgpu_ctx *out)
{
	memset(out, 0, sizeof(*out));
	out->in.op = op;
	out->in.ctx_id = id;
	out->in.priority = prio;
	return rdrm_call(ch->fd, "amdgpu", DRM_IOCTL_AMDGPU_CTX, out);
}

static void test_ctx(void **state)
{
	struct sim_fixture *f = *state;
	union drm_amdgpu_ctx c;
	assert_int_equal(ctx(&f->ch, AMDGPU_CTX_OP_ALLOC_CTX, 0, AMDGPU_CTX_PRIORITY_NORMAL, &c), 0);
	uint32_t id = c.out.alloc.ctx_id;
	assert_true(id >= 1);
	assert_int_equal(ctx(&f->ch, AMDGPU_CTX_OP_ALLOC_CTX, 0, AMDGPU_CTX_PRIORITY_UNSET, &c), 0);
	uint32_t id2 = c.out.alloc.ctx_id;
	assert_true(id2 != id);

	assert_int_equal(ctx(&f->ch, AMDGPU_CTX_OP_QUERY_STATE2, id, 0, &c), 0);
	assert_true(c.out.state.flags == 0);
	assert_int_equal(ctx(&f->ch, AMDGPU_CTX_OP_QUERY_STATE, id, 0, &c), 0);
	assert_int_equal(c.out.state.hangs, 0);
	assert_int_equal(c.out.state.reset_status, AMDGPU_CTX_NO_RESET);

	/* Contexts are per file. */
	assert_int_equal(ctx(&f->ch2, AMDGPU_CTX_OP_QUERY_STATE2, id, 0, &c), -EINVAL);
	assert_int_equal(ctx(&f->ch2, AMDGPU_CTX_OP_FREE_CTX, id, 0, &c), -EINVAL);

	/* Bad priority, raised priority without privilege, unknown op. */
	assert_int_equal(ctx(&f->ch, AMDGPU_CTX_OP_ALLOC_CTX, 0, 77, &c), -EINVAL);
	assert_int_equal(ctx(&f->ch, AMDGPU_CTX_OP_ALLOC_CTX, 0, AMDGPU_CTX_PRIORITY_HIGH, &c), -EACCES);
	assert_int_equal(ctx(&f->ch, 99, id, 0, &c), -EINVAL);

	assert_int_equal(ctx(&f->ch, AMDGPU_CTX_OP_FREE_CTX, id, 0, &c), 0);
	assert_int_equal(ctx(&f->ch, AMDGPU_CTX_OP_FREE_CTX, id, 0, &c), -EINVAL);
	assert_int_equal(ctx(&f->ch, AMDGPU_CTX_OP_QUERY_STATE2, id, 0, &c), -EINVAL);
	/* id2 is left for file release to free. */
	(void)id2;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_version, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_init_queries, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_hw_ip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_info_fw_memory_misc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gem_usage_and_mmap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gem_metadata_and_op, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ctx, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
