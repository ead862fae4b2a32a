/*
 * The interrupt handler ring (OSSSYS 4.0 IH, ring 0). Engines hand it an
 * interrupt vector; it writes the 32-byte entry into the ring in memory,
 * advances WPTR, writes WPTR back to memory and raises the MSI, in that
 * order, so the driver finds the entry when the interrupt arrives.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "sim_amdgpu.h"

#define WPTR_OFFSET_MASK 0x0003FFFCu /* OFFSET [17:2], in bytes */

static void rb_cntl_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	/* WPTR_OVERFLOW_CLEAR is a strobe: it clears RB_OVERFLOW and is not stored. */
	if (val & SIM_AMDGPU_IH_RB_CNTL_WPTR_OVERFLOW_CLEAR)
		sim_regs_set(r, SIM_AMDGPU_IH_RB_WPTR,
			     sim_regs_get(r, SIM_AMDGPU_IH_RB_WPTR) & ~SIM_AMDGPU_IH_RB_WPTR_RB_OVERFLOW);
	sim_regs_set(r, off, val & ~SIM_AMDGPU_IH_RB_CNTL_WPTR_OVERFLOW_CLEAR);
}

static void ptr_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	uint32_t keep = off == SIM_AMDGPU_IH_RB_WPTR ? SIM_AMDGPU_IH_RB_WPTR_RB_OVERFLOW : 0;
	sim_regs_set(r, off, (val & WPTR_OFFSET_MASK) | (sim_regs_get(r, off) & keep));
}

int sim_amdgpu_ih_init(struct sim_model *m)
{
	const struct sim_reg_hook hooks[] = {
		{.off = SIM_AMDGPU_IH_RB_CNTL, .write = rb_cntl_write},
		{.off = SIM_AMDGPU_IH_RB_RPTR, .write = ptr_write},
		{.off = SIM_AMDGPU_IH_RB_WPTR, .write = ptr_write},
	};
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		int ret = sim_amdgpu_hook_mmio(m, &hooks[i]);
		if (ret)
			return ret;
	}
	return 0;
}

void sim_amdgpu_ih_fini(struct sim_model *m)
{
}

/* The GPU timestamp counter at CLOCK_MONOTONIC time t (0 = now): the reference clock, 48 bits. */
static uint64_t gpu_timestamp(uint64_t t)
{
	if (!t) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	}
	uint64_t ticks = t / 1000000000ull * SIM_AMDGPU_GPU_CLOCK_HZ +
			 t % 1000000000ull * SIM_AMDGPU_GPU_CLOCK_HZ / 1000000000ull;
	return ticks & 0xFFFFFFFFFFFFull;
}

/* Memory the ring lives in: bus addresses (MC_SPACE 1) or the MMHUB's view of its VMID. */
static int ih_write(struct sim_model *m, uint32_t cntl, uint64_t addr, const void *src, size_t len)
{
	if (((cntl >> SIM_AMDGPU_IH_RB_CNTL_MC_SPACE_SHIFT) & 7u) == 1)
		return m->bus->dma_write(m->bus, addr, src, len) ? -EFAULT : 0;
	struct sim_amdgpu_vm_ctx vm;
	if (sim_amdgpu_vm_snapshot(m, SIM_AMDGPU_MMHUB, (cntl >> SIM_AMDGPU_IH_RB_CNTL_MC_VMID_SHIFT) & 0xFu, &vm))
		return -EFAULT;
	return sim_amdgpu_vm_write(&vm, addr, src, len);
}

int sim_amdgpu_ih_post(struct sim_model *m, const struct sim_amdgpu_iv *iv)
{
	struct sim_regs *r = sim_amdgpu_mmio(m);
	uint32_t cntl = sim_regs_get(r, SIM_AMDGPU_IH_RB_CNTL);
	if (!(cntl & SIM_AMDGPU_IH_RB_CNTL_RB_ENABLE))
		return -ENODEV;
	unsigned log2_dw = (cntl >> SIM_AMDGPU_IH_RB_CNTL_RB_SIZE_SHIFT) & 0x1Fu;
	/* WPTR's OFFSET field spans 256 KiB; a ring must hold at least two entries. */
	if (log2_dw < 4 || log2_dw > 16)
		return -ENODEV;
	uint32_t size = 4u << log2_dw, mask = size - 1;

	uint32_t wreg = sim_regs_get(r, SIM_AMDGPU_IH_RB_WPTR);
	uint32_t wptr = wreg & WPTR_OFFSET_MASK & mask & ~(SIM_AMDGPU_IH_ENTRY_SIZE - 1);
	uint32_t rptr = sim_regs_get(r, SIM_AMDGPU_IH_RB_RPTR) & mask & ~(SIM_AMDGPU_IH_ENTRY_SIZE - 1);
	uint32_t next = (wptr + SIM_AMDGPU_IH_ENTRY_SIZE) & mask;
	int ret = 0;

	if (next == rptr) {
		/* Full. With overflow reporting on, the IH overwrites the oldest entry and
		 * flags RB_OVERFLOW (the driver then skips to WPTR + 32); otherwise it drops. */
		ret = -ENOSPC;
		if (!(cntl & SIM_AMDGPU_IH_RB_CNTL_WPTR_OVERFLOW_ENABLE))
			return ret;
		wreg |= SIM_AMDGPU_IH_RB_WPTR_RB_OVERFLOW;
	}

	uint64_t ts = gpu_timestamp(iv->time_ns);
	uint32_t e[8] = {
		(uint32_t)iv->client_id | (uint32_t)iv->src_id << 8 | (uint32_t)iv->ring_id << 16 |
			(uint32_t)(iv->vmid & 0xF) << 24 | (iv->vmid_src ? 1u << 31 : 0),
		(uint32_t)ts,
		(uint32_t)(ts >> 32) & 0xFFFFu, /* TIMESTAMP_SRC b31 = 0: the GPU clock */
		(uint32_t)iv->pasid | (uint32_t)iv->node_id << 16,
		iv->src_data[0], iv->src_data[1], iv->src_data[2], iv->src_data[3],
	};
	uint64_t base = (uint64_t)sim_regs_get(r, SIM_AMDGPU_IH_RB_BASE) << 8 |
			(uint64_t)(sim_regs_get(r, SIM_AMDGPU_IH_RB_BASE_HI) & 0xFFu) << 40;
	if (ih_write(m, cntl, base + wptr, e, sizeof(e)))
		return -EFAULT;

	wreg = (wreg & SIM_AMDGPU_IH_RB_WPTR_RB_OVERFLOW) | next;
	sim_regs_set(r, SIM_AMDGPU_IH_RB_WPTR, wreg);
	if (cntl & SIM_AMDGPU_IH_RB_CNTL_WPTR_WRITEBACK_ENABLE) {
		uint64_t wb = (uint64_t)(sim_regs_get(r, SIM_AMDGPU_IH_RB_WPTR_ADDR_LO) & ~3u) |
			      (uint64_t)(sim_regs_get(r, SIM_AMDGPU_IH_RB_WPTR_ADDR_HI) & 0xFFFFu) << 32;
		if (ih_write(m, cntl, wb, &wreg, sizeof(wreg)))
			return -EFAULT;
	}
	if (cntl & SIM_AMDGPU_IH_RB_CNTL_ENABLE_INTR)
		m->bus->raise_irq(m->bus);
	return ret;
}

bool sim_amdgpu_iv_queue_push(struct sim_amdgpu_iv_queue *q, uint64_t due_ns, const struct sim_amdgpu_iv *iv)
{
	if (q->n == SIM_AMDGPU_IV_QUEUE_MAX)
		return false;
	q->items[q->n].due_ns = due_ns;
	q->items[q->n].iv = *iv;
	q->items[q->n].iv.time_ns = 0;
	q->n++;
	return true;
}

unsigned sim_amdgpu_iv_queue_flush(struct sim_amdgpu_iv_queue *q, struct sim_model *m, uint64_t now, uint64_t *next)
{
	unsigned kept = 0, posted = 0;
	for (unsigned i = 0; i < q->n; i++) {
		if (q->items[i].due_ns <= now) {
			sim_amdgpu_ih_post(m, &q->items[i].iv);
			posted++;
		} else {
			if (next && q->items[i].due_ns < *next)
				*next = q->items[i].due_ns;
			q->items[kept++] = q->items[i];
		}
	}
	q->n = kept;
	return posted;
}
