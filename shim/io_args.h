/* io_args.h - argument checks shared by the read and write hooks: calls
 * whose memory can only fault go to libc as they are, for its EFAULT,
 * without the shim touching that memory. */
#ifndef FORCECLOSE_IO_ARGS_H
#define FORCECLOSE_IO_ARGS_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

/* A pointer into the first page can only fault. */
static inline bool bad_ptr(const void *p)
{
	return (uintptr_t)p < 4096;
}

static inline bool bad_iov(const struct iovec *iov, size_t cnt)
{
	size_t i;

	if (cnt > 0 && bad_ptr(iov))
		return true;
	for (i = 0; i < cnt; i++)
		if (iov[i].iov_len > 0 && bad_ptr(iov[i].iov_base))
			return true;
	return false;
}

/* A message header the kernel refuses before moving any byte. */
static inline bool bad_msg(const struct msghdr *m)
{
	return bad_ptr(m) || m->msg_iovlen > IOV_MAX ||
	       bad_iov(m->msg_iov, m->msg_iovlen);
}

/* A call the shim refuses without moving a byte (CONN_BUSY): one that
 * must not wait for another writer, or a signal handler's call on a
 * thread that holds the connection's lock. */
static inline int io_busy(void)
{
	errno = EAGAIN;
	return -1;
}

#endif
