/*
 * ioctls on fds the daemon hands out that are not DRM files: SYNC_IOC_* on a
 * sync_file (which arrives with the request as its target), and SW_SYNC_IOC_*
 * on a sw_sync timeline (a connection to the sw_sync node).
 */
#include "sync_ioctl.h"

#include "call.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <linux/sync_file.h>

#include "redox-drm/drm_ioctl.h"
#include "redox-drm/sw_sync.h"
#include "redox-drm/sync_file.h"

/* The kernel caps a sync_file at this many fences (fence arrays are bounded too). */
#define SYNC_INFO_MAX 4096

static int sync_file_info(struct drm_call *call, int fd, struct sync_file_info *info)
{
	uint32_t want = info->num_fences;
	if (want > SYNC_INFO_MAX)
		return -EINVAL;
	struct sync_fence_info *tmp = want ? calloc(want, sizeof(*tmp)) : NULL;
	if (want && !tmp)
		return -ENOMEM;
	int r = drm_sync_file_info(fd, info, tmp, want);
	if (!r && want) {
		uint32_t n = info->num_fences < want ? info->num_fences : want;
		r = drm_copy_to_user(call, info->sync_fence_info, tmp, n * sizeof(*tmp));
	}
	free(tmp);
	return r;
}

int sync_file_dispatch(struct drm_call *call, unsigned int cmd, void *kdata, void *ctx)
{
	int fd = drm_call_target_fd(call);
	switch (cmd) {
	case SYNC_IOC_MERGE: {
		struct sync_merge_data *m = kdata;
		if (m->flags || m->pad)
			return -EINVAL;
		char name[sizeof(m->name) + 1];
		memcpy(name, m->name, sizeof(m->name));
		name[sizeof(m->name)] = '\0';
		int out = -1;
		int r = drm_sync_file_merge(fd, m->fd2, name, &out);
		if (!r)
			m->fence = out; /* sent to the client, then closed here */
		return r;
	}
	case SYNC_IOC_FILE_INFO:
		return sync_file_info(call, fd, kdata);
	}
	return -ENOTTY;
}

int sw_sync_dispatch(struct drm_call *call, unsigned int cmd, void *kdata, void *ctx)
{
	return drm_sw_sync_ioctl(ctx, cmd, kdata);
}
