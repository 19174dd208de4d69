/* floor_reuse.c - a socket made by the library's socket() whose number is
 * closed and made again where the library cannot see it (inline system
 * calls: no libc), then used through libc (issue 16, DESIGN contract
 * point 3).  Driven from tests/floor.bats.  Every scenario checks what
 * the program's own calls return and what the new file, pipe or peer
 * holds; the same checks must pass with and without the library.
 *
 * usage: floor_reuse SCENARIO        prints lib=0|1; exit 0: as without the
 *   library; 1: not; 2: a step failed; 77: a number was not reused.
 * Scenarios (x86-64 only: the system calls are inline assembly):
 *   file-write   connect; close, openat a new file at the number; write()
 *                a request head: it returns its length and the file holds
 *                exactly those bytes (read() back after lseek);
 *   file-read    connect, write the request, the peer answers; close,
 *                openat a file holding a response at the number; read()
 *                returns the file's bytes exactly;
 *   pipe-read    the same with a pipe's read end at the number;
 *   dgram-head   connect, write() half a request head; close, a datagram
 *                socket connected to a receiver at the number; write()
 *                the other half: the receiver gets exactly that half;
 *   peek-dgram   connect, write the request; close, a datagram socket
 *                connected to a receiver at the number, which sends it a
 *                response: recv(MSG_PEEK) and then read() return exactly
 *                that datagram (the response head found by peeking is the
 *                rare point where the kind and the peer are checked);
 *   down-file    a whole exchange (the library tears the connection down
 *                in the read of the last byte); close, openat a file at
 *                the number: write() and read() act on the file;
 *   unix-down-file  down-file over a Unix stream socket (the probe after
 *                the teardown is a zero-length peek there);
 *   down-read    the same, the file holding a response: the first call
 *                is a read(), which returns the file's bytes exactly;
 *   down-dgram   the same exchange; close, a connected datagram socket at
 *                the number: write() sends exactly the program's bytes;
 *   down-stream  the same exchange; close, a stream socket connected to a
 *                second listener at the number: write() and read() carry
 *                exactly the program's bytes. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "testlib.h"

static const char REQ[] = "GET /reuse HTTP/1.1\r\nHost: reuse\r\n\r\n";
static const char RESP[] =
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static void die(const char *what)
{
	fprintf(stderr, "floor_reuse: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int fail(const char *what)
{
	fprintf(stderr, "floor_reuse: %s\n", what);
	return 1;
}

#if defined(__x86_64__)
/* closes fd and makes the next descriptor, which must take its number */
static void raw_close(int fd)
{
	if (tl_inline_syscall(SYS_close, fd, 0, 0, 0) != 0)
		die("inline close");
}

static void reused(long got, int fd, const char *what)
{
	if (got != fd) {
		fprintf(stderr, "floor_reuse: %s got %ld, not %d\n", what, got, fd);
		exit(77);
	}
}

/* a file at fd's (free) number, holding `content` */
static void raw_file_at(int fd, const char *path, const char *content)
{
	int w = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (w < 0 || write(w, content, strlen(content)) != (ssize_t)strlen(content))
		die("prepare file");
	/* made before the close: the close leaves fd the lowest free number */
	raw_close(fd);
	reused(tl_inline_syscall(SYS_openat, AT_FDCWD, (long)path, O_RDWR, 0), fd,
	       "inline openat");
	close(w);
}

/* a socket of `type` at fd's number, connected with an inline connect() */
static void raw_socket_at(int fd, int type, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((unsigned short)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	raw_close(fd);
	reused(tl_inline_syscall(SYS_socket, AF_INET, type, 0, 0), fd, "inline socket");
	if (tl_inline_syscall(SYS_connect, fd, (long)&a, sizeof a, 0) != 0)
		die("inline connect");
}
#endif

static int bound(int type, int *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof a;
	int s = socket(AF_INET, type, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &l) != 0)
		die("bind");
	if (type == SOCK_STREAM && listen(s, 4) != 0)
		die("listen");
	*port = ntohs(a.sin_port);
	return s;
}

/* A socket made with socket() (tracked under the library), connected to
 * a listener of ours; *as: the accepted end. */
static int connected(int *as)
{
	int port, ls = bound(SOCK_STREAM, &port);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((unsigned short)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect");
	*as = accept(ls, NULL, NULL);
	if (*as < 0)
		die("accept");
	/* the listener stays open: no free number below fd */
	return fd;
}

/* connected() over a Unix stream socket, its listener at `path` */
static int connected_unix(int *as, const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int ls = socket(AF_UNIX, SOCK_STREAM, 0), fd;

	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	unlink(path);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(ls, 4) != 0)
		die("unix listener");
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("unix connect");
	*as = accept(ls, NULL, NULL);
	if (*as < 0)
		die("unix accept");
	unlink(path);
	return fd;
}

/* The server side reads one request head. */
static void read_head(int as)
{
	char got[512];
	size_t n = 0;
	ssize_t r;

	while (n < sizeof got && (n < 4 || memcmp(got + n - 4, "\r\n\r\n", 4))) {
		r = read(as, got + n, sizeof got - n);
		if (r <= 0)
			die("server read");
		n += (size_t)r;
	}
}

/* A whole exchange on fd; under the library the read of the last byte
 * tears the connection down (the server keeps it open). */
static void exchange(int fd, int as)
{
	char resp[512];
	size_t m = 0;
	ssize_t r;

	if (write(fd, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1))
		die("write");
	read_head(as);
	tl_write_all(as, RESP, sizeof RESP - 1, "response");
	while (m < 2 || memcmp(resp + m - 2, "ok", 2)) {
		r = read(fd, resp + m, sizeof resp - m);
		if (r <= 0)
			die("read response");
		m += (size_t)r;
	}
}

/* write() of REQ on fd must return its length, and read() must return
 * exactly `want` (a file: what it holds from the start). */
static int file_calls(int fd, const char *path)
{
	char got[512];
	ssize_t r;

	errno = 0;
	r = write(fd, REQ, sizeof REQ - 1);
	if (r != (ssize_t)(sizeof REQ - 1)) {
		fprintf(stderr, "write returned %zd (%s)\n", r, strerror(errno));
		return 1;
	}
	if (lseek(fd, 0, SEEK_SET) != 0)
		die("lseek");
	r = read(fd, got, sizeof got);
	fprintf(stderr, "read returned %zd (%s)\n", r, r < 0 ? strerror(errno) : "");
	unlink(path);
	if (r != (ssize_t)(sizeof REQ - 1) || memcmp(got, REQ, sizeof REQ - 1))
		return fail("the file does not hold exactly the bytes written");
	return 0;
}

/* read() of fd must return exactly `want`. */
static int read_exactly(int fd, const char *want)
{
	char got[512];
	ssize_t r;

	errno = 0;
	r = read(fd, got, sizeof got);
	fprintf(stderr, "read returned %zd (%s)\n", r, r < 0 ? strerror(errno) : "");
	if (r > 0)
		fprintf(stderr, "read: %.*s\n", (int)r, got);
	if (r != (ssize_t)strlen(want) || memcmp(got, want, (size_t)r))
		return fail("read did not return exactly the new bytes");
	return 0;
}

/* the receiver's next datagram must be exactly p[0, n) */
static int datagram_is(int rs, const char *p, size_t n)
{
	char got[512];
	ssize_t r = recv(rs, got, sizeof got, 0);

	if (r < 0)
		die("recv");
	fprintf(stderr, "receiver got %zd: %.*s\n", r, (int)r, got);
	return (size_t)r == n && !memcmp(got, p, n) ? 0 : 1;
}

int main(int argc, char **argv)
{
	const char *sc = argc > 1 ? argv[1] : "";
	char path[64];
	int fd, as, rs, port;

	tl_alarm("floor_reuse", 20);
	printf("lib=%d\n", tl_lib_loaded());
	fflush(stdout);
	snprintf(path, sizeof path, "/tmp/floor_reuse.%d", (int)getpid());
#if defined(__x86_64__)
	if (!strcmp(sc, "file-write")) {
		fd = connected(&as);
		raw_file_at(fd, path, "");
		return file_calls(fd, path);
	}
	if (!strcmp(sc, "file-read")) {
		fd = connected(&as);
		if (write(fd, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1))
			die("write");
		read_head(as);
		tl_write_all(as, RESP, sizeof RESP - 1, "response");
		raw_file_at(fd, path, RESP);
		unlink(path);
		return read_exactly(fd, RESP);
	}
	if (!strcmp(sc, "pipe-read")) {
		int p[2];
		fd = connected(&as);
		if (write(fd, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1))
			die("write");
		read_head(as);
		tl_write_all(as, RESP, sizeof RESP - 1, "response");
		raw_close(fd);
		if (tl_inline_syscall(SYS_pipe2, (long)p, 0, 0, 0) != 0)
			die("inline pipe2");
		reused(p[0], fd, "inline pipe2");
		tl_write_all(p[1], RESP, sizeof RESP - 1, "pipe");
		return read_exactly(fd, RESP);
	}
	if (!strcmp(sc, "dgram-head")) {
		size_t half = 20;
		fd = connected(&as);
		rs = bound(SOCK_DGRAM, &port);
		if (write(fd, REQ, half) != (ssize_t)half)
			die("write first half");
		raw_socket_at(fd, SOCK_DGRAM, port);
		errno = 0;
		if (write(fd, REQ + half, sizeof REQ - 1 - half) !=
		    (ssize_t)(sizeof REQ - 1 - half)) {
			fprintf(stderr, "write: %s\n", strerror(errno));
			return 1;
		}
		return datagram_is(rs, REQ + half, sizeof REQ - 1 - half);
	}
	if (!strcmp(sc, "peek-dgram")) {
		struct sockaddr_in me;
		socklen_t ml = sizeof me;
		char got[512];
		ssize_t r;
		fd = connected(&as);
		rs = bound(SOCK_DGRAM, &port);
		if (write(fd, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1))
			die("write");
		read_head(as);
		raw_socket_at(fd, SOCK_DGRAM, port);
		if (getsockname(fd, (struct sockaddr *)&me, &ml) != 0 ||
		    sendto(rs, RESP, sizeof RESP - 1, 0, (struct sockaddr *)&me,
			   ml) != (ssize_t)(sizeof RESP - 1))
			die("send the datagram");
		r = recv(fd, got, sizeof got, MSG_PEEK);
		fprintf(stderr, "peek returned %zd\n", r);
		if (r != (ssize_t)(sizeof RESP - 1) || memcmp(got, RESP, (size_t)r))
			return fail("the peek did not see exactly the datagram");
		return read_exactly(fd, RESP);
	}
	if (!strcmp(sc, "down-file")) {
		fd = connected(&as);
		exchange(fd, as);
		raw_file_at(fd, path, "");
		return file_calls(fd, path);
	}
	if (!strcmp(sc, "unix-down-file")) {
		char sock[80];
		snprintf(sock, sizeof sock, "%s.sock", path);
		fd = connected_unix(&as, sock);
		exchange(fd, as);
		raw_file_at(fd, path, "");
		return file_calls(fd, path);
	}
	if (!strcmp(sc, "down-read")) {
		fd = connected(&as);
		exchange(fd, as);
		raw_file_at(fd, path, RESP);
		unlink(path);
		return read_exactly(fd, RESP);
	}
	if (!strcmp(sc, "down-dgram")) {
		fd = connected(&as);
		exchange(fd, as);
		rs = bound(SOCK_DGRAM, &port);
		raw_socket_at(fd, SOCK_DGRAM, port);
		errno = 0;
		if (write(fd, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1)) {
			fprintf(stderr, "write: %s\n", strerror(errno));
			return 1;
		}
		return datagram_is(rs, REQ, sizeof REQ - 1);
	}
	if (!strcmp(sc, "down-stream")) {
		int ls2, as2;
		char got[512];
		size_t n = 0;
		ssize_t r;
		fd = connected(&as);
		exchange(fd, as);
		ls2 = bound(SOCK_STREAM, &port);
		raw_socket_at(fd, SOCK_STREAM, port);
		as2 = accept(ls2, NULL, NULL);
		if (as2 < 0)
			die("accept");
		errno = 0;
		if (write(fd, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1)) {
			fprintf(stderr, "write: %s\n", strerror(errno));
			return 1;
		}
		while (n < sizeof REQ - 1 && (r = read(as2, got + n, sizeof got - n)) > 0)
			n += (size_t)r;
		fprintf(stderr, "second listener got %zu: %.*s\n", n, (int)n, got);
		if (n != sizeof REQ - 1 || memcmp(got, REQ, n))
			return fail("the second peer did not get exactly the request");
		tl_write_all(as2, RESP, sizeof RESP - 1, "second response");
		return read_exactly(fd, RESP);
	}
#endif
	fprintf(stderr, "usage: floor_reuse SCENARIO (x86-64 only)\n");
	return 2;
}
