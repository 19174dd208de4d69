/* io_write.c - the write family.  Each hook: an untracked descriptor goes
 * straight to libc after one atomic load; a tracked one through conn. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <fcntl.h>

#include "conn.h"
#include "fdtable.h"
#include "real.h"
#include "stats.h"

#define EXPORT __attribute__((visibility("default")))

/* The write side of a tracked, still-rewritten fd, locked; else NULL. */
static inline struct conn *tracked(int fd)
{
	if (__builtin_expect(fdtable_peek(fd) == NULL, 1))
		return NULL;
	return conn_write_enter(fd);
}

static ssize_t through(struct conn *c, int fd, const struct iovec *iov,
		       int iovcnt, int flags)
{
	ssize_t r = conn_write(c, fd, iov, iovcnt, flags);
	conn_write_leave(c);
	return r;
}

/* For calls the rewriter cannot follow: owed bytes first, then libc. */
static int give_up(struct conn *c, int fd)
{
	int r = conn_give_up(c, fd, MSG_NOSIGNAL, GAVE_UP_UNSEEN_BYTES);
	conn_write_leave(c);
	return r;
}

/* The hooks below test the table inline and tail-call libc; the tracked
 * path lives in a separate function so the fast path keeps no frame. */
#define SLOW __attribute__((noinline, cold))

static SLOW ssize_t write_tracked(int fd, const void *buf, size_t n)
{
	struct conn *c = conn_write_enter(fd);
	struct iovec v = { (void *)buf, n };

	if (c == NULL)
		return REAL(write)(fd, buf, n);
	return through(c, fd, &v, 1, 0);
}

/* Pointers into the first page can only fault: such calls go to libc as
 * they are, for its EFAULT, without the shim touching the memory. */
static inline bool bad_ptr(const void *p)
{
	return (uintptr_t)p < 4096;
}

static bool bad_iov(const struct iovec *iov, size_t cnt)
{
	size_t i;

	if (cnt > 0 && bad_ptr(iov))
		return true;
	for (i = 0; i < cnt; i++)
		if (iov[i].iov_len > 0 && bad_ptr(iov[i].iov_base))
			return true;
	return false;
}

EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0) && !bad_ptr(buf))
		return write_tracked(fd, buf, n);
	return REAL(write)(fd, buf, n);
}

static SLOW ssize_t writev_tracked(int fd, const struct iovec *iov,
				   int iovcnt)
{
	struct conn *c = conn_write_enter(fd);

	if (c == NULL)
		return REAL(writev)(fd, iov, iovcnt);
	if (iovcnt < 0 || iovcnt > IOV_MAX || bad_iov(iov, (size_t)iovcnt)) {
		conn_write_leave(c);
		return REAL(writev)(fd, iov, iovcnt);	/* its error */
	}
	return through(c, fd, iov, iovcnt, 0);
}

EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0))
		return writev_tracked(fd, iov, iovcnt);
	return REAL(writev)(fd, iov, iovcnt);
}

static SLOW ssize_t send_tracked(int fd, const void *buf, size_t n,
				 int flags)
{
	struct conn *c = conn_write_enter(fd);
	struct iovec v = { (void *)buf, n };

	if (c == NULL)
		return REAL(send)(fd, buf, n, flags);
	if (flags & MSG_OOB) {
		if (give_up(c, fd) < 0)
			return -1;
		return REAL(send)(fd, buf, n, flags);
	}
	return through(c, fd, &v, 1, flags);
}

EXPORT ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	if (__builtin_expect(fdtable_peek(fd) != NULL, 0) && !bad_ptr(buf))
		return send_tracked(fd, buf, n, flags);
	return REAL(send)(fd, buf, n, flags);
}

EXPORT ssize_t sendto(int fd, const void *buf, size_t n, int flags,
		      const struct sockaddr *addr, socklen_t alen)
{
	struct conn *c = bad_ptr(buf) ? NULL : tracked(fd);
	struct iovec v = { (void *)buf, n };

	if (c == NULL)
		return REAL(sendto)(fd, buf, n, flags, addr, alen);
	if ((flags & MSG_OOB) || addr != NULL) {
		if (give_up(c, fd) < 0)
			return -1;
		return REAL(sendto)(fd, buf, n, flags, addr, alen);
	}
	return through(c, fd, &v, 1, flags);
}

/* Ancillary data (descriptors passed over a Unix socket) and addresses
 * must go with exactly the program's bytes: leave such sockets alone. */
static bool plain_msg(const struct msghdr *m, int flags)
{
	return m->msg_name == NULL && m->msg_controllen == 0 &&
	       !(flags & MSG_OOB);
}

/* Calls the kernel refuses before sending anything go to libc as they
 * are, for their errors (EFAULT, EMSGSIZE), without giving anything up. */
static bool refused(const struct msghdr *m)
{
	return bad_ptr(m) || m->msg_iovlen > IOV_MAX ||
	       bad_iov(m->msg_iov, m->msg_iovlen);
}

EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct conn *c = refused(msg) ? NULL : tracked(fd);

	if (c == NULL)
		return REAL(sendmsg)(fd, msg, flags);
	if (!plain_msg(msg, flags)) {
		if (give_up(c, fd) < 0)
			return -1;
		return REAL(sendmsg)(fd, msg, flags);
	}
	return through(c, fd, msg->msg_iov, (int)msg->msg_iovlen, flags);
}

EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	struct conn *c = !bad_ptr(vec) && vlen > 0 ? tracked(fd) : NULL;
	unsigned int i;

	if (c == NULL)
		return REAL(sendmmsg)(fd, vec, vlen, flags);
	for (i = 0; i < vlen; i++)
		if (refused(&vec[i].msg_hdr)) {
			conn_write_leave(c);
			return REAL(sendmmsg)(fd, vec, vlen, flags);
		}
	for (i = 0; i < vlen; i++)
		if (!plain_msg(&vec[i].msg_hdr, flags)) {
			if (give_up(c, fd) < 0)
				return -1;
			return REAL(sendmmsg)(fd, vec, vlen, flags);
		}
	/* Each message in order, like sendmsg; stop at a short one. */
	for (i = 0; i < vlen; i++) {
		const struct msghdr *m = &vec[i].msg_hdr;
		size_t want = 0, j;
		ssize_t r = conn_write(c, fd, m->msg_iov, (int)m->msg_iovlen,
				       flags);
		if (r < 0)
			break;
		vec[i].msg_len = (unsigned int)r;
		for (j = 0; j < m->msg_iovlen; j++)
			want += m->msg_iov[j].iov_len;
		if ((size_t)r < want) {
			i++;
			break;
		}
	}
	conn_write_leave(c);
	return i > 0 ? (int)i : -1;
}

/* sendfile and splice with nothing to send, or from a bad descriptor,
 * fail or return 0 without sending: no reason to give anything up. */
static bool fails_early(int in, size_t count)
{
	int saved = errno;
	bool bad = count == 0 || REAL(fcntl)(in, F_GETFD) < 0;

	errno = saved;
	return bad;
}

EXPORT ssize_t sendfile(int out, int in, off_t *off, size_t count)
{
	struct conn *c = tracked(out);
	ssize_t r;

	if (c == NULL)
		return REAL(sendfile)(out, in, off, count);
	if (fails_early(in, count)) {
		conn_write_leave(c);
		return REAL(sendfile)(out, in, off, count);
	}
	if (conn_write_unseen(c, out, count) < 0) {
		conn_write_leave(c);
		return -1;
	}
	r = REAL(sendfile)(out, in, off, count);
	conn_write_unseen_done(c, r);
	conn_write_leave(c);
	return r;
}

EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t count)
{
	struct conn *c = tracked(out);
	ssize_t r;

	if (c == NULL)
		return REAL(sendfile64)(out, in, off, count);
	if (fails_early(in, count)) {
		conn_write_leave(c);
		return REAL(sendfile64)(out, in, off, count);
	}
	if (conn_write_unseen(c, out, count) < 0) {
		conn_write_leave(c);
		return -1;
	}
	r = REAL(sendfile64)(out, in, off, count);
	conn_write_unseen_done(c, r);
	conn_write_leave(c);
	return r;
}

EXPORT ssize_t splice(int in, off64_t *off_in, int out, off64_t *off_out,
		      size_t len, unsigned int flags)
{
	struct conn *c;
	ssize_t r;

	if (__builtin_expect(fdtable_peek(in) != NULL, 0)) {
		int ok = conn_read_elsewhere(in);
		if (ok <= 0)
			return ok;
	}
	c = tracked(out);
	if (c == NULL)
		return REAL(splice)(in, off_in, out, off_out, len, flags);
	if (fails_early(in, len)) {
		conn_write_leave(c);
		return REAL(splice)(in, off_in, out, off_out, len, flags);
	}
	if (conn_write_unseen(c, out, len) < 0) {
		conn_write_leave(c);
		return -1;
	}
	r = REAL(splice)(in, off_in, out, off_out, len, flags);
	conn_write_unseen_done(c, r);
	conn_write_leave(c);
	return r;
}

/* dprintf writes through glibc internals we cannot see. */
EXPORT int vdprintf(int fd, const char *fmt, va_list ap)
{
	struct conn *c = tracked(fd);

	if (c != NULL && give_up(c, fd) < 0)
		return -1;
	return REAL(vdprintf)(fd, fmt, ap);
}

EXPORT int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vdprintf(fd, fmt, ap);
	va_end(ap);
	return r;
}
