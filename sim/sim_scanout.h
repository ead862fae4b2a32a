/*
 * The plane composer shared by the display-engine models: what a monitor
 * shows, built from the planes a pipe scans out. A model describes each
 * plane as it latched it (format, where its pixels are, the source and
 * destination rectangles, how its alpha blends, the colour lookups it goes
 * through before or after blending) and reads the pixels through
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

/* A colour lookup: each channel's 8-bit value indexes its own table of 8-bit outputs. */
struct sim_lut {
	uint8_t r[256], g[256], b[256];
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
	/* A lookup in the plane's own input path, before it blends (NULL: none). */
	const struct sim_lut *lut;
	/* Whether this plane's pixels take the pipe's lookup after blending (sim_scanout_compose_lut). */
	bool pipe_lut;
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

/*
 * As sim_scanout_compose, then a pipe's lookup after the blender (NULL: none).
 * A pixel takes it if the topmost plane that shows there (with nonzero alpha)
 * has pipe_lut set; where no plane shows, if background_lut.
 */
int sim_scanout_compose_lut(const struct sim_plane_view *planes, unsigned n, uint32_t *out, uint32_t width,
			    uint32_t height, const struct sim_lut *pipe_lut, bool background_lut);

/* Bytes per pixel of a format the composer knows, or 0. */
uint32_t sim_scanout_format_cpp(uint32_t format);

/* The largest source or destination width, in pixels, the composer accepts (wider shows black). */
#define SIM_SCANOUT_MAX_WIDTH 16384u

#endif
