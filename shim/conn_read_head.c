/* conn_read_head.c - the response side's head phase: a response head is
 * looked at in the kernel's queue (MSG_PEEK) and taken from it once
 * complete, rewritten to say close, into rout for conn_read.c to deliver.
 * An unfinished head is taken only when more of it must still arrive (so
 * nothing the program waits for is ever held; see conn_read.c). */
#define _GNU_SOURCE
#include "conn.h"
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn_read_int.h"
#include "fdtable.h"
#include "real.h"
#include "stats.h"

#define PEEK_MAX 8192		/* head bytes looked at per system call */

bool resp_rheld_reserve(struct conn *c, size_t n)
{
	return buf_reserve(&c->rheld, &c->rheld_cap, c->rheld_len + n, 1024);
}

/* Bytes of an unfinished head the program may have now (see
 * http_response_stable), beyond those it has had. */
static size_t rheld_stable(const struct conn *c)
{
	size_t n = c->rheld_len > c->rheld_given ?
		   http_response_stable(c->rheld, c->rheld_len) : 0;

	return n > c->rheld_given ? n - c->rheld_given : 0;
}

/* A read finds an unfinished head and nothing more in the kernel: it
 * returns what the rewrite cannot change, as it would without the shim,
 * rather than wait for the rest.  The rest of rheld stays held. */
ssize_t resp_give_stable(struct conn *c, struct msghdr *msg, int flags,
			 size_t want)
{
	size_t n = rheld_stable(c);

	if (n > want)
		n = want;
	resp_scatter(msg, c->rheld + c->rheld_given, n);
	msg->msg_namelen = 0;
	msg->msg_controllen = 0;
	msg->msg_flags = 0;
	if (!(flags & MSG_PEEK))
		c->rheld_given += n;
	return (ssize_t)n;
}

/* fd was closed by another thread while the shim looked at it (the number
 * may be another file's by now): the n bytes seen are what a read blocked
 * there would have returned; nothing more is taken from the number. */
void resp_take_from_closed(struct conn *c, const uint8_t *p, size_t n)
{
	uint8_t *b;

	resp_stop_tracking(c, GAVE_UP_MOVED);
	if (n > 0 && (b = realloc(c->rout, c->rout_len + n)) != NULL) {
		memcpy(b + c->rout_len, p, n);
		c->rout = b;
		c->rout_len += n;
	}
}

/* A response head the program must read as the server sent it: one that
 * answers an earlier of several pipelined requests (the connection goes
 * on), keeping what the tracker learnt of its framing. */
static bool keep_head(struct conn *c, unsigned out_index,
		      const struct http_response_info *info)
{
	return info->verdict == HTTP_RESP_FINAL &&
	       out_index + 1 != atomic_load(&c->awaiting_in);
}

/* A response head was rewritten (or copied as is). */
void resp_count_response(struct conn *c, const struct http_response_info *info,
			 size_t head_len, bool kept)
{
	stats_add(&stats.bytes_inspected, head_len);
	if (info->verdict == HTTP_RESP_FINAL && !kept)
		stats_add(&stats.responses_rewritten, 1);
	else if (info->verdict == HTTP_RESP_INVALID ||
		 info->verdict == HTTP_RESP_TUNNEL) {
		conn_gave_up(c, info->verdict == HTTP_RESP_INVALID ?
					GAVE_UP_BAD_RESPONSE :
					GAVE_UP_LEFT_ALONE);
		/* pass-through for good: the request side too */
		atomic_fetch_or(&c->flags, CONN_RESP_GAVE_UP);
	}
}

/* The head phase: looks at the kernel's queue and takes a head from it
 * once complete, rewritten into rout. */
enum fill resp_fill_head(struct conn *c, int fd, struct msghdr *msg,
			 int flags, size_t want, size_t *peeked)
{
	uint8_t tmp[PEEK_MAX];
	struct http_response_stream probe = c->resp, next;
	struct http_response_info info;
	enum http_head_status st;
	const uint8_t *head;
	size_t k, len, consume, out_len, given = c->rheld_given;
	unsigned out_index;
	bool tail_queued, stable;
	uint8_t *out;
	ssize_t r;

	if (c->rheld_len == 0 && !conn_verify_socket(c, fd)) {
		/* the number was reused behind our back */
		resp_stop_tracking(c, GAVE_UP_MOVED);
		if (conn_table_mutable())
			fdtable_forget_if(fd, c);
		return FILL_AGAIN;
	}
	/* with bytes for the program in hand, look without waiting */
	stable = rheld_stable(c) > 0;
	r = REAL(recv)(fd, tmp, sizeof tmp, MSG_PEEK | MSG_DONTWAIT);
	if (r < 0 && stable && (errno == EAGAIN || errno == EWOULDBLOCK))
		return FILL_GIVE;
	if (resp_must_wait(r, flags))
		return FILL_WAIT;
	if (r < 0 && c->rheld_len > 0 && errno != EAGAIN &&
	    errno != EWOULDBLOCK && errno != EINTR) {
		/* the kernel reports an error once, and the held bytes came
		 * before it: they go first, the error after them */
		c->rerr = errno;
		resp_stop_tracking(c, -1);
		return FILL_AGAIN;
	}
	if (r < 0)
		return FILL_ERROR;
	if (fdtable_peek(fd) != c) {
		resp_take_from_closed(c, tmp, (size_t)r < want ? (size_t)r : want);
		return FILL_AGAIN;
	}
	if (r == 0) {
		if (c->rheld_len == 0)
			return FILL_EOF;
		resp_stop_tracking(c, -1);	/* a cut head: deliver it as it is */
		return FILL_AGAIN;
	}
	out_index = atomic_load(&c->awaiting_out);
	if (c->rheld_len == 0 &&
	    (out_index == atomic_load(&c->awaiting_in) ||
	     (atomic_load(&c->flags) & (CONN_RESP_LOST | CONN_GAVE_UP)))) {
		/* bytes that answer no request we saw (a TLS server's
		 * handshake answers one, but not ours to count), or a
		 * connection given up on (its requests are no longer
		 * counted, so its answers cannot be paired) */
		resp_stop_tracking(c, atomic_load(&c->flags) & CONN_TLS ?
					 -1 : GAVE_UP_UNPAIRED);
		return FILL_AGAIN;
	}
	k = http_response_scan(&probe, tmp, (size_t)r, &st);
	if (st == HTTP_HEAD_INVALID) {
		resp_stop_tracking(c, GAVE_UP_BAD_RESPONSE);
		return FILL_AGAIN;
	}
	if (st == HTTP_HEAD_MORE && (flags & MSG_PEEK) && c->rheld_len == 0 &&
	    (size_t)r < sizeof tmp) {
		/* the program peeks: it sees the part the rewrite cannot
		 * change, and the kernel keeps every byte, for whatever call
		 * comes next (splice, recvmmsg: calls the shim cannot follow).
		 * Not when the look filled tmp: a head longer than that would
		 * show the same bytes to every peek, for ever; it is taken,
		 * and peeks see it from what is held. */
		size_t n = http_response_stable(tmp, (size_t)r);
		if (n > 0) {
			*peeked = n < want ? n : want;
			resp_scatter(msg, tmp, *peeked);
			msg->msg_namelen = 0;
			msg->msg_controllen = 0;
			msg->msg_flags = 0;
			return FILL_PEEKED;
		}
	}
	if (st == HTTP_HEAD_MORE) {
		/* an unfinished head is no use to the program yet: take it,
		 * the rest must still come */
		if (!resp_rheld_reserve(c, (size_t)r)) {
			resp_stop_tracking(c, GAVE_UP_NO_MEMORY);
			return FILL_AGAIN;
		}
		r = REAL(recv)(fd, c->rheld + c->rheld_len, (size_t)r,
			       MSG_DONTWAIT);
		if (r > 0) {
			http_response_scan(&c->resp, c->rheld + c->rheld_len,
					   (size_t)r, &st);
			c->rheld_len += (size_t)r;
		}
		return FILL_AGAIN;
	}

	/* complete: the head is rheld plus tmp[0, k) */
	if (c->rheld_len == 0) {
		head = tmp;
		len = k;
	} else {
		if (!resp_rheld_reserve(c, k)) {
			resp_stop_tracking(c, GAVE_UP_NO_MEMORY);
			return FILL_AGAIN;
		}
		memcpy(c->rheld + c->rheld_len, tmp, k);
		head = c->rheld;
		len = c->rheld_len + k;
	}
	out = malloc(http_response_out_room(len));
	if (out == NULL) {
		resp_stop_tracking(c, GAVE_UP_NO_MEMORY);
		return FILL_AGAIN;
	}
	next = c->resp;
	out_len = http_response_finish_head(
		&next, head, len, c->awaiting[out_index % CONN_AWAITING_MAX],
		out, &info);
	if (keep_head(c, out_index, &info)) {
		memcpy(out, head, len);
		out_len = len;
	}
	if (given > 0 && (out_len < given || memcmp(out, head, given) != 0)) {
		/* the rewrite would change bytes the program has had (never,
		 * by http_response_stable): the head goes as it came */
		free(out);
		resp_stop_tracking(c, GAVE_UP_BAD_RESPONSE);
		return FILL_AGAIN;
	}
	/* keep the last byte queued unless all of the output goes now */
	tail_queued = (flags & MSG_PEEK) || out_len - given > want;
	consume = k - (tail_queued ? 1 : 0);
	r = consume > 0 ? REAL(recv)(fd, tmp, consume, MSG_DONTWAIT) : 0;
	if (r != (ssize_t)consume) {
		/* the queue was not what we saw: bytes moved behind our
		 * back.  What we did take goes to the program unchanged. */
		free(out);
		if (r > 0 && resp_rheld_reserve(c, (size_t)r)) {
			memcpy(c->rheld + c->rheld_len, tmp, (size_t)r);
			c->rheld_len += (size_t)r;
		}
		resp_stop_tracking(c, GAVE_UP_MOVED);
		return FILL_AGAIN;
	}
	c->resp = next;
	resp_count_response(c, &info, len, out_len == len && keep_head(c, out_index,
								   &info));
	if (info.verdict != HTTP_RESP_INTERIM)
		atomic_store(&c->awaiting_out, out_index + 1);
	resp_rout_clear(c);
	c->rout = out;
	c->rout_len = out_len;
	c->rout_off = given;
	c->rheld_given = 0;
	c->rout_tail_queued = tail_queued;
	c->rout_ends_response = info.verdict == HTTP_RESP_FINAL &&
				info.complete && resp_answered_all(c);
	c->rheld_len = 0;
	return FILL_AGAIN;
}
