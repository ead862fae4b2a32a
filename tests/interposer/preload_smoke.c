/*
 * Runs under redox-drm-run: checks the interposer's fd semantics against
 * a live daemon with nothing but libc calls, as an unmodified client makes
 * them. Covers node stat, ioctl on dups, one file shared by dup/F_DUPFD,
 * separate files for separate opens, threads, fork, fds inherited across
 * exec, /proc/self/fd, read/write/poll on the node fd, foreign ioctls, and
 * uevent sockets that never deliver.
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
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <drm.h>
#include <drm_mode.h>

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

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--exec-child") == 0)
		return exec_child(atoi(argv[2]));
	test_stat();
	test_ioctl_and_dups();
	test_events_fd();
	test_threads();
	test_fork();
	test_exec();
	test_mmap();
	test_passthrough();
	test_uevent_sockets();
	if (failures) {
		fprintf(stderr, "%d check(s) failed\n", failures);
		return 1;
	}
	printf("all checks passed\n");
	return 0;
}
