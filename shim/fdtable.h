/* fdtable.h - descriptor number -> tracked connection.
 *
 * A flat array indexed by descriptor, in BSS: pages are only touched when
 * a descriptor near them is tracked.  Looking up an untracked descriptor is
 * a bounds check and one atomic load.  Each slot holds a reference to its
 * connection; fdtable_acquire hands out a further reference that stays
 * valid even if another thread closes the descriptor meanwhile. */
#ifndef FORCECLOSE_FDTABLE_H
#define FORCECLOSE_FDTABLE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct conn;

/* Descriptors at or above this are never tracked (they pass through). */
#define FDTABLE_SIZE (1 << 20)

extern struct conn *_Atomic fdtable_slots[FDTABLE_SIZE];

static inline struct conn *fdtable_peek(int fd)
{
	if ((unsigned)fd >= FDTABLE_SIZE)
		return NULL;
	return atomic_load_explicit(&fdtable_slots[fd], memory_order_acquire);
}

/* A counted reference to fd's connection, or NULL; conn_put() it. */
struct conn *fdtable_acquire(int fd);

/* Makes fd refer to c, taking over the caller's reference to c. */
void fdtable_install(int fd, struct conn *c);

/* fd no longer refers to anything (closed, or reused behind our back). */
void fdtable_forget(int fd);

/* The same, only while fd still refers to c: another thread may have
 * installed a new connection at that number meanwhile. */
bool fdtable_forget_if(int fd, struct conn *c);

/* Cheap when fd is untracked: for every call that creates a descriptor. */
static inline void fdtable_forget_stale(int fd)
{
	if (fdtable_peek(fd) != NULL)
		fdtable_forget(fd);
}

/* The highest descriptor ever installed (bounds sweeps of the table). */
unsigned fdtable_high(void);

/* What the library saw create a descriptor number, kept in a byte per
 * number beside the slots (the slots stay NULL for untracked sockets, so
 * the idle path is untouched).  connect() needs no system call to learn
 * the type of a socket made by the library's socket() (docs/internals.md,
 * "What a descriptor number is").  A record lives from the call that
 * creates the number to the next close, dup2/dup3 onto it, close_range,
 * closefrom or fdopen the library sees; every descriptor creator it sees
 * clears a stale one.  FDKIND_UNKNOWN (inherited, made before the library
 * was loaded, or by a call it cannot see): connect() asks the kernel. */
enum { FDKIND_UNKNOWN = 0, FDKIND_STREAM = 1, FDKIND_OTHER = 2 };

extern unsigned char _Atomic fdtable_kinds[FDTABLE_SIZE];

static inline unsigned fdtable_kind(int fd)
{
	if ((unsigned)fd >= FDTABLE_SIZE)
		return FDKIND_UNKNOWN;
	return atomic_load_explicit(&fdtable_kinds[fd], memory_order_acquire);
}

/* Records kind for fd (callers check conn_table_mutable first). */
void fdtable_set_kind(int fd, unsigned kind);

/* The highest descriptor ever given a kind (bounds close_range sweeps). */
unsigned fdtable_kind_high(void);

#endif
