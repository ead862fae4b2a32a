/* debugfs attribute writes (see debugfs.h). */
#include "debugfs.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "redox-drm/drm_device.h"
#include "redox-drm/driver.h"
#include "redox-drm/log.h"
#include "redox-drm/wire.h"

/* The kernel's simple attributes copy at most this many bytes of a write. */
#define SIMPLE_ATTR_BUF 23

static int digit(char c, unsigned base)
{
	unsigned v;
	if (c >= '0' && c <= '9')
		v = (unsigned)(c - '0');
	else if (c >= 'a' && c <= 'f')
		v = (unsigned)(c - 'a' + 10);
	else if (c >= 'A' && c <= 'F')
		v = (unsigned)(c - 'A' + 10);
	else
		return -1;
	return v < base ? (int)v : -1;
}

int drm_debugfs_parse_u64(const char *buf, uint32_t len, uint64_t *val)
{
	char s[SIMPLE_ATTR_BUF + 1];
	size_t n = len < SIMPLE_ATTR_BUF ? len : SIMPLE_ATTR_BUF;
	memcpy(s, buf, n);
	s[n] = '\0';
	n = strlen(s); /* a NUL written ends the string there */
	if (n && s[n - 1] == '\n')
		s[--n] = '\0';
	const char *p = s;
	if (*p == '+')
		p++;
	unsigned base = 10;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && digit(p[2], 16) >= 0) {
		base = 16;
		p += 2;
	} else if (p[0] == '0') {
		base = 8;
	}
	if (!*p)
		return -EINVAL;
	uint64_t v = 0;
	for (; *p; p++) {
		int d = digit(*p, base);
		if (d < 0)
			return -EINVAL;
		if (v > (UINT64_MAX - (uint64_t)d) / base)
			return -ERANGE;
		v = v * base + (uint64_t)d;
	}
	*val = v;
	return 0;
}

int drm_debugfs_dispatch(struct drm_call *call, unsigned int cmd, void *kdata, void *ctx)
{
	struct drm_file *file = ctx;
	struct rdrm_wire_attr_write *w = kdata;
	if (cmd != RDRM_IOC_ATTR_WRITE || !file)
		return -ENOTTY;
	/* debugfs is root's; the daemon's own user runs the daemon's tests. */
	if (call->uid != 0 && call->uid != geteuid())
		return -EACCES;
	if (w->len > sizeof(w->data) || memchr(w->name, '\0', sizeof(w->name)) == NULL)
		return -EINVAL;
	struct drm_device *dev = file->dev;
	const struct drm_driver *drv = dev->driver;
	for (unsigned i = 0; i < drv->num_tree_files; i++) {
		const struct drm_tree_file *f = &drv->tree_files[i];
		if (f->dir != DRM_TREE_DEBUGFS || strcmp(f->path, w->name) != 0)
			continue;
		if (!f->store)
			return -EACCES; /* a read-only attribute, as simple_attr_write answers */
		uint64_t val;
		int r = drm_debugfs_parse_u64(w->data, w->len, &val);
		if (r)
			return r;
		log_debug("%s: debugfs %s <- 0x%llx (pid %d)", dev->primary.name, w->name,
			  (unsigned long long)val, (int)call->pid);
		return f->store(dev, f->arg, val, call);
	}
	return -ENOENT;
}
