/* Pass-through cost: N one-byte write()s to a path (default /dev/null;
 * "-" is standard output, e.g. a pipe); prints the elapsed nanoseconds on
 * standard error.  Run with and without the shim. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 10000000L, i;
	const char *path = argc > 2 ? argv[2] : "/dev/null";
	int fd = path[0] == '-' && path[1] == '\0' ? 1 : open(path, O_WRONLY);
	struct timespec a, b;
	char c = 'x';

	if (fd < 0) {
		perror(path);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (i = 0; i < n; i++)
		if (write(fd, &c, 1) != 1)
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	fprintf(stderr, "%lld\n", (long long)(b.tv_sec - a.tv_sec) * 1000000000LL +
				 (b.tv_nsec - a.tv_nsec));
	return 0;
}
