/*
 * Per-VM 4-level PPGTT (gen8 48-bit): PML4 [47:39] → PDP [38:30] → PD [29:21] → PT [20:12],
 * 512 entries of 8 bytes at every level, entry = bus address | PRESENT | RW (GPU-MODELS.md §9).
 * Gen9 honours a clear RW bit on a PTE: that is how read-only bindings are made.
 *
 * Tables come from DMA memory the VM allocates in chunks (one allocation serves many tables);
 * a shadow tree of CPU pointers mirrors them so walks never translate bus addresses back.
 * Tables stay until the VM goes: the hardware may walk a VM as long as a context uses it, and
 * contexts hold a reference. Bindings keep a reference to their object until unbound.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "i915.h"
#include "redox-drm/gem.h"
#include "redox-drm/hw.h"
#include "redox-drm/log.h"

#define PAGE 4096ull
#define PTE_PRESENT 0x1ull
#define PTE_RW 0x2ull
#define ENTRIES 512u
#define CHUNK_TABLES 16u
/* VA 0 stays unused so a zero pointer in a command never names a binding. */
#define VA_START (64ull << 10)

struct i915_pt {
	uint64_t *cpu;
	uint64_t bus;
	struct i915_pt **child; /* NULL for the last level */
};

struct i915_pt_chunk {
	struct hw_dma dma;
	unsigned used;
	struct i915_pt_chunk *next;
};

struct i915_pt_pool {
	struct i915_pt_chunk *chunks;
};

struct i915_vm_node {
	uint64_t start, size;
	struct drm_gem_object *obj; /* NULL: reserved by i915_vm_alloc_va, not yet bound */
	uint64_t offset;            /* into obj */
	unsigned flags;
	struct i915_vm_node *next;
};

static struct i915_pt *pt_alloc(struct i915_address_space *vm, bool leaf)
{
	struct hw_device *hw = vm->i915->hw;
	struct i915_pt_chunk *c = vm->pool->chunks;
	if (!c || c->used == CHUNK_TABLES) {
		c = calloc(1, sizeof(*c));
		if (!c)
			return NULL;
		if (hw->ops->dma_alloc(hw, CHUNK_TABLES * PAGE, &c->dma)) {
			free(c);
			return NULL;
		}
		memset(c->dma.cpu, 0, CHUNK_TABLES * PAGE);
		c->next = vm->pool->chunks;
		vm->pool->chunks = c;
	}
	struct i915_pt *pt = calloc(1, sizeof(*pt));
	if (!pt)
		return NULL;
	if (!leaf && !(pt->child = calloc(ENTRIES, sizeof(*pt->child)))) {
		free(pt);
		return NULL;
	}
	pt->cpu = (uint64_t *)((uint8_t *)c->dma.cpu + c->used * PAGE);
	pt->bus = c->dma.bus_addr + c->used * PAGE;
	c->used++;
	return pt;
}

static void pt_free(struct i915_pt *pt)
{
	if (!pt)
		return;
	if (pt->child)
		for (unsigned i = 0; i < ENTRIES; i++)
			pt_free(pt->child[i]);
	free(pt->child);
	free(pt);
}

static void set_entry(struct i915_pt *pt, unsigned idx, uint64_t v)
{
	/* The engines walk these tables concurrently: each entry is one store. */
	__atomic_store_n(&pt->cpu[idx], v, __ATOMIC_RELEASE);
}

static unsigned level_index(uint64_t va, int level)
{
	return (unsigned)(va >> (12 + 9 * level)) & (ENTRIES - 1);
}

/* The page table for va, created on the way down if create. */
static struct i915_pt *walk(struct i915_address_space *vm, uint64_t va, bool create)
{
	struct i915_pt *pt = vm->pml4;
	for (int level = 3; level > 0; level--) {
		unsigned idx = level_index(va, level);
		if (!pt->child[idx]) {
			if (!create)
				return NULL;
			struct i915_pt *n = pt_alloc(vm, level == 1);
			if (!n)
				return NULL;
			pt->child[idx] = n;
			/* Directories are always writable: read-only is decided by the PTE. */
			set_entry(pt, idx, n->bus | PTE_PRESENT | PTE_RW);
		}
		pt = pt->child[idx];
	}
	return pt;
}

struct i915_address_space *i915_ppgtt_create(struct i915_device *i915)
{
	struct i915_address_space *vm = calloc(1, sizeof(*vm));
	if (!vm)
		return NULL;
	vm->refcount = 1;
	vm->i915 = i915;
	vm->pool = calloc(1, sizeof(*vm->pool));
	if (vm->pool)
		vm->pml4 = pt_alloc(vm, false);
	if (!vm->pml4) {
		vm->refcount = 1;
		i915_vm_put(vm);
		return NULL;
	}
	return vm;
}

struct i915_address_space *i915_vm_get(struct i915_address_space *vm)
{
	if (vm)
		vm->refcount++;
	return vm;
}

void i915_vm_put(struct i915_address_space *vm)
{
	if (!vm || --vm->refcount)
		return;
	while (vm->nodes) {
		struct i915_vm_node *n = vm->nodes;
		vm->nodes = n->next;
		if (n->obj)
			drm_gem_object_put(n->obj);
		free(n);
	}
	pt_free(vm->pml4);
	if (vm->pool) {
		while (vm->pool->chunks) {
			struct i915_pt_chunk *c = vm->pool->chunks;
			vm->pool->chunks = c->next;
			vm->i915->hw->ops->dma_free(vm->i915->hw, &c->dma);
			free(c);
		}
		free(vm->pool);
	}
	free(vm);
}

uint64_t i915_vm_pml4(const struct i915_address_space *vm)
{
	return vm->pml4->bus;
}

/* Writes the PTEs of [va, va+size): bus + offset per page, or not present when clear. */
static int write_ptes(struct i915_address_space *vm, uint64_t va, uint64_t size, uint64_t bus, bool clear,
		      bool read_only)
{
	for (uint64_t off = 0; off < size;) {
		uint64_t at = va + off;
		struct i915_pt *pt = walk(vm, at, !clear);
		if (!pt) {
			if (!clear)
				return -ENOMEM;
			/* Nothing mapped under this table: skip to the next one. */
			off = ((at | ((PAGE << 9) - 1)) + 1) - va;
			continue;
		}
		for (unsigned idx = level_index(at, 0); idx < ENTRIES && off < size; idx++, off += PAGE)
			set_entry(pt, idx, clear ? 0 : (bus + off) | PTE_PRESENT | (read_only ? 0 : PTE_RW));
	}
	return 0;
}

static bool overlaps(const struct i915_vm_node *n, uint64_t va, uint64_t size)
{
	return n->start < va + size && va < n->start + n->size;
}

static bool aligned(uint64_t v)
{
	return !(v & (PAGE - 1));
}

int i915_vm_bind(struct i915_address_space *vm, uint64_t va, struct drm_gem_object *obj, uint64_t offset,
		 uint64_t size, unsigned flags)
{
	if (!vm || !obj || !size || !aligned(va) || !aligned(size) || !aligned(offset) || (flags & ~I915_VM_READ_ONLY))
		return -EINVAL;
	if (va >= I915_VM_TOTAL || size > I915_VM_TOTAL - va || offset > obj->size || size > obj->size - offset)
		return -EINVAL;
	if (!obj->dma_addr)
		return -EINVAL; /* no device memory behind it */

	struct i915_vm_node **link = &vm->nodes, *reserved = NULL;
	for (; *link && (*link)->start < va + size; link = &(*link)->next) {
		if (!overlaps(*link, va, size))
			continue;
		if (!(*link)->obj && (*link)->start == va && (*link)->size == size && !reserved) {
			reserved = *link;
			continue;
		}
		return -ENOSPC;
	}
	struct i915_vm_node *n = reserved;
	if (!n) {
		n = calloc(1, sizeof(*n));
		if (!n)
			return -ENOMEM;
	}
	int ret = write_ptes(vm, va, size, obj->dma_addr + offset, false, flags & I915_VM_READ_ONLY);
	if (ret) {
		write_ptes(vm, va, size, 0, true, false);
		if (!reserved)
			free(n);
		return ret;
	}
	drm_gem_object_get(obj);
	n->start = va;
	n->size = size;
	n->obj = obj;
	n->offset = offset;
	n->flags = flags;
	if (!reserved) {
		/* Sorted by start: after every node that begins below va. */
		link = &vm->nodes;
		while (*link && (*link)->start < va)
			link = &(*link)->next;
		n->next = *link;
		*link = n;
	}
	vm->bound_bytes += size;
	return 0;
}

void i915_vm_unbind(struct i915_address_space *vm, uint64_t va, uint64_t size)
{
	if (!vm || !size || va >= I915_VM_TOTAL)
		return;
	if (size > I915_VM_TOTAL - va)
		size = I915_VM_TOTAL - va;
	uint64_t end = va + size;
	for (struct i915_vm_node **link = &vm->nodes; *link;) {
		struct i915_vm_node *n = *link;
		if (n->start >= end)
			break;
		if (!overlaps(n, va, size)) {
			link = &n->next;
			continue;
		}
		uint64_t cut_lo = n->start > va ? n->start : va;
		uint64_t cut_hi = n->start + n->size < end ? n->start + n->size : end;
		if (n->obj) {
			write_ptes(vm, cut_lo, cut_hi - cut_lo, 0, true, false);
			vm->bound_bytes -= cut_hi - cut_lo;
		}
		/* What stays of n: a head below the cut and a tail above it. */
		uint64_t n_end = n->start + n->size;
		if (cut_hi < n_end) {
			struct i915_vm_node *tail = calloc(1, sizeof(*tail));
			if (tail) {
				*tail = *n;
				tail->start = cut_hi;
				tail->size = n_end - cut_hi;
				tail->offset = n->offset + (cut_hi - n->start);
				if (tail->obj)
					drm_gem_object_get(tail->obj);
				n->next = tail;
			} else if (n->obj) {
				/* Out of memory: give up the rest of the binding rather than lose track of it. */
				write_ptes(vm, cut_hi, n_end - cut_hi, 0, true, false);
				vm->bound_bytes -= n_end - cut_hi;
			}
		}
		if (cut_lo > n->start) {
			n->size = cut_lo - n->start;
			link = &n->next;
			continue;
		}
		*link = n->next;
		if (n->obj)
			drm_gem_object_put(n->obj);
		free(n);
	}
}

int i915_vm_alloc_va(struct i915_address_space *vm, uint64_t size, uint64_t align, uint64_t *va)
{
	if (!vm || !size || !aligned(size) || size > I915_VM_TOTAL || (align & (align - 1)))
		return -EINVAL;
	if (align < PAGE)
		align = PAGE;
	uint64_t cursor = VA_START;
	struct i915_vm_node **link = &vm->nodes;
	for (;; link = &(*link)->next) {
		uint64_t at = (cursor + align - 1) & ~(align - 1);
		uint64_t limit = *link ? (*link)->start : I915_VM_TOTAL;
		if (at >= cursor && at <= limit && size <= limit - at) {
			struct i915_vm_node *n = calloc(1, sizeof(*n));
			if (!n)
				return -ENOMEM;
			n->start = at;
			n->size = size;
			n->next = *link;
			*link = n;
			*va = at;
			return 0;
		}
		if (!*link)
			return -ENOSPC;
		uint64_t e = (*link)->start + (*link)->size;
		if (e > cursor)
			cursor = e;
	}
}

int i915_vm_lookup(struct i915_address_space *vm, uint64_t va, uint64_t *bus, bool *writable)
{
	if (!vm || va >= I915_VM_TOTAL)
		return -ENOENT;
	struct i915_pt *pt = walk(vm, va, false);
	if (!pt)
		return -ENOENT;
	uint64_t pte = __atomic_load_n(&pt->cpu[level_index(va, 0)], __ATOMIC_ACQUIRE);
	if (!(pte & PTE_PRESENT))
		return -ENOENT;
	*bus = (pte & 0x0000FFFFFFFFF000ull) | (va & (PAGE - 1));
	if (writable)
		*writable = pte & PTE_RW;
	return 0;
}
