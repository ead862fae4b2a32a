/*
 * The plane composer shared by the display-engine models: what a monitor
 * shows, built from the planes a pipe scans out. A model describes each
 * plane as it latched it (format, where its pixels are, the source and
 * destination rectangles, how its alpha blends) and reads the pixels through
 * its own translation (GGTT, GART), row by row, so an unmapped page costs one
 * black row and never a crash.
 */
#ifndef REDOX_DRM_SIM_SCANOUT_H
#define REDOX_DRM_SIM_SCANOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a plane with an alpha channel combines with what lies below it. */
enum sim_blend {
	/* Colour already multiplied by alpha (DRM's default "Pre-multiplied"):
	 * out = src + dst * (1 - a). */
	SIM_BLEND_PREMULTIPLIED = 0,
	/* Colour not multiplied ("Coverage"): out = src * a + dst * (1 - a). */
	SIM_BLEND_COVERAGE,
	/* Alpha ignored ("None"): the plane is opaque. */
	SIM_BLEND_NONE,
};

struct sim_plane_view {
	bool enabled;
	uint32_t format; /* DRM fourcc (drm_fourcc.h) */
	/* Reads len bytes at device address dev_addr; 0, or nonzero if any of it is unmapped. */
	int (*read)(void *ctx, uint64_t dev_addr, void *dst, size_t len);
	void *ctx;
	uint64_t base;   /* device address of the surface's pixel (0, 0) */
	uint32_t pitch;  /* bytes from one row to the next */
	/* Source rectangle in the surface, in pixels. */
	uint32_t src_x, src_y, src_w, src_h;
	/* Where it lands on the screen; may hang over any edge (cursors go negative).
	 * A size different from the source scales it (nearest pixel). */
	int32_t dst_x, dst_y;
	uint32_t dst_w, dst_h;
	/* Only for formats with alpha; formats without alpha are always opaque. */
	enum sim_blend blend;
};

/*
 * Composes planes[0..n) in hardware order (bottom first) into out, width x
 * height XRGB8888 pixels (X = 0) of pitch width * 4. Where no plane lies the
 * screen is black. A plane row whose read fails, and a plane in a format this
 * composer does not know, show opaque black.
 * Returns 0, -EINVAL for a bad buffer or size, or -ENOMEM.
 */
int sim_scanout_compose(const struct sim_plane_view *planes, unsigned n, uint32_t *out, uint32_t width,
			uint32_t height);

/* Bytes per pixel of a format the composer knows, or 0. */
uint32_t sim_scanout_format_cpp(uint32_t format);

/* The largest source or destination width, in pixels, the composer accepts (wider shows black). */
#define SIM_SCANOUT_MAX_WIDTH 16384u

#endif
