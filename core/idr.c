#include "redox-drm/idr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void idr_init(struct idr *idr, uint32_t base, uint32_t max)
{
	memset(idr, 0, sizeof(*idr));
	idr->base = base;
	idr->max = max ? max : INT32_MAX;
	idr->next = base;
}

void idr_destroy(struct idr *idr)
{
	free(idr->slots);
	free(idr->free_heap);
	memset(idr, 0, sizeof(*idr));
}

static void heap_push(struct idr *idr, uint32_t id)
{
	uint32_t i = idr->nfree++;
	idr->free_heap[i] = id;
	while (i > 0) {
		uint32_t parent = (i - 1) / 2;
		if (idr->free_heap[parent] <= idr->free_heap[i])
			break;
		uint32_t t = idr->free_heap[parent];
		idr->free_heap[parent] = idr->free_heap[i];
		idr->free_heap[i] = t;
		i = parent;
	}
}

static uint32_t heap_pop(struct idr *idr)
{
	uint32_t top = idr->free_heap[0];
	idr->free_heap[0] = idr->free_heap[--idr->nfree];
	uint32_t i = 0;
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < idr->nfree && idr->free_heap[l] < idr->free_heap[m])
			m = l;
		if (r < idr->nfree && idr->free_heap[r] < idr->free_heap[m])
			m = r;
		if (m == i)
			break;
		uint32_t t = idr->free_heap[m];
		idr->free_heap[m] = idr->free_heap[i];
		idr->free_heap[i] = t;
		i = m;
	}
	return top;
}

/* A live entry whose pointer is NULL still owns its id: mark it apart from free slots. */
static char reserved_marker;
#define RESERVED ((void *)&reserved_marker)

int64_t idr_alloc(struct idr *idr, void *ptr)
{
	uint32_t id;
	if (idr->nfree) {
		id = heap_pop(idr);
	} else {
		if (idr->next > idr->max || idr->next < idr->base)
			return -ENOSPC;
		uint32_t index = idr->next - idr->base;
		if (index >= idr->nslots) {
			uint32_t n = idr->nslots ? idr->nslots * 2 : 16;
			if (n < idr->nslots)
				return -ENOMEM;
			void **slots = realloc(idr->slots, (size_t)n * sizeof(*slots));
			if (!slots)
				return -ENOMEM;
			memset(slots + idr->nslots, 0, (size_t)(n - idr->nslots) * sizeof(*slots));
			idr->slots = slots;
			idr->nslots = n;
		}
		id = idr->next++;
	}
	idr->slots[id - idr->base] = ptr ? ptr : RESERVED;
	idr->count++;
	return id;
}

static void **slot(const struct idr *idr, uint32_t id)
{
	if (id < idr->base || id >= idr->next)
		return NULL;
	void **s = &idr->slots[id - idr->base];
	return *s ? s : NULL;
}

void *idr_find(const struct idr *idr, uint32_t id)
{
	void **s = slot(idr, id);
	return s && *s != RESERVED ? *s : NULL;
}

void *idr_replace(struct idr *idr, uint32_t id, void *ptr)
{
	void **s = slot(idr, id);
	if (!s)
		return NULL;
	void *old = *s == RESERVED ? NULL : *s;
	*s = ptr ? ptr : RESERVED;
	return old;
}

void *idr_remove(struct idr *idr, uint32_t id)
{
	void **s = slot(idr, id);
	if (!s)
		return NULL;
	void *old = *s == RESERVED ? NULL : *s;
	if (idr->nfree == idr->free_cap) {
		uint32_t n = idr->free_cap ? idr->free_cap * 2 : 16;
		uint32_t *h = realloc(idr->free_heap, (size_t)n * sizeof(*h));
		if (!h) {
			/* Keep the id reserved rather than lose track of it. */
			*s = RESERVED;
			return old;
		}
		idr->free_heap = h;
		idr->free_cap = n;
	}
	*s = NULL;
	idr->count--;
	heap_push(idr, id);
	return old;
}

void idr_for_each(struct idr *idr, void (*fn)(uint32_t id, void *ptr, void *data), void *data)
{
	for (uint32_t id = idr->base; id < idr->next; id++) {
		void *p = idr->slots[id - idr->base];
		if (p && p != RESERVED)
			fn(id, p, data);
	}
}
