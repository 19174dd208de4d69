#define _GNU_SOURCE
/* fdtable.c - the slot array and its reference discipline. */
#include "fdtable.h"

#include "conn.h"

struct conn *_Atomic fdtable_slots[FDTABLE_SIZE];

unsigned char _Atomic fdtable_kinds[FDTABLE_SIZE];

/* Highest descriptor ever installed: bounds the range sweeps. */
static _Atomic unsigned high_water, kind_high_water;

static void raise_high(_Atomic unsigned *high, int fd)
{
	unsigned h = atomic_load_explicit(high, memory_order_relaxed);

	while ((unsigned)fd > h &&
	       !atomic_compare_exchange_weak(high, &h, (unsigned)fd))
		;
}

struct conn *fdtable_acquire(int fd)
{
	struct conn *c = fdtable_peek(fd);

	/* The connection's memory is never returned to malloc, so reading
	 * its count is safe even if it was released meanwhile; the re-check
	 * rejects a connection recycled for another descriptor. */
	if (c == NULL || !conn_tryget(c))
		return NULL;
	if (fdtable_peek(fd) != c) {
		conn_put(c);
		return NULL;
	}
	return c;
}

void fdtable_install(int fd, struct conn *c)
{
	struct conn *old;

	if ((unsigned)fd >= FDTABLE_SIZE) {
		conn_put(c);
		return;
	}
	raise_high(&high_water, fd);
	old = atomic_exchange(&fdtable_slots[fd], c);
	if (old != NULL)
		conn_put(old);
}

void fdtable_forget(int fd)
{
	struct conn *old;

	if ((unsigned)fd >= FDTABLE_SIZE)
		return;
	old = atomic_exchange(&fdtable_slots[fd], NULL);
	if (old != NULL)
		conn_put(old);
}

bool fdtable_forget_if(int fd, struct conn *c)
{
	if ((unsigned)fd >= FDTABLE_SIZE ||
	    !atomic_compare_exchange_strong(&fdtable_slots[fd], &c, NULL))
		return false;
	conn_put(c);
	return true;
}

unsigned fdtable_high(void)
{
	return atomic_load(&high_water);
}

/* A clear is skipped when there is nothing to clear: most numbers never
 * held a socket, and their page of the array is never written. */
void fdtable_set_kind(int fd, unsigned kind)
{
	if ((unsigned)fd >= FDTABLE_SIZE || fdtable_kind(fd) == kind)
		return;
	if (kind != FDKIND_UNKNOWN)
		raise_high(&kind_high_water, fd);
	atomic_store_explicit(&fdtable_kinds[fd], (unsigned char)kind,
			      memory_order_release);
}

unsigned fdtable_kind_high(void)
{
	return atomic_load(&kind_high_water);
}
