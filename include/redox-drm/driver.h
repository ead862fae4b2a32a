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
struct drm_call;

/*
 * Files a driver adds to the device tree clients read: its sysfs and
 * debugfs entries, where and as the kernel's driver creates them. Their
 * text is rendered when the daemon writes the tree. A debugfs file with
 * store() takes writes (the interposer sends a client's write() to the
 * daemon), parsed as the kernel's simple attributes parse theirs.
 */
enum drm_tree_dir {
	DRM_TREE_CARD,    /* the primary minor's device directory, sys/class/drm/cardN/ */
	DRM_TREE_DEBUGFS, /* sys/kernel/debug/dri/N/ of the primary minor */
	DRM_TREE_MODULE,  /* sys/module/<driver>/ */
};

struct drm_tree_file {
	enum drm_tree_dir dir;
	const char *path; /* below dir; may name subdirectories ("engine/rcs0/name") */
	unsigned int mode;
	/* Writes the text into buf (size bytes); returns its length or -errno. */
	int (*show)(struct drm_device *dev, const void *arg, char *buf, unsigned int size);
	/* A write of val: 0, -errno, or DRM_CALL_PARKED (answered later with drm_call_complete). */
	int (*store)(struct drm_device *dev, const void *arg, uint64_t val, struct drm_call *call);
	const void *arg;
};

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

	/* sysfs and debugfs entries beyond the core's. */
	const struct drm_tree_file *tree_files;
	unsigned int num_tree_files;
};

extern const struct drm_driver amdgpu_driver;
extern const struct drm_driver i915_driver;

#endif
