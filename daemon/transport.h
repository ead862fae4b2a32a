/*
 * The Linux transport: node sockets in the runtime directory, one connection
 * per open file, request channels attached to it. (The Redox transport is a
 * scheme with SYS_CALL requests carrying the same payloads.)
 */
#ifndef REDOX_DRM_DAEMON_TRANSPORT_H
#define REDOX_DRM_DAEMON_TRANSPORT_H

#include <stddef.h>

struct drm_device;
struct drm_file;
struct event_loop;
struct transport;

struct transport *transport_create(struct event_loop *loop, const char *runtime_dir);
/* Starts serving the device's primary and render nodes. */
int transport_add_device(struct transport *t, struct drm_device *dev);
/* Serves the sw_sync node: each connection is a software timeline (/dev/sw_sync). */
int transport_add_sw_sync(struct transport *t);
/* Closes every connection (releasing its file) and removes the node sockets. */
void transport_destroy(struct transport *t);

#endif
