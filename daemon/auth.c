/*
 * Masters and authentication, with the kernel's rules: the first opener of a
 * primary node becomes master; others belong to the current master and are
 * authenticated by it through GET_MAGIC/AUTH_MAGIC (or are root); only a
 * master that was master before, or root, may SET_MASTER again.
 */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drm.h>

#include "redox-drm/drm_device.h"
#include "redox-drm/hw.h"

static struct drm_master *master_create(struct drm_device *dev)
{
	struct drm_master *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->refcount = 1;
	m->dev = dev;
	idr_init(&m->magic_map, 1, 0);
	return m;
}

static struct drm_master *master_get(struct drm_master *m)
{
	m->refcount++;
	return m;
}

static void master_put(struct drm_master **pm)
{
	struct drm_master *m = *pm;
	*pm = NULL;
	if (!m || --m->refcount)
		return;
	idr_destroy(&m->magic_map);
	free(m);
}

bool drm_is_current_master(const struct drm_file *file)
{
	return file->is_master && file->master && file->master == file->dev->master;
}

static void set_master(struct drm_device *dev, struct drm_file *file)
{
	dev->master = master_get(file->master);
	file->was_master = true;
}

/* Gives the file a fresh master and makes it the device's. */
static int new_set_master(struct drm_device *dev, struct drm_file *file)
{
	struct drm_master *m = master_create(dev);
	if (!m)
		return -ENOMEM;
	if (file->master) {
		/* Outstanding magics of the old master die with it, as in the kernel. */
		if (file->magic)
			idr_remove(&file->master->magic_map, file->magic);
		file->magic = 0;
		master_put(&file->master);
	}
	file->master = m;
	file->is_master = true;
	file->authenticated = true;
	set_master(dev, file);
	return 0;
}

static void drop_master(struct drm_device *dev, struct drm_file *file)
{
	master_put(&dev->master);
}

int drm_master_open(struct drm_file *file)
{
	struct drm_device *dev = file->dev;
	if (!dev->master)
		return new_set_master(dev, file);
	file->master = master_get(dev->master);
	return 0;
}

void drm_master_release(struct drm_file *file)
{
	struct drm_device *dev = file->dev;
	if (!file->master)
		return;
	if (file->magic)
		idr_remove(&file->master->magic_map, file->magic);
	file->magic = 0;
	/* A file waiting for authentication must not be found through a stale magic. */
	if (drm_is_current_master(file))
		drop_master(dev, file);
	master_put(&file->master);
}

static int master_check_perm(struct drm_file *file, struct drm_call *call)
{
	if (file->was_master && file->pid == drm_call_pid(call))
		return 0;
	if (!drm_call_privileged(call))
		return -EACCES;
	return 0;
}

int drm_setmaster_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	int ret = master_check_perm(file, call);
	if (ret)
		return ret;
	if (drm_is_current_master(file))
		return 0;
	if (dev->master)
		return -EBUSY;
	if (!file->master)
		return -EINVAL;
	if (!file->is_master)
		return new_set_master(dev, file);
	set_master(dev, file);
	return 0;
}

int drm_dropmaster_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	int ret = master_check_perm(file, call);
	if (ret)
		return ret;
	if (!drm_is_current_master(file))
		return -EINVAL;
	if (!dev->master)
		return -EINVAL;
	drop_master(dev, file);
	return 0;
}

int drm_getmagic(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_auth *auth = data;
	if (!file->master)
		return -EINVAL;
	if (!file->magic) {
		int64_t id = idr_alloc(&file->master->magic_map, file);
		if (id < 0)
			return (int)id;
		file->magic = (uint32_t)id;
	}
	auth->magic = file->magic;
	return 0;
}

int drm_authmagic(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_auth *auth = data;
	struct drm_file *target = idr_find(&file->master->magic_map, auth->magic);
	if (!target)
		return -EINVAL;
	target->authenticated = true;
	/* The magic stays reserved (kernel: idr_replace with NULL) so it cannot be reissued to another file. */
	idr_replace(&file->master->magic_map, auth->magic, NULL);
	return 0;
}

void drm_master_set_busid(struct drm_device *dev, struct drm_file *file)
{
	struct drm_master *m = file->master;
	if (!m || m->unique_len)
		return;
	const struct hw_pci_id *p = &dev->hw->pci;
	int n = snprintf(m->unique, sizeof(m->unique), "pci:%04x:%02x:%02x.%d", p->domain, p->bus, p->dev,
			 p->func);
	m->unique_len = n > 0 ? (size_t)n : 0;
}
