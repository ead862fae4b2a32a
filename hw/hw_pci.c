/* Discovery of the machine's real PCI display controllers through libpciaccess. */
#include <errno.h>
#include <pciaccess.h>

#include "redox-drm/hw.h"

int hw_pci_list_display(void (*cb)(const struct hw_pci_id *id, void *data), void *data)
{
	/* No PCI sysfs (a container, a sandbox) means no devices, not an error. */
	if (pci_system_init() != 0)
		return 0;

	/* Base class 0x03 (display), any subclass and programming interface. */
	const struct pci_id_match match = {
		.vendor_id = PCI_MATCH_ANY,
		.device_id = PCI_MATCH_ANY,
		.subvendor_id = PCI_MATCH_ANY,
		.subdevice_id = PCI_MATCH_ANY,
		.device_class = 0x030000,
		.device_class_mask = 0xFF0000,
	};
	struct pci_device_iterator *it = pci_id_match_iterator_create(&match);
	if (!it) {
		pci_system_cleanup();
		return -ENOMEM;
	}

	int count = 0;
	struct pci_device *d;
	while ((d = pci_device_next(it)) != NULL) {
		const struct hw_pci_id id = {
			.vendor = d->vendor_id,
			.device = d->device_id,
			.subvendor = d->subvendor_id,
			.subdevice = d->subdevice_id,
			.revision = d->revision,
			.class_code = d->device_class & 0xFFFFFF,
			.domain = (uint16_t)d->domain,
			.bus = d->bus,
			.dev = d->dev,
			.func = d->func,
		};
		if (cb)
			cb(&id, data);
		count++;
	}
	pci_iterator_destroy(it);
	pci_system_cleanup();
	return count;
}
