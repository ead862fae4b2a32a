/*
 * Path-based libc entry points: open, fopen, access, readlink, realpath,
 * opendir, scandir, statfs, glob. Each first asks rdrm_maybe_ours(), so a
 * path that cannot be ours goes straight to libc.
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include "preload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "redox-drm/client.h"

#define SYSFS_MAGIC_ 0x62656572
#define TMPFS_MAGIC_ 0x01021994 /* devtmpfs reports the tmpfs magic */
#define DEBUGFS_MAGIC_ 0x64626720

REAL_DECL(int, open, (const char *, int, ...))
REAL_DECL(int, open64, (const char *, int, ...))
REAL_DECL(int, openat, (int, const char *, int, ...))
REAL_DECL(int, openat64, (int, const char *, int, ...))
REAL_DECL(int, __open_2, (const char *, int))
REAL_DECL(int, __open64_2, (const char *, int))
REAL_DECL(int, __openat_2, (int, const char *, int))
REAL_DECL(int, __openat64_2, (int, const char *, int))
REAL_DECL(int, close, (int))
REAL_DECL(FILE *, fopen, (const char *, const char *))
REAL_DECL(FILE *, fopen64, (const char *, const char *))
REAL_DECL(int, access, (const char *, int))
REAL_DECL(int, faccessat, (int, const char *, int, int))
REAL_DECL(int, euidaccess, (const char *, int))
REAL_DECL(int, eaccess, (const char *, int))
REAL_DECL(ssize_t, readlink, (const char *, char *, size_t))
REAL_DECL(ssize_t, readlinkat, (int, const char *, char *, size_t))
REAL_DECL(char *, realpath, (const char *, char *))
REAL_DECL(int, stat, (const char *, struct stat *))
REAL_DECL(int, fstat, (int, struct stat *))
REAL_DECL(int, scandir,
	  (const char *, struct dirent ***, int (*)(const struct dirent *),
	   int (*)(const struct dirent **, const struct dirent **)))
REAL_DECL(int, scandir64,
	  (const char *, struct dirent64 ***, int (*)(const struct dirent64 *),
	   int (*)(const struct dirent64 **, const struct dirent64 **)))
REAL_DECL(int, statfs, (const char *, struct statfs *))
REAL_DECL(int, statfs64, (const char *, struct statfs64 *))
REAL_DECL(int, fstatfs, (int, struct statfs *))
REAL_DECL(int, fstatfs64, (int, struct statfs64 *))
REAL_DECL(ssize_t, getxattr, (const char *, const char *, void *, size_t))
REAL_DECL(ssize_t, lgetxattr, (const char *, const char *, void *, size_t))
REAL_DECL(ssize_t, listxattr, (const char *, char *, size_t))
REAL_DECL(ssize_t, llistxattr, (const char *, char *, size_t))
REAL_DECL(int, chdir, (const char *))
REAL_DECL(int, glob, (const char *, int, int (*)(const char *, int), glob_t *))
REAL_DECL(int, glob64, (const char *, int, int (*)(const char *, int), glob64_t *))

extern void __chk_fail(void) __attribute__((noreturn));

/* ---- open ---- */

enum open_fn { OF_OPEN, OF_OPEN64, OF_OPENAT, OF_OPENAT64 };

static int call_open(enum open_fn fn, int dirfd, const char *path, int flags, mode_t mode)
{
	switch (fn) {
	case OF_OPEN:
		return real_open()(path, flags, mode);
	case OF_OPEN64:
		return real_open64()(path, flags, mode);
	case OF_OPENAT:
		return real_openat()(dirfd, path, flags, mode);
	default:
		return real_openat64()(dirfd, path, flags, mode);
	}
}

static int open_node(const struct rdrm_res *res, int flags)
{
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
		errno = EEXIST;
		return -1;
	}
	if (flags & O_DIRECTORY) {
		errno = ENOTDIR;
		return -1;
	}
	char sock[PATH_MAX];
	if (snprintf(sock, sizeof(sock), "%s/%s", rdrm_pm()->runtime, res->m.node) >= (int)sizeof(sock)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	rdrm_guard++;
	int fd = rdrm_connect(sock, flags & (O_CLOEXEC | O_NONBLOCK));
	rdrm_guard--;
	if (fd < 0) {
		/* A socket nobody listens on: the device is gone. */
		errno = fd == -ECONNREFUSED ? ENXIO : -fd;
		return -1;
	}
	int r = fdt_register(fd, res->m.node, res->m.type, flags & O_ACCMODE);
	if (r < 0) {
		real_close()(fd);
		errno = -r;
		return -1;
	}
	return fd;
}

/* The synthetic tree is read-only: sysfs attributes cannot be written through it. */
static bool writes(int flags)
{
	return !(flags & O_PATH) && ((flags & O_ACCMODE) != O_RDONLY || (flags & (O_CREAT | O_TRUNC)));
}

/* norm: abs normalized, without a trailing slash; true if it is prefix or below it. */
static bool public_under(const char *abs, const char *prefix, char *norm, size_t size)
{
	int n = rdrm_path_normalize(abs, norm, size);
	if (n <= 0)
		return false;
	while (n > 1 && norm[n - 1] == '/')
		norm[--n] = '\0';
	size_t l = strlen(prefix);
	return strncmp(norm, prefix, l) == 0 && (norm[l] == '/' || norm[l] == '\0');
}

static bool debugfs_path(const char *abs, char *norm, size_t size)
{
	return public_under(abs, RDRM_DEBUGFS_DRI, norm, size);
}

/*
 * A directory of the tree's debugfs or module parameters (IGT keeps one
 * open and opens its files relative to it): remember its public path, so
 * those opens are resolved here and a write cannot reach the tree's file.
 */
static void note_tree_dir(int fd, const char *abs)
{
	char norm[PATH_MAX];
	struct stat st;
	if (abs[0] &&
	    (debugfs_path(abs, norm, sizeof(norm)) || public_under(abs, "/sys/module", norm, sizeof(norm))) &&
	    real_fstat()(fd, &st) == 0 && S_ISDIR(st.st_mode))
		fdt_set_dirpath(fd, norm);
}

/*
 * Opening for writing: the tree is read-only, except for the driver's
 * writable debugfs attributes. Those open as the tree's file (so reads,
 * seeks and fstat behave as on a file) and their writes go to the daemon.
 */
static int open_attr(enum open_fn fn, const struct rdrm_res *res, int flags)
{
	char norm[PATH_MAX];
	struct stat st;
	if (real_stat()(res->m.path, &st) < 0 && errno == ENOENT && !(flags & O_CREAT))
		return -1; /* nothing there to open */
	if (!debugfs_path(res->abs, norm, sizeof(norm)) || real_stat()(res->m.path, &st) < 0 ||
	    !S_ISREG(st.st_mode) || !(st.st_mode & S_IWUSR) || (flags & O_DIRECTORY)) {
		errno = EACCES;
		return -1;
	}
	if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
		errno = EEXIST;
		return -1;
	}
	int fd = call_open(fn, AT_FDCWD, res->m.path, O_RDONLY | (flags & (O_CLOEXEC | O_NONBLOCK)), 0);
	if (fd >= 0)
		fdt_set_attr(fd, norm, flags & O_ACCMODE);
	return fd;
}

static int open_slow(enum open_fn fn, int dirfd, const char *path, int flags, mode_t mode)
{
	struct rdrm_res res;
	switch (rdrm_resolve(dirfd, path, (flags & O_NOFOLLOW) != 0, false, &res)) {
	case RES_ERR:
		errno = res.err;
		return -1;
	case RES_NODE:
		if (!(flags & O_PATH))
			return open_node(&res, flags);
		/* O_PATH names the node without opening the device. */
		/* fall through */
	case RES_MAPPED: {
		if (res.m.kind != RDRM_PATH_PUBLIC && writes(flags))
			return open_attr(fn, &res, flags);
		int fd = call_open(fn, AT_FDCWD, res.m.path, flags, mode);
		if (fd >= 0 && res.m.kind == RDRM_PATH_PUBLIC)
			rdrm_note_dir(fd, res.m.path); /* "/sys/bus/.." is "/sys" */
		else if (fd >= 0)
			note_tree_dir(fd, res.abs);
		return fd;
	}
	default: {
		int fd = call_open(fn, dirfd, path, flags, mode);
		if (fd >= 0 && res.abs[0])
			rdrm_note_dir(fd, res.abs);
		return fd;
	}
	}
}

static bool needs_mode(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

#define MODE_ARG(flags, mode)                       \
	do {                                        \
		if (needs_mode(flags)) {            \
			va_list ap;                 \
			va_start(ap, flags);        \
			mode = va_arg(ap, mode_t);  \
			va_end(ap);                 \
		}                                   \
	} while (0)

RDRM_VISIBLE int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_open()(path, flags, mode);
	return open_slow(OF_OPEN, AT_FDCWD, path, flags, mode);
}

RDRM_VISIBLE int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_open64()(path, flags, mode);
	return open_slow(OF_OPEN64, AT_FDCWD, path, flags, mode);
}

RDRM_VISIBLE int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	if (!rdrm_maybe_ours(dirfd, path))
		return real_openat()(dirfd, path, flags, mode);
	return open_slow(OF_OPENAT, dirfd, path, flags, mode);
}

RDRM_VISIBLE int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	if (!rdrm_maybe_ours(dirfd, path))
		return real_openat64()(dirfd, path, flags, mode);
	return open_slow(OF_OPENAT64, dirfd, path, flags, mode);
}

/* _FORTIFY_SOURCE variants: libc's versions do the mode check, ours cannot create anything. */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

RDRM_VISIBLE int __open_2(const char *path, int flags)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path) || needs_mode(flags))
		return real___open_2()(path, flags);
	return open_slow(OF_OPEN, AT_FDCWD, path, flags, 0);
}

RDRM_VISIBLE int __open64_2(const char *path, int flags)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path) || needs_mode(flags))
		return real___open64_2()(path, flags);
	return open_slow(OF_OPEN64, AT_FDCWD, path, flags, 0);
}

RDRM_VISIBLE int __openat_2(int dirfd, const char *path, int flags)
{
	if (!rdrm_maybe_ours(dirfd, path) || needs_mode(flags))
		return real___openat_2()(dirfd, path, flags);
	return open_slow(OF_OPENAT, dirfd, path, flags, 0);
}

RDRM_VISIBLE int __openat64_2(int dirfd, const char *path, int flags)
{
	if (!rdrm_maybe_ours(dirfd, path) || needs_mode(flags))
		return real___openat64_2()(dirfd, path, flags);
	return open_slow(OF_OPENAT64, dirfd, path, flags, 0);
}

/* ---- fopen: sysfs files only; a node cannot be opened through stdio ---- */

static FILE *fopen_slow(bool is64, const char *path, const char *mode)
{
	struct rdrm_res res;
	switch (rdrm_resolve(AT_FDCWD, path, false, false, &res)) {
	case RES_ERR:
		errno = res.err;
		return NULL;
	case RES_NODE:
	case RES_MAPPED:
		if (res.m.kind != RDRM_PATH_PUBLIC && mode && strpbrk(mode, "wa+")) {
			errno = EACCES;
			return NULL;
		}
		/* A node resolves to its socket, which fopen refuses (ENXIO). */
		return is64 ? real_fopen64()(res.m.path, mode) : real_fopen()(res.m.path, mode);
	default:
		return is64 ? real_fopen64()(path, mode) : real_fopen()(path, mode);
	}
}

RDRM_VISIBLE FILE *fopen(const char *path, const char *mode)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_fopen()(path, mode);
	return fopen_slow(false, path, mode);
}

RDRM_VISIBLE FILE *fopen64(const char *path, const char *mode)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_fopen64()(path, mode);
	return fopen_slow(true, path, mode);
}

/* ---- access ---- */

enum access_fn { AF_ACCESS, AF_FACCESSAT, AF_EUIDACCESS, AF_EACCESS };

static int call_access(enum access_fn fn, int dirfd, const char *path, int mode, int flags)
{
	switch (fn) {
	case AF_ACCESS:
		return real_access()(path, mode);
	case AF_FACCESSAT:
		return real_faccessat()(dirfd, path, mode, flags);
	case AF_EUIDACCESS:
		return real_euidaccess()(path, mode);
	default:
		return real_eaccess()(path, mode);
	}
}

static int access_slow(enum access_fn fn, int dirfd, const char *path, int mode, int flags)
{
	struct rdrm_res res;
	switch (rdrm_resolve(dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) != 0, false, &res)) {
	case RES_ERR:
		errno = res.err;
		return -1;
	case RES_NODE:
	case RES_MAPPED:
		/* Node sockets are mode 0666, like /dev/dri nodes with uaccess. */
		return call_access(fn, AT_FDCWD, res.m.path, mode, flags);
	default:
		return call_access(fn, dirfd, path, mode, flags);
	}
}

RDRM_VISIBLE int access(const char *path, int mode)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_access()(path, mode);
	return access_slow(AF_ACCESS, AT_FDCWD, path, mode, 0);
}

RDRM_VISIBLE int faccessat(int dirfd, const char *path, int mode, int flags)
{
	if (!rdrm_maybe_ours(dirfd, path))
		return real_faccessat()(dirfd, path, mode, flags);
	return access_slow(AF_FACCESSAT, dirfd, path, mode, flags);
}

RDRM_VISIBLE int euidaccess(const char *path, int mode)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_euidaccess()(path, mode);
	return access_slow(AF_EUIDACCESS, AT_FDCWD, path, mode, 0);
}

RDRM_VISIBLE int eaccess(const char *path, int mode)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_eaccess()(path, mode);
	return access_slow(AF_EACCESS, AT_FDCWD, path, mode, 0);
}

/* ---- readlink, realpath: results are mapped back to public paths ---- */

/* "/proc/self/fd/N" of a node fd reads as the node's path, as the kernel shows it. */
static bool proc_fd_node(const char *path, char *out, size_t size)
{
	return atomic_load_explicit(&rdrm_drm_fds, memory_order_relaxed) > 0 && rdrm_proc_fd_node(path, out, size);
}

static bool in_runtime(const char *s, size_t n)
{
	const struct rdrm_pathmap *pm = rdrm_pm();
	const char *dirs[2] = { pm->runtime, pm->runtime_canon };
	for (int i = 0; i < 2; i++) {
		size_t l = strlen(dirs[i]);
		if (l && n >= l && memcmp(s, dirs[i], l) == 0)
			return true;
	}
	return false;
}

static ssize_t readlink_slow(int dirfd, const char *path, char *buf, size_t size, bool at)
{
	char tmp[PATH_MAX];
	ssize_t n;
	if (proc_fd_node(path, tmp, sizeof(tmp))) {
		n = (ssize_t)strlen(tmp);
	} else {
		struct rdrm_res res;
		switch (rdrm_resolve(dirfd, path, true, false, &res)) {
		case RES_ERR:
			errno = res.err;
			return -1;
		case RES_NODE: {
			/* A node is a device file, not a link. */
			struct stat st;
			if (real_stat()(res.m.path, &st) < 0)
				return -1;
			errno = EINVAL;
			return -1;
		}
		case RES_MAPPED:
			n = real_readlink()(res.m.path, tmp, sizeof(tmp) - 1);
			break;
		default:
			n = at ? real_readlinkat()(dirfd, path, tmp, sizeof(tmp) - 1)
			       : real_readlink()(path, tmp, sizeof(tmp) - 1);
			break;
		}
		if (n < 0)
			return -1;
		tmp[n] = '\0';
		if (tmp[0] == '/' && rdrm_path_unmap(rdrm_pm(), tmp, tmp, sizeof(tmp)) > 0)
			n = (ssize_t)strlen(tmp);
	}
	if ((size_t)n > size)
		n = (ssize_t)size;
	memcpy(buf, tmp, (size_t)n);
	return n;
}

/* A link read from elsewhere that points into the runtime directory (/proc/self/cwd, ...). */
static ssize_t fix_link(char *buf, ssize_t n, size_t size)
{
	if (n <= 0 || (size_t)n >= size || n >= PATH_MAX || buf[0] != '/' || !in_runtime(buf, (size_t)n))
		return n;
	char tmp[PATH_MAX];
	memcpy(tmp, buf, (size_t)n);
	tmp[n] = '\0';
	if (rdrm_path_unmap(rdrm_pm(), tmp, tmp, sizeof(tmp)) <= 0)
		return n;
	size_t len = strlen(tmp);
	if (len > size)
		len = size;
	memcpy(buf, tmp, len);
	return (ssize_t)len;
}

static bool is_proc(const char *path)
{
	return path && (strncmp(path, "/proc/", 6) == 0 || strncmp(path, "/dev/fd/", 8) == 0);
}

RDRM_VISIBLE ssize_t readlink(const char *path, char *buf, size_t size)
{
	if (rdrm_maybe_ours(AT_FDCWD, path) || is_proc(path))
		return readlink_slow(AT_FDCWD, path, buf, size, false);
	return fix_link(buf, real_readlink()(path, buf, size), size);
}

RDRM_VISIBLE ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
{
	if (rdrm_maybe_ours(dirfd, path) || is_proc(path))
		return readlink_slow(dirfd, path, buf, size, true);
	return fix_link(buf, real_readlinkat()(dirfd, path, buf, size), size);
}

ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen);
ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len, size_t buflen);

RDRM_VISIBLE ssize_t __readlink_chk(const char *path, char *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return readlink(path, buf, len);
}

RDRM_VISIBLE ssize_t __readlinkat_chk(int dirfd, const char *path, char *buf, size_t len, size_t buflen)
{
	if (len > buflen)
		__chk_fail();
	return readlinkat(dirfd, path, buf, len);
}

RDRM_VISIBLE char *realpath(const char *path, char *resolved)
{
	if (!path)
		return real_realpath()(path, resolved);
	char tmp[PATH_MAX];
	if (!proc_fd_node(path, tmp, sizeof(tmp))) {
		char *r;
		if (rdrm_maybe_ours(AT_FDCWD, path)) {
			struct rdrm_res res;
			switch (rdrm_resolve(AT_FDCWD, path, false, false, &res)) {
			case RES_ERR:
				errno = res.err;
				return NULL;
			case RES_NODE:
				/* The sw_sync socket is one file under two names: the name asked for is the answer. */
				if (res.m.type != RDRM_NODE_DRM) {
					r = rdrm_node_path(res.m.type, res.m.node, tmp, sizeof(tmp)) == 0 ? tmp : NULL;
					break;
				}
				/* fall through */
			case RES_MAPPED:
				r = real_realpath()(res.m.path, tmp);
				break;
			default:
				r = real_realpath()(path, tmp);
				break;
			}
		} else {
			r = real_realpath()(path, tmp);
		}
		if (!r)
			return NULL;
		rdrm_path_unmap(rdrm_pm(), tmp, tmp, sizeof(tmp));
	}
	if (resolved) {
		memcpy(resolved, tmp, strlen(tmp) + 1);
		return resolved;
	}
	char *copy = strdup(tmp);
	if (!copy)
		errno = ENOMEM;
	return copy;
}

char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen);

RDRM_VISIBLE char *__realpath_chk(const char *path, char *resolved, size_t resolvedlen)
{
	if (resolvedlen < PATH_MAX)
		__chk_fail();
	return realpath(path, resolved);
}

RDRM_VISIBLE char *canonicalize_file_name(const char *path)
{
	return realpath(path, NULL);
}

/* ---- directories (opendir, readdir: hooks_dir.c) ---- */

RDRM_VISIBLE int scandir(const char *dir, struct dirent ***list, int (*sel)(const struct dirent *),
			 int (*cmp)(const struct dirent **, const struct dirent **))
{
	if (!rdrm_maybe_ours(AT_FDCWD, dir))
		return real_scandir()(dir, list, sel, cmp);
	struct rdrm_res res;
	switch (rdrm_resolve(AT_FDCWD, dir, false, false, &res)) {
	case RES_ERR:
		errno = res.err;
		return -1;
	case RES_NODE:
	case RES_MAPPED:
		return real_scandir()(res.m.path, list, sel, cmp);
	default:
		return real_scandir()(dir, list, sel, cmp);
	}
}

RDRM_VISIBLE int scandir64(const char *dir, struct dirent64 ***list, int (*sel)(const struct dirent64 *),
			   int (*cmp)(const struct dirent64 **, const struct dirent64 **))
{
	if (!rdrm_maybe_ours(AT_FDCWD, dir))
		return real_scandir64()(dir, list, sel, cmp);
	struct rdrm_res res;
	switch (rdrm_resolve(AT_FDCWD, dir, false, false, &res)) {
	case RES_ERR:
		errno = res.err;
		return -1;
	case RES_NODE:
	case RES_MAPPED:
		return real_scandir64()(res.m.path, list, sel, cmp);
	default:
		return real_scandir64()(dir, list, sel, cmp);
	}
}

/* ---- statfs: libudev insists that sysfs is sysfs ---- */

static long magic_for_public(const char *pub)
{
	size_t n = strlen(RDRM_DEBUGFS_ROOT);
	if (strncmp(pub, RDRM_DEBUGFS_ROOT, n) == 0 && (pub[n] == '/' || pub[n] == '\0'))
		return DEBUGFS_MAGIC_;
	return strncmp(pub, "/sys", 4) == 0 && (pub[4] == '/' || pub[4] == '\0') ? SYSFS_MAGIC_ : TMPFS_MAGIC_;
}

/* The file system a node's name is on: devtmpfs, or debugfs for the kernel's sw_sync file. */
static long node_magic(enum rdrm_node_type type)
{
	return type == RDRM_NODE_SW_SYNC_DEBUGFS ? DEBUGFS_MAGIC_ : TMPFS_MAGIC_;
}

/* The magic an fd should report, or 0 if it is not ours. */
static long fd_magic(int fd)
{
	uint8_t fl = rdrm_fd_flags_get(fd);
	if ((fl & FDF_DRM) && (fl & FDF_SW_SYNC)) {
		struct rfile *f = fdt_get(fd);
		struct rfile_info info = { .type = RDRM_NODE_SW_SYNC };
		if (f)
			rfile_info(f, &info);
		fdt_put(f);
		return node_magic(info.type);
	}
	if (fl & FDF_DRM)
		return TMPFS_MAGIC_;
	const struct rdrm_pathmap *pm = rdrm_pm();
	if (!pm->sysroot[0])
		return 0;
	char link[64], target[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = real_readlink()(link, target, sizeof(target) - 1);
	if (n <= 0)
		return 0;
	target[n] = '\0';
	if (target[0] != '/' || rdrm_path_unmap(pm, target, target, sizeof(target)) <= 0)
		return 0;
	return magic_for_public(target);
}

/* Where statfs(path) must look, and the magic it then reports (0: the file system's own). -1 with errno. */
static int statfs_target(const char *path, struct rdrm_res *res, const char **at, long *magic)
{
	*at = path;
	*magic = 0;
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return 0;
	switch (rdrm_resolve(AT_FDCWD, path, false, false, res)) {
	case RES_ERR:
		errno = res->err;
		return -1;
	case RES_NODE:
	case RES_MAPPED:
		*at = res->m.path;
		if (res->m.kind == RDRM_PATH_NODE)
			*magic = node_magic(res->m.type);
		else if (res->m.kind != RDRM_PATH_PUBLIC)
			*magic = magic_for_public(res->abs);
		return 0;
	default:
		return 0;
	}
}

RDRM_VISIBLE int statfs(const char *path, struct statfs *buf)
{
	struct rdrm_res res;
	const char *at;
	long magic;
	if (statfs_target(path, &res, &at, &magic) < 0 || real_statfs()(at, buf) < 0)
		return -1;
	if (magic)
		buf->f_type = magic;
	return 0;
}

RDRM_VISIBLE int statfs64(const char *path, struct statfs64 *buf)
{
	struct rdrm_res res;
	const char *at;
	long magic;
	if (statfs_target(path, &res, &at, &magic) < 0 || real_statfs64()(at, buf) < 0)
		return -1;
	if (magic)
		buf->f_type = magic;
	return 0;
}

RDRM_VISIBLE int fstatfs(int fd, struct statfs *buf)
{
	int r = real_fstatfs()(fd, buf);
	if (r == 0) {
		long m = fd_magic(fd);
		if (m)
			buf->f_type = m;
	}
	return r;
}

RDRM_VISIBLE int fstatfs64(int fd, struct statfs64 *buf)
{
	int r = real_fstatfs64()(fd, buf);
	if (r == 0) {
		long m = fd_magic(fd);
		if (m)
			buf->f_type = m;
	}
	return r;
}

/* ---- glob: patterns under a mapped prefix match in the tree ---- */

/* Rewrites result strings (malloc'd by glob) from tree paths to public ones. */
static void unmap_results(char **v, size_t from, size_t to)
{
	const struct rdrm_pathmap *pm = rdrm_pm();
	char tmp[PATH_MAX];
	for (size_t i = from; i < to; i++) {
		if (!v[i] || rdrm_path_unmap(pm, v[i], tmp, sizeof(tmp)) <= 0)
			continue;
		size_t len = strlen(tmp);
		if (len <= strlen(v[i])) {
			memcpy(v[i], tmp, len + 1);
		} else {
			char *c = strdup(tmp);
			if (c) {
				free(v[i]);
				v[i] = c;
			}
		}
	}
}

/* The mapped pattern, or NULL to glob the caller's pattern as is. */
static const char *glob_pattern(const char *pattern, int flags, struct rdrm_res *res)
{
	if ((flags & GLOB_ALTDIRFUNC) || !rdrm_maybe_ours(AT_FDCWD, pattern))
		return NULL;
	enum rdrm_res_kind k = rdrm_resolve(AT_FDCWD, pattern, true, false, res);
	return k == RES_MAPPED || k == RES_NODE ? res->m.path : NULL;
}

RDRM_VISIBLE int glob(const char *pattern, int flags, int (*errfunc)(const char *, int), glob_t *g)
{
	struct rdrm_res res;
	const char *mapped = glob_pattern(pattern, flags, &res);
	if (!mapped)
		return real_glob()(pattern, flags, errfunc, g);
	size_t before = (flags & GLOB_APPEND) ? g->gl_pathc : 0;
	int r = real_glob()(mapped, flags, errfunc, g);
	if (g->gl_pathv)
		unmap_results(g->gl_pathv, g->gl_offs + before, g->gl_offs + g->gl_pathc);
	return r;
}

RDRM_VISIBLE int glob64(const char *pattern, int flags, int (*errfunc)(const char *, int), glob64_t *g)
{
	struct rdrm_res res;
	const char *mapped = glob_pattern(pattern, flags, &res);
	if (!mapped)
		return real_glob64()(pattern, flags, errfunc, g);
	size_t before = (flags & GLOB_APPEND) ? g->gl_pathc : 0;
	int r = real_glob64()(mapped, flags, errfunc, g);
	if (g->gl_pathv)
		unmap_results(g->gl_pathv, g->gl_offs + before, g->gl_offs + g->gl_pathc);
	return r;
}

/* ---- xattrs (ls -l asks for ACLs) and chdir: the tree's files answer for themselves ---- */

/* The path to use for a plain path call; NULL with errno set if it must fail. */
static const char *simple_path(const char *path, bool nofollow, struct rdrm_res *res)
{
	switch (rdrm_resolve(AT_FDCWD, path, nofollow, false, res)) {
	case RES_ERR:
		errno = res->err;
		return NULL;
	case RES_NODE:
	case RES_MAPPED:
		return res->m.path;
	default:
		return path;
	}
}

RDRM_VISIBLE ssize_t getxattr(const char *path, const char *name, void *value, size_t size)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_getxattr()(path, name, value, size);
	struct rdrm_res res;
	const char *p = simple_path(path, false, &res);
	return p ? real_getxattr()(p, name, value, size) : -1;
}

RDRM_VISIBLE ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_lgetxattr()(path, name, value, size);
	struct rdrm_res res;
	const char *p = simple_path(path, true, &res);
	return p ? real_lgetxattr()(p, name, value, size) : -1;
}

RDRM_VISIBLE ssize_t listxattr(const char *path, char *list, size_t size)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_listxattr()(path, list, size);
	struct rdrm_res res;
	const char *p = simple_path(path, false, &res);
	return p ? real_listxattr()(p, list, size) : -1;
}

RDRM_VISIBLE ssize_t llistxattr(const char *path, char *list, size_t size)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_llistxattr()(path, list, size);
	struct rdrm_res res;
	const char *p = simple_path(path, true, &res);
	return p ? real_llistxattr()(p, list, size) : -1;
}

RDRM_VISIBLE int chdir(const char *path)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_chdir()(path);
	struct rdrm_res res;
	const char *p = simple_path(path, false, &res);
	return p ? real_chdir()(p) : -1;
}
