/*
 * Helpers for the display tests: real clients run under redox-drm-run
 * against the test's own daemon, captures of what a CRTC shows, and native
 * connections (redox-drm/client.h) for queries and bad input.
 */
#ifndef REDOX_DRM_TEST_DISPLAY_UTIL_H
#define REDOX_DRM_TEST_DISPLAY_UTIL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <drm.h>
#include <drm_mode.h>

#include "redox-drm/wire.h"

/* ---- native connections ---- */

struct disp_conn {
	int file, chan;
	struct rdrm_wire_hello hello;
};

/* node: "card0", "renderD128", ... in the runtime directory dir. Returns 0 or -errno. */
int disp_open(const char *dir, const char *node, struct disp_conn *c);
void disp_close(struct disp_conn *c);
/* One ioctl; 0 or -errno. */
int disp_ioctl(struct disp_conn *c, unsigned long cmd, void *arg);

/* The output the tests drive: the first connected connector and the first CRTC it can use. */
struct disp_output {
	uint32_t conn_id, crtc_id, crtc_index;
	uint32_t crtc_ids[8], ncrtcs;
	struct drm_mode_modeinfo mode; /* its 1920x1080 mode */
};
int disp_find_output(struct disp_conn *c, struct disp_output *out);

/* ---- processes ---- */

struct disp_proc {
	pid_t pid;
	int in_fd; /* the write end of its stdin: clients like modetest run until it is closed */
	char out_path[PATH_MAX];
};

/*
 * Runs `$REDOX_DRM_RUN -- argv...` with stdout and stderr to a temporary
 * file; env: NULL or NULL-terminated "NAME=VALUE" strings added for it.
 */
int disp_spawn(struct disp_proc *p, const char *const *argv, const char *const *env);
/* Closes its stdin and waits up to timeout_ms: the exit status, 128 + signal, or -1 (killed after the timeout). */
int disp_finish(struct disp_proc *p, int timeout_ms);
/* Waits up to timeout_ms for it to exit by itself, stdin still open: the exit status, or -1 if it still runs. */
int disp_wait(struct disp_proc *p, int timeout_ms);
/* Its output so far (malloc'd, NUL-terminated). */
char *disp_output(const struct disp_proc *p);
void disp_cleanup(struct disp_proc *p);
/* Stops every client still running (after a failed test) and removes its output. */
void disp_reap_all(void);
/* Spawn, finish at once; *out gets the output (malloc'd). */
int disp_run(const char *const *argv, const char *const *env, int timeout_ms, char **out);

/* Is prog on PATH? */
bool disp_have(const char *prog);
/*
 * Can an uninstrumented program load the interposer? Not when the build is
 * sanitized (the interposer then needs the sanitizer runtime). false with the
 * reason in why; a failure for any other reason is reported as usable, so
 * the tests fail on it.
 */
bool disp_interposer_usable(char *why, size_t len);

/* ---- what the monitor shows ---- */

struct disp_image {
	uint32_t width, height;
	uint8_t *rgb; /* width * height * 3 */
};

/* Waits until the CRTC shows something (polled on the render node: it never becomes master). 0 or -errno. */
int disp_wait_active(const char *dir, int card, uint32_t crtc_id, int timeout_ms);
/* Waits until the CRTC is off (capture answers ENODEV). 0 or -errno. */
int disp_wait_inactive(const char *dir, int card, uint32_t crtc_id, int timeout_ms);
/* Runs redox-drm-capture on the CRTC and decodes its PNG. 0 or -errno. */
int disp_capture(int card, uint32_t crtc_id, struct disp_image *img);
/* 0xRRGGBB at (x, y). */
uint32_t disp_pixel(const struct disp_image *img, uint32_t x, uint32_t y);
void disp_image_free(struct disp_image *img);

/*
 * NULL while process pid runs; else how it ended ("killed by signal 11",
 * "exited with status 1"), leaving it to be waited for.
 */
const char *disp_proc_gone(pid_t pid);

/* Milliseconds sleeps. */
void disp_sleep_ms(long ms);

#endif
