/*
 * What the i915 driver shows outside the ioctls: the engines in the card's
 * sysfs directory (engine/<name>/...), its module parameters, and its
 * debugfs files, named and formatted as the kernel's driver does, for the
 * tools that read them (IGT finds engines and quiesces the GPU there).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <i915_drm.h>

#include "i915.h"
#include "i915_uapi.h"
#include "redox-drm/cs.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/driver.h"
#include "redox-drm/loop.h"

/* i915_gem_drop_caches bits [Linux i915_debugfs.c]. */
#define DROP_UNBOUND (1u << 0)
#define DROP_BOUND (1u << 1)
#define DROP_RETIRE (1u << 2)
#define DROP_ACTIVE (1u << 3)
#define DROP_FREED (1u << 4)
#define DROP_SHRINK_ALL (1u << 5)
#define DROP_IDLE (1u << 6)
#define DROP_RESET_ACTIVE (1u << 7)
#define DROP_RESET_SEQNO (1u << 8)
#define DROP_RCU (1u << 9)
#define DROP_ALL 0x3ffu

struct engine_sysfs {
	const char *name;
	uint16_t class, instance;
	uint32_t mmio_base;
};

static const struct engine_sysfs rcs0 = {"rcs0", I915_ENGINE_CLASS_RENDER, 0, 0x2000};
static const struct engine_sysfs bcs0 = {"bcs0", I915_ENGINE_CLASS_COPY, 0, 0x22000};

static int clamp_len(int n, unsigned size)
{
	return n < 0 ? -EINVAL : (unsigned)n >= size ? -EOVERFLOW : n;
}

static int show_engine_name(struct drm_device *dev, const void *arg, char *buf, unsigned size)
{
	(void)dev;
	return clamp_len(snprintf(buf, size, "%s\n", ((const struct engine_sysfs *)arg)->name), size);
}

static int show_engine_class(struct drm_device *dev, const void *arg, char *buf, unsigned size)
{
	(void)dev;
	return clamp_len(snprintf(buf, size, "%u\n", ((const struct engine_sysfs *)arg)->class), size);
}

static int show_engine_instance(struct drm_device *dev, const void *arg, char *buf, unsigned size)
{
	(void)dev;
	return clamp_len(snprintf(buf, size, "%u\n", ((const struct engine_sysfs *)arg)->instance), size);
}

static int show_engine_mmio_base(struct drm_device *dev, const void *arg, char *buf, unsigned size)
{
	(void)dev;
	return clamp_len(snprintf(buf, size, "0x%x\n", ((const struct engine_sysfs *)arg)->mmio_base), size);
}

/* Render and copy engines have no optional capabilities (those are the video engines'). */
static int show_empty_line(struct drm_device *dev, const void *arg, char *buf, unsigned size)
{
	(void)dev;
	(void)arg;
	return clamp_len(snprintf(buf, size, "\n"), size);
}

static int show_text(struct drm_device *dev, const void *arg, char *buf, unsigned size)
{
	(void)dev;
	return clamp_len(snprintf(buf, size, "%s", (const char *)arg), size);
}

/* Reading the attribute gives the mask of everything it can drop, as the kernel's. */
static int show_drop_caches(struct drm_device *dev, const void *arg, char *buf, unsigned size)
{
	(void)dev;
	(void)arg;
	return clamp_len(snprintf(buf, size, "0x%08x\n", DROP_ALL), size);
}

/* Every engine's scheduler has nothing on the ring and nothing queued. */
static bool gt_idle(struct i915_device *i915)
{
	for (int id = 0; id < I915_NUM_ENGINES; id++) {
		struct cs_sched *sched = i915_exec_sched(i915, (enum i915_engine_id)id);
		if (sched && !cs_sched_idle(sched))
			return false;
	}
	return true;
}

/* How often a parked drop_caches looks again whether the GT went idle. */
#define IDLE_POLL_NS 1000000ull

struct idle_wait {
	struct drm_device *dev;
	struct drm_call *call;
	struct event_timer *timer;
};

static void idle_poll(void *data)
{
	struct idle_wait *w = data;
	w->timer = NULL;
	if (gt_idle(w->dev->dev_private)) {
		struct drm_call *call = w->call;
		free(w);
		drm_call_complete(call, 0);
		return;
	}
	w->timer = event_loop_add_timer(w->dev->loop, monotonic_ns() + IDLE_POLL_NS, idle_poll, w);
	if (!w->timer) {
		struct drm_call *call = w->call;
		free(w);
		drm_call_complete(call, -ENOMEM);
	}
}

static void idle_cancel(struct drm_call *call, void *data)
{
	(void)call;
	struct idle_wait *w = data;
	if (w->timer)
		event_timer_cancel(w->timer);
	free(w);
}

/*
 * The kernel retires finished requests, waits (interruptibly, without a
 * limit) for the GT to idle, purges and unbinds what it can and flushes
 * freed objects. Here the scheduler retires requests as they finish and
 * frees are immediate; ACTIVE and IDLE park the write until every engine's
 * scheduler is idle. Objects are never unbound or purged (their memory is
 * the clients' mappings too), and RESET_ACTIVE does not reset a GT that
 * fails to idle: it waits like ACTIVE.
 */
static int store_drop_caches(struct drm_device *dev, const void *arg, uint64_t val, struct drm_call *call)
{
	(void)arg;
	if (!(val & (DROP_ACTIVE | DROP_IDLE | DROP_RESET_ACTIVE)) || gt_idle(dev->dev_private))
		return 0;
	if (!dev->loop)
		return -ENODEV;
	struct idle_wait *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->dev = dev;
	w->call = call;
	w->timer = event_loop_add_timer(dev->loop, monotonic_ns() + IDLE_POLL_NS, idle_poll, w);
	if (!w->timer) {
		free(w);
		return -ENOMEM;
	}
	drm_call_park(call, idle_cancel, w);
	return DRM_CALL_PARKED;
}

#define ENGINE_FILES(e)                                                                   \
	{DRM_TREE_CARD, "engine/" #e "/name", 0444, show_engine_name, NULL, &e},          \
	{DRM_TREE_CARD, "engine/" #e "/class", 0444, show_engine_class, NULL, &e},        \
	{DRM_TREE_CARD, "engine/" #e "/instance", 0444, show_engine_instance, NULL, &e},  \
	{DRM_TREE_CARD, "engine/" #e "/mmio_base", 0444, show_engine_mmio_base, NULL, &e}, \
	{DRM_TREE_CARD, "engine/" #e "/capabilities", 0444, show_empty_line, NULL, &e},   \
	{DRM_TREE_CARD, "engine/" #e "/known_capabilities", 0444, show_empty_line, NULL, &e}

const struct drm_tree_file i915_tree_files[I915_NUM_TREE_FILES] = {
	ENGINE_FILES(rcs0),
	ENGINE_FILES(bcs0),
	/* GuC submission is not used (nor loaded): gen9 submits through execlists. The device's
	 * copy of the parameters is in debugfs too, where IGT looks first. */
	{DRM_TREE_MODULE, "parameters/enable_guc", 0400, show_text, NULL, "0\n"},
	{DRM_TREE_DEBUGFS, "i915_params/enable_guc", 0400, show_text, NULL, "0\n"},
	{DRM_TREE_DEBUGFS, "i915_gem_drop_caches", 0644, show_drop_caches, store_drop_caches, NULL},
};
_Static_assert(sizeof(i915_tree_files) / sizeof(i915_tree_files[0]) == I915_NUM_TREE_FILES &&
		       I915_NUM_TREE_FILES > 0, "I915_NUM_TREE_FILES must count the table");
