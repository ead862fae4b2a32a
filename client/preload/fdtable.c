/*
 * Which descriptors are node files (DRM files, and sw_sync timelines kept
 * the same way), and the state of each file.
 *
 * A node file is one connection to a node socket. dup(), fork() and
 * SCM_RIGHTS give more descriptors for the same connection, and the kernel
 * semantics (GEM handles, master, events) belong to the connection, so the
 * state is keyed by the socket's inode and shared by every descriptor of
 * it. Each file keeps a pool of request channels: a call takes an idle one
 * or attaches a new one, so threads never wait for each other's replies.
 */
#undef _FILE_OFFSET_BITS
#include "preload.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <unistd.h>

#include "redox-drm/client.h"

REAL_DECL(int, close, (int))
REAL_DECL(int, fstat, (int, struct stat *))
REAL_DECL(int, stat, (const char *, struct stat *))
REAL_DECL(int, fcntl, (int, int, ...))
REAL_DECL(DIR *, opendir, (const char *))

#define DRM_MAJOR 226
/*
 * /dev/sw_sync as Android made it: a misc device (major 10). Its minor was
 * dynamic, so no number is the true one; 254 is in the range the kernel's
 * devices.txt keeps for local use, at the end new assignments reach last,
 * so it names no mainline device.
 */
#define MISC_MAJOR 10
#define SW_SYNC_MINOR 254
#define MAX_IDLE 4 /* idle channels kept per file; more concurrent callers get fresh ones */

struct rfile {
	struct rfile *next;
	dev_t dev;
	ino_t ino;
	int nfds; /* descriptors of this process that refer to the file */
	int refs; /* nfds + calls in flight */
	enum rdrm_node_type type;
	int minor; /* -1 for sw_sync */
	int accmode;
	char node[32];
	char driver[32]; /* from the first HELLO */
	struct stat node_st;
	int *chans; /* every live channel, idle or busy */
	int nchans, cap;
	int idle[MAX_IDLE];
	int nidle;
};

struct slow_fd {
	struct slow_fd *next;
	int fd;
	uint8_t flags;
	struct rfile *file;
};

/* A descriptor whose public path matters: a directory (FDF_DIRPATH) or a debugfs attribute (FDF_ATTR). */
struct dirpath {
	struct dirpath *next;
	int fd;
	uint8_t flag;
	int accmode; /* FDF_ATTR: how the client opened it */
	char *path;
};

_Atomic uint8_t rdrm_fd_flags[RDRM_FAST_FDS];
atomic_int rdrm_slow_fds;
atomic_int rdrm_drm_fds;

/* One lock for all of it: the critical sections are a few pointer moves. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct rfile *fast_file[RDRM_FAST_FDS];
static struct slow_fd *slow_list;
static struct rfile *files;
static struct dirpath *dirpaths;

static struct slow_fd *slow_find(int fd, bool create)
{
	for (struct slow_fd *s = slow_list; s; s = s->next)
		if (s->fd == fd)
			return s;
	if (!create)
		return NULL;
	struct slow_fd *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->fd = fd;
	s->next = slow_list;
	slow_list = s;
	atomic_fetch_add(&rdrm_slow_fds, 1);
	return s;
}

uint8_t rdrm_fd_flags_slow(int fd)
{
	pthread_mutex_lock(&lock);
	struct slow_fd *s = slow_find(fd, false);
	uint8_t f = s ? s->flags : 0;
	pthread_mutex_unlock(&lock);
	return f;
}

static uint8_t flags_locked(int fd)
{
	if (fd >= 0 && fd < RDRM_FAST_FDS)
		return atomic_load_explicit(&rdrm_fd_flags[fd], memory_order_relaxed);
	struct slow_fd *s = fd >= 0 ? slow_find(fd, false) : NULL;
	return s ? s->flags : 0;
}

static int set_slot_locked(int fd, uint8_t flags, struct rfile *file)
{
	if (fd < 0)
		return -EBADF;
	if (fd < RDRM_FAST_FDS) {
		fast_file[fd] = file;
		atomic_store_explicit(&rdrm_fd_flags[fd], flags, memory_order_release);
		return 0;
	}
	struct slow_fd *s = slow_find(fd, flags != 0);
	if (!s)
		return flags ? -ENOMEM : 0;
	s->flags = flags;
	s->file = file;
	if (!flags) {
		struct slow_fd **pp = &slow_list;
		while (*pp != s)
			pp = &(*pp)->next;
		*pp = s->next;
		free(s);
		atomic_fetch_sub(&rdrm_slow_fds, 1);
	}
	return 0;
}

static struct rfile *file_locked(int fd)
{
	if (fd >= 0 && fd < RDRM_FAST_FDS)
		return fast_file[fd];
	struct slow_fd *s = fd >= 0 ? slow_find(fd, false) : NULL;
	return s ? s->file : NULL;
}

static void close_idle_locked(struct rfile *f, int *to_close, int *nclose)
{
	while (f->nidle > 0) {
		int ch = f->idle[--f->nidle];
		for (int i = 0; i < f->nchans; i++)
			if (f->chans[i] == ch) {
				f->chans[i] = f->chans[--f->nchans];
				break;
			}
		set_slot_locked(ch, 0, NULL);
		to_close[(*nclose)++] = ch;
	}
}

/* Drops one reference; the last one frees the file and closes its channels. */
static void release_locked(struct rfile *f)
{
	if (--f->refs > 0)
		return;
	for (int i = 0; i < f->nchans; i++) {
		set_slot_locked(f->chans[i], 0, NULL);
		real_close()(f->chans[i]);
	}
	struct rfile **pp = &files;
	while (*pp && *pp != f)
		pp = &(*pp)->next;
	if (*pp)
		*pp = f->next;
	free(f->chans);
	free(f);
}

static void drop_dirpath_locked(int fd)
{
	for (struct dirpath **pp = &dirpaths; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd) {
			struct dirpath *d = *pp;
			*pp = d->next;
			free(d->path);
			free(d);
			return;
		}
}

/* A channel fd the application closed or overwrote: stop using that number. */
static void drop_channel_locked(int fd)
{
	for (struct rfile *f = files; f; f = f->next) {
		for (int i = 0; i < f->nchans; i++)
			if (f->chans[i] == fd) {
				f->chans[i] = f->chans[--f->nchans];
				for (int j = 0; j < f->nidle; j++)
					if (f->idle[j] == fd) {
						f->idle[j] = f->idle[--f->nidle];
						break;
					}
				return;
			}
	}
}

static void forget_locked(int fd, int *to_close, int *nclose)
{
	uint8_t fl = flags_locked(fd);
	if (!fl)
		return;
	if (fl & FDF_DRM) {
		struct rfile *f = file_locked(fd);
		atomic_fetch_sub(&rdrm_drm_fds, 1);
		if (f) {
			/* No descriptor left: idle channels are useless, busy ones close on return. */
			if (--f->nfds == 0)
				close_idle_locked(f, to_close, nclose);
			release_locked(f);
		}
	}
	if (fl & FDF_CHANNEL)
		drop_channel_locked(fd);
	if (fl & (FDF_DIRPATH | FDF_ATTR))
		drop_dirpath_locked(fd);
	set_slot_locked(fd, 0, NULL);
}

static void close_all(const int *fds, int n)
{
	for (int i = 0; i < n; i++)
		real_close()(fds[i]);
}

void fdt_forget(int fd)
{
	if (!rdrm_fd_flags_get(fd))
		return;
	int to_close[MAX_IDLE], n = 0;
	pthread_mutex_lock(&lock);
	forget_locked(fd, to_close, &n);
	pthread_mutex_unlock(&lock);
	close_all(to_close, n);
}

void fdt_forget_range(unsigned first, unsigned last)
{
	int to_close[MAX_IDLE], n;
	for (unsigned fd = first; fd <= last && fd < RDRM_FAST_FDS; fd++) {
		if (!atomic_load_explicit(&rdrm_fd_flags[fd], memory_order_relaxed))
			continue;
		n = 0;
		pthread_mutex_lock(&lock);
		forget_locked((int)fd, to_close, &n);
		pthread_mutex_unlock(&lock);
		close_all(to_close, n);
	}
	if (atomic_load(&rdrm_slow_fds) == 0 || last < RDRM_FAST_FDS)
		return;
	for (;;) {
		int victim = -1;
		pthread_mutex_lock(&lock);
		for (struct slow_fd *s = slow_list; s; s = s->next)
			if ((unsigned)s->fd >= first && (unsigned)s->fd <= last) {
				victim = s->fd;
				break;
			}
		n = 0;
		if (victim >= 0)
			forget_locked(victim, to_close, &n);
		pthread_mutex_unlock(&lock);
		close_all(to_close, n);
		if (victim < 0)
			break;
	}
}

static int attach_locked(int fd, struct rfile *f)
{
	uint8_t fl = (uint8_t)((flags_locked(fd) & FDF_DIRPATH) | FDF_DRM);
	if (f->type != RDRM_NODE_DRM)
		fl |= FDF_SW_SYNC;
	int r = set_slot_locked(fd, fl, f);
	if (r < 0)
		return r;
	f->nfds++;
	f->refs++;
	atomic_fetch_add(&rdrm_drm_fds, 1);
	return 0;
}

static int register_file(int fd, const char *node, enum rdrm_node_type type, int accmode)
{
	struct stat st;
	if (real_fstat()(fd, &st) < 0)
		return -errno;
	int minor = type == RDRM_NODE_DRM ? rdrm_node_minor(node) : -1;
	if ((type == RDRM_NODE_DRM && minor < 0) || strlen(node) >= sizeof(((struct rfile *)0)->node))
		return -EINVAL;

	/* The node socket's own stat gives stat() and fstat() one identity. */
	struct stat node_st;
	char path[PATH_MAX];
	const struct rdrm_pathmap *pm = rdrm_pm();
	if (snprintf(path, sizeof(path), "%s/%s", pm->runtime, node) >= (int)sizeof(path) ||
	    real_stat()(path, &node_st) < 0)
		node_st = st;

	int to_close[MAX_IDLE], n = 0, r = 0;
	pthread_mutex_lock(&lock);
	forget_locked(fd, to_close, &n);
	struct rfile *f = files;
	while (f && !(f->dev == st.st_dev && f->ino == st.st_ino))
		f = f->next;
	if (!f) {
		f = calloc(1, sizeof(*f));
		if (!f) {
			r = -ENOMEM;
			goto out;
		}
		f->dev = st.st_dev;
		f->ino = st.st_ino;
		f->type = type;
		f->minor = minor;
		f->accmode = accmode;
		strcpy(f->node, node);
		f->node_st = node_st;
		f->next = files;
		files = f;
	}
	r = attach_locked(fd, f);
	if (r < 0 && f->refs == 0) {
		f->refs = 1;
		release_locked(f);
	}
out:
	pthread_mutex_unlock(&lock);
	close_all(to_close, n);
	return r;
}

int fdt_register(int fd, const char *node, enum rdrm_node_type type, int accmode)
{
	return register_file(fd, node, type, accmode);
}

/*
 * dir is the runtime directory (either spelling) and name is a node name.
 * A sw_sync connection does not say which name opened it: it gets the
 * /dev one.
 */
static bool node_socket_path(const char *path, char *node, size_t size, enum rdrm_node_type *type)
{
	const struct rdrm_pathmap *pm = rdrm_pm();
	const char *dirs[2] = { pm->runtime, pm->runtime_canon };
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(dirs[i]);
		if (!n || strncmp(path, dirs[i], n) != 0 || path[n] != '/')
			continue;
		const char *name = path + n + 1;
		bool sw_sync = strcmp(name, RDRM_SW_SYNC_NODE) == 0;
		if ((!sw_sync && rdrm_node_minor(name) < 0) || strlen(name) >= size)
			continue;
		strcpy(node, name);
		*type = sw_sync ? RDRM_NODE_SW_SYNC : RDRM_NODE_DRM;
		return true;
	}
	return false;
}

bool fdt_identify(int fd)
{
	uint8_t fl = rdrm_fd_flags_get(fd);
	if (fl & (FDF_DRM | FDF_CHANNEL))
		return (fl & FDF_DRM) != 0;
	struct stat st;
	if (fd < 0 || real_fstat()(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return false;
	int type = 0;
	socklen_t tl = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_SEQPACKET)
		return false;
	struct sockaddr_un sa;
	socklen_t sl = sizeof(sa);
	memset(&sa, 0, sizeof(sa));
	if (getpeername(fd, (struct sockaddr *)&sa, &sl) < 0 || sa.sun_family != AF_UNIX)
		return false;
	if (sl <= offsetof(struct sockaddr_un, sun_path) || sa.sun_path[0] == '\0')
		return false;
	char path[sizeof(sa.sun_path) + 1];
	size_t plen = sl - offsetof(struct sockaddr_un, sun_path);
	if (plen > sizeof(sa.sun_path))
		plen = sizeof(sa.sun_path);
	memcpy(path, sa.sun_path, plen);
	path[plen] = '\0';
	char node[32];
	enum rdrm_node_type ntype;
	if (!node_socket_path(path, node, sizeof(node), &ntype))
		return false;
	return register_file(fd, node, ntype, O_RDWR) == 0;
}

struct rfile *fdt_get(int fd)
{
	if (!(rdrm_fd_flags_get(fd) & FDF_DRM))
		return NULL;
	pthread_mutex_lock(&lock);
	struct rfile *f = file_locked(fd);
	if (f && (flags_locked(fd) & FDF_DRM))
		f->refs++;
	else
		f = NULL;
	pthread_mutex_unlock(&lock);
	return f;
}

void fdt_put(struct rfile *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&lock);
	release_locked(f);
	pthread_mutex_unlock(&lock);
}

void fdt_dup(int oldfd, int newfd)
{
	if (oldfd == newfd || newfd < 0)
		return;
	uint8_t oldfl = rdrm_fd_flags_get(oldfd);
	if (!oldfl && !rdrm_fd_flags_get(newfd))
		return;
	int to_close[MAX_IDLE], n = 0;
	pthread_mutex_lock(&lock);
	forget_locked(newfd, to_close, &n);
	oldfl = flags_locked(oldfd);
	if (oldfl & FDF_DRM) {
		struct rfile *f = file_locked(oldfd);
		if (f)
			attach_locked(newfd, f);
	}
	if (oldfl & (FDF_DIRPATH | FDF_ATTR)) {
		for (struct dirpath *d = dirpaths; d; d = d->next)
			if (d->fd == oldfd) {
				struct dirpath *c = calloc(1, sizeof(*c));
				if (c && (c->path = strdup(d->path)) != NULL) {
					c->fd = newfd;
					c->flag = d->flag;
					c->accmode = d->accmode;
					c->next = dirpaths;
					dirpaths = c;
					set_slot_locked(newfd, (uint8_t)(flags_locked(newfd) | d->flag),
							file_locked(newfd));
				} else {
					free(c);
				}
				break;
			}
	}
	pthread_mutex_unlock(&lock);
	close_all(to_close, n);
}

static void set_path(int fd, const char *path, uint8_t flag, int accmode)
{
	if (fd < 0)
		return;
	struct dirpath *d = calloc(1, sizeof(*d));
	if (!d || !(d->path = strdup(path))) {
		free(d);
		return;
	}
	d->fd = fd;
	d->flag = flag;
	d->accmode = accmode;
	int to_close[MAX_IDLE], n = 0;
	pthread_mutex_lock(&lock);
	forget_locked(fd, to_close, &n);
	d->next = dirpaths;
	dirpaths = d;
	if (set_slot_locked(fd, flag, NULL) < 0) {
		dirpaths = d->next;
		free(d->path);
		free(d);
	}
	pthread_mutex_unlock(&lock);
	close_all(to_close, n);
}

void fdt_set_dirpath(int fd, const char *path)
{
	set_path(fd, path, FDF_DIRPATH, O_RDONLY);
}

void fdt_set_attr(int fd, const char *path, int accmode)
{
	set_path(fd, path, FDF_ATTR, accmode);
}

static bool get_path(int fd, uint8_t flag, char *out, size_t size, int *accmode)
{
	if (!(rdrm_fd_flags_get(fd) & flag))
		return false;
	bool found = false;
	pthread_mutex_lock(&lock);
	for (struct dirpath *d = dirpaths; d; d = d->next)
		if (d->fd == fd && d->flag == flag) {
			size_t n = strlen(d->path);
			if (n < size) {
				memcpy(out, d->path, n + 1);
				if (accmode)
					*accmode = d->accmode;
				found = true;
			}
			break;
		}
	pthread_mutex_unlock(&lock);
	return found;
}

bool fdt_dirpath(int fd, char *out, size_t size)
{
	return get_path(fd, FDF_DIRPATH, out, size, NULL);
}

bool fdt_attr(int fd, char *out, size_t size, int *accmode)
{
	return get_path(fd, FDF_ATTR, out, size, accmode);
}

void fdt_scan_inherited(void)
{
	DIR *d = real_opendir()("/proc/self/fd");
	if (!d)
		return;
	int self = dirfd(d);
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(de->d_name, &end, 10);
		if (*end || end == de->d_name || fd < 0 || fd == self || fd > 0x7fffffff)
			continue;
		fdt_identify((int)fd);
	}
	closedir(d);
}

void rfile_info(struct rfile *f, struct rfile_info *info)
{
	pthread_mutex_lock(&lock);
	info->type = f->type;
	info->minor = f->minor;
	info->accmode = f->accmode;
	memcpy(info->node, f->node, sizeof(info->node));
	info->node_st = f->node_st;
	pthread_mutex_unlock(&lock);
}

int rfile_channel_get(struct rfile *f, int fd, char driver[32])
{
	pthread_mutex_lock(&lock);
	if (f->nidle > 0 && f->driver[0]) {
		int ch = f->idle[--f->nidle];
		memcpy(driver, f->driver, 32);
		pthread_mutex_unlock(&lock);
		return ch;
	}
	pthread_mutex_unlock(&lock);

	struct rdrm_wire_hello hello;
	memset(&hello, 0, sizeof(hello));
	rdrm_guard++;
	int ch = rdrm_channel_open(fd, &hello);
	rdrm_guard--;
	if (ch < 0)
		return ch;
	/* Channels are private to this process image: never leak them into exec'd programs. */
	int fdfl = real_fcntl()(ch, F_GETFD);
	if (fdfl >= 0 && !(fdfl & FD_CLOEXEC))
		real_fcntl()(ch, F_SETFD, fdfl | FD_CLOEXEC);
	hello.driver[sizeof(hello.driver) - 1] = '\0';

	pthread_mutex_lock(&lock);
	if (f->nchans == f->cap) {
		int cap = f->cap ? f->cap * 2 : 8;
		int *c = realloc(f->chans, (size_t)cap * sizeof(*c));
		if (!c) {
			pthread_mutex_unlock(&lock);
			real_close()(ch);
			return -ENOMEM;
		}
		f->chans = c;
		f->cap = cap;
	}
	int to_close[MAX_IDLE], n = 0;
	forget_locked(ch, to_close, &n); /* a stale entry for a number the kernel reused */
	f->chans[f->nchans++] = ch;
	set_slot_locked(ch, FDF_CHANNEL, NULL);
	if (!f->driver[0])
		memcpy(f->driver, hello.driver, sizeof(f->driver));
	memcpy(driver, f->driver, 32);
	pthread_mutex_unlock(&lock);
	close_all(to_close, n);
	return ch;
}

/* Returns a channel to the idle pool, or forgets it; true: the caller closes it, unlocked. */
static bool channel_put_locked(struct rfile *f, int ch, bool broken)
{
	int idx = -1;
	for (int i = 0; i < f->nchans; i++)
		if (f->chans[i] == ch) {
			idx = i;
			break;
		}
	if (idx < 0)
		return false; /* forgotten meanwhile (the application closed that number, or fork): not ours to close */
	if (!broken && f->nfds > 0 && f->nidle < MAX_IDLE) {
		f->idle[f->nidle++] = ch;
		return false;
	}
	f->chans[idx] = f->chans[--f->nchans];
	set_slot_locked(ch, 0, NULL);
	return true;
}

void rfile_channel_put(struct rfile *f, int ch, bool broken)
{
	pthread_mutex_lock(&lock);
	bool close_it = channel_put_locked(f, ch, broken);
	pthread_mutex_unlock(&lock);
	if (close_it)
		real_close()(ch);
}

/*
 * Every ioctl takes the file and a channel and gives both back: one lock
 * each way when an idle channel is there, not two.
 */
struct rfile *fdt_call_begin(int fd, int *ch, char driver[32])
{
	if (!(rdrm_fd_flags_get(fd) & FDF_DRM))
		return NULL;
	pthread_mutex_lock(&lock);
	struct rfile *f = file_locked(fd);
	if (!f || !(flags_locked(fd) & FDF_DRM)) {
		pthread_mutex_unlock(&lock);
		return NULL;
	}
	f->refs++;
	if (f->nidle > 0 && f->driver[0]) {
		*ch = f->idle[--f->nidle];
		memcpy(driver, f->driver, 32);
		pthread_mutex_unlock(&lock);
		return f;
	}
	pthread_mutex_unlock(&lock);
	*ch = rfile_channel_get(f, fd, driver);
	return f;
}

void fdt_call_end(struct rfile *f, int ch, bool broken)
{
	pthread_mutex_lock(&lock);
	bool close_it = ch >= 0 && channel_put_locked(f, ch, broken);
	release_locked(f);
	pthread_mutex_unlock(&lock);
	if (close_it)
		real_close()(ch);
}

void fdt_atfork_prepare(void)
{
	pthread_mutex_lock(&lock);
}

void fdt_atfork_parent(void)
{
	pthread_mutex_unlock(&lock);
}

/*
 * The child shares the parent's channel sockets: a reply could reach either
 * process. Drop the child's copies; it attaches its own on first use. The
 * DRM file itself stays shared, as a forked child shares a kernel DRM file.
 */
void fdt_atfork_child(void)
{
	for (struct rfile *f = files; f; f = f->next) {
		for (int i = 0; i < f->nchans; i++) {
			set_slot_locked(f->chans[i], 0, NULL);
			real_close()(f->chans[i]);
		}
		f->nchans = 0;
		f->nidle = 0;
		/* Calls in flight belonged to threads that do not exist in the child. */
		f->refs = f->nfds;
	}
	for (struct rfile **pp = &files; *pp;) {
		struct rfile *f = *pp;
		if (f->refs > 0) {
			pp = &f->next;
			continue;
		}
		*pp = f->next;
		free(f->chans);
		free(f);
	}
	pthread_mutex_unlock(&lock);
}

void rdrm_node_stat(struct stat *st, const struct stat *sock, enum rdrm_node_type type, int minor)
{
	*st = *sock;
	switch (type) {
	case RDRM_NODE_SW_SYNC:
		/* Anyone may open the socket, as anyone may open a DRM node. */
		st->st_mode = S_IFCHR | 0666;
		st->st_rdev = makedev(MISC_MAJOR, SW_SYNC_MINOR);
		break;
	case RDRM_NODE_SW_SYNC_DEBUGFS:
		/* The kernel creates it as a plain debugfs file, mode 0644, with no device number. */
		st->st_mode = S_IFREG | 0644;
		st->st_rdev = 0;
		break;
	default:
		st->st_mode = S_IFCHR | 0666;
		st->st_rdev = makedev(DRM_MAJOR, (unsigned)minor);
		break;
	}
	st->st_nlink = 1;
	st->st_size = 0;
	st->st_blocks = 0;
	st->st_blksize = 4096;
}

void fdt_mark_channel(int fd)
{
	pthread_mutex_lock(&lock);
	set_slot_locked(fd, FDF_CHANNEL, NULL);
	pthread_mutex_unlock(&lock);
}
