/* The shared plane composer: format conversion, blending, clipping, scaling, failed fetches. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <drm_fourcc.h>

#include "sim_scanout.h"

#define BASE 0x100000ull

/* A surface in "device memory" at BASE; rows listed in bad_row fail to read. */
struct mem {
	uint8_t *bytes;
	size_t size;
	int64_t bad_row;
	uint32_t pitch;
	unsigned reads;
};

static int mem_read(void *ctx, uint64_t addr, void *dst, size_t len)
{
	struct mem *m = ctx;
	m->reads++;
	if (addr < BASE || addr - BASE > m->size || len > m->size - (addr - BASE))
		return -1;
	if (m->bad_row >= 0 && (int64_t)((addr - BASE) / m->pitch) == m->bad_row)
		return -1;
	memcpy(dst, m->bytes + (addr - BASE), len);
	return 0;
}

static struct mem *mem_new(uint32_t pitch, uint32_t rows)
{
	struct mem *m = calloc(1, sizeof(*m));
	m->size = (size_t)pitch * rows;
	m->bytes = calloc(1, m->size);
	m->pitch = pitch;
	m->bad_row = -1;
	return m;
}

static void mem_free(struct mem *m)
{
	free(m->bytes);
	free(m);
}

static void put32(struct mem *m, uint32_t x, uint32_t y, uint32_t v)
{
	uint8_t *p = m->bytes + (size_t)y * m->pitch + x * 4;
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static void fill32(struct mem *m, uint32_t w, uint32_t h, uint32_t v)
{
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			put32(m, x, y, v);
}

static struct sim_plane_view view(struct mem *m, uint32_t format, uint32_t w, uint32_t h, int32_t x, int32_t y)
{
	return (struct sim_plane_view){
		.enabled = true, .format = format, .read = mem_read, .ctx = m, .base = BASE, .pitch = m->pitch,
		.src_w = w, .src_h = h, .dst_x = x, .dst_y = y, .dst_w = w, .dst_h = h,
		.blend = SIM_BLEND_PREMULTIPLIED,
	};
}

/* One pixel of a format through the composer onto black. */
static uint32_t convert1(uint32_t format, uint32_t raw, enum sim_blend blend)
{
	struct mem *m = mem_new(4, 1);
	put32(m, 0, 0, raw);
	struct sim_plane_view v = view(m, format, 1, 1, 0, 0);
	v.blend = blend;
	uint32_t out = 0xDEADBEEF;
	assert_int_equal(sim_scanout_compose(&v, 1, &out, 1, 1), 0);
	mem_free(m);
	return out;
}

static void test_formats_8888(void **state)
{
	assert_int_equal(convert1(DRM_FORMAT_XRGB8888, 0x00123456, SIM_BLEND_PREMULTIPLIED), 0x123456);
	/* The X byte is ignored, and the output's X is 0. */
	assert_int_equal(convert1(DRM_FORMAT_XRGB8888, 0x7F123456, SIM_BLEND_PREMULTIPLIED), 0x123456);
	assert_int_equal(convert1(DRM_FORMAT_ARGB8888, 0xFF123456, SIM_BLEND_PREMULTIPLIED), 0x123456);
	/* XBGR: R in the low byte. */
	assert_int_equal(convert1(DRM_FORMAT_XBGR8888, 0x00563412, SIM_BLEND_PREMULTIPLIED), 0x123456);
	assert_int_equal(convert1(DRM_FORMAT_ABGR8888, 0xFF563412, SIM_BLEND_PREMULTIPLIED), 0x123456);
	assert_int_equal(sim_scanout_format_cpp(DRM_FORMAT_XRGB8888), 4);
	assert_int_equal(sim_scanout_format_cpp(DRM_FORMAT_NV12), 0);
}

static void test_format_565(void **state)
{
	assert_int_equal(sim_scanout_format_cpp(DRM_FORMAT_RGB565), 2);
	assert_int_equal(convert1(DRM_FORMAT_RGB565, 0xF800, SIM_BLEND_NONE), 0xFF0000);
	assert_int_equal(convert1(DRM_FORMAT_RGB565, 0x07E0, SIM_BLEND_NONE), 0x00FF00);
	assert_int_equal(convert1(DRM_FORMAT_RGB565, 0x001F, SIM_BLEND_NONE), 0x0000FF);
	/* Mid values widen by replicating the top bits: r 0x10 → 0x84, g 0x20 → 0x82, b 0x10 → 0x84. */
	assert_int_equal(convert1(DRM_FORMAT_RGB565, 0x8410, SIM_BLEND_NONE), 0x848284);

	/* Two pixels per 32-bit word: the second pixel is the high half. */
	struct mem *m = mem_new(4, 1);
	put32(m, 0, 0, 0x001FF800); /* pixel 0 red, pixel 1 blue */
	struct sim_plane_view v = view(m, DRM_FORMAT_RGB565, 2, 1, 0, 0);
	uint32_t out[2];
	assert_int_equal(sim_scanout_compose(&v, 1, out, 2, 1), 0);
	assert_int_equal(out[0], 0xFF0000);
	assert_int_equal(out[1], 0x0000FF);
	mem_free(m);
}

static void test_formats_2101010(void **state)
{
	assert_int_equal(convert1(DRM_FORMAT_XRGB2101010, 0x3FF00000, SIM_BLEND_NONE), 0xFF0000);
	assert_int_equal(convert1(DRM_FORMAT_XRGB2101010, 0x000FFC00, SIM_BLEND_NONE), 0x00FF00);
	assert_int_equal(convert1(DRM_FORMAT_XRGB2101010, 0x000003FF, SIM_BLEND_NONE), 0x0000FF);
	/* 10-bit 512 rounds to 8-bit 128; the top 2 bits are X. */
	assert_int_equal(convert1(DRM_FORMAT_XRGB2101010, 0xC0000000u | 512u << 20 | 512u << 10 | 512u, SIM_BLEND_NONE),
			 0x808080);
	assert_int_equal(convert1(DRM_FORMAT_XBGR2101010, 0x000003FF, SIM_BLEND_NONE), 0xFF0000);
	/* 2-bit alpha: 3 is opaque, 0 is transparent (premultiplied colour 0 leaves black). */
	assert_int_equal(convert1(DRM_FORMAT_ARGB2101010, 0xFFF00000u, SIM_BLEND_PREMULTIPLIED), 0xFF0000);
	assert_int_equal(convert1(DRM_FORMAT_ABGR2101010, 0xC00003FFu, SIM_BLEND_PREMULTIPLIED), 0xFF0000);
	assert_int_equal(convert1(DRM_FORMAT_ARGB2101010, 0x00000000u, SIM_BLEND_PREMULTIPLIED), 0x000000);
}

/* out = src (premultiplied) + dst * (255 - a) / 255, rounded, per channel. */
static uint32_t ref_premul(uint32_t dst, uint32_t src)
{
	uint32_t a = src >> 24, o = 0;
	for (unsigned s = 0; s <= 16; s += 8) {
		uint32_t v = ((src >> s) & 0xFF) + (((dst >> s) & 0xFF) * (255 - a) + 127) / 255;
		o |= (v > 255 ? 255 : v) << s;
	}
	return o;
}

static uint32_t ref_coverage(uint32_t dst, uint32_t src)
{
	uint32_t a = src >> 24, o = 0;
	for (unsigned s = 0; s <= 16; s += 8)
		o |= ((((src >> s) & 0xFF) * a + ((dst >> s) & 0xFF) * (255 - a) + 127) / 255) << s;
	return o;
}

static void test_alpha_blend(void **state)
{
	struct mem *bg = mem_new(16, 1), *fg = mem_new(16, 1);
	fill32(bg, 4, 1, 0x00204080);
	/* Premultiplied half-transparent white, opaque, fully transparent, quarter red. */
	put32(fg, 0, 0, 0x80808080);
	put32(fg, 1, 0, 0xFF00FF00);
	put32(fg, 2, 0, 0x00000000);
	put32(fg, 3, 0, 0x40400000);
	struct sim_plane_view v[2] = {view(bg, DRM_FORMAT_XRGB8888, 4, 1, 0, 0), view(fg, DRM_FORMAT_ARGB8888, 4, 1, 0, 0)};
	uint32_t out[4];

	assert_int_equal(sim_scanout_compose(v, 2, out, 4, 1), 0);
	assert_int_equal(out[0], ref_premul(0x204080, 0x80808080));
	assert_int_equal(out[0], 0x90A0C0);
	assert_int_equal(out[1], 0x00FF00);
	assert_int_equal(out[2], 0x204080);
	assert_int_equal(out[3], ref_premul(0x204080, 0x40400000));

	v[1].blend = SIM_BLEND_COVERAGE;
	assert_int_equal(sim_scanout_compose(v, 2, out, 4, 1), 0);
	assert_int_equal(out[0], ref_coverage(0x204080, 0x80808080));
	assert_int_equal(out[1], 0x00FF00);
	assert_int_equal(out[2], 0x204080);
	assert_int_equal(out[3], ref_coverage(0x204080, 0x40400000));

	v[1].blend = SIM_BLEND_NONE;
	assert_int_equal(sim_scanout_compose(v, 2, out, 4, 1), 0);
	assert_int_equal(out[0], 0x808080);
	assert_int_equal(out[2], 0x000000);

	/* A format without alpha is opaque whatever the blend mode says. */
	v[1].format = DRM_FORMAT_XRGB8888;
	v[1].blend = SIM_BLEND_PREMULTIPLIED;
	assert_int_equal(sim_scanout_compose(v, 2, out, 4, 1), 0);
	assert_int_equal(out[2], 0x000000);
	assert_int_equal(out[3], 0x400000);

	/* ABGR blends the same way with its channels swapped. */
	put32(fg, 0, 0, 0x80808080);
	put32(fg, 3, 0, 0x40000040);
	v[1].format = DRM_FORMAT_ABGR8888;
	assert_int_equal(sim_scanout_compose(v, 2, out, 4, 1), 0);
	assert_int_equal(out[0], ref_premul(0x204080, 0x80808080));
	assert_int_equal(out[3], ref_premul(0x204080, 0x40400000));
	mem_free(bg);
	mem_free(fg);
}

static void test_order_and_background(void **state)
{
	struct mem *a = mem_new(8 * 4, 8), *b = mem_new(2 * 4, 2);
	fill32(a, 8, 8, 0x00FF0000);
	fill32(b, 2, 2, 0x000000FF);
	struct sim_plane_view v[2] = {view(a, DRM_FORMAT_XRGB8888, 4, 4, 1, 1), view(b, DRM_FORMAT_XRGB8888, 2, 2, 2, 2)};
	uint32_t out[36];
	assert_int_equal(sim_scanout_compose(v, 2, out, 6, 6), 0);
	for (unsigned y = 0; y < 6; y++) {
		for (unsigned x = 0; x < 6; x++) {
			uint32_t want = 0;
			if (x >= 1 && x < 5 && y >= 1 && y < 5)
				want = 0xFF0000;
			if (x >= 2 && x < 4 && y >= 2 && y < 4)
				want = 0x0000FF; /* the later plane is on top */
			assert_int_equal(out[y * 6 + x], want);
		}
	}
	/* A disabled plane shows nothing; no plane at all is a black screen. */
	v[1].enabled = false;
	assert_int_equal(sim_scanout_compose(v, 2, out, 6, 6), 0);
	assert_int_equal(out[2 * 6 + 2], 0xFF0000);
	assert_int_equal(sim_scanout_compose(NULL, 0, out, 6, 6), 0);
	for (unsigned i = 0; i < 36; i++)
		assert_int_equal(out[i], 0);
	mem_free(a);
	mem_free(b);
}

/* A 4x4 surface whose pixel (x, y) is 0x00YYXX00-ish: unique per pixel. */
static struct mem *pattern(uint32_t w, uint32_t h, uint32_t alpha)
{
	struct mem *m = mem_new(w * 4, h);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			put32(m, x, y, alpha << 24 | (y + 1) << 16 | (x + 1) << 8 | 0x11);
	return m;
}

static uint32_t pat(uint32_t x, uint32_t y)
{
	return (y + 1) << 16 | (x + 1) << 8 | 0x11;
}

static void test_clipping(void **state)
{
	struct mem *m = pattern(4, 4, 0xFF);
	uint32_t out[5 * 5];

	/* Hanging over the right and bottom edges. */
	struct sim_plane_view v = view(m, DRM_FORMAT_XRGB8888, 4, 4, 3, 2);
	assert_int_equal(sim_scanout_compose(&v, 1, out, 5, 5), 0);
	for (unsigned y = 0; y < 5; y++)
		for (unsigned x = 0; x < 5; x++)
			assert_int_equal(out[y * 5 + x], (x >= 3 && y >= 2) ? pat(x - 3, y - 2) : 0);

	/* Negative positions (a cursor at the top left corner): the visible part is the bottom right. */
	v = view(m, DRM_FORMAT_ARGB8888, 4, 4, -3, -2);
	assert_int_equal(sim_scanout_compose(&v, 1, out, 5, 5), 0);
	for (unsigned y = 0; y < 5; y++)
		for (unsigned x = 0; x < 5; x++)
			assert_int_equal(out[y * 5 + x], (x < 1 && y < 2) ? pat(x + 3, y + 2) : 0);

	/* Entirely off screen on every side: nothing is fetched. */
	const int32_t off[][2] = {{-4, 0}, {5, 0}, {0, -4}, {0, 5}, {INT32_MIN, INT32_MIN}, {INT32_MAX, 0}};
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++) {
		v = view(m, DRM_FORMAT_XRGB8888, 4, 4, off[i][0], off[i][1]);
		m->reads = 0;
		assert_int_equal(sim_scanout_compose(&v, 1, out, 5, 5), 0);
		assert_int_equal(m->reads, 0);
		for (unsigned k = 0; k < 25; k++)
			assert_int_equal(out[k], 0);
	}

	/* A source offset inside the surface. */
	v = view(m, DRM_FORMAT_XRGB8888, 2, 2, 0, 0);
	v.src_x = 1;
	v.src_y = 2;
	assert_int_equal(sim_scanout_compose(&v, 1, out, 5, 5), 0);
	assert_int_equal(out[0], pat(1, 2));
	assert_int_equal(out[1], pat(2, 2));
	assert_int_equal(out[5], pat(1, 3));
	assert_int_equal(out[2], 0);
	mem_free(m);
}

static void test_read_failure(void **state)
{
	struct mem *bg = mem_new(16, 4), *m = pattern(4, 4, 0x80);
	fill32(bg, 4, 4, 0x00FFFFFF);
	m->bad_row = 1;
	struct sim_plane_view v[2] = {view(bg, DRM_FORMAT_XRGB8888, 4, 4, 0, 0), view(m, DRM_FORMAT_ARGB8888, 4, 4, 0, 0)};
	v[1].blend = SIM_BLEND_NONE;
	uint32_t out[16];
	assert_int_equal(sim_scanout_compose(v, 2, out, 4, 4), 0);
	for (unsigned x = 0; x < 4; x++) {
		assert_int_equal(out[0 * 4 + x], pat(x, 0));
		assert_int_equal(out[1 * 4 + x], 0); /* the failed row is black, even over white */
		assert_int_equal(out[2 * 4 + x], pat(x, 2));
	}
	/* Past the end of memory, and a NULL reader: black, no crash. */
	v[1] = view(m, DRM_FORMAT_XRGB8888, 4, 4, 0, 0);
	v[1].base = BASE + 8;
	m->bad_row = -1;
	assert_int_equal(sim_scanout_compose(v, 2, out, 4, 4), 0);
	assert_int_equal(out[0], pat(2, 0));
	assert_int_equal(out[3 * 4 + 3], 0);
	v[1].read = NULL;
	assert_int_equal(sim_scanout_compose(v, 2, out, 4, 4), 0);
	assert_int_equal(out[0], 0);
	/* A format the composer does not know is black too. */
	v[1] = view(m, DRM_FORMAT_NV12, 2, 2, 1, 1);
	assert_int_equal(sim_scanout_compose(v, 2, out, 4, 4), 0);
	assert_int_equal(out[0], 0xFFFFFF);
	assert_int_equal(out[1 * 4 + 1], 0);
	assert_int_equal(out[3 * 4 + 3], 0xFFFFFF);
	mem_free(bg);
	mem_free(m);
}

static void test_scaling(void **state)
{
	struct mem *m = pattern(2, 2, 0xFF);
	struct sim_plane_view v = view(m, DRM_FORMAT_XRGB8888, 2, 2, 0, 0);
	v.dst_w = 4;
	v.dst_h = 4;
	uint32_t out[16];
	assert_int_equal(sim_scanout_compose(&v, 1, out, 4, 4), 0);
	for (unsigned y = 0; y < 4; y++)
		for (unsigned x = 0; x < 4; x++)
			assert_int_equal(out[y * 4 + x], pat(x / 2, y / 2));
	/* Downscaling picks every other pixel, and clipping a scaled plane keeps the mapping. */
	struct mem *big = pattern(4, 4, 0xFF);
	v = view(big, DRM_FORMAT_XRGB8888, 4, 4, -1, 0);
	v.dst_w = 2;
	v.dst_h = 2;
	assert_int_equal(sim_scanout_compose(&v, 1, out, 4, 4), 0);
	assert_int_equal(out[0], pat(2, 0));
	assert_int_equal(out[4], pat(2, 2));
	assert_int_equal(out[1], 0);
	mem_free(m);
	mem_free(big);
}

/* Invert red, zero green, keep blue. */
static void lut_invert_r_zero_g(struct sim_lut *l)
{
	for (unsigned i = 0; i < 256; i++) {
		l->r[i] = (uint8_t)(255 - i);
		l->g[i] = 0;
		l->b[i] = (uint8_t)i;
	}
}

static uint32_t ref_lut(uint32_t v)
{
	return (255 - ((v >> 16) & 0xFF)) << 16 | (v & 0xFF);
}

/* A plane's own lookup acts before it blends; the pipe's after, per the topmost plane shown. */
static void test_luts(void **state)
{
	struct mem *bg = mem_new(16, 1), *fg = mem_new(8, 1);
	fill32(bg, 4, 1, 0x00204080);
	put32(fg, 0, 0, 0x80808080); /* premultiplied half white */
	put32(fg, 1, 0, 0x00000000); /* fully transparent */
	struct sim_lut lut;
	lut_invert_r_zero_g(&lut);
	/* bg on x 0..2, fg on x 0..1; x 3 has no plane. */
	struct sim_plane_view v[2] = {view(bg, DRM_FORMAT_XRGB8888, 3, 1, 0, 0), view(fg, DRM_FORMAT_ARGB8888, 2, 1, 0, 0)};
	uint32_t out[4];

	/* Before blending, on the bottom plane only. */
	v[0].lut = &lut;
	assert_int_equal(sim_scanout_compose(v, 2, out, 4, 1), 0);
	assert_int_equal(out[0], ref_premul(ref_lut(0x204080), 0x80808080));
	assert_int_equal(out[1], ref_lut(0x204080));
	assert_int_equal(out[2], ref_lut(0x204080));
	assert_int_equal(out[3], 0);
	/* On the top plane only: its colour changes before it mixes with what is below. */
	v[0].lut = NULL;
	v[1].lut = &lut;
	assert_int_equal(sim_scanout_compose(v, 2, out, 4, 1), 0);
	assert_int_equal(out[0], ref_premul(0x204080, ref_lut(0x808080) | 0x80000000u));
	assert_int_equal(out[2], 0x204080);

	/* After blending: the blend result goes through it where the top plane takes it. */
	v[1].lut = NULL;
	v[0].pipe_lut = v[1].pipe_lut = true;
	assert_int_equal(sim_scanout_compose_lut(v, 2, out, 4, 1, &lut, false), 0);
	assert_int_equal(out[0], ref_lut(ref_premul(0x204080, 0x80808080)));
	assert_int_equal(out[1], ref_lut(0x204080));
	assert_int_equal(out[3], 0); /* background without it */
	assert_int_equal(sim_scanout_compose_lut(v, 2, out, 4, 1, &lut, true), 0);
	assert_int_equal(out[3], ref_lut(0)); /* black inverted: red */
	assert_int_equal(out[3], 0xFF0000);
	/* The top plane opting out decides where it shows; where it is transparent, the plane below does. */
	v[1].pipe_lut = false;
	assert_int_equal(sim_scanout_compose_lut(v, 2, out, 4, 1, &lut, false), 0);
	assert_int_equal(out[0], ref_premul(0x204080, 0x80808080));
	assert_int_equal(out[1], ref_lut(0x204080));
	assert_int_equal(out[2], ref_lut(0x204080));
	/* No pipe lookup: compose as ever, whatever the planes ask. */
	assert_int_equal(sim_scanout_compose_lut(v, 2, out, 4, 1, NULL, true), 0);
	assert_int_equal(out[1], 0x204080);
	assert_int_equal(out[3], 0);

	/* An identity lookup changes nothing. */
	for (unsigned i = 0; i < 256; i++)
		lut.r[i] = lut.g[i] = lut.b[i] = (uint8_t)i;
	v[0].lut = &lut;
	v[1].pipe_lut = true;
	uint32_t plain[4];
	assert_int_equal(sim_scanout_compose(v, 2, plain, 4, 1), 0);
	assert_int_equal(sim_scanout_compose_lut(v, 2, out, 4, 1, &lut, true), 0);
	assert_memory_equal(out, plain, sizeof(out));
	mem_free(bg);
	mem_free(fg);
}

static void test_bad_arguments(void **state)
{
	uint32_t out[4];
	struct sim_plane_view v = {0};
	assert_int_equal(sim_scanout_compose(&v, 1, NULL, 2, 2), -EINVAL);
	assert_int_equal(sim_scanout_compose(&v, 1, out, 0, 2), -EINVAL);
	assert_int_equal(sim_scanout_compose(&v, 1, out, 2, 0), -EINVAL);
	assert_int_equal(sim_scanout_compose(NULL, 1, out, 2, 2), -EINVAL);
	assert_int_equal(sim_scanout_compose(&v, 1, out, UINT32_MAX, UINT32_MAX), -EINVAL);
	/* Empty planes compose to black. */
	v.enabled = true;
	assert_int_equal(sim_scanout_compose(&v, 1, out, 2, 2), 0);
	assert_int_equal(out[3], 0);
	/* Absurdly wide sources are refused as black rather than allocated. */
	struct mem *m = mem_new(4, 1);
	v = view(m, DRM_FORMAT_XRGB8888, SIM_SCANOUT_MAX_WIDTH + 1, 1, 0, 0);
	assert_int_equal(sim_scanout_compose(&v, 1, out, 2, 2), 0);
	assert_int_equal(m->reads, 0);
	assert_int_equal(out[0], 0);
	mem_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_formats_8888),
		cmocka_unit_test(test_format_565),
		cmocka_unit_test(test_formats_2101010),
		cmocka_unit_test(test_alpha_blend),
		cmocka_unit_test(test_order_and_background),
		cmocka_unit_test(test_clipping),
		cmocka_unit_test(test_read_failure),
		cmocka_unit_test(test_scaling),
		cmocka_unit_test(test_luts),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
