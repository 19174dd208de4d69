/* conn_write.c - the request side: program bytes go through the rewriter
 * and out, exactly once, in order.
 *
 * Head bytes are collected (and reported to the program as written) until
 * the head is complete; the rewritten head then becomes `pending`: bytes
 * owed to the wire before any further program byte.  Body bytes are sent
 * straight from the program's buffers, right behind whatever is pending,
 * and only the bytes the kernel took are reported and counted. */
#define _GNU_SOURCE
#include "conn.h"
#include "buf.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fdtable.h"
#include "log.h"
#include "real.h"
#include "stats.h"

#define PIECES_MAX 64		/* program iovecs per sendmsg */
#define OWED_WAIT_MS 10000	/* longest wait to finish owed bytes */

/* A read position in the program's iovec array. */
struct cursor {
	const struct iovec *iov;
	int cnt, idx;
	size_t off;
};

static const uint8_t *cursor_piece(struct cursor *k, size_t *n)
{
	while (k->idx < k->cnt && k->off == k->iov[k->idx].iov_len) {
		k->idx++;
		k->off = 0;
	}
	if (k->idx == k->cnt) {
		*n = 0;
		return NULL;
	}
	*n = k->iov[k->idx].iov_len - k->off;
	return (const uint8_t *)k->iov[k->idx].iov_base + k->off;
}

static void cursor_skip(struct cursor *k, size_t n)
{
	while (n > 0) {
		size_t len;
		cursor_piece(k, &len);
		if (len > n)
			len = n;
		k->off += len;
		n -= len;
	}
}

static size_t pending_left(const struct conn *c)
{
	return c->pending_len - c->pending_off;
}

/* The buffer stays for the next head: a flush from close() (which may run
 * in a signal handler) never frees. */
static void pending_clear(struct conn *c)
{
	c->pending_len = c->pending_off = 0;
}

/* Gives the request side up: what was held goes out first, unchanged.
 * reason: enum stats_reason, or -1 when the program closes or exits. */
COLD static void stop_rewriting(struct conn *c, int reason)
{
	if (reason >= 0 && c->req.phase != HTTP_REQ_OPAQUE)
		conn_gave_up(c, reason);
	http_request_give_up(&c->req);
	if (c->held_len > 0 && pending_left(c) == 0) {
		/* the buffers swap: nothing is freed (see pending_clear) */
		uint8_t *b = c->pending;
		size_t cap = c->pending_cap;
		c->pending = c->held;
		c->pending_cap = c->held_cap;
		c->pending_len = c->held_len;
		c->pending_off = c->head_sent;	/* already on the wire */
		c->held = b;
		c->held_cap = cap;
		c->held_len = 0;
		if (pending_left(c) == 0)
			pending_clear(c);
	}
	c->head_sent = 0;
	/* (held bytes behind pending bytes cannot exist: pending is only
	 * created from a complete head, after which held is empty) */
}

static bool held_reserve(struct conn *c, size_t n)
{
	return buf_reserve(&c->held, &c->held_cap, c->held_len + n, 512);
}

static bool held_append(struct conn *c, const uint8_t *p, size_t n)
{
	if (!held_reserve(c, n))
		return false;
	memcpy(c->held + c->held_len, p, n);
	c->held_len += n;
	return true;
}

/* The response side pairs responses with requests in this order.  Past
 * the queue's depth it could not: it will give up instead. */
static void await_response(struct conn *c, bool method_head)
{
	unsigned in = atomic_load(&c->awaiting_in);

	if (in - atomic_load(&c->awaiting_out) >= CONN_AWAITING_MAX) {
		atomic_fetch_or(&c->flags, CONN_RESP_LOST);
		return;
	}
	c->awaiting[in % CONN_AWAITING_MAX] = method_head;
	atomic_store(&c->awaiting_in, in + 1);
}

/* The method, for log lines. */
static size_t method_length(const uint8_t *head)
{
	size_t n = 0;

	while (head[n] == '\r' || head[n] == '\n')
		n++;
	while (head[n] != ' ' && head[n] != '\n' && n < 32)
		n++;
	return n;
}

/* The request's log line: the method, after any empty lines. */
COLD static void log_request(const struct conn *c, const uint8_t *head,
			     const char *what)
{
	size_t skip = 0;

	while (head[skip] == '\r' || head[skip] == '\n')
		skip++;
	log_event(LOG_REQUESTS, c->dest, what, (const char *)head + skip,
		  method_length(head) - skip);
}

static void count_request(struct conn *c, const uint8_t *head,
			  const struct http_request_info *info)
{
	const char *what = stats_count_request(info);

	if (info->verdict != HTTP_REQ_INVALID)
		observe_request(&c->obs, info->said_close, info->host,
				info->host_len);
	c->head_counted.verdict = (uint8_t)info->verdict;
	switch (info->verdict) {
	case HTTP_REQ_REWRITTEN:
		c->head_counted.close_added = info->close_added;
		c->head_counted.changed = info->lines_changed > 0;
		break;
	case HTTP_REQ_LEFT_ALONE:
		c->head_counted.close_added = c->head_counted.changed = false;
		conn_gave_up(c, info->host_left_alone ? GAVE_UP_EXCLUDED_HOST :
							GAVE_UP_LEFT_ALONE);
		break;
	default:
		conn_gave_up(c, GAVE_UP_NOT_HTTP);
		return;
	}
	if (log_on(LOG_REQUESTS))
		log_request(c, head, what);
}

/* Most connections carry one request, whose rewritten head is freed as
 * soon as it is on the wire (conn_write).  Each thread keeps one such
 * buffer of HEAD_SPARE bytes for its next head instead of a free() and a
 * malloc() an exchange.  It is taken and given back by one exchange
 * instruction, so a signal handler's write on the same thread never gets
 * the same buffer; a thread's spare is freed when the thread exits. */
#define HEAD_SPARE 512
static __thread uint8_t *head_spare __attribute__((tls_model("initial-exec")));
static __thread bool head_spare_kept __attribute__((tls_model("initial-exec")));
static pthread_key_t head_spare_key;
static pthread_once_t head_spare_once = PTHREAD_ONCE_INIT;

static void head_spare_exit(void *unused)
{
	(void)unused;
	/* a later destructor's write registers again: glibc runs the
	 * destructors once more for a value set while they ran */
	head_spare_kept = false;
	free(__atomic_exchange_n(&head_spare, NULL, __ATOMIC_RELAXED));
}

static void head_spare_key_create(void)
{
	if (pthread_key_create(&head_spare_key, head_spare_exit) != 0)
		head_spare_key = (pthread_key_t)-1;
}

static uint8_t *head_buffer(size_t room, size_t *cap)
{
	uint8_t *b = NULL;

	if (room <= HEAD_SPARE) {
		room = HEAD_SPARE;
		b = __atomic_exchange_n(&head_spare, NULL, __ATOMIC_RELAXED);
	}
	*cap = room;
	return b != NULL ? b : malloc(room);
}

static void head_buffer_free(uint8_t *b, size_t cap)
{
	if (cap == HEAD_SPARE && !head_spare_kept) {
		/* the first time on this thread: free it at thread exit */
		pthread_once(&head_spare_once, head_spare_key_create);
		head_spare_kept = head_spare_key != (pthread_key_t)-1 &&
				  pthread_setspecific(head_spare_key, &head_spare) == 0;
	}
	if (cap == HEAD_SPARE && head_spare_kept)
		b = __atomic_exchange_n(&head_spare, b, __ATOMIC_RELAXED);
	free(b);
}

/* A complete head: rewrite it into pending.  False when out of memory:
 * the stream has then been given up. */
static bool finish_head(struct conn *c, const uint8_t *head, size_t len)
{
	struct http_request_info info;
	size_t room = http_request_out_room(len), cap;
	uint8_t *out = c->pending;

	if (room > c->pending_cap) {
		out = head_buffer(room, &cap);
		if (out == NULL) {
			stop_rewriting(c, GAVE_UP_NO_MEMORY);
			return false;
		}
		head_buffer_free(c->pending, c->pending_cap);
		c->pending = out;
		c->pending_cap = cap;
	}
	pending_clear(c);
	c->pending_len = http_request_finish_head(&c->req, head, len, out,
						  &info);
	c->held_len = 0;
	if (c->head_sent > 0) {
		size_t sent = c->head_sent;
		c->head_sent = 0;
		c->pending_off = sent;
		if (c->pending_len < sent || memcmp(out, head, sent) != 0) {
			/* the rewrite would change bytes already on the wire
			 * (the program wrote another head than it began):
			 * this one goes out as written, and the rest too */
			memcpy(out, head, len);
			c->pending_len = len;
			stop_rewriting(c, GAVE_UP_SEND_FAILED);
			return true;
		}
	}
	stats_add(&stats.bytes_inspected, len);
	c->head_counted.len = len;
	if (info.verdict == HTTP_REQ_REWRITTEN)
		await_response(c, info.method_head);
	count_request(c, head, &info);
	return true;
}

/* Takes head bytes from the program until the head is complete, the
 * program's bytes run out, or the stream turns out not to be HTTP. */
static size_t absorb_head(struct conn *c, struct cursor *k)
{
	size_t taken = 0, n, used;
	const uint8_t *p;
	enum http_head_status st;

	while (c->req.phase == HTTP_REQ_HEAD && (p = cursor_piece(k, &n))) {
		used = http_request_scan(&c->req, p, n, &st);
		if (st == HTTP_HEAD_INVALID) {
			/* A TLS handshake record is not a give-up: the
			 * plaintext is met in the TLS library (tls_*.c) */
			bool tls = c->held_len == 0 &&
				   http_looks_like_tls(p, n);
			if (tls) {
				stats_add(&stats.tls_sockets, 1);
				atomic_fetch_or(&c->flags, CONN_TLS);
				observe_tls(&c->obs);
			}
			stop_rewriting(c, tls ? -1 : GAVE_UP_NOT_HTTP);
			break;
		}
		if (st == HTTP_HEAD_COMPLETE && c->held_len == 0) {
			/* the common case: the whole head in one piece */
			if (!finish_head(c, p, used))
				break;	/* these bytes now pass as they are */
		} else if (!held_append(c, p, used)) {
			stop_rewriting(c, GAVE_UP_NO_MEMORY);
			break;
		} else if (st == HTTP_HEAD_COMPLETE) {
			/* on failure, held (these bytes included) is owed */
			finish_head(c, c->held, c->held_len);
		}
		cursor_skip(k, used);
		taken += used;
		if (st == HTTP_HEAD_COMPLETE)
			break;	/* pending goes out before anything else */
	}
	return taken;
}

/* How many program bytes from k may follow pending straight out. */
static size_t passable(const struct conn *c, struct cursor k,
		       struct iovec *out, int *nout)
{
	struct http_request_stream probe;
	size_t total = 0, n, m;
	const uint8_t *p;

	*nout = 0;
	if (c->req.phase == HTTP_REQ_HEAD)
		return 0;	/* a head is absorbed, never passed */
	probe = c->req;
	while (*nout < PIECES_MAX && probe.phase != HTTP_REQ_HEAD &&
	       (p = cursor_piece(&k, &n)) != NULL) {
		m = http_request_pass(&probe, p, n);
		if (m == 0)
			break;
		out[*nout].iov_base = (void *)p;
		out[*nout].iov_len = m;
		(*nout)++;
		total += m;
		cursor_skip(&k, m);
		if (total > SSIZE_MAX / 2)
			break;
	}
	return total;
}

/* Commits n program bytes that the kernel took. */
static void passed(struct conn *c, struct cursor *k, size_t n)
{
	while (n > 0) {
		size_t len, m;
		const uint8_t *p = cursor_piece(k, &len);
		if (len > n)
			len = n;
		m = http_request_pass(&c->req, p, len);
		stats_add(&stats.bytes_inspected, m);
		cursor_skip(k, m);
		n -= m;
	}
}

/* Where this call's head began: what to restore if the kernel takes only
 * part of the rewritten head. */
struct head_start {
	struct http_request_stream req;
	struct cursor k;	/* the program's first byte of the head */
	size_t held, done;	/* held bytes, and this call's bytes, before */
	unsigned awaiting_in;
};

/* A head rewritten (or left alone) in this call did not go out after
 * all. */
COLD static void uncount_head(struct conn *c)
{
	stats_sub(c->head_counted.verdict == HTTP_REQ_LEFT_ALONE ?
			  &stats.requests_left_alone :
			  &stats.requests_rewritten, 1);
	stats_sub(&stats.close_added, c->head_counted.close_added);
	stats_sub(&stats.close_rewritten, c->head_counted.changed);
	stats_sub(&stats.bytes_inspected, c->head_counted.len);
	observe_request_undo(&c->obs);
}

/* The kernel took only pending_off bytes of a head just rewritten.  If
 * they are the program's own bytes, unchanged, the rewrite is undone:
 * those bytes stay held (as sent) and count as written, the rest is the
 * program's to write again, as with a kernel's short count.  Returns how
 * many of this call's bytes are written, or -1 if that cannot be (a
 * changed byte went out, or no memory): the head must then go whole. */
COLD static ssize_t give_back_head(struct conn *c, const struct head_start *h)
{
	size_t sent = c->pending_off, was = c->held_len, i, n, mine;
	struct http_request_stream req = h->req;
	struct cursor k = h->k;
	enum http_head_status st;
	const uint8_t *p;

	if (sent > c->pending_len)
		return -1;
	/* c->held is NULL when nothing is held: no memcmp() of 0 bytes */
	n = sent < h->held ? sent : h->held;
	if (n > 0 && memcmp(c->pending, c->held, n) != 0)
		return -1;
	mine = sent > h->held ? sent - h->held : 0;
	c->held_len = h->held;
	if (!held_reserve(c, mine))
		goto fail;
	/* this call's bytes that went out: checked, scanned again, held */
	for (i = 0; i < mine; i += n) {
		p = cursor_piece(&k, &n);
		if (p == NULL)
			goto fail;
		if (n > mine - i)
			n = mine - i;
		if (memcmp(c->pending + h->held + i, p, n) != 0 ||
		    http_request_scan(&req, p, n, &st) != n ||
		    st != HTTP_HEAD_MORE)
			goto fail;
		memcpy(c->held + h->held + i, p, n);
		cursor_skip(&k, n);
	}
	c->held_len = h->held + mine;
	pending_clear(c);
	c->req = req;
	c->head_sent = sent;
	atomic_store(&c->awaiting_in, h->awaiting_in);
	uncount_head(c);	/* it is counted when written again */
	return (ssize_t)(h->done + mine);
fail:
	c->held_len = was;
	return -1;
}

/* One piece goes out with send(): the same for the socket as sendmsg(),
 * minus the kernel's copy of a message header (about 70 ns here). */
static ssize_t send_pieces(int fd, const struct msghdr *m, int flags)
{
	if (m->msg_iovlen == 1)
		return REAL(send)(fd, m->msg_iov[0].iov_base,
				  m->msg_iov[0].iov_len, flags);
	return REAL(sendmsg)(fd, m, flags);
}

/* The send is made as the program's call is made (blocking or not, with
 * its timeout and its signals), so it may block: the lock is left for it.
 * Other writers wait for their turn (conn_write_enter), the close, exit
 * and fork flushes leave this connection to this writer, and nothing
 * else touches the request side, so the state is as it was when the lock
 * is taken again. */
void conn_write_pause(struct conn *c)
{
	c->sending = true;
	conn_unlock(&c->wlock);
}

void conn_write_resume(struct conn *c)
{
	int err = errno;

	conn_lock(&c->wlock);
	c->sending = false;
	conn_turn_pass(&c->wturn);
	errno = err;
}

static ssize_t send_unlocked(struct conn *c, int fd, const struct msghdr *m,
			     int flags)
{
	ssize_t s;

	conn_write_pause(c);
	s = send_pieces(fd, m, flags);
	conn_write_resume(c);
	return s;
}

COLD static bool wait_writable(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLOUT };
	int r;

	do
		r = poll(&pfd, 1, OWED_WAIT_MS);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

/* may_wait: the program's own call, which may wait (bounded) to finish
 * owed bytes, so that none is stranded while it waits for the response;
 * the shim's flushes at close, exit and fork never wait. */
static ssize_t write_out(struct conn *c, int fd, const struct iovec *iov,
			 int iovcnt, int flags, bool may_wait)
{
	struct cursor k = { iov, iovcnt, 0, 0 };
	struct iovec out[PIECES_MAX + 1];
	struct msghdr msg;
	size_t done = 0, confirmed = 0, direct, owed;
	int nout, saved = errno, entry = errno;
	ssize_t s, result = 0;
	struct head_start start;
	bool fresh = false;	/* pending is a head this call took */
	bool raise_sigpipe = false;

	if (unlikely(conn_torn_down(c))) {
		errno = EPIPE;	/* as after a peer's close, minus SIGPIPE */
		return -1;
	}
	/* a connection given up on one side is pass-through for good */
	if (unlikely((atomic_load(&c->flags) & CONN_RESP_GAVE_UP) &&
		     c->req.phase != HTTP_REQ_OPAQUE))
		stop_rewriting(c, -1);
	for (;;) {
		if (c->req.phase == HTTP_REQ_HEAD && pending_left(c) == 0) {
			start.req = c->req;
			start.k = k;
			start.held = c->held_len;
			start.done = done;
			start.awaiting_in = atomic_load(&c->awaiting_in);
			c->head_counted.verdict = HTTP_REQ_INVALID;
			done += absorb_head(c, &k);
			/* a head rewritten, or left alone (Upgrade, NTLM:
			 * the program's bytes as they are), in this call:
			 * what the kernel does not take of it is given back */
			fresh = pending_left(c) > 0 &&
				(c->req.phase != HTTP_REQ_OPAQUE ||
				 c->head_counted.verdict ==
					 HTTP_REQ_LEFT_ALONE);
			if (unlikely(c->verify_head && pending_left(c) > 0)) {
				/* a later head of a socket the library made
				 * (rewritten or not): still that socket?
				 * (rare: pipelining, a head in pieces) */
				c->verify_head = false;
				if (!conn_verify_socket(c, fd)) {
					if (fresh)
						uncount_head(c);
					conn_forget_number(c, fd, true);
					if (start.done == 0) {
						errno = entry;
						return CONN_WRITE_PASS;
					}
					confirmed = start.done;
					break;
				}
			}
		} else if (done > 0 && fdtable_peek(fd) != c) {
			break;	/* another thread closed fd: not ours now */
		}
		owed = pending_left(c);
		if (owed == 0)
			confirmed = done;	/* all taken bytes are out or held */
		direct = passable(c, k, out + 1, &nout);
		if (owed == 0 && direct == 0)
			break;
		if (owed) {	/* pending is NULL when nothing is owed */
			out[0].iov_base = c->pending + c->pending_off;
			out[0].iov_len = owed;
		}
		memset(&msg, 0, sizeof msg);
		msg.msg_iov = owed ? out : out + 1;
		msg.msg_iovlen = (size_t)nout + (owed ? 1 : 0);
		/* MSG_NOSIGNAL: a reader's teardown may shut the socket down
		 * under this send, which is no reason for SIGPIPE; the peer's
		 * close still raises it, as the kernel would have. */
		s = send_unlocked(c, fd, &msg, flags | MSG_NOSIGNAL);
		if (unlikely(s < 0)) {
			int err = errno;
			if (conn_number_lost(err)) {
				/* not a socket (a file, a pipe...) or closed:
				 * the number was reused where the library
				 * could not see it.  Nothing went out: what was
				 * owed belonged to the lost socket, and the
				 * program's call is made as it made it. */
				if (fresh)
					uncount_head(c);
				conn_forget_number(c, fd, true);
				if (confirmed == 0) {
					errno = entry;
					return CONN_WRITE_PASS;
				}
				break;
			}
			if (conn_torn_down(c) && (err == EPIPE || err == ECONNRESET))
				err = EPIPE;
			else if (err == EPIPE && !(flags & MSG_NOSIGNAL))
				raise_sigpipe = true;
			if (fresh && (err == EINTR || err == EAGAIN ||
				      err == EWOULDBLOCK) &&
			    (s = give_back_head(c, &start)) >= 0) {
				/* the kernel took none of the head, or only the
				 * program's own bytes: as without the shim */
				done = confirmed = (size_t)s;
				if (confirmed == 0) {
					saved = err;
					result = -1;
				}
				break;
			}
			if (owed && err == EINTR)
				continue;
			if (owed && (err == EAGAIN || err == EWOULDBLOCK) &&
			    may_wait) {
				/* the lock is left while waiting: another
				 * thread's call, or a fork, never waits for
				 * this one; what it finds owed goes first */
				bool room;
				conn_unlock(&c->wlock);
				room = wait_writable(fd);
				conn_lock(&c->wlock);
				/* another writer may have gone into the kernel
				 * with what is owed meanwhile: its turn ends
				 * before this one looks at it again, or both
				 * would send the same bytes */
				while (c->sending)
					conn_wait_turn(c);
				fresh = false;
				if (fdtable_peek(fd) != c) {
					confirmed = done;
					break;	/* closed meanwhile */
				}
				if (room)
					continue;
				/* Still owed, and sent before any later byte:
				 * the program's bytes in it count as written. */
				stop_rewriting(c, GAVE_UP_SEND_FAILED);
				confirmed = done;
			} else if (owed && (err == EAGAIN ||
					    err == EWOULDBLOCK)) {
				/* a flush at close or exit never waits: what
				 * the socket would not take stays owed */
				confirmed = done;
			} else if (owed) {
				/* The connection is broken; what it owed is
				 * lost with it, program bytes included. */
				pending_clear(c);
				stop_rewriting(c, GAVE_UP_SEND_FAILED);
			}
			if (confirmed == 0) {
				saved = err;
				result = -1;
			}
			break;
		}
		if (unlikely((size_t)s < owed)) {
			c->pending_off += (size_t)s;
			/* a short count (full socket, or a signal): return
			 * one too, if what went out is the program's own */
			if (fresh && c->pending_off > start.held &&
			    (s = give_back_head(c, &start)) >= 0) {
				done = confirmed = (size_t)s;
				break;
			}
			continue;	/* finish what is owed first */
		}
		fresh = false;
		if ((size_t)s == owed) {
			pending_clear(c);
			continue;
		}
		pending_clear(c);
		s -= (ssize_t)owed;
		passed(c, &k, (size_t)s);
		done += (size_t)s;
		confirmed = done;
		if ((size_t)s < direct)
			break;	/* a short write: report it as such */
	}
	if (unlikely(c->req.phase == HTTP_REQ_OPAQUE && pending_left(c) == 0 &&
		     c->held_len == 0))
		conn_side_opaque(c, CONN_REQ_OPAQUE);
	/* as the kernel does: only a write that fails with EPIPE raises it */
	if (unlikely(result < 0 && raise_sigpipe))
		pthread_kill(pthread_self(), SIGPIPE);
	errno = saved;
	return result < 0 ? -1 : (ssize_t)confirmed;
}

ssize_t conn_write(struct conn *c, int fd, const struct iovec *iov,
		   int iovcnt, int flags)
{
	ssize_t r = write_out(c, fd, iov, iovcnt, flags, true);

	/* A head wholly on the wire: its buffer goes now, in the program's
	 * own write (never in a flush from close, which may run in a signal
	 * handler).  Most connections carry one request, and an idle one
	 * then holds only struct conn (docs/performance.md, fig5). */
	if (c->pending != NULL && pending_left(c) == 0) {
		int saved = errno;
		head_buffer_free(c->pending, c->pending_cap);
		c->pending = NULL;
		c->pending_cap = 0;
		pending_clear(c);
		errno = saved;
	}
	return r;
}

int conn_give_up(struct conn *c, int fd, int flags, int reason)
{
	struct iovec none = { NULL, 0 };
	ssize_t r;

	if (conn_torn_down(c)) {
		errno = EPIPE;
		return -1;
	}
	stop_rewriting(c, reason);
	/* An empty write flushes what is owed; at close or exit (reason -1)
	 * without waiting for room. */
	r = write_out(c, fd, &none, 1, flags, reason >= 0);
	if (r == CONN_WRITE_PASS)
		return 0;	/* not the socket: nothing owed to it now */
	if (r < 0)
		return -1;
	return pending_left(c) == 0 ? 0 : (errno = EAGAIN, -1);
}

int conn_write_unseen(struct conn *c, int fd, size_t count)
{
	if (conn_torn_down(c)) {
		errno = EPIPE;	/* as after a peer's close, minus SIGPIPE */
		return -1;
	}
	if (c->req.phase == HTTP_REQ_BODY_LENGTH && pending_left(c) == 0 &&
	    count <= c->req.body_left)
		return 0;
	return conn_give_up(c, fd, MSG_NOSIGNAL, GAVE_UP_UNSEEN_BYTES);
}

void conn_write_unseen_done(struct conn *c, ssize_t sent)
{
	if (sent > 0)
		http_request_pass(&c->req, NULL, (size_t)sent);
	if (c->req.phase == HTTP_REQ_OPAQUE && pending_left(c) == 0)
		conn_side_opaque(c, CONN_REQ_OPAQUE);
}

void conn_flush_on_close(int fd)
{
	struct conn *c = fdtable_peek(fd);

	/* Nothing can be owed once the connection is torn down (a flush
	 * would fail with EPIPE) or its request side passes for good: the
	 * common close, which then takes no reference and no lock.  (c is
	 * never freed, so the look is safe; if fd's entry changes meanwhile,
	 * a close of the same number races with this one in the program.) */
	if (c == NULL ||
	    (atomic_load_explicit(&c->flags, memory_order_relaxed) &
	     (CONN_TORN_DOWN | CONN_REQ_OPAQUE | CONN_OPAQUE)))
		return;
	c = fdtable_acquire(fd);
	if (c == NULL)
		return;
	/* a writer at work (holding the lock, or in the kernel with it
	 * left: sending) owns what is owed; waiting for it could wait forever
	 * (this close or shutdown may be what is meant to end its write) */
	if (!conn_trylock(&c->wlock)) {
		conn_put(c);
		return;
	}
	if (!c->sending && (c->held_len > 0 || pending_left(c) > 0) &&
	    conn_verify_socket(c, fd))
		conn_give_up(c, fd, MSG_NOSIGNAL | MSG_DONTWAIT, -1);
	conn_write_leave(c);
}

void conn_flush_all(void)
{
	unsigned fd, high = fdtable_high();

	for (fd = 0; fd <= high; fd++) {
		struct conn *c = fdtable_acquire((int)fd);
		if (c == NULL)
			continue;
		if (conn_trylock(&c->wlock)) {
			if (!c->sending &&
			    (c->held_len > 0 || pending_left(c) > 0) &&
			    !conn_torn_down(c) && conn_verify_socket(c, (int)fd))
				conn_give_up(c, (int)fd,
					     MSG_NOSIGNAL | MSG_DONTWAIT, -1);
			conn_unlock(&c->wlock);
		}
		conn_put(c);
	}
}

void conn_stop_tracking_writes(int fd)
{
	int saved = errno;
	struct conn *c = conn_write_enter(fd, 0);

	if (c != NULL && c != CONN_BUSY) {
		conn_give_up(c, fd, MSG_NOSIGNAL, GAVE_UP_UNSEEN_BYTES);
		conn_write_leave(c);
	}
	errno = saved;
}
