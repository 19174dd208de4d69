/* conn_lock.h - the per-side lock of a tracked connection: one atomic word
 * on a futex, not a pthread_mutex_t.  The uncontended lock and unlock are
 * one locked instruction each, inline, and a connection is smaller.  Not
 * recursive, as the default pthread mutex.  A holder may keep it in the
 * kernel, in the program's own blocking call (one lock a call, not two):
 * conn_lock_unless is for the callers that must not wait for that. */
#ifndef FORCECLOSE_CONN_LOCK_H
#define FORCECLOSE_CONN_LOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

/* word: 0 free; 1 held; 2 held, and a thread may be waiting (the unlock
 * wakes one).  owner remembers who holds it: the fork handler must not
 * wait for a lock the forking thread itself holds (a handler that forked
 * while a hook was running). */
struct conn_lock {
	atomic_uint word;
	atomic_ulong owner;	/* pthread_self() of the holder, or 0 */
};

#define CONN_LOCK_INIT { 0, 0 }

void conn_lock_wait(struct conn_lock *l);	/* the contended lock */
void conn_lock_wake(struct conn_lock *l);	/* the contended unlock */

static inline void conn_lock_init(struct conn_lock *l)
{
	atomic_store_explicit(&l->word, 0, memory_order_relaxed);
	atomic_store_explicit(&l->owner, 0, memory_order_relaxed);
}

static inline void conn_lock(struct conn_lock *l)
{
	unsigned free_ = 0;

	if (!atomic_compare_exchange_strong_explicit(&l->word, &free_, 1,
						     memory_order_acquire,
						     memory_order_relaxed))
		conn_lock_wait(l);
	atomic_store_explicit(&l->owner, (unsigned long)pthread_self(),
			      memory_order_relaxed);
}

/* false: another thread has it */
static inline bool conn_trylock(struct conn_lock *l)
{
	unsigned free_ = 0;

	if (!atomic_compare_exchange_strong_explicit(&l->word, &free_, 1,
						     memory_order_acquire,
						     memory_order_relaxed))
		return false;
	atomic_store_explicit(&l->owner, (unsigned long)pthread_self(),
			      memory_order_relaxed);
	return true;
}

static inline void conn_unlock(struct conn_lock *l)
{
	atomic_store_explicit(&l->owner, 0, memory_order_relaxed);
	if (atomic_exchange_explicit(&l->word, 0, memory_order_release) == 2)
		conn_lock_wake(l);
}

/* Was l held by some thread (at a fork)?  Its owner may lag behind the
 * word by an instruction or two: either one says so. */
static inline bool conn_lock_held(struct conn_lock *l)
{
	return atomic_load(&l->owner) != 0 || atomic_load(&l->word) != 0;
}

/* Takes l unless its holder is in the kernel (*in_kernel, which that
 * holder sets, is not 0: it may stay there for as long as its peer likes)
 * or the absolute CLOCK_MONOTONIC deadline (NULL: none) passes: waits in
 * slices of a millisecond, looking at *in_kernel between them. */
bool conn_lock_unless(struct conn_lock *l, atomic_ulong *in_kernel,
		      const struct timespec *deadline);

#endif
