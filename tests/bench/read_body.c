/* Body-throughput bench client: one GET, then read() to end of file in
 * 64 KiB reads; prints bytes read and elapsed nanoseconds.
 * usage: read_body PORT PATH */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[65536];
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct timespec t0, t1;
	long long total = 0;
	char req[256];
	ssize_t r;
	int fd;

	if (argc != 3) {
		fprintf(stderr, "usage: read_body PORT PATH\n");
		return 2;
	}
	alarm(120);
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		perror("connect");
		return 1;
	}
	snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: bench\r\n\r\n",
		 argv[2]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return 1;
	while ((r = read(fd, buf, sizeof buf)) > 0)
		total += r;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lld %lld\n", total,
	       (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL +
		       (t1.tv_nsec - t0.tv_nsec));
	return r < 0;
}
