/* The SYNCOBJ ioctls with the kernel's semantics and errnos, through a served daemon. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <drm.h>

#include "fence_harness.h"
#include "harness.h"
#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"
#include "redox-drm/loop.h"
#include "redox-drm/sw_sync.h"
#include "redox-drm/sync_file.h"
#include "redox-drm/syncobj.h"
#include "redox-drm/uapi_extra.h"

#define MS 1000000ll

static struct fence_server srv;
static struct fence_client ca, cb; /* two clients (two files) */

static int start(void **state)
{
	assert_int_equal(fence_server_start(&srv, DRIVER_GEM | DRIVER_RENDER | DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE), 0);
	assert_int_equal(fence_client_open(&srv, &ca, "renderD128"), 0);
	assert_int_equal(fence_client_open(&srv, &cb, "renderD128"), 0);
	return 0;
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
	fence_client_close(&ca);
	fence_client_close(&cb);
	fence_server_stop(&srv);
	return 0;
}

static int64_t now_ns(void)
{
	return (int64_t)monotonic_ns();
}

/* ---- ioctl helpers ---- */

static uint32_t create(struct fence_client *c, uint32_t flags)
{
	struct drm_syncobj_create a = {.flags = flags};
	assert_int_equal(fence_ioctl(c, DRM_IOCTL_SYNCOBJ_CREATE, &a), 0);
	assert_int_not_equal(a.handle, 0);
	return a.handle;
}

static int destroy(struct fence_client *c, uint32_t h)
{
	struct drm_syncobj_destroy a = {.handle = h};
	return fence_ioctl(c, DRM_IOCTL_SYNCOBJ_DESTROY, &a);
}

static int wait_(struct fence_client *c, uint32_t *h, uint32_t n, uint32_t flags, int64_t timeout, uint32_t *first)
{
	struct drm_syncobj_wait a = {.handles = (uintptr_t)h, .count_handles = n, .flags = flags,
				     .timeout_nsec = timeout, .first_signaled = 0xdead};
	int r = fence_ioctl(c, DRM_IOCTL_SYNCOBJ_WAIT, &a);
	if (first)
		*first = a.first_signaled;
	return r;
}

static int twait(struct fence_client *c, uint32_t *h, uint64_t *p, uint32_t n, uint32_t flags, int64_t timeout,
		 uint32_t *first)
{
	struct drm_syncobj_timeline_wait a = {.handles = (uintptr_t)h, .points = (uintptr_t)p, .count_handles = n,
					      .flags = flags, .timeout_nsec = timeout};
	int r = fence_ioctl(c, DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, &a);
	if (first)
		*first = a.first_signaled;
	return r;
}

static int array_op(struct fence_client *c, unsigned long cmd, uint32_t *h, uint32_t n)
{
	struct drm_syncobj_array a = {.handles = (uintptr_t)h, .count_handles = n};
	return fence_ioctl(c, cmd, &a);
}

static int tarray_op(struct fence_client *c, unsigned long cmd, uint32_t *h, uint64_t *p, uint32_t n, uint32_t flags)
{
	struct drm_syncobj_timeline_array a = {.handles = (uintptr_t)h, .points = (uintptr_t)p, .count_handles = n,
					       .flags = flags};
	return fence_ioctl(c, cmd, &a);
}

static uint64_t query(struct fence_client *c, uint32_t h, uint32_t flags)
{
	uint64_t p = ~0ull;
	assert_int_equal(tarray_op(c, DRM_IOCTL_SYNCOBJ_QUERY, &h, &p, 1, flags), 0);
	return p;
}

static int to_fd(struct fence_client *c, uint32_t h, uint32_t flags, int *fd)
{
	struct drm_syncobj_handle a = {.handle = h, .flags = flags, .fd = -1};
	int r = fence_ioctl(c, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &a);
	*fd = a.fd;
	return r;
}

static int from_fd(struct fence_client *c, int fd, uint32_t flags, uint32_t *h)
{
	struct drm_syncobj_handle a = {.handle = *h, .flags = flags, .fd = fd};
	int r = fence_ioctl(c, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &a);
	*h = a.handle;
	return r;
}

static int transfer(struct fence_client *c, uint32_t src, uint64_t sp, uint32_t dst, uint64_t dp, uint32_t flags)
{
	struct drm_syncobj_transfer a = {.src_handle = src, .src_point = sp, .dst_handle = dst, .dst_point = dp,
					 .flags = flags};
	return fence_ioctl(c, DRM_IOCTL_SYNCOBJ_TRANSFER, &a);
}

/* ---- a pending fence: a sw_sync point made on the daemon thread ---- */

struct sw_req {
	struct drm_sw_sync_timeline *tl;
	uint32_t value;
	int fd;
};

static uint32_t sw_next = 1000; /* the shared timeline only moves forward: every test takes new values */

static void sw_make(struct fence_server *s, void *arg)
{
	struct sw_req *r = arg;
	if (!timeline)
		timeline = drm_sw_sync_timeline_create(s->loop, "test");
	r->fd = -1;
	assert_int_equal(drm_sw_sync_create_fence(timeline, r->value, &r->fd), 0);
}

/* Advances the shared timeline to a value (never backwards), on the daemon thread. */
static void sw_inc_to(struct fence_server *s, void *arg)
{
	uint32_t v = *(uint32_t *)arg, at = drm_sw_sync_timeline_value(timeline);
	if ((int32_t)(v - at) > 0)
		drm_sw_sync_inc(timeline, v - at);
}

static int sw_fence_fd(uint32_t value)
{
	struct sw_req r = {.value = value};
	fence_server_run(&srv, sw_make, &r);
	return r.fd;
}


/* A syncobj of client c holding a pending fence; returns the sw_sync value that signals it. */
static uint32_t pending_syncobj(struct fence_client *c, uint32_t *h)
{
	uint32_t v = ++sw_next;
	int fd = sw_fence_fd(v);
	assert_true(fd >= 0);
	*h = create(c, 0);
	assert_int_equal(from_fd(c, fd, DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, h), 0);
	close(fd);
	return v;
}

static void sw_signal_to(uint32_t v)
{
	fence_server_run(&srv, sw_inc_to, &v);
}

/* Runs fn(arg) on a helper thread after delay_ms (the test thread blocks in its call meanwhile). */
struct later {
	pthread_t t;
	int delay_ms;
	void (*fn)(void *arg);
	void *arg;
};

static void *later_main(void *p)
{
	struct later *l = p;
	struct timespec ts = {.tv_sec = l->delay_ms / 1000, .tv_nsec = (long)(l->delay_ms % 1000) * 1000000};
	nanosleep(&ts, NULL);
	l->fn(l->arg);
	return NULL;
}

static void later_start(struct later *l, int delay_ms, void (*fn)(void *), void *arg)
{
	l->delay_ms = delay_ms;
	l->fn = fn;
	l->arg = arg;
	assert_int_equal(pthread_create(&l->t, NULL, later_main, l), 0);
}

static void later_join(struct later *l)
{
	pthread_join(l->t, NULL);
}

static void later_sw_signal(void *arg)
{
	sw_signal_to((uint32_t)(uintptr_t)arg);
}

/* ---- tests ---- */

static void without_feature(void **state)
{
	struct drm_device *dev = test_device_create(DRIVER_GEM | DRIVER_RENDER);
	struct drm_file *f = drm_file_open(&dev->render, 100, 1000);
	struct drm_syncobj_create c = {0};
	assert_int_equal(test_ioctl(f, 100, 1000, DRM_IOCTL_SYNCOBJ_CREATE, &c), -EOPNOTSUPP);
	uint32_t h = 1;
	struct drm_syncobj_wait w = {.handles = (uintptr_t)&h, .count_handles = 1};
	assert_int_equal(test_ioctl(f, 100, 1000, DRM_IOCTL_SYNCOBJ_WAIT, &w), -EOPNOTSUPP);
	test_device_destroy(dev);

	/* Binary only: the timeline ioctls are missing. */
	dev = test_device_create(DRIVER_GEM | DRIVER_RENDER | DRIVER_SYNCOBJ);
	f = drm_file_open(&dev->render, 100, 1000);
	assert_int_equal(test_ioctl(f, 100, 1000, DRM_IOCTL_SYNCOBJ_CREATE, &c), 0);
	uint64_t p = 0;
	struct drm_syncobj_timeline_array q = {.handles = (uintptr_t)&c.handle, .points = (uintptr_t)&p, .count_handles = 1};
	assert_int_equal(test_ioctl(f, 100, 1000, DRM_IOCTL_SYNCOBJ_QUERY, &q), -EOPNOTSUPP);
	struct drm_syncobj_transfer t = {0};
	assert_int_equal(test_ioctl(f, 100, 1000, DRM_IOCTL_SYNCOBJ_TRANSFER, &t), -EOPNOTSUPP);
	struct drm_syncobj_eventfd e = {.handle = c.handle, .fd = -1};
	assert_int_equal(test_ioctl(f, 100, 1000, DRM_IOCTL_SYNCOBJ_EVENTFD, &e), -EOPNOTSUPP);
	test_device_destroy(dev);
}

static void create_destroy_and_handles_per_file(void **state)
{
	struct drm_syncobj_create c = {.flags = 2};
	assert_int_equal(fence_ioctl(&ca, DRM_IOCTL_SYNCOBJ_CREATE, &c), -EINVAL);
	uint32_t h = create(&ca, 0), hs = create(&ca, DRM_SYNCOBJ_CREATE_SIGNALED);
	assert_int_not_equal(h, hs);
	struct drm_syncobj_destroy d = {.handle = h, .pad = 1};
	assert_int_equal(fence_ioctl(&ca, DRM_IOCTL_SYNCOBJ_DESTROY, &d), -EINVAL);
	/* Another file does not see these handles. */
	assert_int_equal(destroy(&cb, h), -EINVAL);
	uint32_t first;
	assert_int_equal(wait_(&cb, &hs, 1, 0, 0, &first), -ENOENT);
	assert_int_equal(wait_(&ca, &hs, 1, 0, 0, &first), 0);
	assert_int_equal(first, 0);
	assert_int_equal(destroy(&ca, h), 0);
	assert_int_equal(destroy(&ca, h), -EINVAL);
	assert_int_equal(destroy(&ca, 0), -EINVAL);
	assert_int_equal(destroy(&ca, hs), 0);
}

static void wait_bad_input(void **state)
{
	uint32_t h[2] = {create(&ca, DRM_SYNCOBJ_CREATE_SIGNALED), create(&ca, 0)};
	uint32_t first;
	assert_int_equal(wait_(&ca, h, 0, 0, 0, &first), -EINVAL);                      /* no handles */
	assert_int_equal(wait_(&ca, h, 1, 1u << 2, 0, &first), -EINVAL);                 /* WAIT_AVAILABLE: timeline only */
	assert_int_equal(wait_(&ca, h, 1, 1u << 7, 0, &first), -EINVAL);
	uint32_t bad[2] = {h[0], 12345};
	assert_int_equal(wait_(&ca, bad, 2, 0, 0, &first), -ENOENT);
	/* A syncobj without a fence (and no WAIT_FOR_SUBMIT) is -EINVAL, whatever the others hold. */
	assert_int_equal(wait_(&ca, h, 2, 0, 0, &first), -EINVAL);
	assert_int_equal(wait_(&ca, h, 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, now_ns() + 1000 * MS, &first), -EINVAL);
	/* A NULL array with a count faults. */
	struct drm_syncobj_wait w = {.handles = 0, .count_handles = 1};
	assert_int_equal(fence_ioctl(&ca, DRM_IOCTL_SYNCOBJ_WAIT, &w), -EFAULT);
	/* More than the kernel could allocate. */
	w = (struct drm_syncobj_wait){.handles = (uintptr_t)h, .count_handles = 1u << 20};
	uint32_t *many = calloc(1u << 20, sizeof(uint32_t));
	w.handles = (uintptr_t)many;
	assert_int_equal(fence_ioctl(&ca, DRM_IOCTL_SYNCOBJ_WAIT, &w), -ENOMEM);
	free(many);
	/* An absurd count is refused before anything is sent. */
	w.count_handles = 0xffffffffu;
	assert_int_equal(fence_ioctl(&ca, DRM_IOCTL_SYNCOBJ_WAIT, &w), -EINVAL);
	destroy(&ca, h[0]);
	destroy(&ca, h[1]);
}

static void wait_any_all_and_poll(void **state)
{
	uint32_t p;
	uint32_t v = pending_syncobj(&ca, &p);
	uint32_t s = create(&ca, DRM_SYNCOBJ_CREATE_SIGNALED);
	uint32_t h[2] = {p, s};
	uint32_t first;
	/* Any: the signalled one is reported. */
	assert_int_equal(wait_(&ca, h, 2, 0, 0, &first), 0);
	assert_int_equal(first, 1);
	/* All, polled: not yet. */
	assert_int_equal(wait_(&ca, h, 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, 0, &first), -ETIME);
	/* A deadline already passed is a poll too; a negative one as well. */
	assert_int_equal(wait_(&ca, h, 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, now_ns() - 1000, &first), -ETIME);
	assert_int_equal(wait_(&ca, h, 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, -5, &first), -ETIME);
	/* All, parked: answered when the pending one signals. */
	struct later l;
	int64_t t0 = now_ns();
	later_start(&l, 30, later_sw_signal, (void *)(uintptr_t)v);
	assert_int_equal(wait_(&ca, h, 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, now_ns() + 5000 * MS, &first), 0);
	int64_t dt = now_ns() - t0;
	later_join(&l);
	assert_true(dt >= 25 * MS && dt < 1000 * MS);
	assert_int_equal(first, 1); /* the first already signalled when the wait began */
	/* Signalled fences answer at once, also with the longest timeout. */
	assert_int_equal(wait_(&ca, h, 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, INT64_MAX, &first), 0);
	destroy(&ca, p);
	destroy(&ca, s);
}

static void wait_any_parked(void **state)
{
	uint32_t a, b;
	pending_syncobj(&ca, &a);
	uint32_t vb = pending_syncobj(&ca, &b);
	uint32_t h[2] = {a, b};
	uint32_t first;
	struct later l;
	/* The shared timeline signals everything up to vb, so a goes too: the lowest index is reported. */
	later_start(&l, 20, later_sw_signal, (void *)(uintptr_t)vb);
	assert_int_equal(wait_(&ca, h, 2, 0, now_ns() + 5000 * MS, &first), 0);
	later_join(&l);
	assert_int_equal(first, 0);
	destroy(&ca, a);
	destroy(&ca, b);

	/* All, with none signalled when it began: the kernel reports ~0 as the first. */
	pending_syncobj(&ca, &a);
	vb = pending_syncobj(&ca, &b);
	h[0] = a;
	h[1] = b;
	later_start(&l, 20, later_sw_signal, (void *)(uintptr_t)vb);
	assert_int_equal(wait_(&ca, h, 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, now_ns() + 5000 * MS, &first), 0);
	later_join(&l);
	assert_int_equal(first, ~0u);
	destroy(&ca, a);
	destroy(&ca, b);
}

static void timeouts_are_precise(void **state)
{
	/*
	 * Never early, and on time: the best of a few tries is within 3 ms of the
	 * deadline (the others only show how busy the machine is: bounded loosely).
	 */
	uint32_t p;
	pending_syncobj(&ca, &p);
	uint32_t e = create(&ca, 0);
	int64_t best = INT64_MAX;
	for (int i = 0; i < 6; i++) {
		int64_t deadline = now_ns() + (15 + 10 * i) * MS;
		/* Half of them wait for a submission that never comes: they time out the same way. */
		if (i & 1)
			assert_int_equal(wait_(&ca, &e, 1, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, deadline, NULL), -ETIME);
		else
			assert_int_equal(wait_(&ca, &p, 1, 0, deadline, NULL), -ETIME);
		int64_t late = now_ns() - deadline;
		assert_true(late >= 0);
		assert_true(late < 200 * MS);
		if (late < best)
			best = late;
	}
	assert_true(best < 3 * MS);
	assert_int_equal(wait_(&ca, &e, 1, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, 0, NULL), -ETIME);
	destroy(&ca, e);
	destroy(&ca, p);
}

struct submit_arg {
	uint32_t handle; /* in client cb */
	uint32_t sw_value;
	bool pending;    /* submit a pending fence instead of signalling */
};

static void later_submit(void *p)
{
	struct submit_arg *a = p;
	if (a->pending) {
		int fd = sw_fence_fd(a->sw_value);
		assert_int_equal(from_fd(&cb, fd, DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, &a->handle), 0);
		close(fd);
	} else {
		assert_int_equal(array_op(&cb, DRM_IOCTL_SYNCOBJ_SIGNAL, &a->handle, 1), 0);
	}
}

static void wait_for_submit_from_another_client(void **state)
{
	/* One syncobj shared by two files through an opaque fd. */
	uint32_t ha = create(&ca, 0), hb = 0;
	int fd;
	assert_int_equal(to_fd(&ca, ha, 0, &fd), 0);
	assert_int_equal(from_fd(&cb, fd, 0, &hb), 0);
	close(fd);

	struct later l;
	struct submit_arg sa = {.handle = hb};
	int64_t t0 = now_ns();
	later_start(&l, 30, later_submit, &sa);
	uint32_t first;
	assert_int_equal(wait_(&ca, &ha, 1, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, now_ns() + 5000 * MS, &first), 0);
	assert_true(now_ns() - t0 >= 25 * MS);
	later_join(&l);
	assert_int_equal(first, 0);

	/* Submitted but pending: the wait goes on until that fence signals. */
	assert_int_equal(array_op(&ca, DRM_IOCTL_SYNCOBJ_RESET, &ha, 1), 0);
	uint32_t v = ++sw_next;
	sa = (struct submit_arg){.handle = hb, .pending = true, .sw_value = v};
	later_start(&l, 20, later_submit, &sa);
	assert_int_equal(wait_(&ca, &ha, 1, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, now_ns() + 60 * MS, &first), -ETIME);
	later_join(&l);
	later_start(&l, 20, later_sw_signal, (void *)(uintptr_t)v);
	assert_int_equal(wait_(&ca, &ha, 1, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, now_ns() + 5000 * MS, &first), 0);
	later_join(&l);
	destroy(&ca, ha);
	destroy(&cb, hb);
}

static void reset_and_signal(void **state)
{
	uint32_t h[2] = {create(&ca, 0), create(&ca, 0)};
	uint32_t first;
	assert_int_equal(array_op(&ca, DRM_IOCTL_SYNCOBJ_SIGNAL, h, 2), 0);
	assert_int_equal(wait_(&ca, h, 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, 0, &first), 0);
	assert_int_equal(array_op(&ca, DRM_IOCTL_SYNCOBJ_RESET, h, 1), 0);
	assert_int_equal(wait_(&ca, h, 1, 0, 0, &first), -EINVAL);
	assert_int_equal(wait_(&ca, &h[1], 1, 0, 0, &first), 0);
	assert_int_equal(array_op(&ca, DRM_IOCTL_SYNCOBJ_RESET, h, 0), -EINVAL);
	assert_int_equal(array_op(&ca, DRM_IOCTL_SYNCOBJ_SIGNAL, h, 0), -EINVAL);
	struct drm_syncobj_array a = {.handles = (uintptr_t)h, .count_handles = 1, .pad = 1};
	assert_int_equal(fence_ioctl(&ca, DRM_IOCTL_SYNCOBJ_SIGNAL, &a), -EINVAL);
	/* One bad handle: nothing is done. */
	uint32_t mixed[2] = {h[0], 999};
	assert_int_equal(array_op(&ca, DRM_IOCTL_SYNCOBJ_SIGNAL, mixed, 2), -ENOENT);
	assert_int_equal(wait_(&ca, h, 1, 0, 0, &first), -EINVAL);
	destroy(&ca, h[0]);
	destroy(&ca, h[1]);
}

static void later_tsignal(void *p)
{
	uint32_t *hp = p;
	uint64_t pt = 3;
	assert_int_equal(tarray_op(&cb, DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &hp[1], &pt, 1, 0), 0);
}

static void timeline_points_query_and_available(void **state)
{
	uint32_t h = create(&ca, 0), hb = 0;
	int fd;
	assert_int_equal(to_fd(&ca, h, 0, &fd), 0);
	assert_int_equal(from_fd(&cb, fd, 0, &hb), 0);
	close(fd);
	assert_int_equal(query(&ca, h, 0), 0);
	uint64_t pts[2] = {1, 2};
	uint32_t hh[2] = {h, h};
	assert_int_equal(tarray_op(&ca, DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, hh, pts, 2, 0), 0);
	assert_int_equal(query(&ca, h, 0), 2);
	assert_int_equal(query(&ca, h, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED), 2);
	uint32_t first;
	uint64_t p = 2;
	assert_int_equal(twait(&ca, &h, &p, 1, 0, 0, &first), 0);
	p = 3; /* not submitted yet */
	assert_int_equal(twait(&ca, &h, &p, 1, 0, 0, &first), -EINVAL);
	assert_int_equal(twait(&ca, &h, &p, 1, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE, 0, &first), -ETIME);
	/* Waiting for point 3 to appear; another client signals it. */
	uint32_t both[2] = {h, hb};
	struct later l;
	later_start(&l, 20, later_tsignal, both);
	assert_int_equal(twait(&ca, &h, &p, 1, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, now_ns() + 5000 * MS, &first), 0);
	later_join(&l);
	assert_int_equal(query(&ca, h, 0), 3);

	/* Point 4 submitted but pending (a transfer of a pending fence): available, not signalled. */
	uint32_t pend;
	uint32_t v = pending_syncobj(&ca, &pend);
	assert_int_equal(transfer(&ca, pend, 0, h, 4, 0), 0);
	p = 4;
	assert_int_equal(twait(&ca, &h, &p, 1, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE, 0, &first), 0);
	assert_int_equal(twait(&ca, &h, &p, 1, 0, 0, &first), -ETIME);
	uint64_t p3 = 3;
	assert_int_equal(twait(&ca, &h, &p3, 1, 0, 0, &first), 0); /* earlier points are done */
	assert_int_equal(query(&ca, h, 0), 3);
	assert_int_equal(query(&ca, h, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED), 4);
	/* A later point on top of the pending one waits for it too. */
	uint64_t p5 = 5;
	assert_int_equal(tarray_op(&ca, DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &h, &p5, 1, 0), 0);
	assert_int_equal(twait(&ca, &h, &p5, 1, 0, 0, &first), -ETIME);
	assert_int_equal(query(&ca, h, 0), 3);
	sw_signal_to(v);
	assert_int_equal(twait(&ca, &h, &p5, 1, 0, 0, &first), 0);
	assert_int_equal(query(&ca, h, 0), 5);
	/* Binary wait on a timeline: the newest point. */
	assert_int_equal(wait_(&ca, &h, 1, 0, 0, &first), 0);

	/* Points going backwards are accepted (the kernel only logs them). */
	uint64_t back = 2;
	assert_int_equal(tarray_op(&ca, DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &h, &back, 1, 0), 0);
	assert_int_equal(query(&ca, h, 0), 5);
	assert_int_equal(query(&ca, h, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED), 5);

	/* Bad input. */
	uint64_t q;
	assert_int_equal(tarray_op(&ca, DRM_IOCTL_SYNCOBJ_QUERY, &h, &q, 1, 2), -EINVAL);
	assert_int_equal(tarray_op(&ca, DRM_IOCTL_SYNCOBJ_QUERY, &h, &q, 0, 0), -EINVAL);
	assert_int_equal(tarray_op(&ca, DRM_IOCTL_SYNCOBJ_QUERY, &h, NULL, 1, 0), -EFAULT);
	uint32_t nobody = 4242;
	assert_int_equal(tarray_op(&ca, DRM_IOCTL_SYNCOBJ_QUERY, &nobody, &q, 1, 0), -ENOENT);
	assert_int_equal(tarray_op(&ca, DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &h, &q, 1, 1), -EINVAL);
	assert_int_equal(tarray_op(&ca, DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &h, &q, 0, 0), -EINVAL);
	assert_int_equal(twait(&ca, &h, &p, 0, 0, 0, &first), -EINVAL);
	assert_int_equal(twait(&ca, &h, &p, 1, 1u << 5, 0, &first), -EINVAL);
	/* A NULL points array means point 0 everywhere. */
	assert_int_equal(twait(&ca, &h, NULL, 1, 0, 0, &first), 0);
	destroy(&ca, pend);
	destroy(&ca, h);
	destroy(&cb, hb);
}

static void later_tsignal_src(void *p)
{
	uint32_t h = *(uint32_t *)p;
	uint64_t pt = 7;
	assert_int_equal(tarray_op(&cb, DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &h, &pt, 1, 0), 0);
}

static void transfer_both_ways(void **state)
{
	uint32_t bin = create(&ca, 0), tl = create(&ca, 0), bin2 = create(&ca, 0);
	uint32_t first;
	/* Errors in the kernel's order. */
	struct drm_syncobj_transfer t = {.src_handle = bin, .dst_handle = tl, .dst_point = 1, .pad = 1};
	assert_int_equal(fence_ioctl(&ca, DRM_IOCTL_SYNCOBJ_TRANSFER, &t), -EINVAL);
	assert_int_equal(transfer(&ca, bin, 0, 777, 1, 0), -ENOENT);
	assert_int_equal(transfer(&ca, bin, 0, tl, 1, 1u << 0), -EINVAL); /* only WAIT_FOR_SUBMIT allowed */
	assert_int_equal(transfer(&ca, 777, 0, tl, 1, 0), -ENOENT);
	assert_int_equal(transfer(&ca, bin, 0, tl, 1, 0), -EINVAL);       /* no fence to transfer */

	/* binary → timeline point 1 (pending), then timeline → binary. */
	uint32_t pend;
	uint32_t v = pending_syncobj(&ca, &pend);
	assert_int_equal(transfer(&ca, pend, 0, tl, 1, 0), 0);
	assert_int_equal(query(&ca, tl, DRM_SYNCOBJ_QUERY_FLAGS_LAST_SUBMITTED), 1);
	assert_int_equal(query(&ca, tl, 0), 0);
	assert_int_equal(transfer(&ca, tl, 1, bin2, 0, 0), 0);
	assert_int_equal(wait_(&ca, &bin2, 1, 0, 0, &first), -ETIME);
	assert_int_equal(transfer(&ca, tl, 2, bin2, 0, 0), -EINVAL); /* point 2 not reached */
	sw_signal_to(v);
	assert_int_equal(wait_(&ca, &bin2, 1, 0, 0, &first), 0);
	assert_int_equal(query(&ca, tl, 0), 1);
	/* A signalled binary into a timeline point. */
	assert_int_equal(array_op(&ca, DRM_IOCTL_SYNCOBJ_SIGNAL, &bin, 1), 0);
	assert_int_equal(transfer(&ca, bin, 0, tl, 3, 0), 0);
	assert_int_equal(query(&ca, tl, 0), 3);

	/* WAIT_FOR_SUBMIT: the transfer waits for its source point to be submitted. */
	uint32_t src = create(&ca, 0), src_b = 0;
	int fd;
	assert_int_equal(to_fd(&ca, src, 0, &fd), 0);
	assert_int_equal(from_fd(&cb, fd, 0, &src_b), 0);
	close(fd);
	assert_int_equal(array_op(&ca, DRM_IOCTL_SYNCOBJ_RESET, &bin2, 1), 0);
	struct later l;
	int64_t t0 = now_ns();
	later_start(&l, 20, later_tsignal_src, &src_b);
	assert_int_equal(transfer(&ca, src, 7, bin2, 0, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT), 0);
	assert_true(now_ns() - t0 >= 15 * MS);
	later_join(&l);
	assert_int_equal(wait_(&ca, &bin2, 1, 0, 0, &first), 0);
	destroy(&cb, src_b);

	destroy(&ca, bin);
	destroy(&ca, bin2);
	destroy(&ca, tl);
	destroy(&ca, pend);
	destroy(&ca, src);
}

static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static void fds_export_import(void **state)
{
	uint32_t h = create(&ca, 0), hb = 0, hb2 = 0;
	int fd, sf;
	struct drm_syncobj_handle a = {.handle = h, .pad = 1};
	assert_int_equal(fence_ioctl(&ca, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &a), -EINVAL);
	assert_int_equal(to_fd(&ca, h, 2, &fd), -EINVAL);
	assert_int_equal(to_fd(&ca, 555, 0, &fd), -EINVAL);  /* an unknown handle is -EINVAL here */
	assert_int_equal(to_fd(&ca, h, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE, &sf), -EINVAL); /* no fence */
	assert_int_equal(to_fd(&ca, 555, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE, &sf), -ENOENT);
	assert_int_equal(to_fd(&ca, h, 0, &fd), 0);
	/* Each import is a new handle on the same object. */
	assert_int_equal(from_fd(&cb, fd, 0, &hb), 0);
	assert_int_equal(from_fd(&cb, fd, 0, &hb2), 0);
	assert_int_not_equal(hb, hb2);
	assert_int_equal(array_op(&cb, DRM_IOCTL_SYNCOBJ_SIGNAL, &hb2, 1), 0);
	uint32_t first;
	assert_int_equal(wait_(&ca, &h, 1, 0, 0, &first), 0);
	/* The object outlives the exporter's handle while an fd or import holds it. */
	assert_int_equal(destroy(&ca, h), 0);
	assert_int_equal(wait_(&cb, &hb, 1, 0, 0, &first), 0);

	/* Sync file: a snapshot of the fence, readable once signalled. */
	assert_int_equal(to_fd(&cb, hb, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE, &sf), 0);
	assert_true(readable(sf));
	uint32_t pend;
	uint32_t v = pending_syncobj(&cb, &pend);
	int psf;
	assert_int_equal(to_fd(&cb, pend, DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE, &psf), 0);
	assert_false(readable(psf));
	assert_int_equal(array_op(&cb, DRM_IOCTL_SYNCOBJ_RESET, &pend, 1), 0); /* does not touch the file */
	uint32_t imp = create(&ca, DRM_SYNCOBJ_CREATE_SIGNALED);
	assert_int_equal(from_fd(&ca, psf, DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, &imp), 0);
	assert_int_equal(wait_(&ca, &imp, 1, 0, 0, &first), -ETIME);
	sw_signal_to(v);
	struct pollfd pp = {.fd = psf, .events = POLLIN};
	assert_int_equal(poll(&pp, 1, 1000), 1);
	assert_int_equal(wait_(&ca, &imp, 1, 0, 0, &first), 0);

	/* Wrong kinds, closed and foreign fds. */
	uint32_t x = imp;
	assert_int_equal(from_fd(&ca, sf, 0, &x), -EINVAL);       /* a sync_file is no syncobj fd */
	assert_int_equal(from_fd(&ca, fd, DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, &x), -EINVAL);
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(from_fd(&ca, pipefd[0], 0, &x), -EINVAL);
	assert_int_equal(from_fd(&ca, pipefd[0], DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, &x), -EINVAL);
	assert_int_equal(from_fd(&ca, 987, 0, &x), -EINVAL);      /* closed */
	assert_int_equal(from_fd(&ca, -1, DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, &x), -EINVAL);
	x = 31337;
	assert_int_equal(from_fd(&ca, sf, DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE, &x), -ENOENT);
	struct drm_syncobj_handle b = {.fd = fd, .flags = 2};
	assert_int_equal(fence_ioctl(&ca, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &b), -EINVAL);
	b = (struct drm_syncobj_handle){.fd = fd, .pad = 1};
	assert_int_equal(fence_ioctl(&ca, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &b), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	close(fd);
	close(sf);
	close(psf);
	destroy(&cb, hb);
	destroy(&cb, hb2);
	destroy(&cb, pend);
	destroy(&ca, imp);
}

static int eventfd_reg(struct fence_client *c, uint32_t h, uint64_t point, uint32_t flags, int fd)
{
	struct drm_syncobj_eventfd e = {.handle = h, .point = point, .flags = flags, .fd = fd};
	return fence_ioctl(c, DRM_IOCTL_SYNCOBJ_EVENTFD, &e);
}

static bool eventfd_fired(int efd, int timeout_ms)
{
	struct pollfd p = {.fd = efd, .events = POLLIN};
	if (poll(&p, 1, timeout_ms) != 1)
		return false;
	uint64_t v = 0;
	return read(efd, &v, sizeof(v)) == sizeof(v) && v >= 1;
}

static void eventfd_becomes_readable(void **state)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint32_t h = create(&ca, 0);
	/* Bad input first. */
	assert_int_equal(eventfd_reg(&ca, h, 0, 1u << 0, efd), -EINVAL);
	struct drm_syncobj_eventfd e = {.handle = h, .fd = efd, .pad = 1};
	assert_int_equal(fence_ioctl(&ca, DRM_IOCTL_SYNCOBJ_EVENTFD, &e), -EINVAL);
	assert_int_equal(eventfd_reg(&ca, 999, 0, 0, efd), -ENOENT);
	assert_int_equal(eventfd_reg(&ca, h, 0, 0, 777), -EBADF);
	int pipefd[2];
	assert_int_equal(pipe(pipefd), 0);
	assert_int_equal(eventfd_reg(&ca, h, 0, 0, pipefd[1]), -EINVAL);
	close(pipefd[0]);
	close(pipefd[1]);

	/* No fence yet: fires on the signal. */
	assert_int_equal(eventfd_reg(&ca, h, 0, 0, efd), 0);
	assert_false(eventfd_fired(efd, 20));
	assert_int_equal(array_op(&ca, DRM_IOCTL_SYNCOBJ_SIGNAL, &h, 1), 0);
	assert_true(eventfd_fired(efd, 1000));
	/* Already signalled: fires at once. */
	assert_int_equal(eventfd_reg(&ca, h, 0, 0, efd), 0);
	assert_true(eventfd_fired(efd, 1000));

	/* Timeline: WAIT_AVAILABLE fires when the point is submitted, the plain one when it signals. */
	uint32_t tl = create(&ca, 0), pend;
	int efd2 = eventfd(0, EFD_CLOEXEC); /* a blocking one: the daemon must not block on it */
	assert_int_equal(eventfd_reg(&ca, tl, 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_AVAILABLE, efd), 0);
	assert_int_equal(eventfd_reg(&ca, tl, 2, 0, efd2), 0);
	uint32_t v = pending_syncobj(&ca, &pend);
	assert_int_equal(transfer(&ca, pend, 0, tl, 2, 0), 0);
	assert_true(eventfd_fired(efd, 1000));
	assert_false(eventfd_fired(efd2, 20));
	sw_signal_to(v);
	assert_true(eventfd_fired(efd2, 1000));

	/* A registration dies with its syncobj, unsignalled, and leaks nothing. */
	int before = fence_count_fds();
	uint32_t gone = create(&ca, 0);
	assert_int_equal(eventfd_reg(&ca, gone, 0, 0, efd), 0);
	assert_int_equal(destroy(&ca, gone), 0);
	assert_false(eventfd_fired(efd, 20));
	assert_int_equal(fence_count_fds(), before);
	close(efd);
	close(efd2);
	destroy(&ca, h);
	destroy(&ca, tl);
	destroy(&ca, pend);
}

static void cancelled_waits_clean_up(void **state)
{
	/* A parked wait whose caller goes away leaves no callbacks behind. */
	uint32_t p;
	uint32_t v = pending_syncobj(&ca, &p);
	uint32_t e = create(&ca, 0);
	int chan = fence_client_channel(&ca);
	assert_true(chan >= 0);
	uint32_t h[2] = {p, e};
	struct drm_syncobj_wait w = {.handles = (uintptr_t)h, .count_handles = 2,
				     .flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL | DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
				     .timeout_nsec = INT64_MAX};
	assert_int_equal(fence_send(chan, DRM_IOCTL_SYNCOBJ_WAIT, &w, sizeof(w), h, sizeof(h), NULL, 0), 0);
	assert_int_equal(fence_recv(chan, &w, sizeof(w), 30), -ETIMEDOUT);
	/* A transfer waiting for its source point, abandoned the same way. */
	uint32_t dst = create(&ca, 0);
	int chan2 = fence_client_channel(&ca);
	struct drm_syncobj_transfer t = {.src_handle = e, .src_point = 9, .dst_handle = dst,
					 .flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT};
	assert_int_equal(fence_send(chan2, DRM_IOCTL_SYNCOBJ_TRANSFER, &t, sizeof(t), NULL, 0, NULL, 0), 0);
	assert_int_equal(fence_recv(chan2, &t, sizeof(t), 30), -ETIMEDOUT);
	close(chan2);
	close(chan);
	/* Make sure the daemon saw the close before the fence and syncobj move. */
	uint32_t first;
	assert_int_equal(wait_(&ca, &p, 1, 0, 0, &first), -ETIME);
	sw_signal_to(v);
	assert_int_equal(array_op(&ca, DRM_IOCTL_SYNCOBJ_SIGNAL, &e, 1), 0);
	assert_int_equal(wait_(&ca, h, 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, 0, &first), 0);
	uint64_t nine = 9;
	assert_int_equal(tarray_op(&ca, DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, &e, &nine, 1, 0), 0);
	assert_int_equal(wait_(&ca, &dst, 1, 0, 0, &first), -EINVAL); /* the abandoned transfer did nothing */
	destroy(&ca, p);
	destroy(&ca, e);
	destroy(&ca, dst);
}

struct waiter_rec {
	struct drm_syncobj_waiter w;
	int called;
};

static void waiter_fn(struct drm_syncobj_waiter *w)
{
	struct waiter_rec *r = (struct waiter_rec *)w;
	assert_non_null(w->syncobj);
	r->called++;
}

static void driver_api_find_fence(void **state)
{
	/* The CS-facing lookup, directly on a file of a device without a loop. */
	struct drm_device *dev = test_device_create(DRIVER_GEM | DRIVER_RENDER | DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE);
	struct drm_file *f = drm_file_open(&dev->render, 100, 1000);
	struct drm_syncobj *s = drm_syncobj_create(false);
	uint32_t h;
	assert_int_equal(drm_syncobj_get_handle(f, s, &h), 0);
	struct drm_fence *fence = NULL;
	assert_int_equal(drm_syncobj_find_fence(f, h, 0, 1u << 0, &fence, NULL), -EINVAL);
	assert_int_equal(drm_syncobj_find_fence(f, h + 1, 0, 0, &fence, NULL), -ENOENT);
	assert_int_equal(drm_syncobj_find_fence(f, h, 0, 0, &fence, NULL), -EINVAL);
	assert_int_equal(drm_syncobj_find_fence(f, h, 0, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, &fence, NULL), -ETIME);

	struct drm_fence *hw = drm_fence_allocate_signaled();
	assert_int_equal(drm_syncobj_add_point(s, hw, 1), 0);
	drm_fence_put(hw);
	assert_int_equal(drm_syncobj_find_fence(f, h, 1, 0, &fence, NULL), 0);
	assert_true(fence->signaled);
	drm_fence_put(fence);
	assert_int_equal(drm_syncobj_find_fence(f, h, 2, 0, &fence, NULL), -EINVAL);

	/* WAIT_FOR_SUBMIT with a waiter: told once point 2 materialises, not before. */
	struct waiter_rec wr = {.w.func = waiter_fn};
	assert_int_equal(drm_syncobj_find_fence(f, h, 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, &fence, &wr.w), -EAGAIN);
	struct waiter_rec gone = {.w.func = waiter_fn};
	assert_int_equal(drm_syncobj_find_fence(f, h, 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, &fence, &gone.w), -EAGAIN);
	drm_syncobj_remove_waiter(&gone.w);
	drm_syncobj_replace_fence(s, NULL); /* a reset does not make the point exist */
	assert_int_equal(wr.called, 0);
	struct drm_fence *pending = drm_fence_allocate_signaled();
	assert_int_equal(drm_syncobj_add_point(s, pending, 1), 0);
	assert_int_equal(wr.called, 0);
	assert_int_equal(drm_syncobj_add_point(s, pending, 2), 0);
	drm_fence_put(pending);
	assert_int_equal(wr.called, 1);
	assert_int_equal(gone.called, 0);
	assert_int_equal(drm_syncobj_find_fence(f, h, 2, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, &fence, &wr.w), 0);
	drm_fence_put(fence);
	/* A waiter registered directly on a point that exists runs at once. */
	struct waiter_rec now = {.w.func = waiter_fn, .w.point = 1};
	drm_syncobj_add_waiter(s, &now.w);
	assert_int_equal(now.called, 1);
	drm_syncobj_put(s);
	test_device_destroy(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(without_feature),
		cmocka_unit_test(driver_api_find_fence),
		cmocka_unit_test(create_destroy_and_handles_per_file),
		cmocka_unit_test(wait_bad_input),
		cmocka_unit_test(wait_any_all_and_poll),
		cmocka_unit_test(wait_any_parked),
		cmocka_unit_test(timeouts_are_precise),
		cmocka_unit_test(wait_for_submit_from_another_client),
		cmocka_unit_test(reset_and_signal),
		cmocka_unit_test(timeline_points_query_and_available),
		cmocka_unit_test(transfer_both_ways),
		cmocka_unit_test(fds_export_import),
		cmocka_unit_test(eventfd_becomes_readable),
		cmocka_unit_test(cancelled_waits_clean_up),
	};
	return cmocka_run_group_tests(tests, start, stop);
}
