/*
 * The interrupt line as the daemon watches it (hw.h): the irq descriptor,
 * edge-triggered, through epoll. A test waits here for a new raise.
 */
#ifndef REDOX_DRM_TEST_IRQ_LINE_H
#define REDOX_DRM_TEST_IRQ_LINE_H

#include <stdbool.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "redox-drm/hw.h"

static inline int irq_line_open(struct hw_device *hw)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN | EPOLLET};
	if (ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, hw->ops->irq_fd(hw), &ev) < 0)
		return -1;
	return ep;
}

/* True if the line was raised (since the last wait that said so) within timeout_ms. */
static inline bool irq_line_wait(int ep, int timeout_ms)
{
	struct epoll_event ev;
	return epoll_wait(ep, &ev, 1, timeout_ms) == 1;
}

#endif
