/* engine_sock.c - socket(): the supervisor makes the TCP socket itself
 * and places it in the program at a number at or above the base, which is
 * what makes the filter trap that socket's I/O and nothing else. */
#define _GNU_SOURCE
#include "engine_int.h"
#include "engine_conn.h"
#include "config.h"
#include "settings.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/kcmp.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* Is the notifying thread one of the program's own process (the
 * launcher's PID, whatever it has exec'd since), not of a child? */
static bool in_program(const struct seccomp_notif *n)
{
	char path[64];
	struct stat st;

	if ((pid_t)n->pid == engine_program)
		return true;
	snprintf(path, sizeof path, "/proc/%d/task/%u", (int)engine_program,
		 n->pid);
	return stat(path, &st) == 0;
}

void engine_socket(const struct seccomp_notif *n)
{
	int domain = (int)n->data.args[0], type = (int)n->data.args[1];
	int proto = (int)n->data.args[2], s, slot, r;
	uint64_t cookie;
	socklen_t len = sizeof cookie;
	struct econn *c;
	struct seccomp_notif_addfd add = { .id = n->id };
	struct stat st;

	if (!settings.inherit && !in_program(n)) {
		engine_continue(n);	/* FORCECLOSE_INHERIT=0: a child's */
		return;
	}
	s = socket(domain, type | SOCK_CLOEXEC, proto);
	if (s < 0 && out_of_room(errno)) {
		/* the supervisor's limits, not the program's: the program
		 * makes its own socket, which the engine never sees */
		engine_out_of_room("socket left to the program");
		engine_continue(n);
		return;
	}
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
	if (fstat(s, &st) == 0)
		econn_set_ino(c, (unsigned long)st.st_ino);
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
		if (out_of_room(-slot)) {
			engine_out_of_room("socket left to the program");
			engine_continue(n);
		} else if (slot != -ENOENT) {
			engine_reply(n, 0, -slot);
		}
	}
	econn_put(c);
}

/* FORCECLOSE_ACTION=close.  The engine cannot close a number in another
 * process; it can replace one, during a call of that process, with
 * SECCOMP_IOCTL_NOTIF_ADDFD and SETFD (dup2's meaning).  What it puts there
 * is one shared placeholder: an AF_UNIX socket shut down both ways, whose
 * state (econn_new_dead) makes reads return 0 and writes fail with EPIPE
 * as the library's closed sockets do.  The TCP socket then goes with its
 * last reference, the number stays the program's until it closes it. */
static int dead_fd = -1;
static uint64_t dead_cookie;

void engine_dead_init(void)
{
	socklen_t len = sizeof dead_cookie;
	int sp[2];

	if (config.disabled || config.action != ACTION_CLOSE ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0)
		return;
	close(sp[1]);
	shutdown(sp[0], SHUT_RDWR);
	if (getsockopt(sp[0], SOL_SOCKET, SO_COOKIE, &dead_cookie, &len) != 0 ||
	    econn_new_dead(dead_cookie) == NULL) {
		close(sp[0]);
		return;	/* then close stays a shutdown */
	}
	dead_fd = sp[0];
}

/* The program's close-on-exec flag on fd (its fdinfo "flags"). */
static bool cloexec(const struct seccomp_notif *n, int fd)
{
	char path[64], buf[256], *f;
	ssize_t r;
	int pf;

	snprintf(path, sizeof path, "/proc/%u/fdinfo/%d", n->pid, fd);
	pf = open(path, O_RDONLY | O_CLOEXEC);
	if (pf < 0)
		return true;
	r = read(pf, buf, sizeof buf - 1);
	close(pf);
	buf[r > 0 ? r : 0] = '\0';
	f = strstr(buf, "flags:");
	return f == NULL || strtoul(f + 6, NULL, 8) & O_CLOEXEC;
}

int engine_swap_dead(const struct seccomp_notif *n, int fd, int d,
		     struct econn **c)
{
	struct seccomp_notif_addfd add = {
		.id = n->id, .flags = SECCOMP_ADDFD_FLAG_SETFD,
		.srcfd = (unsigned)dead_fd, .newfd = (unsigned)fd,
	};
	struct econn *dead;
	int r, nd;

	if (dead_fd < 0 || (dead = econn_find(dead_cookie)) == NULL) {
		econn_swap_failed(*c);
		return -1;
	}
	nd = fcntl(dead_fd, F_DUPFD_CLOEXEC, 0);
	add.newfd_flags = cloexec(n, fd) ? O_CLOEXEC : 0;
	pthread_mutex_lock(&place_lock);
	/* the number must still hold this socket: the program's thread
	 * waits in this call, another one would have to close and reuse the
	 * number meanwhile (kcmp: the same open file, pointer-compared) */
	r = nd >= 0 && syscall(SYS_kcmp, (pid_t)n->pid, getpid(), KCMP_FILE,
			       fd, d) == 0
	    ? ioctl(engine_listener, SECCOMP_IOCTL_NOTIF_ADDFD, &add) : -1;
	pthread_mutex_unlock(&place_lock);
	if (r < 0) {
		if (nd >= 0)
			close(nd);
		econn_put(dead);
		econn_swap_failed(*c);
		return -1;
	}
	econn_swapped(*c);
	econn_put(*c);
	close(d);
	*c = dead;
	return nd;
}
