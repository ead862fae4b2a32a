/* Wire message → ioctl call → reply, with every client-supplied size checked. */
#include "call.h"

#include <errno.h>
#include <stddef.h>
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
	memset(call, 0, offsetof(struct drm_call, regions_inline));
	call->file = file;
	call->pid = pid;
	call->uid = uid;
	call->target_fd = -1;
}

void drm_call_fini(struct drm_call *call)
{
	for (unsigned i = 0; i < call->nregions; i++)
		if (call->regions[i].owned)
			free(call->regions[i].ptr);
	if (call->regions != call->regions_inline)
		free(call->regions);
	call->regions = NULL;
	call->nregions = call->cap = 0;
}

int drm_call_add_region(struct drm_call *call, uint64_t uptr, uint64_t bytes, uint8_t dir, void *ptr)
{
	if (uptr + bytes < uptr)
		return -EFAULT;
	if (call->nregions == call->cap) {
		if (!call->cap) {
			call->regions = call->regions_inline;
			call->cap = CALL_INLINE_REGIONS;
		} else {
			unsigned n = call->cap * 2;
			struct call_region *r = malloc(n * sizeof(*r));
			if (!r)
				return -ENOMEM;
			memcpy(r, call->regions, call->nregions * sizeof(*r));
			if (call->regions != call->regions_inline)
				free(call->regions);
			call->regions = r;
			call->cap = n;
		}
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
	if (uptr + len < uptr)
		return -EFAULT;
	struct call_region *r = find_region(call, uptr, len, RDRM_IN);
	if (r && r->ptr) {
		memcpy(dst, r->ptr + (uptr - r->uptr), len);
		return 0;
	}
	/* A struct that travelled in pieces (an extension's header, then its body): adjacent regions. */
	uint8_t *out = dst;
	while (len) {
		r = find_region(call, uptr, 1, RDRM_IN);
		if (!r || !r->ptr)
			return -EFAULT;
		uint64_t n = r->uptr + r->bytes - uptr;
		if (n > len)
			n = len;
		memcpy(out, r->ptr + (uptr - r->uptr), (size_t)n);
		out += n;
		uptr += n;
		len -= (size_t)n;
	}
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
	/* Everything but the inline payload, which reply_put fills as it goes. */
	memset(reply, 0, offsetof(struct call_reply, inline_payload));
	reply->nfds = 0;
	reply->hdr.type = RDRM_MSG_REPLY;
	reply->hdr.cmd = cmd;
}

static int reply_put(struct call_reply *reply, const void *src, size_t n)
{
	size_t padded = rdrm_wire_align(n);
	if (!padded)
		return 0;
	if (!reply->payload) {
		reply->payload = reply->inline_payload;
		reply->cap = sizeof(reply->inline_payload);
	}
	if (reply->len + padded > reply->cap) {
		size_t cap = reply->cap;
		while (cap < reply->len + padded)
			cap *= 2;
		uint8_t *p = malloc(cap);
		if (!p)
			return -ENOMEM;
		memcpy(p, reply->payload, reply->len);
		if (reply->payload != reply->inline_payload)
			free(reply->payload);
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
	if (reply->payload != reply->inline_payload)
		free(reply->payload);
	reply->payload = NULL;
	reply->len = reply->cap = 0;
	reply->nfds = 0;
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

static void call_free(struct drm_call *call)
{
	/* The received fds belong to the call; a handler that keeps one dup()s it. */
	rdrm_wire_msg_release(&call->msg);
	if (call->target_fd >= 0)
		close(call->target_fd);
	drm_call_fini(call);
	if (call->kdata != call->kdata_inline)
		free(call->kdata);
	free(call);
}

/* Builds the reply from the call's final state and hands it to the transport. */
static void finish(struct drm_call *call, int ret)
{
	struct call_reply reply;
	reply_init(&reply, call->cmd);
	const struct rdrm_layout *l = call->layout;
	uint8_t *kdata = call->kdata;
	size_t ksize = call->ksize;
	/* Outgoing fds and the client's own fd numbers in IN fields. */
	for (unsigned i = 0; i < l->nfds && i < 8; i++) {
		const struct rdrm_fd_field *f = &l->fds[i];
		int32_t v32 = (int32_t)rdrm_field_get(kdata, ksize, f->off, 4);
		if (f->dir == RDRM_IN) {
			rdrm_field_set(kdata, ksize, f->off, 4, (uint32_t)call->orig_fd[i]);
		} else if (!(call->out_fd_active & (1u << i))) {
			continue; /* not an fd in this call: the client's own bits, untouched */
		} else if (f->overlays_in && ret != 0) {
			continue; /* input bytes, not an fd of ours */
		} else if (v32 >= 0 && (ret != 0 || !rdrm_fd_field_active(f, kdata, ksize))) {
			close(v32); /* made, then the call failed: nobody will receive it */
		} else if (v32 >= 0) {
			reply.fds[reply.nfds++] = v32;
			reply.hdr.fd_mask |= 1u << i;
		}
	}
	/* The struct is copied out even on error, as drm_ioctl does (only out_size of it is news). */
	memset(kdata + call->out_size, 0, call->size - call->out_size);
	int r = reply_put(&reply, kdata, call->size);
	for (unsigned i = 0; !r && i < call->nregions; i++) {
		struct call_region *cr = &call->regions[i];
		if (!(cr->dir & RDRM_OUT))
			continue;
		uint32_t head[2] = {(uint32_t)cr->written, 0};
		r = reply_put(&reply, head, sizeof(head));
		if (!r)
			r = reply_put(&reply, cr->ptr, (size_t)cr->written);
	}
	if (r)
		fail(&reply, r);
	else
		reply.hdr.result = ret;
	/* Refusals are what a client's start-up trips over: name them in the debug log. */
	if (reply.hdr.result < 0)
		log_debug("%s: pid %d: ioctl 0x%08x (nr 0x%02x) -> %d", call->file ? call->file->minor->name : "-",
			  (int)call->pid, call->cmd, _IOC_NR(call->cmd), reply.hdr.result);
	call->reply_fn(call, &reply, call->reply_data);
	call_reply_fini(&reply);
	call_free(call);
}

void drm_call_park(struct drm_call *call, void (*cancel)(struct drm_call *call, void *data), void *data)
{
	call->parked = true;
	call->cancel = cancel;
	call->cancel_data = data;
}

void drm_call_complete(struct drm_call *call, int ret)
{
	call->parked = false;
	finish(call, ret);
}

void *drm_call_data(struct drm_call *call)
{
	return call->kdata;
}

int drm_call_target_fd(const struct drm_call *call)
{
	return call->target_fd;
}

static int dispatch(struct drm_call *call)
{
	if (call->dispatch)
		return call->dispatch(call, call->cmd, call->kdata, call->dispatch_ctx);
	return drm_ioctl(call->file, call->cmd, call->kdata, call);
}

void drm_call_rerun(struct drm_call *call)
{
	call->parked = false;
	int ret = dispatch(call);
	if (ret != DRM_CALL_PARKED)
		finish(call, ret);
}

void drm_call_cancel(struct drm_call *call)
{
	if (call->cancel)
		call->cancel(call, call->cancel_data);
	call_free(call);
}

static struct drm_call *reply_now(struct drm_call *call, int err)
{
	struct call_reply reply;
	reply_init(&reply, call->cmd);
	fail(&reply, err);
	call->reply_fn(call, &reply, call->reply_data);
	call_reply_fini(&reply);
	call_free(call);
	return NULL;
}

struct elem_fd_take {
	struct drm_call *call;
	unsigned *next;
};

/* A descriptor slot inside an array gets the next received fd (the call closes them all). */
static int take_elem_fd(void *ctx, uint8_t *value)
{
	struct elem_fd_take *t = ctx;
	int64_t v;
	memcpy(&v, value, sizeof(v));
	if (v < 0)
		return 0;
	if (*t->next >= t->call->msg.nfds)
		return -EINVAL;
	v = t->call->msg.fds[(*t->next)++];
	memcpy(value, &v, sizeof(v));
	return 0;
}

struct drm_call *drm_call_execute(struct drm_file *file, pid_t pid, uid_t uid, struct rdrm_wire_msg *msg,
				  call_reply_fn reply_fn, void *reply_data)
{
	struct call_target t = {.file = file, .driver = file->dev->driver->name};
	return drm_call_execute_target(&t, -1, pid, uid, msg, reply_fn, reply_data);
}

struct drm_call *drm_call_execute_target(const struct call_target *t, int target_fd, pid_t pid, uid_t uid,
					 struct rdrm_wire_msg *msg, call_reply_fn reply_fn, void *reply_data)
{
	struct drm_file *file = t->file;
	struct drm_call *call = malloc(sizeof(*call)); /* drm_call_init clears it */
	if (!call) {
		struct call_reply reply;
		reply_init(&reply, msg->hdr.cmd);
		fail(&reply, -ENOMEM);
		reply_fn(NULL, &reply, reply_data);
		call_reply_fini(&reply);
		rdrm_wire_msg_release(msg);
		if (target_fd >= 0)
			close(target_fd);
		return NULL;
	}
	drm_call_init(call, file, pid, uid);
	call->target_fd = target_fd;
	call->dispatch = t->dispatch;
	call->dispatch_ctx = t->ctx;
	call->msg = *msg;
	msg->payload = NULL;
	msg->nfds = 0;
	call->reply_fn = reply_fn;
	call->reply_data = reply_data;
	unsigned cmd = call->msg.hdr.cmd;
	call->cmd = cmd;

	const struct rdrm_ioctl_info *info = rdrm_ioctl_lookup(t->driver, cmd);
	size_t size = (_IOC_DIR(cmd) & (_IOC_READ | _IOC_WRITE)) ? _IOC_SIZE(cmd) : 0;
	size_t struct_bytes = rdrm_wire_align(size);
	/* Not a number we speak: what the kernel says for an unknown ioctl. */
	if (!info)
		return reply_now(call, _IOC_TYPE(cmd) == DRM_IOCTL_BASE ? -EINVAL : -ENOTTY);
	if (call->msg.hdr.size < struct_bytes)
		return reply_now(call, -EINVAL);
	/* Only DRM ioctls have the kernel's struct-size tolerance; other objects take their one size. */
	const struct drm_ioctl_desc *desc = file ? drm_ioctl_find(file->dev, cmd) : NULL;
	unsigned drv_cmd = desc ? desc->cmd : cmd;
	size_t in_size = (cmd & drv_cmd & IOC_IN) ? size : 0;
	size_t ksize = _IOC_SIZE(drv_cmd);
	if (size > ksize)
		ksize = size;
	call->layout = &info->layout;
	call->size = size;
	call->ksize = ksize;
	call->out_size = (cmd & drv_cmd & IOC_OUT) ? size : 0;
	/* Zero-extended to the daemon's struct size; a longer client struct's tail is ignored. */
	if (ksize <= sizeof(call->kdata_inline)) {
		call->kdata = call->kdata_inline;
		memset(call->kdata, 0, ksize);
	} else if (!(call->kdata = calloc(1, ksize))) {
		return reply_now(call, -ENOMEM);
	}
	uint8_t *kdata = call->kdata;
	memcpy(kdata, call->msg.payload, in_size);

	struct decoder d = {.call = call, .p = call->msg.payload + struct_bytes,
			    .left = call->msg.hdr.size - struct_bytes};
	struct rdrm_walk_visitor v = {.visit = visit_decode, .ctx = &d};
	const struct rdrm_layout *l = call->layout;
	const void *top_data[RDRM_LAYOUT_MAX_ARRAYS];
	uint64_t top_count[RDRM_LAYOUT_MAX_ARRAYS];
	int ret = rdrm_layout_walk_top(l, call->msg.payload, size, &v, top_data, top_count);
	if (!ret && d.left)
		ret = -EINVAL; /* trailing bytes: the message does not match its struct */

	/* fds: each flagged IN field gets the next descriptor; the count must match exactly. */
	unsigned next_fd = 0;
	for (unsigned i = 0; i < l->nfds && i < 8; i++)
		call->orig_fd[i] = (int32_t)rdrm_field_get(kdata, ksize, l->fds[i].off, 4);
	for (unsigned i = 0; !ret && i < l->nfds && i < 8; i++) {
		const struct rdrm_fd_field *f = &l->fds[i];
		bool flagged = call->msg.hdr.fd_mask & (1u << i);
		if (f->dir == RDRM_IN) {
			if (flagged && (next_fd >= call->msg.nfds || !rdrm_fd_field_active(f, kdata, ksize)))
				ret = -EINVAL;
			else
				rdrm_field_set(kdata, ksize, f->off, 4,
					       flagged ? (uint32_t)call->msg.fds[next_fd++] : (uint32_t)-1);
		} else {
			if (flagged)
				ret = -EINVAL;
			/*
			 * Only what the handler puts here is ever sent back. A field whose flag
			 * is off is no fd in this call (rsvd2's halves) and stays the client's;
			 * one that overlays input keeps it for the handler to read.
			 */
			if (rdrm_fd_field_active(f, kdata, ksize)) {
				call->out_fd_active |= 1u << i;
				if (!f->overlays_in)
					rdrm_field_set(kdata, ksize, f->off, 4, (uint32_t)-1);
			}
		}
	}
	struct elem_fd_take take = {.call = call, .next = &next_fd};
	if (!ret)
		ret = rdrm_elem_fds_for_each(l, top_data, top_count, take_elem_fd, &take);
	if (!ret && (next_fd != call->msg.nfds || (call->msg.hdr.fd_mask >> l->nfds)))
		ret = -EINVAL;
	if (ret) {
		/* Nothing ran: the fd fields must not be read back as ours. */
		for (unsigned i = 0; i < l->nfds && i < 8; i++)
			if (l->fds[i].dir == RDRM_OUT && (call->out_fd_active & (1u << i)) && !l->fds[i].overlays_in)
				rdrm_field_set(kdata, ksize, l->fds[i].off, 4, (uint32_t)-1);
		finish(call, ret);
		return NULL;
	}

	ret = dispatch(call);
	if (ret == DRM_CALL_PARKED)
		return call;
	finish(call, ret);
	return NULL;
}
