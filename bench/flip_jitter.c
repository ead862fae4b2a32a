/*
 * flip-jitter: a 1920x1080@60 mode on a dumb buffer, then page flips with
 * events back to back. Reported: how far the time between consecutive
 * flip-event timestamps strays from the mode's frame time. The baseline, in
 * the same run: a clock_nanosleep(TIMER_ABSTIME) loop at the same period,
 * measured the same way.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <drm.h>
#include <drm_fourcc.h>
#include <drm_mode.h>

#include "bench.h"

#define FRAMES 300
#define WARMUP 10

struct output {
	uint32_t conn_id, crtc_id;
	struct drm_mode_modeinfo mode;
};

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	int r;
	do
		r = ioctl(fd, cmd, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

/* The first connected connector with a 1920x1080 mode near 60 Hz, and a CRTC for it. */
static int find_output(int fd, struct output *out)
{
	uint32_t crtcs[8], conns[16], encs[16];
	struct drm_mode_card_res res = {0};
	if (xioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, &res) || res.count_crtcs > 8 || res.count_connectors > 16 ||
	    res.count_encoders > 16)
		return -ENODEV;
	res.crtc_id_ptr = (uintptr_t)crtcs;
	res.connector_id_ptr = (uintptr_t)conns;
	res.encoder_id_ptr = (uintptr_t)encs;
	res.count_fbs = 0;
	if (xioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, &res))
		return -ENODEV;
	for (uint32_t i = 0; i < res.count_connectors; i++) {
		struct drm_mode_modeinfo modes[32];
		uint32_t conn_encs[8];
		struct drm_mode_get_connector gc = {.connector_id = conns[i]};
		if (xioctl(fd, DRM_IOCTL_MODE_GETCONNECTOR, &gc) || gc.connection != 1 || gc.count_modes > 32 ||
		    gc.count_encoders > 8 || !gc.count_encoders)
			continue;
		gc.modes_ptr = (uintptr_t)modes;
		gc.encoders_ptr = (uintptr_t)conn_encs;
		gc.count_props = 0;
		if (xioctl(fd, DRM_IOCTL_MODE_GETCONNECTOR, &gc))
			continue;
		struct drm_mode_get_encoder ge = {.encoder_id = conn_encs[0]};
		if (xioctl(fd, DRM_IOCTL_MODE_GETENCODER, &ge))
			continue;
		for (uint32_t m = 0; m < gc.count_modes; m++) {
			if (modes[m].hdisplay != 1920 || modes[m].vdisplay != 1080 || modes[m].vrefresh < 59 ||
			    modes[m].vrefresh > 61)
				continue;
			for (uint32_t k = 0; k < res.count_crtcs; k++) {
				if (ge.possible_crtcs & (1u << k)) {
					out->conn_id = conns[i];
					out->crtc_id = crtcs[k];
					out->mode = modes[m];
					return 0;
				}
			}
		}
	}
	return -ENODEV;
}

static int make_fb(int fd, const struct drm_mode_modeinfo *m, uint32_t *handle, uint32_t *fb_id)
{
	struct drm_mode_create_dumb d = {.width = m->hdisplay, .height = m->vdisplay, .bpp = 32};
	int r = xioctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &d);
	if (r)
		return r;
	struct drm_mode_fb_cmd2 f = {.width = m->hdisplay, .height = m->vdisplay, .pixel_format = DRM_FORMAT_XRGB8888};
	f.handles[0] = d.handle;
	f.pitches[0] = d.pitch;
	r = xioctl(fd, DRM_IOCTL_MODE_ADDFB2, &f);
	*handle = d.handle;
	*fb_id = f.fb_id;
	return r;
}

/* Waits for the next flip event: its timestamp, and when it reached us (both ns, CLOCK_MONOTONIC). */
static int wait_flip(int fd, uint64_t *stamp, uint64_t *received)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, 1000);
		if (r == 0)
			return -ETIMEDOUT;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		char buf[1024];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0)
			return -errno;
		*received = bench_now_ns();
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct drm_event) <= n;) {
			struct drm_event *e = (struct drm_event *)(buf + off);
			if (e->length < sizeof(*e))
				return -EPROTO;
			if (e->type == DRM_EVENT_FLIP_COMPLETE) {
				struct drm_event_vblank *vb = (struct drm_event_vblank *)e;
				*stamp = (uint64_t)vb->tv_sec * 1000000000ull + (uint64_t)vb->tv_usec * 1000ull;
				return 0;
			}
			off += e->length;
		}
	}
}

struct stats {
	double mean, p99, max; /* ms */
};

/* |interval - period| over consecutive timestamps. */
static struct stats deviation(const uint64_t *t, size_t n, double period_ns)
{
	double *d = malloc((n - 1) * sizeof(*d));
	struct stats s = {0};
	if (!d)
		return s;
	double sum = 0;
	for (size_t i = 1; i < n; i++) {
		double dev = (double)(t[i] - t[i - 1]) - period_ns;
		d[i - 1] = (dev < 0 ? -dev : dev) / 1e6;
		sum += d[i - 1];
	}
	bench_median(d, n - 1); /* sorts */
	size_t k = (size_t)((double)(n - 1) * 0.99);
	if (k >= n - 1)
		k = n - 2;
	s.mean = sum / (double)(n - 1);
	s.p99 = d[k];
	s.max = d[n - 2];
	free(d);
	return s;
}

static void sleep_loop(uint64_t *t, size_t n, uint64_t period_ns)
{
	struct timespec next;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (size_t i = 0; i < n; i++) {
		next.tv_nsec += (long)period_ns;
		while (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		t[i] = bench_now_ns();
	}
}

static void print_stats(const char *what, struct stats s)
{
	printf("%-26s mean %.4f ms   p99 %.4f ms   max %.4f ms\n", what, s.mean, s.p99, s.max);
}

int bench_flip_jitter(int argc, char **argv)
{
	char node[64];
	const char *arg = argc > 1 ? argv[1] : "0";
	if (strchr(arg, '/'))
		snprintf(node, sizeof(node), "%s", arg);
	else
		snprintf(node, sizeof(node), "/dev/dri/card%s", arg);
	int fd = bench_open_node(node);
	if (fd < 0)
		return 1;
	struct output o;
	if (find_output(fd, &o)) {
		fprintf(stderr, "redox-drm-bench: %s: no connected output with a 1920x1080 ~60 Hz mode\n", node);
		close(fd);
		return 1;
	}
	uint32_t handles[2] = {0}, fbs[2] = {0};
	int r = make_fb(fd, &o.mode, &handles[0], &fbs[0]);
	if (!r)
		r = make_fb(fd, &o.mode, &handles[1], &fbs[1]);
	uint32_t conn = o.conn_id;
	struct drm_mode_crtc set = {.crtc_id = o.crtc_id, .fb_id = fbs[0], .set_connectors_ptr = (uintptr_t)&conn,
				    .count_connectors = 1, .mode = o.mode, .mode_valid = 1};
	if (!r)
		r = xioctl(fd, DRM_IOCTL_MODE_SETCRTC, &set);
	if (r) {
		fprintf(stderr, "redox-drm-bench: %s: mode set failed: %s\n", node, strerror(-r));
		close(fd);
		return 1;
	}
	double period_ns = (double)o.mode.htotal * o.mode.vtotal * 1e6 / o.mode.clock;
	printf("flip-jitter on %s: %ux%u, %u kHz, %ux%u total: frame %.4f ms; %d flips\n", node, o.mode.hdisplay,
	       o.mode.vdisplay, o.mode.clock, o.mode.htotal, o.mode.vtotal, period_ns / 1e6, FRAMES);

	uint64_t *stamp = calloc(FRAMES, sizeof(uint64_t)), *recv_t = calloc(FRAMES, sizeof(uint64_t)),
		 *slept = calloc(FRAMES, sizeof(uint64_t));
	if (!stamp || !recv_t || !slept) {
		close(fd);
		return 1;
	}
	/* The first flips after the mode set settle the pipeline; they are not counted. */
	for (int i = 0; i < WARMUP + FRAMES && !r; i++) {
		struct drm_mode_crtc_page_flip f = {.crtc_id = o.crtc_id, .fb_id = fbs[(i + 1) & 1],
						    .flags = DRM_MODE_PAGE_FLIP_EVENT, .user_data = (uint64_t)i};
		r = xioctl(fd, DRM_IOCTL_MODE_PAGE_FLIP, &f);
		uint64_t s = 0, rv = 0;
		if (!r)
			r = wait_flip(fd, &s, &rv);
		if (!r && i >= WARMUP) {
			stamp[i - WARMUP] = s;
			recv_t[i - WARMUP] = rv;
		}
	}
	if (r) {
		fprintf(stderr, "redox-drm-bench: %s: page flip failed: %s\n", node, strerror(-r));
		close(fd);
		return 1;
	}
	sleep_loop(slept, FRAMES, (uint64_t)(period_ns + 0.5));

	struct stats flips = deviation(stamp, FRAMES, period_ns), wakeups = deviation(recv_t, FRAMES, period_ns),
		     sleeps = deviation(slept, FRAMES, period_ns);
	print_stats("flip event timestamps:", flips);
	print_stats("flip event arrival:", wakeups);
	print_stats("clock_nanosleep loop:", sleeps);

	for (int i = 0; i < 2; i++) {
		unsigned int id = fbs[i];
		xioctl(fd, DRM_IOCTL_MODE_RMFB, &id);
		struct drm_mode_destroy_dumb d = {.handle = handles[i]};
		xioctl(fd, DRM_IOCTL_MODE_DESTROY_DUMB, &d);
	}
	close(fd);
	free(stamp);
	free(recv_t);
	free(slept);
	/* p99 deviation of the flip timestamps over that of the sleep loop (lower is steadier). */
	printf("ratio=%.4g\n", sleeps.p99 > 0 ? flips.p99 / sleeps.p99 : 0.0);
	printf("value=%.4f\n", flips.p99);
	return 0;
}
