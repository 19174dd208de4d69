/* conn_identity.c - is a descriptor number still the socket that was
 * connected?  (DESIGN contract point 3; docs/internals.md, "What a
 * descriptor number is".)  The common exchange asks the kernel nothing:
 * a socket made by the library's socket() is vouched for by the table.
 * What the kernel says anyway is used: the library's own send or recv
 * failing with ENOTSOCK or EBADF (conn_number_lost).  The rare points
 * ask the kernel (conn_verify_socket, conn_still_shut_down). */
#define _GNU_SOURCE
#include "conn.h"

#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <linux/tcp.h>

#include "fdtable.h"
#include "real.h"
#include "stats.h"

bool conn_socket_inode(int fd, dev_t *dev, ino_t *ino)
{
	struct stat st;

	if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode))
		return false;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return true;
}

/* A connection whose socket the library made (identity_lived) is still
 * that socket while its number holds it in the table: every close, dup2,
 * dup3, close_range, closefrom, fdopen and descriptor creation the
 * library sees at that number takes it out.  Any other is checked by its
 * inode. */
bool conn_same_socket(const struct conn *c, int fd)
{
	int saved = errno;
	dev_t dev;
	ino_t ino;
	bool same;

	if (c->identity_lived)
		return fdtable_peek(fd) == c;
	same = conn_socket_inode(fd, &dev, &ino) && dev == c->dev &&
	       ino == c->ino;
	errno = saved;
	return same;
}

/* FNV-1a, 64 bits: a Unix path in 8 bytes.  A collision could only make
 * a socket re-made behind the library's back and connected to another
 * path pass for ours, with odds of 2^-64. */
static uint64_t path_hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ull;

	while (n--) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ull;
	}
	return h;
}

/* Only family, address and port: the kernel fills in the rest its own
 * way.  A Unix path counts up to its NUL, an abstract name byte for byte.
 * Where the kernel names the peer otherwise than the program did (a
 * connect to 0.0.0.0 or ::, a Unix listener bound by another spelling of
 * its path) the two would differ, and a head held in pieces would be lost
 * with the number: conn_on_connect takes the inode for those instead. */
void conn_peer_set(struct conn_peer *p, const struct sockaddr *a,
		   socklen_t len)
{
	memset(p, 0, sizeof *p);	/* AF_UNSPEC: matches nothing */
	if (a == NULL || len < sizeof(sa_family_t))
		return;
	switch (a->sa_family) {
	case AF_INET: {
		const struct sockaddr_in *x = (const void *)a;
		if (len < sizeof *x)
			return;
		p->port = x->sin_port;
		memcpy(p->addr, &x->sin_addr, sizeof x->sin_addr);
		break;
	}
	case AF_INET6: {
		const struct sockaddr_in6 *x = (const void *)a;
		if (len < sizeof *x)
			return;
		p->port = x->sin6_port;
		memcpy(p->addr, &x->sin6_addr, sizeof x->sin6_addr);
		break;
	}
	case AF_UNIX: {
		const struct sockaddr_un *x = (const void *)a;
		size_t off = offsetof(struct sockaddr_un, sun_path);
		size_t n = len > off ? len - off : 0;
		uint64_t h;
		if (n > sizeof x->sun_path)
			n = sizeof x->sun_path;
		if (n > 0 && x->sun_path[0] == '\0')
			p->addr[0] = 1;	/* abstract */
		else
			n = strnlen(x->sun_path, n);
		p->port = (uint16_t)n;
		h = path_hash(x->sun_path, n);
		memcpy(p->addr + 8, &h, sizeof h);
		break;
	}
	default:
		return;
	}
	p->family = a->sa_family;
}

/* Is a (what getpeername said) the address connect() was given? */
static bool peer_is(const struct conn *c, const struct sockaddr_storage *a,
		    socklen_t len)
{
	struct conn_peer got;

	conn_peer_set(&got, (const struct sockaddr *)a, len);
	return got.family != AF_UNSPEC &&
	       !memcmp(&got, &c->peer, sizeof got);
}

static bool tcp_ended_after_bytes(int fd);

bool conn_verify_socket(const struct conn *c, int fd)
{
	int saved = errno, type = 0;
	socklen_t tl = sizeof type, pl = sizeof(struct sockaddr_storage);
	struct sockaddr_storage peer;
	bool same;

	if (!c->identity_lived || fdtable_peek(fd) != c)
		return conn_same_socket(c, fd);
	/* a stream socket (not one for datagrams connected to the same
	 * address), connected to where the program connected it */
	same = getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
	       type == SOCK_STREAM;
	if (same && getpeername(fd, (struct sockaddr *)&peer, &pl) == 0)
		same = peer_is(c, &peer, pl);
	else if (same)
		/* no peer any more: a TCP connection that ended (reset,
		 * or closed both ways, our teardown perhaps racing this
		 * call) after bytes came in is still ours; a new socket
		 * never connected is not */
		same = errno == ENOTCONN && c->peer.family != AF_UNIX &&
		       tcp_ended_after_bytes(fd);
	errno = saved;
	return same;
}

/* The kernel's TCP states (include/net/tcp_states.h, tcpi_state: ABI;
 * <netinet/tcp.h> names them but clashes with <linux/tcp.h>, whose
 * struct tcp_info has the byte counts). */
enum { ST_FIN_WAIT1 = 4, ST_FIN_WAIT2, ST_TIME_WAIT, ST_CLOSE, ST_CLOSE_WAIT,
       ST_LAST_ACK, ST_LISTEN, ST_CLOSING };

/* What a socket shut down both ways by the library can be: it sent its
 * FIN (and may have had the peer's, or a reset, since). */
static bool shut_down_state(unsigned state)
{
	switch (state) {
	case ST_FIN_WAIT1:
	case ST_FIN_WAIT2:
	case ST_TIME_WAIT:
	case ST_CLOSE:
	case ST_LAST_ACK:
	case ST_CLOSING:
		return true;
	}
	return false;
}

bool conn_still_shut_down(const struct conn *c, int fd)
{
	int saved = errno;
	ssize_t r;
	bool same;

	if (!c->identity_lived)
		return conn_same_socket(c, fd);	/* the inode: exact */
	if (fdtable_peek(fd) != c)
		return false;
	if (c->peer.family == AF_UNIX) {
		/* after our shutdown a zero-length peek answers 0 (or the
		 * error a reset left); a file fails with ENOTSOCK, a socket
		 * not shut down for reading waits (EAGAIN), one not
		 * connected fails with ENOTCONN or EINVAL */
		r = REAL(recv)(fd, NULL, 0, MSG_PEEK | MSG_DONTWAIT);
		same = r == 0 || (r < 0 && (errno == ECONNRESET ||
					    errno == EPIPE));
		errno = saved;
		return same;
	}
	/* TCP: a state after our FIN, and bytes received (the response the
	 * teardown followed).  A file, a datagram socket, an open or
	 * listening TCP socket or a new one (closed, nothing received) is
	 * not ours. */
	same = tcp_ended_after_bytes(fd);
	errno = saved;
	return same;
}

/* A TCP socket in a state after a FIN (or a reset) that has received
 * bytes.  Kernels before 4.1 report no byte count.  errno: clobbered. */
static bool tcp_ended_after_bytes(int fd)
{
	struct tcp_info ti;
	socklen_t tl = sizeof ti;

	memset(&ti, 0, sizeof ti);
	return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 &&
	       shut_down_state(ti.tcpi_state) &&
	       (tl < offsetof(struct tcp_info, tcpi_bytes_received) +
			     sizeof ti.tcpi_bytes_received ||
		ti.tcpi_bytes_received > 0);
}

void conn_forget_number(struct conn *c, int fd, bool drop)
{
	int saved = errno;

	if (drop) {
		/* under wlock: the request side's state goes; the response
		 * side is only told, by the flag (its reader may be at work) */
		c->pending_len = c->pending_off = 0;
		c->held_len = c->head_sent = 0;
		http_request_give_up(&c->req);
		atomic_fetch_or(&c->flags, CONN_REQ_OPAQUE | CONN_RESP_GAVE_UP |
						   CONN_OPAQUE);
	}
	conn_gave_up(c, GAVE_UP_MOVED);
	if (conn_table_mutable() && fdtable_forget_if(fd, c))
		fdtable_set_kind(fd, FDKIND_UNKNOWN);
	errno = saved;
}
