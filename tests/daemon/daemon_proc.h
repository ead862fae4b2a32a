/* Starts a private redox-drmd for a test and stops it again. */
#ifndef REDOX_DRM_TEST_DAEMON_PROC_H
#define REDOX_DRM_TEST_DAEMON_PROC_H

#include <limits.h>
#include <sys/types.h>

struct daemon_proc {
	pid_t pid;
	char dir[PATH_MAX];
};

/* argv_extra: NULL-terminated extra daemon options (may be NULL). Returns 0 or -errno. */
int daemon_start(struct daemon_proc *d, const char *const *argv_extra);
/* SIGTERM, wait; returns the daemon's exit status (or -1 if it died of a signal). */
int daemon_stop(struct daemon_proc *d);
void daemon_node(const struct daemon_proc *d, const char *node, char *buf, size_t len);
int daemon_fd_count(const struct daemon_proc *d);
long daemon_rss_kb(const struct daemon_proc *d);

#endif
