/* Master handover with the kernel's rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>

#include <drm.h>

#include "harness.h"
#include "redox-drm/driver.h"

#define ROOT 0
#define USER 1000

static void first_opener_is_master(void **state)
{
	struct drm_device *dev = test_device_create(DRIVER_GEM);
	struct drm_file *a = drm_file_open(&dev->primary, 10, USER);
	struct drm_file *b = drm_file_open(&dev->primary, 20, USER);
	struct drm_file *r = drm_file_open(&dev->render, 30, USER);
	assert_true(drm_is_current_master(a));
	assert_true(a->authenticated);
	assert_false(drm_is_current_master(b));
	assert_false(b->authenticated);
	assert_false(drm_is_current_master(r));
	assert_null(r->master);
	/* A root opener is authenticated from the start, as with CAP_SYS_ADMIN. */
	struct drm_file *c = drm_file_open(&dev->primary, 40, ROOT);
	assert_true(c->authenticated);
	assert_false(drm_is_current_master(c));
	test_device_destroy(dev);
}

static void master_handover(void **state)
{
	struct drm_device *dev = test_device_create(DRIVER_GEM);
	struct drm_file *a = drm_file_open(&dev->primary, 10, USER);
	struct drm_file *b = drm_file_open(&dev->primary, 20, USER);
	/* Someone else is master: EBUSY needs permission first, which b lacks. */
	assert_int_equal(test_ioctl(b, 20, USER, DRM_IOCTL_SET_MASTER, NULL), -EACCES);
	assert_int_equal(test_ioctl(b, 20, ROOT, DRM_IOCTL_SET_MASTER, NULL), -EBUSY);
	/* Dropping needs to be master. */
	assert_int_equal(test_ioctl(b, 20, USER, DRM_IOCTL_DROP_MASTER, NULL), -EACCES);
	assert_int_equal(test_ioctl(b, 20, ROOT, DRM_IOCTL_DROP_MASTER, NULL), -EINVAL);
	/* A master drops and re-takes it from its own process (it was master before). */
	assert_int_equal(test_ioctl(a, 10, USER, DRM_IOCTL_DROP_MASTER, NULL), 0);
	assert_null(dev->master);
	assert_int_equal(test_ioctl(a, 10, USER, DRM_IOCTL_SET_MASTER, NULL), 0);
	assert_true(drm_is_current_master(a));
	/* ... but not from another process. */
	assert_int_equal(test_ioctl(a, 10, USER, DRM_IOCTL_DROP_MASTER, NULL), 0);
	assert_int_equal(test_ioctl(a, 11, USER, DRM_IOCTL_SET_MASTER, NULL), -EACCES);
	/* Nobody is master: root's b gets a fresh master and is authenticated by it. */
	assert_int_equal(test_ioctl(b, 20, ROOT, DRM_IOCTL_SET_MASTER, NULL), 0);
	assert_true(drm_is_current_master(b));
	assert_true(b->authenticated);
	assert_false(drm_is_current_master(a));
	/* Being master already is not an error. */
	assert_int_equal(test_ioctl(b, 20, USER, DRM_IOCTL_SET_MASTER, NULL), 0);
	/* The master closing leaves the device without one; the next opener becomes master. */
	drm_file_release(b);
	assert_null(dev->master);
	struct drm_file *c = drm_file_open(&dev->primary, 30, USER);
	assert_true(drm_is_current_master(c));
	test_device_destroy(dev);
}

static void magic_belongs_to_master(void **state)
{
	struct drm_device *dev = test_device_create(DRIVER_GEM);
	struct drm_file *a = drm_file_open(&dev->primary, 10, USER);
	struct drm_file *b = drm_file_open(&dev->primary, 20, USER);
	struct drm_auth m1 = {0}, m2 = {0};
	assert_int_equal(test_ioctl(b, 20, USER, DRM_IOCTL_GET_MAGIC, &m1), 0);
	assert_int_equal(test_ioctl(b, 20, USER, DRM_IOCTL_GET_MAGIC, &m2), 0);
	assert_int_equal(m1.magic, m2.magic); /* stable per file */
	struct drm_auth bogus = {.magic = m1.magic + 100};
	assert_int_equal(test_ioctl(a, 10, USER, DRM_IOCTL_AUTH_MAGIC, &bogus), -EINVAL);
	/* The waiting file closes: its magic must not authenticate anyone anymore. */
	drm_file_release(b);
	assert_int_equal(test_ioctl(a, 10, USER, DRM_IOCTL_AUTH_MAGIC, &m1), -EINVAL);
	test_device_destroy(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_opener_is_master),
		cmocka_unit_test(master_handover),
		cmocka_unit_test(magic_belongs_to_master),
	};
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
