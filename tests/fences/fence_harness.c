#include "fence_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>

#include "harness.h"
#include "redox-drm/client.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/loop.h"
#include "redox-drm/sync_file.h"
#include "transport.h"

static void stop_cb(void *data, uint32_t events)
{
	struct fence_server *s = data;
	uint64_t v;
	if (read(s->stop_fd, &v, sizeof(v)) == sizeof(v))
		event_loop_stop(s->loop);
}

static void run_cb(void *data, uint32_t events)
{
	struct fence_server *s = data;
	uint64_t v;
	if (read(s->run_fd, &v, sizeof(v)) != sizeof(v))
		return;
	pthread_mutex_lock(&s->lock);
	void (*fn)(struct fence_server *, void *) = s->fn;
	void *arg = s->arg;
	pthread_mutex_unlock(&s->lock);
	if (fn)
		fn(s, arg);
	pthread_mutex_lock(&s->lock);
	s->pending = 0;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void *serve(void *data)
{
	struct fence_server *s = data;
	event_loop_run(s->loop);
	return NULL;
}

int fence_server_start(struct fence_server *s, uint32_t features)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->dir, sizeof(s->dir), "/tmp/rdrm-fence-XXXXXX");
	if (!mkdtemp(s->dir))
		return -errno;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->loop = event_loop_create();
	s->dev = test_device_create(features);
	if (!s->loop || !s->dev)
		return -ENOMEM;
	s->dev->loop = s->loop;
	s->transport = transport_create(s->loop, s->dir);
	int r = transport_add_device(s->transport, s->dev);
	if (r)
		return r;
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	s->run_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	event_loop_add_fd(s->loop, s->stop_fd, EPOLLIN, stop_cb, s);
	event_loop_add_fd(s->loop, s->run_fd, EPOLLIN, run_cb, s);
	return -pthread_create(&s->thread, NULL, serve, s);
}

void fence_server_stop(struct fence_server *s)
{
	uint64_t one = 1;
	if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
		return;
	pthread_join(s->thread, NULL);
	transport_destroy(s->transport);
	test_device_destroy(s->dev);
	drm_fdobj_loop_fini(s->loop);
	event_loop_destroy(s->loop);
	close(s->stop_fd);
	close(s->run_fd);
	rmdir(s->dir);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
}

void fence_server_run(struct fence_server *s, void (*fn)(struct fence_server *s, void *arg), void *arg)
{
	pthread_mutex_lock(&s->lock);
	s->fn = fn;
	s->arg = arg;
	s->pending = 1;
	pthread_mutex_unlock(&s->lock);
	uint64_t one = 1;
	if (write(s->run_fd, &one, sizeof(one)) != sizeof(one))
		return;
	pthread_mutex_lock(&s->lock);
	while (s->pending)
		pthread_cond_wait(&s->cond, &s->lock);
	pthread_mutex_unlock(&s->lock);
}

int fence_client_open(struct fence_server *s, struct fence_client *c, const char *node)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", s->dir, node);
	c->file = rdrm_connect(path, O_CLOEXEC);
	if (c->file < 0)
		return c->file;
	c->chan = rdrm_channel_open(c->file, &c->hello);
	return c->chan < 0 ? c->chan : 0;
}

void fence_client_close(struct fence_client *c)
{
	close(c->chan);
	close(c->file);
}

int fence_client_channel(struct fence_client *c)
{
	struct rdrm_wire_hello hello;
	return rdrm_channel_open(c->file, &hello);
}

int fence_ioctl(struct fence_client *c, unsigned long cmd, void *arg)
{
	return rdrm_call(c->chan, c->hello.driver, cmd, arg);
}

int fence_send(int chan, unsigned long cmd, const void *arg, size_t size, const void *a1, size_t n1,
	       const void *a2, size_t n2)
{
	static const uint8_t zero[8];
	struct iovec iov[6];
	int n = 0;
	iov[n++] = (struct iovec){(void *)arg, size};
	if (rdrm_wire_align(size) != size)
		iov[n++] = (struct iovec){(void *)zero, rdrm_wire_align(size) - size};
	if (n1) {
		iov[n++] = (struct iovec){(void *)a1, n1};
		if (rdrm_wire_align(n1) != n1)
			iov[n++] = (struct iovec){(void *)zero, rdrm_wire_align(n1) - n1};
	}
	if (n2) {
		iov[n++] = (struct iovec){(void *)a2, n2};
		if (rdrm_wire_align(n2) != n2)
			iov[n++] = (struct iovec){(void *)zero, rdrm_wire_align(n2) - n2};
	}
	struct rdrm_wire_hdr hdr = {.type = RDRM_MSG_IOCTL, .cmd = (uint32_t)cmd};
	return rdrm_wire_send(chan, &hdr, iov, n, NULL, 0);
}

int fence_recv(int chan, void *arg, size_t size, int timeout_ms)
{
	struct pollfd p = {.fd = chan, .events = POLLIN};
	int n = poll(&p, 1, timeout_ms);
	if (n == 0)
		return -ETIMEDOUT;
	if (n < 0)
		return -errno;
	struct rdrm_wire_msg msg;
	int r = rdrm_wire_recv(chan, &msg, 0);
	if (r)
		return r;
	if (msg.hdr.type != RDRM_MSG_REPLY || msg.hdr.size < size) {
		r = -EPROTO;
	} else {
		memcpy(arg, msg.payload, size);
		r = msg.hdr.result;
	}
	rdrm_wire_msg_release(&msg);
	return r;
}

int fence_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n - 3; /* ".", "..", and the directory's own fd */
}
