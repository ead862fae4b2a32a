/*
 * Path mapping between what a client names (/dev/dri/card0,
 * /sys/dev/char/226:0/device, /dev/sw_sync, ...) and the daemon's synthetic
 * tree (<runtime>/sysroot/...) and node sockets. Pure string functions: no
 * file system access, so they can be tested alone and called from any
 * interposed function.
 */
#ifndef REDOX_DRM_PRELOAD_PATHS_H
#define REDOX_DRM_PRELOAD_PATHS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define RDRM_PATHMAP_MAX_DEVS 16

struct rdrm_pathmap_dev {
	char root[16];   /* "pci0000:03" */
	char bdf[16];    /* "0000:03:00.0" */
	char driver[32]; /* "amdgpu" */
	bool map_root;   /* also redirect /sys/devices/<root> itself (it does not exist on the host) */
};

struct rdrm_pathmap {
	char runtime[PATH_MAX];       /* where the node sockets are */
	char runtime_canon[PATH_MAX]; /* its realpath(), or "" if unknown or equal */
	char sysroot[PATH_MAX];       /* <runtime>/sysroot */
	char sysroot_canon[PATH_MAX];
	int ndevs;
	struct rdrm_pathmap_dev devs[RDRM_PATHMAP_MAX_DEVS];
	/*
	 * The host has no debugfs mounted at /sys/kernel/debug: the tree's
	 * stands there whole (so it reads as a mount point, as IGT checks).
	 * Otherwise only /sys/kernel/debug/dri is the tree's.
	 */
	bool debugfs_whole;
};

#define RDRM_DEBUGFS_ROOT "/sys/kernel/debug"
#define RDRM_DEBUGFS_DRI RDRM_DEBUGFS_ROOT "/dri"

enum rdrm_path_kind {
	RDRM_PATH_PUBLIC = 0, /* not ours: use the path as given */
	RDRM_PATH_SYSROOT,    /* a file or directory of the synthetic tree */
	RDRM_PATH_NODE,       /* a device node: node names its socket ("card0", "sw_sync") */
	RDRM_PATH_NODE_LINK,  /* /dev/dri/by-path/...: a symlink that may lead to a node */
};

/* Which node a RDRM_PATH_NODE path names, which decides how it presents itself. */
enum rdrm_node_type {
	RDRM_NODE_DRM = 0,         /* /dev/dri/<node>: socket <runtime>/<node> */
	RDRM_NODE_SW_SYNC,         /* /dev/sw_sync, Android's name for the sw_sync node */
	RDRM_NODE_SW_SYNC_DEBUGFS, /* /sys/kernel/debug/sync/sw_sync, where Linux keeps it */
};

/* The sw_sync node's socket in the runtime directory, beside the DRM nodes'. */
#define RDRM_SW_SYNC_NODE "sw_sync"

struct rdrm_mapped {
	enum rdrm_path_kind kind;
	char path[PATH_MAX]; /* the path to use: the sysroot path (a DRM node's too), the sw_sync socket */
	char node[32];
	enum rdrm_node_type type; /* for RDRM_PATH_NODE */
};

/* Fills m->sysroot from m->runtime (and the canonical forms). */
void rdrm_pathmap_init(struct rdrm_pathmap *m, const char *runtime, const char *runtime_canon);

/*
 * Collapses "//" and "." and resolves ".." while the path is still in plain
 * directories above the mapped regions (where lexical and physical
 * resolution agree); past that, ".." is left for the kernel to resolve
 * inside the tree. Keeps a trailing slash. Absolute paths only. Returns the
 * length, or -EINVAL / -ENAMETOOLONG.
 */
int rdrm_path_normalize(const char *in, char *out, size_t size);

/*
 * Maps a path a client passed. Relative paths and paths outside the mapped
 * regions come back as RDRM_PATH_PUBLIC with out->path empty (use the
 * caller's string), or with out->path set to the lexically resolved path
 * when ".." led out of a mapped region ("/dev/dri/../null" -> "/dev/null").
 * Returns 0 or -ENAMETOOLONG.
 */
int rdrm_path_map(const struct rdrm_pathmap *m, const char *path, struct rdrm_mapped *out);

/*
 * Maps a path the kernel returned (realpath, readlink) back to what a
 * client should see: <sysroot>/X -> /X, <runtime>/cardN -> /dev/dri/cardN,
 * <runtime>/sw_sync -> /dev/sw_sync (the socket cannot tell which of its
 * two names was used).
 * out may equal path. Returns 1 if mapped, 0 if not, -ENAMETOOLONG.
 */
int rdrm_path_unmap(const struct rdrm_pathmap *m, const char *path, char *out, size_t size);

/* "card3" -> 3, "renderD130" -> 130, "controlD64" -> 64; -1 if not a node name. */
int rdrm_node_minor(const char *name);

/*
 * The public path of a node, as /proc/self/fd/N of an open one reads:
 * "/dev/dri/card0", "/dev/sw_sync", ... Returns 0 or -ENAMETOOLONG.
 */
int rdrm_node_path(enum rdrm_node_type type, const char *node, char *out, size_t size);

/*
 * True if path (absolute) is a directory above a mapped region, such as "/",
 * "/sys" or "/sys/class": *at() calls relative to a descriptor of such a
 * directory must be mapped by name.
 */
bool rdrm_path_is_ancestor(const struct rdrm_pathmap *m, const char *path);

/* dir + "/" + rel into out. Returns 0 or -ENAMETOOLONG. */
int rdrm_path_join(const char *dir, const char *rel, char *out, size_t size);

#endif
