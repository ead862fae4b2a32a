/*
 * The synthetic device tree the interposer shows to clients.
 *
 * Clients find DRM devices through /dev/dri and sysfs (libdrm's
 * drmGetDevices2, Mesa's loader, libudev). The daemon has neither, so at
 * startup it writes <runtime>/sysroot with the same layout the kernel
 * would present for its devices, and the interposer redirects those paths
 * there. The tree names only the daemon's devices. It also holds what the
 * kernel's DRM core and drivers put in debugfs (sys/kernel/debug/dri/N)
 * and under sys/module/<driver>, for the tools that look there (IGT).
 */
#ifndef REDOX_DRM_SYSROOT_H
#define REDOX_DRM_SYSROOT_H

#include "redox-drm/hw.h"

struct drm_device;

struct sysroot_device {
	struct hw_pci_id pci;
	int card;           /* N: nodes cardN and renderD(128+N) */
	const char *driver; /* "amdgpu", "i915" */
	struct drm_device *dev; /* its driver's sysfs and debugfs files (struct drm_tree_file); may be NULL */
};

/*
 * Writes <runtime_dir>/sysroot for devs, replacing any stale tree. The tree
 * is built under a temporary name and renamed into place, so a reader sees
 * either no tree or a complete one. Returns 0 or -errno.
 */
int sysroot_create(const char *runtime_dir, const struct sysroot_device *devs, int ndevs);

/* Removes <runtime_dir>/sysroot (and leftovers of an interrupted create). */
void sysroot_remove(const char *runtime_dir);

#endif
