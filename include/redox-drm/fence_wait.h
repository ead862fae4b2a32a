/*
 * Parking a call on a fence: the handler found the fence pending and cannot
 * answer yet. The call is parked and run again (drm_call_rerun) once the
 * fence signals or the deadline passes, whichever is first; the handler then
 * looks again and answers. Handlers with absolute deadlines (amdgpu's WAIT_CS,
 * WAIT_FENCES, GEM_WAIT_IDLE) and throttled submissions use it.
 */
#ifndef REDOX_DRM_FENCE_WAIT_H
#define REDOX_DRM_FENCE_WAIT_H

#include <stdint.h>

struct drm_call;
struct drm_device;
struct drm_fence;

/* No deadline: wait for the fence only. */
#define DRM_FENCE_WAIT_FOREVER UINT64_MAX

/*
 * Parks call until fence signals or CLOCK_MONOTONIC reaches deadline_ns, then
 * reruns it. Takes its own reference to fence. Returns DRM_CALL_PARKED; 0
 * if the fence has signalled after all (nothing parked: the caller answers
 * now); or -errno (-ENOMEM; -ENODEV without an event loop, where nothing
 * could wake the call).
 */
int drm_fence_park_call(struct drm_device *dev, struct drm_call *call, struct drm_fence *fence,
			uint64_t deadline_ns);

#endif
