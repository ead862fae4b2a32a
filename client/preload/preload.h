/* Internal interfaces of the LD_PRELOAD interposer. */
#ifndef REDOX_DRM_PRELOAD_H
#define REDOX_DRM_PRELOAD_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "paths.h"

#define RDRM_VISIBLE __attribute__((visibility("default")))

/* ---- state (preload.c) ---- */

void rdrm_preload_init(void);
/* The current path map; never NULL once initialised. */
const struct rdrm_pathmap *rdrm_pm(void);
/* Like rdrm_path_map(), and reloads the device list if the tree appeared late. */
int rdrm_map(const char *path, struct rdrm_mapped *out);
/* True if REDOX_DRM_HIDE names path (or a parent of it). */
bool rdrm_hidden(const char *path);

/* Set while the interposer itself calls into the client library, whose own
 * read()/close()/mmap() calls must reach libc, not the hooks. Every ioctl
 * reads it: initial-exec makes that a plain load instead of a
 * __tls_get_addr call (the library is preloaded, so it is in the initial
 * TLS block). */
#define RDRM_TLS_IE __attribute__((tls_model("initial-exec")))
extern _Thread_local int rdrm_guard RDRM_TLS_IE;

/* Looks up the next definition of a libc symbol (RTLD_NEXT). NULL if none. */
void *rdrm_next(const char *name);

#define REAL_DECL(ret, name, params)                                                   \
	typedef ret(*name##_fn) params;                                                  \
	static inline name##_fn real_##name(void)                                        \
	{                                                                                 \
		static _Atomic(name##_fn) slot;                                           \
		name##_fn f = atomic_load_explicit(&slot, memory_order_acquire);          \
		if (!f) {                                                                 \
			f = (name##_fn)rdrm_next(#name);                                  \
			atomic_store_explicit(&slot, f, memory_order_release);            \
		}                                                                         \
		return f;                                                                 \
	}

/* ---- resolving a (dirfd, path) pair (preload.c) ---- */

enum rdrm_res_kind {
	RES_PUBLIC = 0, /* not ours: call libc with the caller's arguments */
	RES_MAPPED,     /* use res.m.path (absolute, in the synthetic tree) */
	RES_NODE,       /* a device node: res.m.node, res.minor (res.sock if asked for) */
	RES_ERR,        /* fail with res.err */
};

struct rdrm_res {
	struct rdrm_mapped m;
	char abs[PATH_MAX]; /* the public absolute path, or "" when the call was relative to an unknown place */
	int err;
	int minor;
	struct stat sock; /* the node socket's stat, with want_stat */
};

/*
 * Cheap pre-check run before anything else on every path call: false means
 * the path cannot be ours and libc can be called directly.
 */
bool rdrm_maybe_ours(int dirfd, const char *path);

/*
 * Resolves (dirfd, path) (dirfd AT_FDCWD for plain calls). nofollow: the
 * last component is not followed (lstat, O_NOFOLLOW), so a by-path link
 * stays a link. want_stat: for nodes, stat the socket (a missing node then
 * fails with ENOENT). Applies REDOX_DRM_HIDE.
 */
enum rdrm_res_kind rdrm_resolve(int dirfd, const char *path, bool nofollow, bool want_stat, struct rdrm_res *res);

/* For /proc/self/fd/N, /dev/fd/N and the like naming a node fd: the node's public path. */
bool rdrm_proc_fd_node(const char *path, char *pub, size_t size);

/* Remembers fd if abs names a directory above the mapped regions (see FDF_DIRPATH). */
void rdrm_note_dir(int fd, const char *abs);

/* The listing-merge lock (hooks_dir.c), taken around fork() like the others. */
void rdrm_dir_lock(bool take);

/* ---- fd table (fdtable.c) ---- */

/*
 * A file on the sw_sync node is kept like a DRM file (the same connection,
 * channels, dup/fork/exec rules) and carries FDF_DRM too; FDF_SW_SYNC tells
 * the hot paths, without a lock, that it answers sw_sync's calls, not DRM's.
 */
enum {
	FDF_DRM = 1,      /* a node file (a connection to a node socket): DRM, or sw_sync with FDF_SW_SYNC */
	FDF_CHANNEL = 2,  /* one of the interposer's request channels */
	FDF_DIRPATH = 4,  /* a directory above the mapped regions; its path is remembered */
	FDF_SW_SYNC = 8,  /* with FDF_DRM: the file is a sw_sync timeline */
	FDF_ATTR = 16,    /* a writable debugfs attribute of the tree: writes go to the daemon */
};

#define RDRM_FAST_FDS 65536

extern _Atomic uint8_t rdrm_fd_flags[RDRM_FAST_FDS];
extern atomic_int rdrm_slow_fds;
extern atomic_int rdrm_drm_fds; /* node descriptors open: /proc/self/fd/N paths matter only then */
uint8_t rdrm_fd_flags_slow(int fd);

/* Lock-free: the hot read()/mmap()/close() paths test this first. */
static inline uint8_t rdrm_fd_flags_get(int fd)
{
	if (fd >= 0 && fd < RDRM_FAST_FDS)
		return atomic_load_explicit(&rdrm_fd_flags[fd], memory_order_relaxed);
	if (fd < 0 || atomic_load_explicit(&rdrm_slow_fds, memory_order_relaxed) == 0)
		return 0;
	return rdrm_fd_flags_slow(fd);
}

struct rfile;

/* Registers a freshly connected node fd. accmode: the O_ACCMODE of the open. 0 or -errno. */
int fdt_register(int fd, const char *node, enum rdrm_node_type type, int accmode);
/* Checks whether an unknown fd is a connection to one of our nodes (inherited, received); registers it. */
bool fdt_identify(int fd);
/* The file behind a node fd, referenced; NULL if fd is not one. */
struct rfile *fdt_get(int fd);
void fdt_put(struct rfile *f);
/* fd is being closed (or replaced by dup2): forget everything known about it. */
void fdt_forget(int fd);
/* close_range()/closefrom(): forget every tracked fd in [first, last]. */
void fdt_forget_range(unsigned first, unsigned last);
/* newfd now refers to what oldfd refers to (dup, dup2, F_DUPFD). */
void fdt_dup(int oldfd, int newfd);
/* Remembers the public path of a directory fd above the mapped regions. */
void fdt_set_dirpath(int fd, const char *path);
bool fdt_dirpath(int fd, char *out, size_t size);
/* A debugfs attribute opened for writing: its public path and the O_ACCMODE of the open. */
void fdt_set_attr(int fd, const char *path, int accmode);
bool fdt_attr(int fd, char *out, size_t size, int *accmode);
/* write() to such a descriptor: the daemon runs the attribute's store (hooks_fd.c). */
ssize_t rdrm_attr_write(int fd, const void *buf, size_t count);
/* Scans /proc/self/fd for node fds inherited across exec. */
void fdt_scan_inherited(void);
void fdt_atfork_prepare(void);
void fdt_atfork_parent(void);
void fdt_atfork_child(void);

struct rfile_info {
	enum rdrm_node_type type;
	int minor; /* -1 for sw_sync */
	int accmode;
	char node[32];
	struct stat node_st; /* the node socket's stat (identity and times) */
};
void rfile_info(struct rfile *f, struct rfile_info *info);

/*
 * A request channel for one call: an idle one from the file's pool, or a
 * new one attached through fd. driver receives the HELLO's driver name.
 * Returns the channel fd or -errno.
 */
int rfile_channel_get(struct rfile *f, int fd, char driver[32]);
/* Marks one of the interposer's own sockets (never the client's, never a DRM file). */
void fdt_mark_channel(int fd);
/* Gives a channel back; broken ones (the call saw the connection fail) are closed. */
void rfile_channel_put(struct rfile *f, int ch, bool broken);
/*
 * fdt_get and rfile_channel_get in one: the referenced file behind a node fd
 * (NULL if fd is not one) and, in *ch, a channel or -errno. fdt_call_end
 * gives back both (ch < 0: only the file).
 */
struct rfile *fdt_call_begin(int fd, int *ch, char driver[32]);
void fdt_call_end(struct rfile *f, int ch, bool broken);

/*
 * fstat()-shaped description of a node from its socket's stat: a DRM node
 * is the character device 226:minor; sw_sync is what its name is on the
 * system that uses that name (see fdtable.c).
 */
void rdrm_node_stat(struct stat *st, const struct stat *sock, enum rdrm_node_type type, int minor);

#endif
