/* conn.c - connection objects: a pool of type-stable memory, reference
 * counts, locks that survive fork, and the socket's identity. */
#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include "config.h"
#include "fdtable.h"
#include "filter.h"
#include "log.h"
#include "real.h"
#include "stats.h"

/* Connections are carved from slabs that are never freed: a thread that
 * loaded a stale pointer from the table can still read its count (see
 * fdtable_acquire).  Buffers hang off them and are freed normally. */
#define SLAB_CONNS 64

static struct conn_lock pool_lock = CONN_LOCK_INIT;
static struct conn *pool_free;
static struct conn *pool_slabs[4096];	/* for the fork sweep */
static _Atomic unsigned pool_nslabs;
static struct conn *_Atomic pool_retired;	/* released, not yet reset */

/* Never released: its count starts at 1 and stays above 0. */
struct conn conn_closed = {
	.refs = 1,
	.flags = CONN_TORN_DOWN | CONN_CLOSED,
	.wlock = CONN_LOCK_INIT,
	.rlock = CONN_LOCK_INIT,
};

/* Torn-down descriptors the shim will close (FORCECLOSE_ACTION=close),
 * oldest first.  One is closed once CONN_CLOSE_WINDOW later teardowns
 * have happened AND CONN_CLOSE_AGE_NS have passed: teardowns are counted
 * across threads, and eight of them can happen between one thread's
 * last-byte read and its next read of the same number, which another
 * thread's socket() would meanwhile have been handed.  A full queue
 * gives up its oldest whatever its age (descriptors stay bounded). */
static struct {
	pthread_mutex_t lock;
	struct { int fd; struct conn *c; uint64_t at; } slot[CONN_CLOSE_QUEUE];
	unsigned head, len;
} close_window = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static void reset(struct conn *c);

/* A connection from the pool, ready for use.  Connections released since
 * the last call are reset here first (conn_put only retires them), and a
 * new slab's are reset as it is carved. */
static struct conn *conn_alloc(void)
{
	struct conn *c, *r = atomic_exchange(&pool_retired, NULL);
	unsigned n;

	conn_lock(&pool_lock);
	while (r != NULL) {
		c = r;
		r = r->next;
		reset(c);
		c->next = pool_free;
		pool_free = c;
	}
	n = atomic_load(&pool_nslabs);
	if (pool_free == NULL && n < sizeof pool_slabs / sizeof pool_slabs[0]) {
		struct conn *slab = calloc(SLAB_CONNS, sizeof *slab);
		int i;
		if (slab != NULL) {
			pool_slabs[n] = slab;
			atomic_store(&pool_nslabs, n + 1);
			for (i = SLAB_CONNS - 1; i >= 0; i--) {
				reset(&slab[i]);
				slab[i].next = pool_free;
				pool_free = &slab[i];
			}
		}
	}
	c = pool_free;
	if (c != NULL)
		pool_free = c->next;
	conn_unlock(&pool_lock);
	return c;
}

bool conn_tryget(struct conn *c)
{
	unsigned r = atomic_load(&c->refs);

	while (r != 0)
		if (atomic_compare_exchange_weak(&c->refs, &r, r + 1))
			return true;
	return false;
}

/* free() only what there is: most connections end with no buffer */
static void free_set(void *p)
{
	if (p != NULL)
		free(p);
}

static void reset(struct conn *c)
{
	free_set(c->held);
	free_set(c->pending);
	free_set(c->rheld);
	free_set(c->rout);
	free_set(c->obs.head);
	c->obs.head = NULL;
	c->obs.head_len = c->obs.head_cap = 0;
	c->held = c->pending = c->rheld = c->rout = NULL;
	c->held_len = c->held_cap = 0;
	c->pending_len = c->pending_off = c->pending_cap = c->head_sent = 0;
	c->rheld_len = c->rheld_cap = c->rheld_given = 0;
	c->rerr = 0;
	c->rout_len = c->rout_off = 0;
	c->rout_tail_queued = c->rout_ends_response = false;
	c->host_rule = 0;
	c->identity_lived = false;
	c->dest[0] = '\0';
	c->obs.dest = -1;
	/* no thread refers to c (pool lock, or a new slab): plain stores;
	 * fdtable_install's exchange publishes them */
	atomic_store_explicit(&c->awaiting_in, 0, memory_order_relaxed);
	atomic_store_explicit(&c->awaiting_out, 0, memory_order_relaxed);
	atomic_store_explicit(&c->flags, 0, memory_order_relaxed);
	http_request_init(&c->req);
	http_response_init(&c->resp);
}

/* The last reference retires c onto a lock-free stack: no free(), no
 * lock, so that close() stays async-signal-safe. */
void conn_put(struct conn *c)
{
	struct conn *top;

	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	observe_end(&c->obs);
	top = atomic_load(&pool_retired);
	do
		c->next = top;
	while (!atomic_compare_exchange_weak(&pool_retired, &top, c));
}

/* The request's Host decides (see FORCECLOSE_ONLY, _EXCEPT). */
static bool host_left_alone(const void *ctx, const uint8_t *host, size_t len)
{
	const struct conn *c = ctx;

	if (c->host_rule & CONN_HOST_ONLY &&
	    (host == NULL || !filter_match_host(&settings.only, host, len)))
		return true;
	return c->host_rule & CONN_HOST_EXCEPT && host != NULL &&
	       filter_match_host(&settings.except, host, len);
}

/* Should a connection to addr be tracked?  *host_rule says which Host
 * checks its requests still need. */
COLD static bool destination_filtered_in(const struct sockaddr *addr,
					 socklen_t len, uint8_t *host_rule)
{
	if (settings.has_except) {
		if (filter_match_addr(&settings.except, addr, len))
			return false;
		if (settings.except.n_hosts > 0)
			*host_rule |= CONN_HOST_EXCEPT;
	}
	if (settings.has_only && !filter_match_addr(&settings.only, addr, len)) {
		if (settings.only.n_hosts == 0)
			return false;
		*host_rule |= CONN_HOST_ONLY;
	}
	return true;
}

static inline bool destination_wanted(const struct sockaddr *addr,
				      socklen_t len, uint8_t *host_rule)
{
	*host_rule = 0;
	return likely(!config.filtered) ||
	       destination_filtered_in(addr, len, host_rule);
}

/* Is fd a stream socket, and what identifies it?  *lived: no inode taken,
 * see conn_same_socket.  A socket made by the library's socket() needs no
 * system call: its kind is on record.  Its inode is taken all the same
 * when the connection may carry more than one exchange (action none,
 * Host filters) or the library may close it (action close): there the
 * inode check guards a longer life than one exchange. */
COLD static bool connectable_checked(int fd, unsigned kind, dev_t *dev,
				     ino_t *ino)
{
	int type = 0;
	socklen_t tl = sizeof type;

	if (kind != FDKIND_STREAM &&
	    (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 ||
	     type != SOCK_STREAM))
		return false;
	return conn_socket_inode(fd, dev, ino);
}

/* Will the kernel name the peer as connect() was told (getpeername, for
 * conn_verify_socket)?  Not for a Unix path (it names the listener by the
 * path it was bound with, which may be another spelling: a symlink, a
 * relative path), nor for 0.0.0.0 or :: (it names the address it chose),
 * nor for an IPv6 address given in the short form of RFC 2133.  Those
 * take the inode, which is exact. */
static inline bool peer_named_as_given(const struct sockaddr *a,
				       socklen_t len)
{
	if (a->sa_family == AF_INET)
		return len >= sizeof(struct sockaddr_in) &&
		       ((const struct sockaddr_in *)a)->sin_addr.s_addr !=
			       htonl(INADDR_ANY);
	return a->sa_family == AF_INET6 &&
	       len >= sizeof(struct sockaddr_in6) &&
	       !IN6_IS_ADDR_UNSPECIFIED(
		       &((const struct sockaddr_in6 *)a)->sin6_addr) &&
	       !(IN6_IS_ADDR_V4MAPPED(
			 &((const struct sockaddr_in6 *)a)->sin6_addr) &&
		 ((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr32[3] ==
			 htonl(INADDR_ANY));
}

static inline bool connectable(int fd, const struct sockaddr *addr,
			       socklen_t len, dev_t *dev, ino_t *ino,
			       bool *lived)
{
	unsigned kind = fdtable_kind(fd);

	*lived = false;
	if (likely(kind == FDKIND_STREAM &&
		   config.action == CONN_ACTION_SHUTDOWN &&
		   !config.filtered && !conn_fds_shared() &&
		   peer_named_as_given(addr, len))) {
		*lived = true;
		return true;
	}
	return kind != FDKIND_OTHER && connectable_checked(fd, kind, dev, ino);
}

void conn_on_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	int saved = errno;
	struct conn *c, *old;
	uint8_t host_rule;
	dev_t dev = 0;
	ino_t ino = 0;
	bool lived;

	config_load();
	if (unlikely(!conn_table_mutable()))
		goto out;
	if (unlikely(config.disabled || addr == NULL ||
		     len < sizeof(sa_family_t) ||
		     (addr->sa_family != AF_INET &&
		      addr->sa_family != AF_INET6 &&
		      addr->sa_family != AF_UNIX)) ||
	    !connectable(fd, addr, len, &dev, &ino, &lived)) {
		fdtable_forget_stale(fd);
		goto out;
	}
	/* A second connect() polling a non-blocking connect keeps its state
	 * (a number on record never left the table since the first). */
	old = fdtable_peek(fd);
	if (unlikely(old != NULL && old != &conn_closed &&
		     (lived ? old->identity_lived :
			      old->dev == dev && old->ino == ino)))
		goto out;
	if (unlikely(!destination_wanted(addr, len, &host_rule))) {
		fdtable_forget_stale(fd);
		stats_add(&stats.connections_excluded, 1);
		if (log_on(LOG_DEBUG)) {
			char dest[CONN_DEST_MAX];
			log_format_dest(dest, sizeof dest, addr, len);
			log_event(LOG_DEBUG, dest, "excluded by filter", NULL, 0);
		}
		goto out;
	}
	c = conn_alloc();
	if (unlikely(c == NULL)) {
		fdtable_forget_stale(fd);
		goto out;
	}
	c->dev = dev;
	c->ino = ino;
	c->identity_fresh = true;
	c->identity_lived = lived;
	/* for conn_verify_socket, at the rare points */
	conn_peer_set(&c->peer, lived ? addr : NULL, len);
	c->host_rule = host_rule;
	if (unlikely(host_rule != 0)) {
		c->req.leave_host_alone = host_left_alone;
		c->req.host_ctx = c;
	}
	if (log_on(LOG_TEARDOWNS))
		log_format_dest(c->dest, sizeof c->dest, addr, len);
	c->req.observe = c->resp.observe = config.observe;
	observe_open(&c->obs, fd, addr, len);
	atomic_store_explicit(&c->refs, 1, memory_order_relaxed); /* as reset */
	stats_add(&stats.connections_tracked, 1);
	log_event(LOG_DEBUG, c->dest, "tracking connection", NULL, 0);
	fdtable_install(fd, c);
out:
	errno = saved;
}

void conn_gave_up(struct conn *c, int reason)
{
	if (atomic_fetch_or(&c->flags, CONN_GAVE_UP) & CONN_GAVE_UP)
		return;
	stats_add(&stats.given_up[reason], 1);
	observe_gave_up(&c->obs, reason);
	log_event(reason == GAVE_UP_NO_MEMORY ? LOG_ERRORS : LOG_DEBUG,
		  c->dest, "pass-through from now on (%s)",
		  stats_reason_name(reason),
		  strlen(stats_reason_name(reason)));
}

/* A call on a torn-down connection is answered from memory (read 0,
 * write EPIPE) only while the number is still the socket the teardown
 * shut down: one that was closed and made again where the library could
 * not see it gets the program's own call.  Without the library such a
 * call is a system call too; the common exchange ends with the read that
 * tears down and never gets here. */
struct conn *conn_acquire_active(int fd)
{
	struct conn *c;
	unsigned f;

	/* A connection that passes everything (a TLS socket, once its first
	 * read and write are seen) is answered without a reference: the call
	 * goes to libc, and a reference would not pin the number for it
	 * anyway (it may be closed and reused the moment after, with or
	 * without one).  Connections are never freed, so the load is safe. */
	if (conn_passes(fd))
		return NULL;
	c = fdtable_acquire(fd);
	if (c == NULL)
		return NULL;
	f = atomic_load(&c->flags);
	if (f & CONN_OPAQUE) {
		conn_put(c);
		return NULL;
	}
	/* between the teardown's flag and its shutdown() the socket is
	 * still open (and a writer's EPIPE then finds the flag): not asked */
	if ((f & (CONN_TORN_DOWN | CONN_SHUT | CONN_CLOSED)) ==
		    (CONN_TORN_DOWN | CONN_SHUT) &&
	    !conn_still_shut_down(c, fd)) {
		conn_forget_number(c, fd, false);
		conn_put(c);
		return NULL;
	}
	return c;
}

/* The connection this thread is in a write hook on (between enter and
 * leave: taking the lock, holding it, or in the kernel with it left), or
 * NULL.  A signal handler that writes to it on this thread cannot wait
 * for the hook it interrupted.  The signal fences keep the compiler from
 * moving these stores across the lock's operations. */
static __thread struct conn *writing_on
	__attribute__((tls_model("initial-exec")));

static void writing_ends(struct conn *c)
{
	atomic_signal_fence(memory_order_seq_cst);
	if (writing_on == c)
		writing_on = NULL;
}

COLD static struct conn *write_busy(struct conn *c)
{
	writing_ends(c);
	conn_put(c);
	return CONN_BUSY;
}

/* fd is no longer c's socket: the call is the program's, to pass. */
COLD static struct conn *write_enter_lost(struct conn *c, int fd)
{
	conn_unlock(&c->wlock);
	writing_ends(c);
	if (conn_table_mutable())
		fdtable_forget_if(fd, c);
	conn_put(c);
	return NULL;
}

struct conn *conn_write_enter(int fd, int flags)
{
	struct conn *c = conn_acquire_active(fd);

	if (c == NULL)
		return NULL;
	if (unlikely(writing_on == c)) {
		conn_put(c);
		return CONN_BUSY;	/* a handler on the writing thread */
	}
	if (writing_on == NULL)	/* (a handler's write to another
				   connection keeps its thread's mark) */
		writing_on = c;
	atomic_signal_fence(memory_order_seq_cst);
	if (!(flags & MSG_DONTWAIT)) {
		conn_lock(&c->wlock);
	} else if (!conn_trylock(&c->wlock)) {
		return write_busy(c);
	}
	while (unlikely(c->sending)) {
		/* another thread is writing (maybe blocked in the kernel):
		 * a call that must not wait fails as on a full socket */
		if (flags & MSG_DONTWAIT) {
			conn_unlock(&c->wlock);
			return write_busy(c);
		}
		conn_wait_turn(c);
	}
	/* Before each write of a request head: is fd still the socket that
	 * was connected?  Its number may have been reused behind our back
	 * (a close we could not see); head bytes held so far stay with the
	 * connection, for a descriptor that still refers to it. */
	if (unlikely(!c->identity_fresh) && !conn_torn_down(c) &&
	    c->req.phase == HTTP_REQ_HEAD && c->pending_len == 0 &&
	    !conn_same_socket(c, fd))
		return write_enter_lost(c, fd);
	/* the first head, written whole in the first call after connect,
	 * is the one a socket made by the library's socket() sends
	 * unchecked, as every socket did before issue 16 */
	c->verify_head = c->identity_lived && !c->identity_fresh;
	c->identity_fresh = false;
	return c;
}

void conn_wait_turn(struct conn *c)
{
	conn_turn_wait(&c->wturn, &c->wlock);
}

void conn_write_leave(struct conn *c)
{
	conn_unlock(&c->wlock);
	writing_ends(c);
	conn_put(c);
}

void conn_side_opaque(struct conn *c, unsigned side_flag)
{
	unsigned both = CONN_REQ_OPAQUE | CONN_RESP_OPAQUE;

	if (((atomic_fetch_or(&c->flags, side_flag) | side_flag) & both) == both)
		atomic_fetch_or(&c->flags, CONN_OPAQUE);
}

/* Closes fd if it still refers to c: the program has not closed it.  The
 * slot is claimed first (c -> the sentinel, atomically): a program's
 * close() that comes after the claim sees the sentinel and leaves the
 * number alone (conn_claim_close), one that came before made the claim
 * fail.  Exactly one party closes the number. */
static void close_if_unchanged(int fd, struct conn *c)
{
	struct conn *now = fdtable_acquire(fd);
	bool ours = now == c && conn_same_socket(c, fd) && conn_table_mutable();

	if (now != NULL)
		conn_put(now);
	if (!ours || (unsigned)fd >= FDTABLE_SIZE)
		return;
	conn_tryget(&conn_closed);
	if (!atomic_compare_exchange_strong(&fdtable_slots[fd], &now,
					    &conn_closed)) {
		conn_put(&conn_closed);
		return;
	}
	conn_put(c);	/* the slot's reference */
	fdtable_set_kind(fd, FDKIND_UNKNOWN);
	REAL(close)(fd);
}

bool conn_claim_close(int fd)
{
	struct conn *old;

	if ((unsigned)fd >= FDTABLE_SIZE)
		return false;
	old = atomic_exchange(&fdtable_slots[fd], NULL);
	if (old == NULL)
		return false;
	if (old != &conn_closed)
		observe_closed(&old->obs);
	conn_put(old);
	return old == &conn_closed;
}

void conn_close_later(struct conn *c, int fd)
{
	struct { int fd; struct conn *c; } due[4];
	unsigned n = 0, i;
	uint64_t now = now_ns();

	pthread_mutex_lock(&close_window.lock);
	while (n < 4 && close_window.len >= CONN_CLOSE_WINDOW) {
		i = close_window.head;
		if (close_window.len < CONN_CLOSE_QUEUE &&
		    now - close_window.slot[i].at < CONN_CLOSE_AGE_NS)
			break;
		due[n].fd = close_window.slot[i].fd;
		due[n++].c = close_window.slot[i].c;
		close_window.head = (i + 1) % CONN_CLOSE_QUEUE;
		close_window.len--;
	}
	i = (close_window.head + close_window.len++) % CONN_CLOSE_QUEUE;
	close_window.slot[i].fd = fd;
	close_window.slot[i].c = c;
	close_window.slot[i].at = now;
	conn_tryget(c);		/* the queue's reference */
	pthread_mutex_unlock(&close_window.lock);
	for (i = 0; i < n; i++) {
		close_if_unchanged(due[i].fd, due[i].c);
		conn_put(due[i].c);
	}
}

/* ---- fork ----
 *
 * No owed byte crosses a fork, and the child's one thread finds every lock
 * free.  The prepare handler sends what each tracked descriptor owes the
 * wire, without waiting, under that connection's writer lock (taken one
 * at a time: a lock is never held across a blocking call, so this waits
 * for nothing but a few non-blocking system calls).  Bytes owed at the
 * fork all the same (the socket would not take them, another thread is
 * sending them, or owed again since) are the parent's alone: the child
 * drops its copy and leaves that connection's writes alone, so it never
 * sends them a second time.  A connection whose lock some thread held at
 * the fork was mid-update: the child gives it up.  A lock the forking
 * thread itself holds (a signal handler forked inside a hook), or one not
 * taken within FORK_LOCK_WAIT_S in all, is not waited for. */
#define FORK_LOCK_WAIT_S 1

/* A writer in the kernel with the lock left (sending) owns the bytes it
 * sends: they count as owed, for the parent alone. */
static bool owes_wire(const struct conn *c)
{
	return c->sending || c->pending_off < c->pending_len ||
	       c->head_sent < c->held_len;
}

/* Sends what c owes the wire without waiting; held head bytes that go
 * out are marked sent (head_sent), as after a short write. */
static void flush_for_fork(struct conn *c, int fd)
{
	ssize_t s;

	while (c->pending_off < c->pending_len) {
		s = REAL(send)(fd, c->pending + c->pending_off,
			       c->pending_len - c->pending_off,
			       MSG_DONTWAIT | MSG_NOSIGNAL);
		if (s <= 0)
			return;
		c->pending_off += (size_t)s;
	}
	while (c->head_sent < c->held_len) {
		s = REAL(send)(fd, c->held + c->head_sent,
			       c->held_len - c->head_sent,
			       MSG_DONTWAIT | MSG_NOSIGNAL);
		if (s <= 0)
			return;
		c->head_sent += (size_t)s;
	}
}

static void flush_fd_for_fork(int fd, const struct timespec *deadline)
{
	struct conn *c = fdtable_acquire(fd);

	if (c == NULL)
		return;
	if (c != &conn_closed &&
	    atomic_load(&c->wlock.owner) != (unsigned long)pthread_self() &&
	    conn_lock_until(&c->wlock, deadline)) {
		if (!c->sending && owes_wire(c) && !conn_torn_down(c) &&
		    conn_verify_socket(c, fd))
			flush_for_fork(c, fd);
		conn_unlock(&c->wlock);
	}
	conn_put(c);
}

void conn_atfork_prepare(void)
{
	unsigned fd, high = fdtable_high();
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += FORK_LOCK_WAIT_S;
	/* not in a vfork child: its sockets are not ours */
	for (fd = 0; fd <= high && conn_table_mutable(); fd++)
		if (fdtable_peek((int)fd) != NULL)
			flush_fd_for_fork((int)fd, &deadline);
	pthread_mutex_lock(&close_window.lock);
	conn_lock(&pool_lock);
}

void conn_atfork_parent(void)
{
	conn_unlock(&pool_lock);
	pthread_mutex_unlock(&close_window.lock);
}

#define EACH_CONN(c)                                                        \
	for (unsigned s_ = 0, n_ = atomic_load(&pool_nslabs); s_ < n_; s_++) \
		for (struct conn *c = pool_slabs[s_];                         \
		     c < pool_slabs[s_] + SLAB_CONNS; c++)

/* The child has one thread: every lock is re-created free. */
void conn_atfork_child(void)
{
	/* a fork from a handler that interrupted a write hook: the child's
	 * locks are free, and its connection's request side is given up
	 * below; its later writes must not all be refused as the handler's */
	writing_on = NULL;
	conn_pid_reset();
	stats_reset();
	observe_reset();
	conn_lock_init(&pool_lock);
	pthread_mutex_init(&close_window.lock, NULL);
	conn_lock_init(&conn_closed.wlock);
	conn_lock_init(&conn_closed.rlock);
	conn_turn_init(&conn_closed.wturn);
	conn_turn_init(&conn_closed.rturn);
	EACH_CONN(c) {
		bool wheld = conn_lock_held(&c->wlock);
		/* a reader in the kernel (receiving) has the lock left: the
		 * bytes it takes are the parent's */
		bool rheld = conn_lock_held(&c->rlock) || c->receiving != 0;

		conn_lock_init(&c->wlock);
		conn_lock_init(&c->rlock);
		conn_turn_init(&c->wturn);
		conn_turn_init(&c->rturn);
		c->receiving = 0;
		if (!wheld && !rheld && !owes_wire(c))
			continue;
		/* the parent's bytes, or a state some thread was changing */
		c->sending = false;
		c->pending_len = c->pending_off = 0;
		c->held_len = c->head_sent = 0;
		http_request_give_up(&c->req);
		atomic_fetch_or(&c->flags, CONN_REQ_OPAQUE);
		if (!wheld && !rheld)
			continue;
		c->rerr = 0;
		c->rout_len = c->rout_off = c->rheld_len = 0;
		c->rheld_given = 0;
		http_response_give_up(&c->resp);
		atomic_fetch_or(&c->flags, CONN_OPAQUE);
	}
}
