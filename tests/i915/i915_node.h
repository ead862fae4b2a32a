/* The render node whose driver is i915, for the i915 test clients. */
#ifndef REDOX_DRM_TEST_I915_NODE_H
#define REDOX_DRM_TEST_I915_NODE_H

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include <xf86drm.h>

static inline int open_i915(void)
{
	drmDevicePtr devs[8];
	int n = drmGetDevices2(0, devs, 8);
	int fd = -1;
	for (int i = 0; i < n && fd < 0; i++) {
		if (!(devs[i]->available_nodes & (1 << DRM_NODE_RENDER)))
			continue;
		int f = open(devs[i]->nodes[DRM_NODE_RENDER], O_RDWR | O_CLOEXEC);
		if (f < 0)
			continue;
		drmVersionPtr v = drmGetVersion(f);
		if (v && !strcmp(v->name, "i915"))
			fd = f;
		else
			close(f);
		drmFreeVersion(v);
	}
	if (n > 0)
		drmFreeDevices(devs, n);
	return fd;
}

#endif
