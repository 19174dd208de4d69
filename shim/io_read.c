/* io_read.c - the read family, including the entry points that
 * -D_FORTIFY_SOURCE builds call.  An untracked descriptor goes straight to
 * libc after one atomic load; a tracked one through conn_read. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "conn.h"
#include "fdtable.h"
#include "real.h"

#define EXPORT __attribute__((visibility("default")))
#define SLOW __attribute__((noinline, cold))

extern void __chk_fail(void) __attribute__((noreturn));

/* plain: the program sees only bytes and count (see conn_read) */
static ssize_t through(struct conn *c, int fd, struct msghdr *m, int flags,
		       bool plain)
{
	ssize_t r = conn_read(c, fd, m, flags, plain);
	conn_read_leave(c);
	return r;
}

static SLOW ssize_t recv_tracked(int fd, void *buf, size_t n, int flags,
				 struct sockaddr *addr, socklen_t *alen)
{
	struct conn *c = conn_read_enter(fd);
	struct iovec v = { buf, n };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	ssize_t r;

	if (c == NULL)
		return REAL(recvfrom)(fd, buf, n, flags, addr, alen);
	if (addr != NULL && alen != NULL) {
		m.msg_name = addr;
		m.msg_namelen = *alen;
	}
	r = through(c, fd, &m, flags, true);
	if (r >= 0 && addr != NULL && alen != NULL)
		*alen = m.msg_namelen;
	return r;
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		return recv_tracked(fd, buf, n, 0, NULL, NULL);
	return REAL(read)(fd, buf, n);
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0)) {
		if (n > buflen)
			__chk_fail();
		return recv_tracked(fd, buf, n, 0, NULL, NULL);
	}
	return REAL(__read_chk)(fd, buf, n, buflen);
}

EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		return recv_tracked(fd, buf, n, flags, NULL, NULL);
	return REAL(recv)(fd, buf, n, flags);
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen,
			  int flags)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0)) {
		if (n > buflen)
			__chk_fail();
		return recv_tracked(fd, buf, n, flags, NULL, NULL);
	}
	return REAL(__recv_chk)(fd, buf, n, buflen, flags);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
			struct sockaddr *addr, socklen_t *alen)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		return recv_tracked(fd, buf, n, flags, addr, alen);
	return REAL(recvfrom)(fd, buf, n, flags, addr, alen);
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
			      int flags, struct sockaddr *addr,
			      socklen_t *alen)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0)) {
		if (n > buflen)
			__chk_fail();
		return recv_tracked(fd, buf, n, flags, addr, alen);
	}
	return REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, addr, alen);
}

static SLOW ssize_t readv_tracked(int fd, const struct iovec *iov, int cnt)
{
	struct conn *c = conn_read_enter(fd);
	struct msghdr m = { .msg_iov = (struct iovec *)iov,
			    .msg_iovlen = cnt < 0 ? 0 : (size_t)cnt };

	if (c == NULL || cnt < 0 || cnt > IOV_MAX) {
		if (c != NULL)
			conn_read_leave(c);
		return REAL(readv)(fd, iov, cnt);
	}
	return through(c, fd, &m, 0, true);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		return readv_tracked(fd, iov, cnt);
	return REAL(readv)(fd, iov, cnt);
}

static SLOW ssize_t recvmsg_tracked(int fd, struct msghdr *msg, int flags)
{
	struct conn *c = conn_read_enter(fd);

	if (c == NULL)
		return REAL(recvmsg)(fd, msg, flags);
	return through(c, fd, msg, flags, false);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		return recvmsg_tracked(fd, msg, flags);
	return REAL(recvmsg)(fd, msg, flags);
}

EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags,
		    struct timespec *timeout)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0)) {
		int r = conn_read_elsewhere(fd);
		if (r <= 0)
			return r;
	}
	return REAL(recvmmsg)(fd, vec, n, flags, timeout);
}
