/* engine_super.c - starting the engine: the supervisor process and its
 * workers.  The program keeps the launcher's process ID (systemd's
 * MAINPID, Type=notify): the launcher forks the supervisor off (twice, so
 * the program never sees a child it did not start), installs the filter
 * in itself and execs the program. */
#define _GNU_SOURCE
#include "engine.h"
#include "engine_filter.h"
#include "engine_int.h"
#include "engine_conn.h"
#include "observe.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "stats.h"

#ifndef PIDFD_THREAD
#define PIDFD_THREAD O_EXCL
#endif
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP 1
#endif
#define WORKERS_MAX 512		/* workers waiting on blocking sockets */
#define PIDFD_CACHE 64

int engine_listener = -1;
unsigned engine_base;
pid_t engine_program;

void engine_reply(const struct seccomp_notif *n, long val, int err)
{
	struct seccomp_notif_resp r = {
		.id = n->id, .val = err ? 0 : val, .error = err ? -err : 0,
	};

	/* ENOENT: the thread died meanwhile (only a fatal signal can end
	 * its wait: WAIT_KILLABLE_RECV), nobody to answer */
	ioctl(engine_listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
}

void engine_continue(const struct seccomp_notif *n)
{
	struct seccomp_notif_resp r = {
		.id = n->id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE,
	};

	ioctl(engine_listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
}

bool engine_valid(const struct seccomp_notif *n)
{
	uint64_t id = n->id;

	return ioctl(engine_listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0;
}

/* Per worker: thread ID -> pidfd, so most calls cost one pidfd_getfd. */
static __thread struct { int tid, pidfd; } cache[PIDFD_CACHE];

int engine_target_fd(const struct seccomp_notif *n, int fd)
{
	typeof(cache[0]) *e = &cache[n->pid % PIDFD_CACHE];
	int attempt, d;

	for (attempt = 0; attempt < 2; attempt++) {
		if (e->tid != (int)n->pid || e->pidfd <= 0) {
			if (e->pidfd > 0)
				close(e->pidfd);
			e->tid = (int)n->pid;
			/* a thread's pidfd: the notification names a thread */
			e->pidfd = (int)syscall(SYS_pidfd_open, n->pid,
						PIDFD_THREAD);
			if (e->pidfd < 0) {
				e->pidfd = 0;
				return out_of_room(errno) ? -errno : -ESRCH;
			}
			/* the ID could have been reused before the open */
			if (!engine_valid(n))
				return -ESRCH;
		}
		d = (int)syscall(SYS_pidfd_getfd, e->pidfd, fd, 0);
		if (d >= 0)
			return d;
		if (errno != ESRCH)
			return -errno;
		close(e->pidfd);
		e->pidfd = 0;	/* an older thread with this ID: reopen */
	}
	return -ESRCH;
}

void engine_out_of_room(const char *what)
{
	static atomic_bool said;

	if (!atomic_exchange(&said, true))
		fprintf(stderr, "forceclose: the system-call engine is out of "
			"descriptors (RLIMIT_NOFILE %s): %s\n",
			"of its supervisor", what);
}

/* One worker at a time waits in NOTIF_RECV, the others park here: the
 * kernel wakes every worker waiting there for each notification (measured:
 * with two workers waiting, twice the supervisor's wake-ups per request).
 * The worker that received keeps the role for its next wait, so a lone
 * program thread is always served by one worker and one wake-up; the role
 * is handed to a parked worker when more notifications wait (a busy
 * multi-threaded program still gets parallel workers) and before a
 * worker may block (engine_may_block), so no socket stops the others. */
static pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool receiving;		/* a worker holds the role */
static int parked, workers;	/* under gate */

static bool spawn_worker(void);

/* Someone else must take the role (gate held): a parked worker, or a new
 * one when none is parked. */
static void hand_over(void)
{
	if (parked > 0)
		pthread_cond_signal(&gate_cv);
	else if (workers < WORKERS_MAX)
		spawn_worker();
}

static void *worker(void *arg)
{
	struct seccomp_notif n;
	struct pollfd more = { .events = POLLIN };
	int r;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&gate);
		while (receiving) {
			parked++;
			pthread_cond_wait(&gate_cv, &gate);
			parked--;
		}
		receiving = true;
		pthread_mutex_unlock(&gate);
		memset(&n, 0, sizeof n);
		r = ioctl(engine_listener, SECCOMP_IOCTL_NOTIF_RECV, &n);
		more.fd = engine_listener;
		pthread_mutex_lock(&gate);
		receiving = false;
		/* another notification already waits: a second worker */
		if (r == 0 && parked > 0 && poll(&more, 1, 0) > 0 &&
		    more.revents & POLLIN)
			hand_over();
		pthread_mutex_unlock(&gate);
		if (r != 0)
			continue;	/* EINTR, or ENOENT: the thread died */
		engine_handle(&n);
	}
	return NULL;
}

static bool spawn_worker(void)
{
	pthread_attr_t a;
	pthread_t t;
	bool ok;

	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&a, 256 * 1024);
	ok = pthread_create(&t, &a, worker, NULL) == 0;
	pthread_attr_destroy(&a);
	if (ok)
		workers++;
	return ok;
}

void engine_may_block(void)
{
	pthread_mutex_lock(&gate);
	if (!receiving)
		hand_over();
	pthread_mutex_unlock(&gate);
}

static int receive_fd(int sock)
{
	char data, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	struct cmsghdr *cm;
	int fd;

	if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	if (cm == NULL || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof fd);
	return fd;
}

static int send_fd(int sock, int fd)
{
	char data = 'L', cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf, .msg_controllen = sizeof cbuf };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof fd);
	return sendmsg(sock, &m, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

/* The supervisor: it must outlive the program's last trapped call (when
 * it dies those calls fail with ENOSYS), so the signals a terminal or a
 * service manager sends the whole group do not end it; it ends when no
 * process uses the filter any more (the listener reports POLLHUP). */
static void supervise(int sock, const char *program)
{
	static const int ignored[] = { SIGINT, SIGQUIT, SIGTERM, SIGHUP,
				       SIGPIPE, SIGTSTP, SIGTTIN, SIGTTOU,
				       SIGUSR1, SIGUSR2 };
	struct pollfd p;
	unsigned i;
	int fd, devnull;

	for (i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
		signal(ignored[i], SIG_IGN);
	/* hold nothing of the program's: a pipe it shares with a reader
	 * must close when the program exits (stderr stays, for logs) */
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, 0);
		dup2(devnull, 1);
	}
	syscall(SYS_close_range, sock + 1, ~0u, 0);
	fd = receive_fd(sock);
	if (fd < 0)
		_exit(0);	/* the launcher gave up before its exec */
	engine_listener = fd;
	/* 6.6+: the trapped thread and the worker hand over on one CPU, which
	 * halves a round trip (best effort: older kernels refuse it) */
	ioctl(fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
	      (__u64)SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
	program_invocation_short_name = (char *)program;
	prctl(PR_SET_NAME, "forceclose-sup", 0, 0, 0);
	engine_conf_load();
	observe_pid = engine_program;	/* the report counts its descriptors */
	engine_dead_init();
	pthread_mutex_lock(&gate);
	if (!spawn_worker() || !spawn_worker())
		_exit(1);
	pthread_mutex_unlock(&gate);
	if (write(sock, "R", 1) != 1)
		_exit(1);
	close(sock);
	for (;;) {
		p.fd = engine_listener;
		p.events = 0;	/* only POLLHUP: the workers take POLLIN */
		if (poll(&p, 1, -1) > 0 && p.revents & (POLLHUP | POLLNVAL))
			break;
	}
	observe_report("exit");
	stats_write("exit");
	_exit(0);
}

/* Where the engine's sockets go: above the program's own descriptors,
 * under 1024 for programs that use select(), under RLIMIT_NOFILE. */
static unsigned choose_base(void)
{
	struct rlimit rl;
	rlim_t lim = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < lim)
		lim = rl.rlim_cur;
	return (unsigned)(lim - lim / 4);
}

int engine_exec(char *argv[])
{
	const char *slash = strrchr(argv[0], '/');
	int sp[2], lfd, status;
	pid_t a;
	char ack;

	engine_base = choose_base();
	engine_program = getpid();	/* exec keeps it */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0)
		goto fail;
	a = fork();
	if (a < 0)
		goto fail;
	if (a == 0) {
		pid_t b = fork();
		if (b == 0) {
			if (dup2(sp[1], 3) != 3)
				_exit(1);
			supervise(3, slash ? slash + 1 : argv[0]);
		}
		_exit(b < 0);
	}
	close(sp[1]);
	if (waitpid(a, &status, 0) != a || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		goto fail;
	lfd = engine_filter_install(engine_base);
	if (lfd < 0 || send_fd(sp[0], lfd) != 0 || read(sp[0], &ack, 1) != 1)
		goto fail;
	close(lfd);
	close(sp[0]);
	execvp(argv[0], argv);
	fprintf(stderr, "forceclose: %s: %s\n", argv[0], strerror(errno));
	return errno == ENOENT || errno == ENOTDIR ? 127 : 126;
fail:
	fprintf(stderr, "forceclose: cannot start the system-call engine: "
		"%s\n", strerror(errno));
	return 125;
}

bool engine_available(const char **why)
{
	unsigned action = SECCOMP_RET_USER_NOTIF;
	int status, fd;
	pid_t pid;

	if (syscall(SYS_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &action) != 0) {
		*why = "the kernel has no seccomp user notification";
		return false;
	}
	/* the flags and pidfd_getfd are newer: try them in a child */
	pid = fork();
	if (pid == 0) {
		fd = engine_filter_install(1u << 30);
		_exit(fd >= 0 && syscall(SYS_pidfd_open, getpid(), 0) >= 0
		      ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid ||
	    !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		*why = "the kernel lacks seccomp WAIT_KILLABLE_RECV (5.19+) "
		       "or pidfd_getfd";
		return false;
	}
	*why = NULL;
	return true;
}
