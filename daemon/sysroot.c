/*
 * Writes the synthetic /dev/dri + sysfs tree (see sysroot.h).
 *
 * Layout, for device N at PCI address D:B:d.f ("bdf") under root pciD:B:
 *
 *   dev/dri/cardN, renderD(128+N)         -> ../../../cardN ... (the node sockets)
 *   dev/dri/by-path/pci-<bdf>-{card,render}
 *   sys/devices/pciD:B/<bdf>/             vendor device ... uevent config boot_vga
 *       subsystem -> ../../../bus/pci, driver -> ../../../bus/pci/drivers/<drv>
 *       drm/cardN/ drm/renderD(128+N)/    dev uevent subsystem device
 *   sys/dev/char/226:M                    -> ../../devices/pciD:B/<bdf>/drm/<node>
 *   sys/class/drm/<node>                  -> ../../devices/pciD:B/<bdf>/drm/<node>
 *   sys/bus/pci/devices/<bdf>             -> ../../../devices/pciD:B/<bdf>
 *   sys/bus/pci/drivers/<drv>/<bdf>       -> ../../../../devices/pciD:B/<bdf>
 *   run/udev/data/c226:M, +pci:<bdf>       udev database entries
 *   sys/kernel/debug/dri/M/name           the DRM core's debugfs (both minors), and
 *                                         the driver's debugfs files (primary minor)
 *   sys/module/<drv>/initstate, parameters/   the driver's module
 *   sys/bus/pci/drivers/<drv>/module      -> ../../../../module/<drv>
 *
 * Symlinks are relative, as in the kernel's sysfs, so they resolve inside
 * the tree wherever the runtime directory is, and readlink() returns what a
 * client expects (libdrm checks that device/subsystem ends in "/pci").
 */
#include "sysroot.h"

#include "redox-drm/drm_device.h"
#include "redox-drm/driver.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DRM_MAJOR 226
#define RENDER_MINOR_BASE 128
#define MAX_CARD 63 /* primary minors are 0..63 (libdrm: minor >> 6 is the type) */

enum { PATH_LEN = 4096 };

static int fmt_path(char *out, const char *base, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fmt_path(char *out, const char *base, const char *fmt, ...)
{
	size_t n = strlen(base);
	if (n >= PATH_LEN)
		return -ENAMETOOLONG;
	memcpy(out, base, n);
	va_list ap;
	va_start(ap, fmt);
	int r = vsnprintf(out + n, PATH_LEN - n, fmt, ap);
	va_end(ap);
	if (r < 0 || (size_t)r >= PATH_LEN - n)
		return -ENAMETOOLONG;
	return 0;
}

/* mkdir -p relative to base; the mode is set explicitly so the umask of the daemon does not matter. */
static int make_dirs(const char *base, const char *rel)
{
	char path[PATH_LEN];
	int r = fmt_path(path, base, "/%s", rel);
	if (r)
		return r;
	size_t skip = strlen(base) + 1;
	for (char *p = path + skip;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;
		*p = '\0';
		if (mkdir(path, 0755) == 0) {
			if (chmod(path, 0755) < 0)
				return -errno;
		} else if (errno != EEXIST) {
			return -errno;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

static int write_file(const char *base, const char *rel, const void *data, size_t len, mode_t mode)
{
	char path[PATH_LEN];
	int r = fmt_path(path, base, "/%s", rel);
	if (r)
		return r;
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			return r;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fchmod(fd, mode) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int write_text(const char *base, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int write_text(const char *base, const char *rel, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EOVERFLOW;
	return write_file(base, rel, buf, (size_t)n, 0444);
}

static int make_link(const char *base, const char *rel, const char *target)
{
	char path[PATH_LEN];
	int r = fmt_path(path, base, "/%s", rel);
	if (r)
		return r;
	if (symlink(target, path) < 0)
		return -errno;
	return 0;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* rm -rf without following symlinks (the tree links to the node sockets). */
static void remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char TMP_PREFIX[] = ".sysroot-";

/* Removes partial trees a crashed sysroot_create may have left. */
static void remove_leftovers(const char *runtime_dir)
{
	DIR *d = opendir(runtime_dir);
	if (!d)
		return;
	struct dirent *de;
	char path[PATH_LEN];
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, TMP_PREFIX, sizeof(TMP_PREFIX) - 1) != 0)
			continue;
		if (fmt_path(path, runtime_dir, "/%s", de->d_name) == 0)
			remove_tree(path);
	}
	closedir(d);
}

struct names {
	char bdf[16];      /* 0000:03:00.0 */
	char path_tag[16]; /* pci-0000_03_00_0 without "pci-": udev's ID_PATH_TAG spelling */
	char root[16];     /* pci0000:03 */
	char devdir[64];   /* sys/devices/pci0000:03/0000:03:00.0 */
	char node[2][16];  /* card0, renderD128 */
	int minor[2];
};

static void make_names(const struct sysroot_device *d, struct names *n)
{
	const struct hw_pci_id *p = &d->pci;
	snprintf(n->bdf, sizeof(n->bdf), "%04x:%02x:%02x.%x", (unsigned)p->domain, (unsigned)p->bus,
		 (unsigned)(p->dev & 0x1f), (unsigned)(p->func & 0x7));
	snprintf(n->path_tag, sizeof(n->path_tag), "%s", n->bdf);
	for (char *c = n->path_tag; *c; c++)
		if (*c == ':' || *c == '.')
			*c = '_';
	snprintf(n->root, sizeof(n->root), "pci%04x:%02x", (unsigned)p->domain, (unsigned)p->bus);
	snprintf(n->devdir, sizeof(n->devdir), "sys/devices/%s/%s", n->root, n->bdf);
	n->minor[0] = d->card;
	n->minor[1] = RENDER_MINOR_BASE + d->card;
	snprintf(n->node[0], sizeof(n->node[0]), "card%d", n->minor[0]);
	snprintf(n->node[1], sizeof(n->node[1]), "renderD%d", n->minor[1]);
}

static void put16(uint8_t *b, unsigned off, uint16_t v)
{
	b[off] = (uint8_t)v;
	b[off + 1] = (uint8_t)(v >> 8);
}

/* A type 0 header as a kernel with no BAR access for this reader would show it. */
static void make_config(const struct hw_pci_id *p, uint8_t cfg[256])
{
	memset(cfg, 0, 256);
	put16(cfg, 0x00, p->vendor);
	put16(cfg, 0x02, p->device);
	put16(cfg, 0x04, 0x0007); /* I/O, memory, bus master enabled */
	cfg[0x08] = p->revision;
	cfg[0x09] = (uint8_t)p->class_code;
	cfg[0x0a] = (uint8_t)(p->class_code >> 8);
	cfg[0x0b] = (uint8_t)(p->class_code >> 16);
	put16(cfg, 0x2c, p->subvendor);
	put16(cfg, 0x2e, p->subdevice);
	cfg[0x3d] = 1; /* INTA# */
}

/*
 * When udev's database was written, in its time base (CLOCK_MONOTONIC
 * microseconds): libudev counts a device as initialized only if it has an
 * entry with this line.
 */
static unsigned long long udev_init_usec(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000ull;
}

/*
 * The entry udev would keep for a node, given what its stock rules do for
 * a PCI DRM device: path_id's ID_PATH and ID_PATH_TAG, the by-path link,
 * and for primary nodes the seat tags that make logind and libseat treat
 * the card as a seat's display (ID_FOR_SEAT is derived from the path tag).
 * There is no ID_SEAT: the device belongs to the default seat, "seat0".
 * Tags are written both as all tags (G) and as current tags (Q).
 */
static int write_udev_node(const char *tmp, const struct names *n, int which, unsigned long long usec)
{
	char rel[64];
	snprintf(rel, sizeof(rel), "run/udev/data/c%d:%d", DRM_MAJOR, n->minor[which]);
	if (which == 0)
		return write_text(tmp, rel,
				  "S:dri/by-path/pci-%s-card\nI:%llu\nE:ID_PATH=pci-%s\nE:ID_PATH_TAG=pci-%s\n"
				  "E:ID_FOR_SEAT=drm-pci-%s\nG:seat\nG:uaccess\nG:master-of-seat\n"
				  "Q:seat\nQ:uaccess\nQ:master-of-seat\nV:1\n",
				  n->bdf, usec, n->bdf, n->path_tag, n->path_tag);
	return write_text(tmp, rel, "S:dri/by-path/pci-%s-render\nI:%llu\nE:ID_PATH=pci-%s\nE:ID_PATH_TAG=pci-%s\nV:1\n",
			  n->bdf, usec, n->bdf, n->path_tag);
}

static int write_minor(const char *tmp, const struct names *n, int which, unsigned long long usec)
{
	char rel[256], target[256];
	int r;
	const char *node = n->node[which];
	int minor = n->minor[which];

	snprintf(rel, sizeof(rel), "%s/drm/%s", n->devdir, node);
	if ((r = make_dirs(tmp, rel)))
		return r;
	snprintf(rel, sizeof(rel), "%s/drm/%s/dev", n->devdir, node);
	if ((r = write_text(tmp, rel, "%d:%d\n", DRM_MAJOR, minor)))
		return r;
	snprintf(rel, sizeof(rel), "%s/drm/%s/uevent", n->devdir, node);
	if ((r = write_text(tmp, rel, "MAJOR=%d\nMINOR=%d\nDEVNAME=dri/%s\nDEVTYPE=drm_minor\n", DRM_MAJOR,
			    minor, node)))
		return r;
	/* sys/devices/<root>/<bdf>/drm/<node>: five levels below sys */
	snprintf(rel, sizeof(rel), "%s/drm/%s/subsystem", n->devdir, node);
	if ((r = make_link(tmp, rel, "../../../../../class/drm")))
		return r;
	snprintf(rel, sizeof(rel), "%s/drm/%s/device", n->devdir, node);
	snprintf(target, sizeof(target), "../../../%s", n->bdf);
	if ((r = make_link(tmp, rel, target)))
		return r;

	snprintf(rel, sizeof(rel), "sys/dev/char/%d:%d", DRM_MAJOR, minor);
	snprintf(target, sizeof(target), "../../devices/%s/%s/drm/%s", n->root, n->bdf, node);
	if ((r = make_link(tmp, rel, target)))
		return r;
	snprintf(rel, sizeof(rel), "sys/class/drm/%s", node);
	if ((r = make_link(tmp, rel, target)))
		return r;

	/* The node itself: the daemon's socket two levels above sysroot/dev/dri. */
	snprintf(rel, sizeof(rel), "dev/dri/%s", node);
	snprintf(target, sizeof(target), "../../../%s", node);
	if ((r = make_link(tmp, rel, target)))
		return r;
	snprintf(rel, sizeof(rel), "dev/dri/by-path/pci-%s-%s", n->bdf, which == 0 ? "card" : "render");
	snprintf(target, sizeof(target), "../%s", node);
	if ((r = make_link(tmp, rel, target)))
		return r;
	return write_udev_node(tmp, n, which, usec);
}

/* Writes rel (creating its directories) with a driver file's text. */
static int write_tree_file(const char *tmp, const char *dir, const struct drm_tree_file *f, struct drm_device *dev)
{
	char rel[PATH_LEN], buf[4096];
	if ((size_t)snprintf(rel, sizeof(rel), "%s/%s", dir, f->path) >= sizeof(rel))
		return -ENAMETOOLONG;
	char *slash = strrchr(rel, '/');
	*slash = '\0';
	int r = make_dirs(tmp, rel);
	if (r)
		return r;
	*slash = '/';
	int len = f->show ? f->show(dev, f->arg, buf, sizeof(buf)) : 0;
	if (len < 0)
		return len;
	if ((size_t)len > sizeof(buf))
		return -EOVERFLOW;
	return write_file(tmp, rel, buf, (size_t)len, (mode_t)(f->mode & 0777));
}

/*
 * The DRM core's debugfs "name" (what drm_name_info prints: the driver, the
 * parent device, the unique name) in both minors' directories; the driver's
 * debugfs files in the primary minor's, as the kernel registers them; the
 * module directory with initstate and parameters; the driver's files in
 * the card's sysfs directory.
 */
static int write_debugfs_and_module(const char *tmp, const struct sysroot_device *d, const struct names *n)
{
	char rel[256], dirs[3][256];
	int r;
	for (int i = 0; i < 2; i++) {
		snprintf(rel, sizeof(rel), "sys/kernel/debug/dri/%d", n->minor[i]);
		if ((r = make_dirs(tmp, rel)))
			return r;
		snprintf(rel, sizeof(rel), "sys/kernel/debug/dri/%d/name", n->minor[i]);
		if ((r = write_text(tmp, rel, "%s dev=%s unique=%s\n", d->driver, n->bdf, n->bdf)))
			return r;
	}

	/* One module directory per driver, however many devices it drives. */
	snprintf(rel, sizeof(rel), "sys/module/%s", d->driver);
	char path[PATH_LEN];
	struct stat st;
	bool module_done = fmt_path(path, tmp, "/%s", rel) == 0 && stat(path, &st) == 0;
	if (!module_done) {
		snprintf(rel, sizeof(rel), "sys/module/%s/parameters", d->driver);
		if ((r = make_dirs(tmp, rel)))
			return r;
		snprintf(rel, sizeof(rel), "sys/module/%s/initstate", d->driver);
		if ((r = write_text(tmp, rel, "live\n")))
			return r;
		snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/module", d->driver);
		char target[128];
		snprintf(target, sizeof(target), "../../../../module/%s", d->driver);
		if ((r = make_link(tmp, rel, target)))
			return r;
	}

	if (!d->dev)
		return 0;
	snprintf(dirs[DRM_TREE_CARD], sizeof(dirs[0]), "%s/drm/%s", n->devdir, n->node[0]);
	snprintf(dirs[DRM_TREE_DEBUGFS], sizeof(dirs[0]), "sys/kernel/debug/dri/%d", n->minor[0]);
	snprintf(dirs[DRM_TREE_MODULE], sizeof(dirs[0]), "sys/module/%s", d->driver);
	const struct drm_driver *drv = d->dev->driver;
	for (unsigned i = 0; i < drv->num_tree_files; i++) {
		const struct drm_tree_file *f = &drv->tree_files[i];
		if ((unsigned)f->dir > DRM_TREE_MODULE || (f->dir == DRM_TREE_MODULE && module_done))
			continue;
		if ((r = write_tree_file(tmp, dirs[f->dir], f, d->dev)))
			return r;
	}
	return 0;
}

static int write_device(const char *tmp, const struct sysroot_device *d, bool boot_vga, unsigned long long usec)
{
	const struct hw_pci_id *p = &d->pci;
	struct names n;
	char rel[256], target[256];
	int r;

	make_names(d, &n);
	if ((r = make_dirs(tmp, n.devdir)))
		return r;

#define ATTR(name, ...)                                             \
	do {                                                        \
		snprintf(rel, sizeof(rel), "%s/" name, n.devdir);  \
		if ((r = write_text(tmp, rel, __VA_ARGS__)))        \
			return r;                                   \
	} while (0)

	ATTR("vendor", "0x%04x\n", (unsigned)p->vendor);
	ATTR("device", "0x%04x\n", (unsigned)p->device);
	ATTR("subsystem_vendor", "0x%04x\n", (unsigned)p->subvendor);
	ATTR("subsystem_device", "0x%04x\n", (unsigned)p->subdevice);
	ATTR("revision", "0x%02x\n", (unsigned)p->revision);
	ATTR("class", "0x%06x\n", (unsigned)(p->class_code & 0xffffff));
	ATTR("enable", "1\n");
	ATTR("numa_node", "-1\n");

	char modalias[96];
	snprintf(modalias, sizeof(modalias), "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", (unsigned)p->vendor,
		 (unsigned)p->device, (unsigned)p->subvendor, (unsigned)p->subdevice,
		 (unsigned)(p->class_code >> 16) & 0xff, (unsigned)(p->class_code >> 8) & 0xff,
		 (unsigned)p->class_code & 0xff);
	ATTR("modalias", "%s\n", modalias);
	ATTR("uevent", "DRIVER=%s\nPCI_CLASS=%X\nPCI_ID=%04X:%04X\nPCI_SUBSYS_ID=%04X:%04X\nPCI_SLOT_NAME=%s\nMODALIAS=%s\n",
	     d->driver, (unsigned)(p->class_code & 0xffffff), (unsigned)p->vendor, (unsigned)p->device,
	     (unsigned)p->subvendor, (unsigned)p->subdevice, n.bdf, modalias);
	/* The kernel has boot_vga only on VGA-class devices. */
	if ((p->class_code >> 8) == 0x0300)
		ATTR("boot_vga", "%d\n", boot_vga ? 1 : 0);
#undef ATTR

	uint8_t cfg[256];
	make_config(p, cfg);
	snprintf(rel, sizeof(rel), "%s/config", n.devdir);
	if ((r = write_file(tmp, rel, cfg, sizeof(cfg), 0644)))
		return r;

	/* sys/devices/<root>/<bdf>: three levels below sys */
	snprintf(rel, sizeof(rel), "%s/subsystem", n.devdir);
	if ((r = make_link(tmp, rel, "../../../bus/pci")))
		return r;
	snprintf(rel, sizeof(rel), "%s/driver", n.devdir);
	snprintf(target, sizeof(target), "../../../bus/pci/drivers/%s", d->driver);
	if ((r = make_link(tmp, rel, target)))
		return r;

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", n.bdf);
	snprintf(target, sizeof(target), "../../../devices/%s/%s", n.root, n.bdf);
	if ((r = make_link(tmp, rel, target)))
		return r;
	snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s", d->driver);
	if ((r = make_dirs(tmp, rel)))
		return r;
	snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/%s", d->driver, n.bdf);
	snprintf(target, sizeof(target), "../../../../devices/%s/%s", n.root, n.bdf);
	if ((r = make_link(tmp, rel, target)))
		return r;

	for (int i = 0; i < 2; i++)
		if ((r = write_minor(tmp, &n, i, usec)))
			return r;
	if ((r = write_debugfs_and_module(tmp, d, &n)))
		return r;
	/* udev's entry for the PCI function: initialized, with none of the hardware database's names. */
	snprintf(rel, sizeof(rel), "run/udev/data/+pci:%s", n.bdf);
	return write_text(tmp, rel, "I:%llu\nV:1\n", usec);
}

static bool valid_driver_name(const char *s)
{
	if (!s || !*s || strlen(s) > 31)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == '.' || (unsigned char)*s <= ' ')
			return false;
	return true;
}

int sysroot_create(const char *runtime_dir, const struct sysroot_device *devs, int ndevs)
{
	if (!runtime_dir || ndevs < 0 || (ndevs > 0 && !devs))
		return -EINVAL;
	int boot = -1;
	for (int i = 0; i < ndevs; i++) {
		if (devs[i].card < 0 || devs[i].card > MAX_CARD || !valid_driver_name(devs[i].driver))
			return -EINVAL;
		if (boot < 0 || devs[i].card < devs[boot].card)
			boot = i;
	}

	char final[PATH_LEN], tmp[PATH_LEN];
	int r = fmt_path(final, runtime_dir, "/sysroot");
	if (r)
		return r;
	if ((r = fmt_path(tmp, runtime_dir, "/%sXXXXXX", TMP_PREFIX)))
		return r;

	remove_leftovers(runtime_dir);
	if (!mkdtemp(tmp))
		return -errno;
	if (chmod(tmp, 0755) < 0) {
		r = -errno;
		goto fail;
	}

	static const char *const dirs[] = {
		"dev/dri/by-path", "sys/dev/char", "sys/class/drm", "sys/bus/pci/devices", "sys/bus/pci/drivers",
		"run/udev/data",
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if ((r = make_dirs(tmp, dirs[i])))
			goto fail;
	if ((r = write_text(tmp, "sys/class/drm/version", "drm 1.1.0 20060810\n")))
		goto fail;
	unsigned long long usec = udev_init_usec();
	for (int i = 0; i < ndevs; i++)
		if ((r = write_device(tmp, &devs[i], i == boot, usec)))
			goto fail;

	/* rename() cannot replace a non-empty directory: drop the stale tree first. */
	remove_tree(final);
	if (rename(tmp, final) < 0) {
		r = -errno;
		goto fail;
	}
	return 0;

fail:
	remove_tree(tmp);
	return r;
}

void sysroot_remove(const char *runtime_dir)
{
	char path[PATH_LEN];
	if (!runtime_dir || fmt_path(path, runtime_dir, "/sysroot"))
		return;
	remove_tree(path);
	remove_leftovers(runtime_dir);
}
