/* engine_resp.c - the response side of an engine connection: response
 * heads go through the library's tracker (http_response.c), which
 * rewrites final ones to say close; bodies are only counted.
 *
 * Like the library, it never holds bytes the program is waiting for
 * while the kernel's queue is empty: a head is read from the kernel only
 * once it is complete (peeked first), and when its rewrite does not fit
 * the program's buffer its last byte stays queued until the rest is
 * delivered, so poll/epoll keep seeing the socket readable. */
#define _GNU_SOURCE
#include "buf.h"
#include "engine_conn.h"
#include "engine_conn_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "config.h"
#include "log.h"
#include "stats.h"

#define PEEK_MAX (HTTP_HEAD_MAX + 1)	/* a longer head is given up */

/* Pass-through for good, the request side too: it reads the flag under
 * its own lock, so a head it holds in part is not overtaken. */
static void stop_tracking(struct econn *c, int reason)
{
	http_response_give_up(&c->resp);
	atomic_fetch_or(&c->flags, EC_RESP_OPAQUE | EC_RESP_GAVE_UP);
	econn_gave_up(c, reason);
}

/* A response ended: tear down when it answered the last request sent and
 * no other request is being written. */
static void response_done(struct econn *c, int fd)
{
	if (atomic_fetch_add(&c->awaiting_out, 1) + 1 ==
	    atomic_load(&c->awaiting_in))
		observe_idle(&c->obs);
	econn_maybe_teardown(c, fd);
}

static bool rheld_add(struct econn *c, const uint8_t *p, size_t n)
{
	if (!buf_reserve(&c->rheld, &c->rheld_cap, c->rheld_len + n, 1024))
		return false;
	memcpy(c->rheld + c->rheld_len, p, n);
	c->rheld_len += n;
	return true;
}

/* Rewritten head bytes owed from an earlier read. */
static long deliver_rout(struct econn *c, int fd, uint8_t *out, size_t n)
{
	size_t k = c->rout_len - c->rout_off;
	uint8_t last;

	if (k > n)
		k = n;
	memcpy(out, c->rout + c->rout_off, k);
	c->rout_off += k;
	if (c->rout_off == c->rout_len) {
		/* the head's last byte, kept queued until now */
		if (recv(fd, &last, 1, MSG_DONTWAIT) != 1)
			stop_tracking(c, GAVE_UP_MOVED);
		free(c->rout);
		c->rout = NULL;
		if (c->rout_ends_response)
			response_done(c, fd);
		if (c->resp.phase == HTTP_RESP_OPAQUE)
			atomic_fetch_or(&c->flags, EC_RESP_OPAQUE);
	}
	return (long)k;
}

/* A peek while rewritten head bytes are owed: shows them, takes nothing
 * (fewer than asked is what a short read would give too). */
static long peek_rout(const struct econn *c, uint8_t *out, size_t n)
{
	size_t k = c->rout_len - c->rout_off;

	if (k > n)
		k = n;
	memcpy(out, c->rout + c->rout_off, k);
	return (long)k;
}

static void account(struct econn *c, const struct http_response_info *info)
{
	if (info->verdict == HTTP_RESP_FINAL) {
		stats_add(&stats.responses_rewritten, 1);
		observe_response(&c->obs, info->said_close);
		if (log_on(LOG_REQUESTS)) {
			char code[4] = { (char)('0' + info->status / 100 % 10),
					 (char)('0' + info->status / 10 % 10),
					 (char)('0' + info->status % 10), 0 };
			log_event(LOG_REQUESTS, c->dest,
				  "%s response rewritten to say close", code, 3);
		}
	} else if (info->verdict == HTTP_RESP_INVALID) {
		stop_tracking(c, GAVE_UP_BAD_RESPONSE);
	} else if (info->verdict == HTTP_RESP_TUNNEL) {
		stop_tracking(c, GAVE_UP_LEFT_ALONE);
	}
}

/* In the head phase.  pk: scratch of PEEK_MAX bytes. */
static long read_head(struct econn *c, int fd, uint8_t *out, size_t n,
		      uint8_t *pk)
{
	struct http_response_stream look = c->resp;
	struct http_response_info info;
	enum http_head_status st;
	unsigned idx = atomic_load(&c->awaiting_out);
	size_t used, stable, give, out_len, owed;
	uint8_t *head, *rew;
	ssize_t got;

	got = recv(fd, pk, PEEK_MAX - c->rheld_len, MSG_PEEK | MSG_DONTWAIT);
	if (got <= 0) {
		if (got == 0)
			observe_eof(&c->obs);
		if (got == 0 && c->rheld_len > 0)
			stop_tracking(c, GAVE_UP_BAD_RESPONSE);
		return got < 0 ? -errno : 0;
	}
	if (c->rheld_len == 0 && (idx == atomic_load(&c->awaiting_in) ||
				  atomic_load(&c->flags) & EC_GAVE_UP)) {
		/* bytes that answer no request we saw, or a connection
		 * given up on (its requests are no longer counted, so its
		 * answers cannot be paired) */
		stop_tracking(c, GAVE_UP_UNPAIRED);
		return -EAGAIN;	/* the caller retries as pass-through */
	}
	used = http_response_scan(&look, pk, (size_t)got, &st);
	if (st == HTTP_HEAD_INVALID) {
		stop_tracking(c, GAVE_UP_BAD_RESPONSE);
		return -EAGAIN;
	}
	if (st == HTTP_HEAD_MORE) {
		if (!rheld_add(c, pk, (size_t)got))
			return stop_tracking(c, GAVE_UP_NO_MEMORY), -EAGAIN;
		stable = http_response_stable(c->rheld, c->rheld_len);
		c->rheld_len -= (size_t)got;	/* only peeked */
		give = stable > c->rheld_len ? stable - c->rheld_len : 0;
		if (give > n)
			give = n;
		if (give == 0)
			return c->rheld_len + (size_t)got >= HTTP_HEAD_MAX ?
			       (stop_tracking(c, GAVE_UP_BAD_RESPONSE), -EAGAIN)
			       : ECONN_MORE;
		/* the unchanging start of the head goes now */
		got = recv(fd, out, give, MSG_DONTWAIT);
		if (got <= 0)
			return got < 0 ? -errno : 0;
		http_response_scan(&c->resp, out, (size_t)got, &st);
		rheld_add(c, out, (size_t)got);	/* fits: reserved above */
		return got;
	}
	/* a whole head: rheld plus used bytes of pk */
	if (!rheld_add(c, pk, used))
		return stop_tracking(c, GAVE_UP_NO_MEMORY), -EAGAIN;
	head = c->rheld;
	rew = malloc(http_response_out_room(c->rheld_len));
	if (rew == NULL) {
		c->rheld_len -= used;
		return stop_tracking(c, GAVE_UP_NO_MEMORY), -EAGAIN;
	}
	c->resp = look;
	out_len = http_response_finish_head(&c->resp, head, c->rheld_len,
					    c->awaiting[idx % EC_AWAITING_MAX],
					    rew, &info);
	stats_add(&stats.bytes_inspected, c->rheld_len);
	owed = out_len - (c->rheld_len - used);	/* what the program lacks */
	c->rheld_len = 0;
	account(c, &info);
	if (info.verdict == HTTP_RESP_INTERIM)
		info.complete = false;
	if (owed <= n) {
		/* it fits: take the head from the kernel, give the rewrite */
		got = recv(fd, pk, used, MSG_DONTWAIT);
		memcpy(out, rew + (out_len - owed), owed);
		free(rew);
		if (got != (ssize_t)used)
			stop_tracking(c, GAVE_UP_MOVED);
		else if (info.complete)
			response_done(c, fd);
		if (c->resp.phase == HTTP_RESP_OPAQUE)
			atomic_fetch_or(&c->flags, EC_RESP_OPAQUE);
		return (long)owed;
	}
	/* all but its last byte from the kernel; the rest of the rewrite
	 * stays owed (used >= 2: a head ends in an empty line) */
	got = recv(fd, pk, used - 1, MSG_DONTWAIT);
	memcpy(out, rew + (out_len - owed), n);
	c->rout = rew;
	c->rout_len = out_len;
	c->rout_off = out_len - owed + n;
	c->rout_ends_response = info.complete;
	if (got != (ssize_t)used - 1)
		stop_tracking(c, GAVE_UP_MOVED);
	return (long)n;
}

static long read_locked(struct econn *c, int fd, uint8_t *out, size_t n,
			int flags, uint8_t *pk)
{
	struct http_response_stream look;
	bool complete;
	ssize_t got;
	size_t m;
	long r;

	if (c->rout != NULL)
		return flags & MSG_PEEK ? peek_rout(c, out, n)
					: deliver_rout(c, fd, out, n);
	for (;;) {
		if (atomic_load(&c->flags) & (EC_RESP_OPAQUE | EC_TORN_DOWN) ||
		    flags & (MSG_PEEK | MSG_OOB)) {
			got = recv(fd, out, n, flags | MSG_DONTWAIT);
			if (got == 0 && !(flags & MSG_PEEK))
				observe_eof(&c->obs);
			return got < 0 ? -errno : got;
		}
		switch (c->resp.phase) {
		case HTTP_RESP_HEAD:
			r = read_head(c, fd, out, n, pk);
			if (r == -EAGAIN &&
			    atomic_load(&c->flags) & EC_RESP_OPAQUE)
				continue;	/* given up: read as it is */
			return r;
		case HTTP_RESP_BODY_LENGTH:
			m = n < c->resp.body_left ? n : (size_t)c->resp.body_left;
			got = recv(fd, out, m, MSG_DONTWAIT);
			break;
		default:	/* chunked: only up to the body's end */
			got = recv(fd, out, n, MSG_PEEK | MSG_DONTWAIT);
			if (got <= 0)
				break;
			look = c->resp;
			m = http_response_pass(&look, out, (size_t)got,
					       &complete);
			got = recv(fd, out, m, MSG_DONTWAIT);
			break;
		}
		if (got == 0)
			observe_eof(&c->obs);
		if (got <= 0)
			return got < 0 ? -errno : 0;
		stats_add(&stats.bytes_inspected, (size_t)got);
		http_response_pass(&c->resp, out, (size_t)got, &complete);
		if (c->resp.phase == HTTP_RESP_OPAQUE) {
			atomic_fetch_or(&c->flags, EC_RESP_OPAQUE);
			if (!complete)
				stop_tracking(c, GAVE_UP_BAD_RESPONSE);
		}
		if (complete)
			response_done(c, fd);
		return got;
	}
}

long econn_read(struct econn *c, int fd, uint8_t *out, size_t n, int flags)
{
	static __thread uint8_t *pk;
	long r, more;
	int queued;

	if (pk == NULL && (pk = malloc(PEEK_MAX)) == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&c->rlock);
	r = read_locked(c, fd, out, n, flags, pk);
	/* a head, and its body already queued behind it: both in this read,
	 * as the kernel would give them (a trapped call saved); only bytes
	 * the kernel has, so no error or end of file is swallowed */
	if (r > 0 && (size_t)r < n && c->rout == NULL &&
	    !(flags & (MSG_PEEK | MSG_OOB)) &&
	    (c->resp.phase == HTTP_RESP_BODY_LENGTH ||
	     c->resp.phase == HTTP_RESP_BODY_CHUNKED) &&
	    !(atomic_load(&c->flags) & (EC_RESP_OPAQUE | EC_TORN_DOWN)) &&
	    ioctl(fd, FIONREAD, &queued) == 0 && queued > 0) {
		more = read_locked(c, fd, out + r, n - (size_t)r, flags, pk);
		if (more > 0)
			r += more;
	}
	pthread_mutex_unlock(&c->rlock);
	return r;
}
