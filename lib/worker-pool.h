#ifndef ROOST_WORKER_POOL_H
#define ROOST_WORKER_POOL_H
/* A pool of threads for blocking or CPU-heavy work (slow password hashes,
   PAM). Jobs are queued FIFO; run() executes in a worker thread and must
   only touch the job's own data; done() is then called in the event loop
   thread. Threads start on demand up to max_threads. */
#include "lib.h"

struct event_base;
struct worker_pool;

struct worker_job {
	void (*run)(struct worker_job *job);    /* in a worker thread */
	void (*done)(struct worker_job *job);   /* in the event loop */
	struct worker_job *next;                /* internal */
};

struct worker_pool *worker_pool_create(struct event_base *base,
				       unsigned int max_threads);
/* Waits for running jobs to finish; queued jobs are completed first. */
void worker_pool_destroy(struct worker_pool **pool);
void worker_pool_submit(struct worker_pool *pool, struct worker_job *job);
unsigned int worker_pool_queued(const struct worker_pool *pool);
unsigned int worker_pool_threads(const struct worker_pool *pool);

#endif
