/* io_read.c - the read family, including the entry points that
 * -D_FORTIFY_SOURCE builds call.  An untracked descriptor goes straight to
 * libc after one atomic load; a tracked one through conn_read.  What
 * conn_read passes through goes to libc as the program's own call (a
 * read() stays a read(), whatever the number has become). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "conn.h"
#include "fdtable.h"
#include "io_args.h"
#include "real.h"
#include "tls_conn.h"

#define EXPORT __attribute__((visibility("default")))
/* the tracked path: out of line, so that the idle hook keeps no frame, but
 * not cold: every exchange runs it, and code marked cold shares its lines
 * with the truly rare (docs/performance.md, round 9) */
#define SLOW __attribute__((noinline))

extern void __chk_fail(void) __attribute__((noreturn));

/* plain: the program sees only bytes and count (see conn_read) */
static ssize_t through(struct conn *c, int fd, struct msghdr *m, int flags,
		       bool plain)
{
	ssize_t r = conn_read(c, fd, m, flags, plain);
	conn_read_leave(c);
	return r;
}

/* is_read: the program called read() (no flags, any kind of file) */
static SLOW ssize_t recv_conn(int fd, void *buf, size_t n, int flags,
			      struct sockaddr *addr, socklen_t *alen,
			      bool is_read)
{
	struct conn *c = n > 0 && bad_ptr(buf) ? NULL : conn_read_enter(fd);
	struct iovec v = { buf, n };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	ssize_t r;

	if (c == NULL)
		goto pass;
	if (c == CONN_BUSY)
		return io_busy();
	if (addr != NULL && alen != NULL && !bad_ptr(alen)) {
		m.msg_name = addr;
		m.msg_namelen = *alen;
	}
	r = through(c, fd, &m, flags, true);
	if (r == CONN_READ_PASS)
		goto pass;
	if (r >= 0 && m.msg_name != NULL)
		*alen = m.msg_namelen;
	return r;
pass:
	if (is_read)
		return REAL(read)(fd, buf, n);
	return REAL(recvfrom)(fd, buf, n, flags, addr, alen);
}

/* A socket that passes everything (TLS, once known) goes to libc with no
 * frame built for the tracked path: each record costs OpenSSL two reads */
static SLOW ssize_t recv_tracked(int fd, void *buf, size_t n, int flags,
				 struct sockaddr *addr, socklen_t *alen,
				 bool is_read)
{
	tls_probe(fd);	/* a TLS call may be learning its socket */
	if (!conn_passes(fd))
		return recv_conn(fd, buf, n, flags, addr, alen, is_read);
	if (is_read)
		return REAL(read)(fd, buf, n);
	return REAL(recvfrom)(fd, buf, n, flags, addr, alen);
}

EXPORT ssize_t read(int fd, void *buf, size_t n)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		return recv_tracked(fd, buf, n, 0, NULL, NULL, true);
	return REAL(read)(fd, buf, n);
}

EXPORT ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0)) {
		if (n > buflen)
			__chk_fail();
		return recv_tracked(fd, buf, n, 0, NULL, NULL, true);
	}
	return REAL(__read_chk)(fd, buf, n, buflen);
}

EXPORT ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		return recv_tracked(fd, buf, n, flags, NULL, NULL, false);
	return REAL(recv)(fd, buf, n, flags);
}

EXPORT ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen,
			  int flags)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0)) {
		if (n > buflen)
			__chk_fail();
		return recv_tracked(fd, buf, n, flags, NULL, NULL, false);
	}
	return REAL(__recv_chk)(fd, buf, n, buflen, flags);
}

EXPORT ssize_t recvfrom(int fd, void *buf, size_t n, int flags,
			struct sockaddr *addr, socklen_t *alen)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		return recv_tracked(fd, buf, n, flags, addr, alen, false);
	return REAL(recvfrom)(fd, buf, n, flags, addr, alen);
}

EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen,
			      int flags, struct sockaddr *addr,
			      socklen_t *alen)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0)) {
		if (n > buflen)
			__chk_fail();
		return recv_tracked(fd, buf, n, flags, addr, alen, false);
	}
	return REAL(__recvfrom_chk)(fd, buf, n, buflen, flags, addr, alen);
}

static SLOW ssize_t readv_tracked(int fd, const struct iovec *iov, int cnt)
{
	struct conn *c = NULL;
	struct msghdr m = { .msg_iov = (struct iovec *)iov,
			    .msg_iovlen = cnt < 0 ? 0 : (size_t)cnt };
	ssize_t r;

	tls_probe(fd);	/* a TLS call may be learning its socket */
	if (cnt >= 0 && cnt <= IOV_MAX && !bad_iov(iov, (size_t)cnt))
		c = conn_read_enter(fd);
	if (c == CONN_BUSY)
		return io_busy();
	if (c != NULL && (r = through(c, fd, &m, 0, true)) != CONN_READ_PASS)
		return r;
	return REAL(readv)(fd, iov, cnt);
}

EXPORT ssize_t readv(int fd, const struct iovec *iov, int cnt)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		return readv_tracked(fd, iov, cnt);
	return REAL(readv)(fd, iov, cnt);
}

static SLOW ssize_t recvmsg_tracked(int fd, struct msghdr *msg, int flags)
{
	struct conn *c = bad_msg(msg) ? NULL : conn_read_enter(fd);
	ssize_t r;

	tls_probe(fd);	/* a TLS call may be learning its socket */
	if (c == CONN_BUSY)
		return io_busy();
	if (c != NULL &&
	    (r = through(c, fd, msg, flags, false)) != CONN_READ_PASS)
		return r;
	return REAL(recvmsg)(fd, msg, flags);
}

EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		return recvmsg_tracked(fd, msg, flags);
	return REAL(recvmsg)(fd, msg, flags);
}

/* The shim cannot follow recvmmsg: the connection's responses are given
 * up.  Head bytes the shim still owes come first, as the first message. */
static SLOW int recvmmsg_tracked(int fd, struct mmsghdr *vec, unsigned int n,
				 int flags, struct timespec *timeout)
{
	int r = conn_read_elsewhere(fd);
	struct conn *c;
	ssize_t got;

	if (r == 2 && n > 0 && !bad_ptr(vec) && !bad_msg(&vec[0].msg_hdr) &&
	    (c = conn_read_enter(fd)) != NULL) {
		if (c == CONN_BUSY)
			return io_busy();
		got = through(c, fd, &vec[0].msg_hdr,
			      flags & ~MSG_WAITFORONE, false);
		if (got >= 0) {
			vec[0].msg_len = (unsigned int)got;
			return 1;
		}
		if (got != CONN_READ_PASS)
			return -1;
	}
	if (r == 0 || r < 0)
		return r;
	return REAL(recvmmsg)(fd, vec, n, flags, timeout);
}

EXPORT int recvmmsg(int fd, struct mmsghdr *vec, unsigned int n, int flags,
		    struct timespec *timeout)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		return recvmmsg_tracked(fd, vec, n, flags, timeout);
	return REAL(recvmmsg)(fd, vec, n, flags, timeout);
}
