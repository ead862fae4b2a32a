/*
 * Directory listings. Directories of the tree (/dev/dri, /sys/class/drm)
 * are listed where they are. Host directories above the tree (/dev,
 * /sys/class, /sys/dev/char, /sys/bus/pci/devices, ...) are listed from
 * the host, followed by the tree's entries the host lacks: libudev finds
 * devices only by enumerating /sys/class and /sys/bus, so "drm" must show
 * up there even on a machine without a GPU.
 */
#undef _FILE_OFFSET_BITS
#undef _FORTIFY_SOURCE
#include "preload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

REAL_DECL(DIR *, opendir, (const char *))
REAL_DECL(DIR *, fdopendir, (int))
REAL_DECL(int, closedir, (DIR *))
REAL_DECL(struct dirent *, readdir, (DIR *))
REAL_DECL(struct dirent64 *, readdir64, (DIR *))
REAL_DECL(void, rewinddir, (DIR *))
REAL_DECL(int, lstat, (const char *, struct stat *))

struct extra {
	char name[256];
	unsigned char type;
	ino_t ino;
	bool seen; /* the host listed it itself */
};

/* A host directory listing that gets the tree's entries appended. */
struct merged {
	struct merged *next;
	DIR *dir;
	int n, pos;
	bool host_done;
	struct extra *extra;
	struct dirent ent;
	struct dirent64 ent64;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct merged *merged_list;
static atomic_int merged_count; /* readdir() of every other directory checks only this */

static unsigned char dtype(mode_t m)
{
	if (S_ISDIR(m))
		return DT_DIR;
	if (S_ISLNK(m))
		return DT_LNK;
	if (S_ISREG(m))
		return DT_REG;
	if (S_ISCHR(m))
		return DT_CHR;
	if (S_ISSOCK(m))
		return DT_SOCK;
	return DT_UNKNOWN;
}

/* Starts merging for a host directory above the tree; pub is its public path. */
static void track(DIR *d, const char *pub)
{
	const struct rdrm_pathmap *pm = rdrm_pm();
	if (!d || !pub || pub[0] != '/' || !pm->sysroot[0] || !rdrm_path_is_ancestor(pm, pub))
		return;
	char norm[PATH_MAX], dir[PATH_MAX * 2];
	int len = rdrm_path_normalize(pub, norm, sizeof(norm));
	if (len <= 0)
		return;
	while (len > 1 && norm[len - 1] == '/')
		norm[--len] = '\0';
	snprintf(dir, sizeof(dir), "%s%s", pm->sysroot, len > 1 ? norm : "");
	DIR *t = real_opendir()(dir);
	if (!t)
		return;
	struct merged *m = calloc(1, sizeof(*m));
	struct dirent64 *de;
	while (m && (de = readdir64(t)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		struct extra *x = realloc(m->extra, (size_t)(m->n + 1) * sizeof(*x));
		if (!x)
			break;
		m->extra = x;
		x = &m->extra[m->n];
		memset(x, 0, sizeof(*x));
		snprintf(x->name, sizeof(x->name), "%s", de->d_name);
		char p[PATH_MAX * 2 + 300];
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		struct stat st;
		bool ok = real_lstat()(p, &st) == 0;
		x->type = ok ? dtype(st.st_mode) : DT_UNKNOWN;
		x->ino = ok ? st.st_ino : 1;
		m->n++;
	}
	closedir(t); /* our own hook: t is not tracked, this only closes it */
	if (!m)
		return;
	if (m->n == 0) {
		free(m->extra);
		free(m);
		return;
	}
	m->dir = d;
	pthread_mutex_lock(&lock);
	m->next = merged_list;
	merged_list = m;
	atomic_fetch_add(&merged_count, 1);
	pthread_mutex_unlock(&lock);
}

static struct merged *find(DIR *d)
{
	if (atomic_load_explicit(&merged_count, memory_order_relaxed) == 0)
		return NULL;
	pthread_mutex_lock(&lock);
	struct merged *m = merged_list;
	while (m && m->dir != d)
		m = m->next;
	pthread_mutex_unlock(&lock);
	return m;
}

static void untrack(DIR *d)
{
	if (atomic_load_explicit(&merged_count, memory_order_relaxed) == 0)
		return;
	pthread_mutex_lock(&lock);
	for (struct merged **pp = &merged_list; *pp; pp = &(*pp)->next)
		if ((*pp)->dir == d) {
			struct merged *m = *pp;
			*pp = m->next;
			atomic_fetch_sub(&merged_count, 1);
			free(m->extra);
			free(m);
			break;
		}
	pthread_mutex_unlock(&lock);
}

static void saw(struct merged *m, const char *name)
{
	for (int i = 0; i < m->n; i++)
		if (!m->extra[i].seen && strcmp(m->extra[i].name, name) == 0) {
			m->extra[i].seen = true;
			return;
		}
}

void rdrm_dir_lock(bool take)
{
	if (take)
		pthread_mutex_lock(&lock);
	else
		pthread_mutex_unlock(&lock);
}

/* After the host's last entry: the next entry of ours it did not list, or NULL. */
static struct extra *next_extra(struct merged *m)
{
	while (m->pos < m->n && m->extra[m->pos].seen)
		m->pos++;
	return m->pos < m->n ? &m->extra[m->pos++] : NULL;
}

RDRM_VISIBLE DIR *opendir(const char *path)
{
	if (!rdrm_maybe_ours(AT_FDCWD, path))
		return real_opendir()(path);
	struct rdrm_res res;
	switch (rdrm_resolve(AT_FDCWD, path, false, false, &res)) {
	case RES_ERR:
		errno = res.err;
		return NULL;
	case RES_NODE:
	case RES_MAPPED: {
		DIR *d = real_opendir()(res.m.path);
		if (d && res.m.kind == RDRM_PATH_PUBLIC) {
			rdrm_note_dir(dirfd(d), res.m.path);
			track(d, res.m.path);
		}
		return d;
	}
	default: {
		DIR *d = real_opendir()(path);
		if (d && res.abs[0]) {
			rdrm_note_dir(dirfd(d), res.abs);
			track(d, res.abs);
		}
		return d;
	}
	}
}

RDRM_VISIBLE DIR *fdopendir(int fd)
{
	DIR *d = real_fdopendir()(fd);
	char pub[PATH_MAX];
	if (d && fdt_dirpath(fd, pub, sizeof(pub)))
		track(d, pub);
	return d;
}

RDRM_VISIBLE int closedir(DIR *d)
{
	/* closedir() is declared nonnull; the volatile read keeps this check. */
	DIR *volatile vd = d;
	if (vd) {
		untrack(d);
		int fd = dirfd(d);
		if (fd >= 0 && rdrm_fd_flags_get(fd))
			fdt_forget(fd);
	}
	return real_closedir()(d);
}

RDRM_VISIBLE struct dirent *readdir(DIR *d)
{
	struct merged *m = find(d);
	if (!m)
		return real_readdir()(d);
	if (!m->host_done) {
		int saved = errno;
		struct dirent *e = real_readdir()(d);
		if (e) {
			saw(m, e->d_name);
			return e;
		}
		if (errno != saved)
			return NULL; /* a real error, not the end */
		m->host_done = true;
	}
	struct extra *x = next_extra(m);
	if (!x)
		return NULL;
	memset(&m->ent, 0, sizeof(m->ent));
	m->ent.d_ino = x->ino;
	m->ent.d_reclen = sizeof(m->ent);
	m->ent.d_type = x->type;
	snprintf(m->ent.d_name, sizeof(m->ent.d_name), "%s", x->name);
	return &m->ent;
}

RDRM_VISIBLE struct dirent64 *readdir64(DIR *d)
{
	struct merged *m = find(d);
	if (!m)
		return real_readdir64()(d);
	if (!m->host_done) {
		int saved = errno;
		struct dirent64 *e = real_readdir64()(d);
		if (e) {
			saw(m, e->d_name);
			return e;
		}
		if (errno != saved)
			return NULL;
		m->host_done = true;
	}
	struct extra *x = next_extra(m);
	if (!x)
		return NULL;
	memset(&m->ent64, 0, sizeof(m->ent64));
	m->ent64.d_ino = x->ino;
	m->ent64.d_reclen = sizeof(m->ent64);
	m->ent64.d_type = x->type;
	snprintf(m->ent64.d_name, sizeof(m->ent64.d_name), "%s", x->name);
	return &m->ent64;
}

RDRM_VISIBLE void rewinddir(DIR *d)
{
	struct merged *m = find(d);
	if (m) {
		m->host_done = false;
		m->pos = 0;
		for (int i = 0; i < m->n; i++)
			m->extra[i].seen = false;
	}
	real_rewinddir()(d);
}
