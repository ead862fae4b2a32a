/* amdgpu backend: private device state and the registers it programs. */
#ifndef REDOX_DRM_AMDGPU_H
#define REDOX_DRM_AMDGPU_H

#include <stdbool.h>
#include <stdint.h>

#include "redox-drm/drm_ioctl.h"
#include "redox-drm/gem.h"
#include "redox-drm/hw.h"
#include "redox-drm/idr.h"
#include "amdgpu_ring.h"

struct hw_device;
struct drm_device;
struct drm_file;
struct drm_kms_funcs;

/* PCI BARs of a GFX9 dGPU. */
enum { AMDGPU_BAR_VRAM = 0, AMDGPU_BAR_DOORBELL = 2, AMDGPU_BAR_MMIO = 5 };
#define AMDGPU_MMIO_MIN_SIZE (512u << 10)

/* Byte offsets in the MMIO BAR (SOC15 dword offset * 4). */
#define mmGB_ADDR_CONFIG 0x98F8u
#define mmSCRATCH_REG0 0x30100u
#define mmRCC_DEV0_EPF0_STRAP0 0x34BCu /* NBIO 6.1 */

#define VEGA10_GB_ADDR_CONFIG_GOLDEN 0x2A114042u
#define AMDGPU_FAMILY_AI 141

/* ---- GMC: the MMHUB's VMID0 view (FB aperture + GART), as the display and IH use it ---- */
#define mmRCC_CONFIG_MEMSIZE 0x378Cu /* VRAM size in MiB */
/* MMHUB 1.0 (base 0x1A000 dwords) [AR mmhub_1_0_offset.h]. */
#define mmMMHUB_VM_CONTEXT0_CNTL 0x69B00u            /* ENABLE_CONTEXT b0, PAGE_TABLE_DEPTH [2:1] */
#define mmMMHUB_VM_INVALIDATE_ENG0_REQ 0x69B8Cu      /* +4 per engine */
#define mmMMHUB_VM_INVALIDATE_ENG0_ACK 0x69BD4u
#define mmMMHUB_VM_CONTEXT0_PAGE_TABLE_BASE_ADDR_LO32 0x69CACu
#define mmMMHUB_VM_CONTEXT0_PAGE_TABLE_BASE_ADDR_HI32 0x69CB0u
#define mmMMHUB_VM_CONTEXT0_PAGE_TABLE_START_ADDR_LO32 0x69D2Cu
#define mmMMHUB_VM_CONTEXT0_PAGE_TABLE_START_ADDR_HI32 0x69D30u
#define mmMMHUB_VM_CONTEXT0_PAGE_TABLE_END_ADDR_LO32 0x69DACu
#define mmMMHUB_VM_CONTEXT0_PAGE_TABLE_END_ADDR_HI32 0x69DB0u
#define mmMMHUB_MC_VM_FB_OFFSET 0x6A05Cu
#define mmMMHUB_MC_VM_FB_LOCATION_BASE 0x6A0B0u
#define mmMMHUB_MC_VM_FB_LOCATION_TOP 0x6A0B4u
#define mmMMHUB_MC_VM_AGP_TOP 0x6A0B8u
#define mmMMHUB_MC_VM_AGP_BOT 0x6A0BCu
#define mmMMHUB_MC_VM_AGP_BASE 0x6A0C0u
#define mmMMHUB_MC_VM_SYSTEM_APERTURE_LOW_ADDR 0x6A0C4u
#define mmMMHUB_MC_VM_SYSTEM_APERTURE_HIGH_ADDR 0x6A0C8u
/* GFXHUB 1.0 (GC base 0xA000 dwords) [AR gc_9_0_offset.h]: the CP's view. */
#define mmGFXHUB_VM_CONTEXT0_CNTL 0xA200u
#define mmGFXHUB_VM_INVALIDATE_ENG0_REQ 0xA28Cu
#define mmGFXHUB_VM_INVALIDATE_ENG0_ACK 0xA2D4u
#define mmGFXHUB_VM_CONTEXT0_PAGE_TABLE_BASE_ADDR_LO32 0xA3ACu
#define mmGFXHUB_VM_CONTEXT0_PAGE_TABLE_START_ADDR_LO32 0xA42Cu
#define mmGFXHUB_VM_CONTEXT0_PAGE_TABLE_END_ADDR_LO32 0xA4ACu
#define mmGFXHUB_MC_VM_FB_OFFSET 0xA5ACu
#define mmGFXHUB_MC_VM_FB_LOCATION_BASE 0xA600u
#define mmGFXHUB_MC_VM_FB_LOCATION_TOP 0xA604u
#define mmGFXHUB_MC_VM_AGP_TOP 0xA608u
#define mmGFXHUB_MC_VM_AGP_BOT 0xA60Cu
#define mmGFXHUB_MC_VM_AGP_BASE 0xA610u
#define mmGFXHUB_MC_VM_SYSTEM_APERTURE_LOW_ADDR 0xA614u
#define mmGFXHUB_MC_VM_SYSTEM_APERTURE_HIGH_ADDR 0xA618u
/* The engine the kernel keeps for its own MMIO TLB flushes. */
#define AMDGPU_GART_INV_ENG 17u
/* GFX9 PTE bits. */
#define AMDGPU_PTE_VALID (1ull << 0)
#define AMDGPU_PTE_SYSTEM (1ull << 1)
#define AMDGPU_PTE_SNOOPED (1ull << 2)
#define AMDGPU_PTE_READABLE (1ull << 5)
#define AMDGPU_PTE_WRITEABLE (1ull << 6)
#define AMDGPU_PTE_EXECUTABLE (1ull << 4)
#define AMDGPU_PTE_MTYPE_SHIFT 57 /* MTYPE_VG10 [58:57]: NC 0, WC/RW 1, CC 2, UC 3 */
#define AMDGPU_PTE_PRT (1ull << 51)
#define AMDGPU_PDE_PTE (1ull << 54)
#define AMDGPU_GPU_PAGE_SIZE 4096u

/* Where VRAM and the GART sit in the GPU address space [plausible: as a Vega VBIOS/kernel place
 * them]. Both below 1 TiB, since the display's surface addresses are 40 bits. */
#define AMDGPU_VRAM_START 0x000000F400000000ull
#define AMDGPU_GART_START 0x000000FF00000000ull
#define AMDGPU_GART_SIZE (512ull << 20)

struct amdgpu_gart {
	struct hw_dma table;   /* flat array of 64-bit PTEs, one per GPU page */
	uint64_t start;        /* GPU address of the aperture */
	uint32_t num_pages;
	uint32_t *used;        /* allocation bitmap, one bit per page */
	bool ready;
};

/* ---- IH: the interrupt ring (OSSSYS 4.0) ---- */
#define mmIH_RB_CNTL 0x4480u
#define mmIH_RB_BASE 0x4484u
#define mmIH_RB_BASE_HI 0x4488u
#define mmIH_RB_RPTR 0x448Cu
#define mmIH_RB_WPTR 0x4490u
#define mmIH_RB_WPTR_ADDR_HI 0x4494u
#define mmIH_RB_WPTR_ADDR_LO 0x4498u
#define IH_RB_CNTL__RB_ENABLE (1u << 0)
#define IH_RB_CNTL__RB_SIZE__SHIFT 1
#define IH_RB_CNTL__WPTR_WRITEBACK_ENABLE (1u << 8)
#define IH_RB_CNTL__WPTR_OVERFLOW_ENABLE (1u << 16)
#define IH_RB_CNTL__ENABLE_INTR (1u << 17)
#define IH_RB_CNTL__MC_SPACE__SHIFT 28
#define IH_RB_CNTL__WPTR_OVERFLOW_CLEAR (1u << 31)
#define IH_RB_WPTR__RB_OVERFLOW (1u << 0)
#define AMDGPU_IH_RING_SIZE (64u << 10)
#define AMDGPU_IH_ENTRY_SIZE 32u
#define SOC15_IH_CLIENTID_DCE 0x04

struct amdgpu_ih {
	struct hw_dma ring, wb; /* the ring, and the page WPTR is written back to */
	uint32_t rptr;
	bool ready;
};

/* One decoded interrupt vector. */
struct amdgpu_iv_entry {
	uint8_t client_id, src_id, ring_id, vmid;
	uint16_t pasid;
	uint64_t timestamp;
	uint32_t src_data[4];
};

/* ---- GFX: the CP's kernel ring (GC 9.0) [AR gc_9_0_offset.h] ---- */
#define mmCP_ME_CNTL 0x86D8u
#define mmCP_RB0_RPTR 0x8700u
#define mmCP_RB_WPTR_DELAY 0x8704u
#define mmCP_RB0_BASE 0xC100u
#define mmCP_RB0_CNTL 0xC104u
#define mmCP_RB0_RPTR_ADDR 0xC10Cu
#define mmCP_RB0_RPTR_ADDR_HI 0xC110u
#define mmCP_RB_WPTR_POLL_ADDR_LO 0xC118u
#define mmCP_RB_WPTR_POLL_ADDR_HI 0xC11Cu
#define mmCP_RB_VMID 0xC144u
#define mmCP_RB0_WPTR 0xC150u
#define mmCP_RB0_WPTR_HI 0xC154u
#define mmCP_RB_DOORBELL_CONTROL 0xC164u
#define mmCP_RB_DOORBELL_RANGE_LOWER 0xC168u
#define mmCP_RB_DOORBELL_RANGE_UPPER 0xC16Cu
#define mmCP_INT_CNTL_RING0 0xC1A8u
#define mmCP_RB0_BASE_HI 0xC2C4u
#define CP_RB_CNTL__RB_BLKSZ__SHIFT 8
#define CP_RB_DOORBELL_CONTROL__DOORBELL_OFFSET__SHIFT 2
#define CP_RB_DOORBELL_CONTROL__DOORBELL_EN (1u << 30)
#define CP_RB_DOORBELL_RANGE_UPPER__MASK 0x1FFFFCu /* the whole range [plausible]: the model does not check it */
#define CP_ME_CNTL__HALT_ALL ((1u << 24) | (1u << 26) | (1u << 28)) /* CE, PFP, ME */
#define CP_INT_CNTL_RING0__TIME_STAMP_INT_ENABLE (1u << 26)
/* BAR2 byte offset of the GFX ring's doorbell (dword index 0x8B << 1). */
#define AMDGPU_GFX_DOORBELL 0x458u
#define AMDGPU_GFX_RING_SIZE (64u << 10)
#define SOC15_IH_CLIENTID_GRBM_CP 0x14
#define GFX_9_0__SRCID__CP_EOP_INTERRUPT 181
#define mmGRBM_SOFT_RESET 0x8020u
#define GRBM_SOFT_RESET__CP_GFX ((1u << 0) | (1u << 16) | (7u << 17)) /* CP, GFX, CPF/CPC/CPG */
#define mmCP_RB_RPTR_WR 0xC108u
#define CP_RB_CNTL__RB_RPTR_WR_ENA (1u << 31)

/* ---- SDMA 4.0 (facts §3): SDMA0 registers; SDMA1 is AMDGPU_SDMA_STRIDE bytes above ---- */
#define AMDGPU_NUM_SDMA 2u
#define AMDGPU_SDMA_STRIDE 0x800u
#define mmSDMA0_CNTL 0x49F0u
#define mmSDMA0_F32_CNTL 0x4A28u
#define mmSDMA0_GFX_RB_CNTL 0x4B80u
#define mmSDMA0_GFX_RB_BASE 0x4B84u
#define mmSDMA0_GFX_RB_BASE_HI 0x4B88u
#define mmSDMA0_GFX_RB_RPTR 0x4B8Cu
#define mmSDMA0_GFX_RB_RPTR_HI 0x4B90u
#define mmSDMA0_GFX_RB_WPTR 0x4B94u
#define mmSDMA0_GFX_RB_WPTR_HI 0x4B98u
#define mmSDMA0_GFX_RB_RPTR_ADDR_HI 0x4BA0u
#define mmSDMA0_GFX_RB_RPTR_ADDR_LO 0x4BA4u
#define mmSDMA0_GFX_IB_CNTL 0x4BA8u
#define mmSDMA0_GFX_DOORBELL 0x4BC8u
#define mmSDMA0_GFX_DOORBELL_OFFSET 0x4C2Cu
#define mmSDMA0_GFX_MINOR_PTR_UPDATE 0x4C54u
#define SDMA0_CNTL__TRAP_ENABLE (1u << 0)
#define SDMA0_F32_CNTL__HALT (1u << 0)
#define SDMA0_GFX_RB_CNTL__RB_ENABLE (1u << 0)
#define SDMA0_GFX_RB_CNTL__RB_SIZE__SHIFT 1
#define SDMA0_GFX_RB_CNTL__RPTR_WRITEBACK_ENABLE (1u << 12)
#define SDMA0_GFX_IB_CNTL__IB_ENABLE (1u << 0)
#define SDMA0_GFX_DOORBELL__ENABLE (1u << 28)
#define SDMA0_GFX_DOORBELL_OFFSET__SHIFT 2
/* BAR2 byte offsets of the SDMA doorbells (dword index 0xF0 << 1 and 0xF2 << 1). */
#define AMDGPU_SDMA0_DOORBELL 0x780u
#define AMDGPU_SDMA1_DOORBELL 0x790u
#define AMDGPU_SDMA_RING_SIZE (16u << 10)
#define SOC15_IH_CLIENTID_SDMA0 0x08
#define SOC15_IH_CLIENTID_SDMA1 0x09
#define SDMA0_4_0__SRCID__SDMA_TRAP 224

/* ---- VMIDs 1-15 and VM faults [AR vega10_ip_offset.h, ivsrcid/vmc/irqsrcs_vmc_1_0.h] ---- */
#define AMDGPU_NUM_VMID 16u
/* VM_CONTEXTn_CNTL: the *_PROTECTION_FAULT_ENABLE_INTERRUPT bits (range, dummy page, PDE0, valid,
 * read, write, execute: the odd bits 9..21), which the kernel's vm_fault irq switches on. */
#define VM_CONTEXT_CNTL__FAULT_INTERRUPTS 0x002AAA00u
/* 48-bit VA, 4 KiB pages: the last page number of a user VMID's range. */
#define AMDGPU_VM_MAX_PFN (1ull << 36)
#define SOC15_IH_CLIENTID_VMC 0x12   /* MMHUB */
#define SOC15_IH_CLIENTID_UTCL2 0x1B /* GFXHUB (the GC's L2 translation cache) */
#define VMC_1_0__SRCID__VM_FAULT 0
#define UTCL2_1_0__SRCID__FAULT 0
/* Invalidation engines the rings' VM flushes use on their hub (17 is the driver's own, MMIO). */
#define AMDGPU_GFX_INV_ENG 0u
#define AMDGPU_SDMA_INV_ENG(me) (1u + (me))


struct amdgpu_display;
struct amdgpu_cs_dev;
struct amdgpu_pt_chunk;
struct amdgpu_vram_mgr;

/* Memory accounting INFO reports: sizes of the heaps and what GEM_CREATE put in them. */
struct amdgpu_mm {
	uint64_t vram_size, visible_vram_size, gtt_size;
	uint64_t vram_usage, vis_vram_usage, gtt_usage;
	uint64_t bytes_moved, evictions; /* nothing migrates yet: stay 0 */
};

struct amdgpu_device {
	struct hw_device *hw;
	uint32_t family;
	uint32_t rev_id;       /* chip revision from the strap */
	uint32_t external_rev; /* what DEV_INFO reports; Mesa keys VEGA10 off it */
	uint32_t gb_addr_config;
	/* Decoded GB_ADDR_CONFIG geometry. */
	uint32_t num_pipes, pipe_interleave_size, max_compressed_frags;
	uint32_t num_se, num_rb_per_se;

	uint64_t vram_start, vram_size; /* VRAM's place in the GPU address space */
	struct amdgpu_gart gart;
	struct amdgpu_ih ih;
	struct drm_device *ddev;
	struct amdgpu_ring gfx_ring;
	struct amdgpu_ring sdma_ring[AMDGPU_NUM_SDMA];
	uint64_t vm_faults[AMDGPU_NUM_VMID]; /* decoded from the IH, per VMID */
	uint64_t vm_fault_log_ns;            /* rate limit of their log lines */
	unsigned vm_fault_log_burst;
	struct amdgpu_display *display;
	struct amdgpu_mm mm;
	struct amdgpu_cs_dev *cs; /* schedulers and VMIDs of the rings (amdgpu_cs.c) */
	struct amdgpu_pt_chunk *pt_chunks; /* page-table memory of all VMs (amdgpu_vm.c) */
	struct amdgpu_vram_mgr *vram_mgr;  /* NULL: VRAM objects cannot be placed (no local memory) */
};

/* A buffer object of this driver (imported dma-bufs are plain GEM objects). */
struct amdgpu_bo {
	struct drm_gem_object base;
	uint64_t alignment;
	uint32_t preferred_domains; /* what the client asked for (SET_PLACEMENT changes it) */
	uint32_t domain;            /* where it lives: AMDGPU_GEM_DOMAIN_VRAM/GTT/CPU */
	uint64_t flags;             /* AMDGPU_GEM_CREATE_* */
	uint64_t vram_offset;       /* domain VRAM: its place in VRAM (physical, from 0) */
	uint64_t visible_bytes;     /* domain VRAM: how much of it lies in the CPU-visible window */
	/* GEM_METADATA: opaque to the kernel, kept for whoever imports the BO. */
	uint64_t tiling_flags;
	uint64_t metadata_flags;
	uint32_t metadata_size;
	uint32_t metadata[64];
};

/* The driver's BO behind obj, or NULL for an object of another kind (an import). */
struct amdgpu_bo *amdgpu_bo_of(struct drm_gem_object *obj);
/*
 * Where the GPU finds byte offset off of obj: a bus address (*system true) or a
 * VRAM physical offset. Objects are contiguous and never move.
 */
uint64_t amdgpu_bo_gpu_addr(struct drm_gem_object *obj, uint64_t off, bool *system);

/* Per open file (struct drm_file.driver_priv). */
struct amdgpu_vm;
struct amdgpu_bo_list;
struct amdgpu_fpriv {
	struct idr ctx_idr;     /* context id -> struct amdgpu_ctx */
	struct amdgpu_vm *vm;   /* the file's GPU address space */
	struct idr bo_list_idr; /* BO list handle -> struct amdgpu_bo_list */
};

static inline uint32_t amdgpu_rreg(struct amdgpu_device *adev, uint32_t off)
{
	return hw_read32(adev->hw, AMDGPU_BAR_MMIO, off);
}

static inline void amdgpu_wreg(struct amdgpu_device *adev, uint32_t off, uint32_t v)
{
	hw_write32(adev->hw, AMDGPU_BAR_MMIO, off, v);
}

/* amdgpu_gmc.c: FB aperture and GART on the MMHUB (VMID0). */
int amdgpu_gmc_init(struct amdgpu_device *adev);
void amdgpu_gmc_fini(struct amdgpu_device *adev);
/* Reserves npages of GART space; 0 and *gpu_addr, or -ENOSPC. */
int amdgpu_gart_alloc(struct amdgpu_device *adev, uint32_t npages, uint64_t *gpu_addr);
void amdgpu_gart_free(struct amdgpu_device *adev, uint64_t gpu_addr, uint32_t npages);
/* Points npages GPU pages at contiguous bus memory (or clears them), then flushes the TLB. */
int amdgpu_gart_map(struct amdgpu_device *adev, uint64_t gpu_addr, uint64_t bus_addr, uint32_t npages);
int amdgpu_gart_unmap(struct amdgpu_device *adev, uint64_t gpu_addr, uint32_t npages);
/* VM_INVALIDATE_ENG17 REQ -> ACK for VMID0. 0 or -ETIMEDOUT. */
int amdgpu_gmc_flush_tlb(struct amdgpu_device *adev);

/* ---- Per-file GPU VM (VMIDs 1-15), amdgpu_vm.c ---- */
/* The low and high halves of the 48-bit space as userspace sees it (sign-extended above the hole). */
#define AMDGPU_GMC_HOLE_START 0x0000800000000000ull
#define AMDGPU_GMC_HOLE_END 0xFFFF800000000000ull
#define AMDGPU_GMC_HOLE_MASK 0x0000FFFFFFFFFFFFull
/* Kept from userspace: the bottom 2 MiB, and 4 MiB at the top (the kernel's CSA and friends). */
#define AMDGPU_VA_RESERVED_SIZE (2ull << 20)
#define AMDGPU_VA_RESERVED_TOP (4ull << 20)
#define AMDGPU_VM_SIZE (AMDGPU_VM_MAX_PFN * AMDGPU_GPU_PAGE_SIZE - AMDGPU_VA_RESERVED_TOP)
/* Multi-level tables: PDB2 [47:39] -> PDB1 [38:30] -> PDB0 [29:21] -> PTB [20:12]. */
#define AMDGPU_VM_PT_DEPTH 3u
/* VM_CONTEXTn_CNTL: ENABLE_CONTEXT b0, PAGE_TABLE_DEPTH [2:1], PAGE_TABLE_BLOCK_SIZE [6:3], fault enables [22:9]. */
#define VM_CONTEXT_CNTL__ENABLE_CONTEXT 1u
#define VM_CONTEXT_CNTL__PAGE_TABLE_DEPTH__SHIFT 1
#define VM_CONTEXT_CNTL__PAGE_TABLE_BLOCK_SIZE__SHIFT 3
#define VM_CONTEXT_CNTL__FAULT_ENABLES 0x007FFE00u

struct amdgpu_vm *amdgpu_vm_create(struct amdgpu_device *adev, int *err);
/* Unmaps everything (dropping the objects' references) and frees the tables. */
void amdgpu_vm_destroy(struct amdgpu_vm *vm);
struct amdgpu_vm *amdgpu_vm_of_file(struct drm_file *file);
/*
 * A job that runs in vm was submitted / is done (freed). Mappings unmapped
 * while jobs submitted before are running keep their PTEs until those jobs
 * end, as the kernel orders the clearing after the VM's work. begin returns
 * the job's sequence number for end (0: not tracked, out of memory).
 */
uint64_t amdgpu_vm_job_begin(struct amdgpu_vm *vm);
void amdgpu_vm_job_end(struct amdgpu_vm *vm, uint64_t seq);
/* The file closed a handle to obj: with its last one, obj's mappings in the file's VM go. */
void amdgpu_vm_bo_close(struct drm_file *file, struct drm_gem_object *obj);
/* The value for VM_CONTEXTn_PAGE_TABLE_BASE_ADDR_LO32/HI32: the root directory's address | VALID | SYSTEM. */
uint64_t amdgpu_vm_pd_base(const struct amdgpu_vm *vm);
/* Depth and block size (and fault enables) to program into VM_CONTEXTn_CNTL. */
uint32_t amdgpu_vm_context_cntl(const struct amdgpu_vm *vm);
/*
 * Bumped by every page-table update: a VMID that last ran this VM at another
 * value needs its TLB invalidated before the next job (the kernel's tlb_seq).
 */
uint64_t amdgpu_vm_tlb_seq(const struct amdgpu_vm *vm);
/* Frees the page-table pool (every VM is gone by then). */
void amdgpu_vm_manager_fini(struct amdgpu_device *adev);

/* BO lists (the CS ioctl's bo_list_handle). The pointer stays valid until the file's next BO_LIST
 * ioctl or close; whoever keeps objects past that takes its own references. */
struct amdgpu_bo_list *amdgpu_bo_list_get(struct drm_file *file, uint32_t handle);
unsigned amdgpu_bo_list_count(const struct amdgpu_bo_list *l);
struct drm_gem_object *amdgpu_bo_list_obj(const struct amdgpu_bo_list *l, unsigned i);
/* The entry's bo_priority, capped at AMDGPU_BO_LIST_MAX_PRIORITY. */
unsigned amdgpu_bo_list_priority(const struct amdgpu_bo_list *l, unsigned i);
#define AMDGPU_BO_LIST_MAX_PRIORITY 32u
/* Bounds one list (BO_LIST or a CS BO_HANDLES chunk): more is a client trying to exhaust the daemon
 * [the kernel caps it at 128 Ki too]. */
#define AMDGPU_BO_LIST_MAX_ENTRIES (128u * 1024u)
void amdgpu_bo_list_fini(struct amdgpu_fpriv *fpriv);

drm_ioctl_t amdgpu_gem_va_ioctl, amdgpu_bo_list_ioctl;

/* amdgpu_vram_mgr.c: ranges of VRAM. */
int amdgpu_vram_mgr_init(struct amdgpu_device *adev, uint64_t size);
void amdgpu_vram_mgr_fini(struct amdgpu_device *adev);
/* size bytes (page multiple) below limit, align a power of two; top-down or bottom-up. -ENOMEM if no gap fits. */
int amdgpu_vram_alloc(struct amdgpu_device *adev, uint64_t size, uint64_t align, uint64_t limit, bool topdown,
		      uint64_t *offset);
void amdgpu_vram_free(struct amdgpu_device *adev, uint64_t offset);
size_t amdgpu_vram_mgr_count(const struct amdgpu_device *adev); /* live ranges (leak checks) */

/* amdgpu_ih.c: the IH ring and the interrupt handler (struct drm_driver.irq_handler). */
int amdgpu_ih_init(struct amdgpu_device *adev);
void amdgpu_ih_fini(struct amdgpu_device *adev);
void amdgpu_irq_handler(struct drm_device *dev);

/* amdgpu_gfx.c: the GFX ring. init needs the GART and IH; 0 only if the ring and IB tests passed,
 * otherwise everything it set up is undone. */
int amdgpu_gfx_init(struct amdgpu_device *adev);
void amdgpu_gfx_fini(struct amdgpu_device *adev);
/* amdgpu_sdma.c: SDMA0 and SDMA1, each usable only if its tests passed. */
int amdgpu_sdma_init(struct amdgpu_device *adev);
void amdgpu_sdma_fini(struct amdgpu_device *adev);
/* The ring an IH vector's fence interrupt belongs to (CP EOP, SDMA trap), or NULL. */
struct amdgpu_ring *amdgpu_ring_of_iv(struct amdgpu_device *adev, const struct amdgpu_iv_entry *iv);
/* amdgpu_gmc.c: VMIDs 1-15 of both hubs (ranges, fault interrupts) and VM fault vectors. */
void amdgpu_gmc_vmid_setup(struct amdgpu_device *adev);
bool amdgpu_gmc_fault_irq(struct amdgpu_device *adev, const struct amdgpu_iv_entry *iv);

/* ACCEL_WORKING: the rings came up and passed their tests at load. */
bool amdgpu_accel_working(struct amdgpu_device *adev);
/* A BO created with AMDGPU_GEM_CREATE_EXPLICIT_SYNC: submissions do not wait for others' work on it. */
struct drm_gem_object;
bool amdgpu_bo_explicit_sync(struct drm_gem_object *obj);

/* amdgpu_kms.c: the driver's ioctls (indexed by number - DRM_COMMAND_BASE; the last is SCHED). */
#define AMDGPU_KMS_NUM_IOCTLS 0x16u
struct drm_file;
extern const struct drm_ioctl_desc amdgpu_ioctls_kms[AMDGPU_KMS_NUM_IOCTLS];
void amdgpu_mm_init(struct amdgpu_device *adev);
int amdgpu_driver_open_kms(struct drm_device *dev, struct drm_file *file);
void amdgpu_driver_postclose_kms(struct drm_device *dev, struct drm_file *file);

/* amdgpu_display.c: the DCE 12 display (KMS). */
extern const struct drm_kms_funcs amdgpu_kms_funcs;
/* Display sources of the IH (client DCE); false if the entry is not the display's. */
bool amdgpu_display_irq(struct drm_device *dev, const struct amdgpu_iv_entry *iv);

#endif
