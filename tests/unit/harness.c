#include "harness.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <drm.h>

#include "call.h"
#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/hw.h"
#include "redox-drm/gem.h"
#include "redox-drm/ioctl_layout.h"

static bool test_match(const struct hw_pci_id *id)
{
	return true;
}

static int test_load(struct drm_device *dev)
{
	return 0;
}

/* One driver struct per feature set: the core reads features through dev->driver. */
struct test_driver_slot {
	struct drm_driver drv;
	struct test_device td;
};

struct drm_device *test_device_create(uint32_t features)
{
	struct test_driver_slot *s = calloc(1, sizeof(*s));
	s->drv = (struct drm_driver){
		.name = "testdrv", .desc = "test driver", .date = "20260101",
		.major = 3, .minor = 7, .patchlevel = 1,
		.features = features, .match = test_match, .load = test_load,
	};
	struct drm_device *dev = &s->td.dev;
	s->td.hw.pci = (struct hw_pci_id){.vendor = 0x1234, .device = 0x5678, .domain = 0, .bus = 0x42,
					  .dev = 3, .func = 1};
	dev->driver = &s->drv;
	dev->hw = &s->td.hw;
	dev->primary = (struct drm_minor){.dev = dev, .type = DRM_MINOR_PRIMARY, .index = 0, .name = "card0"};
	dev->render = (struct drm_minor){.dev = dev, .type = DRM_MINOR_RENDER, .index = 128, .name = "renderD128"};
	drm_gem_device_init(dev);
	return dev;
}

void test_device_set_kms(struct drm_device *dev, const struct drm_kms_funcs *funcs)
{
	((struct drm_driver *)dev->driver)->kms = funcs;
}

void test_device_destroy(struct drm_device *dev)
{
	while (dev->files)
		drm_file_release(dev->files);
	drm_gem_device_fini(dev);
	free((char *)dev - offsetof(struct test_driver_slot, td.dev));
}

/* Registers the arrays of arg's layout by their real addresses, then runs the ioctl. */
static int add_region(void *ctx, const struct rdrm_array *a, uint64_t uptr, uint64_t count,
		      uint64_t bytes, const void **data)
{
	struct drm_call *call = ctx;
	*data = (const void *)(uintptr_t)uptr;
	if (!uptr)
		return 0;
	return drm_call_add_region(call, uptr, bytes, a->dir, (void *)(uintptr_t)uptr);
}

int test_ioctl(struct drm_file *file, pid_t pid, uid_t uid, unsigned cmd, void *arg)
{
	struct drm_call call;
	drm_call_init(&call, file, pid, uid);
	call.cmd = cmd;
	const struct rdrm_ioctl_info *info = rdrm_ioctl_lookup(file->dev->driver->name, cmd);
	size_t size = _IOC_SIZE(cmd);
	uint8_t kdata[1024] = {0};
	if (size > sizeof(kdata))
		return -EINVAL;
	if (size)
		memcpy(kdata, arg, size);
	int r = 0;
	if (info) {
		struct rdrm_walk_visitor v = {.visit = add_region, .ctx = &call};
		r = rdrm_layout_walk(&info->layout, arg, size, &v);
	}
	if (!r)
		r = drm_ioctl(file, cmd, kdata, &call);
	if (size)
		memcpy(arg, kdata, size);
	drm_call_fini(&call);
	return r;
}

static void send_reply(struct drm_call *call, struct call_reply *reply, void *data)
{
	struct test_channel *ch = data;
	struct iovec iov = {.iov_base = reply->payload, .iov_len = reply->len};
	rdrm_wire_send(ch->server_fd, &reply->hdr, &iov, 1, reply->fds, reply->nfds);
}

static void *serve(void *data)
{
	struct test_channel *ch = data;
	for (;;) {
		struct rdrm_wire_msg msg;
		int r = rdrm_wire_recv(ch->server_fd, &msg, 0);
		if (r == -EPIPE || r == -EBADF || r == -ECONNRESET)
			break;
		if (r < 0) {
			struct rdrm_wire_hdr h = {.type = RDRM_MSG_REPLY, .result = r};
			rdrm_wire_send(ch->server_fd, &h, NULL, 0, NULL, 0);
			continue;
		}
		/* The harness has no event loop: nothing here may park. */
		struct drm_call *parked = drm_call_execute(ch->file, ch->pid, ch->uid, &msg, send_reply, ch);
		if (parked)
			drm_call_complete(parked, -EIO);
	}
	return NULL;
}

int test_channel_start(struct test_channel *ch, struct drm_file *file, pid_t pid, uid_t uid)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	ch->fd = sv[0];
	ch->server_fd = sv[1];
	ch->file = file;
	ch->pid = pid;
	ch->uid = uid;
	return -pthread_create(&ch->thread, NULL, serve, ch);
}

void test_channel_stop(struct test_channel *ch)
{
	shutdown(ch->fd, SHUT_RDWR);
	pthread_join(ch->thread, NULL);
	close(ch->fd);
	close(ch->server_fd);
}

struct sim_fixture *sim_fixture_create(const char *model, int index, unsigned nfiles)
{
	struct sim_fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->ch.fd = f->ch2.fd = -1;
	f->hw = hw_sim_create(model, index);
	f->dev = f->hw ? drm_dev_create(f->hw, index, NULL) : NULL;
	if (f->dev)
		f->file = drm_file_open(&f->dev->render, 100, 1000);
	if (f->file && test_channel_start(&f->ch, f->file, 100, 1000))
		f->file = NULL;
	if (f->file && nfiles > 1) {
		f->file2 = drm_file_open(&f->dev->render, 200, 1000);
		if (f->file2 && test_channel_start(&f->ch2, f->file2, 200, 1000))
			f->file2 = NULL;
	}
	if (!f->file || (nfiles > 1 && !f->file2)) {
		sim_fixture_destroy(f);
		return NULL;
	}
	return f;
}

void sim_fixture_destroy(struct sim_fixture *f)
{
	if (f->ch.fd >= 0)
		test_channel_stop(&f->ch);
	if (f->ch2.fd >= 0)
		test_channel_stop(&f->ch2);
	if (f->dev)
		drm_dev_destroy(f->dev);
	if (f->hw)
		hw_destroy(f->hw);
	free(f);
}
