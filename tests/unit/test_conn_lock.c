/* Unit tests of the connection lock (shim/conn_lock.c): mutual exclusion
 * under contention (every contended lock sleeps on the futex and is woken
 * by an unlock), trylock, the deadline of conn_lock_until, and a turn (a
 * waiter, asleep with the lock left, woken by the pass).  A wait that
 * never ends is a failure too: unit.bats bounds the run. */
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

/* Holds the lock until told to let it go. */
static void *holder(void *arg)
{
	(void)arg;
	conn_lock(&lock);
	atomic_store(&stage, 1);
	wait_stage(2);
	conn_unlock(&lock);
	return NULL;
}

/* A turn, as a writer waits for another that is in the kernel with the
 * lock left: the waiter sleeps under the lock until `busy` is cleared
 * and the turn passed. */
static struct conn_turn turn;
static bool busy;	/* under the lock */

static void *turn_waiter(void *arg)
{
	(void)arg;
	conn_lock(&lock);
	atomic_store(&stage, 3);
	while (busy)
		conn_turn_wait(&turn, &lock);
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

	/* another holder: the deadline ends the wait */
	pthread_create(&t[0], NULL, holder, NULL);
	wait_stage(1);
	soon = in_ms(20);
	check(!conn_lock_until(&lock, &soon), "the deadline ends the wait");
	atomic_store(&stage, 2);
	pthread_join(t[0], NULL);
	soon = in_ms(20);
	check(conn_lock_until(&lock, &soon), "a free lock before the deadline");

	/* a turn: the waiter sleeps with the lock left, and wakes once passed */
	conn_turn_init(&turn);
	busy = true;
	conn_unlock(&lock);
	pthread_create(&t[0], NULL, turn_waiter, NULL);
	wait_stage(3);
	for (;;) {	/* until it sleeps on the turn (its count, under the lock) */
		conn_lock(&lock);
		if (turn.waiters > 0)
			break;
		conn_unlock(&lock);
		sched_yield();
	}
	busy = false;
	conn_turn_pass(&turn);
	conn_unlock(&lock);
	pthread_join(t[0], NULL);
	check(turn.waiters == 0 && !conn_lock_held(&lock),
	      "the waiter woke on the pass and left");

	printf("%d checks, %d failed\n", checks, failures);
	return failures != 0;
}
