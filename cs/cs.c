/*
 * The GPU scheduler (see redox-drm/cs.h): entity queues, run queues by
 * priority, dependency waits, ring credits, timeouts and recovery.
 *
 * Re-entrancy: fence callbacks and driver hooks may push jobs, finish
 * entities or signal fences synchronously. Only cs_sched_run() takes jobs
 * from the queues; a call made while it runs just asks it to go round again,
 * so nothing here nests more than one level deep.
 */
#include "redox-drm/cs.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "redox-drm/loop.h"

/* ---- finished fences ---- */

struct cs_fence {
	struct drm_fence base;
	char timeline[32]; /* a copy: the fence may outlive its scheduler */
	struct cs_job *job; /* until the job is finished or given back */
};

static const char *cs_fence_driver_name(struct drm_fence *fence)
{
	return "cs";
}

static const char *cs_fence_timeline_name(struct drm_fence *fence)
{
	return ((struct cs_fence *)fence)->timeline;
}

/*
 * Asked whether it is done (a wait about to park, a poll): the job's
 * hardware fence is asked in turn, which reads what the engine wrote; if
 * that signals, its callback completes the job and this fence with it,
 * without waiting for the interrupt.
 */
static bool cs_fence_signaled(struct drm_fence *fence)
{
	struct cs_job *job = ((struct cs_fence *)fence)->job;
	if (!job || !job->on_hw || !job->hw_armed || !job->hw_fence)
		return false;
	/* Held: completing the job drops the job's reference (and the job). */
	struct drm_fence *hw = drm_fence_get(job->hw_fence);
	drm_fence_is_signaled(hw);
	drm_fence_put(hw);
	return fence->signaled;
}

static const struct drm_fence_ops cs_fence_ops = {
	.driver_name = cs_fence_driver_name,
	.timeline_name = cs_fence_timeline_name,
	.signaled = cs_fence_signaled,
};

static void job_detach_finished(struct cs_job *job)
{
	if (job->finished)
		((struct cs_fence *)job->finished)->job = NULL;
}

bool cs_fence_is_sched(const struct drm_fence *fence)
{
	return fence && fence->ops == &cs_fence_ops;
}

bool cs_sched_idle(const struct cs_sched *sched)
{
	if (sched->in_flight || sched->pending_head)
		return false;
	for (int p = 0; p < CS_PRIORITY_COUNT; p++)
		if (sched->rq[p])
			return false;
	return true;
}

/* ---- lists ---- */

static void job_list_append(struct cs_job ***tail, struct cs_job *job)
{
	job->next = NULL;
	job->pprev = *tail;
	**tail = job;
	*tail = &job->next;
}

static void job_list_remove(struct cs_job ***tail, struct cs_job *job)
{
	*job->pprev = job->next;
	if (job->next)
		job->next->pprev = job->pprev;
	else
		*tail = job->pprev;
	job->next = NULL;
	job->pprev = NULL;
}

static void rq_add(struct cs_sched *s, struct cs_entity *e)
{
	unsigned int p = e->priority;
	e->rq_next = NULL;
	e->rq_pprev = s->rq_tail[p];
	*s->rq_tail[p] = e;
	s->rq_tail[p] = &e->rq_next;
	e->in_rq = true;
}

static void rq_remove(struct cs_sched *s, struct cs_entity *e)
{
	unsigned int p = e->priority;
	*e->rq_pprev = e->rq_next;
	if (e->rq_next)
		e->rq_next->rq_pprev = e->rq_pprev;
	else
		s->rq_tail[p] = e->rq_pprev;
	e->rq_next = NULL;
	e->rq_pprev = NULL;
	e->in_rq = false;
}

/* ---- jobs ---- */

static void sched_run(struct cs_sched *s);

static void job_drop_deps(struct cs_job *job)
{
	if (job->waiting_dep) {
		drm_fence_remove_callback(job->deps[job->dep_next], &job->dep_cb);
		job->waiting_dep = false;
	}
	for (unsigned int i = job->dep_next; i < job->num_deps; i++)
		drm_fence_put(job->deps[i]);
	free(job->deps);
	job->deps = NULL;
	job->num_deps = job->deps_cap = job->dep_next = 0;
}

/* Signals the job's finished fence (with error, if any) and hands the job back to the driver. */
static void job_finish(struct cs_sched *s, struct cs_job *job, int error)
{
	job_drop_deps(job);
	job_detach_finished(job);
	struct drm_fence *finished = job->finished, *hw = job->hw_fence;
	if (error)
		drm_fence_set_error(finished, error);
	drm_fence_signal(finished);
	s->ops->free_job(job);
	drm_fence_put(hw);
	drm_fence_put(finished);
}

void cs_job_init(struct cs_job *job, struct cs_entity *entity)
{
	memset(job, 0, sizeof(*job));
	job->entity = entity;
	job->sched = entity ? entity->sched : NULL;
}

int cs_job_add_dependency(struct cs_job *job, struct drm_fence *fence)
{
	if (!fence)
		return 0;
	if (fence->signaled) {
		drm_fence_put(fence);
		return 0;
	}
	/* One per context: the later fence implies the earlier (the kernel keeps the same). */
	for (unsigned int i = 0; i < job->num_deps; i++) {
		struct drm_fence *d = job->deps[i];
		if (d->context != fence->context)
			continue;
		if (drm_fence_is_later(fence, d)) {
			job->deps[i] = fence;
			drm_fence_put(d);
		} else {
			drm_fence_put(fence);
		}
		return 0;
	}
	if (job->num_deps == job->deps_cap) {
		unsigned int cap = job->deps_cap ? job->deps_cap * 2 : 4;
		struct drm_fence **d = cap > job->deps_cap ? realloc(job->deps, cap * sizeof(*d)) : NULL;
		if (!d) {
			drm_fence_put(fence);
			return -ENOMEM;
		}
		job->deps = d;
		job->deps_cap = cap;
	}
	job->deps[job->num_deps++] = fence;
	return 0;
}

int cs_job_arm(struct cs_job *job)
{
	struct cs_entity *e = job->entity;
	if (!e)
		return -EINVAL;
	if (job->finished)
		return 0;
	struct cs_fence *f = malloc(sizeof(*f));
	if (!f)
		return -ENOMEM;
	job->seqno = ++e->last_seqno;
	drm_fence_init(&f->base, &cs_fence_ops, e->fence_context, job->seqno);
	const char *name = e->sched->name ? e->sched->name : "";
	size_t n = strnlen(name, sizeof(f->timeline) - 1);
	memcpy(f->timeline, name, n);
	f->timeline[n] = '\0';
	f->job = job;
	job->finished = &f->base;
	return 0;
}

void cs_job_cleanup(struct cs_job *job)
{
	job_drop_deps(job);
	job_detach_finished(job);
	if (job->finished) {
		/* Somebody may already wait on it (an out-fence installed before the push failed). */
		if (!job->finished->signaled) {
			drm_fence_set_error(job->finished, -ECANCELED);
			drm_fence_signal(job->finished);
		}
		drm_fence_put(job->finished);
		job->finished = NULL;
	}
	drm_fence_put(job->hw_fence);
	job->hw_fence = NULL;
}

/*
 * Are the job's dependencies done? Signalled ones are dropped on the way;
 * the first pending one gets a callback that wakes the scheduler.
 */
static void dep_cb(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	struct cs_job *job = (struct cs_job *)((char *)cb - offsetof(struct cs_job, dep_cb));
	job->waiting_dep = false;
	sched_run(job->sched);
}

static bool job_ready(struct cs_job *job)
{
	if (job->waiting_dep)
		return false;
	while (job->dep_next < job->num_deps) {
		struct drm_fence *f = job->deps[job->dep_next];
		/*
		 * Errors of dependencies do not fail the job: only their completion
		 * matters. add_callback goes by the flag; drm_fence_is_signaled()
		 * could poll the hardware and run callbacks that change the run
		 * queues being walked.
		 */
		if (drm_fence_add_callback(f, &job->dep_cb, dep_cb) == 0) {
			job->waiting_dep = true;
			return false;
		}
		drm_fence_put(f);
		job->deps[job->dep_next++] = NULL;
	}
	return true;
}

/* ---- the ring ---- */

static void timeout_fire(void *data);

static void timer_stop(struct cs_sched *s)
{
	event_timer_cancel(s->timer);
	s->timer = NULL;
}

static void timer_start(struct cs_sched *s)
{
	if (s->timer || !s->timeout_ns || !s->pending_head || s->stopped)
		return;
	s->timer = event_loop_add_timer(s->loop, monotonic_ns() + s->timeout_ns, timeout_fire, s);
}

static void ring_remove(struct cs_sched *s, struct cs_job *job)
{
	job_list_remove(&s->pending_tail, job);
	job->on_hw = false;
	s->in_flight--;
	if (!s->pending_head)
		timer_stop(s);
}

/* The hardware is done with the job: its finished fence follows the hardware fence. */
static void job_complete(struct cs_sched *s, struct cs_job *job)
{
	job->hw_armed = false;
	ring_remove(s, job);
	/* Progress: the (new) oldest job gets a full timeout. */
	timer_stop(s);
	timer_start(s);
	job_finish(s, job, job->hw_fence ? job->hw_fence->error : 0);
	sched_run(s);
}

static void hw_cb(struct drm_fence *fence, struct drm_fence_cb *cb)
{
	struct cs_job *job = (struct cs_job *)((char *)cb - offsetof(struct cs_job, hw_cb));
	job_complete(job->sched, job);
}

/* Listens to the job's hardware fence; false if it has already signalled. */
static bool job_arm_hw(struct cs_job *job)
{
	job->hw_armed = drm_fence_add_callback(job->hw_fence, &job->hw_cb, hw_cb) == 0;
	return job->hw_armed;
}

/* Hands a job on the ring list to the driver. */
static void job_submit(struct cs_sched *s, struct cs_job *job)
{
	job->started_ns = monotonic_ns();
	timer_start(s);
	struct drm_fence *hw = NULL;
	int r = s->ops->run_job(job, &hw);
	if (r < 0 || !hw) {
		drm_fence_put(hw);
		ring_remove(s, job);
		job_finish(s, job, r < 0 ? r : 0);
		return;
	}
	job->hw_fence = hw;
	if (!job_arm_hw(job))
		job_complete(s, job);
}

static void job_run(struct cs_sched *s, struct cs_job *job)
{
	job_list_append(&s->pending_tail, job);
	job->on_hw = true;
	s->in_flight++;
	job_submit(s, job);
}

/* ---- picking ---- */

/* The next job to run (or to cancel), taken off its entity's queue; NULL if none is ready. */
static struct cs_job *pick(struct cs_sched *s)
{
	for (int p = CS_PRIORITY_COUNT - 1; p >= 0; p--) {
		for (struct cs_entity *e = s->rq[p]; e; e = e->rq_next) {
			struct cs_job *job = e->queue_head;
			/* A guilty entity's jobs are cancelled at once: no point waiting for their dependencies. */
			if (!cs_entity_is_guilty(e) && !job_ready(job))
				continue;
			job_list_remove(&e->queue_tail, job);
			/* Round robin: the entity served goes to the back of its queue. */
			rq_remove(s, e);
			if (e->queue_head)
				rq_add(s, e);
			return job;
		}
	}
	return NULL;
}

static void sched_run(struct cs_sched *s)
{
	if (s->running) {
		s->again = true;
		return;
	}
	s->running = true;
	do {
		s->again = false;
		while (!s->stopped && s->in_flight < s->credits) {
			struct cs_job *job = pick(s);
			if (!job)
				break;
			if (job->entity && cs_entity_is_guilty(job->entity))
				job_finish(s, job, -ECANCELED);
			else
				job_run(s, job);
		}
	} while (s->again);
	s->running = false;
}

/* ---- timeouts and recovery ---- */

static void entity_mark_guilty(struct cs_entity *e)
{
	e->own_guilty = true;
	if (e->guilty)
		*e->guilty = true;
}

static void timeout_fire(void *data)
{
	struct cs_sched *s = data;
	s->timer = NULL; /* the loop frees a one-shot timer that fired */
	struct cs_job *bad = s->pending_head;
	if (!bad || s->stopped)
		return;
	/* Nothing is picked while the driver and we sort the ring out. */
	bool was_running = s->running;
	s->running = true;
	for (struct cs_job *j = s->pending_head; j; j = j->next)
		if (j->hw_armed) {
			drm_fence_remove_callback(j->hw_fence, &j->hw_cb);
			j->hw_armed = false;
		}

	/*
	 * Jobs are taken off the ring list one at a time, each just before it
	 * finishes: callbacks may finalise entities, and only jobs still on the
	 * list are detached from them. The ring holds at most credits jobs.
	 */
	struct cs_job *j;
	if (s->ops->timedout_job(bad) == CS_TIMEOUT_NOMINAL) {
		/* Not hung: listen again; what signalled meanwhile completes now, oldest first. */
		for (j = s->pending_head; j; j = j->next)
			job_arm_hw(j);
		timer_start(s);
		for (;;) {
			for (j = s->pending_head; j && j->hw_armed; j = j->next)
				;
			if (!j)
				break;
			job_complete(s, j);
		}
	} else {
		/*
		 * The ring was reset: every hardware fence is void. The guilty job
		 * fails with -ETIME, the jobs of guilty entities with -ECANCELED,
		 * and the innocent ones run again in their order.
		 */
		s->hang_count++;
		bad->guilty = true;
		if (bad->entity)
			entity_mark_guilty(bad->entity);
		timer_stop(s);
		for (j = s->pending_head; j; j = j->next) {
			drm_fence_put(j->hw_fence);
			j->hw_fence = NULL;
		}
		for (;;) {
			for (j = s->pending_head; j && !j->guilty && !(j->entity && cs_entity_is_guilty(j->entity));
			     j = j->next)
				;
			if (!j)
				break;
			ring_remove(s, j);
			job_finish(s, j, j->guilty ? -ETIME : -ECANCELED);
		}
		/* Nothing new is picked meanwhile: a job without a hardware fence is one to run again. */
		for (;;) {
			for (j = s->pending_head; j && j->hw_fence; j = j->next)
				;
			if (!j)
				break;
			job_submit(s, j);
		}
	}
	s->running = was_running;
	if (!was_running)
		sched_run(s);
}

/* ---- schedulers ---- */

int cs_sched_init(struct cs_sched *sched, const struct cs_sched_ops *ops, struct event_loop *loop,
		  const char *name, unsigned int credits, uint64_t timeout_ns)
{
	if (!ops || !ops->run_job || !ops->free_job || !loop || !credits)
		return -EINVAL;
	memset(sched, 0, sizeof(*sched));
	sched->ops = ops;
	sched->loop = loop;
	sched->name = name;
	sched->credits = credits;
	sched->timeout_ns = ops->timedout_job ? timeout_ns : 0;
	sched->pending_tail = &sched->pending_head;
	for (int p = 0; p < CS_PRIORITY_COUNT; p++)
		sched->rq_tail[p] = &sched->rq[p];
	return 0;
}

static void entity_fail_queued(struct cs_entity *e, int error)
{
	struct cs_sched *s = e->sched;
	if (e->in_rq)
		rq_remove(s, e);
	struct cs_job *job;
	while ((job = e->queue_head)) {
		job_list_remove(&e->queue_tail, job);
		job_finish(s, job, error);
	}
}

void cs_sched_fini(struct cs_sched *sched)
{
	struct cs_sched *s = sched;
	if (s->stopped)
		return;
	s->stopped = true;
	timer_stop(s);
	bool was_running = s->running;
	s->running = true;
	for (int p = 0; p < CS_PRIORITY_COUNT; p++)
		while (s->rq[p])
			entity_fail_queued(s->rq[p], -ESRCH);
	struct cs_job *job;
	while ((job = s->pending_head)) {
		if (job->hw_armed) {
			drm_fence_remove_callback(job->hw_fence, &job->hw_cb);
			job->hw_armed = false;
		}
		ring_remove(s, job);
		job_finish(s, job, -ECANCELED);
	}
	s->running = was_running;
}

/* ---- entities ---- */

void cs_entity_init(struct cs_entity *entity, struct cs_sched *sched, enum cs_priority priority,
		    bool *guilty)
{
	memset(entity, 0, sizeof(*entity));
	entity->sched = sched;
	entity->priority = (unsigned int)priority < CS_PRIORITY_COUNT ? priority : CS_PRIORITY_NORMAL;
	entity->guilty = guilty;
	entity->fence_context = drm_fence_context_alloc(1);
	entity->queue_tail = &entity->queue_head;
}

void cs_entity_set_priority(struct cs_entity *entity, enum cs_priority priority)
{
	if ((unsigned int)priority >= CS_PRIORITY_COUNT || priority == entity->priority)
		return;
	bool queued = entity->in_rq;
	if (queued)
		rq_remove(entity->sched, entity);
	entity->priority = priority;
	if (queued) {
		rq_add(entity->sched, entity);
		sched_run(entity->sched);
	}
}

bool cs_entity_is_guilty(const struct cs_entity *entity)
{
	return entity->own_guilty || (entity->guilty && *entity->guilty);
}

void cs_entity_fini(struct cs_entity *entity)
{
	if (entity->dead)
		return;
	entity->dead = true;
	struct cs_sched *s = entity->sched;
	/* Jobs on the ring finish without it. (Also while cs_sched_fini runs: a callback may end an entity.) */
	for (struct cs_job *j = s->pending_head; j; j = j->next)
		if (j->entity == entity)
			j->entity = NULL;
	entity_fail_queued(entity, -ESRCH);
	drm_fence_put(entity->last_scheduled);
	entity->last_scheduled = NULL;
}

void cs_entity_push_job(struct cs_job *job)
{
	struct cs_entity *e = job->entity;
	struct cs_sched *s = job->sched;
	int r = cs_job_arm(job);
	if (r < 0) {
		/* Nobody can wait on a fence that was never made: just give the job back. */
		job_drop_deps(job);
		s->ops->free_job(job);
		return;
	}
	if (e->dead || s->stopped) {
		job_finish(s, job, -ESRCH);
		return;
	}
	drm_fence_put(e->last_scheduled);
	e->last_scheduled = drm_fence_get(job->finished);
	job_list_append(&e->queue_tail, job);
	if (!e->in_rq)
		rq_add(s, e);
	sched_run(s);
}
