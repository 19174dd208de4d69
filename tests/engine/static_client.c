/* static_client.c - a C client for the engine tests, linked with -static
 * so no preloaded library can reach it.  N POSTs to 127.0.0.1:PORT, each
 * on its own connection, through one family of calls (MODE: write,
 * writev, sendto, sendmsg; responses read with read, readv, recvfrom,
 * recvmsg to match).  OPTIONS, a comma list: "signals": SIGALRM every
 * millisecond (SA_RESTART) throughout; "nonblock": non-blocking sockets,
 * poll() on EINPROGRESS and EAGAIN (blocking otherwise); "keep": never
 * close a socket, write once more after the end of file (counted when it
 * fails with EPIPE), and after the report wait to be killed; "wait":
 * after the first response print "first" and wait for a byte on stdin;
 * "waitmid": the same once the first request is sent, before its
 * response is read.  The response is read by its Content-Length; when it
 * says close the program reads once more and reports whether the
 * connection had ended (the teardown).
 * Prints "ok N eof E" (E: responses followed by end of file), with keep
 * also "epipe P".
 * usage: static_client PORT MODE N [OPTIONS] */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

static const char *mode;
static int nonblock;
static volatile sig_atomic_t ticks;

/* nonblock: wait until fd is ready for events (EAGAIN, EINPROGRESS) */
static void wait_ready(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

static void tick(int sig)
{
	(void)sig;
	ticks++;
}

static ssize_t out(int fd, const char *p, size_t n)
{
	struct iovec v[2] = { { (void *)p, n / 2 }, { (void *)(p + n / 2), n - n / 2 } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };

	if (strcmp(mode, "writev") == 0)
		return writev(fd, v, 2);
	if (strcmp(mode, "sendto") == 0)
		return sendto(fd, p, n, 0, NULL, 0);
	if (strcmp(mode, "sendmsg") == 0)
		return sendmsg(fd, &m, 0);
	return write(fd, p, n);
}

static ssize_t in(int fd, char *p, size_t n)
{
	struct iovec v[2] = { { p, n / 2 }, { p + n / 2, n - n / 2 } };
	struct msghdr m = { .msg_iov = v, .msg_iovlen = 2 };
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;

	if (n < 2)
		return read(fd, p, n);
	if (strcmp(mode, "writev") == 0)
		return readv(fd, v, 2);
	if (strcmp(mode, "sendto") == 0)
		return recvfrom(fd, p, n, 0, (struct sockaddr *)&ss, &len);
	if (strcmp(mode, "sendmsg") == 0)
		return recvmsg(fd, &m, 0);
	return read(fd, p, n);
}

static void go_on(void)
{
	char c;

	printf("first\n");
	fflush(stdout);
	if (read(0, &c, 1) != 1)
		exit(3);
}

static ssize_t in_wait(int fd, char *p, size_t n)
{
	ssize_t r;

	while ((r = in(fd, p, n)) < 0 && nonblock && errno == EAGAIN)
		wait_ready(fd, POLLIN);
	return r;
}

static void send_all(int fd, const char *p, size_t n)
{
	ssize_t r;

	while (n > 0) {
		r = out(fd, p, n);
		if (r < 0 && nonblock && errno == EAGAIN) {
			wait_ready(fd, POLLOUT);
			continue;
		}
		if (r <= 0) {
			perror("send");
			exit(1);
		}
		p += r;
		n -= (size_t)r;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int n = atoi(argv[3]), i, eofs = 0, epipes = 0, keep, waitmid, waitend;
	const char *opts = argc > 4 ? argv[4] : "";
	char req[8192], resp[65536];

	if (argc < 4)
		return 2;
	mode = argv[2];
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	nonblock = strstr(opts, "nonblock") != NULL;
	keep = strstr(opts, "keep") != NULL;
	waitmid = strstr(opts, "waitmid") != NULL;
	waitend = !waitmid && strstr(opts, "wait") != NULL;
	signal(SIGPIPE, SIG_DFL);	/* a SIGPIPE ends the run: it shows */
	if (strstr(opts, "signals") != NULL) {
		struct sigaction sa = { .sa_handler = tick,
					.sa_flags = SA_RESTART };
		struct itimerval it = { { 0, 1000 }, { 0, 1000 } };
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
	}
	for (i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0),
		    blen = 1000 + i * 37 % 3000;
		size_t have = 0, hl = 0, want;
		char *end, *cl;
		ssize_t r;
		int hn = snprintf(req, sizeof req, "POST /%s/%d HTTP/1.1\r\n"
				  "Host: test\r\nContent-Length: %d\r\n\r\n",
				  mode, i, blen);

		memset(req + hn, 'a' + i % 26, (size_t)blen);
		if (fd < 0 || (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 &&
				!(nonblock && errno == EINPROGRESS))) {
			perror("connect");
			return 1;
		}
		if (nonblock)
			wait_ready(fd, POLLOUT);
		send_all(fd, req, (size_t)(hn + blen));
		if (i == 0 && waitmid)
			go_on();
		for (;;) {
			r = in_wait(fd, resp + have, sizeof resp - 1 - have);
			if (r <= 0) {
				fprintf(stderr, "response %d cut short\n", i);
				return 1;
			}
			have += (size_t)r;
			resp[have] = '\0';
			end = strstr(resp, "\r\n\r\n");
			if (end == NULL)
				continue;
			hl = (size_t)(end + 4 - resp);
			cl = strcasestr(resp, "\r\nContent-Length:");
			want = hl + (cl ? strtoul(cl + 17, NULL, 10) : 0);
			if (have >= want)
				break;
		}
		if (i == 0 && waitend)
			go_on();
		if (!strcasestr(resp, "\r\nConnection: close\r\n")) {
			close(fd);	/* no teardown to wait for */
			continue;
		}
		r = in_wait(fd, resp, 1);	/* end of file once torn down */
		eofs += r == 0;
		if (!keep) {
			close(fd);
			continue;
		}
		epipes += out(fd, "x", 1) < 0 && errno == EPIPE;
	}
	if (!keep) {
		printf("ok %d eof %d\n", n, eofs);
		return 0;
	}
	printf("ok %d eof %d epipe %d\n", n, eofs, epipes);
	fflush(stdout);
	for (;;)
		pause();
}
