/* pgo_train.c - the training run of the library's profile-guided build
 * (Makefile, PGO): under the instrumented library, it does what programs
 * under the library do most, so that the compiler lays out together the
 * code those exchanges run (docs/internals.md, "The build").  Not
 * installed.
 *
 * A client making ROUNDS connections of a few shapes (GET with send/recv
 * and write/read, POST with writev and in two writes, a chunked and a
 * larger body read in small pieces), with file and pipe writes between
 * them (the untracked path), to a keep-alive server on 127.0.0.1, port 0,
 * that never closes first.  The server is a child that ends by a signal,
 * so that what it runs is not in the profile: the profile is a client
 * program's.  Bounded: sockets time out after 2 s, and alarm() ends a
 * stuck run (then no profile is written, and the build goes on without
 * one).
 * usage: LD_PRELOAD=<instrumented library> pgo_train */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 2400
#define BIG 20000

static void timeouts(int fd)
{
	struct timeval tv = { 2, 0 };

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

static void put(int fd, const char *s, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, s, n);
		if (w <= 0)
			return;
		s += w;
		n -= (size_t)w;
	}
}

/* Answers each request on fd by its path; keeps the connection. */
static void serve(int fd)
{
	static const char small[] = "HTTP/1.1 200 OK\r\nContent-Type: "
		"text/plain\r\nContent-Length: 2\r\n\r\nok";
	static const char kept[] = "HTTP/1.1 200 OK\r\nConnection: keep-alive"
		"\r\nKeep-Alive: timeout=5\r\nContent-Length: 2\r\n\r\nok";
	static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: "
		"chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
	static char big[BIG + 64];
	char buf[8192];
	size_t len = 0;
	int n = snprintf(big, sizeof big, "HTTP/1.1 200 OK\r\nContent-Length:"
			 " %d\r\n\r\n", BIG);

	memset(big + n, 'x', BIG);
	for (;;) {
		char *end = memmem(buf, len, "\r\n\r\n", 4), *cl;
		size_t head, body = 0;
		ssize_t r;

		if (end == NULL) {
			if (len == sizeof buf ||
			    (r = read(fd, buf + len, sizeof buf - len)) <= 0)
				return;
			len += (size_t)r;
			continue;
		}
		head = (size_t)(end - buf) + 4;
		cl = memmem(buf, head, "Content-Length: ", 16);
		if (cl != NULL)
			body = strtoul(cl + 16, NULL, 10);
		while (len < head + body && len < sizeof buf) {
			if ((r = read(fd, buf + len, sizeof buf - len)) <= 0)
				return;
			len += (size_t)r;
		}
		if (len < head + body)
			return;
		if (memmem(buf, head, " /k ", 4) != NULL)
			put(fd, kept, sizeof kept - 1);
		else if (memmem(buf, head, " /c ", 4) != NULL)
			put(fd, chunked, sizeof chunked - 1);
		else if (memmem(buf, head, " /b ", 4) != NULL)
			put(fd, big, (size_t)n + BIG);
		else
			put(fd, small, sizeof small - 1);
		memmove(buf, buf + head + body, len - head - body);
		len -= head + body;
	}
}

static void server(int lfd)
{
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			return;
		timeouts(fd);
		serve(fd);
		close(fd);
	}
}

/* Reads the response in pieces of `piece` bytes until the end of the
 * stream (the library shuts the connection down after the response).
 * False unless a response came and then that end. */
static bool drain(int fd, size_t piece, int use_read)
{
	static char buf[65536];
	size_t got = 0;
	ssize_t r;

	while ((r = use_read ? read(fd, buf, piece) : recv(fd, buf, piece, 0)) > 0)
		got += (size_t)r;
	return r == 0 && got > 0;
}

/* One connection of shape i % 8; false if it did not go as it should. */
static bool exchange(const struct sockaddr_in *sa, unsigned i)
{
	static const char agent[] = "Host: 127.0.0.1\r\nUser-Agent: train/1"
		"\r\nAccept: */*\r\nAccept-Encoding: gzip\r\n";
	char head[512];
	int fd = socket(AF_INET, SOCK_STREAM, 0), n;
	bool ok;

	if (fd < 0)
		return false;
	timeouts(fd);
	if (connect(fd, (const struct sockaddr *)sa, sizeof *sa) != 0) {
		close(fd);
		return false;
	}
	switch (i % 8) {
	case 4:	/* write and read, a keep-alive response */
		n = snprintf(head, sizeof head, "GET /k HTTP/1.1\r\n%s"
			     "Connection: keep-alive\r\n\r\n", agent);
		put(fd, head, (size_t)n);
		ok = drain(fd, 4096, 1);
		break;
	case 5: {	/* a POST in one writev */
		struct iovec v[2] = { { head, 0 }, { "hello world", 11 } };
		v[0].iov_len = (size_t)snprintf(head, sizeof head,
			"POST /s HTTP/1.1\r\n%sContent-Length: 11\r\n\r\n",
			agent);
		writev(fd, v, 2);
		ok = drain(fd, 16384, 0);
		break;
	}
	case 6:	/* a chunked body in small reads */
		n = snprintf(head, sizeof head, "GET /c HTTP/1.1\r\n%s\r\n",
			     agent);
		send(fd, head, (size_t)n, MSG_NOSIGNAL);
		ok = drain(fd, 100, 0);
		break;
	case 7:	/* a POST in two writes, then a larger body */
		n = snprintf(head, sizeof head, "POST /b HTTP/1.1\r\n%s"
			     "Content-Length: 5\r\n\r\n", agent);
		send(fd, head, (size_t)n, MSG_NOSIGNAL);
		send(fd, "hello", 5, MSG_NOSIGNAL);
		ok = drain(fd, 4096, 1);
		break;
	default:	/* the usual: one send, one read */
		n = snprintf(head, sizeof head, "GET /s HTTP/1.1\r\n%s\r\n",
			     agent);
		send(fd, head, (size_t)n, MSG_NOSIGNAL);
		ok = drain(fd, 16384, 0);
	}
	close(fd);
	return ok;
}

int main(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof sa;
	int lfd = socket(AF_INET, SOCK_STREAM, 0), p[2], null;
	pid_t pid;
	unsigned i, failed = 0;
	char c;

	alarm(60);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
	    listen(lfd, 64) != 0 ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl) != 0 ||
	    pipe(p) != 0 || (null = open("/dev/null", O_WRONLY)) < 0 ||
	    (pid = fork()) < 0) {
		perror("pgo_train");
		return 1;
	}
	if (pid == 0) {
		alarm(60);	/* a fork clears the parent's */
		server(lfd);
		_exit(1);	/* not exit(): no profile from the server */
	}
	close(lfd);
	for (i = 0; i < ROUNDS; i++) {
		if (!exchange(&sa, i))
			failed++;
		put(null, "x", 1);
		put(p[1], "x", 1);
		if (read(p[0], &c, 1) != 1)
			failed++;
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	/* a profile of exchanges that did not happen is none */
	if (failed > 0)
		fprintf(stderr, "pgo_train: %u of %u rounds failed\n", failed,
			ROUNDS);
	return failed > 0;
}
