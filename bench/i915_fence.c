/*
 * i915-fence: from the Skylake model's breadcrumb to the waiter woken with its fence signalled.
 * The i915 driver runs in this process on the model, with the daemon's event loop: the engine
 * thread writes the breadcrumb and raises the user interrupt, the loop thread wakes on the
 * interrupt fd, the driver reads the status page and signals the fence, whose callback takes
 * the time. The start is the GPU timestamp the batch writes as its last command (PIPE_CONTROL
 * post-sync timestamp, a few commands before the breadcrumb), put on the CPU clock by reading
 * the engine's TIMESTAMP register between two clock readings.
 *
 * Baseline, same run: an eventfd written by one thread and read by another that was blocked on it.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "bench.h"
#include "i915/i915.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"
#include "redox-drm/gem.h"
#include "redox-drm/hw.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"

#define N 2000
#define BATCH_VA 0x100000ull
#define PIPE_CONTROL 0x7A000004u
#define PC_CS_STALL (1u << 20)
#define PC_TIMESTAMP (3u << 14)
#define MI_BB_END (0x0Au << 23)

/* ---- baseline: an eventfd wake between two threads ---- */

struct efd_pair {
	int go, ack;
	uint64_t woke[N];
};

static void *efd_waiter(void *arg)
{
	struct efd_pair *p = arg;
	for (int i = 0; i < N; i++) {
		uint64_t v;
		if (read(p->go, &v, sizeof(v)) != sizeof(v))
			return NULL;
		p->woke[i] = bench_now_ns();
		v = 1;
		if (write(p->ack, &v, sizeof(v)) != sizeof(v))
			return NULL;
	}
	return NULL;
}

static int eventfd_baseline(double *median)
{
	struct efd_pair *p = calloc(1, sizeof(*p));
	double *d = calloc(N, sizeof(double));
	pthread_t th;
	if (!p || !d)
		return -1;
	p->go = eventfd(0, EFD_CLOEXEC);
	p->ack = eventfd(0, EFD_CLOEXEC);
	if (p->go < 0 || p->ack < 0 || pthread_create(&th, NULL, efd_waiter, p))
		return -1;
	int ok = 1;
	for (int i = 0; i < N && ok; i++) {
		/* Let the waiter block before the write, as the loop thread is blocked in epoll. */
		struct timespec ts = {0, 20000};
		nanosleep(&ts, NULL);
		uint64_t v = 1, t0 = bench_now_ns();
		ok = write(p->go, &v, sizeof(v)) == sizeof(v) && read(p->ack, &v, sizeof(v)) == sizeof(v);
		d[i] = (double)(p->woke[i] - t0);
	}
	pthread_join(th, NULL);
	close(p->go);
	close(p->ack);
	*median = bench_median(d, N);
	free(d);
	free(p);
	return ok ? 0 : -1;
}

/* ---- the i915 path ---- */

struct waiter {
	struct drm_fence_cb cb;
	uint64_t woke_ns;
};

static void fence_cb(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	(void)fence;
	((struct waiter *)cb)->woke_ns = bench_now_ns();
}

/* CPU time of GPU timestamp 0 (ns), from the tightest of many bracketed TIMESTAMP reads. */
static double timestamp_origin(struct hw_device *hw)
{
	double best_origin = 0;
	uint64_t best_window = UINT64_MAX;
	for (int i = 0; i < 200; i++) {
		uint64_t a = bench_now_ns();
		uint32_t hi = hw_read32(hw, I915_BAR_GTTMMADR, RING_TIMESTAMP_UDW(RENDER_RING_BASE));
		uint32_t lo = hw_read32(hw, I915_BAR_GTTMMADR, RING_TIMESTAMP(RENDER_RING_BASE));
		uint64_t b = bench_now_ns();
		if (hw_read32(hw, I915_BAR_GTTMMADR, RING_TIMESTAMP_UDW(RENDER_RING_BASE)) != hi)
			continue;
		uint64_t ticks = (uint64_t)hi << 32 | lo;
		if (b - a < best_window) {
			best_window = b - a;
			best_origin = (double)(a + b) / 2 - (double)ticks * 1e9 / I915_CS_TIMESTAMP_HZ;
		}
	}
	return best_origin;
}

int bench_i915_fence(int argc, char **argv)
{
	(void)argc, (void)argv;
	log_set_level(LOG_ERROR);
	struct event_loop *loop = event_loop_create();
	struct hw_device *hw = loop ? hw_sim_create("i915", 0) : NULL;
	struct drm_device *dev = hw ? drm_dev_create(hw, 0, loop) : NULL;
	struct i915_device *i915 = dev ? dev->dev_private : NULL;
	if (!i915 || !i915->engine[I915_RCS0].ready) {
		fprintf(stderr, "redox-drm-bench: the i915 driver did not come up on the model\n");
		return 1;
	}
	struct i915_address_space *vm = i915_ppgtt_create(i915);
	struct drm_gem_object *obj = drm_gem_object_create(dev, 8192);
	struct i915_lrc *lrc = vm ? i915_lrc_create(i915, I915_RCS0, vm) : NULL;
	if (!obj || !lrc || i915_vm_bind(vm, BATCH_VA, obj, 0, obj->size, 0)) {
		fprintf(stderr, "redox-drm-bench: no PPGTT or context\n");
		return 1;
	}
	uint32_t *b = obj->vaddr;
	uint64_t ts_va = BATCH_VA + 4096;
	b[0] = PIPE_CONTROL;
	b[1] = PC_CS_STALL | PC_TIMESTAMP;
	b[2] = (uint32_t)ts_va;
	b[3] = (uint32_t)(ts_va >> 32);
	b[4] = 0;
	b[5] = 0;
	b[6] = MI_BB_END;
	volatile uint64_t *ts = (uint64_t *)((uint8_t *)obj->vaddr + 4096);

	double origin = timestamp_origin(hw);
	double *lat = calloc(N, sizeof(double));
	int done = 0;
	for (; done < N; done++) {
		struct drm_fence *fence;
		struct waiter w = {.woke_ns = 0};
		*ts = 0;
		if (i915_request_submit(lrc, BATCH_VA, 7 * 4, &fence))
			break;
		if (drm_fence_add_callback(fence, &w.cb, fence_cb) == -ENOENT)
			w.woke_ns = bench_now_ns();
		uint64_t end = bench_now_ns() + 2000000000ull;
		while (!fence->signaled && bench_now_ns() < end)
			event_loop_dispatch(loop, 100);
		bool good = fence->signaled && !fence->error && *ts;
		drm_fence_put(fence);
		if (!good)
			break;
		double written = origin + (double)*ts * 1e9 / I915_CS_TIMESTAMP_HZ;
		lat[done] = (double)w.woke_ns - written;
	}
	uint64_t irqs = i915->engine[I915_RCS0].irqs, fallbacks = i915->engine[I915_RCS0].fallback_signals;
	i915_lrc_destroy(lrc);
	i915_vm_put(vm);
	drm_gem_object_put(obj);
	drm_dev_destroy(dev);
	hw_destroy(hw);
	event_loop_destroy(loop);
	if (done < N) {
		fprintf(stderr, "redox-drm-bench: i915-fence failed after %d requests\n", done);
		return 1;
	}
	double base;
	if (eventfd_baseline(&base) < 0) {
		fprintf(stderr, "redox-drm-bench: eventfd baseline failed\n");
		return 1;
	}
	double m = bench_median(lat, N);
	printf("i915-fence: %d requests on rcs0, median %.0f ns from the batch's GPU timestamp (just before the "
	       "breadcrumb) to the fence callback in the woken event loop (%llu interrupts, %llu fallback signals)\n",
	       N, m, (unsigned long long)irqs, (unsigned long long)fallbacks);
	printf("eventfd wake between two threads: median %.0f ns\n", base);
	printf("ratio=%.3f\n", m / base);
	free(lat);
	return 0;
}
