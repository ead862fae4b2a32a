/* Vega10 model: register traffic through the hw ops, exactly. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "amdgpu/sim_amdgpu.h"
#include "hw_sim.h"
#include "redox-drm/hw.h"

#define MMIO 5
#define DOORBELL 2

static int setup(void **state)
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

static void test_reset_values(void **state)
{
	struct hw_device *hw = *state;
	assert_int_equal(hw_read32(hw, MMIO, 0x98F8), 0x2A114042u);  /* GB_ADDR_CONFIG */
	assert_int_equal(hw_read32(hw, MMIO, 0x86D8), 0x15000000u);  /* CP_ME_CNTL: CE|PFP|ME halted */
	assert_int_equal(hw_read32(hw, MMIO, 0x8010), 0x00003008u);  /* GRBM_STATUS idle */
	assert_int_equal(hw_read32(hw, MMIO, 0x8010) & 0x80000000u, 0); /* GUI_ACTIVE clear */
	assert_int_equal(hw_read32(hw, MMIO, 0x8680), 0);            /* CP_STAT */
	assert_int_equal(hw_read32(hw, MMIO, 0x34BC), 0x0000687Fu);  /* RCC_DEV0_EPF0_STRAP0 */
	assert_int_equal(hw_read32(hw, MMIO, 0x378C), 8192);         /* CONFIG_MEMSIZE, MiB */
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(hw_read32(hw, MMIO, 0x30100 + 4 * i), 0);
	/* Unmodelled registers read zero. */
	assert_int_equal(hw_read32(hw, MMIO, 0xC100), 0); /* CP_RB0_BASE */
	assert_int_equal(hw_read32(hw, MMIO, 0x7FFFC), 0);
}

static void test_scratch_rw(void **state)
{
	struct hw_device *hw = *state;
	for (unsigned i = 0; i < 8; i++)
		hw_write32(hw, MMIO, 0x30100 + 4 * i, 0xDEADBEEF ^ i);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(hw_read32(hw, MMIO, 0x30100 + 4 * i), 0xDEADBEEF ^ i);
	hw_write32(hw, MMIO, 0x30100, 0xCAFEDEAD);
	assert_int_equal(hw_read32(hw, MMIO, 0x30100), 0xCAFEDEAD);
	assert_int_equal(hw_read32(hw, MMIO, 0x30104), 0xDEADBEEF ^ 1);
}

static void test_plain_and_readonly(void **state)
{
	struct hw_device *hw = *state;
	/* Unmodelled registers store writes. */
	hw_write32(hw, MMIO, 0xC104, 0x0000080A); /* CP_RB0_CNTL */
	assert_int_equal(hw_read32(hw, MMIO, 0xC104), 0x0000080A);
	/* GB_ADDR_CONFIG is writable (golden-register programming writes it). */
	hw_write32(hw, MMIO, 0x98F8, 0x12345678);
	assert_int_equal(hw_read32(hw, MMIO, 0x98F8), 0x12345678);
	/* CP_ME_CNTL: un-halting is a plain write for now. */
	hw_write32(hw, MMIO, 0x86D8, 0);
	assert_int_equal(hw_read32(hw, MMIO, 0x86D8), 0);
	/* Status and straps ignore writes. */
	hw_write32(hw, MMIO, 0x8010, 0xFFFFFFFF);
	assert_int_equal(hw_read32(hw, MMIO, 0x8010), 0x00003008u);
	hw_write32(hw, MMIO, 0x8680, 0xFFFFFFFF);
	assert_int_equal(hw_read32(hw, MMIO, 0x8680), 0);
	hw_write32(hw, MMIO, 0x34BC, 0);
	assert_int_equal(hw_read32(hw, MMIO, 0x34BC), 0x0000687Fu);
	/* Unaligned: all-ones, and a write there changes nothing. */
	assert_int_equal(hw_read32(hw, MMIO, 0x30102), 0xFFFFFFFFu);
	hw_write32(hw, MMIO, 0x30102, 0);
	assert_int_equal(hw_read32(hw, MMIO, 0x30100), 0);
	/* 64-bit access = low then high dword. */
	hw_write64(hw, MMIO, 0x30108, 0x0123456789ABCDEFull);
	assert_int_equal(hw_read32(hw, MMIO, 0x30108), 0x89ABCDEFu);
	assert_int_equal(hw_read32(hw, MMIO, 0x3010C), 0x01234567u);
	assert_int_equal(hw_read64(hw, MMIO, 0x30108), 0x0123456789ABCDEFull);
}

static void test_indirect_access(void **state)
{
	struct hw_device *hw = *state;
	/* MM_INDEX/MM_DATA reaches registers by byte offset... */
	hw_write32(hw, MMIO, 0x0, 0x30104);
	hw_write32(hw, MMIO, 0x4, 0x5A5A5A5A);
	assert_int_equal(hw_read32(hw, MMIO, 0x30104), 0x5A5A5A5A);
	hw_write32(hw, MMIO, 0x0, 0x98F8);
	assert_int_equal(hw_read32(hw, MMIO, 0x4), 0x2A114042u);
	/* ...and VRAM with b31 set, beyond the CPU-visible window via MM_INDEX_HI. */
	size_t size;
	uint32_t *vram = hw->ops->bar_map(hw, 0, &size);
	assert_non_null(vram);
	hw_write32(hw, MMIO, 0x0, 0x80000000u | 0x100);
	hw_write32(hw, MMIO, 0x18, 0);
	hw_write32(hw, MMIO, 0x4, 0x0BADCAFE);
	assert_int_equal(vram[0x100 / 4], 0x0BADCAFE);
	hw_write32(hw, MMIO, 0x0, 0x80000000u | 0x10);
	hw_write32(hw, MMIO, 0x18, 2); /* offset 2 << 31 = 4 GiB + 0x10 */
	hw_write32(hw, MMIO, 0x4, 0x600DF00D);
	assert_int_equal(hw_read32(hw, MMIO, 0x4), 0x600DF00D);
	assert_int_equal(vram[0x10 / 4], 0);
	/* Past the end of VRAM: abort. */
	hw_write32(hw, MMIO, 0x18, 4);
	assert_int_equal(hw_read32(hw, MMIO, 0x4), 0xFFFFFFFFu);
}

struct hook_log {
	int reads, writes, writes64;
	uint32_t last_off, last32;
	uint64_t last64;
};

static uint32_t hook_read(struct sim_regs *r, uint32_t off, void *ctx)
{
	struct hook_log *l = ctx;
	l->reads++;
	l->last_off = off;
	return 0x11110000u | off;
}

static void hook_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	struct hook_log *l = ctx;
	l->writes++;
	l->last_off = off;
	l->last32 = val;
}

static void hook_write64(struct sim_regs *r, uint32_t off, uint64_t val, void *ctx)
{
	struct hook_log *l = ctx;
	l->writes64++;
	l->last_off = off;
	l->last64 = val;
	sim_regs_set(r, off, (uint32_t)val);
	sim_regs_set(r, off + 4, (uint32_t)(val >> 32));
}

static void test_engine_seams(void **state)
{
	struct hw_device *hw = *state;
	struct sim_model *m = hw_sim_model(hw);
	assert_non_null(m);

	/* A register hook sees the write instead of the store, and answers reads. */
	struct hook_log reg = {0};
	struct sim_reg_hook h = {.off = 0xC150, .read = hook_read, .write = hook_write, .ctx = &reg};
	assert_int_equal(sim_amdgpu_hook_mmio(m, &h), 0);
	assert_int_equal(sim_amdgpu_hook_mmio(m, &h), -EEXIST);
	struct sim_reg_hook bad = {.off = 0xC151};
	assert_int_equal(sim_amdgpu_hook_mmio(m, &bad), -EINVAL);
	bad.off = 512u << 10;
	assert_int_equal(sim_amdgpu_hook_mmio(m, &bad), -EINVAL);
	hw_write32(hw, MMIO, 0xC150, 42);
	assert_int_equal(reg.writes, 1);
	assert_int_equal(reg.last32, 42);
	assert_int_equal(hw_read32(hw, MMIO, 0xC150), 0x1111C150u);
	assert_int_equal(reg.reads, 1);
	/* Neighbours are untouched. */
	assert_int_equal(hw_read32(hw, MMIO, 0xC154), 0);

	/* A doorbell hook (a free one: the GFX ring owns 0x458): one 64-bit write, seen whole. */
	struct hook_log db = {0};
	struct sim_reg_hook dh = {.off = 0x800, .write = hook_write, .write64 = hook_write64, .ctx = &db};
	assert_int_equal(sim_amdgpu_hook_doorbell(m, &dh), 0);
	dh.off = 0x458;
	assert_int_equal(sim_amdgpu_hook_doorbell(m, &dh), -EEXIST);
	hw_write64(hw, DOORBELL, 0x800, 0x0000000100000040ull);
	assert_int_equal(db.writes64, 1);
	assert_int_equal(db.writes, 0);
	assert_int_equal(db.last64, 0x0000000100000040ull);
	assert_int_equal(hw_read64(hw, DOORBELL, 0x800), 0x0000000100000040ull);
	/* Unhooked doorbells store. */
	hw_write32(hw, DOORBELL, 0x1E0 * 4, 7);
	assert_int_equal(hw_read32(hw, DOORBELL, 0x1E0 * 4), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reset_values, setup, teardown),
		cmocka_unit_test_setup_teardown(test_scratch_rw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_plain_and_readonly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_indirect_access, setup, teardown),
		cmocka_unit_test_setup_teardown(test_engine_seams, setup, teardown),
	};
	return cmocka_run_group_tests_name("sim_amdgpu", tests, NULL, NULL);
}
