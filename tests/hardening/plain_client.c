/* plain_client - one HTTP/1.1 GET over a fresh TCP connection to
 * 127.0.0.1, the body to a file; for tests/hardening.bats.
 *
 *   plain_client [--close-stderr] PORT PATH BODY_FILE
 *
 * Unlike curl, wget and python it keeps SIGPIPE's default action and never
 * writes to stderr itself, so a SIGPIPE or a stray line on descriptor 2
 * can only come from a preloaded library.  --close-stderr closes
 * descriptor 2 first, as a daemon does: the socket then gets number 2.
 * Exit 0 when the whole body (Content-Length) arrived, 1 otherwise; the
 * reason goes to stdout.  Bounded by alarm(). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

static int fail(const char *why)
{
	printf("plain_client: %s\n", why);
	return 1;
}

int main(int argc, char **argv)
{
	static char buf[1 << 16];
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char req[512];
	size_t have = 0, head_len, want;
	const char *cl, *end;
	int first = 1, fd, out;
	ssize_t n;

	if (argc > 1 && strcmp(argv[1], "--close-stderr") == 0) {
		close(2);
		first = 2;
	}
	if (argc != first + 3)
		return fail("usage: plain_client [--close-stderr] PORT PATH BODY_FILE");
	alarm(30);	/* a hung exchange fails the test, it does not hang it */
	sa.sin_port = htons((unsigned short)atoi(argv[first]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return fail("connect failed");
	n = snprintf(req, sizeof req,
		     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n"
		     "User-Agent: plain_client\r\n\r\n",
		     argv[first + 1], argv[first]);
	if (write(fd, req, (size_t)n) != n)
		return fail("write failed");
	/* the head, then Content-Length bytes of body */
	while ((end = memmem(buf, have, "\r\n\r\n", 4)) == NULL) {
		n = read(fd, buf + have, sizeof buf - 1 - have);
		if (n <= 0)
			return fail("no complete response head");
		have += (size_t)n;
	}
	buf[have] = '\0';
	head_len = (size_t)(end - buf) + 4;
	cl = strcasestr(buf, "\r\nContent-Length:");
	if (cl == NULL || cl > end)
		return fail("no Content-Length");
	want = strtoul(cl + 17, NULL, 10);
	while (have - head_len < want) {
		if (have == sizeof buf - 1)
			return fail("body too big");
		n = read(fd, buf + have, sizeof buf - 1 - have);
		if (n <= 0)
			return fail("short body");
		have += (size_t)n;
	}
	out = open(argv[first + 2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || write(out, buf + head_len, want) != (ssize_t)want)
		return fail("cannot write the body");
	close(out);
	close(fd);
	return 0;
}
