/*
 * redox-drm-run [DAEMON OPTIONS] -- COMMAND [ARGS...]
 *
 * Runs an unmodified DRM client against redox-drmd. If REDOX_DRM_RUNTIME_DIR
 * names a directory where a daemon answers, the command joins it. Otherwise
 * a private daemon is started in a fresh temporary runtime directory, the
 * command runs against it, and the daemon is stopped and the directory
 * removed when the command ends. The command gets the interposer in
 * LD_PRELOAD and REDOX_DRM_RUNTIME_DIR set; the exit status is the
 * command's (128 + signal if it was killed).
 *
 * Environment: see usage() below.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PRELOAD_NAME "libredox-drm-preload.so"
#define DAEMON_NAME "redox-drmd"

static const char *prog = "redox-drm-run";

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [DAEMON OPTIONS] -- COMMAND [ARGS...]\n"
		"Runs COMMAND with the redox-drm interposer. Joins the daemon serving\n"
		"$REDOX_DRM_RUNTIME_DIR if one answers there; otherwise starts a private\n"
		"redox-drmd with DAEMON OPTIONS for the lifetime of COMMAND. The exit\n"
		"status is COMMAND's (128 + N if signal N killed it).\n"
		"\n"
		"Environment:\n"
		"  REDOX_DRM_RUNTIME_DIR    join the daemon serving this directory\n"
		"  REDOX_DRM_HIDE=P1:P2:... paths COMMAND (and its children) must not see:\n"
		"                           each Pn and everything below it fails with ENOENT\n"
		"                           in the path calls the interposer handles (open,\n"
		"                           stat, access, opendir, readlink, ...) when named\n"
		"                           by an absolute path; a name relative to the\n"
		"                           working directory is not checked, and listings of\n"
		"                           the parent directory still show it. Weston's\n"
		"                           direct launcher needs REDOX_DRM_HIDE=/dev/tty0\n"
		"                           unless it runs on a real VT.\n"
		"  REDOX_DRM_PRELOAD        the interposer library to use\n"
		"  REDOX_DRMD               the daemon executable to start\n"
		"  REDOX_DRM_START_TIMEOUT  seconds to wait for the daemon (default 10)\n",
		prog);
}

static bool is_file(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The directory holding this executable, for finding the library and daemon beside it. */
static bool self_dir(char *out, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return false;
	*slash = '\0';
	return snprintf(out, size, "%s", exe[0] ? exe : "/") < (int)size;
}

/* First existing candidate, canonicalised (LD_PRELOAD must not depend on the cwd). */
static bool pick(const char *const *cands, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		if (cands[i] && is_file(cands[i]) && realpath(cands[i], out))
			return true;
	}
	return false;
}

/*
 * Search order for the interposer:
 *   1. $REDOX_DRM_PRELOAD
 *   2. <exe dir>/libredox-drm-preload.so
 *   3. <exe dir>/../lib/libredox-drm-preload.so
 *   4. <exe dir>/../client/preload/libredox-drm-preload.so  (build tree)
 *   5. the installation's libdir
 */
static bool find_preload(const char *dir, char *out)
{
	const char *env = getenv("REDOX_DRM_PRELOAD");
	if (env && *env) {
		if (pick(&env, 1, out))
			return true;
		fprintf(stderr, "%s: REDOX_DRM_PRELOAD=%s: not a file\n", prog, env);
		return false;
	}
	char c[4][PATH_MAX + 64];
	snprintf(c[0], sizeof(c[0]), "%s/" PRELOAD_NAME, dir);
	snprintf(c[1], sizeof(c[1]), "%s/../lib/" PRELOAD_NAME, dir);
	snprintf(c[2], sizeof(c[2]), "%s/../client/preload/" PRELOAD_NAME, dir);
#ifdef REDOX_DRM_LIBDIR
	snprintf(c[3], sizeof(c[3]), "%s/" PRELOAD_NAME, REDOX_DRM_LIBDIR);
#else
	c[3][0] = '\0';
#endif
	const char *cands[4] = { c[0], c[1], c[2], c[3][0] ? c[3] : NULL };
	if (pick(cands, 4, out))
		return true;
	fprintf(stderr, "%s: cannot find " PRELOAD_NAME " (set REDOX_DRM_PRELOAD)\n", prog);
	return false;
}

/*
 * Search order for the daemon: $REDOX_DRMD, <exe dir>/redox-drmd,
 * <exe dir>/../daemon/redox-drmd (build tree), then PATH.
 */
static void find_daemon(const char *dir, char *out, size_t size)
{
	const char *env = getenv("REDOX_DRMD");
	if (env && *env) {
		snprintf(out, size, "%s", env);
		return;
	}
	char c[2][PATH_MAX + 64];
	snprintf(c[0], sizeof(c[0]), "%s/" DAEMON_NAME, dir);
	snprintf(c[1], sizeof(c[1]), "%s/../daemon/" DAEMON_NAME, dir);
	const char *cands[2] = { c[0], c[1] };
	char found[PATH_MAX];
	if (pick(cands, 2, found))
		snprintf(out, size, "%s", found);
	else
		snprintf(out, size, DAEMON_NAME); /* execvp searches PATH */
}

static bool is_node_name(const char *n)
{
	const char *d = NULL;
	if (strncmp(n, "renderD", 7) == 0)
		d = n + 7;
	else if (strncmp(n, "card", 4) == 0)
		d = n + 4;
	if (!d || !*d)
		return false;
	for (; *d; d++)
		if (*d < '0' || *d > '9')
			return false;
	return true;
}

static bool connects(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sa.sun_path))
		return false;
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/*
 * Does a daemon serve dir? A node socket must accept a connection. Render
 * nodes are tried first: connecting to a primary node briefly makes us its
 * master.
 */
static bool daemon_serves(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool ok = false;
	for (int pass = 0; pass < 2 && !ok; pass++) {
		rewinddir(d);
		struct dirent *de;
		while (!ok && (de = readdir(d)) != NULL) {
			if (!is_node_name(de->d_name) || (pass == 0) != (strncmp(de->d_name, "renderD", 7) == 0))
				continue;
			char path[PATH_MAX + 300];
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			ok = connects(path);
		}
	}
	closedir(d);
	return ok;
}

/* LD_PRELOAD without any copy of the interposer; NULL if nothing is left. */
static char *preload_without_own(void)
{
	const char *old = getenv("LD_PRELOAD");
	if (!old)
		return NULL;
	char *copy = strdup(old), *out = calloc(1, strlen(old) + 1);
	if (!copy || !out) {
		free(copy);
		free(out);
		return NULL;
	}
	char *save = NULL;
	for (char *tok = strtok_r(copy, ": ", &save); tok; tok = strtok_r(NULL, ": ", &save)) {
		if (strstr(tok, PRELOAD_NAME))
			continue;
		if (*out)
			strcat(out, ":");
		strcat(out, tok);
	}
	free(copy);
	if (!*out) {
		free(out);
		return NULL;
	}
	return out;
}

/* LD_PRELOAD for the command: the interposer first, then whatever else was there. */
static char *preload_value(const char *lib)
{
	char *rest = preload_without_own();
	size_t n = strlen(lib) + (rest ? strlen(rest) : 0) + 2;
	char *v = malloc(n);
	if (v && rest)
		snprintf(v, n, "%s:%s", lib, rest);
	else if (v)
		snprintf(v, n, "%s", lib);
	free(rest);
	return v;
}

/* The daemon must not run under the interposer, whatever our own environment holds. */
static void strip_own_preload(void)
{
	char *rest = preload_without_own();
	if (rest)
		setenv("LD_PRELOAD", rest, 1);
	else
		unsetenv("LD_PRELOAD");
	free(rest);
}

static volatile sig_atomic_t child_pid;

/*
 * A signal from the terminal (SI_KERNEL) went to the whole foreground
 * process group, the command included; forwarding it would deliver it
 * twice. Signals sent to us alone are passed on.
 */
static void forward(int sig, siginfo_t *info, void *ctx)
{
	(void)ctx;
	if (info && info->si_code == SI_KERNEL)
		return;
	if (child_pid > 0)
		kill((pid_t)child_pid, sig);
}

static const int fwd_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NFWD (sizeof(fwd_signals) / sizeof(fwd_signals[0]))

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int rm_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

static void remove_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void describe(const char *what, int status)
{
	if (WIFEXITED(status))
		fprintf(stderr, "%s: %s exited with status %d\n", prog, what, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(stderr, "%s: %s was killed by signal %d (%s)\n", prog, what, WTERMSIG(status),
			strsignal(WTERMSIG(status)));
}

static pid_t start_daemon(const char *daemon, const char *dir, char **opts, int nopts)
{
	char **argv = calloc((size_t)nopts + 4, sizeof(*argv));
	if (!argv)
		return -1;
	argv[0] = (char *)daemon;
	argv[1] = "--runtime-dir";
	argv[2] = (char *)dir;
	for (int i = 0; i < nopts; i++)
		argv[3 + i] = opts[i];
	pid_t pid = fork();
	if (pid == 0) {
		/* Its own process group: ^C stops the command, and we stop the daemon after it. */
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (nul >= 0)
			dup2(nul, STDIN_FILENO);
		strip_own_preload();
		if (strchr(daemon, '/'))
			execv(daemon, argv);
		else
			execvp(daemon, argv);
		fprintf(stderr, "%s: cannot run %s: %s\n", prog, daemon, strerror(errno));
		_exit(127);
	}
	free(argv);
	return pid;
}

/* Waits for <dir>/ready; fails if the daemon exits first or the timeout passes. */
static bool wait_ready(pid_t daemon, const char *dir, int *status)
{
	char ready[PATH_MAX + 16];
	snprintf(ready, sizeof(ready), "%s/ready", dir);
	long timeout_ms = 10000;
	const char *env = getenv("REDOX_DRM_START_TIMEOUT");
	if (env && atof(env) > 0)
		timeout_ms = (long)(atof(env) * 1000);
	for (long waited = 0;; waited += 10) {
		if (access(ready, F_OK) == 0)
			return true;
		pid_t r = waitpid(daemon, status, WNOHANG);
		if (r == daemon) {
			describe("redox-drmd", *status);
			fprintf(stderr, "%s: the daemon stopped before it was ready\n", prog);
			return false;
		}
		if (waited >= timeout_ms) {
			fprintf(stderr, "%s: the daemon was not ready after %ld ms\n", prog, timeout_ms);
			*status = -1;
			return false;
		}
		sleep_ms(10);
	}
}

static void stop_daemon(pid_t daemon)
{
	int status;
	kill(daemon, SIGTERM);
	for (int i = 0; i < 500; i++) {
		pid_t r = waitpid(daemon, &status, WNOHANG);
		if (r == daemon || (r < 0 && errno == ECHILD)) {
			if (r == daemon &&
			    !((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
			      (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM)))
				describe("redox-drmd", status);
			return;
		}
		sleep_ms(10);
	}
	fprintf(stderr, "%s: the daemon ignored SIGTERM for 5 s; killing it\n", prog);
	kill(daemon, SIGKILL);
	waitpid(daemon, &status, 0);
}

static char *make_runtime_dir(void)
{
	const char *bases[2] = { getenv("TMPDIR"), "/tmp" };
	for (int i = 0; i < 2; i++) {
		const char *base = bases[i];
		/* Node socket paths must fit in sun_path: <dir>/renderD191 */
		if (!base || !*base || strlen(base) + sizeof("/redox-drm.XXXXXX/renderD191") > 108)
			continue;
		char *dir = malloc(strlen(base) + 32);
		if (!dir)
			return NULL;
		sprintf(dir, "%s/redox-drm.XXXXXX", base);
		if (mkdtemp(dir))
			return dir;
		fprintf(stderr, "%s: mkdtemp in %s: %s\n", prog, base, strerror(errno));
		free(dir);
	}
	return NULL;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 1;
}

static void exec_command(char **cmd, const char *preload, const char *dir)
{
	char *v = preload_value(preload);
	if (!v || setenv("LD_PRELOAD", v, 1) < 0 || setenv("REDOX_DRM_RUNTIME_DIR", dir, 1) < 0) {
		fprintf(stderr, "%s: cannot set up the environment\n", prog);
		_exit(127);
	}
	execvp(cmd[0], cmd);
	int e = errno;
	fprintf(stderr, "%s: %s: %s\n", prog, cmd[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

int main(int argc, char **argv)
{
	int sep = -1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	if (sep < 0) {
		bool help = argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0);
		usage(help ? stdout : stderr);
		return help ? 0 : 2;
	}
	if (sep + 1 >= argc) {
		usage(stderr);
		return 2;
	}
	char **cmd = argv + sep + 1;
	char **opts = argv + 1;
	int nopts = sep - 1;

	char dir[PATH_MAX], preload[PATH_MAX];
	if (!self_dir(dir, sizeof(dir)))
		snprintf(dir, sizeof(dir), ".");
	if (!find_preload(dir, preload))
		return 127;

	const char *joined = getenv("REDOX_DRM_RUNTIME_DIR");
	if (joined && *joined && daemon_serves(joined)) {
		if (nopts > 0)
			fprintf(stderr, "%s: a daemon already serves %s; daemon options ignored\n", prog, joined);
		exec_command(cmd, preload, joined);
	}

	char daemon_path[PATH_MAX + 64];
	find_daemon(dir, daemon_path, sizeof(daemon_path));
	char *rt = make_runtime_dir();
	if (!rt) {
		fprintf(stderr, "%s: cannot create a runtime directory\n", prog);
		return 127;
	}

	/* Forwarding is set up before any child exists; the mask closes the window around fork. */
	sigset_t fwd, old;
	sigemptyset(&fwd);
	for (size_t i = 0; i < NFWD; i++)
		sigaddset(&fwd, fwd_signals[i]);
	sigprocmask(SIG_BLOCK, &fwd, &old);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NFWD; i++)
		sigaction(fwd_signals[i], &sa, NULL);

	int status = 0;
	pid_t daemon = start_daemon(daemon_path, rt, opts, nopts);
	if (daemon < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		remove_tree(rt);
		return 127;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (!wait_ready(daemon, rt, &status)) {
		if (status == -1)
			stop_daemon(daemon);
		remove_tree(rt);
		return 127;
	}

	sigprocmask(SIG_BLOCK, &fwd, NULL);
	pid_t child = fork();
	if (child == 0) {
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		for (size_t i = 0; i < NFWD; i++)
			sigaction(fwd_signals[i], &dfl, NULL);
		sigprocmask(SIG_SETMASK, &old, NULL);
		exec_command(cmd, preload, rt);
	}
	if (child < 0) {
		fprintf(stderr, "%s: fork: %s\n", prog, strerror(errno));
		status = 127 << 8;
	} else {
		child_pid = child;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);

	if (child > 0) {
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
	}
	child_pid = 0;
	stop_daemon(daemon);
	remove_tree(rt);
	free(rt);
	return exit_code(status);
}
