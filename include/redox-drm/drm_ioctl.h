/*
 * The ioctl table and the call a handler serves. Handlers look like the
 * kernel's: they get the device, the struct (already copied in and
 * zero-extended to the size the daemon knows), and the file. Arrays the
 * struct points to are reached with drm_copy_{from,to}_user on the client's
 * own pointer values, which fail with -EFAULT outside what the client sent.
 */
#ifndef REDOX_DRM_DRM_IOCTL_H
#define REDOX_DRM_DRM_IOCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

struct drm_device;
struct drm_file;
struct drm_call;

/* Permission flags: the kernel's values and rules. */
enum drm_ioctl_flags {
	DRM_AUTH = 0x1,
	DRM_MASTER = 0x2,
	DRM_ROOT_ONLY = 0x4,
	DRM_RENDER_ALLOW = 0x20,
};

/* A handler returning this keeps the call (drm_call_park) and answers later. */
#define DRM_CALL_PARKED 1

typedef int drm_ioctl_t(struct drm_device *dev, void *data, struct drm_file *file,
			struct drm_call *call);

struct drm_ioctl_desc {
	unsigned int cmd;
	unsigned int flags;
	drm_ioctl_t *func;
	const char *name;
};

#define DRM_IOCTL_NR(n) _IOC_NR(n)

#define DRM_IOCTL_DEF(ioctl, _func, _flags) \
	[DRM_IOCTL_NR(ioctl)] = {.cmd = ioctl, .func = _func, .flags = _flags, .name = #ioctl}

#define DRM_IOCTL_DEF_DRV(ioctl, _func, _flags) \
	[DRM_IOCTL_NR(DRM_IOCTL_##ioctl) - DRM_COMMAND_BASE] = \
		{.cmd = DRM_IOCTL_##ioctl, .func = _func, .flags = _flags, .name = #ioctl}

int drm_copy_from_user(struct drm_call *call, void *dst, uint64_t uptr, size_t len);
int drm_copy_to_user(struct drm_call *call, uint64_t uptr, const void *src, size_t len);

/*
 * Parking: a handler that must wait (vblank, fences, a busy CRTC) calls
 * drm_call_park() and returns DRM_CALL_PARKED; the event loop goes on. Later,
 * drm_call_complete() answers the caller with ret (the struct as the handler
 * left it in drm_call_data()), or drm_call_rerun() runs the handler again.
 * cancel runs instead if the caller goes away first; after it the call is gone.
 */
void drm_call_park(struct drm_call *call, void (*cancel)(struct drm_call *call, void *data), void *data);
void drm_call_complete(struct drm_call *call, int ret);
void drm_call_rerun(struct drm_call *call);
void *drm_call_data(struct drm_call *call);

/* The process making the call, and whether it would pass capable(CAP_SYS_ADMIN). */
pid_t drm_call_pid(const struct drm_call *call);
bool drm_call_privileged(const struct drm_call *call);

/*
 * Runs one ioctl for file: table lookup, permission checks, size tolerance,
 * the handler. cmd and the struct as the client sent it (in_size bytes);
 * returns 0 or -errno (or DRM_CALL_PARKED). Used by the transport and tests.
 */
int drm_ioctl(struct drm_file *file, unsigned int cmd, void *kdata, struct drm_call *call);

/* The size the daemon's struct for cmd has (at least _IOC_SIZE(cmd) of its table entry), or 0 if unknown. */
const struct drm_ioctl_desc *drm_ioctl_find(const struct drm_device *dev, unsigned int cmd);

#endif
