#include "display_util.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "redox-drm/client.h"

void disp_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

const char *disp_proc_gone(pid_t pid)
{
	static char how[64];
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid != pid)
		return NULL;
	if (si.si_code == CLD_EXITED)
		snprintf(how, sizeof(how), "exited with status %d", si.si_status);
	else
		snprintf(how, sizeof(how), "killed by signal %d (%s)", si.si_status, strsignal(si.si_status));
	return how;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- native connections ---- */

int disp_open(const char *dir, const char *node, struct disp_conn *c)
{
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/%s", dir, node);
	c->file = rdrm_connect(path, O_CLOEXEC);
	if (c->file < 0)
		return c->file;
	c->chan = rdrm_channel_open(c->file, &c->hello);
	if (c->chan < 0) {
		int r = c->chan;
		close(c->file);
		return r;
	}
	return 0;
}

void disp_close(struct disp_conn *c)
{
	close(c->chan);
	close(c->file);
	c->chan = c->file = -1;
}

int disp_ioctl(struct disp_conn *c, unsigned long cmd, void *arg)
{
	return rdrm_call(c->chan, c->hello.driver, cmd, arg);
}

int disp_find_output(struct disp_conn *c, struct disp_output *out)
{
	memset(out, 0, sizeof(*out));
	uint32_t crtcs[8], conns[16], encs[16];
	struct drm_mode_card_res res = {0};
	int r = disp_ioctl(c, DRM_IOCTL_MODE_GETRESOURCES, &res);
	if (r)
		return r;
	if (res.count_crtcs > 8 || res.count_connectors > 16 || res.count_encoders > 16)
		return -E2BIG;
	res.crtc_id_ptr = (uintptr_t)crtcs;
	res.connector_id_ptr = (uintptr_t)conns;
	res.encoder_id_ptr = (uintptr_t)encs;
	res.count_fbs = 0;
	if ((r = disp_ioctl(c, DRM_IOCTL_MODE_GETRESOURCES, &res)))
		return r;
	out->ncrtcs = res.count_crtcs;
	memcpy(out->crtc_ids, crtcs, res.count_crtcs * sizeof(uint32_t));
	for (uint32_t i = 0; i < res.count_connectors; i++) {
		struct drm_mode_modeinfo modes[32];
		uint32_t conn_encs[8];
		struct drm_mode_get_connector gc = {.connector_id = conns[i]};
		if ((r = disp_ioctl(c, DRM_IOCTL_MODE_GETCONNECTOR, &gc)))
			return r;
		if (gc.connection != 1 || !gc.count_modes || gc.count_modes > 32 || gc.count_encoders > 8)
			continue;
		gc.modes_ptr = (uintptr_t)modes;
		gc.encoders_ptr = (uintptr_t)conn_encs;
		gc.count_props = 0;
		if ((r = disp_ioctl(c, DRM_IOCTL_MODE_GETCONNECTOR, &gc)))
			return r;
		int m = -1;
		for (uint32_t k = 0; k < gc.count_modes && m < 0; k++)
			if (modes[k].hdisplay == 1920 && modes[k].vdisplay == 1080)
				m = (int)k;
		if (m < 0 || !gc.count_encoders)
			continue;
		struct drm_mode_get_encoder ge = {.encoder_id = conn_encs[0]};
		if ((r = disp_ioctl(c, DRM_IOCTL_MODE_GETENCODER, &ge)))
			return r;
		for (uint32_t k = 0; k < res.count_crtcs; k++) {
			if (ge.possible_crtcs & (1u << k)) {
				out->conn_id = conns[i];
				out->crtc_id = crtcs[k];
				out->crtc_index = k;
				out->mode = modes[m];
				return 0;
			}
		}
	}
	return -ENODEV;
}

/* ---- processes ---- */

/*
 * Clients still running, so a failed test (cmocka jumps out of it) does not
 * leave one holding the device for the next test.
 */
static struct {
	pid_t pid;
	int in_fd;
	char out_path[PATH_MAX];
} live[16];

static void track(const struct disp_proc *p)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		if (live[i].pid <= 0) {
			live[i].pid = p->pid;
			live[i].in_fd = p->in_fd;
			memcpy(live[i].out_path, p->out_path, sizeof(live[i].out_path));
			return;
		}
	}
}

static void untrack(pid_t pid, bool fds_too)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		if (live[i].pid == pid && pid > 0) {
			live[i].pid = 0;
			if (fds_too)
				live[i].in_fd = -1;
		}
	}
}

void disp_reap_all(void)
{
	for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++) {
		if (live[i].pid <= 0)
			continue;
		if (live[i].in_fd >= 0)
			close(live[i].in_fd);
		kill(live[i].pid, SIGTERM);
		int st;
		for (int k = 0; k < 200 && waitpid(live[i].pid, &st, WNOHANG) == 0; k++)
			disp_sleep_ms(10);
		if (kill(live[i].pid, 0) == 0) {
			kill(live[i].pid, SIGKILL);
			waitpid(live[i].pid, &st, 0);
		}
		unlink(live[i].out_path);
		live[i].pid = 0;
		live[i].in_fd = -1;
	}
}

int disp_spawn(struct disp_proc *p, const char *const *argv, const char *const *env)
{
	const char *run = getenv("REDOX_DRM_RUN");
	if (!run)
		return -ENOENT;
	const char *tmp = getenv("TMPDIR");
	snprintf(p->out_path, sizeof(p->out_path), "%s/rdrm-disp-out-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int out = mkostemp(p->out_path, O_CLOEXEC);
	if (out < 0)
		return -errno;
	int in[2];
	if (pipe2(in, O_CLOEXEC) < 0) {
		int e = errno;
		close(out);
		return -e;
	}
	size_t n = 0;
	while (argv[n])
		n++;
	const char **full = calloc(n + 3, sizeof(*full));
	if (!full) {
		close(out);
		close(in[0]);
		close(in[1]);
		return -ENOMEM;
	}
	full[0] = run;
	full[1] = "--";
	for (size_t i = 0; i < n; i++)
		full[2 + i] = argv[i];
	p->pid = fork();
	if (p->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out, STDOUT_FILENO);
		dup2(out, STDERR_FILENO);
		for (size_t i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(run, (char *const *)full);
		_exit(127);
	}
	int e = errno;
	free(full);
	close(out);
	close(in[0]);
	if (p->pid < 0) {
		close(in[1]);
		return -e;
	}
	p->in_fd = in[1];
	track(p);
	return 0;
}

/* Waits up to timeout_ms for the exit; -1 if it is still running. */
static int wait_exit(struct disp_proc *p, int timeout_ms, int *st)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	for (;;) {
		pid_t r = waitpid(p->pid, st, WNOHANG);
		if (r == p->pid)
			return 0;
		if (r < 0 || now_ms() > end)
			return -1;
		disp_sleep_ms(10);
	}
}

static int exit_status(int st)
{
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int disp_wait(struct disp_proc *p, int timeout_ms)
{
	int st;
	if (wait_exit(p, timeout_ms, &st) < 0)
		return -1;
	untrack(p->pid, false);
	p->pid = -1;
	return exit_status(st);
}

int disp_finish(struct disp_proc *p, int timeout_ms)
{
	if (p->in_fd >= 0) {
		close(p->in_fd);
		p->in_fd = -1;
		for (size_t i = 0; i < sizeof(live) / sizeof(live[0]); i++)
			if (live[i].pid == p->pid)
				live[i].in_fd = -1;
	}
	if (p->pid < 0)
		return -1;
	int st;
	if (wait_exit(p, timeout_ms, &st) == 0) {
		untrack(p->pid, true);
		p->pid = -1;
		return exit_status(st);
	}
	/* The launcher forwards SIGTERM to the client; SIGKILL if even that hangs. */
	kill(p->pid, SIGTERM);
	if (wait_exit(p, 2000, &st) < 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, &st, 0);
	}
	untrack(p->pid, true);
	p->pid = -1;
	return -1;
}

char *disp_output(const struct disp_proc *p)
{
	FILE *f = fopen(p->out_path, "rb");
	if (!f)
		return strdup("");
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
		len += got;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	fclose(f);
	if (buf)
		buf[len] = '\0';
	return buf;
}

void disp_cleanup(struct disp_proc *p)
{
	if (p->pid > 0)
		disp_finish(p, 5000);
	if (p->in_fd >= 0)
		close(p->in_fd);
	p->in_fd = -1;
	unlink(p->out_path);
}

int disp_run(const char *const *argv, const char *const *env, int timeout_ms, char **out)
{
	struct disp_proc p;
	int r = disp_spawn(&p, argv, env);
	if (r < 0) {
		*out = strdup("");
		return r;
	}
	r = disp_finish(&p, timeout_ms);
	*out = disp_output(&p);
	disp_cleanup(&p);
	return r;
}

bool disp_have(const char *prog)
{
	const char *path = getenv("PATH");
	if (!path)
		return false;
	char *copy = strdup(path), *save = NULL;
	bool found = false;
	for (char *d = strtok_r(copy, ":", &save); d && !found; d = strtok_r(NULL, ":", &save)) {
		char full[PATH_MAX + 64];
		snprintf(full, sizeof(full), "%s/%s", d, prog);
		found = access(full, X_OK) == 0;
	}
	free(copy);
	return found;
}

bool disp_interposer_usable(char *why, size_t len)
{
	const char *argv[] = {"true", NULL};
	char *out = NULL;
	int r = disp_run(argv, NULL, 20000, &out);
	bool usable = true;
	if (r != 0 && out && strstr(out, "undefined symbol") && (strstr(out, "__asan") || strstr(out, "__ubsan"))) {
		usable = false;
		char *nl = strchr(out, '\n');
		if (nl)
			*nl = '\0';
		snprintf(why, len, "%s", out);
	}
	free(out);
	return usable;
}

/* ---- captures ---- */

static int capture_state(const char *dir, int card, uint32_t crtc_id)
{
	char node[32];
	snprintf(node, sizeof(node), "renderD%d", 128 + card);
	struct disp_conn c;
	int r = disp_open(dir, node, &c);
	if (r)
		return r;
	uint32_t *px = NULL, w, h, id;
	r = rdrm_capture(c.chan, crtc_id, &px, &w, &h, &id);
	free(px);
	disp_close(&c);
	return r;
}

int disp_wait_active(const char *dir, int card, uint32_t crtc_id, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	int r;
	while ((r = capture_state(dir, card, crtc_id)) == -ENODEV && now_ms() < end)
		disp_sleep_ms(20);
	return r;
}

int disp_wait_inactive(const char *dir, int card, uint32_t crtc_id, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	int r;
	while ((r = capture_state(dir, card, crtc_id)) == 0 && now_ms() < end)
		disp_sleep_ms(20);
	return r == -ENODEV ? 0 : r ? r : -ETIMEDOUT;
}

int disp_capture(int card, uint32_t crtc_id, struct disp_image *img)
{
	memset(img, 0, sizeof(*img));
	const char *tool = getenv("REDOX_DRM_CAPTURE"), *tmp = getenv("TMPDIR");
	if (!tool)
		return -ENOENT;
	char png[PATH_MAX], cardarg[16], crtcarg[16];
	snprintf(png, sizeof(png), "%s/rdrm-disp-cap-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(png);
	if (fd < 0)
		return -errno;
	close(fd);
	snprintf(cardarg, sizeof(cardarg), "%d", card);
	snprintf(crtcarg, sizeof(crtcarg), "%u", crtc_id);
	pid_t pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_WRONLY);
		if (nul >= 0)
			dup2(nul, STDOUT_FILENO);
		execl(tool, tool, "--card", cardarg, "--crtc", crtcarg, "-o", png, (char *)NULL);
		_exit(127);
	}
	int st = 0;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		unlink(png);
		return -EIO;
	}
	png_image im;
	memset(&im, 0, sizeof(im));
	im.version = PNG_IMAGE_VERSION;
	int r = -EIO;
	if (png_image_begin_read_from_file(&im, png)) {
		im.format = PNG_FORMAT_RGB;
		img->rgb = malloc(PNG_IMAGE_SIZE(im));
		if (img->rgb && png_image_finish_read(&im, NULL, img->rgb, 0, NULL)) {
			img->width = im.width;
			img->height = im.height;
			r = 0;
		} else {
			free(img->rgb);
			img->rgb = NULL;
		}
	}
	png_image_free(&im);
	unlink(png);
	return r;
}

uint32_t disp_pixel(const struct disp_image *img, uint32_t x, uint32_t y)
{
	const uint8_t *p = img->rgb + ((size_t)y * img->width + x) * 3;
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

void disp_image_free(struct disp_image *img)
{
	free(img->rgb);
	img->rgb = NULL;
}
