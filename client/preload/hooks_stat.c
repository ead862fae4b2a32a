/*
 * The stat family. A DRM node (by path or by open fd) reads as the
 * character device 226:minor with mode 0666, which is what libdrm, Mesa and
 * IGT test (S_ISCHR, st_rdev); the sw_sync node as what its name is on the
 * system that uses it (rdrm_node_stat). A node's inode, owner and times are
 * its socket's, so stat() of the path and fstat() of an open fd agree.
 * Everything else in the tree is stat'ed where it is.
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include "preload.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/sysmacros.h>

REAL_DECL(int, stat, (const char *, struct stat *))
REAL_DECL(int, stat64, (const char *, struct stat64 *))
REAL_DECL(int, lstat, (const char *, struct stat *))
REAL_DECL(int, lstat64, (const char *, struct stat64 *))
REAL_DECL(int, fstat, (int, struct stat *))
REAL_DECL(int, fstat64, (int, struct stat64 *))
REAL_DECL(int, fstatat, (int, const char *, struct stat *, int))
REAL_DECL(int, fstatat64, (int, const char *, struct stat64 *, int))
REAL_DECL(int, statx, (int, const char *, int, unsigned, struct statx *))

static void to_stat64(struct stat64 *d, const struct stat *s)
{
	memset(d, 0, sizeof(*d));
	d->st_dev = s->st_dev;
	d->st_ino = s->st_ino;
	d->st_nlink = s->st_nlink;
	d->st_mode = s->st_mode;
	d->st_uid = s->st_uid;
	d->st_gid = s->st_gid;
	d->st_rdev = s->st_rdev;
	d->st_size = s->st_size;
	d->st_blksize = s->st_blksize;
	d->st_blocks = s->st_blocks;
	d->st_atim = s->st_atim;
	d->st_mtim = s->st_mtim;
	d->st_ctim = s->st_ctim;
}

static void to_statx(struct statx *x, const struct stat *s)
{
	memset(x, 0, sizeof(*x));
	x->stx_mask = STATX_BASIC_STATS;
	x->stx_blksize = (uint32_t)s->st_blksize;
	x->stx_nlink = (uint32_t)s->st_nlink;
	x->stx_uid = s->st_uid;
	x->stx_gid = s->st_gid;
	x->stx_mode = (uint16_t)s->st_mode;
	x->stx_ino = s->st_ino;
	x->stx_size = (uint64_t)s->st_size;
	x->stx_blocks = (uint64_t)s->st_blocks;
	x->stx_atime.tv_sec = s->st_atim.tv_sec;
	x->stx_atime.tv_nsec = (uint32_t)s->st_atim.tv_nsec;
	x->stx_mtime.tv_sec = s->st_mtim.tv_sec;
	x->stx_mtime.tv_nsec = (uint32_t)s->st_mtim.tv_nsec;
	x->stx_ctime.tv_sec = s->st_ctim.tv_sec;
	x->stx_ctime.tv_nsec = (uint32_t)s->st_ctim.tv_nsec;
	x->stx_rdev_major = major(s->st_rdev);
	x->stx_rdev_minor = minor(s->st_rdev);
	x->stx_dev_major = major(s->st_dev);
	x->stx_dev_minor = minor(s->st_dev);
}

/* The node's stat for a node fd; false if fd is not one (after trying to recognise an unknown socket). */
static bool fd_node_stat(int fd, struct stat *out, bool known_socket)
{
	if (rdrm_guard)
		return false;
	uint8_t fl = rdrm_fd_flags_get(fd);
	if (!(fl & FDF_DRM)) {
		/* Inherited or received fds are recognised on first use. */
		if (!known_socket || (fl & FDF_CHANNEL) || !fdt_identify(fd))
			return false;
	}
	struct rfile *f = fdt_get(fd);
	if (!f)
		return false;
	struct rfile_info info;
	rfile_info(f, &info);
	fdt_put(f);
	rdrm_node_stat(out, &info.node_st, info.type, info.minor);
	return true;
}

enum stat_fn { SF_STAT, SF_LSTAT, SF_FSTATAT };

/*
 * Resolves a path for the stat calls. Returns 1 with *node filled for a
 * node, 0 with *use set to the path to stat (the caller's or the tree's),
 * -1 with errno set.
 */
static int stat_resolve(int dirfd, const char *path, int atflags, struct rdrm_res *res, struct stat *node,
			const char **use, int *use_dirfd)
{
	*use = path;
	*use_dirfd = dirfd;
	switch (rdrm_resolve(dirfd, path, (atflags & AT_SYMLINK_NOFOLLOW) != 0, true, res)) {
	case RES_ERR:
		errno = res->err;
		return -1;
	case RES_NODE:
		rdrm_node_stat(node, &res->sock, res->m.type, res->minor);
		return 1;
	case RES_MAPPED:
		*use = res->m.path;
		*use_dirfd = AT_FDCWD;
		return 0;
	default:
		return 0;
	}
}

static int stat_slow(enum stat_fn fn, int dirfd, const char *path, int atflags, struct stat *st)
{
	struct rdrm_res res;
	const char *use;
	int ufd;
	int r = stat_resolve(dirfd, path, fn == SF_LSTAT ? AT_SYMLINK_NOFOLLOW : atflags, &res, st, &use, &ufd);
	if (r != 0)
		return r > 0 ? 0 : -1;
	switch (fn) {
	case SF_STAT:
		return real_stat()(use, st);
	case SF_LSTAT:
		return real_lstat()(use, st);
	default:
		return real_fstatat()(ufd, use, st, atflags);
	}
}

static int stat64_slow(enum stat_fn fn, int dirfd, const char *path, int atflags, struct stat64 *st)
{
	struct rdrm_res res;
	struct stat node;
	const char *use;
	int ufd;
	int r = stat_resolve(dirfd, path, fn == SF_LSTAT ? AT_SYMLINK_NOFOLLOW : atflags, &res, &node, &use, &ufd);
	if (r > 0) {
		to_stat64(st, &node);
		return 0;
	}
	if (r < 0)
		return -1;
	switch (fn) {
	case SF_STAT:
		return real_stat64()(use, st);
	case SF_LSTAT:
		return real_lstat64()(use, st);
	default:
		return real_fstatat64()(ufd, use, st, atflags);
	}
}

RDRM_VISIBLE int stat(const char *path, struct stat *st)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_stat()(path, st);
	return stat_slow(SF_STAT, AT_FDCWD, path, 0, st);
}

RDRM_VISIBLE int stat64(const char *path, struct stat64 *st)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_stat64()(path, st);
	return stat64_slow(SF_STAT, AT_FDCWD, path, 0, st);
}

RDRM_VISIBLE int lstat(const char *path, struct stat *st)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_lstat()(path, st);
	return stat_slow(SF_LSTAT, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, st);
}

RDRM_VISIBLE int lstat64(const char *path, struct stat64 *st)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_lstat64()(path, st);
	return stat64_slow(SF_LSTAT, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, st);
}

RDRM_VISIBLE int fstat(int fd, struct stat *st)
{
	if (fd_node_stat(fd, st, false))
		return 0;
	int r = real_fstat()(fd, st);
	if (r == 0 && S_ISSOCK(st->st_mode))
		fd_node_stat(fd, st, true);
	return r;
}

RDRM_VISIBLE int fstat64(int fd, struct stat64 *st)
{
	struct stat node;
	if (fd_node_stat(fd, &node, false)) {
		to_stat64(st, &node);
		return 0;
	}
	int r = real_fstat64()(fd, st);
	if (r == 0 && S_ISSOCK(st->st_mode) && fd_node_stat(fd, &node, true))
		to_stat64(st, &node);
	return r;
}

static bool empty_path(const char *path, int flags)
{
	return path && path[0] == '\0' && (flags & AT_EMPTY_PATH);
}

RDRM_VISIBLE int fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	if (empty_path(path, flags) && dirfd != AT_FDCWD)
		return fstat(dirfd, st);
	if (!rdrm_maybe_ours(dirfd, path))
		return real_fstatat()(dirfd, path, st, flags);
	return stat_slow(SF_FSTATAT, dirfd, path, flags, st);
}

RDRM_VISIBLE int fstatat64(int dirfd, const char *path, struct stat64 *st, int flags)
{
	if (empty_path(path, flags) && dirfd != AT_FDCWD)
		return fstat64(dirfd, st);
	if (!rdrm_maybe_ours(dirfd, path))
		return real_fstatat64()(dirfd, path, st, flags);
	return stat64_slow(SF_FSTATAT, dirfd, path, flags, st);
}

RDRM_VISIBLE int statx(int dirfd, const char *path, int flags, unsigned mask, struct statx *x)
{
	struct stat node;
	if (empty_path(path, flags) && dirfd != AT_FDCWD) {
		if (fd_node_stat(dirfd, &node, false)) {
			to_statx(x, &node);
			return 0;
		}
		int r = real_statx()(dirfd, path, flags, mask, x);
		if (r == 0 && S_ISSOCK(x->stx_mode) && fd_node_stat(dirfd, &node, true))
			to_statx(x, &node);
		return r;
	}
	if (!rdrm_maybe_ours(dirfd, path))
		return real_statx()(dirfd, path, flags, mask, x);
	struct rdrm_res res;
	const char *use;
	int ufd;
	int r = stat_resolve(dirfd, path, flags, &res, &node, &use, &ufd);
	if (r > 0) {
		to_statx(x, &node);
		return 0;
	}
	if (r < 0)
		return -1;
	return real_statx()(ufd, use, flags, mask, x);
}

/*
 * The pre-2.33 glibc ABI (kmscube imports __fxstat64@GLIBC_2.2.5). On the
 * 64-bit targets this builds for, the versioned struct is the plain one, so
 * these forward to the calls above.
 */
int __xstat(int ver, const char *path, struct stat *st);
int __xstat64(int ver, const char *path, struct stat64 *st);
int __lxstat(int ver, const char *path, struct stat *st);
int __lxstat64(int ver, const char *path, struct stat64 *st);
int __fxstat(int ver, int fd, struct stat *st);
int __fxstat64(int ver, int fd, struct stat64 *st);
int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags);
int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags);

RDRM_VISIBLE int __xstat(int ver, const char *path, struct stat *st)
{
	return stat(path, st);
}

RDRM_VISIBLE int __xstat64(int ver, const char *path, struct stat64 *st)
{
	return stat64(path, st);
}

RDRM_VISIBLE int __lxstat(int ver, const char *path, struct stat *st)
{
	return lstat(path, st);
}

RDRM_VISIBLE int __lxstat64(int ver, const char *path, struct stat64 *st)
{
	return lstat64(path, st);
}

RDRM_VISIBLE int __fxstat(int ver, int fd, struct stat *st)
{
	return fstat(fd, st);
}

RDRM_VISIBLE int __fxstat64(int ver, int fd, struct stat64 *st)
{
	return fstat64(fd, st);
}

RDRM_VISIBLE int __fxstatat(int ver, int dirfd, const char *path, struct stat *st, int flags)
{
	return fstatat(dirfd, path, st, flags);
}

RDRM_VISIBLE int __fxstatat64(int ver, int dirfd, const char *path, struct stat64 *st, int flags)
{
	return fstatat64(dirfd, path, st, flags);
}
