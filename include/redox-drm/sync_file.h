/*
 * The fds the daemon hands out for fences: sync_files and opaque syncobj fds.
 *
 * Each is one end of a socketpair(AF_UNIX, SOCK_SEQPACKET); the daemon keeps
 * the other end in a registry keyed by the client end's inode and watches it
 * in the event loop. When every client copy is closed, the daemon's end hangs
 * up and the entry (with its fence or syncobj reference) is freed. A
 * sync_file's client end becomes readable (POLLIN) when its fence signals, as
 * the kernel's does. An fd a client hands back is recognised by fstat(): an
 * unknown inode is not ours.
 */
#ifndef REDOX_DRM_SYNC_FILE_H
#define REDOX_DRM_SYNC_FILE_H

#include <stdint.h>

#include <linux/sync_file.h>

struct drm_fence;
struct drm_syncobj;
struct event_loop;

/*
 * A sync_file for fence (the entry takes its own reference). Returns the
 * client end as a daemon-local fd, which the caller sends and then closes,
 * or -errno (-EMFILE when the daemon is out of descriptors).
 */
int drm_sync_file_create(struct event_loop *loop, struct drm_fence *fence);
/* The fence of a sync_file fd (a reference), or NULL if fd is no sync_file of ours. */
struct drm_fence *drm_sync_file_get_fence(int fd);

/*
 * SYNC_IOC_MERGE on fd1: a new sync_file (its fd in *out_fd, to send and
 * close) whose fence covers both files' fences, the later one per context,
 * named name. -EBADF for fd1 < 0, -ENOTTY if fd1 is no sync_file, -ENOENT if
 * fd2 is none, -EINVAL for flags or pad set (checked by the caller, who owns
 * struct sync_merge_data), -ENOMEM.
 */
int drm_sync_file_merge(int fd1, int fd2, const char *name, int *out_fd);
/*
 * SYNC_IOC_FILE_INFO: fills info (name, status, num_fences) and, when
 * info->num_fences was nonzero, one sync_fence_info per fence into fences,
 * which has room for max entries. -EINVAL for flags/pad set or for
 * info->num_fences below the real count; -ENOMEM if the count exceeds max.
 */
int drm_sync_file_info(int fd, struct sync_file_info *info, struct sync_fence_info *fences, uint32_t max);

/* An opaque fd for syncobj (a reference of its own), as drm_sync_file_create. */
int drm_syncobj_fd_create(struct event_loop *loop, struct drm_syncobj *syncobj);
/* The syncobj of an opaque syncobj fd (a reference), or NULL. */
struct drm_syncobj *drm_syncobj_fd_get(int fd);

/* Number of live entries (sync_files and syncobj fds some client still holds). */
unsigned int drm_fdobj_count(void);
/* Drops every entry watched by loop, before the loop is destroyed (shutdown, tests). */
void drm_fdobj_loop_fini(struct event_loop *loop);

#endif
