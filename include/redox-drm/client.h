/*
 * Native client side of the wire: connect to a node, attach request
 * channels, and perform ioctls. The LD_PRELOAD interposer is built on this;
 * tests and tools may use it directly.
 */
#ifndef REDOX_DRM_CLIENT_H
#define REDOX_DRM_CLIENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "redox-drm/wire.h"

/* Connects to a node socket; flags: O_CLOEXEC, O_NONBLOCK. Returns the file fd or -errno. */
int rdrm_connect(const char *socket_path, int flags);

/* Attaches a new request channel to the open file; fills hello. Returns the channel fd or -errno. */
int rdrm_channel_open(int file_fd, struct rdrm_wire_hello *hello);

/*
 * One ioctl over a channel: marshals arg and every array its layout names,
 * sends, waits for the reply, copies results back into arg and the arrays,
 * and installs received fds. driver is the HELLO's driver name. Returns 0 or
 * -errno (-EINVAL for a DRM ioctl the layout table does not know).
 */
int rdrm_call(int channel, const char *driver, unsigned long cmd, void *arg);
/* An ioctl on another fd the daemon serves (SYNC_IOC_* on a sync_file), sent along. */
int rdrm_call_target(int channel, int target_fd, unsigned long cmd, void *arg);

/*
 * Asks for the memory behind a fake mmap offset of the file. Returns a memfd
 * (the caller maps it at *fd_offset) or -errno.
 */
int rdrm_mmap_lookup(int channel, uint64_t offset, uint64_t length, uint64_t *fd_offset);

/*
 * What a CRTC's monitor shows now (crtc_id 0: the first active CRTC), as
 * XRGB8888 rows; *pixels is malloc'd. Returns 0 or -errno.
 */
int rdrm_capture(int channel, uint32_t crtc_id, uint32_t **pixels, uint32_t *width, uint32_t *height,
		 uint32_t *out_crtc_id);

/* Reads whole drm_event records from the file fd the way the kernel's read() does. */
ssize_t rdrm_read_events(int file_fd, void *buf, size_t count);

#endif
