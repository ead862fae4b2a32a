/*
 * The core ioctl table and dispatch: number → handler, permission flags and
 * struct-size rules as the kernel's drm_ioctl.c, plus the generic handlers
 * that live there (version, unique, client, stats, caps, set_version).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <drm.h>

#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/drm_ioctl.h"
#include "redox-drm/gem.h"
#include "redox-drm/hw.h"
#include "redox-drm/log.h"
#include "redox-drm/kms.h"
#include "redox-drm/prime.h"
#include "redox-drm/syncobj.h"
#include "redox-drm/uapi_extra.h"

#include "auth.h"

#define DRM_IF_MAJOR 1
#define DRM_IF_MINOR 4

/* Copies a string the way drm_copy_field does: truncated to the caller's buffer, full length reported. */
static int copy_field(struct drm_call *call, uint64_t uptr, __kernel_size_t *buf_len, const char *value)
{
	size_t len = strlen(value);
	size_t n = len < *buf_len ? len : *buf_len;
	*buf_len = len;
	if (n && uptr)
		return drm_copy_to_user(call, uptr, value, n);
	return 0;
}

static int drm_version_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_version *v = data;
	const struct drm_driver *drv = dev->driver;
	v->version_major = drv->major;
	v->version_minor = drv->minor;
	v->version_patchlevel = drv->patchlevel;
	int r = copy_field(call, (uint64_t)(uintptr_t)v->name, &v->name_len, drv->name);
	if (!r)
		r = copy_field(call, (uint64_t)(uintptr_t)v->date, &v->date_len, drv->date);
	if (!r)
		r = copy_field(call, (uint64_t)(uintptr_t)v->desc, &v->desc_len, drv->desc);
	return r;
}

static int drm_getunique(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_unique *u = data;
	struct drm_master *master = file->master;
	if (!master)
		return -EINVAL;
	if (u->unique_len >= master->unique_len && master->unique_len &&
	    drm_copy_to_user(call, (uint64_t)(uintptr_t)u->unique, master->unique, master->unique_len))
		return -EFAULT;
	u->unique_len = master->unique_len;
	return 0;
}

/* Only index 0, the caller itself, as the kernel answers since it stopped listing other clients. */
static int drm_getclient(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_client *c = data;
	if (c->idx != 0)
		return -EINVAL;
	c->auth = file->authenticated;
	c->pid = file->pid;
	c->uid = file->uid;
	c->magic = 0;
	c->iocs = 0;
	return 0;
}

static int drm_getstats(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	memset(data, 0, sizeof(struct drm_stats));
	return 0;
}

static int drm_getcap(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_get_cap *req = data;
	req->value = 0;
	switch (req->capability) {
	case DRM_CAP_TIMESTAMP_MONOTONIC:
		req->value = 1;
		return 0;
	case DRM_CAP_PRIME:
		req->value = drm_core_check_feature(dev, DRIVER_PRIME)
				     ? (DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT) : 0;
		return 0;
	case DRM_CAP_SYNCOBJ:
		req->value = drm_core_check_feature(dev, DRIVER_SYNCOBJ);
		return 0;
	case DRM_CAP_SYNCOBJ_TIMELINE:
		req->value = drm_core_check_feature(dev, DRIVER_SYNCOBJ_TIMELINE);
		return 0;
	}
	/* The rest only exist with KMS. */
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	const struct drm_kms_funcs *kms = dev->driver->kms;
	switch (req->capability) {
	case DRM_CAP_DUMB_BUFFER:
	case DRM_CAP_VBLANK_HIGH_CRTC:
	case DRM_CAP_ADDFB2_MODIFIERS:
	case DRM_CAP_CRTC_IN_VBLANK_EVENT:
		req->value = 1;
		return 0;
	case DRM_CAP_DUMB_PREFERRED_DEPTH:
		req->value = kms->preferred_depth ? kms->preferred_depth : 24;
		return 0;
	case DRM_CAP_DUMB_PREFER_SHADOW:
		/* Scanout memory is uncached for the CPU on these engines: draw elsewhere, then copy. */
		req->value = 1;
		return 0;
	case DRM_CAP_ASYNC_PAGE_FLIP:
	case DRM_CAP_PAGE_FLIP_TARGET:
		req->value = 0;
		return 0;
	case DRM_CAP_CURSOR_WIDTH:
		req->value = kms->cursor_width ? kms->cursor_width : 64;
		return 0;
	case DRM_CAP_CURSOR_HEIGHT:
		req->value = kms->cursor_height ? kms->cursor_height : 64;
		return 0;
	}
	return -EINVAL;
}

static int drm_setclientcap(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_set_client_cap *req = data;
	if (!drm_core_check_feature(dev, DRIVER_MODESET))
		return -EOPNOTSUPP;
	switch (req->capability) {
	case DRM_CLIENT_CAP_STEREO_3D:
		if (req->value > 1)
			return -EINVAL;
		file->stereo_allowed = req->value;
		return 0;
	case DRM_CLIENT_CAP_UNIVERSAL_PLANES:
		if (req->value > 1)
			return -EINVAL;
		file->universal_planes = req->value;
		return 0;
	case DRM_CLIENT_CAP_ATOMIC:
		if (!drm_core_check_feature(dev, DRIVER_ATOMIC))
			return -EOPNOTSUPP;
		if (req->value > 2)
			return -EINVAL;
		file->atomic = req->value;
		file->universal_planes = req->value;
		file->aspect_ratio_allowed = req->value;
		return 0;
	case DRM_CLIENT_CAP_ASPECT_RATIO:
		if (req->value > 1)
			return -EINVAL;
		file->aspect_ratio_allowed = req->value;
		return 0;
	case DRM_CLIENT_CAP_WRITEBACK_CONNECTORS:
		if (!file->atomic || req->value > 1)
			return -EINVAL;
		file->writeback_connectors = req->value;
		return 0;
	}
	return -EINVAL;
}

static int drm_setversion(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_set_version *sv = data;
	int ret = 0;
	if (sv->drm_di_major != -1) {
		if (sv->drm_di_major != DRM_IF_MAJOR || sv->drm_di_minor < 0 || sv->drm_di_minor > DRM_IF_MINOR) {
			ret = -EINVAL;
			goto done;
		}
		uint32_t if_version = ((uint32_t)sv->drm_di_major << 16) | (uint32_t)sv->drm_di_minor;
		if (if_version > dev->if_version)
			dev->if_version = if_version;
		/* Interface 1.1 ties the client to its bus id. */
		if (sv->drm_di_minor >= 1)
			drm_master_set_busid(dev, file);
	}
	if (sv->drm_dd_major != -1) {
		if (sv->drm_dd_major != dev->driver->major || sv->drm_dd_minor < 0 ||
		    sv->drm_dd_minor > dev->driver->minor)
			ret = -EINVAL;
	}
done:
	sv->drm_di_major = DRM_IF_MAJOR;
	sv->drm_di_minor = DRM_IF_MINOR;
	sv->drm_dd_major = dev->driver->major;
	sv->drm_dd_minor = dev->driver->minor;
	return ret;
}

static int drm_noop(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	return 0;
}

/*
 * Legacy numbers whose kernel handlers are drm_invalid_op, and numbers with no
 * entry, fall through to -EINVAL like the kernel's table holes.
 */
static const struct drm_ioctl_desc drm_ioctls[] = {
	DRM_IOCTL_DEF(DRM_IOCTL_VERSION, drm_version_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_GET_UNIQUE, drm_getunique, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_GET_MAGIC, drm_getmagic, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_GET_CLIENT, drm_getclient, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_GET_STATS, drm_getstats, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_GET_CAP, drm_getcap, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_SET_CLIENT_CAP, drm_setclientcap, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_SET_VERSION, drm_setversion, DRM_MASTER),
	/* Userspace still calls it around vblank setup; with KMS it does nothing. */
	DRM_IOCTL_DEF(DRM_IOCTL_MODESET_CTL, drm_noop, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_BLOCK, drm_noop, DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY),
	DRM_IOCTL_DEF(DRM_IOCTL_UNBLOCK, drm_noop, DRM_AUTH | DRM_MASTER | DRM_ROOT_ONLY),
	DRM_IOCTL_DEF(DRM_IOCTL_AUTH_MAGIC, drm_authmagic, DRM_MASTER),
	DRM_IOCTL_DEF(DRM_IOCTL_SET_MASTER, drm_setmaster_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_DROP_MASTER, drm_dropmaster_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_GEM_CLOSE, drm_gem_close_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_GEM_FLINK, drm_gem_flink_ioctl, DRM_AUTH),
	DRM_IOCTL_DEF(DRM_IOCTL_GEM_OPEN, drm_gem_open_ioctl, DRM_AUTH),

	DRM_IOCTL_DEF(DRM_IOCTL_PRIME_HANDLE_TO_FD, drm_prime_handle_to_fd_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_PRIME_FD_TO_HANDLE, drm_prime_fd_to_handle_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_SYNCOBJ_CREATE, drm_syncobj_create_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_SYNCOBJ_DESTROY, drm_syncobj_destroy_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, drm_syncobj_handle_to_fd_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, drm_syncobj_fd_to_handle_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_SYNCOBJ_WAIT, drm_syncobj_wait_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_SYNCOBJ_RESET, drm_syncobj_reset_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_SYNCOBJ_SIGNAL, drm_syncobj_signal_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_SYNCOBJ_TIMELINE_WAIT, drm_syncobj_timeline_wait_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_SYNCOBJ_QUERY, drm_syncobj_query_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_SYNCOBJ_TRANSFER, drm_syncobj_transfer_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_SYNCOBJ_TIMELINE_SIGNAL, drm_syncobj_timeline_signal_ioctl, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF(DRM_IOCTL_SYNCOBJ_EVENTFD, drm_syncobj_eventfd_ioctl, DRM_RENDER_ALLOW),

	DRM_IOCTL_DEF(DRM_IOCTL_WAIT_VBLANK, drm_wait_vblank_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_CRTC_GET_SEQUENCE, drm_crtc_get_sequence_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_CRTC_QUEUE_SEQUENCE, drm_crtc_queue_sequence_ioctl, 0),

	DRM_IOCTL_DEF(DRM_IOCTL_MODE_GETRESOURCES, drm_mode_getresources, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_GETCRTC, drm_mode_getcrtc, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_SETCRTC, drm_mode_setcrtc, DRM_MASTER),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_GETPLANERESOURCES, drm_mode_getplane_res, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_GETPLANE, drm_mode_getplane, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_SETPLANE, drm_mode_setplane, DRM_MASTER),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_CURSOR, drm_mode_cursor_ioctl, DRM_MASTER),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_GETGAMMA, drm_mode_gamma_get_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_SETGAMMA, drm_mode_gamma_set_ioctl, DRM_MASTER),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_GETENCODER, drm_mode_getencoder, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_GETCONNECTOR, drm_mode_getconnector, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_GETPROPERTY, drm_mode_getproperty_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_SETPROPERTY, drm_mode_connector_property_set_ioctl, DRM_MASTER),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_GETPROPBLOB, drm_mode_getblob_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_GETFB, drm_mode_getfb, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_GETFB2, drm_mode_getfb2_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_ADDFB, drm_mode_addfb_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_ADDFB2, drm_mode_addfb2_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_RMFB, drm_mode_rmfb_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_PAGE_FLIP, drm_mode_page_flip_ioctl, DRM_MASTER),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_DIRTYFB, drm_mode_dirtyfb_ioctl, DRM_MASTER),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_CREATE_DUMB, drm_mode_create_dumb_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_MAP_DUMB, drm_mode_mmap_dumb_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_DESTROY_DUMB, drm_mode_destroy_dumb_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_OBJ_GETPROPERTIES, drm_mode_obj_get_properties_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_OBJ_SETPROPERTY, drm_mode_obj_set_property_ioctl, DRM_MASTER),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_CURSOR2, drm_mode_cursor2_ioctl, DRM_MASTER),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_ATOMIC, drm_mode_atomic_ioctl, DRM_MASTER),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_CREATEPROPBLOB, drm_mode_createblob_ioctl, 0),
	DRM_IOCTL_DEF(DRM_IOCTL_MODE_DESTROYPROPBLOB, drm_mode_destroyblob_ioctl, 0),
};

#define DRM_CORE_IOCTL_COUNT (sizeof(drm_ioctls) / sizeof(drm_ioctls[0]))

const struct drm_ioctl_desc *drm_ioctl_find(const struct drm_device *dev, unsigned int cmd)
{
	unsigned nr = DRM_IOCTL_NR(cmd);
	const struct drm_ioctl_desc *d;
	if (nr >= DRM_COMMAND_BASE && nr < DRM_COMMAND_END) {
		unsigned index = nr - DRM_COMMAND_BASE;
		if (index >= dev->driver->num_ioctls)
			return NULL;
		d = &dev->driver->ioctls[index];
	} else {
		if (nr >= DRM_CORE_IOCTL_COUNT)
			return NULL;
		d = &drm_ioctls[nr];
	}
	return d->func ? d : NULL;
}

/* The kernel's drm_ioctl_permit, in the same order. */
static int drm_ioctl_permit(unsigned int flags, struct drm_file *file, struct drm_call *call)
{
	if ((flags & DRM_ROOT_ONLY) && !drm_call_privileged(call))
		return -EACCES;
	if ((flags & DRM_AUTH) && drm_is_primary_client(file) && !file->authenticated)
		return -EACCES;
	if ((flags & DRM_MASTER) && !drm_is_current_master(file))
		return -EACCES;
	if (!(flags & DRM_RENDER_ALLOW) && drm_is_render_client(file))
		return -EACCES;
	return 0;
}

int drm_ioctl(struct drm_file *file, unsigned int cmd, void *kdata, struct drm_call *call)
{
	const struct drm_ioctl_desc *desc = drm_ioctl_find(file->dev, cmd);
	if (!desc) {
		log_debug("pid %d: ioctl nr 0x%02x unknown: %d", (int)file->pid, DRM_IOCTL_NR(cmd), -EINVAL);
		return -EINVAL;
	}
	int ret = drm_ioctl_permit(desc->flags, file, call);
	if (!ret)
		ret = desc->func(file->dev, kdata, file, call);
	/* As the kernel's drm debug output: which ioctl failed, and how. */
	if (ret < 0)
		log_debug("pid %d: %s: %d", (int)file->pid, desc->name, ret);
	return ret;
}
