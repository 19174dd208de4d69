/* conn.h - one tracked connection: the request side (this file's writer
 * half) and, separately locked, the response side, so that a reader blocked
 * in read() never stops a writer.  The interposition layer calls these; it
 * knows nothing of HTTP. */
#ifndef FORCECLOSE_CONN_H
#define FORCECLOSE_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "cold.h"
#include "conn_lock.h"
#include "fdtable.h"
#include "http_request.h"
#include "http_response.h"
#include "observe.h"

/* conn.flags */
enum {
	CONN_REQ_OPAQUE = 1u << 0,	/* request side: nothing owed, and
					   nothing more to rewrite */
	CONN_RESP_OPAQUE = 1u << 1,	/* response side: likewise */
	CONN_OPAQUE = 1u << 2,		/* both: every call goes straight to
					   libc */
	CONN_TORN_DOWN = 1u << 3,	/* reads return 0, writes EPIPE */
	CONN_CLOSED = 1u << 4,		/* the shim closed this descriptor
					   (the sentinel only) */
	CONN_RESP_LOST = 1u << 5,	/* too many requests in flight to pair
					   responses with: give up on them */
	CONN_GAVE_UP = 1u << 6,		/* counted as given up (once) */
	CONN_RESP_GAVE_UP = 1u << 7,	/* the response side gave up: the
					   request side does too, at its next
					   call (pass-through for good) */
	CONN_TLS = 1u << 8,		/* began with a TLS handshake: both
					   sides pass, not counted as a
					   give-up (tls_*.c sees the HTTP) */
	CONN_SHUT = 1u << 9,		/* the teardown's shutdown() returned:
					   only from then on can a call ask
					   the kernel whether the number is
					   still that socket (before it, the
					   socket is still open) */
};

/* conn.host_rule: which Host filters apply to this connection's requests */
enum {
	CONN_HOST_ONLY = 1u << 0,	/* Host must match FORCECLOSE_ONLY */
	CONN_HOST_EXCEPT = 1u << 1,	/* Host must not match _EXCEPT */
};

#define CONN_DEST_MAX 64	/* destination text for log lines */

/* Requests awaiting their responses, in order (pipelining). */
#define CONN_AWAITING_MAX 16

/* Where connect() sent a connection, compact (a sockaddr_storage is 128
 * bytes, and there is one of these per tracked connection): family, port
 * and address of an IP peer; a Unix peer's path as its length and a
 * 64-bit hash (an abstract name: the first byte of addr says so). */
struct conn_peer {
	sa_family_t family;	/* AF_UNSPEC: none recorded, matches nothing */
	uint16_t port;		/* IP: network order; Unix: path length */
	uint8_t addr[16];	/* IPv4: 4 bytes; IPv6: 16; Unix: flag, hash */
};

struct conn {
	atomic_uint refs;	/* 0: free, in the pool */
	atomic_uint flags;
	dev_t dev;		/* identity of the connected socket */
	ino_t ino;
	bool identity_fresh;	/* checked by connect(), not used since */
	bool identity_lived;	/* no dev/ino: the socket was made by the
				   library's socket() and its number never
				   left the table since (conn_same_socket) */
	bool verify_head;	/* identity_lived: a head completed in this
				   write call is checked before it goes out
				   (not the first head, written whole in the
				   first call after connect) */
	struct conn_peer peer;	/* identity_lived: what connect() was
				   given, for the checks at rare points */
	uint8_t host_rule;
	char dest[CONN_DEST_MAX];	/* empty unless logging */
	struct observe_conn obs;	/* FORCECLOSE_MODE=observe */
	struct conn *next;	/* pool chain (all / free) */

	/* request side, under wlock */
	struct conn_lock wlock;
	bool sending;		/* a writer is in the kernel with the lock
				   left; others wait for their turn */
	struct conn_turn wturn;	/* passed when sending ends */
	struct http_request_stream req;
	uint8_t *held;		/* an unfinished request head */
	size_t held_len, held_cap;
	uint8_t *pending;	/* bytes owed to the wire before any further
				   program byte (a rewritten head); the
				   buffer is kept (pending_cap) so that a
				   flush from close() never frees */
	size_t pending_len, pending_off, pending_cap;
	struct {		/* what the head in pending added to stats */
		size_t len;
		bool close_added, changed;
		uint8_t verdict;	/* enum http_request_verdict;
					   HTTP_REQ_INVALID: none counted */
	} head_counted;
	size_t head_sent;	/* bytes of the head in held already on the
				   wire: the kernel took only part of a
				   rewritten head, all of it unchanged */

	/* written by the request side, read by the response side */
	uint8_t awaiting[CONN_AWAITING_MAX];	/* 1: the request was HEAD */
	atomic_uint awaiting_in, awaiting_out;

	/* response side, under rlock */
	struct conn_lock rlock;
	unsigned long receiving;	/* pthread_self() of a reader in the
					   kernel with the lock left
					   (conn_read.c, read_direct), or 0:
					   others wait for their turn */
	struct conn_turn rturn;	/* passed when receiving ends */
	struct http_response_stream resp;
	uint8_t *rheld;		/* an unfinished response head, taken from
				   the kernel */
	size_t rheld_len, rheld_cap;
	size_t rheld_given;	/* bytes of rheld the program has had: the
				   rewrite leaves them as they are */
	uint8_t *rout;		/* bytes owed to the program (a head) */
	size_t rout_len, rout_off;
	bool rout_tail_queued;	/* rout's last byte is still in the kernel's
				   queue, so the socket stays readable */
	bool rout_ends_response;	/* tear down once rout is delivered */
	int rerr;		/* an error the kernel reported while head
				   bytes were held: due after them */
};

/* What the shim does once a response is complete (FORCECLOSE_ACTION). */
enum conn_action { CONN_ACTION_SHUTDOWN, CONN_ACTION_CLOSE, CONN_ACTION_NONE };

/* The connection goes pass-through: counted once, logged at level 3. */
COLD void conn_gave_up(struct conn *c, int reason);

/* Reference counting (see fdtable.h for the discipline).  conn_put never
 * frees and takes no lock (close() may run in a signal handler): the last
 * reference retires the connection, and its memory is reclaimed by the
 * next conn_alloc, in ordinary context. */
bool conn_tryget(struct conn *c);
void conn_put(struct conn *c);

/* Is fd still the socket that was connected?  (errno is kept)  For a
 * socket made by the library's socket() (identity_lived) this asks
 * nothing of the kernel: its number is still in the table.  The places
 * that checked the inode before issue 16 and are not part of the common
 * exchange (a later request head, a response head found by peeking, the
 * flushes at close, exit and fork, a TLS teardown) call
 * conn_verify_socket, which for such a socket also asks the kernel: a
 * stream socket connected to the address connect() was given. */
bool conn_same_socket(const struct conn *c, int fd);
COLD bool conn_verify_socket(const struct conn *c, int fd);

/* Record where connect() was given (a of len bytes; NULL: nowhere). */
void conn_peer_set(struct conn_peer *p, const struct sockaddr *a,
		   socklen_t len);

/* fstat: is fd a socket, and which one. */
bool conn_socket_inode(int fd, dev_t *dev, ino_t *ino);

/* The library's own socket call on fd failed with err: ENOTSOCK or EBADF
 * prove that the number is no longer a socket (a file, pipe... made
 * where the library could not see it) or is closed.  Such a call sent or
 * took nothing: the program's own call is made instead, as it made it. */
static inline bool conn_number_lost(int err)
{
	return err == ENOTSOCK || err == EBADF;
}

/* fd is no longer c's socket (conn_number_lost, or a check said so): fd
 * leaves the table for good and its kind is unknown again.  drop: c's
 * owed state came from the program's call now made natively (or belongs
 * to the lost socket): c goes pass-through everywhere (a dup of it
 * included), its owed bytes dropped.  Call with c->wlock held when drop
 * is true. */
COLD void conn_forget_number(struct conn *c, int fd, bool drop);

/* A call on a torn-down connection (c, not the sentinel): is fd still
 * the socket the teardown shut down?  One system call (TCP_INFO, or a
 * zero-length peek for a Unix socket), for calls that without the
 * library are system calls of their own (docs/internals.md). */
bool conn_still_shut_down(const struct conn *c, int fd);

/* A connect() on fd succeeded or is in progress. */
void conn_on_connect(int fd, const struct sockaddr *addr, socklen_t len);

/* > 0 while this thread is inside vfork(): in the child, which runs on
 * this thread's memory until it execs or exits, and in the parent until
 * vfork returns there. */
extern __thread unsigned conn_vfork_depth
	__attribute__((tls_model("initial-exec")));

/* Set for good once the program made a child that shares our memory with
 * a call other than vfork (clone with CLONE_VM, not a thread): from then
 * on conn_table_mutable() asks the kernel every time. */
extern atomic_bool conn_pid_ask_kernel;

/* The process's pid: taken by the first caller of conn_table_mutable()
 * (0 before), and again by the fork child handler. */
extern pid_t conn_pid;

bool conn_table_mutable_ask(void);

/* False in a vfork child (it shares our memory but not our descriptors):
 * hooks that change the table must not run there.  No system call unless
 * this thread is inside vfork (conn_vfork_depth, io_spawn.c) or the
 * program made a child sharing our memory by other means.  Inline: the
 * common exchange asks six times. */
static inline bool conn_table_mutable(void)
{
	/* No child shares our memory: only the process itself runs here.
	 * (A fork child has its own copy of the table, and its own pid from
	 * the fork handler.) */
	if (__builtin_expect(conn_vfork_depth == 0 && conn_pid != 0 &&
			     !atomic_load_explicit(&conn_pid_ask_kernel,
						   memory_order_relaxed), 1))
		return true;
	return conn_table_mutable_ask();
}

/* The program made a child by clone() (or the system call) with these
 * flags.  One that shares our memory sets conn_pid_ask_kernel; one that
 * shares our descriptor table (CLONE_FILES, not a thread) closes numbers
 * where this copy of the library cannot see it: from then on every
 * connection's identity is taken by inode (conn_on_connect). */
void conn_note_clone(unsigned long flags);
bool conn_fds_shared(void);

/* The at-fork child handler: the process has a new pid. */
void conn_pid_reset(void);

/* A counted reference to fd's connection unless there is none or it is
 * opaque (then the call goes straight to libc). */
struct conn *conn_acquire_active(int fd);

/* True when fd's calls go straight to libc: no connection, or one that
 * passes everything (a TLS socket once its first write and read are seen).
 * No reference (see conn_acquire_active), so cheap enough to test before
 * a hook builds anything. */
static inline bool conn_passes(int fd)
{
	struct conn *c = fdtable_peek(fd);

	return c == NULL ||
	       (atomic_load_explicit(&c->flags, memory_order_relaxed) &
		CONN_OPAQUE);
}

/* The write side of fd, locked, or NULL when the call should go straight
 * to libc (untracked, opaque, or fd is no longer the connected socket).
 * With MSG_DONTWAIT in flags it never waits for another writer: CONN_BUSY
 * then, and the call fails with EAGAIN.  So does a signal handler's call
 * on a thread that is itself in a write hook on this connection (taking
 * its lock, holding it, or in the kernel with it left): it cannot wait
 * for its own thread, and its bytes must not pass unseen. */
#define CONN_BUSY ((struct conn *)1)
struct conn *conn_write_enter(int fd, int flags);
void conn_write_leave(struct conn *c);

/* Waits, with c->wlock left, until no writer is in the kernel. */
COLD void conn_wait_turn(struct conn *c);

/* Sends the program's bytes through the rewriter.  Called between enter
 * and leave.  Returns what write()/sendmsg() would: program bytes; or
 * CONN_WRITE_PASS when the number turned out not to be the connected
 * socket (conn_number_lost, conn_verify_socket) before any of this call's
 * bytes went out: the program's own call goes to libc as it made it. */
#define CONN_WRITE_PASS ((ssize_t)-2)
ssize_t conn_write(struct conn *c, int fd, const struct iovec *iov,
		   int iovcnt, int flags);

/* Bytes are about to move where the shim cannot read them (sendfile,
 * splice).  When `count` bytes fit in the current body they are counted;
 * otherwise what is owed is flushed and the connection given up.  Returns
 * 0, then call the real function and conn_write_unseen_done() with its
 * result; or -1 with errno when flushing what was owed failed. */
int conn_write_unseen(struct conn *c, int fd, size_t count);
void conn_write_unseen_done(struct conn *c, ssize_t sent);

/* Around a call that may block with the write side entered (the real
 * sendfile or splice, as the program's own send in conn_write): the lock
 * is left and the side marked sending, so that no lock is held across a
 * blocking system call; other writers wait for this turn, and the close,
 * exit and fork flushes leave the connection to it.  Resume keeps errno. */
void conn_write_pause(struct conn *c);
void conn_write_resume(struct conn *c);

/* Flushes what is owed and stops rewriting this connection for good,
 * counted under reason (enum stats_reason; -1: not a give-up, the program
 * is closing or exiting).  Called between enter and leave.  Returns 0, or
 * -1 with errno when the owed bytes could not be sent. */
int conn_give_up(struct conn *c, int fd, int flags, int reason);

/* The program closes fd: owed bytes go out (best effort) first. */
void conn_flush_on_close(int fd);

/* At exit: every connection's owed bytes go out (best effort; connections
 * whose lock another thread holds are skipped). */
void conn_flush_all(void);

/* stdio (fdopen) takes over fd's writes: flush and stop rewriting. */
void conn_stop_tracking_writes(int fd);

/* One side has become opaque with nothing owed; when both have, every
 * call on the connection goes straight to libc. */
void conn_side_opaque(struct conn *c, unsigned side_flag);

static inline bool conn_torn_down(const struct conn *c)
{
	return atomic_load_explicit(&c->flags, memory_order_relaxed) &
	       CONN_TORN_DOWN;
}

/* The read side of fd, locked, or NULL when the call should go straight
 * to libc.  CONN_BUSY for a signal handler's call on a thread that holds
 * this lock (in a read hook, or an outer handler's read): it cannot wait
 * for its own thread, and the call fails with EAGAIN, having moved no
 * byte.  The _again form is for the
 * second entry of a call whose first entry got in (splice_owed): it waits
 * out what the first may not have, and is never busy. */
struct conn *conn_read_enter(int fd);
struct conn *conn_read_enter_again(int fd);
void conn_read_leave(struct conn *c);

/* conn_read's answer when the program's own call should go to libc as it
 * is, once the lock is left (nothing owed, nothing to follow; or the
 * number turned out not to be the socket: conn_number_lost). */
#define CONN_READ_PASS ((ssize_t)-2)

/* Reads into msg's iovecs (msg_name and msg_control are cleared when the
 * bytes come from the shim).  Returns what recvmsg() would, or
 * CONN_READ_PASS.  plain: the program called read, recv or readv, so msg
 * is the shim's and only the bytes and the count reach the program (not
 * msg_flags).  Every kernel call under the lock is non-blocking; a
 * blocking caller waits for bytes with the lock left (conn_read drops and
 * re-takes c->rlock), so another thread's MSG_DONTWAIT call never waits
 * for it. */
ssize_t conn_read(struct conn *c, int fd, struct msghdr *msg, int flags,
		  bool plain);

/* Bytes are about to leave fd where the shim cannot see them (splice,
 * recvmmsg, stdio): stop tracking its responses.  Returns 1 when the caller
 * may go ahead with the real call, 0 when the call should report end of
 * file (torn down), 2 when bytes the shim owes the program must be
 * delivered first (conn_read delivers them), -1 with errno. */
int conn_read_elsewhere(int fd);

/* stdio (fdopen) takes fd over: what is owed goes out, both sides stop,
 * and fd leaves the table unless response bytes are still owed to the
 * program (then its identity is checked before any further socket call). */
void conn_release(int fd);

/* Stands in the table for a descriptor the shim has closed itself. */
extern struct conn conn_closed;

/* FORCECLOSE_ACTION=close: fd (torn down) is closed by the shim once
 * CONN_CLOSE_WINDOW later teardowns have happened, a second has passed,
 * and the program has still not closed it.  Programs that close their
 * sockets do so long before, so the shim never closes a number they are
 * about to close themselves (it may meanwhile belong to a file they
 * opened); programs that never close keep at most CONN_CLOSE_QUEUE (64,
 * conn.c) extra descriptors. */
#define CONN_CLOSE_WINDOW 8
#define CONN_CLOSE_AGE_NS 1000000000ull
#define CONN_CLOSE_QUEUE 64
void conn_close_later(struct conn *c, int fd);

/* The program closes fd (close, or dup2/dup3 onto it): claims the slot.
 * True when the shim has closed (or is closing) the number itself, so
 * the program's close must not reach the kernel: exactly one party
 * closes a number. */
bool conn_claim_close(int fd);

/* Fork handlers (registered by the constructor). */
void conn_atfork_prepare(void);
void conn_atfork_parent(void);
void conn_atfork_child(void);

#endif
