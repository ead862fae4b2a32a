/*
 * Descriptor-based entry points: ioctl, read, write and mmap on DRM fds,
 * and close/dup/fcntl to keep the fd table right. Every hook first tests a
 * lock-free per-fd flag, so non-DRM descriptors cost one load.
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

#include "redox-drm/client.h"

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

static bool is_drm(int fd)
{
	return (rdrm_fd_flags_get(fd) & FDF_DRM) && !rdrm_guard;
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

static int drm_ioctl(int fd, unsigned long request, void *arg)
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
	 * Only DRM's own type reaches the daemon. The kernel would pass any
	 * other number to the DRM driver, which indexes its table by the
	 * low byte alone and so could run a DRM ioctl under a foreign number;
	 * refusing them is the honest answer.
	 */
	if (_IOC_TYPE(request) != DRM_IOCTL_BASE) {
		errno = ENOTTY;
		return -1;
	}
	struct rfile *f = fdt_get(fd);
	if (!f) {
		errno = EBADF;
		return -1;
	}
	char driver[32];
	int ch = rfile_channel_get(f, fd, driver);
	int r;
	if (ch < 0) {
		r = ch;
	} else {
		rdrm_guard++;
		r = rdrm_call(ch, driver, request, arg);
		rdrm_guard--;
		rfile_channel_put(f, ch, r == -EPIPE || r == -ECONNRESET || r == -EPROTO);
	}
	fdt_put(f);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

RDRM_VISIBLE int ioctl(int fd, unsigned long request, ...)
{
	va_list ap;
	va_start(ap, request);
	void *arg = va_arg(ap, void *);
	va_end(ap);
	if (is_drm(fd))
		return drm_ioctl(fd, request, arg);
	/* A DRM fd this process did not open itself (inherited, received) is recognised here. */
	if (_IOC_TYPE(request) == DRM_IOCTL_BASE && !rdrm_guard && !(rdrm_fd_flags_get(fd) & FDF_CHANNEL) &&
	    fdt_identify(fd))
		return drm_ioctl(fd, request, arg);
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

RDRM_VISIBLE ssize_t read(int fd, void *buf, size_t count)
{
	if (is_drm(fd))
		return drm_read(fd, buf, count);
	return real_read()(fd, buf, count);
}

ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen);

RDRM_VISIBLE ssize_t __read_chk(int fd, void *buf, size_t count, size_t buflen)
{
	if (count > buflen)
		__chk_fail();
	return read(fd, buf, count);
}

/* DRM files have no write(): the kernel answers EINVAL. */
RDRM_VISIBLE ssize_t write(int fd, const void *buf, size_t count)
{
	if (is_drm(fd)) {
		errno = EINVAL;
		return -1;
	}
	return real_write()(fd, buf, count);
}

/* ---- mmap: a fake offset of a DRM fd becomes a mapping of the object's memfd ---- */

static void *drm_mmap(void *addr, size_t len, int prot, int flags, int fd, uint64_t off)
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
	if ((flags & MAP_TYPE) == MAP_SHARED && (prot & PROT_WRITE) && info.accmode == O_RDONLY) {
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

RDRM_VISIBLE void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!(flags & MAP_ANONYMOUS) && is_drm(fd))
		return drm_mmap(addr, len, prot, flags, fd, (uint64_t)off);
	return real_mmap()(addr, len, prot, flags, fd, off);
}

RDRM_VISIBLE void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
{
	if (!(flags & MAP_ANONYMOUS) && is_drm(fd))
		return drm_mmap(addr, len, prot, flags, fd, (uint64_t)off);
	return real_mmap64()(addr, len, prot, flags, fd, off);
}
