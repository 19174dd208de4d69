/* engine_conn.h - one TCP socket the engine placed in the program: the
 * request rewriter and response tracker around the supervisor's own
 * system calls on a duplicate of the program's descriptor.  Keyed by the
 * socket's cookie (SO_COOKIE: unique for the boot, never reused), so
 * threads, forked children and dup'ed numbers all find the same state. */
#ifndef FORCECLOSE_ENGINE_CONN_H
#define FORCECLOSE_ENGINE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct econn;

/* A new socket: tracked from now on; returned with a reference for the
 * caller.  NULL when out of memory. */
struct econn *econn_new(uint64_t cookie);

/* The placeholder that FORCECLOSE_ACTION=close puts at a torn-down
 * socket's number (engine_sock.c): tracked for good and torn down from
 * the start, so reads there return 0 and writes fail with EPIPE, never
 * SIGPIPE.  NULL when out of memory. */
struct econn *econn_new_dead(uint64_t cookie);

/* Torn down by the engine under action close: the number a call names
 * is to be swapped for the placeholder (every number, in every process,
 * that still holds the socket, at its next call; not again once a swap
 * has failed).  Then the log line, or the failure. */
bool econn_wants_swap(const struct econn *c);
void econn_swapped(const struct econn *c);
void econn_swap_failed(struct econn *c);

/* The socket's state with a reference, or NULL (not ours, or gone). */
struct econn *econn_find(uint64_t cookie);
void econn_put(struct econn *c);

/* The same by the socket's inode (set once placed), for when the
 * supervisor cannot hold a duplicate to read the cookie from: a search of
 * the whole table, only on that path. */
void econn_set_ino(struct econn *c, unsigned long ino);
struct econn *econn_find_ino(unsigned long ino);

/* The engine could not reach the socket (no duplicate to be had): bytes
 * it holds or owes cannot be placed, so the program's calls on it fail
 * with ECONNRESET from now on, until it closes it (econn_drop). */
void econn_lost(struct econn *c);
bool econn_is_lost(const struct econn *c);
void econn_drop(struct econn *c);

/* The program closes a descriptor of the socket (fd, the supervisor's
 * duplicate): held bytes go out first; the state is dropped. */
void econn_closed(struct econn *c, int fd);

/* Bytes are about to move where the engine cannot see them: flush what
 * is held and pass everything through from now on. */
void econn_give_up_unseen(struct econn *c, int fd);

/* The engine shut the connection down (its EPIPE is not the kernel's). */
bool econn_torn_down(const struct econn *c);

/* Both sides pass through: trapped calls can simply continue. */
bool econn_opaque(const struct econn *c);

/* The program writes n bytes (already copied out of it) with send flags.
 * Never waits for the socket except to finish a rewritten head.  Returns
 * the program bytes taken, or -errno (-EAGAIN: wait for POLLOUT). */
long econn_write(struct econn *c, int fd, const uint8_t *buf, size_t n,
		 int flags);

/* The program reads up to n bytes with recv flags into out.  Returns the
 * count, 0 at end of file, or -errno: -EAGAIN wait for POLLIN, and
 * ECONN_MORE: bytes are queued but not yet a whole response head, wait
 * for more to arrive. */
#define ECONN_MORE (-100000L)
long econn_read(struct econn *c, int fd, uint8_t *out, size_t n, int flags);

/* Process-wide settings as the library reads them (engine_conf.c). */
void engine_conf_load(void);

#endif
