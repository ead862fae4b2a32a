#include "redox-drm/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "redox-drm/log.h"

/*
 * Sanitizer builds free every object at once, so that a use after free is
 * seen; elsewhere a few are kept for reuse.
 */
#if defined(__SANITIZE_ADDRESS__)
#define LOOP_SPARES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LOOP_SPARES 0
#endif
#endif
#ifndef LOOP_SPARES
#define LOOP_SPARES 16
#endif

struct event_source {
	struct event_loop *loop;
	int fd;
	event_fd_cb cb;
	void *data;
	bool removed;
	uint32_t again_events;          /* event_source_poll_again: due at the end of the iteration */
	struct event_source *next_again;
	struct event_source *next_dead;
	struct event_source *prev, *next; /* live sources, freed with the loop */
};

struct event_timer {
	struct event_loop *loop;
	uint64_t deadline;
	event_timer_cb cb;
	void *data;
	size_t heap_index;
};

struct event_idle {
	struct event_loop *loop;
	event_timer_cb cb;
	void *data;
	struct event_idle *next, **pprev;
};

struct event_loop {
	int epfd;
	int timerfd;
	struct event_source *timer_source;
	bool running;
	/* Sources removed during a dispatch are freed after it: epoll may still hand them out. */
	struct event_source *dead;
	struct event_source *live;
	struct event_timer **heap;
	size_t nheap, heap_cap;
	uint64_t armed; /* deadline the timerfd is set to, 0 = disarmed */
	struct event_idle *idle_head, **idle_tail;
	size_t nidle;
	struct event_source *again; /* sources to call back without epoll, newest first */
	/* Freed timers and idle entries kept for reuse: one of each comes and goes per job. */
	void *spare_timers[LOOP_SPARES + 1], *spare_idles[LOOP_SPARES + 1];
	unsigned nspare_timers, nspare_idles;
};

uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* A zeroed object of size bytes, reused from spares if there is one. */
static void *spare_get(void **spares, unsigned *n, size_t size)
{
	if (*n) {
		void *p = spares[--*n];
		memset(p, 0, size);
		return p;
	}
	return calloc(1, size);
}

static void spare_put(void **spares, unsigned *n, void *p)
{
	if (*n < LOOP_SPARES)
		spares[(*n)++] = p;
	else
		free(p);
}

/* ---- timer heap (min-heap on deadline, each timer knows its index for O(log n) cancel) ---- */

static void heap_swap(struct event_loop *loop, size_t a, size_t b)
{
	struct event_timer *t = loop->heap[a];
	loop->heap[a] = loop->heap[b];
	loop->heap[b] = t;
	loop->heap[a]->heap_index = a;
	loop->heap[b]->heap_index = b;
}

static void heap_up(struct event_loop *loop, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2;
		if (loop->heap[p]->deadline <= loop->heap[i]->deadline)
			break;
		heap_swap(loop, p, i);
		i = p;
	}
}

static void heap_down(struct event_loop *loop, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < loop->nheap && loop->heap[l]->deadline < loop->heap[m]->deadline)
			m = l;
		if (r < loop->nheap && loop->heap[r]->deadline < loop->heap[m]->deadline)
			m = r;
		if (m == i)
			return;
		heap_swap(loop, i, m);
		i = m;
	}
}

static void heap_remove_at(struct event_loop *loop, size_t i)
{
	size_t last = --loop->nheap;
	if (i != last) {
		heap_swap(loop, i, last);
		heap_down(loop, i);
		heap_up(loop, i);
	}
}

/*
 * The timerfd only ever moves earlier: a later or cancelled first deadline
 * leaves it where it is, and the early expiry just finds nothing due and
 * sets it again. Timeouts that are added and cancelled for every job then
 * cost no system call.
 */
static void rearm(struct event_loop *loop)
{
	uint64_t want = loop->nheap ? loop->heap[0]->deadline : 0;
	if (!want || (loop->armed && loop->armed <= want))
		return;
	struct itimerspec its;
	memset(&its, 0, sizeof(its));
	/* Deadlines are never 0 (that would disarm); one in the past fires at once. */
	its.it_value.tv_sec = (time_t)(want / 1000000000ull);
	its.it_value.tv_nsec = (long)(want % 1000000000ull);
	if (timerfd_settime(loop->timerfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		log_error("timerfd_settime: %s", strerror(errno));
	loop->armed = want;
}

static void timers_fire(void *data, uint32_t events)
{
	struct event_loop *loop = data;
	uint64_t expirations;
	if (read(loop->timerfd, &expirations, sizeof(expirations)) < 0 && errno != EAGAIN)
		log_error("timerfd read: %s", strerror(errno));
	loop->armed = 0;
	uint64_t now = monotonic_ns();
	while (loop->nheap && loop->heap[0]->deadline <= now) {
		struct event_timer *t = loop->heap[0];
		heap_remove_at(loop, 0);
		event_timer_cb cb = t->cb;
		void *cbdata = t->data;
		spare_put(loop->spare_timers, &loop->nspare_timers, t);
		cb(cbdata);
	}
	rearm(loop);
}

struct event_timer *event_loop_add_timer(struct event_loop *loop, uint64_t deadline_ns,
					 event_timer_cb cb, void *data)
{
	if (loop->nheap == loop->heap_cap) {
		size_t n = loop->heap_cap ? loop->heap_cap * 2 : 64;
		struct event_timer **h = realloc(loop->heap, n * sizeof(*h));
		if (!h)
			return NULL;
		loop->heap = h;
		loop->heap_cap = n;
	}
	struct event_timer *t = spare_get(loop->spare_timers, &loop->nspare_timers, sizeof(*t));
	if (!t)
		return NULL;
	t->loop = loop;
	t->deadline = deadline_ns ? deadline_ns : 1;
	t->cb = cb;
	t->data = data;
	t->heap_index = loop->nheap;
	loop->heap[loop->nheap++] = t;
	heap_up(loop, t->heap_index);
	rearm(loop);
	return t;
}

void event_timer_cancel(struct event_timer *timer)
{
	if (!timer)
		return;
	struct event_loop *loop = timer->loop;
	heap_remove_at(loop, timer->heap_index);
	spare_put(loop->spare_timers, &loop->nspare_timers, timer);
	rearm(loop);
}

/* ---- end-of-iteration work ---- */

struct event_idle *event_loop_add_idle(struct event_loop *loop, event_timer_cb cb, void *data)
{
	struct event_idle *idle = spare_get(loop->spare_idles, &loop->nspare_idles, sizeof(*idle));
	if (!idle)
		return NULL;
	idle->loop = loop;
	idle->cb = cb;
	idle->data = data;
	idle->pprev = loop->idle_tail;
	*loop->idle_tail = idle;
	loop->idle_tail = &idle->next;
	loop->nidle++;
	return idle;
}

static void idle_unlink(struct event_idle *idle)
{
	struct event_loop *loop = idle->loop;
	*idle->pprev = idle->next;
	if (idle->next)
		idle->next->pprev = idle->pprev;
	else
		loop->idle_tail = idle->pprev;
	loop->nidle--;
}

void event_idle_cancel(struct event_idle *idle)
{
	if (!idle)
		return;
	idle_unlink(idle);
	spare_put(idle->loop->spare_idles, &idle->loop->nspare_idles, idle);
}

/* Runs what was queued when it started; what those queue runs next time round. */
static void run_idle(struct event_loop *loop)
{
	for (size_t n = loop->nidle; n && loop->idle_head; n--) {
		struct event_idle *idle = loop->idle_head;
		idle_unlink(idle);
		event_timer_cb cb = idle->cb;
		void *data = idle->data;
		spare_put(loop->spare_idles, &loop->nspare_idles, idle);
		cb(data);
	}
}

/* ---- fd sources ---- */

struct event_loop *event_loop_create(void)
{
	struct event_loop *loop = calloc(1, sizeof(*loop));
	if (!loop)
		return NULL;
	loop->idle_tail = &loop->idle_head;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (loop->epfd < 0 || loop->timerfd < 0)
		goto fail;
	loop->timer_source = event_loop_add_fd(loop, loop->timerfd, EPOLLIN, timers_fire, loop);
	if (!loop->timer_source)
		goto fail;
	return loop;
fail:
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->timerfd >= 0)
		close(loop->timerfd);
	free(loop);
	return NULL;
}

static void free_dead(struct event_loop *loop)
{
	while (loop->dead) {
		struct event_source *s = loop->dead;
		loop->dead = s->next_dead;
		free(s);
	}
}

void event_loop_destroy(struct event_loop *loop)
{
	if (!loop)
		return;
	while (loop->live)
		event_source_remove(loop->live);
	free_dead(loop);
	while (loop->idle_head)
		event_idle_cancel(loop->idle_head);
	for (size_t i = 0; i < loop->nheap; i++)
		free(loop->heap[i]);
	free(loop->heap);
	while (loop->nspare_timers)
		free(loop->spare_timers[--loop->nspare_timers]);
	while (loop->nspare_idles)
		free(loop->spare_idles[--loop->nspare_idles]);
	close(loop->timerfd);
	close(loop->epfd);
	free(loop);
}

struct event_source *event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events,
				       event_fd_cb cb, void *data)
{
	struct event_source *src = calloc(1, sizeof(*src));
	if (!src)
		return NULL;
	src->loop = loop;
	src->fd = fd;
	src->cb = cb;
	src->data = data;
	struct epoll_event ev = {.events = events, .data.ptr = src};
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(src);
		return NULL;
	}
	src->next = loop->live;
	if (src->next)
		src->next->prev = src;
	loop->live = src;
	return src;
}

int event_source_update(struct event_source *src, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.ptr = src};
	return epoll_ctl(src->loop->epfd, EPOLL_CTL_MOD, src->fd, &ev) < 0 ? -errno : 0;
}

void event_source_remove(struct event_source *src)
{
	if (!src || src->removed)
		return;
	epoll_ctl(src->loop->epfd, EPOLL_CTL_DEL, src->fd, NULL);
	src->removed = true;
	if (src->prev)
		src->prev->next = src->next;
	else
		src->loop->live = src->next;
	if (src->next)
		src->next->prev = src->prev;
	src->next_dead = src->loop->dead;
	src->loop->dead = src;
}

void event_source_poll_again(struct event_source *src, uint32_t events)
{
	if (!src || src->removed || !events)
		return;
	if (!src->again_events) {
		src->next_again = src->loop->again;
		src->loop->again = src;
	}
	src->again_events |= events;
}

/* The sources that asked to be called back; what those calls ask for comes next round, up to the bound. */
static void run_again(struct event_loop *loop)
{
	for (int round = 0; loop->again && round < EVENT_LOOP_POLL_AGAIN_MAX; round++) {
		struct event_source *list = loop->again;
		loop->again = NULL;
		while (list) {
			struct event_source *src = list;
			list = src->next_again;
			uint32_t events = src->again_events;
			src->again_events = 0;
			if (!src->removed)
				src->cb(src->data, events);
		}
		run_idle(loop);
	}
	/* Over the bound: epoll reports whatever is still readable. */
	while (loop->again) {
		loop->again->again_events = 0;
		loop->again = loop->again->next_again;
	}
}

int event_loop_dispatch(struct event_loop *loop, int timeout_ms)
{
	struct epoll_event evs[64];
	/* Work queued outside a dispatch is due now: run it, and do not wait after it. */
	if (loop->idle_head) {
		run_idle(loop);
		timeout_ms = 0;
	}
	if (loop->again)
		timeout_ms = 0;
	int n = epoll_wait(loop->epfd, evs, 64, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		struct event_source *src = evs[i].data.ptr;
		if (!src->removed)
			src->cb(src->data, evs[i].events);
	}
	run_idle(loop);
	run_again(loop);
	free_dead(loop);
	return n;
}

void event_loop_run(struct event_loop *loop)
{
	loop->running = true;
	while (loop->running) {
		int r = event_loop_dispatch(loop, -1);
		if (r < 0) {
			log_error("epoll_wait: %s", strerror(-r));
			break;
		}
	}
}

void event_loop_stop(struct event_loop *loop)
{
	loop->running = false;
}
