/* scale_server.c - epoll HTTP/1.1 server for the scale figure (figure 5).
 *
 * Binds 127.0.0.1:0, writes its port to argv[1], answers every request
 * head ("\r\n\r\n") with a small Content-Length response that never says
 * close, ignores Connection: close and never closes first: a connection
 * is closed only when the peer's EOF (or an error) is read.  Requests are
 * expected without bodies.  Exits by itself after argv[2] seconds
 * (default 900) as a safety bound.
 *
 * cc -O2 -o scale_server tests/bench/scale_server.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAXFD 65536

static const char RESP[] = "HTTP/1.1 200 OK\r\n"
			   "Content-Type: text/plain\r\n"
			   "Content-Length: 2\r\n"
			   "\r\n"
			   "ok";
#define RESP_LEN (sizeof RESP - 1)

struct peer {
	unsigned char match;	/* progress through "\r\n\r\n" */
	unsigned owed;		/* responses not yet fully written */
	unsigned off;		/* bytes of the first owed one written */
	unsigned char wantout;
};

static struct peer *peers;
static int ep;

static void drop(int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	memset(&peers[fd], 0, sizeof peers[fd]);
}

/* Writes what is owed; returns -1 when the peer is gone. */
static int flush(int fd)
{
	struct peer *p = &peers[fd];

	while (p->owed > 0) {
		ssize_t w = send(fd, RESP + p->off, RESP_LEN - p->off,
				 MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -1;
		}
		p->off += (unsigned)w;
		if (p->off == RESP_LEN) {
			p->off = 0;
			p->owed--;
		}
	}
	int want = p->owed > 0;
	if (want != p->wantout) {
		struct epoll_event ev = {
			.events = EPOLLIN | (want ? EPOLLOUT : 0),
			.data.fd = fd };
		epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
		p->wantout = (unsigned char)want;
	}
	return 0;
}

static int on_read(int fd)
{
	static const char END[] = "\r\n\r\n";
	char buf[4096];
	struct peer *p = &peers[fd];

	for (int rounds = 0; rounds < 16; rounds++) {
		ssize_t r = recv(fd, buf, sizeof buf, 0);
		if (r == 0)
			return -1;	/* peer closed: only then do we */
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] == END[p->match])
				p->match++;
			else
				p->match = buf[i] == '\r' ? 1 : 0;
			if (p->match == 4) {
				p->match = 0;
				p->owed++;
			}
		}
		if (flush(fd) < 0)
			return -1;
		if ((size_t)r < sizeof buf)
			return 0;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s PORTFILE [SECONDS]\n", argv[0]);
		return 2;
	}
	alarm(argc > 2 ? (unsigned)atoi(argv[2]) : 900);
	signal(SIGPIPE, SIG_IGN);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;	/* raise the soft limit */
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	peers = calloc(MAXFD, sizeof *peers);

	int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	int one = 1;
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof a;
	if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(ls, 4096) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &al) < 0) {
		perror("scale_server: listen");
		return 1;
	}
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
	FILE *f = fopen(tmp, "w");
	if (!f || fprintf(f, "%u\n", ntohs(a.sin_port)) < 0 || fclose(f) ||
	    rename(tmp, argv[1])) {
		perror("scale_server: port file");
		return 1;
	}

	ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = ls };
	epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	struct epoll_event evs[256];
	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (fd == ls) {
				for (int k = 0; k < 256; k++) {
					int c = accept4(ls, NULL, NULL,
							SOCK_NONBLOCK);
					if (c < 0)
						break;
					if (c >= MAXFD) {
						close(c);
						continue;
					}
					memset(&peers[c], 0, sizeof peers[c]);
					struct epoll_event ce = {
						.events = EPOLLIN,
						.data.fd = c };
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
				}
				continue;
			}
			int bad = 0;
			if (evs[i].events & EPOLLOUT)
				bad = flush(fd) < 0;
			if (!bad && (evs[i].events & (EPOLLIN | EPOLLHUP |
						      EPOLLERR)))
				bad = on_read(fd) < 0;
			if (bad)
				drop(fd);
		}
	}
}
