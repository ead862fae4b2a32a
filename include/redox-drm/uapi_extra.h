/*
 * Linux DRM uAPI facts that the system's libdrm headers (2.4.114) predate.
 * Values and layouts are the kernel's (include/uapi/drm/drm.h); each block
 * is skipped when the headers already carry it.
 */
#ifndef REDOX_DRM_UAPI_EXTRA_H
#define REDOX_DRM_UAPI_EXTRA_H

#include <drm.h>

#ifndef DRM_IOCTL_SYNCOBJ_EVENTFD
/* Signal an eventfd when a syncobj point signals (or, with WAIT_AVAILABLE, appears). Linux 6.6. */
struct drm_syncobj_eventfd {
	__u32 handle;
	__u32 flags;
	__u64 point;
	__s32 fd;
	__u32 pad;
};
#define DRM_IOCTL_SYNCOBJ_EVENTFD DRM_IOWR(0xCF, struct drm_syncobj_eventfd)
#endif

#endif
