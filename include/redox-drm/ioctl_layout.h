/*
 * What each supported ioctl carries besides its fixed struct: the arrays its
 * pointer fields point to (sized by count fields, possibly nested) and the
 * file descriptors in its fields. One table, read by the client marshaller and
 * by the daemon's decoder alike, so both sides always agree. An ioctl not in
 * the table is refused, never guessed.
 */
#ifndef REDOX_DRM_IOCTL_LAYOUT_H
#define REDOX_DRM_IOCTL_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

enum rdrm_dir { RDRM_IN = 1, RDRM_OUT = 2, RDRM_INOUT = 3 };

struct rdrm_layout;
struct rdrm_chain;

/*
 * Element count derived from the parent or from arrays earlier in the same
 * layout (ATOMIC's per-object counts). parent_size is what arrived, which may
 * be shorter than the struct: read fields with rdrm_field_get.
 */
typedef uint64_t (*rdrm_count_fn)(const void *parent, size_t parent_size, const void *const *prev_data,
				  const uint64_t *prev_count);

struct rdrm_array {
	uint16_t ptr_off;   /* u64 user pointer in the parent */
	uint16_t count_off; /* element count in the parent */
	uint8_t count_size; /* 4 or 8 */
	uint8_t dir;        /* enum rdrm_dir */
	uint32_t elem_size; /* bytes per element */
	uint32_t max_count; /* more is refused with EINVAL before anything is sent */
	const struct rdrm_layout *elem; /* arrays inside each element (IN/INOUT only) */
	rdrm_count_fn count_fn;         /* instead of count_off */
	/*
	 * Arrays inside the array's data taken as one block, the layout chosen by
	 * the parent (a CS chunk's data by its chunk id); NULL: nothing nested.
	 * IN/INOUT only.
	 */
	const struct rdrm_layout *(*data_layout_fn)(const void *parent, size_t parent_size);
	/*
	 * Instead of an array, ptr_off heads an extension chain (IN only); count_fn,
	 * if given, gates it (0: nothing travels).
	 */
	const struct rdrm_chain *chain;
};

/* One kind of chain node: its name, full size and the arrays it points to. */
struct rdrm_chain_node {
	uint32_t name;
	uint32_t size;
	const struct rdrm_layout *layout;
};

/*
 * A singly linked list of structs that start with a common header naming
 * their kind (i915_user_extension). Every node's header travels; a known
 * node also brings the rest of its struct and its arrays, then the walk
 * follows its next pointer. An unknown node ends the walk: the daemon
 * refuses it before reading any further, as the kernel does.
 */
struct rdrm_chain {
	uint16_t next_off;  /* u64 pointer to the next node */
	uint16_t name_off;  /* u32 kind */
	uint32_t hdr_size;  /* a multiple of the wire alignment, so header and body arrive contiguous */
	uint32_t max_nodes; /* the walk stops after this many (the daemon refuses longer chains) */
	uint8_t nkinds;
	const struct rdrm_chain_node *kinds;
};

struct rdrm_fd_field {
	uint16_t off;       /* s32 fd in the struct */
	uint8_t dir;        /* IN: client's fd sent; OUT: daemon's fd received */
	uint8_t flag_size;  /* 0: always; 4/8: only when (flag & flag_mask) != 0 */
	uint16_t flag_off;
	uint64_t flag_mask;
	/* OUT fds arrive close-on-exec; with cloexec_mask, only when (u32 at cloexec_off) & mask. */
	uint16_t cloexec_off;
	uint32_t cloexec_mask;
	/*
	 * OUT only: the field shares its bytes with input (a union's in and out).
	 * The daemon leaves it alone before the call and sends an fd from it only
	 * when the call succeeded with the flag condition true.
	 */
	uint8_t overlays_in;
};

/*
 * Elements of a top-level IN array of s64 values that carry file descriptors:
 * those whose entry in a parallel top-level array of u32 keys is key (ATOMIC's
 * IN_FENCE_FD values, keyed by property id). A value >= 0 there is an fd of
 * the sender: the client sends those descriptors after the fd fields', in
 * element order, and the daemon puts its own numbers in their place.
 */
struct rdrm_elem_fds {
	uint8_t values, keys; /* indices into the layout's arrays */
	uint32_t key;
};

struct rdrm_layout {
	uint8_t narrays;
	uint8_t nfds;
	const struct rdrm_array *arrays;
	const struct rdrm_fd_field *fds;
	const struct rdrm_elem_fds *elem_fds;
};

struct rdrm_ioctl_info {
	uint32_t cmd; /* the request number of the current uAPI header */
	const char *name;
	struct rdrm_layout layout;
};

/* Driver-specific numbers (0x40..0x9f) are looked up in driver's table. */
const struct rdrm_ioctl_info *rdrm_ioctl_lookup(const char *driver, unsigned long cmd);

/* Reads a count or flag field of size 0/4/8 at off; bytes beyond size read as 0. */
uint64_t rdrm_field_get(const void *base, size_t size, uint16_t off, uint8_t width);
void rdrm_field_set(void *base, size_t size, uint16_t off, uint8_t width, uint64_t value);

/*
 * Visits every array of a layout depth first: an array, then (if its elements
 * have arrays) each element's arrays, then the next array. visit returns the
 * bytes of the array as this side holds them (needed to size nested arrays),
 * or sets *err. Counts are bounded by max_count and the byte total by
 * RDRM_WIRE_MAX_PAYLOAD; overflow gives -EINVAL.
 */
struct rdrm_walk_visitor {
	/* returns 0 and the array's local bytes in *data (may be NULL for OUT), or -errno */
	int (*visit)(void *ctx, const struct rdrm_array *a, uint64_t uptr, uint64_t count,
		     uint64_t bytes, const void **data);
	void *ctx;
};

int rdrm_layout_walk(const struct rdrm_layout *l, const void *base, size_t base_size,
		     const struct rdrm_walk_visitor *v);
/* The same, also giving each top-level array's data (as visit returned it) and count. */
#define RDRM_LAYOUT_MAX_ARRAYS 8
int rdrm_layout_walk_top(const struct rdrm_layout *l, const void *base, size_t base_size,
			 const struct rdrm_walk_visitor *v, const void *top_data[RDRM_LAYOUT_MAX_ARRAYS],
			 uint64_t top_count[RDRM_LAYOUT_MAX_ARRAYS]);

/*
 * Calls fn with each value of l->elem_fds that carries a descriptor slot, in
 * element order (value points at 8 unaligned bytes inside top_data, which the
 * caller owns and fn may rewrite). Stops at, and returns, fn's first nonzero
 * result. 0 when the layout has no elem_fds.
 */
int rdrm_elem_fds_for_each(const struct rdrm_layout *l, const void *const top_data[RDRM_LAYOUT_MAX_ARRAYS],
			   const uint64_t top_count[RDRM_LAYOUT_MAX_ARRAYS],
			   int (*fn)(void *ctx, uint8_t *value), void *ctx);

/* Whether fd field i is active for this struct (its flag condition holds). */
int rdrm_fd_field_active(const struct rdrm_fd_field *f, const void *base, size_t base_size);

#endif
