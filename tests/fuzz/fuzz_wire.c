/*
 * libFuzzer target: arbitrary bytes as a message on a client channel, through
 * the real framing (rdrm_wire_recv), decoder and ioctl dispatch, on a device
 * with GEM objects and a virtual display (KMS) to poke at. Input: byte 0 picks the file (master,
 * second primary client, render client) and the caller's uid, and with bit 6 decodes the packet
 * with the i915 layouts (extension chains, nested relocations, flagged fds) into a handler that
 * reads every region it was given; the rest is the packet. Anything may be refused; nothing may
 * crash or leak.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "call.h"
#include "harness.h"
#include "kms_harness.h"
#include "redox-drm/driver.h"
#include "redox-drm/gem.h"
#include "redox-drm/loop.h"

static struct drm_device *dev;
static struct event_loop *loop;
static struct drm_file *files[3];
static int sv[2];

static void drop_reply(struct drm_call *call, struct call_reply *reply, void *data)
{
	/* The reply must be well formed enough to send: exercise the encoder on it. */
	struct iovec iov = {.iov_base = reply->payload, .iov_len = reply->len};
	if (rdrm_wire_send(sv[1], &reply->hdr, &iov, 1, reply->fds, reply->nfds) == 0) {
		struct rdrm_wire_msg m;
		if (rdrm_wire_recv(sv[0], &m, MSG_DONTWAIT) == 0)
			rdrm_wire_msg_release(&m);
	}
}

/* The three files, each with an object of small handle so that guesses hit something. */
static void open_files(void)
{
	files[0] = drm_file_open(&dev->primary, 10, 1000);
	files[1] = drm_file_open(&dev->primary, 20, 1000);
	files[2] = drm_file_open(&dev->render, 30, 1000);
	for (int i = 0; i < 3; i++) {
		struct drm_gem_object *obj = drm_gem_object_create(dev, 4096);
		uint32_t h;
		drm_gem_handle_create(files[i], obj, &h);
		drm_gem_object_put(obj);
	}
}

static void setup(void)
{
	loop = event_loop_create();
	dev = kms_test_device_create(loop); /* GEM and KMS: a virtual display with a 60 Hz vblank */
	open_files();
	socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
	int sz = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

/* Reads back what the decoder registered, byte by byte at region edges, as a handler would. */
static int i915_layout_probe(struct drm_call *call, unsigned int cmd, void *kdata, void *ctx)
{
	(void)cmd;
	(void)kdata;
	(void)ctx;
	for (unsigned i = 0; i < call->nregions; i++) {
		const struct call_region *r = &call->regions[i];
		uint8_t b[16];
		size_t n = r->bytes < sizeof(b) ? (size_t)r->bytes : sizeof(b);
		if (n && (r->dir & 1))
			drm_copy_from_user(call, b, r->uptr + r->bytes - n, n);
		if (n && (r->dir & 2))
			drm_copy_to_user(call, r->uptr, b, n);
	}
	return -EINVAL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dev)
		setup();
	if (size < 1 || size > 4096)
		return 0;
	struct drm_file *file = files[data[0] % 3];
	uid_t uid = (data[0] & 0x80) ? 0 : 1000;
	if (send(sv[0], data + 1, size - 1, MSG_DONTWAIT) < 0)
		return 0;
	struct rdrm_wire_msg msg;
	if (rdrm_wire_recv(sv[1], &msg, MSG_DONTWAIT) != 0)
		return 0;
	if (msg.hdr.type != RDRM_MSG_IOCTL) {
		rdrm_wire_msg_release(&msg);
		return 0;
	}
	if (data[0] & 0x40) {
		struct call_target t = {.file = NULL, .driver = "i915", .dispatch = i915_layout_probe};
		drm_call_execute_target(&t, -1, file->pid, uid, &msg, drop_reply, NULL);
		return 0;
	}
	struct drm_call *parked = drm_call_execute(file, file->pid, uid, &msg, drop_reply, NULL);
	if (parked)
		drm_call_cancel(parked); /* the caller went away while it waited */
	event_loop_dispatch(loop, 0); /* vblanks that came due finish commits */
	/*
	 * Objects inputs create live on with their files (each holds a memfd):
	 * now and then the clients close, freeing everything they held, and
	 * new ones open, so a long run stays within the fd limit.
	 */
	static unsigned runs;
	if (++runs % 20000 == 0) {
		for (int i = 0; i < 3; i++)
			drm_file_release(files[i]);
		open_files();
	}
	return 0;
}
