/* Open files: what a client holds between open() and the last close(). */
#include <errno.h>
#include <stdlib.h>

#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/gem.h"
#include "redox-drm/kms.h"
#include "redox-drm/log.h"
#include "redox-drm/syncobj.h"

struct drm_file *drm_file_open(struct drm_minor *minor, pid_t pid, uid_t uid)
{
	struct drm_device *dev = minor->dev;
	struct drm_file *file = calloc(1, sizeof(*file));
	if (!file)
		return NULL;
	file->dev = dev;
	file->minor = minor;
	file->pid = pid;
	file->uid = uid;
	/* The kernel authenticates CAP_SYS_ADMIN openers up front. */
	file->authenticated = uid == 0;
	file->event_space = 4096; /* the kernel's per-file budget */
	drm_gem_file_open(file);
	drm_syncobj_file_open(file);
	if (drm_kms_file_open(file) < 0)
		goto fail;
	if (drm_is_primary_client(file) && drm_master_open(file) < 0)
		goto fail;
	if (dev->driver->open && dev->driver->open(dev, file) < 0) {
		drm_master_release(file);
		goto fail;
	}
	file->next = dev->files;
	dev->files = file;
	dev->open_count++;
	log_debug("%s: opened by pid %d%s", minor->name, (int)pid, drm_is_current_master(file) ? " (master)" : "");
	return file;
fail:
	drm_kms_file_release(file);
	drm_syncobj_file_release(file);
	drm_gem_file_release(file);
	free(file);
	return NULL;
}

void drm_file_release(struct drm_file *file)
{
	struct drm_device *dev = file->dev;
	for (struct drm_file **p = &dev->files; *p; p = &(*p)->next) {
		if (*p == file) {
			*p = file->next;
			break;
		}
	}
	dev->open_count--;
	/* Driver state first (it may hold GEM references), then handles, then mastership. */
	drm_kms_file_release(file);
	if (dev->driver->postclose)
		dev->driver->postclose(dev, file);
	drm_syncobj_file_release(file);
	drm_gem_file_release(file);
	if (drm_is_primary_client(file))
		drm_master_release(file);
	log_debug("%s: closed by pid %d", file->minor->name, (int)file->pid);
	free(file);
}
