/*
 * A served test device with syncobj support: the real transport, event loop
 * and fence code in a daemon thread. Tests talk to it through sockets, as
 * clients do, and may run a function on the daemon thread (to play the
 * driver: signal a fence, advance a sw_sync timeline).
 */
#ifndef REDOX_DRM_TEST_FENCE_HARNESS_H
#define REDOX_DRM_TEST_FENCE_HARNESS_H

#include <limits.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "redox-drm/wire.h"

struct event_loop;
struct transport;
struct drm_device;

struct fence_server {
	char dir[PATH_MAX];
	pthread_t thread;
	int stop_fd, run_fd;
	struct event_loop *loop;
	struct transport *transport;
	struct drm_device *dev;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void (*fn)(struct fence_server *s, void *arg);
	void *arg;
	int pending;
};

/* features: DRIVER_* bits of the served test driver. */
int fence_server_start(struct fence_server *s, uint32_t features);
void fence_server_stop(struct fence_server *s);
/* Runs fn on the daemon thread and waits for it. */
void fence_server_run(struct fence_server *s, void (*fn)(struct fence_server *s, void *arg), void *arg);

struct fence_client {
	int file, chan;
	struct rdrm_wire_hello hello;
};

/* node: "card0" or "renderD128". */
int fence_client_open(struct fence_server *s, struct fence_client *c, const char *node);
void fence_client_close(struct fence_client *c);
int fence_ioctl(struct fence_client *c, unsigned long cmd, void *arg);
/* Another request channel on the client's file (-errno on failure). */
int fence_client_channel(struct fence_client *c);

/*
 * One request sent without waiting for its reply: the struct (size bytes)
 * and up to two IN arrays in layout order. fence_recv takes the reply
 * (copying the struct back); -ETIMEDOUT when none came within timeout_ms.
 */
int fence_send(int chan, unsigned long cmd, const void *arg, size_t size, const void *a1, size_t n1,
	       const void *a2, size_t n2);
int fence_recv(int chan, void *arg, size_t size, int timeout_ms);

/* Descriptors open in this process. */
int fence_count_fds(void);

#endif
