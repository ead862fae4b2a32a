/*
 * Hardware fences of a ring (the kernel's amdgpu_fence): each emitted fence
 * is a drm_fence on the ring's context whose seqno the engine writes to the
 * ring's fence slot (RELEASE_MEM / SDMA FENCE) before it raises the fence
 * interrupt (EOP / TRAP). The interrupt handler reads the slot, not the
 * vector, and signals every fence up to it in order, 32-bit wrap-safe.
 *
 * An interrupt can be lost. Two fallbacks, as the kernel's: asking a fence
 * whether it is signalled reads the slot (drm_fence_ops.signaled), and while
 * fences are outstanding a timer looks again ~0.5 s after the last activity.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "amdgpu.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/fence.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"

#define FALLBACK_NS 500000000ull /* the kernel's AMDGPU_FENCE_JIFFIES_TIMEOUT, HZ / 2 */
#define SLOT_MASK (AMDGPU_FENCE_SLOTS - 1)

struct amdgpu_fence {
	struct drm_fence base;
	struct amdgpu_ring *ring; /* NULL once signalled: the ring may go away after */
	char timeline[16];
};

static struct amdgpu_fence *to_amdgpu_fence(struct drm_fence *f)
{
	return (struct amdgpu_fence *)f;
}

static uint32_t read_seq(struct amdgpu_ring *ring)
{
	/* The engine wrote the seqno before raising the interrupt: acquire it. */
	return __atomic_load_n(amdgpu_ring_wb32(ring, AMDGPU_WB_FENCE), __ATOMIC_ACQUIRE);
}

static const char *fence_driver_name(struct drm_fence *f)
{
	(void)f;
	return "amdgpu";
}

static const char *fence_timeline_name(struct drm_fence *f)
{
	return to_amdgpu_fence(f)->timeline;
}

/* The lost-interrupt fallback: look at what the engine wrote and catch up. */
static bool fence_signaled(struct drm_fence *f)
{
	struct amdgpu_fence *af = to_amdgpu_fence(f);
	if (!af->ring)
		return false;
	struct amdgpu_ring *ring = af->ring;
	uint32_t before = ring->fence.last_seq;
	if (amdgpu_fence_process(ring))
		ring->fence.fallback_signals += ring->fence.last_seq - before;
	return f->signaled;
}

static const struct drm_fence_ops amdgpu_fence_ops = {
	.driver_name = fence_driver_name,
	.timeline_name = fence_timeline_name,
	.signaled = fence_signaled,
};

static unsigned outstanding(const struct amdgpu_ring *ring)
{
	return (uint32_t)ring->fence.sync_seq - ring->fence.last_seq;
}

static void fallback_fire(void *data);

/* Arms the timer when fences are outstanding; it re-checks the activity time when it fires. */
static void schedule_fallback(struct amdgpu_ring *ring)
{
	struct amdgpu_fence_driver *fd = &ring->fence;
	struct drm_device *dev = ring->adev->ddev;
	fd->last_activity_ns = monotonic_ns();
	if (fd->fallback || !outstanding(ring) || !dev || !dev->loop)
		return;
	fd->fallback = event_loop_add_timer(dev->loop, fd->last_activity_ns + FALLBACK_NS, fallback_fire, ring);
}

static void fallback_fire(void *data)
{
	struct amdgpu_ring *ring = data;
	struct amdgpu_fence_driver *fd = &ring->fence;
	fd->fallback = NULL;
	if (!outstanding(ring))
		return;
	uint64_t due = fd->last_activity_ns + FALLBACK_NS, now = monotonic_ns();
	if (now < due) {
		/* There was activity since it was armed: look again half a second after it. */
		fd->fallback = event_loop_add_timer(ring->adev->ddev->loop, due, fallback_fire, ring);
		return;
	}
	uint32_t before = fd->last_seq;
	if (amdgpu_fence_process(ring)) {
		fd->fallback_signals += fd->last_seq - before;
		log_warn("amdgpu: %s: %s: fence fallback timer found %u fence(s) signalled without an interrupt",
			 ring->adev->hw->name, ring->name, fd->last_seq - before);
	}
	schedule_fallback(ring);
}

int amdgpu_fence_driver_init(struct amdgpu_ring *ring)
{
	struct amdgpu_fence_driver *fd = &ring->fence;
	memset(fd, 0, sizeof(*fd));
	fd->context = drm_fence_context_alloc(1);
	*amdgpu_ring_wb32(ring, AMDGPU_WB_FENCE) = 0;
	return 0;
}

int amdgpu_fence_emit(struct amdgpu_ring *ring, struct drm_fence **fence)
{
	struct amdgpu_fence_driver *fd = &ring->fence;
	uint64_t seq = fd->sync_seq + 1;
	if (!ring->started)
		return -ENODEV;
	if (fd->fences[seq & SLOT_MASK])
		return -EBUSY; /* the fence AMDGPU_FENCE_SLOTS back has not signalled yet */
	struct amdgpu_fence *af = calloc(1, sizeof(*af));
	if (!af)
		return -ENOMEM;
	drm_fence_init(&af->base, &amdgpu_fence_ops, fd->context, seq);
	af->ring = ring;
	memcpy(af->timeline, ring->name, sizeof(af->timeline));
	ring->funcs->emit_fence(ring, ring->wb_gpu + AMDGPU_WB_FENCE, (uint32_t)seq, true);
	fd->sync_seq = seq;
	fd->fences[seq & SLOT_MASK] = drm_fence_get(&af->base); /* the ring's reference */
	*fence = &af->base;
	schedule_fallback(ring);
	return 0;
}

/* Takes the slot's fence out and completes it (error 0: passed). */
static void complete_slot(struct amdgpu_ring *ring, uint32_t seq, int error)
{
	struct drm_fence **slot = &ring->fence.fences[seq & SLOT_MASK];
	struct drm_fence *f = *slot;
	if (!f)
		return;
	*slot = NULL;
	to_amdgpu_fence(f)->ring = NULL;
	if (!f->signaled) {
		if (error)
			drm_fence_set_error(f, error);
		drm_fence_signal(f);
	}
	drm_fence_put(f);
}

bool amdgpu_fence_process(struct amdgpu_ring *ring)
{
	struct amdgpu_fence_driver *fd = &ring->fence;
	uint32_t hw = read_seq(ring), last = fd->last_seq;
	/* Only forward, and never past what was emitted (a stale or torn value is ignored). */
	uint32_t ahead = hw - last, pending = (uint32_t)fd->sync_seq - last;
	if (ahead == 0 || ahead > pending)
		return false;
	/* Advance first: a callback may emit (and re-enter here through the signaled op). */
	fd->last_seq = hw;
	for (uint32_t s = last + 1; s != hw + 1; s++)
		complete_slot(ring, s, 0);
	schedule_fallback(ring);
	return true;
}

void amdgpu_fence_irq(struct amdgpu_ring *ring)
{
	if (!ring->started)
		return;
	ring->fence.irqs++;
	amdgpu_fence_process(ring);
}

void amdgpu_fence_driver_force_completion(struct amdgpu_ring *ring, int error)
{
	struct amdgpu_fence_driver *fd = &ring->fence;
	uint32_t last = fd->last_seq, end = (uint32_t)fd->sync_seq;
	/* The slot says everything was done, so a late interrupt or poll finds nothing to do. */
	if (ring->wb.cpu)
		__atomic_store_n(amdgpu_ring_wb32(ring, AMDGPU_WB_FENCE), end, __ATOMIC_RELEASE);
	fd->last_seq = end;
	for (uint32_t s = last + 1; s != end + 1; s++)
		complete_slot(ring, s, error);
}

void amdgpu_fence_driver_fini(struct amdgpu_ring *ring)
{
	struct amdgpu_fence_driver *fd = &ring->fence;
	if (fd->fallback)
		event_timer_cancel(fd->fallback);
	fd->fallback = NULL;
	for (unsigned i = 0; i < AMDGPU_FENCE_SLOTS; i++)
		if (fd->fences[i])
			complete_slot(ring, (uint32_t)i, -ENODEV);
}
