/*
 * sync_file and opaque syncobj fds: one end of a socketpair per fd, the
 * daemon's end watched for hang-up, the client end recognised by its inode.
 * See redox-drm/sync_file.h for the representation and why.
 */
#include "redox-drm/sync_file.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "redox-drm/fence.h"
#include "redox-drm/loop.h"
#include "redox-drm/syncobj.h"

enum fdobj_kind { FDOBJ_SYNC_FILE, FDOBJ_SYNCOBJ };

struct fdobj {
	enum fdobj_kind kind;
	struct event_loop *loop;
	struct event_source *src;
	int fd;    /* the daemon's end */
	dev_t dev; /* the client end's identity */
	ino_t ino;
	struct fdobj *hnext;

	struct drm_fence *fence; /* sync_file */
	struct drm_fence_cb cb;
	bool armed;
	char name[32];           /* given by SYNC_IOC_MERGE; empty: derived from the fence */

	struct drm_syncobj *syncobj; /* syncobj fd */
};

/* The registry: every fd a client may hand back, by inode. One per daemon (fds cross devices). */
static struct fdobj **buckets;
static unsigned int nbuckets, count;

static unsigned int bucket_of(dev_t dev, ino_t ino, unsigned int n)
{
	uint64_t h = ((uint64_t)ino ^ ((uint64_t)dev << 32)) * 0x9e3779b97f4a7c15ull;
	return (unsigned int)(h >> 40) & (n - 1);
}

static int registry_insert(struct fdobj *o)
{
	if (count >= nbuckets * 2u) {
		unsigned int n = nbuckets ? nbuckets * 2 : 64;
		struct fdobj **b = calloc(n, sizeof(*b));
		if (!b) {
			if (!nbuckets)
				return -ENOMEM;
		} else {
			for (unsigned int i = 0; i < nbuckets; i++) {
				while (buckets[i]) {
					struct fdobj *e = buckets[i];
					buckets[i] = e->hnext;
					unsigned int k = bucket_of(e->dev, e->ino, n);
					e->hnext = b[k];
					b[k] = e;
				}
			}
			free(buckets);
			buckets = b;
			nbuckets = n;
		}
	}
	unsigned int k = bucket_of(o->dev, o->ino, nbuckets);
	o->hnext = buckets[k];
	buckets[k] = o;
	count++;
	return 0;
}

static void registry_remove(struct fdobj *o)
{
	for (struct fdobj **p = &buckets[bucket_of(o->dev, o->ino, nbuckets)]; *p; p = &(*p)->hnext) {
		if (*p == o) {
			*p = o->hnext;
			count--;
			break;
		}
	}
	if (!count) {
		free(buckets);
		buckets = NULL;
		nbuckets = 0;
	}
}

static struct fdobj *lookup(int fd, enum fdobj_kind kind)
{
	struct stat st;
	if (fd < 0 || !nbuckets || fstat(fd, &st) < 0 || !S_ISSOCK(st.st_mode))
		return NULL;
	for (struct fdobj *o = buckets[bucket_of(st.st_dev, st.st_ino, nbuckets)]; o; o = o->hnext)
		if (o->dev == st.st_dev && o->ino == st.st_ino)
			return o->kind == kind ? o : NULL;
	return NULL;
}

static void fdobj_free(struct fdobj *o)
{
	registry_remove(o);
	event_source_remove(o->src);
	close(o->fd);
	if (o->armed)
		drm_fence_remove_callback(o->fence, &o->cb);
	drm_fence_put(o->fence);
	if (o->syncobj)
		drm_syncobj_put(o->syncobj);
	free(o);
}

/* Every client copy is closed: nobody can name this object through the fd any more. */
static void fdobj_event(void *data, uint32_t events)
{
	if (events & (EPOLLHUP | EPOLLERR))
		fdobj_free(data);
}

static int fdobj_create(struct event_loop *loop, struct fdobj *o)
{
	int sv[2];
	struct stat st;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	/* The daemon never reads its end; this also makes the client's writes fail instead of queueing. */
	shutdown(sv[0], SHUT_RD);
	int r = 0;
	if (fstat(sv[1], &st) < 0)
		r = -errno;
	o->loop = loop;
	o->fd = sv[0];
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	/* No events asked for: epoll always reports the hang-up. */
	if (!r && !(o->src = event_loop_add_fd(loop, sv[0], 0, fdobj_event, o)))
		r = -ENOMEM;
	if (!r && (r = registry_insert(o)) < 0)
		event_source_remove(o->src);
	if (r) {
		close(sv[0]);
		close(sv[1]);
		return r;
	}
	return sv[1];
}

/* ---- sync_file ---- */

/* What makes the client's fd readable, as a signalled sync_file polls. */
static void sync_file_mark(struct fdobj *o)
{
	static const char one = 1;
	send(o->fd, &one, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void sync_file_signaled(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	struct fdobj *o = (struct fdobj *)((char *)cb - offsetof(struct fdobj, cb));
	o->armed = false;
	sync_file_mark(o);
}

static int sync_file_create_named(struct event_loop *loop, struct drm_fence *fence, const char *name)
{
	if (!loop || !fence)
		return -EINVAL;
	struct fdobj *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->kind = FDOBJ_SYNC_FILE;
	o->fence = drm_fence_get(fence);
	if (name)
		snprintf(o->name, sizeof(o->name), "%s", name);
	int fd = fdobj_create(loop, o);
	if (fd < 0) {
		drm_fence_put(o->fence);
		free(o);
		return fd;
	}
	if (drm_fence_add_callback(fence, &o->cb, sync_file_signaled) == 0)
		o->armed = true;
	else
		sync_file_mark(o);
	return fd;
}

int drm_sync_file_create(struct event_loop *loop, struct drm_fence *fence)
{
	return sync_file_create_named(loop, fence, NULL);
}

struct drm_fence *drm_sync_file_get_fence(int fd)
{
	struct fdobj *o = lookup(fd, FDOBJ_SYNC_FILE);
	return o ? drm_fence_get(o->fence) : NULL;
}

int drm_sync_file_merge(int fd1, int fd2, const char *name, int *out_fd)
{
	if (fd1 < 0)
		return -EBADF;
	struct fdobj *a = lookup(fd1, FDOBJ_SYNC_FILE);
	if (!a)
		return -ENOTTY; /* the ioctl does not exist on other files */
	struct fdobj *b = lookup(fd2, FDOBJ_SYNC_FILE);
	if (!b)
		return -ENOENT;
	struct drm_fence *pair[2] = {a->fence, b->fence};
	struct drm_fence *merged = drm_fence_unwrap_merge(2, pair);
	if (!merged)
		return -ENOMEM;
	char n[32];
	snprintf(n, sizeof(n), "%s", name ? name : "");
	int fd = sync_file_create_named(a->loop, merged, n);
	drm_fence_put(merged);
	if (fd < 0)
		return fd;
	*out_fd = fd;
	return 0;
}

struct info_state {
	struct sync_fence_info *out;
	uint32_t n, max;
	int status;
};

static void count_fence(struct drm_fence *f, void *data)
{
	(*(uint32_t *)data)++;
}

static void fill_fence(struct drm_fence *f, void *data)
{
	struct info_state *s = data;
	if (s->n >= s->max)
		return;
	struct sync_fence_info *fi = &s->out[s->n++];
	memset(fi, 0, sizeof(*fi));
	snprintf(fi->obj_name, sizeof(fi->obj_name), "%s", drm_fence_timeline_name(f));
	snprintf(fi->driver_name, sizeof(fi->driver_name), "%s", drm_fence_driver_name(f));
	fi->status = drm_fence_get_status(f);
	fi->timestamp_ns = f->signaled ? f->timestamp_ns : 0;
	/* The first fence not (cleanly) signalled decides the file's status. */
	if (s->status > 0)
		s->status = fi->status;
}

int drm_sync_file_info(int fd, struct sync_file_info *info, struct sync_fence_info *fences, uint32_t max)
{
	if (fd < 0)
		return -EBADF;
	struct fdobj *o = lookup(fd, FDOBJ_SYNC_FILE);
	if (!o)
		return -ENOTTY;
	if (info->flags || info->pad)
		return -EINVAL;
	uint32_t n = 0;
	drm_fence_unwrap_for_each(o->fence, count_fence, &n);
	if (!info->num_fences) {
		/* Only the count was asked for. */
		info->status = drm_fence_get_status(o->fence);
	} else {
		if (info->num_fences < n)
			return -EINVAL;
		if (n > max || !fences)
			return -ENOMEM;
		struct info_state s = {.out = fences, .max = n, .status = 1};
		drm_fence_unwrap_for_each(o->fence, fill_fence, &s);
		info->status = s.status;
		n = s.n; /* walking again may have collected signalled links */
	}
	if (o->name[0]) {
		snprintf(info->name, sizeof(info->name), "%s", o->name);
	} else {
		struct drm_fence *f = o->fence;
		snprintf(info->name, sizeof(info->name), "%s-%s%llu-%lld", drm_fence_driver_name(f),
			 drm_fence_timeline_name(f), (unsigned long long)f->context, (long long)f->seqno);
	}
	info->num_fences = n;
	return 0;
}

/* ---- syncobj fds ---- */

int drm_syncobj_fd_create(struct event_loop *loop, struct drm_syncobj *syncobj)
{
	if (!loop || !syncobj)
		return -EINVAL;
	struct fdobj *o = calloc(1, sizeof(*o));
	if (!o)
		return -ENOMEM;
	o->kind = FDOBJ_SYNCOBJ;
	o->syncobj = drm_syncobj_get(syncobj);
	int fd = fdobj_create(loop, o);
	if (fd < 0) {
		drm_syncobj_put(o->syncobj);
		free(o);
	}
	return fd;
}

struct drm_syncobj *drm_syncobj_fd_get(int fd)
{
	struct fdobj *o = lookup(fd, FDOBJ_SYNCOBJ);
	return o ? drm_syncobj_get(o->syncobj) : NULL;
}

unsigned int drm_fdobj_count(void)
{
	return count;
}

void drm_fdobj_loop_fini(struct event_loop *loop)
{
	for (unsigned int i = 0; i < nbuckets;) {
		struct fdobj *o = buckets[i];
		while (o && o->loop != loop)
			o = o->hnext;
		if (!o) {
			i++;
			continue;
		}
		unsigned int before = nbuckets;
		fdobj_free(o);
		if (nbuckets != before)
			break; /* the registry emptied and was freed */
	}
}
