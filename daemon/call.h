/*
 * One ioctl in flight: the caller, the struct, and the client memory it
 * brought (regions keyed by the client's own pointer values).
 */
#ifndef REDOX_DRM_DAEMON_CALL_H
#define REDOX_DRM_DAEMON_CALL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "redox-drm/drm_ioctl.h"
#include "redox-drm/wire.h"

struct drm_file;

struct call_region {
	uint64_t uptr;    /* client address */
	uint64_t bytes;   /* size the client declared */
	uint8_t *ptr;     /* local bytes: in the request, or allocated on first write */
	uint64_t written; /* extent written by drm_copy_to_user */
	uint8_t dir;      /* enum rdrm_dir */
	bool owned;       /* ptr was allocated here */
};

struct call_reply;
typedef void (*call_reply_fn)(struct drm_call *call, struct call_reply *reply, void *data);

/*
 * What an ioctl is addressed to. A DRM file goes through the ioctl table with
 * its permission and struct-size rules; other objects (a sync_file fd, a
 * sw_sync timeline) have a dispatch function of their own and structs of one
 * fixed size.
 */
typedef int (*call_dispatch_fn)(struct drm_call *call, unsigned int cmd, void *kdata, void *ctx);

struct call_target {
	struct drm_file *file;      /* DRM ioctls */
	const char *driver;         /* layout table for driver-specific numbers */
	call_dispatch_fn dispatch;  /* otherwise */
	void *ctx;
};

/* Most calls fit these without an allocation of their own. */
#define CALL_INLINE_REGIONS 8
#define CALL_INLINE_KDATA 256

struct drm_call {
	struct drm_file *file;
	unsigned int cmd;
	pid_t pid;
	uid_t uid;
	struct call_region *regions; /* regions_inline, or allocated past CALL_INLINE_REGIONS */
	unsigned int nregions, cap;

	/* Kept while the call lives (a parked call answers from them later). */
	const struct rdrm_layout *layout;
	uint8_t *kdata; /* kdata_inline, or allocated past CALL_INLINE_KDATA */
	size_t size, ksize, out_size;
	int32_t orig_fd[8];
	uint8_t out_fd_active; /* OUT fd fields whose flag held when the call arrived */
	struct rdrm_wire_msg msg; /* its payload holds the IN arrays */
	call_reply_fn reply_fn;
	void *reply_data;
	call_dispatch_fn dispatch;
	void *dispatch_ctx;
	int target_fd; /* the fd an fd-directed ioctl was issued on (owned), or -1 */
	/* Parked: who to tell if the caller goes away first. */
	bool parked;
	void (*cancel)(struct drm_call *call, void *data);
	void *cancel_data;

	/* Storage, last: drm_call_init leaves it as it is (it is written before it is read). */
	struct call_region regions_inline[CALL_INLINE_REGIONS];
	_Alignas(16) uint8_t kdata_inline[CALL_INLINE_KDATA];
};

void drm_call_init(struct drm_call *call, struct drm_file *file, pid_t pid, uid_t uid);
void drm_call_fini(struct drm_call *call);
/* Registers client memory; ptr NULL for OUT-only regions (allocated on write). */
int drm_call_add_region(struct drm_call *call, uint64_t uptr, uint64_t bytes, uint8_t dir, void *ptr);

/* A reply being built: header plus one contiguous payload (inline while it fits). */
#define CALL_REPLY_INLINE 512

struct call_reply {
	struct rdrm_wire_hdr hdr;
	uint8_t *payload;
	size_t len, cap;
	_Alignas(16) uint8_t inline_payload[CALL_REPLY_INLINE];
	int fds[RDRM_WIRE_MAX_FDS];
	unsigned nfds;
};

/*
 * Decodes a RDRM_MSG_IOCTL for file and runs it. The reply (always built,
 * with result = -errno for bad input) goes to reply_fn, now or — if the
 * handler parked the call — later; then the call returned here is the parked
 * one, which the transport cancels with drm_call_cancel() if the caller goes
 * away. Takes ownership of msg.
 */
struct drm_call *drm_call_execute(struct drm_file *file, pid_t pid, uid_t uid, struct rdrm_wire_msg *msg,
				  call_reply_fn reply_fn, void *reply_data);
/* The same for any target; target_fd (owned by the call from now on) or -1. */
struct drm_call *drm_call_execute_target(const struct call_target *t, int target_fd, pid_t pid, uid_t uid,
					 struct rdrm_wire_msg *msg, call_reply_fn reply_fn, void *reply_data);
/* The fd an fd-directed ioctl was issued on (still owned by the call). */
int drm_call_target_fd(const struct drm_call *call);
void drm_call_cancel(struct drm_call *call);
void call_reply_fini(struct call_reply *reply);

#endif
