/* conn.h - one tracked connection: the request side (this file's writer
 * half) and, separately locked, the response side, so that a reader blocked
 * in read() never stops a writer.  The interposition layer calls these; it
 * knows nothing of HTTP. */
#ifndef FORCECLOSE_CONN_H
#define FORCECLOSE_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "http_request.h"

/* A mutex that remembers whether it is held, so a forked child can tell
 * which locks were held by threads that no longer exist. */
struct conn_lock {
	pthread_mutex_t mutex;
	atomic_bool held;
};

void conn_lock(struct conn_lock *l);
void conn_unlock(struct conn_lock *l);

/* conn.flags */
enum {
	CONN_OPAQUE = 1u << 0,	/* nothing owed, nothing to track: every
				   call goes straight to libc */
};

struct conn {
	atomic_uint refs;	/* 0: free, in the pool */
	atomic_uint flags;
	dev_t dev;		/* identity of the connected socket */
	ino_t ino;
	struct conn *next;	/* pool chain (all / free) */

	/* request side, under wlock */
	struct conn_lock wlock;
	struct http_request_stream req;
	uint8_t *held;		/* an unfinished request head */
	size_t held_len, held_cap;
	uint8_t *pending;	/* bytes owed to the wire before any further
				   program byte (a rewritten head) */
	size_t pending_len, pending_off;
};

/* Reference counting (see fdtable.h for the discipline). */
bool conn_tryget(struct conn *c);
void conn_put(struct conn *c);

/* Is fd still the socket that was connected?  (errno is kept) */
bool conn_same_socket(const struct conn *c, int fd);

/* A connect() on fd succeeded or is in progress. */
void conn_on_connect(int fd, const struct sockaddr *addr, socklen_t len);

/* False in a vfork child (it shares our memory but not our descriptors):
 * hooks that change the table must not run there. */
bool conn_table_mutable(void);

/* The write side of fd, locked, or NULL when the call should go straight
 * to libc (untracked, opaque, or fd is no longer the connected socket). */
struct conn *conn_write_enter(int fd);
void conn_write_leave(struct conn *c);

/* Sends the program's bytes through the rewriter.  Called between enter
 * and leave.  Returns what write()/sendmsg() would: program bytes. */
ssize_t conn_write(struct conn *c, int fd, const struct iovec *iov,
		   int iovcnt, int flags);

/* Bytes are about to move where the shim cannot read them (sendfile,
 * splice).  When `count` bytes fit in the current body they are counted;
 * otherwise what is owed is flushed and the connection given up.  Returns
 * 0, then call the real function and conn_write_unseen_done() with its
 * result; or -1 with errno when flushing what was owed failed. */
int conn_write_unseen(struct conn *c, int fd, size_t count);
void conn_write_unseen_done(struct conn *c, ssize_t sent);

/* Flushes what is owed and stops rewriting this connection for good.
 * Called between enter and leave.  Returns 0, or -1 with errno when the
 * owed bytes could not be sent. */
int conn_give_up(struct conn *c, int fd, int flags);

/* The program closes fd: owed bytes go out (best effort) first. */
void conn_flush_on_close(int fd);

/* stdio (fdopen) takes over fd's writes: flush and stop rewriting. */
void conn_stop_tracking_writes(int fd);

/* Fork handlers (registered by the constructor). */
void conn_atfork_prepare(void);
void conn_atfork_parent(void);
void conn_atfork_child(void);

#endif
