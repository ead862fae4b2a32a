/*
 * The software timeline behind /dev/sw_sync (the kernel's sw_sync, a test
 * and validation device): each open file is a timeline with a 32-bit value;
 * SW_SYNC_IOC_CREATE_FENCE makes a sync_file whose fence signals once the
 * value reaches the fence's, SW_SYNC_IOC_INC advances the value and signals
 * in order. Closing the timeline signals what is still pending with -ENOENT.
 */
#ifndef REDOX_DRM_SW_SYNC_H
#define REDOX_DRM_SW_SYNC_H

#include <stdint.h>
#include <sys/ioctl.h>

#include <linux/types.h>

/* The uAPI, which the kernel keeps in sw_sync.c rather than in an exported header. */
#ifndef SW_SYNC_IOC_MAGIC
struct sw_sync_create_fence_data {
	__u32 value;
	char name[32];
	__s32 fence; /* fd of the new sync_file */
};
#define SW_SYNC_IOC_MAGIC 'W'
#define SW_SYNC_IOC_CREATE_FENCE _IOWR(SW_SYNC_IOC_MAGIC, 0, struct sw_sync_create_fence_data)
#define SW_SYNC_IOC_INC _IOW(SW_SYNC_IOC_MAGIC, 1, __u32)
#endif

struct drm_fence;
struct drm_sw_sync_timeline;
struct event_loop;

/* A timeline at value 0; name is what its fences report as their timeline (the opener's command). */
struct drm_sw_sync_timeline *drm_sw_sync_timeline_create(struct event_loop *loop, const char *name);
/* The file closed: pending fences signal with -ENOENT; signalled ones keep their state. */
void drm_sw_sync_timeline_destroy(struct drm_sw_sync_timeline *tl);
uint32_t drm_sw_sync_timeline_value(const struct drm_sw_sync_timeline *tl);

/* The fence for value (a reference; a pending one for the same value is shared), NULL without memory. */
struct drm_fence *drm_sw_sync_fence_create(struct drm_sw_sync_timeline *tl, uint32_t value);
/* SW_SYNC_IOC_CREATE_FENCE: a sync_file for value; *out_fd to send and close. */
int drm_sw_sync_create_fence(struct drm_sw_sync_timeline *tl, uint32_t value, int *out_fd);
/* SW_SYNC_IOC_INC: advances the value by inc and signals what it passes, oldest first. */
void drm_sw_sync_inc(struct drm_sw_sync_timeline *tl, uint32_t inc);
/* The two ioctls on the struct the client passed (sync_file fd put in data->fence); -ENOTTY for others. */
int drm_sw_sync_ioctl(struct drm_sw_sync_timeline *tl, unsigned long cmd, void *arg);

#endif
