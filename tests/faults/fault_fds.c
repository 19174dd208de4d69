/* fault_fds: descriptor faults for tests/faults.bats - the program closes,
 * replaces or shares a tracked socket while a request is in flight.
 *
 * usage: fault_fds SCENARIO [ARGS] 127.0.0.1:PORT
 *
 * Every scenario prints what the program observed, one "key=value" per
 * line; the test runs it without and with the shim and compares.
 *
 *   read-close-reuse RS RELEASE
 *        (fault_server.py, target /wait-release)  thread A sends the GET
 *        and blocks in read(fd, buf, RS); once it is blocked, the main
 *        thread closes fd, makes a socketpair that gets fd's number, puts
 *        "PAIRDATA\n" in it and creates RELEASE (the server answers).  A's
 *        read returns the old socket's bytes (Linux: the blocked call holds
 *        the old socket); the socketpair keeps its bytes and still works.
 *   write-abort shutdown|close RELEASE
 *        (fault_server.py --mode noread)  thread A writes a POST with an
 *        8 MiB body in one write(); once it is blocked, the main thread
 *        calls shutdown(fd, SHUT_RDWR) (which ends A's write) or close(fd)
 *        (which returns at once, A stays blocked).  "abort=returned" or,
 *        if the call has not returned after 5 s, "abort=blocked".
 *   held-dup2 FILE | held-close_range
 *        (target /stall-head/20, non-blocking)  one read once the first
 *        20 head bytes are there (the shim may hold them), then dup2() of
 *        FILE over fd / close_range(fd, fd) and a socketpair that gets the
 *        number: reading fd gives exactly the new object's bytes.
 *   fork-read OUT
 *        fork; the parent writes the GET, the child reads the response
 *        (Content-Length) into OUT.
 *   fork-write N
 *        (a sink server)  fork; parent and child each write N requests
 *        (one write() each) on the shared socket at the same time.
 * Bounded by alarm() (exit 3).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "../c/testlib.h"

static int fd = -1;
static size_t read_size;
static pid_t a_tid;
static ssize_t a_ret;
static int a_errno;
static char a_buf[4096];
static volatile int a_done, abort_done;

static void die(const char *what)
{
	fprintf(stderr, "fault_fds: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void send_get(const char *target)
{
	char req[256];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: fault\r\n\r\n", target);
	tl_write_all(fd, req, (size_t)n, "write request");
}

/* Is thread tid blocked (state S) in one of the system calls in nrs? */
static int blocked_in(pid_t tid, const long *nrs)
{
	char path[64], buf[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f) return 0;
	char *ok = fgets(buf, sizeof buf, f);
	fclose(f);
	char *st = ok ? strrchr(buf, ')') : NULL;
	if (!st || st[2] != 'S') return 0;
	snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
	f = fopen(path, "r");
	if (!f) return 0;
	long nr = -1;
	if (fscanf(f, "%ld", &nr) != 1) nr = -1;
	fclose(f);
	for (; *nrs >= 0; nrs++)
		if (*nrs == nr) return 1;
	return 0;
}

static void wait_blocked(const long *nrs)
{
	for (int i = 0; i < 1000; i++) {
		if (a_tid && blocked_in(a_tid, nrs))
			return;
		usleep(10000);
	}
	fprintf(stderr, "fault_fds: thread A never blocked in the expected call\n");
	exit(1);
}

static void touch(const char *path)
{
	int f = open(path, O_WRONLY | O_CREAT, 0644);
	if (f < 0) die(path);
	close(f);
}

static void print_bytes(const char *key, const char *p, ssize_t n)
{
	printf("%s=", key);
	for (ssize_t i = 0; i < n; i++)
		printf(p[i] >= 0x20 && p[i] < 0x7f ? "%c" : "\\x%02x", (unsigned char)p[i]);
	printf("\n");
}

/* ---- read-close-reuse ---- */

static void *reader(void *arg)
{
	(void)arg;
	send_get("/wait-release");
	a_tid = gettid();
	a_ret = read(fd, a_buf, read_size);
	a_errno = errno;
	return NULL;
}

static int read_close_reuse(const char *rs, const char *release)
{
	static const long reads[] = { SYS_read, SYS_recvfrom, SYS_recvmsg, SYS_readv, -1 };
	pthread_t t;
	int sv[2], old = fd;
	read_size = strtoul(rs, NULL, 10);
	if (read_size == 0 || read_size > sizeof a_buf) return 2;
	pthread_create(&t, NULL, reader, NULL);
	wait_blocked(reads);
	if (close(fd) < 0) die("close");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) die("socketpair");
	if (sv[0] != old) {
		fprintf(stderr, "fault_fds: precondition: socketpair got %d, not %d\n", sv[0], old);
		exit(77);
	}
	tl_write_all(sv[1], "PAIRDATA\n", 9, "write pair");
	touch(release);
	pthread_join(t, NULL);
	/* the status line is the same with and without the shim; the rest of
	 * the head is rewritten under the shim, so only its start is shown */
	if (a_ret < 0)
		printf("a_read=-1 %s\n", strerrorname_np(a_errno));
	else
		print_bytes("a_read", a_buf, a_ret < 12 ? a_ret : 12);
	char b[64];
	ssize_t r = recv(sv[0], b, sizeof b, MSG_DONTWAIT);
	if (r < 0)
		printf("pair_read=-1 %s\n", strerrorname_np(errno));
	else
		print_bytes("pair_read", b, r);
	r = send(sv[0], "BACK\n", 5, MSG_NOSIGNAL);
	if (r < 0)
		printf("pair_write=-1 %s\n", strerrorname_np(errno));
	else
		printf("pair_write=%zd\n", r);
	r = recv(sv[1], b, sizeof b, MSG_DONTWAIT);
	if (r < 0)
		printf("pair_back=-1 %s\n", strerrorname_np(errno));
	else
		print_bytes("pair_back", b, r);
	return 0;
}

/* ---- write-abort ---- */

static char *big;
static size_t big_len;

static void *writer(void *arg)
{
	(void)arg;
	a_tid = gettid();
	a_ret = write(fd, big, big_len);
	a_errno = errno;
	a_done = 1;
	return NULL;
}

static void *aborter(void *arg)
{
	if (!strcmp(arg, "shutdown") ? shutdown(fd, SHUT_RDWR) < 0 : close(fd) < 0)
		die((const char *)arg);
	abort_done = 1;
	return NULL;
}

static int write_abort(char *how, const char *release)
{
	static const long writes[] = { SYS_write, SYS_sendmsg, SYS_sendto, SYS_writev, -1 };
	size_t body = 8 << 20;
	pthread_t t, u;
	int i;
	if (strcmp(how, "shutdown") && strcmp(how, "close")) return 2;
	big = malloc(body + 256);
	if (!big) die("malloc");
	big_len = (size_t)sprintf(big, "POST /big HTTP/1.1\r\nHost: fault\r\nContent-Length: %zu\r\n\r\n", body);
	memset(big + big_len, 'b', body);
	big_len += body;
	pthread_create(&t, NULL, writer, NULL);
	wait_blocked(writes);
	pthread_create(&u, NULL, aborter, how);
	for (i = 0; i < 500 && !abort_done; i++)
		usleep(10000);
	printf("abort=%s\n", abort_done ? "returned" : "blocked");
	if (abort_done && !strcmp(how, "shutdown")) {
		/* shutdown ends the blocked write: a short count or EPIPE */
		for (i = 0; i < 500 && !a_done; i++)
			usleep(10000);
		printf("a_write=%s\n", !a_done ? "still-blocked" : a_ret < 0 ? strerrorname_np(a_errno)
				       : (size_t)a_ret < big_len ? "short" : "complete");
	}
	fflush(stdout);
	touch(release);	/* the server reads from now on, and ends */
	_exit(0);	/* threads may still be blocked: leave without them */
}

/* ---- held-dup2 / held-close_range ---- */

static int held(const char *how, const char *file)
{
	char b[256];
	int sv[2] = { -1, -1 };
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) die("fcntl");
	send_get("/stall-head/20");
	tl_wait_fd(fd, POLLIN, "fault_fds");
	/* without the shim: 20 bytes; with it, maybe EAGAIN (it holds them) */
	if (read(fd, b, sizeof b) < 0 && errno != EAGAIN) die("first read");
	if (!strcmp(how, "dup2")) {
		int f = open(file, O_RDONLY);
		if (f < 0) die(file);
		if (dup2(f, fd) != fd) die("dup2");
		close(f);
	} else {
		if (close_range((unsigned)fd, (unsigned)fd, 0) < 0) die("close_range");
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) die("socketpair");
		if (sv[0] != fd) {
			fprintf(stderr, "fault_fds: precondition: socketpair got %d\n", sv[0]);
			exit(77);
		}
		tl_write_all(sv[1], "PAIR-BYTES\n", 11, "write pair");
		close(sv[1]);	/* then end of file */
	}
	ssize_t r = read(fd, b, sizeof b);
	if (r < 0)
		printf("read=-1 %s\n", strerrorname_np(errno));
	else
		print_bytes("read", b, r);
	r = read(fd, b, sizeof b);
	printf("read_again=%zd%s\n", r, r < 0 && errno == EAGAIN ? " EAGAIN" : "");
	return 0;
}

/* ---- fork ---- */

static int fork_read(const char *out)
{
	pid_t pid = fork();
	if (pid < 0) die("fork");
	if (pid == 0) {
		char b[4096];
		size_t n = 0;
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (o < 0) die(out);
		/* the response is 6 body bytes behind "\r\n\r\n" */
		for (;;) {
			ssize_t r = read(fd, b + n, sizeof b - n);
			if (r <= 0) break;
			n += (size_t)r;
			char *e = memmem(b, n, "\r\n\r\n", 4);
			if (e && n >= (size_t)(e - b) + 4 + 6) break;
		}
		tl_write_all(o, b, n, "write out");
		_exit(0);
	}
	send_get("/fork/parent-writes");
	int st;
	if (waitpid(pid, &st, 0) < 0) die("waitpid");
	printf("child_status=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

static int fork_write(const char *ns)
{
	int n = atoi(ns), st;
	pid_t pid = fork();
	if (pid < 0) die("fork");
	const char *who = pid == 0 ? "child" : "parent";
	for (int i = 0; i < n; i++) {
		char req[256];
		int len = snprintf(req, sizeof req, "POST /fork/%s/%d HTTP/1.1\r\nHost: fault\r\n"
				   "Content-Length: 16\r\n\r\n%-15s\n", who, i, who);
		tl_write_all(fd, req, (size_t)len, "write request");
	}
	if (pid == 0)
		_exit(0);
	if (waitpid(pid, &st, 0) < 0) die("waitpid");
	if (shutdown(fd, SHUT_WR) < 0) die("shutdown");
	printf("child_status=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: fault_fds SCENARIO [ARGS] 127.0.0.1:PORT\n");
		return 2;
	}
	tl_alarm("fault_fds", 30);
	signal(SIGPIPE, SIG_IGN);
	const char *sc = argv[1];
	fd = tl_connect_addr(argv[argc - 1], SOCK_STREAM, 4096);
	if (fd < 0) return 2;
	if (!strcmp(sc, "read-close-reuse") && argc == 5) return read_close_reuse(argv[2], argv[3]);
	if (!strcmp(sc, "write-abort") && argc == 5) return write_abort(argv[2], argv[3]);
	if (!strcmp(sc, "held-dup2") && argc == 4) return held("dup2", argv[2]);
	if (!strcmp(sc, "held-close_range") && argc == 3) return held("close_range", NULL);
	if (!strcmp(sc, "fork-read") && argc == 4) return fork_read(argv[2]);
	if (!strcmp(sc, "fork-write") && argc == 4) return fork_write(argv[2]);
	fprintf(stderr, "fault_fds: unknown scenario or arguments\n");
	return 2;
}
