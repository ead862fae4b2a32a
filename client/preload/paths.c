/* Path mapping (see paths.h). */
#include "paths.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int copy_str(char *out, size_t size, const char *s)
{
	size_t n = strlen(s);
	if (n >= size)
		return -ENAMETOOLONG;
	memmove(out, s, n + 1);
	return 0;
}

static int concat(char *out, size_t size, const char *a, const char *b)
{
	size_t na = strlen(a), nb = strlen(b);
	if (na + nb >= size)
		return -ENAMETOOLONG;
	memmove(out + na, b, nb + 1); /* b first: it may overlap out past a */
	memmove(out, a, na);
	return 0;
}

static void set_canon(char *dst, const char *canon, const char *raw, const char *suffix)
{
	dst[0] = '\0';
	if (!canon || !*canon || strcmp(canon, raw) == 0)
		return;
	if (concat(dst, PATH_MAX, canon, suffix) < 0)
		dst[0] = '\0';
}

void rdrm_pathmap_init(struct rdrm_pathmap *m, const char *runtime, const char *runtime_canon)
{
	memset(m, 0, sizeof(*m));
	if (copy_str(m->runtime, sizeof(m->runtime), runtime) < 0)
		m->runtime[0] = '\0';
	/* A trailing slash would break the prefix comparisons. */
	size_t n = strlen(m->runtime);
	while (n > 1 && m->runtime[n - 1] == '/')
		m->runtime[--n] = '\0';
	if (concat(m->sysroot, sizeof(m->sysroot), m->runtime, "/sysroot") < 0)
		m->sysroot[0] = '\0';
	set_canon(m->runtime_canon, runtime_canon, m->runtime, "");
	set_canon(m->sysroot_canon, runtime_canon, m->runtime, "/sysroot");
}

/* Real directories above (or at the top of) the mapped regions. */
static const char *const plain_dirs[] = {
	"/",
	"/dev",
	"/dev/dri",
	"/dev/dri/by-path",
	"/sys",
	"/sys/dev",
	"/sys/dev/char",
	"/sys/class",
	"/sys/class/drm",
	"/sys/bus",
	"/sys/bus/pci",
	"/sys/bus/pci/devices",
	"/sys/bus/pci/drivers",
	"/sys/devices",
	"/sys/kernel",
	"/sys/kernel/debug",
	"/sys/module",
	"/scheme",
	"/scheme/drm",
	"/run",
	"/run/udev",
	"/run/udev/data",
};

static bool in_list(const char *s, size_t len, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(list[i]) == len && memcmp(list[i], s, len) == 0)
			return true;
	return false;
}

static int normalize(const char *in, char *out, size_t size, bool *popped)
{
	*popped = false;
	if (!in || in[0] != '/')
		return -EINVAL;
	if (size < 2)
		return -ENAMETOOLONG;
	size_t o = 0;
	out[o++] = '/';
	bool trailing = false;
	const char *p = in;
	for (;;) {
		while (*p == '/')
			p++;
		if (!*p)
			break;
		const char *s = p;
		while (*p && *p != '/')
			p++;
		size_t len = (size_t)(p - s);
		/* A trailing "/" or "/." requires a directory: keep that meaning. */
		trailing = *p == '/' || (len == 1 && s[0] == '.');
		if (len == 1 && s[0] == '.')
			continue;
		if (len == 2 && s[0] == '.' && s[1] == '.' &&
		    in_list(out, o, plain_dirs, sizeof(plain_dirs) / sizeof(plain_dirs[0]))) {
			while (o > 1 && out[o - 1] != '/')
				o--;
			if (o > 1)
				o--;
			trailing = *p == '/';
			*popped = true;
			continue;
		}
		size_t need = o + (o > 1 ? 1 : 0) + len;
		if (need + 2 > size)
			return -ENAMETOOLONG;
		if (o > 1)
			out[o++] = '/';
		memcpy(out + o, s, len);
		o += len;
	}
	if (trailing && o > 1) {
		if (o + 2 > size)
			return -ENAMETOOLONG;
		out[o++] = '/';
	}
	out[o] = '\0';
	return (int)o;
}

int rdrm_path_normalize(const char *in, char *out, size_t size)
{
	bool popped;
	return normalize(in, out, size, &popped);
}

/* path is prefix, or prefix followed by '/': returns the rest ("" or "/..."), else NULL. */
static const char *under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	if (strncmp(path, prefix, n) != 0)
		return NULL;
	if (path[n] != '\0' && path[n] != '/')
		return NULL;
	return path + n;
}

/* Like under(), with the next component compared against name. */
static const char *under2(const char *path, const char *prefix, const char *name)
{
	const char *rest = under(path, prefix);
	if (!rest || rest[0] != '/')
		return NULL;
	return under(rest + 1, name);
}

int rdrm_node_minor(const char *name)
{
	static const char *const prefixes[] = { "card", "renderD", "controlD" };
	for (size_t i = 0; i < 3; i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(name, prefixes[i], n) != 0)
			continue;
		const char *d = name + n;
		if (*d < '0' || *d > '9' || strlen(d) > 6)
			return -1;
		int v = 0;
		for (; *d; d++) {
			if (*d < '0' || *d > '9')
				return -1;
			v = v * 10 + (*d - '0');
		}
		return v;
	}
	return -1;
}

/* Where each system keeps the sw_sync node: Android's misc device, and Linux's debugfs file. */
static const char sw_sync_dev[] = "/dev/sw_sync";
static const char sw_sync_debugfs[] = "/sys/kernel/debug/sync/sw_sync";

int rdrm_node_path(enum rdrm_node_type type, const char *node, char *out, size_t size)
{
	switch (type) {
	case RDRM_NODE_SW_SYNC:
		return copy_str(out, size, sw_sync_dev);
	case RDRM_NODE_SW_SYNC_DEBUGFS:
		return copy_str(out, size, sw_sync_debugfs);
	default:
		return concat(out, size, "/dev/dri/", node);
	}
}

/* rest is what follows the node directory: "/card0" names a node, "/by-path/x" a link. */
static enum rdrm_path_kind classify_dri(const char *rest, char *node, size_t size)
{
	if (rest[0] != '/')
		return RDRM_PATH_SYSROOT;
	const char *name = rest + 1;
	if (strchr(name, '/') == NULL) {
		if (rdrm_node_minor(name) >= 0 && strlen(name) < size) {
			strcpy(node, name);
			return RDRM_PATH_NODE;
		}
		return RDRM_PATH_SYSROOT;
	}
	const char *link = under(name, "by-path");
	if (link && link[0] == '/' && link[1] && !strchr(link + 1, '/'))
		return RDRM_PATH_NODE_LINK;
	return RDRM_PATH_SYSROOT;
}

/*
 * udev's database entries for the simulated devices: "c226:N" for the
 * nodes, "+pci:<bdf>" for the PCI functions. The host's entries under
 * those names describe the host's own devices (or stale ones), so the
 * tree's are shown instead; every other entry is the host's.
 */
static bool udev_db_mapped(const struct rdrm_pathmap *m, const char *p)
{
	const char *rest = under(p, "/run/udev/data");
	if (!rest || rest[0] != '/')
		return false;
	const char *name = rest + 1;
	size_t len = strcspn(name, "/");
	if (len > 5 && strncmp(name, "c226:", 5) == 0 && strspn(name + 5, "0123456789") == len - 5)
		return true;
	if (strncmp(name, "+pci:", 5) != 0)
		return false;
	for (int i = 0; i < m->ndevs; i++) {
		size_t n = strlen(m->devs[i].bdf);
		if (len == 5 + n && strncmp(name + 5, m->devs[i].bdf, n) == 0)
			return true;
	}
	return false;
}

static bool sys_mapped(const struct rdrm_pathmap *m, const char *p)
{
	if (under(p, "/sys/class/drm") || under(p, RDRM_DEBUGFS_DRI) || (m->debugfs_whole && under(p, RDRM_DEBUGFS_ROOT)))
		return true;
	const char *rest = under(p, "/sys/dev/char");
	if (rest && strncmp(rest, "/226:", 5) == 0)
		return true;
	for (int i = 0; i < m->ndevs; i++) {
		const struct rdrm_pathmap_dev *d = &m->devs[i];
		if (under2(p, "/sys/bus/pci/devices", d->bdf) || under2(p, "/sys/bus/pci/drivers", d->driver))
			return true;
		if (d->driver[0] && under2(p, "/sys/module", d->driver))
			return true;
		rest = under2(p, "/sys/devices", d->root);
		if (rest && (rest[0] == '\0' ? d->map_root : under(rest + 1, d->bdf) != NULL))
			return true;
	}
	return false;
}

int rdrm_path_map(const struct rdrm_pathmap *m, const char *path, struct rdrm_mapped *out)
{
	out->kind = RDRM_PATH_PUBLIC;
	out->path[0] = '\0';
	out->node[0] = '\0';
	out->type = RDRM_NODE_DRM;
	/* Fast exit for everything that cannot be ours. */
	if (!path || path[0] != '/' || !m->sysroot[0])
		return 0;
	const char *q = path;
	while (*q == '/')
		q++;
	if (*q != 'd' && *q != 's' && *q != 'r' && *q != '.')
		return 0;

	char norm[PATH_MAX];
	bool popped;
	int r = normalize(path, norm, sizeof(norm), &popped);
	if (r < 0)
		return r == -EINVAL ? 0 : r;

	const char *rest;
	enum rdrm_path_kind kind;
	bool sw_sync = strcmp(norm, sw_sync_dev) == 0;
	if (sw_sync || strcmp(norm, sw_sync_debugfs) == 0) {
		/* Both names lead to the one socket; whether the daemon serves it is the caller's to check. */
		kind = RDRM_PATH_NODE;
		out->type = sw_sync ? RDRM_NODE_SW_SYNC : RDRM_NODE_SW_SYNC_DEBUGFS;
		strcpy(out->node, RDRM_SW_SYNC_NODE);
		r = concat(out->path, sizeof(out->path), m->runtime, "/" RDRM_SW_SYNC_NODE);
	} else if ((rest = under(norm, "/dev/dri")) != NULL) {
		kind = classify_dri(rest, out->node, sizeof(out->node));
		r = concat(out->path, sizeof(out->path), m->sysroot, norm);
	} else if ((rest = under(norm, "/scheme/drm")) != NULL) {
		/* Redox names the card node /scheme/drm/cardN. */
		kind = classify_dri(rest, out->node, sizeof(out->node));
		if (kind == RDRM_PATH_NODE_LINK)
			kind = RDRM_PATH_SYSROOT;
		r = concat(out->path, sizeof(out->path), m->sysroot, "/dev/dri");
		if (r == 0) {
			size_t used = strlen(out->path);
			r = concat(out->path + used, sizeof(out->path) - used, "", rest);
		}
	} else if (sys_mapped(m, norm) || udev_db_mapped(m, norm)) {
		kind = RDRM_PATH_SYSROOT;
		r = concat(out->path, sizeof(out->path), m->sysroot, norm);
	} else {
		/*
		 * "/dev/dri/../null" left the mapped region through a
		 * directory only the tree has: the host must get the
		 * resolved path, since its /dev/dri may not exist.
		 */
		if (popped)
			return copy_str(out->path, sizeof(out->path), norm);
		return 0;
	}
	if (r < 0) {
		out->path[0] = '\0';
		out->node[0] = '\0';
		out->type = RDRM_NODE_DRM;
		return r;
	}
	out->kind = kind;
	return 0;
}

int rdrm_path_unmap(const struct rdrm_pathmap *m, const char *path, char *out, size_t size)
{
	if (!path || path[0] != '/')
		return 0;
	const char *roots[2] = { m->sysroot, m->sysroot_canon };
	for (int i = 0; i < 2; i++) {
		if (!roots[i][0])
			continue;
		const char *rest = under(path, roots[i]);
		if (!rest)
			continue;
		int r = copy_str(out, size, rest[0] ? rest : "/");
		return r < 0 ? r : 1;
	}
	/* The node sockets themselves (realpath of a /dev/dri link ends there). */
	const char *rts[2] = { m->runtime, m->runtime_canon };
	for (int i = 0; i < 2; i++) {
		if (!rts[i][0])
			continue;
		const char *rest = under(path, rts[i]);
		if (!rest || rest[0] != '/' || strchr(rest + 1, '/'))
			continue;
		if (strcmp(rest + 1, RDRM_SW_SYNC_NODE) == 0) {
			int r = copy_str(out, size, sw_sync_dev);
			return r < 0 ? r : 1;
		}
		if (rdrm_node_minor(rest + 1) < 0)
			continue;
		char name[64];
		if (copy_str(name, sizeof(name), rest + 1) < 0)
			return 0;
		int r = concat(out, size, "/dev/dri/", name);
		return r < 0 ? r : 1;
	}
	return 0;
}

static const char *const ancestors[] = {
	"/",
	"/dev",
	"/sys",
	"/sys/dev",
	"/sys/dev/char",
	"/sys/class",
	"/sys/bus",
	"/sys/bus/pci",
	"/sys/bus/pci/devices",
	"/sys/bus/pci/drivers",
	"/sys/devices",
	"/sys/kernel",
	"/sys/module",
	"/scheme",
};

bool rdrm_path_is_ancestor(const struct rdrm_pathmap *m, const char *path)
{
	char norm[PATH_MAX];
	int n = rdrm_path_normalize(path, norm, sizeof(norm));
	if (n < 0)
		return false;
	/* Trailing slashes do not change which directory it is. */
	while (n > 1 && norm[n - 1] == '/')
		norm[--n] = '\0';
	if (in_list(norm, (size_t)n, ancestors, sizeof(ancestors) / sizeof(ancestors[0])))
		return true;
	if (!m->debugfs_whole && strcmp(norm, RDRM_DEBUGFS_ROOT) == 0)
		return true;
	for (int i = 0; i < m->ndevs; i++) {
		const char *rest = under2(norm, "/sys/devices", m->devs[i].root);
		if (rest && rest[0] == '\0' && !m->devs[i].map_root)
			return true;
	}
	return false;
}

int rdrm_path_join(const char *dir, const char *rel, char *out, size_t size)
{
	if (rel[0] == '/')
		return copy_str(out, size, rel);
	size_t nd = strlen(dir), nr = strlen(rel);
	bool slash = nd > 0 && dir[nd - 1] != '/';
	if (nd + (slash ? 1 : 0) + nr >= size)
		return -ENAMETOOLONG;
	memmove(out, dir, nd);
	if (slash)
		out[nd++] = '/';
	memcpy(out + nd, rel, nr + 1);
	return 0;
}
