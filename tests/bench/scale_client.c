/* scale_client.c - epoll client for the scale figure (figure 5).
 *
 *   scale_client PORT run   TOTAL CONC MODE   -> one line of key=value
 *   scale_client PORT idle  CONC       MODE   -> one line of key=value
 *
 * MODE close: each request says "Connection: close" and the client closes
 *             after its response, then opens a new connection.
 * MODE keep:  no Connection field; the client reuses the connection unless
 *             the response says "Connection: close" or EOF is read (under
 *             the shim: every time), then reconnects.
 *
 * run:  keeps CONC requests in flight (level-triggered epoll, non-blocking
 *       sockets) until TOTAL responses are complete.  Prints requests,
 *       client CPU (user+sys, getrusage), wall time, VmRSS after TOTAL/10
 *       and after TOTAL responses, reconnects, errors.
 * idle: opens CONC connections, sends one request on each, waits until
 *       every request is written and (up to 2 s) until every response sits
 *       unread in the kernel, then prints VmRSS before and after.
 *
 * cc -O2 -o scale_client tests/bench/scale_client.c
 */
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
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXFD 4096
#define BUFSZ 1024

enum { S_FREE, S_SEND, S_RECV };

struct slot {
	unsigned char state;
	unsigned short sent, got;
	char buf[BUFSZ];
};

static struct slot *slots;
static int ep, keep_mode, port;
static long started, completed, total, errors, connects, reuses;
static char req[256];
static size_t req_len;

static long rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "VmRSS:", 6) == 0) {
			kb = atol(line + 6);
			break;
		}
	fclose(f);
	return kb;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fatal(const char *what)
{
	fprintf(stderr, "scale_client: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* Opens a connection and queues one request on it. */
static int open_one(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((unsigned short)port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

	for (int tries = 0;; tries++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		if (fd < 0)
			fatal("socket");
		if (fd >= MAXFD) {
			errno = EMFILE;
			fatal("socket");
		}
		if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0 ||
		    errno == EINPROGRESS) {
			struct slot *s = &slots[fd];
			s->state = S_SEND;
			s->sent = s->got = 0;
			struct epoll_event ev = { .events = EPOLLOUT,
						  .data.fd = fd };
			if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
				fatal("epoll_ctl");
			connects++;
			return fd;
		}
		/* out of ephemeral ports for a moment (TIME_WAIT) */
		int e = errno;
		close(fd);
		if ((e != EADDRNOTAVAIL && e != EAGAIN) || tries > 5000) {
			errno = e;
			fatal("connect");
		}
		errors++;
		usleep(1000);
	}
}

static void finish(int fd)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
	close(fd);
	slots[fd].state = S_FREE;
}

static void want(int fd, unsigned events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };
	epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
}

static void on_send(int fd)
{
	struct slot *s = &slots[fd];

	while (s->sent < req_len) {
		ssize_t w = send(fd, req + s->sent, req_len - s->sent,
				 MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOTCONN)
				return;
			/* connection failed: retry the request */
			errors++;
			finish(fd);
			if (errors > 100000)
				fatal("too many errors");
			open_one();
			return;
		}
		s->sent += (unsigned short)w;
	}
	s->state = S_RECV;
	want(fd, EPOLLIN);
}

/* A complete response in buf?  Sets *close_hdr. */
static int complete(struct slot *s, int *close_hdr)
{
	s->buf[s->got] = 0;
	char *end = strstr(s->buf, "\r\n\r\n");
	if (!end)
		return 0;
	size_t head = (size_t)(end - s->buf) + 4;
	long cl = 0;
	*close_hdr = 0;
	for (char *l = strstr(s->buf, "\r\n"); l && l < end;
	     l = strstr(l + 2, "\r\n")) {
		if (strncasecmp(l + 2, "content-length:", 15) == 0)
			cl = atol(l + 17);
		else if (strncasecmp(l + 2, "connection:", 11) == 0 &&
			 strcasestr(l + 13, "close") &&
			 strcasestr(l + 13, "close") < strstr(l + 2, "\r\n"))
			*close_hdr = 1;
	}
	return s->got >= head + (size_t)cl;
}

static void on_recv(int fd)
{
	struct slot *s = &slots[fd];
	int close_hdr = 0;

	for (;;) {
		ssize_t r = read(fd, s->buf + s->got, BUFSZ - 1 - s->got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
		}
		if (r <= 0) {
			/* EOF or error before the response was complete */
			errors++;
			finish(fd);
			if (errors > 100000)
				fatal("too many errors");
			open_one();
			return;
		}
		s->got += (unsigned short)r;
		if (complete(s, &close_hdr))
			break;
		if (s->got >= BUFSZ - 1) {
			errno = EMSGSIZE;
			fatal("response too large");
		}
	}
	completed++;
	if (keep_mode && !close_hdr && started < total) {
		/* the connection is still good: reuse it */
		started++;
		reuses++;
		s->state = S_SEND;
		s->sent = s->got = 0;
		want(fd, EPOLLOUT);
		on_send(fd);
		return;
	}
	finish(fd);
	if (started < total) {
		started++;
		open_one();
	}
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		fprintf(stderr, "usage: %s PORT run TOTAL CONC MODE | "
				"PORT idle CONC MODE\n", argv[0]);
		return 2;
	}
	port = atoi(argv[1]);
	int idle = strcmp(argv[2], "idle") == 0;
	long conc;
	const char *mode;
	if (idle) {
		conc = atol(argv[3]);
		mode = argv[4];
		total = conc;
	} else {
		if (argc < 6)
			return 2;
		total = atol(argv[3]);
		conc = atol(argv[4]);
		mode = argv[5];
	}
	keep_mode = strcmp(mode, "keep") == 0;
	req_len = (size_t)snprintf(req, sizeof req,
		"GET /scale HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
		"User-Agent: scale_client\r\nAccept: */*\r\n%s\r\n",
		port, keep_mode ? "" : "Connection: close\r\n");
	signal(SIGPIPE, SIG_IGN);
	alarm(600);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;	/* raise the soft limit */
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	/* every per-connection byte of the client itself is touched now, so
	 * it is in the RSS before any measurement */
	slots = calloc(MAXFD, sizeof *slots);
	if (!slots)
		fatal("calloc");
	for (size_t i = 0; i < MAXFD * sizeof *slots; i += 1024)
		((volatile char *)slots)[i] = 0;	/* fault every page in */
	ep = epoll_create1(0);
	struct epoll_event evs[512];
	long rss_base = rss_kb();

	if (idle) {
		int *fds = calloc((size_t)conc, sizeof *fds);
		for (long i = 0; i < conc; i++)
			fds[i] = open_one();
		started = conc;
		/* write every request, read nothing */
		double t0 = now();
		long waiting = conc;
		while (waiting > 0 && now() - t0 < 20) {
			int n = epoll_wait(ep, evs, 512, 100);
			for (int i = 0; i < n; i++) {
				int fd = evs[i].data.fd;
				if (slots[fd].state == S_SEND) {
					on_send(fd);
					if (slots[fd].state == S_RECV) {
						waiting--;
						want(fd, 0);
					}
				}
			}
		}
		/* responses sit unread in the kernel (up to 2 s) */
		long ready = 0;
		for (int round = 0; round < 200; round++) {
			ready = 0;
			for (long i = 0; i < conc; i++) {
				int q = 0;
				if (ioctl(fds[i], FIONREAD, &q) == 0 && q > 0)
					ready++;
			}
			if (ready == conc)
				break;
			usleep(10000);
		}
		long rss_idle = rss_kb();
		printf("conns=%ld sent=%ld answered=%ld rss_base_kb=%ld "
		       "rss_idle_kb=%ld errors=%ld\n", conc, conc - waiting,
		       ready, rss_base, rss_idle, errors);
		return 0;
	}

	struct rusage ru0, ru1;
	getrusage(RUSAGE_SELF, &ru0);
	double t0 = now();
	long mark = total / 10, rss_mid = -1;
	for (long i = 0; i < conc && started < total; i++) {
		started++;
		open_one();
	}
	while (completed < total) {
		int n = epoll_wait(ep, evs, 512, 10000);
		if (n == 0) {
			fprintf(stderr, "scale_client: stalled at %ld/%ld\n",
				completed, total);
			return 1;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			if (slots[fd].state == S_SEND)
				on_send(fd);
			else if (slots[fd].state == S_RECV)
				on_recv(fd);
			if (rss_mid < 0 && completed >= mark)
				rss_mid = rss_kb();
		}
	}
	double wall = now() - t0;
	getrusage(RUSAGE_SELF, &ru1);
	long rss_end = rss_kb();
	double cpu = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1e6 +
		     (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec) +
		     (ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e6 +
		     (ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec);
	double user = (ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec) * 1e6 +
		      (ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec);
	printf("requests=%ld cpu_us=%.0f user_us=%.0f wall_us=%.0f "
	       "rss_mid_kb=%ld "
	       "rss_end_kb=%ld connects=%ld reuses=%ld errors=%ld "
	       "maxrss_kb=%ld\n", completed, cpu, user, wall * 1e6, rss_mid,
	       rss_end, connects, reuses, errors, ru1.ru_maxrss);
	return 0;
}
