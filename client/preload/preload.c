/*
 * Interposer state: the runtime directory, the path map built from the
 * daemon's synthetic tree, the REDOX_DRM_HIDE list, and initialisation.
 */
#undef _FILE_OFFSET_BITS
#include "preload.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

REAL_DECL(DIR *, opendir, (const char *))
REAL_DECL(ssize_t, readlink, (const char *, char *, size_t))
REAL_DECL(int, stat, (const char *, struct stat *))
REAL_DECL(char *, realpath, (const char *, char *))
REAL_DECL(int, statfs, (const char *, struct statfs *))

#define DEBUGFS_MAGIC_ 0x64626720

_Thread_local int rdrm_guard RDRM_TLS_IE;

void *rdrm_next(const char *name)
{
	return dlsym(RTLD_NEXT, name);
}

static struct rdrm_pathmap empty_map;
static _Atomic(struct rdrm_pathmap *) cur_map;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static struct timespec last_reload;

static char **hide_list;
static int hide_count;

static void runtime_dir(char *out, size_t size)
{
	const char *env = getenv("REDOX_DRM_RUNTIME_DIR");
	if (env && *env) {
		snprintf(out, size, "%s", env);
		return;
	}
	env = getenv("XDG_RUNTIME_DIR");
	if (env && *env)
		snprintf(out, size, "%s/redox-drm", env);
	else
		snprintf(out, size, "/run/redox-drm");
}

/* "../../../devices/pci0000:03/0000:03:00.0" -> root "pci0000:03" */
static bool parse_dev_link(const char *target, const char *bdf, char *root, size_t size)
{
	const char *p = strstr(target, "devices/");
	if (!p)
		return false;
	p += strlen("devices/");
	const char *slash = strchr(p, '/');
	if (!slash || (size_t)(slash - p) >= size || strcmp(slash + 1, bdf) != 0)
		return false;
	memcpy(root, p, (size_t)(slash - p));
	root[slash - p] = '\0';
	return true;
}

static void load_devices(struct rdrm_pathmap *m)
{
	char dir[PATH_MAX];
	if (snprintf(dir, sizeof(dir), "%s/sys/bus/pci/devices", m->sysroot) >= (int)sizeof(dir))
		return;
	DIR *d = real_opendir()(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && m->ndevs < RDRM_PATHMAP_MAX_DEVS) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(m->devs[0].bdf))
			continue;
		struct rdrm_pathmap_dev *dev = &m->devs[m->ndevs];
		char path[PATH_MAX + 64], target[PATH_MAX];
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		ssize_t n = real_readlink()(path, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		strcpy(dev->bdf, de->d_name);
		if (!parse_dev_link(target, dev->bdf, dev->root, sizeof(dev->root)))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s/driver", dir, de->d_name) >= (int)sizeof(path))
			continue;
		n = real_readlink()(path, target, sizeof(target) - 1);
		if (n > 0) {
			target[n] = '\0';
			const char *base = strrchr(target, '/');
			base = base ? base + 1 : target;
			if (strlen(base) < sizeof(dev->driver))
				strcpy(dev->driver, base);
		}
		/* Only a root bus the host does not have may be shown whole. */
		struct stat st;
		if (snprintf(path, sizeof(path), "/sys/devices/%s", dev->root) >= (int)sizeof(path))
			continue;
		dev->map_root = real_stat()(path, &st) < 0;
		m->ndevs++;
	}
	closedir(d);
}

static struct rdrm_pathmap *build_map(void)
{
	struct rdrm_pathmap *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	char rt[PATH_MAX], canon[PATH_MAX];
	runtime_dir(rt, sizeof(rt));
	if (!real_realpath()(rt, canon))
		canon[0] = '\0';
	rdrm_pathmap_init(m, rt, canon);
	load_devices(m);
	struct statfs fs;
	m->debugfs_whole = real_statfs()(RDRM_DEBUGFS_ROOT, &fs) < 0 || fs.f_type != DEBUGFS_MAGIC_;
	return m;
}

static void parse_hide(void)
{
	const char *env = getenv("REDOX_DRM_HIDE");
	if (!env || !*env)
		return;
	char *copy = strdup(env);
	if (!copy)
		return;
	int n = 1;
	for (const char *p = copy; *p; p++)
		n += *p == ':';
	hide_list = calloc((size_t)n, sizeof(*hide_list));
	if (!hide_list) {
		free(copy);
		return;
	}
	char *save = NULL;
	for (char *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save)) {
		char norm[PATH_MAX];
		int len = rdrm_path_normalize(tok, norm, sizeof(norm));
		if (len <= 0)
			continue;
		while (len > 1 && norm[len - 1] == '/')
			norm[--len] = '\0';
		hide_list[hide_count] = strdup(norm);
		if (hide_list[hide_count])
			hide_count++;
	}
	free(copy);
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static atomic_bool ready;
static __thread bool in_init;

/* Every interposer lock is held across fork(), so the child never inherits one mid-update. */
static void atfork_prepare(void)
{
	pthread_mutex_lock(&reload_lock);
	rdrm_dir_lock(true);
	fdt_atfork_prepare();
}

static void atfork_parent(void)
{
	fdt_atfork_parent();
	rdrm_dir_lock(false);
	pthread_mutex_unlock(&reload_lock);
}

static void atfork_child(void)
{
	fdt_atfork_child();
	rdrm_dir_lock(false);
	pthread_mutex_unlock(&reload_lock);
}

static void do_init(void)
{
	in_init = true;
	struct rdrm_pathmap *m = build_map();
	atomic_store_explicit(&cur_map, m ? m : &empty_map, memory_order_release);
	clock_gettime(CLOCK_MONOTONIC, &last_reload);
	parse_hide();
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
	fdt_scan_inherited();
	atomic_store_explicit(&ready, true, memory_order_release);
	in_init = false;
}

void rdrm_preload_init(void)
{
	if (atomic_load_explicit(&ready, memory_order_acquire) || in_init)
		return;
	pthread_once(&init_once, do_init);
}

const struct rdrm_pathmap *rdrm_pm(void)
{
	rdrm_preload_init();
	struct rdrm_pathmap *m = atomic_load_explicit(&cur_map, memory_order_acquire);
	return m ? m : &empty_map;
}

/*
 * The tree may appear after the program started (a daemon started later):
 * the device list is reloaded, at most five times a second, while it is
 * empty. Old maps are never freed, since other threads may still read them.
 */
static void maybe_reload(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&reload_lock);
	long ms = (now.tv_sec - last_reload.tv_sec) * 1000 + (now.tv_nsec - last_reload.tv_nsec) / 1000000;
	if (ms >= 200) {
		last_reload = now;
		struct rdrm_pathmap *m = build_map();
		if (m && m->ndevs > 0)
			atomic_store_explicit(&cur_map, m, memory_order_release);
		else
			free(m);
	}
	pthread_mutex_unlock(&reload_lock);
}

int rdrm_map(const char *path, struct rdrm_mapped *out)
{
	const struct rdrm_pathmap *pm = rdrm_pm();
	if (pm->ndevs == 0 && path && strncmp(path, "/sys/", 5) == 0 && !in_init) {
		maybe_reload();
		pm = rdrm_pm();
	}
	return rdrm_path_map(pm, path, out);
}

bool rdrm_hidden(const char *path)
{
	rdrm_preload_init();
	if (hide_count == 0 || !path || path[0] != '/')
		return false;
	char norm[PATH_MAX];
	int len = rdrm_path_normalize(path, norm, sizeof(norm));
	if (len <= 0)
		return false;
	for (int i = 0; i < hide_count; i++) {
		size_t n = strlen(hide_list[i]);
		if (strncmp(norm, hide_list[i], n) == 0 && (norm[n] == '\0' || norm[n] == '/' || n == 1))
			return true;
	}
	return false;
}

bool rdrm_maybe_ours(int dirfd, const char *path)
{
	if (!path)
		return false;
	if (path[0] == '/') {
		rdrm_preload_init();
		if (hide_count)
			return true;
		const char *p = path + 1;
		while (*p == '/')
			p++;
		/* "/" itself: libudev walks paths from an O_PATH descriptor of the root */
		return *p == 'd' || *p == 's' || *p == 'r' || *p == '.' || *p == '\0' ||
		       (*p == 'p' && atomic_load_explicit(&rdrm_drm_fds, memory_order_relaxed) > 0);
	}
	return dirfd != AT_FDCWD && path[0] && (rdrm_fd_flags_get(dirfd) & FDF_DIRPATH);
}

bool rdrm_proc_fd_node(const char *path, char *pub, size_t size)
{
	const char *p;
	if (!path)
		return false;
	if (strncmp(path, "/dev/fd/", 8) == 0) {
		p = path + 8;
	} else if (strncmp(path, "/proc/", 6) == 0) {
		p = path + 6;
		if (strncmp(p, "self/", 5) == 0) {
			p += 5;
		} else if (strncmp(p, "thread-self/", 12) == 0) {
			p += 12;
		} else {
			char *end;
			long pid = strtol(p, &end, 10);
			if (end == p || *end != '/' || pid != (long)getpid())
				return false;
			p = end + 1;
		}
		if (strncmp(p, "fd/", 3) != 0)
			return false;
		p += 3;
	} else {
		return false;
	}
	if (*p < '0' || *p > '9')
		return false;
	char *end;
	long fd = strtol(p, &end, 10);
	if (*end || fd > 0x7fffffff)
		return false;
	struct rfile *f = fdt_get((int)fd);
	if (!f)
		return false;
	struct rfile_info info;
	rfile_info(f, &info);
	fdt_put(f);
	return rdrm_node_path(info.type, info.node, pub, size) == 0;
}

/* /proc/self/fd/N of a node fd: followed, it is the node (opening it opens the device anew). */
static enum rdrm_res_kind resolve_proc_fd(const char *pub, bool nofollow, bool want_stat, struct rdrm_res *res)
{
	if (nofollow)
		return RES_PUBLIC;
	if (rdrm_path_map(rdrm_pm(), pub, &res->m) < 0 || res->m.kind != RDRM_PATH_NODE) {
		res->m.kind = RDRM_PATH_PUBLIC;
		res->m.path[0] = '\0';
		return RES_PUBLIC;
	}
	res->minor = res->m.type == RDRM_NODE_DRM ? rdrm_node_minor(res->m.node) : -1;
	if (want_stat && real_stat()(res->m.path, &res->sock) < 0) {
		res->err = errno;
		return RES_ERR;
	}
	return RES_NODE;
}

/*
 * The sw_sync names stay the host's unless this daemon serves the node, so
 * its socket is looked at every time (stat'ed even without want_stat).
 */
static enum rdrm_res_kind resolve_sw_sync(struct rdrm_res *res)
{
	if (real_stat()(res->m.path, &res->sock) < 0 || !S_ISSOCK(res->sock.st_mode)) {
		res->m.kind = RDRM_PATH_PUBLIC;
		res->m.path[0] = '\0';
		res->m.node[0] = '\0';
		res->m.type = RDRM_NODE_DRM;
		return RES_PUBLIC;
	}
	res->minor = -1;
	return RES_NODE;
}

enum rdrm_res_kind rdrm_resolve(int dirfd, const char *path, bool nofollow, bool want_stat, struct rdrm_res *res)
{
	res->abs[0] = '\0';
	res->err = 0;
	res->minor = -1;
	res->m.kind = RDRM_PATH_PUBLIC;
	res->m.path[0] = '\0';
	res->m.node[0] = '\0';
	res->m.type = RDRM_NODE_DRM;
	if (!path)
		return RES_PUBLIC;
	if (path[0] == '/') {
		size_t n = strlen(path);
		if (n >= sizeof(res->abs))
			return RES_PUBLIC; /* libc reports ENAMETOOLONG */
		memcpy(res->abs, path, n + 1);
	} else {
		/* res->m.path is free until the mapping: use it for the directory. */
		if (dirfd == AT_FDCWD || !path[0] || !fdt_dirpath(dirfd, res->m.path, sizeof(res->m.path)))
			return RES_PUBLIC;
		if (rdrm_path_join(res->m.path, path, res->abs, sizeof(res->abs)) < 0)
			return RES_PUBLIC;
		res->m.path[0] = '\0';
	}
	char pub[64];
	if (res->abs[1] != 's' && atomic_load_explicit(&rdrm_drm_fds, memory_order_relaxed) > 0 &&
	    rdrm_proc_fd_node(res->abs, pub, sizeof(pub)))
		return resolve_proc_fd(pub, nofollow, want_stat, res);
	if (rdrm_hidden(res->abs)) {
		res->err = ENOENT;
		return RES_ERR;
	}
	int r = rdrm_map(res->abs, &res->m);
	if (r < 0) {
		res->err = -r;
		return RES_ERR;
	}
	switch (res->m.kind) {
	case RDRM_PATH_PUBLIC:
		return res->m.path[0] ? RES_MAPPED : RES_PUBLIC;
	case RDRM_PATH_SYSROOT:
		return RES_MAPPED;
	case RDRM_PATH_NODE_LINK: {
		if (nofollow)
			return RES_MAPPED;
		char t[256];
		ssize_t n = real_readlink()(res->m.path, t, sizeof(t) - 1);
		if (n <= 0)
			return RES_MAPPED;
		t[n] = '\0';
		const char *base = strrchr(t, '/');
		base = base ? base + 1 : t;
		if (rdrm_node_minor(base) < 0 || strlen(base) >= sizeof(res->m.node))
			return RES_MAPPED;
		strcpy(res->m.node, base);
		break;
	}
	case RDRM_PATH_NODE:
		if (res->m.type != RDRM_NODE_DRM)
			return resolve_sw_sync(res);
		break;
	}
	res->minor = rdrm_node_minor(res->m.node);
	if (want_stat) {
		if (real_stat()(res->m.path, &res->sock) < 0) {
			res->err = errno;
			return RES_ERR;
		}
		if (!S_ISSOCK(res->sock.st_mode))
			return RES_MAPPED;
	}
	return RES_NODE;
}

void rdrm_note_dir(int fd, const char *abs)
{
	if (fd < 0 || !abs || abs[0] != '/' || !rdrm_path_is_ancestor(rdrm_pm(), abs))
		return;
	char norm[PATH_MAX];
	int n = rdrm_path_normalize(abs, norm, sizeof(norm));
	if (n <= 0)
		return;
	while (n > 1 && norm[n - 1] == '/')
		norm[--n] = '\0';
	fdt_set_dirpath(fd, norm);
}

__attribute__((constructor)) static void preload_ctor(void)
{
	rdrm_preload_init();
}
