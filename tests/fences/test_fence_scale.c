/* Thousands of parked waits cost nothing while asleep; fds and objects do not leak over many cycles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <drm.h>

#include "fence_harness.h"
#include "redox-drm/driver.h"
#include "redox-drm/loop.h"
#include "redox-drm/sw_sync.h"
#include "redox-drm/sync_file.h"

#define MS 1000000ll
#define FILES 10
#define PER_FILE 200 /* channels per file (the transport allows 256) */

static struct fence_server srv;

static int start(void **state)
{
	return fence_server_start(&srv, DRIVER_GEM | DRIVER_RENDER | DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE);
}

static struct drm_sw_sync_timeline *timeline;

static void sw_destroy(struct fence_server *s, void *arg)
{
	drm_sw_sync_timeline_destroy(timeline);
	timeline = NULL;
}

static int stop(void **state)
{
	fence_server_run(&srv, sw_destroy, NULL);
	fence_server_stop(&srv);
	return 0;
}

static uint32_t create(struct fence_client *c, uint32_t flags)
{
	struct drm_syncobj_create a = {.flags = flags};
	assert_int_equal(fence_ioctl(c, DRM_IOCTL_SYNCOBJ_CREATE, &a), 0);
	return a.handle;
}

static int to_fd(struct fence_client *c, uint32_t h, uint32_t flags)
{
	struct drm_syncobj_handle a = {.handle = h, .flags = flags, .fd = -1};
	assert_int_equal(fence_ioctl(c, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &a), 0);
	return a.fd;
}

static uint32_t from_fd(struct fence_client *c, int fd, uint32_t flags, uint32_t h)
{
	struct drm_syncobj_handle a = {.handle = h, .flags = flags, .fd = fd};
	assert_int_equal(fence_ioctl(c, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &a), 0);
	return a.handle;
}

static void destroy(struct fence_client *c, uint32_t h)
{
	struct drm_syncobj_destroy a = {.handle = h};
	assert_int_equal(fence_ioctl(c, DRM_IOCTL_SYNCOBJ_DESTROY, &a), 0);
}


static void sw_fence(struct fence_server *s, void *arg)
{
	if (!timeline)
		timeline = drm_sw_sync_timeline_create(s->loop, "scale");
	int *fd = arg;
	assert_int_equal(drm_sw_sync_create_fence(timeline, drm_sw_sync_timeline_value(timeline) + 1, fd), 0);
}

static void sw_step(struct fence_server *s, void *arg)
{
	drm_sw_sync_inc(timeline, 1);
}

static void count_entries(struct fence_server *s, void *arg)
{
	*(unsigned *)arg = drm_fdobj_count();
}

static int64_t cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
}

static void two_thousand_parked_waiters(void **state)
{
	static struct fence_client c[FILES];
	static int chans[FILES][PER_FILE];
	static uint32_t h[FILES];
	for (int i = 0; i < FILES; i++)
		assert_int_equal(fence_client_open(&srv, &c[i], "renderD128"), 0);
	/* One syncobj with a pending fence, shared with every file. */
	int sf = -1;
	fence_server_run(&srv, sw_fence, &sf);
	h[0] = create(&c[0], 0);
	from_fd(&c[0], sf, DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, h[0]);
	close(sf);
	int sofd = to_fd(&c[0], h[0], 0);
	for (int i = 1; i < FILES; i++)
		h[i] = from_fd(&c[i], sofd, 0, 0);
	close(sofd);

	/* 2,000 waits, each on its own channel. */
	for (int i = 0; i < FILES; i++) {
		for (int j = 0; j < PER_FILE; j++) {
			chans[i][j] = fence_client_channel(&c[i]);
			assert_true(chans[i][j] >= 0);
			struct drm_syncobj_wait w = {.handles = (uintptr_t)&h[i], .count_handles = 1,
						     .timeout_nsec = (int64_t)monotonic_ns() + 60000 * MS};
			assert_int_equal(fence_send(chans[i][j], DRM_IOCTL_SYNCOBJ_WAIT, &w, sizeof(w), &h[i], 4, NULL, 0), 0);
		}
	}
	/* Every one parked: none answered, and the daemon does nothing while they sleep. */
	sleep_ms(100);
	for (int i = 0; i < FILES; i++)
		for (int j = 0; j < PER_FILE; j++) {
			struct pollfd p = {.fd = chans[i][j], .events = POLLIN};
			assert_int_equal(poll(&p, 1, 0), 0);
		}
	int64_t cpu0 = cpu_ns();
	sleep_ms(300);
	int64_t idle_cpu = cpu_ns() - cpu0;
	assert_true(idle_cpu < 20 * MS);

	/* One signal answers them all. */
	int64_t t0 = (int64_t)monotonic_ns();
	fence_server_run(&srv, sw_step, NULL);
	for (int i = 0; i < FILES; i++)
		for (int j = 0; j < PER_FILE; j++) {
			struct drm_syncobj_wait w;
			assert_int_equal(fence_recv(chans[i][j], &w, sizeof(w), 5000), 0);
			assert_int_equal(w.first_signaled, 0);
		}
	int64_t all = (int64_t)monotonic_ns() - t0;
	assert_true(all < 2000 * MS);

	/* 2,000 waits for a submission that never comes, all timing out together. */
	uint32_t e[FILES];
	e[0] = create(&c[0], 0);
	sofd = to_fd(&c[0], e[0], 0);
	for (int i = 1; i < FILES; i++)
		e[i] = from_fd(&c[i], sofd, 0, 0);
	close(sofd);
	int64_t deadline = (int64_t)monotonic_ns() + 400 * MS;
	for (int i = 0; i < FILES; i++)
		for (int j = 0; j < PER_FILE; j++) {
			struct drm_syncobj_wait w = {.handles = (uintptr_t)&e[i], .count_handles = 1,
						     .flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, .timeout_nsec = deadline};
			assert_int_equal(fence_send(chans[i][j], DRM_IOCTL_SYNCOBJ_WAIT, &w, sizeof(w), &e[i], 4, NULL, 0), 0);
		}
	for (int i = 0; i < FILES; i++)
		for (int j = 0; j < PER_FILE; j++) {
			struct drm_syncobj_wait w;
			assert_int_equal(fence_recv(chans[i][j], &w, sizeof(w), 5000), -ETIME);
		}
	int64_t late = (int64_t)monotonic_ns() - deadline;
	assert_true(late >= 0 && late < 1000 * MS);

	for (int i = 0; i < FILES; i++) {
		for (int j = 0; j < PER_FILE; j++)
			close(chans[i][j]);
		fence_client_close(&c[i]);
	}
}

static void no_leaks_over_10000_cycles(void **state)
{
	struct fence_client a, b;
	assert_int_equal(fence_client_open(&srv, &a, "renderD128"), 0);
	assert_int_equal(fence_client_open(&srv, &b, "renderD128"), 0);
	/* Warm up once so lazily made state is in the baseline. */
	uint32_t w = create(&a, DRM_SYNCOBJ_CREATE_SIGNALED);
	destroy(&a, w);
	int fds0 = fence_count_fds();
	unsigned entries0;
	fence_server_run(&srv, count_entries, &entries0);

	for (int i = 0; i < 10000; i++) {
		uint32_t h = create(&a, DRM_SYNCOBJ_CREATE_SIGNALED);
		int fd = to_fd(&a, h, 0);
		uint32_t hb = from_fd(&b, fd, 0, 0);
		int sf = to_fd(&b, hb, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE);
		from_fd(&a, sf, DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, h);
		close(fd);
		close(sf);
		destroy(&a, h);
		destroy(&b, hb);
	}
	/* The daemon frees an entry when it sees the hang-up: give it the moment it needs. */
	unsigned entries = 0;
	for (int tries = 0; tries < 200; tries++) {
		fence_server_run(&srv, count_entries, &entries);
		if (entries == entries0)
			break;
		sleep_ms(10);
	}
	assert_int_equal(entries, entries0);
	assert_int_equal(fence_count_fds(), fds0);
	fence_client_close(&a);
	fence_client_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(two_thousand_parked_waiters),
		cmocka_unit_test(no_leaks_over_10000_cycles),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
