/* Skylake GT2 model: register traffic through the hw ops, exactly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hw_sim.h"
#include "irq_line.h"
#include "i915/sim_i915.h"
#include "redox-drm/hw.h"

#define BAR0 0
#define GMADR 2
#define GGTT (8u << 20)

/* The interrupt line of the test's device, watched as the daemon does. */
static int irq_ep = -1;

static int setup(void **state)
{
	struct hw_device *hw = hw_sim_create("i915", 0);
	if (!hw)
		return -1;
	irq_ep = irq_line_open(hw);
	*state = hw;
	return 0;
}

static int teardown(void **state)
{
	close(irq_ep);
	irq_ep = -1;
	hw_destroy(*state);
	return 0;
}

/* The line was raised since the last look (irq_line.h). */
static bool irq_pending(struct hw_device *hw)
{
	(void)hw;
	return irq_line_wait(irq_ep, 0);
}

static void test_forcewake(void **state)
{
	struct hw_device *hw = *state;
	static const struct {
		uint32_t req, ack;
	} domains[] = {{0xA278, 0x0D84}, {0xA270, 0x0D88}, {0xA188, 0x130044}};

	for (size_t d = 0; d < 3; d++) {
		uint32_t req = domains[d].req, ack = domains[d].ack;
		assert_int_equal(hw_read32(hw, BAR0, ack), 0);
		/* Masked enable of FORCEWAKE_KERNEL (b0): the ack follows at once. */
		hw_write32(hw, BAR0, req, 0x00010001);
		assert_int_equal(hw_read32(hw, BAR0, req), 0x1);
		assert_int_equal(hw_read32(hw, BAR0, ack), 0x1);
		/* Unmasked bits do nothing. */
		hw_write32(hw, BAR0, req, 0x0000FFFF);
		assert_int_equal(hw_read32(hw, BAR0, ack), 0x1);
		/* A second bit (the kernel's fallback, b15) joins without touching b0. */
		hw_write32(hw, BAR0, req, 0x80008000);
		assert_int_equal(hw_read32(hw, BAR0, ack), 0x8001);
		hw_write32(hw, BAR0, req, 0x80000000);
		assert_int_equal(hw_read32(hw, BAR0, ack), 0x1);
		/* The ack register itself ignores writes. */
		hw_write32(hw, BAR0, ack, 0xFFFFFFFF);
		assert_int_equal(hw_read32(hw, BAR0, ack), 0x1);
		/* Masked disable: request and ack clear. */
		hw_write32(hw, BAR0, req, 0x00010000);
		assert_int_equal(hw_read32(hw, BAR0, req), 0);
		assert_int_equal(hw_read32(hw, BAR0, ack), 0);
	}
	/* Domains are independent. */
	hw_write32(hw, BAR0, 0xA278, 0x00010001);
	assert_int_equal(hw_read32(hw, BAR0, 0x0D88), 0);
	assert_int_equal(hw_read32(hw, BAR0, 0x130044), 0);
}

static void test_forcewake_fault(void **state)
{
	struct hw_device *hw = *state;
	sim_i915_set_fault(hw_sim_model(hw), SIM_I915_FAULT_NO_FORCEWAKE_ACK);
	hw_write32(hw, BAR0, 0xA278, 0x00010001);
	assert_int_equal(hw_read32(hw, BAR0, 0xA278), 0x1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(hw_read32(hw, BAR0, 0x0D84), 0);
	sim_i915_set_fault(hw_sim_model(hw), SIM_I915_FAULT_NONE);
	hw_write32(hw, BAR0, 0xA278, 0x00010001);
	assert_int_equal(hw_read32(hw, BAR0, 0x0D84), 0x1);
}

static void test_bus_dead(void **state)
{
	struct hw_device *hw = *state;
	hw_write32(hw, BAR0, 0x2034, 0x40);
	sim_i915_set_fault(hw_sim_model(hw), SIM_I915_FAULT_BUS_DEAD);
	assert_int_equal(hw_read32(hw, BAR0, 0x9120), 0xFFFFFFFFu);
	assert_int_equal(hw_read32(hw, BAR0, 0x2034), 0xFFFFFFFFu);
	assert_int_equal(hw_read64(hw, BAR0, GGTT), ~(uint64_t)0);
	hw_write32(hw, BAR0, 0x2034, 0x80); /* lost */
	sim_i915_set_fault(hw_sim_model(hw), SIM_I915_FAULT_NONE);
	assert_int_equal(hw_read32(hw, BAR0, 0x2034), 0x40);
}

static void test_fuses(void **state)
{
	struct hw_device *hw = *state;
	uint32_t fuse2 = hw_read32(hw, BAR0, 0x9120);
	assert_int_equal(fuse2, 0x02800000u);
	assert_int_equal((fuse2 >> 25) & 7, 0x1); /* one slice */
	assert_int_equal((fuse2 >> 20) & 0xF, 0x8); /* subslice 3 fused off */
	assert_int_equal(hw_read32(hw, BAR0, 0x9134), 0xFF000000u);
	assert_int_equal(hw_read32(hw, BAR0, 0x9138), 0xFFFFFFFFu);
	hw_write32(hw, BAR0, 0x9120, 0);
	hw_write32(hw, BAR0, 0x9134, 0);
	assert_int_equal(hw_read32(hw, BAR0, 0x9120), 0x02800000u);
	assert_int_equal(hw_read32(hw, BAR0, 0x9134), 0xFF000000u);
}

static void test_gt_interrupts(void **state)
{
	struct hw_device *hw = *state;
	struct sim_model *m = hw_sim_model(hw);
	for (unsigned n = 0; n < 4; n++) {
		assert_int_equal(hw_read32(hw, BAR0, 0x44304 + 0x10 * n), 0xFFFFFFFFu); /* IMR */
		assert_int_equal(hw_read32(hw, BAR0, 0x44308 + 0x10 * n), 0);           /* IIR */
		assert_int_equal(hw_read32(hw, BAR0, 0x4430C + 0x10 * n), 0);           /* IER */
	}
	assert_int_equal(hw_read32(hw, BAR0, 0x44200), 0);

	/* Masked in IMR: the event does not latch. */
	sim_i915_gt_irq(m, 0, 1u << 0);
	assert_int_equal(hw_read32(hw, BAR0, 0x44308), 0);
	assert_false(irq_pending(hw));

	/* Unmask and enable RCS user interrupt + context switch, and BCS user interrupt. */
	hw_write32(hw, BAR0, 0x44304, ~0x01010101u);
	hw_write32(hw, BAR0, 0x4430C, 0x00010101u);
	sim_i915_gt_irq(m, 0, 0x00000101u);
	assert_int_equal(hw_read32(hw, BAR0, 0x44308), 0x00000101u);
	/* Master CONTROL still off: latched, but no message. */
	assert_false(irq_pending(hw));
	assert_int_equal(hw_read32(hw, BAR0, 0x44200), 0x1); /* RCS bank pending */

	/* Enabling the master with work latched sends the interrupt. */
	hw_write32(hw, BAR0, 0x44200, 0x80000000u);
	assert_true(irq_pending(hw));
	hw->ops->irq_ack(hw);
	assert_int_equal(hw_read32(hw, BAR0, 0x44200), 0x80000001u);

	sim_i915_gt_irq(m, 0, 0x00010000u);
	assert_true(irq_pending(hw));
	hw->ops->irq_ack(hw);
	assert_int_equal(hw_read32(hw, BAR0, 0x44308), 0x00010101u);
	assert_int_equal(hw_read32(hw, BAR0, 0x44200), 0x80000003u);

	/* IIR is write-1-to-clear: zeros change nothing, ones clear exactly their bits. */
	hw_write32(hw, BAR0, 0x44308, 0);
	assert_int_equal(hw_read32(hw, BAR0, 0x44308), 0x00010101u);
	hw_write32(hw, BAR0, 0x44308, 0x00000100u);
	assert_int_equal(hw_read32(hw, BAR0, 0x44308), 0x00010001u);
	hw_write32(hw, BAR0, 0x44308, 0xFFFF0000u);
	assert_int_equal(hw_read32(hw, BAR0, 0x44308), 0x00000001u);
	assert_int_equal(hw_read32(hw, BAR0, 0x44200), 0x80000001u);
	hw_write32(hw, BAR0, 0x44308, 0xFFFFFFFFu);
	assert_int_equal(hw_read32(hw, BAR0, 0x44308), 0);
	assert_int_equal(hw_read32(hw, BAR0, 0x44200), 0x80000000u);
	assert_false(irq_pending(hw));

	/* Unmasked but not enabled in IER: latched, no message, no pending bank. */
	hw_write32(hw, BAR0, 0x44304, ~0x01010111u);
	sim_i915_gt_irq(m, 0, 1u << 4);
	assert_int_equal(hw_read32(hw, BAR0, 0x44308), 1u << 4);
	assert_false(irq_pending(hw));
	assert_int_equal(hw_read32(hw, BAR0, 0x44200), 0x80000000u);
	/* ISR is read-only, and the master only keeps CONTROL. */
	hw_write32(hw, BAR0, 0x44300, 0xFFFFFFFF);
	assert_int_equal(hw_read32(hw, BAR0, 0x44300), 0);
	hw_write32(hw, BAR0, 0x44200, 0x0000FFFF);
	assert_int_equal(hw_read32(hw, BAR0, 0x44200), 0);

	/* Other banks map to their master bits: VCS0 b2, VECS b6. */
	hw_write32(hw, BAR0, 0x44314, 0);
	hw_write32(hw, BAR0, 0x4431C, 0x1);
	hw_write32(hw, BAR0, 0x44334, 0);
	hw_write32(hw, BAR0, 0x4433C, 0x1);
	sim_i915_gt_irq(m, 1, 0x1);
	sim_i915_gt_irq(m, 3, 0x1);
	assert_int_equal(hw_read32(hw, BAR0, 0x44200), (1u << 2) | (1u << 6));
	sim_i915_gt_irq(m, 4, 0x1); /* no such bank: ignored */
}

static void test_engine_blocks(void **state)
{
	struct hw_device *hw = *state;
	static const uint32_t bases[] = {0x2000, 0x22000};
	for (size_t e = 0; e < 2; e++) {
		uint32_t b = bases[e];
		assert_int_equal(hw_read32(hw, BAR0, b + 0x9C), 0x200);        /* MI_MODE: idle, not stopped */
		assert_int_equal(hw_read32(hw, BAR0, b + 0x98), 0xFFFFFFFFu); /* HWSTAM */
		assert_int_equal(hw_read32(hw, BAR0, b + 0xA8), 0xFFFFFFFFu); /* RING_IMR */
		assert_int_equal(hw_read32(hw, BAR0, b + 0x29C), 0);          /* GFX_MODE */
		assert_int_equal(hw_read32(hw, BAR0, b + 0x3A0), 0x7);        /* CSB_PTR */
		for (uint32_t r = 0x30; r <= 0x3C; r += 4)
			assert_int_equal(hw_read32(hw, BAR0, b + r), 0);

		/* MI_MODE: masked STOP_RING; MODE_IDLE is status and cannot be written. */
		hw_write32(hw, BAR0, b + 0x9C, 0x01000100);
		assert_int_equal(hw_read32(hw, BAR0, b + 0x9C), 0x300);
		hw_write32(hw, BAR0, b + 0x9C, 0x02000000);
		assert_int_equal(hw_read32(hw, BAR0, b + 0x9C), 0x300);
		hw_write32(hw, BAR0, b + 0x9C, 0x01000000);
		assert_int_equal(hw_read32(hw, BAR0, b + 0x9C), 0x200);

		/* GFX_MODE: masked RUN_LIST_ENABLE (b15). */
		hw_write32(hw, BAR0, b + 0x29C, 0x00008000);
		assert_int_equal(hw_read32(hw, BAR0, b + 0x29C), 0);
		hw_write32(hw, BAR0, b + 0x29C, 0x80008000);
		assert_int_equal(hw_read32(hw, BAR0, b + 0x29C), 0x8000);

		/* CSB_PTR: the driver moves its read pointer with a masked field write. */
		hw_write32(hw, BAR0, b + 0x3A0, 0x07000500);
		assert_int_equal(hw_read32(hw, BAR0, b + 0x3A0), 0x507);

		/* EXECLIST_STATUS is read-only; ring registers store. */
		hw_write32(hw, BAR0, b + 0x234, 0xFFFFFFFF);
		assert_int_equal(hw_read32(hw, BAR0, b + 0x234), 0);
		hw_write32(hw, BAR0, b + 0x30, 0x1230);
		hw_write32(hw, BAR0, b + 0x80, 0x00004000);
		assert_int_equal(hw_read32(hw, BAR0, b + 0x30), 0x1230);
		assert_int_equal(hw_read32(hw, BAR0, b + 0x80), 0x00004000);
	}
}

static void test_ggtt(void **state)
{
	struct hw_device *hw = *state;
	/* Zero at reset: nothing present. */
	assert_int_equal(hw_read64(hw, BAR0, GGTT), 0);
	/* One 64-bit PTE write per entry, read back whole and by halves. */
	hw_write64(hw, BAR0, GGTT + 8 * 5, 0x0000001234567003ull);
	assert_int_equal(hw_read64(hw, BAR0, GGTT + 8 * 5), 0x0000001234567003ull);
	assert_int_equal(hw_read32(hw, BAR0, GGTT + 8 * 5), 0x34567003u);
	assert_int_equal(hw_read32(hw, BAR0, GGTT + 8 * 5 + 4), 0x00000012u);
	assert_int_equal(hw_read64(hw, BAR0, GGTT + 8 * 4), 0);
	assert_int_equal(hw_read64(hw, BAR0, GGTT + 8 * 6), 0);
	/* 32-bit write to the upper half leaves the lower alone. */
	hw_write32(hw, BAR0, GGTT + 8 * 5 + 4, 0x7F);
	assert_int_equal(hw_read64(hw, BAR0, GGTT + 8 * 5), 0x0000007F34567003ull);
	/* The last PTE maps 4 GiB - 4 KiB. */
	hw_write64(hw, BAR0, (16u << 20) - 8, 0xABCD001ull);
	assert_int_equal(hw_read64(hw, BAR0, (16u << 20) - 8), 0xABCD001ull);
	uint64_t bus;
	assert_int_equal(sim_i915_ggtt_translate(hw_sim_model(hw), 0xFFFFF123ull, &bus), 0);
	assert_int_equal(bus, 0xABCD123ull);
	assert_int_equal(sim_i915_ggtt_translate(hw_sim_model(hw), 4ull << 30, &bus), -1);
	assert_int_equal(sim_i915_ggtt_translate(hw_sim_model(hw), 0x3000, &bus), -1);
	/* Past BAR0, misaligned: abort. Between registers and GGTT: reserved zero. */
	assert_int_equal(hw_read64(hw, BAR0, 16u << 20), ~(uint64_t)0);
	assert_int_equal(hw_read64(hw, BAR0, GGTT + 4), ~(uint64_t)0);
	assert_int_equal(hw_read32(hw, BAR0, 4u << 20), 0);
	hw_write32(hw, BAR0, 4u << 20, 1);
	assert_int_equal(hw_read32(hw, BAR0, 4u << 20), 0);
}

static void test_aperture(void **state)
{
	struct hw_device *hw = *state;
	struct hw_dma page;
	assert_int_equal(hw->ops->dma_alloc(hw, 4096, &page), 0);
	/* Aperture page 7 → the buffer. */
	hw_write64(hw, BAR0, GGTT + 8 * 7, page.bus_addr | 1);
	hw_write32(hw, GMADR, 7 * 4096 + 16, 0xC0FFEE00);
	assert_int_equal(((uint32_t *)page.cpu)[4], 0xC0FFEE00);
	((uint32_t *)page.cpu)[5] = 0x01234567;
	assert_int_equal(hw_read32(hw, GMADR, 7 * 4096 + 20), 0x01234567);
	hw_write64(hw, GMADR, 7 * 4096 + 24, 0x1122334455667788ull);
	assert_int_equal(((uint64_t *)page.cpu)[3], 0x1122334455667788ull);
	/* A non-present PTE: reads all-ones, writes go nowhere. */
	assert_int_equal(hw_read32(hw, GMADR, 8 * 4096), 0xFFFFFFFFu);
	hw_write32(hw, GMADR, 8 * 4096, 1);
	/* A present PTE naming no memory: master abort on the bus, all-ones. */
	hw_write64(hw, BAR0, GGTT + 8 * 9, 0x5000001ull);
	assert_int_equal(hw_read32(hw, GMADR, 9 * 4096), 0xFFFFFFFFu);
	hw->ops->dma_free(hw, &page);
	/* Freed memory behind a still-present PTE: abort, not a use-after-free. */
	assert_int_equal(hw_read32(hw, GMADR, 7 * 4096 + 16), 0xFFFFFFFFu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forcewake, setup, teardown),
		cmocka_unit_test_setup_teardown(test_forcewake_fault, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bus_dead, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gt_interrupts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ggtt, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aperture, setup, teardown),
	};
	return cmocka_run_group_tests_name("sim_i915", tests, NULL, NULL);
}
