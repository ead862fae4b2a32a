/*
 * redox-drm-capture: writes what a CRTC's monitor shows — the scanout as the
 * display engine composes it — to a PNG file.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "redox-drm/client.h"

static void usage(FILE *out)
{
	fprintf(out, "Usage: redox-drm-capture [--card N] [--crtc ID] -o FILE.png\n"
		     "  Captures CRTC ID of cardN (default: card0, its first active CRTC) from the daemon\n"
		     "  serving $REDOX_DRM_RUNTIME_DIR (else $XDG_RUNTIME_DIR/redox-drm, else /run/redox-drm).\n");
}

static int write_png(const char *path, const uint32_t *px, uint32_t w, uint32_t h)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -errno;
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	uint8_t *row = malloc((size_t)w * 3);
	if (!png || !info || !row || setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		free(row);
		fclose(f);
		return -EIO;
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, w, h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (uint32_t y = 0; y < h; y++) {
		for (uint32_t x = 0; x < w; x++) {
			uint32_t p = px[(size_t)y * w + x];
			row[3 * x] = (uint8_t)(p >> 16);
			row[3 * x + 1] = (uint8_t)(p >> 8);
			row[3 * x + 2] = (uint8_t)p;
		}
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	free(row);
	return fclose(f) ? -errno : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"card", required_argument, NULL, 'c'},
		{"crtc", required_argument, NULL, 'C'},
		{"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int card = 0;
	unsigned long crtc = 0;
	const char *out = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "c:C:o:h", opts, NULL)) != -1) {
		char *end;
		switch (c) {
		case 'c':
			card = (int)strtol(optarg, &end, 10);
			if (*end || card < 0 || card > 63) {
				usage(stderr);
				return 2;
			}
			break;
		case 'C':
			crtc = strtoul(optarg, &end, 10);
			if (*end || crtc > UINT32_MAX) {
				usage(stderr);
				return 2;
			}
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!out || optind != argc) {
		usage(stderr);
		return 2;
	}
	char dir[PATH_MAX], node[PATH_MAX + 32];
	const char *env = getenv("REDOX_DRM_RUNTIME_DIR"), *xdg = getenv("XDG_RUNTIME_DIR");
	if (env && *env)
		snprintf(dir, sizeof(dir), "%s", env);
	else if (xdg && *xdg)
		snprintf(dir, sizeof(dir), "%s/redox-drm", xdg);
	else
		snprintf(dir, sizeof(dir), "/run/redox-drm");
	/* The render node: looking must not make this tool the master of the primary one. */
	snprintf(node, sizeof(node), "%s/renderD%d", dir, 128 + card);
	int file = rdrm_connect(node, O_CLOEXEC);
	if (file < 0) {
		fprintf(stderr, "redox-drm-capture: %s: %s\n", node, strerror(-file));
		return 1;
	}
	struct rdrm_wire_hello hello;
	int chan = rdrm_channel_open(file, &hello);
	uint32_t *px = NULL, w, h, id;
	int r = chan < 0 ? chan : rdrm_capture(chan, (uint32_t)crtc, &px, &w, &h, &id);
	if (r < 0) {
		fprintf(stderr, "redox-drm-capture: card%d: %s\n", card,
			r == -ENODEV ? "no active CRTC (nothing on screen)" : strerror(-r));
		return 1;
	}
	r = write_png(out, px, w, h);
	free(px);
	if (r < 0) {
		fprintf(stderr, "redox-drm-capture: %s: %s\n", out, strerror(-r));
		return 1;
	}
	printf("%s: card%d crtc %u, %ux%u\n", out, card, id, w, h);
	return 0;
}
