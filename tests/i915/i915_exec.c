/*
 * i915 command submission as a client sees it, meant to run under
 * redox-drm-run (plain ioctls on the Intel render node through the
 * interposer): batches that store into buffers, relocations, soft-pinning,
 * the kernel's refusals, sync_file in/out fences, syncobj fence arrays and
 * timeline points, BUSY/WAIT, per-file address spaces, and a hung batch
 * reset while another context's batch queued behind it completes.
 * Exits 0 when every check holds; prints each failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <i915_drm.h>
#include <linux/sync_file.h>
#include <xf86drm.h>

#include "i915_node.h"

static int failures;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);  \
			failures++;                                                      \
		}                                                                        \
	} while (0)
#define CHECK_EQ(a, b)                                                                         \
	do {                                                                                   \
		long long a_ = (long long)(a), b_ = (long long)(b);                            \
		if (a_ != b_) {                                                                \
			fprintf(stderr, "FAIL %s:%d: %s == %lld, expected %s == %lld\n", __FILE__, \
				__LINE__, #a, a_, #b, b_);                                     \
			failures++;                                                            \
		}                                                                              \
	} while (0)

/* Commands [GPU-MODELS.md §7]. */
#define MI_NOOP 0u
#define MI_ARB_CHECK (0x05u << 23)
#define MI_BB_END (0x0Au << 23)
#define MI_SEMAPHORE_WAIT (0x1Cu << 23 | 2)
#define SEM_POLL (1u << 15)
#define SEM_EQ (4u << 12)
#define MI_SDI (0x20u << 23 | 2)
#define MI_BB_START (0x31u << 23 | 1)
#define BB_PPGTT (1u << 8)

static int xioctl(int fd, unsigned long req, void *arg)
{
	return drmIoctl(fd, req, arg) ? -errno : 0;
}

struct bo {
	uint32_t handle;
	uint64_t size;
	uint32_t *map;
};

static struct bo bo_new(int fd, uint64_t size)
{
	struct bo b = {0};
	struct drm_i915_gem_create c = {.size = size};
	if (xioctl(fd, DRM_IOCTL_I915_GEM_CREATE, &c))
		return b;
	struct drm_i915_gem_mmap_offset mo = {.handle = c.handle, .flags = I915_MMAP_OFFSET_WB};
	if (xioctl(fd, DRM_IOCTL_I915_GEM_MMAP_OFFSET, &mo))
		return b;
	void *p = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)mo.offset);
	if (p == MAP_FAILED)
		return b;
	b.handle = c.handle;
	b.size = c.size;
	b.map = p;
	return b;
}

static void bo_free(int fd, struct bo *b)
{
	if (b->map)
		munmap(b->map, b->size);
	struct drm_gem_close c = {.handle = b->handle};
	xioctl(fd, DRM_IOCTL_GEM_CLOSE, &c);
	memset(b, 0, sizeof(*b));
}

static int gem_wait(int fd, uint32_t handle, int64_t timeout_ns)
{
	struct drm_i915_gem_wait w = {.bo_handle = handle, .timeout_ns = timeout_ns};
	return xioctl(fd, DRM_IOCTL_I915_GEM_WAIT, &w);
}

static uint32_t gem_busy(int fd, uint32_t handle)
{
	struct drm_i915_gem_busy b = {.handle = handle};
	if (xioctl(fd, DRM_IOCTL_I915_GEM_BUSY, &b))
		return 0xdeadbeef;
	return b.busy;
}

static int execbuf(int fd, struct drm_i915_gem_exec_object2 *objs, unsigned n, uint64_t flags, uint32_t ctx,
		   struct drm_i915_gem_execbuffer2 *out)
{
	struct drm_i915_gem_execbuffer2 eb = {.buffers_ptr = (uintptr_t)objs, .buffer_count = n, .flags = flags};
	i915_execbuffer2_set_context_id(eb, ctx);
	if (out) {
		eb.cliprects_ptr = out->cliprects_ptr;
		eb.num_cliprects = out->num_cliprects;
		eb.rsvd2 = out->rsvd2;
		eb.batch_start_offset = out->batch_start_offset;
		eb.batch_len = out->batch_len;
		eb.DR1 = out->DR1;
	}
	int r = xioctl(fd, DRM_IOCTL_I915_GEM_EXECBUFFER2_WR, &eb);
	if (out)
		*out = eb;
	return r;
}

/* A batch storing value at the address in dwords 1-2 (patched by relocation or written here). */
static void store_batch(uint32_t *b, uint64_t addr, uint32_t value)
{
	b[0] = MI_SDI;
	b[1] = (uint32_t)addr;
	b[2] = (uint32_t)(addr >> 32);
	b[3] = value;
	b[4] = MI_BB_END;
	b[5] = MI_NOOP;
}

/* Relocated store; the kernel-style checks on relocation entries. */
static void test_store_and_relocs(int fd)
{
	struct bo data = bo_new(fd, 4096), batch = bo_new(fd, 4096);
	CHECK(data.map && batch.map);
	store_batch(batch.map, 0, 0xc0ffee01);
	struct drm_i915_gem_relocation_entry r = {.target_handle = data.handle, .delta = 64, .offset = 4,
						  .presumed_offset = ~0ull,
						  .read_domains = I915_GEM_DOMAIN_RENDER,
						  .write_domain = I915_GEM_DOMAIN_RENDER};
	struct drm_i915_gem_exec_object2 objs[2] = {
		{.handle = data.handle, .offset = ~0ull & ~4095ull},
		{.handle = batch.handle, .relocation_count = 1, .relocs_ptr = (uintptr_t)&r},
	};
	objs[0].offset = 0;
	CHECK_EQ(execbuf(fd, objs, 2, I915_EXEC_RENDER, 0, NULL), 0);
	CHECK_EQ(gem_wait(fd, data.handle, 2000000000), 0);
	CHECK_EQ(data.map[16], 0xc0ffee01);
	/* The kernel tells where the objects went and what the relocation now presumes. */
	uint64_t patched = batch.map[1] | (uint64_t)batch.map[2] << 32;
	CHECK_EQ(r.presumed_offset, objs[0].offset);
	CHECK_EQ(patched, objs[0].offset + 64);
	CHECK(objs[1].offset != objs[0].offset);

	/* NO_RELOC with correct presumed offsets: nothing is rewritten, the store still lands. */
	batch.map[1] = batch.map[2] = 0;
	batch.map[1] = (uint32_t)(objs[0].offset + 128);
	batch.map[2] = (uint32_t)((objs[0].offset + 128) >> 32);
	batch.map[3] = 0xc0ffee02;
	CHECK_EQ(execbuf(fd, objs, 2, I915_EXEC_NO_RELOC, 0, NULL), 0);
	CHECK_EQ(gem_wait(fd, data.handle, 2000000000), 0);
	CHECK_EQ(data.map[32], 0xc0ffee02);
	CHECK_EQ(batch.map[1], (uint32_t)(objs[0].offset + 128));

	/* HANDLE_LUT + BATCH_FIRST: the target is an index into the list. */
	struct drm_i915_gem_relocation_entry rl = {.target_handle = 1, .delta = 256, .offset = 4,
						   .presumed_offset = ~0ull};
	struct drm_i915_gem_exec_object2 lut[2] = {
		{.handle = batch.handle, .relocation_count = 1, .relocs_ptr = (uintptr_t)&rl},
		{.handle = data.handle, .flags = EXEC_OBJECT_WRITE},
	};
	batch.map[3] = 0xc0ffee03;
	CHECK_EQ(execbuf(fd, lut, 2, I915_EXEC_HANDLE_LUT | I915_EXEC_BATCH_FIRST, 0, NULL), 0);
	CHECK_EQ(gem_wait(fd, data.handle, 2000000000), 0);
	CHECK_EQ(data.map[64], 0xc0ffee03);

	/* Bad relocations. */
	struct drm_i915_gem_relocation_entry bad = r;
	objs[1].relocs_ptr = (uintptr_t)&bad;
	bad.presumed_offset = ~0ull;
	bad.target_handle = 9999;
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), -ENOENT);
	bad = r;
	bad.presumed_offset = ~0ull;
	bad.offset = 6;
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), -EINVAL);
	bad.offset = 4096 - 4;
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), -EINVAL);
	bad.offset = 4;
	bad.write_domain = I915_GEM_DOMAIN_RENDER | I915_GEM_DOMAIN_INSTRUCTION;
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), -EINVAL);
	bad.write_domain = I915_GEM_DOMAIN_CPU;
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), -EINVAL);
	bo_free(fd, &data);
	bo_free(fd, &batch);
}

static void test_softpin(int fd)
{
	struct bo data = bo_new(fd, 8192), batch = bo_new(fd, 4096), other = bo_new(fd, 4096);
	const uint64_t data_va = 0x123450000ull, batch_va = 0x200000;
	store_batch(batch.map, data_va + 4096 + 8, 0x50f7);
	struct drm_i915_gem_exec_object2 objs[2] = {
		{.handle = data.handle, .offset = data_va,
		 .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_SUPPORTS_48B_ADDRESS | EXEC_OBJECT_WRITE},
		{.handle = batch.handle, .offset = batch_va, .flags = EXEC_OBJECT_PINNED},
	};
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), 0);
	CHECK_EQ(gem_wait(fd, data.handle, 2000000000), 0);
	CHECK_EQ(data.map[1024 + 2], 0x50f7);
	CHECK_EQ(objs[0].offset, data_va);
	CHECK_EQ(objs[1].offset, batch_va);

	/* Misaligned, non-canonical, above 4 GiB without the 48-bit flag, alignment not met. */
	objs[0].offset = data_va + 0x800;
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), -EINVAL);
	objs[0].offset = 1ull << 47;
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), -EINVAL);
	objs[0].offset = data_va;
	objs[0].flags &= ~(uint64_t)EXEC_OBJECT_SUPPORTS_48B_ADDRESS;
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), -EINVAL);
	objs[0].flags |= EXEC_OBJECT_SUPPORTS_48B_ADDRESS;
	objs[0].alignment = 1ull << 20;
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), -EINVAL);
	objs[0].alignment = 3;
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), -EINVAL);
	objs[0].alignment = 0;
	/* Canonical form of a high address is accepted and reported back canonical. */
	uint64_t high = 0xffff800000000000ull;
	objs[0].offset = high;
	store_batch(batch.map, 0x800000000000ull + 4, 0x5107);
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), 0);
	CHECK_EQ(gem_wait(fd, data.handle, 2000000000), 0);
	CHECK_EQ(data.map[1], 0x5107);
	CHECK_EQ(objs[0].offset, high);
	/* Two objects of one call on top of each other. */
	struct drm_i915_gem_exec_object2 overlap[3] = {
		objs[0],
		{.handle = other.handle, .offset = high + 4096,
		 .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_SUPPORTS_48B_ADDRESS},
		objs[1],
	};
	CHECK_EQ(execbuf(fd, overlap, 3, 0, 0, NULL), -EINVAL);
	bo_free(fd, &data);
	bo_free(fd, &batch);
	bo_free(fd, &other);
}

/* The kernel's refusals of the call itself and of its object list. */
static void test_refusals(int fd)
{
	struct bo data = bo_new(fd, 4096), batch = bo_new(fd, 4096);
	store_batch(batch.map, 0, 0);
	batch.map[0] = MI_BB_END;
	struct drm_i915_gem_exec_object2 objs[2] = {{.handle = data.handle}, {.handle = batch.handle}};
	struct drm_i915_gem_execbuffer2 eb;

	CHECK_EQ(execbuf(fd, objs, 0, 0, 0, NULL), -EINVAL);                    /* no objects */
	CHECK_EQ(execbuf(fd, objs, 2, 1ull << 40, 0, NULL), -EINVAL);           /* unknown flag */
	CHECK_EQ(execbuf(fd, objs, 2, I915_EXEC_BSD, 0, NULL), -EINVAL);        /* no video engine */
	CHECK_EQ(execbuf(fd, objs, 2, 9, 0, NULL), -EINVAL);                    /* no such ring */
	CHECK_EQ(execbuf(fd, objs, 2, I915_EXEC_RENDER | I915_EXEC_BSD_RING1, 0, NULL), -EINVAL);
	CHECK_EQ(execbuf(fd, objs, 2, I915_EXEC_SECURE, 0, NULL), -EPERM);
	CHECK_EQ(execbuf(fd, objs, 2, I915_EXEC_GEN7_SOL_RESET, 0, NULL), -EINVAL);
	CHECK_EQ(execbuf(fd, objs, 2, 0, 4242, NULL), -ENOENT);                 /* no such context */
	eb = (struct drm_i915_gem_execbuffer2){.num_cliprects = 1};
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, &eb), -EINVAL);                     /* cliprects */
	eb = (struct drm_i915_gem_execbuffer2){.DR1 = 1};
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, &eb), -EINVAL);
	eb = (struct drm_i915_gem_execbuffer2){.batch_start_offset = 4};
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, &eb), -EINVAL);                     /* unaligned */
	eb = (struct drm_i915_gem_execbuffer2){.batch_len = 8192};
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, &eb), -EINVAL);                     /* past the batch */
	eb = (struct drm_i915_gem_execbuffer2){.batch_start_offset = 4096};
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, &eb), -EINVAL);
	eb = (struct drm_i915_gem_execbuffer2){.batch_len = 8};
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, &eb), 0);
	CHECK_EQ(execbuf(fd, objs, 2, I915_EXEC_FENCE_IN | I915_EXEC_FENCE_SUBMIT, 0, NULL), -EINVAL);
	eb = (struct drm_i915_gem_execbuffer2){.rsvd2 = 1000}; /* no such fd */
	CHECK_EQ(execbuf(fd, objs, 2, I915_EXEC_FENCE_IN, 0, &eb), -EINVAL);

	struct drm_i915_gem_exec_object2 dup[2] = {{.handle = batch.handle}, {.handle = batch.handle}};
	CHECK_EQ(execbuf(fd, dup, 2, 0, 0, NULL), -EINVAL);
	struct drm_i915_gem_exec_object2 unknown[2] = {{.handle = 777}, {.handle = batch.handle}};
	CHECK_EQ(execbuf(fd, unknown, 2, 0, 0, NULL), -ENOENT);
	objs[0].flags = 1ull << 30;
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), -EINVAL);                    /* unknown object flag */
	objs[0].flags = 0;
	objs[1].flags = EXEC_OBJECT_WRITE;
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), -EINVAL);                    /* self-modifying batch */
	objs[1].flags = 0;
	objs[0].flags = EXEC_OBJECT_PAD_TO_SIZE;
	objs[0].pad_to_size = 100;
	CHECK_EQ(execbuf(fd, objs, 2, 0, 0, NULL), -EINVAL);
	objs[0].flags = 0;
	objs[0].pad_to_size = 0;

	/* Fence arrays and extensions share cliprects_ptr. */
	struct drm_i915_gem_exec_fence fence = {.handle = 12345, .flags = I915_EXEC_FENCE_WAIT};
	eb = (struct drm_i915_gem_execbuffer2){.cliprects_ptr = (uintptr_t)&fence, .num_cliprects = 1};
	CHECK_EQ(execbuf(fd, objs, 2, I915_EXEC_FENCE_ARRAY, 0, &eb), -ENOENT);
	struct drm_syncobj_create sc = {0};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &sc), 0);
	fence.handle = sc.handle;
	CHECK_EQ(execbuf(fd, objs, 2, I915_EXEC_FENCE_ARRAY, 0, &eb), -EINVAL); /* nothing to wait for */
	fence.flags = 1u << 5;
	CHECK_EQ(execbuf(fd, objs, 2, I915_EXEC_FENCE_ARRAY, 0, &eb), -EINVAL);
	CHECK_EQ(execbuf(fd, objs, 2, I915_EXEC_FENCE_ARRAY | I915_EXEC_USE_EXTENSIONS, 0, &eb), -EINVAL);
	struct i915_user_extension ext = {.name = 42};
	eb = (struct drm_i915_gem_execbuffer2){.cliprects_ptr = (uintptr_t)&ext};
	CHECK_EQ(execbuf(fd, objs, 2, I915_EXEC_USE_EXTENSIONS, 0, &eb), -EINVAL);
	struct drm_syncobj_destroy sd = {.handle = sc.handle};
	xioctl(fd, DRM_IOCTL_SYNCOBJ_DESTROY, &sd);
	CHECK_EQ(gem_wait(fd, batch.handle, 2000000000), 0);
	bo_free(fd, &data);
	bo_free(fd, &batch);
}

/* A batch that waits until the dword at sem_va is 1, then stores value at data_va. */
static void gated_batch(uint32_t *b, uint64_t sem_va, uint64_t data_va, uint32_t value)
{
	b[0] = MI_SEMAPHORE_WAIT | SEM_POLL | SEM_EQ;
	b[1] = 1;
	b[2] = (uint32_t)sem_va;
	b[3] = (uint32_t)(sem_va >> 32);
	store_batch(b + 4, data_va, value);
}

static int sync_status(int fence_fd)
{
	struct sync_file_info info = {0};
	if (ioctl(fence_fd, SYNC_IOC_FILE_INFO, &info))
		return -1000 - errno;
	return info.status;
}

/* Out-fences, in-fences, fence arrays, timeline points, BUSY and WAIT on one gated batch. */
static void test_fences_busy_wait(int fd)
{
	struct bo sem = bo_new(fd, 4096), data = bo_new(fd, 4096), batch = bo_new(fd, 4096), batch2 = bo_new(fd, 4096);
	const uint64_t sem_va = 0x1000000, data_va = 0x2000000, batch_va = 0x3000000, batch2_va = 0x4000000;
	gated_batch(batch.map, sem_va, data_va, 0xfe11ce);
	struct drm_syncobj_create sc = {0}, tl = {0};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &sc), 0);
	CHECK_EQ(xioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &tl), 0);
	struct drm_i915_gem_exec_object2 objs[3] = {
		{.handle = sem.handle, .offset = sem_va, .flags = EXEC_OBJECT_PINNED},
		{.handle = data.handle, .offset = data_va, .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_WRITE},
		{.handle = batch.handle, .offset = batch_va, .flags = EXEC_OBJECT_PINNED},
	};
	struct drm_i915_gem_exec_fence sig = {.handle = sc.handle, .flags = I915_EXEC_FENCE_SIGNAL};
	struct drm_i915_gem_execbuffer2 eb = {.cliprects_ptr = (uintptr_t)&sig, .num_cliprects = 1};
	CHECK_EQ(execbuf(fd, objs, 3, I915_EXEC_FENCE_OUT | I915_EXEC_FENCE_ARRAY, 0, &eb), 0);
	int out = (int)(eb.rsvd2 >> 32);
	CHECK(out > 2);

	/* Running, held at the semaphore: busy for the render engine (written: class + 1 and its read bit). */
	uint32_t busy = gem_busy(fd, data.handle);
	CHECK_EQ(busy, (I915_ENGINE_CLASS_RENDER + 1) | (1u << (16 + I915_ENGINE_CLASS_RENDER)));
	CHECK_EQ(gem_busy(fd, sem.handle), 1u << (16 + I915_ENGINE_CLASS_RENDER));
	CHECK_EQ(gem_wait(fd, data.handle, 0), -ETIME);
	CHECK_EQ(gem_wait(fd, data.handle, 20000000), -ETIME);
	struct pollfd pfd = {.fd = out, .events = POLLIN};
	CHECK_EQ(poll(&pfd, 1, 0), 0);
	CHECK_EQ(sync_status(out), 0);

	/* A second batch: waits for the first through its out-fence and the syncobj, signals a timeline point. */
	store_batch(batch2.map, data_va + 4, 0x5ec0d);
	struct drm_i915_gem_exec_object2 objs2[2] = {
		{.handle = data.handle, .offset = data_va, .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_ASYNC},
		{.handle = batch2.handle, .offset = batch2_va, .flags = EXEC_OBJECT_PINNED},
	};
	struct drm_i915_gem_exec_fence tlf[2] = {{.handle = sc.handle, .flags = I915_EXEC_FENCE_WAIT},
						 {.handle = tl.handle, .flags = I915_EXEC_FENCE_SIGNAL}};
	uint64_t points[2] = {0, 3};
	struct drm_i915_gem_execbuffer_ext_timeline_fences ext = {
		.base = {.name = DRM_I915_GEM_EXECBUFFER_EXT_TIMELINE_FENCES},
		.fence_count = 2, .handles_ptr = (uintptr_t)tlf, .values_ptr = (uintptr_t)points};
	eb = (struct drm_i915_gem_execbuffer2){.cliprects_ptr = (uintptr_t)&ext, .rsvd2 = (uint32_t)out};
	/* The blitter: ordered only by the fences, not by the render engine's queue. */
	CHECK_EQ(execbuf(fd, objs2, 2, I915_EXEC_BLT | I915_EXEC_FENCE_IN | I915_EXEC_USE_EXTENSIONS, 0, &eb), 0);
	CHECK_EQ(gem_wait(fd, batch2.handle, 50000000), -ETIME); /* held back by its in-fences */
	CHECK_EQ(data.map[1], 0);

	/* Release the semaphore: both complete in order. */
	__atomic_store_n(&sem.map[0], 1, __ATOMIC_SEQ_CST);
	struct drm_i915_gem_wait w = {.bo_handle = data.handle, .timeout_ns = 5000000000ll};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GEM_WAIT, &w), 0);
	CHECK(w.timeout_ns > 0 && w.timeout_ns < 5000000000ll); /* what was left of it */
	CHECK_EQ(data.map[0], 0xfe11ce);
	CHECK_EQ(poll(&pfd, 1, 5000), 1);
	CHECK_EQ(sync_status(out), 1);
	struct drm_syncobj_timeline_wait tw = {.handles = (uintptr_t)&tl.handle, .points = (uintptr_t)&points[1],
					       .count_handles = 1, .timeout_nsec = INT64_MAX};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &tw), 0);
	CHECK_EQ(data.map[1], 0x5ec0d);
	CHECK_EQ(gem_wait(fd, batch2.handle, 1000000000), 0);
	CHECK_EQ(gem_busy(fd, data.handle), 0);
	CHECK_EQ(gem_busy(fd, batch2.handle), 0);
	struct drm_i915_gem_wait wb = {.bo_handle = data.handle, .flags = 1};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GEM_WAIT, &wb), -EINVAL);
	wb = (struct drm_i915_gem_wait){.bo_handle = 999};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GEM_WAIT, &wb), -ENOENT);
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GEM_THROTTLE, NULL), 0);
	close(out);
	struct drm_syncobj_destroy sd = {.handle = sc.handle};
	xioctl(fd, DRM_IOCTL_SYNCOBJ_DESTROY, &sd);
	sd.handle = tl.handle;
	xioctl(fd, DRM_IOCTL_SYNCOBJ_DESTROY, &sd);
	bo_free(fd, &sem);
	bo_free(fd, &data);
	bo_free(fd, &batch);
	bo_free(fd, &batch2);
}

/* Two files, one address: each file's batch writes its own object. */
static void test_isolation(int fd)
{
	int fd2 = open_i915();
	CHECK(fd2 >= 0);
	const uint64_t va = 0x40000000, bva = 0x50000000;
	struct bo a = bo_new(fd, 4096), ab = bo_new(fd, 4096), b = bo_new(fd2, 4096), bb = bo_new(fd2, 4096);
	store_batch(ab.map, va, 0xaaaa);
	store_batch(bb.map, va + 4, 0xbbbb);
	struct drm_i915_gem_exec_object2 oa[2] = {
		{.handle = a.handle, .offset = va, .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_WRITE},
		{.handle = ab.handle, .offset = bva, .flags = EXEC_OBJECT_PINNED}};
	struct drm_i915_gem_exec_object2 ob[2] = {
		{.handle = b.handle, .offset = va, .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_WRITE},
		{.handle = bb.handle, .offset = bva, .flags = EXEC_OBJECT_PINNED}};
	CHECK_EQ(execbuf(fd, oa, 2, 0, 0, NULL), 0);
	CHECK_EQ(execbuf(fd2, ob, 2, 0, 0, NULL), 0);
	CHECK_EQ(gem_wait(fd, a.handle, 2000000000), 0);
	CHECK_EQ(gem_wait(fd2, b.handle, 2000000000), 0);
	CHECK_EQ(a.map[0], 0xaaaa);
	CHECK_EQ(a.map[1], 0);
	CHECK_EQ(b.map[0], 0);
	CHECK_EQ(b.map[1], 0xbbbb);
	/* Handles are per file: the other's handle numbers name nothing (or its own objects). */
	struct drm_i915_gem_exec_object2 steal[2] = {{.handle = 100}, {.handle = bb.handle}};
	CHECK_EQ(execbuf(fd2, steal, 2, 0, 0, NULL), -ENOENT);
	/* Contexts, too, are per file. */
	struct drm_i915_gem_context_create cc = {0};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GEM_CONTEXT_CREATE, &cc), 0);
	CHECK_EQ(execbuf(fd2, ob, 2, 0, cc.ctx_id, NULL), -ENOENT);
	struct drm_i915_gem_context_destroy cd = {.ctx_id = cc.ctx_id};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GEM_CONTEXT_DESTROY, &cd), 0);
	bo_free(fd, &a);
	bo_free(fd, &ab);
	bo_free(fd2, &b);
	bo_free(fd2, &bb);
	close(fd2);
}

/* IGT's spinner: an arbitration point, then a jump back to its own start. */
static void spinner(uint32_t *b, uint64_t va)
{
	b[0] = MI_ARB_CHECK;
	b[1] = MI_BB_START | BB_PPGTT;
	b[2] = (uint32_t)va;
	b[3] = (uint32_t)(va >> 32);
	b[4] = MI_BB_END;
}

static uint32_t context_create(int fd)
{
	struct drm_i915_gem_context_create cc = {0};
	return xioctl(fd, DRM_IOCTL_I915_GEM_CONTEXT_CREATE, &cc) ? 0 : cc.ctx_id;
}

static void test_hang_reset(int fd)
{
	uint32_t bad = context_create(fd), good = context_create(fd);
	CHECK(bad && good);
	struct bo spin = bo_new(fd, 4096), data = bo_new(fd, 4096), batch = bo_new(fd, 4096);
	const uint64_t spin_va = 0x7000000, data_va = 0x7100000, batch_va = 0x7200000;
	spinner(spin.map, spin_va);
	store_batch(batch.map, data_va, 0x600d);
	struct drm_i915_gem_exec_object2 so[1] = {{.handle = spin.handle, .offset = spin_va, .flags = EXEC_OBJECT_PINNED}};
	struct drm_i915_gem_execbuffer2 eb = {0};
	CHECK_EQ(execbuf(fd, so, 1, I915_EXEC_RENDER | I915_EXEC_FENCE_OUT, bad, &eb), 0);
	int spin_fence = (int)(eb.rsvd2 >> 32);
	struct drm_i915_gem_exec_object2 go[2] = {
		{.handle = data.handle, .offset = data_va, .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_WRITE},
		{.handle = batch.handle, .offset = batch_va, .flags = EXEC_OBJECT_PINNED}};
	CHECK_EQ(execbuf(fd, go, 2, I915_EXEC_RENDER, good, NULL), 0);

	/* The spinner never ends by itself: the engine is reset at its timeout, the queued batch runs. */
	CHECK_EQ(gem_wait(fd, data.handle, 30000000000ll), 0);
	CHECK_EQ(data.map[0], 0x600d);
	CHECK_EQ(gem_wait(fd, spin.handle, 30000000000ll), 0);
	struct pollfd pfd = {.fd = spin_fence, .events = POLLIN};
	CHECK_EQ(poll(&pfd, 1, 5000), 1);
	CHECK(sync_status(spin_fence) < 0); /* completed with an error */
	close(spin_fence);

	struct drm_i915_reset_stats rs = {.ctx_id = bad};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GET_RESET_STATS, &rs), 0);
	CHECK_EQ(rs.batch_active, 1);
	CHECK_EQ(rs.batch_pending, 0);
	rs = (struct drm_i915_reset_stats){.ctx_id = good};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GET_RESET_STATS, &rs), 0);
	CHECK_EQ(rs.batch_active, 0);
	CHECK_EQ(rs.batch_pending, 0);
	rs = (struct drm_i915_reset_stats){.ctx_id = 0};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GET_RESET_STATS, &rs), 0);
	CHECK_EQ(rs.batch_active, 0);

	/* The engine works after the reset, and a recoverable context goes on. */
	data.map[0] = 0;
	store_batch(batch.map, data_va, 0xa9a1);
	CHECK_EQ(execbuf(fd, go, 2, I915_EXEC_RENDER, bad, NULL), 0);
	CHECK_EQ(gem_wait(fd, data.handle, 5000000000ll), 0);
	CHECK_EQ(data.map[0], 0xa9a1);
	/* A non-recoverable context that hangs is banned. */
	struct drm_i915_gem_context_param p = {.ctx_id = bad, .param = I915_CONTEXT_PARAM_RECOVERABLE, .value = 0};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &p), 0);
	CHECK_EQ(execbuf(fd, so, 1, I915_EXEC_RENDER, bad, NULL), 0);
	CHECK_EQ(gem_wait(fd, spin.handle, 30000000000ll), 0);
	CHECK_EQ(execbuf(fd, so, 1, I915_EXEC_RENDER, bad, NULL), -EIO);
	rs = (struct drm_i915_reset_stats){.ctx_id = bad};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GET_RESET_STATS, &rs), 0);
	CHECK_EQ(rs.batch_active, 2);
	bo_free(fd, &spin);
	bo_free(fd, &data);
	bo_free(fd, &batch);
}

/* A context with an engine map: the ring field indexes it. */
static void test_engine_map(int fd)
{
	I915_DEFINE_CONTEXT_PARAM_ENGINES(engines, 2) = {
		.engines = {{I915_ENGINE_CLASS_COPY, 0}, {I915_ENGINE_CLASS_RENDER, 0}}};
	struct drm_i915_gem_context_create_ext_setparam sp = {
		.base = {.name = I915_CONTEXT_CREATE_EXT_SETPARAM},
		.param = {.param = I915_CONTEXT_PARAM_ENGINES, .size = sizeof(engines), .value = (uintptr_t)&engines}};
	struct drm_i915_gem_context_create_ext ce = {.flags = I915_CONTEXT_CREATE_FLAGS_USE_EXTENSIONS,
						     .extensions = (uintptr_t)&sp};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &ce), 0);
	struct bo data = bo_new(fd, 4096), batch = bo_new(fd, 4096);
	store_batch(batch.map, 0x10000, 0xb17);
	struct drm_i915_gem_exec_object2 objs[2] = {
		{.handle = data.handle, .offset = 0x10000, .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_WRITE},
		{.handle = batch.handle, .offset = 0x20000, .flags = EXEC_OBJECT_PINNED}};
	CHECK_EQ(execbuf(fd, objs, 2, 0, ce.ctx_id, NULL), 0); /* engines[0]: the blitter */
	/* Done already, or busy on the blitter (class + 1, and its read bit) and nothing else. */
	uint32_t busy = gem_busy(fd, data.handle);
	CHECK(busy == 0 || busy == ((I915_ENGINE_CLASS_COPY + 1) | (1u << (16 + I915_ENGINE_CLASS_COPY))));
	CHECK_EQ(gem_wait(fd, data.handle, 2000000000), 0);
	CHECK_EQ(data.map[0], 0xb17);
	CHECK_EQ(execbuf(fd, objs, 2, 2, ce.ctx_id, NULL), -EINVAL); /* past the map */

	/* SINGLE_TIMELINE: a blitter batch waits for the context's render batch, though they share no object. */
	ce.flags |= I915_CONTEXT_CREATE_FLAGS_SINGLE_TIMELINE;
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &ce), 0);
	struct bo sem = bo_new(fd, 4096), gated = bo_new(fd, 4096), other = bo_new(fd, 4096);
	gated_batch(gated.map, 0x40000, 0x50000, 1);
	struct drm_i915_gem_exec_object2 first[3] = {
		{.handle = sem.handle, .offset = 0x40000, .flags = EXEC_OBJECT_PINNED},
		{.handle = other.handle, .offset = 0x50000, .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_WRITE},
		{.handle = gated.handle, .offset = 0x60000, .flags = EXEC_OBJECT_PINNED}};
	CHECK_EQ(execbuf(fd, first, 3, 1, ce.ctx_id, NULL), 0); /* engines[1]: render, held at the semaphore */
	data.map[0] = 0;
	CHECK_EQ(execbuf(fd, objs, 2, 0, ce.ctx_id, NULL), 0); /* engines[0]: the blitter, after it */
	CHECK_EQ(gem_wait(fd, data.handle, 100000000), -ETIME);
	CHECK_EQ(data.map[0], 0);
	__atomic_store_n(&sem.map[0], 1, __ATOMIC_SEQ_CST);
	CHECK_EQ(gem_wait(fd, data.handle, 5000000000ll), 0);
	CHECK_EQ(data.map[0], 0xb17);
	CHECK_EQ(other.map[0], 1);
	bo_free(fd, &sem);
	bo_free(fd, &gated);
	bo_free(fd, &other);
	bo_free(fd, &data);
	bo_free(fd, &batch);
}

/* Many objects placed by the daemon: distinct, page aligned, below 4 GiB without the 48-bit flag, stable. */
static void test_many_objects(int fd)
{
	enum { N = 300 };
	static struct bo bos[N];
	static struct drm_i915_gem_exec_object2 objs[N];
	for (int i = 0; i < N; i++) {
		bos[i] = bo_new(fd, 4096 * (1 + i % 3));
		objs[i] = (struct drm_i915_gem_exec_object2){.handle = bos[i].handle};
		objs[i].flags = i % 2 ? EXEC_OBJECT_SUPPORTS_48B_ADDRESS : 0;
	}
	bos[N - 1].map[0] = MI_BB_END;
	CHECK_EQ(execbuf(fd, objs, N, 0, 0, NULL), 0);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		if ((objs[i].offset & 4095) || (!(objs[i].flags & EXEC_OBJECT_SUPPORTS_48B_ADDRESS) &&
						 objs[i].offset + bos[i].size > (1ull << 32)))
			bad++;
		for (int j = 0; j < i; j++)
			if (objs[j].offset < objs[i].offset + bos[i].size && objs[i].offset < objs[j].offset + bos[j].size)
				bad++;
	}
	CHECK_EQ(bad, 0);
	uint64_t before[N];
	for (int i = 0; i < N; i++)
		before[i] = objs[i].offset;
	CHECK_EQ(execbuf(fd, objs, N, I915_EXEC_NO_RELOC, 0, NULL), 0);
	for (int i = 0; i < N; i++)
		bad += objs[i].offset != before[i];
	CHECK_EQ(bad, 0);
	CHECK_EQ(gem_wait(fd, bos[N - 1].handle, 5000000000ll), 0);
	for (int i = 0; i < N; i++)
		bo_free(fd, &bos[i]);
}

/* Closing a handle while its batch is running: the binding lasts until the batch is done. */
static void test_close_while_busy(int fd)
{
	struct bo sem = bo_new(fd, 4096), data = bo_new(fd, 4096), batch = bo_new(fd, 4096);
	const uint64_t sem_va = 0x8000000, data_va = 0x8100000, batch_va = 0x8200000;
	gated_batch(batch.map, sem_va, data_va, 0xc105ed);
	struct drm_i915_gem_exec_object2 objs[3] = {
		{.handle = sem.handle, .offset = sem_va, .flags = EXEC_OBJECT_PINNED},
		{.handle = data.handle, .offset = data_va, .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_WRITE},
		{.handle = batch.handle, .offset = batch_va, .flags = EXEC_OBJECT_PINNED}};
	CHECK_EQ(execbuf(fd, objs, 3, 0, 0, NULL), 0);
	uint32_t *keep = data.map;
	data.map = NULL;
	bo_free(fd, &data); /* the handle goes; this mapping keeps the memory */
	__atomic_store_n(&sem.map[0], 1, __ATOMIC_SEQ_CST);
	CHECK_EQ(gem_wait(fd, batch.handle, 5000000000ll), 0);
	CHECK_EQ(keep[0], 0xc105ed);
	munmap(keep, 4096);
	/* The address is free again once the batch is done. */
	struct bo again = bo_new(fd, 4096);
	store_batch(batch.map, data_va, 0xa9a1);
	objs[1].handle = again.handle;
	CHECK_EQ(execbuf(fd, objs + 1, 2, 0, 0, NULL), 0);
	CHECK_EQ(gem_wait(fd, again.handle, 5000000000ll), 0);
	CHECK_EQ(again.map[0], 0xa9a1);

	/* Pinning over an address a running batch still uses waits for that batch (as the kernel). */
	struct bo batch2 = bo_new(fd, 4096), third = bo_new(fd, 4096);
	sem.map[0] = 0;
	gated_batch(batch2.map, sem_va, data_va, 0x01d);
	struct drm_i915_gem_exec_object2 held[3] = {
		objs[0], {.handle = again.handle, .offset = data_va, .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_WRITE},
		{.handle = batch2.handle, .offset = batch_va + 0x10000, .flags = EXEC_OBJECT_PINNED}};
	CHECK_EQ(execbuf(fd, held, 3, 0, 0, NULL), 0);
	uint32_t *again_map = again.map;
	again.map = NULL;
	bo_free(fd, &again);
	pid_t pid = fork();
	if (pid == 0) {
		usleep(100000);
		__atomic_store_n(&sem.map[0], 1, __ATOMIC_SEQ_CST);
		_exit(0);
	}
	store_batch(batch.map, data_va + 8, 0x7e1d);
	objs[1].handle = third.handle;
	CHECK_EQ(execbuf(fd, objs + 1, 2, 0, 0, NULL), 0); /* parks until the held batch is done */
	CHECK_EQ(again_map[0], 0x01d); /* the held batch ran first */
	CHECK_EQ(gem_wait(fd, third.handle, 5000000000ll), 0);
	CHECK_EQ(third.map[2], 0x7e1d);
	waitpid(pid, NULL, 0);
	munmap(again_map, 4096);
	bo_free(fd, &third);
	bo_free(fd, &batch2);
	bo_free(fd, &sem);
	bo_free(fd, &batch);
}

/* A batch that jumps to nowhere stops its engine: it fails, the context is charged, the engine goes on. */
static void test_faulting_batch(int fd)
{
	uint32_t ctx = context_create(fd);
	struct bo batch = bo_new(fd, 4096), data = bo_new(fd, 4096), ok = bo_new(fd, 4096);
	batch.map[0] = MI_BB_START | BB_PPGTT;
	batch.map[1] = 0xdead0000;
	batch.map[2] = 0x10;
	batch.map[3] = MI_BB_END;
	struct drm_i915_gem_exec_object2 bo1[1] = {{.handle = batch.handle, .offset = 0x9000000, .flags = EXEC_OBJECT_PINNED}};
	struct drm_i915_gem_execbuffer2 eb = {0};
	CHECK_EQ(execbuf(fd, bo1, 1, I915_EXEC_FENCE_OUT, ctx, &eb), 0);
	int fence = (int)(eb.rsvd2 >> 32);
	struct pollfd pfd = {.fd = fence, .events = POLLIN};
	CHECK_EQ(poll(&pfd, 1, 30000), 1);
	CHECK(sync_status(fence) < 0);
	close(fence);
	struct drm_i915_reset_stats rs = {.ctx_id = ctx};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GET_RESET_STATS, &rs), 0);
	CHECK_EQ(rs.batch_active, 1);
	store_batch(ok.map, 0x9100000, 0x90e5);
	struct drm_i915_gem_exec_object2 go[2] = {
		{.handle = data.handle, .offset = 0x9100000, .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_WRITE},
		{.handle = ok.handle, .offset = 0x9200000, .flags = EXEC_OBJECT_PINNED}};
	CHECK_EQ(execbuf(fd, go, 2, 0, ctx, NULL), 0);
	CHECK_EQ(gem_wait(fd, data.handle, 5000000000ll), 0);
	CHECK_EQ(data.map[0], 0x90e5);
	bo_free(fd, &batch);
	bo_free(fd, &data);
	bo_free(fd, &ok);
}

/* A client that leaves with a hung batch and queued work: the daemon cleans up, the engine recovers. */
static void test_client_gone(int fd)
{
	pid_t pid = fork();
	if (pid == 0) {
		int cfd = open_i915();
		struct bo spin = bo_new(cfd, 4096), data = bo_new(cfd, 4096), batch = bo_new(cfd, 4096);
		spinner(spin.map, 0x100000);
		store_batch(batch.map, 0x300000, 1);
		struct drm_i915_gem_exec_object2 so[1] = {{.handle = spin.handle, .offset = 0x100000,
							   .flags = EXEC_OBJECT_PINNED}};
		struct drm_i915_gem_exec_object2 go[2] = {
			{.handle = data.handle, .offset = 0x300000, .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_WRITE},
			{.handle = batch.handle, .offset = 0x200000, .flags = EXEC_OBJECT_PINNED}};
		int ok = execbuf(cfd, so, 1, 0, 0, NULL) == 0 && execbuf(cfd, go, 2, 0, 0, NULL) == 0;
		_exit(ok ? 0 : 1); /* no close, no unmap: the daemon sees the connection drop */
	}
	int status = -1;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	struct bo data = bo_new(fd, 4096), batch = bo_new(fd, 4096);
	store_batch(batch.map, 0x300000, 0xa11e);
	struct drm_i915_gem_exec_object2 go[2] = {
		{.handle = data.handle, .offset = 0x300000, .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_WRITE},
		{.handle = batch.handle, .offset = 0x200000, .flags = EXEC_OBJECT_PINNED}};
	CHECK_EQ(execbuf(fd, go, 2, 0, 0, NULL), 0);
	CHECK_EQ(gem_wait(fd, data.handle, 30000000000ll), 0);
	CHECK_EQ(data.map[0], 0xa11e);
	bo_free(fd, &data);
	bo_free(fd, &batch);
}

int main(void)
{
	int fd = open_i915();
	if (fd < 0) {
		fprintf(stderr, "no i915 render node\n");
		return 1;
	}
	int has = 0;
	struct drm_i915_getparam gp = {.param = I915_PARAM_HAS_EXECBUF2, .value = &has};
	CHECK_EQ(xioctl(fd, DRM_IOCTL_I915_GETPARAM, &gp), 0);
	CHECK_EQ(has, 1);
	test_store_and_relocs(fd);
	test_softpin(fd);
	test_refusals(fd);
	test_fences_busy_wait(fd);
	test_isolation(fd);
	test_engine_map(fd);
	test_many_objects(fd);
	test_close_while_busy(fd);
	test_hang_reset(fd);
	test_faulting_batch(fd);
	test_client_gone(fd);
	close(fd);
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("i915_exec: all checks passed\n");
	return 0;
}
