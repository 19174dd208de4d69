/* tls_conn.c - the table of TLS sessions and one HTTP/1.x exchange inside
 * each, over the plaintext calls of the program's TLS library.  See
 * tls_conn.h for why this needs no lock. */
#define _GNU_SOURCE
#include "tls_conn.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config.h"
#include "conn.h"
#include "fdtable.h"
#include "filter.h"
#include "log.h"
#include "real.h"
#include "stats.h"

__thread int tls_probe_fd __attribute__((tls_model("initial-exec"))) = -1;

/* ---- the table ----
 *
 * Open addressing over a power of two, keyed by the session pointer.  A
 * slot's key goes EMPTY -> (claimed) -> session -> TOMB; its value is
 * written before the key is published, so a reader that matches the key
 * sees the value.  Only the thread using a session inserts or removes it
 * (one session is never used by two threads at once), so a slot's value
 * is never freed while its own session is being looked up. */
#define TLS_SLOTS (1u << 14)
#define TLS_PROBES 64		/* a longer run: the session is not tracked */
#define KEY_EMPTY ((void *)0)
#define KEY_TOMB ((void *)1)
#define KEY_CLAIMED ((void *)2)

static struct {
	void *_Atomic key;
	struct tls_conn *_Atomic val;
} slots[TLS_SLOTS];

static inline unsigned slot_of(const void *p)
{
	return (unsigned)((((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull) >> 50) &
	       (TLS_SLOTS - 1);
}

struct tls_conn *tls_lookup(const void *session)
{
	unsigned i = slot_of(session), k;
	void *key;

	for (k = 0; k < TLS_PROBES; k++, i = (i + 1) & (TLS_SLOTS - 1)) {
		key = atomic_load_explicit(&slots[i].key, memory_order_acquire);
		if (key == session)
			return atomic_load_explicit(&slots[i].val,
						    memory_order_relaxed);
		if (key == KEY_EMPTY)
			return NULL;
	}
	return NULL;
}

static bool table_insert(void *session, struct tls_conn *val)
{
	unsigned i = slot_of(session), k;
	void *key;

	for (k = 0; k < TLS_PROBES; k++, i = (i + 1) & (TLS_SLOTS - 1)) {
		key = atomic_load_explicit(&slots[i].key, memory_order_relaxed);
		if ((key == KEY_EMPTY || key == KEY_TOMB) &&
		    atomic_compare_exchange_strong(&slots[i].key, &key,
						   KEY_CLAIMED)) {
			atomic_store_explicit(&slots[i].val, val,
					      memory_order_relaxed);
			atomic_store_explicit(&slots[i].key, session,
					      memory_order_release);
			return true;
		}
	}
	return false;
}

/* Sets the session's entry: its own slot if it has one (only the thread
 * using a session writes its entry), else a new one. */
static bool table_put(void *session, struct tls_conn *val)
{
	unsigned i = slot_of(session), k;
	void *key;

	for (k = 0; k < TLS_PROBES; k++, i = (i + 1) & (TLS_SLOTS - 1)) {
		key = atomic_load_explicit(&slots[i].key, memory_order_acquire);
		if (key == session) {
			atomic_store_explicit(&slots[i].val, val,
					      memory_order_release);
			return true;
		}
		if (key == KEY_EMPTY)
			break;
	}
	return table_insert(session, val);
}

static void conn_free(struct tls_conn *t)
{
	free(t->held);
	free(t->pending);
	free(t->rin);
	free(t->rout);
	free(t);
}

void tls_forget(const void *session)
{
	unsigned i = slot_of(session), k;
	struct tls_conn *t;
	void *key;

	for (k = 0; k < TLS_PROBES; k++, i = (i + 1) & (TLS_SLOTS - 1)) {
		key = atomic_load_explicit(&slots[i].key, memory_order_acquire);
		if (key == KEY_EMPTY)
			return;
		if (key != session)
			continue;
		t = atomic_exchange(&slots[i].val, NULL);
		atomic_store_explicit(&slots[i].key, KEY_TOMB,
				      memory_order_release);
		if (tls_tracked(t) != NULL)
			conn_free(t);
		return;
	}
}

/* ---- deciding ---- */

/* The request's Host decides (FORCECLOSE_ONLY, _EXCEPT), as in conn.c. */
static bool host_left_alone(const void *ctx, const uint8_t *host, size_t len)
{
	const struct tls_conn *t = ctx;

	if (t->host_rule & 1 &&
	    (host == NULL || !filter_match_host(&settings.only, host, len)))
		return true;
	return t->host_rule & 2 && host != NULL &&
	       filter_match_host(&settings.except, host, len);
}

/* Could these bytes begin an HTTP/1.x request?  A method token and a
 * space; anything else (h2's preface, a private protocol) passes. */
static bool looks_like_request(const uint8_t *p, size_t n)
{
	static const char *const methods[] = {
		"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ",
		"PATCH ", "TRACE ",
	};
	size_t i, l;

	if (n >= 24 && memcmp(p, "PRI * HTTP/2.0", 14) == 0)
		return false;
	for (i = 0; i < sizeof methods / sizeof methods[0]; i++) {
		l = strlen(methods[i]);
		if (memcmp(p, methods[i], n < l ? n : l) == 0)
			return true;
	}
	return false;
}

bool tls_filters_on(void)
{
	config_load();
	return config.filtered && !config.disabled;
}

void tls_hint(void *session, int fd)
{
	struct tls_conn *t = tls_lookup(session);

	if (fd >= 0 && (t == NULL || tls_hinted(t)))
		table_put(session, (struct tls_conn *)(((uintptr_t)fd << 2) | 2));
}

/* Filters made of host patterns only: the Host field decides, whatever
 * the socket (as destination_wanted() in conn.c would rule). */
static bool hosts_only(uint8_t *rule)
{
	if ((settings.has_only && settings.only.n_hosts != settings.only.n) ||
	    (settings.has_except &&
	     settings.except.n_hosts != settings.except.n))
		return false;
	*rule = (settings.has_only ? CONN_HOST_ONLY : 0) |
		(settings.has_except ? CONN_HOST_EXCEPT : 0);
	return true;
}

static struct tls_conn *pass(void *session)
{
	table_put(session, TLS_PASS);
	return TLS_PASS;
}

struct tls_conn *tls_decide(void *session, const struct tls_ops *ops,
			    const void *p, size_t n, bool client)
{
	struct tls_conn *t, *was = tls_lookup(session);
	struct conn *c = NULL;
	int fd;

	config_load();
	if (config.disabled)
		return NULL;	/* nothing is tracked, nothing recorded */
	if (!client || n == 0 || !looks_like_request(p, n))
		return n > 0 ? pass(session) : NULL;
	t = calloc(1, sizeof *t);
	if (t == NULL)
		return NULL;
	t->session = session;
	t->ops = ops;
	fd = ops->socket(session);
	if (fd < 0 && tls_hinted(was))
		fd = (int)((uintptr_t)was >> 2);	/* the handshake's */
	t->fd = fd;
	/* A socket the shim knows decides the filters by address; one it
	 * does not know yet (curl's BIO) is learned on the first write. */
	if (fd >= 0) {
		c = fdtable_acquire(fd);
		if (c == NULL || c == &conn_closed) {
			if (c != NULL)
				conn_put(c);
			free(t);
			return pass(session);
		}
		t->host_rule = c->host_rule;
		memcpy(t->dest, c->dest, sizeof t->dest);
		conn_put(c);
	} else if (config.filtered && !hosts_only(&t->host_rule)) {
		/* without the address, address filters cannot be kept */
		free(t);
		return pass(session);
	}
	http_request_init(&t->req);
	http_response_init(&t->resp);
	if (t->host_rule != 0) {
		t->req.leave_host_alone = host_left_alone;
		t->req.host_ctx = t;
	}
	if (!table_put(session, t)) {
		free(t);
		return NULL;
	}
	stats_add(&stats.tls_tracked, 1);
	log_event(LOG_DEBUG, t->dest, "tracking TLS session (%s)", ops->kind,
		  strlen(ops->kind));
	return t;
}

/* ---- buffers ---- */

static bool append(uint8_t **buf, size_t *len, size_t *cap, const void *p,
		   size_t n)
{
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : 512;
		uint8_t *b;
		while (c < *len + n)
			c *= 2;
		b = realloc(*buf, c);
		if (b == NULL)
			return false;
		*buf = b;
		*cap = c;
	}
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

static long conn_write_in(struct tls_conn *t, const void *buf, size_t n)
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
		/* not HTTP after all: what was held goes first, as it was */
		req_give_up(t, GAVE_UP_NOT_HTTP);
		t->resp_opaque = true;
		if (t->held_len > 0) {
			free(t->pending);
			t->pending = t->held;
			t->pending_len = t->held_len;
			t->pending_off = 0;
			t->held = NULL;
			t->held_len = t->held_cap = 0;
			r = flush_pending(t);
			if (r <= 0)
				return r;
		}
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
	if (reason >= 0)
		stats_add(&stats.given_up[reason], 1);
}

static bool answered_all(const struct tls_conn *t)
{
	return t->awaiting_in == t->awaiting_out;
}

/* The last plaintext byte of the final response is being delivered. */
static void teardown(struct tls_conn *t)
{
	static const char *const done[] = {
		"TLS response complete, connection shut down",
		("TLS response complete, connection shut down, descriptor "
		 "to close"),
		"TLS response complete, connection left open (action none)",
	};
	int saved = errno;
	struct conn *c;

	stats_add(&stats.teardowns[config.action], 1);
	stats_add(&stats.tls_teardowns, 1);
	log_event(LOG_TEARDOWNS, t->dest, done[config.action], NULL, 0);
	if (config.action == CONN_ACTION_NONE) {
		errno = saved;
		return;
	}
	t->torn_down = true;
	if (t->ops->close_notify != NULL)
		t->ops->close_notify(t->session);
	if (t->fd >= 0) {
		c = fdtable_acquire(t->fd);
		/* only the socket the shim saw connected, still that one */
		if (c != NULL && c != &conn_closed &&
		    conn_same_socket(c, t->fd)) {
			atomic_fetch_or(&c->flags, CONN_TORN_DOWN);
			REAL(shutdown)(t->fd, SHUT_RDWR);
			if (config.action == CONN_ACTION_CLOSE)
				conn_close_later(c, t->fd);
		}
		if (c != NULL)
			conn_put(c);
	}
	errno = saved;
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
		teardown(t);	/* counted and logged, nothing closed */
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
			teardown(t);
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

static long conn_read_in(struct tls_conn *t, void *buf, size_t n, bool peek)
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
				teardown(t);
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

/* ---- the socket underneath ----
 *
 * A library that hides its socket (curl's own BIO) still reaches it
 * through send/recv: the socket-layer hooks report the first tracked
 * descriptor used during the call (tls_probe). */
static void probe_begin(const struct tls_conn *t)
{
	if (t->fd < 0)
		tls_probe_fd = -2;
}

static void probe_end(struct tls_conn *t)
{
	struct conn *c;
	int fd;

	if (t->fd >= 0)
		return;
	fd = tls_probe_fd;
	tls_probe_fd = -1;
	if (fd < 0)
		return;
	t->fd = fd;
	c = fdtable_acquire(fd);
	if (c == NULL || c == &conn_closed) {
		/* not a socket the shim saw connected: leave it alone */
		t->req_opaque = t->resp_opaque = true;
		t->rout_ends = false;
	} else {
		t->host_rule = c->host_rule;
		memcpy(t->dest, c->dest, sizeof t->dest);
	}
	if (c != NULL)
		conn_put(c);
}

long tls_conn_write(struct tls_conn *t, const void *buf, size_t n)
{
	long r;
	int saved;

	probe_begin(t);
	r = conn_write_in(t, buf, n);
	saved = errno;
	probe_end(t);
	errno = saved;
	return r;
}

long tls_conn_read(struct tls_conn *t, void *buf, size_t n, bool peek)
{
	long r;
	int saved;

	probe_begin(t);
	r = conn_read_in(t, buf, n, peek);
	saved = errno;
	probe_end(t);
	errno = saved;
	return r;
}
