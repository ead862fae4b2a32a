/*
 * amdgpu command submission in process, against the Vega10 model with the
 * daemon's event loop driven by the test: real PM4 and SDMA packets in real
 * BOs mapped in each file's VM, run by the model's engines through the
 * scheduler, the VMIDs and the rings. Two files are two clients. Covers the
 * CS checks, dependencies (explicit and implicit), syncobj chunks, the
 * fence window, WAIT_CS/WAIT_FENCES/FENCE_TO_HANDLE, a hung job's reset with
 * the guilty context and the innocent job behind it, and a VM fault.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <amdgpu_drm.h>
#include <drm.h>

#include "amdgpu/amdgpu.h"
#include "amdgpu/amdgpu_cs.h"
#include "harness.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"
#include "redox-drm/gem.h"
#include "redox-drm/hw.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"
#include "redox-drm/syncobj.h"

#define PACKET3(op, count) (0xC0000000u | ((uint32_t)(count)&0x3FFFu) << 16 | (uint32_t)(op) << 8)
#define PM4_NOP 0xFFFF1000u
#define PKT3_WRITE_DATA 0x37u
#define PKT3_WAIT_REG_MEM 0x3Cu
#define PKT3_DMA_DATA 0x50u
#define SDMA_COPY_LINEAR 0x00000001u
#define SDMA_NOP 0x00000000u


struct env {
	struct event_loop *loop;
	struct hw_device *hw;
	struct drm_device *dev;
	struct amdgpu_device *adev;
	struct drm_file *a, *b;
};

static int setup(void **state)
{
	log_set_level(LOG_ERROR);
	setenv("REDOX_DRM_AMDGPU_TIMEOUT_MS", "400", 1);
	struct env *e = calloc(1, sizeof(*e));
	e->loop = event_loop_create();
	e->hw = hw_sim_create("amdgpu", 0);
	assert_non_null(e->hw);
	e->dev = drm_dev_create(e->hw, 0, e->loop);
	assert_non_null(e->dev);
	e->adev = e->dev->dev_private;
	e->a = drm_file_open(&e->dev->render, 100, 1000);
	e->b = drm_file_open(&e->dev->render, 200, 1000);
	assert_non_null(e->a);
	assert_non_null(e->b);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	drm_dev_destroy(e->dev);
	hw_destroy(e->hw);
	event_loop_destroy(e->loop);
	free(e);
	return 0;
}

static int io(struct drm_file *f, unsigned cmd, void *arg)
{
	return test_ioctl(f, f->pid, f->uid, cmd, arg);
}

struct bo {
	uint32_t handle;
	uint64_t va;
	uint32_t *cpu;
	size_t size;
};

static struct bo bo_new(struct drm_file *f, size_t size, uint64_t va)
{
	union drm_amdgpu_gem_create c = {.in = {.bo_size = size, .alignment = 4096, .domains = AMDGPU_GEM_DOMAIN_GTT}};
	assert_int_equal(io(f, DRM_IOCTL_AMDGPU_GEM_CREATE, &c), 0);
	struct bo b = {.handle = c.out.handle, .va = va, .size = size};
	struct drm_gem_object *obj = drm_gem_object_lookup(f, b.handle);
	assert_non_null(obj);
	b.cpu = obj->vaddr;
	drm_gem_object_put(obj);
	if (va) {
		struct drm_amdgpu_gem_va v = {.handle = b.handle, .operation = AMDGPU_VA_OP_MAP,
					      .flags = AMDGPU_VM_PAGE_READABLE | AMDGPU_VM_PAGE_WRITEABLE |
						       AMDGPU_VM_PAGE_EXECUTABLE,
					      .va_address = va, .map_size = size};
		assert_int_equal(io(f, DRM_IOCTL_AMDGPU_GEM_VA, &v), 0);
	}
	return b;
}

static uint32_t ctx_new(struct drm_file *f)
{
	union drm_amdgpu_ctx x = {.in = {.op = AMDGPU_CTX_OP_ALLOC_CTX}};
	assert_int_equal(io(f, DRM_IOCTL_AMDGPU_CTX, &x), 0);
	return x.out.alloc.ctx_id;
}

/* A submission: IB chunk + optional extra chunks + a BO_HANDLES chunk for the BOs. */
struct sub {
	uint32_t ctx, ip, ring, instance;
	uint64_t ib_va;
	uint32_t ib_bytes;
	const uint32_t *handles;
	unsigned nhandles;
	struct drm_amdgpu_cs_chunk extra[4];
	unsigned nextra;
};

static int submit(struct drm_file *f, const struct sub *s, uint64_t *seq)
{
	struct drm_amdgpu_cs_chunk_ib ib = {.va_start = s->ib_va, .ib_bytes = s->ib_bytes, .ip_type = s->ip,
					    .ip_instance = s->instance, .ring = s->ring};
	struct drm_amdgpu_bo_list_entry ents[8];
	for (unsigned i = 0; i < s->nhandles; i++)
		ents[i] = (struct drm_amdgpu_bo_list_entry){.bo_handle = s->handles[i]};
	struct drm_amdgpu_bo_list_in bl = {.operation = ~0u, .list_handle = ~0u, .bo_number = s->nhandles,
					   .bo_info_size = sizeof(ents[0]), .bo_info_ptr = (uintptr_t)ents};
	struct drm_amdgpu_cs_chunk chunks[6];
	unsigned n = 0;
	chunks[n++] = (struct drm_amdgpu_cs_chunk){AMDGPU_CHUNK_ID_IB, sizeof(ib) / 4, (uintptr_t)&ib};
	if (s->nhandles)
		chunks[n++] = (struct drm_amdgpu_cs_chunk){AMDGPU_CHUNK_ID_BO_HANDLES, sizeof(bl) / 4, (uintptr_t)&bl};
	for (unsigned i = 0; i < s->nextra; i++)
		chunks[n++] = s->extra[i];
	uint64_t ptrs[6];
	for (unsigned i = 0; i < n; i++)
		ptrs[i] = (uintptr_t)&chunks[i];
	union drm_amdgpu_cs cs = {.in = {.ctx_id = s->ctx, .num_chunks = n, .chunks = (uintptr_t)ptrs}};
	int r = io(f, DRM_IOCTL_AMDGPU_CS, &cs);
	if (!r && seq)
		*seq = cs.out.handle;
	return r;
}

/* WAIT_CS without waiting (timeout 0): 1 busy, 0 done, or -errno. */
static int poll_cs(struct drm_file *f, uint32_t ctx, uint32_t ip, uint32_t ring, uint64_t seq)
{
	union drm_amdgpu_wait_cs w = {.in = {.handle = seq, .timeout = 0, .ip_type = ip, .ring = ring, .ctx_id = ctx}};
	int r = io(f, DRM_IOCTL_AMDGPU_WAIT_CS, &w);
	return r ? r : (int)w.out.status;
}

/* Runs the loop until the submission is done (bounded): its WAIT_CS answer. */
static int wait_cs(struct env *e, struct drm_file *f, uint32_t ctx, uint32_t ip, uint32_t ring, uint64_t seq)
{
	uint64_t end = monotonic_ns() + 10000000000ull;
	int r;
	while ((r = poll_cs(f, ctx, ip, ring, seq)) == 1 && monotonic_ns() < end)
		event_loop_dispatch(e->loop, 5);
	return r;
}

static void run_loop_ms(struct env *e, unsigned ms)
{
	uint64_t end = monotonic_ns() + ms * 1000000ull;
	while (monotonic_ns() < end)
		event_loop_dispatch(e->loop, 5);
}

/* PM4: WRITE_DATA of n dwords to va. */
static unsigned pm4_write(uint32_t *ib, uint64_t va, const uint32_t *data, unsigned n)
{
	unsigned k = 0;
	ib[k++] = PACKET3(PKT3_WRITE_DATA, 2 + n);
	ib[k++] = 5u << 8 | 1u << 20; /* DST_SEL memory, WR_CONFIRM */
	ib[k++] = (uint32_t)va;
	ib[k++] = (uint32_t)(va >> 32);
	for (unsigned i = 0; i < n; i++)
		ib[k++] = data[i];
	return k;
}

/* PM4: wait until the dword at va equals ref. */
static unsigned pm4_wait_mem(uint32_t *ib, uint64_t va, uint32_t ref)
{
	unsigned k = 0;
	ib[k++] = PACKET3(PKT3_WAIT_REG_MEM, 5);
	ib[k++] = 3u | 1u << 4; /* function ==, memory space */
	ib[k++] = (uint32_t)va;
	ib[k++] = (uint32_t)(va >> 32);
	ib[k++] = ref;
	ib[k++] = 0xFFFFFFFFu;
	ib[k++] = 4;
	return k;
}

static unsigned pad8(uint32_t *ib, unsigned k, uint32_t nop)
{
	while (k % 8)
		ib[k++] = nop;
	return k;
}

static uint64_t faults(struct env *e)
{
	uint64_t n = 0;
	for (unsigned v = 0; v < AMDGPU_NUM_VMID; v++)
		n += amdgpu_vm_fault_count(e->adev, v);
	return n;
}

/* ------------------------------------------------------------------ tests */

static void gfx_write_and_sequence_numbers(void **state)
{
	struct env *e = *state;
	struct bo ib = bo_new(e->a, 4096, 0x400000), dst = bo_new(e->a, 4096, 0x500000);
	uint32_t ctx = ctx_new(e->a);
	const uint32_t data[4] = {0x11111111, 0x22222222, 0x33333333, 0x44444444};
	unsigned k = pad8(ib.cpu, pm4_write(ib.cpu, dst.va + 64, data, 4), PM4_NOP);
	uint32_t hs[2] = {ib.handle, dst.handle};
	struct sub s = {.ctx = ctx, .ip = AMDGPU_HW_IP_GFX, .ib_va = ib.va, .ib_bytes = k * 4, .handles = hs,
			.nhandles = 2};
	uint64_t seq = 0;
	assert_int_equal(submit(e->a, &s, &seq), 0);
	assert_int_equal(seq, 1);
	assert_int_equal(wait_cs(e, e->a, ctx, AMDGPU_HW_IP_GFX, 0, seq), 0);
	assert_memory_equal(&dst.cpu[16], data, sizeof(data));
	assert_int_equal(dst.cpu[15], 0);
	assert_int_equal(dst.cpu[20], 0);

	/* Again: the next number; the VMID stays without another flush (same tables). */
	uint64_t flushes = e->adev->cs->rings[AMDGPU_HW_IP_GFX][0].vmids.flushes;
	memset(dst.cpu, 0, 4096);
	assert_int_equal(submit(e->a, &s, &seq), 0);
	assert_int_equal(seq, 2);
	assert_int_equal(wait_cs(e, e->a, ctx, AMDGPU_HW_IP_GFX, 0, ~0ull), 0);
	assert_memory_equal(&dst.cpu[16], data, sizeof(data));
	assert_int_equal(e->adev->cs->rings[AMDGPU_HW_IP_GFX][0].vmids.flushes, flushes);
	/* A user fence (FENCE chunk): the sequence number lands in the BO when the job is done. */
	struct bo uf = bo_new(e->a, 4096, 0);
	struct drm_amdgpu_cs_chunk_fence ufc = {.handle = uf.handle, .offset = 24};
	struct sub su = s;
	su.extra[su.nextra++] = (struct drm_amdgpu_cs_chunk){AMDGPU_CHUNK_ID_FENCE, sizeof(ufc) / 4, (uintptr_t)&ufc};
	assert_int_equal(submit(e->a, &su, &seq), 0);
	assert_int_equal(seq, 3);
	assert_int_equal(wait_cs(e, e->a, ctx, AMDGPU_HW_IP_GFX, 0, seq), 0);
	uint64_t ufv;
	memcpy(&ufv, (uint8_t *)uf.cpu + 24, sizeof(ufv));
	assert_int_equal(ufv, 3);
	/* Numbers not handed out yet are EINVAL; seq 0 (before the first) is done. */
	assert_int_equal(poll_cs(e->a, ctx, AMDGPU_HW_IP_GFX, 0, 4), -EINVAL);
	assert_int_equal(poll_cs(e->a, ctx, AMDGPU_HW_IP_GFX, 0, 0), 0);
	/* The other file's context ids are not ours. */
	assert_int_equal(poll_cs(e->b, ctx, AMDGPU_HW_IP_GFX, 0, 1), -EINVAL);
}

static void copies_on_sdma_and_gfx(void **state)
{
	struct env *e = *state;
	struct bo ib = bo_new(e->a, 4096, 0x400000), src = bo_new(e->a, 65536, 0x600000),
		  d0 = bo_new(e->a, 65536, 0x700000), d1 = bo_new(e->a, 65536, 0x800000),
		  d2 = bo_new(e->a, 65536, 0x900000);
	for (unsigned i = 0; i < 65536 / 4; i++)
		src.cpu[i] = i * 2654435761u;
	uint32_t ctx = ctx_new(e->a);
	uint32_t hs[5] = {ib.handle, src.handle, d0.handle, d1.handle, d2.handle};
	struct { struct bo *dst; uint32_t ip, ring; unsigned off; } runs[3] = {
		{&d0, AMDGPU_HW_IP_DMA, 0, 0}, {&d1, AMDGPU_HW_IP_DMA, 1, 256}, {&d2, AMDGPU_HW_IP_GFX, 0, 512}};
	uint64_t seq[3];
	for (unsigned r = 0; r < 3; r++) {
		uint32_t *p = ib.cpu + runs[r].off;
		uint64_t va = ib.va + runs[r].off * 4;
		unsigned k = 0;
		if (runs[r].ip == AMDGPU_HW_IP_DMA) {
			p[k++] = SDMA_COPY_LINEAR;
			p[k++] = 65536 - 1;
			p[k++] = 0;
			p[k++] = (uint32_t)src.va;
			p[k++] = (uint32_t)(src.va >> 32);
			p[k++] = (uint32_t)runs[r].dst->va;
			p[k++] = (uint32_t)(runs[r].dst->va >> 32);
			k = pad8(p, k, SDMA_NOP);
		} else {
			p[k++] = PACKET3(PKT3_DMA_DATA, 5);
			p[k++] = 1u << 31; /* CP_SYNC; addresses to addresses */
			p[k++] = (uint32_t)src.va;
			p[k++] = (uint32_t)(src.va >> 32);
			p[k++] = (uint32_t)runs[r].dst->va;
			p[k++] = (uint32_t)(runs[r].dst->va >> 32);
			p[k++] = 65536;
			k = pad8(p, k, PM4_NOP);
		}
		struct sub s = {.ctx = ctx, .ip = runs[r].ip, .ring = runs[r].ring, .ib_va = va, .ib_bytes = k * 4,
				.handles = hs, .nhandles = 5};
		assert_int_equal(submit(e->a, &s, &seq[r]), 0);
	}
	for (unsigned r = 0; r < 3; r++) {
		assert_int_equal(wait_cs(e, e->a, ctx, runs[r].ip, runs[r].ring, seq[r]), 0);
		assert_memory_equal(runs[r].dst->cpu, src.cpu, 65536);
	}
	/* One counter per (ip, ring): each entity numbers its own submissions. */
	assert_int_equal(seq[0], 1);
	assert_int_equal(seq[1], 1);
	assert_int_equal(seq[2], 1);
}

static void cs_checks(void **state)
{
	struct env *e = *state;
	struct bo ib = bo_new(e->a, 4096, 0x400000);
	for (unsigned i = 0; i < 8; i++)
		ib.cpu[i] = PM4_NOP;
	uint32_t ctx = ctx_new(e->a);
	struct sub s = {.ctx = ctx, .ip = AMDGPU_HW_IP_GFX, .ib_va = ib.va, .ib_bytes = 32};
	assert_int_equal(submit(e->a, &s, NULL), 0);

	struct sub bad = s;
	bad.ctx = 77;
	assert_int_equal(submit(e->a, &bad, NULL), -EINVAL); /* unknown context */
	bad = s;
	bad.ip = AMDGPU_HW_IP_NUM;
	assert_int_equal(submit(e->a, &bad, NULL), -EINVAL); /* unknown IP */
	bad = s;
	bad.ring = 1;
	assert_int_equal(submit(e->a, &bad, NULL), -EINVAL); /* GFX has one ring */
	bad = s;
	bad.instance = 1;
	assert_int_equal(submit(e->a, &bad, NULL), -EINVAL);
	bad = s;
	bad.ib_bytes = 0;
	assert_int_equal(submit(e->a, &bad, NULL), -EINVAL);
	bad = s;
	bad.ip = AMDGPU_HW_IP_COMPUTE;
	assert_int_equal(submit(e->a, &bad, NULL), -ENOENT); /* no compute ring runs */
	bad = s;
	bad.extra[bad.nextra++] = (struct drm_amdgpu_cs_chunk){0x7f, 0, 0};
	assert_int_equal(submit(e->a, &bad, NULL), -EINVAL); /* unknown chunk id */
	uint32_t nohandle = 999;
	bad = s;
	bad.handles = &nohandle;
	bad.nhandles = 1;
	assert_int_equal(submit(e->a, &bad, NULL), -ENOENT); /* BO_HANDLES with an unknown BO */
	struct drm_amdgpu_cs_chunk_fence uf = {.handle = 999};
	bad = s;
	bad.extra[bad.nextra++] = (struct drm_amdgpu_cs_chunk){AMDGPU_CHUNK_ID_FENCE, 2, (uintptr_t)&uf};
	assert_int_equal(submit(e->a, &bad, NULL), -EINVAL); /* user fence in no BO */
	uf.handle = ib.handle;
	uf.offset = 4096 - 4;
	assert_int_equal(submit(e->a, &bad, NULL), -EINVAL); /* 8 bytes do not fit there */
	struct drm_amdgpu_cs_chunk_sem sem = {.handle = 12345};
	bad = s;
	bad.extra[bad.nextra++] = (struct drm_amdgpu_cs_chunk){AMDGPU_CHUNK_ID_SYNCOBJ_IN, 1, (uintptr_t)&sem};
	assert_int_equal(submit(e->a, &bad, NULL), -ENOENT); /* unknown syncobj */
	bad.extra[0].chunk_id = AMDGPU_CHUNK_ID_SYNCOBJ_OUT;
	assert_int_equal(submit(e->a, &bad, NULL), -EINVAL);
	struct drm_amdgpu_cs_chunk_dep dep = {.ip_type = AMDGPU_HW_IP_GFX, .ctx_id = ctx, .handle = 99};
	bad = s;
	bad.extra[bad.nextra++] = (struct drm_amdgpu_cs_chunk){AMDGPU_CHUNK_ID_DEPENDENCIES, sizeof(dep) / 4,
							       (uintptr_t)&dep};
	assert_int_equal(submit(e->a, &bad, NULL), -EINVAL); /* a sequence number not handed out */

	/* No chunks; an IB chunk too short for its struct; a BO list handle that does not exist. */
	union drm_amdgpu_cs cs = {.in = {.ctx_id = ctx, .num_chunks = 0}};
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_CS, &cs), -EINVAL);
	struct drm_amdgpu_cs_chunk_ib ibc = {.va_start = ib.va, .ib_bytes = 32};
	struct drm_amdgpu_cs_chunk c = {AMDGPU_CHUNK_ID_IB, 2, (uintptr_t)&ibc};
	uint64_t p = (uintptr_t)&c;
	cs = (union drm_amdgpu_cs){.in = {.ctx_id = ctx, .num_chunks = 1, .chunks = (uintptr_t)&p}};
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_CS, &cs), -EINVAL);
	c.length_dw = sizeof(ibc) / 4;
	cs = (union drm_amdgpu_cs){.in = {.ctx_id = ctx, .bo_list_handle = 55, .num_chunks = 1, .chunks = (uintptr_t)&p}};
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_CS, &cs), -ENOENT);
	assert_int_equal(wait_cs(e, e->a, ctx, AMDGPU_HW_IP_GFX, 0, 1), 0);
}

static void contexts_and_priorities(void **state)
{
	struct env *e = *state;
	union drm_amdgpu_ctx x = {.in = {.op = AMDGPU_CTX_OP_ALLOC_CTX, .priority = AMDGPU_CTX_PRIORITY_HIGH}};
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_CTX, &x), -EACCES); /* neither root nor master */
	x.in.priority = 4242;
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_CTX, &x), -EINVAL);
	x.in.priority = AMDGPU_CTX_PRIORITY_LOW;
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_CTX, &x), 0);
	uint32_t id = x.out.alloc.ctx_id;
	x = (union drm_amdgpu_ctx){.in = {.op = AMDGPU_CTX_OP_ALLOC_CTX, .priority = AMDGPU_CTX_PRIORITY_VERY_HIGH}};
	assert_int_equal(test_ioctl(e->a, 100, 0, DRM_IOCTL_AMDGPU_CTX, &x), 0); /* root may */
	x = (union drm_amdgpu_ctx){.in = {.op = AMDGPU_CTX_OP_QUERY_STATE2, .ctx_id = id}};
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_CTX, &x), 0);
	assert_int_equal(x.out.state.flags, 0);
	x = (union drm_amdgpu_ctx){.in = {.op = AMDGPU_CTX_OP_QUERY_STATE, .ctx_id = id}};
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_CTX, &x), 0);
	assert_int_equal(x.out.state.reset_status, AMDGPU_CTX_NO_RESET);
	x = (union drm_amdgpu_ctx){.in = {.op = AMDGPU_CTX_OP_FREE_CTX, .ctx_id = id}};
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_CTX, &x), 0);
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_CTX, &x), -EINVAL);
	x = (union drm_amdgpu_ctx){.in = {.op = AMDGPU_CTX_OP_QUERY_STATE2, .ctx_id = id}};
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_CTX, &x), -EINVAL);
	/* SCHED is for the current master only (render nodes never are). */
	union drm_amdgpu_sched sc = {.in = {.op = AMDGPU_SCHED_OP_PROCESS_PRIORITY_OVERRIDE, .fd = 0,
					    .priority = AMDGPU_CTX_PRIORITY_HIGH}};
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_SCHED, &sc), -EACCES);
}

/*
 * Explicit and implicit dependencies across clients: A's GFX job waits (in a
 * WAIT_REG_MEM) for a flag the test writes later, then fills X; B's SDMA job
 * copies X (shared with B) to its own Y. B lists X, so it waits for A (the
 * implicit sync); its out-syncobj signals only after. C on B's other context
 * depends explicitly on B's job.
 */
static void dependencies_and_syncobjs(void **state)
{
	struct env *e = *state;
	struct bo ib_a = bo_new(e->a, 4096, 0x400000), flag = bo_new(e->a, 4096, 0x500000),
		  x = bo_new(e->a, 4096, 0x600000);
	struct drm_gem_object *xo = drm_gem_object_lookup(e->a, x.handle);
	uint32_t xb;
	assert_int_equal(drm_gem_handle_create(e->b, xo, &xb), 0); /* as flink/PRIME would share it */
	drm_gem_object_put(xo);
	struct drm_amdgpu_gem_va v = {.handle = xb, .operation = AMDGPU_VA_OP_MAP,
				      .flags = AMDGPU_VM_PAGE_READABLE | AMDGPU_VM_PAGE_WRITEABLE,
				      .va_address = 0x600000, .map_size = 4096};
	assert_int_equal(io(e->b, DRM_IOCTL_AMDGPU_GEM_VA, &v), 0);
	struct bo ib_b = bo_new(e->b, 4096, 0x400000), y = bo_new(e->b, 4096, 0x700000);

	uint32_t ca = ctx_new(e->a), cb = ctx_new(e->b), cb2 = ctx_new(e->b);
	const uint32_t pattern[4] = {0xA1, 0xA2, 0xA3, 0xA4};
	unsigned k = pm4_wait_mem(ib_a.cpu, flag.va, 1);
	k = pad8(ib_a.cpu, k + pm4_write(ib_a.cpu + k, x.va, pattern, 4), PM4_NOP);
	uint32_t ha[3] = {ib_a.handle, flag.handle, x.handle};
	struct sub sa = {.ctx = ca, .ip = AMDGPU_HW_IP_GFX, .ib_va = ib_a.va, .ib_bytes = k * 4, .handles = ha,
			 .nhandles = 3};
	uint64_t seq_a;
	assert_int_equal(submit(e->a, &sa, &seq_a), 0);

	uint32_t *p = ib_b.cpu;
	k = 0;
	p[k++] = SDMA_COPY_LINEAR;
	p[k++] = 16 - 1;
	p[k++] = 0;
	p[k++] = (uint32_t)x.va;
	p[k++] = 0;
	p[k++] = (uint32_t)y.va;
	p[k++] = 0;
	k = pad8(p, k, SDMA_NOP);
	struct drm_syncobj_create sc = {0};
	assert_int_equal(io(e->b, DRM_IOCTL_SYNCOBJ_CREATE, &sc), 0);
	struct drm_amdgpu_cs_chunk_sem out = {.handle = sc.handle};
	uint32_t hb[3] = {ib_b.handle, xb, y.handle};
	struct sub sb = {.ctx = cb, .ip = AMDGPU_HW_IP_DMA, .ib_va = ib_b.va, .ib_bytes = k * 4, .handles = hb,
			 .nhandles = 3, .nextra = 1,
			 .extra = {{AMDGPU_CHUNK_ID_SYNCOBJ_OUT, sizeof(out) / 4, (uintptr_t)&out}}};
	uint64_t seq_b;
	assert_int_equal(submit(e->b, &sb, &seq_b), 0);

	/* C: a no-op IB on B's second context, after B's job by DEPENDENCIES. */
	ib_b.cpu[64] = SDMA_NOP;
	struct drm_amdgpu_cs_chunk_dep dep = {.ip_type = AMDGPU_HW_IP_DMA, .ring = 0, .ctx_id = cb, .handle = seq_b};
	struct sub sc2 = {.ctx = cb2, .ip = AMDGPU_HW_IP_DMA, .ring = 1, .ib_va = ib_b.va + 256, .ib_bytes = 32,
			  .nextra = 1, .extra = {{AMDGPU_CHUNK_ID_DEPENDENCIES, sizeof(dep) / 4, (uintptr_t)&dep}}};
	for (unsigned i = 64; i < 72; i++)
		ib_b.cpu[i] = SDMA_NOP;
	uint64_t seq_c;
	assert_int_equal(submit(e->b, &sc2, &seq_c), 0);
	/* D: a third context of B, after B's job only through B's out-syncobj (SYNCOBJ_IN). */
	for (unsigned i = 128; i < 136; i++)
		ib_b.cpu[i] = SDMA_NOP;
	uint32_t cb3 = ctx_new(e->b);
	struct drm_amdgpu_cs_chunk_sem in = {.handle = sc.handle};
	struct sub sd = {.ctx = cb3, .ip = AMDGPU_HW_IP_DMA, .ring = 1, .ib_va = ib_b.va + 512, .ib_bytes = 32,
			 .nextra = 1, .extra = {{AMDGPU_CHUNK_ID_SYNCOBJ_IN, sizeof(in) / 4, (uintptr_t)&in}}};
	uint64_t seq_d;
	assert_int_equal(submit(e->b, &sd, &seq_d), 0);

	run_loop_ms(e, 100);
	assert_int_equal(poll_cs(e->a, ca, AMDGPU_HW_IP_GFX, 0, seq_a), 1);
	assert_int_equal(poll_cs(e->b, cb, AMDGPU_HW_IP_DMA, 0, seq_b), 1);
	assert_int_equal(poll_cs(e->b, cb2, AMDGPU_HW_IP_DMA, 1, seq_c), 1);
	assert_int_equal(poll_cs(e->b, cb3, AMDGPU_HW_IP_DMA, 1, seq_d), 1);
	struct drm_syncobj *so = drm_syncobj_find(e->b, sc.handle);
	struct drm_fence *sf = drm_syncobj_fence_get(so);
	assert_non_null(sf);
	assert_false(drm_fence_is_signaled(sf));
	/* WAIT_FENCES on A's and B's submissions, without waiting: nothing done yet. */
	struct drm_amdgpu_fence fs[2] = {{.ctx_id = cb, .ip_type = AMDGPU_HW_IP_DMA, .seq_no = seq_b},
					 {.ctx_id = cb2, .ip_type = AMDGPU_HW_IP_DMA, .ring = 1, .seq_no = seq_c}};
	union drm_amdgpu_wait_fences wf = {.in = {.fences = (uintptr_t)fs, .fence_count = 2, .wait_all = 0}};
	assert_int_equal(io(e->b, DRM_IOCTL_AMDGPU_WAIT_FENCES, &wf), 0);
	assert_int_equal(wf.out.status, 0);
	assert_int_equal(wf.out.first_signaled, ~0u);
	/* GEM_WAIT_IDLE on the shared BO: busy (A and B use it), from either side; Y only B's. */
	union drm_amdgpu_gem_wait_idle wi = {.in = {.handle = xb, .timeout = 0}};
	assert_int_equal(io(e->b, DRM_IOCTL_AMDGPU_GEM_WAIT_IDLE, &wi), 0);
	assert_int_equal(wi.out.status, 1);
	wi = (union drm_amdgpu_gem_wait_idle){.in = {.handle = x.handle, .timeout = 0}};
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_GEM_WAIT_IDLE, &wi), 0);
	assert_int_equal(wi.out.status, 1);

	flag.cpu[0] = 1; /* let A go */
	assert_int_equal(wait_cs(e, e->b, cb2, AMDGPU_HW_IP_DMA, 1, seq_c), 0);
	assert_int_equal(wait_cs(e, e->b, cb3, AMDGPU_HW_IP_DMA, 1, seq_d), 0);
	assert_int_equal(poll_cs(e->b, cb, AMDGPU_HW_IP_DMA, 0, seq_b), 0);
	assert_int_equal(poll_cs(e->a, ca, AMDGPU_HW_IP_GFX, 0, seq_a), 0);
	assert_memory_equal(y.cpu, pattern, sizeof(pattern));
	assert_true(drm_fence_is_signaled(sf));
	wi = (union drm_amdgpu_gem_wait_idle){.in = {.handle = y.handle, .timeout = 0}};
	assert_int_equal(io(e->b, DRM_IOCTL_AMDGPU_GEM_WAIT_IDLE, &wi), 0);
	assert_int_equal(wi.out.status, 0);
	drm_fence_put(sf);
	drm_syncobj_put(so);
	wf = (union drm_amdgpu_wait_fences){.in = {.fences = (uintptr_t)fs, .fence_count = 2, .wait_all = 1}};
	assert_int_equal(io(e->b, DRM_IOCTL_AMDGPU_WAIT_FENCES, &wf), 0);
	assert_int_equal(wf.out.status, 1);

	/* FENCE_TO_HANDLE: B's submission as a new syncobj, already signalled. */
	union drm_amdgpu_fence_to_handle th = {.in = {.fence = fs[0], .what = AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ}};
	assert_int_equal(io(e->b, DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE, &th), 0);
	so = drm_syncobj_find(e->b, th.out.handle);
	assert_non_null(so);
	sf = drm_syncobj_fence_get(so);
	assert_true(sf && drm_fence_is_signaled(sf) && sf->error == 0);
	drm_fence_put(sf);
	drm_syncobj_put(so);
	th.in.what = 7;
	assert_int_equal(io(e->b, DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE, &th), -EINVAL);
}

/* 40 submissions on one entity: older than the window of 32 read as done; WAIT_CS on them needs no fence. */
static void fence_window(void **state)
{
	struct env *e = *state;
	struct bo ib = bo_new(e->a, 4096, 0x400000);
	for (unsigned i = 0; i < 8; i++)
		ib.cpu[i] = PM4_NOP;
	uint32_t ctx = ctx_new(e->a);
	struct sub s = {.ctx = ctx, .ip = AMDGPU_HW_IP_GFX, .ib_va = ib.va, .ib_bytes = 32};
	uint64_t seq = 0;
	for (unsigned i = 0; i < 40; i++) {
		assert_int_equal(submit(e->a, &s, &seq), 0);
		if (i % 16 == 15)
			assert_int_equal(wait_cs(e, e->a, ctx, AMDGPU_HW_IP_GFX, 0, seq), 0);
	}
	assert_int_equal(seq, 40);
	assert_int_equal(wait_cs(e, e->a, ctx, AMDGPU_HW_IP_GFX, 0, 40), 0);
	assert_int_equal(poll_cs(e->a, ctx, AMDGPU_HW_IP_GFX, 0, 3), 0);
	struct amdgpu_ctx *c = amdgpu_ctx_lookup(e->a, ctx);
	struct amdgpu_ctx_entity *ent;
	assert_int_equal(amdgpu_ctx_get_entity(c, AMDGPU_HW_IP_GFX, 0, 0, &ent), 0);
	int err;
	assert_null(amdgpu_ctx_get_fence(ent, 3, &err)); /* out of the window */
	struct drm_fence *f = amdgpu_ctx_get_fence(ent, 39, &err);
	assert_non_null(f);
	assert_int_equal(f->seqno, 39);
	drm_fence_put(f);
}

/*
 * A hangs the GFX ring (WAIT_REG_MEM on memory that never changes); B's
 * WRITE_DATA queued behind it on the same ring. A finishes with an error
 * within the timeout (ring reset), its context is guilty and refuses new
 * work; B's job runs after the reset: its bytes land and its fence is OK.
 */
static void hang_reset_guilty(void **state)
{
	struct env *e = *state;
	struct bo ib_a = bo_new(e->a, 4096, 0x400000), never = bo_new(e->a, 4096, 0x500000);
	struct bo ib_b = bo_new(e->b, 4096, 0x400000), dst = bo_new(e->b, 4096, 0x500000);
	uint32_t ca = ctx_new(e->a), cb = ctx_new(e->b);
	unsigned k = pad8(ib_a.cpu, pm4_wait_mem(ib_a.cpu, never.va, 0xC0FFEE), PM4_NOP);
	uint32_t ha[2] = {ib_a.handle, never.handle};
	struct sub sa = {.ctx = ca, .ip = AMDGPU_HW_IP_GFX, .ib_va = ib_a.va, .ib_bytes = k * 4, .handles = ha,
			 .nhandles = 2};
	uint64_t seq_a, seq_b;
	assert_int_equal(submit(e->a, &sa, &seq_a), 0);
	const uint32_t data[2] = {0xB0B0B0B0, 0xB1B1B1B1};
	k = pad8(ib_b.cpu, pm4_write(ib_b.cpu, dst.va, data, 2), PM4_NOP);
	uint32_t hb[2] = {ib_b.handle, dst.handle};
	struct sub sb = {.ctx = cb, .ip = AMDGPU_HW_IP_GFX, .ib_va = ib_b.va, .ib_bytes = k * 4, .handles = hb,
			 .nhandles = 2};
	assert_int_equal(submit(e->b, &sb, &seq_b), 0);
	uint64_t resets = e->adev->gfx_ring.resets;

	int ra = wait_cs(e, e->a, ca, AMDGPU_HW_IP_GFX, 0, seq_a);
	assert_true(ra < 0); /* the guilty job's fence failed (-ETIME) */
	assert_int_equal(ra, -ETIME); /* failed by the job timeout (wait_cs gives up long after it) */
	assert_int_equal(wait_cs(e, e->b, cb, AMDGPU_HW_IP_GFX, 0, seq_b), 0);
	assert_memory_equal(dst.cpu, data, sizeof(data));
	assert_int_equal(e->adev->gfx_ring.resets, resets + 1);

	union drm_amdgpu_ctx x = {.in = {.op = AMDGPU_CTX_OP_QUERY_STATE2, .ctx_id = ca}};
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_CTX, &x), 0);
	assert_int_equal(x.out.state.flags, AMDGPU_CTX_QUERY2_FLAGS_RESET | AMDGPU_CTX_QUERY2_FLAGS_GUILTY);
	x = (union drm_amdgpu_ctx){.in = {.op = AMDGPU_CTX_OP_QUERY_STATE2, .ctx_id = cb}};
	assert_int_equal(io(e->b, DRM_IOCTL_AMDGPU_CTX, &x), 0);
	assert_int_equal(x.out.state.flags, AMDGPU_CTX_QUERY2_FLAGS_RESET);
	x = (union drm_amdgpu_ctx){.in = {.op = AMDGPU_CTX_OP_QUERY_STATE, .ctx_id = ca}};
	assert_int_equal(io(e->a, DRM_IOCTL_AMDGPU_CTX, &x), 0);
	assert_int_equal(x.out.state.reset_status, AMDGPU_CTX_GUILTY_RESET);
	x = (union drm_amdgpu_ctx){.in = {.op = AMDGPU_CTX_OP_QUERY_STATE, .ctx_id = cb}};
	assert_int_equal(io(e->b, DRM_IOCTL_AMDGPU_CTX, &x), 0);
	assert_int_equal(x.out.state.reset_status, AMDGPU_CTX_INNOCENT_RESET);
	x = (union drm_amdgpu_ctx){.in = {.op = AMDGPU_CTX_OP_QUERY_STATE, .ctx_id = cb}};
	assert_int_equal(io(e->b, DRM_IOCTL_AMDGPU_CTX, &x), 0);
	assert_int_equal(x.out.state.reset_status, AMDGPU_CTX_NO_RESET); /* reported once */

	/* The guilty context takes no more work; a new one does, and the ring works. */
	assert_int_equal(submit(e->a, &sa, NULL), -ECANCELED);
	uint32_t cb2 = ctx_new(e->b);
	memset(dst.cpu, 0, 8);
	sb.ctx = cb2;
	assert_int_equal(submit(e->b, &sb, &seq_b), 0);
	assert_int_equal(wait_cs(e, e->b, cb2, AMDGPU_HW_IP_GFX, 0, seq_b), 0);
	assert_memory_equal(dst.cpu, data, sizeof(data));
}

/*
 * An IB that writes to a VA nothing is mapped at: the write faults (counted
 * for the VMID) and lands nowhere; every BO of both clients is unchanged.
 */
static void vm_fault_touches_nothing(void **state)
{
	struct env *e = *state;
	struct bo ib = bo_new(e->a, 4096, 0x400000), mine = bo_new(e->a, 65536, 0x500000);
	struct bo theirs = bo_new(e->b, 65536, 0x500000), theirs_ib = bo_new(e->b, 4096, 0x400000);
	for (unsigned i = 0; i < 65536 / 4; i++) {
		mine.cpu[i] = 0x5A5A0000u + i;
		theirs.cpu[i] = 0xA5A50000u + i;
	}
	uint32_t *snap_mine = malloc(65536), *snap_theirs = malloc(65536), snap_ib[1024], snap_tib[1024];
	memcpy(snap_mine, mine.cpu, 65536);
	memcpy(snap_theirs, theirs.cpu, 65536);
	memcpy(snap_tib, theirs_ib.cpu, 4096);
	uint32_t ctx = ctx_new(e->a);
	const uint32_t data[4] = {0xDEAD0001, 0xDEAD0002, 0xDEAD0003, 0xDEAD0004};
	unsigned k = pad8(ib.cpu, pm4_write(ib.cpu, 0x7F0000000000ull, data, 4), PM4_NOP);
	memcpy(snap_ib, ib.cpu, 4096);
	uint64_t before = faults(e);
	uint32_t hs[2] = {ib.handle, mine.handle};
	struct sub s = {.ctx = ctx, .ip = AMDGPU_HW_IP_GFX, .ib_va = ib.va, .ib_bytes = k * 4, .handles = hs,
			.nhandles = 2};
	uint64_t seq;
	assert_int_equal(submit(e->a, &s, &seq), 0);
	assert_int_equal(wait_cs(e, e->a, ctx, AMDGPU_HW_IP_GFX, 0, seq), 0);
	run_loop_ms(e, 20); /* the fault vectors come through the IH */
	assert_true(faults(e) > before);
	assert_memory_equal(mine.cpu, snap_mine, 65536);
	assert_memory_equal(theirs.cpu, snap_theirs, 65536);
	assert_memory_equal(ib.cpu, snap_ib, 4096);
	assert_memory_equal(theirs_ib.cpu, snap_tib, 4096);
	free(snap_mine);
	free(snap_theirs);
}

/* A client that goes away with work queued: its jobs are dropped, the ring keeps serving others. */
static void client_exit_with_work(void **state)
{
	struct env *e = *state;
	struct bo ib = bo_new(e->a, 4096, 0x400000), never = bo_new(e->a, 4096, 0x500000);
	uint32_t ctx = ctx_new(e->a);
	unsigned k = pad8(ib.cpu, pm4_wait_mem(ib.cpu, never.va, 1), PM4_NOP);
	uint32_t hs[2] = {ib.handle, never.handle};
	struct sub s = {.ctx = ctx, .ip = AMDGPU_HW_IP_GFX, .ib_va = ib.va, .ib_bytes = k * 4, .handles = hs,
			.nhandles = 2};
	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(submit(e->a, &s, NULL), 0);
	run_loop_ms(e, 20);
	drm_file_release(e->a);
	e->a = NULL;
	struct bo ib_b = bo_new(e->b, 4096, 0x400000), dst = bo_new(e->b, 4096, 0x500000);
	const uint32_t data[1] = {0x600D};
	k = pad8(ib_b.cpu, pm4_write(ib_b.cpu, dst.va, data, 1), PM4_NOP);
	uint32_t hb[2] = {ib_b.handle, dst.handle};
	uint32_t cb = ctx_new(e->b);
	struct sub sb = {.ctx = cb, .ip = AMDGPU_HW_IP_GFX, .ib_va = ib_b.va, .ib_bytes = k * 4, .handles = hb,
			 .nhandles = 2};
	uint64_t seq;
	assert_int_equal(submit(e->b, &sb, &seq), 0);
	assert_int_equal(wait_cs(e, e->b, cb, AMDGPU_HW_IP_GFX, 0, seq), 0);
	assert_int_equal(dst.cpu[0], 0x600D);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(gfx_write_and_sequence_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(copies_on_sdma_and_gfx, setup, teardown),
		cmocka_unit_test_setup_teardown(cs_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(contexts_and_priorities, setup, teardown),
		cmocka_unit_test_setup_teardown(dependencies_and_syncobjs, setup, teardown),
		cmocka_unit_test_setup_teardown(fence_window, setup, teardown),
		cmocka_unit_test_setup_teardown(hang_reset_guilty, setup, teardown),
		cmocka_unit_test_setup_teardown(vm_fault_touches_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(client_exit_with_work, setup, teardown),
	};
	return cmocka_run_group_tests_name("amdgpu_cs", tests, NULL, NULL);
}
