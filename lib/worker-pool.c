/* Thread pool with an eventfd to hand finished jobs back to the event
   loop. */
#include "lib.h"
#include "worker-pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <event2/event.h>

struct job_queue {
	struct worker_job *head, *tail;
	unsigned int count;
};

struct worker_pool {
	struct event_base *base;
	unsigned int max_threads;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct job_queue todo;     /* protected by lock */
	struct job_queue finished; /* protected by lock */
	unsigned int idle_threads; /* protected by lock */
	bool stopping;             /* protected by lock */

	unsigned int thread_count;
	pthread_t *threads;
	int efd;
	struct event *done_ev;
};

static void queue_push(struct job_queue *q, struct worker_job *job)
{
	job->next = NULL;
	if (q->tail == NULL)
		q->head = job;
	else
		q->tail->next = job;
	q->tail = job;
	q->count++;
}

static struct worker_job *queue_pop(struct job_queue *q)
{
	struct worker_job *job = q->head;
	if (job != NULL) {
		q->head = job->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->count--;
	}
	return job;
}

static void *worker_thread(void *context)
{
	struct worker_pool *pool = context;

	pthread_mutex_lock(&pool->lock);
	for (;;) {
		struct worker_job *job = queue_pop(&pool->todo);
		if (job == NULL) {
			if (pool->stopping)
				break;
			pool->idle_threads++;
			pthread_cond_wait(&pool->cond, &pool->lock);
			pool->idle_threads--;
			continue;
		}
		pthread_mutex_unlock(&pool->lock);
		job->run(job);
		pthread_mutex_lock(&pool->lock);
		bool was_empty = pool->finished.count == 0;
		queue_push(&pool->finished, job);
		if (was_empty) {
			uint64_t one = 1;
			ssize_t ret ATTR_UNUSED = write(pool->efd, &one, sizeof(one));
		}
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static void worker_pool_done_cb(evutil_socket_t fd, short what ATTR_UNUSED,
				void *context)
{
	struct worker_pool *pool = context;
	uint64_t value;
	struct job_queue finished;

	ssize_t ret ATTR_UNUSED = read(fd, &value, sizeof(value));
	pthread_mutex_lock(&pool->lock);
	finished = pool->finished;
	memset(&pool->finished, 0, sizeof(pool->finished));
	pthread_mutex_unlock(&pool->lock);

	struct worker_job *job;
	while ((job = queue_pop(&finished)) != NULL)
		job->done(job);
}

struct worker_pool *worker_pool_create(struct event_base *base,
				       unsigned int max_threads)
{
	struct worker_pool *pool = x_malloc(sizeof(*pool));

	pool->base = base;
	pool->max_threads = max_threads == 0 ? 1 : max_threads;
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->cond, NULL);
	pool->threads = x_malloc(sizeof(pthread_t) * pool->max_threads);
	pool->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (pool->efd < 0)
		lib_panic(__FILE__, __LINE__, "eventfd() failed: %s", strerror(errno));
	pool->done_ev = event_new(base, pool->efd, EV_READ | EV_PERSIST,
				  worker_pool_done_cb, pool);
	event_add(pool->done_ev, NULL);
	return pool;
}

void worker_pool_submit(struct worker_pool *pool, struct worker_job *job)
{
	pthread_mutex_lock(&pool->lock);
	queue_push(&pool->todo, job);
	bool need_thread = pool->idle_threads < pool->todo.count &&
		pool->thread_count < pool->max_threads;
	if (need_thread) {
		if (pthread_create(&pool->threads[pool->thread_count], NULL,
				   worker_thread, pool) == 0)
			pool->thread_count++;
	}
	pthread_cond_signal(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	if (pool->thread_count == 0)
		lib_panic(__FILE__, __LINE__, "could not start any worker thread");
}

unsigned int worker_pool_queued(const struct worker_pool *pool)
{
	return pool->todo.count;
}

unsigned int worker_pool_threads(const struct worker_pool *pool)
{
	return pool->thread_count;
}

void worker_pool_destroy(struct worker_pool **_pool)
{
	struct worker_pool *pool = *_pool;
	if (pool == NULL)
		return;
	*_pool = NULL;

	pthread_mutex_lock(&pool->lock);
	pool->stopping = true;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned int i = 0; i < pool->thread_count; i++)
		pthread_join(pool->threads[i], NULL);
	/* deliver what finished */
	worker_pool_done_cb(pool->efd, EV_READ, pool);
	event_free(pool->done_ev);
	close(pool->efd);
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->cond);
	free(pool->threads);
	free(pool);
}
