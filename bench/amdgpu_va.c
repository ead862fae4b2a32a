/*
 * amdgpu-va: GEM_VA MAP + UNMAP of a BO on card0 through the interposer and
 * the daemon (the page-table writes of size/4 KiB PTEs and their clearing,
 * tables freed and allocated again each time), against raw SOCK_SEQPACKET
 * round trips of the same request and reply sizes between two processes,
 * measured alternately in the same run. Sizes: 64 KiB and 2 MiB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <drm.h>
#include <amdgpu_drm.h>

#include "bench.h"
#include "redox-drm/wire.h"

#define BATCHES 11
#define PER_BATCH 200
#define VA_BASE 0x40000000ull

static int va_op(int fd, uint32_t handle, uint32_t op, uint64_t size)
{
	struct drm_amdgpu_gem_va v = {.handle = handle, .operation = op, .va_address = VA_BASE, .map_size = size,
				      .flags = op == AMDGPU_VA_OP_MAP ? AMDGPU_VM_PAGE_READABLE | AMDGPU_VM_PAGE_WRITEABLE : 0};
	return ioctl(fd, DRM_IOCTL_AMDGPU_GEM_VA, &v);
}

/* Mean ns per MAP + UNMAP pair. */
static double daemon_map_unmap(int fd, uint32_t handle, uint64_t size, unsigned n)
{
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < n; i++)
		if (va_op(fd, handle, AMDGPU_VA_OP_MAP, size) < 0 || va_op(fd, handle, AMDGPU_VA_OP_UNMAP, size) < 0)
			return -1;
	return (double)(bench_now_ns() - t0) / n;
}

int bench_amdgpu_va(int argc, char **argv)
{
	const char *node = argc > 1 ? argv[1] : "/dev/dri/renderD128";
	int fd = bench_open_node(node);
	if (fd < 0)
		return 1;
	static const uint64_t sizes[] = {64u << 10, 2u << 20};
	const size_t msg = sizeof(struct rdrm_wire_hdr) + sizeof(struct drm_amdgpu_gem_va);
	printf("amdgpu-va on %s: %d batches of %d MAP+UNMAP pairs, medians\n", node, BATCHES, PER_BATCH);
	double total_d = 0, total_r = 0;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		union drm_amdgpu_gem_create c;
		memset(&c, 0, sizeof(c));
		c.in.bo_size = sizes[s];
		c.in.alignment = 4096;
		c.in.domains = AMDGPU_GEM_DOMAIN_GTT;
		if (ioctl(fd, DRM_IOCTL_AMDGPU_GEM_CREATE, &c) < 0) {
			perror("redox-drm-bench: GEM_CREATE");
			return 1;
		}
		uint32_t handle = c.out.handle;
		struct raw_peer peer;
		/* A pair is two round trips: the raw side does two per sample as well. */
		if (raw_peer_start(&peer, msg, msg) < 0)
			return 1;
		double d[BATCHES], r[BATCHES];
		daemon_map_unmap(fd, handle, sizes[s], PER_BATCH);
		raw_peer_rtt(&peer, 2 * PER_BATCH);
		for (int b = 0; b < BATCHES; b++) {
			d[b] = daemon_map_unmap(fd, handle, sizes[s], PER_BATCH);
			r[b] = 2 * raw_peer_rtt(&peer, 2 * PER_BATCH);
			if (d[b] < 0 || r[b] < 0) {
				fprintf(stderr, "redox-drm-bench: GEM_VA failed\n");
				return 1;
			}
		}
		raw_peer_stop(&peer);
		double dm = bench_median(d, BATCHES), rm = bench_median(r, BATCHES);
		printf("%5llu KiB  daemon %9.0f ns   raw %8.0f ns   ratio %.3f\n", (unsigned long long)(sizes[s] >> 10),
		       dm, rm, dm / rm);
		total_d += dm;
		total_r += rm;
		struct drm_gem_close gc = {.handle = handle};
		ioctl(fd, DRM_IOCTL_GEM_CLOSE, &gc);
	}
	close(fd);
	printf("ratio=%.3f\n", total_d / total_r);
	return 0;
}
