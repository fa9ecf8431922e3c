/* Worker threads for blocking whole-command backends: see exec_pool.h. */
#include "backend/exec_pool.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>

_Static_assert(sizeof(struct exec_pool_req) <= USCST_SCSI_REQ_BACKEND_PRIV,
	       "exec_pool request state does not fit");

static struct exec_pool_req *pool_req(struct uscst_scsi_req *req)
{
	return (struct exec_pool_req *)req->backend_priv;
}

static void done_on_reactor(struct reactor_msg *m)
{
	struct exec_pool_req *p =
	    (struct exec_pool_req *)((char *)m - offsetof(struct exec_pool_req, msg));
	p->self->done(p->self);
}

static void complete(struct uscst_scsi_req *req)
{
	struct exec_pool_req *p = pool_req(req);
	if (!p->reactor) {
		req->done(req);
		return;
	}
	p->msg.fn = done_on_reactor;
	reactor_send(p->reactor, &p->msg);
}

/* The oldest queued request, waiting for one; NULL once stopped and
 * drained. */
static struct uscst_scsi_req *next_request(struct exec_pool *p)
{
	pthread_mutex_lock(&p->lock);
	while (!p->head && !p->stop)
		pthread_cond_wait(&p->work, &p->lock);
	struct uscst_scsi_req *req = p->head;
	if (req) {
		p->head = pool_req(req)->next;
		if (!p->head)
			p->tail = NULL;
	}
	pthread_mutex_unlock(&p->lock);
	return req;
}

static void *worker(void *arg)
{
	struct exec_pool *p = arg;
	struct uscst_scsi_req *req;
	while ((req = next_request(p))) {
		p->run(p->ctx, req);
		complete(req);
	}
	return NULL;
}

int exec_pool_start(struct exec_pool *p, unsigned nthreads,
		    void (*run)(void *ctx, struct uscst_scsi_req *req), void *ctx)
{
	if (nthreads < 1 || nthreads > EXEC_POOL_MAX_THREADS)
		return -EINVAL;
	memset(p, 0, sizeof(*p));
	p->run = run;
	p->ctx = ctx;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	/* Workers take no signal: the daemon's main thread handles them. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = 0;
	for (unsigned i = 0; i < nthreads && !rc; i++) {
		rc = pthread_create(&p->threads[i], NULL, worker, p);
		if (!rc)
			p->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		exec_pool_stop(p);
		return -rc;
	}
	return 0;
}

void exec_pool_submit(struct exec_pool *p, struct uscst_scsi_req *req)
{
	struct exec_pool_req *pr = pool_req(req);
	pr->reactor = reactor_current();
	pr->self = req;
	pr->next = NULL;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		pool_req(p->tail)->next = req;
	else
		p->head = req;
	p->tail = req;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->lock);
}

void exec_pool_stop(struct exec_pool *p)
{
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	p->nthreads = 0;
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->lock);
}
