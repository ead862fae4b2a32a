#include "sim_scanout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drm_fourcc.h>

struct scanout_format {
	uint32_t fourcc;
	uint8_t cpp;
	bool alpha;
};

static const struct scanout_format formats[] = {
	{DRM_FORMAT_XRGB8888, 4, false},    {DRM_FORMAT_ARGB8888, 4, true},
	{DRM_FORMAT_XBGR8888, 4, false},    {DRM_FORMAT_ABGR8888, 4, true},
	{DRM_FORMAT_RGB565, 2, false},      {DRM_FORMAT_XRGB2101010, 4, false},
	{DRM_FORMAT_ARGB2101010, 4, true},  {DRM_FORMAT_XBGR2101010, 4, false},
	{DRM_FORMAT_ABGR2101010, 4, true},
};

static const struct scanout_format *find_format(uint32_t fourcc)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (formats[i].fourcc == fourcc)
			return &formats[i];
	return NULL;
}

uint32_t sim_scanout_format_cpp(uint32_t format)
{
	const struct scanout_format *f = find_format(format);
	return f ? f->cpp : 0;
}

/* Channel widening as a monitor's 8-bit input sees it: replicate the top bits, round 10-bit values. */
static uint32_t c5to8(uint32_t v)
{
	return (v << 3) | (v >> 2);
}

static uint32_t c6to8(uint32_t v)
{
	return (v << 2) | (v >> 4);
}

static uint32_t c10to8(uint32_t v)
{
	return (v * 255u + 511u) / 1023u;
}

static uint32_t argb(uint32_t a, uint32_t r, uint32_t g, uint32_t b)
{
	return a << 24 | r << 16 | g << 8 | b;
}

/* One pixel as A8R8G8B8; formats without alpha come out opaque. Pixels are little endian. */
static uint32_t decode(uint32_t fourcc, const uint8_t *p)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8;
	if (fourcc == DRM_FORMAT_RGB565)
		return argb(255, c5to8(v >> 11), c6to8((v >> 5) & 0x3F), c5to8(v & 0x1F));
	v |= (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;

	switch (fourcc) {
	case DRM_FORMAT_XRGB8888:
		return v | 0xFF000000u;
	case DRM_FORMAT_ARGB8888:
		return v;
	case DRM_FORMAT_XBGR8888:
		return argb(255, v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF);
	case DRM_FORMAT_ABGR8888:
		return argb(v >> 24, v & 0xFF, (v >> 8) & 0xFF, (v >> 16) & 0xFF);
	case DRM_FORMAT_XRGB2101010:
	case DRM_FORMAT_ARGB2101010:
		return argb(fourcc == DRM_FORMAT_ARGB2101010 ? (v >> 30) * 0x55u : 255, c10to8((v >> 20) & 0x3FF),
			    c10to8((v >> 10) & 0x3FF), c10to8(v & 0x3FF));
	case DRM_FORMAT_XBGR2101010:
	case DRM_FORMAT_ABGR2101010:
		return argb(fourcc == DRM_FORMAT_ABGR2101010 ? (v >> 30) * 0x55u : 255, c10to8(v & 0x3FF),
			    c10to8((v >> 10) & 0x3FF), c10to8((v >> 20) & 0x3FF));
	}
	return 0xFF000000u;
}

static void blend(uint32_t *dst, uint32_t src, bool has_alpha, enum sim_blend mode)
{
	uint32_t a = src >> 24;
	if (!has_alpha || mode == SIM_BLEND_NONE || a == 255) {
		*dst = src & 0x00FFFFFFu;
		return;
	}
	uint32_t out = 0;
	for (unsigned shift = 0; shift <= 16; shift += 8) {
		uint32_t s = (src >> shift) & 0xFF, d = (*dst >> shift) & 0xFF, v;
		if (mode == SIM_BLEND_COVERAGE) {
			v = (s * a + d * (255 - a) + 127) / 255;
		} else {
			/* A premultiplied colour above its alpha is invalid input: saturate as hardware does. */
			v = s + (d * (255 - a) + 127) / 255;
			if (v > 255)
				v = 255;
		}
		out |= v << shift;
	}
	*dst = out;
}

static uint32_t lookup(const struct sim_lut *lut, uint32_t argb)
{
	return (argb & 0xFF000000u) | (uint32_t)lut->r[(argb >> 16) & 0xFF] << 16 |
	       (uint32_t)lut->g[(argb >> 8) & 0xFF] << 8 | lut->b[argb & 0xFF];
}

static int64_t max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int64_t min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/* tag, if given, marks each pixel the plane shows on with its pipe_lut. */
static int compose_plane(const struct sim_plane_view *p, uint32_t *out, uint8_t *tag, uint32_t width,
			 uint32_t height)
{
	if (!p->enabled || !p->src_w || !p->src_h || !p->dst_w || !p->dst_h)
		return 0;

	/* The part of the destination on screen. */
	int64_t x0 = max64(p->dst_x, 0), x1 = min64((int64_t)p->dst_x + p->dst_w, width);
	int64_t y0 = max64(p->dst_y, 0), y1 = min64((int64_t)p->dst_y + p->dst_h, height);
	if (x0 >= x1 || y0 >= y1)
		return 0;

	const struct scanout_format *f = find_format(p->format);
	bool scaled = p->src_w != p->dst_w || p->src_h != p->dst_h;
	bool readable = f && p->read && p->src_w <= SIM_SCANOUT_MAX_WIDTH && p->dst_w <= SIM_SCANOUT_MAX_WIDTH;

	/* Unscaled planes fetch only their visible columns; scaled ones a whole source row. */
	uint64_t first_col = scaled ? p->src_x : (uint64_t)p->src_x + (uint64_t)(x0 - p->dst_x);
	uint64_t ncols = scaled ? p->src_w : (uint64_t)(x1 - x0);
	uint8_t *row = NULL;
	if (readable) {
		row = malloc((size_t)ncols * f->cpp);
		if (!row)
			return -ENOMEM;
	}

	uint64_t cached_sy = UINT64_MAX;
	bool row_ok = false;
	for (int64_t y = y0; y < y1; y++) {
		uint64_t dy = (uint64_t)(y - p->dst_y);
		uint64_t sy = (uint64_t)p->src_y + (scaled ? dy * p->src_h / p->dst_h : dy);
		if (readable && sy != cached_sy) {
			cached_sy = sy;
			uint64_t addr = p->base + sy * p->pitch + first_col * f->cpp;
			row_ok = p->read(p->ctx, addr, row, (size_t)ncols * f->cpp) == 0;
		}
		uint32_t *d = out + (size_t)y * width;
		uint8_t *t = tag ? tag + (size_t)y * width : NULL;
		for (int64_t x = x0; x < x1; x++) {
			if (!readable || !row_ok) {
				d[x] = 0; /* what the engine shows for a fetch it could not make */
				if (t)
					t[x] = p->pipe_lut;
				continue;
			}
			uint64_t col = scaled ? (uint64_t)(x - p->dst_x) * p->src_w / p->dst_w : (uint64_t)(x - x0);
			uint32_t src = decode(f->fourcc, row + col * f->cpp);
			if (p->lut)
				src = lookup(p->lut, src);
			blend(&d[x], src, f->alpha, p->blend);
			if (t && (!f->alpha || p->blend == SIM_BLEND_NONE || src >> 24))
				t[x] = p->pipe_lut;
		}
	}
	free(row);
	return 0;
}

int sim_scanout_compose_lut(const struct sim_plane_view *planes, unsigned n, uint32_t *out, uint32_t width,
			    uint32_t height, const struct sim_lut *pipe_lut, bool background_lut)
{
	if (!out || !width || !height || (n && !planes) || (size_t)width > SIZE_MAX / 4 / height)
		return -EINVAL;
	size_t npx = (size_t)width * height;
	memset(out, 0, npx * 4);
	uint8_t *tag = NULL;
	if (pipe_lut) {
		tag = malloc(npx);
		if (!tag)
			return -ENOMEM;
		memset(tag, background_lut, npx);
	}
	int ret = 0;
	for (unsigned i = 0; i < n && !ret; i++)
		ret = compose_plane(&planes[i], out, tag, width, height);
	for (size_t i = 0; tag && !ret && i < npx; i++)
		if (tag[i])
			out[i] = lookup(pipe_lut, out[i]);
	free(tag);
	return ret;
}

int sim_scanout_compose(const struct sim_plane_view *planes, unsigned n, uint32_t *out, uint32_t width,
			uint32_t height)
{
	return sim_scanout_compose_lut(planes, n, out, width, height, NULL, false);
}
