/*
 * prime-cycle: PRIME export on one file, import on another (the render node),
 * close of the imported handle and of the fd — cycles per second, and the
 * time of one cycle against three raw socket round trips (it is three ioctls).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <drm.h>
#include <drm_mode.h>

#include "bench.h"

#define CYCLES 3000

int bench_prime_cycle(int argc, char **argv)
{
	int card = bench_open_node(argc > 1 ? argv[1] : "/dev/dri/card0");
	int render = bench_open_node(argc > 2 ? argv[2] : "/dev/dri/renderD128");
	if (card < 0 || render < 0)
		return 1;
	struct drm_mode_create_dumb cd = {.width = 256, .height = 256, .bpp = 32};
	if (ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &cd) < 0) {
		perror("redox-drm-bench: CREATE_DUMB");
		return 1;
	}
	uint64_t t0 = bench_now_ns();
	for (int i = 0; i < CYCLES; i++) {
		struct drm_prime_handle ex = {.handle = cd.handle, .flags = DRM_CLOEXEC};
		if (ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &ex) < 0) {
			perror("redox-drm-bench: PRIME_HANDLE_TO_FD");
			return 1;
		}
		struct drm_prime_handle im = {.fd = ex.fd};
		if (ioctl(render, DRM_IOCTL_PRIME_FD_TO_HANDLE, &im) < 0) {
			perror("redox-drm-bench: PRIME_FD_TO_HANDLE");
			return 1;
		}
		struct drm_gem_close gc = {.handle = im.handle};
		if (ioctl(render, DRM_IOCTL_GEM_CLOSE, &gc) < 0) {
			perror("redox-drm-bench: GEM_CLOSE");
			return 1;
		}
		close(ex.fd);
	}
	double cycle = (double)(bench_now_ns() - t0) / CYCLES;
	struct raw_peer peer;
	if (raw_peer_start(&peer, 40, 40) < 0)
		return 1;
	double raw[15];
	for (int i = 0; i < 15; i++)
		raw[i] = raw_peer_rtt(&peer, 300);
	raw_peer_stop(&peer);
	double r = bench_median(raw, 15);
	printf("prime-cycle: %d export + import + close cycles, %.0f ns each (%.0f cycles/s)\n", CYCLES, cycle,
	       1e9 / cycle);
	printf("raw socket round trip: %.0f ns; a cycle is three ioctls\n", r);
	printf("ratio=%.3f\n", cycle / (3 * r));
	close(render);
	close(card);
	return 0;
}
