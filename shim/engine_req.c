/* engine_req.c - the request side of an engine connection: the program's
 * bytes go through the library's rewriter (http_request.c) on their way
 * to the supervisor's duplicate of the socket. */
#define _GNU_SOURCE
#include "buf.h"
#include "engine_conn.h"
#include "engine_conn_int.h"
#include "engine_int.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "filter.h"
#include "log.h"
#include "settings.h"
#include "stats.h"

/* How long a rewritten head may wait for room in the socket: it must be
 * on the wire before the call returns (the program will wait for the
 * answer), and a peer that takes nothing for this long is gone. */
#define HEAD_SEND_WAIT_MS 30000

long econn_send_all(int fd, const uint8_t *p, size_t n)
{
	struct pollfd pf = { .fd = fd, .events = POLLOUT };
	ssize_t r;

	while (n > 0) {
		r = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			p += r;
			n -= (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN)
			return -errno;
		engine_may_block();	/* up to 30 s: another worker serves */
		if (poll(&pf, 1, HEAD_SEND_WAIT_MS) == 0)
			return -ETIMEDOUT;
	}
	return 0;
}

void econn_req_flush(struct econn *c, int fd)
{
	if (c->held_len > 0)
		econn_send_all(fd, c->held, c->held_len);
	c->held_len = 0;
}

static bool host_left_alone(const void *ctx, const uint8_t *host, size_t len)
{
	const struct econn *c = ctx;

	if (c->host_rule & 1 &&
	    (host == NULL || !filter_match_host(&settings.only, host, len)))
		return true;
	return c->host_rule & 2 && host != NULL &&
	       filter_match_host(&settings.except, host, len);
}

/* First bytes out: FORCECLOSE_ONLY/_EXCEPT against the peer address (the
 * engine does not trap connect(); the address is the socket's). */
static void check_destination(struct econn *c, int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	bool wanted = true;

	atomic_fetch_or(&c->flags, EC_CHECKED);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
		len = 0;
	if (len > 0 && log_on(LOG_TEARDOWNS))
		log_format_dest(c->dest, sizeof c->dest,
				(struct sockaddr *)&ss, len);
	if (config.filtered && len > 0) {
		if (settings.has_except) {
			if (filter_match_addr(&settings.except,
					      (struct sockaddr *)&ss, len))
				wanted = false;
			else if (settings.except.n_hosts > 0)
				c->host_rule |= 2;
		}
		if (settings.has_only &&
		    !filter_match_addr(&settings.only, (struct sockaddr *)&ss,
				       len)) {
			if (settings.only.n_hosts == 0)
				wanted = false;
			c->host_rule |= 1;
		}
	}
	if (!wanted) {
		stats_add(&stats.connections_excluded, 1);
		log_event(LOG_DEBUG, c->dest, "excluded by filter", NULL, 0);
		atomic_fetch_or(&c->flags, EC_REQ_OPAQUE | EC_RESP_OPAQUE);
		return;
	}
	if (c->host_rule != 0) {
		c->req.leave_host_alone = host_left_alone;
		c->req.host_ctx = c;
	}
	stats_add(&stats.connections_tracked, 1);
	log_event(LOG_DEBUG, c->dest, "tracking connection", NULL, 0);
	if (len > 0 && config.observe) {
		observe_open(&c->obs, -1, (struct sockaddr *)&ss, len);
		observe_note_limit();	/* the program's, while it runs */
	}
}

static void stop_rewriting(struct econn *c, int reason)
{
	http_request_give_up(&c->req);
	atomic_fetch_or(&c->flags, EC_REQ_OPAQUE);
	atomic_store(&c->req_idle, true);
	econn_gave_up(c, reason);
}

/* The response side gave up (an ambiguous or invalid response): pass
 * through for good from this call on; a head held in part goes first, as
 * it is.  Counted by the response side. */
static void follow_response_side(struct econn *c, int fd)
{
	econn_req_flush(c, fd);
	http_request_give_up(&c->req);
	atomic_fetch_or(&c->flags, EC_REQ_OPAQUE);
	atomic_store(&c->req_idle, true);
}

static size_t method_length(const uint8_t *head, size_t len)
{
	const uint8_t *sp = memchr(head, ' ', len);

	return sp ? (size_t)(sp - head) : 0;
}

/* The counters and the log line for a finished head (as conn_write.c). */
static void account(struct econn *c, const struct http_request_info *info,
		    const uint8_t *head, size_t len)
{
	const char *what;

	what = stats_count_request(info);
	if (info->verdict != HTTP_REQ_INVALID)
		observe_request(&c->obs, info->said_close, info->host,
				info->host_len);
	if (info->verdict == HTTP_REQ_LEFT_ALONE)
		stop_rewriting(c, info->host_left_alone ? GAVE_UP_EXCLUDED_HOST
							: GAVE_UP_LEFT_ALONE);
	if (what == NULL) {
		stop_rewriting(c, GAVE_UP_NOT_HTTP);
		return;
	}
	if (log_on(LOG_REQUESTS))
		log_event(LOG_REQUESTS, c->dest, what, (const char *)head,
			  method_length(head, len));
}

/* held holds a complete head: rewrite it and put it on the wire. */
static long send_head(struct econn *c, int fd)
{
	struct http_request_info info;
	uint8_t *out = malloc(http_request_out_room(c->held_len));
	unsigned in = atomic_load(&c->awaiting_in);
	size_t n;
	long r;

	if (out == NULL) {
		r = econn_send_all(fd, c->held, c->held_len);
		c->held_len = 0;
		stop_rewriting(c, GAVE_UP_NO_MEMORY);
		return r;
	}
	n = http_request_finish_head(&c->req, c->held, c->held_len, out,
				     &info);
	account(c, &info, c->held, c->held_len);
	if (info.verdict == HTTP_REQ_REWRITTEN) {
		if (in - atomic_load(&c->awaiting_out) >= EC_AWAITING_MAX) {
			/* too many in flight to pair responses with */
			atomic_fetch_or(&c->flags, EC_RESP_OPAQUE);
			econn_gave_up(c, GAVE_UP_UNPAIRED);
		}
		c->awaiting[in % EC_AWAITING_MAX] = info.method_head;
		atomic_store(&c->awaiting_in, in + 1);
	}
	/* idle before the head leaves when no body follows: the answer may
	 * be read (and the connection torn down) before this call returns */
	if (c->req.phase == HTTP_REQ_HEAD)
		atomic_store(&c->req_idle, true);
	r = econn_send_all(fd, out, n);
	free(out);
	c->held_len = 0;
	return r;
}

static bool hold(struct econn *c, const uint8_t *p, size_t n)
{
	if (!buf_reserve(&c->held, &c->held_cap, c->held_len + n, 1024))
		return false;
	memcpy(c->held + c->held_len, p, n);
	c->held_len += n;
	return true;
}

/* Under wlock.  Program bytes are reported as taken once they are on the
 * wire or held here as part of a head (sent before anything later). */
static long write_locked(struct econn *c, int fd, const uint8_t *buf,
			 size_t n, int flags)
{
	size_t off = 0, m;
	enum http_head_status st;
	ssize_t r;
	long e;

	if (!(atomic_load(&c->flags) & EC_CHECKED))
		check_destination(c, fd);
	if ((atomic_load(&c->flags) & (EC_RESP_GAVE_UP | EC_REQ_OPAQUE)) ==
	    EC_RESP_GAVE_UP)
		follow_response_side(c, fd);
	while (off < n) {
		if (atomic_load(&c->flags) & EC_REQ_OPAQUE)
			m = n - off;
		else if (c->req.phase == HTTP_REQ_HEAD) {
			atomic_store(&c->req_idle, false);
			m = http_request_scan(&c->req, buf + off, n - off, &st);
			if (st == HTTP_HEAD_INVALID) {
				/* a TLS handshake: counted as such, in the
				 * counters and the report, and not as a
				 * give-up (as the library's socket counts it);
				 * the engine cannot read inside */
				if (c->held_len == 0 &&
				    http_looks_like_tls(buf + off, n - off)) {
					stats_add(&stats.tls_sockets, 1);
					observe_tls(&c->obs);
					atomic_fetch_or(&c->flags, EC_GAVE_UP);
				}
				/* not HTTP: what is held goes as it is */
				e = econn_send_all(fd, c->held, c->held_len);
				c->held_len = 0;
				stop_rewriting(c, GAVE_UP_NOT_HTTP);
				if (e < 0)
					return off ? (long)off : e;
				continue;
			}
			if (!hold(c, buf + off, st == HTTP_HEAD_COMPLETE ?
							m : n - off)) {
				e = econn_send_all(fd, c->held, c->held_len);
				c->held_len = 0;
				stop_rewriting(c, GAVE_UP_NO_MEMORY);
				if (e < 0)
					return off ? (long)off : e;
				continue;
			}
			stats_add(&stats.bytes_inspected,
				  st == HTTP_HEAD_COMPLETE ? m : n - off);
			if (st == HTTP_HEAD_MORE)
				return (long)n;
			e = send_head(c, fd);
			if (e < 0)
				return off ? (long)off : e;
			off += m;
			if (c->req.phase == HTTP_REQ_HEAD)
				econn_maybe_teardown(c, fd);
			continue;
		} else {
			struct http_request_stream look = c->req;
			m = http_request_pass(&look, buf + off, n - off);
			/* the body's end: idle before it leaves (see
			 * send_head), busy again if it does not all go */
			if (look.phase == HTTP_REQ_HEAD)
				atomic_store(&c->req_idle, true);
		}
		r = send(fd, buf + off, m, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < (ssize_t)m && !(atomic_load(&c->flags) & EC_REQ_OPAQUE))
			atomic_store(&c->req_idle, false);
		if (r <= 0)
			return off ? (long)off : r < 0 ? -errno : 0;
		if (!(atomic_load(&c->flags) & EC_REQ_OPAQUE)) {
			http_request_pass(&c->req, buf + off, (size_t)r);
			/* a response that came in before the request was all
			 * out: the teardown is due now */
			if (c->req.phase == HTTP_REQ_HEAD)
				econn_maybe_teardown(c, fd);
		}
		off += (size_t)r;
		if ((size_t)r < m)
			break;
	}
	return (long)off;
}

long econn_write(struct econn *c, int fd, const uint8_t *buf, size_t n,
		 int flags)
{
	long r;

	if (atomic_load(&c->flags) & EC_TORN_DOWN)
		return -EPIPE;	/* never SIGPIPE for a shutdown of ours */
	pthread_mutex_lock(&c->wlock);
	r = write_locked(c, fd, buf, n, flags);
	pthread_mutex_unlock(&c->wlock);
	return r;
}
