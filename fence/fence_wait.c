/* Parking a call until a fence signals or its deadline passes, then running it again. */
#include "redox-drm/fence_wait.h"

#include <errno.h>
#include <stdlib.h>

#include "redox-drm/drm_device.h"
#include "redox-drm/drm_ioctl.h"
#include "redox-drm/fence.h"
#include "redox-drm/loop.h"

struct fence_park {
	struct drm_call *call;
	struct drm_fence *fence;
	struct drm_fence_cb cb;
	struct event_timer *timer;
};

static void park_free(struct fence_park *p)
{
	if (p->timer)
		event_timer_cancel(p->timer);
	drm_fence_remove_callback(p->fence, &p->cb); /* a no-op once it ran */
	drm_fence_put(p->fence);
	free(p);
}

static void wake(struct fence_park *p)
{
	struct drm_call *call = p->call;
	park_free(p);
	drm_call_rerun(call);
}

static void on_signal(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	(void)fence;
	wake((struct fence_park *)((char *)cb - offsetof(struct fence_park, cb)));
}

static void on_timeout(void *data)
{
	struct fence_park *p = data;
	p->timer = NULL; /* fired: the loop freed it */
	wake(p);
}

static void on_cancel(struct drm_call *call, void *data)
{
	(void)call;
	park_free(data);
}

int drm_fence_park_call(struct drm_device *dev, struct drm_call *call, struct drm_fence *fence,
			uint64_t deadline_ns)
{
	if (!dev->loop)
		return -ENODEV;
	struct fence_park *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->call = call;
	p->fence = drm_fence_get(fence);
	if (deadline_ns != DRM_FENCE_WAIT_FOREVER &&
	    !(p->timer = event_loop_add_timer(dev->loop, deadline_ns, on_timeout, p))) {
		drm_fence_put(p->fence);
		free(p);
		return -ENOMEM;
	}
	if (drm_fence_add_callback(fence, &p->cb, on_signal) == -ENOENT) {
		event_timer_cancel(p->timer);
		drm_fence_put(p->fence);
		free(p);
		return 0; /* signalled after all: the caller answers now */
	}
	drm_call_park(call, on_cancel, p);
	return DRM_CALL_PARKED;
}
