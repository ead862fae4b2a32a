/*
 * i915-nop: the rate of the smallest real submission — EXECBUFFER2 of a batch
 * that is only MI_BATCH_BUFFER_END, then GEM_WAIT for it — through the
 * interposer, the daemon, the scheduler and the modelled engine, against raw
 * SOCK_SEQPACKET round trips of the execbuf's request and reply sizes between
 * two processes, measured alternately in the same run.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm.h>
#include <i915_drm.h>

#include "bench.h"
#include "redox-drm/wire.h"

#define BATCHES 15
#define PER_BATCH 500
#define MI_BATCH_BUFFER_END (0x0Au << 23)

struct nop {
	int fd;
	struct drm_i915_gem_exec_object2 obj;
};

/* Mean ns per execbuf + wait, or -1. */
static double nop_run(void *ctx, unsigned count)
{
	struct nop *n = ctx;
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < count; i++) {
		/* After the first call the batch has its address: NO_RELOC, as Mesa submits. */
		struct drm_i915_gem_execbuffer2 eb = {.buffers_ptr = (uintptr_t)&n->obj, .buffer_count = 1,
						      .flags = I915_EXEC_RENDER | I915_EXEC_NO_RELOC};
		if (ioctl(n->fd, DRM_IOCTL_I915_GEM_EXECBUFFER2, &eb) < 0)
			return -1;
		struct drm_i915_gem_wait w = {.bo_handle = n->obj.handle, .timeout_ns = -1};
		if (ioctl(n->fd, DRM_IOCTL_I915_GEM_WAIT, &w) < 0)
			return -1;
	}
	return (double)(bench_now_ns() - t0) / count;
}

int bench_i915_nop(int argc, char **argv)
{
	const char *node = argc > 1 ? argv[1] : "/dev/dri/renderD129";
	struct nop n = {.fd = bench_open_node(node)};
	if (n.fd < 0)
		return 1;
	char name[16] = "";
	struct drm_version v = {.name_len = sizeof(name) - 1, .name = name};
	if (ioctl(n.fd, DRM_IOCTL_VERSION, &v) < 0 || strcmp(name, "i915")) {
		fprintf(stderr, "redox-drm-bench: %s is no i915 node\n", node);
		return 1;
	}
	struct drm_i915_gem_create c = {.size = 4096};
	struct drm_i915_gem_mmap_offset mo = {.flags = I915_MMAP_OFFSET_WB};
	if (ioctl(n.fd, DRM_IOCTL_I915_GEM_CREATE, &c) < 0 || (mo.handle = c.handle, 0) ||
	    ioctl(n.fd, DRM_IOCTL_I915_GEM_MMAP_OFFSET, &mo) < 0) {
		fprintf(stderr, "redox-drm-bench: cannot make a batch: %s\n", strerror(errno));
		return 1;
	}
	uint32_t *map = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, n.fd, (off_t)mo.offset);
	if (map == MAP_FAILED) {
		fprintf(stderr, "redox-drm-bench: cannot map the batch: %s\n", strerror(errno));
		return 1;
	}
	map[0] = MI_BATCH_BUFFER_END;
	map[1] = 0;
	munmap(map, c.size);
	n.obj.handle = c.handle;
	/* The first call places the batch (its offset comes back); then warm up. */
	struct drm_i915_gem_execbuffer2 first = {.buffers_ptr = (uintptr_t)&n.obj, .buffer_count = 1,
						 .flags = I915_EXEC_RENDER};
	if (ioctl(n.fd, DRM_IOCTL_I915_GEM_EXECBUFFER2_WR, &first) < 0 || nop_run(&n, PER_BATCH) < 0) {
		fprintf(stderr, "redox-drm-bench: execbuf failed: %s\n", strerror(errno));
		return 1;
	}

	struct raw_peer peer;
	size_t req = sizeof(struct rdrm_wire_hdr) + sizeof(struct drm_i915_gem_execbuffer2) +
		     sizeof(struct drm_i915_gem_exec_object2);
	size_t reply = sizeof(struct rdrm_wire_hdr) + sizeof(struct drm_i915_gem_execbuffer2);
	if (raw_peer_start(&peer, req, reply) < 0)
		return 1;
	printf("i915-nop on %s: %d batches of %d no-op execbuf + wait, medians\n", node, BATCHES, PER_BATCH);
	struct bench_vs_raw res;
	int failed = bench_vs_raw_run(&peer, nop_run, &n, BATCHES, PER_BATCH, &res);
	raw_peer_stop(&peer);
	if (failed) {
		fprintf(stderr, "redox-drm-bench: i915-nop round failed\n");
		return 1;
	}
	printf("execbuf+wait %8.0f ns (%.0f/s)\n", res.cycle, 1e9 / res.cycle);
	bench_vs_raw_print_raw(&res);
	printf(" (request %zu B, reply %zu B)\n", req, reply);
	struct drm_gem_close gc = {.handle = c.handle};
	ioctl(n.fd, DRM_IOCTL_GEM_CLOSE, &gc);
	close(n.fd);
	printf("ratio=%.3f\n", res.cycle / res.raw);
	return 0;
}
