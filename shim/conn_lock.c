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

#define SLICE_NS 1000000

static bool passed(const struct timespec *now, const struct timespec *t)
{
	return now->tv_sec > t->tv_sec ||
	       (now->tv_sec == t->tv_sec && now->tv_nsec >= t->tv_nsec);
}

/* One wait of a slice at most (a relative timeout: CLOCK_MONOTONIC, so a
 * step of the wall clock does not stretch it), then one more look.  On
 * a failure the word stays 2: the holder's unlock then makes one futex
 * call too many, which is harmless. */
static bool take_within_slice(struct conn_lock *l)
{
	static const struct timespec slice = { 0, SLICE_NS };

	if (atomic_exchange_explicit(&l->word, 2, memory_order_acquire) == 0)
		return true;
	futex(&l->word, FUTEX_WAIT_PRIVATE, 2, &slice);
	return atomic_exchange_explicit(&l->word, 2, memory_order_acquire) == 0;
}

bool conn_lock_unless(struct conn_lock *l, atomic_ulong *in_kernel,
		      const struct timespec *deadline)
{
	struct timespec now;
	int saved = errno;
	bool got = false;

	if (conn_trylock(l))
		return true;
	while (atomic_load_explicit(in_kernel, memory_order_relaxed) == 0) {
		if (deadline != NULL) {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (passed(&now, deadline))
				break;
		}
		if (take_within_slice(l)) {
			atomic_store_explicit(&l->owner,
					      (unsigned long)pthread_self(),
					      memory_order_relaxed);
			got = true;
			break;
		}
	}
	errno = saved;
	return got;
}
