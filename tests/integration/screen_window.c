/*
 * screen_window RRGGBB WIDTH HEIGHT A.png [B.png]
 *
 * Checks a screen capture for exactly one client window on a plain
 * background: every pixel outside one WIDTHxHEIGHT rectangle is exactly the
 * background colour RRGGBB, and the rectangle is not (most of its pixels
 * differ from the background, and it holds many colours, as a test pattern
 * does). With B.png, the window must be at the same place in B and its
 * contents must differ (the client animates). Prints what it finds.
 * Exit status: 0 found, 1 not found, 2 bad arguments or unreadable file.
 */
#include <inttypes.h>
#include <png.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Distinct colours a pattern window has at least (a flat or two-tone rectangle does not pass). */
#define MIN_COLOURS 64

struct image {
	uint32_t w, h;
	uint8_t *rgb; /* w * h * 3 */
};

struct box {
	uint32_t x0, y0, x1, y1; /* x1, y1 exclusive; x1 == 0: nothing but background */
};

static bool load(const char *path, struct image *img)
{
	png_image pi;
	memset(&pi, 0, sizeof(pi));
	pi.version = PNG_IMAGE_VERSION;
	if (!png_image_begin_read_from_file(&pi, path)) {
		fprintf(stderr, "%s: %s\n", path, pi.message);
		return false;
	}
	pi.format = PNG_FORMAT_RGB;
	img->w = pi.width;
	img->h = pi.height;
	img->rgb = malloc(PNG_IMAGE_SIZE(pi));
	if (!img->rgb || !png_image_finish_read(&pi, NULL, img->rgb, 0, NULL)) {
		fprintf(stderr, "%s: %s\n", path, img->rgb ? pi.message : "out of memory");
		png_image_free(&pi);
		free(img->rgb);
		return false;
	}
	return true;
}

static const uint8_t *px(const struct image *img, uint32_t x, uint32_t y)
{
	return img->rgb + ((size_t)y * img->w + x) * 3;
}

static uint32_t rgb_of(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* The smallest rectangle holding every pixel that is not the background. */
static struct box bounds(const struct image *img, uint32_t bg)
{
	struct box b = { img->w, img->h, 0, 0 };
	for (uint32_t y = 0; y < img->h; y++)
		for (uint32_t x = 0; x < img->w; x++) {
			if (rgb_of(px(img, x, y)) == bg)
				continue;
			if (x < b.x0)
				b.x0 = x;
			if (y < b.y0)
				b.y0 = y;
			if (x + 1 > b.x1)
				b.x1 = x + 1;
			if (y + 1 > b.y1)
				b.y1 = y + 1;
		}
	if (b.x1 == 0)
		b.x0 = b.y0 = 0;
	return b;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static bool parse_u32(const char *s, int base, uint32_t *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, base);
	if (!*s || *end || v > UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

int main(int argc, char **argv)
{
	uint32_t bg, want_w, want_h;
	if ((argc != 5 && argc != 6) || strlen(argv[1]) != 6 || !parse_u32(argv[1], 16, &bg) ||
	    !parse_u32(argv[2], 10, &want_w) || !parse_u32(argv[3], 10, &want_h) || !want_w || !want_h) {
		fprintf(stderr, "usage: %s RRGGBB WIDTH HEIGHT A.png [B.png]\n", argv[0]);
		return 2;
	}
	struct image a;
	if (!load(argv[4], &a))
		return 2;
	struct box b = bounds(&a, bg);
	if (b.x1 == 0) {
		printf("%s: nothing but the background\n", argv[4]);
		return 1;
	}
	uint32_t w = b.x1 - b.x0, h = b.y1 - b.y0;
	printf("%s: window at %" PRIu32 ",%" PRIu32 ", %" PRIu32 "x%" PRIu32 "\n", argv[4], b.x0, b.y0, w, h);
	if (w != want_w || h != want_h) {
		printf("the pixels unlike the background span %" PRIu32 "x%" PRIu32 ", not %" PRIu32 "x%" PRIu32 "\n",
		       w, h, want_w, want_h);
		return 1;
	}

	uint32_t *cols = malloc((size_t)w * h * sizeof(*cols));
	if (!cols)
		return 2;
	size_t n = 0, unlike = 0;
	for (uint32_t y = b.y0; y < b.y1; y++)
		for (uint32_t x = b.x0; x < b.x1; x++) {
			cols[n] = rgb_of(px(&a, x, y));
			unlike += cols[n] != bg;
			n++;
		}
	qsort(cols, n, sizeof(*cols), cmp_u32);
	size_t distinct = n > 0;
	for (size_t i = 1; i < n; i++)
		distinct += cols[i] != cols[i - 1];
	free(cols);
	printf("  %zu colours, %zu of %zu pixels unlike the background\n", distinct, unlike, n);
	if (distinct < MIN_COLOURS || unlike < n / 2) {
		printf("the window does not hold a test pattern\n");
		return 1;
	}

	int status = 0;
	if (argc == 6) {
		struct image c;
		if (!load(argv[5], &c))
			return 2;
		struct box b2 = bounds(&c, bg);
		if (c.w != a.w || c.h != a.h || memcmp(&b, &b2, sizeof(b)) != 0) {
			printf("%s: the window moved or changed size\n", argv[5]);
			status = 1;
		} else {
			uint32_t changed = 0;
			for (uint32_t y = b.y0; y < b.y1; y++)
				changed += memcmp(px(&a, b.x0, y), px(&c, b.x0, y), (size_t)w * 3) != 0;
			printf("  %s: %" PRIu32 " of %" PRIu32 " window rows changed\n", argv[5], changed, h);
			if (changed == 0) {
				printf("the window did not change: the client's frames do not reach the screen\n");
				status = 1;
			}
		}
		free(c.rgb);
	}
	free(a.rgb);
	return status;
}
