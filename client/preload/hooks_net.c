/*
 * Kernel uevent sockets (NETLINK_KOBJECT_UEVENT).
 *
 * libudev monitors (weston's DRM backend opens one, libinput another) join
 * a uevent multicast group to hear about hotplug. The simulated devices
 * never come or go, and every uevent the host sends describes a device of
 * the host: its /sys path is hidden behind the synthetic tree, and a host
 * GPU's device number can equal a simulated one (226:0), so a host "change"
 * event would make weston re-probe a card it never saw. Under the
 * interposer, such a socket therefore joins no group: it is created, bound
 * and named as usual and never delivers an event, which is what a system
 * without hotplug looks like. Other netlink families are untouched.
 */
#undef _FILE_OFFSET_BITS
#include "preload.h"

#include <errno.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

REAL_DECL(int, bind, (int, const struct sockaddr *, socklen_t))
REAL_DECL(int, setsockopt, (int, int, int, const void *, socklen_t))

static bool is_uevent_socket(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &len) < 0 || v != AF_NETLINK)
		return false;
	len = sizeof(v);
	return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &v, &len) == 0 && v == NETLINK_KOBJECT_UEVENT;
}

RDRM_VISIBLE int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	/* The family test comes first: every other bind() costs one compare. */
	if (!addr || len < sizeof(struct sockaddr_nl) || addr->sa_family != AF_NETLINK || !is_uevent_socket(fd))
		return real_bind()(fd, addr, len);
	struct sockaddr_nl nl;
	memcpy(&nl, addr, sizeof(nl));
	nl.nl_groups = 0;
	return real_bind()(fd, (const struct sockaddr *)&nl, sizeof(nl));
}

RDRM_VISIBLE int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	if (level == SOL_NETLINK && name == NETLINK_ADD_MEMBERSHIP && is_uevent_socket(fd)) {
		/* Accepted and not done: the group would only carry the host's events. */
		if (!val || len < sizeof(int)) {
			errno = EINVAL;
			return -1;
		}
		return 0;
	}
	return real_setsockopt()(fd, level, name, val, len);
}
