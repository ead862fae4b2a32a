/*
 * The hardware interface. Drivers reach their GPU only through these ops:
 * register access on a BAR, DMA memory (a CPU pointer plus the bus address the
 * device uses), PCI config space, and an interrupt line delivered into the
 * event loop as a readable fd. Backends: "sim" (the device models, in process)
 * and, later, real PCI devices (Linux VFIO/UIO, Redox /scheme/memory + /scheme/irq).
 */
#ifndef REDOX_DRM_HW_H
#define REDOX_DRM_HW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hw_pci_id {
	uint16_t vendor, device;
	uint16_t subvendor, subdevice;
	uint8_t revision;
	uint32_t class_code; /* 24-bit class/subclass/prog-if, 0x030000 = VGA */
	uint16_t domain;
	uint8_t bus, dev, func;
};

enum { HW_MAX_BARS = 6 };

struct hw_bar {
	uint64_t size;      /* 0: BAR not implemented */
	bool mem64, prefetchable;
	bool io;            /* an I/O-port BAR: never mapped, never reached through mmio ops */
};

struct hw_dma {
	void *cpu;         /* CPU view of the memory */
	uint64_t bus_addr; /* what the device puts on the bus to reach it */
	size_t size;
	int fd;            /* backing memfd (sealed against shrinking), for mapping into clients */
	void *backend;     /* backend-private */
	/* local_alloc only: the offset in the device's own memory (bus_addr is then 0: not on the bus). */
	uint64_t local_offset;
};

struct hw_device;

struct hw_ops {
	uint32_t (*mmio_read32)(struct hw_device *hw, int bar, uint64_t offset);
	void (*mmio_write32)(struct hw_device *hw, int bar, uint64_t offset, uint32_t value);
	/* One 64-bit access (doorbells, 64-bit pointers): not two 32-bit ones. */
	uint64_t (*mmio_read64)(struct hw_device *hw, int bar, uint64_t offset);
	void (*mmio_write64)(struct hw_device *hw, int bar, uint64_t offset, uint64_t value);
	/* CPU mapping of a memory BAR (VRAM aperture); NULL if the BAR cannot be mapped. */
	void *(*bar_map)(struct hw_device *hw, int bar, size_t *size);
	int (*config_read)(struct hw_device *hw, uint32_t offset, void *buf, size_t len);
	int (*dma_alloc)(struct hw_device *hw, size_t size, struct hw_dma *out);
	void (*dma_free)(struct hw_device *hw, struct hw_dma *dma);
	/*
	 * Device-local memory (VRAM): backs [offset, offset+size) of the device's
	 * own memory with a new allocation the daemon and clients can map (cpu,
	 * fd), which the device reaches at local_offset and the CPU through the
	 * memory BAR where the BAR covers it. Where to place it is the driver's
	 * business; the backend only backs it. Freed with dma_free. -ENODEV if
	 * the device has no local memory, -EINVAL if the range is outside it or
	 * not page aligned. NULL op: no such memory.
	 */
	int (*local_alloc)(struct hw_device *hw, uint64_t offset, size_t size, struct hw_dma *out);
	/* Makes memory behind a sealed fd of size bytes reachable by the device (dma-buf import). */
	int (*dma_import)(struct hw_device *hw, int fd, size_t size, struct hw_dma *out);
	/*
	 * The interrupt line as an event: the descriptor signals a new readable
	 * edge (what epoll's EPOLLET reports) when the device raises its line,
	 * and raises after that are folded into it until irq_ack re-arms the
	 * notification. Watch it edge-triggered: it may stay readable, as
	 * irq_ack need not drain it. The handler that runs after irq_ack sees
	 * every cause raised before it.
	 */
	int (*irq_fd)(struct hw_device *hw);
	void (*irq_ack)(struct hw_device *hw);
	/*
	 * What the monitor on display pipe shows now, as the display engine composes
	 * it, converted to XRGB8888 rows of width pixels. Like looking at a real
	 * screen: it is not a register. -ENODEV if the pipe is off.
	 */
	int (*scanout_capture)(struct hw_device *hw, unsigned int pipe, uint32_t *pixels, uint32_t width,
			       uint32_t height);
	void (*destroy)(struct hw_device *hw);
};

struct hw_device {
	const struct hw_ops *ops;
	struct hw_pci_id pci;
	struct hw_bar bars[HW_MAX_BARS];
	char name[32]; /* "sim:amdgpu", "pci:0000:03:00.0" */
	void *priv;
};

static inline uint32_t hw_read32(struct hw_device *hw, int bar, uint64_t off)
{
	return hw->ops->mmio_read32(hw, bar, off);
}

static inline void hw_write32(struct hw_device *hw, int bar, uint64_t off, uint32_t v)
{
	hw->ops->mmio_write32(hw, bar, off, v);
}

static inline uint64_t hw_read64(struct hw_device *hw, int bar, uint64_t off)
{
	return hw->ops->mmio_read64(hw, bar, off);
}

static inline void hw_write64(struct hw_device *hw, int bar, uint64_t off, uint64_t v)
{
	hw->ops->mmio_write64(hw, bar, off, v);
}

/*
 * Creates a simulated device: model is "amdgpu" (Vega10) or "i915" (Skylake GT2).
 * instance picks a distinct PCI bus number so several models can coexist.
 * Returns NULL (errno set) for an unknown model.
 */
struct hw_device *hw_sim_create(const char *model, int instance);
void hw_destroy(struct hw_device *hw);

/* Enumerates the machine's real PCI display controllers (class 0x03) with libpciaccess. */
int hw_pci_list_display(void (*cb)(const struct hw_pci_id *id, void *data), void *data);

#endif
