/* What a GPU backend provides to the DRM core (drivers/amdgpu, drivers/i915). */
#ifndef REDOX_DRM_DRIVER_H
#define REDOX_DRM_DRIVER_H

#include <stdbool.h>
#include <stdint.h>

#include "redox-drm/drm_ioctl.h"

struct drm_device;
struct drm_file;
struct hw_pci_id;
struct drm_kms_funcs;

/* Feature bits, as the kernel's DRIVER_* (only those we implement are set). */
enum drm_driver_feature {
	DRIVER_GEM = 1u << 0,
	DRIVER_MODESET = 1u << 1,
	DRIVER_RENDER = 1u << 3,
	DRIVER_ATOMIC = 1u << 4,
	DRIVER_SYNCOBJ = 1u << 5,
	DRIVER_SYNCOBJ_TIMELINE = 1u << 6,
	DRIVER_PRIME = 1u << 7,
};

struct drm_gem_object;

struct drm_driver {
	const char *name, *desc, *date;
	int major, minor, patchlevel;
	uint32_t features;

	bool (*match)(const struct hw_pci_id *id);
	/* Brings the hardware up through dev->hw; 0 or -errno. */
	int (*load)(struct drm_device *dev);
	void (*unload)(struct drm_device *dev);
	/* The device's interrupt fired (called from the event loop). */
	void (*irq_handler)(struct drm_device *dev);
	int (*open)(struct drm_device *dev, struct drm_file *file);
	void (*postclose)(struct drm_device *dev, struct drm_file *file);
	/*
	 * A handle of file to obj was closed (GEM_CLOSE), obj still alive; the file
	 * may hold other handles to it. Not called at file release: postclose runs
	 * before the handles go. The kernel's drm_gem_object_funcs.close.
	 */
	void (*gem_close_object)(struct drm_file *file, struct drm_gem_object *obj);

	const struct drm_ioctl_desc *ioctls;
	unsigned int num_ioctls;

	/* Display engine (with DRIVER_MODESET); see redox-drm/kms.h. */
	const struct drm_kms_funcs *kms;
};

extern const struct drm_driver amdgpu_driver;
extern const struct drm_driver i915_driver;

#endif
