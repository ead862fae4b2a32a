/*
 * The "sim" hw backend: a device model in this process. Its bus masters DMA
 * into memfd-backed allocations by bus address, and its interrupt line is an
 * eventfd the event loop watches edge-triggered.
 */
#include "hw_sim.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

struct sim_dma_buf {
	uint64_t bus;
	size_t size; /* page-rounded */
	void *cpu;
	int fd;
	bool local;                /* device-local memory at offset bus (local_alloc), not on the bus */
	struct sim_dma_buf *next;  /* local ones: the list of them */
};

struct sim_hw {
	struct hw_device hw;
	struct sim_bus bus;
	struct sim_model *model;
	int irq_fd;
	bool irq_notified; /* the eventfd was written since the last ack (atomic) */

	/* Readers: model DMA. Writers: alloc/free. A buffer is never unmapped under a DMA. */
	pthread_rwlock_t dma_lock;
	struct sim_dma_buf **bufs; /* sorted by bus address */
	size_t nbufs, cap;
	uint64_t next_bus; /* bump allocator: bus addresses are never reused */
	struct sim_dma_buf *locals; /* device-local allocations (daemon thread only) */
};

static const struct hw_ops sim_hw_ops;

static struct sim_hw *to_sim(struct hw_device *hw)
{
	return (struct sim_hw *)hw;
}

struct sim_model *hw_sim_model(struct hw_device *hw)
{
	return hw && hw->ops == &sim_hw_ops ? to_sim(hw)->model : NULL;
}

struct sim_bus *hw_sim_bus(struct hw_device *hw)
{
	return hw && hw->ops == &sim_hw_ops ? &to_sim(hw)->bus : NULL;
}

/* ---- DMA ---- */

/* Index of the last buffer starting at or below addr, or nbufs if none. */
static size_t buf_floor(const struct sim_hw *s, uint64_t addr)
{
	size_t lo = 0, hi = s->nbufs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->bufs[mid]->bus <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : s->nbufs;
}

/* The buffer that holds all of [addr, addr+len), or NULL: a master abort. */
static struct sim_dma_buf *resolve(const struct sim_hw *s, uint64_t addr, size_t len)
{
	size_t i = buf_floor(s, addr);
	if (i == s->nbufs)
		return NULL;
	struct sim_dma_buf *b = s->bufs[i];
	uint64_t off = addr - b->bus;
	if (off >= b->size || len > b->size - off)
		return NULL;
	return b;
}

static int bus_dma(struct sim_bus *bus, uint64_t addr, void *buf, size_t len, int write)
{
	struct sim_hw *s = bus->priv;
	if (len == 0)
		return 0;
	pthread_rwlock_rdlock(&s->dma_lock);
	struct sim_dma_buf *b = resolve(s, addr, len);
	if (b) {
		uint8_t *p = (uint8_t *)b->cpu + (addr - b->bus);
		if (write)
			memcpy(p, buf, len);
		else
			memcpy(buf, p, len);
	}
	pthread_rwlock_unlock(&s->dma_lock);
	return b ? 0 : -1;
}

static int bus_dma_read(struct sim_bus *bus, uint64_t addr, void *dst, size_t len)
{
	return bus_dma(bus, addr, dst, len, 0);
}

static int bus_dma_write(struct sim_bus *bus, uint64_t addr, const void *src, size_t len)
{
	return bus_dma(bus, addr, (void *)src, len, 1);
}

static void bus_raise_irq(struct sim_bus *bus)
{
	struct sim_hw *s = bus->priv;
	uint64_t one = 1;
	/*
	 * One notification per acknowledgement: a cause raised before the ack
	 * is seen by the handler that runs after it (the model records the
	 * cause before it raises), so more writes would only wake it again.
	 */
	if (__atomic_exchange_n(&s->irq_notified, true, __ATOMIC_SEQ_CST))
		return;
	/* EAGAIN means the counter is saturated: the line is already pending. */
	while (write(s->irq_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* Maps b->fd (sized b->size) and gives it the next bus address. Takes b on success. */
static int dma_register(struct sim_hw *s, struct sim_dma_buf *b, struct hw_dma *out)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	b->cpu = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	if (b->cpu == MAP_FAILED) {
		b->cpu = NULL;
		return -errno;
	}
	pthread_rwlock_wrlock(&s->dma_lock);
	int ret = 0;
	if (s->nbufs == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct sim_dma_buf **nb = realloc(s->bufs, cap * sizeof(*nb));
		if (nb) {
			s->bufs = nb;
			s->cap = cap;
		} else {
			ret = -ENOMEM;
		}
	}
	if (!ret && s->next_bus > UINT64_MAX - b->size - page)
		ret = -ENOSPC;
	if (!ret) {
		b->bus = s->next_bus;
		/* A guard page after each buffer: an overrun hits nothing rather than a neighbour. */
		s->next_bus += b->size + page;
		s->bufs[s->nbufs++] = b; /* addresses only grow, so appending keeps the order */
	}
	pthread_rwlock_unlock(&s->dma_lock);
	if (ret) {
		munmap(b->cpu, b->size);
		b->cpu = NULL;
		return ret;
	}
	*out = (struct hw_dma){.cpu = b->cpu, .bus_addr = b->bus, .size = b->size, .fd = b->fd, .backend = b};
	return 0;
}

/* A new buffer of size (page-rounded) bytes of sealed shared memory, not yet mapped. */
static int buf_new(size_t size, struct sim_dma_buf **out)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	if (size == 0 || size > SIZE_MAX - page)
		return -EINVAL;
	size = (size + page - 1) & ~(page - 1);
	struct sim_dma_buf *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->size = size;
	b->fd = memfd_create("rdrm-dma", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int ret = b->fd < 0 ? -errno : 0;
	/* Sealed to its size: nobody holding the fd can shrink it under the device. */
	if (!ret && (ftruncate(b->fd, (off_t)size) < 0 || fcntl(b->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0))
		ret = -errno;
	if (ret) {
		if (b->fd >= 0)
			close(b->fd);
		free(b);
		return ret;
	}
	*out = b;
	return 0;
}

static int sim_dma_alloc(struct hw_device *hw, size_t size, struct hw_dma *out)
{
	struct sim_hw *s = to_sim(hw);
	struct sim_dma_buf *b;
	int ret = buf_new(size, &b);
	if (ret)
		return ret;
	ret = dma_register(s, b, out);
	if (ret) {
		close(b->fd);
		free(b);
	}
	return ret;
}

/*
 * Device-local memory: the model maps the buffer's pages over that range of
 * its memory, so the buffer keeps an identity of its own (mappable by
 * clients, shareable as a dma-buf) while the device sees it at its offset.
 */
static int sim_local_alloc(struct hw_device *hw, uint64_t offset, size_t size, struct hw_dma *out)
{
	struct sim_hw *s = to_sim(hw);
	if (!s->model->ops->local_memory_back)
		return -ENODEV;
	struct sim_dma_buf *b;
	int ret = buf_new(size, &b);
	if (ret)
		return ret;
	b->cpu = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	ret = b->cpu == MAP_FAILED ? -errno : 0;
	if (!ret) {
		ret = s->model->ops->local_memory_back(s->model, offset, b->size, b->fd);
		if (ret)
			munmap(b->cpu, b->size);
	}
	if (ret) {
		close(b->fd);
		free(b);
		return ret;
	}
	b->bus = offset;
	b->local = true;
	b->next = s->locals;
	s->locals = b;
	*out = (struct hw_dma){.cpu = b->cpu, .bus_addr = 0, .size = b->size, .fd = b->fd, .backend = b,
			       .local_offset = offset};
	return 0;
}

static void local_release(struct sim_hw *s, struct sim_dma_buf *b)
{
	/* The range gets the model's own pages back; the buffer lives on in whoever still maps its fd. */
	s->model->ops->local_memory_back(s->model, b->bus, b->size, -1);
	munmap(b->cpu, b->size);
	close(b->fd);
	free(b);
}

/*
 * Memory someone else allocated (a dma-buf from another device), reached by
 * this device at a bus address of its own. The fd must be sealed against
 * shrinking, or the memory could vanish under a DMA.
 */
static int sim_dma_import(struct hw_device *hw, int fd, size_t size, struct hw_dma *out)
{
	struct sim_hw *s = to_sim(hw);
	int seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || size == 0)
		return -EINVAL;
	struct sim_dma_buf *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->size = size;
	b->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	int ret = b->fd < 0 ? -errno : dma_register(s, b, out);
	if (ret) {
		if (b->fd >= 0)
			close(b->fd);
		free(b);
	}
	return ret;
}

static void sim_dma_free(struct hw_device *hw, struct hw_dma *dma)
{
	struct sim_hw *s = to_sim(hw);
	struct sim_dma_buf *b = NULL;
	if (!dma || !dma->backend)
		return;

	for (struct sim_dma_buf **pp = &s->locals; *pp; pp = &(*pp)->next) {
		if (*pp == dma->backend) {
			b = *pp;
			*pp = b->next;
			local_release(s, b);
			*dma = (struct hw_dma){.fd = -1};
			return;
		}
	}

	pthread_rwlock_wrlock(&s->dma_lock);
	size_t i = buf_floor(s, dma->bus_addr);
	if (i < s->nbufs && s->bufs[i] == dma->backend && s->bufs[i]->bus == dma->bus_addr) {
		b = s->bufs[i];
		memmove(&s->bufs[i], &s->bufs[i + 1], (s->nbufs - i - 1) * sizeof(*s->bufs));
		s->nbufs--;
	}
	pthread_rwlock_unlock(&s->dma_lock);
	if (!b)
		return; /* not ours, or already freed */

	munmap(b->cpu, b->size);
	close(b->fd);
	free(b);
	*dma = (struct hw_dma){.fd = -1};
}

/* ---- MMIO, config, BARs ---- */

static bool mmio_ok(struct sim_hw *s, int bar, uint64_t off, uint64_t len)
{
	if (bar < 0 || bar >= HW_MAX_BARS)
		return false;
	const struct hw_bar *b = &s->hw.bars[bar];
	return b->size && !b->io && off < b->size && len <= b->size - off;
}

static uint32_t sim_mmio_read32(struct hw_device *hw, int bar, uint64_t off)
{
	struct sim_hw *s = to_sim(hw);
	if (!mmio_ok(s, bar, off, 4))
		return 0xFFFFFFFFu;
	return s->model->ops->read32(s->model, bar, off);
}

static void sim_mmio_write32(struct hw_device *hw, int bar, uint64_t off, uint32_t v)
{
	struct sim_hw *s = to_sim(hw);
	if (mmio_ok(s, bar, off, 4))
		s->model->ops->write32(s->model, bar, off, v);
}

static uint64_t sim_mmio_read64(struct hw_device *hw, int bar, uint64_t off)
{
	struct sim_hw *s = to_sim(hw);
	if (!mmio_ok(s, bar, off, 8))
		return ~(uint64_t)0;
	if (s->model->ops->read64)
		return s->model->ops->read64(s->model, bar, off);
	uint64_t lo = s->model->ops->read32(s->model, bar, off);
	uint64_t hi = s->model->ops->read32(s->model, bar, off + 4);
	return lo | hi << 32;
}

static void sim_mmio_write64(struct hw_device *hw, int bar, uint64_t off, uint64_t v)
{
	struct sim_hw *s = to_sim(hw);
	if (!mmio_ok(s, bar, off, 8))
		return;
	if (s->model->ops->write64) {
		s->model->ops->write64(s->model, bar, off, v);
		return;
	}
	s->model->ops->write32(s->model, bar, off, (uint32_t)v);
	s->model->ops->write32(s->model, bar, off + 4, (uint32_t)(v >> 32));
}

static void *sim_bar_map(struct hw_device *hw, int bar, size_t *size)
{
	struct sim_hw *s = to_sim(hw);
	if (bar < 0 || bar >= HW_MAX_BARS || !s->hw.bars[bar].size || s->hw.bars[bar].io ||
	    !s->model->ops->bar_memory)
		return NULL;
	return s->model->ops->bar_memory(s->model, bar, size);
}

static int sim_config_read(struct hw_device *hw, uint32_t offset, void *buf, size_t len)
{
	struct sim_hw *s = to_sim(hw);
	const size_t cfg_size = sizeof(s->model->config);
	if (offset > cfg_size || len > cfg_size - offset)
		return -EINVAL;
	memcpy(buf, s->model->config + offset, len);
	return 0;
}

/* ---- interrupts ---- */

static int sim_irq_fd(struct hw_device *hw)
{
	return to_sim(hw)->irq_fd;
}

static void sim_irq_ack(struct hw_device *hw)
{
	/*
	 * Re-arms the notification without a system call: the eventfd is never
	 * drained, each notification is one write and so one new edge for an
	 * edge-triggered watcher. (Its counter, one per acknowledged interrupt,
	 * cannot reach the eventfd limit of 2^64 - 2.)
	 */
	__atomic_store_n(&to_sim(hw)->irq_notified, false, __ATOMIC_SEQ_CST);
}

/* The monitor's view comes from the model's display block, not from a register. */
static int sim_scanout_capture(struct hw_device *hw, unsigned int pipe, uint32_t *pixels, uint32_t width,
			       uint32_t height)
{
	struct sim_model *m = to_sim(hw)->model;
	if (!pixels || !width || !height)
		return -EINVAL;
	if (!m->ops->scanout_capture)
		return -ENODEV;
	return m->ops->scanout_capture(m, pipe, pixels, width, height);
}

static void sim_destroy(struct hw_device *hw)
{
	struct sim_hw *s = to_sim(hw);
	/* The model goes first: its engines may still be mastering DMA. */
	while (s->locals && s->model) {
		struct sim_dma_buf *b = s->locals;
		s->locals = b->next;
		local_release(s, b);
	}
	if (s->model)
		s->model->ops->destroy(s->model);
	for (size_t i = 0; i < s->nbufs; i++) {
		munmap(s->bufs[i]->cpu, s->bufs[i]->size);
		close(s->bufs[i]->fd);
		free(s->bufs[i]);
	}
	free(s->bufs);
	if (s->irq_fd >= 0)
		close(s->irq_fd);
	pthread_rwlock_destroy(&s->dma_lock);
	free(s);
}

static const struct hw_ops sim_hw_ops = {
	.mmio_read32 = sim_mmio_read32,
	.mmio_write32 = sim_mmio_write32,
	.mmio_read64 = sim_mmio_read64,
	.mmio_write64 = sim_mmio_write64,
	.bar_map = sim_bar_map,
	.config_read = sim_config_read,
	.dma_alloc = sim_dma_alloc,
	.dma_free = sim_dma_free,
	.local_alloc = sim_local_alloc,
	.dma_import = sim_dma_import,
	.irq_fd = sim_irq_fd,
	.irq_ack = sim_irq_ack,
	.scanout_capture = sim_scanout_capture,
	.destroy = sim_destroy,
};

struct hw_device *hw_sim_create(const char *model, int instance)
{
	struct sim_model *(*create)(struct sim_bus *, uint8_t);
	if (!model) {
		errno = EINVAL;
		return NULL;
	}
	if (strcmp(model, "amdgpu") == 0) {
		create = sim_amdgpu_create;
	} else if (strcmp(model, "i915") == 0) {
		create = sim_i915_create;
	} else {
		errno = ENODEV;
		return NULL;
	}
	if (instance < 0 || instance > 254) {
		errno = EINVAL;
		return NULL;
	}

	struct sim_hw *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->irq_fd = -1;
	s->next_bus = HW_SIM_DMA_BASE;
	pthread_rwlock_init(&s->dma_lock, NULL);
	s->hw.ops = &sim_hw_ops;
	s->hw.priv = s;
	s->bus = (struct sim_bus){
		.dma_read = bus_dma_read,
		.dma_write = bus_dma_write,
		.raise_irq = bus_raise_irq,
		.priv = s,
	};

	s->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->irq_fd < 0)
		goto fail;
	/* Bus 0 is the host bridge's; each instance gets its own bus after it. */
	s->model = create(&s->bus, (uint8_t)(instance + 1));
	if (!s->model)
		goto fail;

	s->hw.pci = s->model->pci;
	memcpy(s->hw.bars, s->model->bars, sizeof(s->hw.bars));
	snprintf(s->hw.name, sizeof(s->hw.name), "sim:%s", model);
	return &s->hw;

fail:;
	int err = errno;
	sim_destroy(&s->hw);
	errno = err;
	return NULL;
}
