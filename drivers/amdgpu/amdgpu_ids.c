/*
 * VMIDs: the hardware runs a job's IBs in one of VMIDs 1..15, whose page
 * table base the ring programs (a VM flush) before the IBs. Each ring has
 * its own set: jobs on one ring run in order, so giving a busy VMID to the
 * next job on the same ring is safe once its flush is in the ring behind the
 * earlier job. A VM keeps its VMID without a flush while its page tables
 * are unchanged; a VMID handed to another VM is flushed; the least recently
 * used one goes.
 */
#include <string.h>

#include "amdgpu_cs.h"

void amdgpu_vmid_mgr_init(struct amdgpu_vmid_mgr *mgr, unsigned first, unsigned count)
{
	memset(mgr, 0, sizeof(*mgr));
	if (first < 1)
		first = 1;
	if (first + count > AMDGPU_NUM_VMID)
		count = AMDGPU_NUM_VMID - first;
	mgr->first = first;
	mgr->count = count;
}

unsigned amdgpu_vmid_grab(struct amdgpu_vmid_mgr *mgr, const struct amdgpu_vm *vm, uint64_t pd_base,
			  uint64_t tlb_seq, bool *flush)
{
	unsigned lru = mgr->first;
	mgr->clock++;
	for (unsigned i = mgr->first; i < mgr->first + mgr->count; i++) {
		struct amdgpu_vmid *id = &mgr->ids[i];
		if (id->vm == vm && id->pd_base == pd_base) {
			id->last_used = mgr->clock;
			/* Same tables; only a mapping change since needs the TLB invalidated. */
			*flush = id->tlb_seq != tlb_seq;
			if (*flush) {
				id->tlb_seq = tlb_seq;
				mgr->flushes++;
			}
			return i;
		}
		if (id->last_used < mgr->ids[lru].last_used)
			lru = i;
	}
	struct amdgpu_vmid *id = &mgr->ids[lru];
	id->vm = vm;
	id->pd_base = pd_base;
	id->tlb_seq = tlb_seq;
	id->last_used = mgr->clock;
	mgr->flushes++;
	*flush = true;
	return lru;
}

void amdgpu_vmid_reset(struct amdgpu_vmid_mgr *mgr)
{
	for (unsigned i = 0; i < AMDGPU_NUM_VMID; i++) {
		mgr->ids[i].vm = NULL;
		mgr->ids[i].pd_base = 0;
	}
}

void amdgpu_vmid_forget_vm(struct amdgpu_vmid_mgr *mgr, const struct amdgpu_vm *vm)
{
	for (unsigned i = 0; i < AMDGPU_NUM_VMID; i++) {
		if (mgr->ids[i].vm == vm) {
			mgr->ids[i].vm = NULL;
			mgr->ids[i].pd_base = 0;
			mgr->ids[i].last_used = 0; /* free: first in line */
		}
	}
}
