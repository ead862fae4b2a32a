/*
 * An engine's idle policy. A real command processor polls its doorbell and
 * queue; a model engine thread that sleeps on a condition variable instead
 * costs the submitter a futex wake and a scheduler round trip per job. So,
 * for a short window after it last did work, an engine polls (without its
 * model's lock) for new work before it sleeps: back-to-back submissions then
 * start without a thread wake-up, and an idle engine still sleeps.
 *
 * The window is REDOX_DRM_SIM_POLL_US microseconds (default 100; 0 turns
 * polling off). A process allowed only one CPU does not poll: the poller
 * would only take the CPU from the submitter.
 */
#ifndef REDOX_DRM_SIM_IDLE_H
#define REDOX_DRM_SIM_IDLE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Whether an engine that last did work at busy_ns polls now rather than
 * sleeps; if so, *until is the end of its window, or deadline_ns (when it
 * has something due then; UINT64_MAX: nothing) if that comes first.
 */
bool sim_idle_should_poll(uint64_t busy_ns, uint64_t now, uint64_t deadline_ns, uint64_t *until);

/*
 * Polls changed(ctx) until it returns true (then returns true) or the clock
 * (CLOCK_MONOTONIC ns) reaches until (then false). Called without locks held.
 */
bool sim_idle_poll(bool (*changed)(void *ctx), void *ctx, uint64_t until);

#endif
