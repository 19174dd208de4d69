/* tls_observe.c - a TLS session in observe mode.  The hook makes the
 * program's own call (same function, same arguments, same answer); the
 * plaintext it moved is then fed to the same request and response
 * trackers as enforcement uses, with observe set (heads followed, nothing
 * rewritten), and what they see goes to the socket's observe record, as
 * on a plain connection (observe_read.c).  Nothing is held back or sent
 * by the shim, so SSL_pending, SSL_get_error and friends answer as
 * without it.  Only bytes a call returned count: a retry, a peek or an
 * empty read feeds nothing. */
#define _GNU_SOURCE
#include "tls_conn.h"
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "stats.h"

/* A head longer than this is not followed (as tls_conn.c) */
#define HEAD_MAX (64 * 1024)

/* Following stops, for good, on both sides (a request or response the
 * trackers cannot pair or parse): reason as for conn_gave_up. */
static void stop(struct tls_conn *t, int reason)
{
	t->req_opaque = t->resp_opaque = true;
	http_request_give_up(&t->req);
	http_response_give_up(&t->resp);
	t->held_len = t->rin_len = 0;
	conn_gave_up(t->sock, reason);
}

static bool answered_all(const struct tls_conn *t)
{
	return t->awaiting_in == t->awaiting_out;
}

/* ---- requests ---- */

/* A complete head in held: followed, counted, queued for its response. */
static void request_head(struct tls_conn *t)
{
	struct http_request_info info;
	size_t len = t->held_len;
	uint8_t *out = malloc(http_request_out_room(len));

	if (out == NULL) {
		stop(t, GAVE_UP_NO_MEMORY);
		return;
	}
	http_request_finish_head(&t->req, t->held, len, out, &info);
	free(out);	/* a copy of the head: observe changes nothing */
	t->held_len = 0;
	stats_add(&stats.bytes_inspected, len);
	stats_count_request(&info);
	if (info.verdict != HTTP_REQ_INVALID)
		observe_request(&t->sock->obs, info.said_close, info.host,
				info.host_len);
	if (info.verdict == HTTP_REQ_LEFT_ALONE)
		stop(t, info.host_left_alone ? GAVE_UP_EXCLUDED_HOST :
					       GAVE_UP_LEFT_ALONE);
	else if (info.verdict != HTTP_REQ_REWRITTEN)
		stop(t, GAVE_UP_NOT_HTTP);
	else if (t->awaiting_in - t->awaiting_out >= TLS_AWAITING_MAX)
		stop(t, GAVE_UP_UNPAIRED);	/* too many in flight */
	else
		t->awaiting[t->awaiting_in++ % TLS_AWAITING_MAX] =
			info.method_head;
}

static void follow_request(struct tls_conn *t, const uint8_t *p, size_t n)
{
	enum http_head_status st;
	size_t k;

	while (n > 0 && !t->req_opaque) {
		if (t->req.phase != HTTP_REQ_HEAD) {
			k = http_request_pass(&t->req, p, n);
			stats_add(&stats.bytes_inspected, k);
			if (t->req.phase == HTTP_REQ_OPAQUE)
				stop(t, GAVE_UP_NOT_HTTP);
			if (k == 0 && t->req.phase != HTTP_REQ_HEAD)
				break;	/* no progress: not ours */
			p += k;
			n -= k;
			continue;
		}
		k = http_request_scan(&t->req, p, n, &st);
		if (st == HTTP_HEAD_INVALID || t->held_len + k > HEAD_MAX) {
			stop(t, GAVE_UP_NOT_HTTP);
			break;
		}
		if (!buf_reserve(&t->held, &t->held_cap, t->held_len + k, 512)) {
			stop(t, GAVE_UP_NO_MEMORY);
			break;
		}
		memcpy(t->held + t->held_len, p, k);
		t->held_len += k;
		p += k;
		n -= k;
		if (st == HTTP_HEAD_COMPLETE)
			request_head(t);
	}
}

void tls_observe_sent(struct tls_conn *t, const void *p, long r)
{
	int saved = errno, seen = tls_probe_stop();

	if (r > 0 && tls_observe_attach(t, seen))
		follow_request(t, p, (size_t)r);
	errno = saved;
}

/* ---- responses ---- */

/* A complete head in rin (the tracker's output lands behind it). */
static void response_head(struct tls_conn *t)
{
	struct http_response_info info;
	struct observe_conn *o = &t->sock->obs;
	size_t len = t->rin_len;
	int reason;

	if (!buf_reserve(&t->rin, &t->rin_cap,
			 len + http_response_out_room(len), 512)) {
		stop(t, GAVE_UP_NO_MEMORY);
		return;
	}
	http_response_finish_head(&t->resp, t->rin, len,
				  t->awaiting[t->awaiting_out %
					      TLS_AWAITING_MAX],
				  t->rin + len, &info);
	t->rin_len = 0;
	reason = observe_response_head(o, &info, len);
	if (reason >= 0)
		stop(t, reason);
	if (info.verdict != HTTP_RESP_INTERIM)
		t->awaiting_out++;
	if (info.verdict == HTTP_RESP_FINAL && info.complete &&
	    answered_all(t))
		observe_idle(o);
}

static void follow_response(struct tls_conn *t, const uint8_t *p, size_t n)
{
	enum http_head_status st;
	bool complete;
	size_t k;

	while (n > 0 && !t->resp_opaque) {
		if (t->resp.phase != HTTP_RESP_HEAD) {
			unsigned before = t->resp.phase;
			k = http_response_pass(&t->resp, p, n, &complete);
			stats_add(&stats.bytes_inspected, k);
			if (before == HTTP_RESP_BODY_CHUNKED &&
			    t->resp.phase == HTTP_RESP_OPAQUE) {
				stop(t, GAVE_UP_BAD_RESPONSE);
				break;
			}
			if (complete && answered_all(t))
				observe_idle(&t->sock->obs);
			if (k == 0 && t->resp.phase != HTTP_RESP_HEAD)
				break;	/* no progress: not ours */
			p += k;
			n -= k;
			continue;
		}
		if (t->rin_len == 0 && answered_all(t)) {
			/* bytes that answer no request seen */
			stop(t, GAVE_UP_UNPAIRED);
			break;
		}
		k = http_response_scan(&t->resp, p, n, &st);
		if (st == HTTP_HEAD_INVALID || t->rin_len + k > HEAD_MAX) {
			stop(t, GAVE_UP_BAD_RESPONSE);
			break;
		}
		if (!buf_reserve(&t->rin, &t->rin_cap, t->rin_len + k, 512)) {
			stop(t, GAVE_UP_NO_MEMORY);
			break;
		}
		memcpy(t->rin + t->rin_len, p, k);
		t->rin_len += k;
		p += k;
		n -= k;
		if (st == HTTP_HEAD_COMPLETE)
			response_head(t);
	}
}

void tls_observe_received(struct tls_conn *t, const void *p, size_t n,
			  long r)
{
	int saved = errno, seen = tls_probe_stop();

	if (n == 0 || !tls_observe_attach(t, seen)) {
		errno = saved;
		return;
	}
	if (r > 0) {
		follow_response(t, p, (size_t)r);
	} else if (!t->ops->retry(t->session, r)) {
		/* the session ended (close_notify, the end of the stream, a
		 * fatal alert): nothing more comes from the server */
		observe_eof(&t->sock->obs);
		t->resp_opaque = true;
	}
	errno = saved;
}
