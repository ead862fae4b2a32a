/* The sim hw backend: identity, config space, DMA by bus address, the interrupt line. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hw_sim.h"
#include "irq_line.h"
#include "redox-drm/hw.h"
#include "redox-drm/sim.h"

static int setup_amdgpu(void **state)
{
	struct hw_device *hw = hw_sim_create("amdgpu", 0);
	if (!hw)
		return -1;
	*state = hw;
	return 0;
}

static int teardown(void **state)
{
	hw_destroy(*state);
	return 0;
}

static uint32_t cfg32(struct hw_device *hw, uint32_t off)
{
	uint32_t v = 0;
	assert_int_equal(hw->ops->config_read(hw, off, &v, sizeof(v)), 0);
	return v;
}

static void test_create_unknown(void **state)
{
	errno = 0;
	assert_null(hw_sim_create("nouveau", 0));
	assert_int_equal(errno, ENODEV);
	errno = 0;
	assert_null(hw_sim_create("amdgpu", -1));
	assert_int_equal(errno, EINVAL);
	assert_null(hw_sim_create(NULL, 0));
	hw_destroy(NULL);
}

static void test_amdgpu_identity(void **state)
{
	struct hw_device *hw = *state;
	assert_string_equal(hw->name, "sim:amdgpu");
	assert_int_equal(hw->pci.vendor, 0x1002);
	assert_int_equal(hw->pci.device, 0x687F);
	assert_int_equal(hw->pci.revision, 0xC1);
	assert_int_equal(hw->pci.class_code, 0x030000);
	assert_int_equal(hw->pci.subvendor, 0x1002);
	assert_int_equal(hw->pci.subdevice, 0x0B36);
	assert_int_equal(hw->pci.bus, 1);

	assert_int_equal(hw->bars[0].size, 256u << 20);
	assert_true(hw->bars[0].mem64 && hw->bars[0].prefetchable);
	assert_int_equal(hw->bars[1].size, 0);
	assert_int_equal(hw->bars[2].size, 2u << 20);
	assert_true(hw->bars[2].mem64 && hw->bars[2].prefetchable);
	assert_true(hw->bars[4].io);
	assert_int_equal(hw->bars[5].size, 512u << 10);
	assert_false(hw->bars[5].mem64 || hw->bars[5].prefetchable || hw->bars[5].io);

	/* Config space: IDs, command, revision + class, subsystem, BAR registers. */
	assert_int_equal(cfg32(hw, 0x00), 0x687F1002u);
	assert_int_equal(cfg32(hw, 0x04) & 0xFFFF, 0x0007);
	assert_int_equal(cfg32(hw, 0x08), 0x030000C1u);
	assert_int_equal(cfg32(hw, 0x2C), 0x0B361002u);
	assert_int_equal(cfg32(hw, 0x10), 0xE000000Cu); /* 64-bit prefetchable */
	assert_int_equal(cfg32(hw, 0x14), 0);
	assert_int_equal(cfg32(hw, 0x18), 0xF000000Cu);
	assert_int_equal(cfg32(hw, 0x20), 0x0000E001u); /* I/O */
	assert_int_equal(cfg32(hw, 0x24), 0xFCD00000u); /* 32-bit, non-prefetchable */

	uint8_t b;
	assert_int_equal(hw->ops->config_read(hw, 255, &b, 1), 0);
	assert_int_equal(hw->ops->config_read(hw, 255, &b, 2), -EINVAL);
	assert_int_equal(hw->ops->config_read(hw, 0x1000, &b, 1), -EINVAL);
}

static void test_mmio_bounds(void **state)
{
	struct hw_device *hw = *state;
	/* Unimplemented BAR, I/O BAR, past the end: a master abort reads all-ones. */
	assert_int_equal(hw_read32(hw, 1, 0), 0xFFFFFFFFu);
	assert_int_equal(hw_read32(hw, 4, 0), 0xFFFFFFFFu);
	assert_int_equal(hw_read32(hw, 6, 0), 0xFFFFFFFFu);
	assert_int_equal(hw_read32(hw, -1, 0), 0xFFFFFFFFu);
	assert_int_equal(hw_read32(hw, 5, 512u << 10), 0xFFFFFFFFu);
	assert_int_equal(hw_read32(hw, 5, (512u << 10) - 2), 0xFFFFFFFFu);
	assert_int_equal(hw_read64(hw, 5, (512u << 10) - 4), ~(uint64_t)0);
	hw_write32(hw, 5, 512u << 10, 1); /* dropped, not a crash */
	assert_null(hw->ops->bar_map(hw, 4, NULL));
	assert_null(hw->ops->bar_map(hw, 5, NULL));
	assert_null(hw->ops->bar_map(hw, 2, NULL));
}

static void test_vram_bar(void **state)
{
	struct hw_device *hw = *state;
	size_t size = 0;
	uint32_t *vram = hw->ops->bar_map(hw, 0, &size);
	assert_non_null(vram);
	assert_int_equal(size, 256u << 20);
	assert_int_equal(vram[0x1000 / 4], 0);
	hw_write32(hw, 0, 0x1000, 0x12345678);
	assert_int_equal(vram[0x1000 / 4], 0x12345678);
	vram[(size - 8) / 4] = 0xAABBCCDD;
	assert_int_equal(hw_read32(hw, 0, size - 8), 0xAABBCCDD);
	hw_write64(hw, 0, 0x2000, 0x1122334455667788ull);
	assert_int_equal(hw_read64(hw, 0, 0x2000), 0x1122334455667788ull);
	assert_int_equal(vram[0x2000 / 4], 0x55667788);
}

static void test_dma_alloc_addresses(void **state)
{
	struct hw_device *hw = *state;
	long page = sysconf(_SC_PAGESIZE);
	struct hw_dma a, b, c;
	assert_int_equal(hw->ops->dma_alloc(hw, 100, &a), 0);
	assert_int_equal(hw->ops->dma_alloc(hw, (size_t)page * 3, &b), 0);
	assert_int_equal(hw->ops->dma_alloc(hw, 1, &c), 0);

	assert_int_equal(a.size, page);
	assert_int_equal(b.size, page * 3);
	assert_true(a.bus_addr >= HW_SIM_DMA_BASE);
	assert_int_equal(a.bus_addr % (uint64_t)page, 0);
	assert_int_equal(b.bus_addr % (uint64_t)page, 0);
	assert_int_equal(c.bus_addr % (uint64_t)page, 0);
	/* Distinct and disjoint. */
	assert_true(b.bus_addr >= a.bus_addr + a.size);
	assert_true(c.bus_addr >= b.bus_addr + b.size);
	assert_int_equal((uintptr_t)a.cpu % (uintptr_t)page, 0);

	/* The memfd is sealed against resizing; fresh memory is zero. */
	assert_true(a.fd >= 0);
	int seals = fcntl(a.fd, F_GET_SEALS);
	assert_true((seals & F_SEAL_SHRINK) && (seals & F_SEAL_GROW));
	assert_int_equal(ftruncate(a.fd, 0), -1);
	assert_int_equal(((uint8_t *)b.cpu)[page * 3 - 1], 0);

	/* A freed address is never handed out again while the device lives. */
	uint64_t freed = b.bus_addr;
	hw->ops->dma_free(hw, &b);
	assert_null(b.backend);
	struct hw_dma d;
	assert_int_equal(hw->ops->dma_alloc(hw, (size_t)page * 3, &d), 0);
	assert_true(d.bus_addr != freed);
	assert_true(d.bus_addr > c.bus_addr);

	struct hw_dma bad;
	assert_int_equal(hw->ops->dma_alloc(hw, 0, &bad), -EINVAL);

	hw->ops->dma_free(hw, &a);
	hw->ops->dma_free(hw, &a); /* second free is a no-op */
	hw->ops->dma_free(hw, &c);
	/* d is left live: destroy must release it (ASan's leak check would say otherwise). */
}

static void test_dma_model_side(void **state)
{
	struct hw_device *hw = *state;
	struct sim_bus *bus = hw_sim_bus(hw);
	assert_non_null(bus);
	long page = sysconf(_SC_PAGESIZE);
	struct hw_dma a, b;
	assert_int_equal(hw->ops->dma_alloc(hw, (size_t)page, &a), 0);
	assert_int_equal(hw->ops->dma_alloc(hw, (size_t)page, &b), 0);
	uint8_t *cpu = a.cpu;

	/* Device writes land in the CPU mapping, and CPU writes are what the device reads. */
	const uint32_t seq = 0xFEEDF00D;
	assert_int_equal(bus->dma_write(bus, a.bus_addr + 64, &seq, sizeof(seq)), 0);
	assert_memory_equal(cpu + 64, &seq, sizeof(seq));
	memcpy(cpu + 128, "ring", 4);
	char got[4];
	assert_int_equal(bus->dma_read(bus, a.bus_addr + 128, got, 4), 0);
	assert_memory_equal(got, "ring", 4);
	/* The last byte of a buffer is reachable, exactly. */
	assert_int_equal(bus->dma_write(bus, a.bus_addr + (uint64_t)page - 4, &seq, 4), 0);

	uint8_t snapshot[4096];
	size_t n = (size_t)page < sizeof(snapshot) ? (size_t)page : sizeof(snapshot);
	memcpy(snapshot, cpu + (size_t)page - n, n);
	uint8_t junk[16];
	memset(junk, 0xA5, sizeof(junk));
	uint8_t dst[16];
	memset(dst, 0x5A, sizeof(dst));

	/* Below every allocation, in the guard gap, far away: master aborts. */
	assert_int_equal(bus->dma_write(bus, 0, junk, 4), -1);
	assert_int_equal(bus->dma_write(bus, HW_SIM_DMA_BASE - 4, junk, 4), -1);
	assert_int_equal(bus->dma_read(bus, a.bus_addr + (uint64_t)page, dst, 4), -1);
	assert_int_equal(bus->dma_read(bus, UINT64_MAX - 3, dst, 4), -1);
	/* Straddling the end of a buffer: refused whole, nothing written, nothing read. */
	assert_int_equal(bus->dma_write(bus, a.bus_addr + (uint64_t)page - 8, junk, 16), -1);
	assert_int_equal(bus->dma_read(bus, a.bus_addr + (uint64_t)page - 8, dst, 16), -1);
	assert_memory_equal(cpu + (size_t)page - n, snapshot, n);
	for (size_t i = 0; i < sizeof(dst); i++)
		assert_int_equal(dst[i], 0x5A);
	/* Longer than the buffer, from its start; and a zero-length access moves nothing. */
	static uint8_t big[2 * 65536];
	assert_true((size_t)page < sizeof(big));
	assert_int_equal(bus->dma_write(bus, b.bus_addr, big, (size_t)page + 1), -1);
	assert_int_equal(bus->dma_write(bus, b.bus_addr, junk, 0), 0);

	/* After free the address aborts. */
	uint64_t gone = a.bus_addr;
	hw->ops->dma_free(hw, &a);
	assert_int_equal(bus->dma_read(bus, gone, dst, 4), -1);
	assert_int_equal(bus->dma_write(bus, b.bus_addr, &seq, 4), 0);
	hw->ops->dma_free(hw, &b);
}

static void test_irq_line(void **state)
{
	struct hw_device *hw = *state;
	struct sim_bus *bus = hw_sim_bus(hw);
	int fd = hw->ops->irq_fd(hw);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	int ep = irq_line_open(hw);
	assert_true(ep >= 0);

	assert_false(irq_line_wait(ep, 0));
	hw->ops->irq_ack(hw); /* nothing pending: harmless */
	assert_false(irq_line_wait(ep, 0));

	bus->raise_irq(bus);
	assert_true(irq_line_wait(ep, 0));
	/* Raises before the ack fold into the one notification: the handler after the ack sees them. */
	bus->raise_irq(bus);
	bus->raise_irq(bus);
	assert_false(irq_line_wait(ep, 0));
	hw->ops->irq_ack(hw);
	assert_false(irq_line_wait(ep, 0)); /* the ack itself raises nothing */
	bus->raise_irq(bus);
	assert_true(irq_line_wait(ep, 0));
	hw->ops->irq_ack(hw);
	assert_false(irq_line_wait(ep, 0));
	/* Many acknowledged raises: each one a new edge. */
	for (int i = 0; i < 1000; i++) {
		bus->raise_irq(bus);
		assert_true(irq_line_wait(ep, 0));
		hw->ops->irq_ack(hw);
	}
	close(ep);
}

struct dma_worker {
	struct sim_bus *bus;
	uint64_t addr;
	int failures;
};

static void *dma_worker(void *p)
{
	struct dma_worker *w = p;
	for (uint32_t i = 0; i < 20000; i++)
		if (w->bus->dma_write(w->bus, w->addr + (i % 64) * 4, &i, 4) != 0)
			w->failures++;
	return NULL;
}

/* A model thread DMAs while the daemon allocates and frees other buffers. */
static void test_dma_concurrent(void **state)
{
	struct hw_device *hw = *state;
	struct hw_dma target;
	assert_int_equal(hw->ops->dma_alloc(hw, 4096, &target), 0);
	struct dma_worker w = {.bus = hw_sim_bus(hw), .addr = target.bus_addr};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, dma_worker, &w), 0);
	for (int i = 0; i < 200; i++) {
		struct hw_dma tmp;
		assert_int_equal(hw->ops->dma_alloc(hw, 8192, &tmp), 0);
		hw->ops->dma_free(hw, &tmp);
	}
	pthread_join(t, NULL);
	assert_int_equal(w.failures, 0);
	hw->ops->dma_free(hw, &target);
}

static void test_i915_identity(void **state)
{
	struct hw_device *hw = hw_sim_create("i915", 2);
	assert_non_null(hw);
	assert_string_equal(hw->name, "sim:i915");
	assert_int_equal(hw->pci.vendor, 0x8086);
	assert_int_equal(hw->pci.device, 0x1912);
	assert_int_equal(hw->pci.revision, 0x06);
	assert_int_equal(hw->pci.class_code, 0x030000);
	assert_int_equal(hw->pci.bus, 3);
	assert_int_equal(hw->pci.dev, 2);
	assert_int_equal(hw->bars[0].size, 16u << 20);
	assert_true(hw->bars[0].mem64 && !hw->bars[0].prefetchable);
	assert_int_equal(hw->bars[2].size, 256u << 20);
	assert_true(hw->bars[2].mem64 && hw->bars[2].prefetchable);
	assert_int_equal(hw->bars[4].size, 64);
	assert_true(hw->bars[4].io);
	assert_int_equal(cfg32(hw, 0x00), 0x19128086u);
	assert_int_equal(cfg32(hw, 0x08), 0x03000006u);
	assert_int_equal(cfg32(hw, 0x10), 0xF6000004u); /* 64-bit, non-prefetchable */
	assert_int_equal(cfg32(hw, 0x18), 0xE000000Cu);
	assert_int_equal(cfg32(hw, 0x20), 0x0000F001u);
	uint16_t ggc;
	assert_int_equal(hw->ops->config_read(hw, 0x50, &ggc, 2), 0);
	assert_int_equal((ggc >> 6) & 3, 3); /* GGMS: 8 MiB of PTEs */
	assert_null(hw->ops->bar_map(hw, 0, NULL));
	assert_null(hw->ops->bar_map(hw, 2, NULL));
	hw_destroy(hw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_unknown),
		cmocka_unit_test_setup_teardown(test_amdgpu_identity, setup_amdgpu, teardown),
		cmocka_unit_test_setup_teardown(test_mmio_bounds, setup_amdgpu, teardown),
		cmocka_unit_test_setup_teardown(test_vram_bar, setup_amdgpu, teardown),
		cmocka_unit_test_setup_teardown(test_dma_alloc_addresses, setup_amdgpu, teardown),
		cmocka_unit_test_setup_teardown(test_dma_model_side, setup_amdgpu, teardown),
		cmocka_unit_test_setup_teardown(test_irq_line, setup_amdgpu, teardown),
		cmocka_unit_test_setup_teardown(test_dma_concurrent, setup_amdgpu, teardown),
		cmocka_unit_test(test_i915_identity),
	};
	return cmocka_run_group_tests_name("sim_bus", tests, NULL, NULL);
}
