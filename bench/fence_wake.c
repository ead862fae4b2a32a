/*
 * fence-wake: a sw_sync timeline signalled in one process, a poll() on the
 * sync_file woken in another; against a raw socket round trip between the
 * same two processes, measured in the same run.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "redox-drm/client.h"
#include "redox-drm/sw_sync.h"

#define N 2000

static int send_fds(int sock, const int *fds, int n)
{
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(sizeof(int) * 64)];
	} cb;
	char byte = 0;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b,
			    .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
	return sendmsg(sock, &mh, 0) == 1 ? 0 : -1;
}

/* Returns how many fds came (at most 64), or -1. */
static int recv_fds(int sock, int *fds)
{
	union {
		struct cmsghdr c;
		char b[CMSG_SPACE(sizeof(int) * 64)];
	} cb;
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof(cb.b)};
	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_len < CMSG_LEN(sizeof(int)))
		return -1;
	int n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
	memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)n);
	return n;
}

/* The waiter: for each fence in turn, poll until it signals, then say so. */
static void waiter(int sock)
{
	int fds[64];
	for (int done = 0; done < N;) {
		int n = recv_fds(sock, fds);
		if (n < 0)
			_exit(1);
		for (int i = 0; i < n; i++, done++) {
			struct pollfd p = {.fd = fds[i], .events = POLLIN};
			if (poll(&p, 1, 5000) != 1)
				_exit(2);
			char b = 1;
			if (write(sock, &b, 1) != 1)
				_exit(3);
			close(fds[i]);
		}
	}
	_exit(0);
}

int bench_fence_wake(int argc, char **argv)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/sw_sync", getenv("REDOX_DRM_RUNTIME_DIR"));
	int tl = rdrm_connect(path, O_CLOEXEC);
	struct rdrm_wire_hello hello;
	int chan = tl < 0 ? tl : rdrm_channel_open(tl, &hello);
	if (chan < 0) {
		fprintf(stderr, "redox-drm-bench: cannot reach the sw_sync node at %s\n", path);
		return 1;
	}
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		waiter(sv[1]);
	}
	close(sv[1]);

	/* Fences 1..N, handed to the waiter 64 at a time ahead of the timeline. */
	double *wake = calloc(N, sizeof(double));
	uint32_t value = 0;
	int ok = 1;
	for (int base = 0; base < N && ok; base += 64) {
		int fds[64], n = N - base < 64 ? N - base : 64;
		for (int i = 0; i < n; i++) {
			struct sw_sync_create_fence_data d = {.value = (uint32_t)(base + i + 1)};
			snprintf(d.name, sizeof(d.name), "bench");
			if (rdrm_call(chan, "sw_sync", SW_SYNC_IOC_CREATE_FENCE, &d) < 0) {
				ok = 0;
				break;
			}
			fds[i] = d.fence;
		}
		if (!ok || send_fds(sv[0], fds, n) < 0) {
			ok = 0;
			break;
		}
		for (int i = 0; i < n; i++)
			close(fds[i]);
		for (int i = 0; i < n; i++) {
			uint32_t inc = 1;
			char b;
			uint64_t t0 = bench_now_ns();
			if (rdrm_call(chan, "sw_sync", SW_SYNC_IOC_INC, &inc) < 0 || read(sv[0], &b, 1) != 1) {
				ok = 0;
				break;
			}
			wake[base + i] = (double)(bench_now_ns() - t0);
			value++;
		}
	}
	close(sv[0]);
	int st;
	waitpid(pid, &st, 0);
	if (!ok || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "redox-drm-bench: fence-wake failed after %u signals\n", value);
		return 1;
	}
	struct raw_peer peer;
	if (raw_peer_start(&peer, 40, 40) < 0)
		return 1;
	double raw[15];
	for (int i = 0; i < 15; i++)
		raw[i] = raw_peer_rtt(&peer, 200);
	raw_peer_stop(&peer);
	double r = bench_median(raw, 15), w = bench_median(wake, N);
	printf("fence-wake: %d signals, median %.0f ns from SW_SYNC_IOC_INC to the other process's poll() waking and answering\n", N, w);
	printf("raw socket round trip between two processes: median %.0f ns\n", r);
	printf("ratio=%.3f\n", w / r);
	free(wake);
	return 0;
}
