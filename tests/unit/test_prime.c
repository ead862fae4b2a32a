/* PRIME through the wire: dma-buf fds are the objects' memory, recognised again on import. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm.h>

#include "harness.h"
#include "redox-drm/client.h"
#include "redox-drm/driver.h"
#include "redox-drm/gem.h"

struct side {
	struct drm_file *file;
	struct test_channel ch;
};

struct fixture {
	struct drm_device *dev, *dev2;
	struct side a, b, other_card;
};

static void side_open(struct side *s, struct drm_device *dev, struct drm_minor *minor, pid_t pid)
{
	s->file = drm_file_open(minor, pid, 0);
	assert_non_null(s->file);
	assert_int_equal(test_channel_start(&s->ch, s->file, pid, 0), 0);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dev = test_device_create(DRIVER_GEM | DRIVER_PRIME | DRIVER_RENDER);
	f->dev2 = test_device_create(DRIVER_GEM | DRIVER_PRIME | DRIVER_RENDER);
	side_open(&f->a, f->dev, &f->dev->render, 10);
	side_open(&f->b, f->dev, &f->dev->render, 20);
	side_open(&f->other_card, f->dev2, &f->dev2->render, 30);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	test_channel_stop(&f->a.ch);
	test_channel_stop(&f->b.ch);
	test_channel_stop(&f->other_card.ch);
	test_device_destroy(f->dev);
	test_device_destroy(f->dev2);
	free(f);
	return 0;
}

static int call(struct side *s, unsigned long cmd, void *arg)
{
	return rdrm_call(s->ch.fd, "testdrv", cmd, arg);
}

static uint32_t new_bo(struct side *s, size_t size)
{
	struct drm_gem_object *obj = drm_gem_object_create(s->file->dev, size);
	uint32_t h;
	assert_int_equal(drm_gem_handle_create(s->file, obj, &h), 0);
	drm_gem_object_put(obj);
	return h;
}

static int export(struct side *s, uint32_t handle, uint32_t flags)
{
	struct drm_prime_handle p = {.handle = handle, .flags = flags, .fd = -1};
	int r = call(s, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);
	return r ? r : p.fd;
}

static int import(struct side *s, int fd, uint32_t *handle)
{
	struct drm_prime_handle p = {.fd = fd};
	int r = call(s, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p);
	*handle = p.handle;
	return r;
}

static void export_import(void **state)
{
	struct fixture *f = *state;
	uint32_t h = new_bo(&f->a, 3 * 4096);
	int fd = export(&f->a, h, DRM_CLOEXEC | DRM_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(lseek(fd, 0, SEEK_END), 3 * 4096);
	uint8_t *map = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(map != MAP_FAILED);
	memcpy(map + 4096, "pattern", 8);
	struct drm_gem_object *obj = drm_gem_object_lookup(f->a.file, h);
	assert_memory_equal((uint8_t *)obj->vaddr + 4096, "pattern", 8); /* zero copy */

	/* The same file importing it gets its own handle back. */
	uint32_t again;
	assert_int_equal(import(&f->a, fd, &again), 0);
	assert_int_equal(again, h);
	/* Another file gets a handle to the same object. */
	uint32_t hb;
	assert_int_equal(import(&f->b, fd, &hb), 0);
	struct drm_gem_object *ob = drm_gem_object_lookup(f->b.file, hb);
	assert_ptr_equal(ob, obj);
	drm_gem_object_put(ob);
	drm_gem_object_put(obj);
	/* Re-exporting an import gives the same memory. */
	int fd2 = export(&f->b, hb, DRM_RDWR);
	assert_true(fd2 >= 0);
	assert_int_equal(fcntl(fd2, F_GETFD) & FD_CLOEXEC, 0); /* no DRM_CLOEXEC asked */
	uint8_t *map2 = mmap(NULL, 4096 * 3, PROT_READ, MAP_SHARED, fd2, 0);
	assert_memory_equal(map2 + 4096, "pattern", 8);
	/* Another card: a new object over the same memory. */
	uint32_t hc;
	assert_int_equal(import(&f->other_card, fd, &hc), 0);
	struct drm_gem_object *oc = drm_gem_object_lookup(f->other_card.file, hc);
	assert_ptr_not_equal(oc, obj);
	assert_memory_equal((uint8_t *)oc->vaddr + 4096, "pattern", 8);
	drm_gem_object_put(oc);
	munmap(map, 3 * 4096);
	munmap(map2, 3 * 4096);
	close(fd);
	close(fd2);
}

static void read_only_export(void **state)
{
	struct fixture *f = *state;
	uint32_t h = new_bo(&f->a, 4096);
	int fd = export(&f->a, h, 0);
	assert_true(fd >= 0);
	assert_true(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED);
	assert_int_equal(errno, EACCES);
	void *ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
	assert_true(ro != MAP_FAILED);
	munmap(ro, 4096);
	/* A read-only dma-buf still imports as the same object. */
	uint32_t h2;
	assert_int_equal(import(&f->a, fd, &h2), 0);
	assert_int_equal(h2, h);
	close(fd);
}

static void bad_input(void **state)
{
	struct fixture *f = *state;
	uint32_t h = new_bo(&f->a, 4096);
	assert_int_equal(export(&f->a, h, 0x4), -EINVAL);
	assert_int_equal(export(&f->a, 999, 0), -ENOENT);
	assert_int_equal(export(&f->b, h, 0), -ENOENT); /* a's handle means nothing to b */
	uint32_t out;
	assert_int_equal(import(&f->a, 987, &out), -EBADF); /* not an open fd */
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(import(&f->a, p[0], &out), -EINVAL); /* not a dma-buf */
	close(p[0]);
	close(p[1]);
	/* Memory that could shrink under the device is refused. */
	int m = memfd_create("unsealed", MFD_CLOEXEC);
	assert_int_equal(ftruncate(m, 4096), 0);
	assert_int_equal(import(&f->a, m, &out), -EINVAL);
	close(m);
	/* Without the driver feature: the kernel's EOPNOTSUPP. */
	struct drm_device *plain = test_device_create(DRIVER_GEM | DRIVER_RENDER);
	struct side s;
	side_open(&s, plain, &plain->render, 40);
	uint32_t hp = new_bo(&s, 4096);
	assert_int_equal(export(&s, hp, 0), -EOPNOTSUPP);
	test_channel_stop(&s.ch);
	test_device_destroy(plain);
}

static int count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static void lifetime_and_no_leaks(void **state)
{
	struct fixture *f = *state;
	/* The buffer lives on in its fd after the last handle is gone. */
	uint32_t h = new_bo(&f->a, 4096);
	int fd = export(&f->a, h, DRM_RDWR);
	struct drm_gem_object *obj = drm_gem_object_lookup(f->a.file, h);
	memcpy(obj->vaddr, "still here", 11);
	drm_gem_object_put(obj);
	struct drm_gem_close gc = {.handle = h};
	assert_int_equal(call(&f->a, DRM_IOCTL_GEM_CLOSE, &gc), 0);
	uint32_t h2;
	assert_int_equal(import(&f->b, fd, &h2), 0);
	obj = drm_gem_object_lookup(f->b.file, h2);
	assert_memory_equal(obj->vaddr, "still here", 11);
	drm_gem_object_put(obj);
	close(fd);
	gc.handle = h2;
	assert_int_equal(call(&f->b, DRM_IOCTL_GEM_CLOSE, &gc), 0);

	int before = count_fds();
	for (int i = 0; i < 10000; i++) {
		uint32_t hh = new_bo(&f->a, 4096), hi;
		int e = export(&f->a, hh, DRM_CLOEXEC);
		assert_true(e >= 0);
		assert_int_equal(import(&f->b, e, &hi), 0);
		close(e);
		gc.handle = hh;
		assert_int_equal(call(&f->a, DRM_IOCTL_GEM_CLOSE, &gc), 0);
		gc.handle = hi;
		assert_int_equal(call(&f->b, DRM_IOCTL_GEM_CLOSE, &gc), 0);
	}
	assert_int_equal(count_fds(), before);
	assert_int_equal(f->a.file->object_idr.count, 0);
	assert_int_equal(f->b.file->object_idr.count, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(export_import, setup, teardown),
		cmocka_unit_test_setup_teardown(read_only_export, setup, teardown),
		cmocka_unit_test_setup_teardown(bad_input, setup, teardown),
		cmocka_unit_test_setup_teardown(lifetime_and_no_leaks, setup, teardown),
	};
	return cmocka_run_group_tests_name("prime", tests, NULL, NULL);
}
