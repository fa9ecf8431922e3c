/*
 * A small pool of worker threads that run whole SCSI commands with a
 * blocking call (dev_sg's SG_IO ioctl) and complete each one on the
 * reactor that submitted it, as the backend ABI wants.  The blocking call
 * is a parameter, so the pool is tested with a double (tests/unit/
 * test_exec_pool.c).
 */
#ifndef USCST_BACKEND_EXEC_POOL_H
#define USCST_BACKEND_EXEC_POOL_H

#include <pthread.h>
#include <stdbool.h>

#include <uscst/backend.h>
#include <uscst/reactor.h>

/* Most worker threads one pool may have. */
#define EXEC_POOL_MAX_THREADS 16

struct exec_pool {
	/* Runs req to its end, blocking, and fills its result part; never
	 * calls done().  Called on a worker thread, ctx as given. */
	void (*run)(void *ctx, struct uscst_scsi_req *req);
	void *ctx;
	pthread_mutex_t lock;
	pthread_cond_t work;
	struct uscst_scsi_req *head, *tail; /* waiting, oldest first */
	bool stop;
	unsigned nthreads;
	pthread_t threads[EXEC_POOL_MAX_THREADS];
};

/* What the pool keeps in a request (req->backend_priv); a backend using
 * the pool must leave this part of backend_priv alone. */
struct exec_pool_req {
	struct reactor *reactor; /* where done() runs; NULL: on the worker */
	struct reactor_msg msg;
	struct uscst_scsi_req *next;
	struct uscst_scsi_req *self;
};

/* Starts nthreads (1..EXEC_POOL_MAX_THREADS) workers.  0, or -errno (no
 * thread left running). */
int exec_pool_start(struct exec_pool *p, unsigned nthreads,
		    void (*run)(void *ctx, struct uscst_scsi_req *req), void *ctx);
/* Queues req (any thread; a reactor's for completion there). */
void exec_pool_submit(struct exec_pool *p, struct uscst_scsi_req *req);
/* Runs what is queued to its end, then stops and joins the workers. */
void exec_pool_stop(struct exec_pool *p);

#endif
