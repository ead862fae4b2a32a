/*
 * amdgpu-nop: a no-op GFX IB submitted and waited for (CS + WAIT_CS through
 * libdrm_amdgpu, the interposer and the daemon: parse, schedule, VMID, ring,
 * the model's CP, the EOP interrupt, the parked wait answered), against raw
 * SOCK_SEQPACKET round trips of the CS request's size between two processes,
 * measured alternately in the same run. ratio = one submit-and-wait cycle
 * over one raw round trip (the cycle itself is two ioctls).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <amdgpu.h>
#include <amdgpu_drm.h>

#include "bench.h"
#include "redox-drm/wire.h"

#define BATCHES 11
#define PER_BATCH 500
#define PM4_NOP 0xFFFF1000u

struct nop {
	amdgpu_context_handle ctx;
	amdgpu_bo_list_handle list;
	struct amdgpu_cs_ib_info ib;
};

static double cycles(void *ctx, unsigned count)
{
	struct nop *n = ctx;
	uint64_t t0 = bench_now_ns();
	for (unsigned i = 0; i < count; i++) {
		struct amdgpu_cs_request req = {.ip_type = AMDGPU_HW_IP_GFX, .resources = n->list, .number_of_ibs = 1,
						.ibs = &n->ib};
		if (amdgpu_cs_submit(n->ctx, 0, &req, 1))
			return -1;
		struct amdgpu_cs_fence f = {.context = n->ctx, .ip_type = AMDGPU_HW_IP_GFX, .fence = req.seq_no};
		uint32_t expired = 0;
		if (amdgpu_cs_query_fence_status(&f, AMDGPU_TIMEOUT_INFINITE, 0, &expired) || !expired)
			return -1;
	}
	return (double)(bench_now_ns() - t0) / count;
}

int bench_amdgpu_nop(int argc, char **argv)
{
	const char *node = argc > 1 ? argv[1] : "/dev/dri/renderD128";
	int fd = bench_open_node(node);
	if (fd < 0)
		return 1;
	uint32_t major, minor;
	amdgpu_device_handle dev;
	amdgpu_bo_handle bo;
	amdgpu_va_handle va_handle;
	uint64_t va;
	uint32_t *cpu;
	struct nop n = {0};
	struct amdgpu_bo_alloc_request breq = {.alloc_size = 4096, .phys_alignment = 4096,
					       .preferred_heap = AMDGPU_GEM_DOMAIN_GTT};
	if (amdgpu_device_initialize(fd, &major, &minor, &dev) || amdgpu_cs_ctx_create(dev, &n.ctx) ||
	    amdgpu_bo_alloc(dev, &breq, &bo) ||
	    amdgpu_va_range_alloc(dev, amdgpu_gpu_va_range_general, 4096, 4096, 0, &va, &va_handle, 0) ||
	    amdgpu_bo_va_op(bo, 0, 4096, va, 0, AMDGPU_VA_OP_MAP) || amdgpu_bo_cpu_map(bo, (void **)&cpu) ||
	    amdgpu_bo_list_create(dev, 1, &bo, NULL, &n.list)) {
		fprintf(stderr, "redox-drm-bench: amdgpu setup failed on %s\n", node);
		return 1;
	}
	for (int i = 0; i < 8; i++)
		cpu[i] = PM4_NOP;
	n.ib = (struct amdgpu_cs_ib_info){.ib_mc_address = va, .size = 8};

	/* The CS request on the wire: header, union drm_amdgpu_cs, one chunk pointer, two chunks and their data. */
	size_t req_len = sizeof(struct rdrm_wire_hdr) + rdrm_wire_align(sizeof(union drm_amdgpu_cs)) +
			 rdrm_wire_align(2 * sizeof(uint64_t)) + 2 * rdrm_wire_align(sizeof(struct drm_amdgpu_cs_chunk)) +
			 rdrm_wire_align(sizeof(struct drm_amdgpu_cs_chunk_ib)) +
			 rdrm_wire_align(sizeof(struct drm_amdgpu_cs_chunk_fence));
	size_t reply_len = sizeof(struct rdrm_wire_hdr) + rdrm_wire_align(sizeof(union drm_amdgpu_cs));
	struct raw_peer peer;
	if (raw_peer_start(&peer, req_len, reply_len) < 0)
		return 1;
	printf("amdgpu-nop on %s: %d batches of %d no-op GFX IBs (submit + wait), medians\n", node, BATCHES,
	       PER_BATCH);
	struct bench_vs_raw res;
	int failed = bench_vs_raw_run(&peer, cycles, &n, BATCHES, PER_BATCH, &res);
	raw_peer_stop(&peer);
	if (failed) {
		fprintf(stderr, "redox-drm-bench: submission or round trip failed\n");
		return 1;
	}
	printf("submit+wait %8.0f ns (%.0f/s)\n", res.cycle, 1e9 / res.cycle);
	bench_vs_raw_print_raw(&res);
	printf(" (request %zu B, reply %zu B)\n", req_len, reply_len);
	printf("per ioctl (2 per cycle) %.3f x raw\n", res.cycle / 2 / res.raw);
	printf("ratio=%.3f\n", res.cycle / res.raw);

	amdgpu_bo_list_destroy(n.list);
	amdgpu_bo_cpu_unmap(bo);
	amdgpu_bo_va_op(bo, 0, 4096, va, 0, AMDGPU_VA_OP_UNMAP);
	amdgpu_va_range_free(va_handle);
	amdgpu_bo_free(bo);
	amdgpu_cs_ctx_free(n.ctx);
	amdgpu_device_deinitialize(dev);
	close(fd);
	return 0;
}
