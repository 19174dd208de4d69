/* thread_requests.c - N threads, one after the other, each makes one
 * request on its own connection (no Connection field), reads to the end
 * of file and exits.  Under the library each thread's rewritten head goes
 * through the buffer the thread keeps for its next head (conn_write.c):
 * memcheck (tests/valgrind.bats) then tells whether an exited thread's
 * buffer was freed.  Prints "responses R closed C": responses read, and
 * how many ended with the connection closed (end of file); exits 1
 * unless both are N (under the library: the teardown ends each one).
 * usage: thread_requests ADDR N */
#define _GNU_SOURCE
#include <pthread.h>

#include "testlib.h"

static const char *addr;
static unsigned responses, closed;

static void *one_request(void *arg)
{
	static const char req[] = "GET /thread HTTP/1.1\r\nHost: t\r\n\r\n";
	char buf[4096];
	size_t got = 0;
	ssize_t r;
	int fd = tl_connect_addr(addr, SOCK_STREAM, 0);

	(void)arg;
	if (fd < 0) {
		perror("thread_requests: connect");
		exit(1);
	}
	tl_write_all(fd, req, sizeof req - 1, "thread_requests: write");
	while ((r = read(fd, buf, sizeof buf)) > 0)
		got += (size_t)r;
	if (got > 0 && memcmp(buf, "HTTP/1.", 7) == 0)
		responses++;
	if (r == 0)
		closed++;
	close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	unsigned n, i;
	pthread_t t;

	if (argc != 3) {
		fprintf(stderr, "usage: thread_requests ADDR N\n");
		return 2;
	}
	tl_alarm("thread_requests", 120);
	addr = argv[1];
	n = (unsigned)atoi(argv[2]);
	for (i = 0; i < n; i++) {
		if (pthread_create(&t, NULL, one_request, NULL) != 0 ||
		    pthread_join(t, NULL) != 0) {
			fprintf(stderr, "thread_requests: pthread\n");
			return 1;
		}
	}
	printf("responses %u closed %u\n", responses, closed);
	return responses == n && closed == n ? 0 : 1;
}
