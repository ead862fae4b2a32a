/*
 * The client wire protocol.
 *
 * Every node (cardN, renderD128+N) is a SOCK_SEQPACKET Unix socket in the
 * runtime directory. A connection to a node is one open file (struct
 * drm_file). That connection is the fd the client holds: it is pollable and
 * delivers struct drm_event records, one per packet, daemon → client.
 *
 * Requests do not travel on it. A client attaches any number of request
 * channels to the file: it makes a socketpair and sends one end over the
 * file's connection in an RDRM_MSG_ATTACH message (SCM_RIGHTS). The daemon
 * answers on the new channel with RDRM_MSG_HELLO. Threads and forked children
 * each use their own channel, so replies never cross.
 *
 * A request is one message:
 *
 *   struct rdrm_wire_hdr  (type RDRM_MSG_IOCTL, cmd = the ioctl number)
 *   the fixed struct      (_IOC_SIZE(cmd) bytes, padded to 8)
 *   each IN/INOUT array   (in the layout's walk order, each padded to 8)
 *
 * and the reply:
 *
 *   struct rdrm_wire_hdr  (type RDRM_MSG_REPLY, result = 0 or -errno)
 *   the fixed struct      (_IOC_SIZE(cmd) bytes, padded to 8)
 *   each OUT/INOUT array  (u32 bytes written, u32 zero, the bytes, padded to 8)
 *
 * This is the shape Redox relibc uses for DRM ioctls over SYS_CALL (the ioctl
 * number as metadata, the fixed fields, then the counted arrays inline), so a
 * Redox transport carries the same payload. File descriptors named by the
 * layout's fd fields travel as SCM_RIGHTS (Redox: sendfd), flagged in
 * fd_mask. A payload larger than RDRM_WIRE_INLINE_MAX travels out of line in a
 * sealed memfd, appended as the last descriptor.
 */
#ifndef REDOX_DRM_WIRE_H
#define REDOX_DRM_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/types.h>

#define RDRM_WIRE_MAGIC 0x4d524452u /* "RDRM" */
#define RDRM_WIRE_INLINE_MAX (48u * 1024u)
#define RDRM_WIRE_MAX_PAYLOAD (64u * 1024u * 1024u)
#define RDRM_WIRE_MAX_FDS 8
/*
 * The plane property IN_FENCE_FD has this id on every device (the KMS core
 * creates it first), so the client side knows which ATOMIC values are fds.
 */
#define RDRM_IN_FENCE_FD_PROP_ID 1u

enum rdrm_msg_type {
	RDRM_MSG_IOCTL = 1,  /* client → daemon, on a channel */
	RDRM_MSG_REPLY = 2,  /* daemon → client, on a channel */
	RDRM_MSG_ATTACH = 3, /* client → daemon, on the file connection; carries the channel fd */
	RDRM_MSG_HELLO = 4,  /* daemon → client, first message on a new channel */
	RDRM_MSG_MMAP = 5,   /* client → daemon: the memory behind a fake mmap offset */
	RDRM_MSG_CAPTURE = 6, /* client → daemon: what a CRTC's monitor shows (root or the daemon's user) */
};

enum rdrm_wire_flags {
	RDRM_WIRE_F_OOL = 1 << 0,    /* payload is in the last fd (a memfd), not inline */
	RDRM_WIRE_F_TARGET = 1 << 1, /* an ioctl on another fd (a sync_file): it is the first descriptor */
};

struct rdrm_wire_hdr {
	uint32_t magic;
	uint16_t type;
	uint16_t flags;
	uint32_t cmd;     /* ioctl request number */
	int32_t result;   /* replies: 0 or -errno */
	uint32_t size;    /* payload bytes after the header */
	uint32_t fd_mask; /* bit i: fd field i of the layout travels as a descriptor */
};

/* Payload of RDRM_MSG_HELLO. */
struct rdrm_wire_hello {
	char driver[32]; /* "amdgpu", "i915": selects the driver ioctl layouts */
	uint32_t minor;  /* 0.., 128.. */
	uint32_t flags;
};

/* Payload of RDRM_MSG_MMAP and its reply (the reply carries the memfd). */
struct rdrm_wire_mmap {
	uint64_t offset; /* the fake offset the client passed to mmap */
	uint64_t length;
	uint64_t fd_offset; /* reply: where that range starts in the memfd */
};

/* Payload of RDRM_MSG_CAPTURE; the reply adds width × height XRGB8888 pixels after it. */
struct rdrm_wire_capture {
	uint32_t crtc_id; /* 0: the first active CRTC; reply: the one captured */
	uint32_t width, height;
	uint32_t format;  /* reply: DRM_FORMAT_XRGB8888 */
};

/*
 * A write() to a debugfs attribute (sys/kernel/debug/dri/N/<name>) of the
 * device the channel's file is on, sent by the interposer. It travels as an
 * ioctl of the interposer's own type, which no client ioctl() can carry to
 * the daemon (only DRM's and sw_sync's types are forwarded). The call
 * returns 0 once the attribute's work is done; debugfs is root's, so the
 * daemon takes it from root or its own user only.
 */
#define RDRM_IOC_MAGIC 'r'
#define RDRM_ATTR_DATA_MAX 64
struct rdrm_wire_attr_write {
	char name[64];  /* NUL-terminated attribute name */
	uint32_t len;   /* bytes of data used */
	uint32_t pad;
	char data[RDRM_ATTR_DATA_MAX]; /* the start of what the client wrote */
};
#define RDRM_IOC_ATTR_WRITE _IOW(RDRM_IOC_MAGIC, 0x01, struct rdrm_wire_attr_write)

struct rdrm_wire_msg {
	struct rdrm_wire_hdr hdr;
	uint8_t *payload; /* hdr.size bytes (malloc'd or mapped; free with rdrm_wire_msg_release) */
	int fds[RDRM_WIRE_MAX_FDS];
	unsigned nfds;
	unsigned flags_internal;
};

static inline size_t rdrm_wire_align(size_t n)
{
	return (n + 7u) & ~(size_t)7u;
}

/*
 * Sends one message; payload may be split over iovecs (the struct, then the
 * arrays). Picks out-of-line transfer by itself. Returns 0 or -errno.
 */
struct iovec;
int rdrm_wire_send(int sock, const struct rdrm_wire_hdr *hdr, const struct iovec *iov, int iovcnt,
		   const int *fds, unsigned nfds);
/*
 * Receives one message. Returns 0, -EAGAIN, -EPIPE at end of stream, or
 * -EPROTO for a malformed message (which is consumed; its fds are closed).
 */
int rdrm_wire_recv(int sock, struct rdrm_wire_msg *msg, int flags);
/*
 * The same without a copy: an inline payload stays in the calling thread's
 * receive buffer, valid until that thread receives again. For a reply read
 * and copied out at once.
 */
int rdrm_wire_recv_borrowed(int sock, struct rdrm_wire_msg *msg, int flags);
void rdrm_wire_msg_release(struct rdrm_wire_msg *msg);

#endif
