/* KMS core internals: shared between the files of kms/ only. */
#ifndef REDOX_DRM_KMS_INTERNAL_H
#define REDOX_DRM_KMS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "redox-drm/drm_device.h"
#include "redox-drm/drm_ioctl.h"
#include "redox-drm/idr.h"
#include "redox-drm/kms.h"

struct drm_property_enum {
	uint64_t value;
	char name[DRM_PROP_NAME_LEN];
};

struct drm_property {
	struct drm_mode_object base;
	uint32_t flags; /* DRM_MODE_PROP_* */
	char name[DRM_PROP_NAME_LEN];
	unsigned int nvalues;
	uint64_t values[8];  /* range: min, max; object: type; enum/bitmask: see enums */
	unsigned int nenums;
	struct drm_property_enum enums[8];
};

struct drm_property_blob {
	struct drm_mode_object base;
	struct drm_device *dev;
	unsigned int refcount;
	struct drm_file *owner; /* user blobs: the creator, until DESTROYPROPBLOB or close */
	struct drm_property_blob *next_owned;
	size_t length;
	uint8_t data[];
};

/* An event queued for a client: page flip, vblank or CRTC sequence. */
struct drm_pending_vblank_event {
	struct drm_file *file;   /* NULL once the file closed (then it is just freed) */
	union {
		struct drm_event base;
		struct drm_event_vblank vbl;
		struct drm_event_crtc_sequence seq;
	} event;
	uint64_t sequence;       /* vblank count it waits for */
	bool is_sequence;        /* a CRTC_QUEUE_SEQUENCE event */
	struct drm_pending_vblank_event *next;
};

/* A waiter parked in WAIT_VBLANK. */
struct vblank_waiter {
	struct drm_call *call;
	uint64_t sequence;
	struct event_timer *timeout;
	struct drm_crtc *crtc;
	struct vblank_waiter *next;
};

/* Per-CRTC core bookkeeping (crtc->core_priv). */
struct kms_crtc {
	uint64_t count;             /* vblanks since the CRTC was created */
	uint64_t time_ns;           /* timestamp of the last one */
	bool vblank_on;
	struct drm_pending_vblank_event *events; /* waiting for a sequence */
	struct vblank_waiter *waiters;
	/* The commit in flight on this CRTC (its hardware has not latched it yet). */
	struct drm_atomic_state *commit;
	struct drm_atomic_state *riders; /* cursor updates latched with it */
	uint64_t commit_time_ns;    /* when it was programmed */
	unsigned int commit_frames; /* vblanks seen since then (interrupts queued before do not count) */
	struct stall_link *stalls;  /* blocking callers waiting for it to finish */
	int32_t cursor_x, cursor_y; /* legacy CURSOR position */
};

/* A blocking caller waiting for CRTCs to finish their commits: re-run the ioctl, or just answer. */
struct kms_stall {
	struct drm_device *dev;
	struct drm_call *call;
	bool rerun;
	unsigned int waiting; /* CRTCs still busy */
	struct event_timer *timer; /* set once they are idle: the answer comes from the loop */
};

struct stall_link {
	struct kms_stall *stall;
	struct stall_link *next;
};

struct drm_mode_config {
	struct idr objects; /* every mode object by id */
	struct drm_plane *planes[KMS_MAX_PLANES];
	struct drm_crtc *crtcs[KMS_MAX_CRTCS];
	struct drm_encoder *encoders[KMS_MAX_ENCODERS];
	struct drm_connector *connectors[KMS_MAX_CONNECTORS];
	unsigned int nplanes, ncrtcs, nencoders, nconnectors;
	struct drm_property *props[48];
	unsigned int nprops;
	/* Standard properties */
	struct drm_property *prop_in_fence_fd;
	struct drm_property *plane_type, *prop_fb_id, *prop_crtc_id, *prop_src_x, *prop_src_y, *prop_src_w,
		*prop_src_h, *prop_crtc_x, *prop_crtc_y, *prop_crtc_w, *prop_crtc_h, *prop_in_formats,
		*prop_active, *prop_mode_id, *prop_edid, *prop_dpms, *prop_link_status, *prop_non_desktop;
	uint32_t min_width, min_height, max_width, max_height;
	const struct drm_kms_funcs *funcs;
};

/* Per-file KMS state (file->kms). */
struct drm_kms_file {
	struct drm_framebuffer *fbs;
	struct drm_property_blob *blobs;
};

/* mode_object.c */
int drm_mode_object_add(struct drm_device *dev, struct drm_mode_object *obj, uint32_t type);
void drm_mode_object_remove(struct drm_device *dev, struct drm_mode_object *obj);
struct drm_mode_object *drm_mode_object_find(struct drm_device *dev, uint32_t id, uint32_t type);
void drm_object_attach_property(struct drm_mode_object *obj, struct drm_property *prop, uint64_t value);
int drm_object_property_get_value(struct drm_device *dev, struct drm_mode_object *obj,
				  struct drm_property *prop, uint64_t *val);
struct drm_property *drm_object_find_prop(struct drm_mode_object *obj, uint32_t prop_id);
int drm_mode_object_copy_props(struct drm_device *dev, struct drm_file *file, struct drm_call *call,
			       struct drm_mode_object *obj, uint64_t props_ptr, uint64_t values_ptr,
			       uint32_t *count);

/* property.c */
struct drm_property *drm_property_create_range(struct drm_device *dev, uint32_t flags, const char *name,
					       uint64_t min, uint64_t max);
struct drm_property *drm_property_create_signed_range(struct drm_device *dev, uint32_t flags,
						      const char *name, int64_t min, int64_t max);
struct drm_property *drm_property_create_enum(struct drm_device *dev, uint32_t flags, const char *name,
					      const struct drm_property_enum *enums, unsigned int n);
struct drm_property *drm_property_create_object(struct drm_device *dev, uint32_t flags, const char *name,
						uint32_t type);
struct drm_property *drm_property_create_blob_prop(struct drm_device *dev, uint32_t flags, const char *name);
struct drm_property_blob *drm_property_create_blob(struct drm_device *dev, size_t length, const void *data);
struct drm_property_blob *drm_property_blob_get(struct drm_property_blob *blob);
void drm_property_blob_put(struct drm_property_blob *blob);
struct drm_property_blob *drm_property_lookup_blob(struct drm_device *dev, uint32_t id);
/* Validates a value for prop (range, enum, existing object of the right type). */
int drm_property_value_valid(struct drm_device *dev, struct drm_property *prop, uint64_t value);
void drm_kms_blobs_release(struct drm_file *file);
void drm_properties_destroy(struct drm_device *dev);

/* modes.c */
int drm_mode_validate_umode(const struct drm_mode_modeinfo *m);
void drm_mode_set_name(struct drm_mode_modeinfo *m);
int drm_edid_to_modes(const uint8_t *edid, size_t len, struct drm_mode_modeinfo **modes,
		      uint32_t *mm_width, uint32_t *mm_height);
uint32_t drm_mode_vrefresh(const struct drm_mode_modeinfo *m);

/* framebuffer.c */
struct drm_framebuffer *drm_framebuffer_lookup(struct drm_device *dev, uint32_t id);
void drm_framebuffer_get(struct drm_framebuffer *fb);
void drm_framebuffer_put(struct drm_framebuffer *fb);
bool drm_plane_has_format(const struct drm_plane *plane, uint32_t format, uint64_t modifier);
struct drm_framebuffer *drm_internal_framebuffer_create(struct drm_device *dev, struct drm_file *file,
							 const struct drm_mode_fb_cmd2 *r, int *err);
void drm_kms_fbs_release(struct drm_file *file);

/* atomic.c */
struct drm_atomic_state *drm_atomic_state_alloc(struct drm_device *dev, struct drm_file *file);
void drm_atomic_state_free(struct drm_atomic_state *state);
struct drm_plane_state *drm_atomic_get_plane_state(struct drm_atomic_state *s, struct drm_plane *plane);
struct drm_crtc_state *drm_atomic_get_crtc_state(struct drm_atomic_state *s, struct drm_crtc *crtc);
struct drm_connector_state *drm_atomic_get_connector_state(struct drm_atomic_state *s,
							   struct drm_connector *conn);
int drm_atomic_set_mode_for_crtc(struct drm_crtc_state *cs, const struct drm_mode_modeinfo *mode);
void drm_atomic_set_fb_for_plane(struct drm_plane_state *ps, struct drm_framebuffer *fb);
int drm_atomic_set_property(struct drm_atomic_state *s, struct drm_mode_object *obj,
			    struct drm_property *prop, uint64_t value);
int drm_atomic_get_property(struct drm_mode_object *obj, struct drm_property *prop, uint64_t *val);
int drm_atomic_check(struct drm_atomic_state *state);
/*
 * Checks and commits. Blocking (!nonblock with a call): parks the caller until
 * the hardware has latched it, or, if an older commit is still in flight on
 * one of its CRTCs, until that one is done and then runs the ioctl again.
 * Returns 0 or DRM_CALL_PARKED (state now owned here) or -errno (the caller
 * frees state). call may be NULL for an internal commit.
 */
int drm_atomic_commit(struct drm_atomic_state *state, bool nonblock, struct drm_call *call);
/* -EBUSY-style check for NONBLOCK: a commit is still in flight on a CRTC of state. */
bool drm_atomic_busy(struct drm_atomic_state *state);
/* At each vblank: finish a commit the driver never confirmed (two frames late). */
void kms_crtc_vblank_commit_check(struct drm_crtc *crtc, uint64_t count);
/* Disables every plane showing fb (RMFB, file close). */
int drm_framebuffer_remove_from_planes(struct drm_device *dev, struct drm_framebuffer *fb);

/* vblank.c */
struct kms_crtc *kms_crtc(struct drm_crtc *crtc);
uint64_t drm_crtc_vblank_count(struct drm_crtc *crtc, uint64_t *time_ns);
void drm_crtc_vblank_on(struct drm_crtc *crtc);
void drm_crtc_vblank_off(struct drm_crtc *crtc);
struct drm_pending_vblank_event *drm_vblank_event_create(struct drm_file *file, struct drm_crtc *crtc,
							 uint32_t type, uint64_t user_data, int *err);
void drm_vblank_event_send(struct drm_pending_vblank_event *e, uint64_t seq, uint64_t time_ns);
void drm_vblank_event_free(struct drm_pending_vblank_event *e);
void drm_kms_events_release(struct drm_file *file);

#endif
