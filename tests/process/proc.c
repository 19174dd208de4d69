/* proc.c - the programs of tests/process.bats (issue 13): where the library
 * meets the rest of the process (fork, vfork, threads, signals, stdio,
 * splice/sendfile, bad pointers, exit).  One binary, one mode per defect:
 *
 *   proc MODE ADDR [ARGS...]      ADDR is 127.0.0.1:PORT
 *
 * Every mode behaves correctly without the library; the test runs it with
 * LD_PRELOAD and asserts the same.  Each prints what it saw on stdout and
 * exits 0, or prints why on stderr and exits non-zero.  Every mode has its
 * own bound (a watchdog alarm that prints "timeout" and exits 3), so a hang
 * is reported as such; the tests add an outer `timeout`. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *mode = "?";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "proc %s: ", mode);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

/* ---- the watchdog ---- */

static char dog_msg[160];

static void dog_bite(int sig)
{
	(void)sig;
	if (write(2, dog_msg, strlen(dog_msg))) {}
	_exit(3);
}

/* after `s` seconds: print "proc MODE: timeout: WHAT" and _exit(3) */
static void watchdog(unsigned s, const char *what)
{
	struct sigaction sa;

	snprintf(dog_msg, sizeof dog_msg, "proc %s: timeout (%u s): %s\n", mode, s, what);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = dog_bite;
	sigaction(SIGALRM, &sa, NULL);
	alarm(s);
}

/* ---- time ---- */

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void spin_us(double us)
{
	double end = now_ms() + us / 1000.0;

	while (now_ms() < end)
		;
}

/* ---- sockets ---- */

static struct sockaddr_in server;

static void parse_addr(const char *a)
{
	char host[64];
	const char *c = strrchr(a, ':');

	if (c == NULL || (size_t)(c - a) >= sizeof host)
		die("bad address %s", a);
	memcpy(host, a, (size_t)(c - a));
	host[c - a] = 0;
	memset(&server, 0, sizeof server);
	server.sin_family = AF_INET;
	server.sin_port = htons((uint16_t)atoi(c + 1));
	if (inet_pton(AF_INET, host, &server.sin_addr) != 1)
		die("bad host %s", host);
}

static int connect_server(int sndbuf)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket: %m");
	if (sndbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	if (connect(fd, (struct sockaddr *)&server, sizeof server) != 0)
		die("connect: %m");
	return fd;
}

static void write_all(int fd, const void *p, size_t n)
{
	const char *b = p;

	while (n > 0) {
		ssize_t r = write(fd, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("write: %m");
		b += r;
		n -= (size_t)r;
	}
}

static void write_str(int fd, const char *s)
{
	write_all(fd, s, strlen(s));
}

/* poll for POLLIN for up to ms; true when readable */
static bool wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;

	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	return r > 0;
}

/* Length of the first complete response (Content-Length framing) in
 * b[0, n), or 0 when it is not all there yet; *status gets its code. */
static size_t response_len(const char *b, size_t n, int *status)
{
	const char *end = memmem(b, n, "\r\n\r\n", 4), *p;
	size_t head, cl = 0;

	if (end == NULL)
		return 0;
	head = (size_t)(end - b) + 4;
	*status = atoi(b + 9);
	for (p = b; p < end; p++)
		if ((p == b || p[-1] == '\n') &&
		    strncasecmp(p, "content-length:", 15) == 0)
			cl = strtoul(p + 15, NULL, 10);
	return head + cl <= n ? head + cl : 0;
}

/* Reads until `want` complete responses are in buf (or end of file, or
 * `ms` without a byte).  Returns how many complete responses came; *len
 * gets the bytes read. */
static int read_responses(int fd, char *buf, size_t cap, int want, int ms,
			  size_t *len)
{
	size_t n = 0, off = 0, k;
	int got = 0, st;

	while (got < want) {
		while (got < want && (k = response_len(buf + off, n - off, &st)) > 0) {
			off += k;
			got++;
		}
		if (got == want || n == cap || !wait_readable(fd, ms))
			break;
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*len = n;
	return got;
}

static const char *errname(int e)
{
	switch (e) {
	case 0: return "0";
	case EAGAIN: return "EAGAIN";
	case EFAULT: return "EFAULT";
	case EPIPE: return "EPIPE";
	case EBADF: return "EBADF";
	case ENOTSOCK: return "ENOTSOCK";
	case ECONNRESET: return "ECONNRESET";
	case EINVAL: return "EINVAL";
	case EINTR: return "EINTR";
	default: return strerror(e);
	}
}

/* bytes as one printable line: \r \n \\ and \xNN escaped */
static void print_escaped(const char *label, const char *b, size_t n)
{
	size_t i;

	printf("%s=", label);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)b[i];
		if (ch == '\r')
			fputs("\\r", stdout);
		else if (ch == '\n')
			fputs("\\n", stdout);
		else if (ch == '\\')
			fputs("\\\\", stdout);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
	putchar('\n');
}

/* ---- 1. fork with held head bytes ---- */

/* fork-held ADDR exit|exec: half a head, fork, the child exits or execs,
 * then the rest of the head; the server must receive the head once. */
static int fork_held(char **av)
{
	char buf[4096];
	size_t n;
	int fd, st;
	pid_t pid;

	watchdog(20, "fork-held");
	fd = connect_server(0);
	write_str(fd, "GET /a HTTP/1.1\r\nHost: x\r\n");
	pid = fork();
	if (pid < 0)
		die("fork: %m");
	if (pid == 0) {
		if (strcmp(av[0], "exec") == 0) {
			execl("/bin/true", "true", (char *)NULL);
			_exit(127);
		}
		exit(0);	/* atexit handlers and destructors run */
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("child status %#x", st);
	write_str(fd, "\r\n");
	if (read_responses(fd, buf, sizeof buf, 1, 10000, &n) != 1)
		die("no complete response (%zu bytes)", n);
	printf("responses=1\n");
	close(fd);
	return 0;
}

/* fork-threaded ADDR N: one thread forks children that exit at once,
 * while the main thread writes N heads, each in three pieces on a fresh
 * connection, and reads each response. */
static atomic_bool fork_stop;
static atomic_int forks_done;

static void *forker(void *arg)
{
	(void)arg;
	while (!atomic_load(&fork_stop)) {
		int st;
		pid_t pid = fork();
		if (pid < 0)
			continue;
		if (pid == 0)
			exit(0);
		waitpid(pid, &st, 0);
		atomic_fetch_add(&forks_done, 1);
	}
	return NULL;
}

static int fork_threaded(char **av)
{
	int n = atoi(av[0]), i, bad = 0;
	pthread_t t;
	char buf[8192], line[64];
	size_t len;

	watchdog(90, "fork-threaded");
	pthread_create(&t, NULL, forker, NULL);
	for (i = 0; i < n; i++) {
		int fd = connect_server(0);
		snprintf(line, sizeof line, "GET /t/%d HTTP/1.1\r\n", i);
		write_str(fd, line);
		sched_yield();
		write_str(fd, "Host: x\r\n");
		sched_yield();
		write_str(fd, "\r\n");
		if (read_responses(fd, buf, sizeof buf, 1, 5000, &len) != 1)
			bad++;
		close(fd);
	}
	atomic_store(&fork_stop, true);
	pthread_join(t, NULL);
	printf("requests=%d forks=%d incomplete_responses=%d\n", n,
	       atomic_load(&forks_done), bad);
	return 0;
}

/* ---- 2. fork during lock churn ---- */

static int churn_fd;
static atomic_bool churn_stop;

static void *churn_reader(void *arg)
{
	char b[4096];

	(void)arg;
	while (!atomic_load(&churn_stop))
		recv(churn_fd, b, sizeof b, MSG_DONTWAIT);
	return NULL;
}

static void *churn_writer(void *arg)
{
	static const char req[] = "GET /churn HTTP/1.1\r\nHost: x\r\n\r\n";
	struct timespec ms = { 0, 1000000 };

	(void)arg;
	while (!atomic_load(&churn_stop)) {
		send(churn_fd, req, sizeof req - 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		nanosleep(&ms, NULL);	/* pacing, not waiting for an event */
	}
	return NULL;
}

/* lock-churn ADDR N: reader and writer threads on one tracked socket, and
 * N children forked one after another, each doing one recv(MSG_DONTWAIT)
 * of that socket and _exit.  Each child gets 5 s to exit (it does one
 * non-blocking call; 5 s is generous on a loaded 2-core machine); the
 * first that does not is a hang. */
static int lock_churn(char **av)
{
	int n = atoi(av[0]), i, st;
	pthread_t th[3];

	watchdog(120, "lock-churn");
	churn_fd = connect_server(0);
	pthread_create(&th[0], NULL, churn_writer, NULL);
	pthread_create(&th[1], NULL, churn_reader, NULL);
	pthread_create(&th[2], NULL, churn_reader, NULL);
	for (i = 0; i < n; i++) {
		pid_t pid = fork();
		double t0;
		if (pid < 0)
			die("fork: %m");
		if (pid == 0) {
			char b[64];
			recv(churn_fd, b, sizeof b, MSG_DONTWAIT);
			_exit(0);
		}
		t0 = now_ms();
		for (;;) {
			pid_t w = waitpid(pid, &st, WNOHANG);
			if (w == pid)
				break;
			if (now_ms() - t0 > 5000) {
				printf("forks=%d hung=1 (child %d of fork %d did not exit "
				       "in 5 s)\n", i + 1, (int)pid, i + 1);
				{	/* where it waits: 202 is futex on x86-64 */
					char path[64], text[128] = "";
					snprintf(path, sizeof path, "/proc/%d/syscall", (int)pid);
					int sf = open(path, O_RDONLY);
					ssize_t k = sf < 0 ? 0 : read(sf, text, sizeof text - 1);
					if (sf >= 0)
						close(sf);
					text[k > 0 ? k : 0] = 0;
					printf("the child waits in system call %s", text);
				}
				fflush(stdout);
				kill(pid, SIGKILL);
				waitpid(pid, &st, 0);
				_exit(1);
			}
			struct timespec poll_ms = { 0, 200000 };
			nanosleep(&poll_ms, NULL);
		}
	}
	atomic_store(&churn_stop, true);
	for (i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	printf("forks=%d hung=0\n", n);
	return 0;
}

/* ---- 3. MSG_DONTWAIT beside a blocked reader / writer ---- */

static int probe_fd;
static atomic_int blocked_tid;

static void *blocked_reader(void *arg)
{
	char b[4096];
	ssize_t r;

	(void)arg;
	atomic_store(&blocked_tid, (int)gettid());
	r = read(probe_fd, b, sizeof b);
	printf("blocked read returned %zd\n", r);
	return NULL;
}

/* the blocked writer sends its body with sendfile() from a file, not
 * write() (dontwait-sendfile) */
static bool via_sendfile;

static void *blocked_writer(void *arg)
{
	static char body[1 << 20];
	char path[] = "/tmp/fc-proc-XXXXXX";
	int tf = -1;

	(void)arg;
	memset(body, 'b', sizeof body);
	if (via_sendfile) {
		tf = mkstemp(path);
		if (tf < 0)
			die("mkstemp: %m");
		unlink(path);
		write_all(tf, body, sizeof body);
	}
	write_str(probe_fd, "POST /big HTTP/1.1\r\nHost: x\r\n"
			    "Content-Length: 67108864\r\n\r\n");
	atomic_store(&blocked_tid, (int)gettid());
	for (;;) {
		off_t off = 0;	/* the body is this file, again and again */
		ssize_t r = via_sendfile
				    ? sendfile(probe_fd, tf, &off, sizeof body)
				    : write(probe_fd, body, sizeof body);
		if (r <= 0)
			break;
	}
	if (tf >= 0)
		close(tf);
	return NULL;
}

/* Is thread tid asleep inside a system call that waits for the socket
 * (read/recv/send family, or poll/select/epoll: a library may wait for
 * readiness first)?  /proc/self/task/TID/syscall starts
 * with the number of the call it is blocked in. */
static bool blocked_in_io(int tid)
{
	char path[64], text[256];
	long nr;
	int fd;
	ssize_t r;

	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	r = read(fd, text, sizeof text - 1);
	close(fd);
	if (r <= 0)
		return false;
	text[r] = 0;
	nr = strtol(text, NULL, 10);
	return nr == SYS_read || nr == SYS_recvfrom || nr == SYS_recvmsg ||
	       nr == SYS_write || nr == SYS_sendto || nr == SYS_sendmsg ||
	       nr == SYS_writev || nr == SYS_sendfile ||
	       nr == SYS_poll || nr == SYS_ppoll ||
	       nr == SYS_pselect6 || nr == SYS_select ||
	       nr == SYS_epoll_wait || nr == SYS_epoll_pwait
#ifdef SYS_epoll_pwait2
	       || nr == SYS_epoll_pwait2
#endif
		;
}

/* Up to 10 s for thread *tid to be asleep in the kernel: asleep twice in
 * a row, 10 ms apart, not a passing moment between two calls. */
static void wait_blocked(atomic_int *tid, const char *who)
{
	double t0 = now_ms();
	struct timespec ms = { 0, 1000000 }, ms10 = { 0, 10000000 };

	for (;;) {
		int t = atomic_load(tid);
		if (t != 0 && blocked_in_io(t)) {
			nanosleep(&ms10, NULL);
			if (blocked_in_io(t))
				return;
		}
		if (now_ms() - t0 > 10000)
			die("the %s never blocked in the kernel", who);
		nanosleep(&ms, NULL);
	}
}

/* A signal handler on the blocked reader's own thread reads the socket it
 * is blocked on: it must not wait for its own thread's read. */
static atomic_int handler_result = -2, handler_errno;
static bool handler_writes;	/* the handler writes a byte; else it reads */

static void on_usr1_probe(int sig)
{
	char b[16];
	int saved = errno;
	ssize_t r = handler_writes ? write(probe_fd, "x", 1)
				   : recv(probe_fd, b, sizeof b, MSG_DONTWAIT);

	(void)sig;
	atomic_store(&handler_errno, errno);
	atomic_store(&handler_result, (int)r);
	errno = saved;
}

/* Signals thread t, blocked on probe_fd, whose handler then reads with
 * MSG_DONTWAIT or writes (a write is ended by a shutdown of the writing
 * side: the server never reads, and it could otherwise block for good, as
 * without the library); prints what the handler's call returned. */
static void handler_probe(pthread_t t, bool writes)
{
	struct sigaction sa = { .sa_handler = on_usr1_probe,
				.sa_flags = SA_RESTART };
	int r;

	handler_writes = writes;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_kill(t, SIGUSR1);
	if (writes)
		shutdown(probe_fd, SHUT_WR);
	while (atomic_load(&handler_result) == -2) {
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	r = atomic_load(&handler_result);
	printf("handler %s=%d errno=%s\n",
	       writes ? "write()" : "recv(MSG_DONTWAIT)", r,
	       r < 0 ? errname(atomic_load(&handler_errno)) : "0");
}

/* Beside a thread blocked in read(): calls that must not wait for it. */
static void probes_beside_reader(pthread_t reader)
{
	struct mmsghdr mm;
	struct iovec v;
	char b[128];
	int r, e, status;
	pid_t pid;

	handler_probe(reader, false);
	v.iov_base = b;
	v.iov_len = sizeof b;
	memset(&mm, 0, sizeof mm);
	mm.msg_hdr.msg_iov = &v;
	mm.msg_hdr.msg_iovlen = 1;
	r = recvmmsg(probe_fd, &mm, 1, MSG_DONTWAIT, NULL);
	e = errno;
	printf("recvmmsg(MSG_DONTWAIT)=%d errno=%s\n", r, r < 0 ? errname(e) : "0");
	pid = fork();
	if (pid == 0)
		_exit(0);
	waitpid(pid, &status, 0);
	printf("fork: child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	printf("fdopen: %s\n", fdopen(probe_fd, "r") != NULL ? "a stream" : strerror(errno));
}

/* dontwait-read ADDR: the request is written, the server never answers;
 * one thread blocks in read(); then recv(MSG_PEEK|MSG_DONTWAIT) and
 * recv(MSG_DONTWAIT) from the main thread must fail with EAGAIN at once,
 * and so must the probes of probes_beside_reader; fork() and fdopen()
 * return at once.
 * dontwait-send ADDR: the server never reads; one thread blocks writing a
 * body into the full socket; send(MSG_DONTWAIT) must fail with EAGAIN at
 * once; then a signal handler on the writer's thread writes too, and must
 * return at once (EAGAIN under the library: it cannot wait for its own
 * thread, and its bytes cannot pass unseen).
 * dontwait-sendfile ADDR: the same with the body sent by sendfile(), which
 * the library lets through within the body's Content-Length; before the
 * handler, ten fork()s must return at once too (a write lock held across
 * the blocked sendfile made each wait a second for it, fork's bound).
 * Each probe is bounded by a 5 s watchdog. */
static int dontwait(bool reading)
{
	pthread_t t;
	double t0;
	char b[128];
	ssize_t r;
	int e;

	signal(SIGPIPE, SIG_IGN);
	watchdog(20, "setting up the blocked thread");
	probe_fd = connect_server(reading ? 0 : 4096);
	if (reading)
		write_str(probe_fd, "GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
	pthread_create(&t, NULL, reading ? blocked_reader : blocked_writer, NULL);
	/* it does one call (after a 64-byte write for the writer, and
	 * filling a socket of a few KiB) */
	wait_blocked(&blocked_tid, reading ? "reader thread" : "writer thread");
	watchdog(5, reading ? "recv(MSG_DONTWAIT) beside a blocked read() did not return"
			    : "send(MSG_DONTWAIT), fork() or a handler's write() beside a blocked write() did not return");
	if (reading) {
		t0 = now_ms();
		r = recv(probe_fd, b, sizeof b, MSG_PEEK | MSG_DONTWAIT);
		e = errno;
		printf("recv(MSG_PEEK|MSG_DONTWAIT)=%zd errno=%s\n", r, r < 0 ? errname(e) : "0");
		r = recv(probe_fd, b, sizeof b, MSG_DONTWAIT);
		e = errno;
		printf("recv(MSG_DONTWAIT)=%zd errno=%s\n", r, r < 0 ? errname(e) : "0");
		probes_beside_reader(t);
	} else {
		t0 = now_ms();
		r = send(probe_fd, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		e = errno;
		printf("send(MSG_DONTWAIT)=%zd errno=%s\n", r, r < 0 ? errname(e) : "0");
		if (via_sendfile) {
			int i, ok = 0, status;
			for (i = 0; i < 10; i++) {
				pid_t pid = fork();
				if (pid == 0)
					_exit(0);
				if (pid > 0 && waitpid(pid, &status, 0) == pid &&
				    WIFEXITED(status) && WEXITSTATUS(status) == 0)
					ok++;
			}
			printf("fork: %d of 10 children exit 0\n", ok);
		}
		handler_probe(t, true);
	}
	fprintf(stderr, "probes took %.1f ms\n", now_ms() - t0);
	fflush(stdout);
	watchdog(20, "ending the blocked thread");
	shutdown(probe_fd, SHUT_RDWR);	/* ends the blocked call */
	pthread_join(t, NULL);
	close(probe_fd);
	return 0;
}

/* interrupted-read ADDR: the server never answers.  Thread B blocks in a
 * small read() (under the library: a wait for bytes with the lock left),
 * then thread R in a large one (one recv, the connection marked
 * receiving); a signal without SA_RESTART then ends B's read with EINTR,
 * at once, as without the library: B must not wait for R. */
static atomic_int small_tid, small_result = -2, small_errno;

static void on_usr2(int sig)
{
	(void)sig;
}

static void *small_reader(void *arg)
{
	char b[100];
	ssize_t r;

	(void)arg;
	atomic_store(&small_tid, (int)gettid());
	r = read(probe_fd, b, sizeof b);
	atomic_store(&small_errno, errno);
	atomic_store(&small_result, (int)r);
	return NULL;
}

static int interrupted_read(void)
{
	struct sigaction sa = { .sa_handler = on_usr2 };	/* no SA_RESTART */
	pthread_t small, large;
	int r;

	watchdog(30, "setting up the blocked readers");
	sigaction(SIGUSR2, &sa, NULL);
	probe_fd = connect_server(0);
	write_str(probe_fd, "GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
	pthread_create(&small, NULL, small_reader, NULL);
	wait_blocked(&small_tid, "small reader");
	pthread_create(&large, NULL, blocked_reader, NULL);
	wait_blocked(&blocked_tid, "large reader");
	watchdog(5, "a signal did not end the small read() beside a blocked large one");
	pthread_kill(small, SIGUSR2);
	pthread_join(small, NULL);
	r = atomic_load(&small_result);
	printf("small read()=%d errno=%s\n", r,
	       r < 0 ? errname(atomic_load(&small_errno)) : "0");
	fflush(stdout);
	watchdog(20, "ending the blocked large read");
	shutdown(probe_fd, SHUT_RDWR);
	pthread_join(large, NULL);
	close(probe_fd);
	return 0;
}

/* handler-write-churn ADDR: a POST body written in 64-byte pieces for 2 s
 * while another thread signals the writer (SIGUSR2) every 100 us, and the
 * handler writes one byte to the same socket (the server reads, never
 * answers).  Under the library the handler lands while its own thread is
 * taking the write lock, holding it, or in the kernel with it left, many
 * times over: it must never wait for itself (the 20 s watchdog: exit 3). */
static atomic_long hw_whole, hw_busy, hw_other;
static atomic_bool hw_stop;

static void on_usr2_write(int sig)
{
	int saved = errno;
	ssize_t r = write(probe_fd, "x", 1);

	(void)sig;
	if (r == 1)
		atomic_fetch_add(&hw_whole, 1);
	else if (r < 0 && errno == EAGAIN)
		atomic_fetch_add(&hw_busy, 1);
	else
		atomic_fetch_add(&hw_other, 1);
	errno = saved;
}

static void *signaller(void *arg)
{
	pthread_t writer = *(pthread_t *)arg;
	struct timespec us100 = { 0, 100000 };

	while (!atomic_load(&hw_stop)) {
		pthread_kill(writer, SIGUSR2);
		nanosleep(&us100, NULL);
	}
	return NULL;
}

static int handler_write_churn(void)
{
	struct sigaction sa = { .sa_handler = on_usr2_write,
				.sa_flags = SA_RESTART };
	pthread_t self = pthread_self(), t;
	char chunk[64];
	double t0;

	watchdog(20, "a signal handler's write() waited for its own thread");
	signal(SIGPIPE, SIG_IGN);
	probe_fd = connect_server(0);
	write_str(probe_fd, "POST /churn HTTP/1.1\r\nHost: x\r\n"
			    "Content-Length: 1000000000\r\n\r\n");
	memset(chunk, 'c', sizeof chunk);
	sigaction(SIGUSR2, &sa, NULL);
	pthread_create(&t, NULL, signaller, &self);
	for (t0 = now_ms(); now_ms() - t0 < 2000;)
		if (write(probe_fd, chunk, sizeof chunk) < 0 &&
		    errno != EINTR && errno != EAGAIN)
			die("write: %m");
	atomic_store(&hw_stop, true);
	pthread_join(t, NULL);
	printf("handler writes: %ld whole, %ld EAGAIN, %ld other\n",
	       atomic_load(&hw_whole), atomic_load(&hw_busy),
	       atomic_load(&hw_other));
	close(probe_fd);
	return 0;
}

/* handler-read-churn ADDR N: GET /size/N read in 16-byte pieces while
 * another thread signals the reader (SIGUSR2) every 100 us, and the
 * handler reads one byte of the same socket with MSG_DONTWAIT.  Under the
 * library the handler lands while its own thread holds the read lock in a
 * hook (body reads are made under it), or is in the kernel with it left,
 * many times over: it must never wait for itself (the 20 s watchdog: exit
 * 3), and every body byte is read once, by the thread or its handler. */
static atomic_long hr_bytes, hr_busy, hr_eof, hr_other, hr_seen[256];
static const char body_pattern[] = "0123456789abcdefghijklmnopqrstuvwxyz\n";

static void on_usr2_read(int sig)
{
	int saved = errno;
	unsigned char b;
	ssize_t r = recv(probe_fd, &b, 1, MSG_DONTWAIT);

	(void)sig;
	if (r == 1) {
		atomic_fetch_add(&hr_bytes, 1);
		atomic_fetch_add(&hr_seen[b], 1);
	} else if (r < 0 && errno == EAGAIN)
		atomic_fetch_add(&hr_busy, 1);
	else if (r == 0)
		atomic_fetch_add(&hr_eof, 1);
	else
		atomic_fetch_add(&hr_other, 1);
	errno = saved;
}

/* The thread's bytes: counted by value, and each piece checked to follow
 * the server's pattern (a piece's bytes are consecutive in the stream;
 * the handler's bytes fall between pieces). */
static long seen[256], out_of_order;

static void body_piece(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		seen[p[i]]++;
		if (i > 0) {
			const char *prev = strchr(body_pattern, p[i - 1]);
			if (prev == NULL || p[i] != (unsigned char)
			    body_pattern[(prev - body_pattern + 1) %
					 (sizeof body_pattern - 1)])
				out_of_order++;
		}
	}
}

/* Every byte value, as often as the first want bytes of the pattern have
 * it, between the thread and its handler. */
static bool body_whole(long want)
{
	long k = sizeof body_pattern - 1;

	for (long v = 0; v < 256; v++) {
		const char *at = v ? strchr(body_pattern, (int)v) : NULL;
		long i = at ? at - body_pattern : -1;
		long expect = i < 0 ? 0 : want / k + (i < want % k);
		if (seen[v] + atomic_load(&hr_seen[v]) != expect)
			return false;
	}
	return out_of_order == 0;
}

static int handler_read_churn(char **av)
{
	struct sigaction sa = { .sa_handler = on_usr2_read,
				.sa_flags = SA_RESTART };
	pthread_t self = pthread_self(), t;
	long want = atol(av[0]), body = 0;
	char head[4096], req[128], *end = NULL;
	size_t got = 0;
	ssize_t r;

	watchdog(20, "a signal handler's read waited for its own thread");
	probe_fd = connect_server(0);
	snprintf(req, sizeof req, "GET /size/%ld HTTP/1.1\r\nHost: x\r\n\r\n",
		 want);
	write_str(probe_fd, req);
	while (end == NULL) {	/* the head, 16 bytes at a time */
		if (got + 16 >= sizeof head)
			die("head too long");
		r = read(probe_fd, head + got, 16);
		if (r <= 0)
			die("read (head): %zd %m", r);
		got += (size_t)r;
		head[got] = '\0';
		end = strstr(head, "\r\n\r\n");
	}
	body = (long)(head + got - (end + 4));
	body_piece((unsigned char *)end + 4, (size_t)body);
	sigaction(SIGUSR2, &sa, NULL);
	pthread_create(&t, NULL, signaller, &self);
	while (body + atomic_load(&hr_bytes) < want) {
		char piece[16];
		r = read(probe_fd, piece, sizeof piece);
		if (r == 0)
			break;
		if (r < 0 && errno != EINTR && errno != EAGAIN)
			die("read: %m");
		if (r > 0) {
			body_piece((unsigned char *)piece, (size_t)r);
			body += r;
		}
	}
	atomic_store(&hw_stop, true);
	pthread_join(t, NULL);
	printf("head says close: %s\n",
	       strcasestr(head, "\r\nConnection: close\r\n") ? "yes" : "no");
	printf("handler reads: %ld bytes, %ld EAGAIN, %ld end, %ld other\n",
	       atomic_load(&hr_bytes), atomic_load(&hr_busy),
	       atomic_load(&hr_eof), atomic_load(&hr_other));
	printf("body: %ld of %ld bytes, as sent: %s\n",
	       body + atomic_load(&hr_bytes), want,
	       body_whole(want) ? "yes" : "no");
	close(probe_fd);
	return 0;
}

/* handler-nested-read ADDR: the thread blocks reading connection d (no
 * request: a read hook waiting in the kernel); a SIGUSR1 handler then
 * reads connection c (a long body) in 16-byte MSG_DONTWAIT pieces, and a
 * SIGUSR2 every 100 us, landing inside that handler, reads c too.  The
 * second handler finds the first one holding c's read lock on its own
 * thread: it must not wait for it (the 20 s watchdog: exit 3). */
static int hn_c, hn_d;
static atomic_bool hn_stop;
static atomic_long hn_h1_bytes, hn_h2_bytes, hn_h2_busy;

static void on_usr2_nested(int sig)
{
	int saved = errno;
	char b;
	ssize_t r = recv(hn_c, &b, 1, MSG_DONTWAIT);

	(void)sig;
	if (r == 1)
		atomic_fetch_add(&hn_h2_bytes, 1);
	else if (r < 0 && errno == EAGAIN)
		atomic_fetch_add(&hn_h2_busy, 1);
	errno = saved;
}

static void on_usr1_nested(int sig)
{
	int saved = errno;
	char b[16];

	(void)sig;
	for (int i = 0; i < 100000 && !atomic_load(&hn_stop); i++) {
		ssize_t r = recv(hn_c, b, sizeof b, MSG_DONTWAIT);
		if (r > 0)
			atomic_fetch_add(&hn_h1_bytes, r);
		else if (r == 0 || errno != EAGAIN)
			break;
	}
	atomic_store(&hn_stop, true);
	shutdown(hn_d, SHUT_RDWR);	/* ends the thread's read of d */
	errno = saved;
}

static void *nested_signaller(void *arg)
{
	pthread_t reader = *(pthread_t *)arg;
	struct timespec us100 = { 0, 100000 }, ms200 = { 0, 200000000 };

	nanosleep(&ms200, NULL);	/* the thread is in its read of d */
	pthread_kill(reader, SIGUSR1);
	while (!atomic_load(&hn_stop)) {
		pthread_kill(reader, SIGUSR2);
		nanosleep(&us100, NULL);
	}
	return NULL;
}

static int handler_nested_read(void)
{
	struct sigaction s1 = { .sa_handler = on_usr1_nested,
				.sa_flags = SA_RESTART };
	struct sigaction s2 = { .sa_handler = on_usr2_nested,
				.sa_flags = SA_RESTART };
	pthread_t self = pthread_self(), t;
	char head[4096], b[64];
	size_t got = 0;
	ssize_t r;

	watchdog(20, "a nested signal handler's read waited for its own thread");
	hn_c = connect_server(0);
	hn_d = connect_server(0);
	write_str(hn_c, "GET /size/8000000 HTTP/1.1\r\nHost: x\r\n\r\n");
	while (!memmem(head, got, "\r\n\r\n", 4)) {	/* c's head */
		if (got == sizeof head || (r = read(hn_c, head + got, 1)) <= 0)
			die("read (head)");
		got += (size_t)r;
	}
	sigaction(SIGUSR1, &s1, NULL);
	sigaction(SIGUSR2, &s2, NULL);
	pthread_create(&t, NULL, nested_signaller, &self);
	do
		r = read(hn_d, b, sizeof b);
	while (r < 0 && errno == EINTR);
	atomic_store(&hn_stop, true);
	pthread_join(t, NULL);
	printf("read of d: %zd; first handler: %ld bytes; second handler: "
	       "%ld bytes, %ld EAGAIN\n", r, atomic_load(&hn_h1_bytes),
	       atomic_load(&hn_h2_bytes), atomic_load(&hn_h2_busy));
	close(hn_c);
	close(hn_d);
	return 0;
}

/* ---- 4. close() from a signal handler ---- */

static atomic_int sig_fd = -1;
static atomic_long sig_closes;

static void on_alarm_close(int sig)
{
	int saved = errno, fd = atomic_exchange(&sig_fd, -1);

	(void)sig;
	if (fd >= 0 && close(fd) == 0)
		atomic_fetch_add(&sig_closes, 1);
	errno = saved;
}

static int listen_fd;

/* accepts and closes; SIGALRM is blocked here, so it goes to main */
static void *acceptor(void *arg)
{
	sigset_t s;

	(void)arg;
	sigemptyset(&s);
	sigaddset(&s, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	for (;;) {
		int c = accept(listen_fd, NULL, NULL);
		if (c >= 0)
			close(c);
	}
	return NULL;
}

/* sig-close SECONDS: for SECONDS, open a tracked connection to our own
 * listener, write half a head (so the library holds bytes), churn the heap
 * with malloc/free, close; SIGALRM every 100 us closes the current socket
 * from its handler.  The heap blocks carry a pattern checked before free. */
static int sig_close(char **av)
{
	double secs = atof(av[0]), end;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	struct itimerval it = { { 0, 100 }, { 0, 100 } };
	struct sigaction sa;
	unsigned char *blk[64] = { 0 };
	size_t sz[64] = { 0 };
	unsigned seed = 1;
	long iters = 0;
	pthread_t t;
	int i;

	signal(SIGPIPE, SIG_IGN);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	listen_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(listen_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(listen_fd, 512) != 0 ||
	    getsockname(listen_fd, (struct sockaddr *)&a, &al) != 0)
		die("listen: %m");
	server = a;
	pthread_create(&t, NULL, acceptor, NULL);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_alarm_close;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	end = now_ms() + secs * 1000;
	while (now_ms() < end) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket: %m");
		if (connect(fd, (struct sockaddr *)&server, sizeof server) != 0) {
			close(fd);
			continue;
		}
		if (write(fd, "GET /s HTTP/1.1\r\nHost: x\r\n", 26) < 0) {}
		/* the previous connection stays the handler's to close while
		 * this one is connected: the handler's close() can interrupt
		 * the library inside connect() and inside close() */
		fd = atomic_exchange(&sig_fd, fd);
		if (fd >= 0)
			close(fd);
		for (i = 0; i < 64; i++) {
			int k = (int)(rand_r(&seed) % 64);
			if (blk[k] != NULL) {
				size_t j;
				for (j = 0; j < sz[k]; j++)
					if (blk[k][j] != (unsigned char)(sz[k] + j))
						die("heap block corrupted");
				free(blk[k]);
			}
			sz[k] = 16 + rand_r(&seed) % 1024;
			blk[k] = malloc(sz[k]);
			if (blk[k] == NULL)
				die("malloc");
			for (size_t j = 0; j < sz[k]; j++)
				blk[k][j] = (unsigned char)(sz[k] + j);
		}
		iters++;
	}
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	printf("connections=%ld closes_in_handler=%ld\n", iters, atomic_load(&sig_closes));
	return 0;
}

/* ---- 5. fdopen + fclose + mkstemp ---- */

/* fdopen-reuse ADDR TEMPLATE: a request on a tracked socket, fdopen,
 * fclose (glibc closes the number inside itself), mkstemp gets the same
 * number: writing and reading the temporary file must work. */
static int fdopen_reuse(char **av)
{
	char path[4096], b[64];
	FILE *f;
	ssize_t w, r;
	int fd, tmp;

	watchdog(20, "fdopen-reuse");
	fd = connect_server(0);
	write_str(fd, "GET /f HTTP/1.1\r\nHost: x\r\n\r\n");
	f = fdopen(fd, "r+");
	if (f == NULL)
		die("fdopen: %m");
	fclose(f);
	snprintf(path, sizeof path, "%s", av[0]);
	tmp = mkstemp(path);
	if (tmp < 0)
		die("mkstemp: %m");
	printf("same_number=%d\n", tmp == fd);
	w = write(tmp, "hello file\n", 11);
	printf("write=%zd errno=%s\n", w, w < 0 ? errname(errno) : "0");
	lseek(tmp, 0, SEEK_SET);
	r = read(tmp, b, sizeof b);
	printf("read=%zd errno=%s\n", r, r < 0 ? errname(errno) : "0");
	if (r > 0)
		print_escaped("content", b, (size_t)r);
	printf("path=%s\n", path);
	close(tmp);
	return 0;
}

/* ---- 6. MSG_PEEK, then splice / recvmmsg ---- */

/* peek-then ADDR splice|recvmmsg RELEASE: the server sends half a head and
 * waits for RELEASE to exist.  The program peeks at the half head, creates
 * RELEASE, then reads everything to end of file with splice() (through a
 * pipe) or recvmmsg().  Bound: 15 s; more than 1000 EAGAINs on the
 * blocking socket is a loop. */
static int peek_then(char **av)
{
	bool use_splice = strcmp(av[0], "splice") == 0;
	char peek[4096], got[8192];
	size_t n = 0;
	ssize_t r;
	int fd, p[2], eagain = 0;

	watchdog(15, use_splice ? "splice after MSG_PEEK" : "recvmmsg after MSG_PEEK");
	fd = connect_server(0);
	write_str(fd, "GET /h HTTP/1.1\r\nHost: x\r\n\r\n");
	if (!wait_readable(fd, 10000))
		die("no half head in 10 s");
	r = recv(fd, peek, sizeof peek, MSG_PEEK);
	if (r < 0)
		die("recv(MSG_PEEK): %m");
	print_escaped("peek", peek, (size_t)r);
	int rel = open(av[1], O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (rel < 0)
		die("creating %s: %m", av[1]);
	close(rel);
	if (use_splice && pipe(p) != 0)
		die("pipe: %m");
	for (;;) {
		if (use_splice) {
			r = splice(fd, NULL, p[1], NULL, 4096, 0);
			if (r > 0 && read(p[0], got + n, (size_t)r) != r)
				die("reading the pipe");
		} else {
			char b[4096];
			struct iovec v = { b, sizeof b };
			struct mmsghdr m = { .msg_hdr = { .msg_iov = &v, .msg_iovlen = 1 } };
			int k = recvmmsg(fd, &m, 1, 0, NULL);
			r = k < 0 ? -1 : (ssize_t)m.msg_len;
			if (r > 0)
				memcpy(got + n, b, (size_t)r);
		}
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EAGAIN && ++eagain <= 1000)
				continue;
			printf("eagain=%d\n", eagain);
			die("%s: %m (after %zu bytes)", av[0], n);
		}
		n += (size_t)r;
		if (n > sizeof got - 4096)
			die("too many bytes");
	}
	print_escaped("got", got, n);
	printf("eagain=%d\n", eagain);
	close(fd);
	return 0;
}

/* ---- 7. sendfile / splice after the teardown ---- */

/* after-teardown ADDR sendfile|splice: a POST whose response comes before
 * its body (the server answers at once); the program reads that response
 * completely (the library tears the connection down), then sends more of
 * the body with sendfile() or splice().  SIGPIPE keeps its default
 * disposition: a SIGPIPE kills the program. */
static int after_teardown(char **av)
{
	bool use_sendfile = strcmp(av[0], "sendfile") == 0;
	char buf[4096], data[100], path[] = "/tmp/fc-proc-XXXXXX";
	size_t n;
	ssize_t r;
	int fd, e;

	watchdog(20, "after-teardown");
	memset(data, 'd', sizeof data);
	fd = connect_server(0);
	write_str(fd, "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n");
	write_str(fd, "0123456789");
	if (read_responses(fd, buf, sizeof buf, 1, 10000, &n) != 1)
		die("no complete response (%zu bytes)", n);
	printf("response=1\n");
	if (use_sendfile) {
		int tf = mkstemp(path);
		off_t off = 0;
		if (tf < 0)
			die("mkstemp: %m");
		unlink(path);
		write_all(tf, data, sizeof data);
		fflush(stdout);
		r = sendfile(fd, tf, &off, sizeof data);
	} else {
		int p[2];
		if (pipe(p) != 0)
			die("pipe: %m");
		write_all(p[1], data, sizeof data);
		fflush(stdout);
		r = splice(p[0], NULL, fd, NULL, sizeof data, 0);
	}
	e = errno;
	printf("%s=%zd errno=%s\n", av[0], r, r < 0 ? errname(e) : "0");
	close(fd);
	return 0;
}

/* ---- 8. bad pointers on the read hooks ---- */

static volatile uintptr_t bad_addr = 16;

/* bad-ptr ADDR HOOK fresh|owed: the response is in the kernel; "owed"
 * first reads 5 bytes (the library then owes the program the rest of a
 * rewritten head).  Then HOOK with a pointer into page 0. */
static int bad_ptr(char **av)
{
	const char *hook = av[0];
	void *bad = (void *)bad_addr;
	char b[8];
	ssize_t r;
	int fd, e;

	watchdog(20, "bad-ptr");
	fd = connect_server(0);
	write_str(fd, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n");
	if (!wait_readable(fd, 10000))
		die("no response in 10 s");
	if (strcmp(av[1], "owed") == 0 && read(fd, b, 5) != 5)
		die("first read");
	fflush(stdout);
	errno = 0;
	if (strcmp(hook, "read") == 0)
		r = read(fd, bad, 100);
	else if (strcmp(hook, "recv") == 0)
		r = recv(fd, bad, 100, 0);
	else if (strcmp(hook, "recvfrom") == 0)
		r = recvfrom(fd, bad, 100, 0, NULL, NULL);
	else if (strcmp(hook, "readv") == 0)
		r = readv(fd, (const struct iovec *)bad, 1);
	else if (strcmp(hook, "recvmsg") == 0)
		r = recvmsg(fd, (struct msghdr *)NULL, 0);
	else
		die("unknown hook %s", hook);
	e = errno;
	printf("%s %s: %zd errno=%s\n", hook, av[1], r, r < 0 ? errname(e) : "0");
	close(fd);
	return 0;
}

/* ---- 9. FORCECLOSE_ACTION=close racing the program's close + open ---- */

#define QUEUE_FILL 64	/* the library's close queue (CONN_CLOSE_QUEUE) */

static const char *race_file;
static char race_content[64];
static size_t race_len;
static pthread_barrier_t race_bar;
static int race_fd_b;

static void *race_reader(void *arg)
{
	char buf[4096];

	(void)arg;
	pthread_barrier_wait(&race_bar);
	/* the last byte of a response: the library tears this connection
	 * down here and closes the oldest descriptor it has queued */
	if (read(race_fd_b, buf, sizeof buf) <= 0)
		die("reader: %m");
	pthread_barrier_wait(&race_bar);
	return NULL;
}

/* The server of close-race, in a thread of its own (its sockets are
 * accepted, so the library never tracks them): answers one request per
 * connection with a keep-alive response and never closes (it ignores
 * Connection: close). */
static int race_listen;

static void *race_server(void *arg)
{
	static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
	char b[1024];

	(void)arg;
	for (;;) {
		int c = accept(race_listen, NULL, NULL);
		size_t n = 0;
		if (c < 0)
			continue;
		while (n < sizeof b - 1) {
			ssize_t r = read(c, b + n, sizeof b - 1 - n);
			if (r <= 0)
				break;
			n += (size_t)r;
			b[n] = 0;
			if (strstr(b, "\r\n\r\n"))
				break;
		}
		if (write(c, resp, sizeof resp - 1) < 0) {}
		/* kept open: a server that ignores close */
	}
	return NULL;
}

/* one connection, one request, the whole response in the kernel */
static int ready_connection(void)
{
	int fd = connect_server(0), q = 0;
	double t0 = now_ms();

	write_str(fd, "GET /race HTTP/1.1\r\nHost: x\r\n\r\n");
	/* up to 10 s for the answer: one write of 40 bytes, one segment on
	 * loopback, so any byte means all of it */
	while (ioctl(fd, FIONREAD, &q) == 0 && q == 0) {
		if (now_ms() - t0 > 10000)
			die("no response in 10 s");
		wait_readable(fd, 100);
	}
	return fd;
}

/* close-race FILE ROUNDS: under FORCECLOSE_ACTION=close.  The library's
 * close queue is filled with QUEUE_FILL torn-down sockets the program
 * keeps open (oldest first in q); from then on each teardown makes the
 * library close the oldest queued descriptor.  Each round, one thread reads
 * a response's last byte (that teardown) while the main thread, after a
 * delay that varies over 0..600 us, closes that same oldest socket itself
 * and at once opens FILE, which gets the number.  The file must stay open
 * and be FILE (fcntl(F_GETFD) works, its content reads back) and the
 * program's close() of its socket returns 0.  The rounds stop after 0.9 s:
 * past 1 s the library's queue also closes by age, several at a time, and
 * the oldest would no longer be the one the program closes. */
static int close_race(char **av)
{
	int q[QUEUE_FILL + 4], head = 0, len = 0, rounds, r, bad = 0;
	int closes_failed = 0, hits = 0;
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof a;
	char buf[4096];
	double start;
	pthread_t srv;

	race_file = av[0];
	rounds = atoi(av[1]);
	watchdog(60, "close-race");
	{
		int fd = open(race_file, O_RDONLY);
		ssize_t k = fd < 0 ? -1 : read(fd, race_content, sizeof race_content);
		if (k <= 0)
			die("reading %s", race_file);
		race_len = (size_t)k;
		close(fd);
	}
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	race_listen = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(race_listen, (struct sockaddr *)&a, sizeof a) != 0 ||
	    listen(race_listen, 512) != 0 ||
	    getsockname(race_listen, (struct sockaddr *)&a, &al) != 0)
		die("listen: %m");
	server = a;
	pthread_create(&srv, NULL, race_server, NULL);
	start = now_ms();
	while (len < QUEUE_FILL) {
		int fd = ready_connection();
		if (read(fd, buf, sizeof buf) <= 0)
			die("fill read: %m");
		q[len++] = fd;
	}
	pthread_barrier_init(&race_bar, NULL, 2);
	for (r = 0; r < rounds && now_ms() - start < 900; r++) {
		pthread_t t;
		int x = q[head], f, cr;
		double delay = (r * 37) % 600;

		race_fd_b = ready_connection();
		pthread_create(&t, NULL, race_reader, NULL);
		pthread_barrier_wait(&race_bar);
		spin_us(delay);
		cr = close(x);
		f = open(race_file, O_RDONLY);
		pthread_barrier_wait(&race_bar);
		pthread_join(t, NULL);
		if (cr != 0) {
			closes_failed++;
			if (closes_failed <= 5)
				printf("round %d: close(%d) of the socket: %s\n", r, x,
				       errname(errno));
		}
		if (f == x)
			hits++;
		if (f < 0) {
			bad++;
			printf("round %d: open: %s\n", r, errname(errno));
		} else {
			char back[64];
			ssize_t k;
			if (fcntl(f, F_GETFD) < 0) {
				bad++;
				printf("round %d: file %d (delay %.0f us) was closed "
				       "behind the program's back: fcntl: %s\n",
				       r, f, delay, errname(errno));
			} else if ((k = pread(f, back, sizeof back, 0)) != (ssize_t)race_len ||
				   memcmp(back, race_content, race_len) != 0) {
				bad++;
				printf("round %d: file %d no longer reads back (%zd)\n", r, f, k);
			}
			if (close(f) != 0 && errno == EBADF) {
				bad++;
				printf("round %d: close(file %d): EBADF\n", r, f);
			}
		}
		head = (head + 1) % (QUEUE_FILL + 4);
		q[(head + len - 1) % (QUEUE_FILL + 4)] = race_fd_b;
	}
	printf("rounds=%d file_got_socket_number=%d files_broken=%d socket_closes_failed=%d\n",
	       r, hits, bad, closes_failed);
	return bad || closes_failed ? 1 : 0;
}

/* ---- 10. vfork ---- */

static int vfork_fd;

/* vfork ADDR close-open|dup2-exec: half a head; a vfork child closes the
 * socket and opens /dev/null (same number), or dup2()s /dev/null over
 * it and execs /bin/true; then the parent writes the rest of the head,
 * reads the response, and expects end of file right after it (the
 * teardown): bound 5 s. */
static int vfork_mode(char **av)
{
	static int dup2_form;
	char buf[4096];
	size_t n;
	pid_t pid;
	int st;

	watchdog(30, "vfork");
	dup2_form = strcmp(av[0], "dup2-exec") == 0;
	vfork_fd = connect_server(0);
	write_str(vfork_fd, "GET /v HTTP/1.1\r\nHost: x\r\n");
	pid = vfork();
	if (pid < 0)
		die("vfork: %m");
	if (pid == 0) {
		if (dup2_form) {
			int nul = open("/dev/null", O_RDONLY);
			dup2(nul, vfork_fd);
			execl("/bin/true", "true", (char *)NULL);
		} else {
			close(vfork_fd);
			open("/dev/null", O_RDONLY);
		}
		_exit(0);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("child status %#x", st);
	write_str(vfork_fd, "\r\n");
	if (read_responses(vfork_fd, buf, sizeof buf, 1, 5000, &n) != 1) {
		print_escaped("partial", buf, n);
		die("no complete response in 5 s");
	}
	printf("response=1\n");
	/* after the response: end of file at once under the library (the
	 * teardown); 5 s bound */
	if (!wait_readable(vfork_fd, 5000)) {
		printf("eof=0 (still open 5 s after the response)\n");
		return 0;
	}
	printf("eof=%d\n", read(vfork_fd, buf, sizeof buf) == 0);
	return 0;
}

/* ---- 11. close / shutdown / exit with a peer that does not read ---- */

/* exit-noread ADDR close|shutdown|exit: the server never reads.  The
 * socket is filled with complete GETs (non-blocking) until it takes no
 * more, then the program writes a head without its final CRLF (bytes the
 * library holds and will owe the wire), then closes, shuts down, or exits.
 * The test bounds the whole run. */
static int exit_noread(char **av)
{
	static const char get[] =
		"GET /fill HTTP/1.1\r\nHost: x\r\nX-Pad: "
		"0123456789012345678901234567890123456789012345678901234567890123"
		"4567890123456789012345678901234567890123456789012345678901234567"
		"\r\n\r\n";
	size_t len = sizeof get - 1, o = 0;
	int fd = -1, attempt, heads = 0;
	double t0;

	watchdog(60, "exit-noread");
	for (attempt = 0; attempt < 5; attempt++) {
		fd = connect_server(4096);
		fcntl(fd, F_SETFL, O_NONBLOCK);
		o = 0;
		heads = 0;
		for (;;) {
			ssize_t r = write(fd, get + o, len - o);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0 && errno == EAGAIN) {
				/* full for good only when it stays full: bytes
				 * still move to the peer's receive buffer for a
				 * moment (50 ms without room; the whole fill is
				 * bounded by the watchdog) */
				struct pollfd pw = { .fd = fd, .events = POLLOUT };
				if (poll(&pw, 1, 50) == 0)
					break;
				continue;
			}
			if (r <= 0)
				die("write: %m");
			o += (size_t)r;
			if (o == len) {
				o = 0;
				heads++;
			}
		}
		if (o + 2 < len)
			break;
		close(fd);	/* the socket took all but the last CRLF: again */
		fd = -1;
	}
	if (fd < 0)
		die("could not stop inside a head");
	/* the rest of the head minus its final CRLF: held, not sent */
	if (o == 0) {
		if (write(fd, get, len - 2) != (ssize_t)(len - 2))
			printf("note: the unfinished head did not count as written (%s)\n",
			       errname(errno));
	} else if (write(fd, get + o, len - 2 - o) != (ssize_t)(len - 2 - o)) {
		printf("note: the rest of the head did not count as written (%s)\n",
		       errname(errno));
	}
	printf("heads=%d offset=%zu\n", heads, o);
	fflush(stdout);
	t0 = now_ms();
	if (strcmp(av[0], "close") == 0) {
		close(fd);
	} else if (strcmp(av[0], "shutdown") == 0) {
		shutdown(fd, SHUT_WR);
	} else {
		exit(0);	/* the library's exit handler runs here */
	}
	printf("%s took %.0f ms\n", av[0], now_ms() - t0);
	return 0;
}

/* ---- 12. pipelining ---- */

/* pipeline ADDR [eof]: three requests in one write, then read: three
 * complete responses must come (bound 10 s without a byte); with "eof",
 * then the end of file. */
static int pipeline(char **av)
{
	static const char reqs[] =
		"GET /p/1 HTTP/1.1\r\nHost: x\r\n\r\n"
		"GET /p/2 HTTP/1.1\r\nHost: x\r\n\r\n"
		"GET /p/3 HTTP/1.1\r\nHost: x\r\n\r\n";
	char buf[8192];
	size_t n;
	int fd, got;

	(void)av;
	watchdog(30, "pipeline");
	fd = connect_server(0);
	write_str(fd, reqs);
	got = read_responses(fd, buf, sizeof buf, 3, 10000, &n);
	printf("responses=%d\n", got);
	if (av[0] != NULL && strcmp(av[0], "eof") == 0) {
		/* then the end of file (the teardown after the last
		 * response): up to 5 s */
		if (!wait_readable(fd, 5000))
			printf("eof=0 (still open 5 s after the responses)\n");
		else
			printf("eof=%d\n", read(fd, buf, sizeof buf) == 0);
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: proc MODE 127.0.0.1:PORT [ARGS...]\n");
		return 2;
	}
	mode = argv[1];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[2], "-") != 0)
		parse_addr(argv[2]);
	char **av = argv + 3;
#define NEED(k) do { if (argc < 3 + (k)) { fprintf(stderr, "proc %s: missing arguments\n", mode); return 2; } } while (0)
	if (!strcmp(mode, "fork-held")) { NEED(1); return fork_held(av); }
	if (!strcmp(mode, "fork-threaded")) { NEED(1); return fork_threaded(av); }
	if (!strcmp(mode, "lock-churn")) { NEED(1); return lock_churn(av); }
	if (!strcmp(mode, "dontwait-read")) return dontwait(true);
	if (!strcmp(mode, "interrupted-read")) return interrupted_read();
	if (!strcmp(mode, "handler-write-churn")) return handler_write_churn();
	if (!strcmp(mode, "handler-read-churn")) { NEED(1); return handler_read_churn(av); }
	if (!strcmp(mode, "handler-nested-read")) return handler_nested_read();
	if (!strcmp(mode, "dontwait-send")) return dontwait(false);
	if (!strcmp(mode, "dontwait-sendfile")) { via_sendfile = true; return dontwait(false); }
	if (!strcmp(mode, "sig-close")) { NEED(1); return sig_close(av); }
	if (!strcmp(mode, "fdopen-reuse")) { NEED(1); return fdopen_reuse(av); }
	if (!strcmp(mode, "peek-then")) { NEED(2); return peek_then(av); }
	if (!strcmp(mode, "after-teardown")) { NEED(1); return after_teardown(av); }
	if (!strcmp(mode, "bad-ptr")) { NEED(2); return bad_ptr(av); }
	if (!strcmp(mode, "close-race")) { NEED(2); return close_race(av); }
	if (!strcmp(mode, "vfork")) { NEED(1); return vfork_mode(av); }
	if (!strcmp(mode, "exit-noread")) { NEED(1); return exit_noread(av); }
	if (!strcmp(mode, "pipeline")) return pipeline(av);
	fprintf(stderr, "proc: unknown mode %s\n", mode);
	return 2;
}
