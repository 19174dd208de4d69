/* conn_lock.c - the contended paths of conn_lock.h: futex waits and
 * wakes (Drepper, "Futexes Are Tricky", mutex 3).  Private futexes: a
 * connection's memory is never shared with another process. */
#define _GNU_SOURCE
#include "conn_lock.h"

#include <errno.h>
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
		if (futex(&l->word, FUTEX_WAIT_BITSET_PRIVATE |
				     FUTEX_CLOCK_REALTIME,
			  2, deadline) != 0 &&
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

#define SLICE_NS 1000000

static bool passed(const struct timespec *now, const struct timespec *t)
{
	return now->tv_sec > t->tv_sec ||
	       (now->tv_sec == t->tv_sec && now->tv_nsec >= t->tv_nsec);
}

bool conn_lock_unless(struct conn_lock *l, atomic_ulong *in_kernel,
		      const struct timespec *deadline)
{
	struct timespec slice;

	if (conn_trylock(l))
		return true;
	while (atomic_load_explicit(in_kernel, memory_order_relaxed) == 0) {
		clock_gettime(CLOCK_REALTIME, &slice);
		if (deadline != NULL && passed(&slice, deadline))
			return false;
		slice.tv_nsec += SLICE_NS;
		if (slice.tv_nsec >= 1000000000) {
			slice.tv_sec++;
			slice.tv_nsec -= 1000000000;
		}
		if (deadline != NULL && passed(&slice, deadline))
			slice = *deadline;
		if (conn_lock_until(l, &slice))
			return true;
	}
	return false;
}
