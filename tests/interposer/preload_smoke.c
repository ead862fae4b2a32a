/*
 * Runs under redox-drm-run: checks the interposer's fd semantics against
 * a live daemon with nothing but libc calls, as an unmodified client makes
 * them. Covers node stat, ioctl on dups, one file shared by dup/F_DUPFD,
 * separate files for separate opens, threads, fork, fds inherited across
 * exec, /proc/self/fd, read/write/poll on the node fd, foreign ioctls,
 * uevent sockets that never deliver, and the sw_sync node under both of
 * its names (timelines, their sync_files, and what closing one does).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/netlink.h>
#include <linux/sync_file.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm.h>
#include <drm_mode.h>

#include "redox-drm/sw_sync.h"

static int failures;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "%s:%d: check failed: %s (errno %d: %s)\n", \
				__FILE__, __LINE__, #cond, errno, strerror(errno));   \
			failures++;                                                   \
		}                                                                     \
	} while (0)

/* DRM_IOCTL_VERSION; returns the driver name or "" on failure. */
static const char *version(int fd, char *name, size_t size)
{
	struct drm_version v;
	memset(&v, 0, sizeof(v));
	memset(name, 0, size);
	v.name = name;
	v.name_len = size - 1;
	if (ioctl(fd, DRM_IOCTL_VERSION, &v) != 0)
		return "";
	return name;
}

static unsigned magic_of(int fd)
{
	struct drm_auth a = { 0 };
	if (ioctl(fd, DRM_IOCTL_GET_MAGIC, &a) != 0)
		return 0;
	return a.magic;
}

static void test_stat(void)
{
	struct stat st, fst;
	CHECK(stat("/dev/dri", &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(stat("/dev/dri/card0", &st) == 0);
	CHECK(S_ISCHR(st.st_mode) && major(st.st_rdev) == 226 && minor(st.st_rdev) == 0);
	CHECK(lstat("/dev/dri/card0", &st) == 0 && S_ISCHR(st.st_mode));
	CHECK(stat("/dev/dri/renderD128", &st) == 0 && minor(st.st_rdev) == 128);
	CHECK(stat("/dev/dri/card63", &st) < 0 && errno == ENOENT);

	int fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK(fstat(fd, &fst) == 0 && S_ISCHR(fst.st_mode) && fst.st_rdev == makedev(226, 0));
	CHECK(stat("/dev/dri/card0", &st) == 0 && st.st_ino == fst.st_ino && st.st_dev == fst.st_dev);
	CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC);

	char link[PATH_MAX], proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, link, sizeof(link) - 1);
	CHECK(n > 0);
	if (n > 0) {
		link[n] = '\0';
		CHECK(strcmp(link, "/dev/dri/card0") == 0);
	}
	CHECK(stat(proc, &st) == 0 && st.st_rdev == makedev(226, 0));
	char *real = realpath("/dev/dri/by-path/../card0", NULL);
	CHECK(real && strcmp(real, "/dev/dri/card0") == 0);
	free(real);
	close(fd);
}

static void test_ioctl_and_dups(void)
{
	char name[64];
	int fd = open("/dev/dri/card0", O_RDONLY); /* drm_info opens read-only and still issues ioctls */
	CHECK(fd >= 0);
	const char *drv = version(fd, name, sizeof(name));
	CHECK(strcmp(drv, "amdgpu") == 0 || strcmp(drv, "i915") == 0);

	/* dups are the same open file: same magic */
	unsigned m = magic_of(fd);
	CHECK(m != 0);
	int d1 = dup(fd);
	int d2 = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	int d3 = dup2(fd, 100);
	CHECK(d1 >= 0 && d2 >= 3 && d3 == 100);
	CHECK(magic_of(d1) == m && magic_of(d2) == m && magic_of(d3) == m);
	close(fd);
	CHECK(magic_of(d1) == m); /* the file lives while a dup does */
	close(d1);
	close(d2);
	CHECK(strcmp(version(d3, name, sizeof(name)), drv) == 0);
	close(d3);
	CHECK(ioctl(d3, DRM_IOCTL_VERSION, &(struct drm_version){ 0 }) < 0 && errno == EBADF);

	/* two opens are two files: different magics; the first is master and can authenticate the second */
	int a = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	int b = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	CHECK(a >= 0 && b >= 0);
	unsigned mb = magic_of(b);
	CHECK(mb != 0 && mb != magic_of(a));
	struct drm_auth auth = { .magic = mb };
	CHECK(ioctl(a, DRM_IOCTL_AUTH_MAGIC, &auth) == 0);
	close(a);
	close(b);

	/* render nodes answer VERSION too */
	int r = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
	CHECK(r >= 0 && strcmp(version(r, name, sizeof(name)), drv) == 0);

	/* ioctls of other types never reach the daemon */
	int dummy = 0;
	CHECK(ioctl(r, _IOR('T', 0x99, int), &dummy) < 0 && errno == ENOTTY);
	/* and generic fd ioctls work as on any file */
	int on = 1;
	CHECK(ioctl(r, FIONBIO, &on) == 0);
	CHECK(fcntl(r, F_GETFL) & O_NONBLOCK);
	close(r);
}

static void test_events_fd(void)
{
	int fd = open("/dev/dri/card1", O_RDWR | O_CLOEXEC | O_NONBLOCK);
	CHECK(fd >= 0);
	char buf[256];
	CHECK(read(fd, buf, sizeof(buf)) < 0 && errno == EAGAIN);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	CHECK(poll(&p, 1, 20) == 0);
	CHECK(write(fd, "x", 1) < 0 && errno == EINVAL);
	close(fd);
}

struct thread_arg {
	int fd;
	int ok;
};

static void *hammer(void *p)
{
	struct thread_arg *t = p;
	char name[64];
	for (int i = 0; i < 200; i++)
		if (version(t->fd, name, sizeof(name))[0])
			t->ok++;
	return NULL;
}

static void test_threads(void)
{
	int fd = open("/dev/dri/renderD129", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	pthread_t th[8];
	struct thread_arg args[8];
	for (int i = 0; i < 8; i++) {
		args[i] = (struct thread_arg){ .fd = fd };
		CHECK(pthread_create(&th[i], NULL, hammer, &args[i]) == 0);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(th[i], NULL);
		CHECK(args[i].ok == 200);
	}
	close(fd);
}

static void test_fork(void)
{
	int fd = open("/dev/dri/card1", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	char name[64];
	unsigned m = magic_of(fd); /* the parent has used its channel before forking */
	pid_t pid = fork();
	if (pid == 0) {
		/* the child shares the file, and talks over channels of its own */
		char cname[64];
		bool ok = strcmp(version(fd, cname, sizeof(cname)), "i915") == 0 && magic_of(fd) == m;
		_exit(ok ? 0 : 1);
	}
	CHECK(pid > 0);
	CHECK(strcmp(version(fd, name, sizeof(name)), "i915") == 0);
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(strcmp(version(fd, name, sizeof(name)), "i915") == 0);
	close(fd);
}

/* exec'd half of test_exec: the fd number arrives in argv, unknown to the fresh interposer. */
static int exec_child(int fd)
{
	char name[64];
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(226, 128));
	CHECK(strcmp(version(fd, name, sizeof(name)), "amdgpu") == 0);
	return failures ? 1 : 0;
}

static void test_exec(void)
{
	int fd = open("/dev/dri/renderD128", O_RDWR); /* no O_CLOEXEC, like kmscube and IGT */
	CHECK(fd >= 0);
	pid_t pid = fork();
	if (pid == 0) {
		char arg[16];
		snprintf(arg, sizeof(arg), "%d", fd);
		execl("/proc/self/exe", "preload_smoke", "--exec-child", arg, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
}

/* Dumb buffers: mmap of the fake offset maps the buffer's memory, shared by every mapping. */
static void test_mmap(void)
{
	int fd = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0);
	struct drm_mode_create_dumb c = { .width = 64, .height = 64, .bpp = 32 };
	if (ioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &c) != 0) {
		printf("mmap: skipped, the daemon has no dumb buffers yet (errno %d)\n", errno);
		close(fd);
		return;
	}
	struct drm_mode_map_dumb m = { .handle = c.handle };
	CHECK(ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &m) == 0);
	uint32_t *p = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)m.offset);
	CHECK(p != MAP_FAILED);
	if (p == MAP_FAILED)
		goto out;
	for (uint32_t i = 0; i < c.size / 4; i++)
		p[i] = i * 2654435761u;
	/* a second mapping, through a dup, sees the same memory */
	int d = dup(fd);
	uint32_t *q = mmap(NULL, c.size, PROT_READ, MAP_SHARED, d, (off_t)m.offset);
	CHECK(q != MAP_FAILED);
	if (q != MAP_FAILED) {
		bool same = true;
		for (uint32_t i = 0; i < c.size / 4; i++)
			same = same && q[i] == i * 2654435761u;
		CHECK(same);
		munmap(q, c.size);
	}
	close(d);
	munmap(p, c.size);
	/* an offset that names nothing */
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, (off_t)(m.offset + (1ull << 40))) == MAP_FAILED);
out:;
	struct drm_mode_destroy_dumb dd = { .handle = c.handle };
	CHECK(ioctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &dd) == 0);
	close(fd);
}

static void test_passthrough(void)
{
	/* ordinary files and paths are untouched */
	int fd = open("/proc/self/status", O_RDONLY);
	CHECK(fd >= 0);
	char buf[64];
	CHECK(read(fd, buf, sizeof(buf)) > 0);
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode));
	close(fd);
	CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == 1);
	CHECK(stat("/dev/dri/../null", &st) == 0 && S_ISCHR(st.st_mode));
	int p[2];
	CHECK(pipe(p) == 0);
	CHECK(write(p[1], "ok", 2) == 2 && read(p[0], buf, 2) == 2 && memcmp(buf, "ok", 2) == 0);
	close(p[0]);
	close(p[1]);
	/* the runtime directory never shows */
	char *real = realpath("/sys/class/drm/card0", NULL);
	CHECK(real && strncmp(real, "/sys/devices/", 13) == 0);
	free(real);
}

/* The groups a netlink socket is bound to, as the kernel reports them; -1 on error. */
static long bound_groups(int fd)
{
	struct sockaddr_nl nl;
	socklen_t len = sizeof(nl);
	memset(&nl, 0, sizeof(nl));
	if (getsockname(fd, (struct sockaddr *)&nl, &len) < 0 || nl.nl_family != AF_NETLINK)
		return -1;
	return (long)nl.nl_groups;
}

/* Uevent sockets bind as libudev binds them and join no group; other netlink families are untouched. */
static void test_uevent_sockets(void)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_KOBJECT_UEVENT);
	if (fd < 0) {
		printf("no uevent netlink sockets here (%s): not checked\n", strerror(errno));
		return;
	}
	struct sockaddr_nl nl = { .nl_family = AF_NETLINK, .nl_groups = 2 };
	CHECK(bind(fd, (struct sockaddr *)&nl, sizeof(nl)) == 0);
	CHECK(bound_groups(fd) == 0);
	int group = 1;
	CHECK(setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof(group)) == 0);
	CHECK(bound_groups(fd) == 0);
	char buf[256];
	CHECK(recv(fd, buf, sizeof(buf), 0) < 0 && errno == EAGAIN);
	/* a short address is still the kernel's to refuse */
	int fd2 = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_KOBJECT_UEVENT);
	CHECK(fd2 >= 0);
	CHECK(bind(fd2, (struct sockaddr *)&nl, 4) < 0 && errno == EINVAL);
	close(fd2);
	close(fd);

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return;
	struct sockaddr_nl rt = { .nl_family = AF_NETLINK, .nl_groups = 1 /* RTMGRP_LINK */ };
	CHECK(bind(fd, (struct sockaddr *)&rt, sizeof(rt)) == 0);
	CHECK(bound_groups(fd) == 1);
	close(fd);
}

/* ---- sw_sync ---- */

#define SW_SYNC_DEV "/dev/sw_sync"
#define SW_SYNC_DEBUGFS "/sys/kernel/debug/sync/sw_sync"

/* A sync_file for value on timeline tl, by plain ioctl(); -1 on failure. */
static int sw_fence(int tl, uint32_t value)
{
	struct sw_sync_create_fence_data d = { .value = value, .name = "smoke" };
	d.fence = -1;
	if (ioctl(tl, SW_SYNC_IOC_CREATE_FENCE, &d) != 0)
		return -1;
	return d.fence;
}

static bool sw_inc(int tl, uint32_t by)
{
	return ioctl(tl, SW_SYNC_IOC_INC, &by) == 0;
}

/* poll() on a sync_file: 1 once signalled, 0 if not within ms. */
static int ready(int fence, int ms)
{
	struct pollfd p = { .fd = fence, .events = POLLIN };
	return poll(&p, 1, ms);
}

/* SYNC_IOC_FILE_INFO's status (1 signalled, 0 pending, <0 error); 99 if the ioctl failed. */
static int fence_status(int fence)
{
	struct sync_file_info info;
	memset(&info, 0, sizeof(info));
	if (ioctl(fence, SYNC_IOC_FILE_INFO, &info) != 0)
		return 99;
	return info.status;
}

static bool proc_link_is(int fd, const char *want)
{
	char proc[64], link[PATH_MAX];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, link, sizeof(link) - 1);
	if (n <= 0)
		return false;
	link[n] = '\0';
	return strcmp(link, want) == 0;
}

static void test_sw_sync(void)
{
	struct stat st, fst;
	CHECK(stat(SW_SYNC_DEV, &st) == 0);
	CHECK(S_ISCHR(st.st_mode) && major(st.st_rdev) == 10 && minor(st.st_rdev) == 254);
	CHECK(access(SW_SYNC_DEV, R_OK | W_OK) == 0); /* IGT looks before it opens */

	int tl = open(SW_SYNC_DEV, O_RDWR | O_CLOEXEC);
	CHECK(tl >= 0);
	CHECK(fstat(tl, &fst) == 0 && fst.st_rdev == st.st_rdev && fst.st_ino == st.st_ino && fst.st_dev == st.st_dev);
	CHECK(proc_link_is(tl, SW_SYNC_DEV));
	char *real = realpath(SW_SYNC_DEV, NULL);
	CHECK(real && strcmp(real, SW_SYNC_DEV) == 0);
	free(real);

	/* two points; the first signals when the timeline reaches it, the second stays pending */
	int f1 = sw_fence(tl, 1), f2 = sw_fence(tl, 2);
	CHECK(f1 >= 0 && f2 >= 0 && f1 != f2);
	CHECK(ready(f1, 50) == 0);
	CHECK(fence_status(f1) == 0);
	CHECK(sw_inc(tl, 1));
	CHECK(ready(f1, 2000) == 1);
	CHECK(fence_status(f1) == 1);
	CHECK(ready(f2, 20) == 0 && fence_status(f2) == 0);

	/* not a DRM device: DRM's ioctls, sync_file's, and unknown 'W' numbers are ENOTTY */
	struct drm_version v;
	memset(&v, 0, sizeof(v));
	errno = 0;
	CHECK(ioctl(tl, DRM_IOCTL_VERSION, &v) < 0 && errno == ENOTTY);
	struct sync_file_info info;
	memset(&info, 0, sizeof(info));
	errno = 0;
	CHECK(ioctl(tl, SYNC_IOC_FILE_INFO, &info) < 0 && errno == ENOTTY);
	uint32_t dummy = 0;
	errno = 0;
	CHECK(ioctl(tl, _IOW(SW_SYNC_IOC_MAGIC, 0x7f, uint32_t), &dummy) < 0 && errno == ENOTTY);

	/* no read, write or mmap on the kernel's file either */
	char buf[16];
	errno = 0;
	CHECK(read(tl, buf, sizeof(buf)) < 0 && errno == EINVAL);
	errno = 0;
	CHECK(write(tl, "x", 1) < 0 && errno == EINVAL);
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ, MAP_SHARED, tl, 0) == MAP_FAILED && errno == ENODEV);

	/* a dup is the same timeline */
	int d = dup(tl);
	CHECK(d >= 0 && sw_inc(d, 1));
	CHECK(ready(f2, 2000) == 1 && fence_status(f2) == 1);

	/* so is the forked child's copy, over channels of its own */
	int f3 = sw_fence(tl, 3);
	CHECK(f3 >= 0);
	pid_t pid = fork();
	if (pid == 0)
		_exit(sw_inc(tl, 1) ? 0 : 1);
	int status = 0;
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(ready(f3, 2000) == 1 && fence_status(f3) == 1);

	/* the last close ends the timeline: what still waits on it fails with ENOENT */
	int f5 = sw_fence(tl, 5);
	CHECK(f5 >= 0 && ready(f5, 20) == 0);
	close(tl);
	CHECK(ready(f5, 20) == 0); /* the dup keeps it */
	close(d);
	CHECK(ready(f5, 2000) == 1);
	CHECK(fence_status(f5) == -ENOENT);
	CHECK(fence_status(f1) == 1); /* signalled points keep their state */
	close(f1);
	close(f2);
	close(f3);
	close(f5);

	/* a file opened read-only: the directions it lacks are EBADF, a shared writable map EACCES */
	int ro = open(SW_SYNC_DEV, O_RDONLY | O_CLOEXEC);
	CHECK(ro >= 0);
	errno = 0;
	CHECK(write(ro, "x", 1) < 0 && errno == EBADF);
	errno = 0;
	CHECK(read(ro, buf, sizeof(buf)) < 0 && errno == EINVAL);
	errno = 0;
	CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0) == MAP_FAILED && errno == EACCES);
	close(ro);

	/* where Linux keeps it: a debugfs file, the same node */
	CHECK(stat(SW_SYNC_DEBUGFS, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == 0644);
	int dbg = open(SW_SYNC_DEBUGFS, O_RDWR | O_CLOEXEC);
	CHECK(dbg >= 0);
	CHECK(fstat(dbg, &fst) == 0 && S_ISREG(fst.st_mode) && fst.st_ino == st.st_ino);
	CHECK(proc_link_is(dbg, SW_SYNC_DEBUGFS));
	real = realpath(SW_SYNC_DEBUGFS, NULL);
	CHECK(real && strcmp(real, SW_SYNC_DEBUGFS) == 0);
	free(real);
	int g = sw_fence(dbg, 1);
	CHECK(g >= 0 && ready(g, 20) == 0);
	CHECK(sw_inc(dbg, 1) && ready(g, 2000) == 1 && fence_status(g) == 1);
	close(g);
	close(dbg);

	/* and the reverse: sw_sync's numbers are foreign to a DRM file */
	int card = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	CHECK(card >= 0);
	errno = 0;
	CHECK(ioctl(card, SW_SYNC_IOC_INC, &dummy) < 0 && errno == ENOTTY);
	close(card);
}

/* exec'd half of test_sw_sync_exec: an inherited timeline, unknown to the fresh interposer. */
static int exec_child_sw_sync(int tl)
{
	struct stat st;
	CHECK(fstat(tl, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(10, 254));
	CHECK(proc_link_is(tl, SW_SYNC_DEV));
	CHECK(sw_inc(tl, 1));
	return failures ? 1 : 0;
}

static void test_sw_sync_exec(void)
{
	int tl = open(SW_SYNC_DEV, O_RDWR); /* inherited across exec */
	CHECK(tl >= 0);
	int f = sw_fence(tl, 1);
	CHECK(f >= 0 && ready(f, 20) == 0);
	pid_t pid = fork();
	if (pid == 0) {
		char arg[16];
		snprintf(arg, sizeof(arg), "%d", tl);
		execl("/proc/self/exe", "preload_smoke", "--exec-child-sw-sync", arg, (char *)NULL);
		_exit(127);
	}
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	CHECK(ready(f, 2000) == 1 && fence_status(f) == 1);
	close(f);
	close(tl);
}

/* stat() of path against the kernel's own answer (a raw statx, which nothing interposes). */
static bool same_as_kernel(const char *path)
{
	struct stat st;
	struct statx x;
	errno = 0;
	int r = stat(path, &st);
	int err = errno;
	errno = 0;
	long k = syscall(SYS_statx, AT_FDCWD, path, 0, STATX_BASIC_STATS, &x);
	if (r != (int)k || (r < 0 && err != errno)) {
		fprintf(stderr, "%s: stat %d (%s), kernel %ld (%s)\n", path, r, strerror(err), k, strerror(errno));
		return false;
	}
	return r < 0 || (st.st_ino == x.stx_ino && st.st_mode == x.stx_mode);
}

/* exec'd with a runtime directory where no daemon serves: the sw_sync names are the host's. */
static int exec_child_no_daemon(void)
{
	CHECK(same_as_kernel(SW_SYNC_DEV));
	CHECK(same_as_kernel(SW_SYNC_DEBUGFS));
	errno = 0;
	int fd = open(SW_SYNC_DEV, O_RDWR | O_CLOEXEC);
	int err = errno;
	int kfd = (int)syscall(SYS_openat, AT_FDCWD, SW_SYNC_DEV, O_RDWR | O_CLOEXEC);
	CHECK((fd < 0) == (kfd < 0) && (fd >= 0 || err == errno));
	if (fd >= 0)
		close(fd);
	if (kfd >= 0)
		close(kfd);
	return failures ? 1 : 0;
}

static void test_sw_sync_no_daemon(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		setenv("REDOX_DRM_RUNTIME_DIR", "/nonexistent/redox-drm-smoke", 1);
		execl("/proc/self/exe", "preload_smoke", "--no-daemon", (char *)NULL);
		_exit(127);
	}
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--exec-child") == 0)
		return exec_child(atoi(argv[2]));
	if (argc == 3 && strcmp(argv[1], "--exec-child-sw-sync") == 0)
		return exec_child_sw_sync(atoi(argv[2]));
	if (argc == 2 && strcmp(argv[1], "--no-daemon") == 0)
		return exec_child_no_daemon();
	test_stat();
	test_ioctl_and_dups();
	test_events_fd();
	test_threads();
	test_fork();
	test_exec();
	test_mmap();
	test_passthrough();
	test_uevent_sockets();
	test_sw_sync();
	test_sw_sync_exec();
	test_sw_sync_no_daemon();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("all checks passed\n");
	return 0;
}
