/* static_cat.c - the file-heavy phase of a static program, for the engine
 * tests and benchmark: copies stdin to stdout with read()/write() in
 * 64 KiB steps, and, given a file name, writes the same bytes to it with
 * writev() and reads them back with readv() before the copy ends.
 * Exits 1 on any error.  Linked with -static. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/uio.h>
#include <unistd.h>

static char buf[65536], back[65536];

int main(int argc, char **argv)
{
	int f = argc > 1 ? open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0600) : -1;
	ssize_t n, w, r;

	if (argc > 1 && f < 0)
		return 1;
	while ((n = read(0, buf, sizeof buf)) > 0) {
		if (f >= 0) {
			struct iovec v[2] = { { buf, (size_t)n / 2 },
					      { buf + n / 2, (size_t)(n - n / 2) } };
			struct iovec b[2] = { { back, (size_t)n / 2 },
					      { back + n / 2, (size_t)(n - n / 2) } };
			if (writev(f, v, 2) != n || lseek(f, -n, SEEK_CUR) < 0 ||
			    readv(f, b, 2) != n)
				return 1;
		}
		for (w = 0; w < n; w += r)
			if ((r = write(1, (f >= 0 ? back : buf) + w, (size_t)(n - w))) <= 0)
				return 1;
	}
	return n < 0;
}
