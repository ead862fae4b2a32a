/*
 * In-process test harness: a device with a test driver (no hardware), and a
 * "daemon thread" that serves one wire channel with the real decoder, so a
 * test can call rdrm_call() against it and exercise both sides of the wire.
 */
#ifndef REDOX_DRM_TEST_HARNESS_H
#define REDOX_DRM_TEST_HARNESS_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "redox-drm/drm_device.h"
#include "redox-drm/hw.h"

struct test_device {
	struct drm_device dev;
	struct hw_device hw;
};

/* features: DRIVER_* bits of the test driver (name "testdrv"). */
struct drm_device *test_device_create(uint32_t features);
void test_device_destroy(struct drm_device *dev);
/* Gives the test driver a display (before drm_mode_config_init). */
struct drm_kms_funcs;
void test_device_set_kms(struct drm_device *dev, const struct drm_kms_funcs *funcs);

/* Runs one ioctl on file as (pid, uid) with the given struct; arrays in regions by real pointer. */
struct drm_call;
int test_ioctl(struct drm_file *file, pid_t pid, uid_t uid, unsigned cmd, void *arg);

/* A served channel: client end in ->fd. */
struct test_channel {
	int fd;
	int server_fd;
	pthread_t thread;
	struct drm_file *file;
	pid_t pid;
	uid_t uid;
};

int test_channel_start(struct test_channel *ch, struct drm_file *file, pid_t pid, uid_t uid);
void test_channel_stop(struct test_channel *ch);

/*
 * A device model (hw_sim_create's model name) with its real driver, no event
 * loop, and nfiles (1 or 2) render-node files served on channels: file/ch
 * (pid 100), file2/ch2 (pid 200). NULL on failure.
 */
struct sim_fixture {
	struct hw_device *hw;
	struct drm_device *dev;
	struct drm_file *file, *file2;
	struct test_channel ch, ch2;
};
struct sim_fixture *sim_fixture_create(const char *model, int index, unsigned nfiles);
void sim_fixture_destroy(struct sim_fixture *f);

#endif
