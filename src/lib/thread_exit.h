/* Per-thread clean-up at thread exit, for per-thread caches (freelist.h).
 *
 * A module declares `static __thread struct thread_exit_hook hook =
 * {.fn = my_drain};` and calls thread_exit_arm(&hook) before it caches
 * anything on a thread; fn then runs when that thread exits (a pthread key
 * destructor), so the cache goes back to malloc and LeakSanitizer sees no
 * leak.  The main thread's caches are still reachable at exit. */
#ifndef USCST_LIB_THREAD_EXIT_H
#define USCST_LIB_THREAD_EXIT_H

#include <stdbool.h>

struct thread_exit_hook {
	void (*fn)(void);
	struct thread_exit_hook *next;
	bool armed;
};

void thread_exit_register(struct thread_exit_hook *h);

static inline void thread_exit_arm(struct thread_exit_hook *h)
{
	if (__builtin_expect(!h->armed, 0))
		thread_exit_register(h);
}

#endif
