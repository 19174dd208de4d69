/* conn_read.c - the response side: the program reads each final response
 * head rewritten to say close, and the connection is torn down in the
 * read that delivers the response's last byte.
 *
 * Nothing is stranded: the program must never wait for bytes the shim
 * holds, since poll/epoll only see the kernel's queue.  So a head is only
 * taken from the kernel once complete (found with MSG_PEEK; an unfinished
 * head may be taken, as more of it must still arrive), and when the
 * rewritten head does not fit the program's buffer, its last byte stays in
 * the kernel until the rest has been delivered, keeping the socket
 * readable.  Body bytes go straight from the kernel to the program.
 *
 * No lock across a blocking call: every kernel call under c->rlock is
 * non-blocking.  When the program's call would block, conn_read leaves
 * the lock, waits with a peek made as the program's call would be made
 * (blocking or not, with its timeouts and signal behaviour), and looks
 * again. */
#define _GNU_SOURCE
#include "conn.h"

#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "stats.h"
#include "fdtable.h"
#include "real.h"
#include "conn_read_int.h"

#define WAIT_PEEK 4096		/* bytes a wait looks at (see wait_bytes) */

/* A kernel call under the lock found nothing, and the program's call
 * blocks: conn_read waits with the lock left. */
#define NEED_WAIT ((ssize_t)-3)
#define NEED_AGAIN ((ssize_t)-4)	/* state changed: look again */
_Static_assert(NEED_WAIT == OBSERVE_READ_WAIT, "observe_read.c waits too");

/* Would the program's call have waited where ours got EAGAIN? */
bool resp_must_wait(ssize_t r, int flags)
{
	return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
	       !(flags & MSG_DONTWAIT);
}

/* No request is left unanswered: a teardown now discards nothing the
 * server has been asked for (pipelining).  Once either side has given up,
 * the request side may have sent requests it did not count (pass-through
 * for good): then none is known to be the last. */
bool resp_answered_all(const struct conn *c)
{
	return atomic_load(&c->awaiting_out) == atomic_load(&c->awaiting_in) &&
	       !(atomic_load(&c->flags) & CONN_GAVE_UP);
}

static size_t rout_left(const struct conn *c)
{
	return c->rout_len - c->rout_off;
}

void resp_rout_clear(struct conn *c)
{
	free(c->rout);
	c->rout = NULL;
	c->rout_len = c->rout_off = 0;
	c->rout_tail_queued = c->rout_ends_response = false;
}

/* Gives the response side up: what was taken from the kernel reaches the
 * program first, unchanged; no teardown.  reason: enum stats_reason, or -1
 * when the stream simply ended. */
void resp_stop_tracking(struct conn *c, int reason)
{
	if (reason >= 0 && c->resp.phase != HTTP_RESP_OPAQUE) {
		conn_gave_up(c, reason);
		atomic_fetch_or(&c->flags, CONN_RESP_GAVE_UP);
	}
	http_response_give_up(&c->resp);
	c->rout_ends_response = false;
	if (c->rheld_len > 0 && rout_left(c) == 0) {
		resp_rout_clear(c);
		c->rout = c->rheld;
		c->rout_len = c->rheld_len;
		c->rout_off = c->rheld_given;	/* the program has had them */
		c->rheld = NULL;
		c->rheld_len = c->rheld_cap = 0;
		if (rout_left(c) == 0)
			resp_rout_clear(c);
	}
	c->rheld_given = 0;
}

static size_t iov_total(const struct msghdr *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->msg_iovlen; i++)
		n += m->msg_iov[i].iov_len;
	return n;
}

void resp_scatter(const struct msghdr *m, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < m->msg_iovlen && n > 0; i++) {
		size_t k = m->msg_iov[i].iov_len < n ? m->msg_iov[i].iov_len : n;
		memcpy(m->msg_iov[i].iov_base, p, k);
		p += k;
		n -= k;
	}
}

/* Feeds n received bytes, in msg's iovecs, to the body tracker (or to a
 * probe of it).  Returns how many belong to the body; *complete when the
 * response ended within them. */
static size_t track_body(struct http_response_stream *s,
			 const struct msghdr *m, size_t n, bool *complete)
{
	size_t i, used = 0;

	*complete = false;
	for (i = 0; i < m->msg_iovlen && used < n && !*complete; i++) {
		size_t k = m->msg_iov[i].iov_len < n - used ?
			   m->msg_iov[i].iov_len : n - used;
		size_t took = http_response_pass(s, m->msg_iov[i].iov_base, k,
						 complete);
		used += took;
		if (took < k)
			break;
	}
	return used;
}

/* recvmsg into at most lim (> 0) bytes of msg's iovecs.  Empty iovecs
 * are left out, so that the copy, at most 64 long, always has room.  One
 * buffer, for a program that sees only bytes and count (`plain`: read,
 * recv, readv), is read with recv(): the same for the socket, minus the
 * kernel's copy of a message header (about 60 ns here). */
static ssize_t recv_limited(int fd, struct msghdr *msg, size_t lim,
			    int flags, bool plain)
{
	struct iovec iov[64];
	struct msghdr m = *msg;
	size_t i, k = 0, n = 0;
	ssize_t r;

	for (i = 0; i < msg->msg_iovlen && k < 64 && n < lim; i++) {
		if (msg->msg_iov[i].iov_len == 0)
			continue;
		iov[k] = msg->msg_iov[i];
		if (iov[k].iov_len > lim - n)
			iov[k].iov_len = lim - n;
		n += iov[k++].iov_len;
	}
	if (plain && k == 1 && msg->msg_name == NULL)
		return REAL(recv)(fd, iov[0].iov_base, iov[0].iov_len, flags);
	m.msg_iov = iov;
	m.msg_iovlen = k;
	r = REAL(recvmsg)(fd, &m, flags);
	msg->msg_namelen = m.msg_namelen;
	msg->msg_controllen = m.msg_controllen;
	msg->msg_flags = m.msg_flags;
	return r;
}

/* The response is complete: end the connection as FORCECLOSE_ACTION says.
 * Runs inside the read that delivers the last byte, before it returns. */
static void teardown(struct conn *c, int fd)
{
	static const char *const done[] = {
		"response complete, connection shut down",
		"response complete, connection shut down, descriptor to close",
		"response complete, connection left open (action none)",
	};
	int saved = errno;

	if (!resp_answered_all(c))
		return;	/* pipelined requests still await their responses */
	stats_add(&stats.teardowns[config.action], 1);
	log_event(LOG_TEARDOWNS, c->dest, done[config.action], NULL, 0);
	errno = saved;
	if (config.action == CONN_ACTION_NONE)
		return;
	if (fdtable_peek(fd) != c)
		return;	/* fd was closed during the read: not ours now */
	/* the flag first: a send that fails on this shutdown must find it */
	atomic_fetch_or(&c->flags, CONN_TORN_DOWN);
	if (REAL(shutdown)(fd, SHUT_RDWR) != 0 && conn_number_lost(errno)) {
		/* not a socket any more: nothing was shut down, and the
		 * number is none of the connection's */
		conn_forget_number(c, fd, false);
		errno = saved;
		return;
	}
	atomic_fetch_or(&c->flags, CONN_SHUT);
	if (config.action == CONN_ACTION_CLOSE)
		conn_close_later(c, fd);
	errno = saved;
}

/* The chunked body tracker gives up on bad framing by going opaque (a
 * body to end of file never reaches it): count that once. */
static void count_bad_chunks(struct conn *c, unsigned before)
{
	if (before == HTTP_RESP_BODY_CHUNKED &&
	    c->resp.phase == HTTP_RESP_OPAQUE)
		conn_gave_up(c, GAVE_UP_BAD_RESPONSE);
}

/* Hands the program bytes the shim owes it (a head). */
static ssize_t deliver(struct conn *c, int fd, struct msghdr *msg, int flags,
		       size_t want)
{
	size_t left = rout_left(c), n = want < left ? want : left;
	bool peek = flags & MSG_PEEK;

	if (c->rout_tail_queued && n == left && !peek) {
		uint8_t tail;
		/* the head's last byte leaves the kernel with the last of rout */
		c->rout_tail_queued = false;
		if (REAL(recv)(fd, &tail, 1, MSG_DONTWAIT) != 1) {
			/* not there: it was read behind our back, or is still
			 * queued; either way it is not ours to deliver */
			resp_stop_tracking(c, GAVE_UP_MOVED);
			c->rout_len--;
			if (--n == 0) {
				resp_rout_clear(c);
				return CONN_READ_PASS;
			}
		}
	}
	resp_scatter(msg, c->rout + c->rout_off, n);
	msg->msg_namelen = 0;
	msg->msg_controllen = 0;
	msg->msg_flags = 0;
	if (!peek) {
		c->rout_off += n;
		if (rout_left(c) == 0) {
			bool ends = c->rout_ends_response;
			resp_rout_clear(c);
			if (ends)
				teardown(c, fd);
		}
	}
	return (ssize_t)n;
}

/* A response ended at `end` of the n bytes a read took past it (on the
 * understanding that the teardown discards the rest).  If the program
 * wrote another request meanwhile, the rest is the start of its answer:
 * it reaches the program as it came, and the connection goes
 * pass-through (its answers can no longer be followed). */
static ssize_t end_of_response(struct conn *c, int fd, size_t end, size_t n)
{
	if (end < n && !resp_answered_all(c)) {
		resp_stop_tracking(c, GAVE_UP_UNPAIRED);
		return (ssize_t)n;
	}
	teardown(c, fd);
	return (ssize_t)end;
}

/* The common case in one system call: a program reading into one buffer
 * with room for a head, on a connection torn down after the response.  The
 * kernel's bytes go straight into the program's buffer, leaving room for
 * what the rewrite adds, and heads are rewritten in place.  Bytes past the
 * response's end can only belong to a later response, which the teardown
 * discards anyway.  The identity of fd was checked when the request that
 * this answers was written.  Returns what the read returns; *again when
 * only an unfinished head came (now held), for the general path. */
#define DIRECT_MIN 512

static bool direct_ok(const struct conn *c, const struct msghdr *msg,
		      int flags)
{
	/* one request awaits its response: bytes after it are none of the
	 * program's (a pipelined response would be) */
	return config.action != CONN_ACTION_NONE && c->rheld_len == 0 &&
	       !(flags & MSG_PEEK) && msg->msg_iovlen == 1 &&
	       msg->msg_iov[0].iov_len >= DIRECT_MIN &&
	       atomic_load(&c->awaiting_in) - atomic_load(&c->awaiting_out) ==
		       1 &&
	       !(atomic_load(&c->flags) & (CONN_RESP_LOST | CONN_GAVE_UP));
}

/* A blocking read made as the program's call is made (blocking or not,
 * with its timeout and its signals): one system call, as without the
 * library, rather than a look, a wait and a read.  The lock is left for
 * it; other readers wait for their turn (conn_read), and what may change
 * the response side meanwhile (fdopen, splice: conn_read_elsewhere, both
 * under the lock) only gives it up, which the caller checks. */
static ssize_t recv_unlocked(struct conn *c, int fd, struct msghdr *msg,
			     size_t lim, int flags, bool plain)
{
	ssize_t r;
	int err;

	c->receiving = (unsigned long)pthread_self();
	conn_unlock(&c->rlock);
	r = recv_limited(fd, msg, lim, flags, plain);
	err = errno;
	conn_lock(&c->rlock);
	c->receiving = 0;
	conn_turn_pass(&c->rturn);
	errno = err;
	return r;
}

/* Another reader is in the kernel with the lock left: wait for it, unless
 * the call must not wait.  A signal handler that reads while its own
 * thread is in there cannot wait for itself: the response side goes
 * pass-through.  Returns 0, or the call's answer. */
COLD static ssize_t wait_reader(struct conn *c, int flags)
{
	while (c->receiving != 0) {
		if (flags & MSG_DONTWAIT) {
			errno = EAGAIN;
			return -1;
		}
		if (c->receiving == (unsigned long)pthread_self()) {
			resp_stop_tracking(c, GAVE_UP_MOVED);
			return CONN_READ_PASS;
		}
		conn_turn_wait(&c->rturn, &c->rlock);
	}
	return 0;
}

static ssize_t read_direct(struct conn *c, int fd, struct msghdr *msg,
			   int flags, bool plain, bool *again)
{
	uint8_t *buf = msg->msg_iov[0].iov_base;
	uint8_t small[1024];	/* most heads: no malloc */
	size_t n, pos = 0, room;
	size_t lim = msg->msg_iov[0].iov_len - HTTP_CLOSE_GROWTH_MAX;
	ssize_t r;

	*again = false;
	if (flags & MSG_DONTWAIT) {
		r = recv_limited(fd, msg, lim, flags, plain);
	} else {
		r = recv_unlocked(c, fd, msg, lim, flags, plain);
		if (r > 0 && c->resp.phase != HTTP_RESP_HEAD)
			return r;	/* given up meanwhile: as it came */
	}
	if (r <= 0)
		return r;
	n = (size_t)r;
	while (pos < n) {
		struct http_response_info info;
		enum http_head_status st;
		unsigned out_index = atomic_load(&c->awaiting_out);
		size_t k = http_response_scan(&c->resp, buf + pos, n - pos, &st);
		size_t out_len, used;
		unsigned before;
		uint8_t *out;
		bool complete;

		if (st == HTTP_HEAD_MORE && resp_rheld_reserve(c, n - pos)) {
			/* an unfinished head: held until the rest comes */
			memcpy(c->rheld, buf + pos, n - pos);
			c->rheld_len = n - pos;
			*again = pos == 0;
			return (ssize_t)pos;
		}
		room = http_response_out_room(k);
		if (st != HTTP_HEAD_COMPLETE ||
		    out_index == atomic_load(&c->awaiting_in) ||
		    (out = room <= sizeof small ? small : malloc(room)) ==
			    NULL) {
			/* everything as it came */
			resp_stop_tracking(c, st != HTTP_HEAD_COMPLETE ?
						 GAVE_UP_BAD_RESPONSE :
					 out_index == atomic_load(&c->awaiting_in) ?
						 GAVE_UP_UNPAIRED :
						 GAVE_UP_NO_MEMORY);
			return (ssize_t)n;
		}
		out_len = http_response_finish_head(
			&c->resp, buf + pos, k,
			c->awaiting[out_index % CONN_AWAITING_MAX], out, &info);
		resp_count_response(c, &info, k, false);
		if (info.verdict != HTTP_RESP_INTERIM)
			atomic_store(&c->awaiting_out, out_index + 1);
		memmove(buf + pos + out_len, buf + pos + k, n - pos - k);
		memcpy(buf + pos, out, out_len);
		if (out != small)
			free(out);
		n = n - k + out_len;
		pos += out_len;
		if (info.verdict == HTTP_RESP_INTERIM)
			continue;
		if (info.verdict != HTTP_RESP_FINAL)
			return (ssize_t)n;	/* tunnel or invalid: opaque */
		if (info.complete)
			return end_of_response(c, fd, pos, n);
		before = c->resp.phase;
		used = http_response_pass(&c->resp, buf + pos, n - pos, &complete);
		count_bad_chunks(c, before);
		stats_add(&stats.bytes_inspected, used);
		if (complete)
			return end_of_response(c, fd, pos + used, n);
		return (ssize_t)(pos + used);
	}
	return (ssize_t)n;
}

/* Chunked bodies end where only parsing tells.  Reading past that end is
 * harmless when the connection is torn down right there (the bytes after
 * it will never be read); with FORCECLOSE_ACTION=none they belong to the
 * next response, so look before taking. */
static ssize_t read_chunked(struct conn *c, int fd, struct msghdr *msg,
			    int flags)
{
	bool peek = flags & MSG_PEEK, complete;
	struct http_response_stream probe = c->resp;
	size_t used;
	ssize_t r;

	if ((config.action == CONN_ACTION_NONE || !resp_answered_all(c)) && !peek) {
		r = REAL(recvmsg)(fd, msg, flags | MSG_PEEK | MSG_DONTWAIT);
		if (resp_must_wait(r, flags))
			return NEED_WAIT;
		if (r <= 0)
			goto eof_or_error;
		used = track_body(&probe, msg, (size_t)r, &complete);
		r = recv_limited(fd, msg, used, flags | MSG_DONTWAIT, false);
		if (r > 0) {
			track_body(&c->resp, msg, (size_t)r, &complete);
			count_bad_chunks(c, HTTP_RESP_BODY_CHUNKED);
			stats_add(&stats.bytes_inspected, (unsigned long)r);
		}
		return r;
	}
	r = REAL(recvmsg)(fd, msg, flags | MSG_DONTWAIT);
	if (resp_must_wait(r, flags))
		return NEED_WAIT;
	if (r <= 0)
		goto eof_or_error;
	used = track_body(peek ? &probe : &c->resp, msg, (size_t)r, &complete);
	count_bad_chunks(c, HTTP_RESP_BODY_CHUNKED);
	if (!peek)
		stats_add(&stats.bytes_inspected, used);
	if (complete && !peek)
		return end_of_response(c, fd, used, (size_t)r);
	return (ssize_t)used;
eof_or_error:
	if (r == 0)
		resp_stop_tracking(c, -1);	/* cut short: nothing more to do */
	return r;
}

static ssize_t read_length(struct conn *c, int fd, struct msghdr *msg,
			   int flags, bool plain, size_t want)
{
	size_t lim = want < c->resp.body_left ? want : (size_t)c->resp.body_left;
	bool complete;
	ssize_t r = recv_limited(fd, msg, lim, flags | MSG_DONTWAIT, plain);

	if (resp_must_wait(r, flags))
		return NEED_WAIT;
	if (r == 0)
		resp_stop_tracking(c, -1);
	if (r > 0 && !(flags & MSG_PEEK)) {
		http_response_pass(&c->resp, NULL, (size_t)r, &complete);
		stats_add(&stats.bytes_inspected, (unsigned long)r);
		if (complete)
			teardown(c, fd);
	}
	return r;
}

/* The program's call would block: wait for bytes with the lock left, with
 * a peek made as the program's call is made (blocking or not, with its
 * timeout and its signals).  True: look again; false: the call returns
 * -1 with errno. */
static bool wait_bytes(struct conn *c, int fd, int flags, size_t want)
{
	uint8_t buf[WAIT_PEEK];
	size_t n = want == 0 ? 1 : want < sizeof buf ? want : sizeof buf;
	ssize_t r;
	int err;

	conn_unlock(&c->rlock);
	r = REAL(recv)(fd, buf, n, MSG_PEEK | (flags & MSG_DONTWAIT));
	err = errno;
	conn_lock(&c->rlock);
	if (r > 0 && fdtable_peek(fd) != c) {
		resp_take_from_closed(c, buf, (size_t)r < want ? (size_t)r : want);
		return true;
	}
	if (r >= 0)
		return true;	/* bytes, or the end of the stream */
	if (c->rheld_len > 0 && err != EAGAIN && err != EWOULDBLOCK &&
	    err != EINTR) {
		/* the kernel reports an error once, and the held bytes came
		 * before it: they go first, the error after them */
		c->rerr = err;
		resp_stop_tracking(c, -1);
		return true;
	}
	errno = err;
	return false;
}

/* One step of a read; NEED_WAIT when the kernel had nothing yet. */
static ssize_t read_step(struct conn *c, int fd, struct msghdr *msg,
			 int flags, bool plain, size_t want)
{
	size_t peeked = 0;

	if (rout_left(c) > 0)
		return deliver(c, fd, msg, flags, want);
	if (unlikely(c->resp.observe))
		return observe_read_step(c, fd, msg, flags, plain);
	switch (c->resp.phase) {
	case HTTP_RESP_HEAD:
		if (unlikely(c->rheld_len == 0 &&
			     (atomic_load(&c->flags) & CONN_TLS) &&
			     atomic_load(&c->awaiting_out) ==
				     atomic_load(&c->awaiting_in))) {
			/* TLS records answering no request we saw (tls_*.c
			 * meets the plaintext): pass without a look at the
			 * kernel's queue */
			resp_stop_tracking(c, -1);
			return NEED_AGAIN;
		}
		if (direct_ok(c, msg, flags)) {
			bool again;
			ssize_t r = read_direct(c, fd, msg, flags, plain,
						&again);
			return again ? NEED_AGAIN : r;
		}
		switch (resp_fill_head(c, fd, msg, flags, want, &peeked)) {
		case FILL_AGAIN:
			return NEED_AGAIN;
		case FILL_EOF:
			return 0;
		case FILL_ERROR:
			return -1;
		case FILL_WAIT:
			return NEED_WAIT;
		case FILL_PEEKED:
			return (ssize_t)peeked;
		case FILL_GIVE:
			break;
		}
		return resp_give_stable(c, msg, flags, want);
	case HTTP_RESP_BODY_LENGTH:
		return read_length(c, fd, msg, flags, plain, want);
	case HTTP_RESP_BODY_CHUNKED:
		return read_chunked(c, fd, msg, flags);
	default:
		if (c->rerr != 0) {
			errno = c->rerr;
			c->rerr = 0;
			return -1;
		}
		if (c->rheld_len == 0)
			conn_side_opaque(c, CONN_RESP_OPAQUE);
		return CONN_READ_PASS;
	}
}

static ssize_t read_loop(struct conn *c, int fd, struct msghdr *msg,
			 int flags, bool plain)
{
	size_t want = iov_total(msg);
	ssize_t r;

	if (unlikely(flags & (MSG_OOB | MSG_ERRQUEUE)))
		return conn_torn_down(c) ? 0 : CONN_READ_PASS;	/* not the
								   stream */
	if (unlikely((flags & (MSG_TRUNC | MSG_WAITALL)) &&
		     !conn_torn_down(c)))
		/* semantics we cannot follow */
		resp_stop_tracking(c, GAVE_UP_UNSEEN_BYTES);
	for (;;) {
		if (unlikely(c->receiving != 0) &&
		    (r = wait_reader(c, flags)) != 0)
			return r;
		if (conn_torn_down(c))
			return 0;	/* as after the peer's close */
		if (want == 0 && rout_left(c) == 0)
			return CONN_READ_PASS;
		r = read_step(c, fd, msg, flags, plain, want);
		if (r == NEED_AGAIN)
			continue;
		if (r == 0 && want > 0)
			observe_eof(&c->obs);
		if (r != NEED_WAIT)
			return r;
		if (!wait_bytes(c, fd, flags, want))
			return -1;
		if (fdtable_peek(fd) != c && rout_left(c) == 0)
			return 0;	/* closed meanwhile: the old socket's end */
	}
}
/* A kernel call of the library's failed with ENOTSOCK or EBADF: the
 * number is no longer the socket (a file, a pipe... made where the
 * library could not see it), and that call took nothing.  What the shim
 * held for the program came from the lost socket; the program's own call
 * goes to libc as it made it. */
ssize_t conn_read(struct conn *c, int fd, struct msghdr *msg, int flags,
		  bool plain)
{
	int entry = errno;
	ssize_t r = read_loop(c, fd, msg, flags, plain);

	if (unlikely(r == -1 && conn_number_lost(errno))) {
		resp_stop_tracking(c, GAVE_UP_MOVED);
		resp_rout_clear(c);
		conn_forget_number(c, fd, false);
		errno = entry;
		return CONN_READ_PASS;
	}
	if (r != -1)
		errno = entry;	/* a look or a wait that came to nothing */
	return r;
}

/* The connection this thread is in a read hook on, and how many hooks
 * deep, in one word: a signal handler's read may nest in its thread's
 * hook where the thread has the lock left (in the kernel, or before it
 * takes it), and one store changes both, so a handler always puts back
 * the word it found.  A read made with any mark set is a handler's (the
 * hooks themselves never nest): it takes the lock with lock_unless_mine,
 * and where its thread holds that lock (the thread's own hook, or an
 * outer handler's read of the same connection) it cannot wait for it:
 * CONN_BUSY, and the call fails with EAGAIN.  The signal fences keep the
 * compiler from moving the mark across the lock.  A fork child keeps the
 * mark: its thread may still be in the hook the handler interrupted. */
#define READ_DEPTH ((uintptr_t)7)
_Static_assert(_Alignof(struct conn) > READ_DEPTH, "the depth is in the low bits");
static __thread uintptr_t reading_mark
	__attribute__((tls_model("initial-exec")));

/* Yields an unwritten owner gets before the handler gives up (EAGAIN). */
#define OWNER_WAIT 64

/* Takes l for a handler whose thread is in a read hook.  False when this
 * thread holds l.  The owner is written an instruction after the lock is
 * taken and cleared one before it is let go: when none is written, the
 * holder is this thread (stopped under the handler, so it stays so) or
 * another (which writes or lets go at once), and a few yields tell them
 * apart.  patient: wait as long as it takes (a second entry of a call
 * whose first got in: this thread cannot be the holder). */
static bool lock_unless_mine(struct conn_lock *l, bool patient)
{
	unsigned yields = 0;

	for (;;) {
		unsigned long owner;

		if (conn_trylock(l))
			return true;
		owner = atomic_load(&l->owner);
		if (owner == (unsigned long)pthread_self())
			return false;
		if (owner != 0) {
			conn_lock(l);	/* another thread's: it lets go */
			return true;
		}
		if (!patient && ++yields > OWNER_WAIT)
			return false;
		sched_yield();
	}
}

/* A signal handler on a thread in a read hook, on c or on another
 * connection (the mark is then left as it is). */
COLD static bool read_lock_nested(struct conn *c, uintptr_t mark,
				  bool patient)
{
	bool same = (mark & ~READ_DEPTH) == (uintptr_t)c;

	if ((same && (mark & READ_DEPTH) == READ_DEPTH) ||
	    !lock_unless_mine(&c->rlock, patient))
		return false;
	if (same)
		reading_mark = mark + 1;
	return true;
}

/* Takes c->rlock, marked; false: a handler whose thread holds it. */
static bool read_lock(struct conn *c, bool patient)
{
	uintptr_t mark = reading_mark;

	if (unlikely(mark != 0))
		return read_lock_nested(c, mark, patient);
	reading_mark = (uintptr_t)c | 1;
	atomic_signal_fence(memory_order_seq_cst);
	conn_lock(&c->rlock);
	return true;
}

static void read_unlock(struct conn *c)
{
	uintptr_t mark;

	conn_unlock(&c->rlock);
	atomic_signal_fence(memory_order_seq_cst);
	mark = reading_mark;
	if ((mark & ~READ_DEPTH) == (uintptr_t)c)
		reading_mark = (mark & READ_DEPTH) == 1 ? 0 : mark - 1;
}

static struct conn *read_enter(int fd, bool patient)
{
	struct conn *c = conn_acquire_active(fd);

	if (c == NULL)
		return NULL;
	if (!read_lock(c, patient)) {
		conn_put(c);
		return CONN_BUSY;
	}
	return c;
}

struct conn *conn_read_enter(int fd)
{
	return read_enter(fd, false);
}

struct conn *conn_read_enter_again(int fd)
{
	return read_enter(fd, true);
}

void conn_read_leave(struct conn *c)
{
	read_unlock(c);
	conn_put(c);
}

int conn_read_elsewhere(int fd)
{
	struct conn *c = conn_read_enter(fd);
	int r = 1;

	if (c == NULL)
		return 1;
	if (c == CONN_BUSY) {
		errno = EAGAIN;
		return -1;
	}
	if (conn_torn_down(c)) {
		r = 0;
	} else {
		resp_stop_tracking(c, GAVE_UP_UNSEEN_BYTES);
		if (rout_left(c) > 0)
			r = 2;	/* owed head bytes come first */
	}
	conn_read_leave(c);
	return r;
}

void conn_release(int fd)
{
	int saved = errno;
	struct conn *c;

	conn_stop_tracking_writes(fd);
	c = fdtable_acquire(fd);
	if (c == NULL || c == &conn_closed)
		goto out;
	/* marked as a read hook: a handler's read while this thread is in
	 * here gets EAGAIN rather than waiting for it; fdopen() from a
	 * handler whose thread holds the lock (never async-signal-safe)
	 * leaves the responses followed */
	if (read_lock(c, false)) {
		if (!conn_torn_down(c))
			resp_stop_tracking(c, GAVE_UP_UNSEEN_BYTES);
		read_unlock(c);
	}
	/* stdio reads and writes through glibc's own calls: nothing the
	 * shim could still deliver reaches it, and the number may be
	 * reused once fclose() closes it where the shim cannot see */
	if (conn_table_mutable())
		fdtable_forget_if(fd, c);
out:
	if (c != NULL)
		conn_put(c);
	errno = saved;
}
