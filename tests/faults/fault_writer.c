/* fault_writer: write HTTP requests the way a careful program does - every
 * short count, EAGAIN and EINTR handled - for the write-side cases of
 * tests/faults.bats.
 *
 * usage: fault_writer [options] 127.0.0.1:PORT
 *
 * Default: on each of --conns connections, the three requests below,
 * pipelined, written in --chunk byte write()s (0: one write), then the three
 * responses read (Content-Length; run the shim with FORCECLOSE_ACTION=none so
 * that all three come) and the socket closed.  The server's wire per
 * connection must then be the program's bytes (no shim) or their rewrite.
 *
 * --big-head signal|nonblock: one request whose head is 60 KiB, more than
 * a socket to a server that does not read (fault_server.py --mode noread)
 * can take, written with ONE write():
 *   signal    blocking socket, SIGALRM after 1 s without SA_RESTART: the
 *             write must end at the signal ("interrupted": -1 EINTR or a
 *             short count), not carry on
 *   nonblock  O_NONBLOCK socket: the write must return at once ("short" or
 *             "EAGAIN"); if it has not returned after 10 s: "blocked", exit 3
 * One line "first_write=..." on stdout; then --release FILE is created (the
 * server starts reading) and the rest of the request is written.
 *
 * --fill signal|nonblock: the same with small heads and a socket that is
 * already full: complete GETs, one write() each, on a non-blocking socket
 * until one fails with EAGAIN and no room comes within 1 s; then (signal) one more GET on the socket
 * made blocking, SIGALRM after 1 s.  "probe_write=EAGAIN" (nonblock) or
 * "probe_write=interrupted" (signal) is what the kernel does; "blocked"
 * (exit 3): a write did not return within 10 s.  Then --release FILE and
 * the GET that did not go is written again.  "fill=partial" (exit 77): a
 * GET went out in part, the precondition did not hold.
 *
 * --post TARGET: one POST with a 16 MiB body (head in one write(), the body
 * in 64 KiB write()s) to a server that resets the connection meanwhile
 * (fault_server.py /rst-now): prints "write_error=broken" (EPIPE or
 * ECONNRESET: which one depends on timing) or the errno's name, or
 * "write_error=none".
 *
 * Options: --chunk K, --conns N, --nonblock, --dump FILE (one connection's
 * bytes, without connecting), --release FILE, --timeout S (default 60).
 */
#define _GNU_SOURCE
#include "../c/testlib.h"

static const char REQS[] =
	"GET /w/1 HTTP/1.1\r\nHost: fault\r\nAccept: */*\r\n\r\n"
	"POST /w/2 HTTP/1.1\r\nHost: fault\r\nConnection: keep-alive\r\n"
	"Keep-Alive: timeout=5\r\nContent-Length: 42\r\n\r\n"
	"Connection: keep-alive\r\nGET / HTTP/1.1\r\n\r\n"
	"GET /w/3 HTTP/1.1\nHost: fault\nUser-Agent: lf\n\n";

static unsigned long n_short, n_eagain, n_eintr;
static volatile sig_atomic_t got_signal;

/* all of p[0, len) to fd in calls of at most chunk bytes */
static void write_stream(int fd, const char *p, size_t len, size_t chunk, int nonblock)
{
	size_t off = 0;
	while (off < len) {
		size_t want = chunk && chunk < len - off ? chunk : len - off;
		ssize_t r = write(fd, p + off, want);
		if (r < 0 && errno == EINTR) { n_eintr++; continue; }
		if (r < 0 && nonblock && errno == EAGAIN) {
			n_eagain++;
			tl_wait_fd(fd, POLLOUT, "fault_writer");
			continue;
		}
		if (tl_check_count("fault_writer", r, want, off) < 0)
			exit(1);
		if ((size_t)r < want) n_short++;
		off += (size_t)r;
	}
}

static void on_signal(int sig) { (void)sig; got_signal = 1; }

/* SIGALRM 3 s into a write that the kernel would have returned at once */
static void on_guard(int sig)
{
	static const char msg[] = "blocked\n";
	(void)sig;
	if (write(1, msg, sizeof msg - 1)) {}
	_exit(3);
}

static int big_head(const char *addr, const char *how, const char *release)
{
	size_t cap = 70000, len;
	char *h = malloc(cap);
	int nonblock = !strcmp(how, "nonblock");
	if (!h || (!nonblock && strcmp(how, "signal"))) return 2;
	len = (size_t)snprintf(h, cap, "POST /big HTTP/1.1\r\nHost: fault\r\nX-Big: ");
	memset(h + len, 'a', 60000);
	len += 60000;
	len += (size_t)snprintf(h + len, cap - len, "\r\nContent-Length: 0\r\n\r\n");

	int fd = tl_connect_addr(addr, SOCK_STREAM, 4096);
	if (fd < 0) return 2;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = nonblock ? on_guard : on_signal;   /* no SA_RESTART */
	sigaction(SIGALRM, &sa, NULL);
	if (nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) return 1;
	/* signal: the write blocks at once (the server reads nothing), and
	 * the signal only has to come while it is blocked; the server's
	 * --stall (30 s in faults.bats) keeps it blocked far longer than 1 s.
	 * nonblock: the write must return at once; 10 s only tells a write
	 * that blocked from one slowed by a busy machine, and stays well
	 * below the server's stall, which would unblock it */
	alarm(nonblock ? 10 : 1);
	ssize_t r = write(fd, h, len);
	int e = errno;
	alarm(0);
	const char *what = r < 0 ? (e == EINTR ? "interrupted" : e == EAGAIN ? "EAGAIN" : "error")
		: (size_t)r == len ? (got_signal ? "complete-after-signal" : "complete")
		: nonblock ? "short" : got_signal ? "interrupted" : "short-without-signal";
	printf("first_write=%s\n", what);
	fflush(stdout);
	if (r < 0 && e != EINTR && e != EAGAIN) { errno = e; perror("write"); return 1; }
	if (release) {
		int rf = open(release, O_WRONLY | O_CREAT, 0644);
		if (rf < 0) { perror(release); return 1; }
		close(rf);
	}
	tl_alarm("fault_writer", 60);
	/* the bytes the first write reported are sent: never again */
	size_t done = r > 0 ? (size_t)r : 0;
	write_stream(fd, h + done, len - done, 0, nonblock);
	if (shutdown(fd, SHUT_WR) < 0) { perror("shutdown"); return 1; }
	close(fd);
	return 0;
}

static int fill(const char *addr, const char *how, const char *release)
{
	char req[128];
	int len = 0, n = 0, blocking = !strcmp(how, "signal");
	ssize_t r = 0;
	if (!blocking && strcmp(how, "nonblock")) return 2;
	int fd = tl_connect_addr(addr, SOCK_STREAM, 4096);
	if (fd < 0) return 2;
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_guard;
	sigaction(SIGALRM, &sa, NULL);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) return 1;
	/* full: EAGAIN, and no room for 1 s after it.  The server reads
	 * nothing, so room can only come from its kernel opening the window
	 * (milliseconds after our last segment); 1 s without any is full,
	 * even on a busy machine.  A shorter bound could stop while the
	 * window still opens, and the probe write below would go out in part
	 * (fill=partial) */
	for (n = 0; n < 100000; n++) {
		len = snprintf(req, sizeof req, "GET /fill/%d HTTP/1.1\r\nHost: fault\r\n\r\n", n);
		alarm(10);	/* a non-blocking write: "blocked" (see big_head) */
		r = write(fd, req, (size_t)len);
		alarm(0);
		if (r < 0 && errno == EAGAIN) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			if (poll(&p, 1, 1000) == 0)
				break;
			n--;
			continue;
		}
		if (r != len)
			break;
	}
	if (r >= 0 && r < len) {
		printf("fill=partial\n");
		return 77;
	}
	if (r < 0 && errno != EAGAIN) { perror("write"); return 1; }
	const char *what = "EAGAIN";
	if (blocking) {
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) return 1;
		sa.sa_handler = on_signal;	/* no SA_RESTART */
		sigaction(SIGALRM, &sa, NULL);
		alarm(1);	/* the write blocks at once: see big_head */
		r = write(fd, req, (size_t)len);
		int e = errno;
		alarm(0);
		what = r < 0 ? (e == EINTR ? "interrupted" : "error")
		     : r == len ? (got_signal ? "complete-after-signal" : "complete") : "short";
	}
	printf("probe_write=%s\n", what);
	fflush(stdout);
	if (release) {
		int rf = open(release, O_WRONLY | O_CREAT, 0644);
		if (rf < 0) { perror(release); return 1; }
		close(rf);
	}
	tl_alarm("fault_writer", 60);
	size_t done = r > 0 ? (size_t)r : 0;
	write_stream(fd, req + done, (size_t)len - done, 0, !blocking);
	if (shutdown(fd, SHUT_WR) < 0) { perror("shutdown"); return 1; }
	close(fd);
	return 0;
}

static int post(const char *addr, const char *target)
{
	static char body[65536];
	char head[256];
	size_t total = 16 << 20, off = 0;
	int fd = tl_connect_addr(addr, SOCK_STREAM, 0), e = 0;
	if (fd < 0) return 2;
	int n = snprintf(head, sizeof head, "POST %s HTTP/1.1\r\nHost: fault\r\n"
			 "Content-Length: %zu\r\n\r\n", target, total);
	memset(body, 'p', sizeof body);
	if (write(fd, head, (size_t)n) != n)
		e = errno;
	while (!e && off < total) {
		ssize_t r = write(fd, body, sizeof body < total - off ? sizeof body : total - off);
		if (r < 0 && errno == EINTR) continue;
		if (r < 0) e = errno;
		else off += (size_t)r;
	}
	printf("write_error=%s\n", !e ? "none" : e == EPIPE || e == ECONNRESET ? "broken"
						 : strerrorname_np(e));
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	size_t chunk = 0;
	unsigned conns = 1, timeout = 60;
	int nonblock = 0, i;
	const char *dump = NULL, *big = NULL, *release = NULL, *post_to = NULL, *fill_how = NULL;

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *a = argv[i];
		int v = i + 1 < argc;
		if (!strcmp(a, "--chunk") && v) chunk = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(a, "--conns") && v) conns = (unsigned)atoi(argv[++i]);
		else if (!strcmp(a, "--nonblock")) nonblock = 1;
		else if (!strcmp(a, "--dump") && v) dump = argv[++i];
		else if (!strcmp(a, "--big-head") && v) big = argv[++i];
		else if (!strcmp(a, "--release") && v) release = argv[++i];
		else if (!strcmp(a, "--post") && v) post_to = argv[++i];
		else if (!strcmp(a, "--fill") && v) fill_how = argv[++i];
		else if (!strcmp(a, "--timeout") && v) timeout = (unsigned)atoi(argv[++i]);
		else break;
	}
	if (dump)
		return tl_dump(dump, REQS, sizeof REQS - 1) < 0;
	if (argc - i != 1) {
		fprintf(stderr, "usage: fault_writer [options] 127.0.0.1:PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (big)
		return big_head(argv[i], big, release);
	if (post_to)
		return post(argv[i], post_to);
	if (fill_how)
		return fill(argv[i], fill_how, release);
	tl_alarm("fault_writer", timeout);
	for (unsigned c = 0; c < conns; c++) {
		int fd = tl_connect_addr(argv[i], SOCK_STREAM, 0);
		if (fd < 0) return 2;
		if (nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) return 1;
		write_stream(fd, REQS, sizeof REQS - 1, chunk, nonblock);
		if (tl_read_responses(fd, 3, "fault_writer", nonblock) != 0) {
			fprintf(stderr, "fault_writer: connection %u\n", c + 1);
			return 1;
		}
		if (close(fd) < 0) { perror("close"); return 1; }
	}
	printf("conns=%u short=%lu eagain=%lu eintr=%lu\n", conns, n_short, n_eagain, n_eintr);
	return 0;
}
