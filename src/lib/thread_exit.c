#include "lib/thread_exit.h"

#include <pthread.h>

static pthread_key_t key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static __thread struct thread_exit_hook *hooks; /* armed on this thread */

/* The key's value is only a non-NULL marker that makes the destructor run;
 * the hooks are found in the thread's own list. */
static void run_hooks(void *marker)
{
	(void)marker;
	while (hooks) {
		struct thread_exit_hook *h = hooks;
		hooks = h->next;
		h->armed = false;
		h->fn();
	}
}

static void make_key(void) { pthread_key_create(&key, run_hooks); }

void thread_exit_register(struct thread_exit_hook *h)
{
	pthread_once(&key_once, make_key);
	h->armed = true;
	h->next = hooks;
	hooks = h;
	pthread_setspecific(key, &hooks);
}
