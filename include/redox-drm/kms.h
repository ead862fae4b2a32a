/*
 * Kernel mode setting: mode objects, their atomic states, and what a driver
 * provides to drive its display engine. The core (kms/) owns ids, properties,
 * the uAPI and the atomic check/commit sequence; a driver creates its objects
 * at load, checks what its hardware cannot do, and programs registers.
 *
 * Commit sequence: core checks → driver atomic_check → states swapped →
 * driver prepare_fb for new framebuffers → driver atomic_commit programs the
 * hardware → per CRTC the driver reports completion with
 * drm_crtc_commit_done() (from its flip-done or vblank interrupt, or at once
 * when nothing waits for the hardware) → the core sends the page-flip
 * events, calls cleanup_fb for framebuffers no longer shown and frees the old
 * states.
 */
#ifndef REDOX_DRM_KMS_H
#define REDOX_DRM_KMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <drm.h>
#include <drm_mode.h>

#include "redox-drm/drm_ioctl.h"

struct drm_fence;
struct event_timer;
struct kms_fence_wait;

struct drm_device;
struct drm_file;
struct drm_gem_object;
struct drm_property;
struct drm_pending_vblank_event;

#define KMS_MAX_CRTCS 4
#define KMS_MAX_PLANES 16
#define KMS_MAX_CONNECTORS 8
#define KMS_MAX_ENCODERS 8
#define KMS_MAX_PROPS 24

struct drm_mode_object {
	uint32_t id;
	uint32_t type; /* DRM_MODE_OBJECT_* */
	/* Attached properties and, for non-atomic ones, their current values. */
	unsigned nprops;
	struct drm_property *props[KMS_MAX_PROPS];
	uint64_t values[KMS_MAX_PROPS];
};

struct drm_framebuffer {
	struct drm_mode_object base;
	struct drm_device *dev;
	struct drm_file *owner; /* NULL once RMFB'd or its file closed, while still shown */
	unsigned int refcount;
	uint32_t width, height;
	uint32_t format;   /* DRM_FORMAT_* fourcc */
	uint64_t modifier;
	uint32_t flags;
	unsigned int nplanes;
	struct drm_gem_object *obj[4];
	uint32_t pitches[4], offsets[4];
	void *driver_priv; /* the driver's mapping (prepare_fb) */
	unsigned int prepared; /* plane states showing it: mapped while > 0 */
	int32_t hot_x, hot_y;  /* cursor hot spot (CURSOR2) */
	struct drm_framebuffer *next; /* in the owner's list */
};

struct drm_plane_state {
	struct drm_plane *plane;
	struct drm_crtc *crtc;
	struct drm_framebuffer *fb;
	int32_t crtc_x, crtc_y;
	uint32_t crtc_w, crtc_h;
	uint32_t src_x, src_y, src_w, src_h; /* 16.16 fixed point */
	bool visible; /* set by the core's check: on an active CRTC, with a fb */
	struct drm_fence *fence; /* IN_FENCE_FD: shown only once it signals (a reference) */
};

struct drm_crtc_state {
	struct drm_crtc *crtc;
	bool enable, active;
	bool mode_changed;  /* needs a modeset (timings, enable) */
	bool planes_changed;
	struct drm_mode_modeinfo mode;
	uint32_t mode_blob_id; /* MODE_ID property value, 0 = none */
	uint32_t plane_mask;    /* planes shown on this CRTC (bit = plane index) */
	uint32_t connector_mask;
	struct drm_pending_vblank_event *event; /* sent when the commit is done */
};

struct drm_connector_state {
	struct drm_connector *connector;
	struct drm_crtc *crtc;
};

struct drm_plane {
	struct drm_mode_object base;
	struct drm_device *dev;
	unsigned int index;
	enum drm_plane_type { DRM_PLANE_TYPE_OVERLAY = 0, DRM_PLANE_TYPE_PRIMARY = 1, DRM_PLANE_TYPE_CURSOR = 2 } type;
	uint32_t possible_crtcs;
	const uint32_t *formats;
	unsigned int nformats;
	const uint64_t *modifiers;
	unsigned int nmodifiers;
	uint32_t max_width, max_height; /* 0 = CRTC size (cursor planes set their limit) */
	struct drm_plane_state *state;
};

struct drm_crtc {
	struct drm_mode_object base;
	struct drm_device *dev;
	unsigned int index;
	struct drm_plane *primary, *cursor;
	struct drm_crtc_state *state;
	uint32_t gamma_size;
	uint16_t *gamma; /* r, g, b: 3 × gamma_size */
	void *core_priv;   /* vblank and commit bookkeeping (kms/) */
	void *driver_priv;
};

struct drm_encoder {
	struct drm_mode_object base;
	unsigned int index;
	uint32_t encoder_type;
	uint32_t possible_crtcs;
};

struct drm_connector {
	struct drm_mode_object base;
	struct drm_device *dev;
	unsigned int index;
	uint32_t connector_type, connector_type_id;
	enum drm_connector_status { connector_status_connected = 1, connector_status_disconnected = 2,
				    connector_status_unknown = 3 } status;
	uint32_t mm_width, mm_height;
	uint32_t subpixel;
	struct drm_encoder *encoder;
	struct drm_mode_modeinfo *modes;
	unsigned int nmodes;
	struct drm_connector_state *state;
	void *driver_priv;
};

struct drm_atomic_state {
	struct drm_device *dev;
	struct drm_file *file;
	uint32_t flags; /* DRM_MODE_ATOMIC_*, DRM_MODE_PAGE_FLIP_* */
	bool allow_modeset;
	/* A legacy cursor update: it rides along with a commit in flight instead of waiting for it. */
	bool legacy_cursor_update;
	/* Set by the core: CRTCs whose hardware has not latched this state yet, and their events. */
	unsigned int pending;
	struct drm_pending_vblank_event *events[KMS_MAX_CRTCS];
	struct drm_atomic_state *next_rider;
	/* Indexed by object index; NULL where the request does not touch the object. */
	struct drm_plane_state *planes_old[KMS_MAX_PLANES], *planes_new[KMS_MAX_PLANES];
	struct drm_crtc_state *crtcs_old[KMS_MAX_CRTCS], *crtcs_new[KMS_MAX_CRTCS];
	struct drm_connector_state *conns_old[KMS_MAX_CONNECTORS], *conns_new[KMS_MAX_CONNECTORS];
	/* Set by the core: the planes' fences a committed state waits for before it is programmed. */
	struct kms_fence_wait *fence_waits;
	unsigned int nfence_waits, fences_pending;
	struct event_timer *program_timer;
};

/* What a driver with DRIVER_MODESET provides (struct drm_driver.kms). */
struct drm_kms_funcs {
	/* Creates planes, CRTCs, encoders and connectors (reading EDID from the hardware). */
	int (*modeset_init)(struct drm_device *dev);
	void (*modeset_fini)(struct drm_device *dev);
	/* Rejects (-EINVAL, -ERANGE) what the engine cannot do; formats are already checked. */
	int (*atomic_check)(struct drm_device *dev, struct drm_atomic_state *state);
	/* Maps a framebuffer's memory for scanout (GART/GGTT) before it is shown. */
	int (*prepare_fb)(struct drm_device *dev, struct drm_framebuffer *fb);
	void (*cleanup_fb)(struct drm_device *dev, struct drm_framebuffer *fb);
	/* Programs the new state (already in plane->state, crtc->state). Must not block. */
	void (*atomic_commit)(struct drm_device *dev, struct drm_atomic_state *state);
	int (*enable_vblank)(struct drm_crtc *crtc);
	void (*disable_vblank)(struct drm_crtc *crtc);
	/* Loads crtc->gamma (3 × gamma_size entries, red, green, blue) into the hardware LUT. */
	void (*gamma_set)(struct drm_crtc *crtc);
	/* The scanout as the display engine composes it now, as XRGB8888 rows (capture). */
	int (*capture)(struct drm_crtc *crtc, uint32_t *pixels, uint32_t width, uint32_t height);
	/* Rows must be multiples of this many bytes in dumb buffers (0 = 64). */
	uint32_t dumb_pitch_align;
	uint32_t cursor_width, cursor_height;
	uint32_t max_width, max_height;
	uint32_t preferred_depth;
};

/* ---- for drivers: building the configuration ---- */
struct drm_plane *drm_plane_create(struct drm_device *dev, uint32_t possible_crtcs, enum drm_plane_type type,
				   const uint32_t *formats, unsigned int nformats,
				   const uint64_t *modifiers, unsigned int nmodifiers);
struct drm_crtc *drm_crtc_create(struct drm_device *dev, struct drm_plane *primary, struct drm_plane *cursor,
				 uint32_t gamma_size);
struct drm_encoder *drm_encoder_create(struct drm_device *dev, uint32_t encoder_type, uint32_t possible_crtcs);
/* Modes and physical size come from the EDID (NULL: disconnected). */
struct drm_connector *drm_connector_create(struct drm_device *dev, uint32_t connector_type,
					   struct drm_encoder *encoder, const uint8_t *edid, size_t edid_len);
/* Hotplug: new EDID (or NULL), status updated, a uevent-style notification for clients. */
void drm_connector_update_edid(struct drm_connector *connector, const uint8_t *edid, size_t edid_len);

/* ---- for drivers: from interrupt handlers ---- */
/* A vblank happened at timestamp_ns (CLOCK_MONOTONIC, corrected to the start of vblank). */
void drm_crtc_handle_vblank(struct drm_crtc *crtc, uint64_t timestamp_ns);
/* The hardware has latched the CRTC's last commit (flip done): events go out now. */
void drm_crtc_commit_done(struct drm_crtc *crtc);

/* Framebuffer byte address of plane p at (x, y) of the source: offsets[p] + y*pitch + x*cpp. */
uint32_t drm_format_cpp(uint32_t format);

struct drm_crtc *drm_crtc_from_index(struct drm_device *dev, unsigned int index);

/* ---- for the core (daemon/) ---- */
/* With DRIVER_MODESET: standard properties, then the driver's modeset_init. */
int drm_mode_config_init(struct drm_device *dev);
void drm_mode_config_cleanup(struct drm_device *dev);
int drm_kms_file_open(struct drm_file *file);
/* Framebuffers, blobs and events of a closing file (its fbs leave the screen, as RMFB). */
void drm_kms_file_release(struct drm_file *file);
/* Capture of a CRTC's scanout (0: the first active one) into a new XRGB8888 buffer. */
int drm_kms_capture(struct drm_device *dev, uint32_t crtc_id, uint32_t **pixels, uint32_t *width,
		    uint32_t *height, uint32_t *out_crtc_id);

/* KMS ioctl handlers, for the core ioctl table. */
drm_ioctl_t drm_mode_getresources, drm_mode_getcrtc, drm_mode_setcrtc, drm_mode_cursor_ioctl,
	drm_mode_cursor2_ioctl, drm_mode_gamma_get_ioctl, drm_mode_gamma_set_ioctl, drm_mode_getencoder,
	drm_mode_getconnector, drm_mode_getproperty_ioctl, drm_mode_connector_property_set_ioctl,
	drm_mode_getblob_ioctl, drm_mode_getfb, drm_mode_addfb_ioctl, drm_mode_rmfb_ioctl,
	drm_mode_page_flip_ioctl, drm_mode_dirtyfb_ioctl, drm_mode_create_dumb_ioctl,
	drm_mode_mmap_dumb_ioctl, drm_mode_destroy_dumb_ioctl, drm_mode_getplane_res, drm_mode_getplane,
	drm_mode_setplane, drm_mode_addfb2_ioctl, drm_mode_obj_get_properties_ioctl,
	drm_mode_obj_set_property_ioctl, drm_mode_atomic_ioctl, drm_mode_createblob_ioctl,
	drm_mode_destroyblob_ioctl, drm_mode_getfb2_ioctl, drm_wait_vblank_ioctl,
	drm_crtc_get_sequence_ioctl, drm_crtc_queue_sequence_ioctl;


#endif
