/*
 * The i915 CPU access paths and the files IGT reads, as an ordinary client
 * under redox-drm-run sees them: legacy GEM_MMAP (bounds, flags, a mapping
 * of the object's own pages), GEM_MMAP_GTT offsets, PREAD/PWRITE (bounds,
 * data), USERPTR (the kernel's argument checks, then ENODEV), and the
 * debugfs/sysfs entries (dri/N/name, i915_gem_drop_caches reads and writes,
 * the mount-point test, module and engine files), and that PREAD, PWRITE
 * and drop_caches wait while a batch still uses the object. Exits 0 when
 * all hold.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <i915_drm.h>
#include <xf86drm.h>

static int failures;

#define CHECK(cond)                                                                      \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "FAIL %s:%d: %s (errno %d)\n", __FILE__, __LINE__, #cond, errno); \
			failures++;                                                      \
		}                                                                        \
	} while (0)

#define PAGE 4096u
#define DEBUGFS_MAGIC 0x64626720

/* The ioctl's errno, or 0. */
static int ioc(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) ? errno : 0;
}

/* The card node whose driver is i915, found the way IGT finds it: each cardN's VERSION name. */
static int open_i915_card(int *minor)
{
	for (int i = 0; i < 16; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		int fd = open(path, O_RDWR);
		if (fd < 0)
			continue;
		drmVersionPtr v = drmGetVersion(fd);
		bool ok = v && !strcmp(v->name, "i915");
		drmFreeVersion(v);
		if (ok) {
			*minor = i;
			return fd;
		}
		close(fd);
	}
	return -1;
}

static uint32_t create(int fd, uint64_t size)
{
	struct drm_i915_gem_create c = {.size = size};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_CREATE, &c) == 0);
	return c.handle;
}

static void test_gem_mmap(int fd)
{
	uint32_t h = create(fd, 4 * PAGE);
	struct drm_i915_gem_pwrite pw;
	char pattern[64];
	for (unsigned i = 0; i < sizeof(pattern); i++)
		pattern[i] = (char)(i * 7 + 1);
	pw = (struct drm_i915_gem_pwrite){.handle = h, .offset = PAGE + 100, .size = sizeof(pattern),
					  .data_ptr = (uintptr_t)pattern};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_PWRITE, &pw) == 0);

	/* A mapping of pages 1..2: it shows what PWRITE put there, and writes through it reach PREAD. */
	struct drm_i915_gem_mmap m = {.handle = h, .offset = PAGE, .size = 2 * PAGE};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_MMAP, &m) == 0);
	uint8_t *p = (uint8_t *)(uintptr_t)m.addr_ptr;
	CHECK(p != NULL && p != MAP_FAILED);
	if (p && p != MAP_FAILED) {
		CHECK(memcmp(p + 100, pattern, sizeof(pattern)) == 0);
		memset(p + PAGE, 0x5a, 16);
		char back[16];
		struct drm_i915_gem_pread pr = {.handle = h, .offset = 2 * PAGE, .size = 16, .data_ptr = (uintptr_t)back};
		CHECK(ioc(fd, DRM_IOCTL_I915_GEM_PREAD, &pr) == 0);
		CHECK(back[0] == 0x5a && back[15] == 0x5a);
		CHECK(munmap(p, 2 * PAGE) == 0);
	}
	/* WC: the same pages (coherent memory), at another address. */
	m = (struct drm_i915_gem_mmap){.handle = h, .offset = 0, .size = 4 * PAGE, .flags = I915_MMAP_WC};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_MMAP, &m) == 0);
	if (m.addr_ptr) {
		CHECK(memcmp((uint8_t *)(uintptr_t)m.addr_ptr + PAGE + 100, pattern, sizeof(pattern)) == 0);
		munmap((void *)(uintptr_t)m.addr_ptr, 4 * PAGE);
	}
	/* The kernel's refusals. */
	m = (struct drm_i915_gem_mmap){.handle = h, .offset = 4 * PAGE, .size = PAGE};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_MMAP, &m) == EINVAL); /* starts at the end */
	m = (struct drm_i915_gem_mmap){.handle = h, .offset = PAGE, .size = 4 * PAGE};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_MMAP, &m) == EINVAL); /* runs past the end */
	m = (struct drm_i915_gem_mmap){.handle = h, .offset = 0, .size = ~0ull};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_MMAP, &m) == EINVAL);
	m = (struct drm_i915_gem_mmap){.handle = h, .offset = 0, .size = PAGE, .flags = 2};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_MMAP, &m) == EINVAL); /* unknown flag */
	m = (struct drm_i915_gem_mmap){.handle = h + 100, .size = PAGE};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_MMAP, &m) == ENOENT);

	/* GTT: a fake offset that mmap() of the DRM fd maps, as on a part with an aperture. */
	struct drm_i915_gem_mmap_gtt g = {.handle = h};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_MMAP_GTT, &g) == 0);
	CHECK(g.offset != 0 && (g.offset & (PAGE - 1)) == 0);
	uint8_t *gp = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)g.offset);
	CHECK(gp != MAP_FAILED);
	if (gp != MAP_FAILED) {
		CHECK(memcmp(gp + PAGE + 100, pattern, sizeof(pattern)) == 0);
		munmap(gp, 4 * PAGE);
	}
	g = (struct drm_i915_gem_mmap_gtt){.handle = h + 100};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_MMAP_GTT, &g) == ENOENT);

	struct drm_gem_close cl = {.handle = h};
	CHECK(ioc(fd, DRM_IOCTL_GEM_CLOSE, &cl) == 0);
}

static void test_pread_pwrite(int fd)
{
	uint32_t h = create(fd, 2 * PAGE);
	char buf[3 * PAGE];
	memset(buf, 0, sizeof(buf));
	/* Bounds: [offset, offset + size) must lie inside the object. */
	struct drm_i915_gem_pwrite pw = {.handle = h, .offset = 2 * PAGE, .size = 1, .data_ptr = (uintptr_t)buf};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_PWRITE, &pw) == EINVAL);
	pw = (struct drm_i915_gem_pwrite){.handle = h, .offset = PAGE, .size = PAGE + 1, .data_ptr = (uintptr_t)buf};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_PWRITE, &pw) == EINVAL);
	pw = (struct drm_i915_gem_pwrite){.handle = h, .offset = 1, .size = ~0ull, .data_ptr = (uintptr_t)buf};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_PWRITE, &pw) == EINVAL);
	struct drm_i915_gem_pread pr = {.handle = h, .offset = PAGE, .size = PAGE + 1, .data_ptr = (uintptr_t)buf};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_PREAD, &pr) == EINVAL);
	/* Zero bytes succeed without looking at the handle, as the kernel. */
	pr = (struct drm_i915_gem_pread){.handle = h + 100, .size = 0};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_PREAD, &pr) == 0);
	pr = (struct drm_i915_gem_pread){.handle = h + 100, .size = 1, .data_ptr = (uintptr_t)buf};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_PREAD, &pr) == ENOENT);
	/* Data: the whole object written at an odd offset and read back. */
	for (unsigned i = 0; i < 2 * PAGE; i++)
		buf[i] = (char)(i ^ (i >> 8));
	pw = (struct drm_i915_gem_pwrite){.handle = h, .offset = 0, .size = 2 * PAGE, .data_ptr = (uintptr_t)buf};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_PWRITE, &pw) == 0);
	char back[2 * PAGE];
	pr = (struct drm_i915_gem_pread){.handle = h, .offset = 3, .size = 2 * PAGE - 3, .data_ptr = (uintptr_t)back};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_PREAD, &pr) == 0);
	CHECK(memcmp(back, buf + 3, 2 * PAGE - 3) == 0);
	struct drm_gem_close cl = {.handle = h};
	CHECK(ioc(fd, DRM_IOCTL_GEM_CLOSE, &cl) == 0);
}

static void test_userptr(int fd)
{
	void *mem = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(mem != MAP_FAILED);
	struct drm_i915_gem_userptr u = {.user_ptr = (uintptr_t)mem, .user_size = 4 * PAGE, .flags = 1u << 5};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_USERPTR, &u) == EINVAL); /* unknown flag */
	u = (struct drm_i915_gem_userptr){.user_ptr = (uintptr_t)mem + 1, .user_size = PAGE};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_USERPTR, &u) == EINVAL); /* not page aligned */
	u = (struct drm_i915_gem_userptr){.user_ptr = (uintptr_t)mem, .user_size = 0};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_USERPTR, &u) == EINVAL);
	/* A valid range: the answer of a kernel without MMU notifiers (userptr unavailable). */
	u = (struct drm_i915_gem_userptr){.user_ptr = (uintptr_t)mem, .user_size = 4 * PAGE};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_USERPTR, &u) == ENODEV);
	munmap(mem, 4 * PAGE);
}

static char *slurp(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return NULL;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

static void test_debugfs(int fd, int minor)
{
	/* IGT's mount-point test: "." and ".." on different file systems. */
	struct stat a, b;
	CHECK(stat("/sys/kernel/debug/.", &a) == 0 && S_ISDIR(a.st_mode));
	CHECK(stat("/sys/kernel/debug/..", &b) == 0 && S_ISDIR(b.st_mode));
	CHECK(a.st_dev != b.st_dev);
	struct statfs fs;
	CHECK(statfs("/sys/kernel/debug/dri", &fs) == 0 && fs.f_type == DEBUGFS_MAGIC);

	/* name, for the card and for its render node: the same line (IGT matches them). */
	char path[128], card[256], render[256];
	struct stat st;
	CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && (int)minor(st.st_rdev) == minor);
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/name", minor);
	CHECK(slurp(path, card, sizeof(card)) != NULL);
	CHECK(strncmp(card, "i915 dev=", 9) == 0 && strstr(card, " unique=") && card[strlen(card) - 1] == '\n');
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/name", minor + 128);
	CHECK(slurp(path, render, sizeof(render)) != NULL && strcmp(card, render) == 0);

	/* i915_gem_drop_caches, the way IGT uses it: a directory fd, openat, a write of the mask. */
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d", minor);
	int dir = open(path, O_RDONLY | O_DIRECTORY);
	CHECK(dir >= 0);
	int w = openat(dir, "i915_gem_drop_caches", O_WRONLY);
	CHECK(w >= 0);
	const char mask[] = "0x5c"; /* ACTIVE | RETIRE | IDLE | FREED */
	CHECK(write(w, mask, strlen(mask)) == (ssize_t)strlen(mask));
	CHECK(write(w, "0x10\n", 5) == 5);
	errno = 0;
	CHECK(write(w, "bogus", 5) == -1 && errno == EINVAL);
	errno = 0;
	CHECK(write(w, "", 0) == -1 && errno == EINVAL);
	char c;
	errno = 0;
	CHECK(read(w, &c, 1) == -1 && errno == EBADF); /* opened write-only */
	int w2 = dup(w);
	CHECK(w2 >= 0 && write(w2, "4", 1) == 1);
	close(w2);
	close(w);
	char val[64];
	CHECK(slurp("/sys/kernel/debug/dri/1/i915_gem_drop_caches", val, sizeof(val)) == NULL || minor != 1 ||
	      strcmp(val, "0x000003ff\n") == 0);
	int r = openat(dir, "i915_gem_drop_caches", O_RDONLY);
	CHECK(r >= 0 && read(r, val, sizeof(val)) == 11 && memcmp(val, "0x000003ff\n", 11) == 0);
	errno = 0;
	CHECK(write(r, "1", 1) == -1 && errno == EBADF); /* opened read-only */
	close(r);
	/* The read-only files stay read-only. */
	errno = 0;
	CHECK(openat(dir, "name", O_WRONLY) == -1 && errno == EACCES);
	close(dir);

	/* The module, and the engines in the card's sysfs directory. */
	CHECK(slurp("/sys/module/i915/initstate", val, sizeof(val)) && strcmp(val, "live\n") == 0);
	/* Parameters, as IGT reaches them: debugfs's i915_params first, then the module's; read-only here. */
	snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/i915_params/enable_guc", minor);
	CHECK(slurp(path, val, sizeof(val)) && strcmp(val, "0\n") == 0);
	int params = open("/sys/module/i915/parameters", O_RDONLY);
	CHECK(params >= 0);
	errno = 0;
	CHECK(openat(params, "enable_guc", O_WRONLY) == -1 && errno == EACCES);
	errno = 0;
	CHECK(openat(params, "reset", O_WRONLY) == -1 && errno == ENOENT);
	int ro = openat(params, "enable_guc", O_RDONLY);
	CHECK(ro >= 0 && read(ro, val, sizeof(val)) == 2 && val[0] == '0');
	if (ro >= 0)
		close(ro);
	close(params);
	CHECK(stat("/sys/module/i915/parameters", &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(path, sizeof(path), "/sys/dev/char/226:%d/device/driver/module/parameters", minor);
	CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
	snprintf(path, sizeof(path), "/sys/class/drm/card%d/engine/rcs0/name", minor);
	CHECK(slurp(path, val, sizeof(val)) && strcmp(val, "rcs0\n") == 0);
	snprintf(path, sizeof(path), "/sys/class/drm/card%d/engine/bcs0/class", minor);
	CHECK(slurp(path, val, sizeof(val)) && strcmp(val, "1\n") == 0);
	snprintf(path, sizeof(path), "/sys/class/drm/card%d/engine/bcs0/mmio_base", minor);
	CHECK(slurp(path, val, sizeof(val)) && strcmp(val, "0x22000\n") == 0);
}

/* ---- waiting for the GPU: PREAD/PWRITE and drop_caches while a batch spins ---- */

#define MI_ARB_CHECK (0x05u << 23)
#define MI_BB_END (0x0Au << 23)
#define MI_BB_START ((0x31u << 23) | 1u)
#define BB_PPGTT (1u << 8)

struct blocked {
	int fd;
	uint32_t handle;
	int minor;
	int which; /* 0: pread, 1: pwrite, 2: drop_caches */
	int result;
	atomic_int done;
};

static void *blocked_call(void *arg)
{
	struct blocked *b = arg;
	uint32_t word = 0;
	if (b->which == 0) {
		struct drm_i915_gem_pread pr = {.handle = b->handle, .offset = 64, .size = 4, .data_ptr = (uintptr_t)&word};
		b->result = ioc(b->fd, DRM_IOCTL_I915_GEM_PREAD, &pr);
	} else if (b->which == 1) {
		struct drm_i915_gem_pwrite pw = {.handle = b->handle, .offset = 64, .size = 4, .data_ptr = (uintptr_t)&word};
		b->result = ioc(b->fd, DRM_IOCTL_I915_GEM_PWRITE, &pw);
	} else {
		char path[96];
		snprintf(path, sizeof(path), "/sys/kernel/debug/dri/%d/i915_gem_drop_caches", b->minor);
		int w = open(path, O_WRONLY);
		b->result = w < 0 ? errno : write(w, "0x5c", 4) == 4 ? 0 : errno;
		if (w >= 0)
			close(w);
	}
	atomic_store(&b->done, 1);
	return NULL;
}

static void test_wait_for_gpu(int fd, int minor)
{
	const uint64_t va = 0x7000000;
	uint32_t h = create(fd, PAGE);
	struct drm_i915_gem_mmap m = {.handle = h, .size = PAGE};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_MMAP, &m) == 0);
	volatile uint32_t *b = (volatile uint32_t *)(uintptr_t)m.addr_ptr;
	if (!b)
		return;
	/* IGT's spinner: it jumps back to its start until its first dword becomes a batch end. */
	b[0] = MI_ARB_CHECK;
	b[1] = MI_BB_START | BB_PPGTT;
	b[2] = (uint32_t)va;
	b[3] = (uint32_t)(va >> 32);
	b[4] = MI_BB_END;
	/* The data object is marked as written by the batch, so a read of it waits as well as a write. */
	uint32_t data = create(fd, PAGE);
	struct drm_i915_gem_exec_object2 obj[2] = {
		{.handle = data, .offset = va + 0x100000, .flags = EXEC_OBJECT_PINNED | EXEC_OBJECT_WRITE},
		{.handle = h, .offset = va, .flags = EXEC_OBJECT_PINNED}};
	struct drm_i915_gem_execbuffer2 eb = {.buffers_ptr = (uintptr_t)obj, .buffer_count = 2,
					      .flags = I915_EXEC_RENDER};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_EXECBUFFER2, &eb) == 0);
	struct drm_i915_gem_busy busy = {.handle = data};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_BUSY, &busy) == 0 && busy.busy != 0);

	struct blocked calls[3];
	pthread_t threads[3];
	for (int i = 0; i < 3; i++) {
		calls[i] = (struct blocked){.fd = fd, .handle = data, .minor = minor, .which = i, .result = -1};
		atomic_init(&calls[i].done, 0);
		CHECK(pthread_create(&threads[i], NULL, blocked_call, &calls[i]) == 0);
	}
	usleep(300000);
	for (int i = 0; i < 3; i++)
		CHECK(atomic_load(&calls[i].done) == 0); /* all three wait for the spinning batch */
	b[0] = MI_BB_END;
	for (int i = 0; i < 3; i++) {
		pthread_join(threads[i], NULL);
		CHECK(calls[i].result == 0);
	}
	busy = (struct drm_i915_gem_busy){.handle = data};
	CHECK(ioc(fd, DRM_IOCTL_I915_GEM_BUSY, &busy) == 0 && busy.busy == 0);
	munmap((void *)(uintptr_t)m.addr_ptr, PAGE);
	struct drm_gem_close cl = {.handle = h};
	CHECK(ioc(fd, DRM_IOCTL_GEM_CLOSE, &cl) == 0);
	cl.handle = data;
	CHECK(ioc(fd, DRM_IOCTL_GEM_CLOSE, &cl) == 0);
}

int main(void)
{
	int minor = -1;
	int fd = open_i915_card(&minor);
	if (fd < 0) {
		fprintf(stderr, "FAIL: no i915 card\n");
		return 1;
	}
	test_gem_mmap(fd);
	test_pread_pwrite(fd);
	test_userptr(fd);
	test_debugfs(fd, minor);
	test_wait_for_gpu(fd, minor);
	close(fd);
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	else
		printf("i915 CPU access and debugfs/sysfs: all checks passed\n");
	return failures ? 1 : 0;
}
