/*
 * Writes to the debugfs attributes drivers declare (struct drm_tree_file
 * with store()), arriving as RDRM_IOC_ATTR_WRITE on a channel of one of the
 * device's files.
 */
#ifndef REDOX_DRM_DAEMON_DEBUGFS_H
#define REDOX_DRM_DAEMON_DEBUGFS_H

#include <stdint.h>

#include "call.h"

/* A call_dispatch_fn; ctx is the struct drm_file the channel belongs to. */
int drm_debugfs_dispatch(struct drm_call *call, unsigned int cmd, void *kdata, void *ctx);

/*
 * Parses a written value as the kernel's simple attributes do (kstrtoull,
 * base 0: 0x.. hex, 0.. octal, decimal; one trailing newline allowed).
 * Only the first 23 bytes count, as the kernel's attribute buffer holds.
 * 0, -EINVAL or -ERANGE.
 */
int drm_debugfs_parse_u64(const char *buf, uint32_t len, uint64_t *val);

#endif
