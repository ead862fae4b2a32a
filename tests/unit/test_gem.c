/* GEM handles and flink names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <string.h>

#include <drm.h>

#include "harness.h"
#include "redox-drm/driver.h"
#include "redox-drm/gem.h"

#define USER 1000

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

static void handles_and_names(void **state)
{
	struct drm_device *dev = test_device_create(DRIVER_GEM);
	struct drm_file *a = drm_file_open(&dev->primary, 10, USER);
	struct drm_file *b = drm_file_open(&dev->primary, 20, USER);
	b->authenticated = true;

	struct drm_gem_object *obj = drm_gem_object_create(dev, 5000);
	assert_non_null(obj);
	assert_int_equal(obj->size, 8192); /* page rounded */
	uint32_t h1, h2;
	assert_int_equal(drm_gem_handle_create(a, obj, &h1), 0);
	assert_int_equal(drm_gem_handle_create(a, obj, &h2), 0);
	assert_int_equal(h1, 1);
	assert_int_equal(h2, 2);
	drm_gem_object_put(obj); /* the handles hold it now */

	struct drm_gem_flink fl = {.handle = h2};
	assert_int_equal(test_ioctl(a, 10, USER, DRM_IOCTL_GEM_FLINK, &fl), 0);
	assert_true(fl.name != 0);
	uint32_t name = fl.name;
	assert_int_equal(test_ioctl(a, 10, USER, DRM_IOCTL_GEM_FLINK, &fl), 0);
	assert_int_equal(fl.name, name); /* one name per object */

	/* Another authenticated file opens it by name: same memory. */
	struct drm_gem_open op = {.name = name};
	assert_int_equal(test_ioctl(b, 20, USER, DRM_IOCTL_GEM_OPEN, &op), 0);
	assert_int_equal(op.size, 8192);
	struct drm_gem_object *ob = drm_gem_object_lookup(b, op.handle);
	assert_ptr_equal(ob, obj);
	memcpy(ob->vaddr, "shared", 7);
	drm_gem_object_put(ob);

	/* b's handle numbers are its own; a's handles are not b's. */
	struct drm_gem_flink foreign = {.handle = 2};
	assert_int_equal(test_ioctl(b, 20, USER, DRM_IOCTL_GEM_FLINK, &foreign), -ENOENT);

	/* Closing: unknown handles are EINVAL; the name lives while any handle does. */
	struct drm_gem_close gc = {.handle = 99};
	assert_int_equal(test_ioctl(a, 10, USER, DRM_IOCTL_GEM_CLOSE, &gc), -EINVAL);
	gc.handle = h1;
	assert_int_equal(test_ioctl(a, 10, USER, DRM_IOCTL_GEM_CLOSE, &gc), 0);
	assert_int_equal(test_ioctl(a, 10, USER, DRM_IOCTL_GEM_CLOSE, &gc), -EINVAL);
	gc.handle = h2;
	assert_int_equal(test_ioctl(a, 10, USER, DRM_IOCTL_GEM_CLOSE, &gc), 0);
	op = (struct drm_gem_open){.name = name};
	assert_int_equal(test_ioctl(b, 20, USER, DRM_IOCTL_GEM_OPEN, &op), 0); /* b still holds one */
	gc.handle = op.handle;
	assert_int_equal(test_ioctl(b, 20, USER, DRM_IOCTL_GEM_CLOSE, &gc), 0);
	drm_file_release(b); /* releases b's first handle: the last one */
	op = (struct drm_gem_open){.name = name};
	struct drm_file *c = drm_file_open(&dev->primary, 30, 0);
	assert_int_equal(test_ioctl(c, 30, 0, DRM_IOCTL_GEM_OPEN, &op), -ENOENT);

	/* Handle numbers are reused lowest first. */
	obj = drm_gem_object_create(dev, 4096);
	assert_int_equal(drm_gem_handle_create(a, obj, &h1), 0);
	assert_int_equal(h1, 1);
	drm_gem_object_put(obj);
	test_device_destroy(dev);
}

static void no_gem_driver(void **state)
{
	struct drm_device *dev = test_device_create(0);
	struct drm_file *a = drm_file_open(&dev->primary, 10, 0);
	struct drm_gem_close gc = {.handle = 1};
	assert_int_equal(test_ioctl(a, 10, 0, DRM_IOCTL_GEM_CLOSE, &gc), -EOPNOTSUPP);
	test_device_destroy(dev);
}

static void nothing_leaks(void **state)
{
	int before = count_fds();
	struct drm_device *dev = test_device_create(DRIVER_GEM);
	for (int i = 0; i < 1000; i++) {
		struct drm_file *a = drm_file_open(&dev->primary, 10, USER);
		struct drm_gem_object *obj = drm_gem_object_create(dev, 4096);
		uint32_t h;
		assert_int_equal(drm_gem_handle_create(a, obj, &h), 0);
		drm_gem_object_put(obj);
		struct drm_gem_flink fl = {.handle = h};
		assert_int_equal(test_ioctl(a, 10, USER, DRM_IOCTL_GEM_FLINK, &fl), 0);
		drm_file_release(a); /* must drop handle, name, memfd */
	}
	assert_int_equal(dev->object_names.count, 0);
	test_device_destroy(dev);
	assert_int_equal(count_fds(), before);
	/* Sizes: zero is refused, absurd sizes fail cleanly. */
	assert_null(drm_gem_object_create(NULL, 0));
	assert_null(drm_gem_object_create(NULL, (size_t)1 << 62));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(handles_and_names),
		cmocka_unit_test(no_gem_driver),
		cmocka_unit_test(nothing_leaks),
	};
	return cmocka_run_group_tests_name("gem", tests, NULL, NULL);
}
