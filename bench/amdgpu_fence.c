/*
 * amdgpu-fence: a fence-only job submitted through the driver's ring
 * interface (amdgpu_ring_alloc, amdgpu_fence_emit, amdgpu_ring_commit) on the
 * Vega10 model, in this process as in the daemon: the engine thread writes
 * the seqno and raises the interrupt, the event loop wakes on the device's
 * interrupt fd, the IH handler signals the fence and its waiter's callback
 * runs. Timed from the engine's fence write (the timestamp of its IH entry,
 * which the model stamps as it posts it right after the write) and from the
 * submit to the callback, against the same loop woken by an eventfd another
 * thread writes, measured in the same run.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <amdgpu_drm.h>

#include "amdgpu/amdgpu.h"
#include "bench.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"
#include "redox-drm/hw.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"

#define N 2000
#define CHUNK 200 /* samples of one kind in a row; the kinds alternate */

struct wake {
	struct drm_fence_cb cb;
	struct amdgpu_device *adev;
	uint64_t at;
	uint64_t since_write; /* ns from the engine's fence write (its IH entry's timestamp) */
};

#define GPU_TICK_NS 40u /* the model's IH timestamps count its 25 MHz reference clock */
#define TICK_MASK 0xFFFFFFFFFFFFull

/* Runs inside the IH handler, which has just stepped RPTR past the fence's entry. */
static void fence_woken(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	struct wake *w = (struct wake *)cb;
	w->at = bench_now_ns();
	struct amdgpu_ih *ih = &w->adev->ih;
	const uint32_t *e = (const uint32_t *)((uint8_t *)ih->ring.cpu +
					       ((ih->rptr - AMDGPU_IH_ENTRY_SIZE) & (AMDGPU_IH_RING_SIZE - 1)));
	uint64_t stamp = e[1] | (uint64_t)(e[2] & 0xFFFFu) << 32;
	w->since_write = ((w->at / GPU_TICK_NS - stamp) & TICK_MASK) * GPU_TICK_NS;
}

/* One fence-only job per sample, each waited for before the next. */
static int fence_samples(struct event_loop *loop, struct amdgpu_ring *ring, double *out, double *from_write, int n)
{
	for (int i = 0; i < n; i++) {
		struct wake w = {.adev = ring->adev};
		struct drm_fence *fence = NULL;
		uint64_t t0 = bench_now_ns();
		int ret = amdgpu_ring_alloc(ring, ring->funcs->emit_fence_size);
		if (!ret)
			ret = amdgpu_fence_emit(ring, &fence);
		if (ret) {
			fprintf(stderr, "redox-drm-bench: amdgpu-fence: submit on %s: %s\n", ring->name, strerror(-ret));
			return -1;
		}
		amdgpu_ring_commit(ring);
		if (drm_fence_add_callback(fence, &w.cb, fence_woken) == 0) {
			uint64_t end = t0 + 2000000000ull;
			while (!w.at && bench_now_ns() < end)
				event_loop_dispatch(loop, 100);
		}
		bool ok = w.at && fence->error == 0; /* signalled by its interrupt, not before it was waited for */
		drm_fence_put(fence);
		if (!ok) {
			fprintf(stderr, "redox-drm-bench: amdgpu-fence: %s fence %d not signalled\n", ring->name, i);
			return -1;
		}
		out[i] = (double)(w.at - t0);
		from_write[i] = (double)w.since_write;
	}
	return 0;
}

/* The baseline: the same loop woken through an eventfd by another thread. */
struct poker {
	int efd, go, n;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	uint64_t t0;
	int round, done;
};

static void *poke_thread(void *arg)
{
	struct poker *p = arg;
	pthread_mutex_lock(&p->lock);
	for (int r = 1; r <= p->n; r++) {
		while (p->go < r)
			pthread_cond_wait(&p->cond, &p->lock);
		p->t0 = bench_now_ns();
		uint64_t one = 1;
		if (write(p->efd, &one, sizeof(one)) != sizeof(one))
			break;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct eventfd_wake {
	int efd;
	uint64_t at;
};

static void eventfd_woken(void *data, uint32_t events)
{
	struct eventfd_wake *w = data;
	uint64_t v;
	if (read(w->efd, &v, sizeof(v)) == sizeof(v))
		w->at = bench_now_ns();
}

static int baseline_samples(struct event_loop *loop, double *out, int n)
{
	struct poker p = {.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), .n = n};
	if (p.efd < 0)
		return -1;
	pthread_mutex_init(&p.lock, NULL);
	pthread_cond_init(&p.cond, NULL);
	struct eventfd_wake w = {.efd = p.efd};
	struct event_source *src = event_loop_add_fd(loop, p.efd, EPOLLIN, eventfd_woken, &w);
	pthread_t th;
	int ret = src ? pthread_create(&th, NULL, poke_thread, &p) : -1;
	if (ret) {
		event_source_remove(src);
		close(p.efd);
		return -1;
	}
	for (int i = 0; i < n && !ret; i++) {
		w.at = 0;
		pthread_mutex_lock(&p.lock);
		p.go = i + 1;
		pthread_cond_signal(&p.cond);
		pthread_mutex_unlock(&p.lock);
		uint64_t end = bench_now_ns() + 2000000000ull;
		while (!w.at && bench_now_ns() < end)
			event_loop_dispatch(loop, 100);
		pthread_mutex_lock(&p.lock);
		uint64_t t0 = p.t0;
		pthread_mutex_unlock(&p.lock);
		if (!w.at)
			ret = -1;
		else
			out[i] = (double)(w.at - t0);
	}
	pthread_join(th, NULL);
	event_source_remove(src);
	close(p.efd);
	pthread_cond_destroy(&p.cond);
	pthread_mutex_destroy(&p.lock);
	return ret;
}

int bench_amdgpu_fence(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	struct event_loop *loop = event_loop_create();
	struct hw_device *hw = loop ? hw_sim_create("amdgpu", 0) : NULL;
	struct drm_device *dev = hw ? drm_dev_create(hw, 0, loop) : NULL;
	if (!dev) {
		fprintf(stderr, "redox-drm-bench: amdgpu-fence: no device\n");
		return 1;
	}
	struct amdgpu_device *adev = dev->dev_private;
	struct amdgpu_ring *gfx = amdgpu_ring_lookup(adev, AMDGPU_HW_IP_GFX, 0);
	struct amdgpu_ring *sdma = amdgpu_ring_lookup(adev, AMDGPU_HW_IP_DMA, 0);
	double *g = calloc(N, sizeof(double)), *s = calloc(N, sizeof(double)), *b = calloc(N, sizeof(double));
	double *gw = calloc(N, sizeof(double)), *sw = calloc(N, sizeof(double));
	int rc = 1;
	if (!gfx || !sdma || !g || !s || !b || !gw || !sw) {
		fprintf(stderr, "redox-drm-bench: amdgpu-fence: rings not up\n");
		goto out;
	}
	/* In alternating chunks, so drift in the machine's load hits every side alike. */
	for (int i = 0; i < N; i += CHUNK)
		if (baseline_samples(loop, b + i, CHUNK) || fence_samples(loop, gfx, g + i, gw + i, CHUNK) ||
		    fence_samples(loop, sdma, s + i, sw + i, CHUNK))
			goto out;
	uint64_t gfx_fallback = gfx->fence.fallback_signals, sdma_fallback = sdma->fence.fallback_signals;
	double mb = bench_median(b, N), mg = bench_median(g, N), ms = bench_median(s, N);
	double mgw = bench_median(gw, N), msw = bench_median(sw, N);
	printf("amdgpu-fence: %d fence-only jobs per ring through the ring interface (ring_alloc, fence_emit, commit)\n", N);
	printf("  gfx:   fence written (its IH timestamp) to waiter woken: median %.0f ns; submit to woken %.0f ns; %llu by the fallback\n",
	       mgw, mg, (unsigned long long)gfx_fallback);
	printf("  sdma0: fence written (its IH timestamp) to waiter woken: median %.0f ns; submit to woken %.0f ns; %llu by the fallback\n",
	       msw, ms, (unsigned long long)sdma_fallback);
	printf("baseline: eventfd written by another thread to the same event loop's callback: median %.0f ns\n", mb);
	printf("sdma0 ratio=%.3f\n", msw / mb);
	printf("gfx submit-to-wake ratio=%.3f\n", mg / mb);
	printf("ratio=%.3f\n", mgw / mb);
	rc = 0;
out:
	free(g);
	free(s);
	free(b);
	free(gw);
	free(sw);
	drm_dev_destroy(dev);
	hw_destroy(hw);
	event_loop_destroy(loop);
	return rc;
}
