/* PRIME: GEM objects as dma-buf fds and back. */
#ifndef REDOX_DRM_PRIME_H
#define REDOX_DRM_PRIME_H

#include "redox-drm/drm_ioctl.h"

drm_ioctl_t drm_prime_handle_to_fd_ioctl, drm_prime_fd_to_handle_ioctl;

#endif
