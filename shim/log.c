/* log.c - log lines to stderr, syslog or a file, with raw system calls.
 * Each line is one write(), so lines from several threads or processes
 * never interleave.  A file is opened and closed per line: the program may
 * close or reuse any descriptor number the shim kept.
 *
 * The library runs inside root-owned services, so what it writes outside
 * the program's traffic must not be turned against the host: files are
 * opened without following symbolic links and only if they are plain files
 * of the effective user (log_open_append), and stderr is written only
 * while descriptor 2 is still the program's own stderr, never raising
 * SIGPIPE (log_stderr_write). */
#define _GNU_SOURCE
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "fdtable.h"
#include "settings.h"

#define LINE_MAX_BYTES 512
#define DETAIL_MAX 32
#define PATH_SHOWN 200	/* of a refused path, in its one line */

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

/* What descriptor 2 was at start-up.  A daemon that closes it gets its
 * next socket (or file) on that number: a line written there would land
 * in the program's own traffic. */
static struct {
	bool known;
	dev_t dev;
	ino_t ino;
} stderr_id;

void log_stderr_init(void)
{
	struct stat st;

	if (syscall(SYS_fstat, 2, &st) == 0) {
		stderr_id.dev = st.st_dev;
		stderr_id.ino = st.st_ino;
		stderr_id.known = true;
	}
}

/* Is descriptor 2 still the program's stderr?  (*st: what it is now.) */
static bool stderr_is_original(struct stat *st)
{
	return stderr_id.known && fdtable_peek(2) == NULL &&
	       syscall(SYS_fstat, 2, st) == 0 && st->st_dev == stderr_id.dev &&
	       st->st_ino == stderr_id.ino;
}

/* A pipe nobody reads any more raises SIGPIPE on write, and would kill a
 * program that never writes to its stderr itself.  SIGPIPE is blocked
 * around the write; one that the write raised is taken back, unless one
 * was pending already (the program's own, which stays). */
static void write_pipe_nosignal(const char *buf, size_t n)
{
	const size_t kset = 8;	/* the kernel's sigset_t: _NSIG / 8 */
	struct timespec zero = { 0, 0 };
	sigset_t pipe, old, pending;
	bool was_pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &pipe, &old, kset) != 0)
		return;
	was_pending = syscall(SYS_rt_sigpending, &pending, kset) != 0 ||
		      sigismember(&pending, SIGPIPE);
	if (syscall(SYS_write, 2, buf, n) < 0 && errno == EPIPE &&
	    !was_pending)
		syscall(SYS_rt_sigtimedwait, &pipe, NULL, &zero, kset);
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, kset);
}

/* stderr may be a full pipe: a line that cannot go at once is dropped.
 * So is a line for a descriptor 2 that is no longer the program's stderr,
 * or that the library tracks. */
void log_stderr_write(const char *buf, size_t n)
{
	struct pollfd p = { .fd = 2, .events = POLLOUT };
	struct stat st;
	int saved = errno;

	if (!stderr_is_original(&st))
		goto out;
	if (syscall(SYS_poll, &p, 1, 0) != 1 || !(p.revents & POLLOUT))
		goto out;
	if (S_ISSOCK(st.st_mode))
		syscall(SYS_sendto, 2, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT,
			NULL, 0);
	else if (S_ISFIFO(st.st_mode))
		write_pipe_nosignal(buf, n);
	else
		syscall(SYS_write, 2, buf, n);
out:
	errno = saved;
}

static void to_stderr(const struct line *l)
{
	log_stderr_write(l->buf, l->n);
}

/* Opens path for appending with no symbolic link anywhere in it
 * (openat2's RESOLVE_NO_SYMLINKS; before Linux 5.6, or where a seccomp
 * filter refuses openat2, O_NOFOLLOW guards the last component only).
 * O_NONBLOCK: a FIFO put there must not hang the program. */
static long open_nofollow(const char *path)
{
	const int flags = O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
			  O_NOCTTY | O_NONBLOCK;
	struct open_how how = { .flags = (uint64_t)flags, .mode = 0600,
				.resolve = RESOLVE_NO_SYMLINKS };
	long fd = syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);

	if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
		return fd;
	return syscall(SYS_openat, AT_FDCWD, path, flags | O_NOFOLLOW, 0600);
}

/* Why an opened file must not be written, or NULL.  Only a plain file
 * with one name, owned by the effective user, may be: a hard link or a
 * file someone else owns in a directory they can write is theirs to aim. */
static const char *unsafe_file(int fd)
{
	struct stat st;

	if (syscall(SYS_fstat, fd, &st) != 0)
		return "cannot stat it";
	if (!S_ISREG(st.st_mode))
		return "not a regular file";
	if (st.st_nlink != 1)
		return "a file with more than one hard link";
	if (st.st_uid != (uid_t)syscall(SYS_geteuid))
		return "owned by another user";
	return NULL;
}

/* One line, once per process and file:
 * libforceclose: PROG[PID]: VAR "PATH" refused (WHY); nothing is written to it */
static void refuse(atomic_bool *refused, const char *var, const char *path,
		   const char *why)
{
	struct line l = { .n = 0 };

	if (atomic_exchange(refused, true))
		return;
	put(&l, "libforceclose: ");
	put(&l, program_invocation_short_name);
	put(&l, "[");
	put_number(&l, (unsigned long)syscall(SYS_getpid));
	put(&l, "]: ");
	put(&l, var);
	put(&l, " \"");
	put_bytes(&l, path, strnlen(path, PATH_SHOWN));
	if (strlen(path) > PATH_SHOWN)
		put(&l, "...");
	put(&l, "\" refused (");
	put(&l, why);
	put(&l, "); nothing is written to it");
	l.buf[l.n++] = '\n';
	log_stderr_write(l.buf, l.n);
}

int log_open_append(const char *path, const char *var, atomic_bool *refused)
{
	const char *why;
	long fd;

	if (atomic_load(refused))
		return -1;
	fd = open_nofollow(path);
	if (fd < 0) {
		/* a missing directory, no permission: quietly nothing (the
		 * next line tries again); a symbolic link: refused */
		if (errno == ELOOP)
			refuse(refused, var, path, "a symbolic link in the path");
		return -1;
	}
	why = unsafe_file((int)fd);
	if (why != NULL) {
		syscall(SYS_close, (int)fd);
		refuse(refused, var, path, why);
		return -1;
	}
	return (int)fd;
}

static void to_file(const char *path, const struct line *l)
{
	static atomic_bool refused;
	int fd = log_open_append(path, "FORCECLOSE_LOG", &refused);

	if (fd < 0)
		return;
	syscall(SYS_write, fd, l->buf, l->n);
	syscall(SYS_close, fd);
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
