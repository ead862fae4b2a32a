/* The interposer's path mapping, as pure functions. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "paths.h"

static struct rdrm_pathmap pm;

static int setup(void **state)
{
	(void)state;
	rdrm_pathmap_init(&pm, "/run/user/1000/redox-drm/", "/real/run/redox-drm");
	pm.ndevs = 2;
	strcpy(pm.devs[0].root, "pci0000:03");
	strcpy(pm.devs[0].bdf, "0000:03:00.0");
	strcpy(pm.devs[0].driver, "amdgpu");
	pm.devs[0].map_root = true;
	strcpy(pm.devs[1].root, "pci0000:00");
	strcpy(pm.devs[1].bdf, "0000:00:02.0");
	strcpy(pm.devs[1].driver, "i915");
	pm.devs[1].map_root = false; /* the host has this root bus */
	return 0;
}

#define SR "/run/user/1000/redox-drm/sysroot"

static void expect_map(const char *in, enum rdrm_path_kind kind, const char *out, const char *node)
{
	struct rdrm_mapped m;
	assert_int_equal(rdrm_path_map(&pm, in, &m), 0);
	assert_int_equal(m.kind, kind);
	assert_string_equal(m.path, out);
	assert_string_equal(m.node, node);
}

static void expect_public(const char *in)
{
	expect_map(in, RDRM_PATH_PUBLIC, "", "");
}

static void test_init(void **state)
{
	(void)state;
	assert_string_equal(pm.runtime, "/run/user/1000/redox-drm");
	assert_string_equal(pm.sysroot, SR);
	assert_string_equal(pm.sysroot_canon, "/real/run/redox-drm/sysroot");
	assert_string_equal(pm.runtime_canon, "/real/run/redox-drm");

	struct rdrm_pathmap same;
	rdrm_pathmap_init(&same, "/a/b", "/a/b");
	assert_string_equal(same.runtime_canon, "");
	assert_string_equal(same.sysroot_canon, "");
}

static void test_normalize(void **state)
{
	(void)state;
	char out[PATH_MAX];
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "/", "/" },
		{ "//", "/" },
		{ "/dev//dri/./card0", "/dev/dri/card0" },
		{ "/dev/dri/", "/dev/dri/" },
		{ "/dev/dri/.", "/dev/dri/" },
		{ "/dev/dri/..", "/dev" },
		{ "/dev/dri/../dri/card0", "/dev/dri/card0" },
		{ "/..", "/" },
		{ "/../../dev", "/dev" },
		/* past a possible symlink (226:0) ".." is left to the kernel */
		{ "/sys/dev/char/226:0/../x", "/sys/dev/char/226:0/../x" },
		{ "/sys/dev/char/226:0/device/..", "/sys/dev/char/226:0/device/.." },
		{ "/usr/../etc", "/usr/../etc" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int n = rdrm_path_normalize(cases[i].in, out, sizeof(out));
		assert_true(n > 0);
		assert_string_equal(out, cases[i].out);
		assert_int_equal((size_t)n, strlen(cases[i].out));
	}
	assert_int_equal(rdrm_path_normalize("dev/dri", out, sizeof(out)), -EINVAL);
	char tiny[8];
	assert_int_equal(rdrm_path_normalize("/dev/dri/card0", tiny, sizeof(tiny)), -ENAMETOOLONG);
}

static void test_map_nodes(void **state)
{
	(void)state;
	expect_map("/dev/dri", RDRM_PATH_SYSROOT, SR "/dev/dri", "");
	expect_map("/dev/dri/", RDRM_PATH_SYSROOT, SR "/dev/dri/", "");
	expect_map("/dev/dri/card0", RDRM_PATH_NODE, SR "/dev/dri/card0", "card0");
	expect_map("/dev/dri/renderD129", RDRM_PATH_NODE, SR "/dev/dri/renderD129", "renderD129");
	expect_map("//dev/./dri//card1", RDRM_PATH_NODE, SR "/dev/dri/card1", "card1");
	/* a trailing slash demands a directory: the kernel must see it */
	expect_map("/dev/dri/card0/", RDRM_PATH_SYSROOT, SR "/dev/dri/card0/", "");
	expect_map("/dev/dri/cardX", RDRM_PATH_SYSROOT, SR "/dev/dri/cardX", "");
	expect_map("/dev/dri/by-path", RDRM_PATH_SYSROOT, SR "/dev/dri/by-path", "");
	expect_map("/dev/dri/by-path/pci-0000:03:00.0-card", RDRM_PATH_NODE_LINK,
		   SR "/dev/dri/by-path/pci-0000:03:00.0-card", "");
	expect_map("/scheme/drm/card0", RDRM_PATH_NODE, SR "/dev/dri/card0", "card0");
	expect_map("/scheme/drm", RDRM_PATH_SYSROOT, SR "/dev/dri", "");
	expect_public("/dev/drinks");
	expect_public("/dev/null");
	expect_public("/dev");
	expect_public("/scheme");
}

static void test_map_sys(void **state)
{
	(void)state;
	expect_map("/sys/dev/char/226:0", RDRM_PATH_SYSROOT, SR "/sys/dev/char/226:0", "");
	expect_map("/sys/dev/char/226:128/device/vendor", RDRM_PATH_SYSROOT,
		   SR "/sys/dev/char/226:128/device/vendor", "");
	expect_public("/sys/dev/char/4:0");
	expect_public("/sys/dev/char/2260:1");
	expect_public("/sys/dev/char");
	expect_map("/sys/class/drm", RDRM_PATH_SYSROOT, SR "/sys/class/drm", "");
	expect_map("/sys/class/drm/card0/device", RDRM_PATH_SYSROOT, SR "/sys/class/drm/card0/device", "");
	expect_public("/sys/class/drmx");
	expect_public("/sys/class");
	expect_map("/sys/bus/pci/devices/0000:03:00.0", RDRM_PATH_SYSROOT, SR "/sys/bus/pci/devices/0000:03:00.0", "");
	expect_map("/sys/bus/pci/devices/0000:00:02.0/vendor", RDRM_PATH_SYSROOT,
		   SR "/sys/bus/pci/devices/0000:00:02.0/vendor", "");
	expect_public("/sys/bus/pci/devices/0000:00:01.0");
	expect_public("/sys/bus/pci/devices");
	expect_map("/sys/bus/pci/drivers/i915", RDRM_PATH_SYSROOT, SR "/sys/bus/pci/drivers/i915", "");
	expect_public("/sys/bus/pci/drivers/e1000");
	expect_map("/sys/devices/pci0000:03/0000:03:00.0/drm/card0/dev", RDRM_PATH_SYSROOT,
		   SR "/sys/devices/pci0000:03/0000:03:00.0/drm/card0/dev", "");
	expect_map("/sys/devices/pci0000:00/0000:00:02.0", RDRM_PATH_SYSROOT,
		   SR "/sys/devices/pci0000:00/0000:00:02.0", "");
	/* a root the host lacks is ours; one it has stays the host's, except our device in it */
	expect_map("/sys/devices/pci0000:03", RDRM_PATH_SYSROOT, SR "/sys/devices/pci0000:03", "");
	expect_public("/sys/devices/pci0000:00");
	expect_public("/sys/devices/pci0000:00/0000:00:01.0");
	expect_public("/sys/devices/pci0000:03/0000:03:00.1");
	expect_public("/sys");
	expect_public("/system/x");
}

/* udev's database: the entries naming our nodes and PCI functions, nothing else. */
static void test_map_udev(void **state)
{
	(void)state;
	expect_map("/run/udev/data/c226:0", RDRM_PATH_SYSROOT, SR "/run/udev/data/c226:0", "");
	expect_map("/run/udev/data/c226:129", RDRM_PATH_SYSROOT, SR "/run/udev/data/c226:129", "");
	expect_map("//run/udev/./data/c226:128", RDRM_PATH_SYSROOT, SR "/run/udev/data/c226:128", "");
	expect_map("/run/udev/data/+pci:0000:00:02.0", RDRM_PATH_SYSROOT, SR "/run/udev/data/+pci:0000:00:02.0", "");
	expect_public("/run/udev/data/+pci:0000:00:01.0");
	expect_public("/run/udev/data/+pci:0000:00:02.00");
	expect_public("/run/udev/data/c226:");
	expect_public("/run/udev/data/c226:0x");
	expect_public("/run/udev/data/c13:64");
	expect_public("/run/udev/data/c2260:1");
	expect_public("/run/udev/data/+drm:card0");
	expect_public("/run/udev/data");
	expect_public("/run/udev/control");
	expect_public("/run/user/1000/wayland-0");
	/* ".." after an entry (a file) is for the kernel to refuse, in the tree */
	expect_map("/run/udev/data/c226:0/../c13:64", RDRM_PATH_SYSROOT, SR "/run/udev/data/c226:0/../c13:64", "");
	expect_map("/run/udev/data/../data/c226:1", RDRM_PATH_SYSROOT, SR "/run/udev/data/c226:1", "");
}

static void test_map_other(void **state)
{
	(void)state;
	expect_public("relative/dev/dri");
	expect_public("dev/dri/card0");
	expect_public("/etc/passwd");
	expect_public("/");
	/* ".." out of a mapped region: the resolved host path is given back */
	expect_map("/dev/dri/../null", RDRM_PATH_PUBLIC, "/dev/null", "");
	expect_map("/sys/class/drm/../net", RDRM_PATH_PUBLIC, "/sys/class/net", "");
	expect_map("/dev/dri/by-path/../card0", RDRM_PATH_NODE, SR "/dev/dri/card0", "card0");

	struct rdrm_pathmap none;
	memset(&none, 0, sizeof(none));
	struct rdrm_mapped m;
	assert_int_equal(rdrm_path_map(&none, "/dev/dri/card0", &m), 0);
	assert_int_equal(m.kind, RDRM_PATH_PUBLIC);

	char longp[PATH_MAX + 10];
	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "/dev/dri/", 9);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(rdrm_path_map(&pm, longp, &m), -ENAMETOOLONG);
}

static void expect_unmap(const char *in, int ret, const char *out)
{
	char buf[PATH_MAX];
	assert_int_equal(rdrm_path_unmap(&pm, in, buf, sizeof(buf)), ret);
	if (ret > 0)
		assert_string_equal(buf, out);
}

static void test_unmap(void **state)
{
	(void)state;
	expect_unmap(SR "/sys/devices/pci0000:03/0000:03:00.0", 1, "/sys/devices/pci0000:03/0000:03:00.0");
	expect_unmap(SR, 1, "/");
	expect_unmap(SR "/dev/dri", 1, "/dev/dri");
	expect_unmap("/real/run/redox-drm/sysroot/sys/class/drm", 1, "/sys/class/drm");
	expect_unmap("/run/user/1000/redox-drm/card0", 1, "/dev/dri/card0");
	expect_unmap("/real/run/redox-drm/renderD128", 1, "/dev/dri/renderD128");
	expect_unmap("/run/user/1000/redox-drm/ready", 0, NULL);
	expect_unmap("/run/user/1000/redox-drm/sysrootx/a", 0, NULL);
	expect_unmap("/sys/devices/pci0000:00", 0, NULL);
	expect_unmap("../../bus/pci", 0, NULL);

	/* in place */
	char buf[PATH_MAX] = SR "/dev/dri/card0";
	assert_int_equal(rdrm_path_unmap(&pm, buf, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "/dev/dri/card0");

	char small[8];
	assert_int_equal(rdrm_path_unmap(&pm, SR "/sys/class/drm", small, sizeof(small)), -ENAMETOOLONG);
}

/* Every mapped path maps back to itself. */
static void test_roundtrip(void **state)
{
	(void)state;
	static const char *const paths[] = {
		"/dev/dri",
		"/dev/dri/card0",
		"/dev/dri/by-path/pci-0000:03:00.0-render",
		"/sys/dev/char/226:0/device",
		"/sys/class/drm/renderD128",
		"/sys/bus/pci/devices/0000:00:02.0/uevent",
		"/sys/devices/pci0000:03/0000:03:00.0/drm",
	};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct rdrm_mapped m;
		char back[PATH_MAX];
		assert_int_equal(rdrm_path_map(&pm, paths[i], &m), 0);
		assert_int_not_equal(m.kind, RDRM_PATH_PUBLIC);
		assert_int_equal(rdrm_path_unmap(&pm, m.path, back, sizeof(back)), 1);
		assert_string_equal(back, paths[i]);
	}
}

static void test_node_minor(void **state)
{
	(void)state;
	assert_int_equal(rdrm_node_minor("card0"), 0);
	assert_int_equal(rdrm_node_minor("card15"), 15);
	assert_int_equal(rdrm_node_minor("renderD128"), 128);
	assert_int_equal(rdrm_node_minor("controlD64"), 64);
	assert_int_equal(rdrm_node_minor("card"), -1);
	assert_int_equal(rdrm_node_minor("card0x"), -1);
	assert_int_equal(rdrm_node_minor("renderD"), -1);
	assert_int_equal(rdrm_node_minor("by-path"), -1);
	assert_int_equal(rdrm_node_minor("card12345678"), -1);
	assert_int_equal(rdrm_node_minor(""), -1);
}

static void test_ancestors(void **state)
{
	(void)state;
	assert_true(rdrm_path_is_ancestor(&pm, "/"));
	assert_true(rdrm_path_is_ancestor(&pm, "/sys"));
	assert_true(rdrm_path_is_ancestor(&pm, "/sys/"));
	assert_true(rdrm_path_is_ancestor(&pm, "//sys/class"));
	assert_true(rdrm_path_is_ancestor(&pm, "/sys/dev/char"));
	assert_true(rdrm_path_is_ancestor(&pm, "/sys/bus/pci/devices"));
	assert_true(rdrm_path_is_ancestor(&pm, "/dev"));
	assert_true(rdrm_path_is_ancestor(&pm, "/sys/devices/pci0000:00"));
	assert_false(rdrm_path_is_ancestor(&pm, "/sys/devices/pci0000:03")); /* mapped itself */
	assert_false(rdrm_path_is_ancestor(&pm, "/sys/class/drm"));
	assert_false(rdrm_path_is_ancestor(&pm, "/dev/dri"));
	assert_false(rdrm_path_is_ancestor(&pm, "/etc"));
	assert_false(rdrm_path_is_ancestor(&pm, "sys"));
}

/*
 * debugfs: with the host's debugfs mounted, only dri/ is the tree's; without
 * it, the tree's stands at /sys/kernel/debug whole, and ".." leaves it
 * lexically (so "." and ".." are on different file systems, a mount point).
 * The drivers' module directories are the tree's.
 */
static void test_map_debugfs_module(void **state)
{
	(void)state;
	pm.debugfs_whole = false;
	expect_map("/sys/kernel/debug/dri", RDRM_PATH_SYSROOT, SR "/sys/kernel/debug/dri", "");
	expect_map("/sys/kernel/debug/dri/1/i915_gem_drop_caches", RDRM_PATH_SYSROOT,
		   SR "/sys/kernel/debug/dri/1/i915_gem_drop_caches", "");
	expect_public("/sys/kernel/debug");
	expect_public("/sys/kernel/debug/tracing");
	expect_public("/sys/kernel/debug/drix");
	assert_true(rdrm_path_is_ancestor(&pm, "/sys/kernel/debug"));
	assert_true(rdrm_path_is_ancestor(&pm, "/sys/kernel"));
	assert_true(rdrm_path_is_ancestor(&pm, "/sys/module"));

	pm.debugfs_whole = true;
	expect_map("/sys/kernel/debug/.", RDRM_PATH_SYSROOT, SR "/sys/kernel/debug/", "");
	expect_map("/sys/kernel/debug/dri/129/name", RDRM_PATH_SYSROOT, SR "/sys/kernel/debug/dri/129/name", "");
	expect_map("/sys/kernel/debug/..", RDRM_PATH_PUBLIC, "/sys/kernel", "");
	assert_false(rdrm_path_is_ancestor(&pm, "/sys/kernel/debug"));
	pm.debugfs_whole = false;

	expect_map("/sys/module/i915/initstate", RDRM_PATH_SYSROOT, SR "/sys/module/i915/initstate", "");
	expect_map("/sys/module/amdgpu/parameters", RDRM_PATH_SYSROOT, SR "/sys/module/amdgpu/parameters", "");
	expect_public("/sys/module/e1000/initstate");
	expect_public("/sys/module");
}

static void test_join(void **state)
{
	(void)state;
	char out[PATH_MAX];
	assert_int_equal(rdrm_path_join("/sys", "class", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/class");
	assert_int_equal(rdrm_path_join("/", "sys", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys");
	assert_int_equal(rdrm_path_join("/sys/", "class", out, sizeof(out)), 0);
	assert_string_equal(out, "/sys/class");
	assert_int_equal(rdrm_path_join("/sys", "/dev/dri", out, sizeof(out)), 0);
	assert_string_equal(out, "/dev/dri");
	char small[6];
	assert_int_equal(rdrm_path_join("/sys", "class", small, sizeof(small)), -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),      cmocka_unit_test(test_normalize), cmocka_unit_test(test_map_nodes),
		cmocka_unit_test(test_map_sys),   cmocka_unit_test(test_map_other), cmocka_unit_test(test_unmap),
		cmocka_unit_test(test_roundtrip), cmocka_unit_test(test_node_minor), cmocka_unit_test(test_ancestors),
		cmocka_unit_test(test_join),      cmocka_unit_test(test_map_udev), cmocka_unit_test(test_map_debugfs_module),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
