#include "sim_idle.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static uint64_t poll_ns;
static pthread_once_t poll_once = PTHREAD_ONCE_INIT;

static void poll_init(void)
{
	uint64_t us = 100;
	const char *env = getenv("REDOX_DRM_SIM_POLL_US");
	if (env && *env) {
		char *end;
		unsigned long long v = strtoull(env, &end, 10);
		if (!*end && v <= 1000000)
			us = v;
	}
	/* The CPUs this process may run on, not the machine's: a poller on the only one starves its driver. */
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) < 2)
		us = 0;
	poll_ns = us * 1000;
}

bool sim_idle_should_poll(uint64_t busy_ns, uint64_t now, uint64_t deadline_ns, uint64_t *until)
{
	pthread_once(&poll_once, poll_init);
	if (!poll_ns || now - busy_ns >= poll_ns)
		return false;
	*until = busy_ns + poll_ns < deadline_ns ? busy_ns + poll_ns : deadline_ns;
	return true;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

bool sim_idle_poll(bool (*changed)(void *ctx), void *ctx, uint64_t until)
{
	for (unsigned i = 0;; i++) {
		if (changed(ctx))
			return true;
		cpu_relax();
		/* The clock is a vDSO read, but not free: look at it every few polls. */
		if ((i & 15) == 15 && now_ns() >= until)
			return false;
	}
}
