/* The ioctl table: permissions per node and client, and the generic core ioctls. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <drm.h>

#include "harness.h"
#include "redox-drm/driver.h"

#define ROOT 0
#define USER 1000

struct fixture {
	struct drm_device *dev;
	struct drm_file *master, *other, *render;
};

static int setup(void **state)
{
	static struct fixture f;
	f.dev = test_device_create(DRIVER_GEM | DRIVER_RENDER);
	f.master = drm_file_open(&f.dev->primary, 100, USER);
	f.other = drm_file_open(&f.dev->primary, 200, USER);
	f.render = drm_file_open(&f.dev->render, 300, USER);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	test_device_destroy(f->dev);
	return 0;
}

static void render_node_permissions(void **state)
{
	struct fixture *f = *state;
	struct drm_file *r = f->render;
	char name[32];
	struct drm_version v = {.name_len = sizeof(name), .name = name};
	assert_int_equal(test_ioctl(r, 300, USER, DRM_IOCTL_VERSION, &v), 0);
	struct drm_get_cap cap = {.capability = DRM_CAP_TIMESTAMP_MONOTONIC};
	assert_int_equal(test_ioctl(r, 300, USER, DRM_IOCTL_GET_CAP, &cap), 0);
	/* GEM_CLOSE is RENDER_ALLOW: it gets as far as the handle lookup. */
	struct drm_gem_close gc = {.handle = 77};
	assert_int_equal(test_ioctl(r, 300, USER, DRM_IOCTL_GEM_CLOSE, &gc), -EINVAL);
	/* Everything without RENDER_ALLOW is EACCES on a render node, even for root. */
	struct drm_auth auth = {0};
	assert_int_equal(test_ioctl(r, 300, ROOT, DRM_IOCTL_GET_MAGIC, &auth), -EACCES);
	struct drm_gem_flink fl = {.handle = 1};
	assert_int_equal(test_ioctl(r, 300, ROOT, DRM_IOCTL_GEM_FLINK, &fl), -EACCES);
	struct drm_gem_open op = {.name = 1};
	assert_int_equal(test_ioctl(r, 300, ROOT, DRM_IOCTL_GEM_OPEN, &op), -EACCES);
	struct drm_set_client_cap cc = {.capability = DRM_CLIENT_CAP_UNIVERSAL_PLANES, .value = 1};
	assert_int_equal(test_ioctl(r, 300, ROOT, DRM_IOCTL_SET_CLIENT_CAP, &cc), -EACCES);
	struct drm_unique u = {0};
	assert_int_equal(test_ioctl(r, 300, ROOT, DRM_IOCTL_GET_UNIQUE, &u), -EACCES);
	assert_int_equal(test_ioctl(r, 300, ROOT, DRM_IOCTL_SET_MASTER, NULL), -EACCES);
	struct drm_client cl = {0};
	assert_int_equal(test_ioctl(r, 300, USER, DRM_IOCTL_GET_CLIENT, &cl), -EACCES);
}

static void unauthenticated_primary(void **state)
{
	struct fixture *f = *state;
	/* AUTH ioctls: EACCES until the master authenticates the file. */
	struct drm_gem_open op = {.name = 1};
	assert_int_equal(test_ioctl(f->other, 200, USER, DRM_IOCTL_GEM_OPEN, &op), -EACCES);
	struct drm_gem_flink fl = {.handle = 1};
	assert_int_equal(test_ioctl(f->other, 200, USER, DRM_IOCTL_GEM_FLINK, &fl), -EACCES);
	/* Non-AUTH ioctls work. */
	struct drm_auth auth = {0};
	assert_int_equal(test_ioctl(f->other, 200, USER, DRM_IOCTL_GET_MAGIC, &auth), 0);
	assert_true(auth.magic != 0);
	/* Only the master may AUTH_MAGIC. */
	assert_int_equal(test_ioctl(f->other, 200, USER, DRM_IOCTL_AUTH_MAGIC, &auth), -EACCES);
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_AUTH_MAGIC, &auth), 0);
	assert_true(f->other->authenticated);
	/* Now past the permission check: the name does not exist. */
	assert_int_equal(test_ioctl(f->other, 200, USER, DRM_IOCTL_GEM_OPEN, &op), -ENOENT);
	/* A used magic is not a second key. */
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_AUTH_MAGIC, &auth), -EINVAL);
}

static void master_and_root_only(void **state)
{
	struct fixture *f = *state;
	struct drm_set_version sv = {.drm_di_major = 1, .drm_di_minor = 1, .drm_dd_major = -1};
	assert_int_equal(test_ioctl(f->other, 200, USER, DRM_IOCTL_SET_VERSION, &sv), -EACCES);
	struct drm_block b = {0};
	/* DRM_ROOT_ONLY: the master itself needs root. */
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_BLOCK, &b), -EACCES);
	assert_int_equal(test_ioctl(f->master, 100, ROOT, DRM_IOCTL_BLOCK, &b), 0);
}

static void unique_after_set_version(void **state)
{
	struct fixture *f = *state;
	char buf[64];
	memset(buf, 0, sizeof(buf));
	struct drm_unique u = {.unique_len = sizeof(buf), .unique = buf};
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_GET_UNIQUE, &u), 0);
	assert_int_equal(u.unique_len, 0);
	/* 1.0 does not bind a bus id; 1.1 does. */
	struct drm_set_version sv = {.drm_di_major = 1, .drm_di_minor = 0, .drm_dd_major = -1};
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_SET_VERSION, &sv), 0);
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_GET_UNIQUE, &u), 0);
	assert_int_equal(u.unique_len, 0);
	sv = (struct drm_set_version){.drm_di_major = 1, .drm_di_minor = 4, .drm_dd_major = 3, .drm_dd_minor = 7};
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_SET_VERSION, &sv), 0);
	u.unique_len = sizeof(buf);
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_GET_UNIQUE, &u), 0);
	assert_int_equal(u.unique_len, strlen("pci:0000:42:03.1"));
	assert_string_equal(buf, "pci:0000:42:03.1");
	/* Other primary clients share the master's unique. */
	memset(buf, 0, sizeof(buf));
	u.unique_len = sizeof(buf);
	assert_int_equal(test_ioctl(f->other, 200, USER, DRM_IOCTL_GET_UNIQUE, &u), 0);
	assert_string_equal(buf, "pci:0000:42:03.1");
	/* A newer driver minor than ours is refused. */
	sv = (struct drm_set_version){.drm_di_major = -1, .drm_dd_major = 3, .drm_dd_minor = 8};
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_SET_VERSION, &sv), -EINVAL);
	sv = (struct drm_set_version){.drm_di_major = 1, .drm_di_minor = 5, .drm_dd_major = -1};
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_SET_VERSION, &sv), -EINVAL);
}

static void caps_without_kms(void **state)
{
	struct fixture *f = *state;
	struct drm_get_cap cap = {.capability = DRM_CAP_DUMB_BUFFER};
	/* A render-only driver (no modeset) answers KMS caps with EOPNOTSUPP, like the kernel. */
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_GET_CAP, &cap), -EOPNOTSUPP);
	cap = (struct drm_get_cap){.capability = DRM_CAP_PRIME, .value = 99};
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_GET_CAP, &cap), 0);
	assert_int_equal(cap.value, 0); /* no PRIME in this driver: nothing claimed */
	cap = (struct drm_get_cap){.capability = DRM_CAP_SYNCOBJ, .value = 99};
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_GET_CAP, &cap), 0);
	assert_int_equal(cap.value, 0);
	struct drm_set_client_cap cc = {.capability = DRM_CLIENT_CAP_UNIVERSAL_PLANES, .value = 1};
	assert_int_equal(test_ioctl(f->master, 100, USER, DRM_IOCTL_SET_CLIENT_CAP, &cc), -EOPNOTSUPP);
}

static void caps_with_kms(void **state)
{
	struct drm_device *dev = test_device_create(DRIVER_GEM | DRIVER_MODESET | DRIVER_ATOMIC | DRIVER_PRIME);
	struct drm_file *f = drm_file_open(&dev->primary, 1, USER);
	struct drm_get_cap cap = {.capability = 0xdead};
	assert_int_equal(test_ioctl(f, 1, USER, DRM_IOCTL_GET_CAP, &cap), -EINVAL);
	cap = (struct drm_get_cap){.capability = DRM_CAP_PRIME};
	assert_int_equal(test_ioctl(f, 1, USER, DRM_IOCTL_GET_CAP, &cap), 0);
	assert_int_equal(cap.value, DRM_PRIME_CAP_IMPORT | DRM_PRIME_CAP_EXPORT);
	struct drm_set_client_cap cc = {.capability = DRM_CLIENT_CAP_ATOMIC, .value = 1};
	assert_int_equal(test_ioctl(f, 1, USER, DRM_IOCTL_SET_CLIENT_CAP, &cc), 0);
	assert_true(f->atomic && f->universal_planes && f->aspect_ratio_allowed);
	cc = (struct drm_set_client_cap){.capability = DRM_CLIENT_CAP_ATOMIC, .value = 3};
	assert_int_equal(test_ioctl(f, 1, USER, DRM_IOCTL_SET_CLIENT_CAP, &cc), -EINVAL);
	cc = (struct drm_set_client_cap){.capability = DRM_CLIENT_CAP_WRITEBACK_CONNECTORS, .value = 1};
	assert_int_equal(test_ioctl(f, 1, USER, DRM_IOCTL_SET_CLIENT_CAP, &cc), 0);
	cc = (struct drm_set_client_cap){.capability = 1234, .value = 1};
	assert_int_equal(test_ioctl(f, 1, USER, DRM_IOCTL_SET_CLIENT_CAP, &cc), -EINVAL);
	test_device_destroy(dev);
}

static void client_and_stats(void **state)
{
	struct fixture *f = *state;
	struct drm_client cl = {.idx = 0};
	assert_int_equal(test_ioctl(f->other, 200, USER, DRM_IOCTL_GET_CLIENT, &cl), 0);
	assert_int_equal(cl.pid, 200);
	assert_int_equal(cl.uid, USER);
	assert_int_equal(cl.auth, 0);
	cl.idx = 1;
	assert_int_equal(test_ioctl(f->other, 200, USER, DRM_IOCTL_GET_CLIENT, &cl), -EINVAL);
	struct drm_stats st;
	memset(&st, 0xff, sizeof(st));
	assert_int_equal(test_ioctl(f->other, 200, USER, DRM_IOCTL_GET_STATS, &st), 0);
	assert_int_equal(st.count, 0);
}

static void unknown_numbers(void **state)
{
	struct fixture *f = *state;
	char buf[64] = {0};
	assert_int_equal(test_ioctl(f->master, 100, ROOT, DRM_IOWR(0x03, struct drm_irq_busid), buf), -EINVAL);
	assert_int_equal(test_ioctl(f->master, 100, ROOT, DRM_IOWR(0x99, struct drm_auth), buf), -EINVAL);
	assert_int_equal(test_ioctl(f->master, 100, ROOT, DRM_IOWR(0xff, struct drm_auth), buf), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(render_node_permissions, setup, teardown),
		cmocka_unit_test_setup_teardown(unauthenticated_primary, setup, teardown),
		cmocka_unit_test_setup_teardown(master_and_root_only, setup, teardown),
		cmocka_unit_test_setup_teardown(unique_after_set_version, setup, teardown),
		cmocka_unit_test_setup_teardown(caps_without_kms, setup, teardown),
		cmocka_unit_test(caps_with_kms),
		cmocka_unit_test_setup_teardown(client_and_stats, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_numbers, setup, teardown),
	};
	return cmocka_run_group_tests_name("ioctl", tests, NULL, NULL);
}
