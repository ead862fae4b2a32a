#include "sim_pci.h"

#include <string.h>

void sim_pci_fill_config(struct sim_model *m, const uint64_t bar_base[HW_MAX_BARS])
{
	uint8_t *cfg = m->config;
	memset(m->config, 0, sizeof(m->config));

	sim_pci_put16(cfg, SIM_PCI_VENDOR, m->pci.vendor);
	sim_pci_put16(cfg, SIM_PCI_DEVICE, m->pci.device);
	cfg[SIM_PCI_REVISION] = m->pci.revision;
	cfg[SIM_PCI_CLASS_PROG] = (uint8_t)m->pci.class_code;
	cfg[SIM_PCI_CLASS_PROG + 1] = (uint8_t)(m->pci.class_code >> 8);
	cfg[SIM_PCI_CLASS_PROG + 2] = (uint8_t)(m->pci.class_code >> 16);
	cfg[SIM_PCI_HEADER_TYPE] = 0x00;
	sim_pci_put16(cfg, SIM_PCI_SUBVENDOR, m->pci.subvendor);
	sim_pci_put16(cfg, SIM_PCI_SUBDEVICE, m->pci.subdevice);
	cfg[SIM_PCI_INT_PIN] = 1; /* INTA#; the models deliver MSI through the bus */
	cfg[SIM_PCI_INT_LINE] = 0xFF;

	/* Command: memory space (b1) and bus master (b2), plus I/O space (b0) if an I/O BAR exists. */
	uint16_t command = 0x0006;
	for (int i = 0; i < HW_MAX_BARS; i++) {
		const struct hw_bar *bar = &m->bars[i];
		unsigned off = SIM_PCI_BAR0 + 4u * (unsigned)i;
		if (!bar->size)
			continue;
		if (bar->io) {
			command |= 0x0001;
			sim_pci_put32(cfg, off, (uint32_t)(bar_base[i] & ~3ull) | 0x1);
			continue;
		}
		uint32_t lo = (uint32_t)(bar_base[i] & ~0xFull);
		if (bar->mem64)
			lo |= 0x4; /* type 10b: 64-bit decoder */
		if (bar->prefetchable)
			lo |= 0x8;
		sim_pci_put32(cfg, off, lo);
		if (bar->mem64 && i + 1 < HW_MAX_BARS)
			sim_pci_put32(cfg, off + 4, (uint32_t)(bar_base[i] >> 32));
	}
	sim_pci_put16(cfg, SIM_PCI_COMMAND, command);
}
