/* A GPU and the driver bound to it; the interrupt line joins the event loop here. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/epoll.h>

#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/gem.h"
#include "redox-drm/hw.h"
#include "redox-drm/kms.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"

static const struct drm_driver *const drivers[] = {&amdgpu_driver, &i915_driver};

bool drm_core_check_feature(const struct drm_device *dev, uint32_t feature)
{
	return (dev->driver->features & feature) == feature;
}

const struct drm_driver *drm_driver_for(const struct hw_device *hw)
{
	for (size_t i = 0; i < sizeof(drivers) / sizeof(drivers[0]); i++)
		if (drivers[i]->match(&hw->pci))
			return drivers[i];
	return NULL;
}

static void device_irq(void *data, uint32_t events)
{
	struct drm_device *dev = data;
	dev->hw->ops->irq_ack(dev->hw);
	if (dev->driver->irq_handler)
		dev->driver->irq_handler(dev);
}

struct drm_device *drm_dev_create(struct hw_device *hw, int index, struct event_loop *loop)
{
	const struct drm_driver *driver = drm_driver_for(hw);
	if (!driver) {
		log_error("%s: no driver claims %04x:%04x", hw->name, hw->pci.vendor, hw->pci.device);
		errno = ENODEV;
		return NULL;
	}
	struct drm_device *dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->index = index;
	dev->driver = driver;
	dev->hw = hw;
	dev->loop = loop;
	dev->primary = (struct drm_minor){.dev = dev, .type = DRM_MINOR_PRIMARY, .index = index};
	snprintf(dev->primary.name, sizeof(dev->primary.name), "card%d", index);
	dev->render = (struct drm_minor){.dev = dev, .type = DRM_MINOR_RENDER, .index = 128 + index};
	snprintf(dev->render.name, sizeof(dev->render.name), "renderD%d", 128 + index);
	drm_gem_device_init(dev);

	int r = driver->load(dev);
	if (r < 0) {
		log_error("%s: %s failed to load: %s", hw->name, driver->name, strerror(-r));
		drm_gem_device_fini(dev);
		free(dev);
		errno = -r;
		return NULL;
	}
	if (drm_core_check_feature(dev, DRIVER_MODESET)) {
		r = drm_mode_config_init(dev);
		if (r < 0) {
			log_error("%s: display setup failed: %s", hw->name, strerror(-r));
			if (driver->unload)
				driver->unload(dev);
			drm_gem_device_fini(dev);
			free(dev);
			errno = -r;
			return NULL;
		}
	}
	if (loop && hw->ops->irq_fd) {
		int fd = hw->ops->irq_fd(hw);
		if (fd >= 0)
			dev->irq_source = event_loop_add_fd(loop, fd, EPOLLIN | EPOLLET, device_irq, dev); /* hw.h */
	}
	log_info("card%d: %s %s on %s (%04x:%04x rev %02x)", index, driver->name, driver->desc, hw->name,
		 hw->pci.vendor, hw->pci.device, hw->pci.revision);
	return dev;
}

void drm_dev_destroy(struct drm_device *dev)
{
	if (!dev)
		return;
	while (dev->files)
		drm_file_release(dev->files);
	event_source_remove(dev->irq_source);
	drm_mode_config_cleanup(dev);
	if (dev->driver->unload)
		dev->driver->unload(dev);
	drm_gem_device_fini(dev);
	free(dev);
}
