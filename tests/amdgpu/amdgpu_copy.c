/*
 * An unmodified libdrm_amdgpu client doing what amdgpu_stress does and more,
 * checking the bytes: BOs in GTT and VRAM mapped in its VM with
 * amdgpu_bo_va_op, copies with SDMA COPY_LINEAR (both SDMA rings) and GFX
 * DMA_DATA submitted with amdgpu_cs_submit and a BO list, waited for with
 * amdgpu_cs_query_fence_status (WAIT_CS, parked in the daemon), then
 * WAIT_FENCES, a syncobj out-fence exported as a sync_file, and a context's
 * reset state. Runs under the launcher: every call crosses the interposer.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amdgpu.h>
#include <amdgpu_drm.h>
#include <xf86drm.h>

#define CHECK(cond, what) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "amdgpu_copy: FAILED: %s (%s:%d)\n", what, __FILE__, __LINE__); \
			exit(1); \
		} \
	} while (0)

#define CHECK_R(expr, what) \
	do { \
		int r_ = (expr); \
		if (r_) { \
			fprintf(stderr, "amdgpu_copy: FAILED: %s = %d (%s:%d)\n", what, r_, __FILE__, __LINE__); \
			exit(1); \
		} \
	} while (0)

#define PACKET3(op, count) (0xC0000000u | ((uint32_t)(count)&0x3FFFu) << 16 | (uint32_t)(op) << 8)
#define PM4_NOP 0xFFFF1000u
#define PKT3_DMA_DATA 0x50u
#define SDMA_COPY_LINEAR 0x00000001u
#define SDMA_NOP 0u

#define SIZE (1u << 20)

struct buf {
	amdgpu_bo_handle bo;
	amdgpu_va_handle va_handle;
	uint64_t va;
	uint8_t *cpu;
};

static struct buf buf_new(amdgpu_device_handle dev, uint32_t domain, uint64_t size)
{
	struct buf b;
	struct amdgpu_bo_alloc_request req = {.alloc_size = size, .phys_alignment = 4096, .preferred_heap = domain,
					      .flags = AMDGPU_GEM_CREATE_CPU_ACCESS_REQUIRED};
	CHECK_R(amdgpu_bo_alloc(dev, &req, &b.bo), "amdgpu_bo_alloc");
	CHECK_R(amdgpu_va_range_alloc(dev, amdgpu_gpu_va_range_general, size, 4096, 0, &b.va, &b.va_handle, 0),
		"amdgpu_va_range_alloc");
	CHECK_R(amdgpu_bo_va_op(b.bo, 0, size, b.va, 0, AMDGPU_VA_OP_MAP), "amdgpu_bo_va_op MAP");
	CHECK_R(amdgpu_bo_cpu_map(b.bo, (void **)&b.cpu), "amdgpu_bo_cpu_map");
	return b;
}

static void buf_free(struct buf *b, uint64_t size)
{
	amdgpu_bo_cpu_unmap(b->bo);
	CHECK_R(amdgpu_bo_va_op(b->bo, 0, size, b->va, 0, AMDGPU_VA_OP_UNMAP), "amdgpu_bo_va_op UNMAP");
	amdgpu_va_range_free(b->va_handle);
	amdgpu_bo_free(b->bo);
}

/* One submission of ndw dwords at ib->va + off on (ip, ring), with every buffer in its BO list. */
static uint64_t submit(amdgpu_device_handle dev, amdgpu_context_handle ctx, struct buf *ib, unsigned off,
		       unsigned ndw, uint32_t ip, uint32_t ring, amdgpu_bo_handle *bos, unsigned nbos)
{
	amdgpu_bo_list_handle list;
	CHECK_R(amdgpu_bo_list_create(dev, nbos, bos, NULL, &list), "amdgpu_bo_list_create");
	struct amdgpu_cs_ib_info info = {.ib_mc_address = ib->va + off * 4, .size = ndw};
	struct amdgpu_cs_request req = {.ip_type = ip, .ring = ring, .resources = list, .number_of_ibs = 1,
					.ibs = &info};
	CHECK_R(amdgpu_cs_submit(ctx, 0, &req, 1), "amdgpu_cs_submit");
	CHECK_R(amdgpu_bo_list_destroy(list), "amdgpu_bo_list_destroy");
	return req.seq_no;
}

static void wait_seq(amdgpu_context_handle ctx, uint32_t ip, uint32_t ring, uint64_t seq)
{
	struct amdgpu_cs_fence f = {.context = ctx, .ip_type = ip, .ring = ring, .fence = seq};
	uint32_t expired = 0;
	CHECK_R(amdgpu_cs_query_fence_status(&f, AMDGPU_TIMEOUT_INFINITE, 0, &expired), "query_fence_status");
	CHECK(expired, "the submission completed");
}

static unsigned sdma_copy(uint32_t *p, uint64_t src, uint64_t dst, uint64_t size)
{
	unsigned k = 0;
	/* COPY_LINEAR moves up to 4 MiB - 1 per packet; amdgpu_stress uses 256 KiB pieces. */
	for (uint64_t done = 0; done < size; done += 0x40000) {
		uint64_t n = size - done < 0x40000 ? size - done : 0x40000;
		p[k++] = SDMA_COPY_LINEAR;
		p[k++] = (uint32_t)(n - 1);
		p[k++] = 0;
		p[k++] = (uint32_t)(src + done);
		p[k++] = (uint32_t)((src + done) >> 32);
		p[k++] = (uint32_t)(dst + done);
		p[k++] = (uint32_t)((dst + done) >> 32);
	}
	while (k % 8)
		p[k++] = SDMA_NOP;
	return k;
}

static unsigned gfx_copy(uint32_t *p, uint64_t src, uint64_t dst, uint64_t size)
{
	unsigned k = 0;
	for (uint64_t done = 0; done < size; done += 0x100000) {
		uint64_t n = size - done < 0x100000 ? size - done : 0x100000;
		p[k++] = PACKET3(PKT3_DMA_DATA, 5);
		p[k++] = 1u << 31; /* CP_SYNC, memory to memory */
		p[k++] = (uint32_t)(src + done);
		p[k++] = (uint32_t)((src + done) >> 32);
		p[k++] = (uint32_t)(dst + done);
		p[k++] = (uint32_t)((dst + done) >> 32);
		p[k++] = (uint32_t)n;
	}
	while (k % 8)
		p[k++] = PM4_NOP;
	return k;
}

/* Signals timeline point 1 of a syncobj from another thread, a while after the CS that waits for it. */
struct signaller {
	int fd;
	uint32_t syncobj;
};

static void *signal_later(void *data)
{
	struct signaller *s = data;
	usleep(200 * 1000);
	uint64_t point = 1;
	if (drmSyncobjTimelineSignal(s->fd, &s->syncobj, &point, 1))
		fprintf(stderr, "amdgpu_copy: timeline signal failed\n");
	return NULL;
}

/*
 * A CS whose SYNCOBJ_TIMELINE_WAIT chunk names a point not submitted yet,
 * with WAIT_FOR_SUBMIT: the daemon parks the CS until another thread adds
 * the point, then runs it; its SYNCOBJ_TIMELINE_SIGNAL point follows the job.
 */
static void wait_for_submit(int fd, amdgpu_device_handle dev, amdgpu_context_handle ctx, struct buf *ib,
			    unsigned off, unsigned ndw, struct buf *dst, struct buf *src)
{
	uint32_t in, out;
	CHECK_R(drmSyncobjCreate(fd, 0, &in), "drmSyncobjCreate");
	CHECK_R(drmSyncobjCreate(fd, 0, &out), "drmSyncobjCreate");
	amdgpu_bo_handle bos[3] = {ib->bo, src->bo, dst->bo};
	uint32_t list;
	struct drm_amdgpu_bo_list_entry ents[3];
	for (int i = 0; i < 3; i++)
		ents[i] = (struct drm_amdgpu_bo_list_entry){.bo_handle = 0};
	uint32_t kms;
	for (int i = 0; i < 3; i++) {
		CHECK_R(amdgpu_bo_export(bos[i], amdgpu_bo_handle_type_kms, &kms), "amdgpu_bo_export");
		ents[i].bo_handle = kms;
	}
	CHECK_R(amdgpu_bo_list_create_raw(dev, 3, ents, &list), "amdgpu_bo_list_create_raw");
	struct drm_amdgpu_cs_chunk_ib ibc = {.va_start = ib->va + off * 4, .ib_bytes = ndw * 4,
					     .ip_type = AMDGPU_HW_IP_DMA};
	struct drm_amdgpu_cs_chunk_syncobj w = {.handle = in, .flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
					       .point = 1};
	struct drm_amdgpu_cs_chunk_syncobj sig = {.handle = out, .point = 5};
	struct drm_amdgpu_cs_chunk chunks[3] = {
		{AMDGPU_CHUNK_ID_IB, sizeof(ibc) / 4, (uintptr_t)&ibc},
		{AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_WAIT, sizeof(w) / 4, (uintptr_t)&w},
		{AMDGPU_CHUNK_ID_SYNCOBJ_TIMELINE_SIGNAL, sizeof(sig) / 4, (uintptr_t)&sig},
	};
	memset(dst->cpu, 0, SIZE);
	struct signaller sg = {.fd = fd, .syncobj = in};
	pthread_t t;
	CHECK(pthread_create(&t, NULL, signal_later, &sg) == 0, "pthread_create");
	uint64_t seq = 0;
	CHECK_R(amdgpu_cs_submit_raw2(dev, ctx, list, 3, chunks, &seq), "CS waiting for a submission");
	pthread_join(t, NULL);
	uint64_t point = 5;
	CHECK_R(drmSyncobjTimelineWait(fd, &out, &point, 1, INT64_MAX, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_ALL, NULL),
		"timeline point of the job");
	CHECK(memcmp(dst->cpu, src->cpu, SIZE) == 0, "the job ran after its in-point");
	/* Without WAIT_FOR_SUBMIT, a point nobody added is EINVAL at once. */
	w.flags = 0;
	w.point = 9;
	CHECK(amdgpu_cs_submit_raw2(dev, ctx, list, 3, chunks, &seq) == -EINVAL, "unsubmitted point is EINVAL");
	amdgpu_bo_list_destroy_raw(dev, list);
	drmSyncobjDestroy(fd, in);
	drmSyncobjDestroy(fd, out);
}

int main(void)
{
	int fd = open("/dev/dri/renderD128", O_RDWR | O_CLOEXEC);
	CHECK(fd >= 0, "open renderD128");
	uint32_t major, minor;
	amdgpu_device_handle dev;
	CHECK_R(amdgpu_device_initialize(fd, &major, &minor, &dev), "amdgpu_device_initialize");
	struct drm_amdgpu_info_hw_ip ip;
	CHECK_R(amdgpu_query_hw_ip_info(dev, AMDGPU_HW_IP_DMA, 0, &ip), "hw_ip_info DMA");
	CHECK(ip.available_rings == 0x3, "both SDMA rings available");
	amdgpu_context_handle ctx;
	CHECK_R(amdgpu_cs_ctx_create(dev, &ctx), "amdgpu_cs_ctx_create");

	struct buf ib = buf_new(dev, AMDGPU_GEM_DOMAIN_GTT, 65536);
	struct buf src = buf_new(dev, AMDGPU_GEM_DOMAIN_GTT, SIZE);
	struct buf dst[3] = {buf_new(dev, AMDGPU_GEM_DOMAIN_VRAM, SIZE), buf_new(dev, AMDGPU_GEM_DOMAIN_GTT, SIZE),
			     buf_new(dev, AMDGPU_GEM_DOMAIN_VRAM, SIZE)};
	for (uint32_t i = 0; i < SIZE / 4; i++)
		((uint32_t *)src.cpu)[i] = i * 2654435761u + 17;
	amdgpu_bo_handle bos[5] = {ib.bo, src.bo, dst[0].bo, dst[1].bo, dst[2].bo};

	/* SDMA0 and SDMA1 copies, then GFX DMA_DATA; each waited for and checked. */
	uint32_t *p = (uint32_t *)ib.cpu;
	unsigned k0 = sdma_copy(p, src.va, dst[0].va, SIZE);
	unsigned k1 = sdma_copy(p + 1024, src.va, dst[1].va, SIZE);
	unsigned k2 = gfx_copy(p + 2048, src.va, dst[2].va, SIZE);
	uint64_t s0 = submit(dev, ctx, &ib, 0, k0, AMDGPU_HW_IP_DMA, 0, bos, 5);
	uint64_t s1 = submit(dev, ctx, &ib, 1024, k1, AMDGPU_HW_IP_DMA, 1, bos, 5);
	uint64_t s2 = submit(dev, ctx, &ib, 2048, k2, AMDGPU_HW_IP_GFX, 0, bos, 5);
	wait_seq(ctx, AMDGPU_HW_IP_DMA, 0, s0);
	wait_seq(ctx, AMDGPU_HW_IP_DMA, 1, s1);
	wait_seq(ctx, AMDGPU_HW_IP_GFX, 0, s2);
	for (int i = 0; i < 3; i++)
		CHECK(memcmp(dst[i].cpu, src.cpu, SIZE) == 0, "copied bytes equal the source");
	printf("amdgpu_copy: SDMA0, SDMA1 and GFX copies of 1 MiB ok\n");

	/* 100 copies in a row on SDMA0 (as amdgpu_stress -c), then WAIT_FENCES over the last ones. */
	memset(dst[0].cpu, 0, SIZE);
	uint64_t last = 0;
	for (int i = 0; i < 100; i++)
		last = submit(dev, ctx, &ib, 0, k0, AMDGPU_HW_IP_DMA, 0, bos, 5);
	/* GEM_WAIT_IDLE waits (parked in the daemon) for the copies that use the BO. */
	bool busy = true;
	CHECK_R(amdgpu_bo_wait_for_idle(dst[0].bo, AMDGPU_TIMEOUT_INFINITE, &busy), "amdgpu_bo_wait_for_idle");
	CHECK(!busy, "idle after waiting");
	CHECK(memcmp(dst[0].cpu, src.cpu, SIZE) == 0, "idle BO holds the copy");
	struct amdgpu_cs_fence fs[2] = {
		{.context = ctx, .ip_type = AMDGPU_HW_IP_DMA, .ring = 0, .fence = last},
		{.context = ctx, .ip_type = AMDGPU_HW_IP_DMA, .ring = 0, .fence = last - 1},
	};
	uint32_t status = 0, first = 99;
	CHECK_R(amdgpu_cs_wait_fences(fs, 2, true, AMDGPU_TIMEOUT_INFINITE, &status, &first), "amdgpu_cs_wait_fences");
	CHECK(status == 1, "WAIT_FENCES all signalled");
	CHECK(memcmp(dst[0].cpu, src.cpu, SIZE) == 0, "100 copies: bytes");
	status = 0;
	CHECK_R(amdgpu_cs_wait_fences(fs, 2, false, 0, &status, &first), "amdgpu_cs_wait_fences any");
	CHECK(status == 1 && first == 0, "WAIT_FENCES any: the first");
	printf("amdgpu_copy: 100 SDMA copies and WAIT_FENCES ok\n");

	/* The last submission's fence as a sync_file: readable, since it signalled. */
	int sfd = -1;
	CHECK_R(amdgpu_cs_fence_to_handle(dev, &fs[0], AMDGPU_FENCE_TO_HANDLE_GET_SYNC_FILE_FD, (uint32_t *)&sfd),
		"amdgpu_cs_fence_to_handle sync_file");
	struct pollfd pf = {.fd = sfd, .events = POLLIN};
	CHECK(sfd >= 0 && poll(&pf, 1, 5000) == 1, "sync_file of a finished submission is readable");
	close(sfd);
	uint32_t syncobj = 0;
	CHECK_R(amdgpu_cs_fence_to_handle(dev, &fs[0], AMDGPU_FENCE_TO_HANDLE_GET_SYNCOBJ, &syncobj),
		"amdgpu_cs_fence_to_handle syncobj");
	CHECK_R(drmSyncobjWait(fd, &syncobj, 1, INT64_MAX, 0, NULL), "drmSyncobjWait");
	drmSyncobjDestroy(fd, syncobj);

	uint32_t state = 99, hangs = 99;
	CHECK_R(amdgpu_cs_query_reset_state(ctx, &state, &hangs), "amdgpu_cs_query_reset_state");
	CHECK(state == AMDGPU_CTX_NO_RESET, "no reset");
	uint64_t flags = 99;
	CHECK_R(amdgpu_cs_query_reset_state2(ctx, &flags), "amdgpu_cs_query_reset_state2");
	CHECK(flags == 0, "QUERY2 clean");
	printf("amdgpu_copy: FENCE_TO_HANDLE and reset state ok\n");

	wait_for_submit(fd, dev, ctx, &ib, 0, k0, &dst[0], &src);
	printf("amdgpu_copy: CS parked for a timeline point (WAIT_FOR_SUBMIT), timeline out-point ok\n");

	/*
	 * SCHED: the master (card0's first opener) raises the priority of this
	 * render file's context, naming the file by its fd; a render file may
	 * not, and an fd that is no DRM file is EINVAL.
	 */
	int master = open("/dev/dri/card0", O_RDWR | O_CLOEXEC);
	CHECK(master >= 0, "open card0");
	CHECK_R(amdgpu_cs_ctx_override_priority(dev, ctx, master, AMDGPU_CTX_PRIORITY_HIGH), "SCHED override");
	CHECK(amdgpu_cs_ctx_override_priority(dev, ctx, fd, AMDGPU_CTX_PRIORITY_HIGH) == -EACCES,
	      "SCHED from a render node is EACCES");
	int pipefd[2];
	CHECK(pipe(pipefd) == 0, "pipe");
	union drm_amdgpu_sched sc = {.in = {.op = AMDGPU_SCHED_OP_PROCESS_PRIORITY_OVERRIDE, .fd = (uint32_t)pipefd[0],
					    .priority = AMDGPU_CTX_PRIORITY_LOW}};
	CHECK(drmCommandWrite(master, DRM_AMDGPU_SCHED, &sc, sizeof(sc)) == -EINVAL, "SCHED with a pipe is EINVAL");
	sc.in.fd = (uint32_t)fd;
	CHECK_R(drmCommandWrite(master, DRM_AMDGPU_SCHED, &sc, sizeof(sc)), "SCHED process override");
	close(pipefd[0]);
	close(pipefd[1]);
	/* Still submits and completes at the new priority. */
	uint64_t s3 = submit(dev, ctx, &ib, 2048, k2, AMDGPU_HW_IP_GFX, 0, bos, 5);
	wait_seq(ctx, AMDGPU_HW_IP_GFX, 0, s3);
	close(master);
	printf("amdgpu_copy: SCHED priority overrides ok\n");

	for (int i = 0; i < 3; i++)
		buf_free(&dst[i], SIZE);
	buf_free(&src, SIZE);
	buf_free(&ib, 65536);
	CHECK_R(amdgpu_cs_ctx_free(ctx), "amdgpu_cs_ctx_free");
	amdgpu_device_deinitialize(dev);
	close(fd);
	return 0;
}
