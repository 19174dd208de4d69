/* io_fd.c - descriptor lifetime: connect() starts tracking; close and dup
 * follow it; every call that creates a descriptor clears a stale entry
 * left by a close the shim did not see. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
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

/* A new descriptor's number held a stale entry (a close the shim did not
 * see).  Not in a vfork child: it shares the parent's table, not its
 * descriptors. */
static void forget_stale(int fd)
{
	int saved = errno;

	if (fdtable_peek(fd) != NULL && conn_table_mutable())
		fdtable_forget(fd);
	errno = saved;
}

static int created(int fd)
{
	if (fd >= 0)
		forget_stale(fd);
	return fd;
}

static int created_pair(int r, const int fds[2])
{
	if (r == 0) {
		forget_stale(fds[0]);
		forget_stale(fds[1]);
	}
	return r;
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
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0) && closing(fd))
		return 0;	/* as on a socket whose peer has gone */
	return REAL(close)(fd);
}

/* Every tracked descriptor in [lo, hi] is about to be closed. */
static void closing_range(unsigned lo, unsigned hi)
{
	unsigned fd, high = fdtable_high();

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
	forget_stale(newfd);
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
	if (__builtin_expect(fdtable_peek(newfd) != NULL, 0))
		closing(newfd);
	return duplicated(oldfd, REAL(dup2)(oldfd, newfd));
}

EXPORT int dup3(int oldfd, int newfd, int flags)
{
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

/* stdio reads and writes through glibc internals the shim cannot see. */
EXPORT FILE *fdopen(int fd, const char *mode)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		conn_release(fd);
	return REAL(fdopen)(fd, mode);
}

/* ---- descriptor creators: clear stale entries ---- */

EXPORT int socket(int domain, int type, int protocol)
{
	return created(REAL(socket)(domain, type, protocol));
}

EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	return created_pair(REAL(socketpair)(domain, type, protocol, sv), sv);
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
		forget_stale(fileno(f));
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
