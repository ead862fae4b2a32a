/* The client side of the wire: connect, attach channels, marshal ioctls. */
#include "redox-drm/client.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <drm.h>

#include "redox-drm/ioctl_layout.h"

int rdrm_connect(const char *socket_path, int flags)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(socket_path) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, socket_path);
	int type = SOCK_SEQPACKET;
	if (flags & O_CLOEXEC)
		type |= SOCK_CLOEXEC;
	int fd = socket(AF_UNIX, type, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		/* A missing or dead node looks like a missing device. */
		int err = (errno == ECONNREFUSED || errno == ENOENT) ? -ENOENT : -errno;
		close(fd);
		return err;
	}
	if ((flags & O_NONBLOCK) && fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int send_waiting(int sock, const struct rdrm_wire_hdr *hdr, const struct iovec *iov, int iovcnt,
			const int *fds, unsigned nfds)
{
	for (;;) {
		int r = rdrm_wire_send(sock, hdr, iov, iovcnt, fds, nfds);
		if (r != -EAGAIN)
			return r;
		/* The file fd may be non-blocking; a full queue only needs a moment. */
		struct pollfd p = {.fd = sock, .events = POLLOUT};
		if (poll(&p, 1, 1000) <= 0)
			return -EAGAIN;
	}
}

int rdrm_channel_open(int file_fd, struct rdrm_wire_hello *hello)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	struct rdrm_wire_hdr hdr = {.type = RDRM_MSG_ATTACH};
	int r = send_waiting(file_fd, &hdr, NULL, 0, &sv[1], 1);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	struct rdrm_wire_msg msg;
	r = rdrm_wire_recv(sv[0], &msg, 0);
	if (r < 0) {
		close(sv[0]);
		return r == -EPIPE ? -ENODEV : r;
	}
	if (msg.hdr.type != RDRM_MSG_HELLO || msg.hdr.size != sizeof(*hello) || msg.nfds) {
		rdrm_wire_msg_release(&msg);
		close(sv[0]);
		return -EPROTO;
	}
	memcpy(hello, msg.payload, sizeof(*hello));
	hello->driver[sizeof(hello->driver) - 1] = '\0';
	rdrm_wire_msg_release(&msg);
	return sv[0];
}

/* ---- request encoding ---- */

struct span {
	uint64_t uptr;
	uint64_t bytes;
	uint8_t dir;
};

/*
 * Most requests are small: they are built in a buffer on the stack and their
 * spans kept in a small array, so a call allocates nothing. A request that
 * outgrows the stack buffer is built again the two-pass way (size, then copy
 * into one allocation); the buffer cannot simply grow, since nested walks hold
 * pointers into it.
 */
#define ENC_STACK_BYTES 4096
#define ENC_STACK_SPANS 16

struct encoder {
	uint8_t *buf;
	size_t len, cap;
	struct span *spans;
	size_t nspans, spans_cap;
	bool heap_buf, heap_spans; /* buf / spans were allocated (else the caller's stack) */
	bool first_try;  /* buf is the stack buffer: running out means "build it again", not a fault */
	bool overflowed; /* first_try ran out of room */
};

/* Room for more bytes; buf never moves (nested walks hold pointers into it). */
static int enc_reserve(struct encoder *e, size_t more)
{
	if (more > RDRM_WIRE_MAX_PAYLOAD || e->len + more > RDRM_WIRE_MAX_PAYLOAD)
		return -E2BIG;
	if (e->len + more <= e->cap)
		return 0;
	if (e->first_try)
		e->overflowed = true;
	return -EFAULT; /* sized in advance: the caller's arrays changed under us */
}

static int enc_put(struct encoder *e, const void *src, size_t n)
{
	size_t padded = rdrm_wire_align(n);
	if (!padded)
		return 0;
	int r = enc_reserve(e, padded);
	if (r)
		return r;
	/* Only the padding needs clearing: zero the last word, then copy over it. */
	static const uint64_t zero;
	memcpy(e->buf + e->len + padded - sizeof(zero), &zero, sizeof(zero));
	memcpy(e->buf + e->len, src, n);
	e->len += padded;
	return 0;
}

static void enc_free(struct encoder *e)
{
	if (e->heap_buf)
		free(e->buf);
	if (e->heap_spans)
		free(e->spans);
}

static int visit_request(void *ctx, const struct rdrm_array *a, uint64_t uptr, uint64_t count,
			 uint64_t bytes, const void **data)
{
	struct encoder *e = ctx;
	if (e->nspans == e->spans_cap) {
		size_t n = e->spans_cap * 2;
		struct span *s = e->heap_spans ? realloc(e->spans, n * sizeof(*s)) : malloc(n * sizeof(*s));
		if (!s)
			return -ENOMEM;
		if (!e->heap_spans)
			memcpy(s, e->spans, e->nspans * sizeof(*s));
		e->spans = s;
		e->spans_cap = n;
		e->heap_spans = true;
	}
	/* An array behind a NULL pointer carries nothing; the daemon then faults on use, as the kernel would. */
	e->spans[e->nspans++] = (struct span){.uptr = uptr, .bytes = uptr ? bytes : 0, .dir = a->dir};
	*data = NULL;
	if (!uptr || !(a->dir & RDRM_IN) || !bytes)
		return 0;
	size_t at = e->len;
	int r = enc_put(e, (const void *)(uintptr_t)uptr, (size_t)bytes);
	if (r)
		return r;
	/* Nested counts are read from what was sent, so both sides see the same numbers. */
	*data = e->buf + at;
	return 0;
}

/* The nested walk keeps pointers into e->buf, which enc_put may move: size the buffer first. */
static int visit_size(void *ctx, const struct rdrm_array *a, uint64_t uptr, uint64_t count,
		      uint64_t bytes, const void **data)
{
	size_t *total = ctx;
	*data = (const void *)(uintptr_t)uptr;
	if (uptr && (a->dir & RDRM_IN)) {
		if (*total + rdrm_wire_align((size_t)bytes) > RDRM_WIRE_MAX_PAYLOAD)
			return -E2BIG;
		*total += rdrm_wire_align((size_t)bytes);
	}
	return 0;
}

struct elem_fd_list {
	int *fds;
	unsigned *nfds;
};

/* A descriptor inside an array (IN_FENCE_FD): sent after the fd fields'. */
static int send_elem_fd(void *ctx, uint8_t *value)
{
	struct elem_fd_list *l = ctx;
	int64_t v;
	memcpy(&v, value, sizeof(v));
	if (v < 0)
		return 0;
	if (v > INT32_MAX || fcntl((int)v, F_GETFD) < 0) {
		/* Not an open fd: a value outside the property's range, refused as the kernel refuses it. */
		v = -2;
		memcpy(value, &v, sizeof(v));
		return 0;
	}
	if (*l->nfds >= RDRM_WIRE_MAX_FDS)
		return -EINVAL;
	l->fds[(*l->nfds)++] = (int)v;
	return 0;
}

/*
 * Copies the struct and its IN arrays into e, in one walk while they fit the
 * stack buffer e starts with; else the way a large request always went: a
 * walk that sizes it, one allocation, a walk that copies.
 */
static int encode(struct encoder *e, const struct rdrm_layout *l, const void *arg, size_t size,
		  const void *top_data[RDRM_LAYOUT_MAX_ARRAYS], uint64_t top_count[RDRM_LAYOUT_MAX_ARRAYS])
{
	struct rdrm_walk_visitor encv = {.visit = visit_request, .ctx = e};
	int r = enc_put(e, arg, size);
	if (!r)
		r = rdrm_layout_walk_top(l, e->buf, size, &encv, top_data, top_count);
	if (!e->overflowed)
		return r;

	size_t total = rdrm_wire_align(size);
	struct rdrm_walk_visitor sizer = {.visit = visit_size, .ctx = &total};
	r = rdrm_layout_walk(l, arg, size, &sizer);
	if (r)
		return r;
	/* Rounded up as the growing buffer always was: arrays that grew a little meanwhile still fit. */
	size_t cap = 256;
	while (cap < total)
		cap *= 2;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	e->buf = buf;
	e->heap_buf = true;
	e->cap = cap;
	e->len = 0;
	e->nspans = 0;
	e->first_try = false;
	r = enc_put(e, arg, size);
	if (!r)
		r = rdrm_layout_walk_top(l, e->buf, size, &encv, top_data, top_count);
	return r;
}

static int call(int channel, int target_fd, const char *driver, unsigned long cmd, void *arg);

int rdrm_call(int channel, const char *driver, unsigned long cmd, void *arg)
{
	return call(channel, -1, driver, cmd, arg);
}

int rdrm_call_target(int channel, int target_fd, unsigned long cmd, void *arg)
{
	if (target_fd < 0 || fcntl(target_fd, F_GETFD) < 0)
		return -EBADF;
	return call(channel, target_fd, "", cmd, arg);
}

static int call(int channel, int target_fd, const char *driver, unsigned long cmd, void *arg)
{
	const struct rdrm_ioctl_info *info = rdrm_ioctl_lookup(driver, cmd);
	if (!info)
		return _IOC_TYPE(cmd) == DRM_IOCTL_BASE ? -EINVAL : -ENOTTY;
	size_t size = (_IOC_DIR(cmd) & (_IOC_READ | _IOC_WRITE)) ? _IOC_SIZE(cmd) : 0;
	if (size && !arg)
		return -EFAULT;
	const struct rdrm_layout *l = &info->layout;

	uint8_t stack_buf[ENC_STACK_BYTES];
	struct span stack_spans[ENC_STACK_SPANS];
	struct encoder e = {.buf = stack_buf, .cap = sizeof(stack_buf), .spans = stack_spans,
			    .spans_cap = ENC_STACK_SPANS, .first_try = true};
	const void *top_data[RDRM_LAYOUT_MAX_ARRAYS];
	uint64_t top_count[RDRM_LAYOUT_MAX_ARRAYS];
	int r = encode(&e, l, arg, size, top_data, top_count);
	if (r)
		goto out;

	int fds[RDRM_WIRE_MAX_FDS];
	unsigned nfds = 0;
	struct rdrm_wire_hdr hdr = {.type = RDRM_MSG_IOCTL, .cmd = (uint32_t)cmd};
	if (target_fd >= 0) {
		hdr.flags |= RDRM_WIRE_F_TARGET;
		fds[nfds++] = target_fd;
	}
	for (unsigned i = 0; i < l->nfds; i++) {
		const struct rdrm_fd_field *f = &l->fds[i];
		if (f->dir != RDRM_IN || !rdrm_fd_field_active(f, arg, size))
			continue;
		int32_t fd = (int32_t)rdrm_field_get(arg, size, f->off, 4);
		/* A closed or bogus fd is not sent; the daemon then sees -1 and answers EBADF. */
		if (fd >= 0 && fcntl(fd, F_GETFD) >= 0) {
			fds[nfds++] = fd;
			hdr.fd_mask |= 1u << i;
		}
	}
	if (l->elem_fds) {
		struct elem_fd_list efl = {.fds = fds, .nfds = &nfds};
		r = rdrm_elem_fds_for_each(l, top_data, top_count, send_elem_fd, &efl);
		if (r)
			goto out;
	}
	struct iovec iov = {.iov_base = e.buf, .iov_len = e.len};
	r = rdrm_wire_send(channel, &hdr, &iov, 1, fds, nfds);
	if (r)
		goto out;

	struct rdrm_wire_msg reply;
	/* Read in place: nothing on this thread receives again before the reply is copied out. */
	r = rdrm_wire_recv_borrowed(channel, &reply, 0);
	if (r) {
		if (r == -EPIPE)
			r = -ENODEV; /* the daemon went away */
		goto out;
	}
	if (reply.hdr.type != RDRM_MSG_REPLY || reply.hdr.cmd != hdr.cmd ||
	    reply.hdr.size < rdrm_wire_align(size) || reply.hdr.result > 0) {
		r = -EPROTO;
		goto release;
	}
	/* Out fds: one descriptor per flagged OUT field, in field order. */
	unsigned next_fd = 0;
	for (unsigned i = 0; i < l->nfds; i++) {
		if (!(reply.hdr.fd_mask & (1u << i)))
			continue;
		if (l->fds[i].dir != RDRM_OUT || next_fd >= reply.nfds) {
			r = -EPROTO;
			goto release;
		}
	}
	/* Copied out only if both the caller's number and the ioctl's own say so (drm_ioctl's out_size). */
	if (_IOC_DIR(cmd) & _IOC_DIR(info->cmd) & _IOC_READ)
		memcpy(arg, reply.payload, size);
	for (unsigned i = 0; i < l->nfds; i++) {
		if (reply.hdr.fd_mask & (1u << i)) {
			const struct rdrm_fd_field *f = &l->fds[i];
			int fd = reply.fds[next_fd];
			/* Received close-on-exec; the caller asked otherwise. */
			if (f->cloexec_mask && !(rdrm_field_get(arg, size, f->cloexec_off, 4) & f->cloexec_mask))
				fcntl(fd, F_SETFD, 0);
			rdrm_field_set(arg, size, f->off, 4, (uint32_t)fd);
			reply.fds[next_fd++] = -1; /* now the caller's */
		}
	}
	/* Out arrays follow the struct in the order the request listed them. */
	const uint8_t *p = reply.payload + rdrm_wire_align(size);
	size_t left = reply.hdr.size - rdrm_wire_align(size);
	for (size_t i = 0; i < e.nspans; i++) {
		const struct span *s = &e.spans[i];
		if (!s->uptr || !(s->dir & RDRM_OUT))
			continue;
		uint32_t written;
		if (left < 8) {
			r = -EPROTO;
			goto release;
		}
		memcpy(&written, p, 4);
		size_t padded = rdrm_wire_align(written);
		if (written > s->bytes || left - 8 < padded) {
			r = -EPROTO;
			goto release;
		}
		if (written)
			memcpy((void *)(uintptr_t)s->uptr, p + 8, written);
		p += 8 + padded;
		left -= 8 + padded;
	}
	r = reply.hdr.result;
release:
	rdrm_wire_msg_release(&reply);
out:
	enc_free(&e);
	return r;
}

/*
 * A request that is not an ioctl (mmap lookup, capture): one small payload
 * out, a reply back. On success *reply holds a REPLY with result 0.
 */
static int simple_request(int channel, uint16_t type, const void *req, size_t len, struct rdrm_wire_msg *reply)
{
	struct rdrm_wire_hdr hdr = {.type = type};
	struct iovec iov = {.iov_base = (void *)req, .iov_len = len};
	int r = rdrm_wire_send(channel, &hdr, &iov, 1, NULL, 0);
	if (r)
		return r;
	r = rdrm_wire_recv(channel, reply, 0);
	if (r)
		return r == -EPIPE ? -ENODEV : r;
	if (reply->hdr.type != RDRM_MSG_REPLY || reply->hdr.result > 0)
		r = -EPROTO;
	else
		r = reply->hdr.result;
	if (r)
		rdrm_wire_msg_release(reply);
	return r;
}

int rdrm_capture(int channel, uint32_t crtc_id, uint32_t **pixels, uint32_t *width, uint32_t *height,
		 uint32_t *out_crtc_id)
{
	struct rdrm_wire_capture req = {.crtc_id = crtc_id};
	struct rdrm_wire_msg reply;
	int r = simple_request(channel, RDRM_MSG_CAPTURE, &req, sizeof(req), &reply);
	if (r)
		return r;
	if (reply.nfds || reply.hdr.size < sizeof(req)) {
		r = -EPROTO;
	} else {
		memcpy(&req, reply.payload, sizeof(req));
		uint64_t bytes = (uint64_t)req.width * req.height * 4;
		if (bytes != reply.hdr.size - sizeof(req) || !(*pixels = malloc(bytes ? bytes : 1))) {
			r = -EPROTO;
		} else {
			memcpy(*pixels, reply.payload + sizeof(req), bytes);
			*width = req.width;
			*height = req.height;
			*out_crtc_id = req.crtc_id;
		}
	}
	rdrm_wire_msg_release(&reply);
	return r;
}

int rdrm_mmap_lookup(int channel, uint64_t offset, uint64_t length, uint64_t *fd_offset)
{
	struct rdrm_wire_mmap req = {.offset = offset, .length = length};
	struct rdrm_wire_msg reply;
	int r = simple_request(channel, RDRM_MSG_MMAP, &req, sizeof(req), &reply);
	if (r)
		return r;
	if (reply.hdr.size != sizeof(req) || reply.nfds != 1) {
		r = -EPROTO;
	} else {
		memcpy(&req, reply.payload, sizeof(req));
		*fd_offset = req.fd_offset;
		r = reply.fds[0];
		reply.fds[0] = -1;
	}
	rdrm_wire_msg_release(&reply);
	return r;
}

ssize_t rdrm_read_events(int file_fd, void *buf, size_t count)
{
	/* Whole events only, as the kernel: the first read may wait (unless O_NONBLOCK), the rest never do. */
	size_t done = 0;
	for (;;) {
		ssize_t len = recv(file_fd, NULL, 0, MSG_PEEK | MSG_TRUNC | (done ? MSG_DONTWAIT : 0));
		if (len < 0) {
			if (errno == EINTR && !done)
				continue;
			if (done)
				break;
			return -errno;
		}
		if (len == 0 || (size_t)len > count - done)
			break; /* end of file, or the next event does not fit: it stays queued */
		ssize_t n = recv(file_fd, (char *)buf + done, (size_t)len, MSG_DONTWAIT);
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	return (ssize_t)done;
}
