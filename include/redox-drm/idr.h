/*
 * Small integer ids → pointers, allocated lowest-free-first like the
 * kernel's idr_alloc(idr, ptr, start, 0): handles, flink names, magics and
 * mode-object ids all come from here. Lookup is O(1), allocation O(log n).
 */
#ifndef REDOX_DRM_IDR_H
#define REDOX_DRM_IDR_H

#include <stdint.h>

struct idr {
	void **slots;        /* slots[id - base] */
	uint32_t nslots;     /* allocated length of slots */
	uint32_t base;       /* smallest id handed out */
	uint32_t max;        /* largest id handed out, inclusive */
	uint32_t *free_heap; /* min-heap of freed ids below the high-water mark */
	uint32_t nfree, free_cap;
	uint32_t next;       /* high-water mark: next never-used id */
	uint32_t count;      /* live entries */
};

void idr_init(struct idr *idr, uint32_t base, uint32_t max);
void idr_destroy(struct idr *idr);
/* Returns the new id (>= base), or -ENOSPC when full, -ENOMEM. */
int64_t idr_alloc(struct idr *idr, void *ptr);
void *idr_find(const struct idr *idr, uint32_t id);
/* Replaces the pointer of a live id (may be NULL, keeping the id reserved). Returns the old one. */
void *idr_replace(struct idr *idr, uint32_t id, void *ptr);
void *idr_remove(struct idr *idr, uint32_t id);
/* Calls fn for every live id with a non-NULL pointer; fn may remove the id it is given. */
void idr_for_each(struct idr *idr, void (*fn)(uint32_t id, void *ptr, void *data), void *data);

#endif
