/* engine_io.c - the trapped calls on descriptors at or above the base.
 * A call on a socket the engine placed is performed by the supervisor on
 * its own duplicate (pidfd_getfd), with the program's buffers copied by
 * process_vm_readv/writev, and answered with what the program must see.
 * Anything else at those numbers (a file the program put there, a socket
 * it got elsewhere, one given up) goes on untouched in the kernel. */
#define _GNU_SOURCE
#include "engine_int.h"
#include "engine_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#define CHUNK (256 * 1024)	/* bytes copied per step */
#define IOV_MAX_ 1024		/* UIO_MAXIOV */
#define SLICE_MS 200		/* a waiting worker checks this often that
				   the thread still waits for it */

/* The supervisor has no room for a duplicate: whose socket is at fd is
 * read from /proc instead (a link, no descriptor needed). */
static struct econn *lookup_by_link(const struct seccomp_notif *n, int fd)
{
	char path[64], link[64];
	unsigned long ino;
	ssize_t k;

	snprintf(path, sizeof path, "/proc/%u/fd/%d", n->pid, fd);
	k = readlink(path, link, sizeof link - 1);
	if (k <= 0)
		return NULL;
	link[k] = '\0';
	if (sscanf(link, "socket:[%lu]", &ino) != 1)
		return NULL;
	return econn_find_ino(ino);
}

/* The descriptor's socket if it is one the engine tracks: the duplicate,
 * *c referenced.  -1: not ours (nothing held).  LOST: ours, but the
 * supervisor is out of descriptors (*c referenced, no duplicate). */
#define LOST (-2)
static int lookup(const struct seccomp_notif *n, int fd, struct econn **c)
{
	uint64_t cookie;
	socklen_t len = sizeof cookie;
	int d = engine_target_fd(n, fd);

	if (d < 0 && out_of_room(-d) && (*c = lookup_by_link(n, fd)) != NULL)
		return LOST;
	if (d < 0)
		return -1;
	if (getsockopt(d, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0 ||
	    (*c = econn_find(cookie)) == NULL) {
		close(d);
		return -1;
	}
	return d;
}

static bool peek_mem(pid_t pid, void *local, uint64_t remote, size_t n)
{
	struct iovec l = { local, n }, r = { (void *)(uintptr_t)remote, n };

	return process_vm_readv(pid, &l, 1, &r, 1, 0) == (ssize_t)n;
}

static bool poke_mem(pid_t pid, uint64_t remote, const void *local, size_t n)
{
	struct iovec l = { (void *)local, n },
		     r = { (void *)(uintptr_t)remote, n };

	return process_vm_writev(pid, &l, 1, &r, 1, 0) == (ssize_t)n;
}

/* One data call, as the program made it. */
struct call {
	bool out;		/* bytes go to the socket */
	int flags;		/* send/recv flags */
	struct iovec v[IOV_MAX_];	/* the program's buffers (remote) */
	int cnt;
	uint64_t msg;		/* recvmsg: the program's msghdr */
	uint64_t addrlen;	/* recvfrom: where the address length goes */
};

/* Fills the call from the notification; an errno when the arguments are
 * bad, -1 when the engine leaves the call alone. */
static int describe(const struct seccomp_notif *n, struct call *k)
{
	const __u64 *a = n->data.args;
	struct msghdr m;

	memset(k, 0, offsetof(struct call, v));
	k->msg = k->addrlen = 0;
	switch (n->data.nr) {
	case SYS_write: case SYS_read:
	case SYS_sendto: case SYS_recvfrom:
		k->out = n->data.nr == SYS_write || n->data.nr == SYS_sendto;
		k->v[0].iov_base = (void *)(uintptr_t)a[1];
		k->v[0].iov_len = (size_t)a[2];
		k->cnt = 1;
		if (n->data.nr == SYS_sendto || n->data.nr == SYS_recvfrom)
			k->flags = (int)a[3];
		if (n->data.nr == SYS_recvfrom && a[4] != 0)
			k->addrlen = a[5];
		return 0;
	case SYS_writev: case SYS_readv:
		k->out = n->data.nr == SYS_writev;
		if ((int)a[2] < 0 || (int)a[2] > IOV_MAX_)
			return EINVAL;
		k->cnt = (int)a[2];
		if (!peek_mem((pid_t)n->pid, k->v, a[1],
			      (size_t)k->cnt * sizeof k->v[0]))
			return EFAULT;
		return 0;
	default:	/* sendmsg, recvmsg */
		k->out = n->data.nr == SYS_sendmsg;
		k->flags = (int)a[2];
		if (!peek_mem((pid_t)n->pid, &m, a[1], sizeof m))
			return EFAULT;
		if (m.msg_iovlen > IOV_MAX_)
			return EMSGSIZE;
		if (k->out && m.msg_controllen > 0)
			return -1;	/* ancillary data: not ours to judge */
		k->cnt = (int)m.msg_iovlen;
		if (!peek_mem((pid_t)n->pid, k->v,
			      (uint64_t)(uintptr_t)m.msg_iov,
			      (size_t)k->cnt * sizeof k->v[0]))
			return EFAULT;
		if (!k->out)
			k->msg = a[1];
		return 0;
	}
}

static void advance(struct call *k, size_t done)
{
	int i = 0;

	while (i < k->cnt && done >= k->v[i].iov_len)
		done -= k->v[i++].iov_len;
	memmove(k->v, k->v + i, (size_t)(k->cnt - i) * sizeof k->v[0]);
	k->cnt -= i;
	if (k->cnt > 0) {
		k->v[0].iov_base = (char *)k->v[0].iov_base + done;
		k->v[0].iov_len -= done;
	}
}

static size_t total(const struct call *k)
{
	size_t t = 0;
	int i;

	for (i = 0; i < k->cnt; i++)
		t += k->v[i].iov_len;
	return t;
}

/* Would the program's own call wait?  (Its intent is the file's
 * O_NONBLOCK, shared with the duplicate, or MSG_DONTWAIT.) */
static bool blocking(int d, int flags)
{
	int fl = fcntl(d, F_GETFL);

	return !(flags & MSG_DONTWAIT) && fl >= 0 && !(fl & O_NONBLOCK);
}

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

/* Waits as the program's blocking call would: until the socket is ready
 * (events 0: until more bytes may have arrived), its SO_RCVTIMEO or
 * SO_SNDTIMEO passes (-EAGAIN), or the thread is gone (-ECANCELED). */
static int wait_for(const struct seccomp_notif *n, int d, short events,
		    bool out)
{
	struct pollfd p = { .fd = d, .events = events };
	struct timeval tv = { 0, 0 };
	socklen_t len = sizeof tv;
	long limit = -1, start = now_ms();

	engine_may_block();
	if (getsockopt(d, SOL_SOCKET, out ? SO_SNDTIMEO : SO_RCVTIMEO, &tv,
		       &len) == 0 && (tv.tv_sec || tv.tv_usec))
		limit = tv.tv_sec * 1000L + tv.tv_usec / 1000 + 1;
	for (;;) {
		if (events == 0 ? poll(NULL, 0, 1) == 0 && true
				: poll(&p, 1, SLICE_MS) > 0)
			return 0;
		if (!engine_valid(n))
			return -ECANCELED;
		if (limit >= 0 && now_ms() - start >= limit)
			return -EAGAIN;
	}
}

static void sigpipe(const struct seccomp_notif *n)
{
	char path[64], line[256];
	FILE *f;
	int tgid = 0;

	snprintf(path, sizeof path, "/proc/%u/status", n->pid);
	f = fopen(path, "re");
	if (f == NULL)
		return;
	while (fgets(line, sizeof line, f) != NULL)
		if (sscanf(line, "Tgid: %d", &tgid) == 1)
			break;
	fclose(f);
	if (tgid > 0)
		syscall(SYS_tgkill, tgid, n->pid, SIGPIPE);
}

static void do_write(const struct seccomp_notif *n, struct call *k,
		     struct econn *c, int d, uint8_t *buf)
{
	size_t want = total(k), done = 0, off, m;
	long r = 0;
	int block = -1;
	ssize_t got;

	while (done < want || want == 0) {
		m = want - done < CHUNK ? want - done : CHUNK;
		struct iovec l = { buf, m };
		got = m ? process_vm_readv((pid_t)n->pid, &l, 1, k->v, (unsigned long)k->cnt, 0) : 0;
		if (got < 0) {
			r = -EFAULT;
			break;
		}
		for (off = 0; off < (size_t)got || got == 0;) {
			r = econn_write(c, d, buf + off, (size_t)got - off,
					k->flags);
			if (r > 0) {
				off += (size_t)r;
				continue;
			}
			if (r == -EAGAIN && block < 0)
				block = blocking(d, k->flags);
			if (r != -EAGAIN || !block)
				break;
			r = wait_for(n, d, POLLOUT, true);
			if (r == -ECANCELED)
				return;	/* nobody waits for the answer */
			if (r < 0)
				break;
		}
		done += off;
		if (got == 0 || off < (size_t)got || block == 0)
			break;
		if (block < 0)
			block = blocking(d, k->flags);
		if (!block)
			break;
		advance(k, off);
	}
	if (done > 0 || want == 0) {
		engine_reply(n, (long)done, 0);
		return;
	}
	if (r == -EPIPE && !(k->flags & MSG_NOSIGNAL) && !econn_torn_down(c))
		sigpipe(n);
	engine_reply(n, 0, r < 0 ? (int)-r : EIO);
}

static void do_read(const struct seccomp_notif *n, struct call *k,
		    struct econn *c, int d, uint8_t *buf)
{
	size_t want = total(k);
	long r;
	int block = -1;
	uint32_t zero = 0;

	if (want == 0) {
		engine_reply(n, 0, 0);	/* as the kernel: 0, nothing taken */
		return;
	}
	if (want > CHUNK)
		want = CHUNK;
	for (;;) {
		r = econn_read(c, d, buf, want, k->flags);
		if (r >= 0 || (r != -EAGAIN && r != ECONN_MORE))
			break;
		if (block < 0)
			block = blocking(d, k->flags);
		if (!block) {
			r = -EAGAIN;
			break;
		}
		r = wait_for(n, d, r == ECONN_MORE ? 0 : POLLIN, false);
		if (r == -ECANCELED)
			return;
		if (r < 0)
			break;
	}
	if (r < 0) {
		engine_reply(n, 0, (int)-r);
		return;
	}
	/* what the kernel writes back for a TCP socket: no address, no
	 * ancillary data, no flags */
	if (k->addrlen != 0)
		poke_mem((pid_t)n->pid, k->addrlen, &zero, sizeof zero);
	if (k->msg != 0) {
		poke_mem((pid_t)n->pid, k->msg + offsetof(struct msghdr,
							 msg_namelen),
			 &zero, sizeof zero);
		poke_mem((pid_t)n->pid, k->msg + offsetof(struct msghdr,
							 msg_controllen),
			 &(uint64_t){ 0 }, sizeof(uint64_t));
		poke_mem((pid_t)n->pid, k->msg + offsetof(struct msghdr,
							 msg_flags),
			 &zero, sizeof zero);
	}
	if (r > 0) {
		struct iovec l = { buf, (size_t)r };
		if (process_vm_writev((pid_t)n->pid, &l, 1, k->v,
				      (unsigned long)k->cnt, 0) != r) {
			engine_reply(n, 0, EFAULT);
			return;
		}
	}
	engine_reply(n, r, 0);
}

static void data_call(const struct seccomp_notif *n)
{
	static __thread uint8_t *buf;
	static __thread struct call k;
	struct econn *c;
	int d, err;

	d = lookup(n, (int)n->data.args[0], &c);
	if (d == LOST || (d >= 0 && econn_is_lost(c))) {
		/* bytes may be held or owed: the kernel's own answer could
		 * be wrong, so the connection fails for the program */
		engine_out_of_room("connections it cannot reach fail with "
				   "ECONNRESET");
		econn_lost(c);
		econn_put(c);
		if (d >= 0)
			close(d);
		engine_reply(n, 0, ECONNRESET);
		return;
	}
	if (d < 0) {
		engine_continue(n);
		return;
	}
	/* action close: the program touches the torn-down socket again */
	if (econn_wants_swap(c)) {
		int nd = engine_swap_dead(n, (int)n->data.args[0], d, &c);
		if (nd >= 0)
			d = nd;
	}
	if (econn_opaque(c)) {
		engine_continue(n);
		goto out;
	}
	if (buf == NULL && (buf = malloc(CHUNK)) == NULL) {
		engine_reply(n, 0, ENOMEM);
		goto out;
	}
	err = describe(n, &k);
	if (err < 0) {
		econn_give_up_unseen(c, d);
		engine_continue(n);
	} else if (err > 0) {
		engine_reply(n, 0, err);
	} else if (k.out) {
		do_write(n, &k, c, d, buf);
	} else {
		do_read(n, &k, c, d, buf);
	}
out:
	econn_put(c);
	close(d);
}

/* Drops the tracking of the socket at fd, if any (closed or replaced). */
static void forget(const struct seccomp_notif *n, int fd)
{
	struct econn *c;
	int d = lookup(n, fd, &c);

	if (d == LOST) {
		econn_drop(c);	/* held bytes cannot go: closed as it is */
		econn_put(c);
		return;
	}
	if (d < 0)
		return;
	econn_closed(c, d);
	econn_put(c);
	close(d);
}

/* The socket at fd moves bytes where the engine cannot see them. */
static void unseen(const struct seccomp_notif *n, int fd)
{
	struct econn *c;
	int d;

	if ((unsigned)fd < engine_base || (d = lookup(n, fd, &c)) == -1)
		return;
	if (d == LOST) {
		econn_lost(c);
		econn_put(c);
		return;
	}
	econn_give_up_unseen(c, d);
	econn_put(c);
	close(d);
}

void engine_handle(const struct seccomp_notif *n)
{
	const __u64 *a = n->data.args;
	int cmd;

	switch (n->data.nr) {
	case SYS_socket:
		engine_socket(n);
		return;
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_sendto: case SYS_recvfrom: case SYS_sendmsg:
	case SYS_recvmsg:
		data_call(n);
		return;
	case SYS_close:
		forget(n, (int)a[0]);
		break;
	case SYS_dup:	/* the copy gets the lowest free number */
		unseen(n, (int)a[0]);
		break;
	case SYS_dup2: case SYS_dup3:
		if ((int)a[0] == (int)a[1])
			break;
		if ((unsigned)a[1] >= engine_base)
			forget(n, (int)a[1]);	/* replaced */
		else
			unseen(n, (int)a[0]);
		break;
	case SYS_fcntl:
		cmd = (int)a[1];
		if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) &&
		    (unsigned)a[2] < engine_base)
			unseen(n, (int)a[0]);
		break;
	case SYS_sendfile: case SYS_tee:
		unseen(n, (int)a[0]);
		unseen(n, (int)a[1]);
		break;
	case SYS_splice:
		unseen(n, (int)a[0]);
		unseen(n, (int)a[2]);
		break;
	default:	/* sendmmsg, recvmmsg */
		unseen(n, (int)a[0]);
		break;
	}
	engine_continue(n);
}
