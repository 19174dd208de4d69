/* client.c - the stress client's HTTP side: requests written in varied
 * ways, responses read in varied ways and verified byte for byte. */
#define _GNU_SOURCE
#include "client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/uio.h>

struct settings S;
atomic_uint failures;

/* stderr without stdio: a forked child must not wait for a stdio lock
 * that a thread of its parent held at fork time */
void fail(char scen, const char *fmt, ...)
{
	va_list ap;
	char line[512];
	int n;

	/* the first few are enough to debug; all are counted */
	if (atomic_fetch_add(&failures, 1) >= 20)
		return;
	n = snprintf(line, sizeof line, "FAIL [%c]: ", scen);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	if (write(2, line, (size_t)n) < 0)
		return;
}

unsigned scaled(unsigned n)
{
	unsigned long v = (unsigned long)n * S.scale / 100;
	return v > 0 ? (unsigned)v : 1;
}

void rng_seed(struct rng *r, uint64_t a, uint64_t b)
{
	r->s = (a * 0x9e3779b97f4a7c15ull) ^ (b + 0x632be59bd9b4e019ull);
	if (r->s == 0)
		r->s = 1;
}

uint32_t rng_below(struct rng *r, uint32_t n)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (uint32_t)((r->s * 0x2545f4914f6cdd1dull) >> 32) % n;
}

void request_random(struct request *q, struct rng *r, const char *tag,
		    int allow_head)
{
	uint32_t d = rng_below(r, 100);

	q->head = allow_head && rng_below(r, 8) == 0;
	strcpy(q->kind, rng_below(r, 2) ? "ch" : "cl");
	q->len = d < 25 ? rng_below(r, 100) :
		 d < 75 ? 100 + rng_below(r, 8000) :
		 d < 95 ? 8000 + rng_below(r, 32000) :
			  40000 + rng_below(r, BODY_MAX - 40000);
	snprintf(q->tag, sizeof q->tag, "%s", tag);
	d = rng_below(r, 100);
	q->fill = d < 70 ? 0 : d < 90 ? 1 + rng_below(r, 200) :
		  200 + rng_below(r, FILL_MAX - 200);
}

size_t request_format(const struct request *q, char *buf)
{
	size_t n = (size_t)sprintf(buf, "%s /%s/%zu/%s HTTP/1.1\r\nHost: stress\r\n",
				   q->head ? "HEAD" : "GET", q->kind, q->len, q->tag);

	if (q->fill > 0) {
		memcpy(buf + n, "X-Fill: ", 8);
		memset(buf + n + 8, 'x', q->fill);
		memcpy(buf + n + 8 + q->fill, "\r\n", 2);
		n += q->fill + 10;
	}
	memcpy(buf + n, "\r\n", 2);
	return n + 2;
}

int connect_server(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)S.port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), err = 0, r;
	socklen_t elen = sizeof err;

	if (fd < 0)
		return -1;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
		return fd;
	if (errno == EINTR || errno == EINPROGRESS) {
		/* interrupted by a signal: the connect goes on; wait for it */
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		do
			r = poll(&p, 1, 20000);
		while (r < 0 && errno == EINTR);
		if (r == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 &&
		    err == 0)
			return fd;
		err = r == 0 ? ETIMEDOUT : err ? err : errno;
	} else {
		err = errno;
	}
	close(fd);
	errno = err;
	return -1;
}

int local_port(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;

	if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return -1;
	return ntohs(a.sin_port);
}

/* One call of the chosen style on p[0, n); what it returns. */
static ssize_t write_some(int fd, const char *p, size_t n, int style,
			  struct rng *r)
{
	struct iovec v[3];
	struct msghdr m = { .msg_iov = v };
	size_t a = n > 2 ? rng_below(r, (uint32_t)n) : 0;
	size_t b = a + (n - a > 1 ? rng_below(r, (uint32_t)(n - a)) : 0);

	v[0] = (struct iovec){ (void *)p, a };
	v[1] = (struct iovec){ (void *)(p + a), b - a };
	v[2] = (struct iovec){ (void *)(p + b), n - b };
	switch (style) {
	case 0:
		return write(fd, p, n);
	case 1:
		return send(fd, p, n, MSG_NOSIGNAL);
	case 2:
		return writev(fd, v, 3);
	default:
		m.msg_iovlen = 3;
		return sendmsg(fd, &m, MSG_NOSIGNAL);
	}
}

int send_request(int fd, const char *p, size_t n, struct rng *r, int split)
{
	int style = (int)rng_below(r, 4);
	size_t off = 0, stop = split && n > 1 ? 1 + rng_below(r, (uint32_t)n - 1) : n;

	while (off < n) {
		ssize_t k = write_some(fd, p + off, stop - off, style, r);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		off += (size_t)k;
		if (off == stop)
			stop = n;
	}
	return 0;
}

void reader_init(struct reader *rd, int fd, struct rng *r)
{
	static const size_t sizes[] = { 1, 7, 100, 511, 512, 4096, 65536 };

	rd->fd = fd;
	rd->style = (int)rng_below(r, 4);
	rd->max = sizes[rng_below(r, sizeof sizes / sizeof sizes[0])];
	rd->pos = rd->len = 0;
	rd->in_body = 0;
}

/* More bytes into the buffer (kept bytes move to its start): what the
 * read returned. */
static ssize_t more(struct reader *rd)
{
	size_t room;
	ssize_t r;

	if (rd->pos > 0) {
		memmove(rd->buf, rd->buf + rd->pos, rd->len - rd->pos);
		rd->len -= rd->pos;
		rd->pos = 0;
	}
	room = sizeof rd->buf - rd->len;
	if (room > rd->max)
		room = rd->max;
	if (room == 0) {
		errno = ENOBUFS;
		return -1;
	}
	for (;;) {
		uint8_t *p = rd->buf + rd->len;
		struct iovec two[2] = { { p, room / 2 },
					{ p + room / 2, room - room / 2 } };
		struct iovec one = { p, room };
		struct msghdr m = { .msg_iov = &one, .msg_iovlen = 1 };

		switch (rd->style) {
		case 0:
			r = read(rd->fd, p, room);
			break;
		case 1:
			r = recv(rd->fd, p, room, 0);
			break;
		case 2:
			r = readv(rd->fd, two, 2);
			break;
		default:
			r = recvmsg(rd->fd, &m, 0);
			break;
		}
		if (r < 0 && errno == EINTR) {
			atomic_fetch_add(&rd->eintr[rd->in_body], 1);
			continue;
		}
		if (r > 0)
			rd->len += (size_t)r;
		return r;
	}
}

/* One line through LF into line (NUL-terminated); its length or -1. */
static long get_line(struct reader *rd, char *line, size_t cap)
{
	size_t n = 0;

	for (;;) {
		while (rd->pos < rd->len) {
			char ch = (char)rd->buf[rd->pos++];
			if (n + 1 >= cap)
				return -1;
			line[n++] = ch;
			if (ch == '\n') {
				line[n] = '\0';
				return (long)n;
			}
		}
		if (more(rd) <= 0)
			return -1;
	}
}

/* The next n bytes must continue the tag's pattern. */
static int check_body(struct reader *rd, struct pattern *p, size_t n,
		      size_t *at, char *why, size_t whylen)
{
	while (n > 0) {
		if (rd->pos == rd->len) {
			ssize_t r = more(rd);
			if (r <= 0) {
				snprintf(why, whylen, "body cut at %zu (%s)", *at,
					 r == 0 ? "EOF" : strerror(errno));
				return -1;
			}
		}
		while (rd->pos < rd->len && n > 0) {
			uint8_t want = pattern_byte(p);
			if (rd->buf[rd->pos] != want) {
				snprintf(why, whylen, "body byte %zu is 0x%02x, not '%c'",
					 *at, rd->buf[rd->pos], want);
				return -1;
			}
			rd->pos++;
			(*at)++;
			n--;
		}
	}
	return 0;
}

static int read_chunked(struct reader *rd, const struct request *q,
			struct pattern *p, char *why, size_t whylen)
{
	char line[256], *end;
	size_t at = 0;

	for (;;) {
		unsigned long size;
		if (get_line(rd, line, sizeof line) < 0) {
			snprintf(why, whylen, "chunk line cut at %zu", at);
			return -1;
		}
		size = strtoul(line, &end, 16);
		if (end == line || (strcmp(end, "\r\n") != 0 &&
				    strcmp(end, ";ext=1\r\n") != 0)) {
			snprintf(why, whylen, "bad chunk line at %zu", at);
			return -1;
		}
		if (size == 0)
			break;
		if (check_body(rd, p, size, &at, why, whylen) < 0)
			return -1;
		if (get_line(rd, line, sizeof line) < 0 || strcmp(line, "\r\n") != 0) {
			snprintf(why, whylen, "no CRLF after chunk at %zu", at);
			return -1;
		}
	}
	while (get_line(rd, line, sizeof line) > 0 && strcmp(line, "\r\n") != 0)
		if (strcmp(line, "X-Trailer: done\r\n") != 0) {
			snprintf(why, whylen, "bad trailer");
			return -1;
		}
	if (strcmp(line, "\r\n") != 0 || at != q->len) {
		snprintf(why, whylen, "chunked body of %zu bytes, not %zu", at,
			 q->len);
		return -1;
	}
	return 0;
}

int read_response(struct reader *rd, const struct request *q, int rewritten,
		  char *why, size_t whylen)
{
	char line[512], tag[TAG_MAX + 16];
	long cl = -1;
	int chunked = 0, conns = 0, closes = 0, keepalives = 0, tags = 0;
	int said_close, r;
	struct pattern p;
	size_t at = 0;

	rd->in_body = 0;
	if (get_line(rd, line, sizeof line) < 0 ||
	    strcmp(line, "HTTP/1.1 200 OK\r\n") != 0) {
		snprintf(why, whylen, "status line (%s)", strerror(errno));
		return -1;
	}
	snprintf(tag, sizeof tag, "X-Tag: %s\r\n", q->tag);
	for (;;) {
		if (get_line(rd, line, sizeof line) < 0) {
			snprintf(why, whylen, "head cut");
			return -1;
		}
		if (strcmp(line, "\r\n") == 0)
			break;
		if (strncasecmp(line, "Content-Length: ", 16) == 0)
			cl = strtol(line + 16, NULL, 10);
		else if (strcasecmp(line, "Transfer-Encoding: chunked\r\n") == 0)
			chunked = 1;
		else if (strncasecmp(line, "Connection:", 11) == 0) {
			conns++;
			closes += strcasecmp(line, "Connection: close\r\n") == 0;
		} else if (strncasecmp(line, "Keep-Alive:", 11) == 0)
			keepalives++;
		else if (strcmp(line, tag) == 0)
			tags++;
		else if (strcmp(line, "Server: stress\r\n") != 0) {
			snprintf(why, whylen, "unexpected field %.60s", line);
			return -1;
		}
	}
	if (tags != 1) {
		snprintf(why, whylen, "response is not for %s", q->tag);
		return -1;
	}
	said_close = conns == 1 && closes == 1 && keepalives == 0;
	if (rewritten && !said_close) {
		snprintf(why, whylen, "head not rewritten to close (%d/%d/%d)",
			 conns, closes, keepalives);
		return -1;
	}
	if (strcmp(q->kind, "ch") == 0 ? !chunked || cl >= 0 :
	    chunked || cl != (long)(strcmp(q->kind, "rel") == 0 ? 0 : q->len)) {
		snprintf(why, whylen, "framing (cl %ld, chunked %d)", cl, chunked);
		return -1;
	}
	rd->in_body = 1;
	if (q->head)
		return said_close;
	pattern_init(&p, q->tag);
	r = chunked ? read_chunked(rd, q, &p, why, whylen) :
		      check_body(rd, &p, (size_t)cl, &at, why, whylen);
	return r < 0 ? r : said_close;
}

int expect_eof(struct reader *rd, char *why, size_t whylen)
{
	ssize_t r;

	if (rd->pos < rd->len) {
		snprintf(why, whylen, "%zu bytes after the response",
			 rd->len - rd->pos);
		return -1;
	}
	r = more(rd);
	if (r != 0) {
		snprintf(why, whylen, "read after the response: %zd (%s)", r,
			 r < 0 ? strerror(errno) : "bytes");
		return -1;
	}
	return 0;
}

void expect_requests(int port, unsigned lo, unsigned hi, const char *first,
		     char scen)
{
	expect_requests_passed(port, lo, hi, first, scen, 0);
}

void expect_requests_passed(int port, unsigned lo, unsigned hi,
			    const char *first, char scen, int passed)
{
	char line[128];
	const char *mark = passed ? " pass" : "";
	int k = lo == hi ?
		snprintf(line, sizeof line, "%d %u %s%s\n", port, hi,
			 hi > 0 ? first : "-", mark) :
		snprintf(line, sizeof line, "%d %u-%u %s%s\n", port, lo, hi,
			 first, mark);

	if (write(S.expect_fd, line, (size_t)k) != k)
		fail(scen, "expectations file: %s", strerror(errno));
}

atomic_uint forks_begun, forks_ended, fork_passes;

static int request_on(char scen, const struct request *q, struct rng *r,
		      struct reader *rd, int keep)
{
	char *buf = malloc(FILL_MAX + 256), why[200];
	int fd = connect_server(), port, e, forked, said_close;
	unsigned ended;
	size_t n;

	if (buf == NULL || fd < 0) {
		fail(scen, "%s: connect: %s", q->tag, strerror(errno));
		free(buf);
		return -1;
	}
	port = local_port(fd);
	n = request_format(q, buf);
	ended = atomic_load(&forks_ended);
	e = send_request(fd, buf, n, r, rng_below(r, 4) == 0);
	/* a fork ran while the head was written: it may have been given up */
	forked = atomic_load(&forks_begun) != ended;
	free(buf);
	if (e < 0) {
		fail(scen, "%s: write: %s", q->tag, strerror(-e));
		close(fd);
		return -1;
	}
	reader_init(rd, fd, r);
	if (rd->max < 64 && q->len > 3000)
		rd->max = 512;	/* byte-wise reads of big bodies: too slow */
	said_close = read_response(rd, q, !forked, why, sizeof why);
	if (said_close < 0 ||
	    (S.teardown && said_close && expect_eof(rd, why, sizeof why) < 0)) {
		fail(scen, "%s (port %d, fd %d, read style %d size %zu): %s",
		     q->tag, port, fd, rd->style, rd->max, why);
		if (!keep)
			close(fd);
		return -1;
	}
	/* given up (only after a fork, above): the server keeps it open */
	if ((!keep || !said_close) && close(fd) != 0) {
		fail(scen, "%s: close: %s", q->tag, strerror(errno));
		return -1;
	}
	if (!said_close)
		atomic_fetch_add(&fork_passes, 1);
	expect_requests_passed(port, 1, 1, q->tag, scen, !said_close);
	return 0;
}

int one_request(char scen, const struct request *q, struct rng *r,
		struct reader *rd)
{
	return request_on(scen, q, r, rd, 0);
}

int one_request_kept(char scen, const struct request *q, struct rng *r,
		     struct reader *rd)
{
	return request_on(scen, q, r, rd, 1);
}
