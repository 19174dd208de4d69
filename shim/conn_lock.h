/* conn_lock.h - the per-side lock of a tracked connection, and the turn a
 * waiter waits for while another thread is in the kernel with the lock
 * left.  One atomic word each on a futex, not pthread_mutex_t and
 * pthread_cond_t: the uncontended lock and unlock are one locked
 * instruction each, inline (an exchange takes five of each), and a
 * connection is 160 bytes smaller.  Not recursive, as the default pthread mutex. */
#ifndef FORCECLOSE_CONN_LOCK_H
#define FORCECLOSE_CONN_LOCK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include "cold.h"

/* word: 0 free; 1 held; 2 held, and a thread may be waiting (the unlock
 * wakes one).  owner remembers who holds it: the fork handler must not
 * wait for a lock the forking thread itself holds (a handler that forked
 * while a hook was running). */
struct conn_lock {
	atomic_uint word;
	atomic_ulong owner;	/* pthread_self() of the holder, or 0 */
};

#define CONN_LOCK_INIT { 0, 0 }

COLD void conn_lock_wait(struct conn_lock *l);	/* the contended lock */
COLD void conn_lock_wake(struct conn_lock *l);	/* the contended unlock */

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

/* Takes l unless the absolute CLOCK_MONOTONIC deadline passes first (a
 * step of the wall clock neither stretches nor cuts the wait). */
bool conn_lock_until(struct conn_lock *l, const struct timespec *deadline);

/* Was l held by some thread (at a fork)?  Its owner may lag behind the
 * word by an instruction or two: either one says so. */
static inline bool conn_lock_held(struct conn_lock *l)
{
	return atomic_load(&l->owner) != 0 || atomic_load(&l->word) != 0;
}

/* A turn: waiters (under the lock) wait until the thread in the kernel
 * passes it (under the lock).  Wake-ups may be spurious: callers wait in
 * a loop on their own condition, as with a condition variable. */
struct conn_turn {
	atomic_uint seq;	/* the futex: bumped by each pass */
	unsigned waiters;	/* under the lock */
};

/* Called with l held; returns with l held. */
COLD void conn_turn_wait(struct conn_turn *t, struct conn_lock *l);
COLD void conn_turn_wake(struct conn_turn *t);

/* Called with l held: wakes the waiters, if there are any. */
static inline void conn_turn_pass(struct conn_turn *t)
{
	if (t->waiters > 0)
		conn_turn_wake(t);
}

static inline void conn_turn_init(struct conn_turn *t)
{
	atomic_store_explicit(&t->seq, 0, memory_order_relaxed);
	t->waiters = 0;
}

#endif
