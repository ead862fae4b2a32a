/*
 * Unmodified Debian DRM clients (modetest, proptest, vbltest, kmscube) run
 * through redox-drm-run against this test's own daemon, on the card given
 * as argv[1]. What they print is checked, and what the CRTC's monitor shows
 * is captured and checked pixel by pixel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon_proc.h"
#include "display_util.h"

static struct daemon_proc drmd;
static int card;
static char driver[32];
static struct disp_output out;
static double refresh_hz;
static int fds_idle; /* the daemon's descriptors with no client connected */

/* ---- reading what the tools print ---- */

/*
 * modetest and proptest print an object as a line starting with its id (or
 * "Connector <id>" / "CRTC <id>" for proptest) at column 0, followed by
 * indented lines. Returns a malloc'd copy of the object's block or NULL.
 */
static char *object_block(const char *text, const char *section, const char *head)
{
	const char *s = section ? strstr(text, section) : text;
	if (!s)
		return NULL;
	size_t hl = strlen(head);
	for (const char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		if (strncmp(l, head, hl) != 0)
			continue;
		/* Indented lines, and blank lines inside the block (blob properties print one). */
		const char *e = strchr(l, '\n');
		while (e && e[1] && (e[1] == '\t' || e[1] == ' ' || (e[1] == '\n' && (e[2] == '\t' || e[2] == ' '))))
			e = strchr(e + 1, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		char *b = malloc(n + 1);
		memcpy(b, l, n);
		b[n] = '\0';
		return b;
	}
	return NULL;
}

/* The "value:" of property name in an object's block (modetest/proptest layout); -1 if absent. */
static long long prop_value(const char *block, const char *name, unsigned *prop_id)
{
	char pat[64];
	snprintf(pat, sizeof(pat), " %s:\n", name);
	const char *p = strstr(block, pat);
	if (!p)
		return -1;
	const char *l = p;
	while (l > block && l[-1] != '\n')
		l--;
	if (prop_id && sscanf(l, " %u", prop_id) != 1)
		return -1;
	const char *v = strstr(p, "value:");
	long long val;
	if (!v || sscanf(v, "value: %lld", &val) != 1)
		return -1;
	return val;
}

/* Every "freq: N Hz" the tool printed, in order. */
static unsigned parse_freqs(const char *text, double *v, unsigned max)
{
	unsigned n = 0;
	for (const char *p = text; (p = strstr(p, "freq: ")) != NULL && n < max; p += 6)
		if (sscanf(p, "freq: %lfHz", &v[n]) == 1)
			n++;
	return n;
}

/*
 * The rates a client measured: true if every one after the first is within
 * 2% of the mode's (the first starts before the first event: no whole
 * period). Too few lines fail the test at once.
 */
static bool rates_ok(const char *tool, const char *text)
{
	double f[64];
	unsigned n = parse_freqs(text, f, 64);
	if (n < 3)
		fail_msg("%s printed %u freq lines (want >= 3):\n%s", tool, n, text);
	for (unsigned i = 1; i < n; i++) {
		if (fabs(f[i] - refresh_hz) > refresh_hz * 0.02) {
			print_message("%s: freq %.2f Hz is not within 2%% of the mode's %.3f Hz\n", tool, f[i],
				      refresh_hz);
			return false;
		}
	}
	print_message("%s: %u rates within 2%% of %.3f Hz (first %.2f, last %.2f)\n", tool, n - 1, refresh_hz, f[1],
		      f[n - 1]);
	return true;
}

/*
 * A client only keeps up with the display when it is scheduled every frame;
 * on a machine busy with other work it misses some and measures less. So a
 * measurement is repeated: a wrong display rate fails every attempt, a
 * passing burst of load only some.
 */
#define RATE_ATTEMPTS 3

static void setting_arg(char *buf, size_t len)
{
	snprintf(buf, len, "%u@%u:%ux%u", out.conn_id, out.crtc_id, out.mode.hdisplay, out.mode.vdisplay);
}

#define REQUIRE_TOOL(t)                                          \
	do {                                                     \
		if (!disp_have(t)) {                             \
			print_message("%s is not installed\n", t); \
			skip();                                  \
		}                                                \
	} while (0)

/* ---- the tests ---- */

static void modetest_lists_objects(void **state)
{
	REQUIRE_TOOL("modetest");
	char *text;
	const char *argv[] = {"modetest", "-M", driver, "-c", "-e", "-p", NULL};
	int rc = disp_run(argv, NULL, 30000, &text);
	if (rc != 0)
		fail_msg("modetest -c -e -p exited %d:\n%s", rc, text);
	for (const char *s = "Encoders:\0Connectors:\0CRTCs:\0Planes:\0"; *s; s += strlen(s) + 1)
		if (!strstr(text, s))
			fail_msg("no %s section:\n%s", s, text);

	char head[32];
	snprintf(head, sizeof(head), "%u\t", out.conn_id);
	char *conn = object_block(text, "Connectors:", head);
	assert_non_null(conn);
	assert_non_null(strstr(conn, "\tconnected\t"));
	/* The monitor's preferred mode is 1920x1080 at 60 Hz, and it is listed first. */
	char *m0 = strstr(conn, "#0 1920x1080 60.00 ");
	assert_non_null(m0);
	char *eol = strchr(m0, '\n');
	assert_non_null(eol);
	*eol = '\0';
	assert_non_null(strstr(m0, "preferred"));
	*eol = '\n';
	assert_non_null(strstr(conn, " EDID:\n"));
	assert_non_null(strstr(conn, "00ffffffffffff00")); /* the EDID blob's header */
	assert_int_equal(prop_value(conn, "DPMS", NULL), 3); /* nothing lit: Off */
	assert_null(strstr(conn, "CRTC_ID")); /* atomic properties stay hidden from non-atomic clients */
	free(conn);

	snprintf(head, sizeof(head), "%u\t", out.crtc_id);
	char *crtc = object_block(text, "CRTCs:", head);
	assert_non_null(crtc);
	free(crtc);

	/* Every plane lists formats and an IN_FORMATS blob with XR24 or AR24 (cursors) LINEAR. */
	const char *planes = strstr(text, "Planes:");
	unsigned nplanes = 0;
	for (const char *l = strchr(planes, '\n'); l && l[1]; l = strchr(l + 1, '\n')) {
		unsigned id;
		if (l[1] < '1' || l[1] > '9' || sscanf(l + 1, "%u\t", &id) != 1)
			continue;
		snprintf(head, sizeof(head), "%u\t", id);
		char *pl = object_block(planes, NULL, head);
		assert_non_null(pl);
		assert_non_null(strstr(pl, "formats:"));
		assert_non_null(strstr(pl, " IN_FORMATS:\n"));
		assert_true(strstr(pl, "XR24:  LINEAR") || strstr(pl, "AR24:  LINEAR"));
		assert_null(strstr(pl, "FB_ID"));
		free(pl);
		nplanes++;
	}
	/* At least a primary and a cursor per CRTC. */
	assert_true(nplanes >= 2 * out.ncrtcs);
	free(text);

	/* An atomic client sees the atomic properties. */
	const char *aargv[] = {"modetest", "-M", driver, "-a", "-c", "-p", NULL};
	rc = disp_run(aargv, NULL, 30000, &text);
	if (rc != 0)
		fail_msg("modetest -a -c -p exited %d:\n%s", rc, text);
	snprintf(head, sizeof(head), "%u\t", out.conn_id);
	conn = object_block(text, "Connectors:", head);
	assert_non_null(conn);
	assert_non_null(strstr(conn, " CRTC_ID:\n"));
	free(conn);
	snprintf(head, sizeof(head), "%u\t", out.crtc_id);
	crtc = object_block(text, "CRTCs:", head);
	assert_non_null(crtc);
	assert_non_null(strstr(crtc, " ACTIVE:\n"));
	assert_non_null(strstr(crtc, " MODE_ID:\n"));
	free(crtc);
	planes = strstr(text, "Planes:");
	assert_non_null(planes);
	for (const char *p = "FB_ID\0CRTC_ID\0SRC_X\0SRC_W\0CRTC_X\0CRTC_W\0IN_FORMATS\0type\0"; *p; p += strlen(p) + 1) {
		char pat[32];
		snprintf(pat, sizeof(pat), " %s:\n", p);
		if (!strstr(planes, pat))
			fail_msg("no plane property %s with the atomic cap:\n%s", p, planes);
	}
	free(text);
}

static char *proptest_list(void)
{
	char *text;
	const char *argv[] = {"proptest", "-M", driver, NULL};
	int rc = disp_run(argv, NULL, 30000, &text);
	if (rc != 0)
		fail_msg("proptest exited %d:\n%s", rc, text);
	return text;
}

static long long connector_prop(const char *text, const char *name, unsigned *id)
{
	char head[48];
	snprintf(head, sizeof(head), "Connector %u (", out.conn_id);
	char *b = object_block(text, NULL, head);
	if (!b)
		fail_msg("proptest does not list connector %u:\n%s", out.conn_id, text);
	long long v = prop_value(b, name, id);
	free(b);
	return v;
}

static void proptest_sets_dpms(void **state)
{
	REQUIRE_TOOL("proptest");
	char *text = proptest_list();
	char head[32];
	snprintf(head, sizeof(head), "CRTC %u", out.crtc_id);
	assert_non_null(strstr(text, head));
	unsigned dpms = 0, edid = 0;
	assert_int_equal(connector_prop(text, "DPMS", &dpms), 3);
	connector_prop(text, "EDID", &edid);
	assert_true(dpms && edid);
	free(text);

	char obj[16], prop[16];
	snprintf(obj, sizeof(obj), "%u", out.conn_id);
	snprintf(prop, sizeof(prop), "%u", dpms);
	const long long values[] = {0, 3};
	for (int i = 0; i < 2; i++) {
		char val[8];
		snprintf(val, sizeof(val), "%lld", values[i]);
		const char *argv[] = {"proptest", "-M", driver, obj, "connector", prop, val, NULL};
		int rc = disp_run(argv, NULL, 30000, &text);
		if (rc != 0)
			fail_msg("proptest %s connector %s %s exited %d:\n%s", obj, prop, val, rc, text);
		free(text);
		text = proptest_list();
		assert_int_equal(connector_prop(text, "DPMS", NULL), values[i]);
		free(text);
	}

	/* EDID is immutable: setting it fails, as the kernel's EINVAL makes proptest fail. */
	snprintf(prop, sizeof(prop), "%u", edid);
	const char *argv[] = {"proptest", "-M", driver, obj, "connector", prop, "1", NULL};
	int rc = disp_run(argv, NULL, 30000, &text);
	assert_int_not_equal(rc, 0);
	free(text);
}

/*
 * modetest's SMPTE-like pattern, as read off a capture of it at 1920x1080:
 * seven bars over the top 2/3, a band of seven patches down to 7/9, and the
 * bottom row of four wide patches and three narrow grey steps.
 */
struct sample {
	uint32_t x, y, rgb;
};
static const struct sample smpte[] = {
	/* top bars: grey, yellow, cyan, green, magenta, red, blue */
	{137, 360, 0xc0c0c0}, {411, 360, 0xc0c000}, {685, 360, 0x00c0c0}, {960, 360, 0x00c000},
	{1234, 360, 0xc000c0}, {1508, 360, 0xc00000}, {1782, 360, 0x0000c0},
	/* middle band */
	{137, 780, 0x0000c0}, {411, 780, 0x131313}, {685, 780, 0xc000c0}, {960, 780, 0x131313},
	{1234, 780, 0x00c0c0}, {1508, 780, 0x131313}, {1782, 780, 0xc0c0c0},
	/* bottom: -I, white, +Q, black, then the three steps and black */
	{171, 960, 0x00214c}, {514, 960, 0xffffff}, {857, 960, 0x32006a}, {1200, 960, 0x131313},
	{1417, 960, 0x090909}, {1508, 960, 0x131313}, {1599, 960, 0x1d1d1d}, {1782, 960, 0x131313},
	/* corners: the pattern covers the whole CRTC */
	{0, 0, 0xc0c0c0}, {1919, 0, 0x0000c0}, {0, 1079, 0x00214c}, {1919, 1079, 0x131313},
	/* bar edges: the first bar ends at 274, the second starts at 275 */
	{274, 100, 0xc0c0c0}, {275, 100, 0xc0c000}, {0, 719, 0xc0c0c0}, {0, 720, 0x0000c0},
};

static void modetest_pattern_on_screen(void **state)
{
	REQUIRE_TOOL("modetest");
	assert_int_equal(out.mode.hdisplay, 1920);
	assert_int_equal(out.mode.vdisplay, 1080);
	char set[64];
	setting_arg(set, sizeof(set));
	const char *argv[] = {"modetest", "-M", driver, "-s", set, NULL};
	struct disp_proc p;
	assert_int_equal(disp_spawn(&p, argv, NULL), 0);
	int r = disp_wait_active(drmd.dir, card, out.crtc_id, 20000);
	if (r) {
		disp_finish(&p, 5000);
		char *t = disp_output(&p);
		fail_msg("CRTC %u never came on (%s); modetest said:\n%s", out.crtc_id, strerror(-r), t);
	}
	struct disp_image img;
	r = disp_capture(card, out.crtc_id, &img);
	int rc = disp_finish(&p, 10000);
	char *text = disp_output(&p);
	disp_cleanup(&p);
	assert_int_equal(r, 0);
	if (rc != 0)
		fail_msg("modetest -s exited %d:\n%s", rc, text);
	assert_non_null(strstr(text, "setting mode 1920x1080-60"));
	free(text);
	assert_int_equal(img.width, 1920);
	assert_int_equal(img.height, 1080);
	unsigned bad = 0;
	for (size_t i = 0; i < sizeof(smpte) / sizeof(smpte[0]); i++) {
		uint32_t got = disp_pixel(&img, smpte[i].x, smpte[i].y);
		if (got != smpte[i].rgb) {
			print_error("(%u,%u): 0x%06x, want 0x%06x\n", smpte[i].x, smpte[i].y, got, smpte[i].rgb);
			bad++;
		}
	}
	disp_image_free(&img);
	assert_int_equal(bad, 0);
	/* Its framebuffer went with it, and the CRTC with the framebuffer (as RMFB of a shown fb). */
	assert_int_equal(disp_wait_inactive(drmd.dir, card, out.crtc_id, 5000), 0);
}

static void modetest_flips_at_refresh_rate(void **state)
{
	REQUIRE_TOOL("modetest");
	char set[64];
	setting_arg(set, sizeof(set));
	const char *argv[] = {"modetest", "-M", driver, "-v", "-s", set, NULL};
	bool ok = false;
	for (int attempt = 0; attempt < RATE_ATTEMPTS && !ok; attempt++) {
		struct disp_proc p;
		assert_int_equal(disp_spawn(&p, argv, NULL), 0);
		int r = disp_wait_active(drmd.dir, card, out.crtc_id, 20000);
		if (!r)
			disp_sleep_ms(5500);
		int rc = disp_finish(&p, 10000);
		char *text = disp_output(&p);
		disp_cleanup(&p);
		if (r || rc != 0)
			fail_msg("modetest -v: CRTC %s, exit %d:\n%s", r ? strerror(-r) : "on", rc, text);
		ok = rates_ok("modetest -v", text);
		free(text);
		/* The CRTC goes off with modetest's framebuffers before the next attempt lights it. */
		assert_int_equal(disp_wait_inactive(drmd.dir, card, out.crtc_id, 5000), 0);
	}
	assert_true(ok);
}

static void vbltest_at_refresh_rate(void **state)
{
	REQUIRE_TOOL("modetest");
	REQUIRE_TOOL("vbltest");
	/* vbltest waits on the first CRTC (-s: the second); modetest keeps it lit meanwhile. */
	assert_true(out.crtc_index < 2);
	char set[64];
	setting_arg(set, sizeof(set));
	const char *margv[] = {"modetest", "-M", driver, "-s", set, NULL};
	struct disp_proc mt;
	assert_int_equal(disp_spawn(&mt, margv, NULL), 0);
	int r = disp_wait_active(drmd.dir, card, out.crtc_id, 20000);
	if (r) {
		disp_finish(&mt, 5000);
		fail_msg("CRTC never came on: %s\n%s", strerror(-r), disp_output(&mt));
	}
	const char *vargv[] = {"vbltest", "-M", driver, out.crtc_index ? "-s" : NULL, NULL};
	bool ok = false;
	for (int attempt = 0; attempt < RATE_ATTEMPTS && !ok; attempt++) {
		struct disp_proc vt;
		assert_int_equal(disp_spawn(&vt, vargv, NULL), 0);
		disp_sleep_ms(5500);
		int vrc = disp_finish(&vt, 10000);
		char *text = disp_output(&vt);
		disp_cleanup(&vt);
		if (vrc != 0)
			fail_msg("vbltest exited %d:\n%s", vrc, text);
		ok = rates_ok("vbltest", text);
		free(text);
	}
	int mrc = disp_finish(&mt, 10000);
	char *mtext = disp_output(&mt);
	disp_cleanup(&mt);
	if (mrc != 0)
		fail_msg("modetest exited %d:\n%s", mrc, mtext);
	free(mtext);
	assert_true(ok);
}

/* Distinct colours in a square around the centre. */
static unsigned centre_colours(const struct disp_image *img, uint32_t half)
{
	static uint32_t seen[40000];
	unsigned n = 0;
	for (uint32_t y = img->height / 2 - half; y < img->height / 2 + half; y++) {
		for (uint32_t x = img->width / 2 - half; x < img->width / 2 + half; x++) {
			uint32_t c = disp_pixel(img, x, y);
			unsigned k;
			for (k = 0; k < n && seen[k] != c; k++)
				;
			if (k == n && n < 40000)
				seen[n++] = c;
		}
	}
	return n;
}

static bool same_centre(const struct disp_image *a, const struct disp_image *b, uint32_t half)
{
	for (uint32_t y = a->height / 2 - half; y < a->height / 2 + half; y++)
		for (uint32_t x = a->width / 2 - half; x < a->width / 2 + half; x++)
			if (disp_pixel(a, x, y) != disp_pixel(b, x, y))
				return false;
	return true;
}

static void kmscube_renders_through_flips(void **state)
{
	REQUIRE_TOOL("kmscube");
	char dev[32];
	snprintf(dev, sizeof(dev), "/dev/dri/card%d", card);
	const char *argv[] = {"kmscube", "-D", dev, "-c", "120", NULL};
	/* Mesa's software rasteriser, with buffers allocated as dumb buffers on the card. */
	const char *env[] = {"MESA_LOADER_DRIVER_OVERRIDE=kms_swrast", NULL};
	struct disp_proc p;
	assert_int_equal(disp_spawn(&p, argv, env), 0);
	int r = disp_wait_active(drmd.dir, card, 0, 30000);
	struct disp_image a = {0}, b = {0};
	int ca = -1, cb = -1;
	if (!r) {
		/* kmscube lights the CRTC with a cleared frame; the cube comes with the flips after it. */
		disp_sleep_ms(1000);
		ca = disp_capture(card, 0, &a);
		disp_sleep_ms(300);
		cb = disp_capture(card, 0, &b);
	}
	/* kmscube stops early when its stdin becomes readable: let it finish its 120 frames first. */
	int rc = disp_wait(&p, 90000);
	if (rc < 0)
		rc = disp_finish(&p, 5000);
	char *text = disp_output(&p);
	disp_cleanup(&p);
	if (r || ca || cb || rc != 0)
		fail_msg("kmscube: CRTC %s, captures %d %d, exit %d:\n%s", r ? strerror(-r) : "on", ca, cb, rc, text);

	/* The cube fills the centre with shaded faces; the corners show the clear colour. */
	assert_int_equal(a.width, out.mode.hdisplay);
	unsigned colours = centre_colours(&a, 100);
	print_message("kmscube: %u distinct colours in the centre 200x200\n", colours);
	assert_true(colours >= 500);
	const uint32_t cx[] = {0, a.width - 1}, cy[] = {0, a.height - 1};
	for (int i = 0; i < 2; i++) {
		for (int j = 0; j < 2; j++) {
			for (uint32_t d = 0; d < 8; d++) {
				uint32_t x = i ? cx[i] - d : d, y = j ? cy[j] - d : d;
				uint32_t c = disp_pixel(&a, x, y);
				if (c != 0x808080)
					fail_msg("corner pixel (%u,%u) is 0x%06x, not the grey background", x, y, c);
			}
		}
	}
	/* The cube turns between frames: a later capture shows a different picture. */
	assert_false(same_centre(&a, &b, 100));
	disp_image_free(&a);
	disp_image_free(&b);

	/* "Rendered N frames in T sec (F fps)": all frames, paced by the display's flips. */
	const char *last = NULL;
	for (const char *s = text; (s = strstr(s, "Rendered ")) != NULL; s++)
		last = s;
	unsigned frames = 0;
	double secs = 0, fps = 0;
	if (!last || sscanf(last, "Rendered %u frames in %lf sec (%lf fps)", &frames, &secs, &fps) != 3)
		fail_msg("no frame count from kmscube:\n%s", text);
	print_message("kmscube: %u frames, %.1f fps\n", frames, fps);
	assert_true(frames >= 119);
	assert_true(fps <= refresh_hz * 1.02);
	free(text);
	assert_int_equal(disp_wait_inactive(drmd.dir, card, 0, 5000), 0);
}

/* ---- setup ---- */

static int start(void **state)
{
	int r = daemon_start(&drmd, NULL);
	if (r)
		fail_msg("daemon did not start: %s", strerror(-r));
	setenv("REDOX_DRM_RUNTIME_DIR", drmd.dir, 1);
	int fds0 = daemon_fd_count(&drmd);
	char node[24];
	snprintf(node, sizeof(node), "card%d", card);
	struct disp_conn c;
	assert_int_equal(disp_open(drmd.dir, node, &c), 0);
	snprintf(driver, sizeof(driver), "%s", c.hello.driver);
	r = disp_find_output(&c, &out);
	disp_close(&c);
	if (r)
		fail_msg("card%d (%s): no connected output with 1920x1080: %s", card, driver, strerror(-r));
	refresh_hz = out.mode.clock * 1000.0 / ((double)out.mode.htotal * out.mode.vtotal);
	print_message("card%d (%s): connector %u on CRTC %u, %ux%u %.3f Hz\n", card, driver, out.conn_id, out.crtc_id,
		      out.mode.hdisplay, out.mode.vdisplay, refresh_hz);
	/*
	 * Our connection was master: wait until the daemon has let go of it
	 * before a client opens. The idle count is what it settles at (a count
	 * taken right at start-up may still include start-up's own descriptors).
	 */
	int prev = -1, n = daemon_fd_count(&drmd);
	for (int i = 0; i < 200 && (n != prev || n > fds0); i++) {
		disp_sleep_ms(20);
		prev = n;
		n = daemon_fd_count(&drmd);
	}
	fds_idle = n;
	return 0;
}

/*
 * After each test: no client left running, and the daemon has seen every
 * connection close, so the next client to open the card becomes master.
 */
static int settle(void **state)
{
	disp_reap_all();
	const char *gone = disp_proc_gone(drmd.pid);
	if (gone)
		fail_msg("the daemon %s", gone);
	int n = daemon_fd_count(&drmd);
	for (int i = 0; i < 300 && n != fds_idle; i++) {
		disp_sleep_ms(10);
		n = daemon_fd_count(&drmd);
	}
	assert_int_equal(n, fds_idle);
	return 0;
}

static int stop(void **state)
{
	unsetenv("REDOX_DRM_RUNTIME_DIR");
	assert_int_equal(daemon_stop(&drmd), 0); /* clean exit on SIGTERM */
	return 0;
}

int main(int argc, char **argv)
{
	card = argc > 1 ? atoi(argv[1]) : 0;
	unsetenv("REDOX_DRM_RUNTIME_DIR"); /* never join a daemon from the caller's environment */
	char why[512];
	if (!disp_interposer_usable(why, sizeof(why))) {
		printf("SKIP: uninstrumented clients cannot load this build's interposer: %s\n", why);
		return 77;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(modetest_lists_objects, settle),
		cmocka_unit_test_teardown(proptest_sets_dpms, settle),
		cmocka_unit_test_teardown(modetest_pattern_on_screen, settle),
		cmocka_unit_test_teardown(modetest_flips_at_refresh_rate, settle),
		cmocka_unit_test_teardown(vbltest_at_refresh_rate, settle),
		cmocka_unit_test_teardown(kmscube_renders_through_flips, settle),
	};
	char name[32];
	snprintf(name, sizeof(name), "clients-card%d", card);
	return cmocka_run_group_tests_name(name, tests, start, stop);
}
