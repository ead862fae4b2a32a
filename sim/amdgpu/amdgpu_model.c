/*
 * Vega10 device model: PCI identity, BARs and the BAR5 register file with the
 * reset values a driver probes. Engines (VM, IH, display, GFX CP, SDMA) attach
 * through the register and doorbell hooks.
 */
#include "sim_amdgpu.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "sim_idle.h"
#include "sim_pci.h"

#define MAX_WAITERS 4
#define MAX_WINDOWS 2

struct sim_amdgpu_waiter {
	struct sim_amdgpu *a;
	pthread_cond_t cond; /* its engine sleeps here (with the model lock) */
	struct sim_amdgpu_reg_window win[MAX_WINDOWS];
	unsigned nwin;
	bool asleep, polling; /* polling: asleep (or idle-polling) with a deadline */
	bool wake_due;        /* woken by a BAR write still in progress: signalled after its unlock */
	bool idle_poll;       /* polling for work without the lock (sim_idle.h): wakes set kicked */
	atomic_bool kicked;
	uint64_t busy_ns;     /* when its engine last did work */
};

struct sim_amdgpu {
	struct sim_model base;
	pthread_mutex_t lock;  /* every register, doorbell and hook */
	struct sim_amdgpu_waiter waiters[MAX_WAITERS]; /* command engines */
	unsigned nwaiters;
	bool bar_write; /* a driver's BAR write holds the lock: wake-ups wait for its unlock */
	struct sim_regs mmio;  /* BAR5 */
	struct sim_regs doorbell; /* BAR2 */
	int vram_fd;
	uint8_t *vram;         /* all of VRAM; BAR0 shows the first SIM_AMDGPU_VRAM_VISIBLE bytes */
	void *engine[SIM_AMDGPU_ENGINE_COUNT]; /* per-engine state (their own files) */
};

static struct sim_amdgpu *to_amdgpu(struct sim_model *m)
{
	return (struct sim_amdgpu *)m;
}

static int vram_access(struct sim_amdgpu *a, uint64_t off, void *buf, size_t len, int write)
{
	if (off > SIM_AMDGPU_VRAM_SIZE || len > SIM_AMDGPU_VRAM_SIZE - off)
		return -1;
	if (write)
		memcpy(a->vram + off, buf, len);
	else
		memcpy(buf, a->vram + off, len);
	return 0;
}

/* ---- register behaviour ---- */

static uint32_t read_const(struct sim_regs *r, uint32_t off, void *ctx)
{
	return (uint32_t)(uintptr_t)ctx;
}

static void write_ignore(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
}

/* MM_DATA reaches the register at MM_INDEX, or VRAM when MM_INDEX b31 is set. */
static uint32_t mm_data_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct sim_amdgpu *a = ctx;
	uint32_t idx = sim_regs_get(r, SIM_AMDGPU_MM_INDEX);
	if (idx & 0x80000000u) {
		uint64_t vo = (uint64_t)(idx & 0x7FFFFFFFu) | (uint64_t)sim_regs_get(r, SIM_AMDGPU_MM_INDEX_HI) << 31;
		uint32_t v;
		if ((vo & 3) || vram_access(a, vo, &v, 4, 0))
			return SIM_REG_ABORT;
		return v;
	}
	if (idx == SIM_AMDGPU_MM_DATA) /* would recurse; the hardware decodes it as nothing useful */
		return SIM_REG_ABORT;
	return sim_regs_read(r, idx);
}

static void mm_data_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct sim_amdgpu *a = ctx;
	uint32_t idx = sim_regs_get(r, SIM_AMDGPU_MM_INDEX);
	if (idx & 0x80000000u) {
		uint64_t vo = (uint64_t)(idx & 0x7FFFFFFFu) | (uint64_t)sim_regs_get(r, SIM_AMDGPU_MM_INDEX_HI) << 31;
		if (!(vo & 3))
			vram_access(a, vo, &val, 4, 1);
		return;
	}
	if (idx != SIM_AMDGPU_MM_DATA)
		sim_regs_write(r, idx, val);
}

/* The HDP flushes at once: DONE reports what was requested (the kernel waits for it). */
static void hdp_flush_req_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	sim_regs_set(r, off, val);
	sim_regs_set(r, SIM_AMDGPU_HDP_FLUSH_DONE, val);
}

static int install_registers(struct sim_amdgpu *a)
{
	struct sim_regs *r = &a->mmio;
	const struct sim_reg_hook hooks[] = {
		{.off = SIM_AMDGPU_MM_DATA, .read = mm_data_read, .write = mm_data_write, .ctx = a},
		{.off = SIM_AMDGPU_HDP_FLUSH_REQ, .write = hdp_flush_req_write},
		{.off = SIM_AMDGPU_HDP_FLUSH_DONE, .write = write_ignore},
		/* Read-only status and straps: writes do not change them. (GRBM_STATUS
		 * and CP_STAT belong to the CP, which reports its own busy state.) */
		{.off = SIM_AMDGPU_RCC_DEV0_EPF0_STRAP0, .read = read_const, .write = write_ignore,
		 .ctx = (void *)(uintptr_t)SIM_AMDGPU_STRAP0_RESET},
		{.off = SIM_AMDGPU_RCC_CONFIG_MEMSIZE, .read = read_const, .write = write_ignore,
		 .ctx = (void *)(uintptr_t)(SIM_AMDGPU_VRAM_SIZE >> 20)},
	};
	for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		int ret = sim_regs_add_hook(r, &hooks[i]);
		if (ret)
			return ret;
	}
	/* Plain read/write registers with a non-zero reset value. */
	sim_regs_set(r, SIM_AMDGPU_GB_ADDR_CONFIG, SIM_AMDGPU_GB_ADDR_CONFIG_GOLDEN);
	sim_regs_set(r, SIM_AMDGPU_CP_ME_CNTL, SIM_AMDGPU_CP_ME_CNTL_RESET);
	return 0;
}

/* ---- BAR access ---- */

/*
 * A woken engine's first act is to take the lock: signalled while the
 * writer still holds it, it would only sleep again on the lock (and the
 * writer make one more system call to hand it over). So the engines a BAR
 * write wakes are signalled after its unlock; the state they will look at
 * was changed under the lock, so no wake-up is lost.
 */
static void bar_write_begin(struct sim_amdgpu *a)
{
	pthread_mutex_lock(&a->lock);
	a->bar_write = true;
}

static void bar_write_end(struct sim_amdgpu *a)
{
	bool due[MAX_WAITERS] = {false};
	unsigned n = a->nwaiters;
	a->bar_write = false;
	for (unsigned i = 0; i < n; i++) {
		due[i] = a->waiters[i].wake_due;
		a->waiters[i].wake_due = false;
	}
	pthread_mutex_unlock(&a->lock);
	for (unsigned i = 0; i < n; i++)
		if (due[i])
			pthread_cond_signal(&a->waiters[i].cond);
}

static void waiter_wake(struct sim_amdgpu_waiter *w)
{
	if (w->idle_poll)
		atomic_store(&w->kicked, true); /* no system call: the engine is looking */
	else if (w->a->bar_write)
		w->wake_due = true;
	else
		pthread_cond_signal(&w->cond);
}

static uint32_t amdgpu_read32(struct sim_model *m, int bar, uint64_t off)
{
	struct sim_amdgpu *a = to_amdgpu(m);
	uint32_t v = SIM_REG_ABORT;
	switch (bar) {
	case SIM_AMDGPU_BAR_VRAM:
		if (!(off & 3) && off < SIM_AMDGPU_VRAM_VISIBLE)
			vram_access(a, off, &v, 4, 0);
		break;
	case SIM_AMDGPU_BAR_DOORBELL:
		pthread_mutex_lock(&a->lock);
		v = sim_regs_read(&a->doorbell, off);
		pthread_mutex_unlock(&a->lock);
		break;
	case SIM_AMDGPU_BAR_MMIO:
		pthread_mutex_lock(&a->lock);
		v = sim_regs_read(&a->mmio, off);
		pthread_mutex_unlock(&a->lock);
		break;
	default:
		break;
	}
	return v;
}

static void amdgpu_write32(struct sim_model *m, int bar, uint64_t off, uint32_t v)
{
	struct sim_amdgpu *a = to_amdgpu(m);
	switch (bar) {
	case SIM_AMDGPU_BAR_VRAM:
		if (!(off & 3) && off < SIM_AMDGPU_VRAM_VISIBLE)
			vram_access(a, off, &v, 4, 1);
		break;
	case SIM_AMDGPU_BAR_DOORBELL:
		/* The doorbell's own hook kicks the engine it belongs to. */
		bar_write_begin(a);
		sim_regs_write(&a->doorbell, off, v);
		bar_write_end(a);
		break;
	case SIM_AMDGPU_BAR_MMIO:
		bar_write_begin(a);
		sim_regs_write(&a->mmio, off, v);
		sim_amdgpu_engines_notify(m, true, (uint32_t)off, 4); /* a poll may wait on this register */
		bar_write_end(a);
		break;
	default:
		break;
	}
}

static uint64_t amdgpu_read64(struct sim_model *m, int bar, uint64_t off)
{
	struct sim_amdgpu *a = to_amdgpu(m);
	uint64_t v = ~(uint64_t)0;
	switch (bar) {
	case SIM_AMDGPU_BAR_VRAM:
		if (!(off & 7) && off < SIM_AMDGPU_VRAM_VISIBLE)
			vram_access(a, off, &v, 8, 0);
		break;
	case SIM_AMDGPU_BAR_DOORBELL:
	case SIM_AMDGPU_BAR_MMIO:
		pthread_mutex_lock(&a->lock);
		v = sim_regs_read64(bar == SIM_AMDGPU_BAR_MMIO ? &a->mmio : &a->doorbell, off);
		pthread_mutex_unlock(&a->lock);
		break;
	default:
		break;
	}
	return v;
}

static void amdgpu_write64(struct sim_model *m, int bar, uint64_t off, uint64_t v)
{
	struct sim_amdgpu *a = to_amdgpu(m);
	switch (bar) {
	case SIM_AMDGPU_BAR_VRAM:
		if (!(off & 7) && off < SIM_AMDGPU_VRAM_VISIBLE)
			vram_access(a, off, &v, 8, 1);
		break;
	case SIM_AMDGPU_BAR_DOORBELL:
	case SIM_AMDGPU_BAR_MMIO:
		/* One locked access: a 64-bit doorbell write is never seen half-done. */
		bar_write_begin(a);
		sim_regs_write64(bar == SIM_AMDGPU_BAR_MMIO ? &a->mmio : &a->doorbell, off, v);
		if (bar == SIM_AMDGPU_BAR_MMIO)
			sim_amdgpu_engines_notify(m, true, (uint32_t)off, 8);
		bar_write_end(a);
		break;
	default:
		break;
	}
}

static void *amdgpu_bar_memory(struct sim_model *m, int bar, size_t *size)
{
	/* Only VRAM is plain memory; doorbells and registers have side effects. */
	if (bar != SIM_AMDGPU_BAR_VRAM)
		return NULL;
	if (size)
		*size = SIM_AMDGPU_VRAM_VISIBLE;
	return to_amdgpu(m)->vram;
}

/*
 * The model's VRAM is one shared mapping; an allocation's own memory is
 * mapped over its range in place (MAP_FIXED replaces the pages atomically),
 * so the engines, BAR0 and the allocation's owner all see the same bytes.
 */
static int amdgpu_local_memory_back(struct sim_model *m, uint64_t off, size_t size, int fd)
{
	struct sim_amdgpu *a = to_amdgpu(m);
	long page = sysconf(_SC_PAGESIZE);
	if (!size || (off | size) & (uint64_t)(page - 1) || off > SIM_AMDGPU_VRAM_SIZE ||
	    size > SIM_AMDGPU_VRAM_SIZE - off)
		return -EINVAL;
	void *p = mmap(a->vram + off, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd >= 0 ? fd : a->vram_fd,
		       fd >= 0 ? 0 : (off_t)off);
	return p == MAP_FAILED ? -errno : 0;
}

static void amdgpu_destroy(struct sim_model *m)
{
	struct sim_amdgpu *a = to_amdgpu(m);
	if (!a)
		return;
	/* Engine threads go first: they post to the IH and reach memory through the VM. */
	sim_amdgpu_cp_stop(m);
	sim_amdgpu_sdma_stop(m);
	sim_amdgpu_cp_fini(m);
	sim_amdgpu_sdma_fini(m);
	sim_amdgpu_dce_fini(m);
	sim_amdgpu_ih_fini(m);
	sim_amdgpu_vm_fini(m);
	sim_regs_fini(&a->mmio);
	sim_regs_fini(&a->doorbell);
	if (a->vram && a->vram != MAP_FAILED)
		munmap(a->vram, SIM_AMDGPU_VRAM_SIZE);
	if (a->vram_fd >= 0)
		close(a->vram_fd);
	for (unsigned i = 0; i < a->nwaiters; i++)
		pthread_cond_destroy(&a->waiters[i].cond);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static const struct sim_model_ops amdgpu_model_ops = {
	.read32 = amdgpu_read32,
	.write32 = amdgpu_write32,
	.read64 = amdgpu_read64,
	.write64 = amdgpu_write64,
	.bar_memory = amdgpu_bar_memory,
	.local_memory_back = amdgpu_local_memory_back,
	.scanout_capture = sim_amdgpu_dce_capture,
	.destroy = amdgpu_destroy,
};

int sim_amdgpu_hook_mmio(struct sim_model *m, const struct sim_reg_hook *hook)
{
	struct sim_amdgpu *a = to_amdgpu(m);
	pthread_mutex_lock(&a->lock);
	int ret = sim_regs_add_hook(&a->mmio, hook);
	pthread_mutex_unlock(&a->lock);
	return ret;
}

pthread_mutex_t *sim_amdgpu_lock(struct sim_model *m)
{
	return &to_amdgpu(m)->lock;
}

struct sim_regs *sim_amdgpu_mmio(struct sim_model *m)
{
	return &to_amdgpu(m)->mmio;
}

uint8_t *sim_amdgpu_vram(struct sim_model *m)
{
	return to_amdgpu(m)->vram;
}

void *sim_amdgpu_engine(struct sim_model *m, enum sim_amdgpu_engine e)
{
	return e < SIM_AMDGPU_ENGINE_COUNT ? to_amdgpu(m)->engine[e] : NULL;
}

void sim_amdgpu_set_engine(struct sim_model *m, enum sim_amdgpu_engine e, void *state)
{
	if (e < SIM_AMDGPU_ENGINE_COUNT)
		to_amdgpu(m)->engine[e] = state;
}

struct sim_amdgpu_waiter *sim_amdgpu_waiter_add(struct sim_model *m, const struct sim_amdgpu_reg_window *win,
						unsigned nwin)
{
	struct sim_amdgpu *a = to_amdgpu(m);
	if (a->nwaiters == MAX_WAITERS || nwin > MAX_WINDOWS)
		return NULL;
	struct sim_amdgpu_waiter *w = &a->waiters[a->nwaiters];
	memset(w, 0, sizeof(*w));
	pthread_condattr_t cattr;
	pthread_condattr_init(&cattr);
	pthread_condattr_setclock(&cattr, CLOCK_MONOTONIC); /* engine deadlines are monotonic */
	int ret = pthread_cond_init(&w->cond, &cattr);
	pthread_condattr_destroy(&cattr);
	if (ret)
		return NULL;
	memcpy(w->win, win, nwin * sizeof(*win));
	w->nwin = nwin;
	w->a = a;
	a->nwaiters++;
	return w;
}

void sim_amdgpu_engine_kick(struct sim_amdgpu_waiter *w)
{
	if (w && (w->asleep || w->idle_poll))
		waiter_wake(w);
}

void sim_amdgpu_engines_wake(struct sim_model *m)
{
	struct sim_amdgpu *a = to_amdgpu(m);
	for (unsigned i = 0; i < a->nwaiters; i++)
		sim_amdgpu_engine_kick(&a->waiters[i]);
}

static bool in_windows(const struct sim_amdgpu_waiter *w, uint32_t off, uint32_t len)
{
	for (unsigned i = 0; i < w->nwin; i++)
		if (off < w->win[i].hi && off + len > w->win[i].lo)
			return true;
	return false;
}

void sim_amdgpu_engines_notify(struct sim_model *m, bool reg, uint32_t off, uint32_t len)
{
	struct sim_amdgpu *a = to_amdgpu(m);
	for (unsigned i = 0; i < a->nwaiters; i++) {
		struct sim_amdgpu_waiter *w = &a->waiters[i];
		if ((w->asleep || w->idle_poll) && (w->polling || (reg && in_windows(w, off, len))))
			waiter_wake(w);
	}
}

static void engine_sleep(struct sim_amdgpu *a, struct sim_amdgpu_waiter *w, uint64_t deadline_ns)
{
	w->asleep = true;
	w->polling = deadline_ns != UINT64_MAX;
	if (!w->polling) {
		pthread_cond_wait(&w->cond, &a->lock);
	} else {
		struct timespec ts = {.tv_sec = (time_t)(deadline_ns / 1000000000u),
				      .tv_nsec = (long)(deadline_ns % 1000000000u)};
		pthread_cond_timedwait(&w->cond, &a->lock, &ts);
	}
	w->asleep = w->polling = false;
}

static bool waiter_kicked(void *ctx)
{
	return atomic_load_explicit(&((struct sim_amdgpu_waiter *)ctx)->kicked, memory_order_acquire);
}

/* Soon after work, polls for more without the lock instead of sleeping (sim_idle.h); false: sleep. */
static bool engine_idle_poll(struct sim_amdgpu *a, struct sim_amdgpu_waiter *w, uint64_t now, uint64_t deadline_ns)
{
	uint64_t until;
	if (!sim_idle_should_poll(w->busy_ns, now, deadline_ns, &until))
		return false;
	w->idle_poll = true;
	w->polling = deadline_ns != UINT64_MAX;
	atomic_store(&w->kicked, false);
	pthread_mutex_unlock(&a->lock);
	sim_idle_poll(waiter_kicked, w, until);
	pthread_mutex_lock(&a->lock);
	w->idle_poll = w->polling = false;
	return true;
}

void sim_amdgpu_engine_run(struct sim_model *m, struct sim_amdgpu_waiter *w, const bool *stop,
			   sim_amdgpu_engine_tick_fn tick, void *ctx)
{
	struct sim_amdgpu *a = to_amdgpu(m);
	unsigned batch = 0;
	pthread_mutex_lock(&a->lock);
	while (!*stop) {
		uint64_t now = sim_amdgpu_now_ns(), deadline = UINT64_MAX;
		if (tick(ctx, now, &deadline)) {
			w->busy_ns = now;
			/* Let the driver's register accesses in now and then during long streams. */
			if (++batch >= 32) {
				batch = 0;
				pthread_mutex_unlock(&a->lock);
				sched_yield();
				pthread_mutex_lock(&a->lock);
			}
			continue;
		}
		batch = 0;
		if (!engine_idle_poll(a, w, now, deadline))
			engine_sleep(a, w, deadline);
	}
	pthread_mutex_unlock(&a->lock);
}

int sim_amdgpu_hook_doorbell(struct sim_model *m, const struct sim_reg_hook *hook)
{
	struct sim_amdgpu *a = to_amdgpu(m);
	pthread_mutex_lock(&a->lock);
	int ret = sim_regs_add_hook(&a->doorbell, hook);
	pthread_mutex_unlock(&a->lock);
	return ret;
}

struct sim_model *sim_amdgpu_create(struct sim_bus *bus, uint8_t pci_bus)
{
	struct sim_amdgpu *a = calloc(1, sizeof(*a));
	if (!a)
		return NULL;
	a->vram_fd = -1;
	pthread_mutex_init(&a->lock, NULL);

	struct sim_model *m = &a->base;
	m->ops = &amdgpu_model_ops;
	m->bus = bus;
	m->pci = (struct hw_pci_id){
		.vendor = 0x1002, .device = 0x687F,
		.subvendor = 0x1002, .subdevice = 0x0B36, /* reference Radeon RX Vega 64 board */
		.revision = 0xC1, .class_code = 0x030000,
		.domain = 0, .bus = pci_bus, .dev = 0, .func = 0,
	};
	m->bars[SIM_AMDGPU_BAR_VRAM] = (struct hw_bar){.size = SIM_AMDGPU_VRAM_VISIBLE, .mem64 = true, .prefetchable = true};
	m->bars[SIM_AMDGPU_BAR_DOORBELL] = (struct hw_bar){.size = SIM_AMDGPU_DOORBELL_SIZE, .mem64 = true, .prefetchable = true};
	m->bars[SIM_AMDGPU_BAR_IO] = (struct hw_bar){.size = SIM_AMDGPU_IO_SIZE, .io = true};
	m->bars[SIM_AMDGPU_BAR_MMIO] = (struct hw_bar){.size = SIM_AMDGPU_MMIO_SIZE};

	/* Addresses a PC firmware might assign [plausible]. */
	const uint64_t base[HW_MAX_BARS] = {
		[SIM_AMDGPU_BAR_VRAM] = 0xE0000000ull,
		[SIM_AMDGPU_BAR_DOORBELL] = 0xF0000000ull,
		[SIM_AMDGPU_BAR_IO] = 0xE000,
		[SIM_AMDGPU_BAR_MMIO] = 0xFCD00000ull,
	};
	sim_pci_fill_config(m, base);

	/* Sparse memfd: VRAM costs nothing until touched, and can later be shared. */
	a->vram_fd = memfd_create("rdrm-sim-vram", MFD_CLOEXEC);
	if (a->vram_fd < 0 || ftruncate(a->vram_fd, (off_t)SIM_AMDGPU_VRAM_SIZE) < 0)
		goto fail;
	a->vram = mmap(NULL, SIM_AMDGPU_VRAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, a->vram_fd, 0);
	if (a->vram == MAP_FAILED)
		goto fail;

	if (sim_regs_init(&a->mmio, SIM_AMDGPU_MMIO_SIZE) || sim_regs_init(&a->doorbell, SIM_AMDGPU_DOORBELL_SIZE))
		goto fail;
	if (install_registers(a))
		goto fail;
	/* Engines, after everything they use exists; each starts its own thread. */
	if ((errno = -sim_amdgpu_vm_init(m)) || (errno = -sim_amdgpu_ih_init(m)) || (errno = -sim_amdgpu_dce_init(m)) ||
	    (errno = -sim_amdgpu_cp_init(m)) || (errno = -sim_amdgpu_sdma_init(m)))
		goto fail;
	return m;

fail:;
	int err = errno ? errno : ENOMEM;
	amdgpu_destroy(m);
	errno = err;
	return NULL;
}
