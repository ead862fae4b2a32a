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

const struct sim_reg_hook *sim_regs_find_hook(const struct sim_regs *r, uint32_t off)
{
	size_t i = hook_lower_bound(r, off);
	return i < r->nhooks && r->hooks[i].off == off ? &r->hooks[i] : NULL;
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
	memmove(&r->hooks[i + 1], &r->hooks[i], (r->nhooks - i) * sizeof(*r->hooks));
	r->hooks[i] = *hook;
	r->nhooks++;
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
