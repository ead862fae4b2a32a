/*
 * Per-file GPU virtual memory (GFX9, VMIDs 1-15): a four-level page table
 * (PDB2 -> PDB1 -> PDB0 -> PTB, 512 entries of 8 bytes per 4 KiB table) the
 * GFXHUB and MMHUB walk, the mappings GEM_VA makes in it, and the ioctl.
 *
 * Tables live in host DMA memory (PDEs carry SYSTEM) and are written by the
 * CPU, as the kernel's CPU update path does. Tables are carved from chunks
 * shared by all VMs of the device, so a large mapping costs a few
 * allocations rather than one per table. What is unmapped while jobs
 * submitted earlier may still use it keeps its PTEs (and its BO) on a freed
 * list until those jobs end (amdgpu_vm_job_begin/end).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drm.h>
#include <amdgpu_drm.h>

#include "amdgpu.h"
#include "redox-drm/drm_device.h"
#include "redox-drm/log.h"

#define PT_ENTRIES 512u
#define PT_BYTES (PT_ENTRIES * 8u)
#define PDE_ADDR_MASK 0x0000FFFFFFFFFFC0ull
#define PTE_ADDR_MASK 0x0000FFFFFFFFF000ull
#define CHUNK_TABLES 64u /* tables per DMA allocation (256 KiB) */

struct amdgpu_pt_chunk {
	struct hw_dma dma;
	uint64_t used; /* one bit per table */
	struct amdgpu_pt_chunk *next;
};

/* One table. Directories know their children; PTBs have none. */
struct amdgpu_vm_pt {
	struct amdgpu_pt_chunk *chunk;
	unsigned slot;
	volatile uint64_t *cpu;
	uint64_t bus;
	struct amdgpu_vm_pt **children; /* PT_ENTRIES, NULL for a PTB */
	unsigned used;                  /* valid entries (PTB) or children (directory) */
};

/* One GEM_VA mapping; pages [start, last] of the 48-bit space. */
struct amdgpu_vm_mapping {
	uint64_t start, last;
	uint64_t offset;            /* byte offset in the object */
	uint64_t pte_flags;         /* permissions, MTYPE, PRT */
	struct drm_gem_object *obj; /* a reference; NULL for a PRT range */
	uint64_t freed_seq;         /* on the freed list: the last job that may still use it */
	struct amdgpu_vm_mapping *next;
};

struct amdgpu_vm {
	struct amdgpu_device *adev;
	struct amdgpu_vm_pt *root;
	struct amdgpu_vm_mapping *mappings; /* sorted by start, never overlapping */
	struct amdgpu_vm_mapping *freed;    /* unmapped, PTEs kept until the jobs before them end */
	uint64_t tlb_seq;
	uint64_t job_seq;                   /* jobs begun in this VM */
	uint64_t *inflight;                 /* sequence numbers of those not ended */
	unsigned ninflight, cap;
};

/* ------------------------------------------------------------ table memory */

static int pt_alloc(struct amdgpu_device *adev, bool dir, struct amdgpu_vm_pt **out)
{
	struct amdgpu_vm_pt *pt = calloc(1, sizeof(*pt));
	if (!pt)
		return -ENOMEM;
	if (dir) {
		pt->children = calloc(PT_ENTRIES, sizeof(*pt->children));
		if (!pt->children) {
			free(pt);
			return -ENOMEM;
		}
	}
	struct amdgpu_pt_chunk *c = adev->pt_chunks;
	while (c && c->used == ~0ull)
		c = c->next;
	if (!c) {
		c = calloc(1, sizeof(*c));
		int r = c ? adev->hw->ops->dma_alloc(adev->hw, (size_t)CHUNK_TABLES * PT_BYTES, &c->dma) : -ENOMEM;
		if (r) {
			free(c);
			free(pt->children);
			free(pt);
			return r;
		}
		c->next = adev->pt_chunks;
		adev->pt_chunks = c;
	}
	unsigned slot = (unsigned)__builtin_ctzll(~c->used);
	c->used |= 1ull << slot;
	pt->chunk = c;
	pt->slot = slot;
	pt->cpu = (volatile uint64_t *)((char *)c->dma.cpu + (size_t)slot * PT_BYTES);
	pt->bus = c->dma.bus_addr + (uint64_t)slot * PT_BYTES;
	for (unsigned i = 0; i < PT_ENTRIES; i++)
		pt->cpu[i] = 0; /* every entry invalid */
	*out = pt;
	return 0;
}

static void pt_free(struct amdgpu_device *adev, struct amdgpu_vm_pt *pt)
{
	struct amdgpu_pt_chunk *c = pt->chunk;
	c->used &= ~(1ull << pt->slot);
	if (!c->used) {
		struct amdgpu_pt_chunk **pp = &adev->pt_chunks;
		while (*pp != c)
			pp = &(*pp)->next;
		*pp = c->next;
		adev->hw->ops->dma_free(adev->hw, &c->dma);
		free(c);
	}
	free(pt->children);
	free(pt);
}

void amdgpu_vm_manager_fini(struct amdgpu_device *adev)
{
	/* Every VM frees its tables at postclose; anything left here is a leak worth hearing about. */
	while (adev->pt_chunks) {
		struct amdgpu_pt_chunk *c = adev->pt_chunks;
		log_warn("amdgpu: page-table chunk still in use at unload (mask 0x%016llx)",
			 (unsigned long long)c->used);
		adev->pt_chunks = c->next;
		adev->hw->ops->dma_free(adev->hw, &c->dma);
		free(c);
	}
}

/* ------------------------------------------------------------ page-table updates */

/* Index of page pfn in the table of level (3 = root PDB2, 0 = PTB). */
static unsigned pt_index(uint64_t pfn, unsigned level)
{
	return (unsigned)((pfn >> (9 * level)) & (PT_ENTRIES - 1));
}

/*
 * The PTB that holds pfn, created along the way if create. NULL if there is
 * none (*skip: the pages below pfn's missing directory entry, all unmapped)
 * or, with create, -ENOMEM in *err.
 */
static struct amdgpu_vm_pt *ptb_of(struct amdgpu_vm *vm, uint64_t pfn, bool create, uint64_t *skip, int *err)
{
	struct amdgpu_vm_pt *pt = vm->root;
	for (unsigned level = AMDGPU_VM_PT_DEPTH; level > 0; level--) {
		unsigned i = pt_index(pfn, level);
		struct amdgpu_vm_pt *child = pt->children[i];
		if (!child) {
			if (!create) {
				*skip = (1ull << (9 * level)) - 1;
				return NULL;
			}
			int r = pt_alloc(vm->adev, level > 1, &child);
			if (r) {
				*err = r;
				return NULL;
			}
			pt->children[i] = child;
			pt->used++;
			/* The zeroed table must be in memory before a walker can reach it. */
			__atomic_thread_fence(__ATOMIC_RELEASE);
			pt->cpu[i] = (child->bus & PDE_ADDR_MASK) | AMDGPU_PTE_VALID | AMDGPU_PTE_SYSTEM;
		}
		pt = child;
	}
	return pt;
}

/* Frees the tables on pfn's path that no longer hold anything. */
static void prune(struct amdgpu_vm *vm, uint64_t pfn)
{
	struct amdgpu_vm_pt *path[AMDGPU_VM_PT_DEPTH + 1];
	path[AMDGPU_VM_PT_DEPTH] = vm->root;
	for (unsigned level = AMDGPU_VM_PT_DEPTH; level > 0; level--) {
		struct amdgpu_vm_pt *child = path[level]->children[pt_index(pfn, level)];
		if (!child)
			return;
		path[level - 1] = child;
	}
	for (unsigned level = 1; level <= AMDGPU_VM_PT_DEPTH; level++) {
		struct amdgpu_vm_pt *child = path[level - 1];
		if (child->used)
			return;
		unsigned i = pt_index(pfn, level);
		path[level]->cpu[i] = 0;
		path[level]->children[i] = NULL;
		path[level]->used--;
		pt_free(vm->adev, child);
	}
}

static uint64_t mapping_pte(const struct amdgpu_vm_mapping *m, uint64_t pfn)
{
	bool system;
	uint64_t addr = amdgpu_bo_gpu_addr(m->obj, m->offset + (pfn - m->start) * AMDGPU_GPU_PAGE_SIZE, &system);
	uint64_t pte = (addr & PTE_ADDR_MASK) | AMDGPU_PTE_VALID | m->pte_flags;
	if (system)
		pte |= AMDGPU_PTE_SYSTEM | AMDGPU_PTE_SNOOPED;
	return pte;
}

/* Writes the PTEs of pages [first, last] of m (or clears them if m is NULL). */
static int write_range(struct amdgpu_vm *vm, const struct amdgpu_vm_mapping *m, uint64_t first, uint64_t last)
{
	int err = 0;
	for (uint64_t pfn = first; pfn <= last; pfn++) {
		uint64_t skip = 0;
		struct amdgpu_vm_pt *ptb = ptb_of(vm, pfn, m != NULL, &skip, &err);
		if (!ptb) {
			if (err)
				return err;
			pfn |= skip; /* nothing mapped below the missing directory entry */
			continue;
		}
		unsigned i = pt_index(pfn, 0);
		bool was = ptb->cpu[i] != 0;
		uint64_t pte = m ? mapping_pte(m, pfn) : 0;
		ptb->cpu[i] = pte;
		if (pte && !was)
			ptb->used++;
		else if (!pte && was)
			ptb->used--;
		if (!pte && (i == PT_ENTRIES - 1 || pfn == last))
			prune(vm, pfn);
	}
	/* The entries must be in memory before the next job's walk (the VM flush on its ring). */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	vm->tlb_seq++;
	return 0;
}

/* ------------------------------------------------------------ the VM */

struct amdgpu_vm *amdgpu_vm_create(struct amdgpu_device *adev, int *err)
{
	struct amdgpu_vm *vm = calloc(1, sizeof(*vm));
	if (!vm) {
		*err = -ENOMEM;
		return NULL;
	}
	vm->adev = adev;
	*err = pt_alloc(adev, true, &vm->root);
	if (*err) {
		free(vm);
		return NULL;
	}
	return vm;
}

static void mapping_free(struct amdgpu_vm_mapping *m)
{
	if (m->obj)
		drm_gem_object_put(m->obj);
	free(m);
}

/* Frees a whole directory tree below pt (used at destroy: faster than per-page clearing). */
static void free_tree(struct amdgpu_device *adev, struct amdgpu_vm_pt *pt)
{
	if (pt->children)
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			if (pt->children[i])
				free_tree(adev, pt->children[i]);
	pt_free(adev, pt);
}

void amdgpu_vm_destroy(struct amdgpu_vm *vm)
{
	if (!vm)
		return;
	struct amdgpu_vm_mapping *lists[] = {vm->mappings, vm->freed};
	for (unsigned i = 0; i < 2; i++) {
		while (lists[i]) {
			struct amdgpu_vm_mapping *m = lists[i];
			lists[i] = m->next;
			mapping_free(m);
		}
	}
	free(vm->inflight);
	/* No job runs in this VM any more (the file is gone), so no walker can be on these tables. */
	free_tree(vm->adev, vm->root);
	free(vm);
}

struct amdgpu_vm *amdgpu_vm_of_file(struct drm_file *file)
{
	struct amdgpu_fpriv *fpriv = file ? file->driver_priv : NULL;
	return fpriv ? fpriv->vm : NULL;
}

uint64_t amdgpu_vm_pd_base(const struct amdgpu_vm *vm)
{
	return (vm->root->bus & PDE_ADDR_MASK) | AMDGPU_PTE_VALID | AMDGPU_PTE_SYSTEM;
}

uint32_t amdgpu_vm_context_cntl(const struct amdgpu_vm *vm)
{
	(void)vm;
	return VM_CONTEXT_CNTL__ENABLE_CONTEXT | AMDGPU_VM_PT_DEPTH << VM_CONTEXT_CNTL__PAGE_TABLE_DEPTH__SHIFT |
	       0u << VM_CONTEXT_CNTL__PAGE_TABLE_BLOCK_SIZE__SHIFT | VM_CONTEXT_CNTL__FAULT_ENABLES;
}

uint64_t amdgpu_vm_tlb_seq(const struct amdgpu_vm *vm)
{
	return vm->tlb_seq;
}

/* ------------------------------------------------------------ mappings */

/*
 * Takes pages [first, last] out of the mappings of list, splitting those that
 * reach past either end (the kernel's amdgpu_vm_bo_clear_mappings), and
 * returns the pieces taken out in *out (each with its own reference). The
 * PTEs are not touched. -ENOMEM (a split) leaves both lists consistent.
 */
static int cut(struct amdgpu_vm_mapping **list, uint64_t first, uint64_t last, struct amdgpu_vm_mapping **out)
{
	struct amdgpu_vm_mapping **pp = list, **tail_out = out;
	*out = NULL;
	while (*pp) {
		struct amdgpu_vm_mapping *m = *pp;
		if (m->start > last)
			break;
		if (m->last < first) {
			pp = &m->next;
			continue;
		}
		struct amdgpu_vm_mapping *piece = m;
		if (m->start < first || m->last > last) {
			/* Only part of m goes: a copy describes that part, m keeps the rest. */
			piece = malloc(sizeof(*piece));
			struct amdgpu_vm_mapping *rest = NULL;
			if (piece && m->start < first && m->last > last && !(rest = malloc(sizeof(*rest)))) {
				free(piece);
				piece = NULL;
			}
			if (!piece)
				return -ENOMEM;
			uint64_t lo = m->start > first ? m->start : first, hi = m->last < last ? m->last : last;
			*piece = *m;
			piece->start = lo;
			piece->last = hi;
			piece->offset = m->offset + (lo - m->start) * AMDGPU_GPU_PAGE_SIZE;
			if (piece->obj)
				drm_gem_object_get(piece->obj);
			if (rest) {
				/* The range is inside m: m keeps its head, rest takes its tail. */
				*rest = *m;
				rest->start = last + 1;
				rest->offset = m->offset + (last + 1 - m->start) * AMDGPU_GPU_PAGE_SIZE;
				if (rest->obj)
					drm_gem_object_get(rest->obj);
				m->last = first - 1;
				rest->next = m->next;
				m->next = rest;
				pp = &rest->next;
			} else if (m->start < first) {
				m->last = first - 1;
				pp = &m->next;
			} else {
				m->offset += (last + 1 - m->start) * AMDGPU_GPU_PAGE_SIZE;
				m->start = last + 1;
				pp = &m->next;
			}
		} else {
			*pp = m->next;
		}
		piece->next = NULL;
		*tail_out = piece;
		tail_out = &piece->next;
	}
	return 0;
}

/* The oldest job of this VM still running (UINT64_MAX: none). */
static uint64_t oldest_job(const struct amdgpu_vm *vm)
{
	uint64_t oldest = UINT64_MAX;
	for (unsigned i = 0; i < vm->ninflight; i++)
		if (vm->inflight[i] < oldest)
			oldest = vm->inflight[i];
	return oldest;
}

/*
 * A mapping (or part of one) that is gone from the address space. Its PTEs
 * are cleared once no job submitted before now can still use them, as the
 * kernel clears freed mappings after the VM's work; until then it keeps its
 * object alive.
 */
static void retire(struct amdgpu_vm *vm, struct amdgpu_vm_mapping *m)
{
	if (!vm->ninflight) {
		write_range(vm, NULL, m->start, m->last); /* clearing allocates nothing: cannot fail */
		mapping_free(m);
		return;
	}
	m->freed_seq = vm->job_seq;
	m->next = vm->freed;
	vm->freed = m;
}

static void retire_list(struct amdgpu_vm *vm, struct amdgpu_vm_mapping *list)
{
	while (list) {
		struct amdgpu_vm_mapping *next = list->next;
		retire(vm, list);
		list = next;
	}
}

/* Clears the freed mappings no running job can use any more. */
static void clear_freed(struct amdgpu_vm *vm)
{
	uint64_t oldest = oldest_job(vm);
	struct amdgpu_vm_mapping **pp = &vm->freed;
	while (*pp) {
		struct amdgpu_vm_mapping *m = *pp;
		if (m->freed_seq >= oldest) {
			pp = &m->next;
			continue;
		}
		*pp = m->next;
		write_range(vm, NULL, m->start, m->last);
		mapping_free(m);
	}
}

uint64_t amdgpu_vm_job_begin(struct amdgpu_vm *vm)
{
	if (vm->ninflight == vm->cap) {
		unsigned cap = vm->cap ? vm->cap * 2 : 16;
		uint64_t *p = realloc(vm->inflight, cap * sizeof(*p));
		if (!p)
			return 0;
		vm->inflight = p;
		vm->cap = cap;
	}
	vm->inflight[vm->ninflight++] = ++vm->job_seq;
	return vm->job_seq;
}

void amdgpu_vm_job_end(struct amdgpu_vm *vm, uint64_t seq)
{
	for (unsigned i = 0; seq && i < vm->ninflight; i++) {
		if (vm->inflight[i] == seq) {
			vm->inflight[i] = vm->inflight[--vm->ninflight];
			clear_freed(vm);
			return;
		}
	}
}

/* CLEAR: pages [first, last] leave every mapping. */
static int clear_range(struct amdgpu_vm *vm, uint64_t first, uint64_t last)
{
	struct amdgpu_vm_mapping *gone;
	int r = cut(&vm->mappings, first, last, &gone);
	retire_list(vm, gone);
	return r;
}

static bool overlaps(const struct amdgpu_vm *vm, uint64_t first, uint64_t last)
{
	for (const struct amdgpu_vm_mapping *m = vm->mappings; m && m->start <= last; m = m->next)
		if (m->last >= first)
			return true;
	return false;
}

/* Inserts a mapping of obj (a new reference; NULL for PRT) and writes its PTEs. */
static int insert(struct amdgpu_vm *vm, uint64_t first, uint64_t last, struct drm_gem_object *obj, uint64_t offset,
		  uint64_t pte_flags)
{
	/* Freed mappings still waiting for jobs lose these pages: the new PTEs replace theirs. */
	struct amdgpu_vm_mapping *replaced;
	int r = cut(&vm->freed, first, last, &replaced);
	while (replaced) {
		struct amdgpu_vm_mapping *next = replaced->next;
		mapping_free(replaced);
		replaced = next;
	}
	if (r)
		return r;
	struct amdgpu_vm_mapping *m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->start = first;
	m->last = last;
	m->offset = offset;
	m->pte_flags = pte_flags;
	m->obj = obj;
	if (obj)
		drm_gem_object_get(obj);
	/*
	 * A PRT range is only recorded: its PTEs would be invalid entries with the
	 * PRT bit, which the model (without PRT support) faults on exactly as on
	 * empty ones, and writing them would let one ioctl fill 128 TiB of tables.
	 */
	r = obj ? write_range(vm, m, first, last) : 0;
	if (r) {
		write_range(vm, NULL, first, last); /* undo the part that was written */
		mapping_free(m);
		return r;
	}
	struct amdgpu_vm_mapping **pp = &vm->mappings;
	while (*pp && (*pp)->start < first)
		pp = &(*pp)->next;
	m->next = *pp;
	*pp = m;
	return 0;
}

/* UNMAP: the mapping of obj that starts at first (the kernel's bo_va lookup). */
static int unmap(struct amdgpu_vm *vm, struct drm_gem_object *obj, uint64_t first)
{
	for (struct amdgpu_vm_mapping **pp = &vm->mappings; *pp; pp = &(*pp)->next) {
		struct amdgpu_vm_mapping *m = *pp;
		if (m->start > first)
			break;
		if (m->start == first && m->obj == obj) {
			*pp = m->next;
			retire(vm, m);
			return 0;
		}
	}
	return -ENOENT;
}

void amdgpu_vm_bo_close(struct drm_file *file, struct drm_gem_object *obj)
{
	struct amdgpu_vm *vm = amdgpu_vm_of_file(file);
	bool mapped = false;
	for (struct amdgpu_vm_mapping *m = vm ? vm->mappings : NULL; m && !mapped; m = m->next)
		mapped = m->obj == obj;
	/* Mappings belong to the file's hold on the BO (the kernel's bo_va): they go with its last handle. */
	if (!mapped || drm_gem_file_has(file, obj))
		return;
	struct amdgpu_vm_mapping **pp = &vm->mappings;
	while (*pp) {
		struct amdgpu_vm_mapping *m = *pp;
		if (m->obj != obj) {
			pp = &m->next;
			continue;
		}
		*pp = m->next;
		retire(vm, m);
	}
}

/* ------------------------------------------------------------ GEM_VA */

#define VALID_VA_FLAGS \
	(AMDGPU_VM_DELAY_UPDATE | AMDGPU_VM_PAGE_READABLE | AMDGPU_VM_PAGE_WRITEABLE | AMDGPU_VM_PAGE_EXECUTABLE | \
	 AMDGPU_VM_MTYPE_MASK)
#define PRT_VA_FLAGS (AMDGPU_VM_DELAY_UPDATE | AMDGPU_VM_PAGE_PRT)

/* AMDGPU_VM_PAGE_* -> GFX9 PTE bits (gmc_v9's MTYPE choice: unknown and default are NC). */
static uint64_t va_pte_flags(uint32_t flags)
{
	uint64_t pte = 0;
	if (flags & AMDGPU_VM_PAGE_READABLE)
		pte |= AMDGPU_PTE_READABLE;
	if (flags & AMDGPU_VM_PAGE_WRITEABLE)
		pte |= AMDGPU_PTE_WRITEABLE;
	if (flags & AMDGPU_VM_PAGE_EXECUTABLE)
		pte |= AMDGPU_PTE_EXECUTABLE;
	if (flags & AMDGPU_VM_PAGE_PRT)
		pte |= AMDGPU_PTE_PRT; /* never VALID: on PRT hardware the hub answers zeros without a fault */
	uint64_t mtype = 0; /* NC */
	switch (flags & AMDGPU_VM_MTYPE_MASK) {
	case AMDGPU_VM_MTYPE_WC:
	case AMDGPU_VM_MTYPE_RW:
		mtype = 1;
		break;
	case AMDGPU_VM_MTYPE_CC:
		mtype = 2;
		break;
	case AMDGPU_VM_MTYPE_UC:
		mtype = 3;
		break;
	default:
		break;
	}
	return pte | mtype << AMDGPU_PTE_MTYPE_SHIFT;
}

/* The kernel's amdgpu_vm_verify_parameters: page-aligned, non-empty, inside the object and the VM. */
static int verify(uint64_t va, uint64_t offset, uint64_t size, struct drm_gem_object *obj)
{
	const uint64_t mask = AMDGPU_GPU_PAGE_SIZE - 1;
	if ((va & mask) || (offset & mask) || (size & mask))
		return -EINVAL;
	if (va + size <= va || offset + size <= offset)
		return -EINVAL;
	if (obj && offset + size > obj->size)
		return -EINVAL;
	if ((va + size - 1) / AMDGPU_GPU_PAGE_SIZE >= AMDGPU_VM_MAX_PFN)
		return -EINVAL;
	return 0;
}

int amdgpu_gem_va_ioctl(struct drm_device *dev, void *data, struct drm_file *file, struct drm_call *call)
{
	struct drm_amdgpu_gem_va *args = data;
	struct amdgpu_vm *vm = amdgpu_vm_of_file(file);
	(void)dev;
	(void)call;
	if (!vm)
		return -EINVAL;

	uint64_t va = args->va_address, size = args->map_size;
	if (va < AMDGPU_VA_RESERVED_SIZE)
		return -EINVAL;
	if (va >= AMDGPU_GMC_HOLE_START && va < AMDGPU_GMC_HOLE_END)
		return -EINVAL;
	va &= AMDGPU_GMC_HOLE_MASK;
	if (size > AMDGPU_VM_SIZE || va + size > AMDGPU_VM_SIZE)
		return -EINVAL;
	if ((args->flags & ~VALID_VA_FLAGS) && (args->flags & ~PRT_VA_FLAGS))
		return -EINVAL;
	switch (args->operation) {
	case AMDGPU_VA_OP_MAP:
	case AMDGPU_VA_OP_UNMAP:
	case AMDGPU_VA_OP_CLEAR:
	case AMDGPU_VA_OP_REPLACE:
		break;
	default:
		return -EINVAL;
	}

	struct drm_gem_object *obj = NULL;
	bool prt = args->flags & AMDGPU_VM_PAGE_PRT;
	if (args->operation != AMDGPU_VA_OP_CLEAR && !prt) {
		obj = drm_gem_object_lookup(file, args->handle);
		if (!obj)
			return -ENOENT;
	}

	uint64_t first = va / AMDGPU_GPU_PAGE_SIZE, last = first + size / AMDGPU_GPU_PAGE_SIZE - 1;
	uint64_t pte_flags = va_pte_flags(args->flags);
	int r;
	switch (args->operation) {
	case AMDGPU_VA_OP_MAP:
		r = verify(va, args->offset_in_bo, size, obj);
		if (!r && overlaps(vm, first, last))
			r = -EINVAL;
		if (!r)
			r = insert(vm, first, last, obj, args->offset_in_bo, pte_flags);
		break;
	case AMDGPU_VA_OP_UNMAP:
		r = unmap(vm, obj, first);
		break;
	case AMDGPU_VA_OP_CLEAR:
		r = verify(va, 0, size, NULL);
		if (!r)
			r = clear_range(vm, first, last);
		break;
	default: /* REPLACE */
		r = verify(va, args->offset_in_bo, size, obj);
		if (!r)
			r = clear_range(vm, first, last);
		if (!r)
			r = insert(vm, first, last, obj, args->offset_in_bo, pte_flags);
		break;
	}
	if (obj)
		drm_gem_object_put(obj);
	return r;
}
