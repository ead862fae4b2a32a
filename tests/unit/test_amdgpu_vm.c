/*
 * Per-file GPU VM, seen from both ends: GEM_VA and BO_LIST over the wire on
 * one side, and on the other the Vega10 model's GFXHUB walking the page
 * tables of a VMID programmed (through registers) with the file's
 * amdgpu_vm_pd_base / amdgpu_vm_context_cntl.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <amdgpu_drm.h>
#include <drm.h>

#include "amdgpu/amdgpu.h"
#include "amdgpu/sim_amdgpu.h"
#include "harness.h"
#include "hw_sim.h"
#include "redox-drm/client.h"
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

static uint32_t gem_create(struct test_channel *ch, uint64_t size, uint64_t domains, uint64_t flags)
{
	union drm_amdgpu_gem_create c;
	memset(&c, 0, sizeof(c));
	c.in.bo_size = size;
	c.in.alignment = 4096;
	c.in.domains = domains;
	c.in.domain_flags = flags;
	assert_int_equal(call(ch, DRM_IOCTL_AMDGPU_GEM_CREATE, &c), 0);
	return c.out.handle;
}

static int va(struct test_channel *ch, uint32_t op, uint32_t handle, uint64_t addr, uint64_t off, uint64_t size,
	      uint32_t flags)
{
	struct drm_amdgpu_gem_va v = {.handle = handle, .operation = op, .flags = flags, .va_address = addr,
				      .offset_in_bo = off, .map_size = size};
	return call(ch, DRM_IOCTL_AMDGPU_GEM_VA, &v);
}

/* The daemon's CPU view of a handle's memory (the test shares its process). */
static uint8_t *bo_cpu(struct drm_file *file, uint32_t handle)
{
	struct drm_gem_object *obj = drm_gem_object_lookup(file, handle);
	assert_non_null(obj);
	uint8_t *p = obj->vaddr;
	drm_gem_object_put(obj);
	return p;
}

/* Points vmid's GFXHUB context at file's VM, as a job's VM flush does, and snapshots it. */
static void bind_vmid(struct sim_fixture *f, struct drm_file *file, unsigned vmid, struct sim_amdgpu_vm_ctx *ctx)
{
	struct amdgpu_vm *vm = amdgpu_vm_of_file(file);
	assert_non_null(vm);
	uint64_t base = amdgpu_vm_pd_base(vm);
	hw_write32(f->hw, AMDGPU_BAR_MMIO, SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_BASE_LO32 + 8 * vmid, (uint32_t)base);
	hw_write32(f->hw, AMDGPU_BAR_MMIO, SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_BASE_LO32 + 8 * vmid + 4,
		   (uint32_t)(base >> 32));
	hw_write32(f->hw, AMDGPU_BAR_MMIO, SIM_AMDGPU_GFXHUB_VM_CONTEXT0_CNTL + 4 * vmid, amdgpu_vm_context_cntl(vm));
	struct sim_model *m = hw_sim_model(f->hw);
	pthread_mutex_lock(sim_amdgpu_lock(m));
	assert_int_equal(sim_amdgpu_vm_snapshot(m, SIM_AMDGPU_GFXHUB, vmid, ctx), 0);
	pthread_mutex_unlock(sim_amdgpu_lock(m));
	/* Load gave the context the whole 48-bit space, walked with four levels. */
	assert_true(ctx->pt_enabled);
	assert_int_equal(ctx->depth, 3);
	assert_true(ctx->pt_start == 0);
	assert_true(ctx->pt_end == (1ull << 36) - 1);
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

#define LOW_VA 0x400000ull /* 4 MiB: above the reserved bottom */
#define HIGH_VA 0xFFFF800000200000ull

static void test_map_translates(void **state)
{
	struct sim_fixture *f = *state;
	uint32_t h = gem_create(&f->ch, 3 * 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	uint8_t *cpu = bo_cpu(f->file, h);
	fill(cpu, 3 * 4096, 0x11);

	const uint32_t rw = AMDGPU_VM_PAGE_READABLE | AMDGPU_VM_PAGE_WRITEABLE;
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 3 * 4096, rw), 0);
	/* The last two pages again, in the high half (sign-extended above the hole). */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, HIGH_VA, 4096, 2 * 4096, AMDGPU_VM_PAGE_READABLE), 0);

	struct sim_amdgpu_vm_ctx ctx;
	bind_vmid(f, f->file, 3, &ctx);
	uint8_t buf[3 * 4096];
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, cpu, sizeof(buf));
	assert_int_equal(sim_amdgpu_vm_read(&ctx, HIGH_VA, buf, 2 * 4096), 0);
	assert_memory_equal(buf, cpu + 4096, 2 * 4096);

	/* The GPU's writes land in the BO through the writable mapping ... */
	static const uint8_t pat[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	assert_int_equal(sim_amdgpu_vm_write(&ctx, LOW_VA + 4096 + 100, pat, sizeof(pat)), 0);
	assert_memory_equal(cpu + 4096 + 100, pat, sizeof(pat));
	/* ... and fault through the read-only one. */
	uint64_t faults = sim_amdgpu_vm_faults(hw_sim_model(f->hw));
	assert_int_equal(sim_amdgpu_vm_write(&ctx, HIGH_VA, pat, sizeof(pat)), -EFAULT);
	assert_true(sim_amdgpu_vm_faults(hw_sim_model(f->hw)) > faults);

	/* Past the mapping, and below it, nothing. */
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 3 * 4096, buf, 4), -EFAULT);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA - 4096, buf, 4), -EFAULT);

	/* Unmap: the pages fault, the other mapping stays. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, h, LOW_VA, 0, 3 * 4096, 0), 0);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA, buf, 4), -EFAULT);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 2 * 4096, buf, 4), -EFAULT);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, HIGH_VA, buf, 4096), 0);
	assert_memory_equal(buf, cpu + 4096, 4096);
	/* A second unmap finds nothing. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, h, LOW_VA, 0, 3 * 4096, 0), -ENOENT);
}

static void test_va_errors(void **state)
{
	struct sim_fixture *f = *state;
	uint32_t h = gem_create(&f->ch, 4 * 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	const uint32_t r = AMDGPU_VM_PAGE_READABLE;

	/* Reserved bottom, the hole, beyond the top. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, 0, 0, 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, AMDGPU_VA_RESERVED_SIZE - 4096, 0, 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, 0x0000800000000000ull, 0, 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, 0xFFFF7FFFFFFFF000ull, 0, 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, 0xFFFFFFFFFFC00000ull, 0, 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, 0xFFFFFFFFFFBFF000ull, 0, 2 * 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, ~0ull - 4095, r), -EINVAL);
	/* The last page below the reserved top is fine, and so is the first one after the bottom. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, 0xFFFFFFFFFFBFF000ull, 0, 4096, r), 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, h, 0xFFFFFFFFFFBFF000ull, 0, 4096, 0), 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, AMDGPU_VA_RESERVED_SIZE, 0, 4096, r), 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, h, AMDGPU_VA_RESERVED_SIZE, 0, 4096, 0), 0);

	/* Flags: unknown bits, PRT mixed with page bits; DELAY_UPDATE is accepted. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 4096, 1u << 12), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 4096, AMDGPU_VM_PAGE_PRT | r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 4096, r | AMDGPU_VM_DELAY_UPDATE), 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, h, LOW_VA, 0, 4096, 0), 0);
	/* Unknown operation, unknown handle. */
	assert_int_equal(va(&f->ch, 9, h, LOW_VA, 0, 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, 4242, LOW_VA, 0, 4096, r), -ENOENT);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, 4242, LOW_VA, 0, 4096, r), -ENOENT);

	/* Alignment of address, offset and size; empty; past the BO's end. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA + 8, 0, 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 512, 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 100, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 0, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 5 * 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 3 * 4096, 2 * 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, ~0ull - 4095, 4096, r), -EINVAL);

	/* Overlap, from either side and exactly. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA + 4096, 0, 2 * 4096, r), 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 2 * 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA + 2 * 4096, 0, 2 * 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA + 4096, 0, 2 * 4096, r), -EINVAL);
	/* Adjacent is fine. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 4096, r), 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA + 3 * 4096, 0, 4096, r), 0);
	/* UNMAP needs the mapping's start and its BO. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, h, LOW_VA + 2 * 4096, 0, 4096, 0), -ENOENT);
	uint32_t other = gem_create(&f->ch, 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, other, LOW_VA, 0, 4096, 0), -ENOENT);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, h, LOW_VA + 4096, 0, 4096, 0), 0);

	/* PRT ranges need no BO, and stay invalid pages to the walker. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, 0, 0x10000000ull, 0, 8 * 4096, AMDGPU_VM_PAGE_PRT), 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, 0x10000000ull + 4096, 0, 4096, r), -EINVAL);
	struct sim_amdgpu_vm_ctx ctx;
	bind_vmid(f, f->file, 5, &ctx);
	uint64_t pa;
	bool sys;
	assert_int_equal(sim_amdgpu_vm_translate(&ctx, 0x10000000ull, false, &pa, &sys), -EFAULT);
	/* A PRT range may be huge: recorded, not written page by page (this returns at once). */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, 0, 0x100000000000ull, 0, 0x100000000000ull, AMDGPU_VM_PAGE_PRT), 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, 0x180000000000ull, 0, 4096, r), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, 0, 0x100000000000ull, 0, 0, AMDGPU_VM_PAGE_PRT), 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, 0, 0x100000000000ull, 0, 0, AMDGPU_VM_PAGE_PRT), -ENOENT);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, 0x180000000000ull, 0, 4096, r), 0);
	/* The mappings left are freed with the file (the leak check is ASan's). */
}

static void test_clear_replace(void **state)
{
	struct sim_fixture *f = *state;
	uint32_t a = gem_create(&f->ch, 8 * 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	uint32_t b = gem_create(&f->ch, 8 * 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	uint8_t *pa = bo_cpu(f->file, a), *pb = bo_cpu(f->file, b);
	fill(pa, 8 * 4096, 0x20);
	fill(pb, 8 * 4096, 0x90);
	const uint32_t r = AMDGPU_VM_PAGE_READABLE;
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, a, LOW_VA, 0, 8 * 4096, r), 0);

	/* CLEAR pages 2-3: the mapping splits in two, whose halves still translate. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_CLEAR, 0, LOW_VA + 2 * 4096, 0, 2 * 4096, 0), 0);
	struct sim_amdgpu_vm_ctx ctx;
	bind_vmid(f, f->file, 2, &ctx);
	uint8_t buf[4096];
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 2 * 4096, buf, 4), -EFAULT);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 3 * 4096, buf, 4), -EFAULT);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 4096, buf, 4096), 0);
	assert_memory_equal(buf, pa + 4096, 4096);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 5 * 4096, buf, 4096), 0);
	assert_memory_equal(buf, pa + 5 * 4096, 4096);
	/* The tail is its own mapping now, starting at page 4. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, a, LOW_VA + 4 * 4096, 0, 4096, 0), 0);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 5 * 4096, buf, 4), -EFAULT);

	/* REPLACE over the head: b's pages 6.. appear where a's were. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_REPLACE, b, LOW_VA + 4096, 6 * 4096, 2 * 4096, r), 0);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 4096, buf, 4096), 0);
	assert_memory_equal(buf, pb + 6 * 4096, 4096);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA, buf, 4096), 0);
	assert_memory_equal(buf, pa, 4096);
	/* CLEAR's own checks. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_CLEAR, 0, LOW_VA + 1, 0, 4096, 0), -EINVAL);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_CLEAR, 0, LOW_VA, 0, 0, 0), -EINVAL);
	/* Everything. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_CLEAR, 0, AMDGPU_VA_RESERVED_SIZE, 0,
			    0x0000800000000000ull - AMDGPU_VA_RESERVED_SIZE, 0), 0);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA, buf, 4), -EFAULT);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, a, LOW_VA, 0, 4096, 0), -ENOENT);
}

static void test_isolation(void **state)
{
	struct sim_fixture *f = *state;
	uint32_t h = gem_create(&f->ch, 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	fill(bo_cpu(f->file, h), 4096, 0x33);
	const uint32_t r = AMDGPU_VM_PAGE_READABLE;
	/* File B cannot name file A's handle ... */
	assert_int_equal(va(&f->ch2, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 4096, r), -ENOENT);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 4096, r), 0);
	/* ... and A's mapping is not in B's address space. */
	struct sim_amdgpu_vm_ctx ca, cb;
	bind_vmid(f, f->file, 1, &ca);
	bind_vmid(f, f->file2, 2, &cb);
	assert_true(amdgpu_vm_pd_base(amdgpu_vm_of_file(f->file)) != amdgpu_vm_pd_base(amdgpu_vm_of_file(f->file2)));
	uint8_t buf[16];
	assert_int_equal(sim_amdgpu_vm_read(&ca, LOW_VA, buf, sizeof(buf)), 0);
	assert_int_equal(sim_amdgpu_vm_read(&cb, LOW_VA, buf, sizeof(buf)), -EFAULT);
	/* B maps its own BO at the same address: each sees its own. */
	uint32_t hb = gem_create(&f->ch2, 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	fill(bo_cpu(f->file2, hb), 4096, 0x77);
	assert_int_equal(va(&f->ch2, AMDGPU_VA_OP_MAP, hb, LOW_VA, 0, 4096, r), 0);
	assert_int_equal(sim_amdgpu_vm_read(&cb, LOW_VA, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, bo_cpu(f->file2, hb), sizeof(buf));
	assert_int_equal(sim_amdgpu_vm_read(&ca, LOW_VA, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, bo_cpu(f->file, h), sizeof(buf));
	/* B's unmap cannot touch A's mapping. */
	assert_int_equal(va(&f->ch2, AMDGPU_VA_OP_CLEAR, 0, LOW_VA, 0, 4096, 0), 0);
	assert_int_equal(sim_amdgpu_vm_read(&ca, LOW_VA, buf, sizeof(buf)), 0);
}

static uint64_t info_u64(struct sim_fixture *f, uint32_t query)
{
	uint64_t v = ~0ull;
	struct drm_amdgpu_info i = {.return_pointer = (uint64_t)(uintptr_t)&v, .return_size = sizeof(v), .query = query};
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_INFO, &i), 0);
	return v;
}

static uint32_t bo_domain(struct sim_fixture *f, uint32_t h)
{
	union drm_amdgpu_gem_wait_idle w;
	memset(&w, 0, sizeof(w));
	w.in.handle = h;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_WAIT_IDLE, &w), 0);
	return w.out.domain;
}

#define VISIBLE (256ull << 20)

/*
 * VRAM objects live in the model's VRAM: the GPU reaches them at their VRAM
 * offset (PTEs without SYSTEM), the CPU through BAR0 where it reaches, and a
 * client through GEM_MMAP, all the same bytes.
 */
static void test_vram(void **state)
{
	struct sim_fixture *f = *state;
	struct amdgpu_device *adev = f->dev->dev_private;
	uint64_t vram0 = info_u64(f, AMDGPU_INFO_VRAM_USAGE), vis0 = info_u64(f, AMDGPU_INFO_VIS_VRAM_USAGE);
	uint64_t gtt0 = info_u64(f, AMDGPU_INFO_GTT_USAGE);
	size_t bar_size = 0;
	uint8_t *bar = f->hw->ops->bar_map(f->hw, AMDGPU_BAR_VRAM, &bar_size);
	assert_non_null(bar);
	assert_true(bar_size == VISIBLE);

	/* CPU access required: inside the visible window. */
	uint32_t v = gem_create(&f->ch, 65536, AMDGPU_GEM_DOMAIN_VRAM, AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED);
	struct drm_gem_object *vo = drm_gem_object_lookup(f->file, v);
	struct amdgpu_bo *vb = amdgpu_bo_of(vo);
	assert_int_equal(vb->domain, AMDGPU_GEM_DOMAIN_VRAM);
	assert_true(vb->vram_offset + 65536 <= VISIBLE);
	assert_true(info_u64(f, AMDGPU_INFO_VRAM_USAGE) == vram0 + 65536);
	assert_true(info_u64(f, AMDGPU_INFO_VIS_VRAM_USAGE) == vis0 + 65536);
	assert_true(vo->dma_addr == 0); /* not on the bus */

	/* A client's mapping (GEM_MMAP's offset resolved as the transport does) writes it ... */
	union drm_amdgpu_gem_mmap mm = {.in.handle = v};
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_MMAP, &mm), 0);
	int lerr = 0;
	struct drm_gem_object *mo = drm_gem_mmap_lookup(f->file, mm.out.addr_ptr, 65536, &lerr);
	assert_ptr_equal(mo, vo);
	drm_gem_object_put(mo);
	uint8_t *p = mmap(NULL, 65536, PROT_READ | PROT_WRITE, MAP_SHARED, vo->memfd, 0);
	assert_true(p != MAP_FAILED);
	fill(p, 65536, 0x42);
	/* ... and BAR0 shows the bytes at the object's VRAM offset. */
	assert_memory_equal(bar + vb->vram_offset, p, 65536);
	bar[vb->vram_offset + 10] = 0xEE;
	assert_int_equal(p[10], 0xEE);

	/* The GPU through the VM: a PTE with the VRAM address, no SYSTEM bit. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, v, LOW_VA, 4096, 8192,
			    AMDGPU_VM_PAGE_READABLE | AMDGPU_VM_PAGE_WRITEABLE), 0);
	struct sim_amdgpu_vm_ctx ctx;
	bind_vmid(f, f->file, 4, &ctx);
	uint64_t pa;
	bool sys = true;
	assert_int_equal(sim_amdgpu_vm_translate(&ctx, LOW_VA + 4096 + 12, false, &pa, &sys), 0);
	assert_false(sys);
	assert_true(pa == vb->vram_offset + 8192 + 12);
	uint8_t buf[8192];
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, p + 4096, sizeof(buf));

	/* No CPU access asked for: placed top-down, outside the window; not counted as visible. */
	uint32_t inv = gem_create(&f->ch, 2 << 20, AMDGPU_GEM_DOMAIN_VRAM, 0);
	struct drm_gem_object *io = drm_gem_object_lookup(f->file, inv);
	struct amdgpu_bo *ib = amdgpu_bo_of(io);
	assert_true(ib->vram_offset >= VISIBLE);
	assert_true(ib->vram_offset + (2 << 20) == 8ull << 30);
	assert_true(info_u64(f, AMDGPU_INFO_VIS_VRAM_USAGE) == vis0 + 65536);
	assert_true(info_u64(f, AMDGPU_INFO_VRAM_USAGE) == vram0 + 65536 + (2 << 20));
	/* The GPU writes it through the VM; the object's memory has the bytes. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, inv, 0x40000000ull, 0, 2 << 20, AMDGPU_VM_PAGE_WRITEABLE), 0);
	bind_vmid(f, f->file, 4, &ctx);
	static const uint8_t pat[4] = {9, 8, 7, 6};
	assert_int_equal(sim_amdgpu_vm_write(&ctx, 0x40000000ull + (1 << 20), pat, sizeof(pat)), 0);
	assert_memory_equal((uint8_t *)io->vaddr + (1 << 20), pat, sizeof(pat));
	/* Write-only: a read faults. */
	assert_int_equal(sim_amdgpu_vm_read(&ctx, 0x40000000ull, buf, 4), -EFAULT);
	drm_gem_object_put(io);

	/* Larger than the visible window with CPU access: VRAM alone fails, VRAM|GTT lands in GTT. */
	union drm_amdgpu_gem_create c;
	memset(&c, 0, sizeof(c));
	c.in.bo_size = 300ull << 20;
	c.in.domains = AMDGPU_GEM_DOMAIN_VRAM;
	c.in.domain_flags = AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_CREATE, &c), -ENOMEM);
	memset(&c, 0, sizeof(c));
	c.in.bo_size = 300ull << 20;
	c.in.domains = AMDGPU_GEM_DOMAIN_VRAM | AMDGPU_GEM_DOMAIN_GTT;
	c.in.domain_flags = AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_CREATE, &c), 0);
	uint32_t big = c.out.handle;
	assert_int_equal(bo_domain(f, big), AMDGPU_GEM_DOMAIN_GTT);
	assert_true(info_u64(f, AMDGPU_INFO_GTT_USAGE) == gtt0 + (300ull << 20));
	/* The same size without the CPU fits VRAM (top-down). */
	memset(&c, 0, sizeof(c));
	c.in.bo_size = 300ull << 20;
	c.in.domains = AMDGPU_GEM_DOMAIN_VRAM;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_CREATE, &c), 0);
	uint32_t big_vram = c.out.handle;
	assert_int_equal(bo_domain(f, big_vram), AMDGPU_GEM_DOMAIN_VRAM);

	/* MEMORY agrees with the usage queries. */
	struct drm_amdgpu_memory_info mem;
	struct drm_amdgpu_info i = {.return_pointer = (uint64_t)(uintptr_t)&mem, .return_size = sizeof(mem),
				    .query = AMDGPU_INFO_MEMORY};
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_INFO, &i), 0);
	assert_true(mem.vram.heap_usage == info_u64(f, AMDGPU_INFO_VRAM_USAGE));
	assert_true(mem.cpu_accessible_vram.heap_usage == info_u64(f, AMDGPU_INFO_VIS_VRAM_USAGE));
	assert_true(mem.gtt.heap_usage == info_u64(f, AMDGPU_INFO_GTT_USAGE));
	assert_true(mem.vram.total_heap_size == 8ull << 30);
	assert_true(mem.cpu_accessible_vram.total_heap_size == VISIBLE);

	/* Freed: usage back, the ranges free, and the window no longer shows the object's bytes. */
	uint64_t off = vb->vram_offset;
	drm_gem_object_put(vo);
	munmap(p, 65536);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_CLEAR, 0, AMDGPU_VA_RESERVED_SIZE, 0, 1ull << 40, 0), 0);
	struct drm_gem_close gc = {.handle = v};
	assert_int_equal(call(&f->ch, DRM_IOCTL_GEM_CLOSE, &gc), 0);
	gc.handle = inv;
	assert_int_equal(call(&f->ch, DRM_IOCTL_GEM_CLOSE, &gc), 0);
	gc.handle = big;
	assert_int_equal(call(&f->ch, DRM_IOCTL_GEM_CLOSE, &gc), 0);
	gc.handle = big_vram;
	assert_int_equal(call(&f->ch, DRM_IOCTL_GEM_CLOSE, &gc), 0);
	assert_true(info_u64(f, AMDGPU_INFO_VRAM_USAGE) == vram0);
	assert_true(info_u64(f, AMDGPU_INFO_VIS_VRAM_USAGE) == vis0);
	assert_true(info_u64(f, AMDGPU_INFO_GTT_USAGE) == gtt0);
	assert_int_equal(amdgpu_vram_mgr_count(adev), 0);
	assert_int_equal(bar[off + 100], 0);
}

static int bo_list(struct test_channel *ch, uint32_t op, uint32_t handle, const void *entries, uint32_t n,
		   uint32_t entry_size, uint32_t *out)
{
	union drm_amdgpu_bo_list l;
	memset(&l, 0, sizeof(l));
	l.in.operation = op;
	l.in.list_handle = handle;
	l.in.bo_number = n;
	l.in.bo_info_size = entry_size;
	l.in.bo_info_ptr = (uint64_t)(uintptr_t)entries;
	int r = call(ch, DRM_IOCTL_AMDGPU_BO_LIST, &l);
	if (out)
		*out = l.out.list_handle;
	return r;
}

static void test_bo_list(void **state)
{
	struct sim_fixture *f = *state;
	uint32_t a = gem_create(&f->ch, 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	uint32_t b = gem_create(&f->ch, 4096, AMDGPU_GEM_DOMAIN_VRAM, 0);
	struct drm_amdgpu_bo_list_entry e[2] = {{.bo_handle = a, .bo_priority = 3}, {.bo_handle = b, .bo_priority = 99}};
	uint32_t lh;
	assert_int_equal(bo_list(&f->ch, AMDGPU_BO_LIST_OP_CREATE, 0, e, 2, sizeof(e[0]), &lh), 0);
	assert_true(lh >= 1);
	struct amdgpu_bo_list *l = amdgpu_bo_list_get(f->file, lh);
	assert_non_null(l);
	assert_int_equal(amdgpu_bo_list_count(l), 2);
	struct drm_gem_object *oa = drm_gem_object_lookup(f->file, a);
	assert_ptr_equal(amdgpu_bo_list_obj(l, 0), oa);
	assert_int_equal(amdgpu_bo_list_priority(l, 0), 3);
	assert_int_equal(amdgpu_bo_list_priority(l, 1), AMDGPU_BO_LIST_MAX_PRIORITY);
	assert_null(amdgpu_bo_list_obj(l, 2));
	/* Lists are per file. */
	assert_null(amdgpu_bo_list_get(f->file2, lh));

	/* A larger entry from a newer client: only the part we know is read, at its stride. */
	struct {
		struct drm_amdgpu_bo_list_entry e;
		uint64_t extra;
	} big[2] = {{{b, 1}, ~0ull}, {{a, 2}, ~0ull}};
	assert_int_equal(bo_list(&f->ch, AMDGPU_BO_LIST_OP_UPDATE, lh, big, 2, sizeof(big[0]), NULL), 0);
	l = amdgpu_bo_list_get(f->file, lh);
	assert_ptr_equal(amdgpu_bo_list_obj(l, 1), oa);
	/* A smaller one: the priority is not there, so it is 0. */
	uint32_t only_handles[2] = {a, b};
	assert_int_equal(bo_list(&f->ch, AMDGPU_BO_LIST_OP_UPDATE, lh, only_handles, 2, 4, NULL), 0);
	l = amdgpu_bo_list_get(f->file, lh);
	assert_int_equal(amdgpu_bo_list_priority(l, 0), 0);
	assert_ptr_equal(amdgpu_bo_list_obj(l, 0), oa);
	drm_gem_object_put(oa);

	/* Errors: unknown handle inside (nothing created), another file's handle,
	 * update of an unknown list, too many entries, unknown operation. */
	struct drm_amdgpu_bo_list_entry bad[2] = {{.bo_handle = a}, {.bo_handle = 4242}};
	uint32_t empty;
	assert_int_equal(bo_list(&f->ch, AMDGPU_BO_LIST_OP_CREATE, 0, bad, 2, sizeof(bad[0]), NULL), -ENOENT);
	assert_int_equal(bo_list(&f->ch2, AMDGPU_BO_LIST_OP_CREATE, 0, e, 2, sizeof(e[0]), NULL), -ENOENT);
	assert_int_equal(bo_list(&f->ch, AMDGPU_BO_LIST_OP_UPDATE, 77, e, 2, sizeof(e[0]), NULL), -ENOENT);
	assert_int_equal(bo_list(&f->ch, AMDGPU_BO_LIST_OP_UPDATE, lh, bad, 2, sizeof(bad[0]), NULL), -ENOENT);
	assert_non_null(amdgpu_bo_list_get(f->file, lh)); /* a failed update keeps the old list */
	const uint32_t too_many = 128u * 1024u + 1u;
	struct drm_amdgpu_bo_list_entry *many = calloc(too_many, sizeof(*many));
	for (uint32_t i = 0; i < too_many; i++)
		many[i].bo_handle = a;
	assert_int_equal(bo_list(&f->ch, AMDGPU_BO_LIST_OP_CREATE, 0, many, too_many, sizeof(e[0]), NULL), -EINVAL);
	assert_int_equal(bo_list(&f->ch, AMDGPU_BO_LIST_OP_CREATE, 0, many, too_many - 1, sizeof(e[0]), &empty), 0);
	assert_int_equal(amdgpu_bo_list_count(amdgpu_bo_list_get(f->file, empty)), too_many - 1);
	assert_int_equal(bo_list(&f->ch, AMDGPU_BO_LIST_OP_DESTROY, empty, NULL, 0, 0, NULL), 0);
	free(many);
	assert_int_equal(bo_list(&f->ch, 7, lh, e, 2, sizeof(e[0]), NULL), -EINVAL);

	/* An empty list is a list. */
	assert_int_equal(bo_list(&f->ch, AMDGPU_BO_LIST_OP_CREATE, 0, NULL, 0, sizeof(e[0]), &empty), 0);
	assert_int_equal(amdgpu_bo_list_count(amdgpu_bo_list_get(f->file, empty)), 0);

	/* Destroy: gone; destroying again (or another file's) is not an error. */
	assert_int_equal(bo_list(&f->ch, AMDGPU_BO_LIST_OP_DESTROY, lh, NULL, 0, 0, NULL), 0);
	assert_null(amdgpu_bo_list_get(f->file, lh));
	assert_int_equal(bo_list(&f->ch, AMDGPU_BO_LIST_OP_DESTROY, lh, NULL, 0, 0, NULL), 0);
	assert_int_equal(bo_list(&f->ch2, AMDGPU_BO_LIST_OP_DESTROY, empty, NULL, 0, 0, NULL), 0);
	assert_non_null(amdgpu_bo_list_get(f->file, empty));
	/* A list left behind is freed with the file. */
	assert_int_equal(bo_list(&f->ch, AMDGPU_BO_LIST_OP_CREATE, 0, e, 2, sizeof(e[0]), NULL), 0);
}

/* A BO's mappings go with the file's last handle to it, as the kernel's bo_va does. */
static void test_close_handle_unmaps(void **state)
{
	struct sim_fixture *f = *state;
	uint32_t h = gem_create(&f->ch, 2 * 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	struct drm_gem_object *obj = drm_gem_object_lookup(f->file, h);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 2 * 4096, AMDGPU_VM_PAGE_READABLE), 0);
	uint32_t other = gem_create(&f->ch, 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, other, LOW_VA + 2 * 4096, 0, 4096, AMDGPU_VM_PAGE_READABLE), 0);
	struct sim_amdgpu_vm_ctx ctx;
	bind_vmid(f, f->file, 6, &ctx);
	uint8_t buf[4];

	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA, buf, sizeof(buf)), 0);
	unsigned refs = obj->refcount;
	struct drm_gem_close c = {.handle = h};
	assert_int_equal(call(&f->ch, DRM_IOCTL_GEM_CLOSE, &c), 0);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA, buf, sizeof(buf)), -EFAULT);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 4096, buf, sizeof(buf)), -EFAULT);
	/* Another BO's mapping is untouched. */
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 2 * 4096, buf, sizeof(buf)), 0);
	/* The handle's and the mapping's references are gone; ours is the last. */
	assert_int_equal(obj->refcount, refs - 2);
	assert_int_equal(obj->refcount, 1);
	drm_gem_object_put(obj);
}

/* With two handles to one BO in a file (a primary-node client's flink + open), the mappings stay until the second goes. */
static void test_close_second_handle(void **state)
{
	struct sim_fixture *f = *state;
	struct drm_file *pf = drm_file_open(&f->dev->primary, 300, 1000);
	assert_non_null(pf);
	struct test_channel pch;
	assert_int_equal(test_channel_start(&pch, pf, 300, 1000), 0);
	uint32_t h = gem_create(&pch, 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	struct drm_gem_flink fl = {.handle = h};
	assert_int_equal(call(&pch, DRM_IOCTL_GEM_FLINK, &fl), 0);
	struct drm_gem_open op = {.name = fl.name};
	assert_int_equal(call(&pch, DRM_IOCTL_GEM_OPEN, &op), 0);
	assert_true(op.handle != h);
	assert_int_equal(va(&pch, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 4096, AMDGPU_VM_PAGE_READABLE), 0);
	struct sim_amdgpu_vm_ctx ctx;
	bind_vmid(f, pf, 7, &ctx);
	uint8_t buf[4];
	struct drm_gem_close c = {.handle = h};
	assert_int_equal(call(&pch, DRM_IOCTL_GEM_CLOSE, &c), 0);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA, buf, sizeof(buf)), 0);
	c.handle = op.handle;
	assert_int_equal(call(&pch, DRM_IOCTL_GEM_CLOSE, &c), 0);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA, buf, sizeof(buf)), -EFAULT);
	test_channel_stop(&pch);
	drm_file_release(pf);
}

/*
 * Unmapping while a job submitted earlier may still use the pages: the PTEs
 * stay until that job ends (the kernel clears freed mappings after the VM's
 * work), a later job does not hold them, and a new mapping over them wins.
 */
static void test_unmap_waits_for_jobs(void **state)
{
	struct sim_fixture *f = *state;
	struct amdgpu_vm *vm = amdgpu_vm_of_file(f->file);
	uint32_t a = gem_create(&f->ch, 4 * 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	uint32_t b = gem_create(&f->ch, 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	fill(bo_cpu(f->file, a), 4 * 4096, 0x10);
	fill(bo_cpu(f->file, b), 4096, 0x80);
	const uint32_t r = AMDGPU_VM_PAGE_READABLE;
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, a, LOW_VA, 0, 4 * 4096, r), 0);
	struct sim_amdgpu_vm_ctx ctx;
	bind_vmid(f, f->file, 8, &ctx);
	uint8_t buf[16];

	uint64_t job1 = amdgpu_vm_job_begin(vm);
	assert_true(job1 != 0);
	/* Gone from the address space (a second UNMAP finds nothing, the range can be mapped again) ... */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, a, LOW_VA, 0, 0, 0), 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, a, LOW_VA, 0, 0, 0), -ENOENT);
	/* ... but the running job still reaches the pages, and the BO stays alive for it. */
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 3 * 4096, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, bo_cpu(f->file, a) + 3 * 4096, sizeof(buf));
	/* A new mapping over part of it replaces those PTEs at once. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, b, LOW_VA + 4096, 0, 4096, r), 0);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 4096, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, bo_cpu(f->file, b), sizeof(buf));
	/* A job submitted after the unmap does not keep it. */
	uint64_t job2 = amdgpu_vm_job_begin(vm);
	amdgpu_vm_job_end(vm, job1);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA, buf, sizeof(buf)), -EFAULT);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 3 * 4096, buf, sizeof(buf)), -EFAULT);
	/* The new mapping survived the deferred clear. */
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 4096, buf, sizeof(buf)), 0);
	assert_memory_equal(buf, bo_cpu(f->file, b), sizeof(buf));

	/* CLEAR and the last handle's close wait the same way, for job2. */
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_CLEAR, 0, LOW_VA + 4096, 0, 4096, 0), 0);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 4096, buf, sizeof(buf)), 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, a, LOW_VA + 8 * 4096, 0, 4096, r), 0);
	struct drm_gem_object *oa = drm_gem_object_lookup(f->file, a);
	struct drm_gem_close c = {.handle = a};
	assert_int_equal(call(&f->ch, DRM_IOCTL_GEM_CLOSE, &c), 0);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 8 * 4096, buf, sizeof(buf)), 0);
	assert_true(oa->refcount >= 2); /* ours and the freed mapping's */
	amdgpu_vm_job_end(vm, job2);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 4096, buf, sizeof(buf)), -EFAULT);
	assert_int_equal(sim_amdgpu_vm_read(&ctx, LOW_VA + 8 * 4096, buf, sizeof(buf)), -EFAULT);
	assert_int_equal(oa->refcount, 1);
	drm_gem_object_put(oa);
	/* Ending an unknown job (or an untracked one) changes nothing. */
	amdgpu_vm_job_end(vm, 12345);
	amdgpu_vm_job_end(vm, 0);
	/* A job still running at close: the VM frees the freed list with everything else. */
	amdgpu_vm_job_begin(vm);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_MAP, b, LOW_VA, 0, 4096, r), 0);
	assert_int_equal(va(&f->ch, AMDGPU_VA_OP_UNMAP, b, LOW_VA, 0, 4096, 0), 0);
}

/* The daemon cannot reach a client's own pages: USERPTR answers as a kernel without userptr support. */
static void test_userptr(void **state)
{
	struct sim_fixture *f = *state;
	static uint8_t mem[3 * 4096] __attribute__((aligned(4096)));
	struct drm_amdgpu_gem_userptr u = {.addr = (uint64_t)(uintptr_t)mem, .size = 8192,
					   .flags = AMDGPU_GEM_USERPTR_READONLY};
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_USERPTR, &u), -ENODEV);
	u.flags = AMDGPU_GEM_USERPTR_REGISTER | AMDGPU_GEM_USERPTR_VALIDATE | AMDGPU_GEM_USERPTR_ANONONLY;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_USERPTR, &u), -ENODEV);
	/* The checks before it: alignment, unknown flags, writable without REGISTER. */
	u.addr += 8;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_USERPTR, &u), -EINVAL);
	u.addr -= 8;
	u.size = 100;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_USERPTR, &u), -EINVAL);
	u.size = 4096;
	u.flags = 1u << 7;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_USERPTR, &u), -EINVAL);
	u.flags = 0;
	assert_int_equal(call(&f->ch, DRM_IOCTL_AMDGPU_GEM_USERPTR, &u), -EACCES);
}

/* A file that closes with mappings and lists frees its tables and drops its references. */
static void test_close_frees(void **state)
{
	struct sim_fixture *f = *state;
	uint32_t h = gem_create(&f->ch2, 64 * 4096, AMDGPU_GEM_DOMAIN_GTT, 0);
	struct drm_gem_object *obj = drm_gem_object_lookup(f->file2, h);
	unsigned refs = obj->refcount;
	/* Mappings far apart: each needs its own tables at every level. */
	assert_int_equal(va(&f->ch2, AMDGPU_VA_OP_MAP, h, LOW_VA, 0, 64 * 4096, AMDGPU_VM_PAGE_READABLE), 0);
	assert_int_equal(va(&f->ch2, AMDGPU_VA_OP_MAP, h, 0x700000000000ull, 0, 4096, AMDGPU_VM_PAGE_READABLE), 0);
	assert_int_equal(va(&f->ch2, AMDGPU_VA_OP_MAP, h, HIGH_VA, 0, 4096, AMDGPU_VM_PAGE_READABLE), 0);
	assert_int_equal(obj->refcount, refs + 3);
	struct amdgpu_device *adev = f->dev->dev_private;
	assert_non_null(adev->pt_chunks);
	test_channel_stop(&f->ch2);
	drm_file_release(f->file2);
	f->file2 = NULL;
	/* Only our lookup's reference is left on the object. */
	assert_int_equal(obj->refcount, 1);
	drm_gem_object_put(obj);
	/* File A's root is the only table left; once A closes too, the pool is empty. */
	test_channel_stop(&f->ch);
	drm_file_release(f->file);
	f->file = NULL;
	assert_null(adev->pt_chunks);
	/* Fresh files for teardown to stop. */
	f->file = drm_file_open(&f->dev->render, 100, 1000);
	f->file2 = drm_file_open(&f->dev->render, 200, 1000);
	assert_int_equal(test_channel_start(&f->ch, f->file, 100, 1000), 0);
	assert_int_equal(test_channel_start(&f->ch2, f->file2, 200, 1000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_map_translates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_va_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_clear_replace, setup, teardown),
		cmocka_unit_test_setup_teardown(test_isolation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bo_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vram, setup, teardown),
		cmocka_unit_test_setup_teardown(test_userptr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_handle_unmaps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_second_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmap_waits_for_jobs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_frees, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
