/* tls_conn.h - one HTTP/1.x exchange inside a TLS session: the same pure
 * rewriter and tracker as the socket layer, fed the plaintext that passes
 * through the TLS library's own read and write calls.
 *
 * A separate, smaller path than conn_read.c/conn_write.c (see
 * docs/internals.md, "TLS"): a TLS session may not be used by two threads
 * at once (OpenSSL and GnuTLS both say so), so a session's state needs no
 * lock, and the TLS library itself does the waiting, in the program's own
 * blocking or non-blocking mode.  Entry points are in tls_openssl.c and
 * tls_gnutls.c; they know nothing of HTTP. */
#ifndef FORCECLOSE_TLS_CONN_H
#define FORCECLOSE_TLS_CONN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_request.h"
#include "http_response.h"

/* The TLS library underneath, as the core sees it.  send/recv/peek return
 * what the library's own call returned, in the library's convention:
 * > 0 plaintext bytes, <= 0 a failure (the exact value is handed back to
 * the program, so the library's error state and its answer agree).
 * retry: the failure is "try again later" (non-blocking, renegotiation). */
struct tls_ops {
	long (*send)(void *s, const void *p, size_t n);
	long (*recv)(void *s, void *p, size_t n);
	long (*peek)(void *s, void *p, size_t n);
	bool (*retry)(void *s, long r);
	void (*close_notify)(void *s);	/* once, may not wait; may be NULL */
	int (*socket)(void *s);		/* the descriptor, or -1 */
	const char *kind;		/* "openssl", "gnutls" (logs) */
};

/* tls_conn.err: what the library's error call must answer for the last
 * call the shim answered itself (0: ask the library). */
enum { TLS_ERR_NONE, TLS_ERR_CLOSED, TLS_ERR_BROKEN };

#define TLS_AWAITING_MAX 16

struct conn;

struct tls_conn {
	void *session;
	const struct tls_ops *ops;
	int fd;			/* the socket underneath, -1 unknown */
	bool torn_down;
	bool req_opaque, resp_opaque;
	bool resp_gave_up;	/* the response side gave up: the request
				   side does too, at its next call (pass-
				   through for good; held bytes go first) */
	uint8_t host_rule;	/* as the socket's conn (Host filters) */
	int err;		/* TLS_ERR_* for the library's error call */
	char dest[64];
	/* observe mode (tls_observe.c): the program's own calls are made,
	 * their plaintext followed into the socket's observe record */
	bool observe;
	struct conn *sock;	/* that socket's connection, a reference */

	/* request side */
	struct http_request_stream req;
	uint8_t *held;		/* an unfinished head, already reported */
	size_t held_len, held_cap;
	uint8_t *pending;	/* a rewritten head owed to the session */
	size_t pending_len, pending_off;
	size_t call_done;	/* bytes of the program's call (a head)
				   done; its retry resumes after them */
	uint8_t awaiting[TLS_AWAITING_MAX];	/* 1: HEAD */
	unsigned awaiting_in, awaiting_out;

	/* response side */
	struct http_response_stream resp;
	uint8_t *rin;		/* an unfinished response head */
	size_t rin_len, rin_cap;
	uint8_t *rout;		/* plaintext owed to the program */
	size_t rout_len, rout_off, rout_cap;
	bool rout_ends;		/* tear down once rout is delivered */
};

/* The table of sessions, keyed by the library's pointer.  Lookup is
 * lock-free: a hash, a few atomic loads, no allocation, no system call. */
#define TLS_PASS ((struct tls_conn *)1)	/* seen, not HTTP: pass for good */
struct tls_conn *tls_lookup(const void *session);

/* A third kind of entry: a session not decided yet whose handshake showed
 * its hidden socket (tls_hint).  Tagged, never a pointer (calloc aligns). */
static inline bool tls_hinted(const struct tls_conn *t)
{
	return ((uintptr_t)t & 3) == 2;
}

/* The entry is a tracked session (not absent, passed or hinted). */
static inline struct tls_conn *tls_tracked(struct tls_conn *t)
{
	return ((uintptr_t)t & 3) == 0 ? t : NULL;
}

/* Sessions tracked now, process-wide.  While there are none (a program
 * that speaks h2 or no HTTP over TLS), a read or a query on any session
 * is one relaxed load, no lookup.  A session becomes tracked only in its
 * own thread's write, and a program that hands a session to another
 * thread synchronises that hand-over, so no thread can miss the session
 * it is using. */
extern _Atomic unsigned long tls_live;

static inline bool tls_any_tracked(void)
{
	return atomic_load_explicit(&tls_live, memory_order_relaxed) != 0;
}

/* The session's connection if it is tracked, else NULL: reads' test. */
static inline struct tls_conn *tls_find_tracked(const void *session)
{
	return tls_any_tracked() ? tls_tracked(tls_lookup(session)) : NULL;
}

/* The first plaintext the program writes decides.  Returns the session's
 * connection, TLS_PASS, or NULL when it cannot be tracked right now. */
struct tls_conn *tls_decide(void *session, const struct tls_ops *ops,
			    const void *p, size_t n, bool client);

/* The filters (FORCECLOSE_ONLY, _EXCEPT) need the socket under a session
 * whose library hides it: the handshake's own send/recv show it. */
bool tls_filters_on(void);
void tls_hint(void *session, int fd);

/* The library frees or resets the session. */
void tls_forget(const void *session);

/* The socket-layer hooks report the descriptors a TLS call used (only the
 * tracked ones, on their slow path): how a session whose library hides
 * its socket (curl's own BIO) is tied to it. */
extern __thread int tls_probe_fd __attribute__((tls_model("initial-exec")));
static inline void tls_probe(int fd)
{
	if (__builtin_expect(tls_probe_fd == -2, 0))
		tls_probe_fd = fd;
}

/* Around a TLS library call: start listening, then the descriptor seen
 * (or -1).  errno is the call's. */
static inline void tls_probe_start(void)
{
	tls_probe_fd = -2;
}

static inline int tls_probe_stop(void)
{
	int fd = tls_probe_fd;

	tls_probe_fd = -1;
	return fd;
}

/* What SSL_write/gnutls_record_send should return: program bytes, or the
 * library's failure value. */
long tls_conn_write(struct tls_conn *t, const void *p, size_t n);

/* What SSL_read/SSL_peek/gnutls_record_recv should return. */
long tls_conn_read(struct tls_conn *t, void *p, size_t n, bool peek);

/* The exchange alone (tls_conn.c), without the socket probe: */
long tls_exchange_write(struct tls_conn *t, const void *buf, size_t n);
long tls_exchange_read(struct tls_conn *t, void *buf, size_t n, bool peek);
/* The last plaintext byte of the final response is being delivered: end
 * the connection (tls_session.c). */
void tls_teardown(struct tls_conn *t);

/* Observe mode (tls_observe.c).  The hook arms the socket probe, makes
 * the program's own call, then hands over what it carried: r is the
 * plaintext count the call moved, or <= 0 (the library's failure value,
 * in the ops convention).  errno is kept. */
static inline bool tls_observing(const struct tls_conn *t)
{
	return __builtin_expect(t->observe, 0);
}
void tls_observe_sent(struct tls_conn *t, const void *p, long r);
void tls_observe_received(struct tls_conn *t, const void *p, size_t n,
			  long r);
/* A session found in observe mode: tied to its socket's connection if it
 * is known now (else on the first call), false if it cannot be followed
 * (tls_session.c, beside the enforcement's socket learning). */
bool tls_observe_attach(struct tls_conn *t, int fd);

/* Plaintext the shim holds for the program (SSL_pending and friends). */
static inline size_t tls_conn_pending(const struct tls_conn *t)
{
	return t->rout_len - t->rout_off;
}

#endif
