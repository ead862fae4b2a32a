/*
 * The user VMIDs (1-15) of both hubs, as gfxhub/mmhub_v1_0_setup_vmid_config
 * leave them at load (the whole 48-bit range, disabled until a ring's VM
 * flush gives a VMID its page tables), the VM fault interrupts the kernel
 * keeps enabled on every context, and the fault vectors they raise
 * (gmc_v9_0_process_interrupt): counted per VMID and logged, rate-limited.
 */
#include "amdgpu.h"
#include "redox-drm/log.h"
#include "redox-drm/loop.h"

#define FAULT_LOG_INTERVAL_NS 5000000000ull /* printk_ratelimit: a burst of 10 per 5 s */
#define FAULT_LOG_BURST 10u

struct vmid_hub {
	const char *name;
	uint32_t cntl, pt_start, pt_end;
};

static const struct vmid_hub vmid_hubs[] = {
	{"mmhub", mmMMHUB_VM_CONTEXT0_CNTL, mmMMHUB_VM_CONTEXT0_PAGE_TABLE_START_ADDR_LO32,
	 mmMMHUB_VM_CONTEXT0_PAGE_TABLE_END_ADDR_LO32},
	{"gfxhub", mmGFXHUB_VM_CONTEXT0_CNTL, mmGFXHUB_VM_CONTEXT0_PAGE_TABLE_START_ADDR_LO32,
	 mmGFXHUB_VM_CONTEXT0_PAGE_TABLE_END_ADDR_LO32},
};

void amdgpu_gmc_vmid_setup(struct amdgpu_device *adev)
{
	const uint64_t last = AMDGPU_VM_MAX_PFN - 1;
	for (size_t h = 0; h < sizeof(vmid_hubs) / sizeof(vmid_hubs[0]); h++) {
		const struct vmid_hub *hub = &vmid_hubs[h];
		/* VMID0 keeps its GART setup; it gains the fault interrupts like every context. */
		amdgpu_wreg(adev, hub->cntl, amdgpu_rreg(adev, hub->cntl) | VM_CONTEXT_CNTL__FAULT_INTERRUPTS);
		for (unsigned vmid = 1; vmid < AMDGPU_NUM_VMID; vmid++) {
			amdgpu_wreg(adev, hub->pt_start + 8u * vmid, 0);
			amdgpu_wreg(adev, hub->pt_start + 8u * vmid + 4, 0);
			amdgpu_wreg(adev, hub->pt_end + 8u * vmid, (uint32_t)last);
			amdgpu_wreg(adev, hub->pt_end + 8u * vmid + 4, (uint32_t)(last >> 32));
			amdgpu_wreg(adev, hub->cntl + 4u * vmid, VM_CONTEXT_CNTL__FAULT_INTERRUPTS); /* not enabled */
		}
	}
}

bool amdgpu_gmc_fault_irq(struct amdgpu_device *adev, const struct amdgpu_iv_entry *iv)
{
	const char *hub;
	if (iv->client_id == SOC15_IH_CLIENTID_VMC && iv->src_id == VMC_1_0__SRCID__VM_FAULT)
		hub = "mmhub";
	else if (iv->client_id == SOC15_IH_CLIENTID_UTCL2 && iv->src_id == UTCL2_1_0__SRCID__FAULT)
		hub = "gfxhub";
	else
		return false;
	adev->vm_faults[iv->vmid & (AMDGPU_NUM_VMID - 1)]++;

	uint64_t now = monotonic_ns();
	if (now - adev->vm_fault_log_ns > FAULT_LOG_INTERVAL_NS) {
		adev->vm_fault_log_ns = now;
		adev->vm_fault_log_burst = 0;
	}
	if (adev->vm_fault_log_burst++ < FAULT_LOG_BURST) {
		/* The page: src_data[0] holds address bits [43:12], src_data[1] [3:0] bits [47:44]. */
		uint64_t addr = (uint64_t)iv->src_data[0] << 12 | (uint64_t)(iv->src_data[1] & 0xFu) << 44;
		log_warn("amdgpu: %s: [%s] page fault (src_id %u ring %u vmid %u pasid %u) at address 0x%012llx%s",
			 adev->hw->name, hub, iv->src_id, iv->ring_id, iv->vmid, iv->pasid, (unsigned long long)addr,
			 iv->src_data[1] & 0x80u ? " (retry)" : "");
	}
	return true;
}

uint64_t amdgpu_vm_fault_count(struct amdgpu_device *adev, unsigned vmid)
{
	return vmid < AMDGPU_NUM_VMID ? adev->vm_faults[vmid] : 0;
}
