/* io_fd.c - descriptor lifetime: connect() starts tracking; close and dup
 * follow it; every call that creates a descriptor clears a stale entry
 * left by a close the shim did not see. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>

#include "conn.h"
#include "fdtable.h"
#include "real.h"

#define EXPORT __attribute__((visibility("default")))

EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	int r = REAL(connect)(fd, addr, len);

	/* EINPROGRESS and EINTR: the connection goes on asynchronously */
	if (r == 0 || errno == EINPROGRESS || errno == EINTR)
		conn_on_connect(fd, addr, len);
	return r;
}

/* A new descriptor: its number may hold a stale entry (a close the shim
 * did not see), and it gets the kind the call that made it tells (see
 * fdtable.h).  Not in a vfork child: it shares the parent's table, not
 * its descriptors. */
static void forget_stale(int fd, unsigned kind)
{
	int saved = errno;

	if ((fdtable_peek(fd) != NULL || fdtable_kind(fd) != kind) &&
	    conn_table_mutable()) {
		fdtable_forget_stale(fd);
		fdtable_set_kind(fd, kind);
	}
	errno = saved;
}

static int created(int fd)
{
	if (fd >= 0)
		forget_stale(fd, FDKIND_UNKNOWN);
	return fd;
}

static int created_pair(int r, const int fds[2])
{
	if (r == 0) {
		forget_stale(fds[0], FDKIND_UNKNOWN);
		forget_stale(fds[1], FDKIND_UNKNOWN);
	}
	return r;
}

/* What getsockopt(SO_TYPE) would say of a socket made with this type. */
static unsigned socket_kind(int type)
{
	return (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_STREAM ?
		       FDKIND_STREAM : FDKIND_OTHER;
}

/* fd's number is about to be released (close, dup2 onto it, fdopen):
 * its kind goes first, so that no other thread's new descriptor at that
 * number ever meets the old record. */
static void forget_kind(int fd)
{
	if (fdtable_kind(fd) != FDKIND_UNKNOWN && conn_table_mutable())
		fdtable_set_kind(fd, FDKIND_UNKNOWN);
}

/* fd is about to be closed by the program: what the rewriter still owes
 * goes out first, then the entry goes.  True when the shim has closed the
 * number itself (FORCECLOSE_ACTION=close): the program's close must not
 * reach the kernel, where the number may be another file's by now. */
static bool closing(int fd)
{
	int saved = errno;
	bool closed = false;

	if (conn_table_mutable()) {
		conn_flush_on_close(fd);
		closed = conn_claim_close(fd);
	}
	errno = saved;
	return closed;
}

EXPORT int close(int fd)
{
	if (__builtin_expect(fdtable_kind(fd) != FDKIND_UNKNOWN, 0))
		forget_kind(fd);
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0) && closing(fd))
		return 0;	/* as on a socket whose peer has gone */
	return REAL(close)(fd);
}

/* glibc exports close under this name too: a close the shim sees. */
EXPORT int __close(int fd)
{
	return close(fd);
}

/* Every tracked descriptor in [lo, hi] is about to be closed. */
static void closing_range(unsigned lo, unsigned hi)
{
	unsigned fd, high = fdtable_high(), khigh = fdtable_kind_high();

	for (fd = lo; fd <= hi && fd <= khigh; fd++)
		if (fdtable_kind((int)fd) != FDKIND_UNKNOWN)
			fdtable_set_kind((int)fd, FDKIND_UNKNOWN);
	for (fd = lo; fd <= hi && fd <= high; fd++)
		if (fdtable_peek((int)fd) != NULL)
			closing((int)fd);
}

EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
	if (!(flags & CLOSE_RANGE_CLOEXEC) && conn_table_mutable())
		closing_range(first, last);
	return REAL(close_range)(first, last, flags);
}

EXPORT void closefrom(int lowfd)
{
	if (lowfd >= 0 && conn_table_mutable())
		closing_range((unsigned)lowfd, UINT_MAX);
	REAL(closefrom)(lowfd);
}

/* shutdown() of a descriptor the shim closed itself succeeds, as on a
 * socket whose peer has gone; before the program's own shutdown of the
 * sending side, owed bytes go out. */
EXPORT int shutdown(int fd, int how)
{
	struct conn *c = fdtable_peek(fd);

	if (__builtin_expect(c != NULL, 0)) {
		if (c == &conn_closed)
			return 0;
		if (how != SHUT_RD) {
			int saved = errno;
			conn_flush_on_close(fd);
			errno = saved;
		}
	}
	return REAL(shutdown)(fd, how);
}

/* newfd now refers to what oldfd refers to: a dup shares the state. */
static int duplicated(int oldfd, int newfd)
{
	int saved = errno;
	struct conn *c;

	if (newfd < 0)
		return newfd;
	forget_stale(newfd, fdtable_kind(oldfd));	/* the same socket */
	if (fdtable_peek(oldfd) != NULL && conn_table_mutable() &&
	    (c = fdtable_acquire(oldfd)) != NULL)
		fdtable_install(newfd, c);
	errno = saved;
	return newfd;
}

EXPORT int dup(int fd)
{
	return duplicated(fd, REAL(dup)(fd));
}

/* dup2 and dup3 close newfd first: what it owes goes out. */
EXPORT int dup2(int oldfd, int newfd)
{
	if (oldfd == newfd)
		return REAL(dup2)(oldfd, newfd);
	forget_kind(newfd);
	if (__builtin_expect(fdtable_peek(newfd) != NULL, 0))
		closing(newfd);
	return duplicated(oldfd, REAL(dup2)(oldfd, newfd));
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (oldfd != newfd)
		forget_kind(newfd);
	if (oldfd != newfd && __builtin_expect(fdtable_peek(newfd) != NULL, 0))
		closing(newfd);
	return duplicated(oldfd, REAL(dup3)(oldfd, newfd, flags));
}

/* fcntl's third argument is an int or a pointer; passing it on as a
 * pointer-sized value is what every wrapper of it does. */
static int fcntl_common(int (*fn)(int, int, ...), int fd, int cmd,
			void *arg)
{
	int r = fn(fd, cmd, arg);

	if (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC)
		return duplicated(fd, r);
	return r;
}

EXPORT int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(REAL(fcntl), fd, cmd, arg);
}

EXPORT int fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	void *arg;

	va_start(ap, cmd);
	arg = va_arg(ap, void *);
	va_end(ap);
	return fcntl_common(REAL(fcntl64), fd, cmd, arg);
}

/* stdio reads and writes through glibc internals the shim cannot see,
 * and fclose() closes with glibc's internal close, which the shim cannot
 * see either: the number is forgotten here. */
EXPORT FILE *fdopen(int fd, const char *mode)
{
	forget_kind(fd);
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		conn_release(fd);
	return REAL(fdopen)(fd, mode);
}

/* ---- descriptor creators: clear stale entries, record kinds ---- */

EXPORT int socket(int domain, int type, int protocol)
{
	int fd = REAL(socket)(domain, type, protocol);

	if (fd >= 0)
		forget_stale(fd, socket_kind(type));
	return fd;
}

EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	int r = REAL(socketpair)(domain, type, protocol, sv);

	if (r == 0) {
		forget_stale(sv[0], socket_kind(type));
		forget_stale(sv[1], socket_kind(type));
	}
	return r;
}

EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return created(REAL(accept)(fd, addr, len));
}

EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return created(REAL(accept4)(fd, addr, len, flags));
}

#define NEEDS_MODE(flags) \
	(((flags) & O_CREAT) != 0 || ((flags) & O_TMPFILE) == O_TMPFILE)

#define MODE_ARG(flags, mode)                       \
	do {                                        \
		if (NEEDS_MODE(flags)) {            \
			va_list ap;                 \
			va_start(ap, flags);        \
			mode = va_arg(ap, mode_t);  \
			va_end(ap);                 \
		}                                   \
	} while (0)

EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return created(REAL(open)(path, flags, mode));
}

EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return created(REAL(open64)(path, flags, mode));
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return created(REAL(openat)(dirfd, path, flags, mode));
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	MODE_ARG(flags, mode);
	return created(REAL(openat64)(dirfd, path, flags, mode));
}

/* the entry points of -D_FORTIFY_SOURCE builds */
EXPORT int __open_2(const char *path, int flags)
{
	return created(REAL(__open_2)(path, flags));
}

EXPORT int __open64_2(const char *path, int flags)
{
	return created(REAL(__open64_2)(path, flags));
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	return created(REAL(__openat_2)(dirfd, path, flags));
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	return created(REAL(__openat64_2)(dirfd, path, flags));
}

EXPORT int creat(const char *path, mode_t mode)
{
	return created(REAL(creat)(path, mode));
}

EXPORT int creat64(const char *path, mode_t mode)
{
	return created(REAL(creat64)(path, mode));
}

EXPORT int pipe(int fds[2])
{
	return created_pair(REAL(pipe)(fds), fds);
}

EXPORT int pipe2(int fds[2], int flags)
{
	return created_pair(REAL(pipe2)(fds, flags), fds);
}

EXPORT int eventfd(unsigned int initval, int flags)
{
	return created(REAL(eventfd)(initval, flags));
}

EXPORT int epoll_create(int size)
{
	return created(REAL(epoll_create)(size));
}

EXPORT int epoll_create1(int flags)
{
	return created(REAL(epoll_create1)(flags));
}

EXPORT int memfd_create(const char *name, unsigned int flags)
{
	return created(REAL(memfd_create)(name, flags));
}

EXPORT int signalfd(int fd, const sigset_t *mask, int flags)
{
	return created(REAL(signalfd)(fd, mask, flags));
}

EXPORT int timerfd_create(int clockid, int flags)
{
	return created(REAL(timerfd_create)(clockid, flags));
}

EXPORT int inotify_init(void)
{
	return created(REAL(inotify_init)());
}

EXPORT int inotify_init1(int flags)
{
	return created(REAL(inotify_init1)(flags));
}

static FILE *created_file(FILE *f)
{
	if (f != NULL)
		forget_stale(fileno(f), FDKIND_UNKNOWN);
	return f;
}

EXPORT FILE *fopen(const char *path, const char *mode)
{
	return created_file(REAL(fopen)(path, mode));
}

EXPORT FILE *fopen64(const char *path, const char *mode)
{
	return created_file(REAL(fopen64)(path, mode));
}

/* ---- glibc's syscall(): descriptor calls made through it are seen ----
 *
 * A close, dup2, dup3 or close_range made with syscall() is followed as
 * the libc call would be, and a descriptor it creates clears a stale entry
 * at its number (kind unknown: connect() asks the kernel).  Only system
 * calls made without libc stay unseen (docs/internals.md, "What a
 * descriptor number is"). */
static void syscall_before(long n, const long a[6])
{
	switch (n) {
#ifdef SYS_dup2
	case SYS_dup2:
#endif
	case SYS_dup3:
		if (a[0] != a[1]) {
			forget_kind((int)a[1]);
			if (fdtable_peek((int)a[1]) != NULL)
				closing((int)a[1]);
		}
		break;
	case SYS_close_range:
		if (!((unsigned long)a[2] & CLOSE_RANGE_CLOEXEC) &&
		    conn_table_mutable())
			closing_range((unsigned)a[0], (unsigned)a[1]);
		break;
	case SYS_clone:
		conn_note_clone((unsigned long)a[0]);
		break;
#ifdef SYS_clone3
	case SYS_clone3:
		/* its flags are behind a pointer the kernel may reject with
		 * EFAULT: assume the worst rather than read it */
		conn_note_clone(CLONE_VM | CLONE_FILES);
		break;
#endif
#ifdef SYS_vfork
	case SYS_vfork:
		conn_note_clone(CLONE_VM);
		break;
#endif
	}
}

static long syscall_after(long n, const long a[6], long r)
{
	if (r < 0)
		return r;
	switch (n) {
#ifdef SYS_dup2
	case SYS_dup2:
#endif
	case SYS_dup3:
	case SYS_dup:
		duplicated((int)a[0], (int)r);
		break;
	case SYS_fcntl:
		if (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC)
			duplicated((int)a[0], (int)r);
		break;
	case SYS_socketpair:
		created_pair(0, (const int *)a[3]);
		break;
#ifdef SYS_pipe
	case SYS_pipe:
#endif
	case SYS_pipe2:
		created_pair(0, (const int *)a[0]);
		break;
	case SYS_socket: case SYS_accept: case SYS_accept4:
#ifdef SYS_open
	case SYS_open:
#endif
#ifdef SYS_creat
	case SYS_creat:
#endif
#ifdef SYS_openat2
	case SYS_openat2:
#endif
	case SYS_openat: case SYS_eventfd2: case SYS_epoll_create1:
	case SYS_memfd_create: case SYS_signalfd4: case SYS_timerfd_create:
	case SYS_inotify_init1:
#ifdef SYS_pidfd_open
	case SYS_pidfd_open:
#endif
#ifdef SYS_pidfd_getfd
	case SYS_pidfd_getfd:
#endif
		created((int)r);
		break;
	}
	return r;
}

/* Reading six arguments reads the caller's stack past what it passed
 * (glibc's own syscall() does the same, in assembly): not a bug for
 * AddressSanitizer to report. */
EXPORT __attribute__((no_sanitize_address)) long syscall(long n, ...)
{
	va_list ap;
	long a[6], r;
	int i;

	/* the kernel takes six arguments at most; reading ones the caller
	 * did not pass is what glibc's own syscall() does too */
	va_start(ap, n);
	for (i = 0; i < 6; i++)
		a[i] = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_close) {
		int fd = (int)a[0];
		if (__builtin_expect(fdtable_kind(fd) != FDKIND_UNKNOWN, 0))
			forget_kind(fd);
		if (__builtin_expect(fdtable_peek(fd) != NULL, 0) && closing(fd))
			return 0;	/* as close() */
	} else {
		syscall_before(n, a);
	}
	r = REAL(syscall)(n, a[0], a[1], a[2], a[3], a[4], a[5]);
	return syscall_after(n, a, r);
}
