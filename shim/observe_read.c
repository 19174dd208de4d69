/* observe_read.c - the response side in observe mode.  The program's read
 * goes to the kernel exactly as it made it (same call, same buffers, same
 * count returned); the bytes it got are then fed to the same response
 * tracker enforcement uses.  A head is copied (the tracker rewrites a
 * head only once whole, and the copy is what it reads; in observe mode it
 * changes nothing), bodies are only counted.  Nothing is held back from
 * the program, so the calls and their boundaries are the program's own. */
#define _GNU_SOURCE
#include "buf.h"
#include "conn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "real.h"
#include "stats.h"

static bool answered_all(const struct conn *c)
{
	return atomic_load(&c->awaiting_out) == atomic_load(&c->awaiting_in);
}

/* The response side stops following: reason as for conn_gave_up, or -1
 * (not a give-up: a TLS server's bytes, a stream that ended). */
static void stop(struct conn *c, int reason)
{
	if (reason >= 0) {
		conn_gave_up(c, reason);
		atomic_fetch_or(&c->flags, CONN_RESP_GAVE_UP);
	}
	http_response_give_up(&c->resp);
	c->obs.head_len = 0;
}

/* Room for a head of len bytes and, behind it, the tracker's output. */
static bool head_reserve(struct observe_conn *o, size_t len)
{
	return buf_reserve(&o->head, &o->head_cap,
			   len + http_response_out_room(len), 1024);
}

/* A head is complete in o->head: follow it as enforcement would. */
static void finish_head(struct conn *c)
{
	struct observe_conn *o = &c->obs;
	struct http_response_info info;
	unsigned out_index = atomic_load(&c->awaiting_out);
	size_t len = o->head_len;
	int reason;

	http_response_finish_head(&c->resp, o->head, len,
				  c->awaiting[out_index % CONN_AWAITING_MAX],
				  o->head + len, &info);
	o->head_len = 0;
	reason = observe_response_head(o, &info, len);
	if (reason >= 0)
		stop(c, reason);
	if (info.verdict != HTTP_RESP_INTERIM)
		atomic_store(&c->awaiting_out, out_index + 1);
	if (info.verdict == HTTP_RESP_FINAL && info.complete && answered_all(c))
		observe_idle(o);
}

/* Follows n bytes the program has just read. */
static void follow(struct conn *c, const uint8_t *p, size_t n)
{
	struct observe_conn *o = &c->obs;
	enum http_head_status st;
	bool complete;
	size_t k;

	while (n > 0 && c->resp.phase != HTTP_RESP_OPAQUE) {
		if (c->resp.phase != HTTP_RESP_HEAD) {
			unsigned before = c->resp.phase;
			k = http_response_pass(&c->resp, p, n, &complete);
			if (before == HTTP_RESP_BODY_CHUNKED &&
			    c->resp.phase == HTTP_RESP_OPAQUE)
				stop(c, GAVE_UP_BAD_RESPONSE);
			stats_add(&stats.bytes_inspected, k);
			if (complete && answered_all(c))
				observe_idle(o);
			p += k;
			n -= k;
			continue;
		}
		if (o->head_len == 0 &&
		    (answered_all(c) ||
		     (atomic_load(&c->flags) & CONN_RESP_LOST))) {
			/* bytes that answer no request seen */
			stop(c, atomic_load(&c->flags) & CONN_TLS ?
					-1 : GAVE_UP_UNPAIRED);
			break;
		}
		k = http_response_scan(&c->resp, p, n, &st);
		if (st == HTTP_HEAD_INVALID) {
			stop(c, GAVE_UP_BAD_RESPONSE);
			break;
		}
		if (!head_reserve(o, o->head_len + k)) {
			stop(c, GAVE_UP_NO_MEMORY);
			break;
		}
		memcpy(o->head + o->head_len, p, k);
		o->head_len += k;
		p += k;
		n -= k;
		if (st == HTTP_HEAD_COMPLETE)
			finish_head(c);
	}
}

ssize_t observe_read_step(struct conn *c, int fd, struct msghdr *msg,
			  int flags, bool plain)
{
	ssize_t r;
	size_t i, left;

	if (c->resp.phase == HTTP_RESP_OPAQUE) {
		if (c->rerr != 0) {
			errno = c->rerr;
			c->rerr = 0;
			return -1;
		}
		conn_side_opaque(c, CONN_RESP_OPAQUE);
		return CONN_READ_PASS;
	}
	/* non-blocking under the lock; conn_read waits with it left */
	if (plain && msg->msg_iovlen == 1)
		r = REAL(recv)(fd, msg->msg_iov[0].iov_base,
			       msg->msg_iov[0].iov_len, flags | MSG_DONTWAIT);
	else
		r = REAL(recvmsg)(fd, msg, flags | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
	    !(flags & MSG_DONTWAIT))
		return OBSERVE_READ_WAIT;
	if (r == 0)
		stop(c, -1);	/* the end of the stream */
	if (r <= 0 || (flags & MSG_PEEK))
		return r;	/* a peek is followed when it is read */
	left = (size_t)r;
	for (i = 0; i < msg->msg_iovlen && left > 0; i++) {
		size_t k = msg->msg_iov[i].iov_len < left ?
				   msg->msg_iov[i].iov_len : left;
		follow(c, msg->msg_iov[i].iov_base, k);
		left -= k;
	}
	return r;
}
