/* Benchmark keep-alive server: one epoll thread, 127.0.0.1, port 0.
 * For every request head it reads (up to the blank line; bodies are not
 * expected) it answers "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".
 * It ignores Connection: close and never closes first: a connection ends
 * only when the peer closes it (EOF or error).
 * usage: bench_server PORTFILE [NPORTS]
 * Listens on NPORTS (default 1) ports of 127.0.0.1, each bound to port 0,
 * and writes the ports it got to PORTFILE, one a line.  Separate ports let
 * a benchmark give every run its own address pair, so that the TIME_WAIT
 * sockets of one run (tens of thousands of short connections) never make
 * connect() search for a free local port in the next.
 * Build: cc -O2 -o bench_server tests/bench/bench_server.c */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXFD 65536
#define BUFSZ 8192

static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

struct conn {
	char buf[BUFSZ];
	size_t len;
};
static struct conn *conns[MAXFD];

static void drop(int ep, int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	free(conns[fd]);
	conns[fd] = NULL;
}

/* Answer every complete head in the buffer; return -1 to drop. */
static int serve(int fd, struct conn *c)
{
	char out[sizeof resp * 16];
	size_t olen = 0;
	for (;;) {
		char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
		size_t hl;
		if (end)
			hl = (size_t)(end - c->buf) + 4;
		else if ((end = memmem(c->buf, c->len, "\n\n", 2)))
			hl = (size_t)(end - c->buf) + 2;
		else
			break;
		memmove(c->buf, c->buf + hl, c->len - hl);
		c->len -= hl;
		if (olen + sizeof resp - 1 > sizeof out) {
			if (write(fd, out, olen) != (ssize_t)olen)
				return -1;
			olen = 0;
		}
		memcpy(out + olen, resp, sizeof resp - 1);
		olen += sizeof resp - 1;
	}
	/* responses are tiny: a short write on an empty socket buffer means the
	 * peer is gone or misbehaving; drop it rather than buffer */
	if (olen && write(fd, out, olen) != (ssize_t)olen)
		return -1;
	if (c->len == BUFSZ)
		return -1; /* head too large */
	return 0;
}

int main(int argc, char **argv)
{
	int nports = argc == 3 ? atoi(argv[2]) : 1;
	if ((argc != 2 && argc != 3) || nports < 1 || nports > 256) {
		fprintf(stderr, "usage: %s PORTFILE [NPORTS<=256]\n", argv[0]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	static char islisten[MAXFD];
	int one = 1;
	int ep = epoll_create1(0);
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		perror("portfile");
		return 1;
	}
	for (int k = 0; k < nports; k++) {
		int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (ls < 0 || ls >= MAXFD || bind(ls, (struct sockaddr *)&a, sizeof a) ||
		    listen(ls, 4096)) {
			perror("bind/listen");
			return 1;
		}
		socklen_t al = sizeof a;
		getsockname(ls, (struct sockaddr *)&a, &al);
		fprintf(f, "%d\n", ntohs(a.sin_port));
		islisten[ls] = 1;
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
		epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
	}
	if (fclose(f) || rename(tmp, argv[1])) {
		perror("portfile");
		return 1;
	}
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
			if (islisten[fd]) {
				int ls = fd;
				for (int k = 0; k < 256; k++) {
					int c = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
					if (c < 0)
						break;
					if (c >= MAXFD || !(conns[c] = calloc(1, sizeof *conns[c]))) {
						close(c);
						continue;
					}
					setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
					struct epoll_event ce = {.events = EPOLLIN | EPOLLRDHUP, .data.fd = c};
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
				}
				continue;
			}
			struct conn *c = conns[fd];
			if (!c)
				continue;
			int gone = 0;
			for (;;) {
				ssize_t r = read(fd, c->buf + c->len, BUFSZ - c->len);
				if (r > 0) {
					c->len += (size_t)r;
					if (serve(fd, c) < 0) {
						gone = 1;
						break;
					}
					continue;
				}
				if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				if (r < 0 && errno == EINTR)
					continue;
				gone = 1; /* EOF or error: the peer closed */
				break;
			}
			if (gone)
				drop(ep, fd);
		}
	}
}
