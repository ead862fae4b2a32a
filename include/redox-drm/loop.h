/*
 * The daemon's single event loop (epoll). Everything that waits — client
 * channels, device interrupts, timers — is a source here; nothing else blocks.
 */
#ifndef REDOX_DRM_LOOP_H
#define REDOX_DRM_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct event_loop;
struct event_source;
struct event_timer;
struct event_idle;

/* Called with the epoll events (EPOLLIN, EPOLLHUP, ...) that fired. */
typedef void (*event_fd_cb)(void *data, uint32_t events);
typedef void (*event_timer_cb)(void *data);

struct event_loop *event_loop_create(void);
void event_loop_destroy(struct event_loop *loop);

struct event_source *event_loop_add_fd(struct event_loop *loop, int fd, uint32_t events,
				       event_fd_cb cb, void *data);
int event_source_update(struct event_source *src, uint32_t events);
/* Safe to call from inside any callback, including the source's own. */
void event_source_remove(struct event_source *src);
/*
 * Calls src's callback once more with events at the end of this iteration,
 * after the idle work, without asking epoll: for a peer that likely has sent
 * again already (a client that ran while its reply was being sent). The
 * callback must cope with finding nothing. At most EVENT_LOOP_POLL_AGAIN_MAX
 * such calls follow one another before the loop waits on epoll again, so
 * other sources still get their turn.
 */
void event_source_poll_again(struct event_source *src, uint32_t events);
#define EVENT_LOOP_POLL_AGAIN_MAX 8

/* One-shot timer at an absolute CLOCK_MONOTONIC time in nanoseconds. */
struct event_timer *event_loop_add_timer(struct event_loop *loop, uint64_t deadline_ns,
					 event_timer_cb cb, void *data);
void event_timer_cancel(struct event_timer *timer);

/*
 * One-shot work for the end of this loop iteration: after the events being
 * dispatched (so replies already sent go first), before the loop waits again.
 * Costs no system call, unlike a timer due now. Outside a dispatch it runs at
 * the start of the next one, which then does not wait.
 */
struct event_idle *event_loop_add_idle(struct event_loop *loop, event_timer_cb cb, void *data);
void event_idle_cancel(struct event_idle *idle);

/* Runs one iteration (waits at most timeout_ms; -1 = until something happens). */
int event_loop_dispatch(struct event_loop *loop, int timeout_ms);
void event_loop_run(struct event_loop *loop);
void event_loop_stop(struct event_loop *loop);

uint64_t monotonic_ns(void);

#endif
