/*
 * amdgpu command submission: contexts and their scheduler entities, the
 * schedulers of the hardware rings, VMIDs, jobs, and the ioctls on them
 * (CTX, CS, WAIT_CS, WAIT_FENCES, FENCE_TO_HANDLE, SCHED).
 */
#ifndef REDOX_DRM_AMDGPU_CS_H
#define REDOX_DRM_AMDGPU_CS_H

#include <stdbool.h>
#include <stdint.h>

#include <amdgpu_drm.h>

#include "redox-drm/cs.h"
#include "redox-drm/drm_ioctl.h"
#include "amdgpu.h"

struct amdgpu_device;
struct amdgpu_job;
struct amdgpu_ring;
struct amdgpu_vm;
struct drm_file;
struct drm_fence;
struct drm_gem_object;

/* Finished fences a context entity remembers (the kernel's amdgpu_sched_jobs default). */
#define AMDGPU_CTX_FENCE_WINDOW 32u
/* Rings a context may name per IP type, as the kernel's amdgpu_ctx_num_entities. */
#define AMDGPU_CTX_MAX_RINGS 4u
/* Rings with a scheduler: GFX 0, SDMA 0 and 1. */
#define AMDGPU_CS_MAX_RINGS 2u

struct amdgpu_ctx_entity {
	struct cs_entity base;
	uint32_t ip_type, ring;
	/* Finished fence of seqno s in fences[s % WINDOW]; older ones count as signalled. */
	struct drm_fence *fences[AMDGPU_CTX_FENCE_WINDOW];
};

struct amdgpu_ctx {
	struct amdgpu_device *adev;
	uint32_t id;
	int32_t init_priority, override_priority; /* AMDGPU_CTX_PRIORITY_*; override UNSET: none */
	bool guilty;                               /* shared by every entity of the context */
	uint64_t reset_counter;       /* the device's at creation (QUERY2) */
	uint64_t reset_counter_query; /* the device's at the last QUERY */
	struct amdgpu_ctx_entity *entities[AMDGPU_HW_IP_NUM][AMDGPU_CTX_MAX_RINGS];
};

/* One hardware ring's VMIDs (each ring has its own, so in-order reuse is always safe). */
struct amdgpu_vmid {
	const struct amdgpu_vm *vm; /* whose page tables it was last flushed to, NULL: none */
	uint64_t pd_base;
	uint64_t tlb_seq;            /* the VM's page-table generation at that flush */
	uint64_t last_used;          /* LRU stamp */
};

struct amdgpu_vmid_mgr {
	unsigned first, count; /* this ring's VMIDs: [first, first + count) */
	struct amdgpu_vmid ids[AMDGPU_NUM_VMID];
	uint64_t clock;
	uint64_t flushes; /* VM flushes emitted (tests read it) */
};

struct amdgpu_cs_ring {
	struct cs_sched sched;
	struct amdgpu_device *adev;
	struct amdgpu_ring *ring;
	uint32_t ip_type, index;
	struct amdgpu_vmid_mgr vmids;
	bool ready;
};

/* A VM with jobs on the rings: its page tables outlive the file until they are done. */
struct amdgpu_vm_use {
	struct amdgpu_vm *vm;
	unsigned jobs;
	bool released; /* the file is gone: destroy the VM after the last job */
	struct amdgpu_vm_use *next;
};

/* Per-device submission state. */
struct amdgpu_cs_dev {
	struct amdgpu_cs_ring rings[AMDGPU_HW_IP_NUM][AMDGPU_CS_MAX_RINGS];
	struct amdgpu_vm_use *vm_uses;
	/* Jobs submitted in this loop iteration, handed to the schedulers after the replies went out. */
	struct amdgpu_job *push_head, **push_tail;
	struct event_idle *push_idle;
	struct event_loop *loop;
	uint64_t reset_counter; /* ring resets so far (the kernel's gpu_reset_counter) */
	uint64_t timeout_ns;
};

/* amdgpu_cs.c: schedulers for the rings that came up at load (needs the event loop). */
int amdgpu_cs_init(struct amdgpu_device *adev, struct event_loop *loop);
void amdgpu_cs_fini(struct amdgpu_device *adev);
/* Hands every submitted job to its scheduler now (before an entity goes away). */
void amdgpu_cs_push_pending(struct amdgpu_device *adev);
/* The file's VM goes: destroyed now, or after the last of its jobs on a ring. */
void amdgpu_cs_vm_release(struct amdgpu_device *adev, struct amdgpu_vm *vm);
/*
 * Looks at every ring's fence value: work the engines finished whose
 * interrupt has not been handled yet completes now, so a wait that arrives
 * after the work does not also wait for the interrupt.
 */
void amdgpu_cs_fence_poll(struct amdgpu_device *adev);
/* The scheduler ring for (ip, ring), or NULL if that ring is not up. */
struct amdgpu_cs_ring *amdgpu_cs_ring_get(struct amdgpu_device *adev, uint32_t ip_type, uint32_t ring);

/* amdgpu_vmid.c */
void amdgpu_vmid_mgr_init(struct amdgpu_vmid_mgr *mgr, unsigned first, unsigned count);
/*
 * A VMID for vm on this ring; *flush when its page table base must be
 * (re)programmed or its TLB invalidated (the VM's tables changed since).
 */
unsigned amdgpu_vmid_grab(struct amdgpu_vmid_mgr *mgr, const struct amdgpu_vm *vm, uint64_t pd_base,
			  uint64_t tlb_seq, bool *flush);
/* After a ring reset: nothing programmed through the ring can be trusted. */
void amdgpu_vmid_reset(struct amdgpu_vmid_mgr *mgr);
/* The VM goes away: its VMIDs must be flushed before anyone reuses them. */
void amdgpu_vmid_forget_vm(struct amdgpu_vmid_mgr *mgr, const struct amdgpu_vm *vm);

/* amdgpu_ctx.c */
struct amdgpu_ctx *amdgpu_ctx_lookup(struct drm_file *file, uint32_t id);
/*
 * The context's entity for (ip, instance, ring), created on first use:
 * -EINVAL for an unknown IP, instance or ring (the kernel's checks), or the
 * error of the entity's last job (drm_sched_entity_error).
 */
int amdgpu_ctx_get_entity(struct amdgpu_ctx *ctx, uint32_t ip_type, uint32_t instance, uint32_t ring,
			  struct amdgpu_ctx_entity **out);
/*
 * The finished fence of seq on the entity (a reference): NULL when it is
 * older than the window (signalled long ago), -EINVAL in *err for a seq
 * not submitted yet. ~0 is the latest.
 */
struct drm_fence *amdgpu_ctx_get_fence(struct amdgpu_ctx_entity *e, uint64_t seq, int *err);
/* The slot the next job's fence takes: still pending means the entity is 32 jobs ahead. */
struct drm_fence *amdgpu_ctx_pending_slot(struct amdgpu_ctx_entity *e);
void amdgpu_ctx_add_fence(struct amdgpu_ctx_entity *e, struct drm_fence *finished);
/* Does fence come from one of file's contexts (implicit sync skips its own submissions)? */
bool amdgpu_ctx_fence_is_own(struct drm_file *file, const struct drm_fence *fence);
void amdgpu_ctx_file_fini(struct drm_file *file);

drm_ioctl_t amdgpu_ctx_ioctl, amdgpu_sched_ioctl, amdgpu_cs_ioctl, amdgpu_cs_wait_ioctl,
	amdgpu_cs_wait_fences_ioctl, amdgpu_cs_fence_to_handle_ioctl;

#endif
