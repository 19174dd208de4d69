/* engine_sock.c - socket(): the supervisor makes the TCP socket itself
 * and places it in the program at a number at or above the base, which is
 * what makes the filter trap that socket's I/O and nothing else. */
#define _GNU_SOURCE
#include "engine_int.h"
#include "engine_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#ifndef SECCOMP_ADDFD_FLAG_SEND
#define SECCOMP_ADDFD_FLAG_SEND (1UL << 1)
#endif

/* One socket placed at a time: two threads must not pick one number. */
static pthread_mutex_t place_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned next_slot;	/* where the last search ended */

/* A free number at or above the base and under the program's limit, or
 * -EMFILE.  Numbers rotate, so a number the program just closed is not
 * handed out again at once. */
static int free_slot(const struct seccomp_notif *n)
{
	struct rlimit rl;
	unsigned lim = 1u << 20, span, i, cand;
	int d;

	if (prlimit((pid_t)n->pid, RLIMIT_NOFILE, NULL, &rl) == 0 &&
	    rl.rlim_cur < lim)
		lim = (unsigned)rl.rlim_cur;
	if (lim <= engine_base)
		return -EMFILE;
	span = lim - engine_base;
	for (i = 0; i < span && i < 4096; i++) {
		cand = engine_base + (next_slot + i) % span;
		d = engine_target_fd(n, (int)cand);
		if (d >= 0) {
			close(d);
			continue;	/* taken */
		}
		if (d != -EBADF)
			return d;
		next_slot = (next_slot + i + 1) % span;
		return (int)cand;
	}
	return -EMFILE;
}

void engine_socket(const struct seccomp_notif *n)
{
	int domain = (int)n->data.args[0], type = (int)n->data.args[1];
	int proto = (int)n->data.args[2], s, slot, r;
	uint64_t cookie;
	socklen_t len = sizeof cookie;
	struct econn *c;
	struct seccomp_notif_addfd add = { .id = n->id };

	s = socket(domain, type | SOCK_CLOEXEC, proto);
	if (s < 0) {
		engine_reply(n, 0, errno);
		return;
	}
	if (getsockopt(s, SOL_SOCKET, SO_COOKIE, &cookie, &len) != 0 ||
	    (c = econn_new(cookie)) == NULL) {
		/* cannot track it: the program makes its own */
		close(s);
		engine_continue(n);
		return;
	}
	pthread_mutex_lock(&place_lock);
	slot = free_slot(n);
	if (slot >= 0) {
		add.flags = SECCOMP_ADDFD_FLAG_SETFD | SECCOMP_ADDFD_FLAG_SEND;
		add.srcfd = (unsigned)s;
		add.newfd = (unsigned)slot;
		add.newfd_flags = type & SOCK_CLOEXEC ? O_CLOEXEC : 0;
		/* SEND: the socket arrives and the call returns its number
		 * in one step */
		r = ioctl(engine_listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add);
		slot = r >= 0 ? 0 : -errno;
	}
	pthread_mutex_unlock(&place_lock);
	close(s);	/* the program's copy is the only one now */
	if (slot < 0) {
		econn_closed(c, -1);
		if (slot != -ENOENT)
			engine_reply(n, 0, -slot);
	}
	econn_put(c);
}
