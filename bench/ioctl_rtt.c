/*
 * ioctl-rtt: VERSION and GET_CAP through the interposer and the daemon,
 * against raw SOCK_SEQPACKET round trips of the same request and reply sizes
 * between two processes, measured alternately in the same run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <drm.h>

#include "bench.h"
#include "redox-drm/wire.h"

#define BATCHES 15
#define PER_BATCH 2000

static double daemon_version(int fd, unsigned n)
{
	char name[64], date[64], desc[64];
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < n; i++) {
		struct drm_version v = {.name_len = sizeof(name), .name = name, .date_len = sizeof(date),
					.date = date, .desc_len = sizeof(desc), .desc = desc};
		if (ioctl(fd, DRM_IOCTL_VERSION, &v) < 0)
			return -1;
	}
	return (double)(bench_now_ns() - t0) / n;
}

static double daemon_getcap(int fd, unsigned n)
{
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < n; i++) {
		struct drm_get_cap cap = {.capability = DRM_CAP_TIMESTAMP_MONOTONIC};
		if (ioctl(fd, DRM_IOCTL_GET_CAP, &cap) < 0)
			return -1;
	}
	return (double)(bench_now_ns() - t0) / n;
}

/* Wire sizes of the two requests and replies (see redox-drm/wire.h). */
static size_t version_reply_len(int fd)
{
	char name[64], date[64], desc[64];
	struct drm_version v = {.name_len = sizeof(name), .name = name, .date_len = sizeof(date), .date = date,
				.desc_len = sizeof(desc), .desc = desc};
	if (ioctl(fd, DRM_IOCTL_VERSION, &v) < 0)
		return 0;
	return sizeof(struct rdrm_wire_hdr) + rdrm_wire_align(sizeof(v)) + 3 * 8 + rdrm_wire_align(v.name_len) +
	       rdrm_wire_align(v.date_len) + rdrm_wire_align(v.desc_len);
}

struct op {
	const char *name;
	double (*run)(int fd, unsigned n);
	size_t req_len, reply_len;
	double daemon[BATCHES], raw[BATCHES];
};

int bench_ioctl_rtt(int argc, char **argv)
{
	const char *node = argc > 1 ? argv[1] : "/dev/dri/card0";
	int fd = bench_open_node(node);
	if (fd < 0)
		return 1;
	struct op ops[2] = {
		{.name = "VERSION", .run = daemon_version,
		 .req_len = sizeof(struct rdrm_wire_hdr) + sizeof(struct drm_version), .reply_len = version_reply_len(fd)},
		{.name = "GET_CAP", .run = daemon_getcap,
		 .req_len = sizeof(struct rdrm_wire_hdr) + sizeof(struct drm_get_cap),
		 .reply_len = sizeof(struct rdrm_wire_hdr) + sizeof(struct drm_get_cap)},
	};
	if (!ops[0].reply_len) {
		fprintf(stderr, "redox-drm-bench: VERSION failed on %s\n", node);
		return 1;
	}
	printf("ioctl-rtt on %s: %d batches of %d round trips, medians\n", node, BATCHES, PER_BATCH);
	double total_d = 0, total_r = 0;
	for (int o = 0; o < 2; o++) {
		struct op *op = &ops[o];
		struct raw_peer peer;
		if (raw_peer_start(&peer, op->req_len, op->reply_len) < 0)
			return 1;
		/* Warm both paths, then alternate so drift in machine load hits both alike. */
		op->run(fd, PER_BATCH);
		raw_peer_rtt(&peer, PER_BATCH);
		for (int b = 0; b < BATCHES; b++) {
			op->daemon[b] = op->run(fd, PER_BATCH);
			op->raw[b] = raw_peer_rtt(&peer, PER_BATCH);
			if (op->daemon[b] < 0 || op->raw[b] < 0) {
				fprintf(stderr, "redox-drm-bench: %s round trip failed\n", op->name);
				return 1;
			}
		}
		raw_peer_stop(&peer);
		double d = bench_median(op->daemon, BATCHES), r = bench_median(op->raw, BATCHES);
		printf("%-8s daemon %8.0f ns   raw %8.0f ns   (request %zu B, reply %zu B)   ratio %.3f\n", op->name,
		       d, r, op->req_len, op->reply_len, d / r);
		total_d += d;
		total_r += r;
	}
	close(fd);
	printf("ratio=%.3f\n", total_d / total_r);
	return 0;
}
