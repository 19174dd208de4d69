/* server.c - the stress test's HTTP/1.1 server (see proto.h).
 *
 * Plain build, no shim, no TSan: it is the witness.  One thread per
 * connection, keep-alive, ignores Connection: close, never closes first.
 * It accepts only the exact request grammar the client writes (and the one
 * Connection: close the shim adds): any other byte is logged as "bad" with
 * the bytes, and the connection is dropped.  The log has one "accept PORT"
 * line per connection and one "conn PORT req N bad B noclose K reset R
 * cut C first TAG" line when it ends, so the runner can compare with what
 * the client expected.
 *
 * usage: server PORTFILE LOGFILE  (SIGTERM: logs "end" and exits) */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "proto.h"

static FILE *logf;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_line(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&log_lock);
	va_start(ap, fmt);
	vfprintf(logf, fmt, ap);
	va_end(ap);
	fputc('\n', logf);
	fflush(logf);
	pthread_mutex_unlock(&log_lock);
}

/* ---- releases for "hold" requests (the signal scenario) ---- */

#define RELEASES 256
static struct {
	char tag[TAG_MAX];
	int stage;
} rel[RELEASES];
static pthread_mutex_t rel_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rel_cond = PTHREAD_COND_INITIALIZER;

/* the entry for tag, made if missing; under rel_lock */
static int rel_slot(const char *tag)
{
	int i, free_slot = -1;

	for (i = 0; i < RELEASES; i++) {
		if (strcmp(rel[i].tag, tag) == 0)
			return i;
		if (rel[i].tag[0] == '\0' && free_slot < 0)
			free_slot = i;
	}
	if (free_slot >= 0) {
		snprintf(rel[free_slot].tag, TAG_MAX, "%s", tag);
		rel[free_slot].stage = 0;
	}
	return free_slot;
}

static void release(const char *tag, int stage)
{
	int i;

	pthread_mutex_lock(&rel_lock);
	i = rel_slot(tag);
	if (i >= 0 && rel[i].stage < stage)
		rel[i].stage = stage;
	pthread_cond_broadcast(&rel_cond);
	pthread_mutex_unlock(&rel_lock);
}

/* 0 once stage is released; -1 after 30 s (the client is stuck) */
static int wait_release(const char *tag, int stage, int last)
{
	struct timespec until;
	int i, r = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&rel_lock);
	while ((i = rel_slot(tag)) >= 0 && rel[i].stage < stage && r == 0)
		r = pthread_cond_timedwait(&rel_cond, &rel_lock, &until);
	if (i >= 0 && last)
		rel[i].tag[0] = '\0';
	pthread_mutex_unlock(&rel_lock);
	return i >= 0 && r == 0 ? 0 : -1;
}

/* ---- one connection ---- */

struct conn {
	int fd, port;
	size_t pos, len;
	uint8_t in[65536];
	uint8_t out[16384];
	size_t out_len;
};

/* One line through LF into line (NUL-terminated): its length, 0 at EOF
 * before any byte, -1 on EOF inside it, an error (errno) or a line too
 * long (EMSGSIZE). */
static long get_line(struct conn *c, char *line, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	for (;;) {
		while (c->pos < c->len) {
			char ch = (char)c->in[c->pos++];
			if (n + 1 >= cap) {
				line[n] = '\0';
				errno = EMSGSIZE;
				return -1;
			}
			line[n++] = ch;
			if (ch == '\n') {
				line[n] = '\0';
				return (long)n;
			}
		}
		r = recv(c->fd, c->in, sizeof c->in, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			line[n] = '\0';
			if (r == 0)
				errno = 0;
			return n == 0 && r == 0 ? 0 : -1;
		}
		c->pos = 0;
		c->len = (size_t)r;
	}
}

static int flush_out(struct conn *c)
{
	size_t off = 0;

	while (off < c->out_len) {
		ssize_t r = send(c->fd, c->out + off, c->out_len - off,
				 MSG_NOSIGNAL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		off += (size_t)r;
	}
	c->out_len = 0;
	return 0;
}

static int put(struct conn *c, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		size_t k = sizeof c->out - c->out_len;
		if (k == 0 && flush_out(c) < 0)
			return -1;
		k = sizeof c->out - c->out_len;
		if (k > n)
			k = n;
		memcpy(c->out + c->out_len, b, k);
		c->out_len += k;
		b += k;
		n -= k;
	}
	return 0;
}

static int put_pattern(struct conn *c, struct pattern *p, size_t n)
{
	uint8_t tmp[4096];

	while (n > 0) {
		size_t k = n < sizeof tmp ? n : sizeof tmp, i;
		for (i = 0; i < k; i++)
			tmp[i] = pattern_byte(p);
		if (put(c, tmp, k) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

static int respond(struct conn *c, int head, const char *kind, size_t n,
		   const char *tag)
{
	static const char *const conn_fields[] = {
		"", "Connection: keep-alive\r\n",
		"Connection: keep-alive\r\nKeep-Alive: timeout=30\r\n",
	};
	uint32_t h = tag_hash(tag);
	int chunked = strcmp(kind, "ch") == 0, hold = strcmp(kind, "hold") == 0;
	struct pattern p, sizes;
	char line[256];
	int k;

	if (strcmp(kind, "rel") == 0) {
		release(tag, (int)n);
		n = 0;
	}
	if (hold && wait_release(tag, 1, 0) < 0)
		return -1;
	k = snprintf(line, sizeof line,
		     "HTTP/1.1 200 OK\r\nServer: stress\r\nX-Tag: %s\r\n", tag);
	if (put(c, line, (size_t)k) < 0)
		return -1;
	if (chunked)
		k = snprintf(line, sizeof line, "Transfer-Encoding: chunked\r\n");
	else
		k = snprintf(line, sizeof line, "Content-Length: %zu\r\n", n);
	if (put(c, line, (size_t)k) < 0 ||
	    put(c, conn_fields[h % 3], strlen(conn_fields[h % 3])) < 0 ||
	    put(c, "\r\n", 2) < 0)
		return -1;
	if (head)
		return flush_out(c);
	pattern_init(&p, tag);
	if (hold) {
		/* the second half waits: the reader blocks inside the body */
		if (put_pattern(c, &p, n / 2) < 0 || flush_out(c) < 0 ||
		    wait_release(tag, 2, 1) < 0)
			return -1;
		n -= n / 2;
	}
	if (!chunked)
		return put_pattern(c, &p, n) < 0 ? -1 : flush_out(c);
	sizes.s = h ^ 0x5bd1e995u;
	while (n > 0) {
		uint32_t w = pattern_word(&sizes);
		size_t len = 1 + w % 4000;
		if (len > n)
			len = n;
		k = snprintf(line, sizeof line, "%zx%s\r\n", len,
			     (w & 0x30000) == 0 ? ";ext=1" : "");
		if (put(c, line, (size_t)k) < 0 || put_pattern(c, &p, len) < 0 ||
		    put(c, "\r\n", 2) < 0)
			return -1;
		n -= len;
	}
	k = snprintf(line, sizeof line, "0\r\n%s\r\n",
		     h & 8 ? "X-Trailer: done\r\n" : "");
	return put(c, line, (size_t)k) < 0 ? -1 : flush_out(c);
}

/* The request line "METHOD /KIND/N/TAG HTTP/1.1\r\n": 0, or -1. */
static int parse_request_line(const char *l, int *head, char *kind, size_t *n,
			      char *tag)
{
	size_t i = 0, k;

	if (strncmp(l, "GET /", 5) == 0) {
		*head = 0;
		l += 5;
	} else if (strncmp(l, "HEAD /", 6) == 0) {
		*head = 1;
		l += 6;
	} else {
		return -1;
	}
	for (k = 0; l[k] >= 'a' && l[k] <= 'z' && k < 4; k++)
		kind[k] = l[k];
	kind[k] = '\0';
	if (l[k] != '/' || (strcmp(kind, "cl") != 0 && strcmp(kind, "ch") != 0 &&
			    strcmp(kind, "hold") != 0 && strcmp(kind, "rel") != 0))
		return -1;
	l += k + 1;
	*n = 0;
	for (k = 0; l[k] >= '0' && l[k] <= '9' && k < 7; k++)
		*n = *n * 10 + (size_t)(l[k] - '0');
	if (k == 0 || l[k] != '/' || *n > BODY_MAX)
		return -1;
	l += k + 1;
	while (tag_char_ok(l[i]) && i < TAG_MAX - 1) {
		tag[i] = l[i];
		i++;
	}
	tag[i] = '\0';
	return i > 0 && strcmp(l + i, " HTTP/1.1\r\n") == 0 ? 0 : -1;
}

static int fill_ok(const char *l)
{
	size_t i = 0;

	if (strncmp(l, "X-Fill: ", 8) != 0)
		return 0;
	for (l += 8; l[i] == 'x'; i++)
		;
	return i > 0 && strcmp(l + i, "\r\n") == 0;
}

/* the offending line, printable, for the log */
static void log_bad(struct conn *c, const char *why, const char *l)
{
	char esc[400];
	size_t i, n = 0;

	for (i = 0; l[i] != '\0' && n + 5 < sizeof esc; i++) {
		unsigned char ch = (unsigned char)l[i];
		if (ch >= 0x20 && ch < 0x7f && ch != '\\')
			esc[n++] = (char)ch;
		else
			n += (size_t)snprintf(esc + n, sizeof esc - n, "\\x%02x", ch);
	}
	esc[n] = '\0';
	log_line("bad %d %s: \"%s\"", c->port, why, esc);
}

static void *serve(void *arg)
{
	struct conn *c = arg;
	char *line = malloc(FILL_MAX + 64), kind[8], tag[TAG_MAX], first[TAG_MAX];
	unsigned req = 0, noclose = 0, bad = 0, resets = 0, cut = 0;
	size_t n;
	int head;

	first[0] = '\0';
	while (line != NULL) {
		int hosts = 0, closes = 0;
		long len = get_line(c, line, FILL_MAX + 64);

		if (len == 0)
			break;	/* the client closed between requests */
		if (len < 0 && errno == ECONNRESET) {
			/* A client that closes with unread answers resets the
			 * connection, and its kernel drops what it had not sent
			 * yet: a request may be cut there, never elsewhere. */
			resets++;
			cut += line[0] != '\0';
			break;
		}
		if (len < 0 || parse_request_line(line, &head, kind, &n, tag) < 0) {
			log_bad(c, len < 0 ? "cut request line" : "request line",
				line);
			bad++;
			break;
		}
		for (;;) {
			len = get_line(c, line, FILL_MAX + 64);
			if (len > 0 && strcmp(line, "\r\n") == 0)
				break;
			if (len > 0 && strcmp(line, "Host: stress\r\n") == 0)
				hosts++;
			else if (len > 0 && strcmp(line, "Connection: close\r\n") == 0)
				closes++;
			else if (len < 0 && errno == ECONNRESET) {
				resets++;
				cut++;
				break;
			} else if (len <= 0 || !fill_ok(line)) {
				log_bad(c, len <= 0 ? "cut head" : "field", line);
				bad++;
				break;
			}
		}
		if (bad == 0 && resets == 0 && (hosts != 1 || closes > 1)) {
			log_bad(c, "Host or Connection count", tag);
			bad++;
		}
		if (bad > 0 || resets > 0)
			break;
		if (req++ == 0)
			snprintf(first, sizeof first, "%s", tag);
		noclose += closes == 0;
		if (respond(c, head, kind, n, tag) < 0)
			break;
	}
	log_line("conn %d req %u bad %u noclose %u reset %u cut %u first %s",
		 c->port, req, bad, noclose, resets, cut, first[0] ? first : "-");
	close(c->fd);
	free(line);
	free(c);
	return NULL;
}

static void *on_signal(void *arg)
{
	sigset_t *set = arg;
	int sig;

	sigwait(set, &sig);
	log_line("end");
	_exit(0);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof a;
	sigset_t set;
	pthread_attr_t attr;
	pthread_t t;
	char tmp[4096];
	FILE *pf;
	int ls, one = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s PORTFILE LOGFILE\n", argv[0]);
		return 2;
	}
	logf = fopen(argv[2], "w");
	if (logf == NULL) {
		perror(argv[2]);
		return 1;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_create(&t, NULL, on_signal, &set);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 ||
	    listen(ls, 1024) < 0 ||
	    getsockname(ls, (struct sockaddr *)&a, &alen) < 0) {
		perror("listen");
		return 1;
	}
	/* the port file appears complete or not at all */
	snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
	pf = fopen(tmp, "w");
	if (pf == NULL || fprintf(pf, "%d\n", ntohs(a.sin_port)) < 0 ||
	    fclose(pf) != 0 || rename(tmp, argv[1]) != 0) {
		perror(argv[1]);
		return 1;
	}
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (;;) {
		struct sockaddr_in peer;
		socklen_t plen = sizeof peer;
		int fd = accept(ls, (struct sockaddr *)&peer, &plen);
		struct conn *c;

		if (fd < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				usleep(10000);	/* EMFILE and friends */
			continue;
		}
		c = calloc(1, sizeof *c);
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->port = ntohs(peer.sin_port);
		log_line("accept %d", c->port);
		if (pthread_create(&t, &attr, serve, c) != 0) {
			log_line("conn %d req 0 bad 1 noclose 0 reset 0 cut 0 first no-thread",
				 c->port);
			close(fd);
			free(c);
		}
	}
}
