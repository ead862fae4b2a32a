/* redox-drmd: the DRM daemon. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/hw.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"
#include "redox-drm/sync_file.h"

#include "sysroot.h"
#include "transport.h"

#define MAX_DEVICES 8

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: redox-drmd [options]\n"
		"  --device sim:amdgpu|sim:i915   serve a simulated GPU (repeatable; default: both)\n"
		"  --runtime-dir DIR              where node sockets live (default: $XDG_RUNTIME_DIR/redox-drm,\n"
		"                                 else /run/redox-drm)\n"
		"  --list-devices                 list this machine's PCI display controllers and exit\n"
		"  --log-level error|warn|info|debug\n"
		"  -v, --verbose                  same as --log-level debug\n"
		"  -h, --help\n");
}

static void print_pci(const struct hw_pci_id *id, void *data)
{
	int *count = data;
	struct hw_device probe = {.pci = *id};
	const struct drm_driver *drv = drm_driver_for(&probe);
	printf("%04x:%02x:%02x.%d  %04x:%04x rev %02x  class %06x  %s\n", id->domain, id->bus, id->dev,
	       id->func, id->vendor, id->device, id->revision, id->class_code,
	       drv ? drv->name : "(no backend)");
	(*count)++;
}

static int list_devices(void)
{
	int count = 0;
	int r = hw_pci_list_display(print_pci, &count);
	if (r < 0) {
		fprintf(stderr, "redox-drmd: cannot enumerate PCI devices: %s\n", strerror(-r));
		return 1;
	}
	if (!count)
		printf("no PCI display controllers found\n");
	printf("Binding real hardware is not implemented yet: the daemon serves simulated devices only\n"
	       "(--device sim:amdgpu, --device sim:i915).\n");
	return 0;
}

static void default_runtime_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	if (xdg && *xdg)
		snprintf(buf, len, "%s/redox-drm", xdg);
	else
		snprintf(buf, len, "/run/redox-drm");
}

static int signal_fd = -1;

static void stop_loop(void *data, uint32_t events)
{
	struct signalfd_siginfo si;
	while (read(signal_fd, &si, sizeof(si)) > 0)
		log_info("signal %u", si.ssi_signo);
	event_loop_stop(data);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"device", required_argument, NULL, 'd'},
		{"runtime-dir", required_argument, NULL, 'r'},
		{"list-devices", no_argument, NULL, 'l'},
		{"log-level", required_argument, NULL, 'L'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *device_names[MAX_DEVICES];
	int ndevice_names = 0;
	char runtime_dir[PATH_MAX] = "";
	int c;
	while ((c = getopt_long(argc, argv, "d:r:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (ndevice_names == MAX_DEVICES) {
				fprintf(stderr, "redox-drmd: at most %d devices\n", MAX_DEVICES);
				return 2;
			}
			device_names[ndevice_names++] = optarg;
			break;
		case 'r':
			snprintf(runtime_dir, sizeof(runtime_dir), "%s", optarg);
			break;
		case 'l':
			return list_devices();
		case 'L':
			if (!strcmp(optarg, "error"))
				log_set_level(LOG_ERROR);
			else if (!strcmp(optarg, "warn"))
				log_set_level(LOG_WARN);
			else if (!strcmp(optarg, "info"))
				log_set_level(LOG_INFO);
			else if (!strcmp(optarg, "debug"))
				log_set_level(LOG_DEBUG);
			else {
				usage(stderr);
				return 2;
			}
			break;
		case 'v':
			log_set_level(LOG_DEBUG);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!ndevice_names) {
		device_names[ndevice_names++] = "sim:amdgpu";
		device_names[ndevice_names++] = "sim:i915";
	}
	if (!runtime_dir[0])
		default_runtime_dir(runtime_dir, sizeof(runtime_dir));
	if (mkdir(runtime_dir, 0755) < 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", runtime_dir, strerror(errno));
		return 1;
	}

	/* Every sync_file and syncobj fd a client holds costs the daemon one descriptor. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);

	int status = 1;
	struct event_loop *loop = event_loop_create();
	struct transport *t = loop ? transport_create(loop, runtime_dir) : NULL;
	struct drm_device *devs[MAX_DEVICES] = {0};
	struct hw_device *hws[MAX_DEVICES] = {0};
	struct sysroot_device sdevs[MAX_DEVICES];
	int ndevs = 0;
	if (!t)
		goto out;
	for (int i = 0; i < ndevice_names; i++) {
		const char *name = device_names[i];
		if (strncmp(name, "sim:", 4) != 0) {
			log_error("unknown device '%s' (only sim:amdgpu and sim:i915 can be served yet)", name);
			goto out;
		}
		hws[ndevs] = hw_sim_create(name + 4, ndevs);
		if (!hws[ndevs]) {
			log_error("unknown device '%s'", name);
			goto out;
		}
		devs[ndevs] = drm_dev_create(hws[ndevs], ndevs, loop);
		if (!devs[ndevs]) {
			hw_destroy(hws[ndevs]);
			hws[ndevs] = NULL;
			goto out;
		}
		sdevs[ndevs] = (struct sysroot_device){
			.pci = hws[ndevs]->pci, .card = ndevs, .driver = devs[ndevs]->driver->name, .dev = devs[ndevs]};
		if (transport_add_device(t, devs[ndevs]) < 0) {
			ndevs++;
			goto out;
		}
		ndevs++;
	}
	if (transport_add_sw_sync(t) < 0)
		goto out;
	int r = sysroot_create(runtime_dir, sdevs, ndevs);
	if (r < 0) {
		log_error("cannot write the device tree under %s: %s", runtime_dir, strerror(-r));
		goto out;
	}

	signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (signal_fd < 0 || !event_loop_add_fd(loop, signal_fd, EPOLLIN, stop_loop, loop))
		goto out;

	/*
	 * Tells launchers that every node listens. Renamed into place so it
	 * appears only once written and closed.
	 */
	char ready[PATH_MAX + 8], ready_tmp[PATH_MAX + 16];
	snprintf(ready, sizeof(ready), "%s/ready", runtime_dir);
	snprintf(ready_tmp, sizeof(ready_tmp), "%s/.ready.tmp", runtime_dir);
	int rfd = open(ready_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (rfd >= 0) {
		dprintf(rfd, "%d\n", (int)getpid());
		close(rfd);
		if (rename(ready_tmp, ready) < 0)
			log_warn("cannot publish %s: %s", ready, strerror(errno));
	}
	log_info("serving %d device(s) in %s", ndevs, runtime_dir);
	event_loop_run(loop);
	log_info("shutting down");
	unlink(ready);
	sysroot_remove(runtime_dir);
	status = 0;
out:
	transport_destroy(t);
	for (int i = ndevs - 1; i >= 0; i--) {
		drm_dev_destroy(devs[i]);
		hw_destroy(hws[i]);
	}
	if (signal_fd >= 0)
		close(signal_fd);
	if (loop)
		drm_fdobj_loop_fini(loop);
	event_loop_destroy(loop);
	return status;
}
