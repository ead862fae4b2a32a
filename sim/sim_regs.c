#include "sim_regs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sim_regs_init(struct sim_regs *r, uint32_t size)
{
	memset(r, 0, sizeof(*r));
	if (size == 0 || (size & 3))
		return -EINVAL;
	/* calloc of this size is mmap-backed: untouched registers cost no memory. */
	r->val = calloc(size / 4, sizeof(uint32_t));
	if (!r->val)
		return -ENOMEM;
	r->size = size;
	return 0;
}

void sim_regs_fini(struct sim_regs *r)
{
	free(r->val);
	free(r->hooks);
	free(r->index);
	memset(r, 0, sizeof(*r));
}

/* Index of the first hook with off >= the given one. */
static size_t hook_lower_bound(const struct sim_regs *r, uint32_t off)
{
	size_t lo = 0, hi = r->nhooks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r->hooks[mid].off < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Home slot of off in the index (Fibonacci hashing: the high bits of the product). */
static uint32_t index_slot(uint32_t off, uint32_t bits)
{
	return (uint32_t)((off >> 2) * 0x9E3779B1u) >> (32 - bits);
}

/* Every register access looks its hook up: a hash probe, not a search of the sorted table. */
const struct sim_reg_hook *sim_regs_find_hook(const struct sim_regs *r, uint32_t off)
{
	if (!r->index)
		return NULL;
	uint32_t mask = (1u << r->index_bits) - 1;
	for (uint32_t h = index_slot(off, r->index_bits);; h = (h + 1) & mask) {
		uint32_t v = r->index[h];
		if (!v)
			return NULL;
		if (r->hooks[v - 1].off == off)
			return &r->hooks[v - 1];
	}
}

/* Fills index (1 << bits slots, zeroed) from the table, whose positions shift as hooks are added. */
static void index_fill(struct sim_regs *r, uint32_t *index, uint32_t bits)
{
	uint32_t mask = (1u << bits) - 1;
	for (size_t i = 0; i < r->nhooks; i++) {
		uint32_t h = index_slot(r->hooks[i].off, bits);
		while (index[h])
			h = (h + 1) & mask;
		index[h] = (uint32_t)i + 1;
	}
}

int sim_regs_add_hook(struct sim_regs *r, const struct sim_reg_hook *hook)
{
	if ((hook->off & 3) || hook->off >= r->size)
		return -EINVAL;
	size_t i = hook_lower_bound(r, hook->off);
	if (i < r->nhooks && r->hooks[i].off == hook->off)
		return -EEXIST;
	if (r->nhooks == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct sim_reg_hook *h = realloc(r->hooks, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		r->hooks = h;
		r->cap = cap;
	}
	/* At most half full, so probes stay short. */
	uint32_t bits = 4;
	while ((1u << bits) < 2 * (r->nhooks + 1))
		bits++;
	uint32_t *index = calloc((size_t)1 << bits, sizeof(*index));
	if (!index)
		return -ENOMEM;
	memmove(&r->hooks[i + 1], &r->hooks[i], (r->nhooks - i) * sizeof(*r->hooks));
	r->hooks[i] = *hook;
	r->nhooks++;
	index_fill(r, index, bits);
	free(r->index);
	r->index = index;
	r->index_bits = bits;
	return 0;
}

static int in_range(const struct sim_regs *r, uint64_t off, uint64_t len)
{
	return (off & 3) == 0 && off < r->size && len <= r->size - off;
}

uint32_t sim_regs_read(struct sim_regs *r, uint64_t off)
{
	if (!in_range(r, off, 4))
		return SIM_REG_ABORT;
	const struct sim_reg_hook *h = sim_regs_find_hook(r, (uint32_t)off);
	if (h && h->read)
		return h->read(r, (uint32_t)off, h->ctx);
	return r->val[off >> 2];
}

void sim_regs_write(struct sim_regs *r, uint64_t off, uint32_t val)
{
	if (!in_range(r, off, 4))
		return;
	const struct sim_reg_hook *h = sim_regs_find_hook(r, (uint32_t)off);
	if (h && h->write)
		h->write(r, (uint32_t)off, val, h->ctx);
	else
		r->val[off >> 2] = val;
}

uint64_t sim_regs_read64(struct sim_regs *r, uint64_t off)
{
	if ((off & 7) || !in_range(r, off, 8))
		return ~(uint64_t)0;
	uint64_t lo = sim_regs_read(r, off);
	uint64_t hi = sim_regs_read(r, off + 4);
	return lo | hi << 32;
}

void sim_regs_write64(struct sim_regs *r, uint64_t off, uint64_t val)
{
	if ((off & 7) || !in_range(r, off, 8))
		return;
	const struct sim_reg_hook *h = sim_regs_find_hook(r, (uint32_t)off);
	if (h && h->write64) {
		h->write64(r, (uint32_t)off, val, h->ctx);
		return;
	}
	sim_regs_write(r, off, (uint32_t)val);
	sim_regs_write(r, off + 4, (uint32_t)(val >> 32));
}
