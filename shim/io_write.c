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
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "conn.h"
#include "fdtable.h"
#include "io_args.h"
#include "real.h"
#include "tls_conn.h"
#include "stats.h"

#define EXPORT __attribute__((visibility("default")))

/* The write side of a tracked, still-rewritten fd, locked; else NULL;
 * CONN_BUSY for a MSG_DONTWAIT call while another thread writes. */
static inline struct conn *tracked(int fd, int flags)
{
	if (__builtin_expect(fdtable_peek(fd) == NULL, 1))
		return NULL;
	return conn_write_enter(fd, flags);
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
 * path lives in a separate function so the fast path keeps no frame.  Not
 * cold: every exchange runs it, and code marked cold shares its lines
 * with the truly rare (docs/performance.md, round 9). */
#define SLOW __attribute__((noinline))

static SLOW ssize_t write_tracked(int fd, const void *buf, size_t n)
{
	struct conn *c = conn_write_enter(fd, 0);
	struct iovec v = { (void *)buf, n };

	tls_probe(fd);	/* a TLS call may be learning its socket */
	ssize_t r;

	if (c == CONN_BUSY)
		return io_busy();
	if (c == NULL || (r = through(c, fd, &v, 1, 0)) == CONN_WRITE_PASS)
		return REAL(write)(fd, buf, n);
	return r;
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
	struct conn *c = conn_write_enter(fd, 0);
	ssize_t r;

	tls_probe(fd);	/* a TLS call may be learning its socket */
	if (c == NULL)
		return REAL(writev)(fd, iov, iovcnt);
	if (c == CONN_BUSY)
		return io_busy();
	if (iovcnt < 0 || iovcnt > IOV_MAX || bad_iov(iov, (size_t)iovcnt)) {
		conn_write_leave(c);
		return REAL(writev)(fd, iov, iovcnt);	/* its error */
	}
	if ((r = through(c, fd, iov, iovcnt, 0)) == CONN_WRITE_PASS)
		return REAL(writev)(fd, iov, iovcnt);
	return r;
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
	struct conn *c = conn_write_enter(fd, flags);
	struct iovec v = { (void *)buf, n };
	ssize_t r;

	tls_probe(fd);	/* a TLS call may be learning its socket */
	if (c == NULL)
		return REAL(send)(fd, buf, n, flags);
	if (c == CONN_BUSY)
		return io_busy();
	if (flags & MSG_OOB) {
		if (give_up(c, fd) < 0)
			return -1;
		return REAL(send)(fd, buf, n, flags);
	}
	if ((r = through(c, fd, &v, 1, flags)) == CONN_WRITE_PASS)
		return REAL(send)(fd, buf, n, flags);
	return r;
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
	struct conn *c = bad_ptr(buf) ? NULL : tracked(fd, flags);
	struct iovec v = { (void *)buf, n };
	ssize_t r;

	if (c == NULL)
		return REAL(sendto)(fd, buf, n, flags, addr, alen);
	if (c == CONN_BUSY)
		return io_busy();
	if ((flags & MSG_OOB) || addr != NULL) {
		if (give_up(c, fd) < 0)
			return -1;
		return REAL(sendto)(fd, buf, n, flags, addr, alen);
	}
	if ((r = through(c, fd, &v, 1, flags)) == CONN_WRITE_PASS)
		return REAL(sendto)(fd, buf, n, flags, addr, alen);
	return r;
}

/* Ancillary data (descriptors passed over a Unix socket) and addresses
 * must go with exactly the program's bytes: leave such sockets alone. */
static bool plain_msg(const struct msghdr *m, int flags)
{
	return m->msg_name == NULL && m->msg_controllen == 0 &&
	       !(flags & MSG_OOB);
}


EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	struct conn *c = bad_msg(msg) ? NULL : tracked(fd, flags);
	ssize_t r;

	if (c == NULL)
		return REAL(sendmsg)(fd, msg, flags);
	if (c == CONN_BUSY)
		return io_busy();
	if (!plain_msg(msg, flags)) {
		if (give_up(c, fd) < 0)
			return -1;
		return REAL(sendmsg)(fd, msg, flags);
	}
	r = through(c, fd, msg->msg_iov, (int)msg->msg_iovlen, flags);
	if (r == CONN_WRITE_PASS)
		return REAL(sendmsg)(fd, msg, flags);
	return r;
}

EXPORT int sendmmsg(int fd, struct mmsghdr *vec, unsigned int vlen, int flags)
{
	struct conn *c = !bad_ptr(vec) && vlen > 0 ? tracked(fd, flags) : NULL;
	unsigned int i;
	int entry = errno;

	if (c == NULL)
		return REAL(sendmmsg)(fd, vec, vlen, flags);
	if (c == CONN_BUSY)
		return io_busy();
	for (i = 0; i < vlen; i++)
		if (bad_msg(&vec[i].msg_hdr)) {
			conn_write_leave(c);
			return REAL(sendmmsg)(fd, vec, vlen, flags);
		}
	for (i = 0; i < vlen; i++)
		if (!plain_msg(&vec[i].msg_hdr, flags)) {
			if (give_up(c, fd) < 0)
				return -1;
			return REAL(sendmmsg)(fd, vec, vlen, flags);
		}
	/* Each message in order, like sendmsg; stop at a short one or at a
	 * failure, which (after the first) the kernel does not report: the
	 * count says it, and errno stays as it was.  Past UIO_MAXIOV
	 * messages the kernel sends that many. */
	if (vlen > UIO_MAXIOV)
		vlen = UIO_MAXIOV;
	for (i = 0; i < vlen; i++) {
		const struct msghdr *m = &vec[i].msg_hdr;
		size_t want = 0, j;
		ssize_t r = conn_write(c, fd, m->msg_iov, (int)m->msg_iovlen,
				       flags);
		if (r == CONN_WRITE_PASS && i == 0) {
			/* not the socket any more: the program's call */
			conn_write_leave(c);
			return REAL(sendmmsg)(fd, vec, vlen, flags);
		}
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
	if (i == 0)
		return -1;
	errno = entry;
	return (int)i;
}

/* sendfile and splice have no MSG_NOSIGNAL.  Another thread's teardown
 * may shut the socket down under them, which is no reason for SIGPIPE:
 * it is held back for the call, and let through only when the
 * connection was not torn down (the peer's close, as without the shim). */
struct sigpipe_hold {
	sigset_t old;
	bool was_pending;
};

static void hold_sigpipe(struct sigpipe_hold *h)
{
	sigset_t set, pending;

	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, &h->old);
	h->was_pending = sigpending(&pending) == 0 &&
			 sigismember(&pending, SIGPIPE) == 1;
}

static ssize_t release_sigpipe(struct sigpipe_hold *h, struct conn *c,
			       ssize_t r)
{
	int saved = errno;

	if (r < 0 && saved == EPIPE && conn_torn_down(c) && !h->was_pending) {
		static const struct timespec now = { 0, 0 };
		sigset_t set;
		sigemptyset(&set);
		sigaddset(&set, SIGPIPE);
		sigtimedwait(&set, NULL, &now);
	}
	pthread_sigmask(SIG_SETMASK, &h->old, NULL);
	errno = saved;
	return r;
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
	struct conn *c = tracked(out, 0);
	struct sigpipe_hold hold;
	ssize_t r;

	if (c == NULL)
		return REAL(sendfile)(out, in, off, count);
	if (c == CONN_BUSY)
		return io_busy();
	if (fails_early(in, count)) {
		conn_write_leave(c);
		return REAL(sendfile)(out, in, off, count);
	}
	if (conn_write_unseen(c, out, count) < 0) {
		conn_write_leave(c);
		return -1;
	}
	hold_sigpipe(&hold);
	conn_write_pause(c);
	r = REAL(sendfile)(out, in, off, count);
	conn_write_resume(c);
	r = release_sigpipe(&hold, c, r);
	conn_write_unseen_done(c, r);
	conn_write_leave(c);
	return r;
}

EXPORT ssize_t sendfile64(int out, int in, off64_t *off, size_t count)
{
	struct conn *c = tracked(out, 0);
	struct sigpipe_hold hold;
	ssize_t r;

	if (c == NULL)
		return REAL(sendfile64)(out, in, off, count);
	if (c == CONN_BUSY)
		return io_busy();
	if (fails_early(in, count)) {
		conn_write_leave(c);
		return REAL(sendfile64)(out, in, off, count);
	}
	if (conn_write_unseen(c, out, count) < 0) {
		conn_write_leave(c);
		return -1;
	}
	hold_sigpipe(&hold);
	conn_write_pause(c);
	r = REAL(sendfile64)(out, in, off, count);
	conn_write_resume(c);
	r = release_sigpipe(&hold, c, r);
	conn_write_unseen_done(c, r);
	conn_write_leave(c);
	return r;
}

/* splice from a socket whose response head the shim holds in part: those
 * bytes go into the pipe first, as the kernel would have spliced them. */
static ssize_t splice_owed(int in, off64_t *off_in, int out,
			   off64_t *off_out, size_t len, unsigned int flags)
{
	uint8_t buf[4096];
	struct iovec v = { buf, len < sizeof buf ? len : sizeof buf };
	struct msghdr m = { .msg_iov = &v, .msg_iovlen = 1 };
	struct conn *c = conn_read_enter(in);
	ssize_t got, w;

	if (c == NULL)
		return REAL(splice)(in, off_in, out, off_out, len, flags);
	if (c == CONN_BUSY)
		return io_busy();
	got = conn_read(c, in, &m, MSG_PEEK | MSG_DONTWAIT, false);
	conn_read_leave(c);
	if (got == CONN_READ_PASS)
		return REAL(splice)(in, off_in, out, off_out, len, flags);
	if (got <= 0)
		return got;
	w = REAL(write)(out, buf, (size_t)got);
	/* the bytes in the pipe must be taken: this entry is never busy
	 * where the first got in */
	if (w > 0 && (c = conn_read_enter_again(in)) != NULL &&
	    c != CONN_BUSY) {
		v.iov_len = (size_t)w;	/* now taken, as written */
		conn_read(c, in, &m, MSG_DONTWAIT, false);
		conn_read_leave(c);
	}
	return w;
}

EXPORT ssize_t splice(int in, off64_t *off_in, int out, off64_t *off_out,
		      size_t len, unsigned int flags)
{
	struct sigpipe_hold hold;
	struct conn *c;
	ssize_t r;

	if (__builtin_expect(fdtable_peek(in) != NULL, 0)) {
		int ok = conn_read_elsewhere(in);
		if (ok == 2)
			return splice_owed(in, off_in, out, off_out,
					   len, flags);
		if (ok <= 0)
			return ok;
	}
	c = tracked(out, 0);
	if (c == NULL)
		return REAL(splice)(in, off_in, out, off_out, len, flags);
	if (c == CONN_BUSY)
		return io_busy();
	if (fails_early(in, len)) {
		conn_write_leave(c);
		return REAL(splice)(in, off_in, out, off_out, len, flags);
	}
	if (conn_write_unseen(c, out, len) < 0) {
		conn_write_leave(c);
		return -1;
	}
	hold_sigpipe(&hold);
	conn_write_pause(c);
	r = REAL(splice)(in, off_in, out, off_out, len, flags);
	conn_write_resume(c);
	r = release_sigpipe(&hold, c, r);
	conn_write_unseen_done(c, r);
	conn_write_leave(c);
	return r;
}

/* dprintf writes through glibc internals we cannot see. */
EXPORT int vdprintf(int fd, const char *fmt, va_list ap)
{
	struct conn *c = tracked(fd, 0);

	if (c == CONN_BUSY)
		return io_busy();
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

/* what -D_FORTIFY_SOURCE builds call instead */
EXPORT int __vdprintf_chk(int fd, int flag, const char *fmt, va_list ap)
{
	struct conn *c = tracked(fd, 0);

	if (c == CONN_BUSY)
		return io_busy();
	if (c != NULL && give_up(c, fd) < 0)
		return -1;
	return REAL(__vdprintf_chk)(fd, flag, fmt, ap);
}

EXPORT int __dprintf_chk(int fd, int flag, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = __vdprintf_chk(fd, flag, fmt, ap);
	va_end(ap);
	return r;
}
