/*
 * amdgpu rings and their hardware fences: the kernel's amdgpu_ring and
 * amdgpu_fence, reduced. One struct amdgpu_ring per engine queue (the GFX
 * ring, SDMA0, SDMA1), each with a table of functions that write that IP's
 * packets (PM4 for GFX, SDMA packets for SDMA) and program its registers.
 *
 * Writing to a ring: amdgpu_ring_alloc(ring, ndw) reserves room, the emit
 * functions write packets (never more than reserved: sizes below), and
 * amdgpu_ring_commit pads and rings the doorbell. amdgpu_fence_emit ends a
 * submission with a fence the IH handler signals (with a timer as the
 * fallback for a lost interrupt).
 *
 * Everything runs on the daemon's event loop thread: no locks.
 */
#ifndef REDOX_DRM_AMDGPU_RING_H
#define REDOX_DRM_AMDGPU_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "redox-drm/hw.h"

struct amdgpu_device;
struct amdgpu_ring;
struct amdgpu_iv_entry;
struct drm_fence;
struct event_timer;

struct amdgpu_ring_funcs {
	const char *name_fmt;  /* "gfx", "sdma%u" */
	uint32_t type;         /* AMDGPU_HW_IP_GFX / AMDGPU_HW_IP_DMA */
	uint32_t align_mask;   /* commit pads the ring to a multiple of align_mask + 1 dwords */
	uint32_t nop;          /* the one-dword filler */
	uint32_t ring_size;    /* bytes */
	/* Dwords each emit writes at most (what a caller adds up for amdgpu_ring_alloc). */
	unsigned emit_ib_size, emit_fence_size, emit_vm_flush_size;

	/* Programs the engine for the ring from wptr 0 and starts it; halts and silences it. */
	void (*hw_start)(struct amdgpu_ring *ring);
	void (*hw_stop)(struct amdgpu_ring *ring);
	/* Halts the engine and resets its queue; hw_start follows (amdgpu_ring_reset). */
	void (*hw_reset)(struct amdgpu_ring *ring);
	/* The engine's read pointer in dwords (from its writeback), and the write pointer's doorbell. */
	uint64_t (*get_rptr)(struct amdgpu_ring *ring);
	void (*set_wptr)(struct amdgpu_ring *ring);
	void (*emit_ib)(struct amdgpu_ring *ring, unsigned vmid, uint64_t ib_va, uint32_t length_dw, uint32_t flags);
	/* Writes seq (32 bits) to addr once everything before is done, then interrupts if irq. */
	void (*emit_fence)(struct amdgpu_ring *ring, uint64_t addr, uint32_t seq, bool irq);
	void (*emit_vm_flush)(struct amdgpu_ring *ring, unsigned vmid, uint64_t pd_base, uint32_t context_cntl);
	/* The kernel's ring and IB tests (the IB test needs the IH: it waits for the fence's interrupt). */
	int (*test_ring)(struct amdgpu_ring *ring);
	int (*test_ib)(struct amdgpu_ring *ring);
};

/* The fences of one ring: the kernel's amdgpu_fence_driver. */
#define AMDGPU_FENCE_SLOTS 256u /* fences a ring may have outstanding (a power of two) */
struct amdgpu_fence_driver {
	uint64_t context;     /* drm_fence context of the ring */
	uint64_t sync_seq;    /* last seqno emitted; the engine writes its low 32 bits */
	uint32_t last_seq;    /* last seqno processed (fences up to it are signalled) */
	struct drm_fence *fences[AMDGPU_FENCE_SLOTS]; /* outstanding, by seqno & (SLOTS - 1) */
	struct event_timer *fallback;
	uint64_t last_activity_ns;
	uint64_t irqs;             /* fence interrupts taken */
	uint64_t fallback_signals; /* fences the fallback (timer or signaled op) found passed before an interrupt */
};

struct amdgpu_ring {
	struct amdgpu_device *adev;
	const struct amdgpu_ring_funcs *funcs;
	char name[16];
	unsigned me;              /* instance of its IP (SDMA0/1) */
	struct hw_dma ring, wb;   /* the ring; writeback page: rptr, wptr shadow, fence, test slots */
	uint64_t ring_gpu, wb_gpu; /* their GART addresses */
	bool ring_mapped, wb_mapped;
	uint32_t ring_dw;
	uint64_t wptr;            /* free-running dword count */
	uint64_t wptr_old, alloc_end; /* where the current reservation begins and ends */
	struct amdgpu_fence_driver fence;
	uint64_t resets;
	bool started; /* engine programmed and running */
	bool ready;   /* ring and IB tests passed: usable */
};

/* Where things sit in a ring's writeback page (bytes). */
#define AMDGPU_WB_RPTR 0u
#define AMDGPU_WB_WPTR 8u
#define AMDGPU_WB_FENCE 64u
#define AMDGPU_WB_TEST 256u
#define AMDGPU_WB_IB 1024u /* the IB test's IB: 32-byte aligned as GFX and SDMA IBs must be */

/* ---- the interface command submission uses ---- */

/* The ring of a uAPI IP type (AMDGPU_HW_IP_GFX / _DMA) and index, NULL if none: as the kernel's
 * scheduler lists, the index counts the rings of the type that are ready (HW_IP_INFO's
 * available_rings is (1 << their number) - 1). */
struct amdgpu_ring *amdgpu_ring_lookup(struct amdgpu_device *adev, uint32_t ip_type, uint32_t ring);
/* Reserves ndw dwords (rounded up for the commit's padding); -ENOSPC while the engine has not
 * consumed enough, -EINVAL if it can never fit, -ENODEV if the ring is not running. */
int amdgpu_ring_alloc(struct amdgpu_ring *ring, unsigned ndw);
/* Pads to the ring's alignment and makes the engine see the new wptr (doorbell). */
void amdgpu_ring_commit(struct amdgpu_ring *ring);
/* Gives back a reservation without submitting what was written into it. */
void amdgpu_ring_undo(struct amdgpu_ring *ring);
void amdgpu_ring_emit_ib(struct amdgpu_ring *ring, unsigned vmid, uint64_t ib_va, uint32_t length_dw,
			 uint32_t flags /* AMDGPU_IB_FLAG_* */);
/* Waits for the ring's earlier fences (pipeline sync), programs VM_CONTEXT<vmid>'s control (with
 * the fault interrupts on) and page table base through the ring on the ring's hub (GFXHUB for GFX,
 * MMHUB for SDMA) and invalidates the VMID's TLB there (REQ, then the engine waits for ACK). */
void amdgpu_ring_emit_vm_flush(struct amdgpu_ring *ring, unsigned vmid, uint64_t pd_base, uint32_t context_cntl);
/* Emits a fence (needs funcs->emit_fence_size dwords reserved) and returns it (a reference).
 * -EBUSY if AMDGPU_FENCE_SLOTS fences are already outstanding, -ENOMEM. */
int amdgpu_fence_emit(struct amdgpu_ring *ring, struct drm_fence **fence);
/* Halts the engine, resets its ring and restarts it; outstanding fences complete with
 * -ECANCELED. Never waits for the engine: 0, or -ENODEV for a ring that never started. */
int amdgpu_ring_reset(struct amdgpu_ring *ring);
/* VM faults decoded from the IH ring, per VMID (0..15). */
uint64_t amdgpu_vm_fault_count(struct amdgpu_device *adev, unsigned vmid);

/* ---- inside the driver ---- */

/* Allocates, maps and starts the ring, then runs its tests: 0 and ready, or all undone. */
int amdgpu_ring_init(struct amdgpu_device *adev, struct amdgpu_ring *ring, const struct amdgpu_ring_funcs *funcs,
		     unsigned me);
/* Stops the engine; outstanding fences complete with -ENODEV; frees everything. */
void amdgpu_ring_fini(struct amdgpu_ring *ring);
void amdgpu_ring_write(struct amdgpu_ring *ring, uint32_t v);
/* Fills count dwords with the ring's NOP. */
void amdgpu_ring_insert_nop(struct amdgpu_ring *ring, unsigned count);
/* Free dwords the engine has consumed. */
uint32_t amdgpu_ring_free_dw(struct amdgpu_ring *ring);
volatile uint32_t *amdgpu_ring_wb32(struct amdgpu_ring *ring, uint32_t off);
/* Helpers of the ring and IB tests: polls a writeback dword for value, bounded; a short sleep. */
int amdgpu_ring_poll_wb(struct amdgpu_ring *ring, uint32_t off, uint32_t value, uint64_t timeout_ns);
void amdgpu_ring_pause(void);
/* Runs the IB of ib_dw dwords the caller put at AMDGPU_WB_IB with a fence; its write must leave
 * expect at AMDGPU_WB_TEST and the fence must be signalled by its interrupt. */
int amdgpu_ring_test_ib_common(struct amdgpu_ring *ring, uint32_t ib_dw, uint32_t expect);

int amdgpu_fence_driver_init(struct amdgpu_ring *ring);
/* Completes every outstanding fence with error (and forgets the engine's seqno). */
void amdgpu_fence_driver_force_completion(struct amdgpu_ring *ring, int error);
void amdgpu_fence_driver_fini(struct amdgpu_ring *ring);
/* Signals, in order, every fence up to the seqno the engine wrote. true if any was. */
bool amdgpu_fence_process(struct amdgpu_ring *ring);
/* The fence interrupt of the ring (EOP / SDMA trap). */
void amdgpu_fence_irq(struct amdgpu_ring *ring);

/* amdgpu_gfx.c and amdgpu_sdma.c: the IPs' ring functions. */
extern const struct amdgpu_ring_funcs amdgpu_gfx_ring_funcs;
extern const struct amdgpu_ring_funcs amdgpu_sdma_ring_funcs;

#endif
