/* Builds a model's PCI config space header (type 0) from its identity and BARs. */
#ifndef REDOX_DRM_SIM_PCI_H
#define REDOX_DRM_SIM_PCI_H

#include <stdint.h>

#include "redox-drm/sim.h"

/* Standard header offsets used by the models. */
enum {
	SIM_PCI_VENDOR = 0x00,
	SIM_PCI_DEVICE = 0x02,
	SIM_PCI_COMMAND = 0x04,
	SIM_PCI_STATUS = 0x06,
	SIM_PCI_REVISION = 0x08,
	SIM_PCI_CLASS_PROG = 0x09, /* prog-if, subclass, class: 3 bytes */
	SIM_PCI_HEADER_TYPE = 0x0E,
	SIM_PCI_BAR0 = 0x10,
	SIM_PCI_SUBVENDOR = 0x2C,
	SIM_PCI_SUBDEVICE = 0x2E,
	SIM_PCI_INT_LINE = 0x3C,
	SIM_PCI_INT_PIN = 0x3D,
};

/*
 * Fills m->config from m->pci and m->bars. bar_base gives the address the
 * firmware would have assigned to each BAR (a 64-bit BAR's upper half goes in
 * the following BAR slot). Memory decoding and bus mastering are on, as after
 * firmware enumeration.
 */
void sim_pci_fill_config(struct sim_model *m, const uint64_t bar_base[HW_MAX_BARS]);

static inline void sim_pci_put16(uint8_t *cfg, unsigned off, uint16_t v)
{
	cfg[off] = (uint8_t)v;
	cfg[off + 1] = (uint8_t)(v >> 8);
}

static inline void sim_pci_put32(uint8_t *cfg, unsigned off, uint32_t v)
{
	sim_pci_put16(cfg, off, (uint16_t)v);
	sim_pci_put16(cfg, off + 2, (uint16_t)(v >> 16));
}

#endif
