#include "bench.h"

#include <errno.h>
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

int raw_peer_start(struct raw_peer *p, size_t req_len, size_t reply_len)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	p->req_len = req_len;
	p->reply_len = reply_len;
	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid == 0) {
		close(sv[0]);
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
	p->fd = sv[0];
	return 0;
}

double raw_peer_rtt(struct raw_peer *p, unsigned n)
{
	char buf[65536];
	memset(buf, 0x5a, sizeof(buf));
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < n; i++) {
		if (send(p->fd, buf, p->req_len, 0) < 0 || recv(p->fd, buf, sizeof(buf), 0) <= 0)
			return -1;
	}
	return (double)(bench_now_ns() - t0) / n;
}

void raw_peer_stop(struct raw_peer *p)
{
	close(p->fd);
	waitpid(p->pid, NULL, 0);
}

int bench_open_node(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fprintf(stderr, "redox-drm-bench: cannot open %s: %s (run it under redox-drm-run)\n", path,
			strerror(errno));
	return fd;
}
