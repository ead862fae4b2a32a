/* The wire and the marshaller, both sides: round trips, and malformed or hostile messages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <amdgpu_drm.h>
#include <drm.h>
#include <i915_drm.h>

#include "call.h"
#include "harness.h"
#include "redox-drm/client.h"
#include "redox-drm/driver.h"
#include "redox-drm/ioctl_layout.h"
#include "redox-drm/wire.h"

struct fixture {
	struct drm_device *dev;
	struct drm_file *file;
	struct test_channel ch;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->dev = test_device_create(DRIVER_GEM | DRIVER_RENDER);
	f->file = drm_file_open(&f->dev->primary, 1000, 0);
	assert_non_null(f->file);
	assert_int_equal(test_channel_start(&f->ch, f->file, 1000, 0), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	test_channel_stop(&f->ch);
	test_device_destroy(f->dev);
	free(f);
	return 0;
}

static void version_round_trip(void **state)
{
	struct fixture *f = *state;
	struct drm_version v = {0};
	assert_int_equal(rdrm_call(f->ch.fd, "testdrv", DRM_IOCTL_VERSION, &v), 0);
	assert_int_equal(v.version_major, 3);
	assert_int_equal(v.version_minor, 7);
	assert_int_equal(v.version_patchlevel, 1);
	assert_int_equal(v.name_len, strlen("testdrv"));
	assert_int_equal(v.desc_len, strlen("test driver"));

	/* A short buffer gets a truncated copy and the full length; bytes past it stay untouched. */
	char name[5], date[64], desc[3];
	memset(name, '#', sizeof(name));
	memset(date, 0, sizeof(date));
	memset(desc, '#', sizeof(desc));
	v = (struct drm_version){.name_len = 4, .name = name, .date_len = sizeof(date), .date = date,
				 .desc_len = 2, .desc = desc};
	assert_int_equal(rdrm_call(f->ch.fd, "testdrv", DRM_IOCTL_VERSION, &v), 0);
	assert_memory_equal(name, "test#", 5);
	assert_string_equal(date, "20260101");
	assert_memory_equal(desc, "te#", 3);
	assert_int_equal(v.name_len, 7);
	assert_ptr_equal(v.name, name); /* the client's pointers come back unchanged */
}

static void null_pointer_with_length_faults(void **state)
{
	struct fixture *f = *state;
	/* drm_copy_field skips a NULL buffer and still reports the length. */
	struct drm_version v = {.name_len = 16, .name = NULL};
	assert_int_equal(rdrm_call(f->ch.fd, "testdrv", DRM_IOCTL_VERSION, &v), 0);
	assert_int_equal(v.name_len, 7);
	/* GET_UNIQUE copies without that check: copy_to_user(NULL) is EFAULT, here too. */
	struct drm_set_version sv = {.drm_di_major = 1, .drm_di_minor = 1, .drm_dd_major = -1};
	assert_int_equal(rdrm_call(f->ch.fd, "testdrv", DRM_IOCTL_SET_VERSION, &sv), 0);
	struct drm_unique u = {.unique_len = 64, .unique = NULL};
	assert_int_equal(rdrm_call(f->ch.fd, "testdrv", DRM_IOCTL_GET_UNIQUE, &u), -EFAULT);
	char buf[64] = {0};
	u = (struct drm_unique){.unique_len = sizeof(buf), .unique = buf};
	assert_int_equal(rdrm_call(f->ch.fd, "testdrv", DRM_IOCTL_GET_UNIQUE, &u), 0);
	assert_string_equal(buf, "pci:0000:42:03.1");
}

static void error_still_copies_struct_out(void **state)
{
	struct fixture *f = *state;
	struct drm_set_version sv = {.drm_di_major = 9, .drm_di_minor = 0, .drm_dd_major = -1};
	assert_int_equal(rdrm_call(f->ch.fd, "testdrv", DRM_IOCTL_SET_VERSION, &sv), -EINVAL);
	assert_int_equal(sv.drm_di_major, 1);
	assert_int_equal(sv.drm_di_minor, 4);
	assert_int_equal(sv.drm_dd_major, 3);
	assert_int_equal(sv.drm_dd_minor, 7);
}

static void unknown_ioctls_refused(void **state)
{
	struct fixture *f = *state;
	char buf[16] = {0};
	/* A DRM number with no layout: EINVAL without sending; a foreign type: ENOTTY. */
	assert_int_equal(rdrm_call(f->ch.fd, "testdrv", DRM_IOWR(0x3e, struct drm_auth), buf), -EINVAL);
	assert_int_equal(rdrm_call(f->ch.fd, "testdrv", _IOR('T', 1, int), buf), -ENOTTY);
	/* A driver ioctl the driver does not have. */
	assert_int_equal(rdrm_call(f->ch.fd, "testdrv", DRM_IOWR(0x40, struct drm_auth), buf), -EINVAL);
}

static void size_tolerance(void **state)
{
	struct fixture *f = *state;
	/* Shorter struct (an older header): the daemon zero-extends. GET_CAP with only the capability. */
	struct { uint64_t capability; } shortcap = {DRM_CAP_TIMESTAMP_MONOTONIC};
	unsigned long short_cmd = DRM_IOWR(0x0c, shortcap);
	assert_int_equal(rdrm_call(f->ch.fd, "testdrv", short_cmd, &shortcap), 0);
	/* Longer struct (a newer header): the extra is ignored and comes back zeroed by nobody. */
	struct { struct drm_get_cap cap; uint64_t extra; } longcap = {{DRM_CAP_TIMESTAMP_MONOTONIC, 0}, 0x55};
	unsigned long long_cmd = DRM_IOWR(0x0c, longcap);
	assert_int_equal(rdrm_call(f->ch.fd, "testdrv", long_cmd, &longcap), 0);
	assert_int_equal(longcap.cap.value, 1);
}

/* Sends a raw message on the channel and returns the reply's result. */
static int raw_call(int fd, const struct rdrm_wire_hdr *hdr, const void *payload, size_t len,
		    const int *fds, unsigned nfds)
{
	struct iovec iov = {.iov_base = (void *)payload, .iov_len = len};
	assert_int_equal(rdrm_wire_send(fd, hdr, &iov, 1, fds, nfds), 0);
	struct rdrm_wire_msg reply;
	assert_int_equal(rdrm_wire_recv(fd, &reply, 0), 0);
	assert_int_equal(reply.hdr.type, RDRM_MSG_REPLY);
	int r = reply.hdr.result;
	rdrm_wire_msg_release(&reply);
	return r;
}

static void truncated_and_trailing_payloads(void **state)
{
	struct fixture *f = *state;
	struct drm_get_cap cap = {.capability = DRM_CAP_TIMESTAMP_MONOTONIC};
	struct rdrm_wire_hdr hdr = {.type = RDRM_MSG_IOCTL, .cmd = DRM_IOCTL_GET_CAP};
	assert_int_equal(raw_call(f->ch.fd, &hdr, &cap, sizeof(cap), NULL, 0), 0);
	/* Shorter than the struct the number promises. */
	assert_int_equal(raw_call(f->ch.fd, &hdr, &cap, 8, NULL, 0), -EINVAL);
	/* Bytes after the struct that no array accounts for. */
	uint8_t big[64] = {0};
	memcpy(big, &cap, sizeof(cap));
	assert_int_equal(raw_call(f->ch.fd, &hdr, big, sizeof(big), NULL, 0), -EINVAL);

	/* VERSION claiming a name array longer than what travelled (an IN array would need it). */
	struct drm_unique u = {.unique_len = 1u << 30, .unique = (char *)0x1000};
	struct rdrm_wire_hdr uh = {.type = RDRM_MSG_IOCTL, .cmd = DRM_IOCTL_GET_UNIQUE};
	/* unique_len beyond the table's bound is refused before anything is allocated. */
	assert_int_equal(raw_call(f->ch.fd, &uh, &u, sizeof(u), NULL, 0), -EINVAL);
}

static void fds_where_none_belong(void **state)
{
	struct fixture *f = *state;
	struct drm_get_cap cap = {.capability = DRM_CAP_TIMESTAMP_MONOTONIC};
	struct rdrm_wire_hdr hdr = {.type = RDRM_MSG_IOCTL, .cmd = DRM_IOCTL_GET_CAP, .fd_mask = 1};
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_int_equal(raw_call(f->ch.fd, &hdr, &cap, sizeof(cap), &fd, 1), -EINVAL);
	hdr.fd_mask = 0;
	/* An fd that no field names. */
	assert_int_equal(raw_call(f->ch.fd, &hdr, &cap, sizeof(cap), &fd, 1), -EINVAL);
	close(fd);
}

static void garbage_headers(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	struct rdrm_wire_msg msg;
	/* Too short for a header. */
	assert_int_equal(send(sv[0], "abc", 3, 0), 3);
	assert_int_equal(rdrm_wire_recv(sv[1], &msg, 0), -EPROTO);
	/* Wrong magic. */
	struct rdrm_wire_hdr h = {.magic = 0x12345678, .type = RDRM_MSG_IOCTL};
	assert_int_equal(send(sv[0], &h, sizeof(h), 0), (ssize_t)sizeof(h));
	assert_int_equal(rdrm_wire_recv(sv[1], &msg, 0), -EPROTO);
	/* Size field disagreeing with the packet. */
	h.magic = RDRM_WIRE_MAGIC;
	h.size = 100;
	assert_int_equal(send(sv[0], &h, sizeof(h), 0), (ssize_t)sizeof(h));
	assert_int_equal(rdrm_wire_recv(sv[1], &msg, 0), -EPROTO);
	/* Longer than any inline message may be. */
	size_t huge = sizeof(h) + RDRM_WIRE_INLINE_MAX + 100;
	uint8_t *buf = calloc(1, huge);
	memcpy(buf, &h, sizeof(h));
	int sz = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (send(sv[0], buf, huge, 0) == (ssize_t)huge)
		assert_int_equal(rdrm_wire_recv(sv[1], &msg, 0), -EPROTO);
	free(buf);
	/* An out-of-line payload in a memfd that is not sealed (could change under the reader). */
	int mfd = memfd_create("x", MFD_CLOEXEC);
	assert_int_equal(ftruncate(mfd, 4096), 0);
	h.flags = RDRM_WIRE_F_OOL;
	h.size = 4096;
	struct iovec iov = {.iov_base = &h, .iov_len = sizeof(h)};
	union { struct cmsghdr c; char b[CMSG_SPACE(sizeof(int))]; } cb;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb.b, .msg_controllen = sizeof(cb.b)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &mfd, sizeof(int));
	assert_int_equal(sendmsg(sv[0], &mh, 0), (ssize_t)sizeof(h));
	assert_int_equal(rdrm_wire_recv(sv[1], &msg, 0), -EPROTO);
	close(mfd);
	close(sv[0]);
	close(sv[1]);
}

static void out_of_line_payload(void **state)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	size_t n = 3u << 20;
	uint8_t *data = malloc(n);
	for (size_t i = 0; i < n; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	struct rdrm_wire_hdr h = {.type = RDRM_MSG_IOCTL, .cmd = 42};
	struct iovec iov[2] = {{data, 1000}, {data + 1000, n - 1000}};
	assert_int_equal(rdrm_wire_send(sv[0], &h, iov, 2, NULL, 0), 0);
	struct rdrm_wire_msg msg;
	assert_int_equal(rdrm_wire_recv(sv[1], &msg, 0), 0);
	assert_int_equal(msg.hdr.size, n);
	assert_int_equal(msg.hdr.cmd, 42);
	assert_int_equal(msg.nfds, 0);
	assert_memory_equal(msg.payload, data, n);
	rdrm_wire_msg_release(&msg);
	free(data);
	close(sv[0]);
	close(sv[1]);
}

/* ATOMIC's nested counts: the walker sums per-object counts for the props and values arrays. */
static uint64_t seen_bytes[16];
static int nseen;

static int record(void *ctx, const struct rdrm_array *a, uint64_t uptr, uint64_t count, uint64_t bytes,
		  const void **data)
{
	seen_bytes[nseen++] = bytes;
	*data = (const void *)(uintptr_t)uptr;
	return 0;
}

static void derived_counts(void **state)
{
	uint32_t objs[2] = {31, 32};
	uint32_t counts[2] = {3, 2};
	uint32_t props[5] = {0};
	uint64_t values[5] = {0};
	struct drm_mode_atomic at = {.count_objs = 2, .objs_ptr = (uintptr_t)objs,
				     .count_props_ptr = (uintptr_t)counts, .props_ptr = (uintptr_t)props,
				     .prop_values_ptr = (uintptr_t)values};
	const struct rdrm_ioctl_info *info = rdrm_ioctl_lookup("any", DRM_IOCTL_MODE_ATOMIC);
	assert_non_null(info);
	struct rdrm_walk_visitor v = {.visit = record};
	nseen = 0;
	assert_int_equal(rdrm_layout_walk(&info->layout, &at, sizeof(at), &v), 0);
	assert_int_equal(nseen, 4);
	assert_int_equal(seen_bytes[0], 8);
	assert_int_equal(seen_bytes[1], 8);
	assert_int_equal(seen_bytes[2], 20);
	assert_int_equal(seen_bytes[3], 40);
	/* Absurd counts are refused, not allocated. */
	at.count_objs = 0xffffffffu;
	nseen = 0;
	assert_int_equal(rdrm_layout_walk(&info->layout, &at, sizeof(at), &v), -EINVAL);
}

/*
 * CS: a pointer to an array of pointers, each to a chunk struct, each to its
 * data; a BO_HANDLES chunk's data points on to its BO list. The walk visits
 * them depth first, with the sizes the structs give.
 */
static uint64_t seen_uptr[16];

static int record_ptr(void *ctx, const struct rdrm_array *a, uint64_t uptr, uint64_t count, uint64_t bytes,
		      const void **data)
{
	(void)ctx;
	(void)a;
	(void)count;
	if (nseen < 16) {
		seen_uptr[nseen] = uptr;
		seen_bytes[nseen] = bytes;
	}
	nseen++;
	*data = (const void *)(uintptr_t)uptr;
	return 0;
}

/* Records every array a walk visits: where and how many bytes. */
struct seen_array {
	uint64_t uptr, bytes;
	uint8_t dir;
};
static struct seen_array seen[64];

static int record_all(void *ctx, const struct rdrm_array *a, uint64_t uptr, uint64_t count, uint64_t bytes,
		      const void **data)
{
	(void)ctx;
	(void)count;
	if (nseen < 64)
		seen[nseen] = (struct seen_array){uptr, bytes, a->dir};
	nseen++;
	*data = (const void *)(uintptr_t)uptr;
	return 0;
}

/* Counts nothing and hands back no data: the walk reads only the parent. */
static int parent_only(void *ctx, const struct rdrm_array *a, uint64_t uptr, uint64_t count, uint64_t bytes,
		       const void **data)
{
	(void)ctx;
	(void)a;
	(void)uptr;
	(void)count;
	(void)bytes;
	*data = NULL;
	return 0;
}

/*
 * A struct shorter than the header's (an older client, or a hostile one) is
 * walked as the bytes that arrived: a field a count or a flag comes from that
 * lies beyond them reads as 0. Every layout of every table, at every short
 * size, in a heap block of exactly that size (ASan sees a read past it), with
 * every byte 0x00, 0xff or set so that selector fields (i915 context params,
 * flags) take the value that gates a derived count.
 */
static void short_structs_read_in_bounds(void **state)
{
	(void)state;
	static const char *const drivers[] = {"amdgpu", "i915"};
	static const unsigned dirs[] = {_IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE};
	static const uint8_t fills[] = {0x00, 0xff, 0x05, 0x0a};
	struct rdrm_walk_visitor v = {.visit = parent_only};
	int layouts = 0;
	for (unsigned d = 0; d < 2; d++)
		for (unsigned nr = 0; nr < 0x100; nr++)
			for (unsigned k = 0; k < 3; k++) {
				const struct rdrm_ioctl_info *info =
					rdrm_ioctl_lookup(drivers[d], _IOC(dirs[k], DRM_IOCTL_BASE, nr, 0));
				if (!info || !info->layout.narrays)
					continue;
				layouts++;
				size_t full = _IOC_SIZE(info->cmd);
				for (size_t n = 1; n < full; n++)
					for (unsigned f = 0; f < sizeof(fills); f++) {
						uint8_t *p = malloc(n);
						assert_non_null(p);
						memset(p, fills[f], n);
						(void)rdrm_layout_walk(&info->layout, p, n, &v);
						free(p);
					}
			}
	assert_true(layouts > 20);
}

/* Driver numbers: libdrm sends GEM_VA (an _IOW) as _IOWR; the kernel takes it by number, so does the table. */
static void driver_number_other_direction(void **state)
{
	(void)state;
	unsigned long iowr = DRM_IOWR(DRM_COMMAND_BASE + DRM_AMDGPU_GEM_VA, struct drm_amdgpu_gem_va);
	const struct rdrm_ioctl_info *info = rdrm_ioctl_lookup("amdgpu", iowr);
	assert_non_null(info);
	assert_int_equal(info->cmd, DRM_IOCTL_AMDGPU_GEM_VA);
	/* Only a number the driver has: an unknown one stays unknown in any direction. */
	assert_null(rdrm_ioctl_lookup("amdgpu", DRM_IOWR(DRM_COMMAND_BASE + 0x3f, struct drm_amdgpu_gem_va)));
}

static void nested_pointer_arrays(void **state)
{
	(void)state;
	uint32_t ib[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct drm_amdgpu_bo_list_entry entries[3] = {{.bo_handle = 1}, {.bo_handle = 2}, {.bo_handle = 3}};
	struct drm_amdgpu_bo_list_in bl = {.bo_number = 3, .bo_info_size = sizeof(entries[0]),
					   .bo_info_ptr = (uintptr_t)entries};
	struct drm_amdgpu_cs_chunk chunks[2] = {
		{.chunk_id = AMDGPU_CHUNK_ID_IB, .length_dw = 8, .chunk_data = (uintptr_t)ib},
		{.chunk_id = AMDGPU_CHUNK_ID_BO_HANDLES, .length_dw = sizeof(bl) / 4, .chunk_data = (uintptr_t)&bl},
	};
	uint64_t ptrs[2] = {(uintptr_t)&chunks[0], (uintptr_t)&chunks[1]};
	union drm_amdgpu_cs cs = {.in = {.ctx_id = 1, .num_chunks = 2, .chunks = (uintptr_t)ptrs}};
	const struct rdrm_ioctl_info *info = rdrm_ioctl_lookup("amdgpu", DRM_IOCTL_AMDGPU_CS);
	assert_non_null(info);
	struct rdrm_walk_visitor v = {.visit = record_ptr};
	nseen = 0;
	assert_int_equal(rdrm_layout_walk(&info->layout, &cs, sizeof(cs), &v), 0);
	assert_int_equal(nseen, 6);
	assert_int_equal(seen_uptr[0], (uintptr_t)ptrs);
	assert_int_equal(seen_bytes[0], 16);
	assert_int_equal(seen_uptr[1], (uintptr_t)&chunks[0]);
	assert_int_equal(seen_bytes[1], sizeof(chunks[0]));
	assert_int_equal(seen_uptr[2], (uintptr_t)ib);
	assert_int_equal(seen_bytes[2], 32);
	assert_int_equal(seen_uptr[3], (uintptr_t)&chunks[1]);
	assert_int_equal(seen_uptr[4], (uintptr_t)&bl);
	assert_int_equal(seen_bytes[4], sizeof(bl));
	assert_int_equal(seen_uptr[5], (uintptr_t)entries);
	assert_int_equal(seen_bytes[5], sizeof(entries));

	/* An IB chunk's data is only dwords: nothing further, whatever it contains. */
	chunks[1].chunk_id = AMDGPU_CHUNK_ID_IB;
	nseen = 0;
	assert_int_equal(rdrm_layout_walk(&info->layout, &cs, sizeof(cs), &v), 0);
	assert_int_equal(nseen, 5);
	chunks[1].chunk_id = AMDGPU_CHUNK_ID_BO_HANDLES;

	/* A NULL chunk pointer carries nothing (the daemon faults on use, as the kernel). */
	ptrs[0] = 0;
	nseen = 0;
	assert_int_equal(rdrm_layout_walk(&info->layout, &cs, sizeof(cs), &v), 0);
	assert_int_equal(nseen, 5);
	assert_int_equal(seen_uptr[1], 0);
	ptrs[0] = (uintptr_t)&chunks[0];

	/* Absurd counts at every level are refused before anything is copied. */
	cs.in.num_chunks = 0xffffffffu;
	assert_int_equal(rdrm_layout_walk(&info->layout, &cs, sizeof(cs), &v), -EINVAL);
	cs.in.num_chunks = 2;
	chunks[0].length_dw = 0xffffffffu;
	assert_int_equal(rdrm_layout_walk(&info->layout, &cs, sizeof(cs), &v), -EINVAL);
	chunks[0].length_dw = 8;
	bl.bo_info_size = 0x10000;
	bl.bo_number = 0x10000;
	assert_int_equal(rdrm_layout_walk(&info->layout, &cs, sizeof(cs), &v), -EINVAL);
}

/* The same message through the client marshaller and the daemon's decoder: every level arrives. */
static int nested_handler(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)file;
	union drm_amdgpu_cs *cs = data;
	uint64_t ptrs[4];
	uint32_t sum = 0;
	if (cs->in.num_chunks > 4)
		return -EINVAL;
	int r = drm_copy_from_user(call, ptrs, cs->in.chunks, cs->in.num_chunks * sizeof(uint64_t));
	for (uint32_t i = 0; !r && i < cs->in.num_chunks; i++) {
		struct drm_amdgpu_cs_chunk c;
		r = drm_copy_from_user(call, &c, ptrs[i], sizeof(c));
		if (!r && c.length_dw > 1u << 16)
			r = -EINVAL;
		uint32_t *d = r ? NULL : malloc(c.length_dw * 4u + 4u);
		if (!r && !d)
			r = -ENOMEM;
		if (!r)
			r = drm_copy_from_user(call, d, c.chunk_data, c.length_dw * 4u);
		for (uint32_t k = 0; !r && k < c.length_dw; k++)
			sum += d[k];
		if (!r && c.chunk_id == AMDGPU_CHUNK_ID_BO_HANDLES) {
			struct drm_amdgpu_bo_list_in bl;
			struct drm_amdgpu_bo_list_entry e[4];
			memcpy(&bl, d, sizeof(bl));
			if (bl.bo_number > 4 || bl.bo_info_size != sizeof(e[0]))
				r = -EINVAL;
			if (!r)
				r = drm_copy_from_user(call, e, bl.bo_info_ptr, bl.bo_number * sizeof(e[0]));
			for (uint32_t k = 0; !r && k < bl.bo_number; k++)
				sum += e[k].bo_handle * 1000u;
		}
		free(d);
	}
	/* Memory that did not travel faults. */
	if (!r && drm_copy_from_user(call, &sum + 0, 0x1000, 4) != -EFAULT)
		r = -EIO;
	cs->out.handle = sum;
	return r;
}

static void nested_pointer_arrays_round_trip(void **state)
{
	(void)state;
	struct drm_device *dev = test_device_create(DRIVER_GEM | DRIVER_RENDER);
	struct drm_file *file = drm_file_open(&dev->render, 1000, 1000);
	struct test_channel ch;
	assert_int_equal(test_channel_start(&ch, file, 1000, 1000), 0);
	uint32_t ib[3] = {1, 2, 3};
	struct drm_amdgpu_bo_list_entry entries[2] = {{.bo_handle = 4}, {.bo_handle = 5}};
	struct drm_amdgpu_bo_list_in bl = {.bo_number = 2, .bo_info_size = sizeof(entries[0]),
					   .bo_info_ptr = (uintptr_t)entries};
	struct drm_amdgpu_cs_chunk chunks[2] = {
		{.chunk_id = AMDGPU_CHUNK_ID_IB, .length_dw = 3, .chunk_data = (uintptr_t)ib},
		{.chunk_id = AMDGPU_CHUNK_ID_BO_HANDLES, .length_dw = sizeof(bl) / 4, .chunk_data = (uintptr_t)&bl},
	};
	uint64_t ptrs[2] = {(uintptr_t)&chunks[0], (uintptr_t)&chunks[1]};
	union drm_amdgpu_cs cs = {.in = {.ctx_id = 1, .num_chunks = 2, .chunks = (uintptr_t)ptrs}};
	/* The test driver, named amdgpu, takes the CS number; the amdgpu layout decides what travels. */
	static const struct drm_ioctl_desc ioctls[DRM_AMDGPU_CS + 1] = {
		DRM_IOCTL_DEF_DRV(AMDGPU_CS, nested_handler, DRM_RENDER_ALLOW),
	};
	struct drm_driver *drv = (struct drm_driver *)dev->driver;
	drv->name = "amdgpu";
	drv->ioctls = ioctls;
	drv->num_ioctls = DRM_AMDGPU_CS + 1;
	assert_int_equal(rdrm_call(ch.fd, "amdgpu", DRM_IOCTL_AMDGPU_CS, &cs), 0);
	uint32_t bl_sum = 0;
	for (unsigned k = 0; k < sizeof(bl) / 4; k++)
		bl_sum += ((uint32_t *)&bl)[k];
	assert_int_equal(cs.out.handle, 1 + 2 + 3 + bl_sum + 4000 + 5000);
	test_channel_stop(&ch);
	test_device_destroy(dev);
}

/*
 * A request too large for the client's stack buffer is built again in one
 * allocation; the nested arrays after the big one (the BO list inside the
 * second chunk) must still arrive, read from the rebuilt copy.
 */
static void nested_arrays_beyond_the_stack_buffer(void **state)
{
	(void)state;
	struct drm_device *dev = test_device_create(DRIVER_GEM | DRIVER_RENDER);
	struct drm_file *file = drm_file_open(&dev->render, 1000, 1000);
	struct test_channel ch;
	assert_int_equal(test_channel_start(&ch, file, 1000, 1000), 0);
	enum { IB_DW = 4000 };
	uint32_t *ib = malloc(IB_DW * 4);
	uint32_t ib_sum = 0;
	for (uint32_t i = 0; i < IB_DW; i++)
		ib_sum += ib[i] = i + 1;
	struct drm_amdgpu_bo_list_entry entries[2] = {{.bo_handle = 4}, {.bo_handle = 5}};
	struct drm_amdgpu_bo_list_in bl = {.bo_number = 2, .bo_info_size = sizeof(entries[0]),
					   .bo_info_ptr = (uintptr_t)entries};
	struct drm_amdgpu_cs_chunk chunks[2] = {
		{.chunk_id = AMDGPU_CHUNK_ID_IB, .length_dw = IB_DW, .chunk_data = (uintptr_t)ib},
		{.chunk_id = AMDGPU_CHUNK_ID_BO_HANDLES, .length_dw = sizeof(bl) / 4, .chunk_data = (uintptr_t)&bl},
	};
	uint64_t ptrs[2] = {(uintptr_t)&chunks[0], (uintptr_t)&chunks[1]};
	union drm_amdgpu_cs cs = {.in = {.ctx_id = 1, .num_chunks = 2, .chunks = (uintptr_t)ptrs}};
	static const struct drm_ioctl_desc ioctls[DRM_AMDGPU_CS + 1] = {
		DRM_IOCTL_DEF_DRV(AMDGPU_CS, nested_handler, DRM_RENDER_ALLOW),
	};
	struct drm_driver *drv = (struct drm_driver *)dev->driver;
	drv->name = "amdgpu";
	drv->ioctls = ioctls;
	drv->num_ioctls = DRM_AMDGPU_CS + 1;
	assert_int_equal(rdrm_call(ch.fd, "amdgpu", DRM_IOCTL_AMDGPU_CS, &cs), 0);
	uint32_t bl_sum = 0;
	for (unsigned k = 0; k < sizeof(bl) / 4; k++)
		bl_sum += ((uint32_t *)&bl)[k];
	assert_int_equal(cs.out.handle, ib_sum + bl_sum + 4000 + 5000);
	free(ib);
	test_channel_stop(&ch);
	test_device_destroy(dev);
}

/* A receive while a borrowed payload is still being read (a signal handler's call) must not overwrite it. */
static void borrowed_payload_survives_nested_receive(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	char a[64], b[64];
	memset(a, 'a', sizeof(a));
	memset(b, 'b', sizeof(b));
	struct rdrm_wire_hdr h = {.type = RDRM_MSG_REPLY, .cmd = 1};
	struct iovec iov = {a, sizeof(a)};
	assert_int_equal(rdrm_wire_send(sv[0], &h, &iov, 1, NULL, 0), 0);
	iov.iov_base = b;
	h.cmd = 2;
	assert_int_equal(rdrm_wire_send(sv[0], &h, &iov, 1, NULL, 0), 0);
	struct rdrm_wire_msg outer, inner;
	assert_int_equal(rdrm_wire_recv_borrowed(sv[1], &outer, 0), 0);
	assert_int_equal(rdrm_wire_recv_borrowed(sv[1], &inner, 0), 0);
	assert_int_equal(outer.hdr.cmd, 1);
	assert_int_equal(inner.hdr.cmd, 2);
	assert_memory_equal(outer.payload, a, sizeof(a));
	assert_memory_equal(inner.payload, b, sizeof(b));
	rdrm_wire_msg_release(&inner);
	rdrm_wire_msg_release(&outer);
	/* Released, the buffer serves the next borrowed receive again. */
	assert_int_equal(rdrm_wire_send(sv[0], &h, &iov, 1, NULL, 0), 0);
	assert_int_equal(rdrm_wire_recv_borrowed(sv[1], &outer, 0), 0);
	assert_memory_equal(outer.payload, b, sizeof(b));
	rdrm_wire_msg_release(&outer);
	close(sv[0]);
	close(sv[1]);
}

/*
 * FENCE_TO_HANDLE's out fd shares its bytes with the input fence (a union):
 * the input must reach the handler intact, an fd comes back only on success
 * with an fd-returning request, and on failure the input bytes are never
 * taken for a daemon fd (and closed).
 */
static int to_handle_handler(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	(void)dev;
	(void)file;
	(void)call;
	union drm_amdgpu_fence_to_handle *t = data;
	if (t->in.fence.seq_no != 77 || (t->in.fence.ctx_id != 3 && t->in.fence.ring != 1))
		return -EIO; /* the input did not arrive intact */
	if (t->in.fence.ring == 1)
		return -EINVAL;
	if (t->in.what == AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ) {
		t->out.handle = 5;
		return 0;
	}
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	t->out.handle = (uint32_t)fd;
	return 0;
}

static void out_fd_overlaying_input(void **state)
{
	(void)state;
	struct drm_device *dev = test_device_create(DRIVER_GEM | DRIVER_RENDER);
	struct drm_file *file = drm_file_open(&dev->render, 1000, 1000);
	struct test_channel ch;
	assert_int_equal(test_channel_start(&ch, file, 1000, 1000), 0);
	static const struct drm_ioctl_desc ioctls[DRM_AMDGPU_FENCE_TO_HANDLE + 1] = {
		DRM_IOCTL_DEF_DRV(AMDGPU_FENCE_TO_HANDLE, to_handle_handler, DRM_RENDER_ALLOW),
	};
	struct drm_driver *drv = (struct drm_driver *)dev->driver;
	drv->name = "amdgpu";
	drv->ioctls = ioctls;
	drv->num_ioctls = DRM_AMDGPU_FENCE_TO_HANDLE + 1;

	/* A handle: no fd travels. */
	union drm_amdgpu_fence_to_handle t = {.in = {.fence = {.ctx_id = 3, .seq_no = 77},
						     .what = AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ}};
	assert_int_equal(rdrm_call(ch.fd, "amdgpu", DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE, &t), 0);
	assert_int_equal(t.out.handle, 5);
	/* An fd: a new descriptor of this process. */
	t = (union drm_amdgpu_fence_to_handle){.in = {.fence = {.ctx_id = 3, .seq_no = 77},
						      .what = AMDGPU_FENCE_TO_HANDLE_GET_SYNC_FILE_FD}};
	assert_int_equal(rdrm_call(ch.fd, "amdgpu", DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE, &t), 0);
	int got = (int)t.out.handle;
	assert_true(got > 2 && fcntl(got, F_GETFD) >= 0);
	close(got);
	/* A failure with ctx_id naming a descriptor of the daemon's side: nothing is closed. */
	int keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
	t = (union drm_amdgpu_fence_to_handle){.in = {.fence = {.ctx_id = (uint32_t)keep, .ring = 1, .seq_no = 77},
						      .what = AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ_FD}};
	assert_int_equal(rdrm_call(ch.fd, "amdgpu", DRM_IOCTL_AMDGPU_FENCE_TO_HANDLE, &t), -EINVAL);
	assert_true(fcntl(keep, F_GETFD) >= 0);
	close(keep);
	test_channel_stop(&ch);
	test_device_destroy(dev);
}

static int walk_i915(unsigned long cmd, const void *arg, size_t size)
{
	const struct rdrm_ioctl_info *info = rdrm_ioctl_lookup("i915", cmd);
	assert_non_null(info);
	struct rdrm_walk_visitor v = {.visit = record_all};
	nseen = 0;
	return rdrm_layout_walk(&info->layout, arg, size, &v);
}

/* EXECBUFFER2: objects, each object's relocations (nested), and cliprects_ptr by flag. */
static void i915_execbuf_layout(void **state)
{
	(void)state;
	struct drm_i915_gem_relocation_entry r0[3] = {0}, r2[1] = {0};
	struct drm_i915_gem_exec_object2 objs[3] = {
		{.handle = 1, .relocation_count = 3, .relocs_ptr = (uintptr_t)r0},
		{.handle = 2},
		{.handle = 3, .relocation_count = 1, .relocs_ptr = (uintptr_t)r2},
	};
	struct drm_i915_gem_execbuffer2 eb = {.buffers_ptr = (uintptr_t)objs, .buffer_count = 3};
	assert_int_equal(walk_i915(DRM_IOCTL_I915_GEM_EXECBUFFER2_WR, &eb, sizeof(eb)), 0);
	assert_int_equal(nseen, 5); /* objects, relocs of each object (0 for the second), then fences */
	assert_int_equal(seen[0].uptr, (uintptr_t)objs);
	assert_int_equal(seen[0].bytes, sizeof(objs));
	assert_int_equal(seen[0].dir, RDRM_INOUT);
	assert_int_equal(seen[1].uptr, (uintptr_t)r0);
	assert_int_equal(seen[1].bytes, sizeof(r0));
	assert_int_equal(seen[1].dir, RDRM_INOUT);
	assert_int_equal(seen[2].bytes, 0);
	assert_int_equal(seen[3].uptr, (uintptr_t)r2);
	assert_int_equal(seen[3].bytes, sizeof(r2));
	assert_int_equal(seen[4].bytes, 0); /* no FENCE_ARRAY: cliprects carry nothing */

	/* FENCE_ARRAY: cliprects_ptr is num_cliprects exec fences. */
	struct drm_i915_gem_exec_fence fences[4] = {0};
	eb.flags = I915_EXEC_FENCE_ARRAY;
	eb.cliprects_ptr = (uintptr_t)fences;
	eb.num_cliprects = 4;
	assert_int_equal(walk_i915(DRM_IOCTL_I915_GEM_EXECBUFFER2, &eb, sizeof(eb)), 0);
	assert_int_equal(nseen, 5);
	assert_int_equal(seen[4].uptr, (uintptr_t)fences);
	assert_int_equal(seen[4].bytes, sizeof(fences));

	/* USE_EXTENSIONS: a chain; the timeline node brings its handles and values. */
	struct drm_i915_gem_exec_fence th[2] = {0};
	uint64_t tv[2] = {0};
	struct drm_i915_gem_execbuffer_ext_timeline_fences tl = {
		.base = {.name = DRM_I915_GEM_EXECBUFFER_EXT_TIMELINE_FENCES},
		.fence_count = 2, .handles_ptr = (uintptr_t)th, .values_ptr = (uintptr_t)tv};
	struct i915_user_extension unknown = {.name = 77, .next_extension = (uintptr_t)&tl};
	tl.base.next_extension = (uintptr_t)&unknown;
	eb.flags = I915_EXEC_USE_EXTENSIONS;
	eb.num_cliprects = 0;
	eb.cliprects_ptr = (uintptr_t)&tl;
	assert_int_equal(walk_i915(DRM_IOCTL_I915_GEM_EXECBUFFER2, &eb, sizeof(eb)), 0);
	/* objects, 3 relocs, fence array (gated off), then: tl header, tl body, handles, values, unknown header */
	assert_int_equal(nseen, 10);
	assert_int_equal(seen[4].bytes, 0);
	assert_int_equal(seen[5].uptr, (uintptr_t)&tl);
	assert_int_equal(seen[5].bytes, sizeof(struct i915_user_extension));
	assert_int_equal(seen[6].uptr, (uintptr_t)&tl + sizeof(struct i915_user_extension));
	assert_int_equal(seen[6].bytes, sizeof(tl) - sizeof(struct i915_user_extension));
	assert_int_equal(seen[7].uptr, (uintptr_t)th);
	assert_int_equal(seen[7].bytes, sizeof(th));
	assert_int_equal(seen[8].uptr, (uintptr_t)tv);
	assert_int_equal(seen[8].bytes, sizeof(tv));
	/* The unknown node's header, and nothing after it (its next points back: no loop). */
	assert_int_equal(seen[9].uptr, (uintptr_t)&unknown);
	assert_int_equal(seen[9].bytes, sizeof(unknown));

	/* Both flags: neither reading of cliprects_ptr (the daemon refuses the call). */
	eb.flags = I915_EXEC_USE_EXTENSIONS | I915_EXEC_FENCE_ARRAY;
	eb.num_cliprects = 2;
	assert_int_equal(walk_i915(DRM_IOCTL_I915_GEM_EXECBUFFER2, &eb, sizeof(eb)), 0);
	assert_int_equal(nseen, 5);
	assert_int_equal(seen[4].bytes, 0);

	/* A self-referencing chain ends after the kernel's bound plus one. */
	struct i915_user_extension loop = {.name = DRM_I915_GEM_EXECBUFFER_EXT_TIMELINE_FENCES};
	struct drm_i915_gem_execbuffer_ext_timeline_fences self = {.base = loop};
	self.base.next_extension = (uintptr_t)&self;
	eb.flags = I915_EXEC_USE_EXTENSIONS;
	eb.num_cliprects = 0;
	eb.cliprects_ptr = (uintptr_t)&self;
	assert_int_equal(walk_i915(DRM_IOCTL_I915_GEM_EXECBUFFER2, &eb, sizeof(eb)), 0);
	assert_int_equal(nseen, 5 + 513 * 4);

	/* Absurd counts are refused before anything is sent. */
	eb.flags = 0;
	eb.buffer_count = 0xffffffffu;
	assert_int_equal(walk_i915(DRM_IOCTL_I915_GEM_EXECBUFFER2, &eb, sizeof(eb)), -EINVAL);
}

/* CONTEXT_CREATE_EXT's SETPARAM nodes and the parameter structs they point to. */
static void i915_context_layouts(void **state)
{
	(void)state;
	I915_DEFINE_CONTEXT_PARAM_ENGINES(engines, 2) = {
		.engines = {{I915_ENGINE_CLASS_RENDER, 0}, {I915_ENGINE_CLASS_COPY, 0}}};
	struct i915_user_extension balance = {.name = I915_CONTEXT_ENGINES_EXT_LOAD_BALANCE};
	engines.extensions = (uintptr_t)&balance;
	struct drm_i915_gem_context_create_ext_setparam p_eng = {
		.base = {.name = I915_CONTEXT_CREATE_EXT_SETPARAM},
		.param = {.param = I915_CONTEXT_PARAM_ENGINES, .size = sizeof(engines), .value = (uintptr_t)&engines}};
	struct drm_i915_gem_context_create_ext_setparam p_prio = {
		.base = {.name = I915_CONTEXT_CREATE_EXT_SETPARAM},
		.param = {.param = I915_CONTEXT_PARAM_PRIORITY, .value = 5}};
	p_eng.base.next_extension = (uintptr_t)&p_prio;
	struct drm_i915_gem_context_create_ext c = {.flags = I915_CONTEXT_CREATE_FLAGS_USE_EXTENSIONS,
						    .extensions = (uintptr_t)&p_eng};
	assert_int_equal(walk_i915(DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &c, sizeof(c)), 0);
	/* eng: header, body, engines struct, its extension's header, sseu (none); prio: header, body, 2× none */
	assert_int_equal(nseen, 9);
	assert_int_equal(seen[2].uptr, (uintptr_t)&engines);
	assert_int_equal(seen[2].bytes, sizeof(engines));
	assert_int_equal(seen[3].uptr, (uintptr_t)&balance);
	assert_int_equal(seen[3].bytes, sizeof(balance));
	assert_int_equal(seen[4].bytes, 0);
	assert_int_equal(seen[5].uptr, (uintptr_t)&p_prio);
	assert_int_equal(seen[7].bytes, 0); /* a scalar parameter: its value is no pointer */
	/* Without the flag the extensions field is not followed. */
	c.flags = 0;
	assert_int_equal(walk_i915(DRM_IOCTL_I915_GEM_CONTEXT_CREATE_EXT, &c, sizeof(c)), 0);
	assert_int_equal(nseen, 0);

	/* GETPARAM: SSEU goes both ways; an engine map (no longer answered) and scalars carry nothing. */
	struct drm_i915_gem_context_param_sseu sseu = {0};
	struct drm_i915_gem_context_param gp = {.param = I915_CONTEXT_PARAM_SSEU, .size = sizeof(sseu),
						.value = (uintptr_t)&sseu};
	assert_int_equal(walk_i915(DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &gp, sizeof(gp)), 0);
	assert_int_equal(nseen, 1);
	assert_int_equal(seen[0].bytes, sizeof(sseu));
	assert_int_equal(seen[0].dir, RDRM_INOUT);
	gp.param = I915_CONTEXT_PARAM_ENGINES;
	gp.size = sizeof(engines);
	gp.value = (uintptr_t)&engines;
	assert_int_equal(walk_i915(DRM_IOCTL_I915_GEM_CONTEXT_GETPARAM, &gp, sizeof(gp)), 0);
	assert_int_equal(seen[0].bytes, 0);
	/* SETPARAM: the engine map goes in, with its extension chain. */
	assert_int_equal(walk_i915(DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &gp, sizeof(gp)), 0);
	assert_int_equal(seen[0].uptr, (uintptr_t)&engines);
	assert_int_equal(seen[0].bytes, sizeof(engines));
	assert_int_equal(seen[0].dir, RDRM_IN);
	assert_int_equal(seen[1].uptr, (uintptr_t)&balance);
	gp.param = I915_CONTEXT_PARAM_VM;
	gp.size = 8;
	assert_int_equal(walk_i915(DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &gp, sizeof(gp)), 0);
	assert_int_equal(seen[0].bytes + seen[1].bytes, 0);
	/* An oversized parameter struct is refused before anything is sent. */
	gp.param = I915_CONTEXT_PARAM_ENGINES;
	gp.size = 1u << 20;
	assert_int_equal(walk_i915(DRM_IOCTL_I915_GEM_CONTEXT_SETPARAM, &gp, sizeof(gp)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(version_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(null_pointer_with_length_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(error_still_copies_struct_out, setup, teardown),
		cmocka_unit_test_setup_teardown(unknown_ioctls_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(size_tolerance, setup, teardown),
		cmocka_unit_test_setup_teardown(truncated_and_trailing_payloads, setup, teardown),
		cmocka_unit_test_setup_teardown(fds_where_none_belong, setup, teardown),
		cmocka_unit_test(garbage_headers),
		cmocka_unit_test(out_of_line_payload),
		cmocka_unit_test(derived_counts),
		cmocka_unit_test(short_structs_read_in_bounds),
		cmocka_unit_test(driver_number_other_direction),
		cmocka_unit_test(nested_pointer_arrays),
		cmocka_unit_test(nested_pointer_arrays_round_trip),
		cmocka_unit_test(nested_arrays_beyond_the_stack_buffer),
		cmocka_unit_test(borrowed_payload_survives_nested_receive),
		cmocka_unit_test(out_fd_overlaying_input),
		cmocka_unit_test(i915_execbuf_layout),
		cmocka_unit_test(i915_context_layouts),
	};
	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
