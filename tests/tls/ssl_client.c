/* ssl_client.c - an OpenSSL 3 client for tests/tls.bats, built twice:
 * a program linked with -lssl, and with -DAS_MODULE a shared object that
 * dl_loader.c dlopen()s with RTLD_LOCAL after start-up (libssl then
 * arrives local to it, as with Python's _ssl and Perl's Net::SSLeay).
 *
 *   ssl_client MODE PORT CAFILE PATH N OUTDIR
 *
 * N keep-alive requests, each on the connection the previous one used
 * while the server keeps it open (a new one once it ended).  MODE:
 *   block  blocking socket, SSL_read_ex
 *   peek   blocking, SSL_peek_ex before every SSL_read_ex: the bytes peeked
 *          must be the ones read next (exit 3 if not)
 *   nbet   non-blocking socket under edge-triggered epoll: SSL_ERROR_WANT_*
 *          waited for, SSL_pending checked before waiting
 *   pend   non-blocking, reads of 1 to 160 bytes (cycling: some end just
 *          inside a head the library lengthened); before a read, unless SSL_pending or
 *          SSL_has_pending reports plaintext, poll() the socket (2 s): a
 *          read that then returns bytes the poll did not announce means
 *          plaintext was held where the program could not see it (exit 4)
 *   nbpost like nbet, each request a POST of 1 MiB sent in one
 *          SSL_write_ex with its head (WANT_WRITE retries mid-call)
 *   close  blocking; the request says "Connection: close" itself and the
 *          client closes after every response (benchmark baseline)
 *   raw    not HTTP (benchmark of an untracked session): sends the line
 *          "BULK N" and reads N bytes (N = the fifth argument) in 64 KiB
 *          reads; prints "bytes N" and "cpu-us U" (its own user+system
 *          time, microseconds)
 *   h2     the same over HTTP/2 framing (tests/bench/tls_server.py): offers
 *          ALPN "h2" only, exits 5 unless the server selects it, writes the
 *          connection preface, an empty SETTINGS frame and a PING frame
 *          carrying N in one call (as h2 clients open), then reads the
 *          server's SETTINGS and DATA frames (N payload bytes) in 64 KiB
 *          reads, counting bytes; prints "alpn h2", "bytes N", "cpu-us U"
 * Bodies go to OUTDIR/NNNN.  After the last response one more read and one
 * write are tried on its session (if it said close) and reported as "after-read R E" and
 * "after-write R E" (return value, SSL_get_error); "connections C" counts
 * the connections made; "cpu-us U" is the client's own user+system time in
 * microseconds (tests/bench/fig_tls.sh). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct ssl_st SSL;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_method_st SSL_METHOD;

#define FUNCS(X)                                                        \
	X(const SSL_METHOD *, TLS_client_method, (void))                \
	X(SSL_CTX *, SSL_CTX_new, (const SSL_METHOD *))                 \
	X(int, SSL_CTX_load_verify_locations, (SSL_CTX *, const char *, \
					       const char *))           \
	X(void, SSL_CTX_set_verify, (SSL_CTX *, int, void *))           \
	X(SSL *, SSL_new, (SSL_CTX *))                                  \
	X(int, SSL_set_fd, (SSL *, int))                                \
	X(int, SSL_connect, (SSL *))                                    \
	X(int, SSL_read_ex, (SSL *, void *, size_t, size_t *))          \
	X(int, SSL_peek_ex, (SSL *, void *, size_t, size_t *))          \
	X(int, SSL_write_ex, (SSL *, const void *, size_t, size_t *))   \
	X(int, SSL_pending, (const SSL *))                              \
	X(int, SSL_has_pending, (const SSL *))                          \
	X(int, SSL_get_error, (const SSL *, int))                       \
	X(int, SSL_shutdown, (SSL *))                                   \
	X(void, SSL_free, (SSL *))                                      \
	X(int, SSL_CTX_set_alpn_protos, (SSL_CTX *, const unsigned char *, \
					 unsigned))                     \
	X(void, SSL_get0_alpn_selected, (const SSL *,                   \
					 const unsigned char **, unsigned *))

extern const SSL_METHOD *TLS_client_method(void);
extern SSL_CTX *SSL_CTX_new(const SSL_METHOD *);
extern int SSL_CTX_load_verify_locations(SSL_CTX *, const char *,
					 const char *);
extern void SSL_CTX_set_verify(SSL_CTX *, int, void *);
extern SSL *SSL_new(SSL_CTX *);
extern int SSL_set_fd(SSL *, int);
extern int SSL_connect(SSL *);
extern int SSL_read_ex(SSL *, void *, size_t, size_t *);
extern int SSL_peek_ex(SSL *, void *, size_t, size_t *);
extern int SSL_write_ex(SSL *, const void *, size_t, size_t *);
extern int SSL_pending(const SSL *);
extern int SSL_has_pending(const SSL *);
extern int SSL_get_error(const SSL *, int);
extern int SSL_shutdown(SSL *);
extern void SSL_free(SSL *);
extern int SSL_CTX_set_alpn_protos(SSL_CTX *, const unsigned char *,
				   unsigned);
extern void SSL_get0_alpn_selected(const SSL *, const unsigned char **,
				   unsigned *);
#define PTR(ret, name, params) static ret(*p_##name) params = name;
FUNCS(PTR)

enum { WANT_READ = 2, WANT_WRITE = 3 };

static const char *mode;
static int ep = -1;

static void die(const char *what)
{
	fprintf(stderr, "ssl_client: %s (errno %d)\n", what, errno);
	exit(1);
}

/* Waits for what OpenSSL asked for (non-blocking mode only). */
static void wait_for(int fd, int e)
{
	struct epoll_event ev;
	if (strcmp(mode, "pend") == 0) {
		struct pollfd p = { fd, e == WANT_WRITE ? POLLOUT : POLLIN, 0 };
		poll(&p, 1, 2000);
		return;
	}
	if (ep < 0)
		die("want read/write on a blocking socket");
	(void)fd;
	(void)e;
	/* edge-triggered: registered once for both; an edge may have come
	 * already, so wait with a bound and retry either way */
	epoll_wait(ep, &ev, 1, 200);
}

static SSL *open_conn(SSL_CTX *ctx, int port, int *fd_out)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), r;
	SSL *s;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (strcmp(mode, "nbpost") == 0) {
		/* a small send buffer: the body cannot go in one call */
		int sb = 16384;
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
	}
	if (fd < 0 || connect(fd, (void *)&a, sizeof a) != 0)
		die("connect");
	if (strcmp(mode, "pend") == 0)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (strncmp(mode, "nb", 2) == 0) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET,
					  .data.fd = fd };
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		if (ep >= 0)
			close(ep);
		ep = epoll_create1(0);
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	}
	s = p_SSL_new(ctx);
	p_SSL_set_fd(s, fd);
	while ((r = p_SSL_connect(s)) != 1) {
		int e = p_SSL_get_error(s, r);
		if (e != WANT_READ && e != WANT_WRITE)
			die("SSL_connect");
		wait_for(fd, e);
	}
	*fd_out = fd;
	return s;
}

/* One read as the mode does it; 0 at the end of the stream. */
static size_t get(SSL *s, int fd, char *buf, size_t n)
{
	size_t got = 0, peeked = 0;
	char pk[4096];
	int r, e;

	for (;;) {
		int silent = 0;

		if (strcmp(mode, "pend") == 0) {
			static unsigned cycle;
			struct pollfd p = { fd, POLLIN, 0 };
			size_t k = 1 + (cycle++ * 7) % 160;
			if (n > k)
				n = k;
			if (!p_SSL_has_pending(s) && p_SSL_pending(s) == 0)
				silent = poll(&p, 1, 2000) == 0;
		}
		if (strcmp(mode, "peek") == 0) {
			if (n > sizeof pk)
				n = sizeof pk;
			r = p_SSL_peek_ex(s, pk, n, &peeked);
			if (r != 1)
				return 0;
		}
		r = p_SSL_read_ex(s, buf, n, &got);
		if (r == 1 && silent) {
			fprintf(stderr, "plaintext held unannounced\n");
			exit(4);
		}
		if (r == 1) {
			if (peeked && (got > peeked ||
				       memcmp(pk, buf, got) != 0)) {
				fprintf(stderr, "peek %zu != read %zu\n",
					peeked, got);
				exit(3);
			}
			return got;
		}
		e = p_SSL_get_error(s, r);
		if (e != WANT_READ && e != WANT_WRITE)
			return 0;
		if (p_SSL_pending(s) > 0)
			continue;
		wait_for(fd, e);
	}
}

static void put(SSL *s, int fd, const char *p, size_t n)
{
	size_t w;
	int r, e;

	while (n > 0) {
		r = p_SSL_write_ex(s, p, n, &w);
		if (r == 1) {
			p += w;
			n -= w;
			continue;
		}
		e = p_SSL_get_error(s, r);
		if (e != WANT_READ && e != WANT_WRITE)
			die("SSL_write_ex");
		wait_for(fd, e);
	}
}

#ifdef AS_MODULE
/* built as a shared object linked with libssl and dlopen'ed with
 * RTLD_LOCAL by dl_loader.c, as Python loads its _ssl module */
__attribute__((visibility("default"))) int ssl_client_main(int, char **);
#define main ssl_client_main
#endif

/* The process's own user+system time so far, microseconds. */
static long long cpu_us(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000LL +
	       u.ru_utime.tv_usec + u.ru_stime.tv_usec;
}

/* Mode h2: what an h2 client's session looks like to the library (ALPN
 * h2, the preface first), then bulk DATA.  Frames: 9-byte header (length
 * 24 bits, type, flags, stream 31 bits), RFC 9113. */
static int h2_bulk(SSL_CTX *ctx, int port, long long want)
{
	static char buf[65536];
	static const unsigned char alpn[] = "\x02h2";
	unsigned char open[24 + 9 + 9 + 8];
	const unsigned char *sel = NULL;
	unsigned sel_len = 0;
	long long total, got = 0;
	SSL *s;
	size_t k;
	int fd, i;

	p_SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn - 1);
	s = open_conn(ctx, port, &fd);
	p_SSL_get0_alpn_selected(s, &sel, &sel_len);
	if (sel_len != 2 || memcmp(sel, "h2", 2) != 0) {
		fprintf(stderr, "ssl_client: ALPN h2 not selected\n");
		return 5;
	}
	memcpy(open, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 24);
	memcpy(open + 24, "\0\0\0\4\0\0\0\0\0", 9);	/* SETTINGS */
	memcpy(open + 33, "\0\0\x08\x06\0\0\0\0\0", 9);	/* PING */
	for (i = 0; i < 8; i++)
		open[42 + i] = (unsigned char)(want >> (56 - 8 * i));
	put(s, fd, (const char *)open, sizeof open);
	/* the server's empty SETTINGS, then DATA frames of up to 16384 */
	total = 9 + want + 9 * ((want + 16383) / 16384);
	while (got < total && (k = get(s, fd, buf, sizeof buf)) > 0)
		got += (long long)k;
	printf("alpn h2\nbytes %lld\ncpu-us %lld\n",
	       got - 9 - 9 * ((want + 16383) / 16384), cpu_us());
	return got == total ? 0 : 1;
}

int main(int argc, char **argv)
{
	static char buf[65536];
	SSL_CTX *ctx;
	SSL *s = NULL;
	int port, n, i, fd = -1, conns = 0;
	char req[512], path[4096];
	size_t w;

	if (argc != 7)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	mode = argv[1];
	port = atoi(argv[2]);
	n = atoi(argv[5]);
	ctx = p_SSL_CTX_new(p_TLS_client_method());
	if (p_SSL_CTX_load_verify_locations(ctx, argv[3], NULL) != 1)
		die("CA file");
	p_SSL_CTX_set_verify(ctx, 1 /* SSL_VERIFY_PEER */, NULL);
	if (strcmp(mode, "raw") == 0) {
		long long want = atoll(argv[5]), got = 0;
		size_t k;

		s = open_conn(ctx, port, &fd);
		snprintf(req, sizeof req, "BULK %lld\n", want);
		put(s, fd, req, strlen(req));
		while (got < want && (k = get(s, fd, buf, sizeof buf)) > 0)
			got += (long long)k;
		printf("bytes %lld\ncpu-us %lld\n", got, cpu_us());
		return got == want ? 0 : 1;
	}
	if (strcmp(mode, "h2") == 0)
		return h2_bulk(ctx, port, atoll(argv[5]));
	for (i = 0; i < n; i++) {
		size_t have = 0, body, want;
		char *end, *cl;
		FILE *f;
		int closing, said_close;

		if (s == NULL) {
			s = open_conn(ctx, port, &fd);
			conns++;
		}
		if (strcmp(mode, "nbpost") == 0) {
			/* head and body in one buffer, one call */
			static char post[(1 << 20) + 512];
			int h = snprintf(post, 512,
					 "POST %s/%d HTTP/1.1\r\nHost: "
					 "127.0.0.1:%d\r\nContent-Length: %d"
					 "\r\n\r\n", argv[4], i, port, 1 << 20);
			for (int k = 0; k < 1 << 20; k++)
				post[h + k] = (char)('a' + (k + i) % 26);
			put(s, fd, post, (size_t)h + (1 << 20));
		} else {
			snprintf(req, sizeof req,
				 "GET %s/%d HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
				 "Connection: %s\r\n\r\n", argv[4], i, port,
				 strcmp(mode, "close") == 0 ? "close" :
							       "keep-alive");
			put(s, fd, req, strlen(req));
		}
		/* the head */
		while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
			size_t k = get(s, fd, buf + have, sizeof buf - have);
			if (k == 0)
				die("end of stream in a head");
			have += k;
		}
		cl = strcasestr(buf, "\ncontent-length:");
		if (cl == NULL || cl > end)
			die("no Content-Length");
		want = strtoul(cl + 16, NULL, 10);
		said_close = strcasestr(buf, "\nconnection: close") != NULL &&
			     strcasestr(buf, "\nconnection: close") < end;
		closing = said_close || strcmp(mode, "close") == 0;
		body = have - (size_t)(end + 4 - buf);
		snprintf(path, sizeof path, "%s/%04d", argv[6], i);
		f = fopen(path, "wb");
		fwrite(end + 4, 1, body, f);
		while (body < want) {
			size_t k = get(s, fd, buf, want - body < sizeof buf ?
						     want - body : sizeof buf);
			if (k == 0)
				die("end of stream in a body");
			fwrite(buf, 1, k, f);
			body += k;
		}
		fclose(f);
		if (i == n - 1 && said_close) {
			size_t got = 0;
			int rr, er, rw, ew;
			rr = p_SSL_read_ex(s, buf, 1, &got);
			er = p_SSL_get_error(s, rr);
			rw = p_SSL_write_ex(s, "x", 1, &w);
			ew = p_SSL_get_error(s, rw);
			printf("after-read %d %d\nafter-write %d %d\n", rr, er,
			       rw, ew);
		}
		if (closing) {
			p_SSL_shutdown(s);
			p_SSL_free(s);
			close(fd);
			s = NULL;
		}
	}
	printf("connections %d\ncpu-us %lld\n", conns, cpu_us());
	return 0;
}
