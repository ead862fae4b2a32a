/*
 * mmap-bw: CPU write bandwidth into a dumb buffer mapped through the DRM fd
 * (CREATE_DUMB 1920x1080x32, MAP_DUMB, mmap) against the same memcpy into
 * anonymous memory of the same size, measured in alternating batches.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm.h>
#include <drm_mode.h>

#include "bench.h"

#define BATCHES 15
#define PER_BATCH 20

/* GB/s of n copies of size bytes from src to dst. */
static double copy_rate(void *dst, const void *src, size_t size, unsigned n)
{
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < n; i++) {
		memcpy(dst, src, size);
		/* Keep the compiler from merging or dropping the copies. */
		__asm__ __volatile__("" : : "r"(dst) : "memory");
	}
	uint64_t ns = bench_now_ns() - t0;
	return ns ? (double)size * n / (double)ns : 0;
}

int bench_mmap_bw(int argc, char **argv)
{
	char node[64];
	const char *arg = argc > 1 ? argv[1] : "0";
	if (strchr(arg, '/'))
		snprintf(node, sizeof(node), "%s", arg);
	else
		snprintf(node, sizeof(node), "/dev/dri/card%s", arg);
	int fd = bench_open_node(node);
	if (fd < 0)
		return 1;
	struct drm_mode_create_dumb d = {.width = 1920, .height = 1080, .bpp = 32};
	if (ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &d) < 0) {
		fprintf(stderr, "redox-drm-bench: CREATE_DUMB: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	struct drm_mode_map_dumb m = {.handle = d.handle};
	void *dumb = MAP_FAILED;
	if (ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m) == 0)
		dumb = mmap(NULL, d.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.offset);
	if (dumb == MAP_FAILED) {
		fprintf(stderr, "redox-drm-bench: mapping the dumb buffer: %s\n", strerror(errno));
		close(fd);
		return 1;
	}
	size_t size = d.size;
	void *anon = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *src = malloc(size);
	if (anon == MAP_FAILED || !src) {
		fprintf(stderr, "redox-drm-bench: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < size; i++)
		src[i] = (uint8_t)(i * 131 + 7);
	/* Fault every page of both in before timing, then warm the caches alike. */
	memset(dumb, 0, size);
	memset(anon, 0, size);
	copy_rate(dumb, src, size, 2);
	copy_rate(anon, src, size, 2);

	double rd[BATCHES], ra[BATCHES];
	for (int b = 0; b < BATCHES; b++) {
		/* Alternate which goes first so drift in machine load hits both alike. */
		if (b & 1) {
			ra[b] = copy_rate(anon, src, size, PER_BATCH);
			rd[b] = copy_rate(dumb, src, size, PER_BATCH);
		} else {
			rd[b] = copy_rate(dumb, src, size, PER_BATCH);
			ra[b] = copy_rate(anon, src, size, PER_BATCH);
		}
	}
	/* The copies landed: the buffer reads back what was written. */
	int ok = memcmp(dumb, src, size) == 0;
	double md = bench_median(rd, BATCHES), ma = bench_median(ra, BATCHES);
	printf("mmap-bw on %s: %ux%u x32 dumb buffer (%zu bytes, pitch %u), %d batches of %d memcpy, medians\n", node,
	       d.width, d.height, size, d.pitch, BATCHES, PER_BATCH);
	printf("dumb buffer (mmap of the DRM fd) %8.2f GB/s\n", md);
	printf("anonymous memory                 %8.2f GB/s\n", ma);
	munmap(dumb, size);
	munmap(anon, size);
	free(src);
	struct drm_mode_destroy_dumb dd = {.handle = d.handle};
	ioctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd);
	close(fd);
	if (!ok) {
		fprintf(stderr, "redox-drm-bench: the dumb buffer does not hold what was copied into it\n");
		return 1;
	}
	printf("ratio=%.3f\n", ma > 0 ? md / ma : 0.0);
	return 0;
}
