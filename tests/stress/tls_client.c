/* tls_client.c - the TLS scenario of the TSan stress (tests/stress.bats):
 * THREADS threads of one process make REQS HTTPS requests each through
 * OpenSSL, on one shared SSL_CTX, in the keep-alive pattern (a connection
 * reused until a response says close), reading in sizes that vary per
 * read (1 byte to 4 KiB), some reads with SSL_peek first, SSL_pending
 * asked between reads.  Sessions are made and freed on every thread at
 * once, so the library's session table is inserted into and removed from
 * concurrently.  Built with -fsanitize=thread; the library under it too.
 *
 *   tls_client PORT CAFILE THREADS REQS
 *
 * Prints "requests N connections C" and exits 0 when every response was
 * a 200 whose body had its Content-Length; "FAIL ..." and exit 1 if not. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static SSL_CTX *ctx;
static int port, reqs;
static atomic_long done, conns, failed;

static void fail(const char *what, long t, long i)
{
	printf("FAIL [%ld/%ld] %s\n", t, i, what);
	atomic_fetch_add(&failed, 1);
}

static SSL *open_conn(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	SSL *s;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	if (fd < 0 || connect(fd, (void *)&a, sizeof a) != 0) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	if (SSL_connect(s) != 1) {
		SSL_free(s);
		close(fd);
		return NULL;
	}
	atomic_fetch_add(&conns, 1);
	return s;
}

static void end_conn(SSL *s)
{
	int fd = SSL_get_fd(s);

	SSL_shutdown(s);
	SSL_free(s);
	close(fd);
}

/* One read in a size from the thread's sequence; peeks first sometimes. */
static int get(SSL *s, char *buf, size_t n, unsigned *seed)
{
	size_t k = 1 + (size_t)rand_r(seed) % 4096, got = 0;
	char pk[4096];
	int r;

	if (k < n)
		n = k;
	if (rand_r(seed) % 4 == 0) {
		int p = SSL_peek(s, pk, (int)n);
		if (p <= 0)
			return p;
		r = SSL_read(s, buf, (int)n);
		if (r > 0 && memcmp(pk, buf, (size_t)(r < p ? r : p)) != 0)
			return -2;
		return r;
	}
	(void)SSL_pending(s);
	if (SSL_read_ex(s, buf, n, &got) != 1)
		return 0;
	return (int)got;
}

static void *worker(void *arg)
{
	long t = (long)arg, i;
	unsigned seed = (unsigned)t * 7919u + 1;
	static __thread char buf[65536];
	char req[256];
	SSL *s = NULL;

	for (i = 0; i < reqs; i++) {
		size_t have = 0, body, want;
		char *end, *cl;
		int said_close, l, r;

		if (s == NULL && (s = open_conn()) == NULL) {
			fail("connect", t, i);
			return NULL;
		}
		l = snprintf(req, sizeof req, "GET /s/%ld/%ld HTTP/1.1\r\nHost: "
			     "127.0.0.1:%d\r\nConnection: keep-alive\r\n\r\n",
			     t, i, port);
		if (SSL_write(s, req, l) != l) {
			fail("write", t, i);
			break;
		}
		memset(buf, 0, sizeof buf);
		while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
			r = get(s, buf + have, sizeof buf - 1 - have, &seed);
			if (r <= 0) {
				fail(r == -2 ? "peek differs from read" :
					       "end in a head", t, i);
				goto out;
			}
			have += (size_t)r;
		}
		cl = strcasestr(buf, "\ncontent-length:");
		if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0 || cl == NULL ||
		    cl > end) {
			fail("not a 200 with Content-Length", t, i);
			break;
		}
		want = strtoul(cl + 16, NULL, 10);
		said_close = strcasestr(buf, "\nconnection: close") != NULL &&
			     strcasestr(buf, "\nconnection: close") < end;
		body = have - (size_t)(end + 4 - buf);
		while (body < want) {
			r = get(s, buf, sizeof buf, &seed);
			if (r <= 0) {
				fail("end in a body", t, i);
				goto out;
			}
			body += (size_t)r;
		}
		if (body != want) {
			fail("body longer than its Content-Length", t, i);
			break;
		}
		atomic_fetch_add(&done, 1);
		if (said_close) {
			end_conn(s);
			s = NULL;
		}
	}
out:
	if (s != NULL)
		end_conn(s);
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t th[64];
	long n, i;

	if (argc != 5)
		return 2;
	/* the library is loaded; TSan's symbolizer, which it starts as a
	 * child (to match a report against the libcrypto suppression), must
	 * not load it too: it is not a TSan program and would fail */
	unsetenv("LD_PRELOAD");
	signal(SIGPIPE, SIG_IGN);
	port = atoi(argv[1]);
	n = atol(argv[3]);
	reqs = atoi(argv[4]);
	if (n < 1 || n > 64)
		return 2;
	ctx = SSL_CTX_new(TLS_client_method());
	if (SSL_CTX_load_verify_locations(ctx, argv[2], NULL) != 1)
		return 2;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	for (i = 0; i < n; i++)
		pthread_create(&th[i], NULL, worker, (void *)i);
	for (i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("requests %ld connections %ld\n", atomic_load(&done),
	       atomic_load(&conns));
	SSL_CTX_free(ctx);
	return atomic_load(&failed) ? 1 : 0;
}
