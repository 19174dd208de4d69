/* conn_lock.c - the contended paths of conn_lock.h: futex waits and
 * wakes (Drepper, "Futexes Are Tricky", mutex 3).  Private futexes: a
 * connection's memory is never shared with another process. */
#define _GNU_SOURCE
#include "conn_lock.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

/* (In the library this is its own syscall() hook, which passes futex
 * calls on to libc's untouched.) */
static long futex(atomic_uint *word, int op, unsigned val,
		  const struct timespec *t)
{
	return syscall(SYS_futex, word, op, val, t, NULL,
		       FUTEX_BITSET_MATCH_ANY);
}

void conn_lock_wait(struct conn_lock *l)
{
	int saved = errno;

	/* 2: the holder's unlock must wake someone */
	while (atomic_exchange_explicit(&l->word, 2, memory_order_acquire) != 0)
		futex(&l->word, FUTEX_WAIT_PRIVATE, 2, NULL);
	errno = saved;
}

void conn_lock_wake(struct conn_lock *l)
{
	int saved = errno;

	futex(&l->word, FUTEX_WAKE_PRIVATE, 1, NULL);
	errno = saved;
}

bool conn_lock_until(struct conn_lock *l, const struct timespec *deadline)
{
	int saved = errno;
	bool got = true;

	if (conn_trylock(l))
		return true;
	while (atomic_exchange_explicit(&l->word, 2, memory_order_acquire) != 0)
		/* (a bitset wait's absolute deadline is CLOCK_MONOTONIC's) */
		if (futex(&l->word, FUTEX_WAIT_BITSET_PRIVATE, 2, deadline) != 0 &&
		    errno == ETIMEDOUT) {
			/* the word stays 2: the holder's unlock then makes
			 * one futex call too many, which is harmless */
			got = false;
			break;
		}
	if (got)
		atomic_store_explicit(&l->owner, (unsigned long)pthread_self(),
				      memory_order_relaxed);
	errno = saved;
	return got;
}

void conn_turn_wait(struct conn_turn *t, struct conn_lock *l)
{
	/* read under the lock: a pass after the unlock changes it, and the
	 * futex wait then returns at once (no lost wake-up) */
	unsigned seq = atomic_load_explicit(&t->seq, memory_order_relaxed);
	int saved = errno;

	t->waiters++;
	conn_unlock(l);
	futex(&t->seq, FUTEX_WAIT_PRIVATE, seq, NULL);
	conn_lock(l);
	t->waiters--;
	errno = saved;
}

void conn_turn_wake(struct conn_turn *t)
{
	int saved = errno;

	atomic_fetch_add_explicit(&t->seq, 1, memory_order_relaxed);
	futex(&t->seq, FUTEX_WAKE_PRIVATE, INT_MAX, NULL);
	errno = saved;
}
