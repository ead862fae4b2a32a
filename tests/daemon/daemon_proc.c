#include "daemon_proc.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int daemon_start(struct daemon_proc *d, const char *const *argv_extra)
{
	const char *bin = getenv("REDOX_DRMD");
	if (!bin)
		return -ENOENT;
	const char *tmp = getenv("TMPDIR");
	snprintf(d->dir, sizeof(d->dir), "%s/rdrm-test-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(d->dir))
		return -errno;
	/* Unprivileged test clients must reach the sockets. */
	chmod(d->dir, 0755);
	const char *argv[32] = {bin, "--runtime-dir", d->dir, "--log-level", "warn"};
	int n = 5;
	for (int i = 0; argv_extra && argv_extra[i] && n < 31; i++)
		argv[n++] = argv_extra[i];
	argv[n] = NULL;
	d->pid = fork();
	if (d->pid < 0)
		return -errno;
	if (d->pid == 0) {
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	char ready[PATH_MAX + 8];
	snprintf(ready, sizeof(ready), "%s/ready", d->dir);
	for (int i = 0; i < 1000; i++) {
		if (access(ready, F_OK) == 0)
			return 0;
		int st;
		if (waitpid(d->pid, &st, WNOHANG) == d->pid)
			return -ECHILD;
		struct timespec ts = {0, 5000000};
		nanosleep(&ts, NULL);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	return -ETIMEDOUT;
}

int daemon_stop(struct daemon_proc *d)
{
	int st = 0;
	kill(d->pid, SIGTERM);
	waitpid(d->pid, &st, 0);
	char cmd[PATH_MAX + 16];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", d->dir);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void daemon_node(const struct daemon_proc *d, const char *node, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", d->dir, node);
}

int daemon_fd_count(const struct daemon_proc *d)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)d->pid);
	DIR *dir = opendir(path);
	int n = 0;
	while (dir && readdir(dir))
		n++;
	if (dir)
		closedir(dir);
	return n;
}

long daemon_rss_kb(const struct daemon_proc *d)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)d->pid);
	FILE *f = fopen(path, "r");
	long kb = -1;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}
