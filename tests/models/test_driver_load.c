/*
 * Each driver's load() against the device models: success on its own chip,
 * a clean refusal (no leak, nothing left in dev_private) on the other
 * vendor's chip and on a chip that misbehaves.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <drm.h>
#include <amdgpu_drm.h>
#include <i915_drm.h>

#include "amdgpu/amdgpu.h"
#include "amdgpu/sim_amdgpu.h"
#include "hw_sim.h"
#include "i915/i915.h"
#include "i915/sim_i915.h"
#include "redox-drm/driver.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/hw.h"
#include "redox-drm/log.h"

static int group_setup(void **state)
{
	/* Only the refusals' error lines, which the tests provoke on purpose. */
	log_set_level(LOG_ERROR);
	return 0;
}

static struct drm_device make_dev(struct hw_device *hw)
{
	struct drm_device dev;
	memset(&dev, 0, sizeof(dev));
	dev.hw = hw;
	return dev;
}

static void test_driver_descriptions(void **state)
{
	assert_string_equal(amdgpu_driver.name, "amdgpu");
	assert_string_equal(amdgpu_driver.desc, "AMD GPU");
	assert_string_equal(amdgpu_driver.date, "20150101");
	assert_int_equal(amdgpu_driver.major, 3);
	assert_int_equal(amdgpu_driver.minor, 42);
	assert_int_equal(amdgpu_driver.patchlevel, 0);
	assert_int_equal(amdgpu_driver.features, DRIVER_GEM | DRIVER_RENDER | DRIVER_MODESET | DRIVER_ATOMIC | DRIVER_PRIME |
						 DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE);
	assert_non_null(amdgpu_driver.irq_handler);
	assert_non_null(amdgpu_driver.kms);

	assert_string_equal(i915_driver.name, "i915");
	assert_string_equal(i915_driver.desc, "Intel Graphics");
	assert_string_equal(i915_driver.date, "20201103");
	assert_int_equal(i915_driver.major, 1);
	assert_int_equal(i915_driver.minor, 6);
	assert_int_equal(i915_driver.patchlevel, 0);
	assert_int_equal(i915_driver.features, DRIVER_GEM | DRIVER_RENDER | DRIVER_MODESET | DRIVER_ATOMIC | DRIVER_PRIME |
						 DRIVER_SYNCOBJ | DRIVER_SYNCOBJ_TIMELINE);
	assert_non_null(i915_driver.kms);
	/* The i915 table: every served ioctl is render-node safe, as in the kernel's. */
	assert_non_null(i915_driver.ioctls);
	assert_int_equal(i915_driver.num_ioctls, DRM_I915_GEM_VM_DESTROY + 1);
	for (unsigned n = 0; n < i915_driver.num_ioctls; n++)
		if (i915_driver.ioctls[n].func)
			assert_true(i915_driver.ioctls[n].flags & DRM_RENDER_ALLOW);
	assert_non_null(i915_driver.ioctls[DRM_I915_GETPARAM].func);
	assert_non_null(i915_driver.ioctls[DRM_I915_QUERY].func);
	assert_non_null(i915_driver.ioctls[DRM_I915_GEM_EXECBUFFER2_WR].func);
	assert_int_equal(i915_driver.ioctls[DRM_I915_GEM_EXECBUFFER2_WR].cmd, DRM_IOCTL_I915_GEM_EXECBUFFER2_WR);
	assert_non_null(i915_driver.ioctls[DRM_I915_GEM_VM_CREATE].func);
	assert_non_null(i915_driver.ioctls[DRM_I915_GEM_VM_DESTROY].func);
	assert_non_null(i915_driver.ioctls[DRM_I915_GEM_USERPTR].func);
	assert_non_null(i915_driver.ioctls[DRM_I915_GEM_MMAP].func);
	assert_non_null(i915_driver.ioctls[DRM_I915_GEM_PREAD].func);
	assert_non_null(i915_driver.ioctls[DRM_I915_GEM_PWRITE].func);

	struct hw_pci_id vega = {.vendor = 0x1002, .device = 0x687F};
	struct hw_pci_id skl = {.vendor = 0x8086, .device = 0x1912};
	struct hw_pci_id polaris = {.vendor = 0x1002, .device = 0x67DF};
	assert_true(amdgpu_driver.match(&vega));
	assert_false(amdgpu_driver.match(&skl));
	assert_false(amdgpu_driver.match(&polaris));
	assert_true(i915_driver.match(&skl));
	assert_false(i915_driver.match(&vega));
}

static void test_match_models(void **state)
{
	struct hw_device *a = hw_sim_create("amdgpu", 0);
	struct hw_device *i = hw_sim_create("i915", 1);
	assert_non_null(a);
	assert_non_null(i);
	assert_true(amdgpu_driver.match(&a->pci));
	assert_false(amdgpu_driver.match(&i->pci));
	assert_true(i915_driver.match(&i->pci));
	assert_false(i915_driver.match(&a->pci));
	hw_destroy(a);
	hw_destroy(i);
}

static void test_amdgpu_load(void **state)
{
	struct hw_device *hw = hw_sim_create("amdgpu", 0);
	assert_non_null(hw);
	struct drm_device dev = make_dev(hw);
	assert_int_equal(amdgpu_driver.load(&dev), 0);
	struct amdgpu_device *adev = dev.dev_private;
	assert_non_null(adev);
	assert_ptr_equal(adev->hw, hw);
	assert_int_equal(adev->family, 141);
	assert_int_equal(adev->rev_id, 0);
	assert_int_equal(adev->external_rev, 1);
	assert_int_equal(adev->gb_addr_config, 0x2A114042u);
	assert_int_equal(adev->num_pipes, 4);
	assert_int_equal(adev->pipe_interleave_size, 256);
	assert_int_equal(adev->max_compressed_frags, 2);
	assert_int_equal(adev->num_se, 4);
	assert_int_equal(adev->num_rb_per_se, 4);
	/* The GFX ring test's SET_UCONFIG_REG wrote the scratch register last, through the CP. */
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_SCRATCH_REG0), 0xDEADBEEFu);

	/* The GFX ring as load left it: registers, CP running, tests' results in memory. */
	const struct amdgpu_ring *r = &adev->gfx_ring;
	assert_true(r->ready);
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_CP_RB0_BASE), (uint32_t)(r->ring_gpu >> 8));
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_CP_RB0_BASE_HI), (uint32_t)(r->ring_gpu >> 40));
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_CP_RB0_CNTL), 13u | 11u << 8); /* 64 KiB: log2(bytes/8) */
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_CP_RB0_RPTR_ADDR), (uint32_t)r->wb_gpu);
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_CP_RB_WPTR_POLL_ADDR_LO), (uint32_t)(r->wb_gpu + 8));
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_CP_RB_VMID), 0);
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_CP_RB_DOORBELL_CONTROL),
			 (SIM_AMDGPU_GFX_DOORBELL / 4) << SIM_AMDGPU_CP_DOORBELL_OFFSET_SHIFT | SIM_AMDGPU_CP_DOORBELL_EN);
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_CP_ME_CNTL) &
				 (SIM_AMDGPU_CP_ME_CNTL_CE_HALT | SIM_AMDGPU_CP_ME_CNTL_PFP_HALT | SIM_AMDGPU_CP_ME_CNTL_ME_HALT),
			 0);
	assert_true(hw_read32(hw, 5, SIM_AMDGPU_CP_INT_CNTL_RING0) & SIM_AMDGPU_CP_INT_TIME_STAMP);
	/* Both hubs share one GART table. */
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_GFXHUB_VM_CONTEXT0_CNTL), 1 | VM_CONTEXT_CNTL__FAULT_INTERRUPTS);
	/* User VMIDs: the whole 48-bit range, fault interrupts on, disabled until a ring's VM flush. */
	for (unsigned vmid = 1; vmid < 16; vmid++) {
		assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_GFXHUB_VM_CONTEXT0_CNTL + 4 * vmid), VM_CONTEXT_CNTL__FAULT_INTERRUPTS);
		assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_MMHUB_VM_CONTEXT0_CNTL + 4 * vmid), VM_CONTEXT_CNTL__FAULT_INTERRUPTS);
		assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_END_LO32 + 8 * vmid), 0xFFFFFFFFu);
		assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_END_LO32 + 8 * vmid + 4), 0xFu);
	}
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_BASE_LO32),
			 hw_read32(hw, 5, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_BASE_LO32));
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_START_LO32),
			 hw_read32(hw, 5, SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_START_LO32));
	/* The CP consumed everything submitted: ring test, then IB packet + fence, each padded to 8 dwords. */
	assert_int_equal(r->wptr, 8 + 16);
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_CP_RB0_RPTR), (uint32_t)r->wptr);
	const uint32_t *wb = r->wb.cpu;
	assert_int_equal(wb[0], (uint32_t)r->wptr); /* rptr writeback */
	assert_int_equal(wb[256 / 4], 0xCAFEF00Du); /* the IB's WRITE_DATA */
	assert_int_equal(wb[64 / 4], 1);            /* fence seqno 1 */
	assert_int_equal(r->fence.sync_seq, 1);
	/* The EOP vector was taken by the IH handler and signalled the fence, not a fallback. */
	assert_int_equal(r->fence.last_seq, 1);
	assert_int_equal(r->fence.irqs, 1);
	assert_int_equal(r->fence.fallback_signals, 0);

	/* SDMA0 and SDMA1: their GFX queues, each tested with WRITE_LINEAR, an IB and a trap. */
	for (unsigned i = 0; i < 2; i++) {
		const struct amdgpu_ring *s = &adev->sdma_ring[i];
		uint32_t o = i * SIM_AMDGPU_SDMA_STRIDE;
		assert_true(s->ready);
		assert_ptr_equal(amdgpu_ring_lookup(adev, AMDGPU_HW_IP_DMA, i), s);
		assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_SDMA0_GFX_RB_CNTL + o),
				 SIM_AMDGPU_SDMA_RB_ENABLE | 12u << SIM_AMDGPU_SDMA_RB_SIZE_SHIFT |
					 SIM_AMDGPU_SDMA_RB_RPTR_WRITEBACK_ENABLE); /* 16 KiB = 2^12 dwords */
		assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_SDMA0_GFX_RB_BASE + o), (uint32_t)(s->ring_gpu >> 8));
		assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_SDMA0_GFX_RB_RPTR_ADDR_LO + o), (uint32_t)s->wb_gpu);
		assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_SDMA0_GFX_DOORBELL + o), SIM_AMDGPU_SDMA_DOORBELL_ENABLE);
		assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_SDMA0_GFX_DOORBELL_OFFSET + o),
				 (i ? SIM_AMDGPU_SDMA1_DOORBELL : SIM_AMDGPU_SDMA0_DOORBELL) / 4 << 2);
		assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_SDMA0_F32_CNTL + o) & SIM_AMDGPU_SDMA_F32_HALT, 0);
		assert_true(hw_read32(hw, 5, SIM_AMDGPU_SDMA0_CNTL + o) & SIM_AMDGPU_SDMA_CNTL_TRAP_ENABLE);
		/* Ring test (5 dwords) and INDIRECT + FENCE + TRAP, each padded to 8; all consumed (bytes). */
		assert_int_equal(s->wptr, 8 + 16);
		assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_SDMA0_GFX_RB_RPTR + o), (uint32_t)s->wptr * 4);
		assert_int_equal(*(const uint64_t *)s->wb.cpu, s->wptr * 4);
		assert_int_equal(((const uint32_t *)s->wb.cpu)[256 / 4], 0xBEEFCAFEu);
		assert_int_equal(s->fence.last_seq, 1);
		assert_int_equal(s->fence.irqs, 1);
	}
	/* Three fence vectors were taken and the IH RPTR returned past them. */
	assert_int_equal(adev->ih.rptr, 3 * SIM_AMDGPU_IH_ENTRY_SIZE);
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_IH_RB_RPTR), 3 * SIM_AMDGPU_IH_ENTRY_SIZE);

	amdgpu_driver.unload(&dev);
	assert_null(dev.dev_private);
	/* unload halted the CP before freeing its ring. */
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_CP_ME_CNTL) & SIM_AMDGPU_CP_ME_CNTL_ME_HALT,
			 SIM_AMDGPU_CP_ME_CNTL_ME_HALT);
	hw_destroy(hw);
}

/* A CP that fails the ring or IB test: load still succeeds, with acceleration off. */
static void load_with_cp_fault(unsigned fault)
{
	struct hw_device *hw = hw_sim_create("amdgpu", 0);
	assert_non_null(hw);
	assert_int_equal(sim_amdgpu_ring_set_fault(hw_sim_model(hw), SIM_AMDGPU_RING_GFX, fault, 0), 0);
	struct drm_device dev = make_dev(hw);
	assert_int_equal(amdgpu_driver.load(&dev), 0);
	struct amdgpu_device *adev = dev.dev_private;
	assert_non_null(adev);
	assert_false(adev->gfx_ring.ready);
	assert_false(adev->gfx_ring.started);
	assert_null(amdgpu_ring_lookup(adev, AMDGPU_HW_IP_GFX, 0));
	/* The ring is torn down again; the GART and IH stay for the display. */
	assert_true(adev->gart.ready);
	assert_true(adev->ih.ready);
	assert_int_equal(hw_read32(hw, 5, SIM_AMDGPU_CP_ME_CNTL) & SIM_AMDGPU_CP_ME_CNTL_ME_HALT,
			 SIM_AMDGPU_CP_ME_CNTL_ME_HALT);
	amdgpu_driver.unload(&dev);
	hw_destroy(hw);
}

static void test_amdgpu_load_cp_hang(void **state)
{
	(void)state;
	load_with_cp_fault(SIM_AMDGPU_RING_HANG); /* the ring test times out */
}

static void test_amdgpu_load_eop_lost(void **state)
{
	(void)state;
	load_with_cp_fault(SIM_AMDGPU_RING_DROP_IRQ); /* the fence lands but no EOP reaches the IH */
}

static void test_amdgpu_refuses_intel(void **state)
{
	struct hw_device *hw = hw_sim_create("i915", 0);
	assert_non_null(hw);
	struct drm_device dev = make_dev(hw);
	assert_int_equal(amdgpu_driver.load(&dev), -ENODEV);
	assert_null(dev.dev_private);
	hw_destroy(hw);
}

static void test_amdgpu_refuses_wrong_golden(void **state)
{
	struct hw_device *hw = hw_sim_create("amdgpu", 0);
	assert_non_null(hw);
	/* A GFX9 part with another geometry (2 SE): not the chip this driver knows. */
	hw_write32(hw, 5, 0x98F8, 0x2A114042u & ~(3u << 19));
	struct drm_device dev = make_dev(hw);
	assert_int_equal(amdgpu_driver.load(&dev), -ENODEV);
	assert_null(dev.dev_private);
	/* Refused before the scratch test touched anything. */
	assert_int_equal(hw_read32(hw, 5, 0x30100), 0);
	hw_destroy(hw);
}

static void test_i915_load(void **state)
{
	struct hw_device *hw = hw_sim_create("i915", 0);
	assert_non_null(hw);
	struct drm_device dev = make_dev(hw);
	assert_int_equal(i915_driver.load(&dev), 0);
	struct i915_device *i915 = dev.dev_private;
	assert_non_null(i915);
	assert_ptr_equal(i915->hw, hw);
	assert_int_equal(i915->slice_mask, 0x1);
	assert_int_equal(i915->subslice_mask, 0x7);
	assert_int_equal(i915->slice_total, 1);
	assert_int_equal(i915->subslice_total, 3);
	assert_int_equal(i915->eu_total, 24);
	assert_int_equal(i915->eu_per_subslice, 8);
	assert_int_equal(i915->ggtt_size, 4ull << 30);
	/* Forcewake was released, and the release acked. */
	assert_int_equal(hw_read32(hw, 0, 0xA278), 0);
	assert_int_equal(hw_read32(hw, 0, 0x0D84), 0);
	i915_driver.unload(&dev);
	assert_null(dev.dev_private);
	hw_destroy(hw);
}

static void test_i915_refuses_amd(void **state)
{
	struct hw_device *hw = hw_sim_create("amdgpu", 0);
	assert_non_null(hw);
	struct drm_device dev = make_dev(hw);
	assert_int_equal(i915_driver.load(&dev), -ENODEV);
	assert_null(dev.dev_private);
	/* Nothing was written into the other chip's BAR0 (VRAM). */
	assert_int_equal(hw_read32(hw, 0, 0xA278), 0);
	hw_destroy(hw);
}

static void test_i915_forcewake_never_acked(void **state)
{
	struct hw_device *hw = hw_sim_create("i915", 0);
	assert_non_null(hw);
	sim_i915_set_fault(hw_sim_model(hw), SIM_I915_FAULT_NO_FORCEWAKE_ACK);
	struct drm_device dev = make_dev(hw);
	assert_int_equal(i915_driver.load(&dev), -ETIMEDOUT);
	assert_null(dev.dev_private);
	/* The request was withdrawn after giving up. */
	assert_int_equal(hw_read32(hw, 0, 0xA278), 0);
	hw_destroy(hw);
}

static void test_i915_bus_dead(void **state)
{
	struct hw_device *hw = hw_sim_create("i915", 0);
	assert_non_null(hw);
	/* All-ones would look like a set ack and 3 slices; the driver must not believe it. */
	sim_i915_set_fault(hw_sim_model(hw), SIM_I915_FAULT_BUS_DEAD);
	struct drm_device dev = make_dev(hw);
	assert_int_equal(i915_driver.load(&dev), -ENODEV);
	assert_null(dev.dev_private);
	hw_destroy(hw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_descriptions),
		cmocka_unit_test(test_match_models),
		cmocka_unit_test(test_amdgpu_load),
		cmocka_unit_test(test_amdgpu_load_cp_hang),
		cmocka_unit_test(test_amdgpu_load_eop_lost),
		cmocka_unit_test(test_amdgpu_refuses_intel),
		cmocka_unit_test(test_amdgpu_refuses_wrong_golden),
		cmocka_unit_test(test_i915_load),
		cmocka_unit_test(test_i915_refuses_amd),
		cmocka_unit_test(test_i915_forcewake_never_acked),
		cmocka_unit_test(test_i915_bus_dead),
	};
	return cmocka_run_group_tests_name("driver_load", tests, group_setup, NULL);
}
