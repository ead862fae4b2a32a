/* Dispatch for ioctls on sync_file fds and on sw_sync timelines (see call.h's call_target). */
#ifndef REDOX_DRM_DAEMON_SYNC_IOCTL_H
#define REDOX_DRM_DAEMON_SYNC_IOCTL_H

struct drm_call;

int sync_file_dispatch(struct drm_call *call, unsigned int cmd, void *kdata, void *ctx);
/* ctx: the connection's struct drm_sw_sync_timeline. */
int sw_sync_dispatch(struct drm_call *call, unsigned int cmd, void *kdata, void *ctx);

#endif
