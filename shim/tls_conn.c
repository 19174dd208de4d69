/* tls_conn.c - one HTTP/1.x exchange inside a TLS session: the program's
 * plaintext through the rewriter on its way out, the library's through
 * the tracker on its way in.  Knows nothing of sockets or of the TLS
 * library: both are behind struct tls_ops and tls_teardown() (in
 * tls_session.c), so tests/fuzz/fuzz_tls.c can drive it alone. */
#define _GNU_SOURCE
#include "tls_conn.h"
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"	/* CONN_ACTION_* */
#include "stats.h"

/* ---- buffers ---- */

static bool append(uint8_t **buf, size_t *len, size_t *cap, const void *p,
		   size_t n)
{
	if (n == 0)
		return true;	/* *buf may still be NULL */
	if (!buf_reserve(buf, cap, *len + n, 512))
		return false;
	memcpy(*buf + *len, p, n);
	*len += n;
	return true;
}

/* A head longer than this is not rewritten (as the socket layer) */
#define TLS_HEAD_MAX (64 * 1024)

/* ---- write side ---- */

static void req_give_up(struct tls_conn *t, int reason)
{
	http_request_give_up(&t->req);
	t->req_opaque = true;
	if (reason >= 0)
		stats_add(&stats.given_up[reason], 1);
}

static long flush_pending(struct tls_conn *t);

/* The request side gives up for good: what was held (counted as written)
 * goes first, as it was.  > 0 when it has gone; else the library's
 * failure, and the program's retry sends it. */
static long stop_writing(struct tls_conn *t, int reason)
{
	req_give_up(t, reason);
	if (t->held_len == 0)
		return 1;
	free(t->pending);
	t->pending = t->held;
	t->pending_len = t->held_len;
	t->pending_off = 0;
	t->held = NULL;
	t->held_len = t->held_cap = 0;
	return flush_pending(t);
}

/* Sends what is owed; > 0 when all of it has gone. */
static long flush_pending(struct tls_conn *t)
{
	long r;

	while (t->pending_off < t->pending_len) {
		r = t->ops->send(t->session, t->pending + t->pending_off,
				 t->pending_len - t->pending_off);
		if (r <= 0)
			return r;
		t->pending_off += (size_t)r;
	}
	t->pending_off = t->pending_len = 0;
	return 1;
}

static void request_done(struct tls_conn *t, const struct http_request_info *in)
{
	switch (in->verdict) {
	case HTTP_REQ_REWRITTEN:
		stats_add(&stats.requests_rewritten, 1);
		if (in->close_added)
			stats_add(&stats.close_added, 1);
		else if (in->lines_changed)
			stats_add(&stats.close_rewritten, 1);
		if (t->awaiting_in - t->awaiting_out >= TLS_AWAITING_MAX) {
			/* too many in flight to pair responses with */
			t->resp_opaque = true;
			stats_add(&stats.given_up[GAVE_UP_UNPAIRED], 1);
			break;
		}
		t->awaiting[t->awaiting_in++ % TLS_AWAITING_MAX] =
			in->method_head;
		break;
	case HTTP_REQ_LEFT_ALONE:
		stats_add(&stats.requests_left_alone, 1);
		req_give_up(t, in->host_left_alone ? GAVE_UP_EXCLUDED_HOST :
						     GAVE_UP_LEFT_ALONE);
		t->resp_opaque = true;
		break;
	default:
		req_give_up(t, GAVE_UP_NOT_HTTP);
		t->resp_opaque = true;
		break;
	}
}

/* The head ends `used` bytes into the program's p: rewrite it into
 * pending.  False when out of memory (then it goes as it is). */
static bool finish_request_head(struct tls_conn *t, const uint8_t *p,
				size_t used)
{
	struct http_request_info info;
	const uint8_t *head = p;
	size_t len = used, room;
	uint8_t *out;

	if (t->held_len > 0) {
		if (!append(&t->held, &t->held_len, &t->held_cap, p, used))
			return false;
		head = t->held;
		len = t->held_len;
	}
	room = http_request_out_room(len);
	out = malloc(room);
	if (out == NULL)
		return false;
	free(t->pending);
	t->pending = out;
	t->pending_len = http_request_finish_head(&t->req, head, len, out,
						  &info);
	t->pending_off = 0;
	t->held_len = 0;
	stats_add(&stats.bytes_inspected, len);
	request_done(t, &info);
	if (t->req.phase == HTTP_REQ_OPAQUE)
		t->req_opaque = true;
	return true;
}

/* Body bytes: straight from the program's buffer, up to the body's end
 * (a later head is the program's next call). */
static long send_body(struct tls_conn *t, const uint8_t *p, size_t n)
{
	struct http_request_stream look = t->req;
	size_t k = t->req_opaque ? n : http_request_pass(&look, p, n);
	long r;

	if (k == 0)
		return 0;
	r = t->ops->send(t->session, p, k);
	if (r > 0 && !t->req_opaque)
		http_request_pass(&t->req, p, (size_t)r);
	return r;
}

/* The call's first call_done bytes (a head) are done: the body bytes
 * after them go now.  A retryable failure keeps call_done, so the
 * program's retry of the same call (which the TLS library requires)
 * resumes here, and the call reports all its bytes at once, as without
 * the library; only a body that ends inside the buffer (a pipelined head
 * follows) makes a short count. */
static long finish_call(struct tls_conn *t, const uint8_t *p, size_t n)
{
	size_t done = t->call_done < n ? t->call_done : n;
	long r;

	t->call_done = 0;
	if (done == n || t->req.phase == HTTP_REQ_HEAD)
		return (long)done;
	r = send_body(t, p + done, n - done);
	if (r <= 0) {
		if (t->ops->retry(t->session, r))
			t->call_done = done;
		return r;
	}
	return (long)done + r;
}

long tls_exchange_write(struct tls_conn *t, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	enum http_head_status st;
	size_t used;
	long r;

	t->err = TLS_ERR_NONE;
	if (t->torn_down) {
		t->err = TLS_ERR_BROKEN;
		errno = EPIPE;
		return -1;
	}
	if (t->pending_len > 0) {
		/* the program retries the call that made the head (the
		 * library wants the same arguments again) */
		r = flush_pending(t);
		if (r <= 0)
			return r;
	}
	if (t->call_done > 0)
		return finish_call(t, p, n);
	if (t->resp_gave_up && !t->req_opaque) {
		r = stop_writing(t, -1);	/* counted by the response side */
		if (r <= 0)
			return r;
	}
	if (n == 0 || t->req_opaque)
		return t->ops->send(t->session, buf, n);
	if (t->req.phase != HTTP_REQ_HEAD) {
		r = send_body(t, p, n);
		if (r != 0 || t->req.phase != HTTP_REQ_HEAD)
			return r;
	}
	used = http_request_scan(&t->req, p, n, &st);
	if (st == HTTP_HEAD_INVALID ||
	    (st != HTTP_HEAD_COMPLETE && t->held_len + used > TLS_HEAD_MAX)) {
		/* not HTTP after all */
		t->resp_opaque = true;
		r = stop_writing(t, GAVE_UP_NOT_HTTP);
		if (r <= 0)
			return r;
		return t->ops->send(t->session, buf, n);
	}
	if (st != HTTP_HEAD_COMPLETE) {
		/* an unfinished head is no use to the server: held, counted
		 * as written, sent rewritten with the rest of the head */
		if (!append(&t->held, &t->held_len, &t->held_cap, p, used))
			return t->ops->send(t->session, buf, n);
		return (long)used;
	}
	if (!finish_request_head(t, p, used)) {
		req_give_up(t, GAVE_UP_NO_MEMORY);
		t->resp_opaque = true;
		return t->ops->send(t->session, buf, n);
	}
	t->call_done = used;
	r = flush_pending(t);
	if (r <= 0)
		return r;	/* owed; the retry sends it (above) */
	return finish_call(t, p, n);
}

/* ---- read side ---- */

static void resp_give_up(struct tls_conn *t, int reason)
{
	http_response_give_up(&t->resp);
	t->resp_opaque = true;
	if (reason >= 0) {
		stats_add(&stats.given_up[reason], 1);
		t->resp_gave_up = true;	/* pass-through for good */
	}
}

static bool answered_all(const struct tls_conn *t)
{
	return t->awaiting_in == t->awaiting_out;
}

static bool rout_add(struct tls_conn *t, const void *p, size_t n)
{
	if (t->rout_off == t->rout_len)
		t->rout_off = t->rout_len = 0;
	return append(&t->rout, &t->rout_len, &t->rout_cap, p, n);
}

/* A final response ended: the last one asked for ends the connection. */
static void response_ended(struct tls_conn *t)
{
	if (answered_all(t) && config.action != CONN_ACTION_NONE)
		t->rout_ends = true;
	else if (answered_all(t))
		tls_teardown(t);	/* counted and logged, nothing closed */
}

/* A complete response head in rin: rewritten into rout. */
static bool finish_response_head(struct tls_conn *t)
{
	struct http_response_info info;
	uint8_t *out;
	size_t len, room = http_response_out_room(t->rin_len);
	bool to_head, last, ok;

	if (answered_all(t)) {
		/* a response to no request the shim saw */
		ok = rout_add(t, t->rin, t->rin_len);
		t->rin_len = 0;
		resp_give_up(t, GAVE_UP_UNPAIRED);
		return ok;
	}
	to_head = t->awaiting[t->awaiting_out % TLS_AWAITING_MAX];
	last = t->awaiting_in - t->awaiting_out == 1;
	out = malloc(room);
	if (out == NULL)
		return false;
	len = http_response_finish_head(&t->resp, t->rin, t->rin_len, to_head,
					out, &info);
	stats_add(&stats.bytes_inspected, t->rin_len);
	/* responses to earlier pipelined requests reach the program as the
	 * server sent them */
	if (last || info.verdict != HTTP_RESP_FINAL)
		ok = rout_add(t, out, len);
	else
		ok = rout_add(t, t->rin, t->rin_len);
	free(out);
	t->rin_len = 0;
	if (!ok)
		return false;
	if (info.verdict == HTTP_RESP_FINAL) {
		if (last)
			stats_add(&stats.responses_rewritten, 1);
		t->awaiting_out++;
		if (info.complete)
			response_ended(t);
	} else if (info.verdict == HTTP_RESP_INVALID) {
		resp_give_up(t, GAVE_UP_BAD_RESPONSE);
	} else if (info.verdict == HTTP_RESP_TUNNEL) {
		resp_give_up(t, GAVE_UP_LEFT_ALONE);
	}
	return true;
}

/* Plaintext taken from the library: parsed, owed to the program in rout.
 * False when out of memory. */
static bool absorb(struct tls_conn *t, const uint8_t *p, size_t n)
{
	enum http_head_status st;
	bool complete;
	size_t k;

	while (n > 0) {
		if (t->rout_ends) {
			/* bytes after the last response: not a teardown */
			t->rout_ends = false;
			resp_give_up(t, GAVE_UP_UNPAIRED);
		}
		if (t->resp_opaque)
			return rout_add(t, p, n);
		if (t->resp.phase != HTTP_RESP_HEAD) {
			k = http_response_pass(&t->resp, p, n, &complete);
			if (!rout_add(t, p, k))
				return false;
			p += k;
			n -= k;
			if (complete)
				response_ended(t);
			continue;
		}
		k = http_response_scan(&t->resp, p, n, &st);
		if (!append(&t->rin, &t->rin_len, &t->rin_cap, p, k))
			return false;
		p += k;
		n -= k;
		if (st == HTTP_HEAD_INVALID || t->rin_len > TLS_HEAD_MAX) {
			k = t->rin_len;
			t->rin_len = 0;
			resp_give_up(t, GAVE_UP_BAD_RESPONSE);
			if (!rout_add(t, t->rin, k))
				return false;
			continue;
		}
		if (st == HTTP_HEAD_COMPLETE && !finish_response_head(t))
			return false;
	}
	return true;
}

/* Hands the program what the shim holds. */
static long deliver(struct tls_conn *t, uint8_t *p, size_t n, bool peek)
{
	size_t k = tls_conn_pending(t);

	if (k > n)
		k = n;
	memcpy(p, t->rout + t->rout_off, k);
	if (peek)
		return (long)k;
	t->rout_off += k;
	if (t->rout_off == t->rout_len) {
		t->rout_off = t->rout_len = 0;
		if (t->rout_ends) {
			t->rout_ends = false;
			tls_teardown(t);
		}
	}
	return (long)k;
}

/* Everything held goes to the program as it is; no teardown. */
static void stop_reading(struct tls_conn *t, int reason)
{
	size_t k = t->rin_len;

	t->rin_len = 0;
	t->rout_ends = false;
	resp_give_up(t, reason);
	if (k > 0 && !rout_add(t, t->rin, k))
		stats_add(&stats.given_up[GAVE_UP_NO_MEMORY], 1);
}

long tls_exchange_read(struct tls_conn *t, void *buf, size_t n, bool peek)
{
	uint8_t *p = buf;
	bool complete;
	size_t k;
	long r;

	t->err = TLS_ERR_NONE;
	if (t->torn_down) {
		/* as if the server had sent close_notify and closed */
		t->err = TLS_ERR_CLOSED;
		return 0;
	}
	for (;;) {
		if (n == 0)
			break;
		if (tls_conn_pending(t) > 0)
			return deliver(t, p, n, peek);
		if (t->resp_opaque)
			break;
		if (t->resp.phase != HTTP_RESP_HEAD) {
			/* a body: straight into the program's buffer */
			if (peek)
				break;
			r = t->ops->recv(t->session, p, n);
			if (r <= 0)
				return r;
			k = http_response_pass(&t->resp, p, (size_t)r,
					       &complete);
			if (complete)
				response_ended(t);
			/* bytes past the body's end: the next head, parsed
			 * (and owed to the program) like any other */
			if (k < (size_t)r && !absorb(t, p + k, (size_t)r - k)) {
				stop_reading(t, GAVE_UP_NO_MEMORY);
				return r;
			}
			if (k == 0)
				continue;
			if (t->rout_ends && tls_conn_pending(t) == 0) {
				t->rout_ends = false;
				tls_teardown(t);
			}
			return (long)k;
		}
		/* a head: collected whole, then rewritten (the program's
		 * buffer serves as the landing place) */
		r = t->ops->recv(t->session, p, n);
		if (r <= 0) {
			if (t->rin_len == 0 || t->ops->retry(t->session, r))
				return r;
			/* the stream ended inside a head: hand it over as it
			 * is; the library reports the end on the next call */
			stop_reading(t, GAVE_UP_BAD_RESPONSE);
			continue;
		}
		if (!absorb(t, p, (size_t)r)) {
			stop_reading(t, GAVE_UP_NO_MEMORY);
			return r;	/* p still holds the bytes as sent */
		}
	}
	return peek ? t->ops->peek(t->session, buf, n) :
		      t->ops->recv(t->session, buf, n);
}
