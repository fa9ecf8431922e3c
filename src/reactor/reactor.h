/*
 * Reactors, the daemon's side: starting and stopping the threads, and the
 * io_uring under uscst_reactor_file_io().  What transports and device
 * handlers may use is in <uscst/reactor.h>.
 *
 * Sockets are watched with epoll; the io_uring's completions wake the loop
 * through an eventfd registered in the same epoll set.  SQEs are submitted
 * in one batch per loop iteration.
 */
#ifndef USCST_REACTOR_H
#define USCST_REACTOR_H

#include <liburing.h>

#include <uscst/reactor.h>

int reactors_start(unsigned count);
void reactors_stop(void);
unsigned reactors_count(void);
/* An SQE to fill; submitted at the end of this loop iteration. NULL only if
 * the ring is full even after submitting.  Its user_data must point at the
 * struct uscst_file_io whose done() the completion calls. */
struct io_uring_sqe *reactor_get_sqe(struct reactor *r);

#endif
