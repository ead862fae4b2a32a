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
	bool in_process; /* drives a device model in this process: no daemon, no launcher */
};

uint64_t bench_now_ns(void);
/* Median of n samples (sorts them). */
double bench_median(double *v, size_t n);

/*
 * A raw round trip between two processes over the same kind of socket the
 * daemon uses (SOCK_SEQPACKET): a child echoes reply_len bytes for every
 * request. The baseline the daemon's figures are divided by.
 *
 * Where the scheduler puts the two ends changes a round trip by up to 2x
 * (a wake-up on a CPU that sleeps costs more than one on the same CPU), so
 * the baseline is the faster of two placements, each measured every time:
 * where the scheduler puts them, and both ends on the caller's CPU. The
 * daemon's figures are never pinned.
 */
struct raw_peer {
	int fd[2];  /* [0]: placed by the scheduler, [1]: on the caller's CPU */
	int pid[2];
	int cpu;    /* the shared CPU, or -1 with only one CPU allowed */
	size_t req_len, reply_len;
	double last[2]; /* the last measurement of each placement */
};
int raw_peer_start(struct raw_peer *p, size_t req_len, size_t reply_len);
/* Mean ns per round trip over n round trips: the faster placement's (both in last[]). */
double raw_peer_rtt(struct raw_peer *p, unsigned n);
void raw_peer_stop(struct raw_peer *p);

/*
 * Alternates batches of cycle(ctx, per_batch) (mean ns per cycle, < 0 on
 * failure) with as many raw round trips, after one warm-up batch of each;
 * medians over the batches. -1 if a batch failed.
 */
struct bench_vs_raw {
	double cycle, raw;          /* raw: the faster placement (struct raw_peer) */
	double raw_sched, raw_one;  /* each placement's median */
};
#define BENCH_MAX_BATCHES 31
int bench_vs_raw_run(struct raw_peer *peer, double (*cycle)(void *ctx, unsigned n), void *ctx, unsigned batches,
		     unsigned per_batch, struct bench_vs_raw *out);
/* "raw round trip N ns (where the scheduler put it N ns, one CPU N ns)" */
void bench_vs_raw_print_raw(const struct bench_vs_raw *r);

/* Opens a DRM node through the interposer (the process runs under redox-drm-run). */
int bench_open_node(const char *path);

#endif
