#include "bench.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A child echoing reply_len bytes per request on the other end of a socket pair; -1 on error. */
static int echo_start(int *fd, int *pid, size_t reply_len, int cpu, int other)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	*pid = fork();
	if (*pid < 0)
		return -errno;
	if (*pid == 0) {
		close(sv[0]);
		if (other >= 0)
			close(other); /* the first peer's end: it must see EOF when the caller closes it */
		if (cpu >= 0) {
			cpu_set_t set;
			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
		}
		char buf[65536];
		memset(buf, 0, sizeof(buf));
		for (;;) {
			ssize_t n = recv(sv[1], buf, sizeof(buf), 0);
			if (n <= 0)
				_exit(0);
			if (send(sv[1], buf, reply_len, MSG_NOSIGNAL) < 0)
				_exit(0);
		}
	}
	close(sv[1]);
	*fd = sv[0];
	return 0;
}

int raw_peer_start(struct raw_peer *p, size_t req_len, size_t reply_len)
{
	memset(p, 0, sizeof(*p));
	p->fd[0] = p->fd[1] = -1;
	p->pid[0] = p->pid[1] = -1;
	p->req_len = req_len;
	p->reply_len = reply_len;
	cpu_set_t allowed;
	p->cpu = -1;
	if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 && CPU_COUNT(&allowed) > 1)
		p->cpu = sched_getcpu();
	int r = echo_start(&p->fd[0], &p->pid[0], reply_len, -1, -1);
	if (!r && p->cpu >= 0)
		r = echo_start(&p->fd[1], &p->pid[1], reply_len, p->cpu, p->fd[0]);
	if (r)
		raw_peer_stop(p);
	return r;
}

static double rtt(int fd, size_t req_len, unsigned n)
{
	char buf[65536];
	memset(buf, 0x5a, sizeof(buf));
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < n; i++) {
		if (send(fd, buf, req_len, 0) < 0 || recv(fd, buf, sizeof(buf), 0) <= 0)
			return -1;
	}
	return (double)(bench_now_ns() - t0) / n;
}

double raw_peer_rtt(struct raw_peer *p, unsigned n)
{
	p->last[0] = rtt(p->fd[0], p->req_len, n);
	p->last[1] = p->last[0];
	if (p->last[0] < 0 || p->fd[1] < 0)
		return p->last[0];
	/* Both ends on p->cpu for this measurement only. */
	cpu_set_t saved, one;
	if (sched_getaffinity(0, sizeof(saved), &saved) < 0)
		return p->last[0];
	CPU_ZERO(&one);
	CPU_SET(p->cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) == 0) {
		p->last[1] = rtt(p->fd[1], p->req_len, n);
		sched_setaffinity(0, sizeof(saved), &saved);
	}
	if (p->last[1] < 0)
		return -1;
	return p->last[1] < p->last[0] ? p->last[1] : p->last[0];
}

void raw_peer_stop(struct raw_peer *p)
{
	for (int i = 0; i < 2; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		if (p->pid[i] > 0)
			waitpid(p->pid[i], NULL, 0);
		p->fd[i] = -1;
		p->pid[i] = -1;
	}
}

int bench_vs_raw_run(struct raw_peer *peer, double (*cycle)(void *ctx, unsigned n), void *ctx, unsigned batches,
		     unsigned per_batch, struct bench_vs_raw *out)
{
	double d[BENCH_MAX_BATCHES], r[BENCH_MAX_BATCHES], rs[BENCH_MAX_BATCHES], r1[BENCH_MAX_BATCHES];
	if (batches == 0 || batches > BENCH_MAX_BATCHES)
		return -1;
	if (cycle(ctx, per_batch) < 0 || raw_peer_rtt(peer, per_batch) < 0)
		return -1;
	for (unsigned b = 0; b < batches; b++) {
		d[b] = cycle(ctx, per_batch);
		r[b] = raw_peer_rtt(peer, per_batch);
		rs[b] = peer->last[0];
		r1[b] = peer->last[1];
		if (d[b] < 0 || r[b] < 0)
			return -1;
	}
	out->cycle = bench_median(d, batches);
	out->raw = bench_median(r, batches);
	out->raw_sched = bench_median(rs, batches);
	out->raw_one = bench_median(r1, batches);
	return 0;
}

void bench_vs_raw_print_raw(const struct bench_vs_raw *r)
{
	printf("raw round trip %8.0f ns (where the scheduler put it %.0f ns, both ends on one CPU %.0f ns)", r->raw,
	       r->raw_sched, r->raw_one);
}

int bench_open_node(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "redox-drm-bench: cannot open %s: %s (run it under redox-drm-run)\n", path,
			strerror(errno));
	return fd;
}
