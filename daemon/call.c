/* Wire message → ioctl call → reply, with every client-supplied size checked. */
#include "call.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <drm.h>

#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/ioctl_layout.h"
#include "redox-drm/log.h"

void drm_call_init(struct drm_call *call, struct drm_file *file, pid_t pid, uid_t uid)
{
	memset(call, 0, sizeof(*call));
	call->file = file;
	call->pid = pid;
	call->uid = uid;
}

void drm_call_fini(struct drm_call *call)
{
	for (unsigned i = 0; i < call->nregions; i++)
		if (call->regions[i].owned)
			free(call->regions[i].ptr);
	free(call->regions);
	call->regions = NULL;
	call->nregions = call->cap = 0;
}

int drm_call_add_region(struct drm_call *call, uint64_t uptr, uint64_t bytes, uint8_t dir, void *ptr)
{
	if (uptr + bytes < uptr)
		return -EFAULT;
	if (call->nregions == call->cap) {
		unsigned n = call->cap ? call->cap * 2 : 8;
		struct call_region *r = realloc(call->regions, n * sizeof(*r));
		if (!r)
			return -ENOMEM;
		call->regions = r;
		call->cap = n;
	}
	call->regions[call->nregions++] =
		(struct call_region){.uptr = uptr, .bytes = bytes, .ptr = ptr, .dir = dir};
	return 0;
}

static struct call_region *find_region(struct drm_call *call, uint64_t uptr, size_t len, uint8_t dir)
{
	if (uptr + len < uptr)
		return NULL;
	for (unsigned i = 0; i < call->nregions; i++) {
		struct call_region *r = &call->regions[i];
		if ((r->dir & dir) && uptr >= r->uptr && uptr + len <= r->uptr + r->bytes)
			return r;
	}
	return NULL;
}

int drm_copy_from_user(struct drm_call *call, void *dst, uint64_t uptr, size_t len)
{
	if (!len)
		return 0;
	struct call_region *r = find_region(call, uptr, len, RDRM_IN);
	if (!r || !r->ptr)
		return -EFAULT;
	memcpy(dst, r->ptr + (uptr - r->uptr), len);
	return 0;
}

int drm_copy_to_user(struct drm_call *call, uint64_t uptr, const void *src, size_t len)
{
	if (!len)
		return 0;
	struct call_region *r = find_region(call, uptr, len, RDRM_OUT);
	if (!r)
		return -EFAULT;
	uint64_t end = uptr - r->uptr + len;
	if (!r->ptr || (r->owned && end > r->written)) {
		/* OUT memory exists only as far as the handler writes it. */
		uint8_t *p = realloc(r->owned ? r->ptr : NULL, end);
		if (!p)
			return -ENOMEM;
		memset(p + r->written, 0, end - r->written);
		r->ptr = p;
		r->owned = true;
	}
	memcpy(r->ptr + (uptr - r->uptr), src, len);
	if (end > r->written)
		r->written = end;
	return 0;
}

pid_t drm_call_pid(const struct drm_call *call)
{
	return call->pid;
}

bool drm_call_privileged(const struct drm_call *call)
{
	/* Stands for capable(CAP_SYS_ADMIN): the caller runs as root. */
	return call->uid == 0;
}

/* ---- decoding ---- */

struct decoder {
	struct drm_call *call;
	uint8_t *p;
	size_t left;
};

static int visit_decode(void *ctx, const struct rdrm_array *a, uint64_t uptr, uint64_t count,
			uint64_t bytes, const void **data)
{
	struct decoder *d = ctx;
	*data = NULL;
	if (!uptr)
		return 0; /* nothing travelled; any use faults */
	void *local = NULL;
	if ((a->dir & RDRM_IN) && bytes) {
		size_t padded = rdrm_wire_align((size_t)bytes);
		if (padded > d->left)
			return -EINVAL;
		local = d->p;
		d->p += padded;
		d->left -= padded;
		*data = local;
	}
	return drm_call_add_region(d->call, uptr, bytes, a->dir, local);
}

static void reply_init(struct call_reply *reply, unsigned cmd)
{
	memset(reply, 0, sizeof(*reply));
	reply->hdr.type = RDRM_MSG_REPLY;
	reply->hdr.cmd = cmd;
}

static int reply_put(struct call_reply *reply, const void *src, size_t n)
{
	size_t padded = rdrm_wire_align(n);
	if (reply->len + padded > reply->cap) {
		size_t cap = reply->cap ? reply->cap : 256;
		while (cap < reply->len + padded)
			cap *= 2;
		uint8_t *p = realloc(reply->payload, cap);
		if (!p)
			return -ENOMEM;
		reply->payload = p;
		reply->cap = cap;
	}
	if (n)
		memcpy(reply->payload + reply->len, src, n);
	memset(reply->payload + reply->len + n, 0, padded - n);
	reply->len += padded;
	return 0;
}

void call_reply_fini(struct call_reply *reply)
{
	for (unsigned i = 0; i < reply->nfds; i++)
		close(reply->fds[i]);
	free(reply->payload);
	memset(reply, 0, sizeof(*reply));
}

static void fail(struct call_reply *reply, int err)
{
	reply->len = 0;
	for (unsigned i = 0; i < reply->nfds; i++)
		close(reply->fds[i]);
	reply->nfds = 0;
	reply->hdr.fd_mask = 0;
	reply->hdr.result = err;
}

void drm_call_execute(struct drm_file *file, pid_t pid, uid_t uid, struct rdrm_wire_msg *msg,
		      struct call_reply *reply)
{
	unsigned cmd = msg->hdr.cmd;
	reply_init(reply, cmd);
	const struct rdrm_ioctl_info *info = rdrm_ioctl_lookup(file->dev->driver->name, cmd);
	size_t size = (_IOC_DIR(cmd) & (_IOC_READ | _IOC_WRITE)) ? _IOC_SIZE(cmd) : 0;
	size_t struct_bytes = rdrm_wire_align(size);
	if (!info) {
		/* Not a number we speak: what the kernel says for an unknown ioctl. */
		fail(reply, _IOC_TYPE(cmd) == DRM_IOCTL_BASE ? -EINVAL : -ENOTTY);
		return;
	}
	if (msg->hdr.size < struct_bytes) {
		fail(reply, -EINVAL);
		return;
	}
	const struct drm_ioctl_desc *desc = drm_ioctl_find(file->dev, cmd);
	unsigned drv_cmd = desc ? desc->cmd : cmd;
	size_t in_size = (cmd & drv_cmd & IOC_IN) ? size : 0;
	size_t out_size = (cmd & drv_cmd & IOC_OUT) ? size : 0;
	size_t ksize = _IOC_SIZE(drv_cmd);
	if (size > ksize)
		ksize = size;
	/* Zero-extended to the daemon's struct size; a longer client struct's tail is ignored. */
	uint8_t *kdata = calloc(1, ksize ? ksize : 1);
	if (!kdata) {
		fail(reply, -ENOMEM);
		return;
	}
	memcpy(kdata, msg->payload, in_size);

	struct drm_call call;
	drm_call_init(&call, file, pid, uid);
	call.cmd = cmd;
	struct decoder d = {.call = &call, .p = msg->payload + struct_bytes, .left = msg->hdr.size - struct_bytes};
	struct rdrm_walk_visitor v = {.visit = visit_decode, .ctx = &d};
	const struct rdrm_layout *l = &info->layout;
	int ret = rdrm_layout_walk(l, msg->payload, size, &v);
	if (!ret && d.left)
		ret = -EINVAL; /* trailing bytes: the message does not match its struct */

	/* fds: each flagged IN field gets the next descriptor; the count must match exactly. */
	unsigned next_fd = 0;
	int32_t orig_fd[8];
	for (unsigned i = 0; !ret && i < l->nfds && i < 8; i++) {
		const struct rdrm_fd_field *f = &l->fds[i];
		orig_fd[i] = (int32_t)rdrm_field_get(kdata, ksize, f->off, 4);
		bool flagged = msg->hdr.fd_mask & (1u << i);
		if (f->dir == RDRM_IN) {
			if (flagged && (next_fd >= msg->nfds || !rdrm_fd_field_active(f, kdata, ksize)))
				ret = -EINVAL;
			else
				rdrm_field_set(kdata, ksize, f->off, 4,
					       flagged ? (uint32_t)msg->fds[next_fd++] : (uint32_t)-1);
		} else {
			if (flagged)
				ret = -EINVAL;
			/* Only what the handler puts here is ever sent back. */
			rdrm_field_set(kdata, ksize, f->off, 4, (uint32_t)-1);
		}
	}
	if (!ret && (next_fd != msg->nfds || (msg->hdr.fd_mask >> l->nfds)))
		ret = -EINVAL;

	if (!ret)
		ret = drm_ioctl(file, cmd, kdata, &call);
	if (ret == DRM_CALL_PARKED) {
		/* Parking arrives with the waits that need it; until then it is a handler bug. */
		log_error("%s parked a call, which this build cannot answer later", desc ? desc->name : "ioctl");
		ret = -EIO;
	}

	/* The received fds belong to the call; a handler that keeps one dup()s it. */
	for (unsigned i = 0; i < msg->nfds; i++)
		close(msg->fds[i]);
	msg->nfds = 0;

	/* Outgoing fds and the client's own fd numbers in IN fields. */
	for (unsigned i = 0; i < l->nfds && i < 8; i++) {
		const struct rdrm_fd_field *f = &l->fds[i];
		int32_t v32 = (int32_t)rdrm_field_get(kdata, ksize, f->off, 4);
		if (f->dir == RDRM_IN) {
			rdrm_field_set(kdata, ksize, f->off, 4, (uint32_t)orig_fd[i]);
		} else if (ret == 0 && v32 >= 0 && rdrm_fd_field_active(f, kdata, ksize)) {
			reply->fds[reply->nfds++] = v32;
			reply->hdr.fd_mask |= 1u << i;
		}
	}

	/* The struct is copied out even on error, as drm_ioctl does (only out_size of it is news). */
	memset(kdata + out_size, 0, size - out_size);
	int r = reply_put(reply, kdata, size);
	for (unsigned i = 0; !r && i < call.nregions; i++) {
		struct call_region *cr = &call.regions[i];
		if (!(cr->dir & RDRM_OUT))
			continue;
		uint32_t head[2] = {(uint32_t)cr->written, 0};
		r = reply_put(reply, head, sizeof(head));
		if (!r)
			r = reply_put(reply, cr->ptr, (size_t)cr->written);
	}
	if (r)
		fail(reply, r);
	else
		reply->hdr.result = ret;
	drm_call_fini(&call);
	free(kdata);
}
