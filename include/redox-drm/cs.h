/*
 * cs/: the GPU scheduler both backends submit through (the kernel's
 * drm_sched, reduced to what a single-threaded daemon needs).
 *
 * One struct cs_sched per hardware ring. Clients submit through entities (one
 * per context and ring): an entity's jobs run in the order they were pushed,
 * each once every dependency fence has signalled. Entities sit in run queues
 * by priority; the scheduler takes the next ready job from the highest
 * priority that has one, round robin within it, while the ring has credits.
 *
 * Every job has a "finished" fence, made when the job is armed: that is the
 * fence clients wait on and share (CS / execbuffer out-fences, syncobjs,
 * sync_files). The driver's run_job hands back a hardware fence that its
 * interrupt handler signals; the finished fence follows it, with its error.
 *
 * A job that stays on the hardware longer than the timeout is reported to the
 * driver (timedout_job). If the driver resets the ring, the scheduler marks
 * the job guilty (its finished fence fails with -ETIME, its entity is guilty
 * from then on and its later jobs fail with -ECANCELED without running) and
 * runs again the innocent jobs that were on the ring with it.
 *
 * Everything runs on the daemon's event loop thread: no locks, no blocking.
 */
#ifndef REDOX_DRM_CS_H
#define REDOX_DRM_CS_H

#include <stdbool.h>
#include <stdint.h>

#include "redox-drm/fence.h"

struct event_loop;
struct event_timer;
struct cs_sched;
struct cs_entity;
struct cs_job;

/* The kernel's drm_sched_priority order. */
enum cs_priority {
	CS_PRIORITY_MIN,
	CS_PRIORITY_NORMAL,
	CS_PRIORITY_HIGH,
	CS_PRIORITY_KERNEL,
	CS_PRIORITY_COUNT
};

enum cs_timeout_status {
	CS_TIMEOUT_NOMINAL, /* not hung after all (e.g. a lost interrupt): keep waiting */
	CS_TIMEOUT_RESET,   /* the driver reset the ring: every hardware fence it handed out is void */
};

struct cs_sched_ops {
	/*
	 * Puts the job on the ring. 0 and *hw_fence (a reference the scheduler
	 * keeps), or -errno: the job then finishes with that error.
	 */
	int (*run_job)(struct cs_job *job, struct drm_fence **hw_fence);
	/*
	 * The job has been on the ring for the timeout. The driver resets the
	 * ring (and forgets its outstanding hardware fences, which the scheduler
	 * stops listening to before this call) or says it is not hung.
	 */
	enum cs_timeout_status (*timedout_job)(struct cs_job *job);
	/*
	 * The job is done with (its finished fence has signalled). The job's
	 * fields stay valid during the call; the scheduler drops the references
	 * it holds (finished, hw_fence, dependencies) itself, after free_job
	 * returns, so free_job must not put them.
	 */
	void (*free_job)(struct cs_job *job);
};

struct cs_sched {
	const struct cs_sched_ops *ops;
	struct event_loop *loop;
	const char *name;
	uint64_t timeout_ns;       /* per job on the ring; 0 = never */
	unsigned int credits;      /* how many jobs may be on the ring at once */
	/* private */
	unsigned int in_flight;
	struct cs_job *pending_head, **pending_tail; /* on the ring, oldest first */
	/* entities with queued jobs, round robin: served ones move to the tail */
	struct cs_entity *rq[CS_PRIORITY_COUNT], **rq_tail[CS_PRIORITY_COUNT];
	struct event_timer *timer;
	bool running, again, stopped;
	uint64_t hang_count;
};

struct cs_entity {
	struct cs_sched *sched;
	enum cs_priority priority;
	/*
	 * Where this entity's guilt is recorded: points at the context's flag so
	 * every ring of one context shares it (CTX QUERY2, GET_RESET_STATS).
	 * NULL: only the entity's own flag.
	 */
	bool *guilty;
	bool own_guilty;
	uint64_t fence_context; /* finished fences: this context, seqno 1, 2, ... */
	uint64_t last_seqno;
	struct drm_fence *last_scheduled; /* finished fence of the last job pushed (a reference) */
	/* private */
	struct cs_job *queue_head, **queue_tail;
	struct cs_entity *rq_next, **rq_pprev;
	bool in_rq, dead;
};

struct cs_job {
	struct cs_sched *sched;
	struct cs_entity *entity;  /* NULL once the entity is gone */
	struct drm_fence *finished; /* made by cs_job_arm; the job holds a reference */
	struct drm_fence *hw_fence; /* while on the ring */
	uint64_t seqno;             /* the finished fence's seqno */
	bool guilty;
	/* private */
	struct drm_fence **deps;
	unsigned int num_deps, deps_cap, dep_next;
	struct drm_fence_cb dep_cb, hw_cb;
	bool waiting_dep, on_hw, hw_armed;
	uint64_t started_ns;
	struct cs_job *next, **pprev; /* entity queue or ring list */
};

/* -EINVAL without ops (run_job, free_job), loop or credits. Without timedout_job there is no timeout. */
int cs_sched_init(struct cs_sched *sched, const struct cs_sched_ops *ops, struct event_loop *loop,
		  const char *name, unsigned int credits, uint64_t timeout_ns);
/*
 * Jobs still queued fail with -ESRCH; jobs on the ring are forgotten (the ring
 * is going away): their finished fences fail with -ECANCELED. Jobs pushed
 * afterwards fail with -ESRCH at once. Entities of this scheduler must be
 * finalised before its memory goes (cs_entity_fini after cs_sched_fini only
 * drops the entity's own references).
 */
void cs_sched_fini(struct cs_sched *sched);

void cs_entity_init(struct cs_entity *entity, struct cs_sched *sched, enum cs_priority priority,
		    bool *guilty);
/* SCHED ioctl / CONTEXT_SETPARAM priority: takes effect for the next pick. */
void cs_entity_set_priority(struct cs_entity *entity, enum cs_priority priority);
bool cs_entity_is_guilty(const struct cs_entity *entity);
/*
 * The owner goes away (context destroyed, client gone): jobs not yet on the
 * ring fail with -ESRCH; jobs on the ring finish normally without it.
 */
void cs_entity_fini(struct cs_entity *entity);

/* job is the driver's (embedded in its own struct). */
void cs_job_init(struct cs_job *job, struct cs_entity *entity);
/* The job runs only after fence signals. Takes the reference (also on failure: -ENOMEM). */
int cs_job_add_dependency(struct cs_job *job, struct drm_fence *fence);
/* Gives the job its finished fence (the entity's next seqno). -ENOMEM. */
int cs_job_arm(struct cs_job *job);
/*
 * Queues an armed job (an unarmed one is armed here; if that fails it finishes
 * at once with -ENOMEM); from now on the scheduler owns it and calls free_job
 * when done. A job pushed to a finalised entity or scheduler fails with -ESRCH.
 */
void cs_entity_push_job(struct cs_job *job);
/*
 * A job that was initialised but never pushed: drops its dependencies and
 * fence. An armed finished fence that others still hold signals with
 * -ECANCELED, so nobody waits on it forever. free_job is not called.
 */
void cs_job_cleanup(struct cs_job *job);

/* Is fence one of this scheduler's finished fences? (Lets a driver skip a dependency on its own ring.) */
bool cs_fence_is_sched(const struct drm_fence *fence);

/* Nothing on the ring and nothing queued (the GPU is idle as far as this scheduler goes). */
bool cs_sched_idle(const struct cs_sched *sched);

#endif
