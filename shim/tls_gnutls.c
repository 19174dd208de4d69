/* tls_gnutls.c - GnuTLS's plaintext calls (wget, many Debian daemons),
 * over the same session table and exchange as tls_openssl.c.  The real
 * functions come from the libgnutls the program has loaded (see
 * tls_openssl.c for why dlopen(RTLD_NOLOAD)). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>

#include "fdtable.h"
#include "real.h"
#include "tls_conn.h"

#define EXPORT __attribute__((visibility("default")))
#define SLOW __attribute__((noinline, cold))

typedef struct gnutls_session_int *gnutls_session_t;

/* <gnutls/gnutls.h> values (stable ABI) */
enum {
	GNUTLS_E_AGAIN = -28,
	GNUTLS_E_INTERRUPTED = -52,
	GNUTLS_E_PUSH_ERROR = -53,
	GNUTLS_E_REHANDSHAKE = -37,
	GNUTLS_SHUT_WR = 1,
};

#define GNUTLS_FUNCTIONS(X)                                                 \
	X(ssize_t, gnutls_record_send, (gnutls_session_t s, const void *p,   \
					size_t n))                           \
	X(ssize_t, gnutls_record_recv, (gnutls_session_t s, void *p, size_t n)) \
	X(ssize_t, gnutls_record_recv_seq, (gnutls_session_t s, void *p,     \
					    size_t n, unsigned char *seq))   \
	X(size_t, gnutls_record_check_pending, (gnutls_session_t s))         \
	X(int, gnutls_bye, (gnutls_session_t s, int how))                    \
	X(void, gnutls_deinit, (gnutls_session_t s))
#define GNUTLS_OTHERS(X)                                                    \
	X(void, gnutls_transport_get_ptr2, (gnutls_session_t s, void **recv, \
					    void **send))                    \
	X(int, gnutls_record_get_state, (gnutls_session_t s, unsigned rd,   \
					 void *mac, void *iv, void *key,     \
					 unsigned char seq[8]))

#define DECLARE(ret, name, params) EXPORT ret name params;
GNUTLS_FUNCTIONS(DECLARE)
#undef DECLARE

static struct {
#define FIELD(ret, name, params) ret(*name) params;
	GNUTLS_FUNCTIONS(FIELD)
	GNUTLS_OTHERS(FIELD)
#undef FIELD
} gt_real;

static SLOW void resolve(void)
{
	void *h = dlopen("libgnutls.so.30", RTLD_NOW | RTLD_NOLOAD);

#define RESOLVE(ret, name, params, self)                              \
	__atomic_store_n(&gt_real.name, (__typeof__(gt_real.name))             \
			 real_tls_symbol(h, #name, self), __ATOMIC_RELEASE);
#define HOOKED(ret, name, params) RESOLVE(ret, name, params, (void *)name)
#define OTHER(ret, name, params) RESOLVE(ret, name, params, NULL)
	GNUTLS_FUNCTIONS(HOOKED)
	GNUTLS_OTHERS(OTHER)
#undef HOOKED
#undef OTHER
#undef RESOLVE
}

/* The pointer itself says whether it is resolved (real_tls_symbol never
 * gives NULL): one load on the way to the real function. */
#define REAL_GT(name)                                                     \
	(__extension__({                                                  \
		__typeof__(gt_real.name) f_ =                             \
			__atomic_load_n(&gt_real.name, __ATOMIC_ACQUIRE);  \
		if (__builtin_expect(f_ == NULL, 0)) {                    \
			resolve();                                        \
			f_ = __atomic_load_n(&gt_real.name,               \
					     __ATOMIC_ACQUIRE);           \
		}                                                         \
		f_;                                                       \
	}))

/* ---- the session as tls_conn.c sees it ---- */

static long ops_send(void *s, const void *p, size_t n)
{
	return (long)REAL_GT(gnutls_record_send)(s, p, n);
}

static long ops_recv(void *s, void *p, size_t n)
{
	return (long)REAL_GT(gnutls_record_recv)(s, p, n);
}

/* GnuTLS has no peek; tls_conn.c only asks for one from SSL_peek. */
static long ops_peek(void *s, void *p, size_t n)
{
	(void)s;
	(void)p;
	(void)n;
	return GNUTLS_E_AGAIN;
}

static bool ops_retry(void *s, long r)
{
	(void)s;
	return r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED ||
	       r == GNUTLS_E_REHANDSHAKE;
}

/* The socket under the session, or -1 when it is not known from here.
 * gnutls_transport_set_int() stores the descriptor as the pointer
 * itself; a program with its own transport (libcurl-gnutls, so git over
 * https) stores its own pointer there, whose low 32 bits are no
 * descriptor: read through gnutls_transport_get_int() they were one by
 * chance of the address layout (half of all processes went untracked).
 * Such a session's socket is learned from its own send/recv instead. */
static int ops_socket(void *s)
{
	void *recv_ptr = NULL, *send_ptr = NULL;

	REAL_GT(gnutls_transport_get_ptr2)(s, &recv_ptr, &send_ptr);
	return (uintptr_t)send_ptr <= INT_MAX ? (int)(uintptr_t)send_ptr : -1;
}

/* close_notify only when the session's transport is a socket the shim
 * tracks (a program's own push function is not re-entered) */
static void ops_close_notify(void *s)
{
	int fd = ops_socket(s);

	if (fd >= 0 && fdtable_peek(fd) != NULL)
		REAL_GT(gnutls_bye)(s, GNUTLS_SHUT_WR);
}

static const struct tls_ops gnutls_ops = {
	.send = ops_send,
	.recv = ops_recv,
	.peek = ops_peek,
	.retry = ops_retry,
	.close_notify = ops_close_notify,
	.socket = ops_socket,
	.kind = "gnutls",
};

/* ---- hooks ---- */

static inline struct tls_conn *tracked(gnutls_session_t s)
{
	return tls_find_tracked(s);
}

static SLOW struct tls_conn *first_send(gnutls_session_t s, const void *p,
					size_t n)
{
	struct tls_conn *t;

	if (p == NULL || n == 0)
		return NULL;
	/* no client/server query in GnuTLS: a server's first bytes are a
	 * status line, never a request line */
	t = tls_decide(s, &gnutls_ops, p, n, true);
	return t == TLS_PASS ? NULL : t;
}

EXPORT ssize_t gnutls_record_send(gnutls_session_t s, const void *p, size_t n)
{
	struct tls_conn *t = tls_lookup(s);
	long r;

	if (__builtin_expect(t == NULL || tls_hinted(t), 0))
		t = first_send(s, p, n);
	else
		t = tls_tracked(t);
	if (t == NULL)
		return REAL_GT(gnutls_record_send)(s, p, n);
	if (tls_observing(t)) {
		/* the program's own call, then its plaintext followed */
		tls_probe_start();
		r = REAL_GT(gnutls_record_send)(s, p, n);
		tls_observe_sent(t, p, r);
		return (ssize_t)r;
	}
	r = tls_conn_write(t, p, n);
	if (r < 0 && t->err == TLS_ERR_BROKEN)
		return GNUTLS_E_PUSH_ERROR;	/* errno EPIPE */
	return (ssize_t)r;
}

/* Out of line: while no session is tracked the hook is a load, a test
 * and a jump. */
static __attribute__((noinline)) ssize_t recv_any(gnutls_session_t s, void *p,
						  size_t n)
{
	struct tls_conn *t = tls_tracked(tls_lookup(s));
	ssize_t r;

	if (t == NULL)
		return REAL_GT(gnutls_record_recv)(s, p, n);
	if (!tls_observing(t))
		return (ssize_t)tls_conn_read(t, p, n, false);
	tls_probe_start();
	r = REAL_GT(gnutls_record_recv)(s, p, n);
	tls_observe_received(t, p, n, (long)r);
	return r;
}

EXPORT ssize_t gnutls_record_recv(gnutls_session_t s, void *p, size_t n)
{
	if (__builtin_expect(!tls_any_tracked(), 1))
		return REAL_GT(gnutls_record_recv)(s, p, n);
	return recv_any(s, p, n);
}

/* The plaintext a tracked session delivers may be a rewritten head made
 * of several records: the sequence number reported is that of the last
 * record the library read (its read state's next number, less one). */
EXPORT ssize_t gnutls_record_recv_seq(gnutls_session_t s, void *p, size_t n,
				      unsigned char *seq)
{
	struct tls_conn *t = tracked(s);
	ssize_t r;
	int i;

	if (__builtin_expect(t == NULL, 1))
		return REAL_GT(gnutls_record_recv_seq)(s, p, n, seq);
	if (tls_observing(t)) {
		tls_probe_start();
		r = REAL_GT(gnutls_record_recv_seq)(s, p, n, seq);
		tls_observe_received(t, p, n, (long)r);
		return r;
	}
	r = (ssize_t)tls_conn_read(t, p, n, false);
	if (r > 0 && seq != NULL &&
	    REAL_GT(gnutls_record_get_state)(s, 1, NULL, NULL, NULL, seq) == 0)
		for (i = 7; i >= 0 && seq[i]-- == 0; i--)
			;
	return r;
}

EXPORT size_t gnutls_record_check_pending(gnutls_session_t s)
{
	struct tls_conn *t = tracked(s);
	size_t r = REAL_GT(gnutls_record_check_pending)(s);

	return t != NULL ? r + tls_conn_pending(t) : r;
}

EXPORT int gnutls_bye(gnutls_session_t s, int how)
{
	struct tls_conn *t = tracked(s);

	if (t != NULL && t->torn_down)
		return 0;	/* ended both ways already */
	return REAL_GT(gnutls_bye)(s, how);
}

EXPORT void gnutls_deinit(gnutls_session_t s)
{
	if (s != NULL && tls_lookup(s) != NULL)
		tls_forget(s);
	REAL_GT(gnutls_deinit)(s);
}
