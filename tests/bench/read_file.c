/* Pass-through cost, reads: reads PATH to its end in 64 KiB read()s,
 * PASSES times; prints the elapsed nanoseconds.
 * usage: read_file PATH PASSES */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	static char buf[65536];
	struct timespec a, b;
	int passes = argc > 2 ? atoi(argv[2]) : 1, i;

	if (argc < 2) {
		fprintf(stderr, "usage: read_file PATH PASSES\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < passes; i++) {
		int fd = open(argv[1], O_RDONLY);
		ssize_t r;
		if (fd < 0)
			return 1;
		while ((r = read(fd, buf, sizeof buf)) > 0)
			;
		close(fd);
		if (r < 0)
			return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL +
				 (b.tv_nsec - a.tv_nsec));
	return 0;
}
