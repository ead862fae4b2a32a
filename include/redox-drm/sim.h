/*
 * Device models. A model knows nothing of the daemon: it sees register
 * accesses on its BARs and answers with memory writes (through its bus) and
 * interrupts. The hw "sim" backend is the only user of this header.
 */
#ifndef REDOX_DRM_SIM_H
#define REDOX_DRM_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "redox-drm/hw.h"

struct sim_bus {
	/* DMA by bus address; returns 0, or -1 for an address no mapping covers
	 * (a master abort: the access is dropped, never a host crash). */
	int (*dma_read)(struct sim_bus *bus, uint64_t addr, void *dst, size_t len);
	int (*dma_write)(struct sim_bus *bus, uint64_t addr, const void *src, size_t len);
	/* Asserts the device's (MSI) interrupt. Safe from any model thread. */
	void (*raise_irq)(struct sim_bus *bus);
	void *priv;
};

struct sim_model;

struct sim_model_ops {
	uint32_t (*read32)(struct sim_model *m, int bar, uint64_t off);
	void (*write32)(struct sim_model *m, int bar, uint64_t off, uint32_t v);
	uint64_t (*read64)(struct sim_model *m, int bar, uint64_t off);
	void (*write64)(struct sim_model *m, int bar, uint64_t off, uint64_t v);
	/* Device-local memory behind a BAR (VRAM), or NULL. */
	void *(*bar_memory)(struct sim_model *m, int bar, size_t *size);
	/*
	 * Makes [off, off+size) of the device's local memory the pages of fd (from
	 * offset 0), or the model's own pages again when fd is -1. The caller keeps
	 * the range unused by the device while it changes. NULL: no local memory.
	 */
	int (*local_memory_back)(struct sim_model *m, uint64_t off, size_t size, int fd);
	/* The monitor's view of a pipe (see hw_ops.scanout_capture). */
	int (*scanout_capture)(struct sim_model *m, unsigned int pipe, uint32_t *pixels, uint32_t width,
			       uint32_t height);
	void (*destroy)(struct sim_model *m);
};

struct sim_model {
	const struct sim_model_ops *ops;
	struct hw_pci_id pci;
	struct hw_bar bars[HW_MAX_BARS];
	uint8_t config[256]; /* PCI config space as the device presents it */
	struct sim_bus *bus;
};

struct sim_model *sim_amdgpu_create(struct sim_bus *bus, uint8_t pci_bus);
struct sim_model *sim_i915_create(struct sim_bus *bus, uint8_t pci_bus);

#endif
