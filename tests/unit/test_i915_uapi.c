/*
 * The i915 uAPI through the wire: the Skylake model, the i915 driver loaded on
 * it by the daemon's device code, a render-node file, and a client calling
 * with the real marshaller (so the layouts are exercised too).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <drm.h>
#include <i915_drm.h>

#include "../../drivers/i915/i915.h"
#include "debugfs.h"
#include "harness.h"
#include "redox-drm/client.h"
#include "redox-drm/gem.h"
#include "redox-drm/log.h"

static int setup(void **state)
{
	log_set_level(LOG_ERROR);
	struct sim_fixture *f = sim_fixture_create("i915", 1, 1);
	assert_non_null(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	sim_fixture_destroy(*state);
	return 0;
}

static int call(struct sim_fixture *f, unsigned long cmd, void *arg)
{
	return rdrm_call(f->ch.fd, "i915", cmd, arg);
}

static int getparam(struct sim_fixture *f, int param, int *value)
{
	*value = -12345;
	struct drm_i915_getparam gp = {.param = param, .value = value};
	return call(f, DRM_IOCTL_I915_GETPARAM, &gp);
}

static void test_getparam(void **state)
{
	struct sim_fixture *f = *state;
	struct i915_device *i915 = f->dev->dev_private;
	int v;
	assert_int_equal(getparam(f, I915_PARAM_CHIPSET_ID, &v), 0);
	assert_int_equal(v, 0x1912);
	assert_int_equal(getparam(f, I915_PARAM_REVISION, &v), 0);
	assert_int_equal(v, f->hw->pci.revision);
	/* Topology: what the driver read from the model's fuses (GT2: 1 slice, 3 subslices, 24 EUs). */
	assert_int_equal(getparam(f, I915_PARAM_SLICE_MASK, &v), 0);
	assert_int_equal(v, (int)i915->slice_mask);
	assert_int_equal(v, 0x1);
	assert_int_equal(getparam(f, I915_PARAM_SUBSLICE_MASK, &v), 0);
	assert_int_equal(v, 0x7);
	assert_int_equal(getparam(f, I915_PARAM_SUBSLICE_TOTAL, &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(getparam(f, I915_PARAM_EU_TOTAL, &v), 0);
	assert_int_equal(v, 24);
	assert_int_equal(getparam(f, I915_PARAM_CS_TIMESTAMP_FREQUENCY, &v), 0);
	assert_int_equal(v, 12000000);
	assert_int_equal(getparam(f, I915_PARAM_HAS_CONTEXT_ISOLATION, &v), 0);
	assert_int_equal(v, (1 << I915_ENGINE_CLASS_RENDER) | (1 << I915_ENGINE_CLASS_COPY));
	assert_int_equal(getparam(f, I915_PARAM_MMAP_GTT_VERSION, &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(getparam(f, I915_PARAM_HAS_BLT, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(getparam(f, I915_PARAM_HAS_BSD, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(getparam(f, I915_PARAM_HAS_LLC, &v), 0);
	assert_int_equal(v, 1);
	/* No execbuffer in the table: nobody is told they can submit. */
	assert_int_equal(getparam(f, I915_PARAM_HAS_EXECBUF2, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(getparam(f, I915_PARAM_HAS_EXEC_SOFTPIN, &v), 0);
	assert_int_equal(v, 0);
	/* The kernel's refusals: old UMS params ENODEV, absent firmware ENODEV, unknown EINVAL. */
	assert_int_equal(getparam(f, I915_PARAM_IRQ_ACTIVE, &v), -ENODEV);
	assert_int_equal(getparam(f, I915_PARAM_HUC_STATUS, &v), -ENODEV);
	assert_int_equal(getparam(f, 9999, &v), -EINVAL);
	assert_int_equal(v, -12345);
	/* A NULL value pointer faults, as copy_to_user would. */
	struct drm_i915_getparam gp = {.param = I915_PARAM_CHIPSET_ID, .value = NULL};
	assert_int_equal(call(f, DRM_IOCTL_I915_GETPARAM, &gp), -EFAULT);
}

static void test_driver_numbers_not_served(void **state)
{
	struct sim_fixture *f = *state;
	/* EXECBUFFER2 without buffers and USERPTR of nothing: the kernel's argument checks. */
	struct drm_i915_gem_execbuffer2 eb = {0};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_EXECBUFFER2, &eb), -EINVAL);
	struct drm_i915_gem_userptr up = {0};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_USERPTR, &up), -EINVAL);
}

static int query1(struct sim_fixture *f, struct drm_i915_query_item *item)
{
	struct drm_i915_query q = {.num_items = 1, .items_ptr = (uintptr_t)item};
	return call(f, DRM_IOCTL_I915_QUERY, &q);
}

static void test_query_topology(void **state)
{
	struct sim_fixture *f = *state;
	struct drm_i915_query_item item = {.query_id = DRM_I915_QUERY_TOPOLOGY_INFO};
	assert_int_equal(query1(f, &item), 0);
	assert_int_equal(item.length, (int)sizeof(struct drm_i915_query_topology_info) + 1 + 3 + 12);

	uint8_t buf[64];
	memset(buf, 0xAA, sizeof(buf));
	memset(buf, 0, sizeof(struct drm_i915_query_topology_info));
	item.data_ptr = (uintptr_t)buf;
	/* Too short a buffer is EINVAL in the item. */
	int32_t want = item.length;
	item.length = want - 1;
	assert_int_equal(query1(f, &item), 0);
	assert_int_equal(item.length, -EINVAL);
	item.length = want;
	assert_int_equal(query1(f, &item), 0);
	assert_int_equal(item.length, want);
	struct drm_i915_query_topology_info topo;
	memcpy(&topo, buf, sizeof(topo));
	assert_int_equal(topo.max_slices, 3);
	assert_int_equal(topo.max_subslices, 4);
	assert_int_equal(topo.max_eus_per_subslice, 8);
	assert_int_equal(topo.subslice_offset, 1);
	assert_int_equal(topo.subslice_stride, 1);
	assert_int_equal(topo.eu_offset, 4);
	assert_int_equal(topo.eu_stride, 1);
	const uint8_t expect[16] = {0x01, 0x07, 0, 0, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 0, 0, 0, 0, 0};
	assert_memory_equal(buf + sizeof(topo), expect, sizeof(expect));
	assert_int_equal(buf[want], 0xAA); /* nothing past the item */

	/* A negative length is the item's EINVAL too, not the call's. */
	item.length = -5;
	assert_int_equal(query1(f, &item), 0);
	assert_int_equal(item.length, -EINVAL);

	/* Item flags and header flags must be zero. */
	item.flags = 1;
	assert_int_equal(query1(f, &item), 0);
	assert_int_equal(item.length, -EINVAL);
}

static void test_query_engines_memory_and_refusals(void **state)
{
	struct sim_fixture *f = *state;
	uint8_t ebuf[256] = {0}, mbuf[512] = {0};
	struct drm_i915_query_item items[4] = {
		{.query_id = DRM_I915_QUERY_ENGINE_INFO, .length = sizeof(ebuf), .data_ptr = (uintptr_t)ebuf},
		{.query_id = DRM_I915_QUERY_MEMORY_REGIONS, .length = sizeof(mbuf), .data_ptr = (uintptr_t)mbuf},
		{.query_id = DRM_I915_QUERY_HWCONFIG_BLOB},
		{.query_id = 999},
	};
	struct drm_i915_query q = {.num_items = 4, .items_ptr = (uintptr_t)items};
	assert_int_equal(call(f, DRM_IOCTL_I915_QUERY, &q), 0);
	assert_int_equal(items[0].length,
			 (int)(sizeof(struct drm_i915_query_engine_info) + 2 * sizeof(struct drm_i915_engine_info)));
	assert_int_equal(items[1].length, (int)(sizeof(struct drm_i915_query_memory_regions) +
						sizeof(struct drm_i915_memory_region_info)));
	assert_int_equal(items[2].length, -ENODEV);
	assert_int_equal(items[3].length, -EINVAL);

	struct drm_i915_query_engine_info ei;
	memcpy(&ei, ebuf, sizeof(ei));
	assert_int_equal(ei.num_engines, 2);
	struct drm_i915_engine_info e[2];
	memcpy(e, ebuf + sizeof(ei), sizeof(e));
	assert_int_equal(e[0].engine.engine_class, I915_ENGINE_CLASS_RENDER);
	assert_int_equal(e[1].engine.engine_class, I915_ENGINE_CLASS_COPY);
	assert_int_equal(e[1].engine.engine_instance, 0);
	assert_true(e[0].flags & I915_ENGINE_INFO_HAS_LOGICAL_INSTANCE);

	struct drm_i915_query_memory_regions mr;
	memcpy(&mr, mbuf, sizeof(mr));
	assert_int_equal(mr.num_regions, 1);
	struct drm_i915_memory_region_info m;
	memcpy(&m, mbuf + sizeof(mr), sizeof(m));
	assert_int_equal(m.region.memory_class, I915_MEMORY_CLASS_SYSTEM);
	assert_true(m.probed_size > 0);

	/* An input header that is not zero is refused in the item. */
	memset(ebuf, 0, sizeof(ebuf));
	ebuf[0] = 1; /* num_engines */
	items[0].length = sizeof(ebuf);
	assert_int_equal(query1(f, &items[0]), 0);
	assert_int_equal(items[0].length, -EINVAL);

	/* Whole-ioctl refusals: query flags, query id 0. */
	q.flags = 1;
	assert_int_equal(call(f, DRM_IOCTL_I915_QUERY, &q), -EINVAL);
	struct drm_i915_query_item zero = {0};
	assert_int_equal(query1(f, &zero), -EINVAL);
}

static uint32_t create(struct sim_fixture *f, uint64_t size, uint64_t *out_size)
{
	struct drm_i915_gem_create c = {.size = size};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CREATE, &c), 0);
	if (out_size)
		*out_size = c.size;
	return c.handle;
}

static void test_gem_objects(void **state)
{
	struct sim_fixture *f = *state;
	uint64_t size;
	uint32_t h = create(f, 5000, &size);
	assert_int_equal(size, 8192);
	struct drm_i915_gem_create zero = {.size = 0};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CREATE, &zero), -EINVAL);
	/* Memory from the device's DMA allocator, so the GPU can reach it. */
	struct drm_gem_object *obj = drm_gem_object_lookup(f->file, h);
	assert_non_null(obj);
	assert_non_null(obj->dma.cpu);
	drm_gem_object_put(obj);

	struct drm_i915_gem_mmap_offset mo = {.handle = h, .flags = I915_MMAP_OFFSET_WB};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_MMAP_OFFSET, &mo), 0);
	assert_true(mo.offset != 0 && mo.offset % 4096 == 0);
	mo.flags = I915_MMAP_OFFSET_FIXED;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_MMAP_OFFSET, &mo), -ENODEV);
	mo.flags = 77;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_MMAP_OFFSET, &mo), -EINVAL);
	mo = (struct drm_i915_gem_mmap_offset){.handle = h + 100, .flags = I915_MMAP_OFFSET_WC};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_MMAP_OFFSET, &mo), -ENOENT);

	/* The older MMAP_GTT shares the number with a shorter struct: a GTT offset, the same pages. */
	uint32_t linear = create(f, 4096, NULL);
	struct drm_i915_gem_mmap_gtt mg = {.handle = linear};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_MMAP_GTT, &mg), 0);
	assert_true(mg.offset != 0);
	/* ...after which it cannot become tiled: that view would show the tiles. */
	struct drm_i915_gem_set_tiling tl = {.handle = linear, .tiling_mode = I915_TILING_X, .stride = 512};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_SET_TILING, &tl), -EBUSY);
	/* A tiled object has no detiling GTT view here. */
	uint32_t tiled = create(f, 4096, NULL);
	struct drm_i915_gem_set_tiling tx = {.handle = tiled, .tiling_mode = I915_TILING_Y, .stride = 128};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_SET_TILING, &tx), 0);
	mo = (struct drm_i915_gem_mmap_offset){.handle = tiled, .flags = I915_MMAP_OFFSET_GTT};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_MMAP_OFFSET, &mo), -ENODEV);
	mo.flags = I915_MMAP_OFFSET_WC;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_MMAP_OFFSET, &mo), 0);

	struct drm_i915_gem_get_aperture ap = {0};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_GET_APERTURE, &ap), 0);
	assert_int_equal(ap.aper_size, ((struct i915_device *)f->dev->dev_private)->ggtt_size);
	assert_true(ap.aper_available_size <= ap.aper_size);

	struct drm_i915_gem_set_domain sd = {.handle = h, .read_domains = I915_GEM_DOMAIN_CPU,
					     .write_domain = I915_GEM_DOMAIN_CPU};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_SET_DOMAIN, &sd), 0);
	sd.read_domains = sd.write_domain = I915_GEM_DOMAIN_RENDER;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_SET_DOMAIN, &sd), -EINVAL);
	struct drm_i915_gem_sw_finish sf = {.handle = h};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_SW_FINISH, &sf), 0);

	struct drm_i915_gem_set_tiling st = {.handle = h, .tiling_mode = I915_TILING_X, .stride = 512};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_SET_TILING, &st), 0);
	assert_int_equal(st.swizzle_mode, I915_BIT_6_SWIZZLE_NONE);
	struct drm_i915_gem_get_tiling gt = {.handle = h};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_GET_TILING, &gt), 0);
	assert_int_equal(gt.tiling_mode, I915_TILING_X);
	assert_int_equal(gt.swizzle_mode, I915_BIT_6_SWIZZLE_NONE);
	st = (struct drm_i915_gem_set_tiling){.handle = h, .tiling_mode = I915_TILING_Y, .stride = 100};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_SET_TILING, &st), -EINVAL);

	struct drm_i915_gem_caching ca = {.handle = h};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_GET_CACHING, &ca), 0);
	assert_int_equal(ca.caching, I915_CACHING_CACHED);
	ca.caching = I915_CACHING_DISPLAY;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_SET_CACHING, &ca), 0);
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_GET_CACHING, &ca), 0);
	assert_int_equal(ca.caching, I915_CACHING_NONE);
	ca.caching = 9;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_SET_CACHING, &ca), -EINVAL);

	struct drm_i915_gem_madvise ma = {.handle = h, .madv = I915_MADV_DONTNEED};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_MADVISE, &ma), 0);
	assert_int_equal(ma.retained, 1);
	ma.madv = 7;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_MADVISE, &ma), -EINVAL);

	struct drm_i915_gem_busy bu = {.handle = h, .busy = 0xdead};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_BUSY, &bu), 0);
	assert_int_equal(bu.busy, 0);
	bu.handle = 4242;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_BUSY, &bu), -ENOENT);

	struct drm_i915_gem_wait w = {.bo_handle = h, .timeout_ns = 1000000000};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_WAIT, &w), 0);
	assert_true(w.timeout_ns > 0 && w.timeout_ns <= 1000000000);
	w.timeout_ns = -1;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_WAIT, &w), 0);
	assert_int_equal(w.timeout_ns, -1);
	w.flags = 1;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_WAIT, &w), -EINVAL);
}

static void test_contexts(void **state)
{
	struct sim_fixture *f = *state;
	struct drm_i915_gem_context_create cc = {0};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_CREATE, &cc), 0);
	assert_int_equal(cc.ctx_id, 1);
	/* An unknown extension, and unknown flags. */
	struct i915_user_extension bogus = {.name = 99};
	struct drm_i915_gem_context_create_ext ce = {.flags = I915_CONTEXT_CREATE_FLAGS_USE_EXTENSIONS,
						     .extensions = (uintptr_t)&bogus};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &ce), -EINVAL);
	bogus = (struct i915_user_extension){.name = I915_CONTEXT_CREATE_EXT_CLONE};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &ce), -EINVAL); /* gone from the kernel */
	ce = (struct drm_i915_gem_context_create_ext){.flags = 1u << 5};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &ce), -EINVAL);

	struct drm_i915_gem_context_param p = {.ctx_id = 0, .param = I915_CONTEXT_PARAM_GTT_SIZE};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), 0);
	assert_int_equal(p.value, 1ull << 48);
	p = (struct drm_i915_gem_context_param){.ctx_id = cc.ctx_id, .param = I915_CONTEXT_PARAM_RECOVERABLE};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), 0);
	assert_int_equal(p.value, 1);
	p.value = 0;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), 0);
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), 0);
	assert_int_equal(p.value, 0);
	/* Unbannable needs privilege; the caller runs as uid 1000. */
	p = (struct drm_i915_gem_context_param){.ctx_id = cc.ctx_id, .param = I915_CONTEXT_PARAM_BANNABLE};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), -EPERM);
	/* Priority: below normal is anyone's, above needs privilege, outside the range is invalid. */
	p = (struct drm_i915_gem_context_param){.ctx_id = cc.ctx_id, .param = I915_CONTEXT_PARAM_PRIORITY,
						.value = (uint64_t)-5};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), 0);
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), 0);
	assert_int_equal((int64_t)p.value, -5);
	p.value = 1;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), -EPERM);
	p.value = (uint64_t)-2000;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), -EINVAL);
	p.value = 0;
	p.size = 4;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), -EINVAL);
	/* Persistence stays on (no preempt-to-idle to cancel with); removed parameters are gone. */
	p = (struct drm_i915_gem_context_param){.ctx_id = cc.ctx_id, .param = I915_CONTEXT_PARAM_PERSISTENCE};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), -ENODEV);
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), 0);
	assert_int_equal(p.value, 1);
	p = (struct drm_i915_gem_context_param){.ctx_id = cc.ctx_id, .param = I915_CONTEXT_PARAM_RINGSIZE,
						.value = 8192};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), -EINVAL);
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), -EINVAL);
	p = (struct drm_i915_gem_context_param){.ctx_id = cc.ctx_id, .param = I915_CONTEXT_PARAM_NO_ERROR_CAPTURE,
						.value = 1};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), 0);
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), 0);
	assert_int_equal(p.value, 1);
	p = (struct drm_i915_gem_context_param){.ctx_id = 0, .param = I915_CONTEXT_PARAM_GTT_SIZE, .value = 4096};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), -EINVAL);
	p = (struct drm_i915_gem_context_param){.ctx_id = 77, .param = I915_CONTEXT_PARAM_GTT_SIZE};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), -ENOENT);

	struct drm_i915_reset_stats rs = {.ctx_id = cc.ctx_id, .reset_count = 5};
	assert_int_equal(call(f, DRM_IOCTL_I915_GET_RESET_STATS, &rs), 0);
	assert_int_equal(rs.reset_count, 0);
	assert_int_equal(rs.batch_active, 0);
	assert_int_equal(rs.batch_pending, 0);
	rs.flags = 1;
	assert_int_equal(call(f, DRM_IOCTL_I915_GET_RESET_STATS, &rs), -EINVAL);

	struct drm_i915_gem_context_destroy cd = {.ctx_id = cc.ctx_id};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_DESTROY, &cd), 0);
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_DESTROY, &cd), -ENOENT);
	cd.ctx_id = 0;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_DESTROY, &cd), -ENOENT);
	/* A context left alive is freed when the file closes (ASan would tell). */
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_CREATE, &cc), 0);
}

/* Engine maps, VMs and SSEU: set while a context is new, fixed once it is used. */
static void test_context_engines_and_vms(void **state)
{
	struct sim_fixture *f = *state;
	I915_DEFINE_CONTEXT_PARAM_ENGINES(engines, 3) = {
		.engines = {{I915_ENGINE_CLASS_COPY, 0},
			    {(uint16_t)I915_ENGINE_CLASS_INVALID, (uint16_t)I915_ENGINE_CLASS_INVALID_NONE},
			    {I915_ENGINE_CLASS_RENDER, 0}}};
	struct drm_i915_gem_context_create_ext_setparam sp = {
		.base = {.name = I915_CONTEXT_CREATE_EXT_SETPARAM},
		.param = {.param = I915_CONTEXT_PARAM_ENGINES, .size = sizeof(engines), .value = (uintptr_t)&engines}};
	struct drm_i915_gem_context_create_ext ce = {
		.flags = I915_CONTEXT_CREATE_FLAGS_USE_EXTENSIONS | I915_CONTEXT_CREATE_FLAGS_SINGLE_TIMELINE,
		.extensions = (uintptr_t)&sp};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &ce), 0);
	uint32_t ctx = ce.ctx_id;

	/* A class the device lacks, a size that is no engine array, load balancing, ctx_id set. */
	engines.engines[0].engine_class = I915_ENGINE_CLASS_VIDEO;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &ce), -ENOENT);
	engines.engines[0].engine_class = I915_ENGINE_CLASS_COPY;
	sp.param.size = sizeof(engines) - 2;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &ce), -EINVAL);
	sp.param.size = sizeof(engines);
	struct i915_user_extension balance = {.name = I915_CONTEXT_ENGINES_EXT_LOAD_BALANCE};
	engines.extensions = (uintptr_t)&balance;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &ce), -EINVAL);
	engines.extensions = 0;
	sp.param.ctx_id = 1;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &ce), -EINVAL);
	sp.param.ctx_id = 0;

	/* VMs: ids from 1; a new context may take one; unknown ids are ENOENT. */
	struct drm_i915_gem_vm_control vc = {0};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_VM_CREATE, &vc), 0);
	assert_int_equal(vc.vm_id, 1);
	struct drm_i915_gem_vm_control bad = {.flags = 1};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_VM_CREATE, &bad), -EINVAL);
	struct i915_user_extension vmext = {.name = 0};
	bad = (struct drm_i915_gem_vm_control){.extensions = (uintptr_t)&vmext};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_VM_CREATE, &bad), -EINVAL);
	struct drm_i915_gem_context_param p = {.ctx_id = ctx, .param = I915_CONTEXT_PARAM_VM, .value = 7};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), -ENOENT);
	p.value = vc.vm_id;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), 0);
	/* Engines only once. */
	p = (struct drm_i915_gem_context_param){.ctx_id = ctx, .param = I915_CONTEXT_PARAM_ENGINES,
						.size = sizeof(engines), .value = (uintptr_t)&engines};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), -EINVAL);

	/* SSEU through the engine map: index 0 (the blitter); slot 1 is empty. */
	struct drm_i915_gem_context_param_sseu sseu = {.engine = {0, 0},
						       .flags = I915_CONTEXT_SSEU_FLAG_ENGINE_INDEX};
	p = (struct drm_i915_gem_context_param){.ctx_id = ctx, .param = I915_CONTEXT_PARAM_SSEU};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), 0);
	assert_int_equal(p.size, sizeof(sseu));
	p.value = (uintptr_t)&sseu;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), 0);
	struct i915_device *i915 = f->dev->dev_private;
	assert_int_equal(sseu.slice_mask, i915->slice_mask);
	assert_int_equal(sseu.subslice_mask, i915->subslice_mask);
	assert_int_equal(sseu.max_eus_per_subslice, i915->eu_per_subslice);
	sseu.engine.engine_instance = 1;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), -EINVAL);
	sseu.engine.engine_instance = 0;
	sseu.flags = 0; /* class/instance only for contexts without a map */
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), -EINVAL);
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), -ENODEV); /* gen11 only */

	/* Used (GETPARAM above): the VM is fixed now. */
	p = (struct drm_i915_gem_context_param){.ctx_id = ctx, .param = I915_CONTEXT_PARAM_VM, .value = vc.vm_id};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), -EINVAL);
	/* Reading it gives a new id of the same VM, as the kernel. */
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), 0);
	assert_int_equal(p.value, 2);
	struct drm_i915_gem_vm_control vd = {.vm_id = vc.vm_id};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_VM_DESTROY, &vd), 0);
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_VM_DESTROY, &vd), -ENOENT);
	vd.vm_id = 2;
	vd.flags = 1;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_VM_DESTROY, &vd), -EINVAL);
	vd.flags = 0;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_VM_DESTROY, &vd), 0);
	/* The default context's VM, too, is the file's to name. */
	p = (struct drm_i915_gem_context_param){.ctx_id = 0, .param = I915_CONTEXT_PARAM_VM};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &p), 0);
	assert_true(p.value >= 1);
	p.value = 1;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), -EINVAL);
}

static void test_reg_read_timestamp(void **state)
{
	struct sim_fixture *f = *state;
	struct drm_i915_reg_read r1 = {.offset = RING_TIMESTAMP(RENDER_RING_BASE) | I915_REG_READ_8B_WA};
	assert_int_equal(call(f, DRM_IOCTL_I915_REG_READ, &r1), 0);
	struct timespec ts = {0, 2000000};
	nanosleep(&ts, NULL);
	struct drm_i915_reg_read r2 = {.offset = RING_TIMESTAMP(RENDER_RING_BASE)};
	assert_int_equal(call(f, DRM_IOCTL_I915_REG_READ, &r2), 0);
	/* 2 ms at 12 MHz is 24000 ticks; the model's counter runs with the clock. */
	assert_true(r2.val > r1.val);
	assert_true(r2.val - r1.val >= 20000);
	struct drm_i915_reg_read bad = {.offset = 0x9120}; /* the fuses are not on the list */
	assert_int_equal(call(f, DRM_IOCTL_I915_REG_READ, &bad), -EINVAL);
	bad.offset = RING_TIMESTAMP(RENDER_RING_BASE) | 2;
	assert_int_equal(call(f, DRM_IOCTL_I915_REG_READ, &bad), -EINVAL);
}

/*
 * EXECBUFFER2's checks of the call itself, through the wire (this fixture runs no event loop, so
 * nothing executes here; tests/i915/i915_exec.c runs batches). rsvd2's halves are fds only when
 * their flags say so: otherwise they come back exactly as sent.
 */
static void test_execbuf_checks(void **state)
{
	struct sim_fixture *f = *state;
	struct drm_i915_gem_exec_object2 obj = {.handle = 1};
	struct drm_i915_gem_execbuffer2 eb = {.buffers_ptr = (uintptr_t)&obj, .buffer_count = 0,
					      .rsvd2 = 0x12345678ull << 32 | 0x9abcdef0ull};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_EXECBUFFER2_WR, &eb), -EINVAL);
	assert_int_equal(eb.rsvd2, 0x12345678ull << 32 | 0x9abcdef0ull);
	eb.buffer_count = 1;
	eb.num_cliprects = 1;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_EXECBUFFER2_WR, &eb), -EINVAL);
	eb.num_cliprects = 0;
	eb.batch_len = 12;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_EXECBUFFER2_WR, &eb), -EINVAL);
	eb.batch_len = 0;
	eb.DR4 = 1;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_EXECBUFFER2_WR, &eb), -EINVAL);
	eb.DR4 = 0;
	eb.flags = I915_EXEC_SECURE;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_EXECBUFFER2, &eb), -EPERM);
	eb.flags = I915_EXEC_CONSTANTS_ABSOLUTE;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_EXECBUFFER2, &eb), -EINVAL);
	/* An unknown context before anything else about the objects. */
	eb.flags = 0;
	eb.rsvd1 = 55;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_EXECBUFFER2_WR, &eb), -ENOENT);
	assert_int_equal(eb.rsvd2, 0x12345678ull << 32 | 0x9abcdef0ull);
	/* A chain of more than 512 extensions is refused as the kernel's (E2BIG). */
	struct i915_user_extension loop = {.name = 0};
	loop.next_extension = (uintptr_t)&loop;
	struct drm_i915_gem_vm_control vc = {.extensions = (uintptr_t)&loop};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_VM_CREATE, &vc), -EINVAL); /* no kind known: the first */
	struct drm_i915_gem_context_create_ext_setparam sp = {
		.base = {.name = I915_CONTEXT_CREATE_EXT_SETPARAM},
		.param = {.param = I915_CONTEXT_PARAM_RECOVERABLE, .value = 1}};
	sp.base.next_extension = (uintptr_t)&sp;
	struct drm_i915_gem_context_create_ext ce = {.flags = I915_CONTEXT_CREATE_FLAGS_USE_EXTENSIONS,
						     .extensions = (uintptr_t)&sp};
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &ce), -E2BIG);
	sp.base.next_extension = 0;
	sp.base.flags = 1;
	assert_int_equal(call(f, DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &ce), -EINVAL); /* mbz */
}

/* debugfs writes: parsed as the kernel's simple attributes, root's (or the daemon's user's) only. */
static void test_debugfs_writes(void **state)
{
	struct sim_fixture *f = *state;
	uint64_t v = 0;
	assert_int_equal(drm_debugfs_parse_u64("0x5c", 4, &v), 0);
	assert_int_equal(v, 0x5c);
	assert_int_equal(drm_debugfs_parse_u64("0x3ff\n", 6, &v), 0);
	assert_int_equal(v, 0x3ff);
	assert_int_equal(drm_debugfs_parse_u64("017", 3, &v), 0);
	assert_int_equal(v, 15);
	assert_int_equal(drm_debugfs_parse_u64("+12", 3, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(drm_debugfs_parse_u64("18446744073709551615", 20, &v), 0);
	assert_int_equal(v, UINT64_MAX);
	assert_int_equal(drm_debugfs_parse_u64("18446744073709551616", 20, &v), -ERANGE);
	assert_int_equal(drm_debugfs_parse_u64("", 0, &v), -EINVAL);
	assert_int_equal(drm_debugfs_parse_u64("\n", 1, &v), -EINVAL);
	assert_int_equal(drm_debugfs_parse_u64("0x", 2, &v), -EINVAL);
	assert_int_equal(drm_debugfs_parse_u64("12 ", 3, &v), -EINVAL);
	assert_int_equal(drm_debugfs_parse_u64("-1", 2, &v), -EINVAL);
	assert_int_equal(drm_debugfs_parse_u64("08", 2, &v), -EINVAL);
	/* Only the first 23 bytes count: a longer number is cut there. */
	assert_int_equal(drm_debugfs_parse_u64("000000000000000000000001", 24, &v), 0);
	assert_int_equal(v, 0);

	struct rdrm_wire_attr_write w = {.name = "i915_gem_drop_caches", .len = 4, .data = "0x5c"};
	struct drm_call call;
	drm_call_init(&call, NULL, 10, 0);
	assert_int_equal(drm_debugfs_dispatch(&call, RDRM_IOC_ATTR_WRITE, &w, f->file), 0); /* idle at once */
	w.len = 3;
	memcpy(w.data, "xyz", 3);
	assert_int_equal(drm_debugfs_dispatch(&call, RDRM_IOC_ATTR_WRITE, &w, f->file), -EINVAL);
	w.len = 4;
	memcpy(w.data, "0x5c", 4);
	strcpy(w.name, "name");
	assert_int_equal(drm_debugfs_dispatch(&call, RDRM_IOC_ATTR_WRITE, &w, f->file), -ENOENT);
	w.len = sizeof(w.data) + 1;
	assert_int_equal(drm_debugfs_dispatch(&call, RDRM_IOC_ATTR_WRITE, &w, f->file), -EINVAL);
	drm_call_fini(&call);
	/* Another user than root and the daemon's own. */
	drm_call_init(&call, NULL, 10, geteuid() + 1);
	strcpy(w.name, "i915_gem_drop_caches");
	w.len = 4;
	assert_int_equal(drm_debugfs_dispatch(&call, RDRM_IOC_ATTR_WRITE, &w, f->file), -EACCES);
	drm_call_fini(&call);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_getparam, setup, teardown),
		cmocka_unit_test_setup_teardown(test_driver_numbers_not_served, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_topology, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_engines_memory_and_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gem_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_contexts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_context_engines_and_vms, setup, teardown),
		cmocka_unit_test_setup_teardown(test_execbuf_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reg_read_timestamp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_debugfs_writes, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
