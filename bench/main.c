/* redox-drm-bench: benchmarks that report ratios against an in-run baseline. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

int bench_ioctl_rtt(int argc, char **argv);
int bench_flip_jitter(int argc, char **argv);
int bench_mmap_bw(int argc, char **argv);
int bench_fence_wake(int argc, char **argv);
int bench_prime_cycle(int argc, char **argv);
int bench_amdgpu_fence(int argc, char **argv);
int bench_i915_fence(int argc, char **argv);
int bench_amdgpu_nop(int argc, char **argv);
int bench_amdgpu_va(int argc, char **argv);
int bench_i915_nop(int argc, char **argv);

static const struct bench benches[] = {
	{"ioctl-rtt", "VERSION and GET_CAP round trips vs raw socket round trips", bench_ioctl_rtt, false},
	{"flip-jitter", "page-flip event timing at 1920x1080@60 vs a clock_nanosleep loop", bench_flip_jitter, false},
	{"mmap-bw", "memcpy into a mapped dumb buffer vs into anonymous memory", bench_mmap_bw, false},
	{"fence-wake", "sw_sync signal to a poll() woken in another process vs a raw round trip", bench_fence_wake, false},
	{"prime-cycle", "PRIME export + import + close rate vs raw round trips", bench_prime_cycle, false},
	{"amdgpu-fence", "amdgpu ring fence (model to IH to waiter) vs an eventfd wake of the same loop",
	 bench_amdgpu_fence, true},
	{"i915-fence", "Skylake model breadcrumb to the woken fence waiter vs an eventfd wake between threads",
	 bench_i915_fence, true},
	{"amdgpu-va", "GEM_VA map + unmap (64 KiB, 2 MiB) on card0 vs raw round trips", bench_amdgpu_va, false},
#ifdef RDRM_BENCH_AMDGPU_NOP
	{"amdgpu-nop", "no-op GFX IB submit + WAIT_CS through libdrm_amdgpu vs a raw round trip", bench_amdgpu_nop,
	 false},
#endif
	{"i915-nop", "no-op EXECBUFFER2 + GEM_WAIT rate on the Intel node vs a raw round trip", bench_i915_nop, false},
};

/* Outside a launcher session, re-run under redox-drm-run (found beside this binary or in the build tree). */
static void relaunch(char **argv)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (!slash)
		return;
	*slash = '\0';
	const char *candidates[] = {"%s/redox-drm-run", "%s/../tools/redox-drm-run"};
	for (size_t i = 0; i < 2; i++) {
		char run[PATH_MAX + 64];
		snprintf(run, sizeof(run), candidates[i], self);
		if (access(run, X_OK) != 0)
			continue;
		int argc = 0;
		while (argv[argc])
			argc++;
		char **nargv = calloc((size_t)argc + 3, sizeof(char *));
		nargv[0] = run;
		nargv[1] = "--";
		*slash = '/';
		nargv[2] = self;
		for (int k = 1; k < argc; k++)
			nargv[k + 2] = argv[k];
		execv(run, nargv);
		free(nargv);
		return;
	}
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		printf("Usage: redox-drm-bench BENCHMARK [args]\n");
		for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++)
			printf("  %-12s %s\n", benches[i].name, benches[i].summary);
		return argc < 2 ? 2 : 0;
	}
	for (size_t i = 0; i < sizeof(benches) / sizeof(benches[0]); i++) {
		if (strcmp(argv[1], benches[i].name))
			continue;
		/* Client benchmarks need a daemon; in-process ones run the driver themselves. */
		if (!benches[i].in_process && !getenv("REDOX_DRM_RUNTIME_DIR"))
			relaunch(argv);
		return benches[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "redox-drm-bench: unknown benchmark '%s'\n", argv[1]);
	return 2;
}
