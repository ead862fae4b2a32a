/* Masters and authentication (the kernel's drm_auth.c). */
#ifndef REDOX_DRM_DAEMON_AUTH_H
#define REDOX_DRM_DAEMON_AUTH_H

#include "redox-drm/drm_ioctl.h"

struct drm_device;
struct drm_file;

drm_ioctl_t drm_getmagic, drm_authmagic, drm_setmaster_ioctl, drm_dropmaster_ioctl;

/* SET_VERSION 1.1+: the master's unique becomes the PCI bus id. */
void drm_master_set_busid(struct drm_device *dev, struct drm_file *file);

#endif
