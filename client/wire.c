/* Framing of wire messages over SOCK_SEQPACKET: header, payload, SCM_RIGHTS. */
#include "redox-drm/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

enum {
	MSG_OOL_MAPPED = 1,
	MSG_BORROWED = 2, /* payload lies in the thread's receive buffer: nothing to free */
};

static size_t iov_total(const struct iovec *iov, int iovcnt)
{
	size_t total = 0;
	for (int i = 0; i < iovcnt; i++)
		total += iov[i].iov_len;
	return total;
}

/* Puts the payload in a sealed memfd so the receiver can map it and trust it not to change. */
static int make_ool(const struct iovec *iov, int iovcnt, size_t total)
{
	int fd = memfd_create("rdrm-payload", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)total) < 0)
		goto fail;
	off_t off = 0;
	for (int i = 0; i < iovcnt; i++) {
		const char *p = iov[i].iov_base;
		size_t left = iov[i].iov_len;
		while (left) {
			ssize_t w = pwrite(fd, p, left, off);
			if (w <= 0)
				goto fail;
			p += w;
			left -= (size_t)w;
			off += w;
		}
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		goto fail;
	return fd;
fail:;
	int err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

int rdrm_wire_send(int sock, const struct rdrm_wire_hdr *hdr_in, const struct iovec *iov, int iovcnt,
		   const int *fds, unsigned nfds)
{
	struct rdrm_wire_hdr hdr = *hdr_in;
	size_t total = iov_total(iov, iovcnt);
	if (total > RDRM_WIRE_MAX_PAYLOAD || nfds >= RDRM_WIRE_MAX_FDS || iovcnt > 14)
		return -E2BIG;
	hdr.magic = RDRM_WIRE_MAGIC;
	hdr.size = (uint32_t)total;

	int allfds[RDRM_WIRE_MAX_FDS];
	if (nfds)
		memcpy(allfds, fds, nfds * sizeof(int));
	unsigned nall = nfds;
	int ool = -1;
	struct iovec v[16];
	int nv = 0;
	v[nv++] = (struct iovec){.iov_base = &hdr, .iov_len = sizeof(hdr)};
	if (total > RDRM_WIRE_INLINE_MAX) {
		ool = make_ool(iov, iovcnt, total);
		if (ool < 0)
			return ool;
		hdr.flags |= RDRM_WIRE_F_OOL;
		allfds[nall++] = ool;
	} else {
		for (int i = 0; i < iovcnt; i++)
			if (iov[i].iov_len)
				v[nv++] = iov[i];
	}

	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * RDRM_WIRE_MAX_FDS)];
	} cbuf;
	struct msghdr mh = {.msg_iov = v, .msg_iovlen = (size_t)nv};
	if (nall) {
		memset(&cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nall);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nall);
		memcpy(CMSG_DATA(c), allfds, sizeof(int) * nall);
	}
	ssize_t n;
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	int err = n < 0 ? -errno : 0;
	if (ool >= 0)
		close(ool);
	return err;
}

/*
 * The thread's receive buffer (see rx_buffer), busy while a message in it is
 * read: from the receive until its payload is copied out or, borrowed, until
 * its release. Initial-exec: a plain thread-local load in the preloaded
 * library too, no __tls_get_addr call.
 */
#define TLS_IE __attribute__((tls_model("initial-exec")))
static _Thread_local uint8_t *rx_tls TLS_IE;
static _Thread_local bool rx_busy TLS_IE;

static void close_fds(struct rdrm_wire_msg *msg)
{
	for (unsigned i = 0; i < msg->nfds; i++)
		if (msg->fds[i] >= 0)
			close(msg->fds[i]);
	msg->nfds = 0;
}

void rdrm_wire_msg_release(struct rdrm_wire_msg *msg)
{
	close_fds(msg);
	if (msg->flags_internal & MSG_OOL_MAPPED) {
		if (msg->hdr.size)
			munmap(msg->payload, msg->hdr.size);
	} else if (msg->flags_internal & MSG_BORROWED) {
		rx_busy = false;
	} else {
		free(msg->payload);
	}
	msg->payload = NULL;
	msg->flags_internal = 0;
}

static int map_ool(struct rdrm_wire_msg *msg)
{
	int fd = msg->fds[--msg->nfds];
	int seals = fcntl(fd, F_GET_SEALS);
	struct stat st;
	int err = 0;
	if (seals < 0 || (seals & (F_SEAL_WRITE | F_SEAL_SHRINK)) != (F_SEAL_WRITE | F_SEAL_SHRINK) ||
	    fstat(fd, &st) < 0 || st.st_size < 0 || (uint64_t)st.st_size < msg->hdr.size ||
	    msg->hdr.size > RDRM_WIRE_MAX_PAYLOAD) {
		err = -EPROTO;
	} else if (msg->hdr.size) {
		void *p = mmap(NULL, msg->hdr.size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			err = -errno;
		} else {
			msg->payload = p;
			msg->flags_internal |= MSG_OOL_MAPPED;
		}
	}
	close(fd);
	return err;
}

/*
 * Packets land in one buffer per thread, then move to an allocation of their
 * own size (unless borrowed): a fresh 48 KiB allocation per message would
 * make the allocator grow and trim the heap on every request. rx_tls is the
 * hot path's copy of the key's value; the key frees the buffer.
 */
static pthread_key_t rx_key;
static pthread_once_t rx_once = PTHREAD_ONCE_INIT;

/* Freed when its thread exits; the main thread's at exit. */
static void rx_free(void *buf)
{
	free(buf);
	rx_tls = NULL;
}

static void rx_key_init(void)
{
	pthread_key_create(&rx_key, rx_free);
}

static void rx_main_free(void)
{
	free(pthread_getspecific(rx_key));
	pthread_setspecific(rx_key, NULL);
	rx_tls = NULL;
}

static uint8_t *rx_buffer(size_t cap)
{
	if (rx_tls)
		return rx_tls;
	pthread_once(&rx_once, rx_key_init);
	uint8_t *buf = pthread_getspecific(rx_key);
	if (!buf && (buf = malloc(cap))) {
		pthread_setspecific(rx_key, buf);
		static atomic_flag registered = ATOMIC_FLAG_INIT;
		if (!atomic_flag_test_and_set(&registered))
			atexit(rx_main_free);
	}
	rx_tls = buf;
	return buf;
}

/*
 * msg is zeroed; buf holds cap bytes. borrow: an inline payload stays in buf.
 * Inlined into its one caller: a call per message costs a second prologue.
 */
static inline __attribute__((always_inline)) int recv_into(int sock, struct rdrm_wire_msg *msg, int flags,
							   uint8_t *buf, size_t cap, bool borrow)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * RDRM_WIRE_MAX_FDS)];
	} cbuf;
	struct iovec v = {.iov_base = buf, .iov_len = cap};
	struct msghdr mh = {.msg_iov = &v, .msg_iovlen = 1, .msg_control = cbuf.buf,
			    .msg_controllen = sizeof(cbuf.buf)};
	ssize_t n;
	do
		n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? -EPIPE : -errno;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		int tmp[RDRM_WIRE_MAX_FDS];
		if (k > RDRM_WIRE_MAX_FDS)
			k = RDRM_WIRE_MAX_FDS;
		memcpy(tmp, CMSG_DATA(c), k * sizeof(int));
		for (unsigned i = 0; i < k; i++) {
			if (msg->nfds < RDRM_WIRE_MAX_FDS)
				msg->fds[msg->nfds++] = tmp[i];
			else
				close(tmp[i]);
		}
	}
	int err = 0;
	if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || (size_t)n < sizeof(struct rdrm_wire_hdr)) {
		err = -EPROTO;
	} else {
		memcpy(&msg->hdr, buf, sizeof(msg->hdr));
		size_t body = (size_t)n - sizeof(struct rdrm_wire_hdr);
		if (msg->hdr.magic != RDRM_WIRE_MAGIC)
			err = -EPROTO;
		else if (msg->hdr.flags & RDRM_WIRE_F_OOL)
			err = (body || msg->nfds == 0) ? -EPROTO : map_ool(msg);
		else if (body != msg->hdr.size)
			err = -EPROTO;
		else if (borrow) {
			msg->payload = buf + sizeof(struct rdrm_wire_hdr);
			msg->flags_internal |= MSG_BORROWED;
		} else if (!(msg->payload = malloc(body ? body : 1))) {
			err = -ENOMEM;
		} else {
			memcpy(msg->payload, buf + sizeof(struct rdrm_wire_hdr), body);
		}
	}
	if (err) {
		msg->hdr.size = 0;
		rdrm_wire_msg_release(msg);
		return err;
	}
	return 0;
}

static int recv_msg(int sock, struct rdrm_wire_msg *msg, int flags, bool borrow)
{
	memset(msg, 0, sizeof(*msg));
	size_t cap = sizeof(struct rdrm_wire_hdr) + RDRM_WIRE_INLINE_MAX;
	uint8_t *own = NULL, *buf;
	if (rx_busy) {
		/*
		 * The thread's buffer still holds a message being read (this receive
		 * is nested in it, from a signal handler's call): one of its own,
		 * copied out.
		 */
		buf = own = malloc(cap);
		borrow = false;
	} else {
		buf = rx_buffer(cap);
	}
	if (!buf)
		return -ENOMEM;
	if (!own)
		rx_busy = true;
	int r = recv_into(sock, msg, flags, buf, cap, borrow);
	if (own)
		free(own);
	else if (r || !(msg->flags_internal & MSG_BORROWED))
		rx_busy = false; /* a borrowed payload keeps the buffer busy until its release */
	return r;
}

int rdrm_wire_recv(int sock, struct rdrm_wire_msg *msg, int flags)
{
	return recv_msg(sock, msg, flags, false);
}

int rdrm_wire_recv_borrowed(int sock, struct rdrm_wire_msg *msg, int flags)
{
	return recv_msg(sock, msg, flags, true);
}
