/* script_client.c - a static C client that follows a script, for engine
 * tests run with and without the engine (tests/lib/script_client.py is the
 * same for the library; a static program is reached by the engine only).
 *
 *   script_client PORT OUT STEP...
 *
 * STEP: "send:FILE" (FILE's bytes, written until all are taken),
 * "read:N" (read until N bytes have come in all), "read:eof" (read until
 * the stream ends), "readone:N" (one read of up to N bytes), "peek:N" (one
 * recv(MSG_PEEK) of up to N bytes; what it shows goes to OUT.peek),
 * "touch:FILE" (creates FILE: tells a gated server to go on).  Every byte
 * read goes to OUT; readone and peek print their counts on stdout.  Exit
 * 0 when every step completed; 1, with a line on stderr, when the stream
 * ended before a read:N did or a call failed.
 * Bounded by a 20 s receive timeout (a loaded 2-core machine; the
 * exchanges take milliseconds). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define BUF (1 << 16)

static FILE *out;
static size_t have;	/* bytes read in all */

static void die(const char *what)
{
	fprintf(stderr, "%s: %s\n", what, errno ? strerror(errno) : "end of stream");
	exit(1);
}

static void send_file(int fd, const char *name)
{
	static char b[BUF];
	FILE *f = fopen(name, "rb");
	size_t n, off = 0;
	ssize_t r;

	if (f == NULL)
		die(name);
	n = fread(b, 1, sizeof b, f);
	fclose(f);
	while (off < n) {
		r = write(fd, b + off, n - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			die("write");
		off += (size_t)r;
	}
}

/* One read of up to n bytes into OUT: its count (0 at the end). */
static ssize_t read_once(int fd, size_t n)
{
	static char b[BUF];
	ssize_t r;

	if (n > sizeof b)
		n = sizeof b;
	do
		r = read(fd, b, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		die("read");
	fwrite(b, 1, (size_t)r, out);
	have += (size_t)r;
	return r;
}

static void peek(int fd, size_t n, const char *name)
{
	static char b[BUF];
	FILE *f = fopen(name, "wb");
	ssize_t r;

	if (f == NULL)
		die(name);
	if (n > sizeof b)
		n = sizeof b;
	r = recv(fd, b, n, MSG_PEEK);
	if (r < 0)
		die("recv(MSG_PEEK)");
	fwrite(b, 1, (size_t)r, f);
	fclose(f);
	printf("peek %zd\n", r);
}

static void step(int fd, const char *s, const char *peek_name)
{
	size_t want;
	int t;

	if (strncmp(s, "send:", 5) == 0) {
		send_file(fd, s + 5);
	} else if (strcmp(s, "read:eof") == 0) {
		while (read_once(fd, BUF) > 0)
			;
	} else if (strncmp(s, "read:", 5) == 0) {
		want = strtoul(s + 5, NULL, 10);
		while (have < want)
			if (read_once(fd, want - have) == 0) {
				errno = 0;
				die(s);
			}
	} else if (strncmp(s, "readone:", 8) == 0) {
		printf("readone %zd\n", read_once(fd, strtoul(s + 8, NULL, 10)));
	} else if (strncmp(s, "peek:", 5) == 0) {
		peek(fd, strtoul(s + 5, NULL, 10), peek_name);
	} else if (strncmp(s, "touch:", 6) == 0) {
		t = open(s + 6, O_WRONLY | O_CREAT, 0644);
		if (t < 0)
			die(s);
		close(t);
	} else {
		fprintf(stderr, "unknown step %s\n", s);
		exit(2);
	}
	fflush(out);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timeval tv = { 20, 0 };
	char peek_name[4096];
	int fd, i;

	if (argc < 3) {
		fprintf(stderr, "usage: script_client PORT OUT STEP...\n");
		return 2;
	}
	snprintf(peek_name, sizeof peek_name, "%s.peek", argv[2]);
	out = fopen(argv[2], "wb");
	if (out == NULL)
		die(argv[2]);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
		die("connect");
	for (i = 3; i < argc; i++)
		step(fd, argv[i], peek_name);
	fclose(out);
	close(fd);
	return 0;
}
