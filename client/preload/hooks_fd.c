/*
 * Descriptor-based entry points: ioctl, read, write and mmap on node fds
 * (DRM files and sw_sync timelines), and close/dup/fcntl to keep the fd
 * table right. Every hook first tests a lock-free per-fd flag, so other
 * descriptors cost one load.
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm.h>
#include <i915_drm.h>
#include <linux/dma-buf.h>
#include <linux/sync_file.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "redox-drm/client.h"
#include "redox-drm/sw_sync.h"

REAL_DECL(int, close, (int))
REAL_DECL(int, close_range, (unsigned, unsigned, int))
REAL_DECL(void, closefrom, (int))
REAL_DECL(int, dup, (int))
REAL_DECL(int, dup2, (int, int))
REAL_DECL(int, dup3, (int, int, int))
REAL_DECL(int, fcntl, (int, int, ...))
REAL_DECL(int, fcntl64, (int, int, ...))
REAL_DECL(int, ioctl, (int, unsigned long, ...))
REAL_DECL(ssize_t, read, (int, void *, size_t))
REAL_DECL(ssize_t, write, (int, const void *, size_t))
REAL_DECL(void *, mmap, (void *, size_t, int, int, int, off_t))
REAL_DECL(void *, mmap64, (void *, size_t, int, int, int, off64_t))

extern void __chk_fail(void) __attribute__((noreturn));

static bool is_node(int fd)
{
	return (rdrm_fd_flags_get(fd) & FDF_DRM) && !rdrm_guard;
}

static bool is_sw_sync(int fd)
{
	return (rdrm_fd_flags_get(fd) & FDF_SW_SYNC) != 0;
}

/* How the file behind a node fd was opened; O_RDWR if it is gone meanwhile (the call then fails anyway). */
static int node_accmode(int fd)
{
	struct rfile *f = fdt_get(fd);
	if (!f)
		return O_RDWR;
	struct rfile_info info;
	rfile_info(f, &info);
	fdt_put(f);
	return info.accmode;
}

/* ---- close and dup ---- */

RDRM_VISIBLE int close(int fd)
{
	if (rdrm_fd_flags_get(fd))
		fdt_forget(fd);
	return real_close()(fd);
}

RDRM_VISIBLE int close_range(unsigned first, unsigned last, int flags)
{
	if (!real_close_range()) {
		errno = ENOSYS;
		return -1;
	}
	int r = real_close_range()(first, last, flags);
	if (r == 0 && !(flags & CLOSE_RANGE_CLOEXEC))
		fdt_forget_range(first, last);
	return r;
}

RDRM_VISIBLE void closefrom(int lowfd)
{
	if (lowfd < 0)
		lowfd = 0;
	fdt_forget_range((unsigned)lowfd, ~0u);
	if (real_closefrom())
		real_closefrom()(lowfd);
}

RDRM_VISIBLE int dup(int fd)
{
	int r = real_dup()(fd);
	if (r >= 0 && rdrm_fd_flags_get(fd))
		fdt_dup(fd, r);
	return r;
}

RDRM_VISIBLE int dup2(int fd, int fd2)
{
	int r = real_dup2()(fd, fd2);
	if (r >= 0)
		fdt_dup(fd, r); /* also drops what fd2 was */
	return r;
}

RDRM_VISIBLE int dup3(int fd, int fd2, int flags)
{
	int r = real_dup3()(fd, fd2, flags);
	if (r >= 0)
		fdt_dup(fd, r);
	return r;
}

/*
 * fcntl's third argument is an int or a pointer depending on cmd; like
 * libc's own wrapper, take it as a pointer-sized value and hand it on.
 */
static int fcntl_common(bool is64, int fd, int cmd, void *arg)
{
	int (*fn)(int, int, ...) = is64 && real_fcntl64() ? real_fcntl64() : real_fcntl();
	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) {
		int r = fn(fd, cmd, (int)(intptr_t)arg);
		if (r >= 0 && rdrm_fd_flags_get(fd))
			fdt_dup(fd, r);
		return r;
	}
	return fn(fd, cmd, arg);
}

RDRM_VISIBLE int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(false, fd, cmd, arg);
}

RDRM_VISIBLE int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(true, fd, cmd, arg);
}

/* ---- ioctl ---- */

static void *map_offset(void *addr, size_t len, int prot, int flags, int fd, uint64_t off, bool check_access);

static bool is_i915_gem_mmap(const char *driver, unsigned long request)
{
	return _IOC_NR(request) == DRM_COMMAND_BASE + DRM_I915_GEM_MMAP &&
	       _IOC_DIR(request) == (_IOC_READ | _IOC_WRITE) && strcmp(driver, "i915") == 0;
}

/*
 * Legacy I915_GEM_MMAP: the daemon checked the call and answered with the
 * fake mmap offset of the range in addr_ptr; the mapping the kernel would
 * have made (read/write, shared, whatever the fd's access mode) is made
 * here, and its address replaces the offset. 0 or -errno.
 */
static int i915_gem_mmap_finish(int fd, void *arg)
{
	struct drm_i915_gem_mmap *a = arg;
	void *p = map_offset(NULL, (size_t)a->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, a->addr_ptr, false);
	if (p == MAP_FAILED) {
		a->addr_ptr = 0;
		return -errno;
	}
	a->addr_ptr = (uint64_t)(uintptr_t)p;
	return 0;
}

static int node_ioctl(int fd, unsigned long request, void *arg)
{
	switch (request) {
	case FIOCLEX:
	case FIONCLEX:
	case FIONBIO:
	case FIOASYNC:
		/* The kernel handles these for every file before the driver sees them. */
		return real_ioctl()(fd, request, arg);
	}
	/*
	 * Only the node's own type reaches the daemon: DRM's on a DRM node,
	 * 'W' on sw_sync. The kernel would pass any other number to the DRM
	 * driver, which indexes its table by the low byte alone and so could
	 * run a DRM ioctl under a foreign number; refusing them is the honest
	 * answer. sw_sync's handler knows its own numbers and nothing else,
	 * DRM's included.
	 */
	unsigned type = is_sw_sync(fd) ? SW_SYNC_IOC_MAGIC : DRM_IOCTL_BASE;
	if (_IOC_TYPE(request) != type) {
		errno = ENOTTY;
		return -1;
	}
	char driver[32];
	int ch;
	struct rfile *f = fdt_call_begin(fd, &ch, driver);
	if (!f) {
		errno = EBADF;
		return -1;
	}
	int r;
	if (ch < 0) {
		r = ch;
	} else {
		rdrm_guard++;
		r = rdrm_call(ch, driver, request, arg);
		rdrm_guard--;
	}
	fdt_call_end(f, ch, r == -EPIPE || r == -ECONNRESET || r == -EPROTO);
	if (r == 0 && is_i915_gem_mmap(driver, request))
		r = i915_gem_mmap_finish(fd, arg);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

/*
 * sync_files the daemon made are sockets; their SYNC_IOC_* go to the daemon
 * with the fd attached, over one channel this process keeps for that (on
 * the sw_sync node, which every daemon serves).
 */
static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;
static int sync_file_fd = -1, sync_chan = -1;
static pid_t sync_pid;

static int sync_channel_locked(void)
{
	if (sync_chan >= 0 && sync_pid == getpid())
		return sync_chan;
	/* A forked child reopens: the parent's channel is not for it. */
	if (sync_chan >= 0) {
		close(sync_chan);
		close(sync_file_fd);
		sync_chan = sync_file_fd = -1;
	}
	char path[PATH_MAX + 16];
	snprintf(path, sizeof(path), "%s/" RDRM_SW_SYNC_NODE, rdrm_pm()->runtime);
	sync_file_fd = rdrm_connect(path, O_CLOEXEC);
	if (sync_file_fd < 0)
		return sync_file_fd;
	struct rdrm_wire_hello hello;
	sync_chan = rdrm_channel_open(sync_file_fd, &hello);
	if (sync_chan < 0) {
		close(sync_file_fd);
		sync_file_fd = -1;
		return sync_chan;
	}
	sync_pid = getpid();
	/* Never mistaken for the client's own fds, and never read by the read() hook. */
	fdt_mark_channel(sync_file_fd);
	fdt_mark_channel(sync_chan);
	return sync_chan;
}

static int sync_file_ioctl(int fd, unsigned long request, void *arg)
{
	pthread_mutex_lock(&sync_lock);
	rdrm_guard++;
	int ch = sync_channel_locked();
	int r = ch < 0 ? ch : rdrm_call_target(ch, fd, request, arg);
	rdrm_guard--;
	pthread_mutex_unlock(&sync_lock);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

/* Buffers the daemon exports are its memfds ("rdrm-..."); the kernel syncs CPU access on them. */
static bool is_rdrm_dmabuf(int fd)
{
	char path[64], link[128];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	return strncmp(link, "/memfd:rdrm-", 12) == 0;
}

static int dmabuf_sync(const struct dma_buf_sync *s)
{
	/* The memory is coherent shared memory: nothing to flush, but the flags are the kernel's to check. */
	if (!s || (s->flags & ~DMA_BUF_SYNC_VALID_FLAGS_MASK) || !(s->flags & DMA_BUF_SYNC_RW)) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

RDRM_VISIBLE int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (is_node(fd))
		return node_ioctl(fd, request, arg);
	if (!rdrm_guard && (request == SYNC_IOC_MERGE || request == SYNC_IOC_FILE_INFO)) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) && !(rdrm_fd_flags_get(fd) & FDF_CHANNEL))
			return sync_file_ioctl(fd, request, arg);
	}
	if (!rdrm_guard && request == DMA_BUF_IOCTL_SYNC && is_rdrm_dmabuf(fd))
		return dmabuf_sync(arg);
	/* A node fd this process did not open itself (inherited, received) is recognised here. */
	if ((_IOC_TYPE(request) == DRM_IOCTL_BASE || _IOC_TYPE(request) == SW_SYNC_IOC_MAGIC) && !rdrm_guard &&
	    !(rdrm_fd_flags_get(fd) & FDF_CHANNEL) && fdt_identify(fd))
		return node_ioctl(fd, request, arg);
	return real_ioctl()(fd, request, arg);
}

/* ---- read, write ---- */

static ssize_t drm_read(int fd, void *buf, size_t count)
{
	rdrm_guard++;
	ssize_t r = rdrm_read_events(fd, buf, count);
	rdrm_guard--;
	if (r < 0) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/*
 * The kernel's sw_sync file has no read or write: the VFS answers EBADF
 * for a direction the file was not opened for, else EINVAL.
 */
static ssize_t sw_sync_rw(int fd, int denied_accmode)
{
	errno = node_accmode(fd) == denied_accmode ? EBADF : EINVAL;
	return -1;
}

/* A debugfs attribute opened write-only: the VFS refuses reads (the tree's file underneath is read-only). */
static bool attr_unreadable(int fd)
{
	int acc = O_RDONLY;
	char path[PATH_MAX];
	return !rdrm_guard && (rdrm_fd_flags_get(fd) & FDF_ATTR) && fdt_attr(fd, path, sizeof(path), &acc) &&
	       acc == O_WRONLY;
}

RDRM_VISIBLE ssize_t read(int fd, void *buf, size_t count)
{
	if (is_node(fd))
		return is_sw_sync(fd) ? sw_sync_rw(fd, O_WRONLY) : drm_read(fd, buf, count);
	if (attr_unreadable(fd)) {
		errno = EBADF;
		return -1;
	}
	return real_read()(fd, buf, count);
}

ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen);

RDRM_VISIBLE ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen)
{
	if (count > buflen)
		__chk_fail();
	return read(fd, buf, count);
}

/*
 * A write to a debugfs attribute: the daemon runs it on the device through
 * a file of its own on the render node (a card node would make it a master
 * candidate), as a root-only request. Like the kernel's simple attributes,
 * the start of the buffer is parsed and the whole count is claimed.
 */
ssize_t rdrm_attr_write(int fd, const void *buf, size_t count)
{
	char path[PATH_MAX];
	int acc = O_RDONLY;
	if (!fdt_attr(fd, path, sizeof(path), &acc) || acc == O_RDONLY) {
		errno = EBADF;
		return -1;
	}
	/* path is RDRM_DEBUGFS_DRI "/<minor>/<name>" (checked when it was opened). */
	const char *p = path + strlen(RDRM_DEBUGFS_DRI) + 1;
	char *end;
	long minor = strtol(p, &end, 10);
	struct rdrm_wire_attr_write w;
	memset(&w, 0, sizeof(w));
	if (end == p || *end != '/' || minor < 0 || minor >= 192 || strlen(end + 1) >= sizeof(w.name)) {
		errno = EACCES;
		return -1;
	}
	strcpy(w.name, end + 1);
	w.len = count < sizeof(w.data) ? (uint32_t)count : (uint32_t)sizeof(w.data);
	memcpy(w.data, buf, w.len);
	char sock[PATH_MAX + 32];
	snprintf(sock, sizeof(sock), "%s/renderD%ld", rdrm_pm()->runtime, minor < 64 ? minor + 128 : minor);
	rdrm_guard++;
	int r = rdrm_connect(sock, O_CLOEXEC);
	if (r >= 0) {
		int conn = r;
		struct rdrm_wire_hello hello;
		int ch = rdrm_channel_open(conn, &hello);
		r = ch < 0 ? ch : rdrm_call(ch, "", RDRM_IOC_ATTR_WRITE, &w);
		if (ch >= 0)
			real_close()(ch);
		real_close()(conn);
	}
	rdrm_guard--;
	if (r < 0) {
		/* No daemon behind the tree any more: the device is gone. */
		errno = r == -ECONNREFUSED || r == -ENOENT ? ENODEV : -r;
		return -1;
	}
	return (ssize_t)count;
}

/* DRM files have no write(): the kernel answers EINVAL. */
RDRM_VISIBLE ssize_t write(int fd, const void *buf, size_t count)
{
	if (is_node(fd)) {
		if (is_sw_sync(fd))
			return sw_sync_rw(fd, O_RDONLY);
		errno = EINVAL;
		return -1;
	}
	if (!rdrm_guard && (rdrm_fd_flags_get(fd) & FDF_ATTR))
		return rdrm_attr_write(fd, buf, count);
	return real_write()(fd, buf, count);
}

/* ---- mmap: a fake offset of a DRM fd becomes a mapping of the object's memfd ---- */

/* check_access: the mapping is the client's own mmap() of the DRM fd, so the fd's access mode applies. */
static void *map_offset(void *addr, size_t len, int prot, int flags, int fd, uint64_t off, bool check_access)
{
	if (len == 0) {
		errno = EINVAL;
		return MAP_FAILED;
	}
	struct rfile *f = fdt_get(fd);
	if (!f) {
		errno = EBADF;
		return MAP_FAILED;
	}
	struct rfile_info info;
	rfile_info(f, &info);
	/* As for any file: a shared writable mapping needs a file opened for writing. */
	if (check_access && (flags & MAP_TYPE) == MAP_SHARED && (prot & PROT_WRITE) && info.accmode == O_RDONLY) {
		fdt_put(f);
		errno = EACCES;
		return MAP_FAILED;
	}
	char driver[32];
	int ch = rfile_channel_get(f, fd, driver);
	int memfd;
	uint64_t fd_off = 0;
	if (ch < 0) {
		memfd = ch;
	} else {
		rdrm_guard++;
		memfd = rdrm_mmap_lookup(ch, off, len, &fd_off);
		rdrm_guard--;
		rfile_channel_put(f, ch, memfd == -EPIPE || memfd == -ECONNRESET || memfd == -EPROTO);
	}
	fdt_put(f);
	if (memfd < 0) {
		errno = -memfd;
		return MAP_FAILED;
	}
	void *p = real_mmap64() ? real_mmap64()(addr, len, prot, flags, memfd, (off64_t)fd_off)
				: real_mmap()(addr, len, prot, flags, memfd, (off_t)fd_off);
	int saved = errno;
	real_close()(memfd);
	errno = saved;
	return p;
}

static void *drm_mmap(void *addr, size_t len, int prot, int flags, int fd, uint64_t off)
{
	return map_offset(addr, len, prot, flags, fd, off, true);
}

/*
 * The kernel's sw_sync file has no mmap either: a mapping passes the checks
 * every file mapping gets (a length, access for what it asks), then fails
 * with ENODEV.
 */
static void *sw_sync_mmap(size_t len, int prot, int flags, int fd)
{
	int acc = node_accmode(fd);
	int maptype = flags & MAP_TYPE;
	if (len == 0)
		errno = EINVAL;
	else if ((maptype == MAP_SHARED || maptype == MAP_SHARED_VALIDATE) && (prot & PROT_WRITE) && acc == O_RDONLY)
		errno = EACCES;
	else if (acc == O_WRONLY)
		errno = EACCES;
	else
		errno = ENODEV;
	return MAP_FAILED;
}

static void *node_mmap(void *addr, size_t len, int prot, int flags, int fd, uint64_t off)
{
	if (is_sw_sync(fd))
		return sw_sync_mmap(len, prot, flags, fd);
	return drm_mmap(addr, len, prot, flags, fd, off);
}

RDRM_VISIBLE void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!(flags & MAP_ANONYMOUS) && is_node(fd))
		return node_mmap(addr, len, prot, flags, fd, (uint64_t)off);
	return real_mmap()(addr, len, prot, flags, fd, off);
}

RDRM_VISIBLE void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	if (!(flags & MAP_ANONYMOUS) && is_node(fd))
		return node_mmap(addr, len, prot, flags, fd, (uint64_t)off);
	return real_mmap64()(addr, len, prot, flags, fd, off);
}
