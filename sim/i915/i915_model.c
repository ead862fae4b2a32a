/*
 * Skylake GT2 device model: PCI identity, BARs, the BAR0 register file
 * (forcewake, fuses, GT interrupt banks) and the GGTT. The display engine is
 * i915_display.c; the RCS and BCS command streamers (their register blocks,
 * execlists, command parser, PPGTT) are i915_engine.c and its companions.
 */
#include "sim_i915.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sim_pci.h"

struct fw_domain {
	struct sim_i915 *i;
	uint32_t ack;
};

struct sim_i915 {
	struct sim_model base;
	pthread_mutex_t lock; /* registers, GGTT, faults, hooks */
	struct sim_regs mmio;
	uint64_t *ggtt;
	unsigned faults;
	struct fw_domain fw[3];
	struct sim_i915_display *display;
	struct sim_i915_engines *engines;
};

static struct sim_i915 *to_i915(struct sim_model *m)
{
	return (struct sim_i915 *)m;
}

/* ---- register behaviour ---- */

static uint32_t read_const(struct sim_regs *r, uint32_t off, void *ctx)
{
	return (uint32_t)(uintptr_t)ctx;
}

static void write_ignore(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
}

static void forcewake_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct fw_domain *d = ctx;
	uint32_t req = sim_masked_update(sim_regs_get(r, off), val);
	sim_regs_set(r, off, req);
	/* The power well answers at once: the ack shows exactly the requested bits. */
	if (!(d->i->faults & SIM_I915_FAULT_NO_FORCEWAKE_ACK))
		sim_regs_set(r, d->ack, req);
}

/* Banks with an enabled, latched bit, in GEN8_MASTER_IRQ's layout. */
static uint32_t master_pending(struct sim_regs *r)
{
	uint32_t p = 0, b;
	b = sim_regs_get(r, SIM_I915_GT_IIR(0)) & sim_regs_get(r, SIM_I915_GT_IER(0));
	if (b & 0x0000FFFFu)
		p |= 1u << 0;
	if (b & 0xFFFF0000u)
		p |= 1u << 1;
	b = sim_regs_get(r, SIM_I915_GT_IIR(1)) & sim_regs_get(r, SIM_I915_GT_IER(1));
	if (b & 0x0000FFFFu)
		p |= 1u << 2;
	if (b & 0xFFFF0000u)
		p |= 1u << 3;
	if (sim_regs_get(r, SIM_I915_GT_IIR(2)) & sim_regs_get(r, SIM_I915_GT_IER(2)))
		p |= 1u << 4;
	if (sim_regs_get(r, SIM_I915_GT_IIR(3)) & sim_regs_get(r, SIM_I915_GT_IER(3)) & 0xFFFFu)
		p |= 1u << 6;
	return p | sim_i915_display_pending(r);
}

static uint32_t master_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	return (sim_regs_get(r, off) & SIM_I915_MASTER_IRQ_CONTROL) | master_pending(r);
}

static void master_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_i915 *i = ctx;
	sim_regs_set(r, off, val & SIM_I915_MASTER_IRQ_CONTROL);
	/* Re-enabling with work still latched sends a new message (MSI is edge-triggered). */
	if ((val & SIM_I915_MASTER_IRQ_CONTROL) && master_pending(r) && i->base.bus)
		i->base.bus->raise_irq(i->base.bus);
}

static void iir_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, sim_regs_get(r, off) & ~val);
}

static int add_hooks(struct sim_regs *r, const struct sim_reg_hook *h, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		int ret = sim_regs_add_hook(r, &h[k]);
		if (ret)
			return ret;
	}
	return 0;
}

static int install_registers(struct sim_i915 *i)
{
	struct sim_regs *r = &i->mmio;
	i->fw[0] = (struct fw_domain){i, SIM_I915_FORCEWAKE_ACK_RENDER};
	i->fw[1] = (struct fw_domain){i, SIM_I915_FORCEWAKE_ACK_MEDIA};
	i->fw[2] = (struct fw_domain){i, SIM_I915_FORCEWAKE_ACK_GT};
	const struct sim_reg_hook hooks[] = {
		{.off = SIM_I915_FORCEWAKE_RENDER, .write = forcewake_write, .ctx = &i->fw[0]},
		{.off = SIM_I915_FORCEWAKE_MEDIA, .write = forcewake_write, .ctx = &i->fw[1]},
		{.off = SIM_I915_FORCEWAKE_GT, .write = forcewake_write, .ctx = &i->fw[2]},
		{.off = SIM_I915_FORCEWAKE_ACK_RENDER, .write = write_ignore},
		{.off = SIM_I915_FORCEWAKE_ACK_MEDIA, .write = write_ignore},
		{.off = SIM_I915_FORCEWAKE_ACK_GT, .write = write_ignore},
		{.off = SIM_I915_FUSE2, .read = read_const, .write = write_ignore, .ctx = (void *)(uintptr_t)SIM_I915_FUSE2_GT2},
		{.off = SIM_I915_EU_DISABLE(0), .read = read_const, .write = write_ignore,
		 .ctx = (void *)(uintptr_t)SIM_I915_EU_DISABLE0_GT2},
		/* Slices 1 and 2 are absent on GT2: all their EUs read as fused off. */
		{.off = SIM_I915_EU_DISABLE(1), .read = read_const, .write = write_ignore, .ctx = (void *)(uintptr_t)0xFFFFFFFFu},
		{.off = SIM_I915_EU_DISABLE(2), .read = read_const, .write = write_ignore, .ctx = (void *)(uintptr_t)0xFFFFFFFFu},
		{.off = SIM_I915_MASTER_IRQ, .read = master_read, .write = master_write, .ctx = i},
	};
	int ret = add_hooks(r, hooks, sizeof(hooks) / sizeof(hooks[0]));
	if (ret)
		return ret;
	for (unsigned n = 0; n < SIM_I915_GT_BANKS; n++) {
		const struct sim_reg_hook bank[] = {
			/* ISR is live event status; nothing is asserted without engines. */
			{.off = SIM_I915_GT_ISR(n), .read = read_const, .write = write_ignore, .ctx = (void *)(uintptr_t)0},
			{.off = SIM_I915_GT_IIR(n), .write = iir_write},
		};
		ret = add_hooks(r, bank, 2);
		if (ret)
			return ret;
		sim_regs_set(r, SIM_I915_GT_IMR(n), 0xFFFFFFFFu);
	}
	return 0;
}

/* ---- GGTT and aperture ---- */

static int ggtt_index(uint64_t off, uint64_t len, uint64_t *idx)
{
	if (off < SIM_I915_GGTT_OFFSET || off >= SIM_I915_GTTMMADR_SIZE || (off & (len - 1)))
		return -1;
	*idx = (off - SIM_I915_GGTT_OFFSET) / 8;
	return 0;
}

/*
 * A GGTT lookup takes no lock: PTEs are stored and loaded whole and atomically (stores under the
 * model lock), so a lookup sees each PTE as one write or the next left it, as the lock gave.
 */
int sim_i915_ggtt_translate(struct sim_model *m, uint64_t gfx_addr, uint64_t *bus)
{
	struct sim_i915 *i = to_i915(m);
	uint64_t idx = gfx_addr >> 12;
	if (idx >= SIM_I915_GGTT_ENTRIES)
		return -1;
	uint64_t pte = __atomic_load_n(&i->ggtt[idx], __ATOMIC_RELAXED);
	if (!(pte & 1))
		return -1;
	/* Gen8 PTE: address [38:12]; low bits are PRESENT and cache attributes. */
	*bus = (pte & 0x0000007FFFFFF000ull) | (gfx_addr & 0xFFF);
	return 0;
}

/* An aperture access is one GGTT page lookup and a DMA at the page it names. */
static int aperture_access(struct sim_i915 *i, uint64_t off, void *buf, size_t len, int write)
{
	uint64_t bus;
	if (off >= SIM_I915_GMADR_SIZE || (off & (len - 1)))
		return -1;
	if (sim_i915_ggtt_translate(&i->base, off, &bus) || !i->base.bus)
		return -1;
	return write ? i->base.bus->dma_write(i->base.bus, bus, buf, len)
		     : i->base.bus->dma_read(i->base.bus, bus, buf, len);
}

/* ---- BAR access ---- */

static uint32_t i915_read32(struct sim_model *m, int bar, uint64_t off)
{
	struct sim_i915 *i = to_i915(m);
	uint32_t v = SIM_REG_ABORT;
	uint64_t idx;

	pthread_mutex_lock(&i->lock);
	int dead = i->faults & SIM_I915_FAULT_BUS_DEAD;
	if (!dead && bar == SIM_I915_BAR_GTTMMADR) {
		if (off < SIM_I915_MMIO_SIZE)
			v = sim_regs_read(&i->mmio, off);
		else if (!ggtt_index(off & ~7ull, 8, &idx) && !(off & 3))
			v = (uint32_t)(i->ggtt[idx] >> ((off & 4) * 8));
		else if (off < SIM_I915_GGTT_OFFSET && !(off & 3))
			v = 0; /* reserved range between registers and GGTT reads as zero */
	}
	pthread_mutex_unlock(&i->lock);

	if (!dead && bar == SIM_I915_BAR_GMADR && aperture_access(i, off, &v, 4, 0))
		v = SIM_REG_ABORT;
	return v;
}

static void i915_write32(struct sim_model *m, int bar, uint64_t off, uint32_t v)
{
	struct sim_i915 *i = to_i915(m);
	uint64_t idx;

	pthread_mutex_lock(&i->lock);
	sim_i915_engines_write_begin(i->engines);
	int dead = i->faults & SIM_I915_FAULT_BUS_DEAD;
	if (!dead && bar == SIM_I915_BAR_GTTMMADR) {
		if (off < SIM_I915_MMIO_SIZE) {
			sim_regs_write(&i->mmio, off, v);
		} else if (!ggtt_index(off & ~7ull, 8, &idx) && !(off & 3)) {
			unsigned shift = (unsigned)(off & 4) * 8;
			__atomic_store_n(&i->ggtt[idx], (i->ggtt[idx] & ~(0xFFFFFFFFull << shift)) | (uint64_t)v << shift,
					 __ATOMIC_RELAXED);
		}
	}
	unsigned due = sim_i915_engines_write_end(i->engines);
	pthread_mutex_unlock(&i->lock);
	sim_i915_engines_wake(i->engines, due);

	if (!dead && bar == SIM_I915_BAR_GMADR)
		aperture_access(i, off, &v, 4, 1);
}

static uint64_t i915_read64(struct sim_model *m, int bar, uint64_t off)
{
	struct sim_i915 *i = to_i915(m);
	uint64_t v = ~(uint64_t)0, idx;

	pthread_mutex_lock(&i->lock);
	int dead = i->faults & SIM_I915_FAULT_BUS_DEAD;
	if (!dead && bar == SIM_I915_BAR_GTTMMADR) {
		if (off < SIM_I915_MMIO_SIZE)
			v = sim_regs_read64(&i->mmio, off);
		else if (!ggtt_index(off, 8, &idx))
			v = i->ggtt[idx];
		else if (off < SIM_I915_GGTT_OFFSET && !(off & 7))
			v = 0;
	}
	pthread_mutex_unlock(&i->lock);

	if (!dead && bar == SIM_I915_BAR_GMADR && aperture_access(i, off, &v, 8, 0))
		v = ~(uint64_t)0;
	return v;
}

static void i915_write64(struct sim_model *m, int bar, uint64_t off, uint64_t v)
{
	struct sim_i915 *i = to_i915(m);
	uint64_t idx;

	pthread_mutex_lock(&i->lock);
	sim_i915_engines_write_begin(i->engines);
	int dead = i->faults & SIM_I915_FAULT_BUS_DEAD;
	if (!dead && bar == SIM_I915_BAR_GTTMMADR) {
		if (off < SIM_I915_MMIO_SIZE)
			sim_regs_write64(&i->mmio, off, v);
		else if (!ggtt_index(off, 8, &idx))
			__atomic_store_n(&i->ggtt[idx], v, __ATOMIC_RELAXED); /* one PTE, written whole */
	}
	unsigned due = sim_i915_engines_write_end(i->engines);
	pthread_mutex_unlock(&i->lock);
	sim_i915_engines_wake(i->engines, due);

	if (!dead && bar == SIM_I915_BAR_GMADR)
		aperture_access(i, off, &v, 8, 1);
}

static void *i915_bar_memory(struct sim_model *m, int bar, size_t *size)
{
	/* No BAR is plain memory: the aperture is translated page by page through the GGTT. */
	return NULL;
}

static void i915_destroy(struct sim_model *m)
{
	struct sim_i915 *i = to_i915(m);
	if (!i)
		return;
	sim_i915_engines_destroy(i->engines); /* threads first: they use the registers and the GGTT */
	sim_i915_display_destroy(i->display);
	sim_regs_fini(&i->mmio);
	if (i->ggtt && (void *)i->ggtt != MAP_FAILED)
		munmap(i->ggtt, SIM_I915_GGTT_ENTRIES * sizeof(uint64_t));
	pthread_mutex_destroy(&i->lock);
	free(i);
}

static int i915_scanout_capture(struct sim_model *m, unsigned int pipe, uint32_t *pixels, uint32_t width,
				uint32_t height)
{
	return sim_i915_display_capture(to_i915(m)->display, pipe, pixels, width, height);
}

static const struct sim_model_ops i915_model_ops = {
	.read32 = i915_read32,
	.write32 = i915_write32,
	.read64 = i915_read64,
	.write64 = i915_write64,
	.bar_memory = i915_bar_memory,
	.scanout_capture = i915_scanout_capture,
	.destroy = i915_destroy,
};

void sim_i915_set_fault(struct sim_model *m, unsigned faults)
{
	struct sim_i915 *i = to_i915(m);
	pthread_mutex_lock(&i->lock);
	i->faults = faults;
	pthread_mutex_unlock(&i->lock);
}

bool sim_i915_gt_latch_locked(struct sim_model *m, unsigned bank, uint32_t bits)
{
	struct sim_regs *r = &to_i915(m)->mmio;
	if (bank >= SIM_I915_GT_BANKS)
		return false;
	uint32_t latch = bits & ~sim_regs_get(r, SIM_I915_GT_IMR(bank));
	sim_regs_set(r, SIM_I915_GT_IIR(bank), sim_regs_get(r, SIM_I915_GT_IIR(bank)) | latch);
	return (latch & sim_regs_get(r, SIM_I915_GT_IER(bank))) &&
	       (sim_regs_get(r, SIM_I915_MASTER_IRQ) & SIM_I915_MASTER_IRQ_CONTROL);
}

void sim_i915_gt_irq(struct sim_model *m, unsigned bank, uint32_t bits)
{
	struct sim_i915 *i = to_i915(m);
	pthread_mutex_lock(&i->lock);
	bool fire = sim_i915_gt_latch_locked(m, bank, bits);
	pthread_mutex_unlock(&i->lock);
	if (fire && m->bus)
		m->bus->raise_irq(m->bus);
}

struct sim_i915_display *sim_i915_display_of(struct sim_model *m)
{
	return m ? to_i915(m)->display : NULL;
}

struct sim_i915_engines *sim_i915_engines_of(struct sim_model *m)
{
	return m ? to_i915(m)->engines : NULL;
}

int sim_i915_hook_mmio(struct sim_model *m, const struct sim_reg_hook *hook)
{
	struct sim_i915 *i = to_i915(m);
	pthread_mutex_lock(&i->lock);
	int ret = sim_regs_add_hook(&i->mmio, hook);
	pthread_mutex_unlock(&i->lock);
	return ret;
}

struct sim_model *sim_i915_create(struct sim_bus *bus, uint8_t pci_bus)
{
	struct sim_i915 *i = calloc(1, sizeof(*i));
	if (!i)
		return NULL;
	pthread_mutex_init(&i->lock, NULL);

	struct sim_model *m = &i->base;
	m->ops = &i915_model_ops;
	m->bus = bus;
	/* Integrated graphics sit at 00:02.0; pci_bus only keeps several models apart. */
	m->pci = (struct hw_pci_id){
		.vendor = 0x8086, .device = 0x1912,
		.subvendor = 0x1028, .subdevice = 0x06B9, /* an OEM desktop board [plausible] */
		.revision = 0x06, .class_code = 0x030000,
		.domain = 0, .bus = pci_bus, .dev = 2, .func = 0,
	};
	m->bars[SIM_I915_BAR_GTTMMADR] = (struct hw_bar){.size = SIM_I915_GTTMMADR_SIZE, .mem64 = true};
	m->bars[SIM_I915_BAR_GMADR] = (struct hw_bar){.size = SIM_I915_GMADR_SIZE, .mem64 = true, .prefetchable = true};
	m->bars[SIM_I915_BAR_IO] = (struct hw_bar){.size = SIM_I915_IO_SIZE, .io = true};

	const uint64_t base[HW_MAX_BARS] = {
		[SIM_I915_BAR_GTTMMADR] = 0xF6000000ull,
		[SIM_I915_BAR_GMADR] = 0xE0000000ull,
		[SIM_I915_BAR_IO] = 0xF000,
	};
	sim_pci_fill_config(m, base);
	sim_pci_put16(m->config, SIM_I915_CFG_GGC, SIM_I915_GGC_RESET);

	/* Anonymous and sparse: untouched PTEs (zero: not present) cost nothing. */
	i->ggtt = mmap(NULL, SIM_I915_GGTT_ENTRIES * sizeof(uint64_t), PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if ((void *)i->ggtt == MAP_FAILED)
		goto fail;
	if (sim_regs_init(&i->mmio, SIM_I915_MMIO_SIZE) || install_registers(i))
		goto fail;
	i->display = sim_i915_display_create(m, &i->lock, &i->mmio);
	if (!i->display)
		goto fail;
	i->engines = sim_i915_engines_create(m, &i->lock, &i->mmio);
	if (!i->engines)
		goto fail;
	return m;

fail:;
	int err = errno ? errno : ENOMEM;
	i915_destroy(m);
	errno = err;
	return NULL;
}
