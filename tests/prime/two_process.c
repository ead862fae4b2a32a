/*
 * Two processes, unmodified-client style (plain open/ioctl/mmap through the
 * interposer): the first allocates a buffer on card0, writes a pattern,
 * exports it and sends the dma-buf over a Unix socket; the second imports it
 * on the render node, reads the pattern through the dma-buf mapping, and
 * sends back a sync_file exported from a syncobj whose fence the first
 * process's sw_sync timeline controls — the first sees it signal when it
 * advances the timeline. Run under redox-drm-run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/dma-buf.h>
#include <linux/sync_file.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm.h>
#include <drm_mode.h>

#include "redox-drm/client.h"
#include "redox-drm/sw_sync.h"

#define CHECK(cond, ...) do { if (!(cond)) { fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); fprintf(stderr, " (errno %d)\n", errno); exit(1); } } while (0)

static void send_fd(int sock, int fd)
{
	union { struct cmsghdr c; char b[CMSG_SPACE(sizeof(int))]; } cb;
	char byte = 'x';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof(cb.b)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	CHECK(sendmsg(sock, &mh, 0) == 1, "sendmsg");
}

static int recv_fd(int sock)
{
	union { struct cmsghdr c; char b[CMSG_SPACE(sizeof(int))]; } cb;
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof(cb.b)};
	CHECK(recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) == 1, "recvmsg");
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	CHECK(c && c->cmsg_type == SCM_RIGHTS, "no fd came");
	int fd;
	memcpy(&fd, CMSG_DATA(c), sizeof(int));
	return fd;
}

#define W 256
#define H 64

static uint32_t pattern(uint32_t x, uint32_t y)
{
	return (x * 2654435761u) ^ (y << 16) ^ 0x5a5a0000u;
}

/* The second process: import, read, answer with a sync_file. */
static void importer(int sock)
{
	int render = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
	CHECK(render >= 0, "open renderD128");
	int dmabuf = recv_fd(sock);
	uint32_t pitch;
	CHECK(read(sock, &pitch, sizeof(pitch)) == sizeof(pitch), "pitch");
	struct drm_prime_handle im = {.fd = dmabuf};
	CHECK(ioctl(render, DRM_IOCTL_PRIME_FD_TO_HANDLE, &im) == 0, "PRIME_FD_TO_HANDLE");
	/* Importing again on the same file gives the same handle. */
	struct drm_prime_handle again = {.fd = dmabuf};
	CHECK(ioctl(render, DRM_IOCTL_PRIME_FD_TO_HANDLE, &again) == 0 && again.handle == im.handle, "same handle");
	off_t size = lseek(dmabuf, 0, SEEK_END);
	CHECK(size >= (off_t)pitch * H, "dma-buf size %lld", (long long)size);
	struct dma_buf_sync sync = {.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ};
	CHECK(ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, &sync) == 0, "DMA_BUF_IOCTL_SYNC start");
	const uint32_t *px = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, dmabuf, 0);
	CHECK(px != MAP_FAILED, "mmap dma-buf");
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++)
			CHECK(px[y * (pitch / 4) + x] == pattern(x, y), "pixel %u,%u", x, y);
	sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
	CHECK(ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, &sync) == 0, "DMA_BUF_IOCTL_SYNC end");
	sync.flags = 0x100;
	CHECK(ioctl(dmabuf, DMA_BUF_IOCTL_SYNC, &sync) < 0 && errno == EINVAL, "bad sync flags");

	/* The first process's pending fence goes into a syncobj, which goes back out as a sync_file. */
	int pending = recv_fd(sock);
	struct drm_syncobj_create sc = {0};
	CHECK(ioctl(render, DRM_IOCTL_SYNCOBJ_CREATE, &sc) == 0, "SYNCOBJ_CREATE");
	struct drm_syncobj_handle in = {.handle = sc.handle, .flags = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE,
					.fd = pending};
	CHECK(ioctl(render, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &in) == 0, "import sync_file");
	struct drm_syncobj_handle out = {.handle = sc.handle, .flags = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE};
	CHECK(ioctl(render, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &out) == 0, "export sync_file");
	send_fd(sock, out.fd);
	/* And it waits on the syncobj itself too: parked in the daemon until the timeline moves. */
	uint32_t h = sc.handle;
	struct drm_syncobj_wait wait = {.handles = (uintptr_t)&h, .count_handles = 1, .timeout_nsec = INT64_MAX};
	CHECK(ioctl(render, DRM_IOCTL_SYNCOBJ_WAIT, &wait) == 0, "SYNCOBJ_WAIT");
	char done = 'd';
	CHECK(write(sock, &done, 1) == 1, "done");
	exit(0);
}

int main(void)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
	pid_t pid = fork();
	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		close(sv[0]);
		importer(sv[1]);
	}
	close(sv[1]);

	int card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	CHECK(card >= 0, "open card0");
	struct drm_mode_create_dumb cd = {.width = W, .height = H, .bpp = 32};
	CHECK(ioctl(card, DRM_IOCTL_MODE_CREATE_DUMB, &cd) == 0, "CREATE_DUMB");
	struct drm_mode_map_dumb md = {.handle = cd.handle};
	CHECK(ioctl(card, DRM_IOCTL_MODE_MAP_DUMB, &md) == 0, "MAP_DUMB");
	uint32_t *map = mmap(NULL, cd.size, PROT_READ | PROT_WRITE, MAP_SHARED, card, (off_t)md.offset);
	CHECK(map != MAP_FAILED, "mmap");
	for (uint32_t y = 0; y < H; y++)
		for (uint32_t x = 0; x < W; x++)
			map[y * (cd.pitch / 4) + x] = pattern(x, y);
	struct drm_prime_handle ex = {.handle = cd.handle, .flags = DRM_CLOEXEC | DRM_RDWR};
	CHECK(ioctl(card, DRM_IOCTL_PRIME_HANDLE_TO_FD, &ex) == 0, "PRIME_HANDLE_TO_FD");
	send_fd(sv[0], ex.fd);
	CHECK(write(sv[0], &cd.pitch, sizeof(cd.pitch)) == sizeof(cd.pitch), "pitch");

	/* A fence only this process can signal: a sw_sync timeline. */
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/sw_sync", getenv("REDOX_DRM_RUNTIME_DIR"));
	int tl = rdrm_connect(path, O_CLOEXEC);
	struct rdrm_wire_hello hello;
	int tch = tl < 0 ? tl : rdrm_channel_open(tl, &hello);
	CHECK(tch >= 0, "sw_sync");
	struct sw_sync_create_fence_data f = {.value = 1, .name = "two-process"};
	CHECK(rdrm_call(tch, "sw_sync", SW_SYNC_IOC_CREATE_FENCE, &f) == 0, "CREATE_FENCE");
	send_fd(sv[0], f.fence);

	int back = recv_fd(sv[0]);
	struct pollfd p = {.fd = back, .events = POLLIN};
	CHECK(poll(&p, 1, 100) == 0, "signalled too early");
	struct sync_file_info info = {0};
	CHECK(ioctl(back, SYNC_IOC_FILE_INFO, &info) == 0 && info.status == 0 && info.num_fences == 1,
	      "SYNC_IOC_FILE_INFO before: status %d, %u fences", info.status, info.num_fences);
	uint32_t inc = 1;
	CHECK(rdrm_call(tch, "sw_sync", SW_SYNC_IOC_INC, &inc) == 0, "INC");
	CHECK(poll(&p, 1, 2000) == 1, "the sync_file did not signal");
	info = (struct sync_file_info){0};
	CHECK(ioctl(back, SYNC_IOC_FILE_INFO, &info) == 0 && info.status == 1, "status after: %d", info.status);
	char done;
	CHECK(read(sv[0], &done, 1) == 1 && done == 'd', "the importer's wait did not end");
	int st;
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "importer failed");
	printf("two processes: dma-buf pattern read back, sync_file signalled across\n");
	return 0;
}
