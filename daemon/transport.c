#include "transport.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>

#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/gem.h"
#include "redox-drm/kms.h"
#include "redox-drm/sw_sync.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"
#include "redox-drm/wire.h"

#include "call.h"
#include "debugfs.h"
#include "sync_ioctl.h"

/* Enough for every thread of a busy client; more is refused, not queued. */
#define MAX_CHANNELS_PER_FILE 256

struct listener {
	struct transport *t;
	struct drm_minor *minor; /* NULL: the sw_sync node */
	int fd;
	struct event_source *src;
	char path[PATH_MAX];
	struct listener *next;
};

struct channel {
	struct connection *conn;
	struct drm_call *parked; /* the call this channel's caller waits on */
	int fd;
	pid_t pid;
	uid_t uid;
	struct event_source *src;
	struct channel *next;
};

struct connection {
	struct transport *t;
	int fd;
	struct event_source *src;
	struct drm_file *file;                 /* a DRM node's open file, or */
	struct drm_sw_sync_timeline *timeline; /* a sw_sync node's timeline */
	struct channel *channels;
	unsigned nchannels;
	struct connection *next, *prev;
};

struct transport {
	struct event_loop *loop;
	char runtime_dir[PATH_MAX];
	struct listener *listeners;
	struct connection *conns;
};

static void channel_close(struct channel *ch)
{
	struct connection *c = ch->conn;
	if (ch->parked) {
		struct drm_call *call = ch->parked;
		ch->parked = NULL;
		drm_call_cancel(call);
	}
	for (struct channel **p = &c->channels; *p; p = &(*p)->next) {
		if (*p == ch) {
			*p = ch->next;
			break;
		}
	}
	c->nchannels--;
	event_source_remove(ch->src);
	close(ch->fd);
	free(ch);
}

static void connection_close(struct connection *c)
{
	while (c->channels)
		channel_close(c->channels);
	if (c->prev)
		c->prev->next = c->next;
	else
		c->t->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	event_source_remove(c->src);
	close(c->fd);
	if (c->file)
		drm_file_release(c->file);
	if (c->timeline)
		drm_sw_sync_timeline_destroy(c->timeline);
	free(c);
}

/* A reply send failure means the client is gone or not reading: its channel closes on the next event. */
static void send_reply(struct drm_call *call, struct call_reply *reply, void *data)
{
	struct channel *ch = data;
	struct iovec iov = {.iov_base = reply->payload, .iov_len = reply->len};
	ch->parked = NULL;
	if (rdrm_wire_send(ch->fd, &reply->hdr, &iov, 1, reply->fds, reply->nfds) < 0)
		shutdown(ch->fd, SHUT_RDWR);
}

static void reply_error(struct channel *ch, unsigned cmd, int err)
{
	struct rdrm_wire_hdr hdr = {.type = RDRM_MSG_REPLY, .cmd = cmd, .result = err};
	rdrm_wire_send(ch->fd, &hdr, NULL, 0, NULL, 0);
}

/* The memory behind a fake mmap offset, for a file holding a handle to its object. */
static void serve_mmap(struct channel *ch, struct rdrm_wire_msg *msg)
{
	struct rdrm_wire_mmap req;
	if (msg->hdr.size != sizeof(req) || msg->nfds) {
		reply_error(ch, 0, -EINVAL);
		return;
	}
	memcpy(&req, msg->payload, sizeof(req));
	int err;
	struct drm_gem_object *obj = drm_gem_mmap_lookup(ch->conn->file, req.offset, req.length, &err);
	if (!obj) {
		reply_error(ch, 0, err);
		return;
	}
	req.fd_offset = req.offset - obj->mmap_offset;
	struct rdrm_wire_hdr hdr = {.type = RDRM_MSG_REPLY, .fd_mask = 1};
	struct iovec iov = {.iov_base = &req, .iov_len = sizeof(req)};
	if (rdrm_wire_send(ch->fd, &hdr, &iov, 1, &obj->memfd, 1) < 0)
		shutdown(ch->fd, SHUT_RDWR);
	drm_gem_object_put(obj);
}

/* Looking at the monitor is for the daemon's own user (and root), not for every client. */
static void serve_capture(struct channel *ch, struct rdrm_wire_msg *msg)
{
	struct rdrm_wire_capture req;
	if (msg->hdr.size != sizeof(req) || msg->nfds) {
		reply_error(ch, 0, -EINVAL);
		return;
	}
	if (ch->uid != 0 && ch->uid != geteuid()) {
		reply_error(ch, 0, -EACCES);
		return;
	}
	memcpy(&req, msg->payload, sizeof(req));
	uint32_t *px = NULL, w = 0, h = 0, id = 0;
	int r = drm_kms_capture(ch->conn->file->dev, req.crtc_id, &px, &w, &h, &id);
	if (r) {
		reply_error(ch, 0, r);
		return;
	}
	struct rdrm_wire_capture rep = {.crtc_id = id, .width = w, .height = h, .format = DRM_FORMAT_XRGB8888};
	struct rdrm_wire_hdr hdr = {.type = RDRM_MSG_REPLY};
	struct iovec iov[2] = {{&rep, sizeof(rep)}, {px, (size_t)w * h * 4}};
	if (rdrm_wire_send(ch->fd, &hdr, iov, 2, NULL, 0) < 0)
		shutdown(ch->fd, SHUT_RDWR);
	free(px);
}

static void channel_event(void *data, uint32_t events)
{
	struct channel *ch = data;
	struct rdrm_wire_msg msg;
	int r = rdrm_wire_recv(ch->fd, &msg, MSG_DONTWAIT);
	if (r == -EAGAIN)
		return;
	if (r == -EPROTO) {
		/* Garbage is answered, not trusted; the channel stays usable. */
		log_debug("%s: malformed message from pid %d", ch->conn->file ? ch->conn->file->minor->name : "sw_sync",
			  (int)ch->pid);
		reply_error(ch, 0, -EPROTO);
		return;
	}
	if (r < 0) {
		channel_close(ch);
		return;
	}
	switch (msg.hdr.type) {
	case RDRM_MSG_IOCTL: {
		if (ch->parked) {
			/* One call at a time per channel: the client broke the protocol. */
			reply_error(ch, msg.hdr.cmd, -EBUSY);
			break;
		}
		struct connection *c = ch->conn;
		struct call_target t = {.file = c->file, .driver = c->file ? c->file->dev->driver->name : "sw_sync"};
		int target = -1;
		if (msg.hdr.flags & RDRM_WIRE_F_TARGET) {
			/* An ioctl on a sync_file the client holds: that fd came first. */
			if (!msg.nfds) {
				reply_error(ch, msg.hdr.cmd, -EBADF);
				break;
			}
			target = msg.fds[0];
			memmove(msg.fds, msg.fds + 1, --msg.nfds * sizeof(int));
			t = (struct call_target){.driver = "", .dispatch = sync_file_dispatch};
		} else if (!c->file) {
			t.dispatch = sw_sync_dispatch;
			t.ctx = c->timeline;
		} else if (msg.hdr.cmd == RDRM_IOC_ATTR_WRITE) {
			/* The interposer's debugfs write, about the file's device (not a DRM ioctl). */
			t = (struct call_target){.driver = "", .dispatch = drm_debugfs_dispatch, .ctx = c->file};
		}
		ch->parked = drm_call_execute_target(&t, target, ch->pid, ch->uid, &msg, send_reply, ch);
		/*
		 * Answered: a client on this CPU ran on the reply and may have sent its
		 * next call already. Look again before epoll_wait (loop.h).
		 */
		if (!ch->parked)
			event_source_poll_again(ch->src, EPOLLIN);
		return;
	}
	case RDRM_MSG_MMAP:
	case RDRM_MSG_CAPTURE:
		if (!ch->conn->file)
			reply_error(ch, 0, -ENODEV); /* a sw_sync timeline has no memory or screen */
		else if (msg.hdr.type == RDRM_MSG_MMAP)
			serve_mmap(ch, &msg);
		else
			serve_capture(ch, &msg);
		break;
	default:
		reply_error(ch, msg.hdr.cmd, -EINVAL);
		break;
	}
	rdrm_wire_msg_release(&msg);
}

static void attach_channel(struct connection *c, int fd)
{
	int type = 0;
	socklen_t len = sizeof(type);
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	if (c->nchannels >= MAX_CHANNELS_PER_FILE ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		close(fd);
		return;
	}
	struct channel *ch = calloc(1, sizeof(*ch));
	if (!ch) {
		close(fd);
		return;
	}
	ch->conn = c;
	ch->fd = fd;
	/* The creator of the socketpair is the process that will call through it. */
	ch->pid = cred.pid;
	ch->uid = cred.uid;
	struct rdrm_wire_hello hello = {.minor = c->file ? (uint32_t)c->file->minor->index : 0};
	snprintf(hello.driver, sizeof(hello.driver), "%s", c->file ? c->file->dev->driver->name : "sw_sync");
	struct rdrm_wire_hdr hdr = {.type = RDRM_MSG_HELLO};
	struct iovec iov = {.iov_base = &hello, .iov_len = sizeof(hello)};
	if (rdrm_wire_send(fd, &hdr, &iov, 1, NULL, 0) < 0 ||
	    !(ch->src = event_loop_add_fd(c->t->loop, fd, EPOLLIN, channel_event, ch))) {
		close(fd);
		free(ch);
		return;
	}
	ch->next = c->channels;
	c->channels = ch;
	c->nchannels++;
}

static void connection_event(void *data, uint32_t events)
{
	struct connection *c = data;
	struct rdrm_wire_msg msg;
	int r = rdrm_wire_recv(c->fd, &msg, MSG_DONTWAIT);
	if (r == -EAGAIN)
		return;
	if (r == -EPROTO)
		return; /* garbage on the file connection is dropped */
	if (r < 0) {
		connection_close(c);
		return;
	}
	if (msg.hdr.type == RDRM_MSG_ATTACH && msg.nfds == 1 && msg.hdr.size == 0) {
		int fd = msg.fds[0];
		msg.nfds = 0;
		attach_channel(c, fd);
	}
	rdrm_wire_msg_release(&msg);
}

static void listener_event(void *data, uint32_t events)
{
	struct listener *l = data;
	int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		close(fd);
		return;
	}
	struct connection *c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->t = l->t;
	c->fd = fd;
	if (l->minor)
		c->file = drm_file_open(l->minor, cred.pid, cred.uid);
	else
		c->timeline = drm_sw_sync_timeline_create(l->t->loop, "sw_sync");
	if ((!c->file && !c->timeline) || !(c->src = event_loop_add_fd(l->t->loop, fd, EPOLLIN, connection_event, c))) {
		if (c->file)
			drm_file_release(c->file);
		if (c->timeline)
			drm_sw_sync_timeline_destroy(c->timeline);
		close(fd);
		free(c);
		return;
	}
	if (c->file)
		c->file->transport = c;
	c->next = l->t->conns;
	if (c->next)
		c->next->prev = c;
	l->t->conns = c;
}

/*
 * The budget covers events promised but not yet delivered (the kernel's
 * event_space); delivered ones wait in the socket, whose buffer bounds them.
 */
int drm_event_reserve(struct drm_file *file, uint32_t length)
{
	if (file->event_space < length)
		return -ENOMEM;
	file->event_space -= length;
	return 0;
}

void drm_event_release(struct drm_file *file, uint32_t length)
{
	file->event_space += length;
}

void drm_event_send(struct drm_file *file, const void *event, uint32_t length)
{
	struct connection *c = file->transport;
	drm_event_release(file, length);
	if (!c)
		return;
	/* One event per packet, so read() can return whole events only. */
	if (send(c->fd, event, length, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_warn("%s: event for pid %d dropped: %s", file->minor->name, (int)file->pid, strerror(errno));
}

/*
 * The inode of the socket at the other end of the unix socket with inode ino,
 * from the kernel's socket diagnostics (what ss -x shows), or 0.
 */
static ino_t unix_peer_inode(ino_t ino)
{
	int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (s < 0)
		return 0;
	struct {
		struct nlmsghdr nlh;
		struct unix_diag_req req;
	} msg = {
		.nlh = {.nlmsg_len = sizeof(msg), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST},
		.req = {.sdiag_family = AF_UNIX, .udiag_states = ~0u, .udiag_ino = (uint32_t)ino,
			.udiag_show = UDIAG_SHOW_PEER, .udiag_cookie = {~0u, ~0u}},
	};
	ino_t peer = 0;
	union {
		struct nlmsghdr h;
		char buf[1024];
	} rx;
	if (send(s, &msg, sizeof(msg), 0) == (ssize_t)sizeof(msg)) {
		ssize_t n = recv(s, rx.buf, sizeof(rx.buf), 0);
		struct nlmsghdr *h = &rx.h;
		if (n > 0 && NLMSG_OK(h, (size_t)n) && h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
		    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct unix_diag_msg))) {
			struct unix_diag_msg *m = NLMSG_DATA(h);
			int len = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
			for (struct rtattr *a = (struct rtattr *)(m + 1); RTA_OK(a, len); a = RTA_NEXT(a, len))
				if (a->rta_type == UNIX_DIAG_PEER && RTA_PAYLOAD(a) >= (int)sizeof(uint32_t))
					peer = *(uint32_t *)RTA_DATA(a);
		}
	}
	close(s);
	return peer;
}

struct drm_file *drm_file_lookup_fd(struct drm_file *caller, int fd)
{
	struct connection *self = caller->transport;
	struct stat st;
	if (!self || fd < 0 || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return NULL;
	/* The client holds one end of a connection; the daemon's end is the peer. */
	ino_t peer = unix_peer_inode(st.st_ino);
	if (!peer)
		return NULL;
	for (struct connection *c = self->t->conns; c; c = c->next) {
		struct stat cs;
		if (c->file && fstat(c->fd, &cs) == 0 && cs.st_ino == peer)
			return c->file;
	}
	return NULL;
}

struct transport *transport_create(struct event_loop *loop, const char *runtime_dir)
{
	struct transport *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->loop = loop;
	snprintf(t->runtime_dir, sizeof(t->runtime_dir), "%s", runtime_dir);
	return t;
}

static int listen_on(struct transport *t, struct drm_minor *minor, const char *name)
{
	struct listener *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->t = t;
	l->minor = minor;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	int n = snprintf(l->path, sizeof(l->path), "%s/%s", t->runtime_dir, name);
	if (n < 0 || (size_t)n >= sizeof(addr.sun_path)) {
		free(l);
		return -ENAMETOOLONG;
	}
	memcpy(addr.sun_path, l->path, (size_t)n + 1);
	l->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0)
		goto fail;
	unlink(l->path);
	if (bind(l->fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(l->fd, 128) < 0)
		goto fail;
	/* Anyone may open a node; the ioctl permissions decide what they may do. */
	chmod(l->path, 0666);
	l->src = event_loop_add_fd(t->loop, l->fd, EPOLLIN, listener_event, l);
	if (!l->src)
		goto fail;
	l->next = t->listeners;
	t->listeners = l;
	return 0;
fail:;
	int err = -errno;
	log_error("cannot serve %s: %s", l->path, strerror(errno));
	if (l->fd >= 0)
		close(l->fd);
	free(l);
	return err;
}

int transport_add_device(struct transport *t, struct drm_device *dev)
{
	int r = listen_on(t, &dev->primary, dev->primary.name);
	if (!r)
		r = listen_on(t, &dev->render, dev->render.name);
	return r;
}

int transport_add_sw_sync(struct transport *t)
{
	return listen_on(t, NULL, "sw_sync");
}

void transport_destroy(struct transport *t)
{
	if (!t)
		return;
	while (t->conns)
		connection_close(t->conns);
	while (t->listeners) {
		struct listener *l = t->listeners;
		t->listeners = l->next;
		event_source_remove(l->src);
		close(l->fd);
		unlink(l->path);
		free(l);
	}
	free(t);
}
