/* Unit tests of the connection lock (shim/conn_lock.c): mutual exclusion
 * under contention (every contended lock sleeps on the futex and is woken
 * by an unlock), trylock, the deadline of conn_lock_unless, and
 * conn_lock_unless, which must not wait for a holder in the kernel.  A
 * wait that never ends is a failure too: unit.bats bounds the run. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "conn_lock.h"

#define THREADS 8
#define ROUNDS 200000

static int failures, checks;
static struct conn_lock lock = CONN_LOCK_INIT;
static unsigned long counter;	/* plain: only the lock protects it */
static atomic_ulong in_kernel, never;	/* never: a holder never in it */
static atomic_int stage;

static void check(int ok, const char *what)
{
	checks++;
	if (!ok) {
		failures++;
		printf("FAIL %s\n", what);
	}
}

static void *contend(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < ROUNDS; i++) {
		conn_lock(&lock);
		counter++;
		if (i % 64 == 0)
			sched_yield();	/* hold it a while: others sleep */
		conn_unlock(&lock);
	}
	return NULL;
}

static void wait_stage(int s)
{
	while (atomic_load(&stage) < s)
		sched_yield();
}

/* Holds the lock "in the kernel" until told to leave it, then holds it
 * for bookkeeping a little longer and lets it go. */
static void *holder(void *arg)
{
	struct timespec ms = { 0, 1000000 };

	(void)arg;
	conn_lock(&lock);
	atomic_store(&in_kernel, 1);
	atomic_store(&stage, 1);
	wait_stage(2);
	atomic_store(&in_kernel, 0);
	nanosleep(&ms, NULL);
	conn_unlock(&lock);
	return NULL;
}

static struct timespec in_ms(long ms)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_nsec += ms * 1000000;
	t.tv_sec += t.tv_nsec / 1000000000;
	t.tv_nsec %= 1000000000;
	return t;
}

int main(void)
{
	pthread_t t[THREADS];
	struct timespec soon;
	int i;

	for (i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, contend, NULL);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	check(counter == (unsigned long)THREADS * ROUNDS,
	      "every increment under the lock counted");
	check(atomic_load(&lock.word) == 0 && atomic_load(&lock.owner) == 0,
	      "free after the last unlock");

	check(conn_trylock(&lock), "trylock of a free lock");
	check(!conn_trylock(&lock), "trylock of a held lock fails");
	check(conn_lock_held(&lock), "held is seen");
	conn_unlock(&lock);
	check(!conn_lock_held(&lock), "free is seen");

	/* a holder in the kernel: neither call waits for it */
	pthread_create(&t[0], NULL, holder, NULL);
	wait_stage(1);
	soon = in_ms(20);
	check(!conn_lock_unless(&lock, &never, &soon),
	      "the deadline ends the wait");
	check(!conn_lock_unless(&lock, &in_kernel, NULL),
	      "no wait for a holder in the kernel");
	/* out of the kernel, still holding: wait for it */
	atomic_store(&stage, 2);
	while (atomic_load(&in_kernel) != 0)
		sched_yield();
	check(conn_lock_unless(&lock, &in_kernel, NULL),
	      "taken once the holder is out of the kernel and lets go");
	pthread_join(t[0], NULL);
	conn_unlock(&lock);
	soon = in_ms(20);
	check(conn_lock_unless(&lock, &never, &soon),
	      "a free lock before the deadline");
	conn_unlock(&lock);

	printf("%d checks, %d failed\n", checks, failures);
	return failures != 0;
}
