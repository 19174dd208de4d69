/* tls_openssl.c - OpenSSL 3's plaintext calls.  Each hook is one table
 * lookup for a session the shim does not track, then the real function.
 *
 * The real functions are found in the libssl the program has loaded:
 * Python and Perl load it with RTLD_LOCAL, so dlsym(RTLD_NEXT) finds
 * nothing, and dlopen(RTLD_NOLOAD) finds it once it is there - which it
 * is whenever one of these hooks is called, since only code linked
 * against libssl calls them.  The library itself never links libssl. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "real.h"
#include "tls_conn.h"

#define EXPORT __attribute__((visibility("default")))
#define SLOW __attribute__((noinline, cold))
#define NOINLINE __attribute__((noinline))

typedef struct ssl_st SSL;

/* <openssl/ssl.h> values (stable ABI) */
enum {
	SSL_ERROR_WANT_READ = 2,
	SSL_ERROR_WANT_WRITE = 3,
	SSL_ERROR_SYSCALL = 5,
	SSL_ERROR_ZERO_RETURN = 6,
};

#define SSL_FUNCTIONS(X)                                                   \
	X(int, SSL_read, (SSL * s, void *b, int n))                         \
	X(int, SSL_read_ex, (SSL * s, void *b, size_t n, size_t *r))        \
	X(int, SSL_peek, (SSL * s, void *b, int n))                         \
	X(int, SSL_peek_ex, (SSL * s, void *b, size_t n, size_t *r))        \
	X(int, SSL_write, (SSL * s, const void *b, int n))                  \
	X(int, SSL_write_ex, (SSL * s, const void *b, size_t n, size_t *w)) \
	X(int, SSL_pending, (const SSL *s))                                 \
	X(int, SSL_has_pending, (const SSL *s))                             \
	X(int, SSL_get_error, (const SSL *s, int r))                        \
	X(int, SSL_shutdown, (SSL * s))                                     \
	X(void, SSL_free, (SSL * s))                                        \
	X(int, SSL_clear, (SSL * s))                                        \
	X(int, SSL_connect, (SSL * s))                                      \
	X(int, SSL_do_handshake, (SSL * s))
/* used, not hooked */
#define SSL_OTHERS(X)                                                      \
	X(int, SSL_get_fd, (const SSL *s))                                  \
	X(int, SSL_get_wfd, (const SSL *s))                                 \
	X(int, SSL_is_server, (const SSL *s))

/* our hooks, below */
#define DECLARE(ret, name, params) EXPORT ret name params;
SSL_FUNCTIONS(DECLARE)
#undef DECLARE

static struct {
#define FIELD(ret, name, params) ret(*name) params;
	SSL_FUNCTIONS(FIELD)
	SSL_OTHERS(FIELD)
#undef FIELD
} ssl_real;

/* Idempotent: racing threads store the same pointers. */
static SLOW void resolve(void)
{
	void *h = dlopen("libssl.so.3", RTLD_NOW | RTLD_NOLOAD);

#define RESOLVE(ret, name, params, self)                              \
	__atomic_store_n(&ssl_real.name, (__typeof__(ssl_real.name))             \
			 real_tls_symbol(h, #name, self), __ATOMIC_RELEASE);
#define HOOKED(ret, name, params) RESOLVE(ret, name, params, (void *)name)
#define OTHER(ret, name, params) RESOLVE(ret, name, params, NULL)
	SSL_FUNCTIONS(HOOKED)
	SSL_OTHERS(OTHER)
#undef HOOKED
#undef OTHER
#undef RESOLVE
}

/* The pointer itself says whether it is resolved (real_tls_symbol never
 * gives NULL): one load on the way to the real function. */
#define REAL_SSL(name)                                                    \
	(__extension__({                                                  \
		__typeof__(ssl_real.name) f_ =                            \
			__atomic_load_n(&ssl_real.name, __ATOMIC_ACQUIRE); \
		if (__builtin_expect(f_ == NULL, 0)) {                    \
			resolve();                                        \
			f_ = __atomic_load_n(&ssl_real.name,              \
					     __ATOMIC_ACQUIRE);           \
		}                                                         \
		f_;                                                       \
	}))

/* ---- the session as tls_conn.c sees it ---- */

static long ops_send(void *s, const void *p, size_t n)
{
	size_t w = 0;
	int r = REAL_SSL(SSL_write_ex)(s, p, n, &w);
	return r > 0 ? (long)w : (r < 0 ? -1 : 0);
}

static long ops_recv(void *s, void *p, size_t n)
{
	size_t got = 0;
	int r = REAL_SSL(SSL_read_ex)(s, p, n, &got);
	return r > 0 ? (long)got : (r < 0 ? -1 : 0);
}

static long ops_peek(void *s, void *p, size_t n)
{
	size_t got = 0;
	int r = REAL_SSL(SSL_peek_ex)(s, p, n, &got);
	return r > 0 ? (long)got : (r < 0 ? -1 : 0);
}

static bool ops_retry(void *s, long r)
{
	int e = REAL_SSL(SSL_get_error)(s, (int)r);
	return e != SSL_ERROR_ZERO_RETURN && e != SSL_ERROR_SYSCALL &&
	       e != 1 /* SSL_ERROR_SSL */;
}

/* close_notify only where OpenSSL writes to the socket itself: through
 * a program's own BIO (curl) it would re-enter the program. */
static void ops_close_notify(void *s)
{
	if (REAL_SSL(SSL_get_wfd)(s) >= 0)
		REAL_SSL(SSL_shutdown)(s);
}

static int ops_socket(void *s)
{
	return REAL_SSL(SSL_get_fd)(s);
}

static const struct tls_ops openssl_ops = {
	.send = ops_send,
	.recv = ops_recv,
	.peek = ops_peek,
	.retry = ops_retry,
	.close_notify = ops_close_notify,
	.socket = ops_socket,
	.kind = "openssl",
};

/* ---- hooks ----
 *
 * The OpenSSL return conventions: SSL_read/SSL_write give the count or
 * <= 0; the _ex forms 1 with the count, or 0.  The core returns the
 * count or -1/0; SSL_get_error answers from the library's own state,
 * unless the shim answered the call itself (a torn-down session). */

static inline struct tls_conn *tracked(const SSL *s)
{
	return tls_find_tracked(s);
}

static SLOW struct tls_conn *first_write(SSL *s, const void *p, size_t n)
{
	struct tls_conn *t;

	if (p == NULL || n == 0)
		return NULL;
	t = tls_decide(s, &openssl_ops, p, n,
		       !REAL_SSL(SSL_is_server)(s));
	return t == TLS_PASS ? NULL : t;
}

static struct tls_conn *write_target(SSL *s, const void *p, size_t n)
{
	struct tls_conn *t = tls_lookup(s);

	if (__builtin_expect(t == NULL || tls_hinted(t), 0))
		return first_write(s, p, n);
	return tls_tracked(t);
}

/* Observe mode: the program's own call, then its plaintext followed. */
static SLOW int observe_write_ex(struct tls_conn *t, SSL *s, const void *b,
				 size_t n, size_t *w)
{
	size_t done = 0;
	int r;

	tls_probe_start();
	r = REAL_SSL(SSL_write_ex)(s, b, n, w != NULL ? w : &done);
	tls_observe_sent(t, b, r > 0 ? (long)(w != NULL ? *w : done) : -1);
	return r;
}

static SLOW int observe_write(struct tls_conn *t, SSL *s, const void *b,
			      int n)
{
	int r;

	tls_probe_start();
	r = REAL_SSL(SSL_write)(s, b, n);
	tls_observe_sent(t, b, r);
	return r;
}

static SLOW int observe_read_ex(struct tls_conn *t, SSL *s, void *b,
				size_t n, size_t *got)
{
	size_t k = 0;
	int r;

	tls_probe_start();
	r = REAL_SSL(SSL_read_ex)(s, b, n, got != NULL ? got : &k);
	tls_observe_received(t, b, n, r > 0 ? (long)(got != NULL ? *got : k) :
					       0);
	return r;
}

static SLOW int observe_read(struct tls_conn *t, SSL *s, void *b, int n)
{
	int r;

	tls_probe_start();
	r = REAL_SSL(SSL_read)(s, b, n);
	tls_observe_received(t, b, (size_t)n, r);
	return r;
}

EXPORT int SSL_write_ex(SSL *s, const void *b, size_t n, size_t *w)
{
	struct tls_conn *t = write_target(s, b, n);
	long r;

	if (t == NULL)
		return REAL_SSL(SSL_write_ex)(s, b, n, w);
	if (tls_observing(t))
		return observe_write_ex(t, s, b, n, w);
	r = tls_conn_write(t, b, n);
	if (r <= 0)
		return 0;
	if (w != NULL)
		*w = (size_t)r;
	return 1;
}

EXPORT int SSL_write(SSL *s, const void *b, int n)
{
	struct tls_conn *t = n > 0 ? write_target(s, b, (size_t)n) : NULL;

	if (t == NULL)
		return REAL_SSL(SSL_write)(s, b, n);
	if (tls_observing(t))
		return observe_write(t, s, b, n);
	return (int)tls_conn_write(t, b, (size_t)n);
}

/* The reads on a session that may be tracked, out of line: while no
 * session is tracked a read hook is a load, a test and a jump. */
static NOINLINE int read_ex_any(SSL *s, void *b, size_t n, size_t *got,
				bool peek)
{
	struct tls_conn *t = tls_tracked(tls_lookup(s));
	long r;

	if (t == NULL || (peek && tls_observing(t)))
		return peek ? REAL_SSL(SSL_peek_ex)(s, b, n, got) :
			      REAL_SSL(SSL_read_ex)(s, b, n, got);
	if (tls_observing(t))
		return observe_read_ex(t, s, b, n, got);
	r = tls_conn_read(t, b, n, peek);
	if (r <= 0)
		return 0;
	if (got != NULL)
		*got = (size_t)r;
	return 1;
}

static NOINLINE int read_any(SSL *s, void *b, int n, bool peek)
{
	struct tls_conn *t = n > 0 ? tls_tracked(tls_lookup(s)) : NULL;

	if (t == NULL || (peek && tls_observing(t)))
		return peek ? REAL_SSL(SSL_peek)(s, b, n) :
			      REAL_SSL(SSL_read)(s, b, n);
	if (tls_observing(t))
		return observe_read(t, s, b, n);
	return (int)tls_conn_read(t, b, (size_t)n, peek);
}

EXPORT int SSL_read_ex(SSL *s, void *b, size_t n, size_t *got)
{
	if (__builtin_expect(!tls_any_tracked(), 1))
		return REAL_SSL(SSL_read_ex)(s, b, n, got);
	return read_ex_any(s, b, n, got, false);
}

EXPORT int SSL_read(SSL *s, void *b, int n)
{
	if (__builtin_expect(!tls_any_tracked(), 1))
		return REAL_SSL(SSL_read)(s, b, n);
	return read_any(s, b, n, false);
}

EXPORT int SSL_peek_ex(SSL *s, void *b, size_t n, size_t *got)
{
	if (__builtin_expect(!tls_any_tracked(), 1))
		return REAL_SSL(SSL_peek_ex)(s, b, n, got);
	return read_ex_any(s, b, n, got, true);
}

EXPORT int SSL_peek(SSL *s, void *b, int n)
{
	if (__builtin_expect(!tls_any_tracked(), 1))
		return REAL_SSL(SSL_peek)(s, b, n);
	return read_any(s, b, n, true);
}

/* Plaintext the shim holds counts as the library's own. */
EXPORT int SSL_pending(const SSL *s)
{
	struct tls_conn *t = tracked(s);
	size_t k;
	int r = REAL_SSL(SSL_pending)(s);

	if (__builtin_expect(t == NULL, 1))
		return r;
	k = tls_conn_pending(t) + (size_t)(r > 0 ? r : 0);
	return k > INT_MAX ? INT_MAX : (int)k;
}

EXPORT int SSL_has_pending(const SSL *s)
{
	struct tls_conn *t = tracked(s);

	if (t != NULL && tls_conn_pending(t) > 0)
		return 1;
	return REAL_SSL(SSL_has_pending)(s);
}

EXPORT int SSL_get_error(const SSL *s, int r)
{
	struct tls_conn *t = r > 0 ? NULL : tracked(s);

	if (__builtin_expect(t == NULL || t->err == TLS_ERR_NONE, 1))
		return REAL_SSL(SSL_get_error)(s, r);
	return t->err == TLS_ERR_CLOSED ? SSL_ERROR_ZERO_RETURN :
					  SSL_ERROR_SYSCALL;
}

/* After a teardown the session has ended both ways, as after the
 * server's close_notify: nothing is sent on a socket that is shut. */
EXPORT int SSL_shutdown(SSL *s)
{
	struct tls_conn *t = tracked(s);

	if (t != NULL && t->torn_down)
		return 1;
	return REAL_SSL(SSL_shutdown)(s);
}

EXPORT void SSL_free(SSL *s)
{
	if (s != NULL && tls_lookup(s) != NULL)
		tls_forget(s);
	REAL_SSL(SSL_free)(s);
}

/* A cleared session starts over: the next write decides again. */
EXPORT int SSL_clear(SSL *s)
{
	if (s != NULL && tls_lookup(s) != NULL)
		tls_forget(s);
	return REAL_SSL(SSL_clear)(s);
}

/* ---- the handshake: where a hidden socket shows itself ----
 *
 * With filters set, a session whose socket OpenSSL does not know (curl's
 * own BIO: SSL_get_fd() is -1) needs it before its first write is
 * rewritten: the tracked socket the handshake's send/recv use is noted
 * for the session (tls_hint).  Without filters: one check, the real call. */

static SLOW int handshake_probed(SSL *s, int (*fn)(SSL *))
{
	int r, saved;

	tls_probe_start();
	r = fn(s);
	saved = errno;
	tls_hint(s, tls_probe_stop());
	errno = saved;
	return r;
}

static inline bool hidden_socket(SSL *s)
{
	return tls_filters_on() && tls_lookup(s) == NULL &&
	       REAL_SSL(SSL_get_fd)(s) < 0;
}

EXPORT int SSL_connect(SSL *s)
{
	if (s != NULL && hidden_socket(s))
		return handshake_probed(s, REAL_SSL(SSL_connect));
	return REAL_SSL(SSL_connect)(s);
}

EXPORT int SSL_do_handshake(SSL *s)
{
	if (s != NULL && hidden_socket(s))
		return handshake_probed(s, REAL_SSL(SSL_do_handshake));
	return REAL_SSL(SSL_do_handshake)(s);
}
