/* tls_session.c - the table of TLS sessions, deciding which are HTTP, the
 * socket underneath and the teardown; the exchange inside a session is in
 * tls_conn.c.  See tls_conn.h for why this needs no lock. */
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

_Alignas(64) _Atomic unsigned long tls_live;	/* its own cache line */
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
	if (t->sock != NULL)
		conn_put(t->sock);	/* observe mode: may end its record */
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
		if (tls_tracked(t) != NULL) {
			conn_free(t);
			atomic_fetch_sub_explicit(&tls_live, 1,
						  memory_order_relaxed);
		}
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
	if (config.observe) {
		t->observe = true;
		if (fd >= 0 && !tls_observe_attach(t, fd)) {
			free(t);
			return pass(session);
		}
	} else if (fd >= 0) {
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
	t->req.observe = t->resp.observe = t->observe;
	if (t->host_rule != 0) {
		t->req.leave_host_alone = host_left_alone;
		t->req.host_ctx = t;
	}
	atomic_fetch_add_explicit(&tls_live, 1, memory_order_relaxed);
	if (!table_put(session, t)) {
		atomic_fetch_sub_explicit(&tls_live, 1, memory_order_relaxed);
		free(t);
		return NULL;
	}
	stats_add(&stats.tls_tracked, 1);
	log_event(LOG_DEBUG, t->dest, "tracking TLS session (%s)", ops->kind,
		  strlen(ops->kind));
	return t;
}

/* ---- the teardown ---- */

/* The last plaintext byte of the final response is being delivered. */
void tls_teardown(struct tls_conn *t)
{
	static const char *const done[] = {
		"TLS response complete, connection shut down",
		("TLS response complete, connection shut down, descriptor "
		 "to close"),
		"TLS response complete, connection left open (action none)",
	};
	int saved = errno;
	/* this call read the record from the session's socket: the number
	 * is the socket as much as in a plain read's teardown (conn_read.c),
	 * so the slot check will do; else ask the kernel */
	bool read_here = t->fd >= 0 && tls_probe_fd == t->fd;
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
		    (read_here ? conn_same_socket(c, t->fd) :
				 conn_verify_socket(c, t->fd))) {
			atomic_fetch_or(&c->flags, CONN_TORN_DOWN);
			REAL(shutdown)(t->fd, SHUT_RDWR);
			atomic_fetch_or(&c->flags, CONN_SHUT);
			if (config.action == CONN_ACTION_CLOSE)
				conn_close_later(c, t->fd);
		}
		if (c != NULL)
			conn_put(c);
	}
	errno = saved;
}

/* ---- the socket underneath ----
 *
 * A library that hides its socket (curl's own BIO) still reaches it
 * through send/recv: the socket-layer hooks report the first tracked
 * descriptor used during the call (tls_probe). */
static void probe_begin(const struct tls_conn *t)
{
	(void)t;
	/* armed for every call: a socket not known yet is learned, and the
	 * teardown knows whether this call read from the session's socket */
	tls_probe_fd = -2;
}

static void probe_end(struct tls_conn *t)
{
	struct conn *c;
	int fd;

	fd = tls_probe_fd;
	tls_probe_fd = -1;
	if (t->fd >= 0 || fd < 0)
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

/* Observe mode: the socket's connection, whose observe record the
 * session's exchanges feed (opened at connect, named by its peer, ended
 * when the last of the descriptor and the session goes).  A session on a
 * socket the shim does not follow is left alone. */
bool tls_observe_attach(struct tls_conn *t, int fd)
{
	struct conn *c;

	if (t->sock != NULL)
		return true;
	if (t->req_opaque && t->resp_opaque)
		return false;
	if (t->fd >= 0)
		fd = t->fd;
	if (fd < 0)
		return false;	/* not known yet: the next call's probe */
	c = fdtable_acquire(fd);
	if (c == NULL || c == &conn_closed || c->obs.dest < 0) {
		if (c != NULL)
			conn_put(c);
		t->req_opaque = t->resp_opaque = true;
		return false;
	}
	t->fd = fd;
	t->sock = c;
	t->host_rule = c->host_rule;
	memcpy(t->dest, c->dest, sizeof t->dest);
	if (t->host_rule != 0) {
		t->req.leave_host_alone = host_left_alone;
		t->req.host_ctx = t;
	}
	observe_tls_followed(&c->obs);
	return true;
}

long tls_conn_write(struct tls_conn *t, const void *buf, size_t n)
{
	long r;
	int saved;

	probe_begin(t);
	r = tls_exchange_write(t, buf, n);
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
	r = tls_exchange_read(t, buf, n, peek);
	saved = errno;
	probe_end(t);
	errno = saved;
	return r;
}
