/* Benchmark client: N sequential HTTP/1.1 GETs to 127.0.0.1:PORT.
 *   --send-close              every request carries "Connection: close";
 *                             the client closes after each response (a new
 *                             connection per request).
 *   --keepalive-unless-close  no Connection header; the connection is reused
 *                             unless the response says "Connection: close"
 *                             or the server ends it (EOF), in which case the
 *                             client closes and reconnects.
 * Each response body must be "ok".  Prints on stdout:
 *   REQ_PER_S US_PER_REQ CONNECTS
 * usage: bench_client MODE PORT N
 * Build: cc -O2 -o bench_client tests/bench/bench_client.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in addr;
static long connects;

static int dial(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = {5, 0}; /* no read or write waits forever */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr)) {
		close(fd);
		return -1;
	}
	connects++;
	return fd;
}

/* Does the head (NUL-terminated) have a Connection field with "close"? */
static int says_close(const char *head)
{
	for (const char *p = strchr(head, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
		if (strncasecmp(p + 1, "connection:", 11))
			continue;
		const char *e = strchr(p + 1, '\n');
		for (const char *q = p + 12; q && q + 5 <= e; q++)
			if (!strncasecmp(q, "close", 5))
				return 1;
	}
	return 0;
}

/* One exchange on fd.  Returns 1 = ok and the connection may be reused,
 * 0 = ok but close it, -1 = nothing received (EOF/reset before any byte;
 * retry on a new connection), -2 = hard error. */
static int exchange(int fd, const char *req, size_t reqlen)
{
	if (send(fd, req, reqlen, MSG_NOSIGNAL) != (ssize_t)reqlen)
		return -1;
	char buf[4096];
	size_t len = 0;
	long clen = -1;
	size_t hl = 0;
	for (int i = 0; i < 1000; i++) {
		ssize_t r = recv(fd, buf + len, sizeof buf - 1 - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return len ? -2 : -1;
		len += (size_t)r;
		buf[len] = 0;
		if (!hl) {
			char *e = strstr(buf, "\r\n\r\n");
			if (!e)
				continue;
			hl = (size_t)(e - buf) + 4;
			buf[hl - 2] = 0;
			for (char *p = buf; (p = strchr(p, '\n')); p++)
				if (!strncasecmp(p + 1, "content-length:", 15))
					clen = strtol(p + 16, NULL, 10);
			buf[hl - 2] = '\r';
			if (clen < 0)
				return -2;
		}
		if (len >= hl + (size_t)clen) {
			if (clen != 2 || memcmp(buf + hl, "ok", 2))
				return -2;
			buf[hl] = 0;
			return says_close(buf) ? 0 : 1;
		}
	}
	return -2;
}

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[1], "--send-close") &&
			  strcmp(argv[1], "--keepalive-unless-close"))) {
		fprintf(stderr, "usage: %s --send-close|--keepalive-unless-close PORT N\n", argv[0]);
		return 2;
	}
	int sendclose = !strcmp(argv[1], "--send-close");
	long n = atol(argv[3]);
	addr.sin_family = AF_INET;
	addr.sin_port = htons((unsigned short)atoi(argv[2]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	signal(SIGPIPE, SIG_IGN);
	char req[256];
	int reqlen = snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n%s\r\n",
			      argv[2], sendclose ? "Connection: close\r\n" : "");
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int fd = -1;
	for (long i = 0; i < n; i++) {
		int r = -1;
		for (int tries = 0; tries < 3 && r == -1; tries++) {
			int fresh = fd < 0;
			if (fd < 0 && (fd = dial()) < 0) {
				perror("connect");
				return 1;
			}
			r = exchange(fd, req, (size_t)reqlen);
			if (r != 1) {
				close(fd);
				fd = -1;
			}
			if (r == -1 && fresh)
				tries++; /* a fresh connection failing is worse; still bounded */
		}
		if (r < 0) {
			fprintf(stderr, "request %ld failed\n", i);
			return 1;
		}
		if (sendclose && fd >= 0) {
			close(fd);
			fd = -1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (fd >= 0)
		close(fd);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%.1f %.2f %ld\n", (double)n / s, s * 1e6 / (double)n, connects);
	return 0;
}
