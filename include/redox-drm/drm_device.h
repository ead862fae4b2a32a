/*
 * The DRM core objects, as in the kernel: a device (one GPU and its driver),
 * its minors (the primary and render nodes), the open files of clients, and
 * masters (who may modeset).
 */
#ifndef REDOX_DRM_DRM_DEVICE_H
#define REDOX_DRM_DRM_DEVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "redox-drm/idr.h"

struct drm_driver;
struct hw_device;
struct event_loop;
struct event_source;
struct drm_file;
struct drm_gem_offsets;
struct drm_mode_config;
struct drm_kms_file;

enum drm_minor_type { DRM_MINOR_PRIMARY = 0, DRM_MINOR_RENDER = 2 };

struct drm_minor {
	struct drm_device *dev;
	enum drm_minor_type type;
	int index;      /* 0.. for cardN, 128.. for renderDN */
	char name[24];  /* "card0", "renderD128" */
};

struct drm_master {
	int refcount;
	struct drm_device *dev;
	char unique[32];   /* bus id; empty until SET_VERSION 1.1+ */
	size_t unique_len;
	struct idr magic_map; /* magic → drm_file awaiting AUTH_MAGIC */
};

struct drm_device {
	int index;
	const struct drm_driver *driver;
	struct hw_device *hw;
	struct event_loop *loop;
	struct event_source *irq_source;
	void *dev_private;

	struct drm_minor primary, render;
	struct drm_master *master;  /* current master or NULL */
	uint32_t if_version;        /* highest DRM interface version set by SET_VERSION */

	struct idr object_names;    /* flink name → struct drm_gem_object */
	struct drm_gem_offsets *gem_offsets; /* fake mmap offsets → objects (gem/) */
	struct drm_mode_config *mode_config; /* KMS state (kms/), NULL without DRIVER_MODESET */
	struct drm_file *files;     /* every open file, linked through drm_file.next */
	unsigned long open_count;
};

struct drm_file {
	struct drm_device *dev;
	struct drm_minor *minor;
	struct drm_file *next;

	pid_t pid;        /* opener */
	uid_t uid;
	bool authenticated;
	bool is_master;   /* this file created its master */
	bool was_master;  /* was ever the current master */
	struct drm_master *master; /* primary nodes: the master this file belongs to */
	uint32_t magic;

	/* client caps */
	bool stereo_allowed, universal_planes, atomic, aspect_ratio_allowed, writeback_connectors;

	struct idr object_idr; /* GEM handle → struct drm_gem_object */
	struct idr syncobj_idr; /* syncobj handle → struct drm_syncobj (fence/) */
	struct drm_kms_file *kms; /* framebuffers, blobs, pending events (kms/) */
	uint32_t event_space;  /* bytes of drm_event the file may still have queued */
	void *driver_priv;
	void *transport;       /* the connection serving this file */
};

static inline bool drm_is_primary_client(const struct drm_file *f)
{
	return f->minor->type == DRM_MINOR_PRIMARY;
}

static inline bool drm_is_render_client(const struct drm_file *f)
{
	return f->minor->type == DRM_MINOR_RENDER;
}

bool drm_core_check_feature(const struct drm_device *dev, uint32_t feature);

/* Creates the device for hw with the driver that claims it, and brings it up. */
struct drm_device *drm_dev_create(struct hw_device *hw, int index, struct event_loop *loop);
void drm_dev_destroy(struct drm_device *dev);
const struct drm_driver *drm_driver_for(const struct hw_device *hw);

/* Open-file lifecycle: called by the transport. */
struct drm_file *drm_file_open(struct drm_minor *minor, pid_t pid, uid_t uid);
void drm_file_release(struct drm_file *file);
/*
 * The open file a client's DRM fd (received in a call) stands for, among the
 * files served with caller's; NULL if fd is none (fget + the file's private
 * data in the kernel).
 */
struct drm_file *drm_file_lookup_fd(struct drm_file *caller, int fd);

/*
 * Events (struct drm_event records) for the client holding file, with the
 * kernel's per-file budget: reserve before promising one (-ENOMEM when the
 * client has let too many pile up), then send or release the reservation.
 */
int drm_event_reserve(struct drm_file *file, uint32_t length);
void drm_event_release(struct drm_file *file, uint32_t length);
void drm_event_send(struct drm_file *file, const void *event, uint32_t length);

/* Master handling (daemon/auth.c). */
int drm_master_open(struct drm_file *file);
void drm_master_release(struct drm_file *file);
bool drm_is_current_master(const struct drm_file *file);

#endif
