/*
 * A device register file: one dword per 4 bytes of a BAR, plus a table of
 * per-register hooks. A register without a hook stores what is written and
 * reads back what was stored; a hooked register decides both itself. Engines
 * (rings, interrupt blocks, doorbells) plug in here by offset.
 *
 * No locking inside: the owning model serialises every access with its own
 * lock, and hooks run with that lock held (they may use sim_regs_get/set on
 * any register, but must not re-enter the model's mmio ops).
 */
#ifndef REDOX_DRM_SIM_REGS_H
#define REDOX_DRM_SIM_REGS_H

#include <stddef.h>
#include <stdint.h>

struct sim_regs;

typedef uint32_t sim_reg_read_fn(struct sim_regs *r, uint32_t off, void *ctx);
typedef void sim_reg_write_fn(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx);
typedef void sim_reg_write64_fn(struct sim_regs *r, uint32_t off, uint64_t val, void *ctx);

struct sim_reg_hook {
	uint32_t off;               /* byte offset, dword aligned */
	sim_reg_read_fn *read;      /* NULL: read the stored value */
	sim_reg_write_fn *write;    /* NULL: store the value */
	sim_reg_write64_fn *write64; /* NULL: a 64-bit write is two 32-bit writes, low first */
	void *ctx;
};

struct sim_regs {
	uint32_t *val;
	uint32_t size; /* bytes */
	struct sim_reg_hook *hooks; /* sorted by off */
	size_t nhooks, cap;
	uint32_t *index;            /* open-addressed by off: hook number + 1, 0 empty */
	uint32_t index_bits;
};

/* The value an all-ones master abort returns for reads nobody claims. */
#define SIM_REG_ABORT 0xFFFFFFFFu

int sim_regs_init(struct sim_regs *r, uint32_t size);
void sim_regs_fini(struct sim_regs *r);

/* 0, -EINVAL (unaligned or outside the file), -EEXIST (already hooked), -ENOMEM. */
int sim_regs_add_hook(struct sim_regs *r, const struct sim_reg_hook *hook);
const struct sim_reg_hook *sim_regs_find_hook(const struct sim_regs *r, uint32_t off);

/* Bus-side accesses: go through hooks. Unaligned or out-of-range accesses
 * read all-ones and drop writes, as an unclaimed PCIe request would. */
uint32_t sim_regs_read(struct sim_regs *r, uint64_t off);
void sim_regs_write(struct sim_regs *r, uint64_t off, uint32_t val);
uint64_t sim_regs_read64(struct sim_regs *r, uint64_t off);
void sim_regs_write64(struct sim_regs *r, uint64_t off, uint64_t val);

/* Raw storage, bypassing hooks: for hooks and the model's own state. */
static inline uint32_t sim_regs_get(const struct sim_regs *r, uint32_t off)
{
	return off < r->size ? r->val[off >> 2] : 0;
}

static inline void sim_regs_set(struct sim_regs *r, uint32_t off, uint32_t val)
{
	if (off < r->size)
		r->val[off >> 2] = val;
}

/* Intel-style masked register: bits [31:16] of val select which of [15:0] change. */
static inline uint32_t sim_masked_update(uint32_t old, uint32_t val)
{
	uint32_t mask = val >> 16;
	return (old & ~mask & 0xFFFFu) | (val & mask);
}

#endif
