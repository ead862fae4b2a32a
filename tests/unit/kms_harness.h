/*
 * A served KMS test device: the real transport, event loop and KMS core in a
 * daemon thread, with a small virtual display driver (like the kernel's vkms)
 * whose "hardware" latches commits at a 60 Hz vblank timer. Tests talk to it
 * only through sockets, as a client would.
 */
#ifndef REDOX_DRM_TEST_KMS_HARNESS_H
#define REDOX_DRM_TEST_KMS_HARNESS_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>

#include "redox-drm/wire.h"

struct kms_server {
	char dir[PATH_MAX];
	pthread_t thread;
	int stop_fd;
	struct event_loop *loop;
	struct transport *transport;
	struct drm_device *dev;
};

struct event_loop;
/* The virtual display device alone, on a loop the caller runs. */
struct drm_device *kms_test_device_create(struct event_loop *loop);

int kms_server_start(struct kms_server *s);
void kms_server_stop(struct kms_server *s);

struct kms_client {
	int file, chan;
	struct rdrm_wire_hello hello;
};

/* node: "card0" or "renderD128". */
int kms_client_open(struct kms_server *s, struct kms_client *c, const char *node);
void kms_client_close(struct kms_client *c);
int kms_ioctl(struct kms_client *c, unsigned long cmd, void *arg);

#endif
