/* fault_client: send one GET and record exactly what the reads return,
 * for the read-side cases of tests/faults.bats.
 *
 * usage: fault_client [options] 127.0.0.1:PORT TARGET
 *
 * Sends "GET TARGET HTTP/1.1" (Host, no connection fields), then reads with
 * read() of --read-size bytes until end of file or an error.  Every byte read
 * goes to --out FILE; after the first error or end of file one more read is
 * made, so a byte the shim delivered late shows.  One line on stdout:
 *
 *   bytes=N end=eof|ERRNO after=eof|ERRNO|data:N eagain=N
 *
 * (eagain: reads that failed with EAGAIN although poll() had said readable)
 * and, with --rss, a second line "max_rss_kb=N hwm_kb=N": the largest VmRSS
 * seen in /proc/self/status (sampled after every MiB read and at the end)
 * and the final VmHWM.
 *
 * Options:
 *   --read-size N   bytes per read() (default 4096)
 *   --nonblock      O_NONBLOCK socket, poll() before every read
 *   --out FILE      the bytes read (default: discarded)
 *   --rss           memory line
 *   --first-guard S the first read must return within S seconds (it follows
 *                   a poll() that saw data), else "first read blocked" on
 *                   stderr and exit 3
 *   --ping          after the first read returns, send "PING\r\n"
 *   --timeout S     alarm() bound on the whole run (default 60), exit 3
 *   --idle MS       with --nonblock: when poll() sees nothing for MS ms, the
 *                   stream ends there (end=idle): a run without the library
 *                   against a keep-alive server, which never closes
 */
#define _GNU_SOURCE
#include "../c/testlib.h"

static unsigned long vm_kb(const char *key)
{
	char line[256];
	unsigned long v = 0;
	size_t kl = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, kl) && line[kl] == ':')
			v = strtoul(line + kl + 1, NULL, 10);
	fclose(f);
	return v;
}

/* poll() until fd is readable or has an error or hangup (then the read
 * reports it) */
static int wait_readable(int fd, int idle_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int r;
	while ((r = poll(&p, 1, idle_ms)) < 0)
		if (errno != EINTR) { perror("poll"); exit(1); }
	return r;	/* 0: idle */
}

static void on_guard(int sig)
{
	static const char msg[] = "fault_client: first read blocked\n";
	(void)sig;
	if (write(2, msg, sizeof msg - 1)) {}
	_exit(3);
}

static const char *result(ssize_t r, char *buf, size_t cap)
{
	if (r == 0)
		return "eof";
	if (r > 0)
		snprintf(buf, cap, "data:%zd", r);
	else
		snprintf(buf, cap, "%s", strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
	return buf;
}

int main(int argc, char **argv)
{
	size_t read_size = 4096;
	int nonblock = 0, rss = 0, ping = 0, i;
	unsigned guard = 0, timeout = 60;
	int idle = -1;
	const char *out_path = NULL;

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i++) {
		const char *a = argv[i];
		int v = i + 1 < argc;
		if (!strcmp(a, "--read-size") && v) read_size = strtoul(argv[++i], NULL, 10);
		else if (!strcmp(a, "--nonblock")) nonblock = 1;
		else if (!strcmp(a, "--out") && v) out_path = argv[++i];
		else if (!strcmp(a, "--rss")) rss = 1;
		else if (!strcmp(a, "--first-guard") && v) guard = (unsigned)atoi(argv[++i]);
		else if (!strcmp(a, "--ping")) ping = 1;
		else if (!strcmp(a, "--timeout") && v) timeout = (unsigned)atoi(argv[++i]);
		else if (!strcmp(a, "--idle") && v) idle = atoi(argv[++i]);
		else break;
	}
	if (argc - i != 2 || read_size == 0 || read_size > (1u << 20)) {
		fprintf(stderr, "usage: fault_client [options] 127.0.0.1:PORT TARGET\n");
		return 2;
	}
	tl_alarm("fault_client", timeout);
	signal(SIGPIPE, SIG_IGN);
	int out = -1;
	if (out_path && (out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
		perror(out_path);
		return 2;
	}
	int fd = tl_connect_addr(argv[i], SOCK_STREAM, 0);
	if (fd < 0) { fprintf(stderr, "bad address %s\n", argv[i]); return 2; }
	char req[1024];
	int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: fault\r\nUser-Agent: fault_client\r\n\r\n",
			 argv[i + 1]);
	tl_write_all(fd, req, (size_t)n, "write request");
	if (nonblock && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		perror("fcntl");
		return 1;
	}

	unsigned char *buf = malloc(read_size);
	unsigned long long total = 0, next_sample = 1 << 20;
	unsigned long max_rss = vm_kb("VmRSS");
	char rb[64], ab[64];
	const char *end = NULL;
	int first = 1;
	unsigned long n_eagain = 0;
	if (!buf) { perror("malloc"); return 1; }
	for (;;) {
		if (nonblock || (first && guard)) {
			/* wait for data, as an event loop does, before reading */
			if (wait_readable(fd, nonblock ? idle : -1) == 0) {
				end = "idle";
				break;
			}
		}
		if (first && guard) {
			signal(SIGALRM, on_guard);
			alarm(guard);
		}
		ssize_t r = read(fd, buf, read_size);
		if (first && guard)
			tl_alarm("fault_client", timeout);
		if (r < 0 && nonblock && errno == EAGAIN) {
			n_eagain++;	/* after poll() said readable */
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (first && ping) {
			static const char p[] = "PING\r\n";
			tl_write_all(fd, p, sizeof p - 1, "write PING");
		}
		first = 0;
		if (r <= 0) {
			end = result(r, rb, sizeof rb);
			break;
		}
		if (out >= 0)
			tl_write_all(out, buf, (size_t)r, "write out");
		total += (unsigned long long)r;
		if (rss && total >= next_sample) {
			unsigned long v = vm_kb("VmRSS");
			if (v > max_rss) max_rss = v;
			next_sample += 1 << 20;
		}
	}
	/* one more read: what (if anything) still comes after the end */
	ssize_t r = -1;
	errno = EAGAIN;
	if (!strcmp(end, "idle"))
		goto report;
	do {
		if (nonblock) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			if (poll(&p, 1, 2000) == 0) { errno = EAGAIN; r = -1; break; }
		}
		r = read(fd, buf, read_size);
	} while (r < 0 && errno == EINTR);
report:
	printf("bytes=%llu end=%s after=%s eagain=%lu\n", total, end, result(r, ab, sizeof ab), n_eagain);
	if (rss) {
		unsigned long v = vm_kb("VmRSS");
		if (v > max_rss) max_rss = v;
		printf("max_rss_kb=%lu hwm_kb=%lu\n", max_rss, vm_kb("VmHWM"));
	}
	close(fd);
	return 0;
}
