/* log.c - log lines to stderr, syslog or a file, with raw system calls.
 * Each line is one write(), so lines from several threads or processes
 * never interleave.  A file is opened and closed per line: the program may
 * close or reuse any descriptor number the shim kept. */
#define _GNU_SOURCE
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "settings.h"

#define LINE_MAX_BYTES 512
#define DETAIL_MAX 32

struct line {
	char buf[LINE_MAX_BYTES];
	size_t n;
};

static void put_bytes(struct line *l, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && l->n < sizeof l->buf - 1; i++) {
		char ch = p[i];
		l->buf[l->n++] = ch >= 0x20 && ch < 0x7f ? ch : '?';
	}
}

static void put(struct line *l, const char *s)
{
	put_bytes(l, s, strlen(s));
}

static void put_number(struct line *l, unsigned long v)
{
	char digits[24];
	size_t n = sizeof digits;

	do
		digits[--n] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	put_bytes(l, digits + n, sizeof digits - n);
}

/* stderr may be a full pipe: a line that cannot go at once is dropped */
static void to_stderr(const struct line *l)
{
	struct pollfd p = { .fd = 2, .events = POLLOUT };

	if (syscall(SYS_poll, &p, 1, 0) == 1 && (p.revents & POLLOUT))
		syscall(SYS_write, 2, l->buf, l->n);
}

static void to_file(const char *path, const struct line *l)
{
	long fd = syscall(SYS_openat, AT_FDCWD, path,
			  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
				  O_NOCTTY | O_NONBLOCK,
			  0644);

	if (fd < 0)
		return;
	syscall(SYS_write, (int)fd, l->buf, l->n);
	syscall(SYS_close, (int)fd);
}

/* One datagram to /dev/log: "<PRI>libforceclose[PID]: PROG: message". */
static void to_syslog(int level, const struct line *l, size_t rest)
{
	static const int severity[] = { 3, 5, 5, 7 };	/* err notice debug */
	struct sockaddr_un addr = { .sun_family = AF_UNIX,
				    .sun_path = "/dev/log" };
	struct line m = { .n = 0 };
	long fd;

	m.buf[m.n++] = '<';
	put_number(&m, 3 * 8 + (unsigned long)severity[level]);	/* daemon */
	put(&m, ">libforceclose[");
	put_number(&m, (unsigned long)syscall(SYS_getpid));
	put(&m, "]: ");
	put(&m, program_invocation_short_name);
	put(&m, ": ");
	put_bytes(&m, l->buf + rest, l->n - rest - 1);	/* no newline */
	fd = syscall(SYS_socket, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	syscall(SYS_sendto, (int)fd, m.buf, m.n, MSG_DONTWAIT | MSG_NOSIGNAL,
		&addr, sizeof addr);
	syscall(SYS_close, (int)fd);
}

void log_event_line(int level, const char *dest, const char *what,
	       const char *detail, size_t detail_len)
{
	int saved = errno;
	struct line l = { .n = 0 };
	const char *mark;
	size_t rest;

	if (!log_on(level))
		return;
	mark = strstr(what, "%s");
	put(&l, "libforceclose: ");
	put(&l, program_invocation_short_name);
	put(&l, "[");
	put_number(&l, (unsigned long)syscall(SYS_getpid));
	put(&l, "]: ");
	rest = l.n;
	if (dest != NULL && dest[0] != '\0') {
		put(&l, dest);
		put(&l, ": ");
	}
	if (mark != NULL) {
		put_bytes(&l, what, (size_t)(mark - what));
		if (detail != NULL)
			put_bytes(&l, detail, detail_len < DETAIL_MAX ?
						      detail_len : DETAIL_MAX);
		put(&l, mark + 2);
	} else {
		put(&l, what);
	}
	l.buf[l.n++] = '\n';
	switch (config.log) {
	case LOG_TO_SYSLOG:
		to_syslog(level, &l, rest);
		break;
	case LOG_TO_FILE:
		to_file(settings.log_path, &l);
		break;
	default:
		to_stderr(&l);
	}
	errno = saved;
}

void log_format_dest(char *out, size_t cap, const struct sockaddr *sa,
		     socklen_t len)
{
	struct line l = { .n = 0 };
	char ip[INET6_ADDRSTRLEN];
	size_t n;

	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const void *)sa;
		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof ip);
		put(&l, ip);
		put(&l, ":");
		put_number(&l, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6 &&
		   len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const void *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
		put(&l, "[");
		put(&l, ip);
		put(&l, "]:");
		put_number(&l, ntohs(in6->sin6_port));
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = (const void *)sa;
		size_t off = offsetof(struct sockaddr_un, sun_path);
		n = len > off ? len - off : 0;
		if (n > sizeof un->sun_path)
			n = sizeof un->sun_path;
		put(&l, "unix:");
		if (n > 0 && un->sun_path[0] == '\0') {
			put(&l, "@");
			put_bytes(&l, un->sun_path + 1, n - 1);
		} else {
			put_bytes(&l, un->sun_path, strnlen(un->sun_path, n));
		}
	}
	n = l.n < cap - 1 ? l.n : cap - 1;
	memcpy(out, l.buf, n);
	out[n] = '\0';
}
