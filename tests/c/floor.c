/* floor.c - the places where libforceclose still checks a descriptor
 * with the kernel (issue 16), driven from tests/floor.bats.  A socket made
 * by the library's socket() is known without a system call; these are the
 * numbers it cannot vouch for.  Every scenario runs its own loopback peer
 * in this process (a TCP listener or a UDP receiver) and compares the
 * bytes that peer received with what is expected.
 *
 * usage: floor SCENARIO EXPECT
 *   EXPECT is "rewritten" (the request must arrive with Connection: close
 *   added and the response must end the connection: run under the
 *   library) or "exact" (every byte as written: the run without it, and
 *   every datagram and file case under it).  Prints lib=0|1 (is
 *   libforceclose.so mapped).  Exit 0: as expected; 1: not; 77: a
 *   precondition did not hold (a number was not reused).
 * Scenarios:
 *   inherited-tcp, inherited-udp   the socket is made by this program
 *       before it execs itself with LD_PRELOAD=$FLOOR_PRELOAD (the library
 *       is loaded only after the exec), and connected after it;
 *   raw-tcp            made with syscall(SYS_socket), connected with libc;
 *   close-udp          a libc socket() stream socket closed with close(),
 *       its number reused by an inline socket() system call (libc never
 *       sees it) for a datagram socket, connected with libc, sent an
 *       HTTP-looking datagram (x86-64 only, as every inline case);
 *   raw-close-udp      the same, closed with syscall(SYS_close);
 *   asm-close-udp      the same, closed with an inline system call (no
 *       libc at all): the syscall(SYS_socket) that reuses the number clears
 *       what the library knew of it (x86-64 only);
 *   fclose-file        a tracked connection handed to stdio (fdopen) and
 *       closed with fclose(), which closes through glibc's internals; its
 *       number reused by tmpfile() (glibc's internal open): the file gets
 *       exactly the HTTP-looking bytes written to it with write();
 *   fclose-udp         the same, the number reused by an inline socket()
 *       system call for a datagram socket, connected with libc (x86-64);
 *   made-tcp           control: socket() under the library.
 *   clone-vm           made-tcp, with a clone(CLONE_VM | CLONE_VFORK) child
 *       between connect and request that closes the socket and opens a
 *       file on its number (its own descriptors, our memory).
 *   exchanges PORT N   N sequential exchanges with a keep-alive server on
 *       127.0.0.1:PORT, each on a new socket() connection: write the
 *       request (no Connection field), poll until readable, read once,
 *       close.  (For strace -c: the same calls of its own in every run.)
 *   late N             N exchanges with a server thread of this process
 *       that answers only once the client thread sleeps in its read: the
 *       read finds nothing and must wait, every time.  (For strace -c: the
 *       wait costs the library no system call of its own.) */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

static const char REQ[] = "GET /floor HTTP/1.1\r\nHost: floor\r\n\r\n";
static const char REQ_CLOSE[] =
	"GET /floor HTTP/1.1\r\nHost: floor\r\nConnection: close\r\n\r\n";
static const char RESP[] =
	"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";

static int expect_rewrite;
static void (*after_connect)(int fd);	/* a scenario's step between connect
					   and the request */

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void precondition(const char *what)
{
	fprintf(stderr, "floor: precondition: %s\n", what);
	exit(77);
}



static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((unsigned short)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	return a;
}

static int bound(int type, int *port)
{
	struct sockaddr_in a = loopback(0);
	socklen_t l = sizeof a;
	int s = socket(AF_INET, type, 0);

	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
	    getsockname(s, (struct sockaddr *)&a, &l) != 0)
		die("bind");
	if (type == SOCK_STREAM && listen(s, 4) != 0)
		die("listen");
	*port = ntohs(a.sin_port);
	return s;
}

static void show(const char *label, const char *p, size_t n)
{
	fprintf(stderr, "%s (%zu bytes): ", label, n);
	fwrite(p, 1, n, stderr);
	fputc('\n', stderr);
}

/* Connects fd (however it was made) to a listener of ours with libc's
 * connect(), writes REQ with write(), and checks what the listener got and
 * what fd reads back.  0: as EXPECT says. */
static int tcp_exchange(int fd)
{
	char got[512], resp[512];
	int port, ls = bound(SOCK_STREAM, &port), as, ok;
	struct sockaddr_in a = loopback(port);
	size_t n = 0, m = 0;
	ssize_t r = 0;

	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect");
	if (after_connect != NULL)
		after_connect(fd);
	if (write(fd, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1))
		die("write");
	as = accept(ls, NULL, NULL);
	if (as < 0)
		die("accept");
	while (n < sizeof got && (n < 4 || memcmp(got + n - 4, "\r\n\r\n", 4)) &&
	       (r = read(as, got + n, sizeof got - n)) > 0)
		n += (size_t)r;
	tl_write_all(as, RESP, sizeof RESP - 1, "response");
	/* under the library: to the end of the stream, which the teardown
	 * brings (the server never closes); without it: the response */
	while (m < sizeof resp - 1 && (expect_rewrite || m < sizeof RESP - 1) &&
	       (r = read(fd, resp + m, sizeof resp - 1 - m)) > 0)
		m += (size_t)r;
	if (r < 0)
		die("read response");
	resp[m] = '\0';
	show("server got", got, n);
	show("client read", resp, m);
	if (expect_rewrite) {
		/* the request says close, so does the response, and the
		 * connection ended after it */
		ok = n == sizeof REQ_CLOSE - 1 && !memcmp(got, REQ_CLOSE, n) &&
		     strstr(resp, "Connection: close\r\n") != NULL &&
		     m > 2 && !strcmp(resp + m - 2, "ok") && r == 0;
	} else {
		ok = n == sizeof REQ - 1 && !memcmp(got, REQ, n) &&
		     m == sizeof RESP - 1 && !memcmp(resp, RESP, m);
	}
	close(as);
	close(ls);
	close(fd);
	return ok ? 0 : 1;
}

/* A datagram socket fd connected with libc's connect() to a receiver of
 * ours and sent REQ with write(): the receiver must get REQ exactly. */
static int udp_exchange(int fd)
{
	char got[512];
	int port, rs = bound(SOCK_DGRAM, &port);
	struct sockaddr_in a = loopback(port);
	ssize_t r;

	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect udp");
	if (write(fd, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1))
		die("write udp");
	r = recv(rs, got, sizeof got, 0);
	if (r < 0)
		die("recv udp");
	show("receiver got", got, (size_t)r);
	close(rs);
	close(fd);
	return (size_t)r == sizeof REQ - 1 && !memcmp(got, REQ, sizeof REQ - 1) ?
		       0 : 1;
}

/* A connection made under the library (tracked), handed to stdio and
 * closed by fclose(): returns its number, now free. */
static int fclosed_number(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), port, ls, as;
	struct sockaddr_in a;
	FILE *f;

	if (s < 0)
		die("socket");
	ls = bound(SOCK_STREAM, &port);
	a = loopback(port);
	if (connect(s, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect");
	as = accept(ls, NULL, NULL);
	if (as < 0)
		die("accept");
	f = fdopen(s, "r+");
	if (f == NULL)
		die("fdopen");
	if (fclose(f) != 0)
		die("fclose");
	close(as);
	close(ls);
	return s;
}

static int inherited(const char *self, const char *kind)
{
	int fd = socket(AF_INET, !strcmp(kind, "tcp") ? SOCK_STREAM : SOCK_DGRAM,
			0);
	char arg[16];
	const char *pre = getenv("FLOOR_PRELOAD");

	if (fd < 0)
		die("socket");
	if (pre == NULL || *pre == '\0')
		precondition("FLOOR_PRELOAD not set");
	if (getenv("FLOOR_BASE") == NULL)
		setenv("LD_PRELOAD", pre, 1);
	snprintf(arg, sizeof arg, "%d", fd);
	execl(self, self, "inherited-child", expect_rewrite ? "rewritten" : "exact",
	      kind, arg, (char *)NULL);
	die("exec");
	return 2;
}

static int exchanges(int port, long n)
{
	struct sockaddr_in a = loopback(port);
	char buf[1024];
	long i;

	for (i = 0; i < n; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		struct pollfd p = { .fd = s, .events = POLLIN };
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0)
			die("connect");
		if (write(s, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1))
			die("write");
		/* the response is there before the read: the read path is the
		 * same one system call in every run */
		if (poll(&p, 1, 10000) != 1)
			die("poll");
		if (read(s, buf, sizeof buf) <= 0)
			die("read");
		close(s);
	}
	return 0;
}

/* ---- clone-vm: a child sharing our memory closes the socket ---- */
static int clone_fd;
static char clone_path[128];

/* Runs on our memory with its own descriptors (no CLONE_FILES), as a
 * vfork child does: its close and open must change nothing of ours. */
static int clone_child(void *arg)
{
	int f;

	(void)arg;
	close(clone_fd);
	f = open(clone_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	_exit(f == clone_fd ? 0 : 77);
}

static void clone_closes(int fd)
{
	static char stack[64 * 1024] __attribute__((aligned(16)));
	int st;
	pid_t pid;

	clone_fd = fd;
	snprintf(clone_path, sizeof clone_path, "/tmp/floor-clone.%d", (int)getpid());
	pid = clone(clone_child, stack + sizeof stack,
		    CLONE_VM | CLONE_VFORK | SIGCHLD, NULL);
	if (pid < 0)
		die("clone");
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid");
	unlink(clone_path);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		precondition("the clone child's open did not get the number");
}

/* ---- late: the response comes while the client's read sleeps ---- */
static int late_ls;
static pid_t late_client;

/* Is thread tid asleep (state S in /proc)?  pread on one open file, so
 * the polling adds no call the counts fold into reads. */
static int asleep(int statfd)
{
	char st[512], *p;
	ssize_t r = pread(statfd, st, sizeof st - 1, 0);

	if (r <= 0)
		die("pread stat");
	st[r] = '\0';
	p = strrchr(st, ')');
	return p != NULL && p[1] == ' ' && p[2] == 'S';
}

static void *late_server(void *arg)
{
	long n = *(long *)arg, i;
	char path[64], buf[512];
	int statfd;

	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)late_client);
	statfd = open(path, O_RDONLY);
	if (statfd < 0)
		die(path);
	for (i = 0; i < n; i++) {
		int as = accept(late_ls, NULL, NULL);
		size_t got = 0;
		ssize_t r;
		if (as < 0)
			die("accept");
		while (got < 4 || memcmp(buf + got - 4, "\r\n\r\n", 4)) {
			r = read(as, buf + got, sizeof buf - got);
			if (r <= 0)
				die("server read");
			got += (size_t)r;
		}
		while (!asleep(statfd))
			sched_yield();
		tl_write_all(as, RESP, sizeof RESP - 1, "late response");
		close(as);
	}
	close(statfd);
	return NULL;
}

static int late(long n)
{
	pthread_t t;
	int port;
	long i;
	char buf[1024];
	struct sockaddr_in a;

	late_ls = bound(SOCK_STREAM, &port);
	a = loopback(port);
	late_client = (pid_t)syscall(SYS_gettid);
	if (pthread_create(&t, NULL, late_server, &n) != 0)
		die("pthread_create");
	for (i = 0; i < n; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0)
			die("connect");
		if (write(s, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1))
			die("write");
		if (read(s, buf, sizeof buf) <= 0)
			die("read");
		close(s);
	}
	pthread_join(t, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	const char *sc = argc > 1 ? argv[1] : "";
	int fd;

	tl_alarm("floor", 20);
	if (argc == 4 && !strcmp(sc, "exchanges"))
		return exchanges(atoi(argv[2]), atol(argv[3]));
	if (argc == 3 && !strcmp(sc, "late"))
		return late(atol(argv[2]));
	if (argc < 3)
		goto usage;
	expect_rewrite = !strcmp(argv[2], "rewritten");
	if (strcmp(sc, "inherited-child") != 0)
		printf("lib=%d\n", tl_lib_loaded());
	fflush(stdout);
	if (!strcmp(sc, "inherited-tcp"))
		return inherited(argv[0], "tcp");
	if (!strcmp(sc, "inherited-udp"))
		return inherited(argv[0], "udp");
	if (!strcmp(sc, "inherited-child") && argc == 5) {
		printf("lib=%d\n", tl_lib_loaded());
		fflush(stdout);
		fd = atoi(argv[4]);
		return !strcmp(argv[3], "tcp") ? tcp_exchange(fd) : udp_exchange(fd);
	}
	if (!strcmp(sc, "clone-vm")) {
		after_connect = clone_closes;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		return tcp_exchange(fd);
	}
	if (!strcmp(sc, "made-tcp")) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		return tcp_exchange(fd);
	}
	if (!strcmp(sc, "raw-tcp")) {
		fd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("SYS_socket");
		return tcp_exchange(fd);
	}
#if defined(__x86_64__)
	if (!strcmp(sc, "close-udp") || !strcmp(sc, "raw-close-udp")) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0)
			die("socket");
		if (sc[0] == 'c' ? close(s) != 0 : syscall(SYS_close, s) != 0)
			die("close");
		fd = (int)tl_inline_syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0, 0);
		if (fd != s)
			precondition("the inline socket() did not reuse the number");
		return udp_exchange(fd);
	}
	if (!strcmp(sc, "asm-close-udp")) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0 || tl_inline_syscall(SYS_close, s, 0, 0, 0) != 0)
			die("socket/inline close");
		fd = (int)syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0);
		if (fd != s)
			precondition("SYS_socket did not reuse the number");
		return udp_exchange(fd);
	}
	if (!strcmp(sc, "fclose-udp")) {
		int s = fclosed_number();
		fd = (int)tl_inline_syscall(SYS_socket, AF_INET, SOCK_DGRAM, 0, 0);
		if (fd != s)
			precondition("the inline socket() did not reuse the number");
		return udp_exchange(fd);
	}
#endif
	if (!strcmp(sc, "fclose-file")) {
		int s = fclosed_number();
		FILE *t = tmpfile();
		char got[512];
		ssize_t r;
		if (t == NULL)
			die("tmpfile");
		fd = fileno(t);
		if (fd != s)
			precondition("tmpfile() did not reuse the number");
		if (write(fd, REQ, sizeof REQ - 1) != (ssize_t)(sizeof REQ - 1))
			die("write file");
		r = pread(fd, got, sizeof got, 0);
		if (r < 0)
			die("pread");
		show("file holds", got, (size_t)r);
		return (size_t)r == sizeof REQ - 1 &&
			       !memcmp(got, REQ, sizeof REQ - 1) ? 0 : 1;
	}
usage:
	fprintf(stderr, "usage: floor SCENARIO rewritten|exact | floor exchanges PORT N\n");
	return 2;
}
