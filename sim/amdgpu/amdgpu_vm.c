/*
 * GPU VM translation (GFX9 GMC, MMHUB 1.0), the one place every engine of the
 * model turns a GPU address into memory:
 *  - VMID0: the GART range (VM_CONTEXT0 page table, flat when its depth is 0)
 *    and the system aperture (FB location -> VRAM, AGP -> bus addresses);
 *  - VMIDs 1-15: their multi-level page tables (9 bits per level, 4 KiB pages,
 *    2 MiB pages where a PDB0 entry has PDE_PTE set).
 * The model keeps no TLB: every access walks the tables in memory, so an
 * invalidation only has to be acknowledged (REQ -> ACK, as the kernel waits for).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "sim_amdgpu.h"

#define PAGE_SHIFT 12
#define PAGE_SIZE (1ull << PAGE_SHIFT)
#define PDE_ADDR_MASK 0x0000FFFFFFFFFFC0ull
#define MAX_VMID 15u

struct sim_amdgpu_vm {
	atomic_uint_least64_t faults;
	/* Pages made to fail (misbehaviour): (va >> 12) << 8 | vmid << 1 | 1; 0 = free slot. */
	atomic_uint_least64_t fail[SIM_AMDGPU_VM_FAIL_PAGES];
};

struct hub_regs {
	uint32_t context0_cntl, inv_req0, inv_ack0, pt_base_lo0, pt_start_lo0, pt_end_lo0;
	uint32_t fb_offset, fb_base, fb_top, agp_top, agp_bot, agp_base, sys_low, sys_high;
};

static const struct hub_regs hubs[SIM_AMDGPU_NUM_HUBS] = {
	[SIM_AMDGPU_MMHUB] = {
		.context0_cntl = SIM_AMDGPU_MMHUB_VM_CONTEXT0_CNTL,
		.inv_req0 = SIM_AMDGPU_MMHUB_VM_INVALIDATE_ENG0_REQ,
		.inv_ack0 = SIM_AMDGPU_MMHUB_VM_INVALIDATE_ENG0_ACK,
		.pt_base_lo0 = SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_BASE_LO32,
		.pt_start_lo0 = SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_START_LO32,
		.pt_end_lo0 = SIM_AMDGPU_MMHUB_VM_CONTEXT0_PT_END_LO32,
		.fb_offset = SIM_AMDGPU_MMHUB_MC_VM_FB_OFFSET,
		.fb_base = SIM_AMDGPU_MMHUB_MC_VM_FB_LOCATION_BASE,
		.fb_top = SIM_AMDGPU_MMHUB_MC_VM_FB_LOCATION_TOP,
		.agp_top = SIM_AMDGPU_MMHUB_MC_VM_AGP_TOP,
		.agp_bot = SIM_AMDGPU_MMHUB_MC_VM_AGP_BOT,
		.agp_base = SIM_AMDGPU_MMHUB_MC_VM_AGP_BASE,
		.sys_low = SIM_AMDGPU_MMHUB_MC_VM_SYSTEM_APERTURE_LOW,
		.sys_high = SIM_AMDGPU_MMHUB_MC_VM_SYSTEM_APERTURE_HIGH,
	},
	[SIM_AMDGPU_GFXHUB] = {
		.context0_cntl = SIM_AMDGPU_GFXHUB_VM_CONTEXT0_CNTL,
		.inv_req0 = SIM_AMDGPU_GFXHUB_VM_INVALIDATE_ENG0_REQ,
		.inv_ack0 = SIM_AMDGPU_GFXHUB_VM_INVALIDATE_ENG0_ACK,
		.pt_base_lo0 = SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_BASE_LO32,
		.pt_start_lo0 = SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_START_LO32,
		.pt_end_lo0 = SIM_AMDGPU_GFXHUB_VM_CONTEXT0_PT_END_LO32,
		.fb_offset = SIM_AMDGPU_GFXHUB_MC_VM_FB_OFFSET,
		.fb_base = SIM_AMDGPU_GFXHUB_MC_VM_FB_LOCATION_BASE,
		.fb_top = SIM_AMDGPU_GFXHUB_MC_VM_FB_LOCATION_TOP,
		.agp_top = SIM_AMDGPU_GFXHUB_MC_VM_AGP_TOP,
		.agp_bot = SIM_AMDGPU_GFXHUB_MC_VM_AGP_BOT,
		.agp_base = SIM_AMDGPU_GFXHUB_MC_VM_AGP_BASE,
		.sys_low = SIM_AMDGPU_GFXHUB_MC_VM_SYSTEM_APERTURE_LOW,
		.sys_high = SIM_AMDGPU_GFXHUB_MC_VM_SYSTEM_APERTURE_HIGH,
	},
};

/* Invalidation completes at once (no TLB): ACK reports the VMIDs of PER_VMID_INVALIDATE_REQ [15:0]. */
static void inv_req_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
	const struct hub_regs *h = ctx;
	sim_regs_set(r, off, val);
	sim_regs_set(r, h->inv_ack0 + (off - h->inv_req0), val & 0xFFFFu);
}

static void ignore_write(struct sim_regs *r, uint32_t off, uint32_t val, void *ctx)
{
}

int sim_amdgpu_vm_init(struct sim_model *m)
{
	struct sim_amdgpu_vm *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return -ENOMEM;
	atomic_init(&vm->faults, 0);
	for (unsigned i = 0; i < SIM_AMDGPU_VM_FAIL_PAGES; i++)
		atomic_init(&vm->fail[i], 0);
	sim_amdgpu_set_engine(m, SIM_AMDGPU_ENGINE_VM, vm);
	for (unsigned h = 0; h < SIM_AMDGPU_NUM_HUBS; h++) {
		for (unsigned e = 0; e < SIM_AMDGPU_VM_NUM_INVALIDATE_ENGS; e++) {
			const struct sim_reg_hook req = {.off = hubs[h].inv_req0 + 4 * e, .write = inv_req_write,
							 .ctx = (void *)&hubs[h]};
			const struct sim_reg_hook ack = {.off = hubs[h].inv_ack0 + 4 * e, .write = ignore_write};
			int ret = sim_amdgpu_hook_mmio(m, &req);
			if (!ret)
				ret = sim_amdgpu_hook_mmio(m, &ack);
			if (ret)
				return ret;
		}
	}
	return 0;
}

void sim_amdgpu_vm_fini(struct sim_model *m)
{
	free(sim_amdgpu_engine(m, SIM_AMDGPU_ENGINE_VM));
	sim_amdgpu_set_engine(m, SIM_AMDGPU_ENGINE_VM, NULL);
}

uint64_t sim_amdgpu_vm_faults(struct sim_model *m)
{
	struct sim_amdgpu_vm *vm = sim_amdgpu_engine(m, SIM_AMDGPU_ENGINE_VM);
	return vm ? atomic_load(&vm->faults) : 0;
}

static uint64_t fail_key(unsigned vmid, uint64_t va)
{
	return ((va & 0x0000FFFFFFFFFFFFull) >> PAGE_SHIFT) << 8 | (uint64_t)(vmid & 0xF) << 1 | 1u;
}

int sim_amdgpu_vm_fail_page(struct sim_model *m, unsigned vmid, uint64_t va)
{
	struct sim_amdgpu_vm *vm = sim_amdgpu_engine(m, SIM_AMDGPU_ENGINE_VM);
	if (!vm || vmid > MAX_VMID)
		return -EINVAL;
	for (unsigned i = 0; i < SIM_AMDGPU_VM_FAIL_PAGES; i++) {
		uint_least64_t expect = 0;
		if (atomic_compare_exchange_strong(&vm->fail[i], &expect, fail_key(vmid, va)))
			return 0;
	}
	return -ENOSPC;
}

void sim_amdgpu_vm_fail_page_clear(struct sim_model *m)
{
	struct sim_amdgpu_vm *vm = sim_amdgpu_engine(m, SIM_AMDGPU_ENGINE_VM);
	for (unsigned i = 0; vm && i < SIM_AMDGPU_VM_FAIL_PAGES; i++)
		atomic_store(&vm->fail[i], 0);
}

static bool failing(const struct sim_amdgpu_vm_ctx *ctx, uint64_t addr)
{
	struct sim_amdgpu_vm *vm = sim_amdgpu_engine(ctx->m, SIM_AMDGPU_ENGINE_VM);
	uint64_t key = fail_key(ctx->vmid, addr);
	for (unsigned i = 0; vm && i < SIM_AMDGPU_VM_FAIL_PAGES; i++)
		if (atomic_load(&vm->fail[i]) == key)
			return true;
	return false;
}

static uint64_t reg64(const struct sim_regs *r, uint32_t lo)
{
	return (uint64_t)sim_regs_get(r, lo) | (uint64_t)sim_regs_get(r, lo + 4) << 32;
}

int sim_amdgpu_vm_snapshot(struct sim_model *m, enum sim_amdgpu_hub hub, unsigned vmid, struct sim_amdgpu_vm_ctx *ctx)
{
	if ((unsigned)hub >= SIM_AMDGPU_NUM_HUBS || vmid > MAX_VMID)
		return -EINVAL;
	const struct hub_regs *h = &hubs[hub];
	const struct sim_regs *r = sim_amdgpu_mmio(m);
	uint32_t cntl = sim_regs_get(r, h->context0_cntl + 4 * vmid);

	memset(ctx, 0, sizeof(*ctx));
	ctx->m = m;
	ctx->hub = hub;
	ctx->vmid = vmid;
	ctx->pt_enabled = cntl & 1u;
	ctx->depth = (cntl >> 1) & 3u;
	ctx->block_size = (cntl >> 3) & 0xFu;
	ctx->pt_base = reg64(r, h->pt_base_lo0 + 8 * vmid);
	/* LO32 holds page-number bits [31:0] (address [43:12]), HI32 [3:0] the rest. */
	ctx->pt_start = reg64(r, h->pt_start_lo0 + 8 * vmid) & 0xFFFFFFFFFull;
	ctx->pt_end = reg64(r, h->pt_end_lo0 + 8 * vmid) & 0xFFFFFFFFFull;
	if (vmid == 0) {
		ctx->sys_low = (uint64_t)(sim_regs_get(r, h->sys_low) & 0x3FFFFFFu) << 18;
		ctx->sys_high = (uint64_t)(sim_regs_get(r, h->sys_high) & 0x3FFFFFFu) << 18 | 0x3FFFFu;
		ctx->fb_base = (uint64_t)(sim_regs_get(r, h->fb_base) & 0xFFFFFFu) << 24;
		ctx->fb_top = (uint64_t)(sim_regs_get(r, h->fb_top) & 0xFFFFFFu) << 24 | 0xFFFFFFu;
		ctx->fb_offset = (uint64_t)(sim_regs_get(r, h->fb_offset) & 0xFFFFFFu) << 24;
		ctx->agp_bot = (uint64_t)(sim_regs_get(r, h->agp_bot) & 0xFFFFFFu) << 24;
		ctx->agp_top = (uint64_t)(sim_regs_get(r, h->agp_top) & 0xFFFFFFu) << 24 | 0xFFFFFFu;
		ctx->agp_base = (uint64_t)(sim_regs_get(r, h->agp_base) & 0xFFFFFFu) << 24;
	}
	return 0;
}

/* One 64-bit table entry at a bus address (system) or VRAM offset. */
static int read_entry(const struct sim_amdgpu_vm_ctx *ctx, uint64_t addr, bool system, uint64_t *entry)
{
	if (addr & 7)
		return -EFAULT;
	if (system)
		return ctx->m->bus->dma_read(ctx->m->bus, addr, entry, sizeof(*entry)) ? -EFAULT : 0;
	if (addr > SIM_AMDGPU_VRAM_SIZE - sizeof(*entry))
		return -EFAULT;
	memcpy(entry, sim_amdgpu_vram(ctx->m) + addr, sizeof(*entry));
	return 0;
}

static int leaf(uint64_t pte, uint64_t page_mask, uint64_t va, bool write, uint64_t *pa, bool *system)
{
	if (!(pte & SIM_AMDGPU_PTE_VALID))
		return -EFAULT;
	if (!(pte & (write ? SIM_AMDGPU_PTE_WRITEABLE : SIM_AMDGPU_PTE_READABLE)))
		return -EFAULT;
	*system = pte & SIM_AMDGPU_PTE_SYSTEM;
	*pa = (pte & SIM_AMDGPU_PTE_ADDR_MASK & ~page_mask) | (va & page_mask);
	return 0;
}

/* The page-table walk of a context; va is relative to the context's start. */
static int walk(const struct sim_amdgpu_vm_ctx *ctx, uint64_t va, bool write, uint64_t *pa, bool *system)
{
	/* Only the 4 KiB page-table block GFX9 uses (PAGE_TABLE_BLOCK_SIZE 0) is modelled. */
	if (ctx->block_size != 0 || !(ctx->pt_base & SIM_AMDGPU_PTE_VALID))
		return -EFAULT;
	uint64_t table = ctx->pt_base & (ctx->depth ? PDE_ADDR_MASK : SIM_AMDGPU_PTE_ADDR_MASK);
	bool table_system = ctx->pt_base & SIM_AMDGPU_PTE_SYSTEM;

	for (unsigned level = ctx->depth; level > 0; level--) {
		unsigned shift = PAGE_SHIFT + 9 * level;
		/* The root level takes every remaining bit; lower levels 9 each. */
		uint64_t index = level == ctx->depth ? va >> shift : (va >> shift) & 0x1FF;
		if (level == ctx->depth && index > 0x1FF)
			return -EFAULT;
		uint64_t pde;
		if (read_entry(ctx, table + index * 8, table_system, &pde) || !(pde & SIM_AMDGPU_PTE_VALID))
			return -EFAULT;
		if (level == 1 && (pde & SIM_AMDGPU_PDE_PTE))
			return leaf(pde, (1ull << 21) - 1, va, write, pa, system);
		table = pde & PDE_ADDR_MASK;
		table_system = pde & SIM_AMDGPU_PTE_SYSTEM;
	}
	uint64_t index = ctx->depth ? (va >> PAGE_SHIFT) & 0x1FF : va >> PAGE_SHIFT;
	uint64_t pte;
	if (read_entry(ctx, table + index * 8, table_system, &pte))
		return -EFAULT;
	return leaf(pte, PAGE_SIZE - 1, va, write, pa, system);
}

static int fault(const struct sim_amdgpu_vm_ctx *ctx)
{
	struct sim_amdgpu_vm *vm = sim_amdgpu_engine(ctx->m, SIM_AMDGPU_ENGINE_VM);
	if (vm)
		atomic_fetch_add(&vm->faults, 1);
	return -EFAULT;
}

int sim_amdgpu_vm_translate(const struct sim_amdgpu_vm_ctx *ctx, uint64_t addr, bool write, uint64_t *pa,
			    bool *system)
{
	addr &= 0x0000FFFFFFFFFFFFull; /* 48-bit GPU address space */
	uint64_t page = addr >> PAGE_SHIFT;
	if (failing(ctx, addr))
		return fault(ctx);

	if (ctx->pt_enabled && page >= ctx->pt_start && page <= ctx->pt_end) {
		if (walk(ctx, addr - (ctx->pt_start << PAGE_SHIFT), write, pa, system))
			return fault(ctx);
		return 0;
	}
	if (ctx->vmid == 0 && addr >= ctx->sys_low && addr <= ctx->sys_high) {
		if (addr >= ctx->fb_base && addr <= ctx->fb_top) {
			uint64_t off = addr - ctx->fb_base + ctx->fb_offset;
			if (off >= SIM_AMDGPU_VRAM_SIZE)
				return fault(ctx);
			*pa = off;
			*system = false;
			return 0;
		}
		if (addr >= ctx->agp_bot && addr <= ctx->agp_top) {
			*pa = addr - ctx->agp_bot + ctx->agp_base;
			*system = true;
			return 0;
		}
	}
	return fault(ctx);
}

/* A failed engine access raises the hub's fault vector when the context enables it. Lock held. */
static void report_fault(const struct sim_amdgpu_vm_ctx *ctx, uint64_t addr, bool write)
{
	if (!ctx->report_faults)
		return;
	uint32_t cntl = sim_regs_get(sim_amdgpu_mmio(ctx->m), hubs[ctx->hub].context0_cntl + 4 * ctx->vmid);
	if (!(cntl & SIM_AMDGPU_VM_CNTL_FAULT_INTERRUPTS))
		return;
	addr &= 0x0000FFFFFFFFFFFFull;
	const struct sim_amdgpu_iv iv = {
		.client_id = ctx->hub == SIM_AMDGPU_GFXHUB ? SIM_AMDGPU_IH_CLIENT_UTCL2 : SIM_AMDGPU_IH_CLIENT_VMC,
		.src_id = SIM_AMDGPU_SRCID_VM_FAULT,
		.vmid = (uint8_t)ctx->vmid,
		.vmid_src = ctx->hub == SIM_AMDGPU_MMHUB,
		.src_data = {(uint32_t)(addr >> 12), (uint32_t)(addr >> 44) | (write ? SIM_AMDGPU_VM_FAULT_WRITE : 0)},
	};
	sim_amdgpu_ih_post(ctx->m, &iv);
}

static int vm_access(const struct sim_amdgpu_vm_ctx *ctx, uint64_t addr, void *buf, size_t len, bool write)
{
	uint8_t *p = buf;
	while (len) {
		size_t chunk = (size_t)(PAGE_SIZE - (addr & (PAGE_SIZE - 1)));
		if (chunk > len)
			chunk = len;
		uint64_t pa;
		bool system;
		if (sim_amdgpu_vm_translate(ctx, addr, write, &pa, &system)) {
			report_fault(ctx, addr, write);
			return -EFAULT;
		}
		if (system) {
			struct sim_bus *bus = ctx->m->bus;
			int ret = write ? bus->dma_write(bus, pa, p, chunk) : bus->dma_read(bus, pa, p, chunk);
			if (ret) {
				report_fault(ctx, addr, write);
				return fault(ctx);
			}
		} else {
			if (pa > SIM_AMDGPU_VRAM_SIZE || chunk > SIM_AMDGPU_VRAM_SIZE - pa) {
				report_fault(ctx, addr, write);
				return fault(ctx);
			}
			uint8_t *v = sim_amdgpu_vram(ctx->m) + pa;
			if (write)
				memcpy(v, p, chunk);
			else
				memcpy(p, v, chunk);
		}
		p += chunk;
		addr += chunk;
		len -= chunk;
	}
	return 0;
}

int sim_amdgpu_vm_read(const struct sim_amdgpu_vm_ctx *ctx, uint64_t addr, void *dst, size_t len)
{
	return vm_access(ctx, addr, dst, len, false);
}

int sim_amdgpu_vm_write(const struct sim_amdgpu_vm_ctx *ctx, uint64_t addr, const void *src, size_t len)
{
	return vm_access(ctx, addr, (void *)src, len, true);
}

int sim_amdgpu_engine_vm(struct sim_model *m, enum sim_amdgpu_hub hub, unsigned vmid, struct sim_amdgpu_vm_ctx *ctx)
{
	int ret = sim_amdgpu_vm_snapshot(m, hub, vmid, ctx);
	ctx->report_faults = true;
	return ret;
}

int sim_amdgpu_engine_read(struct sim_model *m, enum sim_amdgpu_hub hub, unsigned vmid, uint64_t addr, void *dst,
			   size_t len)
{
	struct sim_amdgpu_vm_ctx vm;
	if (sim_amdgpu_engine_vm(m, hub, vmid, &vm) || sim_amdgpu_vm_read(&vm, addr, dst, len)) {
		memset(dst, 0, len);
		return -EFAULT;
	}
	return 0;
}

int sim_amdgpu_engine_write(struct sim_model *m, enum sim_amdgpu_hub hub, unsigned vmid, uint64_t addr,
			    const void *src, size_t len)
{
	struct sim_amdgpu_vm_ctx vm;
	if (sim_amdgpu_engine_vm(m, hub, vmid, &vm) || sim_amdgpu_vm_write(&vm, addr, src, len))
		return -EFAULT;
	return 0;
}
