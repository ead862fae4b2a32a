/*
 * The synthetic sysfs tree: what libdrm, Mesa's loader and libudev read,
 * checked on a tree written for two devices in a temporary directory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sysroot.h"

static char rt[PATH_MAX];

static const struct sysroot_device devs[2] = {
	{ .pci = { .vendor = 0x1002, .device = 0x687f, .subvendor = 0x1002, .subdevice = 0x0b36, .revision = 0xc1,
		   .class_code = 0x030000, .domain = 0, .bus = 3, .dev = 0, .func = 0 },
	  .card = 0, .driver = "amdgpu" },
	{ .pci = { .vendor = 0x8086, .device = 0x1912, .subvendor = 0x8086, .subdevice = 0x2212, .revision = 0x06,
		   .class_code = 0x030000, .domain = 1, .bus = 4, .dev = 2, .func = 0 },
	  .card = 1, .driver = "i915" },
};

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(rt, sizeof(rt), "%s/sysroot-test.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(rt))
		return -1;
	return sysroot_create(rt, devs, 2) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	sysroot_remove(rt);
	return rmdir(rt); /* fails if sysroot_remove left anything */
}

static const char *path(const char *rel)
{
	static char buf[4][PATH_MAX + 64];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/sysroot/%s", rt, rel);
	return buf[i];
}

static char *slurp(const char *rel)
{
	static char buf[4096];
	FILE *f = fopen(path(rel), "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

static const char *link_of(const char *rel)
{
	static char buf[PATH_MAX];
	ssize_t n = readlink(path(rel), buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	return buf;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);
	return a >= b && strcmp(s + a - b, suffix) == 0;
}

/* libdrm: drmParseSubsystemType() readlink()s device/subsystem and wants "/pci" at the end. */
static void test_subsystem(void **state)
{
	(void)state;
	assert_true(ends_with(link_of("sys/dev/char/226:0/device/subsystem"), "/pci"));
	assert_true(ends_with(link_of("sys/dev/char/226:129/device/subsystem"), "/pci"));
	char real[PATH_MAX];
	assert_non_null(realpath(path("sys/dev/char/226:0/device/subsystem"), real));
	assert_true(ends_with(real, "/sysroot/sys/bus/pci"));
	assert_non_null(realpath(path("sys/dev/char/226:0/subsystem"), real));
	assert_true(ends_with(real, "/sysroot/sys/class/drm"));
}

/* libdrm: realpath(device) is the PCI device directory, named by the BDF. */
static void test_device_dir(void **state)
{
	(void)state;
	char real[PATH_MAX];
	assert_non_null(realpath(path("sys/dev/char/226:0/device"), real));
	assert_true(ends_with(real, "/sysroot/sys/devices/pci0000:03/0000:03:00.0"));
	assert_non_null(realpath(path("sys/dev/char/226:128/device"), real));
	assert_true(ends_with(real, "/sysroot/sys/devices/pci0000:03/0000:03:00.0"));
	assert_non_null(realpath(path("sys/dev/char/226:1/device"), real));
	assert_true(ends_with(real, "/sysroot/sys/devices/pci0001:04/0001:04:02.0"));
	assert_non_null(realpath(path("sys/class/drm/renderD129"), real));
	assert_true(ends_with(real, "/sysroot/sys/devices/pci0001:04/0001:04:02.0/drm/renderD129"));
	assert_non_null(realpath(path("sys/bus/pci/devices/0001:04:02.0"), real));
	assert_true(ends_with(real, "/sysroot/sys/devices/pci0001:04/0001:04:02.0"));
	assert_non_null(realpath(path("sys/bus/pci/devices/0000:03:00.0/driver"), real));
	assert_true(ends_with(real, "/sysroot/sys/bus/pci/drivers/amdgpu"));

	/* drmNodeIsDRM(): device/drm must exist */
	struct stat st;
	assert_int_equal(stat(path("sys/dev/char/226:0/device/drm"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(stat(path("sys/dev/char/226:0/device/drm/card0"), &st), 0);
	assert_int_equal(stat(path("sys/dev/char/226:0/device/drm/renderD128"), &st), 0);
}

static void test_pci_attrs(void **state)
{
	(void)state;
	assert_string_equal(slurp("sys/dev/char/226:0/device/vendor"), "0x1002\n");
	assert_string_equal(slurp("sys/dev/char/226:0/device/device"), "0x687f\n");
	assert_string_equal(slurp("sys/dev/char/226:0/device/subsystem_vendor"), "0x1002\n");
	assert_string_equal(slurp("sys/dev/char/226:0/device/subsystem_device"), "0x0b36\n");
	assert_string_equal(slurp("sys/dev/char/226:0/device/revision"), "0xc1\n");
	assert_string_equal(slurp("sys/dev/char/226:0/device/class"), "0x030000\n");
	assert_string_equal(slurp("sys/dev/char/226:1/device/vendor"), "0x8086\n");
	assert_string_equal(slurp("sys/dev/char/226:1/device/device"), "0x1912\n");
	assert_string_equal(slurp("sys/dev/char/226:1/device/revision"), "0x06\n");
	/* weston picks the boot VGA device */
	assert_string_equal(slurp("sys/dev/char/226:0/device/boot_vga"), "1\n");
	assert_string_equal(slurp("sys/dev/char/226:1/device/boot_vga"), "0\n");

	const char *u = slurp("sys/dev/char/226:0/device/uevent");
	assert_non_null(strstr(u, "DRIVER=amdgpu\n"));
	assert_non_null(strstr(u, "PCI_SLOT_NAME=0000:03:00.0\n"));
	assert_non_null(strstr(u, "PCI_ID=1002:687F\n"));
	assert_non_null(strstr(u, "PCI_SUBSYS_ID=1002:0B36\n"));
	assert_non_null(strstr(u, "PCI_CLASS=30000\n"));
	assert_non_null(strstr(u, "MODALIAS=pci:v00001002d0000687Fsv00001002sd00000B36bc03sc00i00\n"));
	u = slurp("sys/dev/char/226:129/device/uevent");
	assert_non_null(strstr(u, "DRIVER=i915\n"));
	assert_non_null(strstr(u, "PCI_SLOT_NAME=0001:04:02.0\n"));
}

/* libdrm falls back to the first 64 bytes of config. */
static void test_config(void **state)
{
	(void)state;
	int fd = open(path("sys/dev/char/226:1/device/config"), O_RDONLY);
	assert_true(fd >= 0);
	uint8_t c[256];
	assert_int_equal(read(fd, c, sizeof(c)), 256);
	close(fd);
	assert_int_equal(c[0] | c[1] << 8, 0x8086);
	assert_int_equal(c[2] | c[3] << 8, 0x1912);
	assert_int_equal(c[8], 0x06);
	assert_int_equal(c[9] | c[10] << 8 | c[11] << 16, 0x030000);
	assert_int_equal(c[0x2c] | c[0x2d] << 8, 0x8086);
	assert_int_equal(c[0x2e] | c[0x2f] << 8, 0x2212);
}

static void test_minors(void **state)
{
	(void)state;
	assert_string_equal(slurp("sys/dev/char/226:0/dev"), "226:0\n");
	assert_string_equal(slurp("sys/dev/char/226:128/dev"), "226:128\n");
	assert_string_equal(slurp("sys/class/drm/card1/dev"), "226:1\n");
	assert_string_equal(slurp("sys/class/drm/renderD129/dev"), "226:129\n");
	/* Mesa reads DEVNAME from here */
	assert_string_equal(slurp("sys/dev/char/226:0/uevent"),
			    "MAJOR=226\nMINOR=0\nDEVNAME=dri/card0\nDEVTYPE=drm_minor\n");
	assert_string_equal(slurp("sys/dev/char/226:129/uevent"),
			    "MAJOR=226\nMINOR=129\nDEVNAME=dri/renderD129\nDEVTYPE=drm_minor\n");
	assert_string_equal(link_of("sys/class/drm/card0/subsystem"), "../../../../../class/drm");
	assert_string_equal(link_of("sys/class/drm/card0/device"), "../../../0000:03:00.0");
	assert_non_null(strstr(slurp("sys/class/drm/version"), "drm "));
}

static void test_dev_dri(void **state)
{
	(void)state;
	assert_string_equal(link_of("dev/dri/card0"), "../../../card0");
	assert_string_equal(link_of("dev/dri/renderD128"), "../../../renderD128");
	assert_string_equal(link_of("dev/dri/card1"), "../../../card1");
	assert_string_equal(link_of("dev/dri/renderD129"), "../../../renderD129");
	assert_string_equal(link_of("dev/dri/by-path/pci-0001:04:02.0-card"), "../card1");
	assert_string_equal(link_of("dev/dri/by-path/pci-0000:03:00.0-render"), "../renderD128");

	/* The links reach the node sockets beside the tree. */
	char sock[PATH_MAX + 16], real[PATH_MAX], want[PATH_MAX];
	snprintf(sock, sizeof(sock), "%s/renderD129", rt);
	int fd = open(sock, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_non_null(realpath(path("dev/dri/by-path/pci-0001:04:02.0-render"), real));
	assert_non_null(realpath(sock, want));
	assert_string_equal(real, want);
	unlink(sock);
}

/* libudev's database: a card's entry carries the seat tags; render nodes and PCI functions are only initialized. */
static void test_udev_db(void **state)
{
	(void)state;
	char want[512];
	const char *card = slurp("run/udev/data/c226:1");
	unsigned long long usec = 0;
	assert_int_equal(sscanf(card, "S:dri/by-path/pci-0001:04:02.0-card\nI:%llu\n", &usec), 1);
	assert_true(usec > 0);
	snprintf(want, sizeof(want),
		 "S:dri/by-path/pci-0001:04:02.0-card\nI:%llu\nE:ID_PATH=pci-0001:04:02.0\n"
		 "E:ID_PATH_TAG=pci-0001_04_02_0\nE:ID_FOR_SEAT=drm-pci-0001_04_02_0\n"
		 "G:seat\nG:uaccess\nG:master-of-seat\nQ:seat\nQ:uaccess\nQ:master-of-seat\nV:1\n",
		 usec);
	assert_string_equal(card, want);
	/* One initialisation time for every entry. */
	snprintf(want, sizeof(want),
		 "S:dri/by-path/pci-0000:03:00.0-render\nI:%llu\nE:ID_PATH=pci-0000:03:00.0\n"
		 "E:ID_PATH_TAG=pci-0000_03_00_0\nV:1\n",
		 usec);
	assert_string_equal(slurp("run/udev/data/c226:128"), want);
	assert_non_null(strstr(slurp("run/udev/data/c226:0"), "E:ID_FOR_SEAT=drm-pci-0000_03_00_0\n"));
	assert_null(strstr(slurp("run/udev/data/c226:0"), "ID_SEAT"));
	snprintf(want, sizeof(want), "I:%llu\nV:1\n", usec);
	assert_string_equal(slurp("run/udev/data/+pci:0000:03:00.0"), want);
	assert_string_equal(slurp("run/udev/data/+pci:0001:04:02.0"), want);
	/* every by-path link an entry names exists */
	struct stat st;
	assert_int_equal(lstat(path("dev/dri/by-path/pci-0001:04:02.0-card"), &st), 0);
	assert_int_equal(lstat(path("dev/dri/by-path/pci-0000:03:00.0-render"), &st), 0);
}

static void test_modes(void **state)
{
	(void)state;
	struct stat st;
	assert_int_equal(stat(path("sys/dev/char/226:0/device/vendor"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0444);
	assert_int_equal(stat(path("sys/class/drm"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0755);
}

/* A second create replaces the tree; bad input is refused and leaves the tree alone. */
static void test_recreate(void **state)
{
	(void)state;
	struct stat st;
	assert_int_equal(sysroot_create(rt, devs, 1), 0);
	assert_int_equal(lstat(path("sys/dev/char/226:0"), &st), 0);
	assert_int_equal(lstat(path("sys/dev/char/226:1"), &st), -1);
	assert_int_equal(errno, ENOENT);

	struct sysroot_device bad = devs[0];
	bad.driver = "../x";
	assert_int_equal(sysroot_create(rt, &bad, 1), -EINVAL);
	bad = devs[0];
	bad.card = 64;
	assert_int_equal(sysroot_create(rt, &bad, 1), -EINVAL);
	struct sysroot_device dup[2] = { devs[0], devs[0] };
	dup[1].card = 1;
	assert_int_equal(sysroot_create(rt, dup, 2), -EEXIST);
	assert_int_equal(lstat(path("sys/dev/char/226:0"), &st), 0);

	assert_int_equal(sysroot_create(rt, devs, 2), 0);
	assert_int_equal(lstat(path("sys/dev/char/226:1"), &st), 0);

	/* no partial trees left behind by the failed attempts */
	DIR *d = opendir(rt);
	assert_non_null(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		assert_false(strncmp(de->d_name, ".sysroot-", 9) == 0);
	closedir(d);
}

static void test_empty(void **state)
{
	(void)state;
	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof(dir), "%s/empty", rt);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(sysroot_create(dir, NULL, 0), 0);
	char p[PATH_MAX + 48];
	snprintf(p, sizeof(p), "%s/sysroot/dev/dri", dir);
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	sysroot_remove(dir);
	snprintf(p, sizeof(p), "%s/sysroot", dir);
	assert_int_equal(lstat(p, &st), -1);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_subsystem), cmocka_unit_test(test_device_dir), cmocka_unit_test(test_pci_attrs),
		cmocka_unit_test(test_config),    cmocka_unit_test(test_minors),     cmocka_unit_test(test_dev_dri),
		cmocka_unit_test(test_udev_db),   cmocka_unit_test(test_modes),      cmocka_unit_test(test_recreate),
		cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
