/*
 * i915 uAPI: the parameters and queries device discovery and iris/IGT
 * initialisation ask for, contexts, register reads, and the driver ioctl
 * table. Answers come from what the driver read from the device at load
 * (fuses, PCI ids, GGTT size), never from constants standing in for them.
 * GEM object ioctls are in i915_gem.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <drm.h>
#include <i915_drm.h>

#include "i915.h"
#include "i915_uapi.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/drm_ioctl.h"
#include "redox-drm/hw.h"
#include "redox-drm/idr.h"

_Static_assert(I915_NUM_IOCTLS == DRM_I915_GEM_VM_DESTROY + 1, "I915_NUM_IOCTLS must cover the table");

/* ---- GETPARAM ---- */

/* Engines offered to clients: those that came up and passed their self-test at load. */
static bool has_engine(const struct i915_device *i915, uint16_t class)
{
	for (unsigned i = 0; i < I915_NUM_ENGINES; i++)
		if (i915->engine[i].ready && i915->engine[i].uabi_class == class)
			return true;
	return false;
}

static unsigned ready_engines(const struct i915_device *i915)
{
	unsigned n = 0;
	for (unsigned i = 0; i < I915_NUM_ENGINES; i++)
		n += i915->engine[i].ready;
	return n;
}

/* Command submission is offered when some engine has a scheduler. */
static int can_submit(struct i915_device *i915)
{
	for (unsigned i = 0; i < I915_NUM_ENGINES; i++)
		if (i915_exec_sched(i915, (enum i915_engine_id)i))
			return 1;
	return 0;
}

static int i915_getparam_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)file;
	struct i915_device *i915 = dev->dev_private;
	struct drm_i915_getparam *gp = data;
	int value;

	switch (gp->param) {
	case I915_PARAM_IRQ_ACTIVE:
	case I915_PARAM_ALLOW_BATCHBUFFER:
	case I915_PARAM_LAST_DISPATCH:
	case I915_PARAM_HAS_EXEC_CONSTANTS:
		/* User-modesetting era parameters: the kernel refuses them as gone. */
		return -ENODEV;
	case I915_PARAM_CHIPSET_ID:
		value = dev->hw->pci.device;
		break;
	case I915_PARAM_REVISION:
		value = dev->hw->pci.revision;
		break;
	case I915_PARAM_HAS_BSD:
	case I915_PARAM_HAS_BSD2:
		value = has_engine(i915, I915_ENGINE_CLASS_VIDEO);
		break;
	case I915_PARAM_HAS_BLT:
		value = has_engine(i915, I915_ENGINE_CLASS_COPY);
		break;
	case I915_PARAM_HAS_VEBOX:
		value = has_engine(i915, I915_ENGINE_CLASS_VIDEO_ENHANCE);
		break;
	case I915_PARAM_HAS_OVERLAY:
	case I915_PARAM_HAS_WT:             /* only Haswell GT3's eDRAM has write-through */
	case I915_PARAM_HAS_SECURE_BATCHES: /* pre-gen6 only */
	case I915_PARAM_HAS_RESOURCE_STREAMER:
	case I915_PARAM_HAS_POOLED_EU:      /* Broxton only */
	case I915_PARAM_MIN_EU_IN_POOL:
	case I915_PARAM_CMD_PARSER_VERSION: /* the driver validates no batches */
	case I915_PARAM_HAS_SEMAPHORES:
		value = 0;
		break;
	case I915_PARAM_HAS_GPU_RESET:
		/* 2: engines are reset one by one (a hung batch costs only its engine). */
		value = can_submit(i915) ? 2 : 0;
		break;
	case I915_PARAM_HAS_SCHEDULER:
		/* Jobs are ordered by dependencies and picked by context priority; no preemption. */
		value = can_submit(i915) ? (int)(I915_SCHEDULER_CAP_ENABLED | I915_SCHEDULER_CAP_PRIORITY) : 0;
		break;
	case I915_PARAM_HAS_LLC:
		value = 1; /* Skylake's GPU shares the CPU's last-level cache */
		break;
	case I915_PARAM_HAS_ALIASING_PPGTT:
		/* Full 48-bit PPGTT: every context (or VM_CREATE) gets its own page tables. */
		value = I915_GEM_PPGTT_FULL;
		break;
	case I915_PARAM_SUBSLICE_TOTAL:
		value = (int)i915->subslice_total;
		if (!value)
			return -ENODEV;
		break;
	case I915_PARAM_EU_TOTAL:
		value = (int)i915->eu_total;
		if (!value)
			return -ENODEV;
		break;
	case I915_PARAM_SLICE_MASK:
		value = (int)i915->slice_mask;
		if (!value)
			return -ENODEV;
		break;
	case I915_PARAM_SUBSLICE_MASK:
		value = (int)i915->subslice_mask;
		if (!value)
			return -ENODEV;
		break;
	case I915_PARAM_HUC_STATUS:
		return -ENODEV; /* no HuC firmware */
	case I915_PARAM_MMAP_GTT_VERSION:
		value = 4; /* GEM_MMAP_OFFSET with its WB/WC/UC/FIXED modes */
		break;
	case I915_PARAM_HAS_GEM:
	case I915_PARAM_HAS_PAGEFLIPPING:
	case I915_PARAM_HAS_WAIT_TIMEOUT:
	case I915_PARAM_HAS_PRIME_VMAP_FLUSH:
		value = 1;
		break;
	case I915_PARAM_HAS_EXECBUF2:
	case I915_PARAM_HAS_RELAXED_FENCING:
	case I915_PARAM_HAS_COHERENT_RINGS:
	case I915_PARAM_HAS_RELAXED_DELTA:
	case I915_PARAM_HAS_GEN7_SOL_RESET:
	case I915_PARAM_HAS_PINNED_BATCHES:
	case I915_PARAM_HAS_EXEC_NO_RELOC:
	case I915_PARAM_HAS_EXEC_HANDLE_LUT:
	case I915_PARAM_HAS_COHERENT_PHYS_GTT:
	case I915_PARAM_HAS_EXEC_SOFTPIN:
	case I915_PARAM_HAS_EXEC_ASYNC:
	case I915_PARAM_HAS_EXEC_FENCE:
	case I915_PARAM_HAS_EXEC_CAPTURE:
	case I915_PARAM_HAS_EXEC_BATCH_FIRST:
	case I915_PARAM_HAS_EXEC_FENCE_ARRAY:
	case I915_PARAM_HAS_EXEC_SUBMIT_FENCE:
	case I915_PARAM_HAS_EXEC_TIMELINE_FENCES:
		/* What EXECBUFFER2 serves, when an engine came up to run it. */
		value = can_submit(i915);
		break;
	case I915_PARAM_HAS_USERPTR_PROBE:
		value = 1; /* USERPTR knows the PROBE flag (its objects are unavailable: ENODEV, i915_gem_cpu.c) */
		break;
	case I915_PARAM_HAS_CONTEXT_ISOLATION:
		/* Engine classes whose contexts start from a clean default image. Not 0:
		 * iris reads 0 as a kernel too old to use. */
		value = 0;
		for (unsigned i = 0; i < I915_NUM_ENGINES; i++)
			if (i915->engine[i].ready)
				value |= 1 << i915->engine[i].uabi_class;
		break;
	case I915_PARAM_CS_TIMESTAMP_FREQUENCY:
		value = I915_CS_TIMESTAMP_HZ;
		break;
	case I915_PARAM_MMAP_GTT_COHERENT:
		value = 1; /* Skylake's GGTT writes through the aperture are coherent */
		break;
	default:
		return -EINVAL;
	}
	return drm_copy_to_user(call, gp->value ? (uint64_t)(uintptr_t)gp->value : 0, &value, sizeof(value));
}

/* ---- QUERY ---- */

/*
 * The kernel's item protocol: length 0 asks for the size; a shorter buffer is
 * -EINVAL; otherwise the header is read from the client first (so its input
 * fields can be checked). Returns 0 to go on, or the item's answer.
 */
static int query_item_begin(struct drm_call *call, const struct drm_i915_query_item *item, void *hdr,
			    size_t hdr_size, int32_t total)
{
	if (item->length == 0)
		return total;
	if (item->length < total)
		return -EINVAL;
	if (drm_copy_from_user(call, hdr, item->data_ptr, hdr_size))
		return -EFAULT;
	return 0;
}

static int query_topology(struct i915_device *i915, struct drm_call *call, const struct drm_i915_query_item *item)
{
	enum {
		SS_STRIDE = (GEN9_MAX_SUBSLICES + 7) / 8,
		EU_STRIDE = (GEN9_MAX_EUS_PER_SUBSLICE + 7) / 8,
		SLICE_LEN = 1,
		SS_LEN = GEN9_MAX_SLICES * SS_STRIDE,
		EU_LEN = GEN9_MAX_SLICES * GEN9_MAX_SUBSLICES * EU_STRIDE,
	};
	struct drm_i915_query_topology_info topo;
	int32_t total = (int32_t)(sizeof(topo) + SLICE_LEN + SS_LEN + EU_LEN);
	if (item->flags)
		return -EINVAL;
	int r = query_item_begin(call, item, &topo, sizeof(topo), total);
	if (r)
		return r;
	if (topo.flags)
		return -EINVAL;

	uint8_t buf[sizeof(topo) + SLICE_LEN + SS_LEN + EU_LEN];
	memset(&topo, 0, sizeof(topo));
	topo.max_slices = GEN9_MAX_SLICES;
	topo.max_subslices = GEN9_MAX_SUBSLICES;
	topo.max_eus_per_subslice = GEN9_MAX_EUS_PER_SUBSLICE;
	topo.subslice_offset = SLICE_LEN;
	topo.subslice_stride = SS_STRIDE;
	topo.eu_offset = SLICE_LEN + SS_LEN;
	topo.eu_stride = EU_STRIDE;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &topo, sizeof(topo));
	uint8_t *d = buf + sizeof(topo);
	d[0] = (uint8_t)i915->slice_mask;
	for (unsigned s = 0; s < GEN9_MAX_SLICES; s++) {
		if (!(i915->slice_mask & (1u << s)))
			continue; /* a fused-off slice has no subslices and no EUs */
		d[SLICE_LEN + s * SS_STRIDE] = (uint8_t)i915->subslice_mask;
		for (unsigned ss = 0; ss < GEN9_MAX_SUBSLICES; ss++)
			if (i915->subslice_mask & (1u << ss))
				d[SLICE_LEN + SS_LEN + (s * GEN9_MAX_SUBSLICES + ss) * EU_STRIDE] = i915->eu_mask[s][ss];
	}
	if (drm_copy_to_user(call, item->data_ptr, buf, sizeof(buf)))
		return -EFAULT;
	return total;
}

static int query_engines(const struct i915_device *i915, struct drm_call *call, const struct drm_i915_query_item *item)
{
	struct drm_i915_query_engine_info q;
	unsigned n = ready_engines(i915);
	int32_t total = (int32_t)(sizeof(q) + n * sizeof(struct drm_i915_engine_info));
	if (item->flags)
		return -EINVAL;
	int r = query_item_begin(call, item, &q, sizeof(q), total);
	if (r)
		return r;
	if (q.num_engines || q.rsvd[0] || q.rsvd[1] || q.rsvd[2])
		return -EINVAL;

	memset(&q, 0, sizeof(q));
	q.num_engines = n;
	if (drm_copy_to_user(call, item->data_ptr, &q, sizeof(q)))
		return -EFAULT;
	unsigned k = 0;
	for (unsigned i = 0; i < I915_NUM_ENGINES; i++) {
		if (!i915->engine[i].ready)
			continue;
		struct drm_i915_engine_info e;
		memset(&e, 0, sizeof(e));
		e.engine.engine_class = i915->engine[i].uabi_class;
		e.engine.engine_instance = 0; /* one engine per class */
		e.flags = I915_ENGINE_INFO_HAS_LOGICAL_INSTANCE;
		e.logical_instance = 0;
		if (drm_copy_to_user(call, item->data_ptr + sizeof(q) + k * sizeof(e), &e, sizeof(e)))
			return -EFAULT;
		k++;
	}
	return total;
}

static int query_memory_regions(struct drm_call *call, const struct drm_i915_query_item *item)
{
	struct drm_i915_query_memory_regions q;
	int32_t total = (int32_t)(sizeof(q) + sizeof(struct drm_i915_memory_region_info));
	if (item->flags)
		return -EINVAL;
	int r = query_item_begin(call, item, &q, sizeof(q), total);
	if (r)
		return r;
	if (q.num_regions)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(q.rsvd) / sizeof(q.rsvd[0]); i++)
		if (q.rsvd[i])
			return -EINVAL;

	/* An integrated GPU: objects live in system memory, all of which the GPU can reach. */
	long pages = sysconf(_SC_PHYS_PAGES), avail = sysconf(_SC_AVPHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	struct drm_i915_memory_region_info m;
	memset(&m, 0, sizeof(m));
	m.region.memory_class = I915_MEMORY_CLASS_SYSTEM;
	m.region.memory_instance = 0;
	m.probed_size = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
	/* The kernel shows how much is free only to perfmon-capable callers. */
	m.unallocated_size = drm_call_privileged(call) && avail > 0 && psz > 0 ? (uint64_t)avail * (uint64_t)psz
									       : m.probed_size;
	memset(&q, 0, sizeof(q));
	q.num_regions = 1;
	if (drm_copy_to_user(call, item->data_ptr, &q, sizeof(q)) ||
	    drm_copy_to_user(call, item->data_ptr + sizeof(q), &m, sizeof(m)))
		return -EFAULT;
	return total;
}

static int i915_query_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)file;
	struct drm_i915_query *args = data;
	if (args->flags)
		return -EINVAL;
	for (uint32_t i = 0; i < args->num_items; i++) {
		uint64_t uitem = args->items_ptr + (uint64_t)i * sizeof(struct drm_i915_query_item);
		struct drm_i915_query_item item;
		if (drm_copy_from_user(call, &item, uitem, sizeof(item)))
			return -EFAULT;
		if (item.query_id == 0)
			return -EINVAL;
		int ret;
		switch (item.query_id) {
		case DRM_I915_QUERY_TOPOLOGY_INFO:
			ret = query_topology(dev->dev_private, call, &item);
			break;
		case DRM_I915_QUERY_ENGINE_INFO:
			ret = query_engines(dev->dev_private, call, &item);
			break;
		case DRM_I915_QUERY_MEMORY_REGIONS:
			ret = query_memory_regions(call, &item);
			break;
		case DRM_I915_QUERY_PERF_CONFIG:       /* no i915-perf (OA) support */
		case DRM_I915_QUERY_HWCONFIG_BLOB:     /* no GuC, so no hardware config table */
			ret = -ENODEV;
			break;
		default:
			ret = -EINVAL; /* unknown item: answered in the item, the ioctl succeeds */
			break;
		}
		if (ret != item.length) {
			int32_t len = ret;
			if (drm_copy_to_user(call, uitem + offsetof(struct drm_i915_query_item, length), &len,
					     sizeof(len)))
				return -EFAULT;
		}
	}
	return 0;
}

/* ---- REG_READ ---- */

/*
 * The kernel's allow-list on gen9 is the render engine's TIMESTAMP alone, a
 * 64-bit register: its offset, or its offset | I915_REG_READ_8B_WA to read
 * it as two 32-bit halves (the upper half read again until stable).
 */
static int i915_reg_read_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)file;
	(void)call;
	struct i915_device *i915 = dev->dev_private;
	struct drm_i915_reg_read *reg = data;
	const uint64_t size = 8;
	if ((reg->offset & ~(size - 1)) != RING_TIMESTAMP(RENDER_RING_BASE))
		return -EINVAL;
	uint64_t flags = reg->offset & (size - 1);
	if (flags != 0 && flags != I915_REG_READ_8B_WA)
		return -EINVAL;

	int r = i915_forcewake_get(i915->hw);
	if (r)
		return r;
	if (flags == I915_REG_READ_8B_WA) {
		uint32_t hi = hw_read32(i915->hw, I915_BAR_GTTMMADR, RING_TIMESTAMP_UDW(RENDER_RING_BASE)), lo, again;
		for (int tries = 0;; tries++) {
			lo = hw_read32(i915->hw, I915_BAR_GTTMMADR, RING_TIMESTAMP(RENDER_RING_BASE));
			again = hw_read32(i915->hw, I915_BAR_GTTMMADR, RING_TIMESTAMP_UDW(RENDER_RING_BASE));
			if (again == hi || tries == 2)
				break;
			hi = again;
		}
		reg->val = (uint64_t)again << 32 | lo;
	} else {
		reg->val = hw_read64(i915->hw, I915_BAR_GTTMMADR, RING_TIMESTAMP(RENDER_RING_BASE));
	}
	int p = i915_forcewake_put(i915->hw);
	return p;
}

/* ---- the table ---- */

/* Permission flags as the kernel's i915 table. */
const struct drm_ioctl_desc i915_ioctls[I915_NUM_IOCTLS] = {
	DRM_IOCTL_DEF_DRV(I915_GETPARAM, i915_getparam_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_CREATE, i915_gem_create_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_PREAD, i915_gem_pread_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_PWRITE, i915_gem_pwrite_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_MMAP, i915_gem_mmap_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_MMAP_OFFSET, i915_gem_mmap_offset_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_GET_APERTURE, i915_gem_get_aperture_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_SET_DOMAIN, i915_gem_set_domain_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_SW_FINISH, i915_gem_sw_finish_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_SET_TILING, i915_gem_set_tiling_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_GET_TILING, i915_gem_get_tiling_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_SET_CACHING, i915_gem_set_caching_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_GET_CACHING, i915_gem_get_caching_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_MADVISE, i915_gem_madvise_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_BUSY, i915_gem_busy_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_WAIT, i915_gem_wait_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_EXECBUFFER2_WR, i915_gem_execbuffer2_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_THROTTLE, i915_gem_throttle_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_CONTEXT_CREATE_EXT, i915_context_create_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_VM_CREATE, i915_vm_create_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_VM_DESTROY, i915_vm_destroy_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_CONTEXT_DESTROY, i915_context_destroy_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_CONTEXT_GETPARAM, i915_context_getparam_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_CONTEXT_SETPARAM, i915_context_setparam_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GET_RESET_STATS, i915_get_reset_stats_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_REG_READ, i915_reg_read_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_GEM_USERPTR, i915_gem_userptr_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(I915_QUERY, i915_query_ioctl, DRM_RENDER_ALLOW),
};
