/* cycles_probe.c - the library's own CPU cycles per exchange, by call.
 *
 * Built twice: with -DOUTER as the first preload, without as the last:
 *   LD_PRELOAD="probe_outer.so libforceclose.so probe_inner.so"
 * The outer copy times every call the program makes (the library's work
 * plus the system calls it makes); the inner copy is where the library's
 * own calls to libc land (its RTLD_NEXT lookups find the inner copy first)
 * and times those.  Outer minus inner, per call, is the library's own
 * user-space time, cache misses included, with TSC precision: what a
 * wall-clock ratio of two noisy runs cannot resolve.  Without a library
 * between them (calibration) the difference is the probe's own cost.
 * At exit the outer copy prints one line on stderr:
 *   CYCLES connects N socket S connect C send W recv R close X total T
 * (cycles per connect()).  x86-64 only (rdtsc); one thread. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <poll.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
#include <x86intrin.h>

enum { K_SOCKET, K_CONNECT, K_SEND, K_RECV, K_CLOSE, K_OTHER, K_N };

static unsigned long long cycles[K_N];

#ifdef OUTER
static unsigned long long connects;
int cycles_probe_kind = K_OTHER;	/* the program's call in progress */
#define KIND_ENTER(k) int k0 = cycles_probe_kind; cycles_probe_kind = (k)
#define KIND_LEAVE() cycles_probe_kind = k0
#define KIND(k) (k)
#else
static int *outer_kind;
unsigned long long *cycles_probe_inner(void) { return cycles; }
#define KIND_ENTER(k) (void)(k)
#define KIND_LEAVE() (void)0
#define KIND(k) (outer_kind ? *outer_kind : K_OTHER)
__attribute__((constructor)) static void find_outer(void)
{
	outer_kind = dlsym(RTLD_DEFAULT, "cycles_probe_kind");
}
#endif

#define TIMED(k, expr) ({                                              \
	KIND_ENTER(k);                                                 \
	unsigned long long t0 = __rdtsc();                             \
	__typeof__(expr) r_ = (expr);                                  \
	cycles[KIND(k)] += __rdtsc() - t0;                             \
	KIND_LEAVE();                                                  \
	r_; })
#define FORWARD(k, ret, name, params, args)                            \
	ret name params                                                \
	{                                                              \
		static ret (*next) params;                             \
		if (next == NULL)                                      \
			next = dlsym(RTLD_NEXT, #name);                \
		return TIMED(k, next args);                            \
	}

FORWARD(K_SOCKET, int, socket, (int a, int b, int c), (a, b, c))
FORWARD(K_SEND, ssize_t, send, (int a, const void *b, size_t c, int d),
	(a, b, c, d))
FORWARD(K_SEND, ssize_t, sendmsg, (int a, const struct msghdr *b, int c),
	(a, b, c))
FORWARD(K_RECV, ssize_t, recv, (int a, void *b, size_t c, int d),
	(a, b, c, d))
FORWARD(K_RECV, ssize_t, recvmsg, (int a, struct msghdr *b, int c),
	(a, b, c))
FORWARD(K_OTHER, int, shutdown, (int a, int b), (a, b))
FORWARD(K_CLOSE, int, close, (int a), (a))
FORWARD(K_OTHER, int, getsockopt,
	(int a, int b, int c, void *d, socklen_t *e), (a, b, c, d, e))
FORWARD(K_OTHER, int, poll, (struct pollfd *a, nfds_t b, int c), (a, b, c))

int connect(int a, const struct sockaddr *b, socklen_t c)
{
	static int (*next)(int, const struct sockaddr *, socklen_t);

	if (next == NULL)
		next = dlsym(RTLD_NEXT, "connect");
#ifdef OUTER
	connects++;
#endif
	return TIMED(K_CONNECT, next(a, b, c));
}

#ifdef OUTER
__attribute__((destructor)) static void report(void)
{
	static const char *const name[K_N] = { "socket", "connect", "send",
					       "recv", "close", "other" };
	unsigned long long *(*inner)(void) =
		(unsigned long long *(*)(void))dlsym(RTLD_DEFAULT,
						     "cycles_probe_inner");
	unsigned long long *in = inner ? inner() : NULL;
	double total = 0;
	int k;

	if (connects == 0 || in == NULL)
		return;
	fprintf(stderr, "CYCLES connects %llu", connects);
	for (k = 0; k < K_OTHER; k++) {
		double own = ((double)cycles[k] - (double)in[k]) / connects;
		total += own;
		fprintf(stderr, " %s %.0f", name[k], own);
	}
	fprintf(stderr, " total %.0f\n", total);
}
#endif
