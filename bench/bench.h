/* redox-drm-bench: each benchmark reports against a baseline measured in the same run. */
#ifndef REDOX_DRM_BENCH_H
#define REDOX_DRM_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bench {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
	bool in_process; /* runs a driver on a model itself: no daemon, no launcher */
};

uint64_t bench_now_ns(void);
/* Median of n samples (sorts them). */
double bench_median(double *v, size_t n);

/*
 * A raw round trip between two processes over the same kind of socket the
 * daemon uses (SOCK_SEQPACKET): a child echoes reply_len bytes for every
 * request. The baseline the daemon's figures are divided by.
 */
struct raw_peer {
	int fd;
	int pid;
	size_t req_len, reply_len;
};
int raw_peer_start(struct raw_peer *p, size_t req_len, size_t reply_len);
/* Mean ns per round trip over n round trips. */
double raw_peer_rtt(struct raw_peer *p, unsigned n);
void raw_peer_stop(struct raw_peer *p);

/* Opens a DRM node through the interposer (the process runs under redox-drm-run). */
int bench_open_node(const char *path);

#endif
