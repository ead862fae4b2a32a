/* sync_file and syncobj fds (fence/fdobj.c) and sw_sync timelines, on a loop run by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fence_harness.h"
#include "redox-drm/fence.h"
#include "redox-drm/loop.h"
#include "redox-drm/sw_sync.h"
#include "redox-drm/sync_file.h"
#include "redox-drm/syncobj.h"

static struct event_loop *loop;
static unsigned base_count;

static int setup(void **state)
{
	loop = event_loop_create();
	base_count = drm_fdobj_count();
	return loop ? 0 : -1;
}

static int teardown(void **state)
{
	drm_fdobj_loop_fini(loop);
	event_loop_destroy(loop);
	assert_int_equal(drm_fdobj_count(), base_count);
	return 0;
}

static bool readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Lets the loop see hang-ups. */
static void spin(void)
{
	for (int i = 0; i < 5; i++)
		event_loop_dispatch(loop, 1);
}

static void sync_file_poll_and_lifetime(void **state)
{
	struct drm_sw_sync_timeline *tl = drm_sw_sync_timeline_create(loop, "poll");
	struct drm_fence *f = drm_sw_sync_fence_create(tl, 1);
	int fd = drm_sync_file_create(loop, f);
	assert_true(fd >= 0);
	assert_int_equal(drm_fdobj_count(), base_count + 1);
	assert_int_equal(f->refcount, 2);
	assert_false(readable(fd));
	struct drm_fence *g = drm_sync_file_get_fence(fd);
	assert_ptr_equal(g, f);
	drm_fence_put(g);
	drm_sw_sync_inc(tl, 1);
	assert_true(readable(fd));
	/* A copy keeps it alive; the last close frees it and its reference. */
	int dup_fd = dup(fd);
	close(fd);
	spin();
	assert_int_equal(drm_fdobj_count(), base_count + 1);
	g = drm_sync_file_get_fence(dup_fd);
	assert_ptr_equal(g, f);
	drm_fence_put(g);
	close(dup_fd);
	spin();
	assert_int_equal(drm_fdobj_count(), base_count);
	assert_int_equal(f->refcount, 1);
	drm_fence_put(f);
	drm_sw_sync_timeline_destroy(tl);

	/* Already signalled at creation: readable at once. */
	struct drm_fence *s = drm_fence_allocate_signaled();
	fd = drm_sync_file_create(loop, s);
	drm_fence_put(s);
	assert_true(readable(fd));
	close(fd);
	assert_int_equal(drm_sync_file_create(loop, NULL), -EINVAL);
}

static void foreign_and_wrong_fds(void **state)
{
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_null(drm_sync_file_get_fence(p[0]));
	assert_null(drm_sync_file_get_fence(-1));
	assert_null(drm_sync_file_get_fence(999));
	assert_null(drm_syncobj_fd_get(p[0]));
	/* A socket that is not one of ours. */
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_null(drm_sync_file_get_fence(sv[1]));
	struct drm_syncobj *so = drm_syncobj_create(true);
	int sofd = drm_syncobj_fd_create(loop, so);
	assert_true(sofd >= 0);
	struct drm_fence *st = drm_fence_get_stub();
	int sf = drm_sync_file_create(loop, st);
	/* Each kind is only itself. */
	assert_null(drm_sync_file_get_fence(sofd));
	assert_null(drm_syncobj_fd_get(sf));
	struct drm_syncobj *got = drm_syncobj_fd_get(sofd);
	assert_ptr_equal(got, so);
	drm_syncobj_put(got);
	drm_syncobj_put(so); /* the fd still holds it */
	struct drm_fence *ff = drm_sync_file_get_fence(sf);
	assert_true(ff->signaled);
	drm_fence_put(ff);
	int out;
	assert_int_equal(drm_sync_file_merge(-1, sf, "x", &out), -EBADF);
	assert_int_equal(drm_sync_file_merge(p[0], sf, "x", &out), -ENOTTY);
	assert_int_equal(drm_sync_file_merge(sofd, sf, "x", &out), -ENOTTY);
	assert_int_equal(drm_sync_file_merge(sf, p[0], "x", &out), -ENOENT);
	assert_int_equal(drm_sync_file_merge(sf, -1, "x", &out), -ENOENT);
	struct sync_file_info info = {0};
	assert_int_equal(drm_sync_file_info(p[0], &info, NULL, 0), -ENOTTY);
	assert_int_equal(drm_sync_file_info(-1, &info, NULL, 0), -EBADF);
	close(p[0]);
	close(p[1]);
	close(sv[0]);
	close(sv[1]);
	close(sofd);
	close(sf);
	spin();
}

static void merge_and_info(void **state)
{
	struct drm_sw_sync_timeline *a = drm_sw_sync_timeline_create(loop, "tla");
	struct drm_sw_sync_timeline *b = drm_sw_sync_timeline_create(loop, "tlb");
	int fa1, fa2, fb;
	assert_int_equal(drm_sw_sync_create_fence(a, 1, &fa1), 0);
	assert_int_equal(drm_sw_sync_create_fence(a, 2, &fa2), 0);
	assert_int_equal(drm_sw_sync_create_fence(b, 5, &fb), 0);

	/* Info of a single fence: the derived name, one pending fence. */
	struct sync_file_info info = {0};
	assert_int_equal(drm_sync_file_info(fa1, &info, NULL, 0), 0);
	assert_int_equal(info.num_fences, 1);
	assert_int_equal(info.status, 0);
	struct drm_fence *f1 = drm_sync_file_get_fence(fa1);
	char want[64];
	snprintf(want, sizeof(want), "sw_sync-tla%llu-1", (unsigned long long)f1->context);
	assert_string_equal(info.name, want);
	drm_fence_put(f1);

	/* Merge keeps the later fence per context: {a:2, b:5}. */
	int m1, m2;
	assert_int_equal(drm_sync_file_merge(fa1, fa2, "first", &m1), 0);
	assert_int_equal(drm_sync_file_merge(m1, fb, "a name longer than thirty-two characters", &m2), 0);
	struct sync_fence_info fi[4];
	info = (struct sync_file_info){0};
	assert_int_equal(drm_sync_file_info(m2, &info, NULL, 0), 0);
	assert_int_equal(info.num_fences, 2);
	assert_string_equal(info.name, "a name longer than thirty-two c");
	info = (struct sync_file_info){.num_fences = 1};
	assert_int_equal(drm_sync_file_info(m2, &info, fi, 4), -EINVAL); /* too small */
	info = (struct sync_file_info){.num_fences = 4, .flags = 1};
	assert_int_equal(drm_sync_file_info(m2, &info, fi, 4), -EINVAL);
	info = (struct sync_file_info){.num_fences = 4, .pad = 1};
	assert_int_equal(drm_sync_file_info(m2, &info, fi, 4), -EINVAL);
	info = (struct sync_file_info){.num_fences = 4};
	assert_int_equal(drm_sync_file_info(m2, &info, fi, 4), 0);
	assert_int_equal(info.num_fences, 2);
	assert_int_equal(info.status, 0);
	assert_string_equal(fi[0].driver_name, "sw_sync");
	assert_string_equal(fi[0].obj_name, "tla");
	assert_string_equal(fi[1].obj_name, "tlb");
	assert_int_equal(fi[0].status, 0);
	assert_int_equal(fi[0].timestamp_ns, 0);

	drm_sw_sync_inc(a, 2);
	assert_true(readable(fa2));
	assert_false(readable(m2));
	info = (struct sync_file_info){.num_fences = 4};
	assert_int_equal(drm_sync_file_info(m2, &info, fi, 4), 0);
	assert_int_equal(fi[0].status, 1);
	assert_true(fi[0].timestamp_ns > 0);
	assert_int_equal(info.status, 0);

	/* The other timeline closes: its pending fence fails with -ENOENT, and so does the file. */
	drm_sw_sync_timeline_destroy(b);
	assert_true(readable(m2));
	info = (struct sync_file_info){.num_fences = 4};
	assert_int_equal(drm_sync_file_info(m2, &info, fi, 4), 0);
	assert_int_equal(fi[1].status, -ENOENT);
	assert_int_equal(info.status, -ENOENT);
	info = (struct sync_file_info){0};
	assert_int_equal(drm_sync_file_info(m2, &info, NULL, 0), 0);
	assert_int_equal(info.status, -ENOENT);

	/* Merging what has all signalled: one signalled fence. */
	int m3;
	assert_int_equal(drm_sync_file_merge(fa1, fa2, "done", &m3), 0);
	assert_true(readable(m3));
	info = (struct sync_file_info){0};
	assert_int_equal(drm_sync_file_info(m3, &info, NULL, 0), 0);
	assert_int_equal(info.num_fences, 1);
	assert_int_equal(info.status, 1);
	int fds[] = {fa1, fa2, fb, m1, m2, m3};
	for (unsigned i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		close(fds[i]);
	spin();
	drm_sw_sync_timeline_destroy(a);
}

struct order_rec {
	struct drm_fence_cb cb;
	int *log, *n, id;
};

static void order_cb(struct drm_fence *f, struct drm_fence_cb *cb)
{
	struct order_rec *r = (struct order_rec *)cb;
	r->log[(*r->n)++] = r->id;
}

static void sw_sync_ordering(void **state)
{
	struct drm_sw_sync_timeline *tl = drm_sw_sync_timeline_create(loop, "order");
	int log[8], n = 0;
	uint32_t values[4] = {3, 1, 2, 10};
	struct drm_fence *f[4];
	struct order_rec r[4];
	for (int i = 0; i < 4; i++) {
		f[i] = drm_sw_sync_fence_create(tl, values[i]);
		r[i] = (struct order_rec){.log = log, .n = &n, .id = (int)values[i]};
		assert_int_equal(drm_fence_add_callback(f[i], &r[i].cb, order_cb), 0);
	}
	/* One pending fence per value. */
	struct drm_fence *again = drm_sw_sync_fence_create(tl, 2);
	assert_ptr_equal(again, f[2]);
	drm_fence_put(again);
	drm_sw_sync_inc(tl, 1);
	assert_int_equal(n, 1);
	assert_int_equal(log[0], 1);
	drm_sw_sync_inc(tl, 5);
	assert_int_equal(n, 3);
	assert_int_equal(log[1], 2);
	assert_int_equal(log[2], 3);
	assert_int_equal(drm_sw_sync_timeline_value(tl), 6);
	/* A value already passed signals at once. */
	struct drm_fence *old = drm_sw_sync_fence_create(tl, 4);
	assert_true(old->signaled);
	drm_fence_put(old);
	/* Through the ioctl entry points. */
	struct sw_sync_create_fence_data d = {.value = 7};
	assert_int_equal(drm_sw_sync_ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &d), 0);
	assert_false(readable(d.fence));
	uint32_t one = 1;
	assert_int_equal(drm_sw_sync_ioctl(tl, SW_SYNC_IOC_INC, &one), 0);
	assert_true(readable(d.fence));
	assert_int_equal(drm_sw_sync_ioctl(tl, _IO('W', 9), &one), -ENOTTY);
	close(d.fence);
	spin();
	/* Closing the timeline fails what is still pending. */
	drm_sw_sync_timeline_destroy(tl);
	assert_true(f[3]->signaled);
	assert_int_equal(f[3]->error, -ENOENT);
	assert_int_equal(log[3], 10);
	for (int i = 0; i < 4; i++)
		drm_fence_put(f[i]);
}

static void sw_sync_wraps_around(void **state)
{
	struct drm_sw_sync_timeline *tl = drm_sw_sync_timeline_create(loop, "wrap");
	drm_sw_sync_inc(tl, UINT32_MAX - 1); /* steps of INT_MAX: the value lands exactly */
	assert_int_equal(drm_sw_sync_timeline_value(tl), UINT32_MAX - 1);
	struct drm_fence *a = drm_sw_sync_fence_create(tl, UINT32_MAX);
	struct drm_fence *b = drm_sw_sync_fence_create(tl, 1); /* after the wrap: later */
	assert_false(a->signaled || b->signaled);
	drm_sw_sync_inc(tl, 1);
	assert_true(a->signaled);
	assert_false(b->signaled);
	drm_sw_sync_inc(tl, 2);
	assert_true(b->signaled);
	drm_fence_put(a);
	drm_fence_put(b);
	drm_sw_sync_timeline_destroy(tl);
}

static void loop_fini_drops_everything(void **state)
{
	struct event_loop *other = event_loop_create();
	struct drm_fence *f = drm_fence_allocate_signaled();
	int fd = drm_sync_file_create(other, f);
	assert_true(fd >= 0);
	assert_int_equal(f->refcount, 2);
	drm_fdobj_loop_fini(other);
	assert_int_equal(f->refcount, 1);
	assert_null(drm_sync_file_get_fence(fd));
	close(fd);
	drm_fence_put(f);
	event_loop_destroy(other);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sync_file_poll_and_lifetime),
		cmocka_unit_test(foreign_and_wrong_fds),
		cmocka_unit_test(merge_and_info),
		cmocka_unit_test(sw_sync_ordering),
		cmocka_unit_test(sw_sync_wraps_around),
		cmocka_unit_test(loop_fini_drops_everything),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
